"""What `placer.verify` answers: per extension and in total, with a verdict.

The text table is for people, the JSON for CI; both are deterministic (same inputs, same
bytes out).
"""

from __future__ import annotations

from typing import Any

from placer import records
from placer.llext.loader import ExtensionLoad, HeapUsage
from placer.llext.minheap import MinimumHeaps


@records.frozen
class HeapTotal:
    """One heap over the whole sequence: bytes in use at the end, the peak, the capacity
    the allocator can hand out, and the buffer's size and address."""

    heap: str
    address: int
    size: int
    capacity: int
    final: int
    peak: int


@records.frozen
class Unload:
    """An ``llext_unload`` between loads: after the first `after_loads` loads, with each
    heap's bytes in use before and after it."""

    name: str
    after_loads: int
    usage: tuple[HeapUsage, ...]


@records.frozen
class Report:
    """The outcome of loading extensions, in load order, against one layout."""

    loads: tuple[ExtensionLoad, ...]
    heaps: tuple[HeapTotal, ...]
    order: tuple[str, ...]
    metadata_source: str
    minimum: MinimumHeaps | None = None
    notes: tuple[str, ...] = ()
    storage: str = ""
    unloads: tuple[Unload, ...] = ()

    @property
    def ok(self) -> bool:
        """Whether every extension loads."""
        return all(load.ok for load in self.loads)

    def load(self, name: str) -> ExtensionLoad:
        """The result for extension `name`; `KeyError` when it was not loaded."""
        for load in self.loads:
            if load.name == name:
                return load
        raise KeyError(name)

    def verdict(self) -> str:
        """One line: do they all load, and if not, which fails first and why."""
        failed = [load for load in self.loads if not load.ok]
        if not failed:
            return f"OK: all {len(self.loads)} extension(s) load"
        first = failed[0]
        why = f"-{first.error.errno}" if first.error is not None else \
            "its code cannot execute where it was loaded"
        return (f"FAIL: {len(failed)} of {len(self.loads)} extension(s) would not load; "
                f"first: {first.name}: {why}")

    def render_text(self) -> str:
        """The human-readable report: a table per extension, heap totals, the verdict."""
        lines: list[str] = []
        lines.extend(self._unload_lines(0))
        for number, load in enumerate(self.loads, start=1):
            state = "loads" if load.ok else "FAILS"
            lines.append(f"extension {load.name} ({load.path}): {state}")
            if load.error is not None:
                lines.append(f"  error: {load.error.message} (Zephyr: -{load.error.errno})")
            lines.extend(f"  fault: {fault}" for fault in load.faults)
            if load.regions:
                lines.append(f"  {'region':<16}{'address':>12}{'size':>8}{'align':>7}"
                             f"  {'where':<22}{'heap bytes':>10}  sections")
                for r in load.regions:
                    where = r.heap if r.heap is not None else "in place"
                    lines.append(
                        f"  {r.mem.name:<16}{r.address:>#12x}{r.size:>8}{r.align:>7}  "
                        f"{where:<22}{r.consumed:>10}  {' '.join(r.sections)}")
            for usage in load.usage:
                lines.append(f"  heap {usage.heap}: {usage.persistent:+d} bytes kept, peak "
                             f"{usage.transient_peak:+d} during the load ({usage.after} of "
                             f"{usage.capacity} bytes in use after)")
            unresolved = ", ".join(load.unresolved) if load.unresolved else "none"
            lines.append(f"  unresolved symbols: {unresolved}")
            if load.relocation_problems:
                lines.append("  relocation problems:")
                lines.extend(f"    {p}" for p in load.relocation_problems)
            else:
                lines.append("  relocation problems: none")
            lines.extend(f"  note: {note}" for note in load.notes)
            lines.extend(self._unload_lines(number))
        lines.append("heaps:")
        for h in self.heaps:
            lines.append(f"  {h.heap} at {h.address:#x} ({h.size} bytes, {h.capacity} "
                         f"allocatable): peak {h.peak}, in use at the end {h.final}")
        if self.minimum is not None:
            if self.minimum.blocked_by is not None:
                lines.append(f"minimum heaps: none ({self.minimum.blocked_by})")
            else:
                lines.append("minimum heaps:")
                for m in self.minimum.heaps:
                    more = f", {m.shortfall} bytes more than now" if m.shortfall else ""
                    lines.append(f"  {m.kconfig_line}  ({m.size} bytes{more})")
        lines.append(f"metadata sizes: {self.metadata_source}")
        if self.storage:
            lines.append(f"storage: {self.storage}")
        lines.extend(f"note: {note}" for note in self.notes)
        lines.append(self.verdict())
        return "\n".join(lines) + "\n"

    def _unload_lines(self, after_loads: int) -> list[str]:
        lines = []
        for unload in self.unloads:
            if unload.after_loads != after_loads:
                continue
            usage = ", ".join(f"{u.heap} {u.before} -> {u.after} bytes in use"
                              for u in unload.usage)
            lines.append(f"unload {unload.name}: {usage}")
        return lines

    def to_json(self) -> str:
        """The report as stable JSON (schema ``placer-verify/1``)."""
        import json  # only for --json: a verify that prints text does not load it

        return json.dumps(self.to_dict(), indent=2) + "\n"

    def to_dict(self) -> dict[str, Any]:
        """The report as plain data, in a fixed key order."""
        return {
            "schema": "placer-verify/1",
            "ok": self.ok,
            "verdict": self.verdict(),
            "order": list(self.order),
            "metadata_sizes": self.metadata_source,
            "storage": self.storage,
            "extensions": [_load_dict(load) for load in self.loads],
            "unloads": [{"name": u.name, "after_loads": u.after_loads,
                         "heaps": [{"heap": h.heap, "before": h.before, "after": h.after}
                                   for h in u.usage]} for u in self.unloads],
            "heaps": [{"heap": h.heap, "address": h.address, "size": h.size,
                       "capacity": h.capacity, "peak": h.peak, "final": h.final}
                      for h in self.heaps],
            "minimum_heaps": None if self.minimum is None else {
                "blocked_by": self.minimum.blocked_by,
                "heaps": [{"heap": m.heap, "option": m.option, "kib": m.kib,
                           "size": m.size, "shortfall": m.shortfall,
                           "kconfig": m.kconfig_line} for m in self.minimum.heaps]},
            "notes": list(self.notes),
        }


