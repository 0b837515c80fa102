"""Hand-built layouts for the emitter tests, with addresses worked out from the numbers.

These do not depend on the solver: each is the layout the solver must produce for the
board and configuration, written down so the emitters can be tested on their own.
"""

from __future__ import annotations

from placer.board import Arch, Board, MemoryRegion, Mpu, MpuKind, UsedRange
from placer.config import HeapBackend, LlextConfig
from placer.layout import Layout, PlacedHeap, Placement, RegionSpace
from placer.target import resolve
from tests.boards.built import arc_harvard_board


def cortex_m3_board() -> Board:
    """qemu_cortex_m3's memory map (256 KiB flash at 0, 64 KiB SRAM at 0x20000000).

    Unlike qemu_cortex_m3, which Zephyr builds without an MPU, it has the power-of-two
    ARMv7-M MPU (as mps2_an385 does), so user mode has a rounding rule here.
    """
    return Board(
        name="test_cortex_m3",
        arch=Arch.ARM,
        cpu="cortex-m3",
        regions=(
            MemoryRegion("FLASH", 0x0, 256 * 1024, frozenset("rx"), writable_at_load=False),
            MemoryRegion("SRAM", 0x20000000, 64 * 1024, frozenset("rwx")),
        ),
        noinit_region="SRAM",
        flash_region="FLASH",
        mpu=Mpu(MpuKind.ARM_MPU, requires_power_of_two=True, granule=32),
        used=(
            UsedRange("FLASH", 0x0, 0x3000, "text"),
            UsedRange("SRAM", 0x20000000, 0x0400, "data"),
            UsedRange("SRAM", 0x20000400, 0x0c00, "bss"),
        ),
    )


def kheap_layout(config: LlextConfig | None = None) -> Layout:
    """k_heap, 8 KiB: `.llext_heap` right after .bss at 0x20001000 (8-aligned, no padding)."""
    board = cortex_m3_board()
    target = resolve(board, config or LlextConfig())
    (heap,) = target.heap_sections()
    placed = PlacedHeap(heap=heap, region="SRAM", address=0x20001000, padding=0)
    used = 0x1000
    return Layout(
        target=target,
        heaps=(placed,),
        regions=(
            RegionSpace("FLASH", 0x0, 0x40000, 0x3000, 0x40000 - 0x3000, 0x40000 - 0x3000,
                        0x40000 - 0x3000),
            RegionSpace("SRAM", 0x20000000, 0x10000, used, 0x10000 - used,
                        0x10000 - used - heap.size, 0x10000 - used - heap.size),
        ),
    )


def memblk_layout() -> Layout:
    """memblk, 16 KiB pool of 256-byte blocks and a 4 KiB metadata heap.

    The pool (256-aligned) goes first at 0x20001000; the metadata heap follows at
    0x20005000. Free after: 0x10000 - 0x1000 - 0x4000 - 0x1000 = 0xa000.
    """
    board = cortex_m3_board()
    config = LlextConfig(heap_backend=HeapBackend.MEMBLK, heap_memblk_block_size=256)
    target = resolve(board, config)
    pool, meta = target.heap_sections()
    return Layout(
        target=target,
        heaps=(
            PlacedHeap(heap=pool, region="SRAM", address=0x20001000, padding=0),
            PlacedHeap(heap=meta, region="SRAM", address=0x20005000, padding=0),
        ),
        regions=(
            RegionSpace("FLASH", 0x0, 0x40000, 0x3000, 0x3d000, 0x3d000, 0x3d000),
            RegionSpace("SRAM", 0x20000000, 0x10000, 0x1000, 0xf000, 0xa000, 0xa000),
        ),
    )


def harvard_board() -> Board:
    """The ARC Harvard board with 8 KiB of text in ICCM and 2 KiB of data in DCCM."""
    return arc_harvard_board("test_arc_harvard", used=(
        UsedRange("ICCM", 0x0, 0x2000, "text"),
        UsedRange("DCCM", 0x80000000, 0x800, "data"),
    ))


def harvard_layout() -> Layout:
    """Harvard k_heap: 4 KiB instruction heap in ICCM after text, 8 KiB data heap in DCCM."""
    board = harvard_board()
    target = resolve(board, LlextConfig())
    instr, data = target.heap_sections()
    return Layout(
        target=target,
        heaps=(
            PlacedHeap(heap=instr, region="ICCM", address=0x2000, padding=0,
                       placement=Placement.IN_RODATA),
            PlacedHeap(heap=data, region="DCCM", address=0x80000800, padding=0,
                       placement=Placement.IN_DATA),
        ),
        regions=(
            RegionSpace("ICCM", 0x0, 0x40000, 0x2000, 0x3e000, 0x3d000, 0x3d000),
            RegionSpace("DCCM", 0x80000000, 0x20000, 0x800, 0x1f800, 0x1d800, 0x1d800),
        ),
    )
