"""``placer place``: solve where the LLEXT heaps go, print the layout, write the artefacts.

With no arguments at all (``placer`` alone) it places the heaps of the default board with
Zephyr's default LLEXT configuration, prints the table and writes every artefact to
``placer-out``.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from placer._resources import DEFAULT_BOARD
from placer.cli.options import (
    USAGE_ERROR,
    add_build_dir_option,
    add_config_option,
    add_zephyr_version_option,
)
from placer.cli.output import text_table

if TYPE_CHECKING:
    from placer import application
    from placer.board import Board
    from placer.config import LlextConfig
    from placer.layout import Layout
    from placer.llext.image import ImageFacts
    from placer.solve import Pin
    from placer.versions import ZephyrVersion

#: Artefact kinds `placer.emit.write_artifacts` knows: a copy of `placer.emit.KINDS` (a test
#: keeps them equal), because importing `placer.emit` loads the script grammar, which
#: ``placer place --json`` does not need.
KINDS = ("script", "fragment", "kconfig", "json", "svg", "profile")
DEFAULT_OUT = Path("placer-out")


def _arguments(parser: argparse.ArgumentParser) -> None:
    """Declare ``placer place``: its description and options."""
    parser.description = (
        "Place every LLEXT heap section: least padding, then the board's "
        "preferred regions, then the lowest addresses; Zephyr's own placement (next to "
        ".noinit) whenever it fits and nothing asks otherwise. Exit 1 when no placement "
        "exists, with the binding constraint and its numbers."
    )
    parser.add_argument("--board", metavar="NAME|PATH",
                        help=f"shipped board name or board file (default {DEFAULT_BOARD})")
    add_config_option(parser, ".config / prj.conf / fragment")
    add_zephyr_version_option(parser)
    parser.add_argument("--elf", metavar="zephyr.elf", type=Path,
                        help="take the used ranges from a built image instead of the board")
    parser.add_argument("--pin", metavar="SECTION=REGION|ADDR", action="append", default=[],
                        help="pin a heap section to a region or an address (repeatable)")
    parser.add_argument("--maximize", action="store_true",
                        help="grow the heaps to the largest size the board allows")
    parser.add_argument("--reserve", metavar="N", help="bytes to keep free after each heap "
                        "that holds extension regions, e.g. 4K (most useful with --maximize)")
    parser.add_argument("--script", metavar="FILE", type=Path,
                        help="the linker script to place the heaps in instead of the board's "
                        "base script, e.g. a Zephyr build's linker.cmd (templates are "
                        "preprocessed with the --config values); implies -o placer-out")
    parser.add_argument("--apply", metavar="APP_DIR", type=Path,
                        help="write what the Zephyr application in APP_DIR must carry for "
                        "this layout: noinit.ld and its zephyr_linker_sources() line in "
                        "CMakeLists.txt, or the custom linker.ld; the Kconfig lines in a "
                        "block of prj.conf (all or nothing; a second run changes nothing)")
    add_build_dir_option(parser)
    parser.add_argument("--json", action="store_true", help="print the layout JSON")
    parser.add_argument("-o", "--out", metavar="DIR", type=Path,
                        help="write the artefacts to DIR")
    parser.add_argument("--emit", metavar="KINDS",
                        help=f"artefacts to write, comma-separated from {','.join(KINDS)} "
                        "(default: all that apply)")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Solve, print, write; returns the exit status."""
    from placer.boardfile import load_board
    from placer.cli.builddir import from_build_dir
    from placer.emit.kconfig import kconfig_lines
    from placer.solve import place

    try:
        pins = tuple(parse_pin(text) for text in args.pin)
        reserve = _size("--reserve", args.reserve) if args.reserve is not None else 0
        kinds = _kinds(args.emit)
        if kinds is not None and "profile" in kinds and args.elf is None \
                and args.build_dir is None:
            raise ValueError("--emit profile needs the built image for its export table and "
                             "metadata sizes: give --elf zephyr.elf or --build-dir")
    except ValueError as exc:
        print(f"placer place: error: {exc}", file=sys.stderr)
        return USAGE_ERROR
    if args.build_dir is not None and (args.script is not None or args.elf is not None):
        print("placer place: error: --build-dir gives the linker script and the image; "
              "drop --script/--elf (or --build-dir)", file=sys.stderr)
        return USAGE_ERROR
    if args.build_dir is not None:
        board, config, base = from_build_dir(args.build_dir, args.board, args.config_files,
                                             sys.stderr if args.json else sys.stdout)
        if args.zephyr_version is not None and args.zephyr_version != config.zephyr_version:
            print(f"placer place: error: --zephyr-version {args.zephyr_version}, but the build "
                  f"in {args.build_dir} is Zephyr {config.zephyr_version}", file=sys.stderr)
            return USAGE_ERROR
    else:
        board = load_board(args.board or DEFAULT_BOARD)
        config = _read_config(args.config_files, args.zephyr_version)
        base = None
        if args.script is not None:
            # Read before solving, so a broken script stops the run before anything is
            # printed; the heaps go in the script's own regions.
            from placer.importers.script import board_from_script, board_on_script
            from placer.script.includes import load_script

            base = load_script(args.script, config_files=args.config_files)
            board = board_on_script(board, board_from_script(
                args.script, arch=board.arch, script=base))
        if args.elf is not None:
            board = _board_with_elf(args.elf, board)
    layout = place(board, config, pins=pins, reserve=reserve, maximize=args.maximize)
    image = None
    if kinds is not None and "profile" in kinds:
        # Read before anything is printed: an image without an export table stops the run.
        image = _image_facts(layout, args)
    changes = None
    if args.apply is not None:
        from placer import application

        # Planned before anything is printed or written: a refusal changes nothing.
        changes = application.plan(layout, args.apply, base=base)
    out = args.out
    if out is None and args.apply is None and (kinds is not None or args.script is not None
                                               or args.build_dir is not None
                                               or _no_options(args)):
        out = DEFAULT_OUT
    files = None
    if out is not None:
        from placer.emit import render_artifacts

        # Rendered before anything is printed: a base script that cannot be read stops
        # the run with its error alone, not after a layout table that was never written.
        files = render_artifacts(layout, kinds, base=base, image=image)
    if args.json:
        from placer.emit import layout_json

        sys.stdout.write(layout_json.dumps(layout))
    else:
        sys.stdout.write(format_layout(layout))
        if args.maximize and layout.heaps:
            sys.stdout.write("\nKconfig for this layout:\n")
            for line in kconfig_lines(layout):
                sys.stdout.write(f"  {line}\n")
    if out is not None and files is not None:
        from placer.emit import SCRIPT_FILE, needs_custom_script, write_files

        written = write_files(files, out)
        stream = sys.stderr if args.json else sys.stdout
        for path in written:
            print(f"wrote {path}", file=stream)
        if base is None and SCRIPT_FILE in files and needs_custom_script(layout):
            # The board model's base script lacks what Zephyr's generated script has
            # (k_heap_area, initlevel, device_area, iterable sections): it shows where the
            # heaps go, but cannot be a CONFIG_CUSTOM_LINKER_SCRIPT.
            print(f"note: {out / SCRIPT_FILE} is board {layout.target.board.name}'s model "
                  "script, not a Zephyr linker script: for CONFIG_CUSTOM_LINKER_SCRIPT run "
                  "with --build-dir (or --script build/zephyr/linker.cmd)", file=stream)
    if changes is not None:
        _apply(changes, args.apply, sys.stderr if args.json else sys.stdout)
    return 0


