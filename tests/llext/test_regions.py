"""Sections become regions as llext_map_sections groups them; the refusals are Zephyr's."""

from __future__ import annotations

from pathlib import Path

import pytest

from placer.cli.output import render
from placer.errors import ExtensionError
from placer.llext.elf import ExtensionElf, parse_or_refusal, read_extension
from placer.llext.regions import SHF_LLEXT_HAS_RELOCS, Mem, map_regions
from tests.llext.build import HELLO, build_extension

ALIGNED_TEXT = r"""
int first(int x) { return x * 3; }
__attribute__((section(".text.hot"), aligned(64))) int second(int x) { return x + 7; }
"""

INTERLEAVED = r"""
int early(int x) { return x + 1; }
int shared = 42;
__attribute__((section(".text.late"))) int late(int x) { return x * shared; }
"""

WRITABLE_CODE = r"""
int f(int x) { return x + 1; }
__asm__(".section .text.wx,\"awx\",%progbits\n.word 0\n.previous");
"""

TWO_BSS = r"""
int small_counter;
int big_table[64];
int touch(int i) { big_table[i] = i; return ++small_counter; }
"""


def test_hello_maps_each_kind_to_its_region(llext_dir: Path) -> None:
    ext = read_extension(build_extension(llext_dir, "arm", "hello", HELLO).path)
    regions = map_regions(ext)
    kinds = [r.mem for r in regions.regions]
    assert kinds == [Mem.TEXT, Mem.DATA, Mem.RODATA, Mem.BSS, Mem.EXPORT, Mem.SYMTAB,
                     Mem.STRTAB, Mem.SHSTRTAB]
    text = regions.region(Mem.TEXT)
    assert text is not None and text.has_relocs and text.flags & SHF_LLEXT_HAS_RELOCS
    rodata = regions.region(Mem.RODATA)
    assert rodata is not None and not rodata.has_relocs
    by_name = {ext.sections[s.section].name: s for s in regions.slots}
    assert ".rel.text" not in by_name and ".comment" not in by_name
    assert by_name[".text"].mem is Mem.TEXT


def test_merged_region_spans_the_file_range_with_prepad(llext_dir: Path) -> None:
    ext = read_extension(build_extension(llext_dir, "arm", "aligned", ALIGNED_TEXT).path)
    text = map_regions(ext).region(Mem.TEXT)
    assert text is not None
    sections = {ext.sections[i].name: ext.sections[i] for i in text.sections}
    assert set(sections) == {".text", ".text.hot"}
    first, hot = sections[".text"], sections[".text.hot"]
    assert text.align == 64
    assert text.prepad == first.offset % 64
    assert text.offset == first.offset - text.prepad
    assert text.size == hot.offset + hot.size - text.offset
    slot = map_regions(ext).slot(hot.index)
    assert slot is not None and slot.offset == hot.offset - text.offset


def test_interleaved_sections_make_regions_overlap(llext_dir: Path) -> None:
    ext = read_extension(build_extension(llext_dir, "arm", "interleaved", INTERLEAVED).path)
    with pytest.raises(ExtensionError) as caught:
        map_regions(ext)
    error = caught.value
    sections = {s.name: s for s in ext.sections}
    text, late, data = sections[".text"], sections[".text.late"], sections[".data"]
    assert text.offset < data.offset < late.offset  # file order: text, data, text
    assert (error.errno, error.section) == ("ENOEXEC", ".data")
    assert error.message == (
        f"Region TEXT ELF file range ({text.offset:#x}-{late.offset + late.size - 1:#x}) "
        f"overlaps with DATA ({data.offset:#x}-{data.offset + data.size - 1:#x}); sections "
        ".text, .text.late, .data are interleaved (reorder them with Zephyr's "
        "llext_reorder_sections.ld)")


def test_merging_sections_with_different_flags_is_refused(llext_dir: Path) -> None:
    ext = read_extension(build_extension(llext_dir, "arm", "wx", WRITABLE_CODE).path)
    with pytest.raises(ExtensionError) as caught:
        map_regions(ext)
    assert caught.value.errno == "ENOEXEC" and caught.value.section == ".text.wx"
    assert caught.value.message == (
        "Unsupported section flags 0x7 for section .text.wx: region TEXT already holds "
        ".text with flags 0x6")


