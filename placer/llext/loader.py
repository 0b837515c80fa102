"""The load pipeline, step by step as ``llext_load`` runs it (``do_llext_load`` in Zephyr's
subsys/llext/llext_load.c; ``llext_copy_region`` in Zephyr's subsys/llext/llext_mem.c;
``llext_prepare_et_dyn_image`` in Zephyr's subsys/llext/llext_mem.c).

A `Loader` holds the heaps of one layout, simulated exactly (`SysHeap`, `MemBlocks`), and
the extensions loaded so far. `Loader.load` makes the allocations Zephyr makes, in
Zephyr's order, from the heap Zephyr would use, frees what Zephyr frees, links the loaded
bytes with the relocation engine, and records where every region went. Fragmentation
carries from one load to the next; `Loader.unload` gives memory back as ``llext_unload``.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from typing import Literal

from placer import records
from placer.board import Arch, Bus
from placer.config import HeapBackend
from placer.errors import ConfigError, ExtensionError
from placer.layout import Layout, PlacedHeap
from placer.llext.elf import (
    ET_DYN,
    SHF_WRITE,
    SHN_UNDEF,
    STB_GLOBAL,
    STT_FUNC,
    STT_OBJECT,
    ElfSymbol,
    ExtensionElf,
)
from placer.llext.heap import HeapOptions, HeapTooSmall, SysHeap
from placer.llext.memblk import MemBlocks
from placer.llext.metadata import MetadataSizes, estimated_sizes, region_count
from placer.llext.regions import (
    Mem,
    Region,
    RegionMap,
    count_veneers,
    map_regions,
    veneer_stub_bytes,
)
from placer.llext.relocate import RelocationProblem, apply_relocations, first_error
from placer.llext.symbols import MAX_DEPENDENCIES
from placer.target import SIZE_OPTION, HeapRole, Rounding, Target
from placer.versions import XTENSA_READONLY_STORAGE

#: Regions the ET_DYN single image holds (``llext_et_dyn_program_region``).
_IMAGE_REGIONS = frozenset({Mem.TEXT, Mem.DATA, Mem.RODATA, Mem.BSS, Mem.EXPORT,
                            Mem.PREINIT, Mem.INIT, Mem.FINI})

#: Looks up an undefined symbol in the built-in export table: its address, or None.
BuiltinLookup = Callable[[ElfSymbol], "int | None"]


class Storage(enum.Enum):
    """``enum llext_storage_type``: what the loader may do with the ELF buffer
    (``llext_copy_region`` in Zephyr's subsys/llext/llext_mem.c)."""

    WRITABLE = "writable"  # regions used in place whenever aligned
    PERSISTENT = "persistent"  # read-only regions without relocations used in place
    TEMPORARY = "temporary"  # everything copied


@records.frozen
class LoadOptions:
    """How extensions are handed to the loader.

    `peek` is whether the loader can hand out pointers into the file (the buffer loader
    can, for every storage type); `buffer_address` is where the buffer holding the ELF
    sits, used for in-place regions and their alignment check. When it is unknown (None)
    in-place addresses are offsets into the buffer, the buffer is taken as aligned, and on
    a Harvard target as data memory (where ELF buffers live). `keep_section_info` and
    `debug_symbols` mirror ``keep_section_info`` and ``CONFIG_LLEXT_LOG_LEVEL_DBG``.
    """

    storage: Storage = Storage.WRITABLE
    peek: bool = True
    buffer_address: int | None = None
    keep_section_info: bool = False
    debug_symbols: bool = False
    link: bool = True


@records.frozen
class Allocation:
    """One allocation the load made: which heap, where, how much asked and consumed."""

    heap: str
    what: str
    address: int
    requested: int
    align: int
    consumed: int
    persistent: bool


@records.frozen
class LoadedRegion:
    """Where one region ended up: on a heap (`heap` names it) or in place in the buffer."""

    mem: Mem
    address: int
    size: int
    align: int
    heap: str | None
    consumed: int
    sections: tuple[str, ...]
    data: bytes = records.field(repr=False)


@records.frozen
class HeapUsage:
    """One heap's bytes over a load: before it, at its peak, and after it."""

    heap: str
    before: int
    peak: int
    after: int
    capacity: int
    #: The largest block the allocator would still hand out after it: a plain
    #: ``sys_heap_alloc`` (payload bytes, the search limit of SYS_HEAP_ALLOC_LOOPS
    #: included), or the longest run of free blocks of a memblk pool.
    largest_free: int = 0

    @property
    def persistent(self) -> int:
        """Bytes the extension keeps while loaded."""
        return self.after - self.before

    @property
    def transient_peak(self) -> int:
        """Bytes the load needed at its worst moment."""
        return self.peak - self.before


@records.frozen
class ExtensionLoad:
    """The outcome of loading one extension."""

    name: str
    path: str
    error: ExtensionError | None
    regions: tuple[LoadedRegion, ...]
    allocations: tuple[Allocation, ...]
    usage: tuple[HeapUsage, ...]
    alloc_size: int
    unresolved: tuple[str, ...]
    relocation_problems: tuple[RelocationProblem, ...]
    exports: tuple[tuple[str, int], ...]
    dependencies: tuple[str, ...]
    notes: tuple[str, ...] = ()
    already_loaded: bool = False
    #: Why the extension, loaded, would fault when called (its code in memory the CPU
    #: cannot execute): Zephyr's llext_load succeeds, the first call does not.
    faults: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        """Whether the extension loaded and its code can run where it was put."""
        return self.error is None and not self.faults


class _HeapState:
    """One simulated heap and the bytes it holds."""

    def __init__(self, placed: PlacedHeap, options: HeapOptions) -> None:
        self.name = placed.section
        self.role = placed.heap.role
        self.backend = placed.heap.backend
        self.kheap: SysHeap | None = None
        self.pool: MemBlocks | None = None
        self.blocks: dict[int, int] = {}
        self.consumed: dict[int, int] = {}
        if placed.heap.backend is HeapBackend.MEMBLK:
            block = placed.heap.block_size or 1
            self.pool = MemBlocks(placed.address, block, placed.size // block)
            self.capacity = self.pool.capacity
        else:
            try:
                self.kheap = SysHeap(placed.address, placed.size, options)
            except HeapTooSmall as exc:
                raise ConfigError((SIZE_OPTION[placed.heap.role],),
                                  f"heap {placed.section} is too small for sys_heap: {exc}",
                                  fix="make the heap at least Z_HEAP_MIN_SIZE bytes") from None
            self.capacity = self.kheap.capacity
        self.used = 0
        self.peak = 0  # within the current load
        self.peak_overall = 0

    def alloc(self, align: int, nbytes: int) -> int | None:
        if nbytes == 0:
            return None  # llext_alloc_* of 0 bytes returns NULL
        if self.kheap is not None:
            address = self.kheap.aligned_alloc(align, nbytes)
            if address is None:
                return None
            consumed = self.kheap.chunk_bytes(address)
        else:
            assert self.pool is not None
            count = -(-nbytes // self.pool.block_size)
            address = self.pool.alloc_contiguous(count)
            if address is None:
                return None
            self.blocks[address] = count
            consumed = count * self.pool.block_size
        self.consumed[address] = consumed
        self.used += consumed
        self.peak = max(self.peak, self.used)
        self.peak_overall = max(self.peak_overall, self.used)
        return address

    def free(self, address: int) -> None:
        if self.kheap is not None:
            self.kheap.free(address)
        else:
            assert self.pool is not None
            self.pool.free_contiguous(address, self.blocks.pop(address))
        self.used -= self.consumed.pop(address)

    def largest_free(self) -> int:
        """The largest block one allocation could still get (see `HeapUsage`)."""
        if self.kheap is not None:
            return self.kheap.largest_alloc()
        assert self.pool is not None
        return self.pool.largest_free_run()

    def shortage(self, align: int, nbytes: int) -> str:
        """Why ``alloc(align, nbytes)`` failed, with how much more room it needed."""
        if self.kheap is not None:
            needed = self.kheap.required_block(align, nbytes)
            largest = self.kheap.largest_free_chunk()
            loops = self.kheap.options.alloc_loops
        else:
            assert self.pool is not None
            needed = -(-nbytes // self.pool.block_size) * self.pool.block_size
            largest = self.pool.largest_free_run()
            loops = 0
        if largest >= needed:
            return (f"a free block of {largest} bytes would do, but it lies beyond the "
                    f"SYS_HEAP_ALLOC_LOOPS={loops} chunks searched in its bucket")
        return (f"that needs a free block of {needed} bytes and the largest is {largest} "
                f"bytes ({needed - largest} more)")


@records.frozen
class _Held:
    """An allocation an extension holds: the heap, the payload address, what it is."""

    heap: _HeapState = records.field(eq=False)
    address: int
    what: str


def _unload_order(held: _Held) -> tuple[int, int]:
    """``llext_unload``: section headers, regions in enum order, the ET_DYN image, the
    tables, then struct llext."""
    return _order(held, headers_first=True)


def _failure_order(held: _Held) -> tuple[int, int]:
    """A failed load: regions, ET_DYN image and export table; then llext_load frees
    struct llext (and leaks the section headers)."""
    return _order(held, headers_first=False)


def _order(held: _Held, *, headers_first: bool) -> tuple[int, int]:
    if held.what.startswith("region "):
        return 1, Mem[held.what.removeprefix("region ")].value
    rank = {"ET_DYN image": 2, "symbol table": 3, "section map": 3, "export table": 4,
            "section headers": 0 if headers_first else 5, "struct llext": 6}
    return rank.get(held.what, 5), 0


class _Failed(Exception):
    def __init__(self, error: ExtensionError) -> None:
        super().__init__(str(error))
        self.error = error


@records.mutable
class _Loaded:
    """An extension while it is loaded: what to free on unload, what it exports."""

    name: str
    result: ExtensionLoad
    held: list[_Held]
    exports: dict[str, int]
    use_count: int = 1
    dependencies: list[str] = records.field(factory=list)


class Loader:
    """Zephyr's loader over the heaps of one layout."""

    def __init__(self, layout: Layout, *, options: LoadOptions | None = None,
                 sizes: MetadataSizes | None = None,
                 builtin: BuiltinLookup | None = None,
                 heap_sizes: dict[str, int] | None = None) -> None:
        self.target: Target = layout.target
        self.options = options if options is not None else LoadOptions()
        cfg = self.target.config
        self.pointer = self.target.pointer_size
        self.mem_count = region_count(rodata_no_reloc=cfg.rodata_no_reloc,
                                      veneers=cfg.veneers)
        self.sizes = sizes if sizes is not None else estimated_sizes(
            self.pointer, regions=self.mem_count, userspace=cfg.userspace,
            memblk=cfg.heap_backend is HeapBackend.MEMBLK)
        self.builtin = builtin
        heap_options = HeapOptions.for_config(self.pointer, cfg)
        if not cfg.llext:
            raise ConfigError(("LLEXT",), "LLEXT is disabled: no heap exists to load "
                              "extensions into", fix="set CONFIG_LLEXT=y")
        if not layout.heaps:
            raise ConfigError(("LLEXT_HEAP_DYNAMIC",), "the layout has no static LLEXT heap "
                              "to load into (dynamic heaps are given at run time)",
                              fix="give the buffers passed to llext_heap_init "
                              "(--heap-buffer ADDRESS:SIZE)")
        self.heaps: list[_HeapState] = []
        for placed in layout.heaps:
            if heap_sizes and placed.section in heap_sizes:
                placed = records.evolve(placed, heap=records.evolve(
                    placed.heap, size=heap_sizes[placed.section]))
            self.heaps.append(_HeapState(placed, heap_options))
        self.metadata_heap = self._route(HeapRole.METADATA, HeapRole.DATA, HeapRole.SHARED)
        self.instr_heap = self._route(HeapRole.INSTR, HeapRole.EXT, HeapRole.SHARED)
        self.data_heap = self._route(HeapRole.DATA, HeapRole.EXT, HeapRole.SHARED)
        self.loaded: dict[str, _Loaded] = {}

    def _route(self, *roles: HeapRole) -> _HeapState:
        for role in roles:
            for heap in self.heaps:
                if heap.role is role:
                    return heap
        raise ConfigError(("LLEXT",), f"the layout has no heap for {roles[0].value} "
                          "allocations", fix="place the heaps with `placer place` first")

    # -- public -------------------------------------------------------------------------

    def load(self, ext: ExtensionElf, name: str) -> ExtensionLoad:
        """Load `ext` under `name` as ``llext_load`` would; never raises for the file's
        faults (they are in the result's `error`)."""
        if name in self.loaded:
            return self.load_again(name)
        run = _LoadRun(self, ext, name)
        result = run.execute()
        if result.ok:
            self.loaded[name] = _Loaded(name, result, run.held, dict(result.exports),
                                        dependencies=list(result.dependencies))
            for dep in result.dependencies:
                self.loaded[dep].use_count += 1
        return result

    def load_refused(self, name: str, path: str, error: ExtensionError,
                     section_count: int | None) -> ExtensionLoad:
        """A file Zephyr refuses while reading it: ``struct llext`` is allocated first and,
        once the header passed (`section_count` is ``e_shnum``), the section map (and the
        section headers for a loader without peek); then all but the headers are freed
        again. The heaps' free lists change even though nothing loads."""
        if name in self.loaded:
            return self.load_again(name)
        before = {h.name: h.used for h in self.heaps}
        for h in self.heaps:
            h.peak = h.used
        meta = self.metadata_heap
        plan = [("struct llext", self.sizes.llext)]
        if section_count:
            plan.append(("section map", section_count * self.sizes.sect_map_entry))
            if not self.options.peek:
                plan.append(("section headers", section_count * self.sizes.section_header))
        allocations: list[Allocation] = []
        notes: list[str] = []
        for what, nbytes in plan:
            address = meta.alloc(0, nbytes)
            if address is None:
                error = ExtensionError(f"cannot allocate {nbytes} bytes for {what} from "
                                       f"{meta.name}: {meta.shortage(0, nbytes)}", path,
                                       "ENOMEM")
                break
            allocations.append(Allocation(meta.name, what, address, nbytes, 0,
                                          meta.consumed[address], what != "section map"))
        for allocation in [a for a in allocations if a.what == "section map"] + \
                [a for a in allocations if a.what == "struct llext"]:
            meta.free(allocation.address)
        if any(a.what == "section headers" for a in allocations):
            notes.append("Zephyr does not free the section headers of a failed load: "
                         f"{meta.name} keeps them")
        usage = tuple(HeapUsage(h.name, before[h.name], h.peak, h.used, h.capacity,
                                h.largest_free())
                      for h in self.heaps)
        return ExtensionLoad(name=name, path=path, error=error, regions=(),
                             allocations=tuple(allocations), usage=usage, alloc_size=0,
                             unresolved=(), relocation_problems=(), exports=(),
                             dependencies=(), notes=tuple(notes))

    def load_again(self, name: str) -> ExtensionLoad:
        """``llext_load`` of a name already loaded: one more reference, nothing read."""
        entry = self.loaded[name]
        entry.use_count += 1
        return records.evolve(entry.result, already_loaded=True, allocations=(), usage=())

    def unload(self, name: str) -> tuple[HeapUsage, ...]:
        """``llext_unload``: drop one reference; free everything when it was the last."""
        entry = self.loaded.get(name)
        if entry is None:
            raise KeyError(name)
        entry.use_count -= 1
        before = {h.name: h.used for h in self.heaps}
        if entry.use_count == 0:
            del self.loaded[name]
            for dep in entry.dependencies:
                if dep in self.loaded:
                    self.loaded[dep].use_count -= 1
            for held in sorted(entry.held, key=_unload_order):
                held.heap.free(held.address)
        return tuple(HeapUsage(h.name, before[h.name], before[h.name], h.used, h.capacity,
                               h.largest_free())
                     for h in self.heaps)

    def lookup(self, symbol: ElfSymbol) -> tuple[int | None, str | None]:
        """An undefined symbol's address: built-in table first, then every loaded
        extension's exports in load order (``llext_lookup_symbol`` in Zephyr's
        subsys/llext/llext_link.c). Returns (address, providing extension)."""
        if self.builtin is not None:
            found = self.builtin(symbol)
            if found:
                return found, None
        for entry in self.loaded.values():
            if symbol.name in entry.exports:
                return entry.exports[symbol.name], entry.name
        return None, None

    def usage(self) -> dict[str, tuple[int, int, int]]:
        """Per heap: (bytes used now, peak bytes so far, capacity)."""
        return {h.name: (h.used, h.peak_overall, h.capacity) for h in self.heaps}


class _LoadRun:
    """The state of one ``do_llext_load``."""

    def __init__(self, loader: Loader, ext: ExtensionElf, name: str) -> None:
        self.loader = loader
        self.ext = ext
        self.name = name
        self.allocations: list[Allocation] = []
        self.held: list[_Held] = []
        self.temporary: list[_Held] = []
        self.before = {h.name: h.used for h in loader.heaps}
        for h in loader.heaps:
            h.peak = h.used
        self.region_at: dict[Mem, tuple[int, _HeapState | None, int]] = {}
        self.images: dict[Mem, bytearray] = {}
        self.alloc_size = 0
        self.notes: list[str] = []
        self.unresolved: list[str] = []
        self.problems: tuple[RelocationProblem, ...] = ()
        self.exports: list[tuple[str, int]] = []
        self.dependencies: list[str] = []
        self.map: RegionMap | None = None

    def fail(self, message: str, errno: str, section: str | None = None,
             symbol: str | None = None) -> _Failed:
        return _Failed(ExtensionError(message, self.ext.path, errno, section=section,
                                      symbol=symbol))

    def alloc(self, heap: _HeapState, what: str, nbytes: int, align: int, *,
              persistent: bool) -> int:
        address = heap.alloc(align, nbytes)
        if address is None:
            raise self.fail(
                f"cannot allocate {nbytes} bytes{f' {align}-aligned' if align > 1 else ''} "
                f"for {what} from {heap.name}: {heap.shortage(align, nbytes)}", "ENOMEM")
        self.allocations.append(Allocation(heap.name, what, address, nbytes, align,
                                           heap.consumed[address], persistent))
        (self.held if persistent else self.temporary).append(_Held(heap, address, what))
        return address

    def execute(self) -> ExtensionLoad:
        error: ExtensionError | None = None
        try:
            self.steps()
        except _Failed as failed:
            error = failed.error
        except ExtensionError as exc:
            error = exc
        self.cleanup(ok=error is None)
        heaps = self.loader.heaps
        usage = tuple(HeapUsage(h.name, self.before[h.name], h.peak, h.used, h.capacity,
                                h.largest_free())
                      for h in heaps)
        regions = self.loaded_regions() if error is None else ()
        return ExtensionLoad(
            name=self.name, path=self.ext.path, error=error, regions=regions,
            faults=self.faults(regions),
            allocations=tuple(self.allocations), usage=usage, alloc_size=self.alloc_size,
            unresolved=tuple(self.unresolved), relocation_problems=self.problems,
            exports=tuple(self.exports), dependencies=tuple(self.dependencies),
            notes=tuple(self.notes))

    # -- the pipeline -------------------------------------------------------------------

    def steps(self) -> None:
        """``llext_load`` and ``do_llext_load`` from struct llext to the export table."""
        loader, ext, sizes = self.loader, self.ext, self.loader.sizes
        meta = loader.metadata_heap
        self.alloc(meta, "struct llext", sizes.llext, 0, persistent=True)
        shnum = len(ext.sections)
        self.alloc(meta, "section map", shnum * sizes.sect_map_entry, 0, persistent=False)
        self.alloc_size += shnum * sizes.sect_map_entry
        if not loader.options.peek:
            self.alloc(meta, "section headers", shnum * sizes.section_header, 0,
                       persistent=True)
        cfg = loader.target.config
        veneer_bytes = 0
        if cfg.veneers and loader.target.board.arch is Arch.ARM:
            veneer_bytes = count_veneers(ext) * veneer_stub_bytes(loader.target.board.cpu)
        mapping_error: ExtensionError | None = None
        try:
            self.map = map_regions(ext, rodata_no_reloc=cfg.rodata_no_reloc,
                                   veneer_bytes=veneer_bytes)
        except ExtensionError as exc:
            mapping_error = exc
        # Zephyr copies the string tables before it maps (and may reject) the sections.
        for mem in (Mem.SHSTRTAB, Mem.STRTAB):
            self.copy_region(self._table_region(mem))
        if mapping_error is not None:
            raise mapping_error
        assert self.map is not None
        if ext.e_type == ET_DYN and loader.target.board.arch is not Arch.XTENSA:
            self.prepare_image()
        for region in self.map.regions:
            if region.mem in (Mem.SHSTRTAB, Mem.STRTAB):
                continue
            self.copy_region(region)
        # llext_count_export_syms counts global functions and objects, defined or not;
        # llext_copy_symbols then fills in only the defined ones.
        counted = sum(1 for s in ext.symbols[1:] if s.type in (STT_FUNC, STT_OBJECT)
                      and s.bind == STB_GLOBAL)
        globals_ = [s for s in ext.symbols[1:] if s.type in (STT_FUNC, STT_OBJECT)
                    and s.bind == STB_GLOBAL and s.shndx != SHN_UNDEF]
        sym_bytes = counted * sizes.symbol
        if not counted:
            raise self.fail("the extension defines no global function or object symbol, so "
                            "its symbol table allocation is 0 bytes and fails", "ENOMEM")
        self.alloc(meta, "symbol table", sym_bytes, 0, persistent=False)
        self.alloc_size += sym_bytes
        for sym in globals_:
            if sym.shndx >= len(ext.sections):
                raise self.fail(f"symbol has invalid section index {sym.shndx}", "ENOEXEC",
                                symbol=sym.name)
        if loader.options.link:
            self.link()
        export = self.map.region(Mem.EXPORT)
        # Zephyr divides the region's size (prepad included) by sizeof(struct llext_symbol).
        count = counted if cfg.import_all_globals else (
            export.size if export is not None else 0) // sizes.symbol
        if count:
            self.alloc(meta, "export table", count * sizes.symbol, 0, persistent=True)
        self.collect_exports(globals_)

    def _table_region(self, mem: Mem) -> Region:
        assert mem in (Mem.SHSTRTAB, Mem.STRTAB)
        index = self.ext.shstrndx if mem is Mem.SHSTRTAB else self.ext.strtab_index
        s = self.ext.sections[index]
        return Region(mem=mem, type=s.type, flags=s.flags, offset=s.offset, size=s.size,
                      addr=s.addr, align=s.addralign, prepad=0, sections=(index,))

    def prepare_image(self) -> None:
        """``llext_prepare_et_dyn_image``: one instruction-heap block for every program
        region of an ET_DYN file, each at its link offset from the lowest one."""
        loader = self.loader
        assert self.map is not None
        if loader.target.harvard:
            raise self.fail("ET_DYN shared libraries are not supported on Harvard "
                            "architectures", "ENOTSUP")
        program = [r for r in self.map.regions if r.mem in _IMAGE_REGIONS and r.is_alloc]
        if not program:
            raise self.fail("ET_DYN file has no allocatable program sections", "ENOEXEC")
        lo = min(r.addr for r in program)
        hi = max(r.addr + r.size for r in program)
        align = max([4] + [r.align for r in program])
        if loader.target.board.arch is Arch.ARM64:
            align = max(align, 4096)
        if loader.target.mmu:
            align = max(align, loader.target.page_size)
        map_lo = lo // align * align
        span = hi - map_lo
        if loader.target.mmu:
            span = _round_up(span, loader.target.page_size)
        nbytes = span
        block = loader.target.config.heap_memblk_block_size
        if loader.instr_heap.pool is not None:
            nbytes = _round_up(nbytes, block)
        self._memblk_check(loader.instr_heap, align, "the ET_DYN image")
        base = self.alloc(loader.instr_heap, "ET_DYN image", nbytes, align, persistent=True)
        self.alloc_size += nbytes
        for r in program:
            address = base + (r.addr - map_lo)
            # Inside the image's heap block: the report names the heap, the block's bytes
            # are counted once, under "ET_DYN image".
            self.region_at[r.mem] = (address, loader.instr_heap, 0)
            self.images[r.mem] = self._region_bytes(r)

    def copy_region(self, region: Region) -> None:
        """``llext_copy_region``: use the region in place when the storage allows it,
        else allocate it (rounded for MMU/MPU/PMP, whole blocks for memblk)."""
        loader, target = self.loader, self.loader.target
        if region.size == 0 or region.mem in self.region_at:
            return
        size, align = region.size, region.align
        if region.is_alloc:
            if target.rounding is Rounding.UNSUPPORTED:
                raise self.fail(f"region {region.mem.name}: no memory protection alignment "
                                "rule for this architecture", "ENOTSUP")
            size, align = target.round_region(size, align)
        storage = loader.options.storage
        reuse = storage is Storage.WRITABLE or (
            storage is Storage.PERSISTENT and not region.flags & SHF_WRITE
            and not region.has_relocs)
        if reuse and not region.is_nobits and loader.options.peek:
            address = (loader.options.buffer_address or 0) + region.offset
            aligned = align <= 1 or address % align == 0
            instr_ok = region.mem is not Mem.TEXT or self._is_instr_mem(address, size)
            if aligned and instr_ok:
                self.region_at[region.mem] = (address, None, 0)
                self.images[region.mem] = self._region_bytes(region)
                return
            why = "not instruction memory" if not instr_ok else f"not {align}-aligned"
            self.notes.append(f"region {region.mem.name} cannot be used in place at "
                              f"{address:#x} ({why}): copied to the heap")
        heap = loader.instr_heap if region.is_exec else loader.data_heap
        if heap.pool is not None:
            size = _round_up(size, heap.pool.block_size)
            self._memblk_check(heap, align, f"region {region.mem.name}")
        address = self.alloc(heap, f"region {region.mem.name}", size, align, persistent=True)
        self.alloc_size += size
        self.region_at[region.mem] = (address, heap, heap.consumed[address])
        self.images[region.mem] = self._region_bytes(region)

    def _memblk_check(self, heap: _HeapState, align: int, what: str) -> None:
        """``llext_memblk_aligned_alloc_data_instr``'s refusals, in its order: the
        per-extension allocation map is full (its index only grows: frees do not give
        slots back), then an alignment the block size cannot honour."""
        if heap.pool is None:
            return
        pools = {h.name for h in self.loader.heaps if h.pool is not None}
        made = sum(1 for a in self.allocations if a.heap in pools)
        if made >= self.loader.mem_count:
            raise self.fail(f"{what}: the extension has made LLEXT_MEM_COUNT="
                            f"{self.loader.mem_count} memory block allocations already",
                            "ENOMEM")
        block = heap.pool.block_size
        if align and block % align:
            raise self.fail(f"Requested alignment {align} for {what} is not possible with "
                            f"block alignment {block} of {heap.name}", "ENOMEM")

    def _is_instr_mem(self, address: int, size: int) -> bool:
        """``arch_is_instr_mem``: always true off Harvard; else inside an instruction-bus
        region of the board."""
        target = self.loader.target
        if not target.harvard:
            return True
        if self.loader.options.buffer_address is None:
            return False
        return any(r.bus is Bus.INSTRUCTION and r.contains(address, size)
                   for r in target.board.regions)

    def _region_bytes(self, region: Region) -> bytearray:
        if region.is_nobits:
            return bytearray(region.size)
        data = bytearray(self.ext.data[region.offset:region.offset + region.size])
        data[:region.prepad] = bytes(region.prepad)
        return data

    def link(self) -> None:
        """``llext_link``: relocate every loaded section at its address; the first error
        fails the load, as in Zephyr."""
        assert self.map is not None
        ext = self.ext
        load_address: dict[int, int] = {}
        images: dict[int, bytearray] = {}
        for slot in self.map.slots:
            if slot.mem not in self.region_at:
                continue
            region = self.map.region(slot.mem)
            assert region is not None
            base = self.region_at[slot.mem][0]
            load_address[slot.section] = base + slot.offset
            section = ext.sections[slot.section]
            image = self.images[slot.mem]
            images[slot.section] = bytearray(image[slot.offset:slot.offset + section.size])
        providers: dict[str, str] = {}

        def resolve(symbol: ElfSymbol) -> int | None:
            address, provider = self.loader.lookup(symbol)
            if provider is not None:
                providers[symbol.name] = provider
            return address

        old_xtensa = self.loader.target.config.zephyr_version < XTENSA_READONLY_STORAGE
        veneer = self.map.region(Mem.VENEER)
        veneers = (self.region_at[Mem.VENEER][0], veneer.size) \
            if veneer is not None and Mem.VENEER in self.region_at else None
        problems = apply_relocations(ext, self.loader.target.board.arch, load_address, images,
                                     resolve, self.loader.builtin, veneers,
                                     xtensa_patch_target=not old_xtensa,
                                     xtensa_read_only=old_xtensa and self.loader.options.storage
                                     is not Storage.WRITABLE)
        for slot in self.map.slots:
            if slot.section in images:
                data = images[slot.section]
                self.images[slot.mem][slot.offset:slot.offset + len(data)] = data
        self.problems = problems
        # ENODATA from the common lookup, ENOENT from Xtensa's own (``llext_lookup_symbol`` in
        # Zephyr's subsys/llext/llext_link.c).
        self.unresolved = sorted({p.symbol for p in problems
                                  if p.errno in ("ENODATA", "ENOENT") and p.symbol})
        dropped: list[str] = []
        for dep in providers.values():
            if dep in self.dependencies or dep in dropped:
                continue
            if len(self.dependencies) < MAX_DEPENDENCIES:
                self.dependencies.append(dep)
            else:
                dropped.append(dep)
        # llext_dependency_add's -ENOENT is ignored: the link succeeds, but nothing keeps
        # these providers loaded while this extension uses them.
        self.notes.extend(
            f"dependency on '{dep}' not recorded: Zephyr keeps at most {MAX_DEPENDENCIES} "
            f"dependencies per extension and silently drops the rest, so '{dep}' can be "
            "unloaded while still in use" for dep in dropped)
        error = first_error(problems)
        if error is not None:
            raise self.fail(error.message, error.errno or "ENOEXEC", section=error.section,
                            symbol=error.symbol or None)

    def collect_exports(self, globals_: list[ElfSymbol]) -> None:
        """The names and addresses this extension offers to the ones loaded after it."""
        assert self.map is not None
        if self.loader.target.config.import_all_globals:
            for sym in globals_:
                address = self._symbol_address(sym)
                if address is not None:
                    self.exports.append((sym.name, address))
            return
        export = self.map.region(Mem.EXPORT)
        if export is None or Mem.EXPORT not in self.region_at:
            return
        pointer = self.loader.pointer
        order: Literal["little", "big"] = "little" if self.ext.little_endian else "big"
        table = self.images[Mem.EXPORT][export.prepad:]
        for at in range(0, len(table) - 2 * pointer + 1, 2 * pointer):
            name_ptr = int.from_bytes(table[at:at + pointer], order)
            address = int.from_bytes(table[at + pointer:at + 2 * pointer], order)
            name = self._string_at(name_ptr)
            if name:
                self.exports.append((name, address))

    def _symbol_address(self, sym: ElfSymbol) -> int | None:
        assert self.map is not None
        slot = self.map.slot(sym.shndx)
        if slot is None or slot.mem not in self.region_at:
            return None
        value = self.region_at[slot.mem][0] + slot.offset + sym.value
        if self.ext.e_type == ET_DYN:
            value -= self.ext.sections[sym.shndx].addr
        return value

    def _string_at(self, address: int) -> str:
        for mem, (base, _heap, _consumed) in self.region_at.items():
            image = self.images[mem]
            if base <= address < base + len(image):
                start = address - base
                end = image.find(b"\0", start)
                return bytes(image[start:end if end >= 0 else len(image)]).decode(
                    "utf-8", "replace")
        return ""

    def cleanup(self, ok: bool) -> None:
        """The exit path of ``do_llext_load`` (and ``llext_load``'s on failure)."""
        options = self.loader.options
        # do_llext_load's exit path: the section map, then the symbol table (each unless
        # kept), then on failure the regions and the export table; llext_load then frees
        # the section headers and struct llext.
        for held in list(self.temporary):
            self.temporary.remove(held)
            is_sect_map = held.what == "section map"
            keep = ok and (options.keep_section_info if is_sect_map else options.debug_symbols)
            if keep:
                self.held.append(held)
                continue
            held.heap.free(held.address)
            if is_sect_map:
                self.alloc_size -= len(self.ext.sections) * self.loader.sizes.sect_map_entry
        if not ok:
            for held in sorted(self.held, key=_failure_order):
                if held.what == "section headers":
                    # llext_load frees only struct llext after a failed do_llext_load:
                    # headers read into the heap (a loader without peek) stay allocated.
                    self.notes.append(f"Zephyr does not free the {held.heap.consumed[held.address]}"
                                      f" bytes of section headers of a failed load: "
                                      f"{held.heap.name} keeps them")
                    continue
                held.heap.free(held.address)
            self.held.clear()

    def faults(self, regions: tuple[LoadedRegion, ...]) -> tuple[str, ...]:
        """Code the loader put in memory the board cannot execute from (data-bus-only or
        without ``x``: DTCM, ESP32-S3's DRAM view). Zephyr's loader does not check: it
        returns 0 and the first call into the extension takes an instruction fetch fault."""
        board = self.loader.target.board
        out = []
        for region in regions:
            if region.mem is not Mem.TEXT or region.size == 0:
                continue
            name = board.region_name_at(region.address)
            if name is None:
                continue
            memory = board.region(name)
            if memory.executable and memory.bus is not Bus.DATA:
                continue
            why = "data bus only" if memory.bus is Bus.DATA else "no x attribute"
            out.append(f"{region.mem.name} at {region.address:#x} is in {name}, which the "
                       f"CPU cannot execute ({why}): Zephyr's llext_load returns 0 and the "
                       "first call into the extension faults on an instruction fetch")
        return tuple(out)

    def loaded_regions(self) -> tuple[LoadedRegion, ...]:
        assert self.map is not None
        out = []
        for region in self.map.regions:
            if region.mem not in self.region_at:
                continue
            address, heap, consumed = self.region_at[region.mem]
            names = tuple(self.ext.sections[i].name for i in region.sections)
            out.append(LoadedRegion(
                mem=region.mem, address=address, size=region.size, align=region.align,
                heap=heap.name if heap is not None else None, consumed=consumed,
                sections=names, data=bytes(self.images[region.mem])))
        return tuple(out)


def _round_up(value: int, granule: int) -> int:
    return -(-value // granule) * granule

