"""The LLEXT Kconfig model: every option that decides heaps, ELF kinds, symbols and storage.

`LlextConfig` holds the values as Zephyr's build would see them, typed and in their own
units (the ``*_HEAP_SIZE`` options in KiB as Kconfig has them; everything placer computes
from them is in bytes). System options that the board normally decides (``HARVARD``,
``MMU``, ``USERSPACE``, the MPU kind) are ``None`` when the configuration does not say, so
that `placer.target.resolve` can take them from the board.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import attrs

from placer.errors import ConfigError, ScriptError
from placer.inputs import read_input_text
from placer.versions import NEWEST_ZEPHYR, ZephyrVersion, as_zephyr_version

if TYPE_CHECKING:
    from placer.board import Board



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

    zephyr_version: ZephyrVersion = attrs.field(default=NEWEST_ZEPHYR,
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

    def where(self, option: str) -> str | None:
        """The ``file:line`` that set `option` (upper case, no prefix), if known."""
        for name, place in self.set_by:
            if name == option:
                return place
        return None


# --------------------------------------------------------------------------------------
# The options, with their Kconfig types, defaults, units and dependencies (llext-facts §1).


class OptionKind(enum.Enum):
    """A Kconfig symbol type."""

    BOOL = "bool"
    INT = "int"
    HEX = "hex"
    STRING = "string"


@attrs.frozen(slots=True)
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

#: Every option `read_config` understands, in the order of llext-facts §1.
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
#: Names older trees used for the same symbols (llext-facts §0).
_OLD_NAMES = {"LLEXT_HEAP_SYS_MEM_BLOCKS": "LLEXT_HEAP_MEMBLK"}

_ASSIGNMENT = re.compile(r"CONFIG_([A-Za-z0-9_]+)=(.*)")
_NOT_SET = re.compile(r"#\s*CONFIG_([A-Za-z0-9_]+) is not set\s*")


def option(name: str) -> OptionSpec:
    """The spec of option `name` (no ``CONFIG_`` prefix); `KeyError` if placer has none."""
    return _SPECS[name]


@attrs.frozen(slots=True)
class _Setting:
    raw: str  # "y", "n", an integer text, or a string's value
    where: str
    is_string: bool = False


def _parse_string(raw: str, file: str, line: int, text: str) -> str:
    body = raw[1:-1] if len(raw) >= 2 and raw.endswith('"') else None
    if body is None or re.search(r'(?<!\\)"', body.replace("\\\\", "")):
        raise ScriptError("unterminated string value", file, line, text.index("=") + 2, text)
    return body.replace('\\"', '"').replace("\\\\", "\\")


def _read_lines(path: Path, settings: dict[str, _Setting], warnings: list[str]) -> None:
    file = str(path)
    content = read_input_text(path, what="configuration file")
    seen_here: dict[str, tuple[str, int]] = {}
    for number, text in enumerate(content.splitlines(), start=1):
        stripped = text.strip()
        if not stripped:
            continue
        not_set = _NOT_SET.fullmatch(stripped)
        if not_set:
            name, raw, is_string = not_set[1], "n", False
        elif stripped.startswith("#"):
            continue
        else:
            match = _ASSIGNMENT.fullmatch(stripped)
            if match is None:
                column = len(text) - len(text.lstrip()) + 1
                raise ScriptError(
                    "expected CONFIG_NAME=value, '# CONFIG_NAME is not set' or a comment",
                    file, number, column, text)
            name, raw = match[1], match[2].strip()
            is_string = raw.startswith('"')
            if is_string:
                raw = _parse_string(raw, file, number, text)
        name = _OLD_NAMES.get(name, name)
        previous = seen_here.get(name)
        if previous is not None and previous[0] != raw:
            warnings.append(f"{file}:{number}: warning: CONFIG_{name} set again (was "
                            f"{previous[0]!r} at line {previous[1]}); the last value wins")
        seen_here[name] = (raw, number)
        settings[name] = _Setting(raw=raw, where=f"{file}:{number}", is_string=is_string)


def _bool(name: str, setting: _Setting) -> bool:
    if setting.raw == "y" and not setting.is_string:
        return True
    if setting.raw == "n" and not setting.is_string:
        return False
    raise ConfigError((name,), f"{setting.raw!r} is not a bool value", "write y or n",
                      setting.where)


def _int(name: str, setting: _Setting, kind: OptionKind) -> int:
    text = setting.raw
    try:
        if setting.is_string:
            raise ValueError(text)
        if kind is OptionKind.HEX:
            value = int(text, 16)
        else:
            value = int(text, 0) if text.lower().startswith(("0x", "-0x")) else int(text, 10)
    except ValueError:
        expected = "hex" if kind is OptionKind.HEX else "int"
        raise ConfigError((name,), f"{text!r} is not an {expected} value",
                          "write a number such as 8 or 0x1000", setting.where) from None
    if value < 0:
        raise ConfigError((name,), f"{value} is negative", "sizes and counts are >= 0",
                          setting.where)
    return value


def read_config(*paths: str | Path,
                zephyr_version: ZephyrVersion = NEWEST_ZEPHYR) -> LlextConfig:
    """Read ``.config``, ``prj.conf`` and fragment files into an `LlextConfig`.

    Later files (and later lines) win, as Kconfig merges fragments. ``# CONFIG_X is not set``
    sets a bool to n. Options placer does not model are ignored; options it models keep
    Zephyr's defaults unless set, except ``LLEXT`` itself, which stays on unless a file turns
    it off (a fragment for an LLEXT build need not repeat it). `zephyr_version` selects the
    Zephyr behaviour to model where it changed (see the ``*_REWORK``/``*_BACKEND``
    constants). `set_by` records the ``file:line`` of every option set.
    A line that is not an assignment, a "not set" comment or a comment is a `ScriptError`
    with its place; a value of the wrong type for a modelled option is a `ConfigError`.
    """
    settings: dict[str, _Setting] = {}
    warnings: list[str] = []
    for path in paths:
        _read_lines(Path(path), settings, warnings)
    return config_from_settings(settings, warnings, zephyr_version)


def config_from_settings(settings: Mapping[str, _Setting], warnings: list[str],
                         zephyr_version: ZephyrVersion) -> LlextConfig:
    """The `LlextConfig` for parsed assignments (name without prefix -> setting)."""
    values: dict[str, object] = {}
    set_by: list[tuple[str, str]] = []
    for name, setting in settings.items():
        spec = _SPECS.get(name)
        if spec is not None:
            set_by.append((name, setting.where))
            if spec.field is None:
                continue
            if spec.kind is OptionKind.BOOL:
                values[spec.field] = _bool(name, setting)
            elif spec.kind is OptionKind.STRING:
                values[spec.field] = setting.raw
            else:
                values[spec.field] = _int(name, setting, spec.kind)
        elif name.startswith(_GROUP_PREFIX) or name in ARCH_SYMBOLS:
            set_by.append((name, setting.where))

    def enabled(name: str) -> bool | None:
        setting = settings.get(name)
        return None if setting is None else _bool(name, setting)

    if enabled("LLEXT_HEAP_MEMBLK"):
        values["heap_backend"] = HeapBackend.MEMBLK
    elif enabled("LLEXT_HEAP_K_HEAP"):
        values["heap_backend"] = HeapBackend.K_HEAP
    for entry, binary in (("LLEXT_TYPE_ELF_OBJECT", BinaryType.ELF_OBJECT),
                          ("LLEXT_TYPE_ELF_RELOCATABLE", BinaryType.ELF_RELOCATABLE),
                          ("LLEXT_TYPE_ELF_SHAREDLIB", BinaryType.ELF_SHAREDLIB)):
        if enabled(entry):
            values["binary_type"] = binary
    for symbol, arch in ARCH_SYMBOLS.items():
        if enabled(symbol):
            values["arch"] = arch

    declared: set[str] = set()
    explicit: dict[str, bool] = {}
    for name in settings:
        if name.startswith(_GROUP_PREFIX):
            group = name[len(_GROUP_PREFIX):]
            declared.add(group)
            explicit[group] = bool(enabled(name))
    default_groups = values.get("export_default_groups", True)
    groups = {g for g in _DEFAULT_GROUPS if default_groups and explicit.get(g, True)}
    groups |= {g for g, on in explicit.items() if on}
    if values.get("export_devices"):
        groups.add("DEVICE")  # LLEXT_EXPORT_DEVICES selects the DEVICE group
    values["export_symbol_groups"] = frozenset(groups)
    values["declared_symbol_groups"] = frozenset(declared)
    return LlextConfig(
        zephyr_version=zephyr_version, set_by=tuple(set_by), warnings=tuple(warnings),
        **values,  # type: ignore[arg-type]
    )


def check_config(config: LlextConfig, board: Board, *,
                 symbol_groups_used: Iterable[str] = ()) -> tuple[str, ...]:
    """Check `config` against `board`: the warnings, or `ConfigViolations` listing every rule
    broken (each a `ConfigError` with options, rule and fix). See `placer.rules`."""
    from placer.rules import check_config as check  # rules need the target: import late

    return check(config, board, symbol_groups_used=symbol_groups_used)
