"""The smallest heap sizes at which a sequence of extensions loads (issue 6, item 6).

Fit is not monotonic in area (the allocator's buckets and aligned over-allocation see to
that), so the search runs the exact simulator at each candidate size, in the steps Kconfig
allows: whole KiB for the k_heap sizes, whole KiB that are also whole blocks for memblk
pools. Each heap is searched with the others made large, since a heap's allocation
sequence does not depend on the other heaps' sizes once every allocation succeeds.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from placer import records
from placer.config import HeapBackend
from placer.layout import Layout
from placer.llext.elf import ExtensionElf
from placer.llext.heap import z_heap_min_size
from placer.llext.loader import BuiltinLookup, Loader, LoadOptions
from placer.llext.metadata import MetadataSizes
from placer.target import SIZE_OPTION

#: The search gives up above this many KiB per heap.
LIMIT_KIB = 64 * 1024
#: The largest heap (in KiB) whose chunk count still fits a small heap's 15-bit fields.
_SMALL_KIB = 255


@records.frozen
class HeapMinimum:
    """The smallest workable size of one heap: in KiB as Kconfig takes it, and in bytes
    as the buffer ends up. `current` is the layout's size; `shortfall` how much more the
    layout needs (0 when it already fits)."""

    heap: str
    option: str
    kib: int
    size: int
    current: int

    @property
    def shortfall(self) -> int:
        """Bytes the layout's heap lacks (0 when it is big enough)."""
        return max(self.size - self.current, 0)

    @property
    def kconfig_line(self) -> str:
        """The ``CONFIG_...=KiB`` line that gives this size (for a dynamic heap: the
        buffer size to pass at run time)."""
        if not self.option:
            return f"{self.heap}: a buffer of {self.size} bytes"
        return f"CONFIG_{self.option}={self.kib}"


@records.frozen
class MinimumHeaps:
    """Every heap's minimum, or why there is none (`blocked_by`: an extension that fails
    for a reason no heap size fixes)."""

    heaps: tuple[HeapMinimum, ...]
    blocked_by: str | None = None

    @property
    def kconfig(self) -> tuple[str, ...]:
        """Every heap's Kconfig line, in the layout's heap order."""
        return tuple(h.kconfig_line for h in self.heaps)


def minimum_heaps(layout: Layout, steps: Sequence[tuple[str, ExtensionElf | None]], *,
                  options: LoadOptions | None = None, sizes: MetadataSizes | None = None,
                  builtin: BuiltinLookup | None = None) -> MinimumHeaps:
    """The smallest heap sizes at which every load of `steps` succeeds.

    Each step is (name, extension) to load it, or (name, None) to unload it, in order.
    """
    opts = records.evolve(options if options is not None else LoadOptions(), link=False)
    # Search with the other heaps roomy. The largest small heap keeps 4-byte headers, so
    # its peak is a true lower bound for small sizes; beyond it, a big roomy heap.
    for roomy_kib in (_SMALL_KIB, LIMIT_KIB):
        large = {h.section: _size_for(layout, h.section, _fit_step(layout, h.section, roomy_kib))
                 for h in layout.heaps}
        ok, failure, peaks = _run(layout, steps, opts, sizes, builtin, large)
        if ok:
            break
    if not ok:
        return MinimumHeaps(heaps=(), blocked_by=failure)
    found = []
    for placed in layout.heaps:
        section = placed.section
        step = _step_kib(layout, section)
        kib = max(step, math.ceil(peaks[section] / 1024 / step) * step)
        while kib <= LIMIT_KIB:
            trial = dict(large)
            trial[section] = _size_for(layout, section, kib)
            if _run(layout, steps, opts, sizes, builtin, trial)[0]:
                break
            kib += step
        # A dynamic heap is a buffer given at run time: no Kconfig option sizes it.
        option = "" if layout.dynamic else SIZE_OPTION[placed.heap.role]
        found.append(HeapMinimum(heap=section, option=option, kib=kib,
                                 size=_size_for(layout, section, kib),
                                 current=placed.size))
    return MinimumHeaps(heaps=tuple(found))


def _run(layout: Layout, steps: Sequence[tuple[str, ExtensionElf | None]],
         options: LoadOptions, sizes: MetadataSizes | None, builtin: BuiltinLookup | None,
         heap_sizes: dict[str, int]) -> tuple[bool, str | None, dict[str, int]]:
    loader = Loader(layout, options=options, sizes=sizes, builtin=builtin,
                    heap_sizes=heap_sizes)
    for name, ext in steps:
        if ext is None:
            if name in loader.loaded:
                loader.unload(name)
            continue
        result = loader.load(ext, name)
        if result.error is not None:
            return False, f"{name}: {result.error}", {}
    return True, None, {h.name: h.peak_overall for h in loader.heaps}


def _step_kib(layout: Layout, section: str) -> int:
    heap = layout.heap(section).heap
    if heap.backend is HeapBackend.MEMBLK and heap.block_size:
        return max(math.lcm(1024, heap.block_size) // 1024, 1)
    return 1


def _fit_step(layout: Layout, section: str, kib: int) -> int:
    step = _step_kib(layout, section)
    return max(kib // step * step, step)


def _size_for(layout: Layout, section: str, kib: int) -> int:
    heap = layout.heap(section).heap
    if heap.backend is HeapBackend.MEMBLK:
        return kib * 1024
    return max(kib * 1024, z_heap_min_size(layout.target.heap_options))
