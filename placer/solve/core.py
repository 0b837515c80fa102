"""`place`: every LLEXT heap section of a target placed, or a precise reason why not.

The objective, in order: the Zephyr default placement when it fits and nothing asks
otherwise (the heaps go where Zephyr's own scripts put them); else, over all placements in
free gaps: least total padding, then the board's preferred regions, then the lowest
addresses (sum). Ties are broken by a fixed search order, so the result is deterministic.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from placer import records
from placer.board import Board, UsedRange
from placer.config import HeapBackend, LlextConfig
from placer.errors import ArgumentError, BoardError, ConfigError, Infeasible
from placer.layout import (
    AddressSource,
    DynamicBuffer,
    Layout,
    PlacedHeap,
    Placement,
    RegionSpace,
    UsableAllocation,
)
from placer.llext.heap import z_heap_min_size
from placer.rules import ConfigReport, check_config, review_config
from placer.solve import search, usable
from placer.solve.default import DefaultSlot, Order, default_placement, node_name
from placer.solve.space import (
    covered,
    free_gaps,
    largest_aligned_gap,
    preference_rank,
    used_intervals,
)
from placer.target import (
    SIZE_OPTION,
    HeapRole,
    HeapSection,
    Rounding,
    Target,
    exclusion,
    resolve,
)
from placer.versions import HEAP_SECTIONS

KIB = 1024

_CONFIG_FIELD = {
    HeapRole.SHARED: "heap_size",
    HeapRole.EXT: "ext_heap_size",
    HeapRole.METADATA: "metadata_heap_size",
    HeapRole.INSTR: "instr_heap_size",
    HeapRole.DATA: "data_heap_size",
}
#: Heaps that hold extension regions (the metadata heap holds only loader bookkeeping).
REGION_ROLES = frozenset({HeapRole.SHARED, HeapRole.EXT, HeapRole.INSTR, HeapRole.DATA})


@records.frozen
class Pin:
    """The user's pin: `section` goes in `region`, or at `address` (or both)."""

    section: str
    region: str | None = None
    address: int | None = None


@records.frozen
class _Problem:
    """What `place` solves: the target, its heaps and everything that constrains them.

    `residues` maps a section to the ``(modulus, residue)`` its address must have (the
    power-of-two base); `extra` maps a section to bytes kept free right after it.
    """

    target: Target
    heaps: tuple[HeapSection, ...]
    used: tuple[UsedRange, ...]
    pins: tuple[Pin, ...]
    orders: tuple[Order, ...]
    residues: Mapping[str, tuple[int, int]] = records.field(factory=dict)
    extra: Mapping[str, int] = records.field(factory=dict)

    @property
    def board(self) -> Board:
        return self.target.board


@records.frozen
class _Placed:
    heaps: tuple[PlacedHeap, ...]
    occupied: Mapping[str, tuple[tuple[int, int], ...]]
    warnings: tuple[str, ...] = ()
    #: Used ranges the heaps push up: (region, what, start) -> new start.
    moved: Mapping[tuple[str, str, int], int] = records.field(factory=dict)


