"""Relocation handlers on hand-made sections: Zephyr's formulas, ranges and messages.

Each test builds a one-section extension in memory (no compiler needed), applies one
relocation and checks the bytes or the problem. The oracle tests check the same handlers
against GNU ld on compiled extensions.
"""

from __future__ import annotations

import struct

from hypothesis import given
from hypothesis import strategies as st

from placer import records
from placer.board import Arch
from placer.llext.elf import ElfSection, ElfSymbol, ExtensionElf, Relocation, RelocationSection
from placer.llext.relocate import (
    RelocationProblem,
    Severity,
    apply_relocations,
    first_error,
    relocation_type_name,
)

TEXT = 1
BASE = 0x10000


def _ext(
    code: bytes,
    relocations: tuple[Relocation, ...],
    rela: bool = True,
    elf_class: int = 32,
    symbols: tuple[ElfSymbol, ...] = (),
    flags: int = 0x6,
) -> ExtensionElf:
    text = ElfSection(index=TEXT, name=".text", type=1, flags=flags, addr=0, offset=0x40,
                      size=len(code), link=0, info=0, addralign=4, entsize=0)
    rel = ElfSection(index=2, name=".rela.text" if rela else ".rel.text", type=4 if rela else 9,
                     flags=0x40, addr=0, offset=0, size=0, link=3, info=TEXT, addralign=4,
                     entsize=0)
    null = ElfSection(index=0, name="", type=0, flags=0, addr=0, offset=0, size=0, link=0,
                      info=0, addralign=0, entsize=0)
    syms = symbols or (
        ElfSymbol(index=0, name="", value=0, size=0, type=0, bind=0, shndx=0),
        ElfSymbol(index=1, name="target", value=0, size=0, type=0, bind=1, shndx=0),
    )
    data = bytes(0x40) + code
    return ExtensionElf(
        path="hand.o", elf_class=elf_class, little_endian=True, machine=0, e_type=1,
        shstrndx=0, sections=(null, text, rel), symbols=syms, symtab_index=3,
        strtab_index=4,
        relocation_sections=(RelocationSection.from_entries(
            index=2, name=rel.name, target=TEXT, is_rela=rela, entries=relocations),),
        data=data,
    )


def _apply(
    arch: Arch, code: bytes, kind: int, s: int | None, addend: int | None = 0,
    offset: int = 0, elf_class: int = 32, rela: bool = True, base: int = BASE,
    symbol: int = 1,
) -> tuple[bytes, tuple[RelocationProblem, ...]]:
    ext = _ext(code, (Relocation(offset=offset, type=kind, symbol=symbol, addend=addend),),
               rela=rela, elf_class=elf_class)
    image = bytearray(code)
    problems = apply_relocations(ext, arch, {TEXT: base}, {TEXT: image}, lambda _sym: s)
    return bytes(image), problems


def _u32(value: int) -> bytes:
    return struct.pack("<I", value & 0xFFFFFFFF)


def _thumb_bl(upper: int, lower: int) -> bytes:
    return struct.pack("<HH", upper, lower)


def _thumb_bl_offset(code: bytes) -> int:
    upper, lower = struct.unpack("<HH", code[:4])
    s = (upper >> 10) & 1
    j1, j2 = (lower >> 13) & 1, (lower >> 11) & 1
    i1, i2 = 1 - (j1 ^ s), 1 - (j2 ^ s)
    value = (s << 24) | (i1 << 23) | (i2 << 22) | ((upper & 0x3FF) << 12) | ((lower & 0x7FF) << 1)
    return value - (1 << 25) if s else value


# -- ARM -----------------------------------------------------------------------------------


def test_arm_abs32_adds_the_symbol_to_the_word_in_place() -> None:
    code, problems = _apply(Arch.ARM, _u32(0x10), 2, 0x2000_0001, rela=False)
    assert code == _u32(0x2000_0011)
    assert problems == ()


