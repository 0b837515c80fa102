"""``placer profile``: write the profile extension developers verify against.

The profile (``placer-profile/1``, see `placer.profile`) holds what ``placer verify``
needs of a firmware: its heaps, target facts, export table and metadata sizes. With it,
``placer verify --profile P EXT...`` gives the verdicts of a verify with the whole build.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from placer.cli.options import (
    USAGE_ERROR,
    add_build_dir_option,
    add_config_option,
    add_image_options,
)

if TYPE_CHECKING:
    from placer.board import Board
    from placer.config import LlextConfig
    from placer.importers.elf import ElfHeap
    from placer.layout import Layout
    from placer.llext.image import ImageFacts


def _arguments(parser: argparse.ArgumentParser) -> None:
    """Declare ``placer profile``: its description and options."""
    parser.description = (
        "Write a self-contained, hashed profile (placer-profile/1) of a "
        "firmware: the LLEXT heaps and configuration, the target facts, the image's export "
        "table and metadata sizes, and the extensions the product always loads first. "
        "Extension developers verify against it without the build."
    )
    layout = parser.add_mutually_exclusive_group()
    layout.add_argument("--layout", type=Path, metavar="layout.json",
                        help="the heaps as `placer place` placed them (a layout JSON)")
    layout.add_argument("--board", metavar="NAME|PATH",
                        help="place the heaps for this board (with --config), as `placer "
                        "place` does")
    add_config_option(parser, ".config / prj.conf / fragment for --board or on top of the "
                      "build's .config")
    add_build_dir_option(parser)
    symbols = parser.add_mutually_exclusive_group()
    symbols.add_argument("--elf", type=Path, metavar="zephyr.elf",
                         help="the built image: export table, sizeof(struct llext) from its "
                         "DWARF, and (with --board) the used ranges")
    add_image_options(parser, symbols, " (metadata sizes are then estimated)")
    out = parser.add_mutually_exclusive_group()
    out.add_argument("-o", "--out", type=Path, metavar="FILE",
                     help="where to write the profile (default llext-profile.json)")
    out.add_argument("--edk", type=Path, metavar="DIR",
                     help="an unpacked Zephyr LLEXT EDK: write DIR/llext-profile.json beside "
                     "its cmake.cflags and Makefile.cflags")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Build the profile, write it atomically; 0 on success."""
    from placer.llext.image import image_facts
    from placer.profile import PROFILE_FILE, dumps, make_profile

    problem = _usage_problem(args)
    if problem is not None:
        print(f"placer profile: error: {problem}", file=sys.stderr)
        return USAGE_ERROR
    if args.edk is not None:
        target = edk_profile_path(args.edk)
    else:
        target = args.out if args.out is not None else Path(PROFILE_FILE)
    layout, elf = _layout_and_image(args)
    image = image_facts(layout.target, exports=elf, exports_list=args.exports_list,
                        preloaded=args.preload)
    _check_preloaded(layout, image, args.preload)
    profile = make_profile(layout, image)
    write_text_atomically(target, dumps(profile))
    print(f"wrote {target} (content_sha256 {profile.content_sha256})")
    return 0


def _check_preloaded(layout: Layout, image: ImageFacts, paths: list[Path]) -> None:
    """Refuse a pre-loaded extension that would not load on this firmware: every verdict
    of the profile would start with that failure."""
    if not image.preloaded:
        return
    from placer.errors import PlacerError
    from placer.llext import verify

    report = verify(layout, [], image=image)
    for path, load in zip(paths, report.loads, strict=False):
        if load.error is not None:
            raise PlacerError(f"{path}: error: the pre-loaded extension would not load: "
                              f"{load.error.message} (Zephyr: -{load.error.errno})")


def _usage_problem(args: argparse.Namespace) -> str | None:
    if args.build_dir is not None:
        if args.layout is not None or args.elf is not None or args.exports_list is not None:
            return ("--build-dir gives the layout and the image; drop --layout/--elf/"
                    "--exports-list (or --build-dir)")
        return None
    if args.layout is not None and args.config_files:
        return "--config applies to --board; a --layout carries its configuration"
    if args.elf is None and args.exports_list is None:
        return "say what the image exports: --elf zephyr.elf, --exports-list FILE or " \
            "--build-dir"
    return None


