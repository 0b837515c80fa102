"""``west placer place|verify|diff ...``: placer's command line run on the build directory
``west build`` would use.

west loads this file by its path (``west-commands.yml`` beside it), never as part of the
``placer`` package, and the ``placer`` package never imports it: ``west`` is only needed
here. The build directory is found as Zephyr's ``west build`` finds it
(``scripts/west_commands/build_helpers.py``, ``find_build_dir``): ``-d/--build-dir`` if
given; otherwise the ``build.dir-fmt`` configuration option (default ``build``) when it
names a Zephyr build directory, else the current directory when it is one, else that
default. A Zephyr build directory is one whose ``CMakeCache.txt`` has
``ZEPHYR_TOOLCHAIN_VARIANT`` (``is_zephyr_build`` there).
"""

from __future__ import annotations

import argparse
import os
import re
from pathlib import Path
from typing import Any

from west.commands import WestCommand

#: The placer subcommands that read a build directory.
SUBCOMMANDS = ("place", "verify", "diff")
DEFAULT_BUILD_DIR = "build"

_DESCRIPTION = """\
Run 'placer place', 'placer verify' or 'placer diff' on a Zephyr build directory, found as
'west build' finds it: -d/--build-dir, else the build.dir-fmt configuration option
(default 'build') when it is a build directory, else the current directory when it is
one. Every other argument goes to placer unchanged; 'placer SUBCOMMAND --help' lists them.
'west placer diff OLD.json' compares a saved layout with the build as it is now; to compare
two layout files, run 'placer diff OLD.json NEW.json' itself.
"""


class Placer(WestCommand):
    """The ``west placer`` extension command."""

    def __init__(self) -> None:
        super().__init__("placer", "", _DESCRIPTION, accepts_unknown_args=True)

    def do_add_parser(self, parser_adder: Any) -> argparse.ArgumentParser:
        parser: argparse.ArgumentParser = parser_adder.add_parser(
            self.name, description=self.description,
            formatter_class=argparse.RawDescriptionHelpFormatter,
            usage="west placer {place,verify,diff} [-d BUILD_DIR] [placer's arguments]")
        parser.add_argument("subcommand", choices=SUBCOMMANDS,
                            help="the placer subcommand to run")
        parser.add_argument("-d", "--build-dir", metavar="BUILD_DIR",
                            help="the build directory (default as 'west build')")
        return parser

    def do_run(self, args: argparse.Namespace, unknown: list[str]) -> None:
        try:
            from placer.cli import main
        except ImportError:
            self.die("the 'placer' package is not installed in the Python that runs west "
                     "(pip install placer)")
        config = self.config
        dir_fmt = config.get("build.dir-fmt", DEFAULT_BUILD_DIR) if config else None
        board = (config.get("build.board") if config else None) or os.environ.get("BOARD")
        build_dir = find_build_dir(args.build_dir, dir_fmt or DEFAULT_BUILD_DIR,
                                   board=board, topdir=self.topdir)
        if build_dir is None:
            self.die(f"build.dir-fmt {dir_fmt!r} names a value west placer cannot know "
                     "here; give -d/--build-dir")
        self.dbg(f"placer: build directory {build_dir}")
        status = main([args.subcommand, "--build-dir", build_dir, *unknown])
        if status:
            raise SystemExit(status)


def find_build_dir(given: str | None, dir_fmt: str, *, board: str | None = None,
                   topdir: str | None = None) -> str | None:
    """The build directory ``west build`` would use (see the module docs): `given`
    (``-d``), else `dir_fmt` (``build.dir-fmt``) filled in when it is a Zephyr build
    directory, else the current folder when it is one, else `dir_fmt` filled in; None
    when `dir_fmt` names a value that is not known here (a ``{board}`` with no board)."""
    if given:
        return os.path.abspath(given)
    # The keys 'west build' fills in; here the current folder is the application's.
    values = {"app": Path.cwd().name, "source_dir": ""}
    if board:
        values["board"] = board
    if topdir:
        values["west_topdir"] = topdir
    try:
        default: str | None = dir_fmt.format(**values)
    except (KeyError, IndexError, ValueError):
        default = None
    if default is not None and is_zephyr_build(Path(default)):
        return os.path.abspath(default)
    if is_zephyr_build(Path.cwd()):
        return os.getcwd()
    return os.path.abspath(default) if default is not None else None


_TOOLCHAIN_VARIANT = re.compile(r"^ZEPHYR_TOOLCHAIN_VARIANT:", re.MULTILINE)


def is_zephyr_build(path: Path) -> bool:
    """Whether `path` holds a CMake cache with ``ZEPHYR_TOOLCHAIN_VARIANT``, as
    ``west build`` decides that a folder is a Zephyr build directory."""
    # Imported here: west loads this file before anything checks that placer is installed.
    from placer.errors import PlacerError
    from placer.inputs import is_regular_file, read_input_text

    cache = path / "CMakeCache.txt"
    if not is_regular_file(cache):
        return False
    try:
        text = read_input_text(cache, what="CMake cache", errors="replace")
    except PlacerError:
        return False
    return _TOOLCHAIN_VARIANT.search(text) is not None
