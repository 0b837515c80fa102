"""``placer config check``: an LLEXT configuration against a board's rules.

Thin: the verdict is `placer.solve.core.review_placement` (the rules of `placer.rules`,
then the placement `placer place` would make), the reading of Kconfig files
`placer.config`; this module parses arguments and prints.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from placer._resources import DEFAULT_BOARD
from placer.cli.options import INPUT_PROBLEM, add_zephyr_version_option, print_usage
from placer.cli.output import render


def _config_arguments(config: argparse.ArgumentParser) -> None:
    """Declare ``placer config``: its description and its ``check``."""
    config.description = "Check LLEXT Kconfig values against a board."
    config_sub = config.add_subparsers(dest="config_command", metavar="COMMAND")
    config_sub.add_parser(
        "check", help="check .config / prj.conf files against a board's LLEXT rules",
        description="Read Kconfig files (later files win) and check every LLEXT rule on the "
        "board. Exit status: 0 ok (warnings printed), 1 violations or a file that cannot "
        "be read, 2 usage error.", arguments=_check_arguments)
    config.set_defaults(handler=print_usage(config))


def _check_arguments(check: argparse.ArgumentParser) -> None:
    check.add_argument("files", nargs="+", type=Path, metavar="FILE",
                       help=".config, prj.conf or fragment files")
    check.add_argument("--board", default=DEFAULT_BOARD,
                       help=f"board name or board file (default: {DEFAULT_BOARD})")
    add_zephyr_version_option(check)
    check.add_argument("--group", action="append", default=[], metavar="NAME",
                       help="a symbol group the application exports into (repeatable)")
    check.set_defaults(handler=run_check)


#: The subcommands this module declares (`placer.cli._COMMANDS` lists them).
ARGUMENTS = {"config": _config_arguments}


def run_check(args: argparse.Namespace) -> int:
    """Check Kconfig files against a board; 0 ok, 1 on violations."""
    from placer.boardfile import load_board
    from placer.config import read_config
    from placer.solve.core import review_placement
    from placer.target import resolve
    from placer.versions import NEWEST_ZEPHYR

    board = load_board(args.board)
    config = read_config(*args.files, zephyr_version=args.zephyr_version or NEWEST_ZEPHYR)
    # The one verdict: the rules, then the placement itself (what `placer place` decides).
    report = review_placement(board, config, symbol_groups_used=args.group)
    for warning in report.warnings:
        print(warning, file=sys.stderr)
    for violation in report.violations:
        print(render(violation), file=sys.stderr)
    if report.violations:
        count = len(report.violations)
        print(f"{count} violation{'s' if count > 1 else ''} of LLEXT's rules on {board.name}",
              file=sys.stderr)
        return INPUT_PROBLEM
    target = resolve(board, config)
    heaps = ", ".join(f"{h.section} {h.size} bytes" for h in target.heap_sections())
    print(f"ok: {board.name}, Zephyr {config.zephyr_version}: "
          f"{heaps or 'no static heap'}")
    return 0
