"""Reading, validating and writing board files."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

import placer
from placer import records
from placer.board import Board, Bus, MemoryRegion, MpuKind, UsedRange
from placer.boardfile import board_to_toml, format_size, parse_board, parse_size, read_board_file
from placer.cli.output import render
from placer.errors import BoardError, InputError

MINIMAL = """\
schema = 1
name = "tiny"
arch = "arm"
cpu = "cortex-m0"
noinit_region = "RAM"

[[region]]
name = "RAM"
origin = "0x20000000"
length = "16K"
"""


def error_of(text: str) -> str:
    with pytest.raises(BoardError) as caught:
        parse_board(text, "board.toml")
    return render(caught.value)


def test_default_board_is_the_lm3s6965_memory_map() -> None:
    board = placer.load_board(placer.DEFAULT_BOARD)
    assert board.name == "qemu_cortex_m3"
    assert board.region("FLASH").origin == 0 and board.region("FLASH").length == 256 * 1024
    assert board.region("RAM").origin == 0x20000000
    assert board.region("RAM").length == 64 * 1024
    # Zephyr's lm3s6965 SoC selects no CPU_HAS_ARM_MPU: no MPU, so no user mode.
    assert board.mpu.kind is MpuKind.NONE
    assert board.base_script is not None and board.base_script.is_file()


def test_mps2_an385_is_the_cortex_m3_with_a_power_of_two_mpu() -> None:
    board = placer.load_board("mps2_an385")
    assert board.cpu == "cortex-m3"
    assert board.mpu.kind is MpuKind.ARM_MPU and board.mpu.requires_power_of_two
    assert board.mpu.granule == 32


def test_minimal_board_takes_documented_defaults() -> None:
    board = parse_board(MINIMAL)
    ram = board.region("RAM")
    assert ram.attributes == frozenset("rwx") and ram.bus is Bus.BOTH
    assert ram.writable_at_load and not ram.retained and not ram.volatile
    assert (board.elf_class, board.machine, board.endianness) == (32, 40, "little")
    assert board.mpu.kind is MpuKind.NONE and board.used == ()


@pytest.mark.parametrize("text, expected", [
    ("64K", 65536), ("2M", 2 * 1024 * 1024), ("0x10000", 65536), ("4096", 4096),
    (512, 512), ("1G", 1 << 30),
])
def test_sizes_accept_ints_hex_and_binary_suffixes(text: str | int, expected: int) -> None:
    assert parse_size(text) == expected


@given(st.integers(min_value=0, max_value=1 << 40))
def test_format_size_round_trips(value: int) -> None:
    formatted = format_size(value)
    assert parse_size(formatted) == value


def test_toml_syntax_error_points_at_the_line() -> None:
    text = MINIMAL.replace('cpu = "cortex-m0"', "cpu = ")
    assert error_of(text) == "board.toml:4: error: invalid TOML: Invalid value"


def test_unknown_key_is_an_error_at_its_line() -> None:
    text = MINIMAL + 'lenght = "4K"\n'
    assert error_of(text) == (
        "board.toml:11: error: unknown key 'lenght' in [region] (known keys: alias_of, "
        "alias_offset, attributes, bus, length, name, origin, retained, volatile, "
        "writable_at_load)")


def test_unknown_top_level_key_is_an_error() -> None:
    text = MINIMAL.replace("schema = 1\n", "schema = 1\nharvad = true\n")
    assert error_of(text).startswith("board.toml:2: error: unknown key 'harvad' in the top "
                                     "level (known keys: ")


def test_wrong_schema_is_refused() -> None:
    assert error_of(MINIMAL.replace("schema = 1", "schema = 2")) == (
        "board.toml:1: error: board file schema 2 is not supported (this placer reads "
        "schema 1)")


def test_bad_size_names_the_key_and_line() -> None:
    text = MINIMAL.replace('length = "16K"', 'length = "16 KB"')
    assert error_of(text) == ("board.toml:10: error: 'length': '16 KB' is not a size (an "
                              "integer, \"0x...\", or \"64K\"/\"2M\")")


def test_bad_attribute_letters() -> None:
    text = MINIMAL + 'attributes = "rwz"\n'
    assert error_of(text) == (
        "board.toml:11: error: 'attributes' must be letters from \"rwx\", not 'rwz'")


def test_bad_bus_lists_the_choices() -> None:
    text = MINIMAL + 'bus = "code"\n'
    assert error_of(text) == ("board.toml:11: error: 'bus' must be one of instruction, data, "
                              "both, not 'code'")


def test_noinit_region_must_exist() -> None:
    text = MINIMAL.replace('noinit_region = "RAM"', 'noinit_region = "SRAM"')
    assert error_of(text) == ("board.toml:5: error: 'noinit_region' names region SRAM, which "
                              "the board does not define (regions: RAM)")


def test_missing_required_key() -> None:
    text = MINIMAL.replace('cpu = "cortex-m0"\n', "")
    assert error_of(text) == "board.toml: error: missing required key 'cpu' in the board file"


def test_used_range_outside_its_region() -> None:
    text = MINIMAL + ('\n[[used]]\nregion = "RAM"\nstart = "0x20003000"\nsize = "8K"\n'
                      'what = "bss"\n')
    assert error_of(text) == (
        "board.toml:14: error: used range 'bss' [0x20003000, 0x20005000) lies outside region "
        "RAM [0x20000000, 0x20004000)")


def test_overlapping_used_ranges() -> None:
    text = MINIMAL + ('\n[[used]]\nregion = "RAM"\nstart = "0x20000000"\nsize = "4K"\n'
                      '\n[[used]]\nregion = "RAM"\nstart = "0x20000800"\nsize = "4K"\n')
    assert error_of(text) == (
        "board.toml:12: error: used ranges 'image' and 'image' overlap in region RAM")


def test_wrong_type_is_named() -> None:
    text = MINIMAL.replace("schema = 1", 'schema = "1"')
    assert error_of(text) == "board.toml:1: error: 'schema' must be an integer, not '1'"


def test_missing_file_is_a_board_error(tmp_path: Path) -> None:
    with pytest.raises(BoardError) as caught:
        placer.load_board(tmp_path / "nope.toml")
    assert render(caught.value) == f"{tmp_path / 'nope.toml'}: error: no such board file"


def test_a_board_file_that_is_not_utf8_names_its_line(tmp_path: Path) -> None:
    path = tmp_path / "board.toml"
    path.write_bytes(b"schema = 1\nname = \"\xe9\"\n")
    with pytest.raises(InputError) as caught:
        read_board_file(path)
    assert render(caught.value) == (
        f"{path}:2:9: error: cannot read the board file: not UTF-8 text (byte 0xe9)")


def test_unknown_board_name_lists_the_shipped_ones() -> None:
    with pytest.raises(BoardError) as caught:
        placer.load_board("qemu_cortex_m4")
    assert render(caught.value).startswith("error: unknown board 'qemu_cortex_m4' (shipped "
                                        "boards: esp32s3_devkitc, frdm_k64f, ")


def test_image_sizes_become_used_ranges_in_script_order() -> None:
    board = placer.load_board("qemu_cortex_m3")
    assert [(u.region, u.start, u.size, u.what) for u in board.used] == [
        ("FLASH", 0x0, 20 * 1024, "text"),
        ("FLASH", 0x5000, 4 * 1024, "rodata"),
        ("RAM", 0x20000000, 1024, "data"),
        ("FLASH", 0x6000, 1024, "data load image"),
        ("RAM", 0x20000400, 12 * 1024, "bss"),
        ("RAM", 0x20003400, 2 * 1024, "noinit"),
    ]


def test_harvard_image_puts_code_in_iccm_and_data_in_place_in_dccm() -> None:
    board = placer.load_board("nsim_em")
    regions = {u.what: u.region for u in board.used}
    assert regions == {"text": "ICCM", "rodata": "ICCM", "data": "DCCM", "bss": "DCCM",
                       "noinit": "DCCM"}


def test_esp32s3_dram_use_shows_through_the_iram_alias() -> None:
    board = placer.load_board("esp32s3_devkitc")
    through = [u for u in board.used_in("iram0_0_seg") if "through" in u.what]
    data = next(u for u in board.used if u.what == "data")
    assert through[0].what == "data (through dram0_0_seg)"
    assert through[0].start == data.start + 0x6F0000
    # And IRAM use shows in DRAM only where the memories overlap (SRAM0 has no DRAM view).
    assert all("through" not in u.what for u in board.used_in("dram0_0_seg"))


@pytest.mark.parametrize("name", placer.list_boards())
def test_every_shipped_board_round_trips_through_write_board(name: str,
                                                            tmp_path: Path) -> None:
    board = placer.load_board(name)
    copy = tmp_path / f"{name}.toml"
    placer.write_board(board, copy)
    again = read_board_file(copy)
    assert records.evolve(again, source=None) == records.evolve(board, source=None)


def test_written_board_text_is_deterministic() -> None:
    board = placer.load_board("nucleo_h743zi")
    assert board_to_toml(board) == board_to_toml(board)


regions = st.lists(
    st.tuples(st.integers(0, 1 << 20), st.integers(1, 1 << 16),
              st.sampled_from(["r", "rw", "rx", "rwx"]), st.sampled_from(list(Bus)),
              st.booleans(), st.booleans()),
    min_size=1, max_size=5,
)


@given(regions)
def test_any_board_round_trips_through_its_toml(specs: list[tuple[int, int, str, Bus, bool,
                                                                  bool]]) -> None:
    built = tuple(
        MemoryRegion(name=f"R{i}", origin=origin * 16, length=length,
                     attributes=frozenset(attributes), bus=bus, writable_at_load=writable,
                     retained=retained)
        for i, (origin, length, attributes, bus, writable, retained) in enumerate(specs)
    )
    used = (UsedRange(region="R0", start=built[0].origin, size=1, what="x y"),)
    board = Board(name="prop", arch=placer.board.Arch.RISCV, cpu="rv32", regions=built,
                  noinit_region="R0", machine=243, used=used)
    assert parse_board(board_to_toml(board)) == board


def test_image_larger_than_its_region_points_at_the_image_table() -> None:
    text = MINIMAL + '\n[image]\nbss = "12K"\nnoinit = "8K"\n'
    assert error_of(text) == (
        "board.toml:12: error: used range 'noinit' [0x20003000, 0x20005000) lies outside "
        "region RAM [0x20000000, 0x20004000)")


def test_image_region_must_exist() -> None:
    text = MINIMAL + '\n[image]\ntext = "1K"\ntext_region = "FLASH"\n'
    assert error_of(text) == ("board.toml:14: error: 'text_region' names region FLASH, which "
                              "the board does not define (regions: RAM)")


def test_forbidden_region_must_exist() -> None:
    text = MINIMAL.replace('noinit_region = "RAM"\n',
                           'noinit_region = "RAM"\nforbidden_regions = ["SRAM4"]\n')
    assert error_of(text) == ("board.toml:6: error: 'forbidden_regions' names region SRAM4, "
                              "which the board does not define (regions: RAM)")


def test_alias_must_name_another_region() -> None:
    text = MINIMAL + 'alias_of = "IRAM"\nalias_offset = "0x100"\n'
    assert error_of(text) == ("board.toml:11: error: region RAM is an alias of IRAM, which is "
                              "not another region of the board")


def test_alias_offset_needs_alias_of() -> None:
    text = MINIMAL + 'alias_offset = "-0x100"\n'
    assert error_of(text) == "board.toml:11: error: 'alias_offset' needs 'alias_of'"


def test_harvard_board_needs_an_instruction_region() -> None:
    text = MINIMAL.replace("schema = 1\n", "schema = 1\nharvard = true\n")
    assert error_of(text) == ("board.toml:2: error: a Harvard board needs a region with bus = "
                              "\"instruction\"")


def test_duplicate_region_names() -> None:
    text = MINIMAL + '\n[[region]]\nname = "RAM"\norigin = "0x30000000"\nlength = "4K"\n'
    assert error_of(text) == "board.toml:13: error: region RAM is defined twice"


def test_error_in_an_inline_table_points_at_its_line() -> None:
    text = MINIMAL.replace('noinit_region = "RAM"\n',
                           'noinit_region = "RAM"\nmpu = { kind = "arm-mpu", granule = 48 }\n')
    assert error_of(text) == "board.toml:6: error: 'granule' must be a power of two, not 48"


def test_pmp_granularity_is_a_riscv_pmp() -> None:
    board = placer.load_board("hifive1_revb")
    assert (board.mpu.kind, board.mpu.granule, board.pmp_granularity) == (
        MpuKind.RISCV_PMP, 4, 4)
    assert "pmp_granularity = 4" in board_to_toml(board)


def test_pmp_granularity_conflicts_with_another_mpu() -> None:
    text = MINIMAL.replace('noinit_region = "RAM"\n', 'noinit_region = "RAM"\n'
                           'pmp_granularity = 8\nmpu = { kind = "arm-mpu" }\n')
    assert error_of(text) == ("board.toml:6: error: 'pmp_granularity' is for a RISC-V PMP, "
                              "but [mpu] says arm-mpu")


@given(st.integers(min_value=0, max_value=MINIMAL.count("\n")),
       st.sampled_from(["sise", "orgin", "atributes", "bus_width"]))
def test_an_unknown_key_is_reported_at_the_line_it_is_on(position: int, key: str) -> None:
    lines = MINIMAL.splitlines()
    lines.insert(position, f"{key} = 1")
    text = "\n".join(lines) + "\n"
    message = error_of(text)
    assert message.startswith(f"board.toml:{position + 1}: error: unknown key '{key}'")
