"""Link an extension's loaded sections the way Zephyr's ``llext_link`` does
(subsys/llext/llext_link.c).

`apply_relocations` walks the relocation sections in section-header order, resolves each
entry's symbol as ``llext_lookup_symbol`` does (Zephyr's
subsys/llext/llext_link.c) and patches the loaded bytes with the
architecture's handler, computing exactly what Zephyr's ``arch_elf_relocate`` writes, quirks
included. Every problem is reported, not only the first: Zephyr stops at (or keeps) the
first error, which is the first `Severity.ERROR` problem in the returned order.

Warnings mark places where Zephyr loads the extension but the result is not what a correct
link (GNU ld) would produce: a value Zephyr truncates or does not range-check, a relocation
type it silently ignores, a formula that differs from the ABI.
"""

from __future__ import annotations

import enum
import struct
from collections.abc import Callable, Iterable, Mapping
from typing import Literal

from placer import records
from placer.board import Arch
from placer.llext.elf import (
    ET_DYN,
    SHF_ALLOC,
    SHF_TLS,
    SHN_LORESERVE,
    SHN_UNDEF,
    STB_WEAK,
    STT_SECTION,
    ElfSection,
    ElfSymbol,
    ExtensionElf,
    Relocation,
    RelocationSection,
)
from placer.llext.relocate import fastpath

#: Prefix of the device objects Zephyr exports only with ``CONFIG_LLEXT_EXPORT_DEVICES``.
DEVICE_SYMBOL_PREFIX = "__device_dts_ord_"

Resolve = Callable[[ElfSymbol], "int | None"]

#: `struct` codes of the unsigned fields a handler reads or writes, by size in bytes.
_FIELD_CODES = {1: "B", 2: "H", 4: "I", 8: "Q"}


class Severity(enum.Enum):
    """Whether Zephyr refuses the extension or loads it with a doubtful result."""

    ERROR = "error"  # Zephyr's loader returns `errno`: the extension does not load
    WARNING = "warning"  # Zephyr loads it, but the bytes differ from a correct link


@records.frozen
class RelocationProblem:
    """One relocation Zephyr cannot apply, or applies differently from a correct link.

    `section` is the patched (target) section, `offset` the entry's ``r_offset``,
    `relocation` the relocation section's name, `type_name` the ``R_*`` name. `value` is the
    computed field value and `allowed` the inclusive range it had to fit, where a range
    applies. `errno` is Zephyr's symbolic error (``ENOEXEC``...) for errors, None for
    warnings.
    """

    severity: Severity
    section: str
    offset: int
    symbol: str
    type_name: str
    errno: str | None
    message: str
    relocation: str = ""
    value: int | None = None
    allowed: tuple[int, int] | None = None

    def __str__(self) -> str:
        if not self.type_name:  # about a whole relocation section
            text = f"{self.severity.value}: {self.relocation or self.section}: {self.message}"
        else:
            text = f"{self.severity.value}: {self.section}+{self.offset:#x}: {self.type_name}"
            if self.symbol:
                text += f" against '{self.symbol}'"
            text += f": {self.message}"
        if self.allowed is not None:
            text += f" (allowed {self.allowed[0]:#x}..{self.allowed[1]:#x})"
        if self.errno is not None:
            text += f" (Zephyr: -{self.errno})"
        return text


def first_error(problems: tuple[RelocationProblem, ...]) -> RelocationProblem | None:
    """The error Zephyr's loader would return (the first one met), or None if it links."""
    return next((p for p in problems if p.severity is Severity.ERROR), None)


@records.mutable
class Site:
    """One relocation entry, located: where it patches and what its symbol resolved to.

    `address` is P (the run-time address of the patched place), `image` the loaded bytes of
    the section holding it and `offset` the position in `image`. `symbol_address` is S as
    ``llext_lookup_symbol`` returns it (before any addend).
    """

    entry: Relocation
    section: ElfSection
    relocation: RelocationSection
    symbol: ElfSymbol | None
    symbol_address: int
    address: int
    image: bytearray
    offset: int


