"""ARC relocations as Zephyr's ``arch/arc/core/elf.c`` applies them.

Instructions are stored middle-endian: the two 16-bit halves of a 32-bit word are swapped.
Zephyr adds the addend to S before its switch, and the two PC-relative types add it again
inside their formula: with a non-zero addend the branch lands ``A`` bytes away from where
a correct link puts it. placer writes what Zephyr writes and warns. Zephyr checks no range.
"""

from __future__ import annotations

import enum
from collections.abc import Callable

from placer.llext.relocate import Linker, Site
from placer.llext.relocate.fastpath import sign_extend


class R(enum.IntEnum):
    """ARC relocation types (the ARC ELF ABI; binutils' ``elf/arc-reloc.def``)."""

    R_ARC_NONE = 0
    R_ARC_32 = 4
    R_ARC_B26 = 5
    R_ARC_S21H_PCREL = 14
    R_ARC_S21W_PCREL = 15
    R_ARC_S25H_PCREL = 16
    R_ARC_S25W_PCREL = 17
    R_ARC_32_ME = 27
    R_ARC_32_PCREL = 49


#: Type number -> name, for reports.
NAMES: dict[int, str] = {r.value: r.name for r in R}

S25_LIMIT = 1 << 24  # a 25-bit signed displacement, in bytes before scaling


def middle_endian(value: int) -> int:
    """Swap the halfwords of a 32-bit word (ARCompact's instruction order in memory)."""
    value &= 0xFFFFFFFF
    return ((value >> 16) | (value << 16)) & 0xFFFFFFFF


#: Handlers get ``S + A`` (Zephyr adds A before its switch) and PCL, P rounded down to 4.
Handler = Callable[[Linker, Site, int, int], None]


def relocate(linker: Linker, site: Site) -> None:
    """Apply one ARC relocation as Zephyr's ``arch_elf_relocate`` does."""
    kind = site.entry.type
    if not linker.fits(site, 4):
        linker.error(site, "ENOEXEC", "the 4-byte field runs past the end of the section")
        return
    handler = _HANDLERS.get(kind)
    if handler is None:
        linker.error(site, "ENOEXEC", f"unknown relocation: {kind}")
        return
    s = (site.symbol_address + (site.entry.addend or 0)) & 0xFFFFFFFF
    handler(linker, site, s, site.address & ~0x3)


def _word(linker: Linker, site: Site, s: int, pcl: int) -> None:
    """32, B26: the whole word."""
    linker.write(site, 4, s)


def _s25_pcrel(linker: Linker, site: Site, s: int, pcl: int) -> None:
    """S25H_PCREL, S25W_PCREL: the displacement scattered over a middle-endian word."""
    addend = site.entry.addend or 0
    halfword = site.entry.type == R.R_ARC_S25H_PCREL
    scale = 1 if halfword else 2
    zephyr = ((s + addend - pcl) & 0xFFFFFFFF) >> scale
    insn = middle_endian(linker.read(site, 4))
    if halfword:
        insn &= ~0x7FEFFCF
        insn |= ((zephyr & 0x3FF) << 17) | (((zephyr >> 10) & 0x3FF) << 6)
    else:
        insn &= ~0x7FCFFCF
        insn |= ((zephyr & 0x1FF) << 18) | (((zephyr >> 9) & 0x3FF) << 6)
    high_shift = 20 if halfword else 19
    insn |= (zephyr >> high_shift) & 0xF
    linker.write(site, 4, middle_endian(insn))
    _check_pcrel(linker, site, s, addend, pcl)


def _word_me(linker: Linker, site: Site, s: int, pcl: int) -> None:
    """32_ME: the whole word, middle-endian."""
    linker.write(site, 4, middle_endian(s))


def _check_pcrel(linker: Linker, site: Site, s: int, addend: int, pcl: int) -> None:
    if addend != 0:
        linker.warning(
            site, f"Zephyr adds the addend ({addend}) twice: the branch goes {addend} bytes "
            "past its target (a Zephyr defect)")
    displacement = sign_extend(s + addend - pcl, 32)
    if not -S25_LIMIT <= displacement < S25_LIMIT:
        linker.warning(site, "displacement does not fit 25 bits and Zephyr does not check it",
                       value=displacement, allowed=(-S25_LIMIT, S25_LIMIT - 1))


#: Zephyr's switch on the relocation type, as a table: type -> handler.
_HANDLERS: dict[int, Handler] = {
    R.R_ARC_32: _word, R.R_ARC_B26: _word,
    R.R_ARC_S25H_PCREL: _s25_pcrel, R.R_ARC_S25W_PCREL: _s25_pcrel,
    R.R_ARC_32_ME: _word_me,
}