def test_arm_rela_section_is_refused_with_enotsup() -> None:
    _, problems = _apply(Arch.ARM, _u32(0), 2, 0x100, rela=True)
    error = first_error(problems)
    assert error is not None
    assert str(error) == ("error: .rela.text: SHT_RELA relocation sections are not "
                          "supported on ARM (Zephyr: -ENOTSUP)")


def test_thumb_bl_reaches_just_under_16_mib() -> None:
    # BL with the usual in-place addend -4 (the PC reads 4 bytes ahead).
    bl = _thumb_bl(0xF7FF, 0xFFFE)
    target = BASE + 0xFFFFFE + 4
    code, problems = _apply(Arch.ARM, bl, 10, target, rela=False)
    assert problems == ()
    assert _thumb_bl_offset(code) == 0xFFFFFE


def test_thumb_bl_at_16_mib_is_out_of_range() -> None:
    bl = _thumb_bl(0xF7FF, 0xFFFE)
    code, problems = _apply(Arch.ARM, bl, 10, BASE + 0x1000000 + 4, rela=False)
    assert code == bl  # Zephyr does not write on error
    assert [str(p) for p in problems] == [
        "error: .text+0x0: R_ARM_THM_CALL against 'target': relocation out of range "
        "(0x10000 -> 0x1010004); build with -mlong-calls, or enable CONFIG_LLEXT_VENEERS to "
        "reach exports through veneers (allowed -0xffffff..0xffffff) (Zephyr: -ENOEXEC)"]
    assert problems[0].value == 0x1000000


@given(st.integers(min_value=-0x7FFFFF, max_value=0x7FFFFF))
def test_thumb_bl_encodes_every_reachable_even_offset(half: int) -> None:
    offset = 2 * half
    code, problems = _apply(Arch.ARM, _thumb_bl(0xF000, 0xF800), 10, BASE + offset, rela=False)
    assert problems == ()
    assert _thumb_bl_offset(code) == offset


def test_arm_branch_keeps_condition_and_link_bits() -> None:
    bl = _u32(0xEBFFFFFE)  # BL with addend -8
    code, problems = _apply(Arch.ARM, bl, 28, BASE + 0x1000 + 8, rela=False)
    assert problems == ()
    assert code == _u32(0xEB000000 | (0x1000 >> 2))


def test_arm_branch_beyond_32_mib_fails() -> None:
    _, problems = _apply(Arch.ARM, _u32(0xEBFFFFFE), 28, BASE + 0x2000000 + 8, rela=False)
    error = first_error(problems)
    assert error is not None and error.errno == "ENOEXEC"
    assert error.allowed == (-0x1FFFFFF, 0x1FFFFFF)


def test_thumb_movw_movt_split_the_address() -> None:
    movw = _thumb_bl(0xF240, 0x0000)  # movw r0, #0
    movt = _thumb_bl(0xF2C0, 0x0000)  # movt r0, #0
    low, _ = _apply(Arch.ARM, movw, 47, 0x2345_6789, rela=False)
    high, _ = _apply(Arch.ARM, movt, 48, 0x2345_6789, rela=False)
    assert low == _thumb_bl(0xF246, 0x7089)
    assert high == _thumb_bl(0xF2C2, 0x3045)


def test_arm_v4bx_becomes_mov_pc() -> None:
    code, problems = _apply(Arch.ARM, _u32(0xE12FFF1E), 40, None, rela=False, symbol=0)  # bx lr
    assert code == _u32(0xE1A0F00E)  # mov pc, lr
    assert problems == ()


def test_arm_prel31_out_of_range_fails() -> None:
    _, problems = _apply(Arch.ARM, _u32(0), 42, BASE + 0x4000_0000, rela=False)
    error = first_error(problems)
    assert error is not None and error.allowed == (-0x4000_0000, 0x3FFF_FFFF)


