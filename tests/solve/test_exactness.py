"""The solver is exact: hypothesis draws small instances and brute force enumerates every
placement, byte by byte."""

from __future__ import annotations

import itertools
from collections.abc import Sequence

from hypothesis import given, settings
from hypothesis import strategies as st

from placer import Infeasible, Pin, place
from placer.board import Arch, Board, MemoryRegion, UsedRange
from placer.config import HeapBackend, LlextConfig
from placer.solve.search import Cost, Item, Slot, solve
from placer.target import exclusion

# --- the search against brute force ----------------------------------------------------


def brute_force(items: Sequence[Item], slots: Sequence[Slot],
                after: Sequence[tuple[int, int]]) -> Cost | None:
    """The optimal cost by trying every address of every item in every allowed slot."""
    options = []
    for item in items:
        options.append([
            (s, address)
            for s in item.slots
            for address in range(slots[s].start, slots[s].end - item.size + 1)
            if address % item.align == item.residue and address >= item.floor(slots[s].region)
        ])
    best: Cost | None = None
    for combo in itertools.product(*options):
        overlap = any(
            sa == sb and a < b + items[y].size and b < a + items[x].size
            for (x, (sa, a)), (y, (sb, b)) in itertools.combinations(enumerate(combo), 2))
        if overlap:
            continue
        if any(slots[combo[i][0]].region == slots[combo[j][0]].region
               and combo[j][1] < combo[i][1] for i, j in after):
            continue
        padding = rank = total = 0
        for x, (s, address) in enumerate(combo):
            below = [b + items[y].size for y, (sb, b) in enumerate(combo)
                     if sb == s and b < address]
            base = max(max(below, default=slots[s].start), items[x].floor(slots[s].region))
            padding += address - base
            rank += slots[s].rank
            total += address
        cost = (padding, rank, total)
        if best is None or cost < best:
            best = cost
    return best


@st.composite
def instances(draw: st.DrawFn) -> tuple[list[Item], list[Slot], list[tuple[int, int]]]:
    # Slots of different regions may share addresses (separate memories); slots of one
    # region follow each other. Ranks vary, even within a region.
    slots: list[Slot] = []
    cursor = {"R0": 0, "R1": 0, "R2": 0}
    for _ in range(draw(st.integers(1, 3))):
        region = draw(st.sampled_from(sorted(cursor)))
        start = cursor[region] + draw(st.integers(0, 12))
        length = draw(st.integers(0, 20))
        slots.append(Slot(region, start, start + length, draw(st.integers(0, 1))))
        cursor[region] = start + length
    items: list[Item] = []
    for n in range(draw(st.integers(1, 3))):
        align = draw(st.sampled_from([1, 2, 4, 8]))
        allowed = draw(st.lists(st.integers(0, len(slots) - 1), min_size=1, unique=True))
        floors = tuple((region, draw(st.integers(0, 24)))
                       for region in ("R0", "R1", "R2") if draw(st.booleans()))
        items.append(Item(f"h{n}", draw(st.integers(1, 9)), align, tuple(sorted(allowed)),
                          residue=draw(st.integers(0, align - 1)), floors=floors))
    after: list[tuple[int, int]] = []
    if len(items) > 1 and draw(st.booleans()):
        after.append((0, 1))
    return items, slots, after


@settings(max_examples=1000, deadline=None)
@given(instances())
def test_search_finds_the_optimum_brute_force_finds(
        instance: tuple[list[Item], list[Slot], list[tuple[int, int]]]) -> None:
    items, slots, after = instance
    solution = solve(items, slots, after)
    expected = brute_force(items, slots, after)
    assert (solution.cost if solution else None) == expected
    if solution is not None:  # and what it returns is a real placement of that cost
        spans = sorted((slots[a.slot].region, a.address, a.address + items[a.item].size)
                       for a in solution.assignments)
        for (r1, _, end), (r2, start, _) in itertools.pairwise(spans):
            assert r1 != r2 or end <= start