class Linker:
    """The state one `apply_relocations` call shares with the architecture handlers."""

    def __init__(
        self,
        ext: ExtensionElf,
        arch: Arch,
        load_address: Mapping[int, int],
        images: Mapping[int, bytearray],
        resolve: Resolve,
        resolve_builtin: Resolve | None,
        veneers: tuple[int, int] | None = None,
        xtensa_patch_target: bool = False,
        xtensa_read_only: bool = False,
    ) -> None:
        self.ext = ext
        #: Xtensa before PR #114099 with storage that is not writable: Zephyr links nothing.
        self.xtensa_read_only = xtensa_read_only
        #: Xtensa since PR #114099: the place patched is in the target section wherever it
        #: was loaded, not at its file distance from TEXT.
        self.xtensa_patch_target = xtensa_patch_target
        #: The VENEER region's (address, size) with ``CONFIG_LLEXT_VENEERS`` (ARM), else None.
        self.veneers = veneers
        self.arch = arch
        self.load_address = load_address
        self.images = images
        self.resolve = resolve
        self.resolve_builtin = resolve_builtin
        self.problems: list[RelocationProblem] = []
        # Per (relocation section, type), its entries of that type by r_offset: the first
        # of each wins.
        self._by_offset: dict[tuple[int, int], dict[int, int]] = {}
        #: S per symbol index, as `lookup` returns it. The loader looks a symbol up for every
        #: entry naming it, with the same result each time: here each is looked up (and
        #: resolved) once per link.
        self.lookups: dict[int, tuple[int | None, str | None, str]] = {}
        self.pointer_size = 8 if ext.elf_class == 64 else 4
        self.address_mask = (1 << (8 * self.pointer_size)) - 1
        #: Per section index, what the value of a symbol defined in it is added to (as an
        #: unsigned address) to give S, or why none is (`fastpath.symbol_address`).
        self.symbol_bases = self._symbol_bases()
        self._order: Literal["little", "big"] = "little" if ext.little_endian else "big"
        prefix = "<" if ext.little_endian else ">"
        #: Unsigned fields by size in bytes, in the file's byte order.
        self.fields: dict[int, struct.Struct] = {
            size: struct.Struct(prefix + code) for size, code in _FIELD_CODES.items()}
        #: Two 4-byte fields, for a pair of instructions patched together.
        self.word_pair = struct.Struct(prefix + "II")

    # -- bytes -------------------------------------------------------------------------

    def read(self, site: Site, size: int, delta: int = 0) -> int:
        """The unsigned `size`-byte field at the site (+`delta`), in the file's byte order."""
        start = site.offset + delta
        field = self.fields.get(size)
        if field is not None and 0 <= start <= len(site.image) - size:
            return int(field.unpack_from(site.image, start)[0])
        return int.from_bytes(site.image[start : start + size], self._order)

    def write(self, site: Site, size: int, value: int, delta: int = 0) -> None:
        """Store the low `size` bytes of `value` at the site (+`delta`), as a C store would."""
        start = site.offset + delta
        mask = (1 << (8 * size)) - 1
        field = self.fields.get(size)
        if field is not None and 0 <= start <= len(site.image) - size:
            field.pack_into(site.image, start, value & mask)
            return
        site.image[start : start + size] = (value & mask).to_bytes(size, self._order)

    def fits(self, site: Site, size: int, delta: int = 0) -> bool:
        """Whether `size` bytes at the site (+`delta`) lie inside the loaded section."""
        start = site.offset + delta
        return start >= 0 and start + size <= len(site.image)

    # -- problems ----------------------------------------------------------------------

    def type_name(self, site: Site) -> str:
        return relocation_type_name(self.arch, site.entry.type, self.pointer_size)

    def error(
        self,
        site: Site,
        errno: str,
        message: str,
        value: int | None = None,
        allowed: tuple[int, int] | None = None,
    ) -> None:
        """Record a relocation Zephyr refuses with ``-errno``."""
        self.problems.append(self._problem(site, Severity.ERROR, errno, message, value, allowed))

    def warning(
        self,
        site: Site,
        message: str,
        value: int | None = None,
        allowed: tuple[int, int] | None = None,
    ) -> None:
        """Record a relocation Zephyr applies, but not as a correct link would."""
        self.problems.append(self._problem(site, Severity.WARNING, None, message, value, allowed))

    def _problem(
        self,
        site: Site,
        severity: Severity,
        errno: str | None,
        message: str,
        value: int | None,
        allowed: tuple[int, int] | None,
    ) -> RelocationProblem:
        return RelocationProblem(
            severity=severity, section=site.section.name, offset=site.entry.offset,
            symbol=self.symbol_label(site.symbol), type_name=self.type_name(site), errno=errno,
            message=message, relocation=site.relocation.name, value=value, allowed=allowed,
        )

    def section_error(
        self, rsec: RelocationSection, errno: str, message: str, entry: Relocation | None = None
    ) -> None:
        """Record a problem with a whole relocation section (or an entry that has no site)."""
        target = self.ext.sections[rsec.target].name if rsec.target < len(self.ext.sections) else ""
        symbol = self.symbol_of(entry) if entry is not None else None
        self.problems.append(RelocationProblem(
            severity=Severity.ERROR, section=target,
            offset=entry.offset if entry is not None else 0,
            symbol=self.symbol_label(symbol),
            type_name=relocation_type_name(self.arch, entry.type, self.pointer_size)
            if entry is not None else "",
            errno=errno, message=message, relocation=rsec.name,
        ))

    def entry_at(self, rsec: RelocationSection, type_: int, offset: int) -> Relocation | None:
        """The first entry of `rsec` of type `type_` at `offset` (an index built once)."""
        index = self._by_offset.get((rsec.index, type_))
        if index is None:
            index = self._by_offset[rsec.index, type_] = fastpath.first_by_offset(
                rsec.offsets, rsec.types, type_)
        found = index.get(offset)
        return rsec.entry(found) if found is not None else None

    # -- symbols -----------------------------------------------------------------------

    def symbol_label(self, symbol: ElfSymbol | None) -> str:
        """A symbol's name for messages; a section symbol is named after its section."""
        if symbol is None:
            return ""
        if not symbol.name and symbol.type == STT_SECTION and symbol.shndx < len(
                self.ext.sections):
            return self.ext.sections[symbol.shndx].name
        return symbol.name

    def symbol_of(self, entry: Relocation) -> ElfSymbol | None:
        if 0 < entry.symbol < len(self.ext.symbols):
            return self.ext.symbols[entry.symbol]
        return None

    def et_dyn_bias(self) -> int:
        """``llext_et_dyn_bias``: where the single ET_DYN image went minus its link
        address (``llext_prepare_et_dyn_image`` in Zephyr's subsys/llext/llext_mem.c), from the
        lowest loaded ALLOC section; 0 when none is loaded."""
        loaded = [s for s in self.ext.sections
                  if s.flags & SHF_ALLOC and s.index in self.load_address]
        if not loaded:
            return 0
        first = min(loaded, key=lambda s: s.addr)
        return (self.load_address[first.index] - first.addr) & self.address_mask

    def section_address(self, index: int) -> int | None:
        """Where section `index` was loaded (``llext_loaded_sect_ptr``), None if it was not."""
        return self.load_address.get(index)

    def lookup(self, symbol: int) -> tuple[int | None, str | None, str]:
        """S for an entry naming symbol index `symbol` as ``llext_lookup_symbol`` computes
        it: (address, errno, message).

        It depends on the symbol alone, so each symbol is looked up once per link."""
        found = self.lookups.get(symbol)
        if found is None:
            found = self.lookups[symbol] = self._lookup(symbol)
        return found

    def address_of(self, symbol: int) -> int:
        """`lookup`'s address, or `fastpath.UNRESOLVED` where it fails (the fast path's
        `Lookup`)."""
        found = self.lookup(symbol)[0]
        return fastpath.UNRESOLVED if found is None else found

    def _symbol_bases(self) -> list[int]:
        ext = self.ext
        bases = [fastpath.EXTERNAL]  # SHN_UNDEF: the export tables
        # Indices from SHN_LORESERVE up are special (SHN_ABS...), whatever e_shnum says.
        for section in ext.sections[1:SHN_LORESERVE]:
            if section.flags & SHF_TLS:
                # Thread-local data lives in each thread's TLS block: the offset is the value.
                bases.append(0)
                continue
            base = self.load_address.get(section.index)  # section_address, inline
            if base is None:
                bases.append(fastpath.UNRESOLVED)
            elif ext.e_type == ET_DYN:
                bases.append((base - section.addr) & self.address_mask)
            else:
                bases.append(base)
        return bases

    def _lookup(self, symbol: int) -> tuple[int | None, str | None, str]:
        if symbol == 0:
            return 0, None, ""
        if not 0 < symbol < len(self.ext.symbols):  # symbol_of(entry) is None
            return None, "ENOEXEC", f"symbol index {symbol} is outside the symbol table"
        sym = self.ext.symbols[symbol]
        if sym.shndx == SHN_UNDEF:
            found = self.resolve(sym)
            if (found is None or found == 0) and sym.bind == STB_WEAK:
                # An undefined weak reference nothing provides is NULL, as the ELF ABI and
                # Zephyr's weak_undef_ext test (the extension loads; both addresses are
                # NULL) have it.
                return 0, None, ""
            if found is None or found == 0:
                return None, "ENODATA", undefined_message(sym.name)
            return found & self.address_mask, None, ""
        found = fastpath.symbol_address(self.symbol_bases, sym.shndx, sym.value,
                                        self.address_mask)
        if found != fastpath.UNRESOLVED:
            return found, None, ""
        if sym.shndx < min(len(self.ext.sections), SHN_LORESERVE):
            return None, "ENOEXEC", (
                f"section {self.ext.sections[sym.shndx].name} holding it was not loaded")
        return None, "ENOEXEC", (
            f"target symbol has unexpected section index {sym.shndx} ({sym.shndx:#x})"
        )


