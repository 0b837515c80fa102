"""RISC-V relocations as Zephyr's ``arch/riscv/core/elf.c`` applies them.

Zephyr computes in the target's C types: on RV32 addresses are ``intptr_t`` of 32 bits, so
``S + A - P`` wraps to 32 bits before it is range-checked, and a range check never stops the
store (the field is written, then the error returned). Both are reproduced. A
``PCREL_LO12_I/S`` entry names a label at its ``PCREL_HI20`` instruction: its value is
``S + A - P`` of that HI20 entry, searched in the same relocation section.
"""

from __future__ import annotations

from collections.abc import Callable

from placer.llext.elf import ET_DYN, SHF_ALLOC, SHF_EXECINSTR
from placer.llext.relocate import Linker, Site
from placer.llext.relocate.codes import RiscvType as R
from placer.llext.relocate.fastpath import (
    itype_immediate,
    signed,
    stype_immediate,
    upper_immediate,
)

#: Type number -> name, for reports.
NAMES: dict[int, str] = {r.value: r.name for r in R}

PCREL_HI20 = R.R_RISCV_PCREL_HI20
PCREL_LO12_I = R.R_RISCV_PCREL_LO12_I
PCREL_LO12_S = R.R_RISCV_PCREL_LO12_S

#: Zephyr's maximum distances per instruction format (inclusive, positive side).
U_PLUS_I = 0x7FFFFFFF
B_TYPE = (1 << 12) - 1
CB_TYPE = (1 << 8) - 1
CJ_TYPE = (1 << 11) - 1

#: Type -> bytes of the field it adds to, subtracts from or sets.
_ADD: dict[int, int] = {R.R_RISCV_ADD8: 1, R.R_RISCV_ADD16: 2, R.R_RISCV_ADD32: 4,
                        R.R_RISCV_ADD64: 8}
_SUB: dict[int, int] = {R.R_RISCV_SUB8: 1, R.R_RISCV_SUB16: 2, R.R_RISCV_SUB32: 4,
                        R.R_RISCV_SUB64: 8}
_SET: dict[int, int] = {R.R_RISCV_SET8: 1, R.R_RISCV_SET16: 2, R.R_RISCV_SET32: 4}


Handler = Callable[[Linker, Site, int, int, int], None]

# Plain ints for the per-entry tests (an IntEnum member costs an attribute lookup).
_PCREL_LO12 = frozenset({int(PCREL_LO12_I), int(PCREL_LO12_S)})
_IGNORED = frozenset({int(R.R_RISCV_NONE), int(R.R_RISCV_RELAX)})
_PCREL_HI20 = int(PCREL_HI20)


def relocate(linker: Linker, site: Site) -> None:
    """Apply one RISC-V relocation as Zephyr's ``arch_elf_relocate`` does."""
    entry = site.entry
    kind = entry.type
    if kind in _PCREL_LO12:
        paired = _pcrel_hi20_value(linker, site)
        if paired is None:
            linker.error(site, "ENOEXEC",
                         "could not find the R_RISCV_PCREL_HI20 relocation for this "
                         "R_RISCV_PCREL_LO12 relocation")
            return
        s = paired
    else:
        s = site.symbol_address
    if kind in _IGNORED:
        return
    size = _FIELD_SIZES.get(kind, 4) or linker.pointer_size
    if site.offset + size > len(site.image):  # linker.fits(site, size), once per entry
        linker.error(site, "ENOEXEC", f"the {size}-byte field runs past the end of the section")
        return
    handler = _HANDLERS.get(kind)
    if handler is None:
        linker.error(site, "ENOEXEC", f"Unsupported relocation type: {kind}")
        return
    # S and P as the C code's intptr_t: `signed(value, pointer_size)`, inline (every entry).
    mask = linker.address_mask
    s &= mask
    if s > mask >> 1:
        s -= mask + 1
    p = site.address & mask
    if p > mask >> 1:
        p -= mask + 1
    handler(linker, site, s, entry.addend or 0, p)


