"""GNU ld is the oracle: the solver's addresses are where ld puts the heap buffers when it
links a program with the board's image sizes and the heaps, using placer's linker script."""

from __future__ import annotations

from pathlib import Path

import pytest

from placer import load_board, place
from placer.config import HeapBackend, LlextConfig
from placer.emit.linker_script import linker_script
from placer.importers.elf import used_ranges
from placer.layout import Layout
from tests.emit.oracle import assemble, link, program, read_heaps


def linked_addresses(layout: Layout, workdir: Path) -> dict[str, int]:
    """Where ld puts each heap buffer, linking the board's image and the heaps (as Zephyr
    defines them) with placer's script; the image is ``workdir/image.elf``."""
    board = layout.target.board
    heaps = tuple(placed.heap for placed in layout.heaps)
    obj = assemble(board, program(board, heaps), workdir)
    result = link(board, obj, linker_script(layout), workdir, "image")
    assert result.returncode == 0, result.stderr
    linked = read_heaps(workdir / "image.elf", heaps)
    return {section: address for section, (address, _) in linked.heaps.items()}


@pytest.mark.toolchain("arm")
@pytest.mark.parametrize("board, config", [
    ("qemu_cortex_m3", LlextConfig()),
    # A 4096-aligned pool moves .noinit itself to a 4 KiB boundary.
    ("qemu_cortex_m3", LlextConfig(heap_backend=HeapBackend.MEMBLK,
                                   heap_memblk_block_size=4096)),
    ("qemu_cortex_m3", LlextConfig(heap_backend=HeapBackend.MEMBLK,
                                   heap_memblk_block_size=8192, ext_heap_size=32)),
    # mps2_an385's power-of-two MPU moves the 4 KiB heap from 0x20005400 (after 1K data,
    # 16K bss, 4K noinit) to 0x200057c0, 960 bytes of padding in .noinit.
    ("mps2_an385", LlextConfig(userspace=True, heap_size=4)),
    # Custom placement: each heap in an output section of its own.
    ("qemu_cortex_m3", LlextConfig(heap_backend=HeapBackend.MEMBLK,
                                   heap_memblk_block_size=1024, custom_heap_placement=True)),
], ids=["k_heap", "memblk-4k", "memblk-8k", "user-mode-pow2", "custom"])
def test_gnu_ld_puts_every_heap_where_the_solver_says(board: str, config: LlextConfig,
                                                       tmp_path: Path) -> None:
    layout = place(load_board(board), config)
    assert linked_addresses(layout, tmp_path) == {
        placed.section: placed.address for placed in layout.heaps}


@pytest.mark.toolchain("arc")
@pytest.mark.parametrize("config", [
    LlextConfig(),
    LlextConfig(heap_backend=HeapBackend.MEMBLK, heap_memblk_block_size=2048),
    # ARC MPU v2 under user mode: 2 KiB granules, power-of-two blocks; the instruction
    # heap moves inside .rodata so its first block needs no split-off fragment.
    LlextConfig(userspace=True, instr_heap_size=16, data_heap_size=16),
], ids=["k_heap", "memblk", "user-mode-pow2"])
def test_gnu_ld_agrees_on_harvard_heaps_inside_rodata_and_data(config: LlextConfig,
                                                              tmp_path: Path) -> None:
    layout = place(load_board("nsim_em"), config)
    assert linked_addresses(layout, tmp_path) == {
        placed.section: placed.address for placed in layout.heaps}


@pytest.mark.toolchain("arm")
@pytest.mark.parametrize("config", [
    LlextConfig(),
    LlextConfig(heap_backend=HeapBackend.MEMBLK, heap_memblk_block_size=4096),
], ids=["k_heap", "memblk-4k"])
def test_placing_again_against_the_linked_image_keeps_every_address(
        config: LlextConfig, tmp_path: Path) -> None:
    # The image already holds the heaps; the ELF importer carves them out of .noinit,
    # and the solver puts them back exactly where they are.
    board = load_board("qemu_cortex_m3")
    layout = place(board, config)
    linked_addresses(layout, tmp_path)
    again = place(board, config, used=used_ranges(tmp_path / "image.elf", board))
    assert [(h.section, h.address) for h in again.heaps] == [
        (h.section, h.address) for h in layout.heaps]
