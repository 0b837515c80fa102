"""The LLEXT Kconfig model: every option that decides heaps, ELF kinds, symbols and storage.

`LlextConfig` holds the values as Zephyr's build would see them, typed and in their own
units (the ``*_HEAP_SIZE`` options in KiB as Kconfig has them; everything placer computes
from them is in bytes). System options that the board normally decides (``HARVARD``,
``MMU``, ``USERSPACE``, the MPU kind) are ``None`` when the configuration does not say, so
that `placer.target.resolve` can take them from the board.
"""

from __future__ import annotations

import enum
from pathlib import Path
from typing import TYPE_CHECKING

from placer import records
from placer.errors import ConfigError
from placer.versions import NEWEST_ZEPHYR, ZephyrVersion, as_zephyr_version

if TYPE_CHECKING:
    from placer.dotconfig import KconfigValues



class HeapBackend(enum.Enum):
    """``LLEXT_HEAP_MANAGEMENT``: the allocator for extension regions."""

    K_HEAP = "k_heap"
    MEMBLK = "memblk"


class BinaryType(enum.Enum):
    """``LLEXT_BINARY_TYPE``: how ``add_llext_target()`` builds an extension."""

    ELF_OBJECT = "ELF_OBJECT"
    ELF_RELOCATABLE = "ELF_RELOCATABLE"
    ELF_SHAREDLIB = "ELF_SHAREDLIB"


@records.frozen
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

    zephyr_version: ZephyrVersion = records.field(default=NEWEST_ZEPHYR,
                                                  converter=as_zephyr_version)
    set_by: tuple[tuple[str, str], ...] = ()

    # Architecture symbols, when the configuration names them (None: take the board's).
    arch: str | None = None
    armv6_m_armv8_m_baseline: bool | None = None
    isa_arcv3: bool | None = None
    llext_shell: bool = False
    #: Every ``LLEXT_EXPORT_SYMBOL_GROUP_*`` symbol the files mention (set or not set).
    declared_symbol_groups: frozenset[str] = frozenset()
    #: What reading the files noticed that is not an error (duplicate assignments...).
    warnings: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        # A value no Zephyr build can have is refused here, by option name, so a library
        # caller's LlextConfig(heap_size=-4) fails as a .config with the same value does.
        for spec in OPTIONS:
            if spec.field is None or spec.kind not in (OptionKind.INT, OptionKind.HEX):
                continue
            value = getattr(self, spec.field)
            if value is not None and (not isinstance(value, int) or isinstance(value, bool)):
                raise ConfigError((spec.name,), f"{value!r} is not a number",
                                  f"give {spec.field} an int")
            if value is not None and value < 0:
                raise ConfigError((spec.name,), f"{value} is negative: a size or count "
                                  "cannot be", "use 0 or more")

    def where(self, option: str) -> str | None:
        """The ``file:line`` that set `option` (upper case, no prefix), if known."""
        for name, place in self.set_by:
            if name == option:
                return place
        return None


# --------------------------------------------------------------------------------------
# The options, with their Kconfig types, defaults, units and dependencies (Zephyr's
# subsys/llext/Kconfig).


class OptionKind(enum.Enum):
    """A Kconfig symbol type."""

    BOOL = "bool"
    INT = "int"
    HEX = "hex"
    STRING = "string"


@records.frozen
class OptionSpec:
    """One Kconfig option placer reads.

    `field` is the `LlextConfig` attribute it sets (``None`` for choice entries and
    symbol groups, which `read_config` folds into one field). `default` and `depends` are
    Kconfig's, in Kconfig's words; `unit` is ``"KiB"`` or ``"bytes"`` for sizes.
    """

    name: str
    kind: OptionKind
    field: str | None
    default: str
    depends: str = ""
    unit: str | None = None


_B, _I, _H, _S = OptionKind.BOOL, OptionKind.INT, OptionKind.HEX, OptionKind.STRING

