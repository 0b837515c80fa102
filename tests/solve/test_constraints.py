"""Pins, preferences, ordering constraints, the fallback out of .noinit, and the exact
messages when nothing fits."""

from __future__ import annotations

import pytest

from placer import ArgumentError, BoardError, Infeasible, Order, Pin, load_board, place, records
from placer.board import Bus, UsedRange
from placer.cli.output import render
from placer.config import HeapBackend, LlextConfig
from placer.layout import Placement

from .conftest import harvard_board, two_ram_board


def test_default_heap_follows_noinit_in_the_noinit_region() -> None:
    # RAM: data 1K + bss 8K + noinit 1K = 0x2800.
    layout = place(two_ram_board(), LlextConfig())
    heap = layout.heap(".llext_heap")
    assert (heap.region, heap.address, heap.placement) == ("RAM", 0x20002800, Placement.NOINIT)


def test_heap_too_big_for_noinit_region_moves_to_a_free_gap_of_another_region() -> None:
    # 32 KiB do not fit in RAM's 22 KiB after .noinit; SRAM2 is free from 0x30001000 on.
    layout = place(two_ram_board(), LlextConfig(heap_size=32))
    heap = layout.heap(".llext_heap")
    assert (heap.region, heap.address, heap.placement) == (
        "SRAM2", 0x30001000, Placement.OUTPUT_SECTION)
    assert layout.warnings == (
        "Zephyr's default heap placement does not apply (RAM would need 43008 bytes, it has "
        "32768): the heaps are placed as their own output sections, which needs "
        "CONFIG_LLEXT_CUSTOM_HEAP_PLACEMENT=y and placer's linker script",)


def test_custom_placement_prefers_the_boards_preferred_region() -> None:
    board = two_ram_board(preferred_regions=("SRAM2",))
    layout = place(board, LlextConfig(custom_heap_placement=True))
    assert (layout.heap(".llext_heap").region, layout.heap(".llext_heap").address) == (
        "SRAM2", 0x30001000)


def test_custom_placement_without_preference_keeps_the_noinit_region_first() -> None:
    layout = place(two_ram_board(), LlextConfig(custom_heap_placement=True))
    heap = layout.heap(".llext_heap")
    assert (heap.region, heap.address, heap.placement) == (
        "RAM", 0x20002800, Placement.OUTPUT_SECTION)


def test_least_padding_beats_preference() -> None:
    # 4096-byte blocks: RAM's gap starts at 0x20002800 (0x800 padding to 0x20003000), but
    # SRAM2's at 0x30001000 needs none, so SRAM2 wins although RAM is preferred.
    config = LlextConfig(heap_backend=HeapBackend.MEMBLK, heap_memblk_block_size=4096,
                         ext_heap_size=8, custom_heap_placement=True)
    layout = place(two_ram_board(), config)
    pool = layout.heap(".llext_ext_heap")
    assert (pool.region, pool.address, pool.padding) == ("SRAM2", 0x30001000, 0)
    # The metadata heap (8-aligned) takes RAM, its preferred region, without padding.
    assert layout.heap(".llext_metadata_heap").address == 0x20002800


def test_forbidden_region_is_never_used() -> None:
    board = two_ram_board(forbidden_regions=("SRAM2",))
    with pytest.raises(Infeasible) as error:
        place(board, LlextConfig(heap_size=32))
    assert render(error.value) == (
        "error: cannot place .llext_heap: 32768 bytes aligned to 8 do not fit\n"
        "  FLASH: excluded: not writable (attributes rx)\n"
        "  RAM: 22528 bytes free, largest gap aligned to 8: 22528 bytes at 0x20002800\n"
        "  SRAM2: excluded: forbidden by the board\n"
        "  largest size that would fit: 22528 bytes "
        "(CONFIG_LLEXT_HEAP_SIZE=22 at most)")
    assert error.value.largest_fit == 22528


def test_pin_to_region() -> None:
    layout = place(two_ram_board(), LlextConfig(), pins=(Pin(".llext_heap", region="SRAM2"),))
    heap = layout.heap(".llext_heap")
    assert (heap.region, heap.address, heap.pinned) == ("SRAM2", 0x30001000, True)