def edk_profile_path(edk: Path) -> Path:
    """Where the profile goes in an unpacked EDK: beside the flags files Zephyr's
    ``cmake/llext-edk.cmake`` writes at the EDK's top (``cmake.cflags``,
    ``Makefile.cflags``); `PlacerError` when `edk` has neither."""
    from placer.errors import PlacerError
    from placer.profile import PROFILE_FILE

    if not any((edk / name).is_file() for name in ("cmake.cflags", "Makefile.cflags")):
        raise PlacerError(where=f"{edk}",
                          message="not an unpacked LLEXT EDK: it has no cmake.cflags "
                          "or Makefile.cflags (unpack llext-edk.tar.xz and give the folder "
                          "that holds them)")
    return edk / PROFILE_FILE


def write_text_atomically(path: Path, text: str) -> None:
    """Write `text` to `path` whole or not at all; `PlacerError` naming the file."""
    import os

    from placer._files import replace_atomically
    from placer.errors import PlacerError

    try:
        new = not path.exists()
        replace_atomically(path, text.encode("utf-8"), keep_mode=True)
        if new:
            # The temporary file's 0600 would keep a new profile from the developers it is
            # for: give it what the umask gives any new file.
            mask = os.umask(0)
            os.umask(mask)
            os.chmod(path, 0o666 & ~mask)
    except OSError as exc:
        raise PlacerError(where=f"{path}", message=f"cannot write: {exc.strerror}") from None


def _layout_and_image(args: argparse.Namespace) -> tuple[Layout, Path | None]:
    """The layout the firmware has, and its image. A heap the image already holds stays
    where the image has it (its address measured, not solved again)."""
    if args.layout is not None:
        from placer.emit.layout_json import read_layout

        return read_layout(args.layout), args.elf
    from placer.boardfile import DEFAULT_BOARD, load_board
    from placer.config import read_config

    elf: Path | None = args.elf
    if args.build_dir is not None:
        from placer.builddir import read_build_dir
        from placer.cli.builddir import from_build_dir

        board, config, _ = from_build_dir(args.build_dir, args.board, args.config_files,
                                          sys.stdout)
        elf = read_build_dir(args.build_dir).elf
        if elf is None:
            from placer.errors import PlacerError

            raise PlacerError(where=f"{args.build_dir}", message="the build directory has no "
                              "zephyr/zephyr.elf: the profile needs the built image")
    else:
        board = load_board(args.board or DEFAULT_BOARD)
        config = read_config(*args.config_files)
        if elf is not None:
            from placer.importers.elf import board_with_elf

            board = board_with_elf(board, elf)
    return measured_layout(board, config, elf), elf


def measured_layout(board: Board, config: LlextConfig, elf: Path | None) -> Layout:
    """The heaps of `board` built with `config`, each pinned where the image at `elf`
    has its buffer (when it has one); `PlacerError` when the image's buffer is not the
    size the configuration makes, since then the configuration is not the image's."""
    from placer.errors import PlacerError
    from placer.solve import Pin, place

    measured: tuple[ElfHeap, ...] = ()
    if elf is not None:
        from placer.importers.elf import read_elf_image

        measured = read_elf_image(elf, board).heaps
    layout = place(board, config, pins=tuple(Pin(h.section, address=h.address)
                                             for h in measured))
    for heap in measured:
        size = next((p.size for p in layout.heaps if p.section == heap.section), None)
        if size is not None and size != heap.size:
            raise PlacerError(where=f"{elf}",
                              message=f"the image's {heap.section} ({heap.symbol}) is {heap.size} "
                f"bytes, the configuration makes it {size}: give the build's own .config")
    return layout


#: The subcommands this module declares (`placer.cli._COMMANDS` lists them).
ARGUMENTS = {"profile": _arguments}
