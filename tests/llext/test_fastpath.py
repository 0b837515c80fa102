"""The fast path (``placer/llext/relocate/fastpath.py``) against the full path it stands in
for.

Its loops apply the common ARM and RISC-V types themselves and hand every other entry to the
full path (a `Site` and the architecture's handler); a loop that hands over every entry is
the full path alone. Random sections mixing fast types, rare types and entries that fail
(places past the end, symbols nothing exports, sections that were not loaded, values out of
range, LO12s without their HI20, entries patching the same bytes) must give the same bytes,
the same problems in the same order and the same export lookups both ways. CI runs this
file compiled (the wheel's C) and as Python.
"""

from __future__ import annotations

import struct
from unittest import mock

from hypothesis import example, given, settings
from hypothesis import strategies as st

import placer.llext.relocate
from placer.board import Arch
from placer.llext.elf import ElfSection, ElfSymbol, ExtensionElf, Relocation, RelocationSection
from placer.llext.relocate import RelocationProblem, apply_relocations, fastpath

TEXT, RELA, UNLOADED, TLS = 1, 2, 3, 4
SIZE = 48
#: Symbols: none, an export, one nothing exports, a weak one nothing exports, one in a
#: section that was not loaded, an absolute one, a thread-local one; then labels in TEXT.
FIXED_SYMBOLS = 7
LABELS = tuple(range(0, SIZE + 8, 4))

RISCV_TYPES = (0, 1, 2, 16, 17, 18, 19, 23, 24, 25, 26, 27, 28, 35, 39, 43, 51, 57)
ARM_TYPES = (0, 2, 3, 10, 21, 38, 42, 108, 57)

entries = st.lists(st.tuples(
    st.one_of(st.sampled_from(LABELS), st.integers(0, SIZE + 8)),  # r_offset
    st.integers(0, 63),  # an index into the type list of the architecture
    st.integers(0, FIXED_SYMBOLS + len(LABELS)),  # one past the table too
    st.one_of(st.integers(-16, 16), st.sampled_from([0x7FFF_FFFF, -0x8000_0000, 1 << 40])),
), max_size=24)


def _extension(code: bytes, relocations: tuple[Relocation, ...], rela: bool,
               elf_class: int, little: bool = True) -> ExtensionElf:
    def section(index: int, name: str, kind: int, flags: int, size: int) -> ElfSection:
        return ElfSection(index=index, name=name, type=kind, flags=flags, addr=0,
                          offset=0x40 if index == TEXT else 0, size=size, link=0,
                          info=TEXT if index == RELA else 0, addralign=4, entsize=0)

    sections = (section(0, "", 0, 0, 0), section(TEXT, ".text", 1, 0x6, len(code)),
                section(RELA, ".rela.text" if rela else ".rel.text", 4 if rela else 9,
                        0x40, 0),
                section(UNLOADED, ".unloaded", 1, 0x2, 16),
                section(TLS, ".tbss", 8, 0x403, 16))

    def symbol(index: int, name: str, value: int, bind: int, shndx: int) -> ElfSymbol:
        return ElfSymbol(index=index, name=name, value=value, size=0, type=0, bind=bind,
                         shndx=shndx)

    symbols = (symbol(0, "", 0, 0, 0), symbol(1, "printk", 0, 1, 0),
               symbol(2, "missing", 0, 1, 0), symbol(3, "weakling", 0, 2, 0),
               symbol(4, "far_away", 4, 1, UNLOADED), symbol(5, "absolute", 0x1234, 1, 0xFFF1),
               symbol(6, "tls", 8, 1, TLS),
               *(symbol(FIXED_SYMBOLS + i, f".L{i}", value, 0, TEXT)
                 for i, value in enumerate(LABELS)))
    return ExtensionElf(
        path="random.o", elf_class=elf_class, little_endian=little, machine=0, e_type=1,
        shstrndx=0, sections=sections, symbols=symbols, symtab_index=0, strtab_index=0,
        relocation_sections=(RelocationSection.from_entries(
            index=RELA, name=sections[RELA].name, target=TEXT, is_rela=rela,
            entries=relocations),),
        data=bytes(0x40) + code)


def _link(ext: ExtensionElf, arch: Arch, code: bytes, base: int, export: int
          ) -> tuple[bytes, tuple[RelocationProblem, ...], list[str]]:
    image = bytearray(code)
    asked: list[str] = []

    def resolve(symbol: ElfSymbol) -> int | None:
        asked.append(symbol.name)
        return export if symbol.name == "printk" else None

    problems = apply_relocations(ext, arch, {TEXT: base}, {TEXT: image}, resolve)
    return bytes(image), problems, asked


def _every_entry_the_full_way(_arm: bool, offsets: tuple[int, ...], *rest: object) -> None:
    fallback = rest[-1]
    assert callable(fallback)
    for i in range(len(offsets)):
        fallback(i)


