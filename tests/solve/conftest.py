"""Small boards built in the tests, so every number in an assertion is visible here."""

from __future__ import annotations

import pytest

from placer.board import Arch, Board, MemoryRegion, Mpu, MpuKind, UsedRange
from tests.boards.built import arc_harvard_board


def two_ram_board(**changes: object) -> Board:
    """A Cortex-M with a small main RAM (noinit region) and a big second SRAM.

    RAM   0x20000000, 32 KiB: data 1 KiB, bss 8 KiB, noinit 1 KiB -> free 0x20002800-0x20008000
    SRAM2 0x30000000, 64 KiB: a 4 KiB DMA buffer at the bottom -> free from 0x30001000
    FLASH 0x00000000, 256 KiB, read-only.
    """
    board = Board(
        name="two_ram",
        arch=Arch.ARM,
        cpu="cortex-m4",
        regions=(
            MemoryRegion("FLASH", 0x0, 256 * 1024, frozenset("rx"), writable_at_load=False),
            MemoryRegion("RAM", 0x20000000, 32 * 1024, frozenset("rwx")),
            # Executable, as a heap that holds extensions' code must be.
            MemoryRegion("SRAM2", 0x30000000, 64 * 1024, frozenset("rwx")),
        ),
        noinit_region="RAM",
        flash_region="FLASH",
        mpu=Mpu(MpuKind.ARM_MPU, requires_power_of_two=True, granule=32),
        used=(
            UsedRange("FLASH", 0x0, 0x6000, "text"),
            UsedRange("RAM", 0x20000000, 0x400, "data"),
            UsedRange("RAM", 0x20000400, 0x2000, "bss"),
            UsedRange("RAM", 0x20002400, 0x400, "noinit"),
            UsedRange("SRAM2", 0x30000000, 0x1000, "dma"),
        ),
    )
    if changes:
        from placer import records

        board = records.evolve(board, **changes)  # type: ignore[arg-type]
    return board


@pytest.fixture
def two_ram() -> Board:
    return two_ram_board()


def harvard_board() -> Board:
    """The ARC Harvard board with an ARC MPU v2 and text, rodata, data, bss and noinit used."""
    return arc_harvard_board(
        "arc_harvard",
        mpu=Mpu(MpuKind.ARC_MPU, requires_power_of_two=True, granule=2048, version=2),
        used=(
            UsedRange("ICCM", 0x0, 0x8000, "text"),
            UsedRange("ICCM", 0x8000, 0x2000, "rodata"),
            UsedRange("DCCM", 0x80000000, 0x800, "data"),
            UsedRange("DCCM", 0x80000800, 0x4000, "bss"),
            UsedRange("DCCM", 0x80004800, 0x1000, "noinit"),
        ),
    )
