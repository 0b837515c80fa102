"""A board and a configuration resolved into what Zephyr would build: the target.

This is where board facts and Kconfig values meet: whether the build is Harvard, which
memory protection rounding applies to extension regions (``LLEXT_PAGE_SIZE`` in Zephyr's
subsys/llext/llext_mem.h; ``llext_copy_region`` in Zephyr's subsys/llext/llext_mem.c), and
which heap sections exist with which sizes and alignments (Zephyr's subsys/llext/llext_kheap.c and
llext_memblk.c). The solver, the
emitters and the loader all read the same `Target`, so they cannot disagree.
"""

from __future__ import annotations

import enum

from placer import records
from placer.board import (
    MPU_MIN_REGION,
    Arch,
    Board,
    Bus,
    MemoryRegion,
    MpuKind,
    default_mpu_granule,
)
from placer.config import BinaryType, HeapBackend, LlextConfig
from placer.llext.heap import HeapOptions, z_heap_min_size
from placer.versions import MPU_ROUNDING_REWORK, SHAREDLIB_EVERYWHERE, XTENSA_READONLY_STORAGE


class Rounding(enum.Enum):
    """How ``llext_copy_region`` rounds ALLOC regions (Zephyr's
    subsys/llext/llext_mem.c)."""

    NONE = "none"
    PAGE = "page"  # MMU, or an MPU with fine granules under user mode
    POWER_OF_TWO = "power-of-two"  # MPU_REQUIRES_POWER_OF_TWO_ALIGNMENT under user mode
    PMP = "pmp"  # RISC-V PMP granularity under user mode
    UNSUPPORTED = "unsupported"  # user mode with no rule: Zephyr returns -ENOTSUP


class HeapRole(enum.Enum):
    """What a heap serves (the allocators of Zephyr's subsys/llext/llext_kheap.h and
    llext_memblk.h)."""

    SHARED = "shared"  # .llext_heap: regions and metadata
    EXT = "ext"  # .llext_ext_heap: memblk pool for regions
    METADATA = "metadata"  # .llext_metadata_heap: k_heap for metadata
    INSTR = "instr"  # .llext_instr_heap: executable regions (Harvard)
    DATA = "data"  # .llext_data_heap: other regions (and metadata with k_heap)


#: The Kconfig option (without ``CONFIG_``; KiB) that sizes the heap of each role.
SIZE_OPTION: dict[HeapRole, str] = {
    HeapRole.SHARED: "LLEXT_HEAP_SIZE",
    HeapRole.EXT: "LLEXT_EXT_HEAP_SIZE",
    HeapRole.METADATA: "LLEXT_METADATA_HEAP_SIZE",
    HeapRole.INSTR: "LLEXT_INSTR_HEAP_SIZE",
    HeapRole.DATA: "LLEXT_DATA_HEAP_SIZE",
}


@records.frozen
class HeapSection:
    """One static heap buffer as the linker sees it: an input section to place.

    `size` and `align` are in bytes, exactly as Zephyr defines the buffer. `backend` is
    the allocator managing it; `block_size` is set for memblk pools. `needs_instruction_bus`
    and `needs_data_bus` say which bus must reach the memory it goes in.
    """

    section: str
    symbol: str
    role: HeapRole
    backend: HeapBackend
    size: int
    align: int
    block_size: int | None = None
    needs_instruction_bus: bool = False
    needs_data_bus: bool = True
    writable_at_load: bool = True