#: Every option `read_config` understands, in the order of Zephyr's subsys/llext/Kconfig.
OPTIONS: tuple[OptionSpec, ...] = (
    OptionSpec("LLEXT", _B, "llext", "n"),
    OptionSpec("LLEXT_HEAP_DYNAMIC", _B, "heap_dynamic", "n", "LLEXT"),
    OptionSpec("LLEXT_HEAP_K_HEAP", _B, None, "y (choice LLEXT_HEAP_MANAGEMENT)", "LLEXT"),
    OptionSpec("LLEXT_HEAP_MEMBLK", _B, None, "n (choice LLEXT_HEAP_MANAGEMENT)",
               "!LLEXT_HEAP_DYNAMIC"),
    OptionSpec("LLEXT_CUSTOM_HEAP_PLACEMENT", _B, "custom_heap_placement", "n", "LLEXT"),
    OptionSpec("LLEXT_HEAP_SIZE", _I, "heap_size", "8",
               "!LLEXT_HEAP_DYNAMIC && !HARVARD && !LLEXT_HEAP_MEMBLK", "KiB"),
    OptionSpec("LLEXT_METADATA_HEAP_SIZE", _I, "metadata_heap_size", "4", "LLEXT_HEAP_MEMBLK",
               "KiB"),
    OptionSpec("LLEXT_EXT_HEAP_SIZE", _I, "ext_heap_size", "16",
               "LLEXT_HEAP_MEMBLK && !HARVARD", "KiB"),
    OptionSpec("LLEXT_HEAP_MEMBLK_BLOCK_SIZE", _I, "heap_memblk_block_size", "32",
               "LLEXT_HEAP_MEMBLK", "bytes"),
    OptionSpec("LLEXT_INSTR_HEAP_SIZE", _I, "instr_heap_size", "4",
               "!LLEXT_HEAP_DYNAMIC && HARVARD", "KiB"),
    OptionSpec("LLEXT_DATA_HEAP_SIZE", _I, "data_heap_size", "8",
               "!LLEXT_HEAP_DYNAMIC && HARVARD", "KiB"),
    OptionSpec("LLEXT_SHELL", _B, "llext_shell", "n", "LLEXT"),
    OptionSpec("LLEXT_SHELL_MAX_SIZE", _I, "shell_max_size", "8192", "LLEXT_SHELL", "bytes"),
    OptionSpec("LLEXT_TYPE_ELF_OBJECT", _B, None,
               "y if ARM || ARM64 (choice LLEXT_BINARY_TYPE)", "!RISCV"),
    OptionSpec("LLEXT_TYPE_ELF_RELOCATABLE", _B, None, "y if RISCV (choice LLEXT_BINARY_TYPE)"),
    OptionSpec("LLEXT_TYPE_ELF_SHAREDLIB", _B, None, "y if XTENSA (choice LLEXT_BINARY_TYPE)",
               "(ARM && !ARMV6_M_ARMV8_M_BASELINE) || ARM64 || RISCV || X86 || "
               "(ARC && !ISA_ARCV3) || XTENSA"),
    OptionSpec("LLEXT_BUILD_PIC", _B, "build_pic", "y if LLEXT_TYPE_ELF_SHAREDLIB",
               "XTENSA || LLEXT_TYPE_ELF_SHAREDLIB"),
    OptionSpec("LLEXT_STORAGE_WRITABLE", _B, "storage_writable",
               "n (y if XTENSA before Zephyr 4.4, PR #114099)"),
    OptionSpec("LLEXT_RODATA_NO_RELOC", _B, "rodata_no_reloc", "n",
               "!MMU && !USERSPACE && (!LLEXT_BUILD_PIC || XTENSA)"),
    OptionSpec("LLEXT_VENEERS", _B, "veneers", "n", "ARCH_HAS_LLEXT_VENEERS (ARM)"),
    OptionSpec("LLEXT_IMPORT_ALL_GLOBALS", _B, "import_all_globals", "n"),
    OptionSpec("LLEXT_EDK", _B, "edk", "y if LLEXT"),
    OptionSpec("LLEXT_EXPORT_BUILTINS_BY_SLID", _B, "export_builtins_by_slid", "n"),
    OptionSpec("LLEXT_EXPORT_DEFAULT_GROUPS", _B, "export_default_groups", "y"),
    OptionSpec("LLEXT_EXPORT_DEVICES", _B, "export_devices", "n"),
    OptionSpec("LLEXT_EXPORT_DEV_IDS_BY_HASH", _B, "export_dev_ids_by_hash", "n",
               "LLEXT_EXPORT_SYMBOL_GROUP_DEVICE"),
    OptionSpec("HARVARD", _B, "harvard", "selected by the SoC"),
    OptionSpec("USERSPACE", _B, "userspace", "n"),
    OptionSpec("MMU", _B, "mmu", "selected by the SoC"),
    OptionSpec("MMU_PAGE_SIZE", _H, "mmu_page_size", "0x1000", "MMU", "bytes"),
    OptionSpec("ARM_MPU", _B, "arm_mpu", "y if CPU_HAS_ARM_MPU"),
    OptionSpec("ARC_MPU", _B, "arc_mpu", "y if CPU_HAS_MPU (ARC)"),
    OptionSpec("ARC_MPU_VER", _I, "arc_mpu_ver", "set by the SoC", "ARC"),
    OptionSpec("XTENSA_MPU", _B, "xtensa_mpu", "selected by the SoC"),
    OptionSpec("RISCV_PMP", _B, "riscv_pmp", "selected by the SoC"),
    OptionSpec("PMP_GRANULARITY", _I, "pmp_granularity", "4", "RISCV_PMP", "bytes"),
    OptionSpec("MPU_REQUIRES_POWER_OF_TWO_ALIGNMENT", _B, "mpu_requires_power_of_two_alignment",
               "selected by ARMv7-M and ARC MPU v2"),
    OptionSpec("BIG_ENDIAN", _B, "big_endian", "n"),
    OptionSpec("64BIT", _B, "is_64bit", "selected by the architecture"),
    OptionSpec("ARMV6_M_ARMV8_M_BASELINE", _B, "armv6_m_armv8_m_baseline", "selected by the CPU"),
    OptionSpec("ISA_ARCV3", _B, "isa_arcv3", "selected by the CPU"),
    OptionSpec("SYS_HEAP_BIG_ONLY", _B, "sys_heap_big_only", "n"),
    OptionSpec("SYS_HEAP_SMALL_ONLY", _B, "sys_heap_small_only", "n"),
    OptionSpec("SYS_HEAP_ALLOC_LOOPS", _I, "sys_heap_alloc_loops", "3"),
    OptionSpec("SYS_HEAP_RUNTIME_STATS", _B, "sys_heap_runtime_stats", "n"),
    OptionSpec("SYS_HEAP_HARDENING_FULL", _B, "sys_heap_hardening_full", "n"),
)

