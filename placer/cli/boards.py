"""``placer boards`` and ``placer board show|import``.

Thin: every fact comes from `placer.boardfile` and `placer.importers`; this module only
parses arguments and prints.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from placer._resources import DEFAULT_BOARD
from placer.cli.options import (
    INPUT_PROBLEM,
    USAGE_ERROR,
    add_config_option,
    print_usage,
    report_missing,
)
from placer.cli.output import text_table

if TYPE_CHECKING:
    from placer.board import Board

#: `placer.board.Arch`'s values, spelled here so building the parser loads no board model
#: (tests/test_imports.py keeps them equal).
ARCHES = ("arm", "arm64", "riscv", "x86", "arc", "xtensa")


def _boards_arguments(boards: argparse.ArgumentParser) -> None:
    """Declare ``placer boards``: its description and options."""
    boards.description = "List the boards shipped with placer: name, architecture, CPU, memory."
    boards.add_argument("--json", action="store_true", help="print JSON instead of a table")
    boards.set_defaults(handler=run_boards)


def _board_arguments(board: argparse.ArgumentParser) -> None:
    """Declare ``placer board``: its description and its subcommands."""
    board.description = "Show a board's memory, or import one."
    board_sub = board.add_subparsers(dest="board_command", metavar="COMMAND")
    board_sub.add_parser(
        "show", help="a board's regions, attributes, buses and free space",
        description="Print a board's regions with attributes, bus, used and free bytes, "
        "and its memory protection facts.", arguments=_show_arguments)
    board_sub.add_parser(
        "import", help="write a board file from a linker script, a zephyr.dts or zephyr.elf",
        description="Build a board from what the build already has and write it as a board "
        "file. --from-elf alone updates the used ranges of the existing board --board (or "
        "of the board --from-script/--from-dts gives). A new board is named by --name, else "
        "by CONFIG_BOARD of the --config files or of the build's .config beside the input, "
        "else (devicetree) by the root node's model or compatible.",
        arguments=_import_arguments)
    board.set_defaults(handler=print_usage(board))


def _show_arguments(show: argparse.ArgumentParser) -> None:
    show.add_argument("name", nargs="?", default=DEFAULT_BOARD,
                      help=f"shipped board name or board file (default: {DEFAULT_BOARD})")
    show.add_argument("--json", action="store_true", help="print JSON instead of a table")
    show.set_defaults(handler=run_show)


def _import_arguments(imp: argparse.ArgumentParser) -> None:
    source = imp.add_mutually_exclusive_group()
    source.add_argument("--from-script", type=Path, metavar="FILE",
                        help="a linker script (its MEMORY block; e.g. Zephyr's linker.cmd)")
    source.add_argument("--from-dts", type=Path, metavar="FILE",
                        help="zephyr.dts as the build writes it")
    imp.add_argument("--from-elf", type=Path, metavar="FILE",
                     help="zephyr.elf: the ranges the image already uses")
    imp.add_argument("--board", metavar="NAME|PATH",
                     help="an existing board (name or board file) whose used ranges "
                     "--from-elf updates")
    imp.add_argument("-o", "--output", type=Path, required=True, help="board file to write")
    imp.add_argument("--name", help="the name of the board written (default: CONFIG_BOARD, "
                     "else the devicetree's model or compatible)")
    add_config_option(imp, "a .config whose CONFIG_BOARD names the board")
    imp.add_argument("--arch", choices=ARCHES,
                     help="architecture, when the input does not say")
    imp.add_argument("--cpu", help="CPU core name")
    imp.add_argument("--code-partition", action="store_true",
                     help="with --from-dts: FLASH is the zephyr,code-partition (as with "
                     "CONFIG_USE_DT_CODE_PARTITION, e.g. behind MCUboot)")
    imp.set_defaults(handler=run_import)


#: The subcommands this module declares (`placer.cli._COMMANDS` lists them).
ARGUMENTS = {"boards": _boards_arguments, "board": _board_arguments}


# -- placer boards -------------------------------------------------------------------------


def run_boards(args: argparse.Namespace) -> int:
    """List the shipped boards."""
    from placer.boardfile import list_boards, load_board

    boards = [load_board(name) for name in list_boards()]
    if args.json:
        import json  # only for --json: building the parser (``placer --help``) does not need it

        print(json.dumps([_board_summary(b) for b in boards], indent=2))
        return 0
    rows: list[tuple[str, ...]] = [("BOARD", "ARCH", "CPU", "MEMORY", "PROTECTION")]
    for board in boards:
        memory = ", ".join(f"{r.name} {_size(r.length)}" for r in board.regions)
        rows.append((board.name + (" (default)" if board.name == DEFAULT_BOARD else ""),
                     board.arch.value, board.cpu, memory, _protection(board)))
    print("\n".join(text_table(rows)))
    return 0


def _board_summary(board: Board) -> dict[str, object]:
    return {
        "name": board.name, "description": board.description, "arch": board.arch.value,
        "cpu": board.cpu, "harvard": board.harvard, "mmu_page_size": board.mmu_page_size,
        "mpu": {"kind": board.mpu.kind.value,
                "requires_power_of_two": board.mpu.requires_power_of_two,
                "granule": board.mpu.granule, "version": board.mpu.version},
        "regions": [{"name": r.name, "origin": r.origin, "length": r.length}
                    for r in board.regions],
        "default": board.name == DEFAULT_BOARD,
    }


def _protection(board: Board) -> str:
    from placer.board import MpuKind

    parts = []
    if board.mmu_page_size is not None:
        parts.append(f"MMU {_size(board.mmu_page_size)} pages")
    if board.mpu.kind is not MpuKind.NONE:
        text = board.mpu.kind.value
        if board.mpu.version is not None:
            text += f" v{board.mpu.version}"
        if board.mpu.kind is MpuKind.RISCV_PMP:
            text += f" granularity {board.mpu.granule}"
        elif board.mpu.requires_power_of_two:
            text += " power-of-two"
        parts.append(text)
    if board.harvard:
        parts.append("Harvard")
    return ", ".join(parts) or "none"


# -- placer board show ---------------------------------------------------------------------


def run_show(args: argparse.Namespace) -> int:
    """Print one board's regions and facts."""
    from placer.boardfile import load_board
    from placer.config import LlextConfig
    from placer.target import resolve

    board = load_board(args.name)
    rows = []
    for region in board.regions:
        used = sum(u.size for u in board.used_in(region.name))
        rows.append({
            "region": region.name, "origin": region.origin, "end": region.end,
            "length": region.length,
            "attributes": "".join(c for c in "rwx" if c in region.attributes),
            "bus": region.bus.value, "writable_at_load": region.writable_at_load,
            "used": used, "free": region.length - used,
            "notes": _notes(board, region.name),
        })
    if args.json:
        import json

        print(json.dumps({**_board_summary(board), "regions": rows}, indent=2))
        return 0
    target = resolve(board, LlextConfig())
    print(f"{board.name}: {board.description}")
    print(f"arch {board.arch.value}, cpu {board.cpu}, ELF{board.elf_class} machine "
          f"{board.machine}, {board.endianness} endian; protection: {_protection(board)}; "
          f"LLEXT_PAGE_SIZE {target.page_size}")
    if board.base_script is not None:
        print(f"base script: {board.base_script}")
    table: list[tuple[str, ...]] = [("REGION", "ORIGIN", "END", "SIZE", "ATTR", "BUS",
                                     "LOAD-WRITABLE", "USED", "FREE", "NOTES")]
    for row in rows:
        table.append((str(row["region"]), f"{row['origin']:#010x}", f"{row['end']:#010x}",
                      _size(int(str(row["length"]))), str(row["attributes"]), str(row["bus"]),
                      "yes" if row["writable_at_load"] else "no", str(row["used"]),
                      str(row["free"]), str(row["notes"])))
    print("\n".join(text_table(table)))
    return 0


