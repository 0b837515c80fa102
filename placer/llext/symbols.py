"""Symbols an extension links against, found as Zephyr's loader finds them (Zephyr's
subsys/llext/llext_link.c and llext.c).

The built-in export table comes from a built ``zephyr.elf`` (output section
``llext_const_symbol_area``, entries of two pointers: name or SLID, then address) or from a
plain list. A `SymbolResolver` looks an undefined symbol up in Zephyr's order: the built-in
table (by name, or by the SLID the build injected into ``st_value``), then the export
tables of the extensions already loaded, in load order, the first hit winning and
recording a dependency (at most 8; Zephyr silently drops the rest, placer warns).
`load_order` orders several extensions so that each one's providers load first.

Export list format (``--exports-list``), one symbol per line::

    # comment
    printk 0x1000a1 UNASSIGNED
    memcpy 0x1000c4 LIBC
    k_sleep                    # no address: linked at the resolver's default, with a warning

A line is ``name [address] [GROUP]``; the address is decimal or ``0x`` hexadecimal; the
group defaults to ``UNASSIGNED``. Symbols of groups the configuration does not enable
(``LlextConfig.export_symbol_groups``) are discarded as Zephyr's ``EXPORT_GROUP_SYMBOL``
does; placer keeps them to explain a missing symbol.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Literal

from placer import records
from placer.elfguard import elf_guard, open_image
from placer.errors import ConfigError, ExtensionError, ScriptError
from placer.inputs import read_input_text
from placer.llext.elf import (
    SHF_ALLOC,
    SHN_UNDEF,
    STB_GLOBAL,
    STT_FUNC,
    STT_OBJECT,
    ElfSymbol,
    ExtensionElf,
)

if TYPE_CHECKING:
    from elftools.elf.elffile import ELFFile

#: Section flag ``llext_prepare_exptab.py`` sets once entries hold SLIDs (SHF_MASKOS bit).
SHF_LLEXT_PREPARATION_DONE = 0x08000000
EXPORT_AREA = "llext_const_symbol_area"
EXPORT_STRTAB = "llext_exports_strtab"
EXPORTED_SYM_SECTION = ".exported_sym"
#: ``ARRAY_SIZE(struct llext.dependency)``.
MAX_DEPENDENCIES = 8
DEFAULT_GROUP = "UNASSIGNED"
#: Where an export listed without an address is assumed to be (a resolver warns about it).
UNPLACED_EXPORT_ADDRESS = 0x1000


def slid(name: str, pointer_size: int) -> int:
    """The Symbol Link Identifier of `name`: the first `pointer_size` bytes of its SHA-256,
    big-endian (``scripts/build/llext_slidlib.py``)."""
    if pointer_size not in (4, 8):
        raise ValueError(f"pointer size must be 4 or 8, not {pointer_size}")
    import hashlib  # only in SLID mode: loading OpenSSL costs a verify without it ~2 ms

    return int.from_bytes(hashlib.sha256(name.encode("utf-8")).digest()[:pointer_size], "big")


@records.frozen
class ExportedSymbol:
    """One entry of an export table. `name` is None when only the SLID survives (a
    prepared ``zephyr.elf``); `address` is None when an export list does not give it."""

    name: str | None
    address: int | None
    group: str = DEFAULT_GROUP
    slid: int | None = None


@records.frozen
class ExportTable:
    """The image's built-in exports, in table order (Zephyr scans it linearly).

    `discarded` holds the symbols of disabled groups, only to explain a miss.
    """

    symbols: tuple[ExportedSymbol, ...]
    by_slid: bool
    pointer_size: int
    source: str = ""
    discarded: tuple[ExportedSymbol, ...] = ()

    def find_name(self, name: str) -> ExportedSymbol | None:
        """The first entry called `name` (``llext_find_sym`` by string)."""
        return next((s for s in self.symbols if s.name == name), None)

    def find_slid(self, key: int) -> ExportedSymbol | None:
        """The first entry whose SLID is `key` (``llext_find_sym`` by integer)."""
        return next((s for s in self.symbols if s.slid == key), None)

    def discarded_group(self, name: str) -> str | None:
        """The disabled group that would have exported `name`, if any."""
        return next((s.group for s in self.discarded if s.name == name), None)


def check_slid_collisions(names: Iterable[str], pointer_size: int, where: str = "") -> None:
    """Raise `ConfigError` naming both symbols if two names share a SLID (the build aborts)."""
    seen: dict[int, str] = {}
    for name in names:
        key = slid(name, pointer_size)
        other = seen.get(key)
        if other is not None and other != name:
            raise ConfigError(
                ("LLEXT_EXPORT_BUILTINS_BY_SLID",),
                f"SLID collision: '{other}' and '{name}' both hash to "
                f"{key:#0{2 + 2 * pointer_size}x} ({8 * pointer_size}-bit)",
                fix="rename one of the two symbols, or export by name",
                where=where or None,
            )
        seen[key] = name


def exports_from_list(
    text: str,
    source: str,
    pointer_size: int,
    groups: frozenset[str],
    by_slid: bool = False,
) -> ExportTable:
    """Parse an export list (format in the module docstring) into an `ExportTable`."""
    kept: list[ExportedSymbol] = []
    discarded: list[ExportedSymbol] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        fields = line.split()
        if len(fields) > 3:
            raise _list_error("too many fields: expected 'name [address] [GROUP]'",
                              source, number, raw, fields[3])
        name, address, group = fields[0], None, DEFAULT_GROUP
        rest = fields[1:]
        if rest and _is_number(rest[0]):
            address = int(rest[0], 0)
            rest = rest[1:]
        if len(rest) > 1:
            raise _list_error(f"unexpected '{rest[1]}' after group '{rest[0]}' (the "
                              "address comes before the group)", source, number, raw, rest[1])
        if rest:
            group = rest[0]
            if _is_number(group) or not group.replace("_", "").isalnum():
                raise _list_error(f"'{group}' is not a group name", source, number, raw,
                                  group)
        entry = ExportedSymbol(name=name, address=address, group=group,
                               slid=slid(name, pointer_size) if by_slid else None)
        (kept if group in groups else discarded).append(entry)
    if by_slid:
        check_slid_collisions((s.name for s in kept if s.name), pointer_size, source)
    return ExportTable(symbols=tuple(kept), by_slid=by_slid, pointer_size=pointer_size,
                       source=source, discarded=tuple(discarded))


def read_exports_list(
    path: str | os.PathLike[str], pointer_size: int, groups: frozenset[str],
    by_slid: bool = False,
) -> ExportTable:
    """`exports_from_list` on a file."""
    name = os.fspath(path)
    text = read_input_text(name, what="export list")
    return exports_from_list(text, name, pointer_size, groups, by_slid)


def read_exports_elf(path: str | os.PathLike[str], by_slid: bool | None = None, *,
                     elf: ELFFile | None = None) -> ExportTable:
    """The built-in export table of a built ``zephyr.elf`` (`elf`: that file already
    opened, `placer.elfguard.open_image`).

    SLID mode is detected from ``SHF_LLEXT_PREPARATION_DONE`` on the table's section (the
    entries then hold SLIDs and no names); `by_slid` forces it for an unprepared image,
    whose name pointers are then offsets into ``llext_exports_strtab``.
    """
    name = os.fsdecode(path)

    def error(message: str) -> ExtensionError:
        return ExtensionError(message, name, "ENOEXEC")

    if elf is None:
        elf = open_image(path, "the export table", error,
                         lambda message: error(f"cannot read the image: {message}"))
    with elf_guard("the export table", error):
        pointer_size = elf.elfclass // 8
        order: Literal["little", "big"] = "little" if elf.little_endian else "big"
        area = elf.get_section_by_name(EXPORT_AREA)
        if area is None:
            raise ExtensionError(f"no {EXPORT_AREA} section: the image exports no symbols "
                                 "(is CONFIG_LLEXT enabled?)", name, "ENODATA")
        data = area.data()
        prepared = bool(area["sh_flags"] & SHF_LLEXT_PREPARATION_DONE)
        strtab = elf.get_section_by_name(EXPORT_STRTAB)
        strtab_data = strtab.data() if strtab is not None else None
        loaded = [(s["sh_addr"], s.data()) for s in elf.iter_sections()
                  if s["sh_flags"] & SHF_ALLOC and s["sh_type"] != "SHT_NOBITS"
                  and s["sh_size"]]
    slid_mode = prepared or bool(by_slid)
    entries: list[ExportedSymbol] = []
    step = 2 * pointer_size
    for at in range(0, len(data) - step + 1, step):
        first = int.from_bytes(data[at : at + pointer_size], order)
        address = int.from_bytes(data[at + pointer_size : at + step], order)
        if prepared:
            entries.append(ExportedSymbol(name=None, address=address, slid=first))
            continue
        if strtab_data is not None and slid_mode:
            symbol_name = _c_string(strtab_data, first)
        else:
            symbol_name = _string_at(loaded, first)
        entries.append(ExportedSymbol(
            name=symbol_name, address=address,
            slid=slid(symbol_name, pointer_size) if slid_mode and symbol_name else None))
    if slid_mode and not prepared:
        check_slid_collisions((e.name for e in entries if e.name), pointer_size, name)
    return ExportTable(symbols=tuple(entries), by_slid=slid_mode, pointer_size=pointer_size,
                       source=name)


def _list_error(message: str, source: str, number: int, raw: str, token: str) -> ScriptError:
    column = raw.find(token) + 1
    return ScriptError(message, source, number, max(column, 1), source_line=raw)


def _is_number(text: str) -> bool:
    try:
        int(text, 0)
    except ValueError:
        return False
    return True


def _c_string(data: bytes, offset: int) -> str | None:
    if not 0 <= offset < len(data):
        return None
    end = data.find(b"\0", offset)
    return data[offset : end if end >= 0 else len(data)].decode("utf-8", "replace")


def _string_at(loaded: Sequence[tuple[int, bytes]], address: int) -> str | None:
    for base, data in loaded:
        if base <= address < base + len(data):
            return _c_string(data, address - base)
    return None


# -- other extensions -----------------------------------------------------------------------


@records.frozen
class LoadedExtension:
    """An extension already loaded: its name and its ``exp_tab`` (name -> address)."""

    name: str
    exports: tuple[tuple[str, int], ...]

    def find(self, name: str) -> int | None:
        return next((address for n, address in self.exports if n == name), None)


@records.frozen
class Resolution:
    """What resolving an extension's symbols recorded: its dependencies (extension names,
    in the order found, at most 8 kept) and warnings."""

    dependencies: tuple[str, ...]
    warnings: tuple[str, ...]


class SymbolResolver:
    """Zephyr's lookup order for undefined symbols, as a ``resolve`` callback
    (``llext_lookup_symbol`` in Zephyr's subsys/llext/llext_link.c).

    Call it with an undefined `ElfSymbol`: it returns the address or None. It records the
    extensions it took symbols from, as ``llext_dependency_add`` does. Used for one link.
    On Xtensa pass `builtin` as ``resolve_builtin`` to `apply_relocations`: Zephyr searches
    the extension's own globals between the built-in table and the other extensions.
    """

    def __init__(
        self,
        builtin: ExportTable,
        loaded: Sequence[LoadedExtension] = (),
        default_address: int = UNPLACED_EXPORT_ADDRESS,
    ) -> None:
        self.builtin_table = builtin
        self.loaded = tuple(loaded)
        self.default_address = default_address
        self._dependencies: list[str] = []
        self._warnings: list[str] = []
        self._unplaced: set[str] = set()

    def builtin(self, symbol: ElfSymbol) -> int | None:
        """The built-in table alone (by SLID from ``st_value`` in SLID mode, else by name)."""
        table = self.builtin_table
        entry = table.find_slid(symbol.value) if table.by_slid else table.find_name(symbol.name)
        if entry is None:
            return None
        address = entry.address
        if address is None:
            address = self.default_address
            if symbol.name not in self._unplaced:
                self._unplaced.add(symbol.name)
                self._warnings.append(
                    f"'{symbol.name}' has no address in the export list: linked as if at "
                    f"{address:#x}, so its relocated bytes and range checks are estimates")
        # Zephyr treats a NULL address (e.g. an unimplemented syscall) as not found.
        return address or None

    def __call__(self, symbol: ElfSymbol) -> int | None:
        found = self.builtin(symbol)
        if found is not None:
            return found
        for ext in self.loaded:
            address = ext.find(symbol.name)
            if address:
                self._add_dependency(ext.name)
                return address
        return None

    def _add_dependency(self, name: str) -> None:
        if name in self._dependencies:
            return
        if len(self._dependencies) >= MAX_DEPENDENCIES:
            self._warnings.append(
                f"dependency on '{name}' not recorded: Zephyr keeps at most "
                f"{MAX_DEPENDENCIES} dependencies per extension and silently drops the rest, "
                f"so '{name}' can be unloaded while still in use")
            self._dependencies.append(name)
            return
        self._dependencies.append(name)

    def explain_missing(self, symbol: ElfSymbol) -> str | None:
        """Why the image does not export `symbol`, when placer knows (a disabled group or
        an extension built without SLIDs)."""
        group = self.builtin_table.discarded_group(symbol.name)
        if group is not None:
            return (f"'{symbol.name}' is exported in group {group}, which is disabled: "
                    f"enable CONFIG_LLEXT_EXPORT_SYMBOL_GROUP_{group}")
        if self.builtin_table.by_slid and symbol.value == 0:
            return (f"'{symbol.name}' has no SLID in st_value: run llext_inject_slids.py "
                    "on the extension (the image exports by SLID)")
        return None

    def resolution(self) -> Resolution:
        """Dependencies (the first 8 are those Zephyr records) and warnings so far."""
        return Resolution(dependencies=tuple(self._dependencies[:MAX_DEPENDENCIES]),
                          warnings=tuple(self._warnings))


# -- what an extension imports and exports ----------------------------------------------------


@records.frozen
class ExtensionInterface:
    """The names an extension needs from others (`imports`) and offers (`exports`)."""

    name: str
    imports: frozenset[str]
    exports: frozenset[str]


def imported_names(ext: ExtensionElf) -> frozenset[str]:
    """Undefined symbols that some applied relocation refers to."""
    used = {symbol for r in ext.relocation_sections for symbol in r.symbols}
    return frozenset(
        s.name for s in ext.symbols
        if s.index in used and s.shndx == SHN_UNDEF and s.index != 0 and s.name
    )


def interface_of(
    ext: ExtensionElf, name: str, import_all_globals: bool = False
) -> ExtensionInterface:
    """What `ext` (loaded under `name`) needs from other extensions and offers them."""
    return ExtensionInterface(name=name, imports=imported_names(ext),
                              exports=exported_names(ext, import_all_globals))


def exported_names(ext: ExtensionElf, import_all_globals: bool = False) -> frozenset[str]:
    """The names the extension's ``exp_tab`` will hold once loaded.

    With ``LLEXT_IMPORT_ALL_GLOBALS`` every defined global function or object; otherwise
    the ``.exported_sym`` entries, whose name pointers are read through their relocations.
    """
    if import_all_globals:
        return frozenset(s.name for s in _defined_globals(ext))
    section = next((s for s in ext.sections if s.name == EXPORTED_SYM_SECTION), None)
    if section is None:
        return frozenset()
    pointer = 8 if ext.elf_class == 64 else 4
    order: Literal["little", "big"] = "little" if ext.little_endian else "big"
    contents = ext.section_bytes(section)
    names: set[str] = set()
    for rsec in ext.relocation_sections:
        if rsec.target != section.index:
            continue
        for entry in rsec.entries:
            if entry.offset % (2 * pointer) or not 0 < entry.symbol < len(ext.symbols):
                continue  # the address half of an entry
            symbol = ext.symbols[entry.symbol]
            if symbol.shndx == SHN_UNDEF or symbol.shndx >= len(ext.sections):
                continue
            addend = entry.addend
            if addend is None:
                addend = int.from_bytes(contents[entry.offset : entry.offset + pointer], order)
            holder = ext.sections[symbol.shndx]
            text = _c_string(ext.section_bytes(holder), symbol.value + addend)
            if text:
                names.add(text)
    return frozenset(names)


def _defined_globals(ext: ExtensionElf) -> list[ElfSymbol]:
    return [
        s for s in ext.symbols
        if s.bind == STB_GLOBAL and s.type in (STT_FUNC, STT_OBJECT) and s.shndx != SHN_UNDEF
        and s.shndx < len(ext.sections)
    ]


def load_order(
    extensions: Sequence[ExtensionInterface],
    requested_order: Sequence[str] = (),
    builtin: ExportTable | None = None,
) -> tuple[str, ...]:
    """An order in which every extension loads after the extensions it imports from.

    Ties keep `requested_order` (then the given order). A name exported by several
    extensions is taken from the first in that order, as the lookup would. Names the
    built-in table provides create no dependency (the image wins: ``llext_lookup_symbol``). A cycle
    raises
    `ExtensionError` naming it: whichever loads first finds its imports missing.
    """
    rank = {name: i for i, name in enumerate(requested_order)}
    base = len(rank)
    for i, ext in enumerate(extensions):
        rank.setdefault(ext.name, base + i)
    ordered = sorted(extensions, key=lambda e: rank[e.name])
    provider: dict[str, str] = {}
    for ext in ordered:
        for exported in sorted(ext.exports):
            provider.setdefault(exported, ext.name)
    edges: dict[tuple[str, str], str] = {}
    for ext in ordered:
        for needed in sorted(ext.imports):
            if builtin is not None and builtin.find_name(needed) is not None:
                continue
            source = provider.get(needed)
            if source is not None and source != ext.name:
                edges[source, ext.name] = needed
    if not edges:
        # Nothing depends on anything: the requested order (networkx not needed).
        return tuple(dict.fromkeys(e.name for e in ordered))
    import networkx as nx

    graph: nx.DiGraph[str] = nx.DiGraph()
    graph.add_nodes_from(e.name for e in ordered)
    for (source, sink), needed in edges.items():
        graph.add_edge(source, sink, symbols=needed)
    try:
        order = nx.lexicographical_topological_sort(graph, key=lambda n: rank[n])
        return tuple(order)
    except nx.NetworkXUnfeasible:
        cycle = nx.find_cycle(graph)
        names = [edge[0] for edge in cycle] + [cycle[0][0]]
        detail = ", ".join(
            f"{a} exports '{graph.edges[a, b]['symbols']}' to {b}" for a, b in
            ((edge[0], edge[1]) for edge in cycle))
        raise ExtensionError(
            f"extension dependency cycle: {' -> '.join(names)} ({detail})",
            names[0], "ENODATA") from None
