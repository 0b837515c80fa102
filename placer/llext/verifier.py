"""The integrated loader: read, place, link and fit extensions as Zephyr does.

`verify` (exported by `placer.llext` and `placer`) is the library entry point: it reads
every extension file (validating it as ``llext_load`` does), orders the extensions by
their dependencies, loads them one after the other into the simulated heaps of a layout,
links each at the addresses the heaps gave it, and reports per extension and in total.
When a heap is too small it also says how much larger it must be, from the exact
simulator.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from placer import records
from placer.config import HeapBackend
from placer.errors import ArgumentError, ConfigError, ExtensionError
from placer.layout import Layout, PlacedHeap
from placer.llext.elf import (
    ElfExpectation,
    ExtensionElf,
    Refusal,
    parse_or_refusal,
    read_or_refusal,
)
from placer.llext.image import MAX_NAME_LEN, ImageFacts, extension_name, image_facts
from placer.llext.loader import BuiltinLookup, ExtensionLoad, Loader, LoadOptions, Storage
from placer.llext.minheap import minimum_heaps
from placer.llext.report import HeapTotal, Report, Unload
from placer.llext.symbols import ExportTable, SymbolResolver, interface_of, load_order
from placer.target import HeapRole, HeapSection, Target

__all__ = ["MAX_NAME_LEN", "extension_name", "verify", "with_dynamic_buffers"]

def verify(
    layout: Layout,
    extensions: Sequence[str | os.PathLike[str]],
    *,
    exports: str | os.PathLike[str] | None = None,
    exports_list: str | os.PathLike[str] | None = None,
    preloaded: Sequence[str | os.PathLike[str]] = (),
    image: ImageFacts | None = None,
    order: Sequence[str] | None = None,
    storage: str | Storage | None = None,
    buffer_address: int | None = None,
    min_heap: bool = False,
    heap_buffers: Sequence[tuple[int, int]] = (),
) -> Report:
    """Load `extensions` into `layout`'s heaps as Zephyr would, and report.

    `exports` is a built ``zephyr.elf`` (its export table, and ``sizeof(struct llext)``
    from its DWARF); `exports_list` a plain list of exported names instead; `preloaded`
    the extension files the product always loads first (in that order, before any of
    `extensions`). `image` gives all of that already read (`image_facts`, or a profile's),
    instead of those three. `order` gives the load order by extension name (file stem),
    a ``-name`` entry unloading `name` at that point (so later loads meet the
    fragmentation it leaves); by default dependencies decide the order.
    `storage` is the buffer loader's storage type (by default what ``LLEXT_BUF_LOADER``
    declares: writable with ``CONFIG_LLEXT_STORAGE_WRITABLE``, else persistent) and
    `buffer_address` where its buffer sits. `min_heap` also searches the smallest heap
    sizes (always done when a heap is too small). With ``LLEXT_HEAP_DYNAMIC`` the layout
    has no heap sections: `heap_buffers` gives the (address, size) of each buffer the
    application passes to ``llext_heap_init`` (Harvard: the instruction buffer, then the
    data buffer). Files Zephyr would refuse are reported, not raised; a dependency cycle
    raises `ExtensionError`; an unknown `storage`, or an `order` naming an extension not
    given or unloading one before loading it, raises `ArgumentError`.
    """
    if image is not None and (exports is not None or exports_list is not None or preloaded):
        raise ValueError("give the image facts or the files to read them from, not both")
    layout = with_dynamic_buffers(layout, heap_buffers)
    target = layout.target
    if image is None:
        image = image_facts(target, exports=exports, exports_list=exports_list,
                            preloaded=preloaded)
    if storage is None:
        store = Storage.WRITABLE if target.storage_writable else Storage.PERSISTENT
    else:
        store = storage if isinstance(storage, Storage) else _storage(storage)
    options = LoadOptions(storage=store, buffer_address=buffer_address)
    sizes, table, notes = image.metadata, image.exports, list(image.notes)
    resolver = SymbolResolver(table) if table is not None else None
    builtin: BuiltinLookup | None = resolver.builtin if resolver is not None else None
    read: list[tuple[str, ExtensionElf]] = []
    unreadable: dict[str, tuple[ExtensionError, int | None]] = {}
    paths: dict[str, str] = {}
    expect = ElfExpectation.for_target(target)
    for pre in image.preloaded:
        paths[pre.name] = pre.file
        _sort_read(pre.name, parse_or_refusal(pre.data, pre.file, expect), read, unreadable)
    first = [pre.name for pre in image.preloaded]
    # Files whose name (first 15 characters of the stem) an earlier file already has.
    twins: list[tuple[str, str]] = []
    for path in extensions:
        name = extension_name(path)
        if name in paths:
            twins.append((name, os.fspath(path)))
            continue
        paths[name] = os.fspath(path)
        _sort_read(name, read_or_refusal(path, target), read, unreadable)
    rest = [(name, ext) for name, ext in read if name not in first]
    sequence = first + _order(rest, [n for n in unreadable if n not in first], order, table,
                              import_all=target.config.import_all_globals)
    loader = Loader(layout, options=options, sizes=sizes, builtin=builtin)
    by_name = dict(read)
    loads: list[ExtensionLoad] = []
    unloads: list[Unload] = []
    steps: list[tuple[str, ExtensionElf | None]] = []
    for entry in sequence:
        if entry.startswith("-"):
            name = entry[1:]
            steps.append((name, None))
            if name in loader.loaded:
                unloads.append(Unload(name=name, after_loads=len(loads),
                                      usage=loader.unload(name)))
            continue
        if entry in unreadable:
            error, sections = unreadable[entry]
            loads.append(_refused(loader, entry, paths[entry], error, sections))
            continue
        steps.append((entry, by_name[entry]))
        loads.append(loader.load(by_name[entry], entry))
    for name, path in twins:
        loads.append(_load_twin(loader, name, path, paths[name], by_name.get(name), target,
                                steps))
    loads = [_explained(load, by_name.get(load.name), resolver) for load in loads]
    if resolver is not None:
        notes.extend(resolver.resolution().warnings)
    usage = loader.usage()
    totals = tuple(HeapTotal(heap=p.section, address=p.address, size=p.size,
                             capacity=usage[p.section][2], final=usage[p.section][0],
                             peak=usage[p.section][1]) for p in layout.heaps)
    short = any(load.error is not None and load.error.errno == "ENOMEM" for load in loads)
    minimum = None
    if min_heap or short:
        minimum = minimum_heaps(layout, steps, options=options, sizes=sizes, builtin=builtin)
    return Report(loads=tuple(loads), heaps=totals, order=tuple(sequence),
                  metadata_source=sizes.source, minimum=minimum, notes=tuple(notes),
                  storage=f"{store.value} (ELF buffer at "
                  f"{'an unknown address' if buffer_address is None else hex(buffer_address)})",
                  unloads=tuple(unloads))


def _storage(name: str) -> Storage:
    try:
        return Storage(name)
    except ValueError:
        choices = ", ".join(s.value for s in Storage)
        raise ArgumentError("storage", f"storage {name!r} is not one of {choices}") from None


def _sort_read(name: str, result: ExtensionElf | Refusal, read: list[tuple[str, ExtensionElf]],
               unreadable: dict[str, tuple[ExtensionError, int | None]]) -> None:
    if isinstance(result, Refusal):
        unreadable[name] = (result.error, result.section_count)
    else:
        read.append((name, result))


def _load_twin(loader: Loader, name: str, path: str, first: str,
               first_ext: ExtensionElf | None, target: Target,
               steps: list[tuple[str, ExtensionElf | None]]) -> ExtensionLoad:
    """``llext_load`` of a file whose name matches a loaded extension's in the first 15
    characters: ``llext_by_name`` compares only those, so Zephyr hands back the loaded one
    (one more reference) and never reads this file. If the first did not load, this file
    loads under the name."""
    if name in loader.loaded and first_ext is not None:
        steps.append((name, first_ext))
        load = loader.load_again(name)
        note = (f"llext_load('{Path(path).stem}') compares only the first {MAX_NAME_LEN} "
                f"characters of the name: Zephyr hands back '{name}' (loaded from {first}) "
                f"and never reads {path}; give the extensions names that differ earlier")
        return records.evolve(load, path=path, notes=(*load.notes, note))
    result = read_or_refusal(path, target)
    if isinstance(result, Refusal):
        return _refused(loader, name, path, result.error, result.section_count)
    steps.append((name, result))
    return loader.load(result, name)


def _refused(loader: Loader, name: str, path: str, error: ExtensionError,
             sections: int | None) -> ExtensionLoad:
    """The load of a file `read_extension` refused: with no file there is no buffer and
    Zephyr is never called; otherwise ``llext_load`` allocates, then refuses it."""
    if error.errno == "ENOENT":
        return ExtensionLoad(name=name, path=path, error=error, regions=(), allocations=(),
                             usage=(), alloc_size=0, unresolved=(), relocation_problems=(),
                             exports=(), dependencies=())
    return loader.load_refused(name, path, error, sections)


def with_dynamic_buffers(layout: Layout, buffers: Sequence[tuple[int, int]]) -> Layout:
    """`layout` with the application's heap buffers placed, for ``LLEXT_HEAP_DYNAMIC``.

    Raises `ConfigError` when a dynamic layout gets the wrong number of buffers, or a
    static one gets any.
    """
    if not layout.dynamic:
        if buffers:
            raise ConfigError(("LLEXT_HEAP_DYNAMIC",), "heap buffers were given, but the "
                              "layout has static heaps", fix="drop the heap buffers")
        return layout
    wanted = layout.dynamic
    call = wanted[0].init_call
    if len(buffers) != len(wanted):
        roles = " and ".join(b.role.value for b in wanted)
        raise ConfigError(("LLEXT_HEAP_DYNAMIC",), f"extensions load only after {call}(): "
                          f"give the {roles} buffer{'s' if len(wanted) > 1 else ''} "
                          "(address and size)", fix="pass --heap-buffer ADDRESS:SIZE")
    placed = []
    for spec, (address, size) in zip(wanted, buffers, strict=True):
        if size < spec.minimum_size:
            raise ConfigError(("LLEXT_HEAP_DYNAMIC",), f"the {spec.role.value} buffer of "
                              f"{size} bytes is below the {spec.minimum_size}-byte minimum "
                              f"{call}() accepts")
        symbol = {HeapRole.INSTR: "llext_instr_heap", HeapRole.DATA: "llext_data_heap"}.get(
            spec.role, "llext_heap")
        heap = HeapSection(section=f"dynamic {symbol}", symbol=symbol, role=spec.role,
                           backend=HeapBackend.K_HEAP, size=size, align=spec.align)
        placed.append(PlacedHeap(heap=heap, region="dynamic", address=address, padding=0))
    return records.evolve(layout, heaps=tuple(placed))


def _explained(load: ExtensionLoad, ext: ExtensionElf | None,
               resolver: SymbolResolver | None) -> ExtensionLoad:
    """`load` with a note on why each unresolved symbol is missing, where placer knows."""
    if resolver is None or ext is None or not load.unresolved:
        return load
    notes = list(load.notes)
    for name in load.unresolved:
        symbol = next((s for s in ext.symbols if s.name == name and s.shndx == 0), None)
        reason = resolver.explain_missing(symbol) if symbol is not None else None
        if reason is not None:
            notes.append(reason)
    return records.evolve(load, notes=tuple(notes))


def _order(read: list[tuple[str, ExtensionElf]], refused: list[str],
           order: Sequence[str] | None, table: ExportTable | None, *,
           import_all: bool) -> list[str]:
    """The steps: explicit `order` (``-name`` unloads), or dependency order with the files
    Zephyr refuses last."""
    names = [name for name, _ in read] + refused
    if order:
        loaded: set[str] = set()
        for entry in order:
            name = entry.removeprefix("-")
            if name not in names:
                raise ArgumentError("order", f"the order names '{name}', which is not among "
                                    f"the extensions given ({', '.join(names)})")
            if entry.startswith("-") and name not in loaded:
                raise ArgumentError("order", f"the order unloads '{name}' before loading it")
            loaded.add(name)
        rest = [n for n in names if n not in loaded]
        return list(order) + rest
    interfaces = [interface_of(ext, name, import_all) for name, ext in read]
    return list(load_order(interfaces, [name for name, _ in read], table)) + refused