def _full_path(ext: ExtensionElf, arch: Arch, code: bytes, base: int, export: int
               ) -> tuple[bytes, tuple[RelocationProblem, ...], list[str]]:
    with mock.patch.object(fastpath, "link_section", _every_entry_the_full_way):
        return _link(ext, arch, code, base, export)


def _same_both_ways(arch: Arch, code: bytes, relocations: tuple[Relocation, ...],
                    rela: bool, elf_class: int, little: bool, base: int, export: int) -> None:
    ext = _extension(code, relocations, rela, elf_class, little)
    assert _link(ext, arch, code, base, export) == _full_path(ext, arch, code, base, export)


@settings(max_examples=400, deadline=None)
# A LO12 whose HI20 names a symbol nothing exports (rare among random entries).
@example(code=bytes(SIZE), raw=[(8, RISCV_TYPES.index(23), 2, 0),
                                (12, RISCV_TYPES.index(24), FIXED_SYMBOLS + LABELS.index(8), 0)],
         elf_class=64, little=True, base=0x1_0000, export=0x1001)
@given(code=st.binary(min_size=SIZE, max_size=SIZE), raw=entries,
       elf_class=st.sampled_from([32, 64]), little=st.booleans(),
       base=st.sampled_from([0x1_0000, 0x7FFF_FFC0, 0xFFFF_FFC0, 0x7FFF_FFFF_FFFF_FFC0]),
       export=st.sampled_from([0x1001, 0x8000_1000, 0xFFFF_FFFF_0000_1000]))
def test_riscv_fast_path_gives_what_the_full_path_gives(
        code: bytes, raw: list[tuple[int, int, int, int]], elf_class: int, little: bool,
        base: int, export: int) -> None:
    mask = (1 << elf_class) - 1
    relocations = tuple(Relocation(offset, RISCV_TYPES[kind % len(RISCV_TYPES)], symbol,
                                   addend)
                        for offset, kind, symbol, addend in raw)
    _same_both_ways(Arch.RISCV, code, relocations, True, elf_class, little, base & mask,
                    export & mask)


@settings(max_examples=300, deadline=None)
@given(code=st.binary(min_size=SIZE, max_size=SIZE), raw=entries, little=st.booleans(),
       base=st.sampled_from([0x1_0000, 0xFFFF_FFC0]),
       export=st.sampled_from([0x1001, 0xFFFF_F000]))
def test_arm_fast_path_gives_what_the_full_path_gives(
        code: bytes, raw: list[tuple[int, int, int, int]], little: bool, base: int,
        export: int) -> None:
    relocations = tuple(Relocation(offset, ARM_TYPES[kind % len(ARM_TYPES)], symbol, None)
                        for offset, kind, symbol, _ in raw)
    _same_both_ways(Arch.ARM, code, relocations, False, 32, little, base, export)


def _fast_path_alone(ext: ExtensionElf, arch: Arch, code: bytes, base: int, export: int
                     ) -> tuple[bytes, tuple[RelocationProblem, ...], list[str]]:
    def refuse(*_args: object) -> None:
        raise AssertionError("an entry went the full way")

    with mock.patch.object(placer.llext.relocate, "_link_entries", refuse):
        return _link(ext, arch, code, base, export)


def test_riscv_calls_and_pcrel_pairs_never_go_the_full_way() -> None:
    # AUIPC/JALR calling printk at 0, AUIPC at 8 (label .L2) with its ADDI at 12, a pointer
    # word at 16: the types a compiled RISC-V extension is made of.
    code = struct.pack("<IIIIQ", 0x00000097, 0x000080E7, 0x00000517, 0x00050513, 0).ljust(
        SIZE, b"\0")
    label = FIXED_SYMBOLS + LABELS.index(8)
    relocations = (Relocation(0, 19, 1, 0), Relocation(0, 51, 0, 0),
                   Relocation(8, 23, 1, 4), Relocation(12, 24, label, 0),
                   Relocation(16, 2, 1, 8))
    ext = _extension(code, relocations, True, 64)
    fast = _fast_path_alone(ext, Arch.RISCV, code, 0x1_0000, 0x2000)
    assert fast[1:] == ((), ["printk"])
    assert fast[0] != code
    assert fast == _full_path(ext, Arch.RISCV, code, 0x1_0000, 0x2000)


def test_arm_words_never_go_the_full_way() -> None:
    code = struct.pack("<II", 0x10, 0).ljust(SIZE, b"\0")
    relocations = (Relocation(0, 2, 1, None), Relocation(4, 38, 5, None),
                   Relocation(4, 0, 0, None))
    ext = _extension(code, relocations, False, 32)
    fast = _fast_path_alone(ext, Arch.ARM, code, 0x1_0000, 0x2000_0001)
    assert fast[1] == ()
    assert struct.unpack_from("<II", fast[0]) == (0x2000_0011, 0x1234)
    assert fast == _full_path(ext, Arch.ARM, code, 0x1_0000, 0x2000_0001)
