"""The ``placer`` command: a thin shell over the library.

Each stage declares the options of its own subcommands in a module of this package, so
the command line grows with the pipeline without one file knowing every option; this
module lists the subcommands, with their one-line help, in `_COMMANDS`. Errors from the
library (`PlacerError`) print as diagnostics and exit 1, as a missing or unreadable input
file does; usage errors exit 2 (`placer.cli.options`); no Python traceback reaches the user.

Start-up is most of what a one-shot command costs, so this package imports nothing of the
library at module level: a stage module is imported when its subcommand is named, declares
its options with `argparse` alone and imports what its handler uses when the handler runs
(``placer --help`` loads no stage module, nor `typing` or `pathlib`; ``placer check`` no
solver, no pyelftools). ``tests/test_imports.py`` pins the third-party packages each
subcommand imports.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import os
import sys
from collections.abc import Callable, Sequence
from importlib import import_module

from placer.cli.options import INPUT_PROBLEM, USAGE_ERROR, UsageError
from placer.cli.output import printable, render

# `typing` costs ``placer --help`` a tenth of its time: its names are for the type checker
# alone (which reads any ``TYPE_CHECKING`` as true).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, NoReturn

__all__ = ["build_parser", "entry", "main", "printable"]

#: Every subcommand in the order ``placer --help`` lists them: its name, the module of this
#: package whose ``ARGUMENTS[name]`` declares its description and options, and its
#: one-line help (here, so that listing them imports no stage module).
_COMMANDS = (
    ("place", "place", "place the LLEXT heap sections of a board and configuration"),
    ("check", "script", "check linker scripts for errors"),
    ("format", "script", "print a linker script in canonical layout"),
    ("memory", "memory", "print the evaluated MEMORY regions of a linker script"),
    ("boards", "boards", "list the shipped boards"),
    ("board", "boards", "show or import a board"),
    ("config", "config", "check an LLEXT configuration"),
    ("verify", "verify", "check that extensions load and fit, as Zephyr's loader would"),
    ("profile", "profile",
     "write the profile that `placer verify --profile` checks extensions against"),
    ("diff", "diff", "compare two layout JSON files; exit 1 when they differ"),
    ("cmake-dir", "cmake", "print the folder of placer.cmake (placer_place, placer_verify)"),
)

Handler = Callable[[argparse.Namespace], int]


def _terminal_columns() -> int:
    """The terminal's width as `shutil.get_terminal_size` reads it (``COLUMNS``, else the
    terminal of stdout, else 80)."""
    try:
        columns = int(os.environ["COLUMNS"])
    except (KeyError, ValueError):
        columns = 0
    if columns <= 0:
        try:
            columns = os.get_terminal_size(sys.__stdout__.fileno()).columns  # type: ignore[union-attr]
        except (AttributeError, ValueError, OSError):
            columns = 0
    return columns or 80


class _Formatter(argparse.HelpFormatter):
    """argparse's help formatter, sized without importing `shutil`: argparse builds a
    formatter for every ``add_argument``, and `shutil` (with bz2 and lzma) would cost every
    command a few milliseconds that ``placer --help`` itself barely has."""

    def __init__(self, prog: str, indent_increment: int = 2, max_help_position: int = 24,
                 width: int | None = None) -> None:
        super().__init__(prog, indent_increment, max_help_position,
                         _terminal_columns() - 2 if width is None else width)


class _Parser(argparse.ArgumentParser):
    """An argument parser (and, through ``add_subparsers``, every subcommand's) that
    formats with `_Formatter` unless told otherwise.

    A subcommand declares its options in a function given as ``arguments=`` to
    ``add_parser``, which runs when that subcommand is first used (parsed, or its usage
    or help formatted): a command line names one subcommand, so it pays for that one's
    options only, and ``placer --help`` (which lists each subcommand's one-line help)
    for none. The result is the parser the eager calls would have built, so every usage,
    help and error text is the same.
    """

    def __init__(self, *args: Any, arguments: Callable[[argparse.ArgumentParser], None]
                 | None = None, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", _Formatter)
        super().__init__(*args, **kwargs)
        self._arguments = arguments

    def _complete(self) -> None:
        """Add the subcommand's options, once."""
        arguments, self._arguments = self._arguments, None
        if arguments is not None:
            arguments(self)

    def parse_known_args(self, args: Sequence[str] | None = None,  # type: ignore[override]
                         namespace: argparse.Namespace | None = None
                         ) -> tuple[argparse.Namespace, list[str]]:
        self._complete()
        return super().parse_known_args(args, namespace)

    def format_usage(self) -> str:
        self._complete()
        return super().format_usage()

    def format_help(self) -> str:
        self._complete()
        return super().format_help()


def version_text() -> str:
    """What ``placer --version`` prints: the version, and whether the hot modules run
    compiled (setup.py builds them with mypyc where it can, and the records' C
    constructor) or as pure Python."""
    from importlib import machinery, metadata

    import placer

    try:
        version = metadata.version("placer")
    except metadata.PackageNotFoundError:  # a checkout on sys.path, not installed
        version = "(not installed)"
    python = ".".join(map(str, sys.version_info[:3]))
    # Looked for beside the placer that runs, not through the import hooks: an editable
    # install's hook would find a checkout's compiled library for another placer.
    built = [what for module, what in (("_compiled__mypyc", "hot modules compiled with mypyc"),
                                       ("_recordinit", "records built in C"))
             if machinery.PathFinder.find_spec(f"placer.{module}", placer.__path__) is not None]
    if built:
        return f"placer {version} ({', '.join(built)}; Python {python})"
    return f"placer {version} (pure Python {python})"


class _Version(argparse.Action):
    """``--version``, computed only when asked (not at every start)."""

    def __init__(self, option_strings: Sequence[str], dest: str = argparse.SUPPRESS,
                 default: str = argparse.SUPPRESS, help: str | None = None) -> None:
        super().__init__(option_strings, dest, nargs=0, default=default, help=help)

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace,
                 values: object, option_string: str | None = None) -> None:
        print(version_text())
        parser.exit()


def build_parser() -> argparse.ArgumentParser:
    """The argument parser, with every stage's subcommands (each subcommand's options are
    added when it is first used: see `_Parser`)."""
    parser = _Parser(
        prog="placer",
        description="Place Zephyr LLEXT heaps in linker scripts and verify extensions fit.",
    )
    parser.add_argument("--version", action=_Version,
                        help="print the version and whether placer runs compiled, and exit")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, module, summary in _COMMANDS:
        sub.add_parser(name, help=summary, arguments=_stage_arguments(module, name))
    return parser


def _stage_arguments(module: str, name: str) -> Callable[[argparse.ArgumentParser], None]:
    """What declares subcommand `name`: ``ARGUMENTS[name]`` of ``placer.cli.<module>``,
    imported when the subcommand is first used."""
    def arguments(parser: argparse.ArgumentParser) -> None:
        import_module(f"placer.cli.{module}").ARGUMENTS[name](parser)
    return arguments


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``placer`` command; returns the exit status."""
    arguments = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    if not arguments:
        # The main job: place the heaps of the embedded default board.
        arguments = ["place"]
    args = parser.parse_args(arguments)
    handler: Handler | None = getattr(args, "handler", None)
    if handler is None:
        parser.print_help()
        return USAGE_ERROR
    try:
        return handler(args)
    except UsageError as exc:
        print(printable(str(exc)), file=sys.stderr)
        return USAGE_ERROR
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0
    except Exception as exc:
        # `placer.errors` is imported by whatever raised one of its errors: if it is not
        # loaded, this is not a PlacerError (and --help never pays for loading it).
        errors = sys.modules.get("placer.errors")
        if errors is None or not isinstance(exc, errors.PlacerError):
            raise
        if isinstance(exc, errors.ArgumentError):
            # An option value the library cannot use (a pin to a region the board lacks,
            # an order naming an extension not given): the command line must change.
            print(printable(f"placer {args.command}: error: {exc}"), file=sys.stderr)
            return USAGE_ERROR
        print(printable(render(exc)), file=sys.stderr)
        return INPUT_PROBLEM


def entry() -> NoReturn:
    """The ``placer`` executable: `main` run as a one-shot process.

    The cyclic garbage collector is off for the run: a command builds a few large
    acyclic structures (tokens, AST nodes) and exits, and collections of them cost more
    than the cycles they could free. At the end the interpreter is not torn down (freeing
    every object one by one is pure cost for a process about to exit): the output
    streams are flushed and the process exits with `main`'s status. Every file the
    library writes is closed by then (each is written in a ``with`` block, atomically).
    """
    gc.disable()
    status = main()
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        # The reader went away (``placer ... | head``): not an error of ours.
        pass
    except OSError:
        status = status or 120  # what the interpreter exits with when a flush fails
    with contextlib.suppress(OSError):
        sys.stderr.flush()
    os._exit(status)

