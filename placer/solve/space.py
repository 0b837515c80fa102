"""Where a heap may go: region eligibility rules and the free gaps around what is used."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from placer.board import Board, Bus, MemoryRegion, UsedRange
from placer.target import HeapRole, HeapSection

#: Roles whose heap the loader writes through the data bus.
_DATA_ROLES = frozenset({HeapRole.SHARED, HeapRole.EXT, HeapRole.DATA, HeapRole.METADATA})


def exclusion(board: Board, heap: HeapSection, region: MemoryRegion) -> str | None:
    """Why `heap` may not go in `region`, in words, or None when it may.

    Static heaps are written by ``k_heap_init`` at boot and by the loader afterwards, so
    the memory must be writable, writable while extensions load, and present at boot.
    The Harvard instruction heap needs executable memory on the instruction bus; every
    other heap is data memory to the loader, so it needs the data bus (a non-Harvard heap
    goes where Zephyr's ``.noinit`` goes, and runs code from there).
    """
    if region.name in board.forbidden_regions:
        return "forbidden by the board"
    if region.length <= 0:
        return "empty"
    if not region.writable:
        return f"not writable (attributes {_attrs(region)})"
    if not region.writable_at_load:
        return "not writable at load time"
    if region.volatile:
        return "not present at boot (volatile)"
    if heap.role is HeapRole.INSTR:
        if region.bus is Bus.DATA:
            return "not on the instruction bus"
        if not region.executable:
            return f"not executable (attributes {_attrs(region)})"
    if heap.role in _DATA_ROLES and region.bus is Bus.INSTRUCTION:
        return "not on the data bus"
    return None


def _attrs(region: MemoryRegion) -> str:
    return "".join(flag for flag in "rwx" if flag in region.attributes) or "none"


def free_gaps(region: MemoryRegion, occupied: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    """Free ``[start, end)`` intervals of `region` around the `occupied` intervals."""
    cursor = region.origin
    gaps: list[tuple[int, int]] = []
    for start, end in sorted(occupied):
        start, end = max(start, region.origin), min(end, region.end)
        if end <= start:
            continue
        if start > cursor:
            gaps.append((cursor, start))
        cursor = max(cursor, end)
    if cursor < region.end:
        gaps.append((cursor, region.end))
    return gaps


def used_intervals(region: str, used: Sequence[UsedRange]) -> list[tuple[int, int]]:
    """The ``[start, end)`` intervals of `used` in `region`, sorted."""
    return sorted((u.start, u.end) for u in used if u.region == region and u.size > 0)


def covered(intervals: Iterable[tuple[int, int]]) -> int:
    """Bytes covered by the union of `intervals`."""
    total = 0
    cursor: int | None = None
    for start, end in sorted(intervals):
        if cursor is None or start > cursor:
            total += end - start
            cursor = end
        elif end > cursor:
            total += end - cursor
            cursor = end
    return total


def largest_aligned_gap(gaps: Iterable[tuple[int, int]], align: int) -> tuple[int, int]:
    """The largest ``size`` an `align`-aligned block can have in `gaps`, and its address."""
    best, where = 0, 0
    for start, end in gaps:
        address = start + (-start) % align
        if end - address > best:
            best, where = end - address, address
    return best, where


def preference_rank(board: Board, region: str) -> int:
    """0 for the most preferred region. Without a board preference the noinit region (where
    Zephyr puts the heaps) comes first, the rest after it."""
    if board.preferred_regions:
        if region in board.preferred_regions:
            return board.preferred_regions.index(region)
        return len(board.preferred_regions)
    return 0 if region == board.noinit_region else 1
