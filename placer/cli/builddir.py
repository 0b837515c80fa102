"""What ``--build-dir`` (`placer.cli.options.add_build_dir_option`) makes ``place``,
``verify`` and ``diff`` read: the board, configuration and linker script of a Zephyr build
(`placer.builddir`)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    from placer.board import Board
    from placer.config import LlextConfig
    from placer.layout import Layout
    from placer.script import ast


def from_build_dir(path: Path, board_name: str | None, configs: Sequence[str],
                   stream: TextIO) -> tuple[Board, LlextConfig, ast.Script]:
    """The board, configuration and linker script of the build at `path` (`board_name`
    cross-checks its regions; `configs` are fragments on top of its ``.config``); prints
    which file gave what to `stream`."""
    from placer.boardfile import load_board
    from placer.builddir import load_build, read_build_dir
    from placer.config import read_config

    build = read_build_dir(path)
    stream.write(build.describe())
    target = load_build(build, load_board(board_name) if board_name else None)
    config = read_config(build.config, *configs, zephyr_version=build.version)
    for note in target.notes:
        stream.write(f"note: {note}\n")
    stream.write("\n")
    return target.board, config, target.script


def layout_from_build_dir(path: Path, configs: Sequence[str], stream: TextIO) -> Layout:
    """The layout `placer place --build-dir` computes for the build at `path` (`configs`
    on top of its ``.config``), for ``verify`` and ``diff``."""
    from placer.solve import place

    board, config, _ = from_build_dir(path, None, configs, stream)
    return place(board, config)
