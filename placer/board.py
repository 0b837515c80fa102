"""The board model: what memory a board has, what it can do, and what is already used.

A `Board` is pure data. Loading board files, the shipped boards and the importers (from a
MEMORY block, a built ``zephyr.elf`` or a ``zephyr.dts``) build it; the solver, the
emitters and the loader read it.
"""

from __future__ import annotations

import enum
from pathlib import Path

from placer import records


class Arch(enum.Enum):
    """Zephyr architecture families that LLEXT supports."""

    ARM = "arm"
    ARM64 = "arm64"
    RISCV = "riscv"
    X86 = "x86"
    ARC = "arc"
    XTENSA = "xtensa"


class Bus(enum.Enum):
    """Which CPU bus reaches a region: Harvard cores split instruction and data."""

    INSTRUCTION = "instruction"
    DATA = "data"
    BOTH = "both"


class MpuKind(enum.Enum):
    """Memory protection hardware, as far as LLEXT's rounding rules care (``llext_copy_region`` in
    Zephyr's subsys/llext/llext_mem.c)."""

    NONE = "none"
    ARM_MPU = "arm-mpu"
    ARC_MPU = "arc-mpu"
    XTENSA_MPU = "xtensa-mpu"
    RISCV_PMP = "riscv-pmp"
    #: NXP's system MPU (Kinetis SYSMPU). Zephyr drives it with ``CONFIG_ARM_MPU`` (whose
    #: power-of-two select excludes ``CPU_HAS_NXP_SYSMPU``), so LLEXT rounds for it as for
    #: an Arm MPU with 32-byte granules.
    NXP_MPU = "nxp-mpu"


@records.frozen
class MemoryRegion:
    """One memory region, as a MEMORY block or a devicetree memory node declares it.

    `attributes` holds the lowercase subset of "rwx" the region allows. `writable_at_load`
    says whether the CPU can write it while extensions are loaded (ICCM written through
    the data bus qualifies; flash does not). `retained` marks memory that keeps its
    contents across reset; `volatile` marks memory that is not there at boot.
    `alias_of` names another region that is the same physical memory seen at other
    addresses (ESP32's IRAM and DRAM views of one SRAM): address ``a`` here is address
    ``a + alias_offset`` there, so bytes used through one view are used in both.
    """

    name: str
    origin: int
    length: int
    attributes: frozenset[str] = frozenset({"r", "w", "x"})
    bus: Bus = Bus.BOTH
    writable_at_load: bool = True
    retained: bool = False
    volatile: bool = False
    alias_of: str | None = None
    alias_offset: int = 0

    @property
    def end(self) -> int:
        """First address past the region."""
        return self.origin + self.length

    @property
    def readable(self) -> bool:
        """Whether the attributes allow reading (``r``)."""
        return "r" in self.attributes

    @property
    def writable(self) -> bool:
        """Whether the attributes allow writing (``w``)."""
        return "w" in self.attributes

    @property
    def executable(self) -> bool:
        """Whether the attributes allow running code (``x``)."""
        return "x" in self.attributes

    def contains(self, address: int, size: int = 1) -> bool:
        """Whether ``[address, address + size)`` lies inside the region."""
        return self.origin <= address and address + size <= self.end


@records.frozen
class UsedRange:
    """Bytes of a region that the image already occupies (`what` names the occupant)."""

    region: str
    start: int
    size: int
    what: str

    @property
    def end(self) -> int:
        """First address past the range."""
        return self.start + self.size


@records.frozen
class ImageSizes:
    """Sizes in bytes of the built image's output sections, as a board file may give them.

    The used ranges follow from them in the base script's order (`placer.boardfile`
    documents the rule): `text` (vectors included) and `rodata` in `text_region`, `data`
    in the RAM region with its load image in `data_load_region`, then `bss` and `noinit`.
    Each section starts at the next multiple of `align`.
    """

    text: int = 0
    rodata: int = 0
    data: int = 0
    bss: int = 0
    noinit: int = 0
    align: int = 4
    text_region: str | None = None
    rodata_region: str | None = None
    data_load_region: str | None = None


#: The smallest region of an Arm MPU, and of ARC MPUs from v3 on: 32 bytes (the fallback of
#: ``LLEXT_PAGE_SIZE`` in Zephyr's ``subsys/llext/llext_mem.h``).
MPU_MIN_REGION = 32
#: ARC MPU v2's smallest region (``MPU_MIN_SIZE`` in ``include/zephyr/arch/arc/v2/linker.ld``).
ARC_MPU_V2_MIN_REGION = 2048
#: ``CONFIG_PMP_GRANULARITY``'s default: RISC-V PMP regions are 4-byte granular.
PMP_DEFAULT_GRANULARITY = 4


