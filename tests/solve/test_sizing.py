"""--maximize, --reserve, and the base alignment that pays off under a power-of-two MPU."""

from __future__ import annotations

import pytest

from placer import Infeasible, load_board, place, records
from placer.board import UsedRange
from placer.cli.output import render
from placer.config import HeapBackend, LlextConfig
from placer.emit.kconfig import kconfig_lines
from placer.layout import Placement
from placer.solve.usable import aligned_residue, blocks_served, heap_shape, largest_block

from .conftest import harvard_board, two_ram_board


def test_maximize_fills_the_noinit_region_in_whole_kib() -> None:
    # qemu_cortex_m3 RAM: 64K - 15K used = 49K after .noinit.
    layout = place(load_board("qemu_cortex_m3"), LlextConfig(), maximize=True)
    assert layout.heap(".llext_heap").size == 49 * 1024
    assert kconfig_lines(layout) == ("CONFIG_LLEXT_HEAP_SIZE=49",)
    ram = next(r for r in layout.regions if r.region == "RAM")
    assert ram.free_after == 0


def test_maximize_keeps_the_reserve_free() -> None:
    layout = place(load_board("qemu_cortex_m3"), LlextConfig(), maximize=True, reserve=4096)
    assert kconfig_lines(layout) == ("CONFIG_LLEXT_HEAP_SIZE=45",)
    ram = next(r for r in layout.regions if r.region == "RAM")
    assert ram.free_after == 4096


def test_maximize_memblk_grows_the_pool_in_whole_blocks_and_keeps_metadata() -> None:
    # 8K blocks: the pool is a multiple of 8 KiB and aligned to 8K, and so is .noinit,
    # which moves to 0x20004000; its 2K content ends at 0x20004800, the pool starts at
    # 0x20006000 and the 4K metadata heap must follow it below 0x20010000: the pool gets
    # 40K - 4K rounded down to 8K = 32K, keeping Zephyr's own placement.
    config = LlextConfig(heap_backend=HeapBackend.MEMBLK, heap_memblk_block_size=8192)
    layout = place(load_board("qemu_cortex_m3"), config, maximize=True)
    pool = layout.heap(".llext_ext_heap")
    assert (pool.address, pool.size, pool.placement) == (0x20006000, 32 * 1024,
                                                         Placement.NOINIT)
    assert kconfig_lines(layout) == ("CONFIG_LLEXT_EXT_HEAP_SIZE=32",
                                     "CONFIG_LLEXT_METADATA_HEAP_SIZE=4",
                                     "CONFIG_LLEXT_HEAP_MEMBLK_BLOCK_SIZE=8192")


def test_maximize_uses_custom_placement_when_the_default_cannot_hold_anything() -> None:
    # RAM, the noinit region, is forbidden, so Zephyr's own placement is out; the heap
    # grows in SRAM2's 60K gap as its own output section instead.
    board = two_ram_board(forbidden_regions=("RAM",))
    layout = place(board, LlextConfig(), maximize=True)
    heap = layout.heap(".llext_heap")
    assert (heap.region, heap.address, heap.size, heap.placement) == (
        "SRAM2", 0x30001000, 60 * 1024, Placement.OUTPUT_SECTION)
    assert kconfig_lines(layout) == ("CONFIG_LLEXT_HEAP_SIZE=60",
                                     "CONFIG_LLEXT_CUSTOM_HEAP_PLACEMENT=y")


def test_maximize_harvard_grows_both_heaps_in_their_own_memories() -> None:
    # ICCM 256K: text 32K + rodata 8K -> 216K for the instruction heap. DCCM 128K: data 2K
    # + bss 16K + noinit 4K -> 106K for the data heap.
    layout = place(harvard_board(), LlextConfig(), maximize=True)
    assert kconfig_lines(layout) == ("CONFIG_LLEXT_INSTR_HEAP_SIZE=216",
                                     "CONFIG_LLEXT_DATA_HEAP_SIZE=106")


