"""Xtensa linking as Zephyr's ``llext_link_plt`` and ``arch/xtensa/core/elf.c`` do it.

Xtensa takes its own path (``llext_lookup_symbol`` in Zephyr's subsys/llext/llext_link.c; Zephyr's
arch/xtensa/core/elf.c). Every relocation section is walked,
whatever its target. Before PR #114099 (Zephyr 4.4) the patched place was computed from
the TEXT region: its load address plus the distance in the *file* between the region and
the target section, so a section loaded elsewhere than at its file distance from the text
was not the one patched (placer warns and follows Zephyr). Since then the place is in the
target section wherever it was loaded, so read-only storage (regions copied to the heap
apart) links correctly. Symbols other than functions, objects, sections and undefined
names are skipped. Globals are looked up in the built-in table, then the extension's own
globals, then the other extensions. Unknown types are ignored (logged at debug level), and
``SLOT0_OP`` is not range-checked by Zephyr (issue #96210): placer checks L32R (16-bit
negative word offset to an aligned literal) and CALLn (18-bit word offset) and warns.
"""

from __future__ import annotations

import enum
from collections.abc import Callable

from placer.llext.elf import (
    SHF_ALLOC,
    SHF_EXECINSTR,
    SHN_UNDEF,
    STB_GLOBAL,
    STB_LOCAL,
    STT_FUNC,
    STT_NOTYPE,
    STT_OBJECT,
    STT_SECTION,
    ElfSection,
    ElfSymbol,
    Relocation,
    RelocationSection,
)
from placer.llext.relocate import Linker, Site
from placer.llext.relocate.fastpath import signed


class R(enum.IntEnum):
    """Xtensa relocation types (binutils' ``include/elf/xtensa.h``)."""

    R_XTENSA_NONE = 0
    R_XTENSA_32 = 1
    R_XTENSA_RTLD = 2
    R_XTENSA_GLOB_DAT = 3
    R_XTENSA_JMP_SLOT = 4
    R_XTENSA_RELATIVE = 5
    R_XTENSA_PLT = 6
    R_XTENSA_OP0 = 8
    R_XTENSA_OP1 = 9
    R_XTENSA_OP2 = 10
    R_XTENSA_ASM_EXPAND = 11
    R_XTENSA_ASM_SIMPLIFY = 12
    R_XTENSA_32_PCREL = 14
    R_XTENSA_GNU_VTINHERIT = 15
    R_XTENSA_GNU_VTENTRY = 16
    R_XTENSA_DIFF8 = 17
    R_XTENSA_DIFF16 = 18
    R_XTENSA_DIFF32 = 19
    R_XTENSA_SLOT0_OP = 20
    R_XTENSA_SLOT0_ALT = 35


#: Type number -> name, for reports.
NAMES: dict[int, str] = {r.value: r.name for r in R}

L32R_RANGE = (-(1 << 16), -1)
CALL_RANGE = (-(1 << 17), (1 << 17) - 1)

#: Handlers get the address Zephyr resolved the symbol to and the symbol's binding.
Handler = Callable[[Linker, Site, int, int], None]


def link(linker: Linker) -> None:
    """Apply every relocation section as ``llext_link_plt`` does, into `linker.problems`."""
    text = _text_section(linker)
    for rsec in linker.ext.relocation_sections:
        dynamic = rsec.name in (".rela.plt", ".rela.dyn")
        if not dynamic and rsec.target >= len(linker.ext.sections):
            continue
        target = None if dynamic else linker.ext.sections[rsec.target]
        for entry in rsec.entries:
            _entry(linker, rsec, target, text, entry)


def _text_section(linker: Linker) -> ElfSection | None:
    executable = [
        s for s in linker.ext.sections
        if s.flags & SHF_ALLOC and s.flags & SHF_EXECINSTR and s.index in linker.load_address
    ]
    return min(executable, key=lambda s: s.offset) if executable else None