def test_arm_unknown_relocation_names_its_number() -> None:
    _, problems = _apply(Arch.ARM, _u32(0), 57, 0x100, rela=False)
    assert str(problems[0]) == ("error: .text+0x0: R_ARM_ALU_PC_G0_NC against 'target': "
                                "unknown relocation: 57 (Zephyr: -ENOEXEC)")


# -- symbols met by every architecture ---------------------------------------------------------


def test_a_symbol_exported_at_null_counts_as_missing() -> None:
    # llext_find_sym returns the address; Zephyr cannot tell NULL from "not found".
    _, problems = _apply(Arch.RISCV, _u32(0), 1, 0)
    assert problems[0].errno == "ENODATA"


def test_missing_export_is_enodata() -> None:
    _, problems = _apply(Arch.RISCV, _u32(0), 1, None)
    assert str(problems[0]) == (
        "error: .text+0x0: R_RISCV_32 against 'target': undefined symbol 'target' is not "
        "exported by the image or any loaded extension (Zephyr: -ENODATA)")


def test_missing_device_names_the_export_devices_option() -> None:
    syms = (ElfSymbol(index=0, name="", value=0, size=0, type=0, bind=0, shndx=0),
            ElfSymbol(index=1, name="__device_dts_ord_12", value=0, size=0, type=0, bind=1,
                      shndx=0))
    ext = _ext(_u32(0), (Relocation(0, 1, 1, 0),), symbols=syms)
    problems = apply_relocations(ext, Arch.RISCV, {TEXT: BASE}, {TEXT: bytearray(4)},
                                 lambda _s: None)
    assert problems[0].message.endswith(
        "(a device object: enable CONFIG_LLEXT_EXPORT_DEVICES to export devices)")


def test_relocations_of_unloaded_alloc_section_fail() -> None:
    ext = _ext(_u32(0), (Relocation(0, 1, 1, 0),))
    problems = apply_relocations(ext, Arch.RISCV, {}, {}, lambda _s: 0x100)
    assert str(problems[0]) == ("error: .rela.text: section .text is not loaded in any "
                                "memory region (Zephyr: -ENOEXEC)")


def test_an_entry_past_its_section_is_refused() -> None:
    _, problems = _apply(Arch.RISCV, _u32(0), 1, 0x100, offset=4)
    assert str(problems[0]) == ("error: .text+0x4: R_RISCV_32 against 'target': r_offset 0x4 "
                                "is beyond section .text (size 0x4) (Zephyr: -ENOEXEC)")


def test_a_symbol_in_an_unloaded_section_is_refused() -> None:
    syms = (ElfSymbol(index=0, name="", value=0, size=0, type=0, bind=0, shndx=0),
            ElfSymbol(index=1, name="helper", value=0, size=0, type=2, bind=0, shndx=2))
    ext = _ext(_u32(0), (Relocation(0, 1, 1, 0),), symbols=syms)
    problems = apply_relocations(ext, Arch.RISCV, {TEXT: BASE}, {TEXT: bytearray(4)},
                                 lambda _s: None)
    assert problems[0].message == "section .rela.text holding it was not loaded"
    assert problems[0].errno == "ENOEXEC"


def test_relocations_of_debug_sections_are_skipped() -> None:
    ext = _ext(_u32(0), (Relocation(0, 1, 1, 0),), flags=0)
    assert apply_relocations(ext, Arch.RISCV, {}, {}, lambda _s: None) == ()


def test_type_names_fall_back_to_the_number() -> None:
    assert relocation_type_name(Arch.RISCV, 200) == "R_RISCV_200"
    assert relocation_type_name(Arch.X86, 2, pointer_size=8) == "R_X86_64_PC32"
    assert relocation_type_name(Arch.X86, 2, pointer_size=4) == "R_386_PC32"


# -- RISC-V ----------------------------------------------------------------------------------


def test_riscv_align_is_not_supported() -> None:
    _, problems = _apply(Arch.RISCV, _u32(0x13), 43, None, addend=6, symbol=0)
    assert str(problems[0]) == (
        "error: .text+0x0: R_RISCV_ALIGN: requires alignment to 8 bytes: "
        "Alignment relocation is currently not supported (build with -mno-relax) "
        "(Zephyr: -ENOEXEC)")