@records.frozen
class Target:
    """A board built with a configuration, with every derived fact LLEXT depends on."""

    board: Board
    config: LlextConfig
    harvard: bool
    mmu: bool
    page_size: int
    rounding: Rounding
    rounding_granule: int
    #: ``LLEXT_STORAGE_WRITABLE`` after defaults: what ``LLEXT_BUF_LOADER()`` declares.
    storage_writable: bool = False
    #: ``LLEXT_BINARY_TYPE`` after the per-architecture default of the choice.
    binary_type: BinaryType = BinaryType.ELF_OBJECT
    #: ``LLEXT_BUILD_PIC`` after its default.
    build_pic: bool = False

    @property
    def pointer_size(self) -> int:
        """``sizeof(void *)`` on the board, in bytes."""
        return self.board.pointer_size

    def round_region(self, size: int, align: int) -> tuple[int, int]:
        """Size and alignment of an ALLOC region after MMU/MPU/PMP rounding (``llext_copy_region``
        in Zephyr's subsys/llext/llext_mem.c)."""
        if self.rounding is Rounding.NONE:
            return size, align
        if self.rounding is Rounding.POWER_OF_TWO:
            block = _next_power_of_two(max(size, align, self.rounding_granule))
            return block, block
        granule = self.rounding_granule
        return _round_up(size, granule), max(align, granule)

    @property
    def heap_options(self) -> HeapOptions:
        """The options this build gives its sys_heaps."""
        return HeapOptions.for_config(self.pointer_size, self.config)

    def heap_sections(self) -> tuple[HeapSection, ...]:
        """The static heap buffers this build defines, in Zephyr's declaration order.

        Empty for ``LLEXT_HEAP_DYNAMIC`` (the application provides the buffer) and when
        LLEXT is off.
        """
        cfg = self.config
        if not cfg.llext or cfg.heap_dynamic:
            return ()
        minimum = z_heap_min_size(self.heap_options)
        kib = 1024
        if cfg.heap_backend is HeapBackend.K_HEAP:
            if self.harvard:
                return (
                    _kheap(".llext_instr_heap", "llext_instr_heap", HeapRole.INSTR,
                           max(cfg.instr_heap_size * kib, minimum)),
                    _kheap(".llext_data_heap", "llext_data_heap", HeapRole.DATA,
                           max(cfg.data_heap_size * kib, minimum)),
                )
            return (
                _kheap(".llext_heap", "llext_heap", HeapRole.SHARED,
                       max(cfg.heap_size * kib, minimum)),
            )
        block = cfg.heap_memblk_block_size
        metadata = _kheap(".llext_metadata_heap", "llext_metadata_heap", HeapRole.METADATA,
                          max(cfg.metadata_heap_size * kib, minimum))
        word = self.pointer_size
        if self.harvard:
            return (
                _pool(".llext_instr_heap", "llext_instr_heap", HeapRole.INSTR,
                      cfg.instr_heap_size * kib, block, word),
                _pool(".llext_data_heap", "llext_data_heap", HeapRole.DATA,
                      cfg.data_heap_size * kib, block, word),
                metadata,
            )
        return (
            _pool(".llext_ext_heap", "llext_ext_heap", HeapRole.EXT,
                  cfg.ext_heap_size * kib, block, word),
            metadata,
        )


def _kheap(section: str, symbol: str, role: HeapRole, size: int) -> HeapSection:
    # K_HEAP_DEFINE aligns its buffer to 8 (Z_HEAP_DEFINE_IN_SECT, kernel.h).
    instr = role is HeapRole.INSTR
    return HeapSection(
        section=section, symbol=symbol, role=role, backend=HeapBackend.K_HEAP,
        size=size, align=8, needs_instruction_bus=instr, needs_data_bus=not instr,
    )


def _pool(section: str, symbol: str, role: HeapRole, size: int, block: int,
          word: int) -> HeapSection:
    # SYS_MEM_BLOCKS_DEFINE(name, B, N, B): N = size / B whole blocks; each block takes
    # WB_UP(B) bytes (B rounded up to the word size) and the buffer is aligned to WB_UP(B).
    blocks = size // block if block > 0 else 0
    stride = _round_up(max(block, 1), word)
    instr = role is HeapRole.INSTR
    return HeapSection(
        section=section, symbol=symbol, role=role, backend=HeapBackend.MEMBLK,
        size=blocks * stride, align=stride, block_size=block,
        needs_instruction_bus=instr, needs_data_bus=not instr,
    )