def test_pin_to_address() -> None:
    layout = place(two_ram_board(), LlextConfig(), pins=(Pin(".llext_heap", address=0x30008000),))
    heap = layout.heap(".llext_heap")
    assert (heap.region, heap.address, heap.padding, heap.pinned) == (
        "SRAM2", 0x30008000, 0, True)


def test_pin_that_matches_the_default_keeps_noinit_placement() -> None:
    layout = place(two_ram_board(), LlextConfig(), pins=(Pin(".llext_heap", region="RAM"),))
    assert layout.heap(".llext_heap").placement is Placement.NOINIT


@pytest.mark.parametrize(("pin", "message"), [
    (Pin(".llext_heap", region="FLASH"),
     "error: cannot place .llext_heap: pinned to region FLASH, which is not writable "
     "(attributes rx)"),
    (Pin(".llext_heap", address=0x20000404),
     "error: cannot place .llext_heap: pinned to 0x20000404, which is not aligned to 8"),
    (Pin(".llext_heap", address=0x20000400),
     "error: cannot place .llext_heap: pinned to 0x20000400: [0x20000400, 0x20002400) "
     "overlaps bss [0x20000400, 0x20002400) in RAM"),
    (Pin(".llext_heap", address=0x3000F000),
     "error: cannot place .llext_heap: pinned to 0x3000f000: 8192 bytes end at 0x30011000, "
     "past the end of SRAM2 at 0x30010000"),
    (Pin(".llext_heap", address=0x40000000),
     "error: cannot place .llext_heap: pinned to 0x40000000, which is in no region of board "
     "two_ram (regions: FLASH, RAM, SRAM2)"),
    (Pin(".llext_heap", region="RAM", address=0x30008000),
     "error: cannot place .llext_heap: pinned to 0x30008000 in region RAM, but that address "
     "is in SRAM2"),
])
def test_bad_pin_messages(pin: Pin, message: str) -> None:
    with pytest.raises(Infeasible) as error:
        place(two_ram_board(), LlextConfig(), pins=(pin,))
    assert render(error.value) == message


@pytest.mark.parametrize(("pin", "message"), [
    (Pin(".llext_instr_heap", region="RAM"),
     ".llext_instr_heap is pinned, but this configuration has no such heap section (heap "
     "sections: .llext_heap)"),
    (Pin(".llext_heap", region="SRAM9"),
     ".llext_heap is pinned to region SRAM9, which board two_ram does not have (regions: "
     "FLASH, RAM, SRAM2)"),
])
def test_a_pin_naming_what_does_not_exist_is_the_callers_mistake(pin: Pin, message: str) -> None:
    with pytest.raises(ArgumentError) as error:
        place(two_ram_board(), LlextConfig(), pins=(pin,))
    assert str(error.value) == message and error.value.argument == "pins"


def test_a_negative_reserve_is_refused() -> None:
    with pytest.raises(ArgumentError) as error:
        place(two_ram_board(), LlextConfig(), reserve=-1)
    assert str(error.value) == "reserve must be 0 or more bytes, not -1"


@pytest.mark.parametrize(("pins", "message"), [
    ((Pin(".llext_heap", address=0x30004000), Pin(".llext_heap", address=0x30008000)),
     ".llext_heap is pinned to two addresses, 0x30004000 and 0x30008000"),
    ((Pin(".llext_heap", region="RAM"), Pin(".llext_heap", region="SRAM2")),
     ".llext_heap is pinned to two regions, RAM and SRAM2"),
])
def test_two_pins_of_one_heap_that_disagree_are_refused(pins: tuple[Pin, ...],
                                                        message: str) -> None:
    with pytest.raises(ArgumentError) as error:
        place(two_ram_board(), LlextConfig(), pins=pins)
    assert str(error.value) == message