def _abs32(linker: Linker, site: Site, s: int, a: int, p: int) -> None:
    """32: ``S + A``."""
    target = signed(s + a, linker.pointer_size)
    linker.write(site, 4, target)
    _check(linker, site, target, U_PLUS_I)


def _abs64(linker: Linker, site: Site, s: int, a: int, p: int) -> None:
    linker.write(site, 8, s + a)


def _relative(linker: Linker, site: Site, s: int, a: int, p: int) -> None:
    """RELATIVE: ``B + A``, B being the TEXT region's address."""
    base = _text_base(linker)
    linker.write(site, linker.pointer_size, base + a)
    bias = linker.et_dyn_bias() if linker.ext.e_type == ET_DYN else None
    if bias is not None and bias != base:
        linker.warning(site, f"Zephyr adds the TEXT address ({base:#x}), not the load "
                       f"bias ({bias:#x}): the pointer is off by {base - bias:#x}")


def _jump_slot(linker: Linker, site: Site, s: int, a: int, p: int) -> None:
    linker.write(site, linker.pointer_size, s)


def _branch(linker: Linker, site: Site, s: int, a: int, p: int) -> None:
    _patch_pcrel(linker, site, signed(s + a - p, linker.pointer_size), 4, _btype, B_TYPE)


def _jal(linker: Linker, site: Site, s: int, a: int, p: int) -> None:
    _patch_pcrel(linker, site, signed(s + a - p, linker.pointer_size), 4, _jtype, U_PLUS_I)


def _call(linker: Linker, site: Site, s: int, a: int, p: int) -> None:
    """CALL, CALL_PLT (AUIPC then JALR) and PCREL_HI20 (the AUIPC alone)."""
    target = signed(s + a - p, linker.pointer_size)
    _set_upper(linker, site, target)
    if site.entry.type != _PCREL_HI20:
        if site.offset + 8 > len(site.image):  # linker.fits(site, 4, delta=4)
            linker.error(site, "ENOEXEC", "the call's second instruction is past the end")
            return
        _set_itype(linker, site, target, delta=4)
    _check(linker, site, target, U_PLUS_I)


def _pcrel_lo12_i(linker: Linker, site: Site, s: int, a: int, p: int) -> None:
    """S is the paired HI20's ``S + A - P`` here."""
    _set_itype(linker, site, signed(s, 4))


def _pcrel_lo12_s(linker: Linker, site: Site, s: int, a: int, p: int) -> None:
    """S is the paired HI20's ``S + A - P`` here."""
    _set_stype(linker, site, signed(s, 4))


def _hi20(linker: Linker, site: Site, s: int, a: int, p: int) -> None:
    target = signed(s + a, linker.pointer_size)
    _set_upper(linker, site, target)
    _check(linker, site, target, U_PLUS_I)


def _lo12_i(linker: Linker, site: Site, s: int, a: int, p: int) -> None:
    target = signed(s + a, linker.pointer_size)
    _set_itype(linker, site, target)
    _check(linker, site, target, U_PLUS_I)


def _lo12_s(linker: Linker, site: Site, s: int, a: int, p: int) -> None:
    """LO12_S: Zephyr does not check it."""
    _set_stype(linker, site, signed(s + a, linker.pointer_size))


def _add(linker: Linker, site: Site, s: int, a: int, p: int) -> None:
    n = _ADD[site.entry.type]
    linker.write(site, n, linker.read(site, n) + s + a)


def _sub(linker: Linker, site: Site, s: int, a: int, p: int) -> None:
    n = _SUB[site.entry.type]
    linker.write(site, n, linker.read(site, n) - s - a)


def _sub6(linker: Linker, site: Site, s: int, a: int, p: int) -> None:
    """SUB6, with Zephyr's 5-bit masks (the ABI field is 6 bits)."""
    low = linker.read(site, 1) & 0x1F
    linker.write(site, 1, ((low - s - a) & 0x1F) | low)
    _warn_six_bit(linker, site)


def _set6(linker: Linker, site: Site, s: int, a: int, p: int) -> None:
    """SET6, with Zephyr's 5-bit mask likewise."""
    low = linker.read(site, 1) & 0x1F
    linker.write(site, 1, ((s + a) & 0xFF) | low)
    _warn_six_bit(linker, site)