def place(board: Board, config: LlextConfig, *, pins: Sequence[Pin] = (),
          used: Sequence[UsedRange] | None = None, reserve: int = 0, maximize: bool = False,
          orders: Sequence[Order] = ()) -> Layout:
    """Place every heap section `config` defines on `board`; raises `Infeasible` when no
    placement exists, `ArgumentError` for a pin or an order naming what does not exist,
    two pins of one section that disagree, or a negative `reserve`.

    The configuration's rules come first (`placer.rules.check_config`, the same that
    ``placer config check`` applies): a configuration Zephyr would refuse or could not
    load anything with raises `ConfigViolations` listing every broken rule, and the rules'
    warnings open the layout's warnings.

    `used` replaces the board's used ranges (e.g. from a built ``zephyr.elf``). `pins` fix
    a heap to a region or an address. `orders` add ordering constraints. With `maximize`,
    the heaps that hold extension regions grow to the largest size that fits (whole KiB,
    whole memblk blocks), keeping `reserve` bytes free after each.
    """
    if reserve < 0:
        raise ArgumentError("reserve", f"reserve must be 0 or more bytes, not {reserve}")
    names = [r.name for r in board.regions]
    if board.noinit_region not in names:
        raise BoardError(f"board {board.name}: noinit region {board.noinit_region} is not one "
                         f"of its regions ({', '.join(names)})")
    config_warnings = check_config(config, board)
    target = resolve(board, config)
    # Memory seen through two views (ESP32-S3's IRAM and DRAM) is used in both: each
    # region also carries what its aliases use, so no heap lands on it through the other.
    view = records.evolve(board, used=tuple(board.used if used is None else used))
    used_ranges = tuple(u for region in board.regions for u in view.used_in(region.name))
    problem = _Problem(target, target.heap_sections(), used_ranges, _merged_pins(pins),
                       tuple(orders))
    _check_pins(problem)
    if config.llext and config.heap_dynamic:
        layout = _dynamic_layout(problem)
        return records.evolve(layout, warnings=config_warnings + layout.warnings,
                            image=tuple(view.used))
    if maximize:
        problem = _maximize(problem, reserve)
    elif reserve:
        problem = records.evolve(problem, extra={h.section: reserve for h in problem.heaps
                                               if h.role in REGION_ROLES})
    # Before the heaps had sections of their own (PR #104918), K_HEAP_DEFINE put a buffer
    # in a ".noinit.<file>.<name>" section no script can name: Zephyr's placement or none.
    placed = _solve(problem, custom=_may_leave_zephyrs_placement(problem.target))
    placed, usable_list, notes = _pay_off_alignment(problem, placed)
    measured = board.used_measured if used is None else False
    return Layout(
        target=problem.target,
        heaps=tuple(records.evolve(p, address_source=_address_source(problem, p, measured))
                    for p in placed.heaps),
        regions=_region_space(problem, placed),
        usable=usable_list,
        warnings=config_warnings + placed.warnings + notes,
        image=tuple(records.evolve(u, start=placed.moved.get((u.region, u.what, u.start),
                                                           u.start))
                    for u in view.used),
    )


def review_placement(board: Board, config: LlextConfig, *,
                     symbol_groups_used: Iterable[str] = ()) -> ConfigReport:
    """The one verdict on a configuration for a board, what ``placer config check`` says.

    Every rule violation and warning (`placer.rules.review_config`); when the rules hold,
    `place` itself decides whether the heaps fit, and its `Infeasible` becomes a violation
    naming the heap's size option. So a configuration this passes is one `place` places.
    """
    report = review_config(config, board, symbol_groups_used=symbol_groups_used)
    if report.violations:
        return report
    try:
        layout = place(board, config)
    except Infeasible as error:
        sizes = {h.section: SIZE_OPTION[h.role] for h in resolve(board, config).heap_sections()}
        option = sizes.get(error.heap)
        if option and error.largest_fit:
            fix = (f"set CONFIG_{option} to at most {error.largest_fit // KIB} (KiB), or free "
                   "memory in the image")
        elif option and error.largest_fit == 0:
            fix = ("add memory that can hold it to the board (or free some), or use a "
                   "dynamic heap")
        else:
            fix = "free memory in the image, or use smaller heaps"
        rule = "; ".join((f"{error.heap} cannot be placed on {board.name}: "
                          f"{error.constraint}", *error.details))
        violation = ConfigError((option,) if option else (), rule, fix,
                                config.where(option) if option else None)
        return ConfigReport((violation,), report.warnings)
    return ConfigReport((), layout.warnings)


# --- solving ---------------------------------------------------------------------------