@pytest.mark.parametrize(("pins", "message"), [
    ((Pin(".llext_heap", region="RAM"), Pin(".llext_heap", address=0x30008000)),
     "error: cannot place .llext_heap: pinned to 0x30008000 in region RAM, but that address "
     "is in SRAM2"),
])
def test_conflicting_pins_of_one_heap_are_refused(pins: tuple[Pin, ...], message: str) -> None:
    with pytest.raises(Infeasible) as error:
        place(two_ram_board(), LlextConfig(), pins=pins)
    assert render(error.value) == message


def test_repeated_and_complementary_pins_of_one_heap_combine() -> None:
    layout = place(two_ram_board(), LlextConfig(), pins=(
        Pin(".llext_heap", address=0x30008000), Pin(".llext_heap", address=0x30008000),
        Pin(".llext_heap", region="SRAM2")))
    heap = layout.heap(".llext_heap")
    assert (heap.region, heap.address, heap.pinned) == ("SRAM2", 0x30008000, True)


def test_two_heaps_pinned_on_top_of_each_other() -> None:
    pins = (Pin(".llext_ext_heap", address=0x30002000),
            Pin(".llext_metadata_heap", address=0x30003000))
    with pytest.raises(Infeasible) as error:
        place(two_ram_board(), LlextConfig(heap_backend=HeapBackend.MEMBLK), pins=pins)
    assert render(error.value) == (
        "error: cannot place .llext_metadata_heap: pinned to 0x30003000: [0x30003000, "
        "0x30004000) overlaps .llext_ext_heap pinned at [0x30002000, 0x30006000)")


def test_pinned_region_too_small_names_the_numbers() -> None:
    # RAM keeps 22 KiB after .noinit; 24 KiB pinned there cannot fit.
    with pytest.raises(Infeasible) as error:
        place(two_ram_board(), LlextConfig(heap_size=24),
              pins=(Pin(".llext_heap", region="RAM"),))
    assert render(error.value) == (
        "error: cannot place .llext_heap: 24576 bytes aligned to 8 do not fit in RAM (pinned)\n"
        "  FLASH: excluded: not writable (attributes rx)\n"
        "  RAM: 22528 bytes free, largest gap aligned to 8: 22528 bytes at 0x20002800\n"
        "  SRAM2: excluded: .llext_heap is pinned to RAM\n"
        "  largest size that would fit: 22528 bytes "
        "(CONFIG_LLEXT_HEAP_SIZE=22 at most)")


def test_heaps_that_fit_alone_but_not_together_name_the_second() -> None:
    # RAM forbidden: SRAM2's 60K gap takes the 48K pool at 0x30001000; 12K stay free
    # from 0x3000d000, too few for the 16K metadata heap.
    board = two_ram_board(forbidden_regions=("RAM",))
    config = LlextConfig(heap_backend=HeapBackend.MEMBLK, ext_heap_size=48,
                         metadata_heap_size=16)
    with pytest.raises(Infeasible) as error:
        place(board, config)
    assert render(error.value) == (
        "error: cannot place .llext_metadata_heap: 16384 bytes aligned to 8 do not fit beside "
        ".llext_ext_heap\n"
        "  FLASH: excluded: not writable (attributes rx)\n"
        "  RAM: excluded: forbidden by the board\n"
        "  SRAM2: 12288 bytes free, largest gap aligned to 8: 12288 bytes at 0x3000d000\n"
        "  largest size that would fit: 12288 bytes "
        "(CONFIG_LLEXT_METADATA_HEAP_SIZE=12 at most)")


def test_harvard_instr_heap_cannot_go_to_dccm() -> None:
    with pytest.raises(Infeasible) as error:
        place(harvard_board(), LlextConfig(), pins=(Pin(".llext_instr_heap", region="DCCM"),))
    assert render(error.value) == ("error: cannot place .llext_instr_heap: pinned to region DCCM, "
                                "which is not on the instruction bus")


def test_harvard_data_heap_cannot_go_to_iccm() -> None:
    with pytest.raises(Infeasible) as error:
        place(harvard_board(), LlextConfig(), pins=(Pin(".llext_data_heap", region="ICCM"),))
    assert render(error.value) == ("error: cannot place .llext_data_heap: pinned to region ICCM, "
                                "which is not on the data bus")


