"""The boards and modes every emitter test runs on, and their layouts from the solver."""

from __future__ import annotations

import placer
from placer.board import Board, Bus
from placer.config import HeapBackend, LlextConfig
from placer.layout import Layout
from placer.solve import Pin
from placer.target import resolve

MODES = ("k_heap", "memblk", "user-mode", "pinned")


def config_for(board: Board, mode: str) -> LlextConfig:
    """The configuration of a mode (Harvard boards are Harvard in every mode)."""
    if mode == "memblk":
        # The block size must be a multiple of LLEXT_PAGE_SIZE (2 KiB on ARC MPU v2).
        block = max(32, resolve(board, LlextConfig()).page_size)
        return LlextConfig(heap_backend=HeapBackend.MEMBLK, heap_memblk_block_size=block)
    if mode == "user-mode":
        return LlextConfig(userspace=True)
    return LlextConfig()


def other_ram(board: Board) -> str | None:
    """A writable data region other than the one holding .noinit, for a pinned heap."""
    for region in board.regions:
        if (region.name != board.noinit_region and region.writable and region.bus is not
                Bus.INSTRUCTION and region.name != board.flash_region):
            return region.name
    return None


def cases() -> list[tuple[str, str]]:
    out = []
    for name in placer.list_boards():
        board = placer.load_board(name)
        for mode in MODES:
            if mode == "pinned" and (board.harvard or other_ram(board) is None):
                continue
            out.append((name, mode))
    return out


def layout_for(board: Board, mode: str) -> Layout:
    pins = ()
    if mode == "pinned":
        region = other_ram(board)
        assert region is not None
        pins = (Pin(".llext_heap", region=region),)
    return placer.place(board, config_for(board, mode), pins=pins)
