"""x86 relocations as Zephyr's ``arch/x86/core/elf.c`` applies them.

x86-64 (RELA) stores ``R_X86_64_32``/``32S`` as 32-bit words and the PC-relative types as
32-bit words without a range check: when the value does not fit, Zephyr writes the low 32
bits and loads a broken extension. placer applies the same bytes and warns. IA-32 (REL)
reads the addend from the word in place.
"""

from __future__ import annotations

from placer.llext.relocate import Linker, Site, signed

NAMES_64: dict[int, str] = {
    0: "R_X86_64_NONE", 1: "R_X86_64_64", 2: "R_X86_64_PC32", 3: "R_X86_64_GOT32",
    4: "R_X86_64_PLT32", 5: "R_X86_64_COPY", 6: "R_X86_64_GLOB_DAT", 7: "R_X86_64_JUMP_SLOT",
    8: "R_X86_64_RELATIVE", 9: "R_X86_64_GOTPCREL", 10: "R_X86_64_32", 11: "R_X86_64_32S",
    24: "R_X86_64_PC64", 41: "R_X86_64_GOTPCRELX", 42: "R_X86_64_REX_GOTPCRELX",
}
NAMES_32: dict[int, str] = {
    0: "R_386_NONE", 1: "R_386_32", 2: "R_386_PC32", 3: "R_386_GOT32", 4: "R_386_PLT32",
    6: "R_386_GLOB_DAT", 7: "R_386_JMP_SLOT", 8: "R_386_RELATIVE", 9: "R_386_GOTOFF",
    10: "R_386_GOTPC",
}

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
    size = 8 if kind in (1, 6, 7, 8) else 4
    if kind in (1, 2, 4, 6, 7, 8, 10, 11) and not linker.fits(site, size):
        linker.error(site, "ENOEXEC", f"the {size}-byte field runs past the end of the section")
        return
    if kind in (2, 4):  # PC32, PLT32
        delta = signed(value - site.address, 8)
        linker.write(site, 4, delta)
        _warn_truncated(linker, site, delta, INT32)
    elif kind in (6, 7, 1):  # GLOB_DAT, JUMP_SLOT, 64
        linker.write(site, 8, value)
    elif kind == 8:  # RELATIVE: load bias + A
        linker.write(site, 8, linker.et_dyn_bias() + (site.entry.addend or 0))
    elif kind in (10, 11):  # 32, 32S: one 32-bit store for both
        linker.write(site, 4, value)
        allowed = UINT32 if kind == 10 else INT32
        checked = value if kind == 10 else signed(value, 8)
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
    if kind in (6, 7):  # GLOB_DAT, JMP_SLOT: the word is a lazy PLT stub, not an addend
        linker.write(site, 4, s)
    elif kind == 1:
        linker.write(site, 4, s + addend)
    elif kind == 8:
        linker.write(site, 4, linker.et_dyn_bias() + addend)
    elif kind == 2:
        linker.write(site, 4, s + addend - site.address)
    else:
        linker.error(site, "ENOEXEC", f"unknown relocation: {kind}")


def _warn_truncated(linker: Linker, site: Site, value: int, allowed: tuple[int, int]) -> None:
    if not allowed[0] <= value <= allowed[1]:
        linker.warning(site, "Zephyr stores only the low 32 bits: the value does not fit and "
                       "the loaded code is wrong", value=value, allowed=allowed)

