"""The ``placer`` command: a thin shell over the library.

Each stage registers its own subcommands from a module of this package, so the command
line grows with the pipeline without one file knowing every option. Errors from the
library (`PlacerError`) print as diagnostics and exit 1, as a missing or unreadable input
file does; usage errors exit 2 (`placer.cli.options`); no Python traceback reaches the user.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from importlib import import_module

from placer.cli.options import INPUT_PROBLEM, USAGE_ERROR, UsageError
from placer.cli.output import printable
from placer.errors import PlacerError

__all__ = ["build_parser", "main", "printable"]

#: Modules of this package that add subcommands, in the order ``placer --help`` lists them.
_STAGES = ("place", "script", "boards", "config", "verify", "diff", "cmake")

Handler = Callable[[argparse.Namespace], int]


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser, with every stage's subcommands."""
    parser = argparse.ArgumentParser(
        prog="placer",
        description="Place Zephyr LLEXT heaps in linker scripts and verify extensions fit.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for stage in _STAGES:
        import_module(f"placer.cli.{stage}").register(sub)
    return parser


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
    except PlacerError as exc:
        print(printable(str(exc)), file=sys.stderr)
        return INPUT_PROBLEM
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0

