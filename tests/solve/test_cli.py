"""``placer place`` from the command line: the table, JSON, pins, maximize, artefacts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from placer import emit, load_board
from placer.cli import main
from placer.cli import place as place_cli
from placer.cli.place import parse_pin
from placer.solve import Pin
from tests.boards.link import image_program, link_assembly, run, symbols
from tests.toolchains import tool


def test_placer_alone_places_the_default_board_and_writes_every_artefact(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    assert main([]) == 0
    out = capsys.readouterr().out
    assert out.startswith("board qemu_cortex_m3 (arm cortex-m3): k_heap\n\n"
                          "heap section  region  address     from       size  align  padding  "
                          "placement\n"
                          ".llext_heap   RAM     0x20003c00  estimated  8192      8        0  "
                          "noinit\n"
                          "estimated: from the board model's image sizes; --elf or --build-dir "
                          "measures them\n")
    written = sorted(p.name for p in (tmp_path / "placer-out").iterdir())
    assert written == ["layout.json", "linker-snippets.ld", "linker.ld", "llext.conf",
                       "memory-map.svg", "noinit.cmake", "noinit.ld"]


def test_json_prints_the_layout_document(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["place", "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["schema"] == "placer-layout/1"
    assert [h["address"] for h in document["heaps"]] == [0x20003C00]


def test_pin_to_region_from_the_command_line(capsys: pytest.CaptureFixture[str]) -> None:
    # nucleo_h743zi: ITCM (executable, free from 0) takes a pinned heap as its own section,
    # from address 8: a heap at 0 would hand out NULL.
    assert main(["place", "--board", "nucleo_h743zi", "--pin", ".llext_heap=ITCM"]) == 0
    out = capsys.readouterr().out
    assert ".llext_heap   ITCM    0x00000008  pinned  8192      8        8  output-section" \
        in out


def test_a_pin_to_memory_that_cannot_run_the_heaps_code_is_refused(
        capsys: pytest.CaptureFixture[str]) -> None:
    # SRAM1 is data memory to Zephyr's MPU (ATTR_MPU_RAM: no execute): the shared heap holds
    # the extensions' text, which would fault there.
    assert main(["place", "--board", "nucleo_h743zi", "--pin", ".llext_heap=SRAM1"]) == 1
    assert capsys.readouterr().err == (
        "error: cannot place .llext_heap: pinned to region SRAM1, which is not executable "
        "(attributes rw): the extensions' code in this heap would fault on its first "
        "instruction\n")


def test_maximize_prints_the_matching_kconfig(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["place", "--maximize", "--reserve", "4K"]) == 0
    out = capsys.readouterr().out
    assert out.endswith("Kconfig for this layout:\n  CONFIG_LLEXT_HEAP_SIZE=45\n")


def test_infeasible_pin_prints_the_reason_and_exits_1(
        capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["place", "--pin", ".llext_heap=FLASH"]) == 1
    assert capsys.readouterr().err == (
        "error: cannot place .llext_heap: pinned to region FLASH, which is not writable "
        "(attributes rx)\n")


@pytest.mark.parametrize(("argv", "message"), [
    (["place", "--pin", ".llext_heap"],
     "placer place: error: --pin '.llext_heap': expected SECTION=REGION or SECTION=ADDRESS\n"),
    (["place", "--pin", ".llext_heap=0x2000zz"],
     "placer place: error: --pin '.llext_heap=0x2000zz': '0x2000zz' is not an address\n"),
    (["place", "--reserve", "lots"],
     "placer place: error: --reserve: 'lots' is not a size (an integer, \"0x...\", or "
     "\"64K\"/\"2M\")\n"),
    (["place", "--emit", "script,pdf"],
     "placer place: error: --emit: unknown kind pdf (kinds: "
     "script,fragment,kconfig,json,svg,profile)\n"),
])
def test_usage_errors_exit_2(argv: list[str], message: str,
                             capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 2
    assert capsys.readouterr().err == message


def test_pin_parsing() -> None:
    assert parse_pin(".llext_heap=SRAM1") == Pin(".llext_heap", region="SRAM1")
    assert parse_pin(".llext_heap=0x20010000") == Pin(".llext_heap", address=0x20010000)
    assert parse_pin(" .llext_heap = 536936448 ") == Pin(".llext_heap", address=0x20010000)


def test_emit_offers_exactly_the_kinds_the_emitters_write() -> None:
    assert place_cli.KINDS == emit.KINDS


def test_emit_writes_only_the_chosen_kinds(tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    assert main(["place", "-o", str(out), "--emit", "json,kconfig"]) == 0
    assert len(list(out.iterdir())) == 2
    assert capsys.readouterr().out.count("wrote ") == 2


def test_elf_used_ranges_give_the_same_address_as_the_board(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # A program with the board's image sizes, linked with its base script: the heap goes
    # after the image's .noinit, where the board's own numbers put it too.
    board = load_board("qemu_cortex_m3")
    elf = link_assembly(board, image_program(board), tmp_path)
    assert main(["place", "--elf", str(elf), "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert [h["address"] for h in document["heaps"]] == [0x20003C00]


def test_config_files_set_the_heap_mode(tmp_path: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    # A prj.conf with a memblk pool of 8 KiB in 1 KiB blocks, then a fragment that grows it.
    (tmp_path / "prj.conf").write_text("CONFIG_LLEXT=y\nCONFIG_LLEXT_HEAP_MEMBLK=y\n"
                                       "CONFIG_LLEXT_EXT_HEAP_SIZE=8\n"
                                       "CONFIG_LLEXT_HEAP_MEMBLK_BLOCK_SIZE=1024\n")
    (tmp_path / "more.conf").write_text("CONFIG_LLEXT_EXT_HEAP_SIZE=12\n")
    assert main(["place", "--config", str(tmp_path / "prj.conf"),
                 "--config", str(tmp_path / "more.conf"), "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    # .noinit ends at 0x20003c00 (1K-aligned): pool there, 4K metadata heap behind it.
    assert [(h["section"], h["address"], h["size"]) for h in document["heaps"]] == [
        (".llext_ext_heap", 0x20003C00, 12 * 1024),
        (".llext_metadata_heap", 0x20006C00, 4096)]


def test_script_places_the_heaps_in_the_users_own_linker_script(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # A porter's own script (a template, as Zephyr's linker.ld is): the board's base script
    # plus a symbol that only a CONFIG_ value turns on.
    board = load_board("qemu_cortex_m3")
    assert board.base_script is not None
    template = tmp_path / "linker.ld"
    template.write_text("#ifdef CONFIG_BOARD_MARKER\n__board_marker = 0x1234;\n#endif\n"
                        + board.base_script.read_text())
    (tmp_path / "prj.conf").write_text("CONFIG_LLEXT=y\nCONFIG_BOARD_MARKER=y\n")
    out = tmp_path / "out"
    assert main(["place", "--config", str(tmp_path / "prj.conf"), "--script", str(template),
                 "-o", str(out), "--emit", "script"]) == 0
    assert capsys.readouterr().out.endswith(f"wrote {out / 'linker.ld'}\n")
    emitted = out / "linker.ld"
    # GNU ld links the image and an 8 KiB heap buffer with it; the placer ASSERTs hold.
    program = image_program(board) + (
        '.section .llext_heap,"aw",%progbits\n.balign 8\nkheap_llext_heap:\n.space 8192\n')
    (tmp_path / "program.s").write_text(program)
    run([tool("arm", "as"), "-o", str(tmp_path / "program.o"), str(tmp_path / "program.s")])
    run([tool("arm", "ld"), "-T", str(emitted), "-o", str(tmp_path / "program.elf"),
         str(tmp_path / "program.o")])
    linked = symbols(tmp_path / "program.elf")
    assert linked["kheap_llext_heap"] == 0x20003C00
    assert linked["__board_marker"] == 0x1234


def test_a_broken_script_stops_the_run_before_any_output(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    script = tmp_path / "linker.ld"
    script.write_text("SECTIONS { .x : { *(.x) }\n")
    out = tmp_path / "out"
    assert main(["place", "--script", str(script), "-o", str(out)]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith(
        f"{script}:1:10: error: unbalanced braces: this `{{` is never closed\n")
    assert not out.exists()
