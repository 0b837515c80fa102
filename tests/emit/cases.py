"""The boards and modes every emitter test runs on, and their layouts from the solver."""

from __future__ import annotations

import placer
from placer import records
from placer.board import Board
from placer.config import HeapBackend, LlextConfig
from placer.layout import Layout
from placer.solve import Pin
from placer.target import Rounding, exclusion, resolve

MODES = ("k_heap", "memblk", "user-mode", "pinned")


def config_for(board: Board, mode: str) -> LlextConfig:
    """The configuration of a mode (Harvard boards are Harvard in every mode), one that
    passes placer's rules: the rules run in `placer.place` itself."""
    if mode == "memblk":
        # The block size must be a multiple of LLEXT_PAGE_SIZE (2 KiB on ARC MPU v2).
        block = max(32, resolve(board, LlextConfig()).page_size)
        return LlextConfig(heap_backend=HeapBackend.MEMBLK, heap_memblk_block_size=block)
    config = LlextConfig(userspace=mode == "user-mode")
    target = resolve(board, config)
    if target.rounding in (Rounding.PAGE, Rounding.POWER_OF_TWO) and \
            target.rounding_granule >= 2048:
        # Regions rounded to 2-4 KiB pages: Zephyr's 8 KiB (4 KiB instruction) default
        # cannot hold one page-aligned page (sys_heap needs twice the page free), so
        # nothing would load; give each heap room for a few regions.
        pages = 4 * target.rounding_granule // 1024
        config = records.evolve(config, heap_size=pages, instr_heap_size=pages,
                              data_heap_size=pages)
    return config


def supports(board: Board, mode: str) -> bool:
    """Whether Kconfig can build `mode` on `board`: user mode needs an MPU, a PMP or an MMU
    (a board without one never offers ``CONFIG_USERSPACE``)."""
    if mode == "user-mode":
        return resolve(board, LlextConfig(userspace=True)).rounding is not Rounding.UNSUPPORTED
    if mode == "pinned":
        return not board.harvard and other_ram(board) is not None
    # A non-Harvard heap holds the extensions' code: a board with no memory that is both
    # on the loader's data bus and executable (ESP32-S3: DRAM cannot run code, IRAM is
    # not on the data bus) has nowhere for it.
    code = resolve(board, config_for(board, mode)).heap_sections()
    return all(any(exclusion(board, heap, region) is None for region in board.regions)
               for heap in code)


def other_ram(board: Board) -> str | None:
    """A writable data region other than the one holding .noinit, for a pinned heap (one
    that may hold its code)."""
    probe = resolve(board, LlextConfig()).heap_sections()[0]
    for region in board.regions:
        if (region.name != board.noinit_region and region.name != board.flash_region
                and exclusion(board, probe, region) is None):
            return region.name
    return None


def cases() -> list[tuple[str, str]]:
    out = []
    for name in placer.list_boards():
        board = placer.load_board(name)
        out.extend((name, mode) for mode in MODES if supports(board, mode))
    return out


def layout_for(board: Board, mode: str) -> Layout:
    pins = ()
    if mode == "pinned":
        region = other_ram(board)
        assert region is not None
        pins = (Pin(".llext_heap", region=region),)
    return placer.place(board, config_for(board, mode), pins=pins)