def _solve(problem: _Problem, budget: int | None = search.DEFAULT_BUDGET,
           custom: bool = True) -> _Placed:
    """Zephyr's placement when it applies; else (if `custom`) the search over free gaps."""
    config = problem.target.config
    default = default_placement(problem.target, problem.heaps, problem.used, problem.orders,
                                problem.residues, problem.extra)
    reason = default.problem
    if reason is None:
        reason = _default_conflict(problem, default.slots)
    if reason is None and not config.custom_heap_placement:
        heaps = tuple(PlacedHeap(s.heap, s.region, s.address, s.padding, s.placement,
                                 pinned=_pinned(problem, s.heap.section))
                      for s in default.slots)
        return _Placed(heaps, default.occupied, moved=default.moved)
    if not custom and not config.custom_heap_placement:
        first = problem.heaps[0].section if problem.heaps else ""
        why = f"Zephyr's default placement does not fit ({reason})"
        if config.zephyr_version < HEAP_SECTIONS:
            why += (f", and Zephyr {config.zephyr_version} can place its heaps nowhere else: "
                    f"the heap sections a script can place arrived in {HEAP_SECTIONS} "
                    "(PR #104918)")
        raise Infeasible(first, why)
    solution = _search(problem, problem.heaps, budget)
    if solution is None:
        raise _explain(problem)
    warnings = solution.warnings
    if not config.custom_heap_placement:
        warnings = (f"Zephyr's default heap placement does not apply ({reason}): the heaps "
                    "are placed as their own output sections, which needs "
                    "CONFIG_LLEXT_CUSTOM_HEAP_PLACEMENT=y and placer's linker script",
                    *warnings)
    return records.evolve(solution, warnings=warnings)


def _address_source(problem: _Problem, placed: PlacedHeap, measured: bool) -> AddressSource:
    """Pinned when the script will state the address (a pinned address, or the heap's own
    output section at an explicit address); measured when the used ranges came from the
    built image; else an estimate."""
    if placed.placement is Placement.OUTPUT_SECTION or any(
            p.section == placed.section and p.address is not None for p in problem.pins):
        return AddressSource.PINNED
    return AddressSource.MEASURED if measured else AddressSource.ESTIMATED


def _pinned(problem: _Problem, section: str) -> bool:
    return any(p.section == section for p in problem.pins)


def _default_conflict(problem: _Problem, slots: Sequence[DefaultSlot]) -> str | None:
    """Why the default placement misses a pin or an eligibility rule, or None."""
    board = problem.board
    for slot in slots:
        why = exclusion(board, slot.heap, board.region(slot.region))
        if why is not None:
            return f"{slot.heap.section} would go in {slot.region}, which is {why}"
        for pin in problem.pins:
            if pin.section != slot.heap.section:
                continue
            if pin.region is not None and pin.region != slot.region:
                return f"{pin.section} is pinned to {pin.region}"
            if pin.address is not None and pin.address != slot.address:
                return f"{pin.section} is pinned to {pin.address:#x}"
    return None


def _slots(problem: _Problem, fixed: Sequence[tuple[HeapSection, str, int]]) \
        -> tuple[list[search.Slot], frozenset[int]]:
    """The free gaps, and which of them start at address 0 (searched from 1)."""
    board = problem.board
    slots: list[search.Slot] = []
    at_null: set[int] = set()
    for region in board.regions:
        occupied = used_intervals(region.name, problem.used)
        occupied += [(address, address + heap.size + problem.extra.get(heap.section, 0))
                     for heap, where, address in fixed if where == region.name]
        rank = preference_rank(board, region.name)
        for start, end in free_gaps(region, occupied):
            # Address 0 is NULL to C (an object there is undefined behaviour, and a memblk
            # pool there hands out NULL as its first block, a failed allocation to the
            # loader): the gap is searched from address 1 (see `_padding`).
            if start == 0:
                at_null.add(len(slots))
            slots.append(search.Slot(region.name, max(start, 1), end, rank))
    return slots, frozenset(at_null)


def _address_pins(problem: _Problem) -> list[tuple[HeapSection, str, int]]:
    fixed: list[tuple[HeapSection, str, int]] = []
    for heap in problem.heaps:
        for pin in problem.pins:
            if pin.section == heap.section and pin.address is not None:
                fixed.append((heap, problem.board.region_name_at(pin.address) or "", pin.address))
    return fixed


