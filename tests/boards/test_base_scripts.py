"""Every shipped board's base script links with GNU ld, and its board file tells the truth.

The `[image]` sizes of a board file are turned into used ranges by placer; a program whose
sections have exactly those sizes, linked with the board's own base script, must land at
exactly those addresses. Any drift between a board file and its script fails here.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import placer
from placer.board import Arch
from tests.boards.link import elf_header, image_program, link_assembly, run, symbols
from tests.toolchains import FAMILY, LD_FLAGS, tool

BOARDS = placer.list_boards()


def test_at_least_eleven_boards_ship() -> None:
    assert len(BOARDS) >= 11
    assert placer.DEFAULT_BOARD in BOARDS


@pytest.mark.parametrize("name", BOARDS)
def test_image_ranges_match_a_real_link_of_the_base_script(name: str, tmp_path: Path) -> None:
    board = placer.load_board(name)
    assert board.image is not None, f"{name} ships without [image] sizes"
    elf = link_assembly(board, image_program(board), tmp_path)
    found = symbols(elf)
    derived = {u.what: u for u in board.used if u.what in
               ("text", "rodata", "data", "bss", "noinit", "data load image")}
    for what in ("text", "rodata", "data", "bss", "noinit"):
        used = derived[what]
        assert found[f"image_{what}"] == used.start, what
        assert board.region(used.region).contains(used.start, used.size)
    if "data load image" in derived:
        assert found["__data_region_load_start"] == derived["data load image"].start
    else:
        # Loaded in place: the load address is the run address.
        assert found["__data_region_load_start"] == found["image_data"]
    # The symbols Zephyr code relies on exist and bracket bss.
    assert found["__bss_start"] == derived["bss"].start
    assert found["__bss_end"] == derived["bss"].end
    ram = board.region(board.noinit_region)
    assert found["__kernel_ram_end"] == ram.end
    assert found["_end"] == derived["noinit"].end


@pytest.mark.parametrize("name", BOARDS)
def test_linked_elf_matches_the_board_header(name: str, tmp_path: Path) -> None:
    board = placer.load_board(name)
    elf = link_assembly(board, image_program(board), tmp_path)
    assert elf_header(elf) == (board.elf_class, board.machine, board.endianness == "little")


_C_PROGRAM = """
int counter = 3;
const char greeting[] = "placer";
static char scratch[256];
__attribute__((section(".noinit"))) char kept[64];

int __start(void)
{
    scratch[counter] = greeting[counter];
    kept[0] = scratch[3];
    return counter;
}
"""

_CC_FLAGS = {
    Arch.ARM: ["-mcpu=cortex-m3", "-mthumb"],
    Arch.RISCV: ["-march=rv32imac", "-mabi=ilp32"],
    Arch.X86: ["-m32", "-fno-pic"],
}


@pytest.mark.parametrize("name", [b for b in BOARDS
                                  if placer.load_board(b).arch is not Arch.ARM64])
def test_c_program_links_with_cross_gcc(name: str, tmp_path: Path) -> None:
    """A small C program compiled by the cross gcc links with `-T boards/<name>.ld`."""
    board = placer.load_board(name)
    family = FAMILY[board.arch]
    gcc = tool(family, "gcc")
    linker = tool(family, "ld")
    (tmp_path / "hello.c").write_text(_C_PROGRAM)
    run([gcc, *_CC_FLAGS.get(board.arch, []), "-O1", "-ffreestanding", "-fno-common",
         "-fno-asynchronous-unwind-tables", "-c", "-o", str(tmp_path / "hello.o"),
         str(tmp_path / "hello.c")])
    assert board.base_script is not None
    run([linker, *LD_FLAGS.get(board.arch, []), "-nostdlib", "-T", str(board.base_script),
         "-o", str(tmp_path / "hello.elf"), str(tmp_path / "hello.o")])
    found = symbols(tmp_path / "hello.elf")
    text_region = board.image.text_region if board.image else None
    code = board.region(text_region or board.flash_region or board.noinit_region)
    ram = board.region(board.noinit_region)
    assert code.contains(found["__start"])
    assert ram.contains(found["counter"])
    assert ram.contains(found["kept"])
    assert found["__bss_start"] <= found["scratch"] < found["__bss_end"]
    assert found["kept"] >= found["__bss_end"], ".noinit must follow bss"

