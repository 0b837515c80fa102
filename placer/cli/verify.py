"""``placer verify EXT...``: load extensions as Zephyr would, before flashing.

Prints a table per extension (regions, heap bytes per heap, unresolved symbols, relocation
problems) and a verdict; exits 1 when any extension would fail to load.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from placer.cli.options import (
    INPUT_PROBLEM,
    USAGE_ERROR,
    add_build_dir_option,
    add_config_option,
    add_image_options,
    add_zephyr_version_option,
)

if TYPE_CHECKING:
    from placer.layout import Layout
    from placer.llext.report import Report

#: `placer.llext.Storage`'s values, spelled here so building the parser loads no loader
#: (tests/test_imports.py keeps them equal).
STORAGES = ("writable", "persistent", "temporary")


def _arguments(parser: argparse.ArgumentParser) -> None:
    """Declare ``placer verify``: its description and options."""
    parser.description = (
        "Load each extension into the simulated LLEXT heaps of a layout, step "
        "by step as llext_load does, link it at the addresses the heaps give it, and report "
        "regions, heap bytes, unresolved symbols and relocation problems. Exit status: 0 "
        "all load, 1 one would fail, 2 usage error."
    )
    parser.add_argument("extensions", nargs="+", type=Path, metavar="EXT",
                        help="extension ELF files (.llext)")
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--layout", type=Path, help="a layout JSON written by `placer place`")
    where.add_argument("--profile", type=Path, metavar="llext-profile.json",
                       help="a profile written by `placer profile` (or `placer place --emit "
                       "profile`): the firmware's heaps, target, export table and metadata "
                       "sizes, with no build at hand")
    parser.add_argument("--profile-sha256", metavar="HEX",
                        help="with --profile: refuse it unless its content_sha256 is HEX (a "
                        "CI gate pins the profile it trusts)")
    where.add_argument("--board", help="place the heaps for this board first (with --config, "
                       "or Zephyr's defaults)")
    add_build_dir_option(where)
    add_config_option(parser, ".config / prj.conf / fragment for --board (for --build-dir: "
                      "on top of the build's .config)")
    add_zephyr_version_option(parser)
    symbols = parser.add_mutually_exclusive_group()
    symbols.add_argument("--exports", type=Path, metavar="zephyr.elf",
                         help="the built image: its export table and sizeof(struct llext) "
                         "(default with --build-dir: the build's zephyr.elf)")
    add_image_options(parser, symbols)
    parser.add_argument("--order", help="load order: extension names (file stems), "
                        "comma-separated; '-NAME' unloads NAME at that point (e.g. "
                        "'a,b,-a,c'); by default dependencies decide")
    parser.add_argument("--storage", choices=STORAGES, default=None,
                        help="the buffer loader's storage type (default: as LLEXT_BUF_LOADER "
                        "declares it: writable with CONFIG_LLEXT_STORAGE_WRITABLE=y, else "
                        "persistent)")
    parser.add_argument("--buffer-address", type=_address, default=None,
                        help="address of the buffer holding each ELF (default: unknown; "
                        "in-place addresses are then offsets into the buffer)")
    parser.add_argument("--heap-buffer", type=_buffer, action="append", default=[],
                        metavar="ADDRESS:SIZE",
                        help="with CONFIG_LLEXT_HEAP_DYNAMIC: the buffer given to "
                        "llext_heap_init (Harvard: instruction buffer, then data buffer)")
    parser.add_argument("--min-heap", action="store_true",
                        help="also find the smallest heap sizes at which all extensions load")
    parser.add_argument("--json", action="store_true", help="print the report as JSON "
                        "(the same as --format json)")
    parser.add_argument("--format", choices=("text", "markdown", "json"), default=None,
                        help="report format: text (default), json, or markdown (a budget "
                        "per extension, for a pull-request comment)")
    parser.add_argument("--dump-image", type=Path, metavar="DIR",
                        help="write each loaded region's bytes and address into DIR")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Verify, print the report; 0 when every extension loads, 1 otherwise."""
    from placer.llext import image_facts, verify

    if args.layout is not None and (args.config_files or args.zephyr_version is not None):
        print("placer verify: error: --config and --zephyr-version apply to --board; a "
              "--layout carries its configuration", file=sys.stderr)
        return USAGE_ERROR
    if args.build_dir is not None and args.zephyr_version is not None:
        print("placer verify: error: --zephyr-version applies to --board; a --build-dir "
              "gives its own Zephyr version", file=sys.stderr)
        return USAGE_ERROR
    if args.profile is not None:
        given = [option for option, value in (
            ("--config", args.config_files), ("--exports", args.exports),
            ("--exports-list", args.exports_list), ("--preload", args.preload)) if value]
        if given:
            print(f"placer verify: error: {given[0]} does not go with --profile: the profile "
                  "carries the configuration, the export table and the pre-loaded "
                  "extensions", file=sys.stderr)
            return USAGE_ERROR
    if args.profile_sha256 is not None and args.profile is None:
        print("placer verify: error: --profile-sha256 pins a --profile", file=sys.stderr)
        return USAGE_ERROR
    fmt = args.format or ("json" if args.json else "text")
    if args.json and fmt != "json":
        print(f"placer verify: error: --json and --format {fmt} disagree", file=sys.stderr)
        return USAGE_ERROR
    order = [name.strip() for name in args.order.split(",") if name.strip()] \
        if args.order else None
    source = ""
    if args.profile is not None:
        from placer.profile import read_profile

        profile = read_profile(args.profile)
        if args.profile_sha256 is not None \
                and args.profile_sha256.strip().lower() != profile.content_sha256:
            print(f"{args.profile}: error: content_sha256 is {profile.content_sha256}, not the "
                  f"pinned {args.profile_sha256}: this is not the profile the gate trusts",
                  file=sys.stderr)
            return INPUT_PROBLEM
        layout, image = profile.layout, profile.image
        source = (f"Checked against the profile `{args.profile.name}` (content_sha256 "
                  f"`{profile.content_sha256[:16]}…`): {describe(layout)}.")
    else:
        layout = _layout(args)
        if args.build_dir is not None and args.exports is None and args.exports_list is None:
            from placer.builddir import read_build_dir

            args.exports = read_build_dir(args.build_dir).elf
        image = image_facts(layout.target, exports=args.exports,
                            exports_list=args.exports_list, preloaded=args.preload)
    report = verify(layout, args.extensions, image=image, order=order, storage=args.storage,
                    buffer_address=args.buffer_address, min_heap=args.min_heap,
                    heap_buffers=args.heap_buffer)
    if args.dump_image is not None:
        try:
            dump_image(report, args.dump_image)
        except OSError as exc:
            print(f"placer verify: error: cannot write the image to {args.dump_image}: "
                  f"{exc.strerror}", file=sys.stderr)
            return INPUT_PROBLEM
    if fmt == "json":
        sys.stdout.write(report.to_json())
    elif fmt == "markdown":
        from placer.llext.budget import render_markdown

        sys.stdout.write(render_markdown(report, image, source=source or
                                         f"Checked against {describe(layout)}."))
    else:
        sys.stdout.write(report.render_text())
    return 0 if report.ok else INPUT_PROBLEM


