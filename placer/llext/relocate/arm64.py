"""AArch64 relocations as Zephyr's ``arch/arm64/core/elf.c`` applies them.

Zephyr checks overflow only on the checked variants, and its check for instruction fields
catches only values too large on the positive side: a negative value below the field's
range passes. placer reports what Zephyr reports and warns about what it lets through.
Instructions are little-endian words.
"""

from __future__ import annotations

import enum

from placer.llext.relocate import Linker, Site
from placer.llext.relocate.fastpath import signed


class R(enum.IntEnum):
    """AArch64 relocation types (AAELF64; pyelftools' ``ENUM_RELOC_TYPE_AARCH64``), the
    ones Zephyr's ``arch_elf_relocate`` handles (0 is the generic ``R_ARM_NONE``)."""

    R_ARM_NONE = 0
    R_AARCH64_NONE = 256
    R_AARCH64_ABS64 = 257
    R_AARCH64_ABS32 = 258
    R_AARCH64_ABS16 = 259
    R_AARCH64_PREL64 = 260
    R_AARCH64_PREL32 = 261
    R_AARCH64_PREL16 = 262
    R_AARCH64_MOVW_UABS_G0 = 263
    R_AARCH64_MOVW_UABS_G0_NC = 264
    R_AARCH64_MOVW_UABS_G1 = 265
    R_AARCH64_MOVW_UABS_G1_NC = 266
    R_AARCH64_MOVW_UABS_G2 = 267
    R_AARCH64_MOVW_UABS_G2_NC = 268
    R_AARCH64_MOVW_UABS_G3 = 269
    R_AARCH64_MOVW_SABS_G0 = 270
    R_AARCH64_MOVW_SABS_G1 = 271
    R_AARCH64_MOVW_SABS_G2 = 272
    R_AARCH64_LD_PREL_LO19 = 273
    R_AARCH64_ADR_PREL_LO21 = 274
    R_AARCH64_ADR_PREL_PG_HI21 = 275
    R_AARCH64_ADR_PREL_PG_HI21_NC = 276
    R_AARCH64_ADD_ABS_LO12_NC = 277
    R_AARCH64_LDST8_ABS_LO12_NC = 278
    R_AARCH64_TSTBR14 = 279
    R_AARCH64_CONDBR19 = 280
    R_AARCH64_JUMP26 = 282
    R_AARCH64_CALL26 = 283
    R_AARCH64_LDST16_ABS_LO12_NC = 284
    R_AARCH64_LDST32_ABS_LO12_NC = 285
    R_AARCH64_LDST64_ABS_LO12_NC = 286
    R_AARCH64_MOVW_PREL_G0 = 287
    R_AARCH64_MOVW_PREL_G0_NC = 288
    R_AARCH64_MOVW_PREL_G1 = 289
    R_AARCH64_MOVW_PREL_G1_NC = 290
    R_AARCH64_MOVW_PREL_G2 = 291
    R_AARCH64_MOVW_PREL_G2_NC = 292
    R_AARCH64_MOVW_PREL_G3 = 293
    R_AARCH64_LDST128_ABS_LO12_NC = 299
    R_AARCH64_TLSLE_ADD_TPREL_HI12 = 549
    R_AARCH64_TLSLE_ADD_TPREL_LO12_NC = 551
    R_AARCH64_GLOB_DAT = 1025
    R_AARCH64_JUMP_SLOT = 1026
    R_AARCH64_RELATIVE = 1027


#: Type number -> name, for reports.
NAMES: dict[int, str] = {r.value: r.name for r in R}

_DYNAMIC = frozenset({R.R_AARCH64_GLOB_DAT, R.R_AARCH64_JUMP_SLOT, R.R_AARCH64_RELATIVE})

#: Thread-control block the thread pointer skips before the TLS data (AArch64 variant I).
TCB_SIZE = 16

