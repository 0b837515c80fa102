"""AArch64 relocations as Zephyr's ``arch/arm64/core/elf.c`` applies them.

Zephyr checks overflow only on the checked variants, and its check for instruction fields
catches only values too large on the positive side: a negative value below the field's
range passes. placer reports what Zephyr reports and warns about what it lets through.
Instructions are little-endian words.
"""

from __future__ import annotations

from placer.llext.relocate import Linker, Site, signed

NAMES: dict[int, str] = {
    0: "R_ARM_NONE", 256: "R_AARCH64_NONE", 257: "R_AARCH64_ABS64", 258: "R_AARCH64_ABS32",
    259: "R_AARCH64_ABS16", 260: "R_AARCH64_PREL64", 261: "R_AARCH64_PREL32",
    262: "R_AARCH64_PREL16", 263: "R_AARCH64_MOVW_UABS_G0", 264: "R_AARCH64_MOVW_UABS_G0_NC",
    265: "R_AARCH64_MOVW_UABS_G1", 266: "R_AARCH64_MOVW_UABS_G1_NC",
    267: "R_AARCH64_MOVW_UABS_G2", 268: "R_AARCH64_MOVW_UABS_G2_NC",
    269: "R_AARCH64_MOVW_UABS_G3", 270: "R_AARCH64_MOVW_SABS_G0",
    271: "R_AARCH64_MOVW_SABS_G1", 272: "R_AARCH64_MOVW_SABS_G2",
    273: "R_AARCH64_LD_PREL_LO19", 274: "R_AARCH64_ADR_PREL_LO21",
    275: "R_AARCH64_ADR_PREL_PG_HI21", 276: "R_AARCH64_ADR_PREL_PG_HI21_NC",
    277: "R_AARCH64_ADD_ABS_LO12_NC", 278: "R_AARCH64_LDST8_ABS_LO12_NC",
    279: "R_AARCH64_TSTBR14", 280: "R_AARCH64_CONDBR19", 282: "R_AARCH64_JUMP26",
    283: "R_AARCH64_CALL26", 284: "R_AARCH64_LDST16_ABS_LO12_NC",
    285: "R_AARCH64_LDST32_ABS_LO12_NC", 286: "R_AARCH64_LDST64_ABS_LO12_NC",
    287: "R_AARCH64_MOVW_PREL_G0", 288: "R_AARCH64_MOVW_PREL_G0_NC",
    289: "R_AARCH64_MOVW_PREL_G1", 290: "R_AARCH64_MOVW_PREL_G1_NC",
    291: "R_AARCH64_MOVW_PREL_G2", 292: "R_AARCH64_MOVW_PREL_G2_NC",
    293: "R_AARCH64_MOVW_PREL_G3", 299: "R_AARCH64_LDST128_ABS_LO12_NC",
    549: "R_AARCH64_TLSLE_ADD_TPREL_HI12", 551: "R_AARCH64_TLSLE_ADD_TPREL_LO12_NC",
    1025: "R_AARCH64_GLOB_DAT", 1026: "R_AARCH64_JUMP_SLOT", 1027: "R_AARCH64_RELATIVE",
}

#: Thread-control block the thread pointer skips before the TLS data (AArch64 variant I).
TCB_SIZE = 16

_ABS, _PREL, _PAGE = "abs", "prel", "page"
# type -> (bytes, kind, signed range or None for no check)
_DATA: dict[int, tuple[int, str, tuple[int, int] | None]] = {
    257: (8, _ABS, None), 258: (4, _ABS, (0, 0xFFFFFFFF)), 259: (2, _ABS, (0, 0xFFFF)),
    260: (8, _PREL, None), 261: (4, _PREL, (-(1 << 31), (1 << 31) - 1)),
    262: (2, _PREL, (-(1 << 15), (1 << 15) - 1)),
}
# type -> (kind, lsb, signed MOVN/MOVZ selection, overflow checked)
_MOVW: dict[int, tuple[str, int, bool, bool]] = {
    263: (_ABS, 0, False, True), 264: (_ABS, 0, False, False),
    265: (_ABS, 16, False, True), 266: (_ABS, 16, False, False),
    267: (_ABS, 32, False, True), 268: (_ABS, 32, False, False),
    269: (_ABS, 48, False, False),
    270: (_ABS, 0, True, True), 271: (_ABS, 16, True, True), 272: (_ABS, 32, True, True),
    287: (_PREL, 0, True, True), 288: (_PREL, 0, False, False),
    289: (_PREL, 16, True, True), 290: (_PREL, 16, False, False),
    291: (_PREL, 32, True, True), 292: (_PREL, 32, False, False),
    293: (_PREL, 48, True, False),
}
# type -> (kind, lsb, len, field mask, field shift, is ADR, overflow checked)
_IMM: dict[int, tuple[str, int, int, int, int, bool, bool]] = {
    277: (_ABS, 0, 12, 0xFFF, 10, False, False),
    278: (_ABS, 0, 12, 0xFFF, 10, False, False),
    284: (_ABS, 1, 11, 0xFFF, 10, False, False),
    285: (_ABS, 2, 10, 0xFFF, 10, False, False),
    286: (_ABS, 3, 9, 0xFFF, 10, False, False),
    299: (_ABS, 4, 8, 0xFFF, 10, False, False),
    273: (_PREL, 2, 19, 0x7FFFF, 5, False, True),
    280: (_PREL, 2, 19, 0x7FFFF, 5, False, True),
    274: (_PREL, 0, 21, 0, 0, True, True),
    279: (_PREL, 2, 14, 0x3FFF, 5, False, True),
    275: (_PAGE, 12, 21, 0, 0, True, True),
    276: (_PAGE, 12, 21, 0, 0, True, False),
    282: (_PREL, 2, 26, 0x3FFFFFF, 0, False, True),
    283: (_PREL, 2, 26, 0x3FFFFFF, 0, False, True),
}


def relocate(linker: Linker, site: Site) -> None:
    """Apply one AArch64 relocation as Zephyr's ``arch_elf_relocate`` does."""
    kind = site.entry.type
    if kind in (0, 256):
        return
    size = _DATA[kind][0] if kind in _DATA else 8 if kind in (1025, 1026, 1027) else 4
    if not linker.fits(site, size):
        linker.error(site, "ENOEXEC", f"the {size}-byte field runs past the end of the section")
        return
    if kind in _DATA:
        _data(linker, site)
    elif kind in _MOVW:
        _movw(linker, site)
    elif kind in _IMM:
        _imm(linker, site)
    elif kind in (1025, 1026):  # GLOB_DAT, JUMP_SLOT: S + A
        linker.write(site, 8, site.symbol_address + (site.entry.addend or 0))
    elif kind == 1027:  # RELATIVE: load bias + A
        linker.write(site, 8, linker.et_dyn_bias() + (site.entry.addend or 0))
    elif kind in (549, 551):
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
    if site.entry.type == 549:  # HI12: bits 23..12, checked
        field = offset >> 12
        if field > 0xFFF:
            linker.error(site, "ENOEXEC", "relocation out of range", value=field,
                         allowed=(0, 0xFFF))
            return
    else:
        field = offset
    linker.write(site, 4, (insn & ~(0xFFF << 10)) | ((field & 0xFFF) << 10))