def test_riscv_call_patches_auipc_and_jalr() -> None:
    code = _u32(0x00000097) + _u32(0x000080E7)  # auipc ra,0; jalr ra,0(ra)
    target = BASE + 0x12345
    out, problems = _apply(Arch.RISCV, code, 18, target)
    assert problems == ()
    delta = 0x12345
    hi = (delta + 0x800) & 0xFFFFF000
    assert struct.unpack("<II", out) == (0x97 | hi, 0x80E7 | ((delta & 0xFFF) << 20))


def test_riscv_branch_beyond_4_kib_is_written_then_refused() -> None:
    out, problems = _apply(Arch.RISCV, _u32(0x00050063), 16, BASE + 0x1000)  # beqz a0
    assert problems[0].allowed == (-0x1000, 0xFFF)
    assert problems[0].severity is Severity.ERROR
    assert out != _u32(0x00050063)  # Zephyr stores before it checks


def test_riscv_pcrel_lo12_without_its_hi20_fails() -> None:
    syms = (ElfSymbol(index=0, name="", value=0, size=0, type=0, bind=0, shndx=0),
            ElfSymbol(index=1, name=".L0", value=8, size=0, type=0, bind=0, shndx=TEXT))
    ext = _ext(_u32(0x13) * 4, (Relocation(4, 24, 1, 0),), symbols=syms)
    problems = apply_relocations(ext, Arch.RISCV, {TEXT: BASE}, {TEXT: bytearray(16)},
                                 lambda _s: None)
    assert problems[0].message == ("could not find the R_RISCV_PCREL_HI20 relocation for "
                                   "this R_RISCV_PCREL_LO12 relocation")


def test_riscv32_addresses_wrap_like_intptr_t() -> None:
    # On RV32 Zephyr computes S + A in 32-bit intptr_t: 0x80000000 is negative and fits.
    out, problems = _apply(Arch.RISCV, _u32(0x00000537), 26, 0x8000_1234)  # lui a0, 0
    assert problems == ()
    assert out == _u32(0x8000_1537)


def test_riscv64_hi20_above_2_gib_is_refused() -> None:
    _, problems = _apply(Arch.RISCV, _u32(0x00000537), 26, 0x8000_1234, elf_class=64)
    assert problems[0].allowed == (-0x8000_0000, 0x7FFF_FFFF)


# -- x86 ----------------------------------------------------------------------------------


def test_x86_64_pc32_that_does_not_fit_is_truncated_with_a_warning() -> None:
    out, problems = _apply(Arch.X86, _u32(0), 2, BASE + 0x1_0000_0004, addend=-4,
                           elf_class=64)
    assert out == _u32(0)
    assert problems[0].severity is Severity.WARNING
    assert problems[0].value == 0x1_0000_0000


def test_x86_64_abs64_is_a_full_word() -> None:
    out, problems = _apply(Arch.X86, bytes(8), 1, 0x1_2345_6789, addend=1, elf_class=64)
    assert out == struct.pack("<Q", 0x1_2345_678A)
    assert problems == ()


def test_i386_pc32_reads_its_addend_in_place() -> None:
    out, problems = _apply(Arch.X86, _u32(-4), 2, BASE + 0x100, rela=False)
    assert out == _u32(0x100 - 4)
    assert problems == ()


# -- ARC -----------------------------------------------------------------------------------


def _me(value: int) -> int:
    return ((value >> 16) | (value << 16)) & 0xFFFFFFFF


def test_arc_32_me_swaps_halfwords() -> None:
    out, _ = _apply(Arch.ARC, _u32(0), 27, 0x1234_5678, addend=0)
    assert out == _u32(0x5678_1234)