def _entry(
    linker: Linker,
    rsec: RelocationSection,
    target: ElfSection | None,
    text: ElfSection | None,
    entry: Relocation,
) -> None:
    ext = linker.ext
    if not 0 <= entry.symbol < len(ext.symbols):
        return  # Zephyr: "PLT: idx >= count", a warning, and on to the next entry
    sym = ext.symbols[entry.symbol]
    if sym.type not in (STT_FUNC, STT_SECTION, STT_OBJECT) and not (
        sym.type == STT_NOTYPE and sym.shndx == SHN_UNDEF
    ):
        return
    if linker.xtensa_read_only:
        # Before PR #114099 llext_link_plt patches the ELF buffer itself: with storage that
        # is not writable it logs "PLT: cannot link read-only ELF file" and moves on.
        place = target if target is not None else ext.sections[0]
        linker.warning(Site(entry=entry, section=place, relocation=rsec, symbol=sym,
                            symbol_address=0, address=0, image=bytearray(), offset=0),
                       "PLT: cannot link read-only ELF file: Zephyr before 4.4 skips this "
                       "relocation (make the storage writable)")
        return
    site = _locate(linker, rsec, target, text, entry, sym)
    if site is None:
        return
    if sym.bind == STB_GLOBAL:
        address = _lookup_global(linker, sym)
        if address is None:
            linker.error(site, "ENOENT", f"PLT: cannot find symbol '{sym.name}'")
            return
        own = _defined_address(linker, sym) if sym.shndx != SHN_UNDEF else None
        if own is not None and address != own:
            linker.warning(site, f"the image exports '{sym.name}' too: Zephyr links the "
                           f"image's ({address:#x}), not the extension's own ({own:#x})")
        site.symbol_address = address
        _relocate(linker, site, address, STB_GLOBAL)
    elif sym.bind == STB_LOCAL:
        if sym.type == STT_SECTION:
            section = ext.sections[sym.shndx] if sym.shndx < len(ext.sections) else None
            loaded = linker.section_address(sym.shndx)
            if section is not None and section.addr:
                base = section.addr
            elif loaded is not None:
                base = loaded
            else:
                linker.warning(site, "its section was not loaded: Zephyr uses a NULL base")
                base = 0
        else:
            # Zephyr uses the TEXT region's link address here, not the symbol's section.
            base = text.addr if text is not None else 0
            correct = _defined_address(linker, sym)
            if correct is not None and site.entry.type == 1 and correct != base:
                linker.warning(site, f"Zephyr adds the TEXT region's link address ({base:#x}) "
                               f"instead of the symbol's address ({correct:#x})")
        site.symbol_address = base
        _relocate(linker, site, base, STB_LOCAL)
    else:
        linker.warning(site, "Zephyr ignores relocations against weak symbols")


def _locate(
    linker: Linker,
    rsec: RelocationSection,
    target: ElfSection | None,
    text: ElfSection | None,
    entry: Relocation,
    sym: ElfSymbol,
) -> Site | None:
    """Where Zephyr writes: TEXT's load address plus the file distance to the place (since
    PR #114099: the place in the target section as loaded)."""
    ext = linker.ext
    if linker.xtensa_patch_target:
        return _locate_in_target(linker, rsec, target, entry, sym)
    placeholder = target if target is not None else ext.sections[0]
    if text is None:
        return None
    text_base = linker.load_address[text.index] - text.offset
    if target is not None:
        file_offset = target.offset + entry.offset
    else:
        found = next((s for s in ext.sections if s.flags & SHF_ALLOC
                      and s.addr <= entry.offset < s.addr + s.size), None)
        if found is None:
            return None  # Zephyr: "Offset not found in ELF, trying to continue"
        file_offset = entry.offset - found.addr + found.offset
    address = text_base + file_offset
    for section in ext.sections:
        base = linker.section_address(section.index)
        image = linker.images.get(section.index)
        if base is None or image is None or not base <= address < base + len(image):
            continue
        site = Site(entry=entry, section=section, relocation=rsec, symbol=sym,
                    symbol_address=0, address=address, image=image, offset=address - base)
        if target is not None and (section.index != target.index or site.offset != entry.offset):
            linker.warning(site, f"Zephyr patches {section.name}+{site.offset:#x} (at the "
                           f"file distance from TEXT), not {target.name}+{entry.offset:#x}")
        return site
    orphan = Site(entry=entry, section=placeholder, relocation=rsec, symbol=sym,
                  symbol_address=0, address=address, image=bytearray(), offset=0)
    if target is not None and target.flags & SHF_ALLOC:
        linker.warning(orphan, f"Zephyr writes at {address:#x}, outside every loaded "
                       "section (the target is not at its file distance from TEXT)")
    return None


