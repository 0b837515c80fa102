"""``placer diff OLD.json NEW.json``: what a change did to the heaps, for CI and reviews."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

#: Report formats, each named for its `placer.diff.format_<name>` function.
_FORMATS = ("json", "markdown", "text")


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``diff`` subcommand."""
    parser = subparsers.add_parser(
        "diff",
        help="compare two layout JSON files; exit 1 when they differ",
        description="Show which heap sections moved, grew, shrank or changed region, and "
        "each region's free space before and after. Exit status: 0 no change, 1 changed "
        "or a file could not be read (then with an error on stderr and nothing on "
        "stdout), 2 usage error.",
    )
    parser.add_argument("old", type=Path, metavar="OLD.json")
    parser.add_argument("new", type=Path, metavar="NEW.json")
    parser.add_argument("--format", choices=_FORMATS, default="text",
                        help="report format (markdown suits a pull-request comment)")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Print the diff of two layout files; 0 when equal, 1 when changed. A file that cannot
    be read is a problem in the input, as for every command: its `LayoutError` reaches
    `placer.cli.main` (exit 1)."""
    from placer import diff as layout_diff
    from placer.emit.layout_json import read_layout

    old = read_layout(args.old)
    new = read_layout(args.new)
    diff = layout_diff.diff_layouts(old, new)
    sys.stdout.write(getattr(layout_diff, f"format_{args.format}")(diff))
    return 1 if diff.changed else 0
