"""Boards and layouts for the loader tests, built directly from the shared types."""

from __future__ import annotations

from placer import records
from placer.board import Arch, Board, Bus, MemoryRegion
from placer.config import LlextConfig
from placer.layout import Layout, PlacedHeap
from placer.target import resolve

#: Board facts per test architecture key (see `tests.llext.build.FLAGS`).
BOARDS: dict[str, Board] = {
    "arm": Board(name="test_m4", arch=Arch.ARM, cpu="cortex-m4", machine=40,
                 regions=(MemoryRegion("RAM", 0x2000_0000, 0x4_0000),), noinit_region="RAM"),
    "arm-m0": Board(name="test_m0", arch=Arch.ARM, cpu="cortex-m0", machine=40,
                    regions=(MemoryRegion("RAM", 0x2000_0000, 0x4_0000),),
                    noinit_region="RAM"),
    "arm64": Board(name="test_a53", arch=Arch.ARM64, cpu="cortex-a53", machine=183,
                   elf_class=64, regions=(MemoryRegion("RAM", 0x4000_0000, 0x4_0000),),
                   noinit_region="RAM"),
    "riscv32": Board(name="test_rv32", arch=Arch.RISCV, cpu="rv32imac", machine=243,
                     regions=(MemoryRegion("RAM", 0x8000_0000, 0x4_0000),),
                     noinit_region="RAM"),
    "riscv64": Board(name="test_rv64", arch=Arch.RISCV, cpu="rv64imac", machine=243,
                     elf_class=64,
                     regions=(MemoryRegion("RAM", 0x8000_0000, 0x4_0000),),
                     noinit_region="RAM"),
    "x86-64": Board(name="test_x86_64", arch=Arch.X86, cpu="x86-64", machine=62,
                    elf_class=64,
                    regions=(MemoryRegion("RAM", 0x10_0000, 0x4_0000),), noinit_region="RAM"),
    "arc": Board(name="test_arc", arch=Arch.ARC, cpu="em4", machine=195, harvard=True,
                 regions=(MemoryRegion("ICCM", 0x0, 0x4_0000, bus=Bus.INSTRUCTION),
                          MemoryRegion("DCCM", 0x8000_0000, 0x4_0000, bus=Bus.DATA)),
                 noinit_region="DCCM"),
    "xtensa": Board(name="test_lx106", arch=Arch.XTENSA, cpu="lx106", machine=94,
                    regions=(MemoryRegion("DRAM", 0x3FFE_8000, 0x1_4000),),
                    noinit_region="DRAM"),
}


def layout_for(arch: str, config: LlextConfig | None = None, *,
               addresses: dict[str, int] | None = None) -> Layout:
    """A layout with the target's heap sections packed from the start of its regions
    (Harvard: instruction heap in ICCM, the others in DCCM), or at `addresses`."""
    board = BOARDS[arch]
    target = resolve(board, config if config is not None else LlextConfig())
    placed = []
    cursor: dict[str, int] = {r.name: r.origin + 0x1000 for r in board.regions}
    for heap in target.heap_sections():
        region = "ICCM" if heap.needs_instruction_bus and target.harvard else board.noinit_region
        if addresses and heap.section in addresses:
            address = addresses[heap.section]
        else:
            address = -(-cursor[region] // heap.align) * heap.align
            cursor[region] = address + heap.size
        placed.append(PlacedHeap(heap=heap, region=region, address=address, padding=0))
    return Layout(target=target, heaps=tuple(placed), regions=())


def with_config(layout: Layout, **changes: object) -> LlextConfig:
    """The layout's configuration with `changes` applied."""
    return records.evolve(layout.target.config, **changes)  # type: ignore[arg-type]
