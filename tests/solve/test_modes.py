"""Every LLEXT heap mode on the shipped boards; each address is worked out from the board
file's numbers in the comment above the assertion."""

from __future__ import annotations

import pytest

from placer import load_board, place
from placer.config import HeapBackend, LlextConfig
from placer.layout import Placement
from placer.target import HeapRole, Rounding
from tests.emit.cases import config_for


def test_k_heap_goes_after_noinit_in_qemu_cortex_m3_ram() -> None:
    # RAM 0x20000000: data 1K + bss 12K + noinit 2K = 15K = 0x3c00 -> .llext_heap at
    # 0x20003c00, 8 KiB, no padding (8-aligned already); RAM keeps 64K - 15K - 8K = 41K.
    layout = place(load_board("qemu_cortex_m3"), LlextConfig())
    heap = layout.heap(".llext_heap")
    assert (heap.region, heap.address, heap.size, heap.padding) == ("RAM", 0x20003C00, 8192, 0)
    assert heap.placement is Placement.NOINIT
    ram = next(r for r in layout.regions if r.region == "RAM")
    assert (ram.used_before, ram.free_before, ram.free_after) == (15 * 1024, 49 * 1024,
                                                                  41 * 1024)
    assert ram.largest_gap_after == 41 * 1024
    assert layout.warnings == ()


def test_memblk_pool_then_metadata_heap_in_noinit() -> None:
    # Pool of 16K in 32-byte blocks at 0x20003c00 (32-aligned), then the 4K metadata
    # k_heap right behind it at 0x20007c00: the order of Zephyr's .noinit patterns.
    layout = place(load_board("qemu_cortex_m3"), LlextConfig(heap_backend=HeapBackend.MEMBLK))
    pool, meta = layout.heaps
    assert (pool.section, pool.address, pool.size, pool.heap.align) == (
        ".llext_ext_heap", 0x20003C00, 16384, 32)
    assert (meta.section, meta.address, meta.size) == (".llext_metadata_heap", 0x20007C00,
                                                       4096)


def test_memblk_pool_with_4k_blocks_aligns_the_whole_noinit_section() -> None:
    # GNU ld aligns .noinit to its most aligned input section, the 4096-aligned pool:
    # .noinit moves from 0x20003400 to 0x20004000, its 2K content ends at 0x20004800, and
    # the pool follows at the next block boundary, 0x20005000 (0x800 padding); the 4K
    # metadata heap at 0x20009000. (arm-none-eabi-ld's map of this layout agrees.)
    config = LlextConfig(heap_backend=HeapBackend.MEMBLK, heap_memblk_block_size=4096)
    layout = place(load_board("qemu_cortex_m3"), config)
    pool, meta = layout.heaps
    assert (pool.address, pool.padding) == (0x20005000, 0x800)
    assert (meta.address, meta.padding) == (0x20009000, 0)


def test_harvard_instr_heap_goes_into_rodata_in_iccm_and_data_heap_into_data_in_dccm() -> None:
    # nsim_em: ICCM text 32K + rodata 8K -> instruction heap inside .rodata at 0xa000.
    # DCCM: .data is 2K at 0x80000000 -> data heap inside .data at 0x80000800; .bss and
    # .noinit move up by the 8K heap.
    layout = place(load_board("nsim_em"), LlextConfig())
    instr = layout.heap(".llext_instr_heap")
    data = layout.heap(".llext_data_heap")
    assert (instr.region, instr.address, instr.size, instr.placement) == (
        "ICCM", 0xA000, 4096, Placement.IN_RODATA)
    assert (data.region, data.address, data.size, data.placement) == (
        "DCCM", 0x80000800, 8192, Placement.IN_DATA)
    dccm = next(r for r in layout.regions if r.region == "DCCM")
    # used: data 2K + bss 16K + noinit 4K = 22K; after: 22K + 8K heap = 30K.
    assert (dccm.used_before, dccm.free_after) == (22 * 1024, 1024 * 1024 - 30 * 1024)


def test_harvard_memblk_adds_the_metadata_heap_to_noinit_in_dccm() -> None:
    # DCCM after the data heap moved .bss/.noinit: data 2K + heap 8K + bss 16K + noinit 4K
    # = 30K = 0x7800 -> metadata heap at 0x80007800.
    # 2 KiB blocks: LLEXT_PAGE_SIZE on ARC MPU v2 (a smaller block breaks llext_memblk.c's
    # BUILD_ASSERT, and place refuses it as config check does).
    config = LlextConfig(heap_backend=HeapBackend.MEMBLK, heap_memblk_block_size=2048)
    layout = place(load_board("nsim_em"), config)
    assert [h.section for h in layout.heaps] == [
        ".llext_instr_heap", ".llext_data_heap", ".llext_metadata_heap"]
    meta = layout.heap(".llext_metadata_heap")
    assert (meta.region, meta.address, meta.placement) == ("DCCM", 0x80007800,
                                                           Placement.NOINIT)