def test_order_constraint_puts_the_pool_above_the_metadata_heap() -> None:
    # Default order is pool then metadata; asking for the reverse is a cycle.
    config = LlextConfig(heap_backend=HeapBackend.MEMBLK)
    with pytest.raises(Infeasible) as error:
        place(two_ram_board(), config,
              orders=(Order(".llext_ext_heap", after=".llext_metadata_heap"),))
    assert render(error.value) == (
        "error: cannot place .llext_ext_heap: ordering constraints form a cycle: "
        ".llext_ext_heap -> .llext_metadata_heap -> .llext_ext_heap")


def test_order_constraint_after_a_used_range_moves_a_free_heap_up() -> None:
    # SRAM2 also holds a 4K .stacks range at 0x30008000. Pinned to SRAM2 the heap takes the
    # lowest gap, 0x30001000; ordered after .stacks it must start at 0x30009000.
    board = two_ram_board()
    board = records.evolve(board, used=(*board.used,
                                      UsedRange("SRAM2", 0x30008000, 0x1000, "stacks")))
    pins = (Pin(".llext_heap", region="SRAM2"),)
    assert place(board, LlextConfig(), pins=pins).heap(".llext_heap").address == 0x30001000
    layout = place(board, LlextConfig(), pins=pins,
                   orders=(Order(".llext_heap", after=".stacks"),))
    assert layout.heap(".llext_heap").address == 0x30009000


def test_order_constraint_naming_nothing_known() -> None:
    with pytest.raises(ArgumentError) as error:
        place(two_ram_board(), LlextConfig(), orders=(Order(".llext_heap", after=".stacks"),))
    assert str(error.value) == (
        "ordering constraint .llext_heap after .stacks names .stacks, which is neither "
        "a heap section nor a used range (known: .bss, .data, .dma, .llext_heap, .noinit, "
        ".text)")


def test_default_heap_can_be_ordered_after_a_range_above_noinit() -> None:
    # A 2K .stacks range at 0x20004000 above .noinit: ordering the heap after it inserts
    # the heap at 0x20004800 instead of 0x20002800.
    board = two_ram_board()
    board = records.evolve(board, used=(*board.used,
                                      UsedRange("RAM", 0x20004000, 0x800, "stacks")))
    layout = place(board, LlextConfig(), orders=(Order(".llext_heap", after=".stacks"),))
    assert layout.heap(".llext_heap").address == 0x20004800


def test_shipped_board_infeasible_memblk_names_largest_fit() -> None:
    # hifive1_revb: 16K RAM, data 512 + bss 6K + noinit 1K end at 0x80001e00; a 16K pool of
    # 1K blocks cannot fit; the largest 1K-aligned gap starts at 0x80002000: 8K.
    config = LlextConfig(heap_backend=HeapBackend.MEMBLK, heap_memblk_block_size=1024)
    with pytest.raises(Infeasible) as error:
        place(load_board("hifive1_revb"), config)
    assert render(error.value) == (
        "error: cannot place .llext_ext_heap: 16384 bytes aligned to 1024 do not fit\n"
        "  ROM: excluded: not writable (attributes rx)\n"
        "  RAM: 8704 bytes free, largest gap aligned to 1024: 8192 bytes at 0x80002000\n"
        "  largest size that would fit: 8192 bytes "
        "(CONFIG_LLEXT_EXT_HEAP_SIZE=8 at most)")


def test_no_heap_starts_at_address_zero() -> None:
    # nucleo_h743zi's ITCM starts at 0 and is free; a 4K-block pool there would hand out
    # NULL as its first block. From address 1 the ITCM needs 4095 bytes of padding; DTCM
    # cannot run the pool's code (data bus, no x); the AXI RAM needs 2048 bytes after what
    # the image uses, so the pool goes there.
    config = LlextConfig(heap_backend=HeapBackend.MEMBLK, heap_memblk_block_size=4096,
                         custom_heap_placement=True)
    layout = place(load_board("nucleo_h743zi"), config)
    pool = layout.heap(".llext_ext_heap")
    assert (pool.region, pool.address, pool.padding) == ("RAM", 0x24010000, 2048)