_ABS, _PREL, _PAGE = "abs", "prel", "page"
# type -> (bytes, kind, signed range or None for no check)
_DATA: dict[int, tuple[int, str, tuple[int, int] | None]] = {
    R.R_AARCH64_ABS64: (8, _ABS, None),
    R.R_AARCH64_ABS32: (4, _ABS, (0, 0xFFFFFFFF)),
    R.R_AARCH64_ABS16: (2, _ABS, (0, 0xFFFF)),
    R.R_AARCH64_PREL64: (8, _PREL, None),
    R.R_AARCH64_PREL32: (4, _PREL, (-(1 << 31), (1 << 31) - 1)),
    R.R_AARCH64_PREL16: (2, _PREL, (-(1 << 15), (1 << 15) - 1)),
}
# type -> (kind, lsb, signed MOVN/MOVZ selection, overflow checked)
_MOVW: dict[int, tuple[str, int, bool, bool]] = {
    R.R_AARCH64_MOVW_UABS_G0: (_ABS, 0, False, True),
    R.R_AARCH64_MOVW_UABS_G0_NC: (_ABS, 0, False, False),
    R.R_AARCH64_MOVW_UABS_G1: (_ABS, 16, False, True),
    R.R_AARCH64_MOVW_UABS_G1_NC: (_ABS, 16, False, False),
    R.R_AARCH64_MOVW_UABS_G2: (_ABS, 32, False, True),
    R.R_AARCH64_MOVW_UABS_G2_NC: (_ABS, 32, False, False),
    R.R_AARCH64_MOVW_UABS_G3: (_ABS, 48, False, False),
    R.R_AARCH64_MOVW_SABS_G0: (_ABS, 0, True, True),
    R.R_AARCH64_MOVW_SABS_G1: (_ABS, 16, True, True),
    R.R_AARCH64_MOVW_SABS_G2: (_ABS, 32, True, True),
    R.R_AARCH64_MOVW_PREL_G0: (_PREL, 0, True, True),
    R.R_AARCH64_MOVW_PREL_G0_NC: (_PREL, 0, False, False),
    R.R_AARCH64_MOVW_PREL_G1: (_PREL, 16, True, True),
    R.R_AARCH64_MOVW_PREL_G1_NC: (_PREL, 16, False, False),
    R.R_AARCH64_MOVW_PREL_G2: (_PREL, 32, True, True),
    R.R_AARCH64_MOVW_PREL_G2_NC: (_PREL, 32, False, False),
    R.R_AARCH64_MOVW_PREL_G3: (_PREL, 48, True, False),
}
# type -> (kind, lsb, len, field mask, field shift, is ADR, overflow checked)
_IMM: dict[int, tuple[str, int, int, int, int, bool, bool]] = {
    R.R_AARCH64_ADD_ABS_LO12_NC: (_ABS, 0, 12, 0xFFF, 10, False, False),
    R.R_AARCH64_LDST8_ABS_LO12_NC: (_ABS, 0, 12, 0xFFF, 10, False, False),
    R.R_AARCH64_LDST16_ABS_LO12_NC: (_ABS, 1, 11, 0xFFF, 10, False, False),
    R.R_AARCH64_LDST32_ABS_LO12_NC: (_ABS, 2, 10, 0xFFF, 10, False, False),
    R.R_AARCH64_LDST64_ABS_LO12_NC: (_ABS, 3, 9, 0xFFF, 10, False, False),
    R.R_AARCH64_LDST128_ABS_LO12_NC: (_ABS, 4, 8, 0xFFF, 10, False, False),
    R.R_AARCH64_LD_PREL_LO19: (_PREL, 2, 19, 0x7FFFF, 5, False, True),
    R.R_AARCH64_CONDBR19: (_PREL, 2, 19, 0x7FFFF, 5, False, True),
    R.R_AARCH64_ADR_PREL_LO21: (_PREL, 0, 21, 0, 0, True, True),
    R.R_AARCH64_TSTBR14: (_PREL, 2, 14, 0x3FFF, 5, False, True),
    R.R_AARCH64_ADR_PREL_PG_HI21: (_PAGE, 12, 21, 0, 0, True, True),
    R.R_AARCH64_ADR_PREL_PG_HI21_NC: (_PAGE, 12, 21, 0, 0, True, False),
    R.R_AARCH64_JUMP26: (_PREL, 2, 26, 0x3FFFFFF, 0, False, True),
    R.R_AARCH64_CALL26: (_PREL, 2, 26, 0x3FFFFFF, 0, False, True),
}


def relocate(linker: Linker, site: Site) -> None:
    """Apply one AArch64 relocation as Zephyr's ``arch_elf_relocate`` does."""
    kind = site.entry.type
    if kind in (R.R_ARM_NONE, R.R_AARCH64_NONE):
        return
    size = _DATA[kind][0] if kind in _DATA else 8 if kind in _DYNAMIC else 4
    if not linker.fits(site, size):
        linker.error(site, "ENOEXEC", f"the {size}-byte field runs past the end of the section")
        return
    if kind in _DATA:
        _data(linker, site)
    elif kind in _MOVW:
        _movw(linker, site)
    elif kind in _IMM:
        _imm(linker, site)
    elif kind in (R.R_AARCH64_GLOB_DAT, R.R_AARCH64_JUMP_SLOT):  # S + A
        linker.write(site, 8, site.symbol_address + (site.entry.addend or 0))
    elif kind == R.R_AARCH64_RELATIVE:  # load bias + A
        linker.write(site, 8, linker.et_dyn_bias() + (site.entry.addend or 0))
    elif kind in (R.R_AARCH64_TLSLE_ADD_TPREL_HI12, R.R_AARCH64_TLSLE_ADD_TPREL_LO12_NC):
        _tls_le(linker, site)
    else:
        linker.error(site, "ENOEXEC", f"unknown relocation: {kind}")