def _locate_in_target(
    linker: Linker,
    rsec: RelocationSection,
    target: ElfSection | None,
    entry: Relocation,
    sym: ElfSymbol,
) -> Site | None:
    """The place as Zephyr finds it since PR #114099: `r_offset` into the target section
    where it was loaded (``.rela.dyn``/``.rela.plt``: the loaded section holding that VMA)."""
    ext = linker.ext
    if target is None:
        found = next((s for s in ext.sections if s.flags & SHF_ALLOC
                      and s.addr <= entry.offset < s.addr + s.size), None)
        if found is None:
            return None  # Zephyr: "Offset not found in ELF, trying to continue"
        section, offset = found, entry.offset - found.addr
    else:
        section, offset = target, entry.offset
    base = linker.section_address(section.index)
    image = linker.images.get(section.index)
    if base is None or image is None:
        if section.flags & SHF_ALLOC:
            orphan = Site(entry=entry, section=section, relocation=rsec, symbol=sym,
                          symbol_address=0, address=0, image=bytearray(), offset=0)
            linker.warning(orphan, f"{section.name} is not loaded: Zephyr cannot patch it")
        return None
    return Site(entry=entry, section=section, relocation=rsec, symbol=sym, symbol_address=0,
                address=base + offset, image=image, offset=offset)


def _defined_address(linker: Linker, sym: ElfSymbol) -> int | None:
    base = linker.section_address(sym.shndx) if 0 < sym.shndx < len(linker.ext.sections) else None
    return None if base is None else base + sym.value


def _lookup_global(linker: Linker, sym: ElfSymbol) -> int | None:
    first = linker.resolve_builtin or linker.resolve
    found = first(sym)
    if found:
        return found
    if sym.shndx != SHN_UNDEF and sym.type in (STT_FUNC, STT_OBJECT):
        own = _defined_address(linker, sym)
        if own is not None:
            return own
    found = linker.resolve(sym)
    return found or None


def _relocate(linker: Linker, site: Site, address: int, bind: int) -> None:
    kind = site.entry.type
    if kind in (R.R_XTENSA_NONE, R.R_XTENSA_ASM_EXPAND):  # nothing to do
        return
    if not linker.fits(site, 4) and kind != R.R_XTENSA_SLOT0_OP:
        linker.error(site, "ENOEXEC", "the 4-byte field runs past the end of the section")
        return
    handler = _HANDLERS.get(kind)
    if handler is None:
        linker.warning(site, f"Zephyr ignores relocation type {kind} (logged at debug level "
                       "only): the field keeps its unlinked value")
        return
    handler(linker, site, address, bind)


def _plt(linker: Linker, site: Site, address: int, bind: int) -> None:
    """GLOB_DAT, JMP_SLOT: the symbol's address, for globals only."""
    if bind == STB_GLOBAL:
        linker.write(site, 4, address)


def _add(linker: Linker, site: Site, address: int, bind: int) -> None:
    """32: add the symbol's address to the word."""
    linker.write(site, 4, linker.read(site, 4) + address)