def _search(problem: _Problem, heaps: Sequence[HeapSection],
            budget: int | None = search.DEFAULT_BUDGET) -> _Placed | None:
    """The optimal placement of `heaps` in free gaps (address pins fixed), or None.

    `budget` bounds the optimality proof (0: any placement will do)."""
    board = problem.board
    fixed = [f for f in _address_pins(problem) if f[0] in heaps]
    slots, at_null = _slots(problem, fixed)
    free = [h for h in heaps if all(h is not f[0] for f in fixed)]
    items: list[search.Item] = []
    for heap in free:
        regions = {r.name for r in board.regions if exclusion(board, heap, r) is None}
        for pin in problem.pins:
            if pin.section == heap.section and pin.region is not None:
                regions &= {pin.region}
        modulus, residue = problem.residues.get(heap.section, (heap.align, 0))
        items.append(search.Item(
            name=heap.section,
            size=heap.size + problem.extra.get(heap.section, 0),
            align=modulus, residue=residue,
            slots=tuple(n for n, s in enumerate(slots) if s.region in regions),
            floors=_floors(problem, heap.section)))
    index = {h.section: n for n, h in enumerate(free)}
    after = [(index[o.after], index[o.section]) for o in problem.orders
             if o.after in index and o.section in index]
    solution = search.solve(items, slots, after, budget=budget)
    if solution is None:
        return None
    clash = _alias_clash(board, free, slots, solution)
    if clash is not None:
        return _search_apart(problem, heaps, budget, clash)
    warnings: tuple[str, ...] = ()
    if not solution.proven and budget:
        warnings = (f"the placement satisfies every constraint but is not proven optimal: the "
                    f"search stopped after {solution.nodes} nodes",)
    placed: dict[str, PlacedHeap] = {}
    for heap, home, address in fixed:
        placed[heap.section] = PlacedHeap(heap, home, address, 0, Placement.OUTPUT_SECTION,
                                          pinned=True)
    for assignment in solution.assignments:
        heap = free[assignment.item]
        slot = slots[assignment.slot]
        placed[heap.section] = PlacedHeap(heap, slot.region, assignment.address,
                                          _padding(assignment, assignment.slot in at_null),
                                          Placement.OUTPUT_SECTION,
                                          pinned=_pinned(problem, heap.section))
    ordered = tuple(placed[h.section] for h in heaps)
    occupied: dict[str, tuple[tuple[int, int], ...]] = {}
    for region in board.regions:
        spans = used_intervals(region.name, problem.used)
        spans += [(p.address, p.end) for p in ordered if p.region == region.name]
        occupied[region.name] = tuple(sorted(spans))
    return _Placed(ordered, occupied, warnings)


def _alias_clash(board: Board, free: Sequence[HeapSection], slots: Sequence[search.Slot],
                 solution: search.Solution) -> tuple[HeapSection, str, int] | None:
    """The first heap of two that the search put on the same physical bytes through two
    views of one memory (ESP32-S3's IRAM and DRAM): the search keeps heaps apart within a
    region, not across an alias. Returns that heap with its region and address."""
    spans = []
    for assignment in solution.assignments:
        region = board.region(slots[assignment.slot].region)
        offset = region.alias_offset if region.alias_of is not None else 0
        home = region.alias_of or region.name
        size = free[assignment.item].size
        spans.append((home, assignment.address + offset, size, assignment))
    for n, (home, start, size, assignment) in enumerate(spans):
        for other_home, other_start, other_size, _ in spans[n + 1:]:
            if home == other_home and start < other_start + other_size \
                    and other_start < start + size:
                return (free[assignment.item], slots[assignment.slot].region,
                        assignment.address)
    return None