def _x(linker: Linker, site: Site, kind: str) -> int:
    """X of the AArch64 ELF spec for `kind`, as a signed 64-bit number."""
    s = site.symbol_address
    a = site.entry.addend or 0
    p = site.address
    if kind == _ABS:
        value = s + a
    elif kind == _PREL:
        value = s + a - p
    else:
        value = ((s + a) & ~0xFFF) - (p & ~0xFFF)
    return signed(value, 8)


def _data(linker: Linker, site: Site) -> None:
    size, kind, allowed = _DATA[site.entry.type]
    x = _x(linker, site, kind)
    if allowed is not None and not allowed[0] <= x <= allowed[1]:
        # Zephyr returns -ERANGE before storing anything.
        linker.error(site, "ENOEXEC", "relocation out of range", value=x, allowed=allowed)
        return
    linker.write(site, size, x)


def _movw(linker: Linker, site: Site) -> None:
    kind, lsb, movnz, checked = _MOVW[site.entry.type]
    insn = linker.read(site, 4)
    x = _x(linker, site, kind)
    imm = (x >> lsb) & 0xFFFFFFFF
    if movnz:
        insn &= ~(0xFF << 23)
        if x >= 0:
            insn |= 0b00100101 << 23
        else:
            insn |= 0b10100101 << 23
            imm = ~imm & 0xFFFFFFFF
        # Zephyr's constants put MOVN (opc 00) where the ABI wants MOVZ and the reverse.
        linker.warning(site, "Zephyr writes MOVN for a non-negative value and MOVZ for a "
                       "negative one, the reverse of the ABI: the loaded value is wrong "
                       "(a Zephyr defect)", value=x)
    insn = (insn & ~(0xFFFF << 5)) | ((imm & 0xFFFF) << 5)
    linker.write(site, 4, insn)
    if checked and imm > 0xFFFF:
        linker.error(site, "ENOEXEC", "relocation out of range", value=x >> lsb,
                     allowed=(0, 0xFFFF))


def _imm(linker: Linker, site: Site) -> None:
    kind, lsb, length, mask, shift, is_adr, checked = _IMM[site.entry.type]
    insn = linker.read(site, 4)
    x = _x(linker, site, kind) >> lsb
    imm = x & ((1 << length) - 1)
    if is_adr:
        imm = ((imm & 0x3) << 29) | (((imm >> 2) & 0x7FFFF) << 5)
        mask, shift = (0x3 << 29) | (0x7FFFF << 5), 0
    insn = (insn & ~(mask << shift)) | ((imm & mask) << shift)
    linker.write(site, 4, insn)
    if not checked:
        return
    # Zephyr's test: the bits above the sign bit, shifted down, must be 0, -1 or 1.
    high = signed(x & ~((1 << (length - 1)) - 1), 8) >> (length - 1)
    allowed = (-(1 << (length - 1)), (1 << (length - 1)) - 1)
    if high > 1:
        linker.error(site, "ENOEXEC", "relocation out of range", value=x, allowed=allowed)
    elif not allowed[0] <= x <= allowed[1]:
        linker.warning(site, "the value does not fit the field, and Zephyr's overflow check "
                       "misses it: the loaded code is wrong", value=x, allowed=allowed)


def _tls_le(linker: Linker, site: Site) -> None:
    insn = linker.read(site, 4)
    offset = site.symbol_address + (site.entry.addend or 0) + TCB_SIZE
    if site.entry.type == R.R_AARCH64_TLSLE_ADD_TPREL_HI12:  # bits 23..12, checked
        field = offset >> 12
        if field > 0xFFF:
            linker.error(site, "ENOEXEC", "relocation out of range", value=field,
                         allowed=(0, 0xFFF))
            return
    else:
        field = offset
    linker.write(site, 4, (insn & ~(0xFFF << 10)) | ((field & 0xFFF) << 10))

