"""placer.inputs, the one reader of input files: regular files only, never blocking,
bounded, with a message naming the file, what it is and what is wrong."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from placer.cli.output import render
from placer.errors import InputError
from placer.inputs import (
    LIMIT_VARIABLE,
    check_input,
    is_regular_file,
    read_input,
    read_input_text,
)


def test_a_regular_file_is_read_whole(tmp_path: Path) -> None:
    path = tmp_path / "a.ld"
    path.write_bytes(b"SECTIONS { }\n")
    assert read_input(path, what="linker script") == b"SECTIONS { }\n"
    assert check_input(path, what="linker script") == 13


def test_a_fifo_is_refused_without_waiting_for_a_writer(tmp_path: Path) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    with pytest.raises(InputError) as caught:
        read_input(fifo, what="layout")
    assert render(caught.value) == f"{fifo}: error: cannot read the layout: it is a FIFO, not a " \
        "regular file"


def test_dev_zero_is_refused_not_read_until_memory_runs_out() -> None:
    with pytest.raises(InputError) as caught:
        read_input("/dev/zero", what="extension")
    assert render(caught.value) == ("/dev/zero: error: cannot read the extension: it is a "
                                 "character device, not a regular file")


def test_a_folder_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InputError) as caught:
        check_input(tmp_path, what="board file")
    assert render(caught.value) == (f"{tmp_path}: error: cannot read the board file: it is a "
                                 "directory, not a regular file")


def test_a_missing_file_says_so(tmp_path: Path) -> None:
    with pytest.raises(InputError) as caught:
        read_input(tmp_path / "gone", what="export list")
    assert render(caught.value) == (f"{tmp_path / 'gone'}: error: cannot read the export list: "
                                 "No such file or directory")


def test_a_file_over_the_limit_is_refused_and_the_variable_raises_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "big.conf"
    path.write_bytes(b"#" * 100)
    with pytest.raises(InputError) as caught:
        read_input(path, what="configuration file", limit=99)
    assert render(caught.value) == (
        f"{path}: error: cannot read the configuration file: it is 100 bytes, larger than "
        "the 99 bytes placer reads for a configuration file (set PLACER_INPUT_LIMIT to "
        "raise the limit)")
    monkeypatch.setenv(LIMIT_VARIABLE, "1K")
    assert len(read_input(path, what="configuration file", limit=99)) == 100


def test_text_that_is_not_utf8_is_pinned_to_its_byte_or_kept(tmp_path: Path) -> None:
    path = tmp_path / "a.ld"
    path.write_bytes(b"/* ok */\n/* caf\xe9 */\n")
    with pytest.raises(InputError) as caught:
        read_input_text(path, what="linker script")
    assert render(caught.value) == (f"{path}:2:7: error: cannot read the linker script: not "
                                 "UTF-8 text (byte 0xe9)")
    kept = read_input_text(path, what="linker script", errors="surrogateescape")
    assert kept.encode("utf-8", "surrogateescape") == path.read_bytes()


def test_is_regular_file_never_raises(tmp_path: Path) -> None:
    assert not is_regular_file("x" * 5000)
    assert not is_regular_file("a\0b")
    assert not is_regular_file("/dev/null")
    assert not is_regular_file(tmp_path)
