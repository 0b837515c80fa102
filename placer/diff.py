"""What changed between two layouts: heaps that moved, grew, shrank or changed region, and
each region's free space before and after.

CI keeps a layout JSON under version control; ``placer diff OLD.json NEW.json`` says in a
pull request what a change to the board, the configuration or the image did to the heaps.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Callable

from placer import records
from placer.layout import Layout, PlacedHeap


class Change(enum.Enum):
    """One way a heap can differ between two layouts."""

    ADDED = "added"
    REMOVED = "removed"
    MOVED = "moved"
    GREW = "grew"
    SHRANK = "shrank"
    CHANGED_REGION = "changed region"
    REALIGNED = "realigned"
    REPLACED = "changed placement"


@records.frozen
class HeapDelta:
    """One heap section in the old and the new layout (``None`` where it is absent)."""

    section: str
    old: PlacedHeap | None
    new: PlacedHeap | None

    @property
    def changes(self) -> tuple[Change, ...]:
        """What differs, in report order; empty when the heap is the same in both."""
        old, new = self.old, self.new
        if old is None:
            return (Change.ADDED,) if new is not None else ()
        if new is None:
            return (Change.REMOVED,)
        found: list[Change] = []
        if old.region != new.region:
            found.append(Change.CHANGED_REGION)
        if old.address != new.address:
            found.append(Change.MOVED)
        if new.size > old.size:
            found.append(Change.GREW)
        elif new.size < old.size:
            found.append(Change.SHRANK)
        if old.heap.align != new.heap.align:
            found.append(Change.REALIGNED)
        if old.placement != new.placement:
            found.append(Change.REPLACED)
        return tuple(found)


@records.frozen
class RegionDelta:
    """A region's free space (after the heaps) in the old and the new layout, in bytes."""

    region: str
    old_free: int | None
    new_free: int | None

    @property
    def changed(self) -> bool:
        """Whether the free space differs (or the region exists in one layout only)."""
        return self.old_free != self.new_free


@records.frozen
class LayoutDiff:
    """Every heap and region of either layout, in a stable order, with what changed."""

    old_board: str
    new_board: str
    heaps: tuple[HeapDelta, ...]
    regions: tuple[RegionDelta, ...]

    @property
    def changed(self) -> bool:
        """Whether anything a build depends on differs: `placer diff` exits 1 then."""
        return (
            self.old_board != self.new_board
            or any(delta.changes for delta in self.heaps)
            or any(delta.changed for delta in self.regions)
        )


def diff_layouts(old: Layout, new: Layout) -> LayoutDiff:
    """Compare two layouts heap by heap (matched by section name) and region by region."""
    old_heaps = {h.section: h for h in old.heaps}
    new_heaps = {h.section: h for h in new.heaps}
    heaps = tuple(
        HeapDelta(section, old_heaps.get(section), new_heaps.get(section))
        for section in _union(list(old_heaps), list(new_heaps))
    )
    old_free = {r.region: r.free_after for r in old.regions}
    new_free = {r.region: r.free_after for r in new.regions}
    regions = tuple(
        RegionDelta(name, old_free.get(name), new_free.get(name))
        for name in _union(list(old_free), list(new_free))
    )
    return LayoutDiff(old.target.board.name, new.target.board.name, heaps, regions)


def format_text(diff: LayoutDiff) -> str:
    """A plain-text report, one line per changed heap, then every region's free space."""
    lines: list[str] = []
    if diff.old_board != diff.new_board:
        lines.append(f"board: {diff.old_board} -> {diff.new_board}")
    changed = [d for d in diff.heaps if d.changes]
    for delta in changed:
        lines.append(f"{delta.section}: {'; '.join(_describe(delta))}")
    if not changed:
        lines.append("heaps: no change")
    lines.append("free space per region (bytes, old -> new):")
    width = max((len(r.region) for r in diff.regions), default=0)
    for region in diff.regions:
        lines.append(
            f"  {region.region:<{width}}  {_opt(region.old_free)} -> {_opt(region.new_free)}"
            f"  ({_signed_delta(region.old_free, region.new_free)})"
        )
    return "\n".join(lines) + "\n"