# --- place() on whole boards against brute force ----------------------------------------

STEP = 256  # every size, boundary and alignment below divides it, so compacted
            # placements sit on multiples of it and the enumeration may step by it.


@st.composite
def boards_and_configs(draw: st.DrawFn) -> tuple[Board, LlextConfig, tuple[Pin, ...]]:
    regions = []
    used = []
    for index in range(draw(st.integers(1, 3))):
        origin = 0x20000000 + index * 0x10000
        length = draw(st.integers(1, 12)) * STEP * 4
        writable = index == 0 or draw(st.booleans())
        name = f"RAM{index}"
        regions.append(MemoryRegion(name, origin, length,
                                    frozenset("rwx" if writable else "rx"),
                                    writable_at_load=writable))
        cursor = origin
        for _ in range(draw(st.integers(0, 2))):
            cursor += draw(st.integers(0, 4)) * STEP
            size = draw(st.integers(1, 4)) * STEP
            if cursor + size <= origin + length:
                used.append(UsedRange(name, cursor, size, f"r{index}_{len(used)}"))
            cursor += size
    board = Board(name="random", arch=Arch.ARM, cpu="cortex-m3", regions=tuple(regions),
                  noinit_region="RAM0", used=tuple(used))
    if draw(st.booleans()):
        config = LlextConfig(heap_size=draw(st.integers(1, 8)), custom_heap_placement=True)
    else:
        config = LlextConfig(heap_backend=HeapBackend.MEMBLK,
                             heap_memblk_block_size=draw(st.sampled_from([32, 256])),
                             ext_heap_size=draw(st.integers(1, 6)),
                             metadata_heap_size=draw(st.integers(1, 3)),
                             custom_heap_placement=True)
    pins: tuple[Pin, ...] = ()
    if draw(st.booleans()):
        section = ".llext_heap" if config.heap_backend is HeapBackend.K_HEAP \
            else ".llext_ext_heap"
        pins = (Pin(section, region=draw(st.sampled_from(
            [r.name for r in regions if r.writable]))),)
    return board, config, pins


def feasible_by_enumeration(board: Board, config: LlextConfig,
                            pins: tuple[Pin, ...]) -> bool:
    from placer.target import resolve

    heaps = resolve(board, config).heap_sections()
    pinned = {pin.section: pin.region for pin in pins}
    options = []
    for heap in heaps:
        spots = []
        for region in board.regions:
            if exclusion(board, heap, region) is not None:
                continue
            if pinned.get(heap.section, region.name) != region.name:
                continue
            for address in range(region.origin, region.end - heap.size + 1, STEP):
                if not any(u.region == region.name and u.start < address + heap.size
                           and address < u.end for u in board.used):
                    spots.append(address)
        options.append(spots)
    return any(
        all(a + heaps[x].size <= b or b + heaps[y].size <= a
            for (x, a), (y, b) in itertools.combinations(enumerate(combo), 2))
        for combo in itertools.product(*options))


@settings(max_examples=150, deadline=None)
@given(boards_and_configs())
def test_place_succeeds_exactly_when_a_placement_exists(
        case: tuple[Board, LlextConfig, tuple[Pin, ...]]) -> None:
    board, config, pins = case
    try:
        layout = place(board, config, pins=pins)
    except Infeasible:
        assert not feasible_by_enumeration(board, config, pins)
        return
    assert feasible_by_enumeration(board, config, pins)
    for pin in pins:
        assert layout.heap(pin.section).region == pin.region
    for heap in layout.heaps:
        region = board.region(heap.region)
        assert exclusion(board, heap.heap, region) is None
        assert region.contains(heap.address, heap.size)
        assert heap.address % heap.heap.align == 0
        assert not any(u.region == heap.region and u.start < heap.end and heap.address < u.end
                       for u in board.used)
    for a, b in itertools.combinations(layout.heaps, 2):
        assert a.end <= b.address or b.end <= a.address
    assert place(board, config, pins=pins) == layout  # deterministic