def test_dynamic_heap_states_the_buffer_the_application_must_pass() -> None:
    layout = place(load_board("qemu_cortex_m3"), LlextConfig(heap_dynamic=True))
    assert layout.heaps == ()
    (buffer,) = layout.dynamic
    assert (buffer.role, buffer.init_call, buffer.minimum_size, buffer.align, buffer.regions) \
        == (HeapRole.SHARED, "llext_heap_init", 44, 8, ("RAM",))
    # 44 bytes: 40 after the 4-byte end marker = 5 chunks; 3 buckets (log2(5) + 1), so
    # chunk 0 is 16 + 3 * 4 = 28 bytes = 4 chunks; one 8-byte chunk is left, just what a
    # 1-byte allocation needs (4-byte header + 1 byte): 36 bytes are overhead.
    assert buffer.note.startswith("sys_heap keeps 36 bytes of a 44-byte buffer")
    # Nothing is placed, so each region's space after is its space before.
    ram = layout.regions[-1]
    assert (ram.region, ram.used_before, ram.free_before, ram.free_after,
            ram.largest_gap_after) == ("RAM", 15360, 50176, 50176, 50176)


def test_dynamic_harvard_needs_two_buffers_through_llext_heap_init_harvard() -> None:
    layout = place(load_board("nsim_em"), LlextConfig(heap_dynamic=True))
    instr, data = layout.dynamic
    assert (instr.role, instr.init_call, instr.regions) == (
        HeapRole.INSTR, "llext_heap_init_harvard", ("ICCM",))
    assert (data.role, data.regions) == (HeapRole.DATA, ("DCCM",))


def test_user_mode_power_of_two_mpu_reports_usable_blocks() -> None:
    # mps2_an385 RAM 0x20000000: data 1K + bss 16K + noinit 4K = 21K = 0x5400, so the
    # 16 KiB heap is at 0x20005400: 2047 chunks, chunk 0 = 8 chunks (16 + 11 buckets * 4 =
    # 60 bytes). Largest block: 2A <= (2047 - 8) * 8 = 16312 -> A = 4096. First payload
    # 0x20005444 -> aligned up to 0x20006000 (block ends 0x20007000); the next payload
    # 0x20007004 -> 0x20008000, ends 0x20009000 = chunk 1920; 127 chunks are left, fewer
    # than the 1024 a third block needs: 2 blocks. Already two: the base stays.
    config = LlextConfig(userspace=True, heap_size=16)
    layout = place(load_board("mps2_an385"), config)
    assert layout.heap(".llext_heap").address == 0x20005400
    (usable,) = layout.usable
    assert (usable.largest_region, usable.count, usable.base_alignment) == (4096, 2, 8)


def test_user_mode_without_power_of_two_mpu_rounds_to_granules_and_reports_nothing() -> None:
    # ARMv8-M style: MPU regions in 32-byte granules, so the base alignment does not matter.
    config = LlextConfig(userspace=True, mpu_requires_power_of_two_alignment=False)
    layout = place(load_board("mps2_an385"), config)
    assert layout.target.rounding is Rounding.PAGE
    assert layout.heap(".llext_heap").address == 0x20005400
    assert layout.usable == ()


def test_mmu_board_places_heap_after_noinit_in_ram() -> None:
    # qemu_cortex_a53: RAM 0x40000000, text 64K + rodata 16K + data 4K + bss 32K +
    # noinit 8K = 124K = 0x1f000 -> heap at 0x4001f000.
    # 16 KiB: Zephyr's 8 KiB default cannot serve one page-aligned page (nothing loads).
    layout = place(load_board("qemu_cortex_a53"), LlextConfig(heap_size=16))
    assert layout.target.mmu
    assert layout.heap(".llext_heap").address == 0x4001F000


def test_mmu_memblk_pool_of_pages() -> None:
    # 4096-byte blocks (the tests.yaml MMU setup), 64K pool at 0x4001f000 (page aligned),
    # metadata heap behind it at 0x4002f000.
    config = LlextConfig(heap_backend=HeapBackend.MEMBLK, heap_memblk_block_size=4096,
                         ext_heap_size=64)
    layout = place(load_board("qemu_cortex_a53"), config)
    pool, meta = layout.heaps
    assert (pool.address, pool.size, meta.address) == (0x4001F000, 65536, 0x4002F000)


@pytest.mark.parametrize("name", ["qemu_cortex_m3", "nrf52840dk_nrf52840", "mps2_an385",
                                  "nucleo_h743zi", "frdm_k64f", "qemu_riscv32",
                                  "hifive1_revb", "qemu_x86", "qemu_cortex_a53",
                                  "nsim_em"])
def test_every_shipped_board_places_the_default_config_without_overlap(name: str) -> None:
    board = load_board(name)
    config = config_for(board, "k_heap")  # Zephyr's default, sized for the page on MMU boards
    layout = place(board, config)
    for heap in layout.heaps:
        region = board.region(heap.region)
        assert region.contains(heap.address, heap.size)
        assert heap.address % heap.heap.align == 0
    assert place(board, config) == layout  # deterministic