def format_markdown(diff: LayoutDiff) -> str:
    """A pull-request comment: a table of heaps and a table of free space per region."""
    out = ["### LLEXT heap layout changes", ""]
    if diff.old_board != diff.new_board:
        out += [f"Board: `{diff.old_board}` → `{diff.new_board}`", ""]
    if not diff.changed:
        out += ["No change.", ""]
    out += [
        "| heap | change | region | address | size (bytes) |",
        "|---|---|---|---|---|",
    ]
    for delta in diff.heaps:
        change = ", ".join(c.value for c in delta.changes) or "unchanged"
        out.append(
            f"| `{delta.section}` | {change} "
            f"| {_pair(delta, lambda h: h.region)} "
            f"| {_pair(delta, lambda h: f'`0x{h.address:08x}`')} "
            f"| {_pair(delta, lambda h: str(h.size))} |"
        )
    # Both columns are the space left after the heaps (`free_after`), in the old and the
    # new layout; "before/after" would read as the layout table's other column.
    out += ["", "| region | old free (bytes) | new free (bytes) | delta |",
            "|---|---:|---:|---:|"]
    for region in diff.regions:
        out.append(
            f"| {region.region} | {_opt(region.old_free)} | {_opt(region.new_free)} "
            f"| {_signed_delta(region.old_free, region.new_free)} |"
        )
    return "\n".join(out) + "\n"


def format_json(diff: LayoutDiff) -> str:
    """The diff as JSON (schema ``placer-diff/1``), for tools."""
    def heap(h: PlacedHeap | None) -> dict[str, object] | None:
        if h is None:
            return None
        return {"region": h.region, "address": h.address, "address_hex": f"0x{h.address:08x}",
                "size": h.size, "align": h.heap.align, "placement": h.placement.value}

    document = {
        "schema": "placer-diff/1",
        "changed": diff.changed,
        "board": {"old": diff.old_board, "new": diff.new_board},
        "heaps": [
            {"section": d.section, "changes": [c.value for c in d.changes],
             "old": heap(d.old), "new": heap(d.new)}
            for d in diff.heaps
        ],
        "regions": [
            {"region": r.region, "old_free": r.old_free, "new_free": r.new_free,
             "delta": None if r.old_free is None or r.new_free is None
             else r.new_free - r.old_free}
            for r in diff.regions
        ],
    }
    return json.dumps(document, indent=2) + "\n"


def _describe(delta: HeapDelta) -> list[str]:
    old, new = delta.old, delta.new
    if new is not None and old is None:
        return [f"added in {new.region} at 0x{new.address:08x}, {new.size} bytes"]
    if old is not None and new is None:
        return [f"removed from {old.region} (was at 0x{old.address:08x}, {old.size} bytes)"]
    assert old is not None and new is not None
    words: list[str] = []
    for change in delta.changes:
        if change is Change.CHANGED_REGION:
            words.append(f"changed region {old.region} -> {new.region}")
        elif change is Change.MOVED:
            words.append(
                f"moved 0x{old.address:08x} -> 0x{new.address:08x} "
                f"({_signed_hex(new.address - old.address)})"
            )
        elif change in (Change.GREW, Change.SHRANK):
            words.append(f"{change.value} {old.size} -> {new.size} bytes "
                         f"({new.size - old.size:+d})")
        elif change is Change.REALIGNED:
            words.append(f"alignment {old.heap.align} -> {new.heap.align}")
        elif change is Change.REPLACED:
            words.append(f"placement {old.placement.value} -> {new.placement.value}")
    return words


def _union(first: list[str], second: list[str]) -> list[str]:
    # Old order first, then names only the new layout has: stable and readable.
    return first + [name for name in second if name not in first]


def _pair(delta: HeapDelta, show: Callable[[PlacedHeap], str]) -> str:
    old = "—" if delta.old is None else show(delta.old)
    new = "—" if delta.new is None else show(delta.new)
    return old if old == new else f"{old} → {new}"


def _opt(value: int | None) -> str:
    return "—" if value is None else str(value)


def _signed_delta(old: int | None, new: int | None) -> str:
    if old is None or new is None:
        return "—"
    return f"{new - old:+d}"


def _signed_hex(value: int) -> str:
    return f"+0x{value:x}" if value >= 0 else f"-0x{-value:x}"