def test_arc_pcrel_adds_the_addend_twice_and_warns() -> None:
    bl = _u32(_me(0x0802_0000))  # bl 0, stored middle-endian
    out, problems = _apply(Arch.ARC, bl, 17, BASE + 0x100, addend=8)
    insn = _me(struct.unpack("<I", out)[0])
    words = ((insn >> 18) & 0x1FF) | (((insn >> 6) & 0x3FF) << 9) | ((insn & 0xF) << 19)
    assert words * 4 == 0x100 + 8 + 8  # a correct link gives 0x108
    assert problems[0].severity is Severity.WARNING
    assert "adds the addend (8) twice" in problems[0].message


# -- ARM64 ---------------------------------------------------------------------------------


def test_arm64_abs32_out_of_range_is_refused_unwritten() -> None:
    out, problems = _apply(Arch.ARM64, _u32(0), 258, 0x1_0000_0000, elf_class=64)
    assert out == _u32(0)
    assert problems[0].errno == "ENOEXEC"
    assert problems[0].allowed == (0, 0xFFFF_FFFF)


def test_arm64_call26_reaches_128_mib() -> None:
    out, problems = _apply(Arch.ARM64, _u32(0x9400_0000), 283, BASE + 0x7FF_FFFC,
                           elf_class=64)
    assert problems == ()
    assert out == _u32(0x9400_0000 | 0x1FF_FFFF)


def test_arm64_call26_beyond_128_mib_is_refused() -> None:
    _, problems = _apply(Arch.ARM64, _u32(0x9400_0000), 283, BASE + 0x800_0000 * 2,
                         elf_class=64)
    assert first_error(problems) is not None


def test_arm64_negative_overflow_slips_past_zephyrs_check() -> None:
    _, problems = _apply(Arch.ARM64, _u32(0x9400_0000), 283, BASE - 0x1000_0000,
                         elf_class=64)
    assert [p.severity for p in problems] == [Severity.WARNING]


def test_arm64_adrp_page_difference() -> None:
    out, problems = _apply(Arch.ARM64, _u32(0x9000_0000), 275, 0x12_3456, elf_class=64,
                           base=0x10_0000)
    pages = (0x12_3000 - 0x10_0000) >> 12
    assert problems == ()
    assert out == _u32(0x9000_0000 | ((pages & 3) << 29) | ((pages >> 2) << 5))


# -- Xtensa --------------------------------------------------------------------------------


def _xtensa(code: bytes, entries: tuple[Relocation, ...], symbols: tuple[ElfSymbol, ...],
            resolve: dict[str, int]) -> tuple[bytes, tuple[RelocationProblem, ...]]:
    ext = records.evolve(_ext(code, entries, symbols=symbols))
    image = bytearray(code)
    problems = apply_relocations(ext, Arch.XTENSA, {TEXT: BASE}, {TEXT: image},
                                 lambda s: resolve.get(s.name))
    return bytes(image), problems


_XSYMS = (
    ElfSymbol(index=0, name="", value=0, size=0, type=0, bind=0, shndx=0),
    ElfSymbol(index=1, name=".text", value=0, size=0, type=3, bind=0, shndx=TEXT),
    ElfSymbol(index=2, name="printk", value=0, size=0, type=0, bind=1, shndx=0),
)


def test_xtensa_32_adds_the_global_address() -> None:
    out, problems = _xtensa(_u32(4), (Relocation(0, 1, 2, 0),), _XSYMS, {"printk": 0x4000})
    assert out == _u32(0x4004)
    assert problems == ()


def test_xtensa_l32r_to_a_literal_behind_it() -> None:
    code = _u32(0x1234) + bytes([0x21, 0x00, 0x00, 0x00])  # literal, then l32r a2
    out, problems = _xtensa(code, (Relocation(4, 20, 1, 0),), _XSYMS, {})
    assert problems == ()
    assert out[5:7] == (0xFFFF).to_bytes(2, "little")  # one word back