def undefined_message(name: str) -> str:
    """Zephyr's ``-ENODATA`` for a symbol no export table provides, with its device hint."""
    text = f"undefined symbol '{name}' is not exported by the image or any loaded extension"
    if name.startswith(DEVICE_SYMBOL_PREFIX):
        text += " (a device object: enable CONFIG_LLEXT_EXPORT_DEVICES to export devices)"
    return text


Handler = Callable[[Linker, Site], None]


def apply_relocations(
    ext: ExtensionElf,
    arch: Arch,
    load_address: Mapping[int, int],
    images: Mapping[int, bytearray],
    resolve: Resolve,
    resolve_builtin: Resolve | None = None,
    veneers: tuple[int, int] | None = None,
    xtensa_patch_target: bool = False,
    xtensa_read_only: bool = False,
) -> tuple[RelocationProblem, ...]:
    """Patch `images` in place as Zephyr's loader would, and report every problem.

    `load_address` maps each loaded section's index to its run-time address and `images`
    to its writable bytes (NOBITS sections may be absent or zero-filled). `resolve` returns
    the address of an undefined symbol from the built-in export table or a loaded
    extension's (``llext_lookup_symbol`` in Zephyr's subsys/llext/llext_link.c), None if neither has
    it. Xtensa also searches the extension's own
    globals between the two (``llext_lookup_symbol`` in Zephyr's subsys/llext/llext_link.c): pass
    `resolve_builtin` (the built-in table alone) to
    reproduce that order exactly. `veneers` is the (address, size) of the VENEER region
    the loader allocated with ``CONFIG_LLEXT_VENEERS`` (ARM only). `xtensa_patch_target`
    selects Xtensa's relocation place since PR #114099 (Zephyr 4.4): the target section as
    loaded, even when regions sit on the heap apart from each other; without it, the older
    place at the file distance from TEXT. `xtensa_read_only` says the older Xtensa loader
    gets storage that is not writable: it then skips every relocation.

    The result is in Zephyr's processing order; `first_error` gives the error Zephyr
    returns. An empty result means the extension links as a correct link would.
    """
    linker = Linker(ext, arch, load_address, images, resolve, resolve_builtin, veneers,
                    xtensa_patch_target, xtensa_read_only)
    if arch is Arch.XTENSA:
        from placer.llext.relocate import xtensa

        xtensa.link(linker)
        return tuple(linker.problems)
    handler = _handler(arch)
    for rsec in ext.relocation_sections:
        if arch is Arch.ARM and rsec.is_rela:
            linker.section_error(
                rsec, "ENOTSUP", "SHT_RELA relocation sections are not supported on ARM")
            continue
        target = ext.sections[rsec.target] if rsec.target < len(ext.sections) else None
        if target is None:
            linker.section_error(rsec, "ENOEXEC", f"sh_info {rsec.target} is not a section")
            continue
        if ext.e_type == ET_DYN:
            # A shared library's dynamic relocations (.rela.dyn, .rela.plt) are ALLOC
            # themselves and address the image by link address (VMA), whatever sh_info
            # says; others (--emit-relocs copies) were applied by the linker already.
            if rsec.index < len(ext.sections) and ext.sections[rsec.index].flags & SHF_ALLOC:
                _link_section(linker, rsec, target, handler)
            continue
        if not target.flags & SHF_ALLOC:
            continue  # relocations of debug sections: Zephyr skips them
        if rsec.target not in load_address:
            linker.section_error(
                rsec, "ENOEXEC", f"section {target.name} is not loaded in any memory region")
            continue
        _link_section(linker, rsec, target, handler)
    return tuple(linker.problems)


