"""``placer check`` and ``placer format`` from the command line."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

from placer import _files
from placer.cli import main

GOOD = """MEMORY
{
    RAM (rwx) : ORIGIN = 0x20000000, LENGTH = 64K
}
SECTIONS
{
    .data :
    {
        *(.data)
    } > RAM
}
"""


def test_check_is_silent_and_exits_0_on_clean_scripts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    script = tmp_path / "board.ld"
    script.write_text(GOOD)
    assert main(["check", str(script)]) == 0
    assert capsys.readouterr().err == ""


def test_check_reports_every_broken_script_and_exits_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good, bad, worse = tmp_path / "good.ld", tmp_path / "bad.ld", tmp_path / "worse.ld"
    good.write_text(GOOD)
    bad.write_text("x = 1\ny = 2;\n")
    worse.write_text(GOOD.replace("> RAM", "> NOPE"))
    assert main(["check", str(good), str(bad), str(worse)]) == 1
    err = capsys.readouterr().err
    assert f"{bad}:1:6: error: missing `;` after the assignment\nx = 1\n     ^\n" in err
    assert f"{worse}:7:5: error: output section `.data` goes to memory region `NOPE`" in err


def test_check_exits_1_on_a_missing_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["check", str(tmp_path / "absent.ld")]) == 1
    assert "no such file" in capsys.readouterr().err


def test_check_preprocesses_with_defines(tmp_path: Path) -> None:
    script = tmp_path / "board.ld"
    script.write_text("#ifdef BROKEN\nx = 1\n#endif\ny = 2;\n")
    assert main(["check", str(script)]) == 0
    assert main(["check", "-D", "BROKEN", str(script)]) == 1


def test_format_prints_the_canonical_text(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    script = tmp_path / "board.ld"
    script.write_text(
        "MEMORY{RAM(rwx):ORIGIN =0x20000000,LENGTH =64K}\nSECTIONS{.data :{*(.data)}>RAM}\n"
    )
    assert main(["format", str(script)]) == 0
    assert capsys.readouterr().out == GOOD


def test_format_in_place_rewrites_the_file_and_leaves_no_temporary(tmp_path: Path) -> None:
    script = tmp_path / "board.ld"
    script.write_text("SECTIONS{.data :{*(.data)}>RAM}\n")
    assert main(["format", "-i", str(script)]) == 0
    assert script.read_text() == "SECTIONS" + GOOD.split("SECTIONS", 1)[1]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["board.ld"]


def test_format_in_place_that_cannot_write_says_so_and_keeps_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    script = tmp_path / "board.ld"
    script.write_text("SECTIONS{.data :{*(.data)}>RAM}\n")
    # A read-only file system, as the OS reports it (root ignores permission bits).
    real_stage = _files.stage

    def read_only(path: Path) -> tuple[int, str]:
        raise OSError(errno.EROFS, os.strerror(errno.EROFS))

    monkeypatch.setattr(_files, "stage", read_only)
    assert main(["format", "-i", str(script)]) == 1
    monkeypatch.setattr(_files, "stage", real_stage)
    assert capsys.readouterr().err == (
        f"placer format: error: cannot write {script}: Read-only file system\n")
    assert script.read_text() == "SECTIONS{.data :{*(.data)}>RAM}\n"


def test_format_of_a_broken_script_changes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    script = tmp_path / "board.ld"
    script.write_text("SECTIONS { .data : { *(.data) }\n")
    assert main(["format", "-i", str(script)]) == 1
    assert script.read_text() == "SECTIONS { .data : { *(.data) }\n"
    assert "unbalanced braces: this `{` is never closed" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["board.ld"]


@pytest.mark.parametrize("command", ["check", "format"])
def test_a_define_that_is_not_an_identifier_is_reported_once_on_the_command_line(
    command: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    script = tmp_path / "board.ld"
    script.write_text("y = 2;\n")
    # check takes several files: the option is still reported once, not per file.
    files = [str(script)] * (2 if command == "check" else 1)
    assert main([command, "-D", "1X=2", *files]) == 2
    assert capsys.readouterr().err == (
        f"placer {command}: error: -D 1X=2: macro name must be an identifier\n"
    )


def test_format_in_place_refuses_a_template_and_leaves_it_as_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    template = "#ifdef BIG\nx = 2;\n#else\nx = 1;\n#endif\n"
    script = tmp_path / "board.ld"
    script.write_text(template)
    assert main(["format", "-i", str(script)]) == 2
    assert script.read_text() == template
    assert capsys.readouterr().err == (
        f"placer format: error: {script} is a C preprocessor template; -i would replace it "
        "with its expansion (print to stdout instead)\n"
    )
    assert main(["format", str(script)]) == 0
    assert capsys.readouterr().out == "x = 1;\n"


def test_format_passes_a_byte_that_is_not_utf8_through_unchanged(
    tmp_path: Path, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    script = tmp_path / "latin1.ld"
    script.write_bytes(b"/* caf\xe9 */\nx = 1;\n")
    assert main(["format", str(script)]) == 0
    assert capsysbinary.readouterr().out == b"/* caf\xe9 */\nx = 1;\n"
