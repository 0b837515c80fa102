"""x86 relocations as Zephyr's ``arch/x86/core/elf.c`` applies them.

x86-64 (RELA) stores ``R_X86_64_32``/``32S`` as 32-bit words and the PC-relative types as
32-bit words without a range check: when the value does not fit, Zephyr writes the low 32
bits and loads a broken extension. placer applies the same bytes and warns. IA-32 (REL)
reads the addend from the word in place.
"""

from __future__ import annotations

import enum

from placer.llext.relocate import Linker, Site, signed


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
_PC32 = frozenset({R64.R_X86_64_PC32, R64.R_X86_64_PLT32})
_ABS32 = frozenset({R64.R_X86_64_32, R64.R_X86_64_32S})

INT32 = (-(1 << 31), (1 << 31) - 1)
UINT32 = (0, (1 << 32) - 1)


def relocate(linker: Linker, site: Site) -> None:
    """Apply one x86 or x86-64 relocation as Zephyr's ``arch_elf_relocate`` does."""
    if linker.pointer_size == 8:
        _relocate_64(linker, site)
    else:
        _relocate_32(linker, site)


def _relocate_64(linker: Linker, site: Site) -> None:
    kind = site.entry.type
    value = (site.symbol_address + (site.entry.addend or 0)) & linker.address_mask
    size = 8 if kind in _WORD_64 else 4
    if kind in _WORD_64 | _PC32 | _ABS32 and not linker.fits(site, size):
        linker.error(site, "ENOEXEC", f"the {size}-byte field runs past the end of the section")
        return
    if kind in _PC32:
        delta = signed(value - site.address, 8)
        linker.write(site, 4, delta)
        _warn_truncated(linker, site, delta, INT32)
    elif kind in (R64.R_X86_64_GLOB_DAT, R64.R_X86_64_JUMP_SLOT, R64.R_X86_64_64):
        linker.write(site, 8, value)
    elif kind == R64.R_X86_64_RELATIVE:  # load bias + A
        linker.write(site, 8, linker.et_dyn_bias() + (site.entry.addend or 0))
    elif kind in _ABS32:  # one 32-bit store for both
        linker.write(site, 4, value)
        unsigned = kind == R64.R_X86_64_32
        allowed = UINT32 if unsigned else INT32
        checked = value if unsigned else signed(value, 8)
        _warn_truncated(linker, site, checked, allowed)
    else:
        linker.error(site, "ENOEXEC", f"unknown relocation: {kind}")


def _relocate_32(linker: Linker, site: Site) -> None:
    kind = site.entry.type
    if not linker.fits(site, 4):
        linker.error(site, "ENOEXEC", "the 4-byte field runs past the end of the section")
        return
    addend = linker.read(site, 4)
    s = site.symbol_address
    if kind in (R32.R_386_GLOB_DAT, R32.R_386_JMP_SLOT):
        # The word is a lazy PLT stub, not an addend.
        linker.write(site, 4, s)
    elif kind == R32.R_386_32:
        linker.write(site, 4, s + addend)
    elif kind == R32.R_386_RELATIVE:
        linker.write(site, 4, linker.et_dyn_bias() + addend)
    elif kind == R32.R_386_PC32:
        linker.write(site, 4, s + addend - site.address)
    else:
        linker.error(site, "ENOEXEC", f"unknown relocation: {kind}")


def _warn_truncated(linker: Linker, site: Site, value: int, allowed: tuple[int, int]) -> None:
    if not allowed[0] <= value <= allowed[1]:
        linker.warning(site, "Zephyr stores only the low 32 bits: the value does not fit and "
                       "the loaded code is wrong", value=value, allowed=allowed)

