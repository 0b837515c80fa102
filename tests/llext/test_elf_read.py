"""Reading an extension validates it as llext_load does, with Zephyr's errno."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from placer.cli.output import render
from placer.errors import ExtensionError, PlacerError
from placer.llext.elf import (
    ElfExpectation,
    ExtensionElf,
    Refusal,
    parse_or_refusal,
    read_extension,
)
from placer.llext.loader import Loader, LoadOptions
from tests.llext.build import HELLO, build_extension
from tests.llext.targets import layout_for
from tests.toolchains import tool


@pytest.fixture(scope="module")
def arm_hello(llext_dir: Path) -> Path:
    return build_extension(llext_dir, "arm", "hello", HELLO).path


def test_arm_object_reads_with_its_tables(arm_hello: Path) -> None:
    ext = read_extension(arm_hello, layout_for("arm").target)
    assert (ext.elf_class, ext.machine, ext.e_type) == (32, 40, 1)
    assert ext.sections[ext.symtab_index].name == ".symtab"
    assert ext.sections[ext.strtab_index].name == ".strtab"
    names = {s.name for s in ext.symbols}
    assert {"hello_start", "printk", "counter", "data_var"} <= names
    rel = {r.name: r for r in ext.relocation_sections}
    assert not rel[".rel.text"].is_rela and rel[".rel.text"].entries


def test_an_elf_for_another_architecture_is_refused(llext_dir: Path) -> None:
    riscv = build_extension(llext_dir, "riscv32", "hello", HELLO).path
    with pytest.raises(ExtensionError) as caught:
        read_extension(riscv, layout_for("arm").target)
    assert render(caught.value) == (
        f"{riscv}: error: e_machine is EM_RISCV (243): built for another architecture; "
        "the arm target accepts EM_ARM (40) (Zephyr: -ENOEXEC)")


def test_a_64_bit_elf_on_a_32_bit_target_is_refused(llext_dir: Path) -> None:
    x86 = build_extension(llext_dir, "x86-64", "hello", HELLO).path
    with pytest.raises(ExtensionError, match=r"ELFCLASS64 file, but the target is 32-bit "
                       r"\(needs ELFCLASS32\) \(Zephyr: -ENOEXEC\)"):
        read_extension(x86, layout_for("arm").target)


def test_xtensa_machine_is_not_checked(llext_dir: Path) -> None:
    xtensa = build_extension(llext_dir, "xtensa", "hello", HELLO).path
    expect = ElfExpectation.for_target(layout_for("xtensa").target)
    assert expect.machines == ()
    data = bytearray(xtensa.read_bytes())
    data[18:20] = (40).to_bytes(2, "little")  # claim EM_ARM: Zephyr does not look
    ext = parse_or_refusal(bytes(data), "x.llext", expect)
    assert isinstance(ext, ExtensionElf) and ext.machine == 40


def test_a_truncated_elf_names_the_cut(arm_hello: Path) -> None:
    data = arm_hello.read_bytes()
    cut = parse_or_refusal(data[:30], "cut.llext")
    assert isinstance(cut, Refusal)
    assert render(cut.error) == ("cut.llext: error: file is 30 bytes, too short for an ELF "
                                 "header (Zephyr: -EINVAL)")
    half = parse_or_refusal(data[: len(data) // 2], "half.llext")
    assert isinstance(half, Refusal)
    assert re.fullmatch(r"section header table \(\d+ headers at 0x[0-9a-f]+\) extends past the "
                        r"end of the \d+-byte file", half.error.message)
    assert half.error.errno == "EINVAL"


def test_bad_magic_is_enoexec(arm_hello: Path) -> None:
    data = b"\x7fELG" + arm_hello.read_bytes()[4:]
    refused = parse_or_refusal(data, "magic.llext")
    assert isinstance(refused, Refusal)
    assert render(refused.error) == ("magic.llext: error: not an ELF file: magic is 7f 45 4c 47, "
                                 "expected 7f 45 4c 46 (Zephyr: -ENOEXEC)")


def test_a_stripped_file_has_no_symbol_table(arm_hello: Path, tmp_path: Path) -> None:
    stripped = tmp_path / "stripped.llext"
    subprocess.run([tool("arm", "objcopy"), "--strip-all", str(arm_hello), str(stripped)],
                   check=True)
    with pytest.raises(ExtensionError) as caught:
        read_extension(stripped)
    assert render(caught.value) == (
        f"{stripped}: error: Some sections are missing or present multiple times! (symbol "
        "table SHT_SYMTAB is missing; the file may be stripped) (Zephyr: -ENOEXEC)")


def test_an_executable_is_not_an_extension(arm_hello: Path, tmp_path: Path) -> None:
    linked = tmp_path / "linked.elf"
    subprocess.run([tool("arm", "ld"), "--defsym=printk=0x1000", "-e", "hello_start",
                    str(arm_hello), "-o", str(linked)], check=True)
    with pytest.raises(ExtensionError, match=r"ELF type ET_EXEC \(2\) cannot be loaded: an "
                       r"extension must be ET_REL or ET_DYN \(Zephyr: -ENOEXEC\)"):
        read_extension(linked)


def test_wrong_section_header_size_is_refused(arm_hello: Path) -> None:
    data = bytearray(arm_hello.read_bytes())
    data[46:48] = (52).to_bytes(2, "little")
    refused = parse_or_refusal(bytes(data), "x.llext")
    assert isinstance(refused, Refusal)
    assert re.search(r"e_shentsize is 52, expected sizeof\(Elf32_Shdr\) = 40",
                     refused.error.message)


def test_a_missing_file_is_a_clean_error(tmp_path: Path) -> None:
    with pytest.raises(ExtensionError, match="cannot read the file"):
        read_extension(tmp_path / "absent.llext")


mutation = st.lists(st.tuples(st.integers(0, 4095), st.integers(0, 255)), min_size=1,
                    max_size=12)


@settings(max_examples=300, deadline=2000, suppress_health_check=[HealthCheck.too_slow])
@given(edits=mutation, cut=st.one_of(st.none(), st.integers(0, 4096)))
def test_corrupt_files_fail_cleanly_in_bounded_time(
        arm_hello: Path, edits: list[tuple[int, int]], cut: int | None) -> None:
    data = bytearray(arm_hello.read_bytes())
    for at, value in edits:
        data[at % len(data)] = value
    if cut is not None:
        data = data[:cut]
    ext = parse_or_refusal(bytes(data), "fuzz.llext")
    if isinstance(ext, Refusal):
        assert ext.error.errno in {"ENOEXEC", "EINVAL", "ENOMEM"}
        return
    # Whatever reads must also load or fail with a clean error, never a traceback.
    loader = Loader(layout_for("arm"), options=LoadOptions(link=False))
    try:
        loader.load(ext, "fuzz")
    except PlacerError:  # pragma: no cover - a load reports errors in its result
        pytest.fail("load raised instead of reporting")


@pytest.mark.parametrize("arch", ["arm", "riscv32", "riscv64", "x86-64", "arc", "xtensa"])
def test_reader_agrees_with_pyelftools(llext_dir: Path, arch: str) -> None:
    from elftools.elf.elffile import ELFFile
    from elftools.elf.enums import ENUM_SH_TYPE_BASE, ENUM_ST_INFO_BIND, ENUM_ST_INFO_TYPE
    from elftools.elf.relocation import RelocationSection

    path = build_extension(llext_dir, arch, "hello", HELLO).path
    ours = read_extension(path)
    with path.open("rb") as stream:
        elf = ELFFile(stream)
        theirs = list(elf.iter_sections())
        assert [s.name for s in ours.sections] == [s.name for s in theirs]
        for mine, section in zip(ours.sections, theirs, strict=True):
            header = section.header
            sh_type = header.sh_type
            if isinstance(sh_type, str):
                sh_type = ENUM_SH_TYPE_BASE.get(sh_type, mine.type)
            assert (mine.type, mine.flags, mine.addr, mine.offset, mine.size, mine.link,
                    mine.info, mine.addralign, mine.entsize) == (
                sh_type, header.sh_flags, header.sh_addr, header.sh_offset, header.sh_size,
                header.sh_link, header.sh_info, header.sh_addralign, header.sh_entsize)
        symtab = elf.get_section(ours.symtab_index)
        for mine, sym in zip(ours.symbols, symtab.iter_symbols(), strict=True):
            shndx = sym["st_shndx"]
            shndx = {"SHN_UNDEF": 0, "SHN_ABS": 0xFFF1, "SHN_COMMON": 0xFFF2}.get(shndx, shndx)
            assert (mine.name, mine.value, mine.size, mine.shndx) == (
                sym.name, sym["st_value"], sym["st_size"], shndx)
            assert mine.type == ENUM_ST_INFO_TYPE.get(sym["st_info"]["type"], mine.type)
            assert mine.bind == ENUM_ST_INFO_BIND.get(sym["st_info"]["bind"], mine.bind)
        for rsec in ours.relocation_sections:
            section = elf.get_section(rsec.index)
            assert isinstance(section, RelocationSection)
            for mine_entry, entry in zip(rsec.entries, section.iter_relocations(), strict=True):
                assert (mine_entry.offset, mine_entry.type, mine_entry.symbol) == (
                    entry["r_offset"], entry["r_info_type"], entry["r_info_sym"])
                if rsec.is_rela:
                    assert mine_entry.addend == entry["r_addend"]


def test_no_section_headers_fails_like_zephyrs_empty_section_map(arm_hello: Path) -> None:
    data = bytearray(arm_hello.read_bytes())
    data[48:50] = (0).to_bytes(2, "little")  # e_shnum
    refused = parse_or_refusal(bytes(data), "none.llext")
    assert isinstance(refused, Refusal)
    assert render(refused.error) == ("none.llext: error: no section headers (e_shnum is 0): the "
                                 "section map allocation is 0 bytes and fails "
                                 "(Zephyr: -ENOMEM)")