def _relative(linker: Linker, site: Site, address: int, bind: int) -> None:
    """RELATIVE: rebase a link-time address to where its section was loaded."""
    word = linker.read(site, 4)
    for section in linker.ext.sections:
        if section.addr <= word < section.addr + section.size:
            base = linker.section_address(section.index)
            if base is None:
                linker.warning(site, f"{word:#x} is in section {section.name}, which was not "
                               "loaded: Zephyr rebases it from NULL")
                base = 0
            linker.write(site, 4, word + base - section.addr)
            return
    linker.warning(site, f"{word:#x} not found in any of the sections: Zephyr leaves it")


def _slot0_op(linker: Linker, site: Site, address: int, bind: int) -> None:
    """SLOT0_OP: patch an L32R or CALLn; Zephyr leaves other instructions alone."""
    ext = linker.ext
    sym = site.symbol
    assert sym is not None
    base = linker.section_address(sym.shndx) if sym.shndx < len(ext.sections) else None
    if base is None:
        linker.warning(site, "the symbol's section is not loaded: Zephyr computes the target "
                       "from address 0")
        base = 0
    target = (base + sym.value + (site.entry.addend or 0)) & 0xFFFFFFFF
    value = signed(target - ((site.address + 3) & ~3), 4) >> 2
    if not linker.fits(site, 3):
        linker.error(site, "ENOEXEC", "the instruction runs past the end of the section")
        return
    b0, b1, b2 = (site.image[site.offset + i] for i in range(3))
    if b0 & 0xF == 1 and b1 == 0 and b2 == 0:  # L32R
        site.image[site.offset + 1] = value & 0xFF
        site.image[site.offset + 2] = (value >> 8) & 0xFF
        if not L32R_RANGE[0] <= value <= L32R_RANGE[1] or target & 3:
            linker.warning(site, "L32R literal out of reach (it must be a 4-byte aligned "
                           "word before the instruction, within 256 KiB); Zephyr does not "
                           "check it", value=value, allowed=L32R_RANGE)
    elif b0 & 0xF == 5 and not b0 & 0xC0 and b1 == 0 and b2 == 0:  # CALLn
        site.image[site.offset] = (b0 & 0x3F) | ((value << 6) & 0xC0)
        site.image[site.offset + 1] = (value >> 2) & 0xFF
        site.image[site.offset + 2] = (value >> 10) & 0xFF
        if not CALL_RANGE[0] <= value <= CALL_RANGE[1]:
            linker.warning(site, "call target out of reach (18-bit word offset); Zephyr does "
                           "not check it", value=value, allowed=CALL_RANGE)
    elif _stale(linker, site, sym, b0, b1, b2, value):
        linker.warning(site, f"Zephyr leaves this instruction ({b2:02x}{b1:02x}{b0:02x}) "
                       "unpatched, but it refers to another section: the assembler's "
                       "offset is wrong once the sections move apart")


def _stale(
    linker: Linker, site: Site, sym: ElfSymbol, b0: int, b1: int, b2: int, value: int
) -> bool:
    """Whether an instruction Zephyr skips holds a value a correct link would change.

    The assembler resolves references inside one section itself (Zephyr relies on that);
    an L32R or CALLn whose field differs from the linked value, or any other instruction
    reaching into another section, is left wrong.
    """
    if b0 & 0xF == 1:
        return (b1 | b2 << 8) != value & 0xFFFF
    if b0 & 0xF == 5:
        return ((b0 >> 6) | b1 << 2 | b2 << 10) != value & 0x3FFFF
    return sym.shndx != site.section.index


#: Zephyr's switch on the relocation type, as a table: type -> handler.
_HANDLERS: dict[int, Handler] = {
    R.R_XTENSA_RELATIVE: _relative,
    R.R_XTENSA_GLOB_DAT: _plt, R.R_XTENSA_JMP_SLOT: _plt,
    R.R_XTENSA_32: _add,
    R.R_XTENSA_SLOT0_OP: _slot0_op,
}
