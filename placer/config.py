"""The LLEXT Kconfig model: every option that decides heaps, ELF kinds, symbols and storage.

`LlextConfig` holds the values as Zephyr's build would see them, typed and in their own
units (the ``*_HEAP_SIZE`` options in KiB as Kconfig has them; everything placer computes
from them is in bytes). System options that the board normally decides (``HARVARD``,
``MMU``, ``USERSPACE``, the MPU kind) are ``None`` when the configuration does not say, so
that `placer.target.resolve` can take them from the board.
"""

from __future__ import annotations

import enum

import attrs

#: The newest Zephyr behaviour placer models (llext-facts "S-newest").
NEWEST_ZEPHYR = (4, 4)


class HeapBackend(enum.Enum):
    """``LLEXT_HEAP_MANAGEMENT``: the allocator for extension regions."""

    K_HEAP = "k_heap"
    MEMBLK = "memblk"


class BinaryType(enum.Enum):
    """``LLEXT_BINARY_TYPE``: how ``add_llext_target()`` builds an extension."""

    ELF_OBJECT = "ELF_OBJECT"
    ELF_RELOCATABLE = "ELF_RELOCATABLE"
    ELF_SHAREDLIB = "ELF_SHAREDLIB"


@attrs.frozen(slots=True)
class LlextConfig:
    """The LLEXT-relevant Kconfig values of one build.

    Field names are the Kconfig names without ``CONFIG_`` and in lower case. Sizes keep
    Kconfig's units: ``*_heap_size`` in KiB, `heap_memblk_block_size` in bytes.
    `set_by` maps an option name (upper case, no prefix) to the ``file:line`` that set it,
    so errors can point at it.
    """

    llext: bool = True
    heap_dynamic: bool = False
    heap_backend: HeapBackend = HeapBackend.K_HEAP
    custom_heap_placement: bool = False
    heap_size: int = 8
    metadata_heap_size: int = 4
    ext_heap_size: int = 16
    heap_memblk_block_size: int = 32
    instr_heap_size: int = 4
    data_heap_size: int = 8
    shell_max_size: int = 8192

    binary_type: BinaryType | None = None
    build_pic: bool | None = None
    storage_writable: bool | None = None
    rodata_no_reloc: bool = False
    veneers: bool = False
    import_all_globals: bool = False
    edk: bool = True
    export_builtins_by_slid: bool = False
    export_default_groups: bool = True
    export_symbol_groups: frozenset[str] = frozenset({"UNASSIGNED", "SYSCALL", "LIBC"})
    export_devices: bool = False
    export_dev_ids_by_hash: bool = False

    # System options: None means "as the board has it".
    harvard: bool | None = None
    userspace: bool = False
    mmu: bool | None = None
    mmu_page_size: int | None = None
    arm_mpu: bool | None = None
    arc_mpu: bool | None = None
    arc_mpu_ver: int | None = None
    xtensa_mpu: bool | None = None
    riscv_pmp: bool | None = None
    pmp_granularity: int | None = None
    mpu_requires_power_of_two_alignment: bool | None = None
    big_endian: bool | None = None
    is_64bit: bool | None = None

    sys_heap_big_only: bool = False
    sys_heap_small_only: bool = False
    sys_heap_alloc_loops: int = 3
    sys_heap_runtime_stats: bool = False
    sys_heap_hardening_full: bool = False

    zephyr_version: tuple[int, int] = NEWEST_ZEPHYR
    set_by: tuple[tuple[str, str], ...] = ()

    def where(self, option: str) -> str | None:
        """The ``file:line`` that set `option` (upper case, no prefix), if known."""
        for name, place in self.set_by:
            if name == option:
                return place
        return None