def test_xtensa_l32r_forward_is_not_checked_by_zephyr() -> None:
    code = bytes([0x21, 0x00, 0x00, 0x00]) + _u32(0x1234)
    _, problems = _xtensa(code, (Relocation(0, 20, 1, 4),), _XSYMS, {})
    assert problems[0].severity is Severity.WARNING
    assert problems[0].allowed == (-0x10000, -1)


def test_xtensa_unknown_type_is_ignored_with_a_warning() -> None:
    out, problems = _xtensa(_u32(7), (Relocation(0, 6, 2, 0),), _XSYMS, {"printk": 0x4000})
    assert out == _u32(7)
    assert problems[0].message.startswith("Zephyr ignores relocation type 6")


def test_xtensa_image_export_shadows_the_extensions_own_global() -> None:
    syms = (*_XSYMS, ElfSymbol(index=3, name="dispatch", value=8, size=4, type=2, bind=1,
                               shndx=TEXT))
    out, problems = _xtensa(_u32(0) * 4, (Relocation(0, 1, 3, 0),), syms,
                            {"dispatch": 0x5000})
    assert out[:4] == _u32(0x5000)
    assert [p.message for p in problems] == [
        "the image exports 'dispatch' too: Zephyr links the image's (0x5000), not the "
        "extension's own (0x10008)"]


def test_xtensa_own_global_is_found_before_other_extensions() -> None:
    syms = (*_XSYMS, ElfSymbol(index=3, name="dispatch", value=8, size=4, type=2, bind=1,
                               shndx=TEXT))
    ext = _ext(_u32(0) * 4, (Relocation(0, 1, 3, 0),), symbols=syms)
    image = bytearray(16)
    problems = apply_relocations(
        ext, Arch.XTENSA, {TEXT: BASE}, {TEXT: image},
        resolve=lambda s: 0x7000,  # another extension exports it too
        resolve_builtin=lambda s: None)
    assert problems == ()
    assert image[:4] == _u32(BASE + 8)


def test_xtensa_missing_global_is_enoent() -> None:
    _, problems = _xtensa(_u32(0), (Relocation(0, 1, 2, 0),), _XSYMS, {})
    assert str(problems[0]) == ("error: .text+0x0: R_XTENSA_32 against 'printk': PLT: cannot "
                                "find symbol 'printk' (Zephyr: -ENOENT)")


# -- properties ------------------------------------------------------------------------------


@given(st.integers(min_value=1, max_value=0x7FFF_FFFF))
def test_riscv_hi20_lo12_pair_rebuilds_the_address(address: int) -> None:
    lui, _ = _apply(Arch.RISCV, _u32(0x00000537), 26, address)  # lui a0, 0
    addi, _ = _apply(Arch.RISCV, _u32(0x00050513), 27, address)  # addi a0, a0, 0
    upper = struct.unpack("<I", lui)[0] & 0xFFFFF000
    lower = struct.unpack("<I", addi)[0] >> 20
    lower -= 0x1000 if lower & 0x800 else 0
    assert (upper + lower) & 0xFFFFFFFF == address


@given(st.integers(min_value=1, max_value=0xFFFF_FFFF))
def test_thumb_movw_movt_pair_rebuilds_the_address(address: int) -> None:
    low, _ = _apply(Arch.ARM, _thumb_bl(0xF240, 0x0000), 47, address, rela=False)
    high, _ = _apply(Arch.ARM, _thumb_bl(0xF2C0, 0x0000), 48, address, rela=False)

    def imm16(code: bytes) -> int:
        upper, lower = struct.unpack("<HH", code)
        return ((upper & 0xF) << 12) | (((upper >> 10) & 1) << 11) | (
            ((lower >> 12) & 0x7) << 8) | (lower & 0xFF)

    assert (imm16(high) << 16) | imm16(low) == address