def _link_section(
    linker: Linker, rsec: RelocationSection, target: ElfSection, handler: Handler
) -> None:
    """Apply every entry of `rsec`: the common types of ARM and RISC-V through the
    `fastpath` loops, each entry they do not take through `_link_entries`."""
    ext = linker.ext
    image = linker.images.get(target.index)
    if image is None or ext.e_type == ET_DYN:
        _link_entries(linker, rsec, target, handler, rsec.entries)
        return

    def fallback(i: int) -> None:
        _link_entries(linker, rsec, target, handler, (rsec.entry(i),))

    # ARM takes REL only (RELA was refused above); RISC-V objects are RELA.
    arm = linker.arch is Arch.ARM
    if (arm and not rsec.is_rela) or (linker.arch is Arch.RISCV and rsec.is_rela):
        fastpath.link_section(arm, rsec.offsets, rsec.types, rsec.symbols, rsec.addends,
                              ext.symbols, linker.symbol_bases, image,
                              linker.load_address[target.index], target.size,
                              linker.pointer_size, linker.fields[4], linker.word_pair,
                              linker.fields[8], ext.little_endian, linker.address_of,
                              fallback)
    else:
        _link_entries(linker, rsec, target, handler, rsec.entries)


def _link_entries(
    linker: Linker, rsec: RelocationSection, target: ElfSection, handler: Handler,
    entries: Iterable[Relocation],
) -> None:
    """Locate and resolve each of `entries` (of `rsec`) and apply it with `handler`, unless
    Zephyr fails before the handler (a place outside the section, a symbol it cannot look
    up)."""
    ext = linker.ext
    dynamic = ext.e_type == ET_DYN
    images = linker.images
    load_address = linker.load_address
    lookups = linker.lookups
    symbols = ext.symbols
    symbol_count = len(symbols)
    size = target.size
    section = target
    # ET_REL: every entry patches `target`; ET_DYN: the section holding its r_offset.
    image = images.get(target.index)
    base = load_address.get(target.index, 0)
    site: Site | None = None
    for entry in entries:
        offset = entry.offset
        if dynamic:
            found = _section_at_vma(linker, offset)
            if found is None:
                linker.section_error(
                    rsec, "ENOEXEC",
                    f"relocation address {offset:#x} is not inside a loaded section", entry)
                continue
            section, offset = found
            image = images.get(section.index)
            base = load_address[section.index]
        elif offset >= size:
            linker.section_error(
                rsec, "ENOEXEC",
                f"r_offset {offset:#x} is beyond section {target.name} (size {size:#x})",
                entry)
            continue
        index = entry.symbol
        symbol = symbols[index] if 0 < index < symbol_count else None
        resolved = lookups.get(index)
        if resolved is None:
            resolved = linker.lookup(index)
        if site is None:
            site = Site(entry=entry, section=section, relocation=rsec, symbol=symbol,
                        symbol_address=0, address=0, image=bytearray(), offset=offset)
        else:
            # One Site moved from entry to entry: a problem copies what it reports, so
            # nothing keeps a Site, and making one per entry took as long as the rest of
            # an ARM link (bench/relocate.py: 25 ms instead of 12 for 19,999 entries).
            site.entry = entry
            site.section = section
            site.symbol = symbol
            site.offset = offset
        # Nothing loaded to patch: the handler works on a scratch copy of the file's bytes.
        site.image = image if image is not None else bytearray(ext.section_bytes(section))
        site.address = base + offset
        address = resolved[0]
        if address is None:
            assert resolved[1] is not None
            site.symbol_address = 0
            linker.error(site, resolved[1], resolved[2])
            continue
        site.symbol_address = address
        handler(linker, site)