_SPECS = {spec.name: spec for spec in OPTIONS}
#: Kconfig architecture symbols and the `placer.board.Arch` value each selects.
ARCH_SYMBOLS = {"ARM": "arm", "ARM64": "arm64", "RISCV": "riscv", "X86": "x86", "ARC": "arc",
                 "XTENSA": "xtensa"}
_GROUP_PREFIX = "LLEXT_EXPORT_SYMBOL_GROUP_"
#: Groups Zephyr itself defines a Kconfig symbol for.
BUILTIN_SYMBOL_GROUPS = frozenset({"UNASSIGNED", "SYSCALL", "LIBC", "DEVICE"})
_DEFAULT_GROUPS = frozenset({"UNASSIGNED", "SYSCALL", "LIBC"})
#: Names older trees used for the same symbols (older names in the history of Zephyr's
#: subsys/llext/Kconfig).
_OLD_NAMES = {"LLEXT_HEAP_SYS_MEM_BLOCKS": "LLEXT_HEAP_MEMBLK"}

def option(name: str) -> OptionSpec:
    """The spec of option `name` (no ``CONFIG_`` prefix); `KeyError` if placer has none."""
    return _SPECS[name]


#: The entries of the model's two choices and the `LlextConfig` value each gives.
CHOICE_BACKENDS = {"LLEXT_HEAP_K_HEAP": HeapBackend.K_HEAP,
                   "LLEXT_HEAP_MEMBLK": HeapBackend.MEMBLK}
CHOICE_BINARY_TYPES = {f"LLEXT_TYPE_{b.value}": b for b in BinaryType}