def _round_up(value: int, granule: int) -> int:
    return -(-value // granule) * granule


def _next_power_of_two(value: int) -> int:
    return 1 << max(value - 1, 0).bit_length()


def llext_page_size(board: Board, config: LlextConfig) -> int:
    """``LLEXT_PAGE_SIZE`` (Zephyr's subsys/llext/llext_mem.h)."""
    page = config.mmu_page_size if config.mmu_page_size is not None else board.mmu_page_size
    mmu = config.mmu if config.mmu is not None else board.mmu_page_size is not None
    if mmu and page is not None:
        return page
    arc_ver = config.arc_mpu_ver if config.arc_mpu_ver is not None else board.mpu.version
    if board.arch is Arch.ARC and arc_ver == 2:
        return default_mpu_granule(MpuKind.ARC_MPU, 2)
    if board.mpu.kind is MpuKind.XTENSA_MPU:
        return board.mpu.granule  # XCHAL_MPU_ALIGN: the core's own, from its board file
    return MPU_MIN_REGION


def enabled_mpu(board: Board, config: LlextConfig) -> MpuKind | None:
    """The MPU this build enables, or None: ``CONFIG_ARM_MPU``/``ARC_MPU``/``XTENSA_MPU`` as
    the configuration sets them, else the board's MPU. The one home of "does this build
    have an MPU" (the rounding of extension regions and the memblk page rule ask it)."""
    kind = board.mpu.kind
    flags = ((MpuKind.ARM_MPU, config.arm_mpu), (MpuKind.NXP_MPU, config.arm_mpu),
             (MpuKind.ARC_MPU, config.arc_mpu), (MpuKind.XTENSA_MPU, config.xtensa_mpu))
    for candidate, flag in flags:
        if kind is candidate and flag is not False:
            return kind
    for candidate, flag in flags:
        if flag:
            return candidate  # a configuration that enables an MPU the board file lacks
    return None


def enabled_pmp(board: Board, config: LlextConfig) -> bool:
    """Whether this build enables the RISC-V PMP (``CONFIG_RISCV_PMP``, else the board's)."""
    return config.riscv_pmp if config.riscv_pmp is not None else (
        board.mpu.kind is MpuKind.RISCV_PMP)


def resolve(board: Board, config: LlextConfig) -> Target:
    """Combine a board and a configuration into the `Target` Zephyr would build.

    Configuration values win where they are set; otherwise the board decides.
    """
    harvard = config.harvard if config.harvard is not None else board.harvard
    mmu = config.mmu if config.mmu is not None else board.mmu_page_size is not None
    page = llext_page_size(board, config)
    rounding, granule = _rounding(board, config, mmu, page)
    binary = binary_type(board, config)
    return Target(board=board, config=config, harvard=harvard, mmu=mmu, page_size=page,
                  rounding=rounding, rounding_granule=granule,
                  storage_writable=storage_writable(board, config), binary_type=binary,
                  build_pic=build_pic(board, config, binary))


def architecture(board: Board, config: LlextConfig) -> Arch:
    """The architecture: the configuration's arch symbol if it names one, else the board's."""
    return Arch(config.arch) if config.arch is not None else board.arch


def binary_type(board: Board, config: LlextConfig) -> BinaryType:
    """``LLEXT_BINARY_TYPE``: the configured entry, else the choice's per-arch default.

    ARM and ARM64 default to ELF_OBJECT, Xtensa to ELF_SHAREDLIB, RISC-V to
    ELF_RELOCATABLE; elsewhere Kconfig takes the first visible entry, ELF_OBJECT.
    """
    if config.binary_type is not None:
        return config.binary_type
    arch = architecture(board, config)
    if arch is Arch.XTENSA:
        return BinaryType.ELF_SHAREDLIB
    if arch is Arch.RISCV:
        return BinaryType.ELF_RELOCATABLE
    return BinaryType.ELF_OBJECT


def build_pic(board: Board, config: LlextConfig, binary: BinaryType) -> bool:
    """``LLEXT_BUILD_PIC``: default y for shared libraries where the option exists."""
    arch = architecture(board, config)
    exists = arch is Arch.XTENSA or (binary is BinaryType.ELF_SHAREDLIB
                                     and config.zephyr_version >= SHAREDLIB_EVERYWHERE)
    if not exists:
        return False
    if config.build_pic is not None:
        return config.build_pic
    return binary is BinaryType.ELF_SHAREDLIB


def storage_writable(board: Board, config: LlextConfig) -> bool:
    """``LLEXT_STORAGE_WRITABLE``: as set, else ``y if XTENSA`` before PR #114099."""
    if config.storage_writable is not None:
        return config.storage_writable
    old = config.zephyr_version < XTENSA_READONLY_STORAGE
    return old and architecture(board, config) is Arch.XTENSA


def _rounding(board: Board, config: LlextConfig, mmu: bool, page: int) -> tuple[Rounding, int]:
    if mmu:
        return Rounding.PAGE, page
    kind = board.mpu.kind
    arm_or_arc = enabled_mpu(board, config) in (MpuKind.ARM_MPU, MpuKind.NXP_MPU,
                                                MpuKind.ARC_MPU)
    if config.zephyr_version < MPU_ROUNDING_REWORK:
        # 4.0-4.3: any Arm or ARC MPU forced power-of-two regions, user mode or not.
        if arm_or_arc:
            return Rounding.POWER_OF_TWO, page
        return Rounding.NONE, 1
    if not config.userspace:
        # PR #100964: without user mode no MPU region is ever made for an extension.
        return Rounding.NONE, 1
    pow2 = config.mpu_requires_power_of_two_alignment
    if pow2 is None:
        pow2 = board.mpu.requires_power_of_two
    if pow2:
        return Rounding.POWER_OF_TWO, page
    if arm_or_arc:
        return Rounding.PAGE, page
    if enabled_pmp(board, config):
        gran = config.pmp_granularity
        if gran is None:
            gran = board.mpu.granule if kind is MpuKind.RISCV_PMP else 1
        return Rounding.PMP, max(gran, 1)
    return Rounding.UNSUPPORTED, 1


#: Roles whose heap holds extensions' code: a non-Harvard heap (or memblk pool) holds every
#: region, text included (subsys/llext/llext_mem.c, llext_copy_section); the Harvard
#: instruction heap holds the text. The metadata and Harvard data heaps hold no code.
CODE_ROLES = frozenset({HeapRole.SHARED, HeapRole.EXT, HeapRole.INSTR})
#: Roles whose heap the loader writes through the data bus.
_DATA_ROLES = frozenset({HeapRole.SHARED, HeapRole.EXT, HeapRole.DATA, HeapRole.METADATA})


def exclusion(board: Board, heap: HeapSection, region: MemoryRegion) -> str | None:
    """Why `heap` may not go in `region`, in words, or None when it may.

    Static heaps are written by ``k_heap_init`` at boot and by the loader afterwards, so
    the memory must be writable, writable while extensions load, and present at boot.
    The Harvard instruction heap needs executable memory on the instruction bus; every
    other heap is data memory to the loader, so it needs the data bus; and a heap that
    holds code (`CODE_ROLES`: a non-Harvard heap runs the extensions' code where Zephyr's
    ``.noinit`` puts it) needs executable memory.
    """
    if region.name in board.forbidden_regions:
        return "forbidden by the board"
    if region.length <= 0:
        return "empty"
    if not region.writable:
        return f"not writable (attributes {_attrs(region)})"
    if not region.writable_at_load:
        return "not writable at load time"
    if region.volatile:
        return "not present at boot (volatile)"
    if heap.role is HeapRole.INSTR:
        if region.bus is Bus.DATA:
            return "not on the instruction bus"
        if not region.executable:
            return f"not executable (attributes {_attrs(region)})"
    if heap.role in _DATA_ROLES and region.bus is Bus.INSTRUCTION:
        return "not on the data bus"
    if heap.role in CODE_ROLES and not region.executable:
        return (f"not executable (attributes {_attrs(region)}): the extensions' code in "
                "this heap would fault on its first instruction")
    return None


def _attrs(region: MemoryRegion) -> str:
    return "".join(flag for flag in "rwx" if flag in region.attributes) or "none"


def board_symbols(target: Target) -> tuple[tuple[str, str], ...]:
    """The Kconfig values the board and its SoC decide for `target` (the architecture,
    ``HARVARD``, ``MMU``, the MPU or PMP, ``64BIT``), as ``(symbol, value)`` pairs: what
    Zephyr's Kconfig has set before it reads ``prj.conf`` and ``llext.conf``."""
    board = target.board
    out = [(board.arch.name, "y"), ("HARVARD", "y" if target.harvard else "n"),
           ("64BIT", "y" if target.pointer_size == 8 else "n")]
    if target.mmu:
        out += [("MMU", "y"), ("MMU_PAGE_SIZE", hex(target.page_size))]
    mpu = enabled_mpu(board, target.config)
    if mpu is not None:
        symbol = {"arc": "ARC_MPU", "xtensa": "XTENSA_MPU"}.get(board.arch.value, "ARM_MPU")
        out.append((symbol, "y"))
    if enabled_pmp(board, target.config):
        out.append(("RISCV_PMP", "y"))
    return tuple(out)