def describe(layout: Layout) -> str:
    """One line on what a layout is: board, Zephyr version, heap backend, modes."""
    target = layout.target
    config = target.config
    backend = "dynamic" if config.heap_dynamic else config.heap_backend.value
    text = (f"board `{target.board.name}` ({target.board.arch.value}), Zephyr "
            f"{config.zephyr_version}, {backend}")
    if target.harvard:
        text += ", Harvard"
    if config.userspace:
        text += f", user mode ({target.rounding.value} rounding)"
    return text


def _address(text: str) -> int:
    try:
        return int(text, 0)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"'{text}' is not an address (e.g. 0x20010000)") from None


def _buffer(text: str) -> tuple[int, int]:
    address, sep, size = text.partition(":")
    try:
        if not sep:
            raise ValueError(text)
        return int(address, 0), int(size, 0)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"'{text}' is not ADDRESS:SIZE (e.g. 0x20010000:16384)") from None


def _layout(args: argparse.Namespace) -> Layout:
    if args.layout is not None:
        from placer.emit.layout_json import read_layout

        return read_layout(args.layout)
    if args.build_dir is not None:
        from placer.cli.builddir import layout_from_build_dir

        return layout_from_build_dir(args.build_dir, args.config_files,
                                     sys.stderr if args.json else sys.stdout)
    # Imported here: placing is another stage, needed only without --layout.
    from placer.boardfile import load_board
    from placer.config import read_config
    from placer.solve import place
    from placer.versions import NEWEST_ZEPHYR

    board = load_board(args.board)
    config = read_config(*args.config_files,
                         zephyr_version=args.zephyr_version or NEWEST_ZEPHYR)
    return place(board, config)


def dump_image(report: Report, directory: Path) -> None:
    """Write ``DIR/<extension>/<REGION>.bin`` per loaded region and ``DIR/<extension>/
    regions.txt`` listing region, address, size and file; all of it or, on a failure (a
    full disk), nothing (`placer._files.replace_files_atomically`)."""
    from placer._files import replace_files_atomically

    files: dict[str, bytes] = {}
    for load in report.loads:
        if not load.regions:
            continue
        index = []
        for region in load.regions:
            name = f"{region.mem.name.lower()}.bin"
            files[f"{load.name}/{name}"] = region.data
            where = region.heap if region.heap is not None else "in-place"
            index.append(f"{region.mem.name} {region.address:#010x} {len(region.data)} "
                         f"{where} {name}\n")
        files[f"{load.name}/regions.txt"] = "".join(index).encode()
    replace_files_atomically(directory, files)


#: The subcommands this module declares (`placer.cli._COMMANDS` lists them).
ARGUMENTS = {"verify": _arguments}