def _search_apart(problem: _Problem, heaps: Sequence[HeapSection], budget: int | None,
                  clash: tuple[HeapSection, str, int]) -> _Placed | None:
    """Keep the clashing heap where the search put it, count its bytes as used in every
    view of its memory, and place the other heaps around it (optimal for them, not
    jointly: aliased memory is rare and holds few heaps)."""
    heap, region, address = clash
    footprint = UsedRange(region, address, heap.size, heap.section)
    view = records.evolve(problem.board, used=(footprint,))
    seen = tuple(u for r in problem.board.regions for u in view.used_in(r.name))
    rest = tuple(h for h in heaps if h is not heap)
    placed = _search(records.evolve(problem, used=problem.used + seen), rest, budget)
    if placed is None:
        return None
    first = PlacedHeap(heap, region, address, 0, Placement.OUTPUT_SECTION,
                       pinned=_pinned(problem, heap.section))
    by_name = {p.section: p for p in placed.heaps}
    by_name[heap.section] = first
    ordered = tuple(by_name[h.section] for h in heaps)
    occupied = dict(placed.occupied)
    occupied[region] = tuple(sorted((*occupied.get(region, ()), (address, first.end))))
    return _Placed(ordered, occupied, placed.warnings)


def _padding(assignment: search.Assignment, at_null: bool) -> int:
    """The padding in front of a heap; a heap first in a gap that starts at address 0
    (searched from 1) also pads over that first byte."""
    if at_null and assignment.address - assignment.padding == 1:
        return assignment.padding + 1
    return assignment.padding


def _floors(problem: _Problem, section: str) -> tuple[tuple[str, int], ...]:
    floors: dict[str, int] = {}
    for order in problem.orders:
        if order.section != section:
            continue
        for u in problem.used:
            if node_name(u) == order.after:
                floors[u.region] = max(floors.get(u.region, 0), u.end)
    return tuple(sorted(floors.items()))


# --- pins ------------------------------------------------------------------------------


def _merged_pins(pins: Sequence[Pin]) -> tuple[Pin, ...]:
    """One pin per heap section, in first-pin order: a section's pins combined (a region
    from one, an address from another, a repeat ignored); `ArgumentError` when they name two
    regions or two addresses, since everything after reads one pin per section."""
    merged: dict[str, Pin] = {}
    for pin in pins:
        earlier = merged.get(pin.section)
        if earlier is None:
            merged[pin.section] = pin
            continue
        if earlier.region is not None and pin.region is not None \
                and earlier.region != pin.region:
            raise ArgumentError("pins", f"{pin.section} is pinned to two regions, "
                                f"{earlier.region} and {pin.region}")
        if earlier.address is not None and pin.address is not None \
                and earlier.address != pin.address:
            raise ArgumentError("pins", f"{pin.section} is pinned to two addresses, "
                                f"{earlier.address:#x} and {pin.address:#x}")
        merged[pin.section] = Pin(
            pin.section, region=earlier.region if earlier.region is not None else pin.region,
            address=earlier.address if earlier.address is not None else pin.address)
    return tuple(merged.values())


def _check_pins(problem: _Problem) -> None:
    board = problem.board
    sections = {h.section: h for h in problem.heaps}
    names = ", ".join(r.name for r in board.regions)
    claimed: list[tuple[str, int, int]] = []
    for pin in problem.pins:
        heap = sections.get(pin.section)
        if heap is None:
            have = ", ".join(sections) or "none"
            raise ArgumentError("pins", f"{pin.section} is pinned, but this configuration has "
                                f"no such heap section (heap sections: {have})")
        if pin.region is not None:
            try:
                region = board.region(pin.region)
            except KeyError:
                raise ArgumentError("pins", f"{pin.section} is pinned to region {pin.region}, "
                                    f"which board {board.name} does not have (regions: "
                                    f"{names})") from None
            why = exclusion(board, heap, region)
            if why is not None:
                raise Infeasible(pin.section, f"pinned to region {pin.region}, which is {why}")
        if pin.address is None:
            continue
        address, end = pin.address, pin.address + heap.size
        if address % heap.align:
            raise Infeasible(pin.section, f"pinned to {address:#x}, which is not aligned "
                             f"to {heap.align}")
        where = board.region_name_at(address)
        if where is None:
            raise Infeasible(pin.section, f"pinned to {address:#x}, which is in no region "
                             f"of board {board.name} (regions: {names})")
        if pin.region is not None and pin.region != where:
            raise Infeasible(pin.section, f"pinned to {address:#x} in region {pin.region}, "
                             f"but that address is in {where}")
        home = board.region(where)
        why = exclusion(board, heap, home)
        if why is not None:
            raise Infeasible(pin.section, f"pinned to {address:#x} in {where}, which is {why}")
        if end > home.end:
            raise Infeasible(pin.section, f"pinned to {address:#x}: {heap.size} bytes end at "
                             f"{end:#x}, past the end of {where} at {home.end:#x}")
        for u in sorted(problem.used, key=lambda u: u.start):
            if u.region == where and u.start < end and address < u.end:
                raise Infeasible(pin.section, f"pinned to {address:#x}: [{address:#x}, "
                                 f"{end:#x}) overlaps {u.what} [{u.start:#x}, {u.end:#x}) "
                                 f"in {where}")
        for other, start, stop in claimed:
            if start < end and address < stop:
                raise Infeasible(pin.section, f"pinned to {address:#x}: [{address:#x}, "
                                 f"{end:#x}) overlaps {other} pinned at [{start:#x}, "
                                 f"{stop:#x})")
        claimed.append((pin.section, address, end))


