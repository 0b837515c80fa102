"""x86 relocations as Zephyr's ``arch/x86/core/elf.c`` applies them.

x86-64 (RELA) stores ``R_X86_64_32``/``32S`` as 32-bit words and the PC-relative types as
32-bit words without a range check: when the value does not fit, Zephyr writes the low 32
bits and loads a broken extension. placer applies the same bytes and warns. IA-32 (REL)
reads the addend from the word in place.
"""

from __future__ import annotations

import enum
from collections.abc import Callable

from placer.llext.relocate import Linker, Site
from placer.llext.relocate.fastpath import signed


class R64(enum.IntEnum):
    """x86-64 relocation types (the psABI; pyelftools' ``ENUM_RELOC_TYPE_x64``)."""

    R_X86_64_NONE = 0
    R_X86_64_64 = 1
    R_X86_64_PC32 = 2
    R_X86_64_GOT32 = 3
    R_X86_64_PLT32 = 4
    R_X86_64_COPY = 5
    R_X86_64_GLOB_DAT = 6
    R_X86_64_JUMP_SLOT = 7
    R_X86_64_RELATIVE = 8
    R_X86_64_GOTPCREL = 9
    R_X86_64_32 = 10
    R_X86_64_32S = 11
    R_X86_64_PC64 = 24
    R_X86_64_GOTPCRELX = 41
    R_X86_64_REX_GOTPCRELX = 42


class R32(enum.IntEnum):
    """IA-32 relocation types (the i386 psABI; pyelftools' ``ENUM_RELOC_TYPE_i386``)."""

    R_386_NONE = 0
    R_386_32 = 1
    R_386_PC32 = 2
    R_386_GOT32 = 3
    R_386_PLT32 = 4
    R_386_GLOB_DAT = 6
    R_386_JMP_SLOT = 7
    R_386_RELATIVE = 8
    R_386_GOTOFF = 9
    R_386_GOTPC = 10


#: Type number -> name, for reports.
NAMES_64: dict[int, str] = {r.value: r.name for r in R64}
NAMES_32: dict[int, str] = {r.value: r.name for r in R32}

_WORD_64 = frozenset({R64.R_X86_64_64, R64.R_X86_64_GLOB_DAT, R64.R_X86_64_JUMP_SLOT,
                      R64.R_X86_64_RELATIVE})

INT32 = (-(1 << 31), (1 << 31) - 1)
UINT32 = (0, (1 << 32) - 1)

#: x86-64 handlers get ``S + A`` (as an address) and P; IA-32 handlers get S and P.
Handler = Callable[[Linker, Site, int, int], None]


def relocate(linker: Linker, site: Site) -> None:
    """Apply one x86 or x86-64 relocation as Zephyr's ``arch_elf_relocate`` does."""
    if linker.pointer_size == 8:
        _relocate_64(linker, site)
    else:
        _relocate_32(linker, site)


def _relocate_64(linker: Linker, site: Site) -> None:
    kind = site.entry.type
    handler = _HANDLERS_64.get(kind)
    if handler is None:
        linker.error(site, "ENOEXEC", f"unknown relocation: {kind}")
        return
    size = 8 if kind in _WORD_64 else 4
    if not linker.fits(site, size):
        linker.error(site, "ENOEXEC", f"the {size}-byte field runs past the end of the section")
        return
    value = (site.symbol_address + (site.entry.addend or 0)) & linker.address_mask
    handler(linker, site, value, site.address)


def _pc32_64(linker: Linker, site: Site, value: int, p: int) -> None:
    """PC32, PLT32: a 32-bit store, no range check."""
    delta = signed(value - p, 8)
    linker.write(site, 4, delta)
    _warn_truncated(linker, site, delta, INT32)


def _word_64(linker: Linker, site: Site, value: int, p: int) -> None:
    """64, GLOB_DAT, JUMP_SLOT: ``S + A``."""
    linker.write(site, 8, value)


def _relative_64(linker: Linker, site: Site, value: int, p: int) -> None:
    """RELATIVE: load bias + A."""
    linker.write(site, 8, linker.et_dyn_bias() + (site.entry.addend or 0))


def _abs32_64(linker: Linker, site: Site, value: int, p: int) -> None:
    """32, 32S: one 32-bit store for both; only the warning's range differs."""
    linker.write(site, 4, value)
    unsigned = site.entry.type == R64.R_X86_64_32
    allowed = UINT32 if unsigned else INT32
    checked = value if unsigned else signed(value, 8)
    _warn_truncated(linker, site, checked, allowed)


def _relocate_32(linker: Linker, site: Site) -> None:
    kind = site.entry.type
    if not linker.fits(site, 4):
        linker.error(site, "ENOEXEC", "the 4-byte field runs past the end of the section")
        return
    handler = _HANDLERS_32.get(kind)
    if handler is None:
        linker.error(site, "ENOEXEC", f"unknown relocation: {kind}")
        return
    handler(linker, site, site.symbol_address, site.address)


def _absolute_32(linker: Linker, site: Site, s: int, p: int) -> None:
    """GLOB_DAT, JMP_SLOT: ``*P = S``; the word is a lazy PLT stub, not an addend."""
    linker.write(site, 4, s)


def _abs_32(linker: Linker, site: Site, s: int, p: int) -> None:
    linker.write(site, 4, s + linker.read(site, 4))


def _relative_32(linker: Linker, site: Site, s: int, p: int) -> None:
    linker.write(site, 4, linker.et_dyn_bias() + linker.read(site, 4))


def _pc32_32(linker: Linker, site: Site, s: int, p: int) -> None:
    linker.write(site, 4, s + linker.read(site, 4) - p)


#: Zephyr's switches on the relocation type, as tables: type -> handler.
_HANDLERS_64: dict[int, Handler] = {
    R64.R_X86_64_PC32: _pc32_64, R64.R_X86_64_PLT32: _pc32_64,
    R64.R_X86_64_64: _word_64, R64.R_X86_64_GLOB_DAT: _word_64,
    R64.R_X86_64_JUMP_SLOT: _word_64,
    R64.R_X86_64_RELATIVE: _relative_64,
    R64.R_X86_64_32: _abs32_64, R64.R_X86_64_32S: _abs32_64,
}
_HANDLERS_32: dict[int, Handler] = {
    R32.R_386_GLOB_DAT: _absolute_32, R32.R_386_JMP_SLOT: _absolute_32,
    R32.R_386_32: _abs_32,
    R32.R_386_RELATIVE: _relative_32,
    R32.R_386_PC32: _pc32_32,
}


def _warn_truncated(linker: Linker, site: Site, value: int, allowed: tuple[int, int]) -> None:
    if not allowed[0] <= value <= allowed[1]:
        linker.warning(site, "Zephyr stores only the low 32 bits: the value does not fit and "
                       "the loaded code is wrong", value=value, allowed=allowed)