def _set(linker: Linker, site: Site, s: int, a: int, p: int) -> None:
    linker.write(site, _SET[site.entry.type], s + a)


def _pcrel32(linker: Linker, site: Site, s: int, a: int, p: int) -> None:
    """32_PCREL, PLT32: ``S + A - P`` in a word."""
    target = signed(s + a - p, linker.pointer_size)
    linker.write(site, 4, target)
    _check(linker, site, target, U_PLUS_I)


def _rvc_branch(linker: Linker, site: Site, s: int, a: int, p: int) -> None:
    _patch_pcrel(linker, site, signed(s + a - p, linker.pointer_size), 2, _cbtype, CB_TYPE)


def _rvc_jump(linker: Linker, site: Site, s: int, a: int, p: int) -> None:
    _patch_pcrel(linker, site, signed(s + a - p, linker.pointer_size), 2, _cjtype, CJ_TYPE)


def _align(linker: Linker, site: Site, s: int, a: int, p: int) -> None:
    alignment = 1
    while alignment < a:
        alignment *= 2
    linker.error(site, "ENOEXEC",
                 f"requires alignment to {alignment} bytes: Alignment relocation is "
                 "currently not supported (build with -mno-relax)")


#: Zephyr's switch on the relocation type, as a table: type -> handler.
_HANDLERS: dict[int, Handler] = {
    R.R_RISCV_32: _abs32,
    R.R_RISCV_64: _abs64,
    R.R_RISCV_RELATIVE: _relative,
    R.R_RISCV_JUMP_SLOT: _jump_slot,
    R.R_RISCV_BRANCH: _branch,
    R.R_RISCV_JAL: _jal,
    R.R_RISCV_CALL: _call, R.R_RISCV_CALL_PLT: _call, PCREL_HI20: _call,
    PCREL_LO12_I: _pcrel_lo12_i,
    PCREL_LO12_S: _pcrel_lo12_s,
    R.R_RISCV_HI20: _hi20,
    R.R_RISCV_LO12_I: _lo12_i,
    R.R_RISCV_LO12_S: _lo12_s,
    R.R_RISCV_ADD8: _add, R.R_RISCV_ADD16: _add, R.R_RISCV_ADD32: _add, R.R_RISCV_ADD64: _add,
    R.R_RISCV_SUB8: _sub, R.R_RISCV_SUB16: _sub, R.R_RISCV_SUB32: _sub, R.R_RISCV_SUB64: _sub,
    R.R_RISCV_SUB6: _sub6,
    R.R_RISCV_SET6: _set6,
    R.R_RISCV_SET8: _set, R.R_RISCV_SET16: _set, R.R_RISCV_SET32: _set,
    R.R_RISCV_32_PCREL: _pcrel32, R.R_RISCV_PLT32: _pcrel32,
    R.R_RISCV_RVC_BRANCH: _rvc_branch,
    R.R_RISCV_RVC_JUMP: _rvc_jump,
    R.R_RISCV_ALIGN: _align,
}


#: Bytes of the field each type patches where it is not 4; 0: the pointer size.
_FIELD_SIZES: dict[int, int] = {
    R.R_RISCV_64: 8, R.R_RISCV_ADD64: 8, R.R_RISCV_SUB64: 8,
    R.R_RISCV_RELATIVE: 0, R.R_RISCV_JUMP_SLOT: 0,
    R.R_RISCV_RVC_BRANCH: 2, R.R_RISCV_RVC_JUMP: 2, R.R_RISCV_ADD16: 2, R.R_RISCV_SUB16: 2,
    R.R_RISCV_SET16: 2,
    R.R_RISCV_ADD8: 1, R.R_RISCV_SUB8: 1, R.R_RISCV_SUB6: 1, R.R_RISCV_SET6: 1,
    R.R_RISCV_SET8: 1, R.R_RISCV_ALIGN: 1,
}