# --- explaining infeasibility ----------------------------------------------------------


def _explain(problem: _Problem) -> Infeasible:
    """The binding constraint: the first heap (declaration order) that cannot join the
    heaps before it, with every region's free space and the largest size that would fit."""
    heaps = problem.heaps
    before = _Placed((), {})
    binding = heaps[-1]
    for count in range(1, len(heaps) + 1):
        attempt = _search(problem, heaps[:count], budget=0)
        if attempt is None:
            binding = heaps[count - 1]
            break
        before = attempt
    others = heaps[: heaps.index(binding)]
    board = problem.board
    size = binding.size + problem.extra.get(binding.section, 0)
    modulus, _ = problem.residues.get(binding.section, (binding.align, 0))
    pinned = [p for p in problem.pins if p.section == binding.section]
    where = ""
    if pinned and pinned[0].region is not None:
        where = f" in {pinned[0].region} (pinned)"
    if pinned and pinned[0].address is not None:
        where = f" at {pinned[0].address:#x} (pinned)"
    beside = f" beside {', '.join(h.section for h in others)}" if others else ""
    reserve = problem.extra.get(binding.section, 0)
    amount = f"{binding.size} + {reserve} reserved" if reserve else f"{size}"
    constraint = f"{amount} bytes aligned to {modulus} do not fit{where}{beside}"
    details: list[str] = []
    for region in board.regions:
        why = exclusion(board, binding, region)
        if why is None and pinned and pinned[0].region not in (None, region.name):
            why = f"{binding.section} is pinned to {pinned[0].region}"
        if why is not None:
            details.append(f"{region.name}: excluded: {why}")
            continue
        occupied = list(used_intervals(region.name, problem.used))
        occupied += [(p.address, p.end + problem.extra.get(p.section, 0))
                     for p in before.heaps if p.region == region.name]
        gaps = free_gaps(region, occupied)
        free = sum(end - start for start, end in gaps)
        gap, at = largest_aligned_gap(gaps, modulus)
        text = f"{region.name}: {free} bytes free, largest gap aligned to {modulus}: {gap} bytes"
        details.append(text + (f" at {at:#x}" if gap else ""))
    largest = _largest_fit(problem, others, binding)
    # Kconfig sizes heaps in whole KiB; any KiB count up to largest // 1024 also fits
    # (a pool of whole blocks is never larger than its KiB figure).
    details.append(f"largest size that would fit: {largest} bytes "
                   f"(CONFIG_{SIZE_OPTION[binding.role]}={largest // KIB} at most)")
    return Infeasible(binding.section, constraint, tuple(details), largest_fit=largest)


