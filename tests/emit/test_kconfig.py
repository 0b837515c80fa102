"""The Kconfig fragment sets exactly the options Kconfig shows for the layout's mode."""

from __future__ import annotations

from placer import records
from placer.emit.kconfig import kconfig_fragment
from placer.layout import Placement
from tests.emit.layouts import harvard_layout, kheap_layout, memblk_layout


def test_kheap_fragment_sets_the_shared_heap_size_in_kib() -> None:
    assert kconfig_fragment(kheap_layout()) == (
        "# LLEXT heaps for board test_cortex_m3, as placed by placer.\n"
        "CONFIG_LLEXT=y\n"
        "CONFIG_LLEXT_HEAP_K_HEAP=y\n"
        "CONFIG_LLEXT_HEAP_SIZE=8\n"
    )


def test_memblk_fragment_sets_pool_metadata_and_block_size() -> None:
    assert kconfig_fragment(memblk_layout()).splitlines()[1:] == [
        "CONFIG_LLEXT=y",
        "CONFIG_LLEXT_HEAP_MEMBLK=y",
        "CONFIG_LLEXT_HEAP_MEMBLK_BLOCK_SIZE=256",
        "CONFIG_LLEXT_METADATA_HEAP_SIZE=4",
        "CONFIG_LLEXT_EXT_HEAP_SIZE=16",
    ]


def test_harvard_fragment_sets_instruction_and_data_heaps_not_the_shared_one() -> None:
    lines = kconfig_fragment(harvard_layout()).splitlines()
    assert "CONFIG_LLEXT_INSTR_HEAP_SIZE=4" in lines
    assert "CONFIG_LLEXT_DATA_HEAP_SIZE=8" in lines
    assert not any(line.startswith("CONFIG_LLEXT_HEAP_SIZE") for line in lines)


def test_custom_script_turns_off_default_placement_and_names_the_script() -> None:
    lines = kconfig_fragment(kheap_layout(), custom_script='boards/my "odd".ld').splitlines()
    assert lines[-3:] == [
        "CONFIG_LLEXT_CUSTOM_HEAP_PLACEMENT=y",
        "CONFIG_HAVE_CUSTOM_LINKER_SCRIPT=y",
        'CONFIG_CUSTOM_LINKER_SCRIPT="boards/my \\"odd\\".ld"',
    ]


def test_a_heap_in_its_own_output_section_turns_off_default_placement_without_a_script() -> None:
    # `placer place --emit kconfig` alone: Zephyr must still not put the heap in .noinit.
    layout = kheap_layout()
    (heap,) = layout.heaps
    moved = records.evolve(
        layout, heaps=(records.evolve(heap, placement=Placement.OUTPUT_SECTION),))
    lines = kconfig_fragment(moved).splitlines()
    assert lines[-1] == "CONFIG_LLEXT_CUSTOM_HEAP_PLACEMENT=y"
    assert not any(line.startswith("CONFIG_CUSTOM_LINKER_SCRIPT") for line in lines)