def test_a_second_nobits_section_is_not_supported(llext_dir: Path) -> None:
    # Without -msmall-data-limit=0 GCC puts small variables in .sbss next to .bss.
    built = build_extension(llext_dir, "riscv32", "twobss", TWO_BSS,
                            extra_flags=("-msmall-data-limit=8",))
    ext = read_extension(built.path)
    with pytest.raises(ExtensionError) as caught:
        map_regions(ext)
    assert render(caught.value) == (
        f"{built.path}: section .bss: error: Multiple SHT_NOBITS sections are not supported:"
        " .bss after .sbss (build with -msmall-data-limit=0 on RISC-V, or merge them in a "
        "linker script) (Zephyr: -ENOTSUP)")


def test_zephyr_riscv_flags_keep_a_single_bss(llext_dir: Path) -> None:
    ext = read_extension(build_extension(llext_dir, "riscv32", "twobss", TWO_BSS).path)
    bss = map_regions(ext).region(Mem.BSS)
    assert bss is not None and bss.size >= 64 * 4 + 4


def test_veneer_region_is_sized_per_thumb_call(llext_dir: Path) -> None:
    ext = read_extension(build_extension(llext_dir, "arm", "hello", HELLO).path)
    veneer = map_regions(ext, veneer_bytes=8).region(Mem.VENEER)
    assert veneer is not None and veneer.is_exec and veneer.is_nobits and veneer.align == 4


def test_zero_alignment_turns_the_whole_offset_into_prepad(llext_dir: Path) -> None:
    # Zephyr computes prepad = sh_offset & (sh_addralign - 1) in size_t: with an alignment
    # of 0 the mask is all ones and the region grows back to file offset 0.
    path = build_extension(llext_dir, "arm", "hello", HELLO).path
    ext = read_extension(path)
    data = bytearray(ext.data)
    shoff = int.from_bytes(data[32:36], "little")
    at = shoff + ext.symtab_index * 40 + 32  # sh_addralign of .symtab
    data[at:at + 4] = (0).to_bytes(4, "little")
    patched = parse_or_refusal(bytes(data), "align0.llext")
    assert isinstance(patched, ExtensionElf)
    symtab = map_regions(patched).region(Mem.SYMTAB)
    section = patched.sections[patched.symtab_index]
    assert symtab is not None and symtab.align == 0
    assert (symtab.prepad, symtab.offset) == (section.offset, 0)
    assert symtab.size == section.offset + section.size


@pytest.mark.parametrize("arch", ["arm", "riscv32", "riscv64", "x86-64", "arc", "xtensa"])
def test_every_loaded_section_lies_inside_its_aligned_region(llext_dir: Path,
                                                            arch: str) -> None:
    ext = read_extension(build_extension(llext_dir, arch, "hello", HELLO).path)
    mapping = map_regions(ext)
    for slot in mapping.slots:
        region = mapping.region(slot.mem)
        section = ext.sections[slot.section]
        assert region is not None
        assert region.offset + slot.offset == section.offset
        assert slot.offset >= region.prepad
        assert slot.offset + section.size <= region.size or region.is_nobits
        if region.align > 1:
            assert region.offset % region.align == 0


def test_rodata_no_reloc_must_not_be_relocated(llext_dir: Path) -> None:
    plain = build_extension(llext_dir, "arm", "noreloc", r"""
__attribute__((section(".llext.rodata.noreloc"))) const int table[4] = {1, 2, 3, 4};
int get(int i) { return table[i]; }
""")
    ext = read_extension(plain.path)
    assert map_regions(ext, rodata_no_reloc=True).region(Mem.RODATA_NO_RELOC) is not None
    assert map_regions(ext, rodata_no_reloc=False).region(Mem.RODATA_NO_RELOC) is None
    pointing = build_extension(llext_dir, "arm", "noreloc_ptr", r"""
int value = 3;
__attribute__((section(".llext.rodata.noreloc"))) int *const where = &value;
int get(void) { return *where; }
""")
    with pytest.raises(ExtensionError) as caught:
        map_regions(read_extension(pointing.path), rodata_no_reloc=True)
    assert render(caught.value) == (
        f"{pointing.path}: section .llext.rodata.noreloc: error: region RODATA_NO_RELOC has "
        "relocations, so it cannot be used in place (Zephyr: -ENOEXEC)")