def read_config(*paths: str | Path,
                zephyr_version: ZephyrVersion | tuple[int, ...] | str = NEWEST_ZEPHYR
                ) -> LlextConfig:
    """Read ``.config``, ``prj.conf`` and fragment files into an `LlextConfig`.

    The files are merged by kconfiglib against placer's Kconfig model
    (`placer.dotconfig`): later files (and later lines) win, within a choice the last
    ``=y`` wins, and a value Kconfig refuses for its type (an int written in hex, a bool
    that is not y/n) is a `ConfigError` naming the option and its ``file:line``. A line
    that is not an assignment, a "not set" comment or a comment is a `ScriptError`.
    Options placer does not model are kept out of the configuration; options it models
    keep Zephyr's defaults unless set, except ``LLEXT`` itself, which stays on unless a
    file turns it off (a fragment for an LLEXT build need not repeat it). `zephyr_version`
    selects the Zephyr behaviour to model where it changed (`placer.versions`). `set_by`
    records the ``file:line`` of every option set.

    With no file, the result is Zephyr's defaults with ``LLEXT`` on, which `LlextConfig`'s
    own defaults are (tests/config/test_read_config.py checks they agree for every
    release): the Kconfig model is then not loaded, which would be most of the start-up of
    a ``placer verify --board`` or ``placer profile --board``.
    """
    if not paths:
        return LlextConfig(zephyr_version=as_zephyr_version(zephyr_version))
    from placer.dotconfig import read_kconfig_files

    values = read_kconfig_files(paths, base=(("LLEXT", "y"),))
    return config_from_values(values, as_zephyr_version(zephyr_version))


def config_from_values(values: KconfigValues, zephyr_version: ZephyrVersion) -> LlextConfig:
    """The `LlextConfig` that Kconfig values (`placer.dotconfig.KconfigValues`) give."""
    fields: dict[str, object] = {}
    set_by: list[tuple[str, str]] = []
    for assignment in values.assignments:
        name = assignment.name
        spec = _SPECS.get(name)
        if spec is None:
            if name.startswith(_GROUP_PREFIX) or name in ARCH_SYMBOLS or name in _OLD_NAMES:
                set_by.append((name, assignment.where))
            continue
        set_by.append((name, assignment.where))
        if spec.field is None or (assignment.unset and spec.kind is not OptionKind.BOOL):
            continue
        text = assignment.text
        if spec.kind is OptionKind.BOOL:
            fields[spec.field] = text.startswith("y")
        elif spec.kind is OptionKind.STRING:
            fields[spec.field] = text
        else:
            # Kconfig checked the text: decimal for an int, hex (0x optional) for a hex.
            fields[spec.field] = int(text, 16 if spec.kind is OptionKind.HEX else 10)

    backend = values.selection("LLEXT_HEAP_MANAGEMENT")
    if backend is None and values.enabled("LLEXT_HEAP_SYS_MEM_BLOCKS"):
        backend = "LLEXT_HEAP_MEMBLK"  # the name the memblk entry had at first (PR #102428)
    if backend is not None:
        fields["heap_backend"] = CHOICE_BACKENDS[backend]
    binary = values.selection("LLEXT_BINARY_TYPE")
    if binary is not None:
        fields["binary_type"] = CHOICE_BINARY_TYPES[binary]
    for symbol, arch in ARCH_SYMBOLS.items():
        if values.enabled(symbol):
            fields["arch"] = arch

    declared: set[str] = set()
    explicit: dict[str, bool] = {}
    for assignment in values.assignments:
        if assignment.name.startswith(_GROUP_PREFIX):
            group = assignment.name[len(_GROUP_PREFIX):]
            declared.add(group)
            explicit[group] = assignment.text == "y"
    default_groups = fields.get("export_default_groups", True)
    groups = {g for g in _DEFAULT_GROUPS if default_groups and explicit.get(g, True)}
    groups |= {g for g, on in explicit.items() if on}
    if fields.get("export_devices"):
        groups.add("DEVICE")  # LLEXT_EXPORT_DEVICES selects the DEVICE group
    fields["export_symbol_groups"] = frozenset(groups)
    fields["declared_symbol_groups"] = frozenset(declared)
    try:
        return LlextConfig(
            zephyr_version=zephyr_version, set_by=tuple(set_by), warnings=values.warnings,
            **fields,  # type: ignore[arg-type]
        )
    except ConfigError as error:
        # LlextConfig refuses impossible values (a negative size) by option name; point
        # at the assignment that gave it.
        places = [a.where for o in error.options if (a := values.get(o)) is not None]
        raise ConfigError(error.options, error.rule, error.fix,
                          places[0] if places else None) from None