def test_maximize_with_nothing_left_names_the_reason() -> None:
    board = two_ram_board(forbidden_regions=("SRAM2",))
    with pytest.raises(Infeasible) as error:
        place(board, LlextConfig(), maximize=True, reserve=32 * 1024)
    assert render(error.value).splitlines()[0] == (
        "error: cannot place .llext_heap: 1024 + 32768 reserved bytes aligned to 8 do not "
        "fit")


def test_power_of_two_mpu_moves_the_heap_base_when_it_serves_more_blocks() -> None:
    # .noinit ends exactly at 0x20002000 here. A 16K heap there: chunk 0 = 8 chunks, the
    # first payload 0x20002044 rounds up to 0x20003000, splitting off a 4K fragment; the
    # tail then holds 8184 bytes < 8192 for the next 4K block: 1 block.
    # Moved to 0x20002fb8 (0x20002fb8 + 9 * 8 = 0x20003000): the first block starts at
    # 0x20003000 with nothing split off, the second at 0x20005000: 2 blocks. The heap still
    # ends inside RAM (0x20006fb8 < 0x20008000), in .noinit.
    board = two_ram_board()
    board = records.evolve(board, used=(
        UsedRange("RAM", 0x20000000, 0x1000, "bss"),
        UsedRange("RAM", 0x20001000, 0x1000, "noinit"),
    ))
    config = LlextConfig(userspace=True, heap_size=16)
    layout = place(board, config)
    heap = layout.heap(".llext_heap")
    assert (heap.region, heap.address, heap.padding) == ("RAM", 0x20002FB8, 0xFB8)
    (usable,) = layout.usable
    assert (usable.base_alignment, usable.largest_region, usable.count) == (4096, 4096, 2)
    assert layout.warnings == (
        ".llext_heap: placed at 0x20002fb8 so its first 4096-byte extension region needs no "
        "split-off fragment: serves 2 such regions instead of 1",)


def test_sys_heap_model_matches_the_reference_numbers() -> None:
    # lib/heap/heap.c's layout: an 8 KiB heap on 32-bit has 1023 chunks, chunk 0 of 7, 8128 free.
    shape = heap_shape(8192, 4, LlextConfig())
    assert (shape.chunks, shape.chunk0, shape.free_bytes) == (1023, 7, 8128)
    # A 16 KiB heap at a 4096-aligned base holds one 4096-aligned 4096-byte block only.
    shape = heap_shape(16384, 4, LlextConfig())
    assert largest_block(shape, 32) == 4096
    assert blocks_served(0x20004000, shape, 4096) == 1
    assert blocks_served(aligned_residue(shape, 4096), shape, 4096) == 2


def test_memblk_under_power_of_two_mpu_serves_blocks_up_to_the_block_size() -> None:
    config = LlextConfig(userspace=True, heap_backend=HeapBackend.MEMBLK,
                         heap_memblk_block_size=4096)
    layout = place(load_board("mps2_an385"), config)
    # The 16 KiB pool goes 4096-aligned past .noinit (0x20005400) to 0x20006000: four
    # whole 4096-byte blocks, each a valid power-of-two MPU region.
    assert layout.heap(".llext_ext_heap").address == 0x20006000
    (usable,) = layout.usable
    assert (usable.section, usable.largest_region, usable.count) == (".llext_ext_heap", 4096, 4)


def test_power_of_two_alignment_never_moves_a_heap_out_of_its_region() -> None:
    # Same heap, but .noinit ends at 0x20004000: the moved base would end at 0x20008fb8,
    # past RAM. The heap stays at 0x20004000 in .noinit serving one 4K block, rather than
    # leaving for SRAM2.
    board = two_ram_board()
    board = records.evolve(board, used=(
        UsedRange("RAM", 0x20000000, 0x3000, "bss"),
        UsedRange("RAM", 0x20003000, 0x1000, "noinit"),
    ))
    layout = place(board, LlextConfig(userspace=True, heap_size=16))
    heap = layout.heap(".llext_heap")
    assert (heap.region, heap.address) == ("RAM", 0x20004000)
    assert layout.usable[0].count == 1