def default_mpu_granule(kind: MpuKind, version: int | None) -> int:
    """The smallest region of an MPU of `kind` (and ARC `version`) when a board file does not
    give its granule; the one home of these defaults (board files, `placer.target`)."""
    if kind is MpuKind.ARC_MPU and version == 2:
        return ARC_MPU_V2_MIN_REGION
    if kind is MpuKind.RISCV_PMP:
        return PMP_DEFAULT_GRANULARITY
    return MPU_MIN_REGION


@records.frozen
class Mpu:
    """The memory protection unit as LLEXT sees it.

    `requires_power_of_two` is ``CONFIG_MPU_REQUIRES_POWER_OF_TWO_ALIGNMENT`` (ARMv7-M,
    ARC MPU v2); `granule` is the minimum region size in bytes (32 for the Arm MPU,
    2048 for ARC MPU v2, the PMP granularity for RISC-V). `version` is the ARC MPU
    version where that matters.
    """

    kind: MpuKind
    requires_power_of_two: bool = False
    granule: int = MPU_MIN_REGION
    version: int | None = None


@records.frozen
class Board:
    """A board: its CPU facts, memory regions, protection hardware and used ranges.

    `noinit_region` names the region that holds ``.noinit`` (Zephyr's RAMABLE_REGION);
    `base_script` is the board's linker script (a path) that emitted scripts start from.
    `preferred_regions` orders regions the board wants heaps in; `forbidden_regions` lists
    regions no heap may use. `image` keeps the section sizes the used ranges were derived
    from (if the board file gave them); `xip` is ``CONFIG_XIP``: whether code runs from
    `flash_region` and initialised data has a load image there. `used_measured` says the
    used ranges were read from the built image (``zephyr.elf``, ``zephyr.map``) in this run;
    otherwise they are an estimate from the board model.
    """

    name: str
    arch: Arch
    cpu: str
    regions: tuple[MemoryRegion, ...]
    noinit_region: str
    endianness: str = "little"
    elf_class: int = 32
    machine: int = 40
    harvard: bool = False
    mmu_page_size: int | None = None
    mpu: Mpu = Mpu(MpuKind.NONE)
    used: tuple[UsedRange, ...] = ()
    base_script: Path | None = None
    flash_region: str | None = None
    preferred_regions: tuple[str, ...] = ()
    forbidden_regions: tuple[str, ...] = ()
    description: str = ""
    source: Path | None = None
    image: ImageSizes | None = None
    xip: bool = True
    used_measured: bool = False

    @property
    def pmp_granularity(self) -> int | None:
        """``CONFIG_PMP_GRANULARITY`` when the board has a RISC-V PMP."""
        return self.mpu.granule if self.mpu.kind is MpuKind.RISCV_PMP else None

    @property
    def pointer_size(self) -> int:
        """``sizeof(void *)`` on the target, in bytes."""
        return self.elf_class // 8

    def used_in(self, name: str) -> tuple[UsedRange, ...]:
        """Every used range that occupies region `name`, sorted by start.

        Includes ranges used through an alias of the same memory (`MemoryRegion.alias_of`),
        translated to this region's addresses and clipped to it.
        """
        region = self.region(name)
        found = [u for u in self.used if u.region == name]
        for other in self.regions:
            offset: int | None = None
            if other.name != name and other.alias_of == name:
                offset = other.alias_offset  # other's a -> a + offset here
            elif other.name != name and region.alias_of == other.name:
                offset = -region.alias_offset  # other's a -> a - offset here
            if offset is None:
                continue
            for used in self.used:
                if used.region != other.name:
                    continue
                start = max(used.start + offset, region.origin)
                end = min(used.end + offset, region.end)
                if start < end:
                    found.append(UsedRange(region=name, start=start, size=end - start,
                                           what=f"{used.what} (through {other.name})"))
        return tuple(sorted(found, key=lambda u: (u.start, u.size, u.what)))

    def region_name_at(self, address: int) -> str | None:
        """The name of the first region that holds `address`; None when no region does."""
        for region in self.regions:
            if region.contains(address):
                return region.name
        return None

    def region(self, name: str) -> MemoryRegion:
        """The region called `name`; raises `KeyError` when the board has none."""
        for region in self.regions:
            if region.name == name:
                return region
        raise KeyError(name)