def _section_at_vma(linker: Linker, vma: int) -> tuple[ElfSection, int] | None:
    for section in linker.ext.sections:
        if (section.index in linker.load_address and section.flags & SHF_ALLOC
                and section.addr <= vma < section.addr + section.size):
            return section, vma - section.addr
    return None


def _handler(arch: Arch) -> Handler:
    # Imported late: the architecture modules import this one.
    from placer.llext.relocate import arc, arm, arm64, riscv, x86

    handlers: dict[Arch, Handler] = {
        Arch.ARM: arm.relocate,
        Arch.ARM64: arm64.relocate,
        Arch.RISCV: riscv.relocate,
        Arch.X86: x86.relocate,
        Arch.ARC: arc.relocate,
    }
    return handlers[arch]


def relocation_type_name(arch: Arch, type_: int, pointer_size: int = 4) -> str:
    """The ``R_*`` name of relocation `type_` on `arch` (``R_<ARCH>_<n>`` if unnamed)."""
    from placer.llext.relocate import arc, arm, arm64, riscv, x86, xtensa

    names: dict[Arch, Mapping[int, str]] = {
        Arch.ARM: arm.NAMES,
        Arch.ARM64: arm64.NAMES,
        Arch.RISCV: riscv.NAMES,
        Arch.X86: x86.NAMES_64 if pointer_size == 8 else x86.NAMES_32,
        Arch.ARC: arc.NAMES,
        Arch.XTENSA: xtensa.NAMES,
    }
    prefix = {
        Arch.ARM: "R_ARM", Arch.ARM64: "R_AARCH64", Arch.RISCV: "R_RISCV",
        Arch.X86: "R_X86_64" if pointer_size == 8 else "R_386", Arch.ARC: "R_ARC",
        Arch.XTENSA: "R_XTENSA",
    }[arch]
    return names[arch].get(type_, f"{prefix}_{type_}")
