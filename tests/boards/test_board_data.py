"""The shipped boards' decoded TOML (`placer._board_data`): current, equal to what tomllib
reads, and what loading a shipped board uses instead of tomllib."""

from __future__ import annotations

import subprocess
import sys
import tomllib

import pytest

from placer import _boardgen
from placer._board_data import DECODED
from placer._resources import data_dir
from placer.boardfile import list_boards, parse_board


def test_the_generated_board_data_is_current() -> None:
    assert _boardgen.TARGET.read_text(encoding="utf-8") == _boardgen.source(), \
        "run `python -m placer._boardgen` and commit placer/_board_data.py"


@pytest.mark.parametrize("name", list_boards())
def test_each_shipped_board_decodes_as_tomllib_reads_it(name: str) -> None:
    text = (data_dir("boards") / f"{name}.toml").read_text(encoding="utf-8")
    first = DECODED[text]()
    assert first == tomllib.loads(text)
    first.clear()  # a caller that changes its copy changes no one else's
    assert DECODED[text]() == tomllib.loads(text)


def test_an_edited_board_is_read_by_tomllib_not_the_stale_copy() -> None:
    text = (data_dir("boards") / "qemu_cortex_m3.toml").read_text(encoding="utf-8")
    edited = text.replace('cpu = "cortex-m3"', 'cpu = "edited"')
    assert edited != text
    assert parse_board(edited).cpu == "edited"


def test_loading_a_shipped_board_imports_no_tomllib() -> None:
    code = ("import sys; from placer.boardfile import load_board; "
            "load_board('qemu_cortex_m3'); print('tomllib' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True)
    assert result.stdout.strip() == "False"
