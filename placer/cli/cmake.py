"""``placer cmake-dir``: where the CMake module ``placer.cmake`` of this installation is,
for a build to ``include()`` it."""

from __future__ import annotations

import argparse
from pathlib import Path

#: The folder of ``placer.cmake`` (`placer_place()`, `placer_verify()`), in the package.
CMAKE_DIR = Path(__file__).resolve().parent.parent / "cmake"


def _arguments(parser: argparse.ArgumentParser) -> None:
    """Declare ``placer cmake-dir``: its description (it takes no option)."""
    parser.description = (
        "Print the folder that holds placer.cmake, the CMake module with "
        "placer_place() and placer_verify(): include(<folder>/placer.cmake)."
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Print the folder; returns 0."""
    print(CMAKE_DIR)
    return 0


#: The subcommands this module declares (`placer.cli._COMMANDS` lists them).
ARGUMENTS = {"cmake-dir": _arguments}
