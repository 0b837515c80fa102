"""What every ``placer`` subcommand means by the same option, and by an exit status.

One home for the options several subcommands take (``--config``, the preprocessor's
``-I``/``-D``/``-L``), the check that the files a command reads exist, and the exit
statuses: 0 done, 1 a problem in the input (a missing or unreadable file included),
2 a usage error (a bad option, a missing argument).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Iterable

# Read as true by the type checker only: `typing` would cost ``placer --help`` (which
# imports this module) a tenth of its time.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from placer.script.kconfig_macros import Macro
    from placer.versions import ZephyrVersion

#: Exit status of a command whose input has a problem: bad content, or a missing or
#: unreadable file (what the user must fix is the input, not the command line).
INPUT_PROBLEM = 1
#: Exit status of a usage error: options that contradict each other or cannot be parsed.
USAGE_ERROR = 2


class UsageError(Exception):
    """A command line that cannot run as given (an option value of the wrong form):
    `placer.cli.main` prints ``placer COMMAND: error: MESSAGE`` and exits `USAGE_ERROR`."""

    def __init__(self, command: str, message: str) -> None:
        self.command = command
        self.message = message
        super().__init__(f"placer {command}: error: {message}")


def add_config_option(parser: argparse.ArgumentParser, what: str) -> None:
    """Add ``--config FILE``, repeatable one file at a time (``--config A --config B``), so
    it never takes the positional arguments after it; later files win."""
    parser.add_argument("--config", dest="config_files", metavar="FILE", action="append",
                        default=[], help=f"{what} (repeatable; later files win)")


def add_zephyr_version_option(parser: argparse.ArgumentParser) -> None:
    """Add ``--zephyr-version X.Y[.Z]``: the Zephyr release whose behaviour to model and
    whose Kconfig the emitted files must suit (`placer.versions`; default the newest).

    The default is None here, read as `placer.versions.NEWEST_ZEPHYR` by the command:
    building the parser loads no library module (tests/test_imports.py)."""
    parser.add_argument("--zephyr-version", type=_zephyr_version, metavar="X.Y[.Z]",
                        help="Zephyr version whose behaviour to model (default: the newest "
                        "release placer models)")


def _zephyr_version(text: str) -> ZephyrVersion:
    from placer.errors import ConfigError
    from placer.versions import parse_zephyr_version

    try:
        return parse_zephyr_version(text)
    except ConfigError:
        raise argparse.ArgumentTypeError(
            f"expected X.Y or X.Y.Z (such as 4.3), not {text!r}") from None


def add_preprocessor_options(parser: argparse.ArgumentParser) -> None:
    """Add -I, -D, -L and --config, shared by check, format and memory."""
    parser.add_argument("-I", dest="include_dirs", metavar="DIR", action="append",
                        default=[], help="#include search folder (repeatable)")
    parser.add_argument("-D", dest="defines", metavar="NAME[=VALUE]", action="append",
                        default=[], help="define a preprocessor macro (repeatable)")
    parser.add_argument("-L", dest="library_dirs", metavar="DIR", action="append",
                        default=[], help="INCLUDE search folder, as ld's -L (repeatable)")
    add_config_option(parser, "Kconfig .config whose values become macros")


def defines(command: str, args: argparse.Namespace) -> tuple[Macro, ...]:
    """The ``-D`` options as macros, each checked once before any file is read: a bad
    ``-D`` is the command line's fault (`UsageError`), whatever the files hold."""
    # Imported here: the script package loads the grammar, which `placer place` never needs.
    from placer.errors import ScriptError
    from placer.script.kconfig_macros import parse_define

    try:
        return tuple(parse_define(option) for option in args.defines)
    except ScriptError as exc:
        raise UsageError(command, exc.message) from None


def wants_preprocessor(args: argparse.Namespace) -> bool:
    """Whether preprocessor options were given: then the caller wants cpp, directives or not."""
    return bool(args.defines or args.config_files or args.include_dirs)


def report_missing(command: str, paths: Iterable[str | os.PathLike[str]]) -> bool:
    """Print ``placer COMMAND: error: no such file: PATH`` for each of `paths` that does not
    exist; whether any was missing (the caller then exits `INPUT_PROBLEM`). A path that
    exists but is no regular file (a FIFO, a device, a folder) is left to the bounded
    reader, which says what it is."""
    from pathlib import Path  # not at the top: ``placer --help`` imports this module

    # os.path.exists is False for a name the OS refuses (ENAMETOOLONG); Path.exists raises.
    missing = [Path(p) for p in paths if not os.path.exists(p)]
    for path in missing:
        print(f"placer {command}: error: no such file: {path}", file=sys.stderr)
    return bool(missing)


def print_usage(parser: argparse.ArgumentParser) -> Callable[[argparse.Namespace], int]:
    """A handler for a command group given no subcommand (``placer board``): its help on
    stderr, and a usage error."""
    def handler(args: argparse.Namespace) -> int:
        parser.print_help(sys.stderr)
        return USAGE_ERROR
    return handler


#: Where ``west build`` builds unless told otherwise.
DEFAULT_BUILD_DIR = "build"


def add_build_dir_option(parser: argparse._ActionsContainer) -> None:
    """Add ``--build-dir [DIR]`` (``build`` when given without a folder, as ``west build``
    names it)."""
    from pathlib import Path

    parser.add_argument("--build-dir", metavar="DIR", type=Path, nargs="?",
                        const=Path(DEFAULT_BUILD_DIR), default=None,
                        help="a Zephyr build directory: its .config, devicetree, final "
                        f"linker script, zephyr.elf/.map and version (default DIR: "
                        f"{DEFAULT_BUILD_DIR}; sysbuild: the default image's folder)")


def add_image_options(parser: argparse.ArgumentParser, symbols: argparse._ActionsContainer,
                      estimated: str = "") -> None:
    """Add ``--exports-list FILE`` (to `symbols`, the group that also holds the image
    option) and ``--preload EXT``, shared by verify and profile: what the built image
    exports when there is no image, and the extensions the product loads first."""
    from pathlib import Path

    symbols.add_argument("--exports-list", type=Path, metavar="FILE",
                         help="exported symbols, one 'name [address] [GROUP]' a line"
                         + estimated)
    parser.add_argument("--preload", type=Path, action="append", default=[], metavar="EXT",
                        help="an extension the product always loads first (repeatable, in "
                        "load order)")