def _image_facts(layout: Layout, args: argparse.Namespace) -> ImageFacts:
    from placer.llext.image import image_facts

    elf = args.elf
    if args.build_dir is not None:
        from placer.builddir import read_build_dir

        elf = read_build_dir(args.build_dir).elf
        if elf is None:
            from placer.errors import PlacerError

            raise PlacerError(where=f"{args.build_dir}", message="--emit profile needs the built "
                              "image, and the build directory has no zephyr/zephyr.elf")
    return image_facts(layout.target, exports=elf)


def _apply(changes: tuple[application.FileChange, ...], app_dir: Path, stream: TextIO) -> None:
    from placer import application

    application.write(changes, app_dir)
    for change in changes:
        print(f"{change.action.value} {change.path}: {change.what}", file=stream)
    if not changes:
        print(f"{app_dir} already builds this layout: nothing written", file=stream)


def parse_pin(text: str) -> Pin:
    """``SECTION=REGION`` or ``SECTION=ADDRESS`` (an integer, ``0x...``) as a `Pin`."""
    from placer.solve import Pin

    section, sep, target = text.partition("=")
    section, target = section.strip(), target.strip()
    if not sep or not section or not target:
        raise ValueError(f"--pin {text!r}: expected SECTION=REGION or SECTION=ADDRESS")
    if target[0].isdigit():
        try:
            return Pin(section, address=int(target, 0))
        except ValueError:
            raise ValueError(f"--pin {text!r}: {target!r} is not an address") from None
    return Pin(section, region=target)


