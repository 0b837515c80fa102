"""``placer place --script``: the heaps go in the script's own MEMORY regions, which must
lie in the board's memory."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from placer.cli import main

BASE = Path(__file__).parents[2] / "boards" / "qemu_cortex_m3.ld"


def _script(tmp_path: Path, ram: str = "SRAM", length: str = "64K",
            origin: str = "0x20000000") -> Path:
    text = BASE.read_text().replace("RAM (wx) : ORIGIN = 0x20000000, LENGTH = 64K",
                                    f"{ram} (wx) : ORIGIN = {origin}, LENGTH = {length}")
    text = text.replace("> RAM", f"> {ram}").replace("(RAM)", f"({ram})")
    script = tmp_path / "linker.cmd"
    script.write_text(text)
    return script


def test_the_heap_goes_in_the_scripts_region_by_the_scripts_name(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    assert main(["place", "--script", str(_script(tmp_path)), "-o", str(out)]) == 0
    layout = json.loads((out / "layout.json").read_text())
    assert [h["region"] for h in layout["heaps"]] == ["SRAM"]
    script = (out / "linker.ld").read_text()
    assert "> RAM" not in script and "ORIGIN(RAM)" not in script


def test_a_region_the_script_shrinks_is_what_the_heap_must_fit_in(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    conf = tmp_path / "prj.conf"
    conf.write_text("CONFIG_LLEXT=y\nCONFIG_LLEXT_HEAP_SIZE=32\n")
    status = main(["place", "--script", str(_script(tmp_path, length="16K")), "--config",
                   str(conf), "-o", str(tmp_path / "out")])
    assert status == 1
    assert ".llext_heap" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_a_script_region_outside_the_boards_memory_is_refused_naming_both(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    script = _script(tmp_path, origin="0x30000000")
    assert main(["place", "--script", str(script), "-o", str(tmp_path / "out")]) == 1
    assert capsys.readouterr().err == (
        f"{script}: error: region SRAM [0x30000000, 0x30010000) lies in no memory of "
        f"{BASE.with_suffix('.toml')} (FLASH [0x0, 0x40000), RAM [0x20000000, 0x20010000)): "
        "the script and the board describe different hardware\n")


def test_a_region_named_like_the_boards_but_elsewhere_is_refused(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    script = _script(tmp_path, ram="FLASH2").read_text().replace(
        "FLASH (rx) : ORIGIN = 0x0", "FLASH (rx) : ORIGIN = 0x20000000")
    path = tmp_path / "swapped.ld"
    path.write_text(script)
    assert main(["place", "--script", str(path), "-o", str(tmp_path / "out")]) == 1
    assert "region FLASH [0x20000000, 0x20040000) disagrees with" in capsys.readouterr().err


def test_a_custom_script_from_the_board_model_is_marked_as_not_zephyrs(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    assert main(["place", "--board", "nucleo_h743zi", "--pin", ".llext_heap=ITCM", "-o",
                 str(out)]) == 0
    assert (f"note: {out}/linker.ld is board nucleo_h743zi's model script, not a Zephyr "
            "linker script: for CONFIG_CUSTOM_LINKER_SCRIPT run with --build-dir (or --script "
            "build/zephyr/linker.cmd)\n") in capsys.readouterr().out
    # From the build's own linker.cmd the script is Zephyr's, edited: no such note.
    assert main(["place", "--board", "nucleo_h743zi", "--pin", ".llext_heap=ITCM",
                 "--script", str(BASE.with_name("nucleo_h743zi.ld")), "-o", str(out)]) == 0
    assert "model script" not in capsys.readouterr().out
