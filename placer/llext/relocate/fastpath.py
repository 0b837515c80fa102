"""The relocation types extensions are made of, applied straight from a section's columns.

An ARM extension built with Zephyr's LLEXT flags (``-mlong-calls``) is almost all
``R_ARM_ABS32``; a RISC-V one is ``R_RISCV_CALL_PLT``, ``PCREL_HI20``/``PCREL_LO12`` pairs and
pointer words. The loops here apply those types to the loaded bytes with plain int
arithmetic, entry by entry in file order, and hand every other entry, and every entry that
would report a problem (a place past the section, a symbol Zephyr cannot look up, a value
out of range, a LO12 without its HI20), to `fallback`: the full path of
`placer.llext.relocate`, which builds a `Site` and runs the architecture's handler. So the
bytes and the problems, in their order, are those of the full path; only the common,
problem-free entries skip it. The formulas are the handlers' own (`signed`, the RISC-V
immediate encoders below are what ``riscv.py`` calls too).

This module is compiled with mypyc into the wheel (pyproject.toml, ``[tool.placer]
compiled-modules``), where these loops run as C; the same source runs as Python without a
compiler. It therefore holds only functions over ints, tuples, bytes and bytearrays, which
mypyc makes native, and no placer records.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from typing import Final

from placer.llext.elf import SHN_ABS, ElfSymbol
from placer.llext.relocate.codes import ArmType, RiscvType

#: What a `Lookup` returns for a symbol Zephyr cannot look up (addresses are unsigned).
UNRESOLVED: Final = -1
#: A symbol this section has not looked up yet.
_UNKNOWN: Final = -2
#: `symbol_address` of an undefined symbol: the export tables say (`Lookup`).
EXTERNAL: Final = -3

#: S for a symbol index, as ``llext_lookup_symbol`` finds it, or `UNRESOLVED`.
Lookup = Callable[[int], int]
#: Apply entry `i` of the section the full way (problems included).
Fallback = Callable[[int], None]

# The fast types, as plain ints (an IntEnum member costs an attribute look-up per use).
_ARM_NONE: Final = int(ArmType.R_ARM_NONE)
_ARM_ABS32: Final = int(ArmType.R_ARM_ABS32)
_ARM_TARGET1: Final = int(ArmType.R_ARM_TARGET1)
_RISCV_NONE: Final = int(RiscvType.R_RISCV_NONE)
_RISCV_32: Final = int(RiscvType.R_RISCV_32)
_RISCV_64: Final = int(RiscvType.R_RISCV_64)
_RISCV_CALL: Final = int(RiscvType.R_RISCV_CALL)
_RISCV_CALL_PLT: Final = int(RiscvType.R_RISCV_CALL_PLT)
_RISCV_PCREL_HI20: Final = int(RiscvType.R_RISCV_PCREL_HI20)
_RISCV_PCREL_LO12_I: Final = int(RiscvType.R_RISCV_PCREL_LO12_I)
_RISCV_PCREL_LO12_S: Final = int(RiscvType.R_RISCV_PCREL_LO12_S)
_RISCV_HI20: Final = int(RiscvType.R_RISCV_HI20)
_RISCV_LO12_I: Final = int(RiscvType.R_RISCV_LO12_I)
_RISCV_LO12_S: Final = int(RiscvType.R_RISCV_LO12_S)
_RISCV_RELAX: Final = int(RiscvType.R_RISCV_RELAX)

#: ``riscv_relocation_fits`` for U+I pairs and words: two's complement 32 bits.
_U_PLUS_I_LOW: Final = -0x80000000
_U_PLUS_I_HIGH: Final = 0x7FFFFFFF
#: Values this close to zero are the same in every C integer type of 8 bytes (and cheap
#: for compiled code, which keeps ints below 2**62 unboxed).
_SMALL: Final = 1 << 61


def sign_extend(value: int, bits: int) -> int:
    """`value`'s low `bits` bits as a two's-complement number."""
    value &= (1 << bits) - 1
    return value - (1 << bits) if value >> (bits - 1) else value


def signed(value: int, size: int) -> int:
    """`value` as a C signed integer of `size` bytes (wrapping like the C code does)."""
    if size == 8 and -_SMALL < value < _SMALL:
        return value
    if size == 4:
        return ((value + 0x80000000) & 0xFFFFFFFF) - 0x80000000
    return sign_extend(value, 8 * size)


def upper_immediate(insn: int, target: int) -> int:
    """A U-type instruction (AUIPC, LUI) with the upper 20 bits of `target`, plus bit 11 so
    that the sign-extended low 12 bits of the I-type after it add back up to `target`
    (Zephyr's ``arch/riscv/core/elf.c`` adds ``imm & 0x800``)."""
    return (insn & 0xFFF) | ((target + (target & 0x800)) & 0xFFFFF000)


def itype_immediate(insn: int, target: int) -> int:
    """An I-type instruction (ADDI, JALR, loads) with the low 12 bits of `target`."""
    return (insn & 0x000FFFFF) | ((target << 20) & 0xFFF00000)


def stype_immediate(insn: int, target: int) -> int:
    """An S-type instruction (stores) with the low 12 bits of `target`."""
    return (insn & 0x01FFF07F) | (((target >> 5) & 0x7F) << 25) | ((target & 0x1F) << 7)


def symbol_address(bases: list[int], shndx: int, value: int, address_mask: int) -> int:
    """S of a symbol of section `shndx` with value `value`, as ``llext_lookup_symbol`` in
    Zephyr's ``subsys/llext/llext_link.c`` finds a symbol the extension defines:
    ``bases[shndx]`` plus the value, wrapped to an address; the value alone for
    ``SHN_ABS``. `UNRESOLVED` where Zephyr fails (a section that was not loaded, an index
    that names none), `EXTERNAL` for ``SHN_UNDEF``: `bases` is
    ``Linker.symbol_bases``."""
    if shndx < len(bases):
        base = bases[shndx]
        if base < 0:
            return base
        address = base + value
        # The mask is a big int on 64-bit targets: applied only where it changes something.
        return address if address < _SMALL else address & address_mask
    return value if shndx == SHN_ABS else UNRESOLVED


def first_by_offset(offsets: tuple[int, ...], types: tuple[int, ...], kind: int
                    ) -> dict[int, int]:
    """The index of the first entry of type `kind` at each ``r_offset``: how a RISC-V
    ``PCREL_LO12`` finds its ``PCREL_HI20``. Zephyr's ``llext_riscv_find_sym_pcrel``
    (``arch/riscv/core/elf.c``) scans the section's entries from its previous match,
    wrapping around, for one of that type at that offset; the two agree wherever one
    such entry stands at an offset, as compilers emit them."""
    found: dict[int, int] = {}
    for i in range(len(types)):
        if types[i] == kind:
            offset = offsets[i]
            if offset not in found:
                found[offset] = i
    return found


def _word(image: bytearray, snapshot: bytes, at: int, stale_below: int, little: bool,
          word: struct.Struct) -> int:
    """The 4-byte field at `at`. `snapshot` holds the image as it was before this section's
    entries; it is read where nothing written since lies (at or above `stale_below`): a
    read from immutable bytes is an array access in compiled code, a read from the
    bytearray a call."""
    if at < stale_below:
        return int(word.unpack_from(image, at)[0])
    if little:
        return (snapshot[at] | snapshot[at + 1] << 8 | snapshot[at + 2] << 16
                | snapshot[at + 3] << 24)
    return (snapshot[at] << 24 | snapshot[at + 1] << 16 | snapshot[at + 2] << 8
            | snapshot[at + 3])


def _address(elf_symbols: tuple[ElfSymbol, ...], index: int, bases: list[int],
             address_mask: int, lookup: Lookup) -> int:
    """S of symbol `index` (below ``len(elf_symbols)``): `symbol_address`, or `lookup`
    for an undefined one (and symbol 0, which names none)."""
    if index == 0:
        return lookup(0)
    symbol = elf_symbols[index]
    found = symbol_address(bases, symbol.shndx, symbol.value, address_mask)
    return lookup(index) if found == EXTERNAL else found


def link_section(
    arm: bool, offsets: tuple[int, ...], types: tuple[int, ...], symbols: tuple[int, ...],
    addends: tuple[int, ...], elf_symbols: tuple[ElfSymbol, ...], bases: list[int],
    image: bytearray, base: int, size: int, pointer_size: int, word: struct.Struct,
    words: struct.Struct, doubleword: struct.Struct, little: bool, lookup: Lookup,
    fallback: Fallback,
) -> None:
    """Apply a relocation section to `image`, its `size`-byte target section loaded at
    `base` (`word`, `words`, `doubleword`: the file's unsigned 4-byte field, two of them and
    its 8-byte field), as ``arch_elf_relocate`` does for the common types; everything
    else, and every entry a range check or a look-up would refuse, goes to `fallback`.

    With `arm`, a REL section of an AArch32 extension (`addends` empty): ``R_ARM_ABS32``
    and ``R_ARM_TARGET1`` add S to the word in place, ``R_ARM_NONE`` does nothing (Zephyr's
    ``arch/arm/core/elf.c``). Otherwise a RELA section of a RISC-V extension
    (``arch/riscv/core/elf.c``): ``CALL``/``CALL_PLT``/``PCREL_HI20`` (U+I pair from
    ``S + A - P``), ``PCREL_LO12_I/S`` (the low part of their HI20's value),
    ``HI20``/``LO12_I/S`` (``S + A``), ``32``, ``64``, ``NONE`` and ``RELAX``. S is
    `symbol_address` from `bases`, or `lookup` for an undefined symbol.
    """
    address_mask = (1 << (8 * pointer_size)) - 1
    snapshot = bytes(image)
    end = len(image)
    stale_below = 0
    symbol_count = len(elf_symbols)
    addresses = [_UNKNOWN] * symbol_count
    hi20_at: dict[int, int] | None = None
    pack = word.pack_into
    for i in range(len(offsets)):
        offset = offsets[i]
        index = symbols[i]
        kind = types[i]
        # Every fast type patches at least 4 bytes at the place.
        if offset >= size or index >= symbol_count or offset + 4 > end:
            fallback(i)
            stale_below = end
            continue
        s = addresses[index]
        if s == _UNKNOWN:
            s = addresses[index] = _address(elf_symbols, index, bases, address_mask, lookup)
        if s == UNRESOLVED:
            fallback(i)
            stale_below = end
            continue
        a = 0 if arm else addends[i]
        if arm:
            if kind == _ARM_NONE:
                continue
            if kind not in (_ARM_ABS32, _ARM_TARGET1):
                fallback(i)
                stale_below = end
                continue
            pack(image, offset,
                 (_word(image, snapshot, offset, stale_below, little, word) + s) & 0xFFFFFFFF)
            written = offset + 4
        elif kind in (_RISCV_CALL_PLT, _RISCV_PCREL_HI20, _RISCV_CALL):
            target = signed(s + a - base - offset, pointer_size)
            pair = kind != _RISCV_PCREL_HI20
            if (not _U_PLUS_I_LOW <= target <= _U_PLUS_I_HIGH
                    or (pair and offset + 8 > end)):
                fallback(i)
                stale_below = end
                continue
            upper = upper_immediate(
                _word(image, snapshot, offset, stale_below, little, word), target)
            if pair:  # AUIPC then JALR: one store of both (a call each costs)
                words.pack_into(image, offset, upper, itype_immediate(
                    _word(image, snapshot, offset + 4, stale_below, little, word), target))
                written = offset + 8
            else:
                pack(image, offset, upper)
                written = offset + 4
        elif kind in (_RISCV_PCREL_LO12_I, _RISCV_PCREL_LO12_S):
            # S is the label at the HI20 instruction: the value is that HI20's S + A - P.
            if index == 0:
                fallback(i)
                stale_below = end
                continue
            if hi20_at is None:
                hi20_at = first_by_offset(offsets, types, _RISCV_PCREL_HI20)
            j = hi20_at.get(elf_symbols[index].value, -1)
            hi_index = symbols[j] if j >= 0 else symbol_count
            if hi_index >= symbol_count:
                fallback(i)
                stale_below = end
                continue
            hi_s = addresses[hi_index]
            if hi_s == _UNKNOWN:
                hi_s = addresses[hi_index] = _address(elf_symbols, hi_index, bases,
                                                      address_mask, lookup)
            if hi_s == UNRESOLVED:
                fallback(i)
                stale_below = end
                continue
            target = signed(hi_s + addends[j] - base - offsets[j], pointer_size)
            insn = _word(image, snapshot, offset, stale_below, little, word)
            pack(image, offset, itype_immediate(insn, target) if kind == _RISCV_PCREL_LO12_I
                 else stype_immediate(insn, target))
            written = offset + 4
        elif kind in (_RISCV_HI20, _RISCV_LO12_I):
            target = signed(s + a, pointer_size)
            if not _U_PLUS_I_LOW <= target <= _U_PLUS_I_HIGH:
                fallback(i)
                stale_below = end
                continue
            insn = _word(image, snapshot, offset, stale_below, little, word)
            pack(image, offset, upper_immediate(insn, target) if kind == _RISCV_HI20
                 else itype_immediate(insn, target))
            written = offset + 4
        elif kind == _RISCV_LO12_S:  # Zephyr does not range-check it
            pack(image, offset, stype_immediate(
                _word(image, snapshot, offset, stale_below, little, word),
                signed(s + a, pointer_size)))
            written = offset + 4
        elif kind == _RISCV_64:
            if offset + 8 > end:
                fallback(i)
                stale_below = end
                continue
            value = signed(s, pointer_size) + a
            if not 0 <= value < _SMALL:  # the mask is a big int: only where it changes it
                value &= 0xFFFFFFFFFFFFFFFF
            doubleword.pack_into(image, offset, value)
            written = offset + 8
        elif kind == _RISCV_32:
            target = signed(s + a, pointer_size)
            if not _U_PLUS_I_LOW <= target <= _U_PLUS_I_HIGH:
                fallback(i)
                stale_below = end
                continue
            pack(image, offset, target & 0xFFFFFFFF)
            written = offset + 4
        elif kind in (_RISCV_NONE, _RISCV_RELAX):
            continue
        else:
            fallback(i)
            stale_below = end
            continue
        if written > stale_below:
            stale_below = written
