"""Zephyr's own placement of the heaps, driven by an ordering graph (Zephyr's
include/zephyr/linker/common-noinit.ld and include/zephyr/arch/arc/v2/linker.ld).

Without ``CONFIG_LLEXT_CUSTOM_HEAP_PLACEMENT`` the linker puts the heaps where Zephyr's
scripts name them: non-Harvard heaps (and the memblk metadata heap) inside the NOLOAD
``.noinit`` output section of the noinit region, after ``.noinit``'s own input sections; on
Harvard ARC the instruction heap inside ``.rodata`` in ICCM and the data heap inside
``.data`` in DCCM. Sections that follow the insertion point in that region move up.

The order inside each region is a graph: consecutive used ranges, anchor ->
heap, heap -> next heap of the same output section, plus the caller's ``Order``
constraints. A cycle is an error that names it; otherwise each region's sequence is the
topological order that keeps every section as early as its predecessors allow.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence

from placer import records
from placer._graph import DiGraph, find_cycle, topological_order
from placer.board import UsedRange
from placer.errors import ArgumentError, Infeasible
from placer.layout import Placement
from placer.solve.search import first_address
from placer.target import HeapRole, HeapSection, Target

#: Later sections pushed up by an inserted heap keep this alignment (Zephyr's sections
#: start 4- or 8-aligned); exact positions are what GNU ld says (see the emit oracle).
SHIFT_ALIGN = 8


@records.frozen
class Order:
    """An ordering constraint: `section` lies above `after` when both share a region."""

    section: str
    after: str


@records.frozen
class Anchor:
    """Where Zephyr's script inserts a heap: after used range `after` in `region`.

    `host` says `after` is the content of the output section the heap joins (``.noinit``,
    ``.rodata``, ``.data``): GNU ld aligns an output section to the largest alignment of
    its input sections, so a heap's alignment moves that content too.
    """

    region: str
    after: str | None
    placement: Placement
    host: bool = True


@records.frozen
class DefaultSlot:
    """One heap placed the default way."""

    heap: HeapSection
    region: str
    address: int
    padding: int
    placement: Placement


@records.frozen
class DefaultResult:
    """The default placement, or the reason it does not fit (`problem`)."""

    slots: tuple[DefaultSlot, ...]
    occupied: Mapping[str, tuple[tuple[int, int], ...]]
    problem: str | None = None
    #: (region, what, start) of each used range the heaps push up -> its new start.
    moved: Mapping[tuple[str, str, int], int] = records.field(factory=dict)


def node_name(used: UsedRange) -> str:
    """The name of a used range with a leading dot (``.bss``)."""
    what = used.what.strip()
    return what if what.startswith(".") else "." + what


def node_ids(used: Sequence[UsedRange]) -> list[str]:
    """Graph node ids parallel to `used`: the name, with ``#2``, ``#3``... for further
    pieces of the same name (an image's ``.noinit`` split around a heap it already has),
    numbered in address order."""
    order = sorted(range(len(used)), key=lambda n: (used[n].region, used[n].start))
    seen: dict[str, int] = {}
    ids = [""] * len(used)
    for n in order:
        name = node_name(used[n])
        seen[name] = seen.get(name, 0) + 1
        ids[n] = name if seen[name] == 1 else f"{name}#{seen[name]}"
    return ids


def anchor(target: Target, heap: HeapSection, used: Sequence[UsedRange]) -> Anchor:
    """Where Zephyr's linker script puts `heap` by default."""
    board = target.board
    if target.harvard and heap.role is HeapRole.INSTR:
        region = _region_of(used, ".rodata", board.flash_region or board.noinit_region)
        return Anchor(region, _named(used, region, ".rodata"), Placement.IN_RODATA)
    if target.harvard and heap.role is HeapRole.DATA:
        region = board.noinit_region
        return Anchor(region, _named(used, region, ".data"), Placement.IN_DATA)
    region = board.noinit_region
    after = _named(used, region, ".noinit")
    if after is not None:
        return Anchor(region, after, Placement.NOINIT)
    # No .noinit content: the heaps alone make up .noinit, after whatever comes last.
    ids = node_ids(used)
    inside = sorted((n for n, u in enumerate(used) if u.region == region),
                    key=lambda n: (used[n].end, used[n].start))
    return Anchor(region, ids[inside[-1]] if inside else None, Placement.NOINIT, host=False)


def _region_of(used: Sequence[UsedRange], name: str, fallback: str) -> str:
    for u in used:
        if node_name(u) == name:
            return u.region
    return fallback


#: What the image calls the content a heap joins: the input section name, and the output
#: section Zephyr's scripts collect it in (``datas`` in include/zephyr/linker/common-ram.ld
#: and the arch scripts; ``rodata`` and ``noinit`` read as ``.rodata``/``.noinit``).
_HOST_NAMES = {".data": (".data", ".datas")}


def _named(used: Sequence[UsedRange], region: str, name: str) -> str | None:
    ids = node_ids(used)
    for wanted in _HOST_NAMES.get(name, (name,)):
        for n, u in enumerate(used):
            if u.region == region and node_name(u) == wanted:
                return ids[n]
    return None


def order_graph(target: Target, heaps: Sequence[HeapSection], used: Sequence[UsedRange],
                orders: Sequence[Order]) -> DiGraph[str]:
    """The ordering graph; raises `Infeasible` naming a cycle or an unknown section."""
    graph: DiGraph[str] = DiGraph()
    ids = node_ids(used)
    by_region: dict[str, list[int]] = {}
    for n, u in enumerate(used):
        by_region.setdefault(u.region, []).append(n)
        graph.add_node(ids[n])
    for members in by_region.values():
        members.sort(key=lambda n: (used[n].start, used[n].end))
        for lower, upper in itertools.pairwise(members):
            graph.add_edge(ids[lower], ids[upper])
    previous: dict[tuple[str, str | None], str] = {}
    for heap in heaps:
        where = anchor(target, heap, used)
        graph.add_node(heap.section)
        key = (where.region, where.after)
        before = previous.get(key, where.after)
        if before is not None:
            graph.add_edge(before, heap.section)
        previous[key] = heap.section
    for order in orders:
        for name in (order.section, order.after):
            if name not in graph:
                known = ", ".join(sorted(graph))
                raise ArgumentError("orders", f"ordering constraint {order.section} after "
                                    f"{order.after} names {name}, which is neither a heap "
                                    f"section nor a used range (known: {known})")
        graph.add_edge(order.after, order.section)
    cycle = find_cycle(graph)
    if cycle is None:
        return graph
    names = [edge[0] for edge in cycle] + [cycle[0][0]]
    heap_names = {heap.section for heap in heaps}
    first = next((n for n in names if n in heap_names), names[0])
    raise Infeasible(first, "ordering constraints form a cycle: " + " -> ".join(names))


def default_placement(target: Target, heaps: Sequence[HeapSection], used: Sequence[UsedRange],
                      orders: Sequence[Order], residues: Mapping[str, tuple[int, int]],
                      extra: Mapping[str, int]) -> DefaultResult:
    """Place `heaps` the way Zephyr's scripts do; `residues` maps a section to the
    ``(modulus, residue)`` its address must have, `extra` to bytes kept free after it."""
    board = target.board
    graph = order_graph(target, heaps, used, orders)
    ids = node_ids(used)
    anchors = {heap.section: anchor(target, heap, used) for heap in heaps}
    slots: list[DefaultSlot] = []
    occupied: dict[str, tuple[tuple[int, int], ...]] = {}
    moved: dict[tuple[str, str, int], int] = {}
    problems: list[str] = []
    regions = sorted({a.region for a in anchors.values()},
                     key=lambda name: [r.name for r in board.regions].index(name))
    # GNU ld aligns an output section to its most aligned input section: the hosting
    # section's content (or, without content, its first heap) starts at that alignment.
    section_align: dict[tuple[str, str | None], int] = {}
    for heap in heaps:
        key = (anchors[heap.section].region, anchors[heap.section].after)
        section_align[key] = max(section_align.get(key, 1), heap.align)
    for region_name in regions:
        region = board.region(region_name)
        mine = [h for h in heaps if anchors[h.section].region == region_name]
        entered: set[str | None] = set()
        by_name = {ids[n]: u for n, u in enumerate(used) if u.region == region_name}
        ends = {name: u.end for name, u in by_name.items()}
        keys: dict[str, tuple[int, int, int]] = {}
        for name, u in by_name.items():
            keys[name] = (u.start, 1, 0)
        for index, heap in enumerate(mine):
            after = anchors[heap.section].after
            keys[heap.section] = (ends[after] if after else region.origin, 0, index)
        sub = graph.subgraph(keys)
        sequence = topological_order(sub, key=lambda n: keys[n])
        heap_by_name = {h.section: h for h in mine}
        cursor = region.origin
        spans: list[tuple[int, int]] = []
        for name in sequence:
            if name in by_name:
                u = by_name[name]
                start = u.start if cursor <= u.start else first_address(cursor, SHIFT_ALIGN, 0)
                hosted = [h for h in mine if anchors[h.section].after == name
                          and anchors[h.section].host]
                if hosted:
                    start = first_address(start, section_align[(region_name, name)], 0)
                if start != u.start:
                    moved[(u.region, u.what, u.start)] = start
                spans.append((start, start + u.size))
                cursor = max(cursor, start + u.size)
                continue
            heap = heap_by_name[name]
            where = anchors[heap.section]
            if not where.host and where.after not in entered:
                entered.add(where.after)
                cursor = first_address(cursor, section_align[(region_name, where.after)], 0)
            modulus, residue = residues.get(heap.section, (heap.align, 0))
            address = first_address(cursor, modulus, residue)
            end = address + heap.size + extra.get(heap.section, 0)
            slots.append(DefaultSlot(heap, region_name, address, address - cursor,
                                     anchors[heap.section].placement))
            spans.append((address, address + heap.size))
            cursor = end
        if cursor > region.end:
            problems.append(f"{region_name} would need {cursor - region.origin} bytes, it has "
                            f"{region.length}")
        occupied[region_name] = tuple(sorted(spans))
    order = {h.section: n for n, h in enumerate(heaps)}
    slots.sort(key=lambda s: order[s.heap.section])
    return DefaultResult(tuple(slots), occupied, "; ".join(problems) or None, moved)
