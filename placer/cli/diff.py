"""``placer diff OLD.json NEW.json`` (or ``OLD.json --build-dir [DIR]``, against the layout
of a Zephyr build as it is now): what a change did to the heaps, for CI and reviews."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from placer.cli.options import USAGE_ERROR, add_build_dir_option, add_config_option

#: Report formats, each named for its `placer.diff.format_<name>` function.
_FORMATS = ("json", "markdown", "text")


def _arguments(parser: argparse.ArgumentParser) -> None:
    """Declare ``placer diff``: its description and options."""
    parser.description = (
        "Show which heap sections moved, grew, shrank or changed region, and "
        "each region's free space before and after. Exit status: 0 no change, 1 changed "
        "or a file could not be read (then with an error on stderr and nothing on "
        "stdout), 2 usage error."
    )
    parser.add_argument("old", type=Path, metavar="OLD.json")
    parser.add_argument("new", type=Path, metavar="NEW.json", nargs="?",
                        help="the layout to compare with (or --build-dir)")
    add_build_dir_option(parser)
    add_config_option(parser, "with --build-dir: a fragment on top of the build's .config")
    parser.add_argument("--format", choices=_FORMATS, default="text",
                        help="report format (markdown suits a pull-request comment)")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Print the diff of two layout files; 0 when equal, 1 when changed. A file that cannot
    be read is a problem in the input, as for every command: its `LayoutError` reaches
    `placer.cli.main` (exit 1)."""
    if (args.new is None) == (args.build_dir is None):
        print("placer diff: error: compare OLD.json with NEW.json or with --build-dir, one "
              "of the two", file=sys.stderr)
        return USAGE_ERROR
    if args.config_files and args.build_dir is None:
        print("placer diff: error: --config applies to --build-dir; a layout JSON carries "
              "its configuration", file=sys.stderr)
        return USAGE_ERROR
    from placer import diff as layout_diff
    from placer.emit.layout_json import read_layout

    old = read_layout(args.old)
    if args.build_dir is not None:
        from placer.cli.builddir import layout_from_build_dir

        new = layout_from_build_dir(args.build_dir, args.config_files, sys.stderr)
    else:
        new = read_layout(args.new)
    diff = layout_diff.diff_layouts(old, new)
    sys.stdout.write(getattr(layout_diff, f"format_{args.format}")(diff))
    return 1 if diff.changed else 0


#: The subcommands this module declares (`placer.cli._COMMANDS` lists them).
ARGUMENTS = {"diff": _arguments}