def _patch_pcrel(linker: Linker, site: Site, target: int, width: int,
                 encode: Callable[[int], int], limit: int) -> None:
    """Scatter a PC-relative offset into the immediate bits of a `width`-byte instruction
    (`encode` places an offset's bits; all-ones gives the field mask), then range-check."""
    insn = linker.read(site, width)
    mask = encode((1 << (8 * width)) - 1)
    linker.write(site, width, (insn & ~mask) | encode(target))
    _check(linker, site, target, limit)


def _check(linker: Linker, site: Site, target: int, limit: int) -> None:
    # riscv_relocation_fits: two's complement, so the negative side reaches one further.
    low = -limit - 1
    if not low <= target <= limit:
        linker.error(site, "ENOEXEC",
                     f"{target} byte relocation is not possible (max {limit})",
                     value=target, allowed=(low, limit))


def _warn_six_bit(linker: Linker, site: Site) -> None:
    linker.warning(site, "Zephyr keeps only 5 bits of the 6-bit field: the result may differ "
                   "from a correct link")


def _pcrel_hi20_value(linker: Linker, site: Site) -> int | None:
    """``S + A - P`` of the PCREL_HI20 entry at the address the LO12 entry's label names."""
    label = site.symbol
    if label is None:
        return None
    match = linker.entry_at(site.relocation, _PCREL_HI20, label.value)
    if match is None:
        return None
    s, errno, _ = linker.lookup(match.symbol)
    if s is None or errno is not None:
        return None
    p = site.address - site.offset + match.offset  # the HI20's place in the same section
    return signed(s + (match.addend or 0) - p, linker.pointer_size)


def _text_base(linker: Linker) -> int:
    executable = [
        s for s in linker.ext.sections
        if s.flags & SHF_EXECINSTR and s.flags & SHF_ALLOC and s.index in linker.load_address
    ]
    if not executable:
        return 0
    first = min(executable, key=lambda s: s.offset)
    return linker.load_address[first.index]


# The instruction setters below run once the handler's field is known to lie inside the
# image (`relocate` and `_call` check it), so they use the 4-byte struct directly.


def _set_upper(linker: Linker, site: Site, target: int) -> None:
    word = linker.fields[4]
    image, offset = site.image, site.offset
    word.pack_into(image, offset, upper_immediate(word.unpack_from(image, offset)[0], target))


def _set_itype(linker: Linker, site: Site, target: int, delta: int = 0) -> None:
    word = linker.fields[4]
    image, offset = site.image, site.offset + delta
    word.pack_into(image, offset, itype_immediate(word.unpack_from(image, offset)[0], target))


def _set_stype(linker: Linker, site: Site, target: int) -> None:
    word = linker.fields[4]
    image, offset = site.image, site.offset
    word.pack_into(image, offset, stype_immediate(word.unpack_from(image, offset)[0], target))


def _bit(value: int, n: int) -> int:
    return (value >> n) & 1


def _btype(imm: int) -> int:
    return ((_bit(imm, 12) << 31) | (((imm >> 5) & 0x3F) << 25) | (((imm >> 1) & 0xF) << 8)
            | (_bit(imm, 11) << 7))


def _jtype(imm: int) -> int:
    return ((_bit(imm, 20) << 31) | (((imm >> 1) & 0x3FF) << 21) | (_bit(imm, 11) << 20)
            | (((imm >> 12) & 0xFF) << 12))


def _cbtype(imm: int) -> int:
    return ((_bit(imm, 8) << 12) | (_bit(imm, 4) << 11) | (_bit(imm, 3) << 10)
            | (_bit(imm, 7) << 6) | (_bit(imm, 6) << 5) | (_bit(imm, 2) << 4)
            | (_bit(imm, 1) << 3) | (_bit(imm, 5) << 2))


def _cjtype(imm: int) -> int:
    return ((_bit(imm, 11) << 12) | (_bit(imm, 4) << 11) | (_bit(imm, 9) << 10)
            | (_bit(imm, 8) << 9) | (_bit(imm, 10) << 8) | (_bit(imm, 6) << 7)
            | (_bit(imm, 7) << 6) | (_bit(imm, 3) << 5) | (_bit(imm, 2) << 4)
            | (_bit(imm, 1) << 3) | (_bit(imm, 5) << 2))