def test_harvard_instr_heap_in_rodata_pushes_the_data_load_image_up() -> None:
    # An XIP ARC image keeps .data's load image in ICCM after .rodata (0xa000, 2K). The
    # 4K instruction heap goes inside .rodata at 0xa000 and the load image moves to 0xb000.
    board = harvard_board()
    board = records.evolve(board, used=(*board.used,
                                      UsedRange("ICCM", 0xA000, 0x800, "data load image")))
    layout = place(board, LlextConfig())
    assert layout.heap(".llext_instr_heap").address == 0xA000
    iccm = next(r for r in layout.regions if r.region == "ICCM")
    # used: text 32K + rodata 8K + load image 2K = 42K; after: + 4K heap = 46K.
    assert (iccm.used_before, iccm.free_after) == (42 * 1024, 256 * 1024 - 46 * 1024)
    assert iccm.largest_gap_after == 256 * 1024 - 0xB800


def test_a_dynamic_heap_has_no_section_to_pin() -> None:
    with pytest.raises(ArgumentError) as error:
        place(two_ram_board(), LlextConfig(heap_dynamic=True),
              pins=(Pin(".llext_heap", region="RAM"),))
    assert str(error.value) == (".llext_heap is pinned, but this configuration has no such "
                                "heap section (heap sections: none)")


def test_board_whose_noinit_region_is_missing() -> None:
    with pytest.raises(BoardError) as error:
        place(two_ram_board(noinit_region="SRAM9"), LlextConfig())
    assert render(error.value) == ("error: board two_ram: noinit region SRAM9 is not one of its "
                                "regions (FLASH, RAM, SRAM2)")


def test_order_between_two_free_heaps_in_one_region() -> None:
    # Custom placement, both heaps in RAM's gap at 0x20002800. Lowest address sum puts the
    # 4K metadata heap first (0x20002800) and the 16K pool behind it (0x20003800); ordered
    # after the pool, the metadata heap goes to 0x20006800 instead.
    config = LlextConfig(heap_backend=HeapBackend.MEMBLK, custom_heap_placement=True)
    layout = place(two_ram_board(), config)
    assert (layout.heap(".llext_metadata_heap").address,
            layout.heap(".llext_ext_heap").address) == (0x20002800, 0x20003800)
    layout = place(two_ram_board(), config,
                   orders=(Order(".llext_metadata_heap", after=".llext_ext_heap"),))
    assert (layout.heap(".llext_ext_heap").address,
            layout.heap(".llext_metadata_heap").address) == (0x20002800, 0x20006800)


def test_heap_pinned_to_a_region_at_address_zero_starts_one_alignment_in() -> None:
    # ITCM is free from 0; 8 bytes of padding put the k_heap at 8, never at NULL.
    layout = place(load_board("nucleo_h743zi"), LlextConfig(),
                   pins=(Pin(".llext_heap", region="ITCM"),))
    heap = layout.heap(".llext_heap")
    assert (heap.region, heap.address, heap.padding) == ("ITCM", 8, 8)


def test_memory_used_through_an_alias_is_not_free_in_the_other_view() -> None:
    # ESP32-S3's SRAM1 is iram0_0_seg and dram0_0_seg at once. Make the IRAM view usable for
    # data, pin a 16 KiB heap there: the 8 KiB gap after IRAM text (0x40376000) is too small,
    # and 0x40378000-0x40383000 holds DRAM's data, bss and noinit seen through the alias,
    # so the first free place is 0x40383000.
    board = load_board("esp32s3_devkitc")
    regions = tuple(
        records.evolve(r, bus=Bus.BOTH, attributes=frozenset("rwx"))
        if r.name == "iram0_0_seg" else r for r in board.regions)
    board = records.evolve(board, regions=regions)
    layout = place(board, LlextConfig(heap_size=16),
                   pins=(Pin(".llext_heap", region="iram0_0_seg"),))
    assert layout.heap(".llext_heap").address == 0x40383000
