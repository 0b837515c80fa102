"""Where a heap may go: the free gaps around what is used, and the regions it prefers.

Which regions a heap may use at all is `placer.target.exclusion`, shared with the rules."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from placer.board import Board, MemoryRegion, UsedRange


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
