"""Boards built in code for tests in several folders, so each shape is written once."""

from __future__ import annotations

from placer.board import Arch, Board, Bus, MemoryRegion, Mpu, MpuKind, UsedRange

_NO_MPU = Mpu(MpuKind.NONE)


def arc_harvard_board(name: str, used: tuple[UsedRange, ...],
                      mpu: Mpu = _NO_MPU) -> Board:
    """An ARC EM in Zephyr's Harvard shape (nsim_em-like): 256 KiB ICCM at 0 on the
    instruction bus, 128 KiB DCCM at 0x80000000 on the data bus holding ``.noinit``."""
    return Board(
        name=name,
        arch=Arch.ARC,
        cpu="arcem",
        machine=195,
        harvard=True,
        regions=(
            MemoryRegion("ICCM", 0x0, 256 * 1024, frozenset("rwx"), bus=Bus.INSTRUCTION),
            MemoryRegion("DCCM", 0x80000000, 128 * 1024, frozenset("rw"), bus=Bus.DATA),
        ),
        noinit_region="DCCM",
        flash_region="ICCM",
        mpu=mpu,
        used=used,
    )
