"""The solver's answer: where each LLEXT heap section goes, and what is left around it.

A `Layout` is what the emitters turn into files and what the loader loads extensions into.
All addresses and sizes are in bytes.
"""

from __future__ import annotations

import enum

from placer import records
from placer.board import UsedRange
from placer.target import HeapRole, HeapSection, Target


class Placement(enum.Enum):
    """How a heap enters the linked image (Zephyr's include/zephyr/linker/common-noinit.ld and
    include/zephyr/arch/arc/v2/linker.ld)."""

    NOINIT = "noinit"  # input section of the NOLOAD .noinit output section (Zephyr default)
    OUTPUT_SECTION = "output-section"  # its own NOLOAD output section (custom script)
    IN_RODATA = "in-rodata"  # ARC Harvard: inside .rodata in ICCM, part of the ROM image
    IN_DATA = "in-data"  # ARC Harvard: inside .data in DCCM (has an LMA when XIP)


class AddressSource(enum.Enum):
    """Where a heap's address comes from, so nothing downstream treats a guess as a fact."""

    #: The script fixes it: the user pinned the address, or the heap is its own output
    #: section at an explicit address in placer's script.
    PINNED = "pinned"
    #: Follows from the built image (``zephyr.elf``/``zephyr.map``) read in this run: a
    #: relink of that image puts the heap there.
    MEASURED = "measured"
    #: Follows from a board model's canned image sizes: where the heap lands depends on
    #: the real image.
    ESTIMATED = "estimated"


@records.frozen
class PlacedHeap:
    """A heap section at its address: `padding` bytes of alignment precede it;
    `address_source` says whether the address is pinned, measured or an estimate."""

    heap: HeapSection
    region: str
    address: int
    padding: int
    placement: Placement = Placement.NOINIT
    pinned: bool = False
    address_source: AddressSource = AddressSource.ESTIMATED

    @property
    def section(self) -> str:
        """The heap's input section name (``.llext_heap``...)."""
        return self.heap.section

    @property
    def size(self) -> int:
        """The heap buffer's size in bytes."""
        return self.heap.size

    @property
    def end(self) -> int:
        """First address past the heap."""
        return self.address + self.heap.size


@records.frozen
class RegionSpace:
    """A region's free space before and after the heaps go in."""

    region: str
    origin: int
    length: int
    used_before: int
    free_before: int
    free_after: int
    largest_gap_after: int


@records.frozen
class DynamicBuffer:
    """``LLEXT_HEAP_DYNAMIC``: what the buffer the application passes must satisfy."""

    role: HeapRole
    init_call: str
    minimum_size: int
    align: int
    regions: tuple[str, ...]
    note: str = ""


@records.frozen
class UsableAllocation:
    """Under user mode with a power-of-two MPU: the largest extension region a heap can
    serve from its chosen base, after the allocator's header and power-of-two alignment.

    `base_alignment` is the modulus the solver placed the heap's base for (the heap's own
    alignment, or the block size when it moved the base so that the first block needs no
    split-off fragment); `count` is how many blocks of `largest_region` bytes a fresh heap
    serves one after another from that base.
    """

    section: str
    base_alignment: int
    largest_region: int
    count: int = 1


@records.frozen
class Layout:
    """Every heap section placed, for one target."""

    target: Target
    heaps: tuple[PlacedHeap, ...]
    regions: tuple[RegionSpace, ...]
    dynamic: tuple[DynamicBuffer, ...] = ()
    usable: tuple[UsableAllocation, ...] = ()
    warnings: tuple[str, ...] = ()
    #: The image's used ranges where they lie once the heaps are in: Zephyr's default
    #: placement inserts heaps into the image's own output sections (``.noinit``; on ARC
    #: Harvard ``.rodata`` and ``.data``), which moves what follows them up, aligned as
    #: the linker aligns it. The solver says where; every emitter reads it from here.
    #: Default: the target board's ranges, unmoved.
    image: tuple[UsedRange, ...] = records.field(
        factory=lambda layout: tuple(layout.target.board.used), takes_self=True)

    def heap(self, section: str) -> PlacedHeap:
        """The placed heap for `section`; raises `KeyError` when the layout has none."""
        for placed in self.heaps:
            if placed.section == section:
                return placed
        raise KeyError(section)