def _notes(board: Board, name: str) -> str:
    notes = []
    if name == board.noinit_region:
        notes.append(".noinit")
    if name == board.flash_region:
        notes.append("code")
    if name in board.preferred_regions:
        notes.append("preferred")
    if name in board.forbidden_regions:
        notes.append("no heaps")
    region = board.region(name)
    if region.retained:
        notes.append("retained")
    if region.volatile:
        notes.append("volatile")
    if region.alias_of is not None:
        notes.append(f"alias of {region.alias_of}")
    return ", ".join(notes)


# -- placer board import -------------------------------------------------------------------


def run_import(args: argparse.Namespace) -> int:
    """Import a board and write it as a board file."""
    from placer import records
    from placer.board import Arch
    from placer.boardfile import load_board, write_board
    from placer.importers import board_from_dts, board_from_script, read_elf_image

    arch = Arch(args.arch) if args.arch else None
    if report_missing("board import", args.config_files):
        return INPUT_PROBLEM
    board: Board
    if args.from_script is not None:
        name = args.name or _configured_name(args.from_script, args.config_files)
        if name is None:
            print(f"placer board import: error: {args.from_script} does not name its board: "
                  "give --name, or --config with the build's .config (CONFIG_BOARD)",
                  file=sys.stderr)
            return USAGE_ERROR
        board = board_from_script(args.from_script, name=name, arch=arch,
                                  cpu=args.cpu or "unknown")
    elif args.from_dts is not None:
        name = args.name or _configured_name(args.from_dts, args.config_files)
        board = board_from_dts(args.from_dts, name=name, arch=arch, cpu=args.cpu,
                               code_partition=args.code_partition)
    elif args.board is not None:
        board = load_board(args.board)
        if args.name:
            board = records.evolve(board, name=args.name)
    else:
        print("placer board import: error: give --from-script, --from-dts, or --from-elf with "
              "--board", file=sys.stderr)
        return USAGE_ERROR
    if args.from_elf is not None:
        image = read_elf_image(args.from_elf, board)
        board = records.evolve(board, used=image.used, image=None)
        for heap in image.heaps:
            print(f"note: the image already has {heap.section} ({heap.symbol}) at "
                  f"{heap.address:#x}, {heap.size} bytes; left out of the used ranges",
                  file=sys.stderr)
        for section in image.outside:
            print(f"note: section {section} is in no region of the board; ignored",
                  file=sys.stderr)
    output: Path = args.output
    write_board(board, output)
    print(f"wrote {output}: {board.name}, {len(board.regions)} regions, "
          f"{len(board.used)} used ranges")
    return 0


def _configured_name(source: Path, config_files: Iterable[str]) -> str | None:
    """``CONFIG_BOARD`` of the given Kconfig files (the last wins) or, with none given, of
    the ``.config`` Zephyr's build writes beside ``zephyr.dts`` and ``linker.cmd``."""
    from placer.dotconfig import read_kconfig_files

    files = list(config_files)
    if not files:
        beside = source.parent / ".config"
        # os.path.isfile: False, not an OSError, for a name the OS refuses (ENAMETOOLONG).
        files = [str(beside)] if os.path.isfile(beside) else []
    board = read_kconfig_files(files).get("BOARD")
    if board is None or not board.is_string or len(board.text) <= 2:
        return None
    return board.text[1:-1]


# -- formatting ----------------------------------------------------------------------------


def _size(value: int) -> str:
    from placer.boardfile import format_size

    return str(format_size(value))