def _largest_fit(problem: _Problem, others: Sequence[HeapSection], heap: HeapSection) -> int:
    low, high = 0, max((r.length for r in problem.board.regions), default=0)
    while low < high:
        middle = (low + high + 1) // 2
        trial = records.evolve(heap, size=middle)
        shrunk = records.evolve(problem, heaps=(*others, trial))
        if _search(shrunk, shrunk.heaps, budget=0) is not None:
            low = middle
        else:
            high = middle - 1
    return max(low - problem.extra.get(heap.section, 0), 0)


# --- maximize --------------------------------------------------------------------------


def _maximize(problem: _Problem, reserve: int) -> _Problem:
    """Grow each region-holding heap, in declaration order, to the largest whole-KiB size
    (whole memblk blocks) that still fits with `reserve` bytes free after it.

    Sizes that keep Zephyr's own placement come first (no custom linker script needed);
    only when that cannot hold even the smallest size does the search over free gaps
    (custom placement) decide."""
    extra = {h.section: reserve for h in problem.heaps if h.role in REGION_ROLES}
    problem = records.evolve(problem, extra=extra)
    try:
        return _grow(problem, custom=False)
    except Infeasible:
        if not _may_leave_zephyrs_placement(problem.target):
            raise
        return _grow(problem, custom=True)


def _may_leave_zephyrs_placement(target: Target) -> bool:
    """Whether the heaps may go elsewhere than Zephyr's own placement: only releases whose
    heaps have sections of their own (PR #104918) let a script place them."""
    return target.config.zephyr_version >= HEAP_SECTIONS


def _grow(problem: _Problem, custom: bool) -> _Problem:
    for heap in problem.heaps:
        if heap.role not in REGION_ROLES:
            continue
        config = problem.target.config
        step = 1
        if heap.backend is HeapBackend.MEMBLK:
            block = config.heap_memblk_block_size
            step = math.lcm(KIB, block) // KIB if block > 0 else 1
        field = _CONFIG_FIELD[heap.role]
        high = max(r.length for r in problem.board.regions) // (KIB * step)
        low = 0
        while low < high:
            middle = (low + high + 1) // 2
            if _fits(_resized(problem, field, middle * step), custom):
                low = middle
            else:
                high = middle - 1
        if low == 0:
            _solve(_resized(problem, field, step), custom=custom)  # raises the reason
        problem = _resized(problem, field, low * step)
    return problem


def _resized(problem: _Problem, field: str, kib: int) -> _Problem:
    sizes: dict[str, Any] = {field: kib}
    config = records.evolve(problem.target.config, **sizes)
    target = resolve(problem.board, config)
    return records.evolve(problem, target=target, heaps=target.heap_sections())


def _fits(problem: _Problem, custom: bool) -> bool:
    try:
        _solve(problem, budget=0, custom=custom)
    except Infeasible:
        return False
    return True


# --- alignment that pays off -----------------------------------------------------------