def _load_dict(load: ExtensionLoad) -> dict[str, Any]:
    error = None
    if load.error is not None:
        error = {"errno": load.error.errno, "message": load.error.message,
                 "section": load.error.section, "symbol": load.error.symbol}
    return {
        "name": load.name,
        "path": load.path,
        "ok": load.ok,
        "error": error,
        "faults": list(load.faults),
        "alloc_size": load.alloc_size,
        "regions": [{"region": r.mem.name, "address": r.address, "size": r.size,
                     "align": r.align, "heap": r.heap, "heap_bytes": r.consumed,
                     "sections": list(r.sections)} for r in load.regions],
        "allocations": [{"heap": a.heap, "what": a.what, "address": a.address,
                         "requested": a.requested, "align": a.align,
                         "consumed": a.consumed, "persistent": a.persistent}
                        for a in load.allocations],
        "heaps": [{"heap": u.heap, "before": u.before, "peak": u.peak, "after": u.after,
                   "persistent": u.persistent, "transient_peak": u.transient_peak,
                   "largest_free": u.largest_free}
                  for u in load.usage],
        "unresolved": list(load.unresolved),
        "relocation_problems": [str(p) for p in load.relocation_problems],
        "exports": [{"name": n, "address": a} for n, a in load.exports],
        "dependencies": list(load.dependencies),
        "notes": list(load.notes),
    }