_ENTRIES = st.lists(st.builds(
    Relocation,
    offset=st.integers(min_value=0, max_value=72),
    type=st.one_of(st.integers(min_value=0, max_value=64),
                   st.integers(min_value=256, max_value=300),
                   st.sampled_from([549, 551, 1025, 1026, 1027])),
    symbol=st.integers(min_value=0, max_value=4),
    addend=st.integers(min_value=-(1 << 31), max_value=(1 << 31) - 1),
), max_size=12)


@given(arch=st.sampled_from(list(Arch)), code=st.binary(min_size=4, max_size=64),
       entries=_ENTRIES, address=st.one_of(st.none(), st.integers(0, 0xFFFF_FFFF)),
       elf_class=st.sampled_from([32, 64]))
def test_any_relocation_is_applied_or_reported_never_raised(
    arch: Arch, code: bytes, entries: list[Relocation], address: int | None, elf_class: int,
) -> None:
    syms = (
        ElfSymbol(index=0, name="", value=0, size=0, type=0, bind=0, shndx=0),
        ElfSymbol(index=1, name="target", value=0, size=0, type=0, bind=1, shndx=0),
        ElfSymbol(index=2, name=".text", value=0, size=0, type=3, bind=0, shndx=TEXT),
        ElfSymbol(index=3, name="local", value=8, size=4, type=2, bind=0, shndx=TEXT),
    )
    rela = arch is not Arch.ARM
    ext = _ext(code, tuple(records.evolve(e, addend=e.addend if rela else None) for e in entries),
               rela=rela, elf_class=elf_class, symbols=syms)
    image = bytearray(code)
    problems = apply_relocations(ext, arch, {TEXT: BASE}, {TEXT: image}, lambda _s: address)
    assert len(image) == len(code)
    assert all(isinstance(p, RelocationProblem) and str(p) for p in problems)
    assert all((p.errno is None) == (p.severity is Severity.WARNING) for p in problems)


def test_riscv_shared_library_relative_uses_the_text_address_with_a_warning() -> None:
    ext = _ext(bytes(8), (Relocation(offset=0x1000, type=3, symbol=0, addend=0x1234),),
               elf_class=64)
    text, rel = ext.sections[1], ext.sections[2]
    ext = records.evolve(ext, e_type=3, sections=(
        ext.sections[0], records.evolve(text, addr=0x1000), records.evolve(rel, flags=0x2)))
    image = bytearray(8)
    image_base = 0x8000_0000
    problems = apply_relocations(ext, Arch.RISCV, {TEXT: image_base + 0x1000}, {TEXT: image},
                                 lambda _s: None)
    assert image == struct.pack("<Q", image_base + 0x1000 + 0x1234)
    assert [p.message for p in problems] == [
        "Zephyr adds the TEXT address (0x80001000), not the load bias (0x80000000): the "
        "pointer is off by 0x1000"]


def test_relocation_constants_are_the_abis_numbers() -> None:
    # Named constants, checked against pyelftools' tables (which follow the ABIs).
    from elftools.elf import enums

    from placer.llext.relocate import arc, arm, arm64, riscv, x86

    for constants, table in ((arm.R, enums.ENUM_RELOC_TYPE_ARM),
                             (arm64.R, {**enums.ENUM_RELOC_TYPE_AARCH64, "R_ARM_NONE": 0}),
                             (x86.R64, enums.ENUM_RELOC_TYPE_x64),
                             (x86.R32, enums.ENUM_RELOC_TYPE_i386)):
        known = [member for member in constants if member.name in table]
        assert len(known) >= len(constants) - 2  # pyelftools lacks GOTPCRELX, spells JMP_SLOT
        for member in known:
            assert table[member.name] == member.value, member
    assert arc.R.R_ARC_32 == 4 and arc.NAMES[27] == "R_ARC_32_ME"
    # pyelftools has no RISC-V table: spot-check the psABI's numbers.
    assert (riscv.R.R_RISCV_CALL_PLT, riscv.R.R_RISCV_PCREL_HI20, riscv.R.R_RISCV_RELAX) == \
        (19, 23, 51)