def _pay_off_alignment(problem: _Problem, placed: _Placed) \
        -> tuple[_Placed, tuple[UsableAllocation, ...], tuple[str, ...]]:
    """Under a power-of-two MPU, move each k_heap to the base that serves the most of its
    largest extension regions, when the space allows; report what each heap serves."""
    target = problem.target
    if target.rounding is not Rounding.POWER_OF_TWO:
        return placed, (), ()
    notes: list[str] = []
    for section in [h.section for h in placed.heaps]:
        p = next(h for h in placed.heaps if h.section == section)
        heap = p.heap
        if heap.role not in REGION_ROLES or heap.backend is not HeapBackend.K_HEAP:
            continue
        if any(pin.section == heap.section and pin.address is not None for pin in problem.pins):
            continue
        shape = usable.heap_shape(heap.size, target.pointer_size, target.config)
        block = usable.largest_block(shape, target.rounding_granule)
        if block <= heap.align:
            continue
        now = usable.blocks_served(p.address, shape, block)
        residue = usable.aligned_residue(shape, block)
        best = usable.blocks_served(residue, shape, block)
        if best <= now:
            continue
        residues = {**problem.residues, heap.section: (block, residue)}
        trial = records.evolve(problem, residues=residues)
        try:
            moved = _solve(trial, custom=_may_leave_zephyrs_placement(target))
        except Infeasible:
            continue
        if [(h.region, h.placement) for h in moved.heaps] != \
                [(h.region, h.placement) for h in placed.heaps]:
            continue  # the space does not allow it where the heaps are
        problem = trial
        placed = records.evolve(moved, warnings=placed.warnings)
        mp = next(h for h in moved.heaps if h.section == heap.section)
        notes.append(f"{heap.section}: placed at {mp.address:#x} so its first {block}-byte "
                     f"extension region needs no split-off fragment: serves {best} such "
                     f"regions instead of {now}")
    usable_list: list[UsableAllocation] = []
    for p in placed.heaps:
        heap = p.heap
        if heap.role not in REGION_ROLES:
            continue
        if heap.backend is HeapBackend.MEMBLK:
            block_size = heap.block_size or 0
            largest = block_size if block_size >= target.rounding_granule else 0
            count = heap.size // block_size if largest else 0
            usable_list.append(UsableAllocation(heap.section, heap.align, largest, count))
            continue
        shape = usable.heap_shape(heap.size, target.pointer_size, target.config)
        block = usable.largest_block(shape, target.rounding_granule)
        count = usable.blocks_served(p.address, shape, block)
        modulus, _ = problem.residues.get(heap.section, (heap.align, 0))
        usable_list.append(UsableAllocation(heap.section, modulus, block, count))
    return placed, tuple(usable_list), tuple(notes)


# --- the result's region table and dynamic heaps ---------------------------------------


def _region_space(problem: _Problem, placed: _Placed) -> tuple[RegionSpace, ...]:
    out: list[RegionSpace] = []
    for region in problem.board.regions:
        before = used_intervals(region.name, problem.used)
        after = list(placed.occupied.get(region.name, tuple(before)))
        used_before = covered(before)
        gaps = free_gaps(region, after)
        largest = max((end - start for start, end in gaps), default=0)
        out.append(RegionSpace(
            region=region.name, origin=region.origin, length=region.length,
            used_before=used_before, free_before=region.length - used_before,
            free_after=region.length - covered(after), largest_gap_after=largest))
    return tuple(out)


def _dynamic_layout(problem: _Problem) -> Layout:
    """``LLEXT_HEAP_DYNAMIC``: no heap sections; what the application's buffers need."""
    target, board = problem.target, problem.board
    minimum = z_heap_min_size(target.heap_options)
    roles = [HeapRole.INSTR, HeapRole.DATA] if target.harvard else [HeapRole.SHARED]
    call = "llext_heap_init_harvard" if target.harvard else "llext_heap_init"
    buffers: list[DynamicBuffer] = []
    for role in roles:
        probe = HeapSection(section="", symbol="", role=role, backend=HeapBackend.K_HEAP,
                            size=minimum, align=8)
        regions = tuple(r.name for r in board.regions
                        if _dynamic_ok(board, probe, r.name))
        shape = usable.heap_shape(minimum, target.pointer_size, target.config)
        overhead = minimum - shape.free_bytes
        note = (f"sys_heap keeps {overhead} bytes of a {minimum}-byte buffer for itself "
                f"(chunk 0, end marker); every allocation adds a "
                f"{shape.header}-byte header and rounds to 8")
        if target.rounding is Rounding.POWER_OF_TWO:
            note += ("; under the power-of-two MPU a block of A bytes needs about 2A free "
                     "bytes")
        buffers.append(DynamicBuffer(role=role, init_call=call, minimum_size=minimum,
                                     align=8, regions=regions, note=note))
    # Nothing placed: every region's space after is its space before.
    spaces = _region_space(problem, _Placed((), {}))
    return Layout(target=target, heaps=(), regions=spaces, dynamic=tuple(buffers))


def _dynamic_ok(board: Board, probe: HeapSection, region: str) -> bool:
    # The application's buffer may live in memory that appears after boot (volatile):
    # llext_heap_init runs when the application decides.
    r = board.region(region)
    return exclusion(board, probe, records.evolve(r, volatile=False)) is None
