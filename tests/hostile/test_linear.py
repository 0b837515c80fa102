"""D11-D14: inputs that took time or memory out of proportion to their size.

What is pinned here is the message; that the time stays bounded is pinned by replaying
the same shapes in the fuzz worker under its 2 s CPU and 512 MiB limits
(tests/fuzz/regressions/), since timing targets do not belong in unit tests.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from placer.cli import main

_LIMIT = 1024 * 1024


def _limit_message(path: Path, what: str) -> str:
    size = path.stat().st_size
    return (f"{path}: error: cannot read the {what}: it is {size} bytes, larger than the "
            f"{_LIMIT} bytes placer reads for a {what} (set PLACER_INPUT_LIMIT to raise the "
            "limit)\n")


def test_d11_an_error_on_a_long_preprocessed_line_is_mapped_back(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    script = tmp_path / "long.ld"
    line = "x = A" + " + A" * 7000 + " + ;"
    script.write_text(f"#define A 1\n{line}\n")
    assert main(["check", str(script)]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"{script}:2:{len(line)}: error: ")


def test_d12_an_include_of_a_10mb_file_is_refused_at_the_directive(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    big = tmp_path / "big.h"
    big.write_bytes(b"/* padding */\n" * (10 * 1024 * 1024 // 14))
    script = tmp_path / "board.ld"
    script.write_text('#include "big.h"\nSECTIONS { }\n')
    assert main(["check", str(script)]) == 1
    size = big.stat().st_size
    assert capsys.readouterr().err == (
        f"{script}:1:10: error: cannot #include {big}: it is {size} bytes, larger than the "
        f"{_LIMIT} bytes placer reads for a #include file (set PLACER_INPUT_LIMIT to raise "
        'the limit)\n#include "big.h"\n         ^\n')


def test_d12_a_small_file_included_a_thousand_times_is_refused_too(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "part.h").write_text("/* " + "x" * 2000 + " */\n")
    script = tmp_path / "board.ld"
    script.write_text('#include "part.h"\n' * 1000 + "SECTIONS { }\n")
    assert main(["check", str(script)]) == 1
    assert capsys.readouterr().err == (
        f"{script}:523:10: error: the #include files add up to more than {_LIMIT} bytes (set "
        'PLACER_INPUT_LIMIT to raise the limit)\n#include "part.h"\n         ^\n')


def _import_dts(folder: Path, text: str, capsys: pytest.CaptureFixture[str]) -> tuple[Path, str]:
    """``board import --from-dts`` of `text`, which must fail: the file and stderr."""
    dts = folder / "zephyr.dts"
    dts.write_text(text)
    assert main(["board", "import", "--from-dts", str(dts), "--name", "b",
                 "-o", str(folder / "b.toml")]) == 1
    return dts, capsys.readouterr().err


def test_d13_a_devicetree_with_a_10mb_comment_is_refused(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    dts, err = _import_dts(tmp_path, "/dts-v1/;\n/* " + "x" * (10 * 1024 * 1024) + " */\n"
                           "/ { };\n", capsys)
    assert err == _limit_message(dts, "devicetree")


def test_d13_a_long_comment_under_the_limit_is_skipped_not_lexed(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    dts, err = _import_dts(tmp_path, "/dts-v1/;\n/* " + "x\n" * 400_000 + " */\n/ { };\n",
                           capsys)
    assert err == (f"{dts}: error: the devicetree has no zephyr,sram, zephyr,flash, "
                   "memory-region or ICCM/DCCM node\n")


def test_d13_a_long_string_property_is_refused_with_its_line(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    dts, err = _import_dts(tmp_path, '/dts-v1/;\n/ {\n\tmodel = "' + "x" * 500_000 + '";\n};\n',
                           capsys)
    assert err == (f"{dts}: error: invalid devicetree: {dts}:3 (column 1): parse error: a "
                   "literal of 500002 bytes: longer than the 65536 bytes placer reads in a "
                   "devicetree\n")


def test_d14_a_10mb_expression_is_refused_before_parsing(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    script = tmp_path / "expr.ld"
    script.write_text("x = " + "1+" * (5 * 1024 * 1024) + "1;\n")
    assert main(["check", str(script)]) == 1
    assert capsys.readouterr().err == _limit_message(script, "linker script")