def _size(option: str, text: str) -> int:
    from placer.boardfile import parse_size

    try:
        return parse_size(text)
    except ValueError as exc:
        raise ValueError(f"{option}: {exc}") from None


def _kinds(text: str | None) -> frozenset[str] | None:
    if text is None:
        return None
    kinds = frozenset(k.strip() for k in text.split(",") if k.strip())
    unknown = sorted(kinds - set(KINDS))
    if unknown or not kinds:
        raise ValueError(f"--emit: unknown kind {', '.join(unknown) or '(none)'} "
                         f"(kinds: {','.join(KINDS)})")
    return kinds


def _no_options(args: argparse.Namespace) -> bool:
    return (args.board is None and not args.config_files and args.elf is None and not args.pin
            and not args.maximize and args.reserve is None and not args.json
            and args.apply is None)


def _read_config(paths: Sequence[str], version: ZephyrVersion | None) -> LlextConfig:
    # Without a file: Zephyr's defaults with LLEXT on, what a fresh LLEXT sample builds.
    from placer.config import read_config
    from placer.versions import NEWEST_ZEPHYR

    return read_config(*paths, zephyr_version=version or NEWEST_ZEPHYR)


def _board_with_elf(path: Path, board: Board) -> Board:
    from placer.importers.elf import board_with_elf

    return board_with_elf(board, path)


# --- the readable table ----------------------------------------------------------------


def format_layout(layout: Layout) -> str:
    """The layout as aligned text tables: target, heaps, regions, notes."""
    from placer.layout import AddressSource  # loaded already: `layout` is one

    target = layout.target
    board, config = target.board, target.config
    mode = "dynamic" if config.heap_dynamic else config.heap_backend.value
    if target.harvard:
        mode += ", Harvard"
    if config.userspace:
        mode += f", user mode ({target.rounding.value} rounding)"
    if target.mmu:
        mode += f", MMU {target.page_size}-byte pages"
    lines = [f"board {board.name} ({board.arch.value} {board.cpu}): {mode}", ""]
    if layout.heaps:
        heap_rows = [("heap section", "region", "address", "from", "size", "align", "padding",
                      "placement")]
        for p in layout.heaps:
            heap_rows.append((p.section, p.region, f"{p.address:#010x}", p.address_source.value,
                         str(p.size), str(p.heap.align), str(p.padding), p.placement.value))
        lines += text_table(heap_rows, numeric={4, 5, 6})
        if any(p.address_source is AddressSource.ESTIMATED for p in layout.heaps):
            # The number is printed, so say what it rests on and how to make it a fact.
            lines.append("estimated: from the board model's image sizes; "
                         "--elf or --build-dir measures them")
        lines.append("")
    for d in layout.dynamic:
        lines.append(f"dynamic {d.role.value} heap: the application calls {d.init_call}() "
                     f"with a buffer of at least {d.minimum_size} bytes, aligned to "
                     f"{d.align}, in {', '.join(d.regions) or 'no suitable region'}")
        lines.append(f"  {d.note}")
    if layout.dynamic:
        lines.append("")
    rows = [("region", "origin", "length", "used", "free before", "free after", "largest gap")]
    for r in layout.regions:
        rows.append((r.region, f"{r.origin:#010x}", str(r.length), str(r.used_before),
                     str(r.free_before), str(r.free_after), str(r.largest_gap_after)))
    lines += text_table(rows, numeric={2, 3, 4, 5, 6})
    for u in layout.usable:
        lines.append("")
        lines.append(f"{u.section}: largest extension region {u.largest_region} bytes "
                     f"(a power-of-two MPU block); a fresh heap serves {u.count} of them "
                     f"(base placed modulo {u.base_alignment})")
    if layout.warnings:
        lines.append("")
        lines += [f"note: {w}" for w in layout.warnings]
    return "\n".join(lines) + "\n"


#: The subcommands this module declares (`placer.cli._COMMANDS` lists them).
ARGUMENTS = {"place": _arguments}
