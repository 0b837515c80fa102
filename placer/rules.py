"""LLEXT's configuration rules, checked against a board: what Zephyr would refuse or ignore.

Every violation is a `ConfigError` naming the option(s), the rule Zephyr enforces (a
Kconfig dependency, a BUILD_ASSERT, a loader return code) and a fix. `check_config`
collects all of them and raises one `ConfigViolations` listing each, so a user fixes a
configuration in one pass; the warnings (options that are set but have no effect, choices
that work but cost) come back as strings.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import TYPE_CHECKING

from placer import records
from placer.board import Arch, Board, MpuKind
from placer.config import (
    ARCH_SYMBOLS,
    BUILTIN_SYMBOL_GROUPS,
    CHOICE_BACKENDS,
    CHOICE_BINARY_TYPES,
    BinaryType,
    HeapBackend,
    LlextConfig,
    OptionKind,
    option,
)
from placer.errors import ConfigError
from placer.target import (
    SIZE_OPTION,
    HeapRole,
    Rounding,
    Target,
    architecture,
    board_symbols,
    enabled_mpu,
    resolve,
)
from placer.versions import (
    CUSTOM_HEAP_PLACEMENT,
    HARVARD_HEAPS,
    LLEXT_SUBSYSTEM,
    MEMBLK_BACKEND,
    NEWEST_ZEPHYR,
    SHAREDLIB_EVERYWHERE,
    ZephyrVersion,
)

if TYPE_CHECKING:
    from placer.dotconfig import Assignment


class ConfigViolations(ConfigError):
    """Several rule violations at once; `violations` holds each as its own `ConfigError`.

    `options`, `rule`, `fix` and `where` are the first violation's; ``str()`` lists all.
    """

    def __init__(self, violations: tuple[ConfigError, ...], warnings: tuple[str, ...] = ()
                 ) -> None:
        first = violations[0]
        super().__init__(first.options, first.rule, first.fix, first.where)
        self.violations = violations
        self.warnings = warnings

    def __str__(self) -> str:
        return "\n".join(str(v) for v in self.violations)


@records.frozen
class ConfigReport:
    """What checking a configuration against a board found."""

    violations: tuple[ConfigError, ...]
    warnings: tuple[str, ...]


_BASELINE_CPUS = frozenset({"cortex-m0", "cortex-m0+", "cortex-m0plus", "cortex-m1",
                            "cortex-m23"})
_ARCV3_CPUS = frozenset({"hs5x", "hs6x", "archs5x", "archs6x"})


def check_config(config: LlextConfig, board: Board, *,
                 symbol_groups_used: Iterable[str] = ()) -> tuple[str, ...]:
    """Check `config` on `board`; return the warnings, raise `ConfigViolations` if broken.

    `symbol_groups_used` names the groups the application's C code exports symbols into
    (``EXPORT_GROUP_SYMBOL(G, ...)``), which each need a Kconfig symbol.
    """
    report = review_config(config, board, symbol_groups_used=symbol_groups_used)
    if report.violations:
        raise ConfigViolations(report.violations, report.warnings)
    return report.warnings


def review_config(config: LlextConfig, board: Board, *,
                  symbol_groups_used: Iterable[str] = ()) -> ConfigReport:
    """Every violation and warning of `config` on `board`, without raising."""
    target = resolve(board, config)
    checker = _Checker(config, board, target)
    checker.run(frozenset(symbol_groups_used))
    return ConfigReport(tuple(checker.violations), tuple(config.warnings) +
                        tuple(checker.warnings))


class _Checker:
    def __init__(self, config: LlextConfig, board: Board, target: Target) -> None:
        self.config = config
        self.board = board
        self.target = target
        self.arch = architecture(board, config)
        self.violations: list[ConfigError] = []
        self.warnings: list[str] = []

    def fail(self, options: tuple[str, ...], rule: str, fix: str) -> None:
        where = next((w for o in options if (w := self.config.where(o)) is not None), None)
        self.violations.append(ConfigError(options, rule, fix, where))

    def warn(self, option: str | None, message: str) -> None:
        where = self.config.where(option) if option is not None else None
        prefix = f"{where}: " if where else ""
        self.warnings.append(f"{prefix}warning: {message}")

    def run(self, groups_used: frozenset[str]) -> None:
        cfg = self.config
        if not cfg.llext:
            set_llext = [n for n, _ in cfg.set_by if n.startswith("LLEXT_")]
            if set_llext:
                self.warn(set_llext[0], f"CONFIG_{set_llext[0]} has no effect: CONFIG_LLEXT "
                          "is not set")
            return
        if cfg.arch is not None and cfg.arch != self.board.arch.value:
            symbol = next(n for n, a in ARCH_SYMBOLS.items() if a == cfg.arch)
            self.fail((symbol,), f"the configuration is for {cfg.arch}, but board "
                      f"{self.board.name} is {self.board.arch.value}",
                      "check the configuration against the board it was built for (--board)")
        if not self.release():
            return
        self.heap_backend()
        self.memblk_pools()
        self.harvard_heaps()
        self.binary_type()
        self.slid()
        self.symbol_groups(groups_used)
        self.sys_heap()
        self.heap_serves_a_region()
        self.user_mode()
        self.visibility()

    # -- heaps ---------------------------------------------------------------------------

    def release(self) -> bool:
        """What the modelled Zephyr release has at all; False when it has no LLEXT."""
        cfg = self.config
        version = cfg.zephyr_version
        if version < LLEXT_SUBSYSTEM:
            self.fail(("LLEXT",), f"Zephyr {version} has no LLEXT subsystem (subsys/llext "
                      f"arrived in {LLEXT_SUBSYSTEM})",
                      f"use Zephyr {LLEXT_SUBSYSTEM} or newer (--zephyr-version)")
            return False
        if self.target.harvard and version < HARVARD_HEAPS:
            self.fail(("HARVARD",), f"Zephyr {version}'s LLEXT has no Harvard heaps "
                      "(LLEXT_INSTR_HEAP_SIZE and LLEXT_DATA_HEAP_SIZE arrived in "
                      f"{HARVARD_HEAPS}; before, Harvard cores were not supported)",
                      f"use Zephyr {HARVARD_HEAPS} or newer (--zephyr-version)")
        if cfg.custom_heap_placement and version < CUSTOM_HEAP_PLACEMENT:
            self.fail(("LLEXT_CUSTOM_HEAP_PLACEMENT",),
                      f"Zephyr {version} has no LLEXT_CUSTOM_HEAP_PLACEMENT (PR #107366, "
                      f"{CUSTOM_HEAP_PLACEMENT}) and no .llext_heap sections (PR #104918): "
                      "its heaps go where Zephyr's scripts put them",
                      "drop CONFIG_LLEXT_CUSTOM_HEAP_PLACEMENT, or use Zephyr "
                      f"{CUSTOM_HEAP_PLACEMENT} or newer")
        return True

    def heap_backend(self) -> None:
        cfg = self.config
        if cfg.heap_backend is not HeapBackend.MEMBLK:
            return
        if cfg.zephyr_version < MEMBLK_BACKEND:
            self.fail(("LLEXT_HEAP_MEMBLK",),
                      f"Zephyr {_version(cfg.zephyr_version)} has no memblk backend (added "
                      "in 4.4 by PR #102428)",
                      "use CONFIG_LLEXT_HEAP_K_HEAP=y, or model Zephyr 4.4")
        if cfg.heap_dynamic:
            self.fail(("LLEXT_HEAP_MEMBLK", "LLEXT_HEAP_DYNAMIC"),
                      "the memblk backend has no dynamic heap (LLEXT_HEAP_MEMBLK depends on "
                      "!LLEXT_HEAP_DYNAMIC)",
                      "drop CONFIG_LLEXT_HEAP_DYNAMIC, or use CONFIG_LLEXT_HEAP_K_HEAP=y with "
                      "the dynamic heap")

    def memblk_pools(self) -> None:
        cfg = self.config
        if (cfg.heap_backend is not HeapBackend.MEMBLK or cfg.heap_dynamic
                or cfg.zephyr_version < MEMBLK_BACKEND):
            return
        block = cfg.heap_memblk_block_size
        name = "LLEXT_HEAP_MEMBLK_BLOCK_SIZE"
        if block <= 0:
            self.fail((name,), "the block size is 0", "use a power of two such as 32")
            return
        if block & (block - 1):
            lower = 1 << (block.bit_length() - 1)
            self.fail((name,), f"the block size {block} is not a power of two (sys_mem_blocks "
                      "shifts by ilog2 of it)", f"use {lower} or {lower * 2}")
        page = self.target.page_size
        why = self.page_rule()
        if why is not None and block % page:
            self.fail((name,), f"the block size {block} is not a multiple of LLEXT_PAGE_SIZE "
                      f"{page} ({why}; BUILD_ASSERT in llext_memblk.c)",
                      f"use a block size of {page} or a multiple of it")
        pools = ((("LLEXT_INSTR_HEAP_SIZE", cfg.instr_heap_size),
                  ("LLEXT_DATA_HEAP_SIZE", cfg.data_heap_size))
                 if self.target.harvard else (("LLEXT_EXT_HEAP_SIZE", cfg.ext_heap_size),))
        for size_name, kib in pools:
            size = kib * 1024
            if size % block:
                step = block // math.gcd(block, 1024)
                suggestion = -(-kib // step) * step
                self.fail((size_name, name),
                          f"the pool of {kib} KiB ({size} bytes) is not a whole number of "
                          f"{block}-byte blocks (BUILD_ASSERT in llext_memblk.c)",
                          f"set CONFIG_{size_name} to a multiple of {step} KiB (e.g. "
                          f"{suggestion}), or use a block size that divides {size}")
            elif size == 0:
                self.fail((size_name,), "the pool has no blocks, so no region can load",
                          f"set CONFIG_{size_name} to the KiB your extensions need")
        if self.target.rounding is Rounding.POWER_OF_TWO:
            self.warn(name, f"with user mode and a power-of-two MPU every region is rounded "
                      f"to a power of two of at least {page} bytes and aligned to it; memblk "
                      f"fails the allocation of any region aligned beyond the block size "
                      f"{block}")

    def page_rule(self) -> str | None:
        """Why ``B % LLEXT_PAGE_SIZE == 0`` applies (PR #107277: only with an MMU or MPU)."""
        if self.target.mmu:
            return "the MMU"
        return "an MPU" if enabled_mpu(self.board, self.config) is not None else None

    def harvard_heaps(self) -> None:
        cfg = self.config
        if not self.target.harvard or cfg.heap_dynamic:
            return
        for name, kib, what, served, default in (
            ("LLEXT_INSTR_HEAP_SIZE", cfg.instr_heap_size, "an instruction heap",
             "no executable region can load", 4),
            ("LLEXT_DATA_HEAP_SIZE", cfg.data_heap_size, "a data heap",
             "no data region or metadata can load", 8),
        ):
            if kib == 0:
                self.fail((name,), f"a Harvard build needs {what}, and with 0 KiB {served}",
                          f"set CONFIG_{name} to the KiB your extensions need (Zephyr's "
                          f"default is {default})")

    def heap_serves_a_region(self) -> None:
        """With regions rounded to pages (MMU, or an MPU under user mode), a k_heap too
        small for one page-aligned page loads nothing: every extension has at least one
        ALLOC region, and ``llext_copy_region`` allocates it page-aligned."""
        target = self.target
        if target.rounding not in (Rounding.PAGE, Rounding.POWER_OF_TWO):
            return
        # The exact sys_heap model; imported here so `import placer` stays without the
        # placer.llext package (tests/test_package.py pins what it loads).
        from placer.llext.heap import HeapTooSmall, SysHeap

        granule = target.rounding_granule
        options = target.heap_options
        for heap in target.heap_sections():
            if heap.backend is not HeapBackend.K_HEAP or heap.role is HeapRole.METADATA:
                continue
            try:
                fresh = SysHeap(0, heap.size, options)
                largest = fresh.largest_free_chunk()
                need = fresh.required_block(granule, granule)
            except HeapTooSmall:
                largest, need = 0, 2 * granule
            if need <= largest:
                continue
            name = SIZE_OPTION[heap.role]
            why = "the MMU" if target.mmu else "the MPU under user mode"
            kib = -(-(heap.size + need - largest) // 1024)
            self.fail((name,), f"{heap.section} ({heap.size} bytes) cannot hold one "
                      f"{granule}-byte region aligned to {granule} ({why} rounds every "
                      f"extension region so; sys_heap needs a free chunk of {need} bytes "
                      f"and this heap has {largest}): no extension can load",
                      f"set CONFIG_{name} to at least {kib} (KiB), more for real "
                      "extensions")

    # -- ELF kinds, symbols --------------------------------------------------------------

    def binary_type(self) -> None:
        cfg = self.config
        binary = self.target.binary_type
        if binary is BinaryType.ELF_OBJECT and self.arch is Arch.RISCV:
            self.fail(("LLEXT_TYPE_ELF_OBJECT",),
                      "RISC-V extensions cannot be single-compile objects "
                      "(LLEXT_TYPE_ELF_OBJECT depends on !RISCV)",
                      "use CONFIG_LLEXT_TYPE_ELF_RELOCATABLE=y, the RISC-V default")
        if binary is not BinaryType.ELF_SHAREDLIB:
            return
        name = "LLEXT_TYPE_ELF_SHAREDLIB"
        fix = "use CONFIG_LLEXT_TYPE_ELF_RELOCATABLE=y"
        if cfg.zephyr_version < SHAREDLIB_EVERYWHERE:
            if self.arch in (Arch.ARM, Arch.ARM64):
                self.fail((name,), f"Zephyr {_version(cfg.zephyr_version)} does not support "
                          "shared-library extensions on ARM", fix)
            return
        cpu = self.board.cpu.lower()
        baseline = cfg.armv6_m_armv8_m_baseline
        if baseline is None:
            baseline = cpu in _BASELINE_CPUS
        arcv3 = cfg.isa_arcv3 if cfg.isa_arcv3 is not None else cpu in _ARCV3_CPUS
        what = None
        if self.arch is Arch.ARM and baseline:
            what = "ARMv6-M/ARMv8-M Baseline (Thumb-1) cores"
        elif self.arch is Arch.ARC and arcv3:
            what = "ARCv3 cores"
        if what is not None:
            self.fail((name,), f"shared-library extensions are not supported on {what} "
                      f"(LLEXT_TYPE_ELF_SHAREDLIB depends on {option(name).depends})", fix)
        if self.arch is Arch.RISCV:
            self.warn(name, "RISC-V shared-library extensions must be linked with lld")

    def slid(self) -> None:
        cfg = self.config
        if not (cfg.export_builtins_by_slid and cfg.edk):
            return
        if cfg.where("LLEXT_EDK") is not None:
            self.fail(("LLEXT_EXPORT_BUILTINS_BY_SLID", "LLEXT_EDK"),
                      "SLID linking is not compatible with the LLEXT EDK",
                      "set CONFIG_LLEXT_EDK=n, or drop CONFIG_LLEXT_EXPORT_BUILTINS_BY_SLID")
        else:
            self.warn("LLEXT_EXPORT_BUILTINS_BY_SLID",
                      "CONFIG_LLEXT_EDK defaults to y, but SLID linking is not compatible "
                      "with the LLEXT EDK: set CONFIG_LLEXT_EDK=n")

    def symbol_groups(self, used: frozenset[str]) -> None:
        cfg = self.config
        known = cfg.declared_symbol_groups | BUILTIN_SYMBOL_GROUPS
        for group in sorted(cfg.declared_symbol_groups | cfg.export_symbol_groups | used):
            if group != group.upper():
                self.fail((f"LLEXT_EXPORT_SYMBOL_GROUP_{group}",),
                          f"symbol group '{group}' is not all upper case (group names must "
                          "be)",
                          f"rename the group to {group.upper()} in EXPORT_GROUP_SYMBOL() and "
                          "in its Kconfig symbol")
        for group in sorted(used):
            symbol = f"LLEXT_EXPORT_SYMBOL_GROUP_{group}"
            if group not in known:
                self.fail((symbol,), f"symbols are exported in group {group}, but no Kconfig "
                          f"symbol {symbol} exists",
                          f"add 'config {symbol}' (bool) to a Kconfig file and set it")
            elif group not in cfg.export_symbol_groups:
                self.warn(symbol, f"symbols exported in group {group} are left out of the "
                          f"export table: CONFIG_{symbol} is not set")

    def sys_heap(self) -> None:
        cfg = self.config
        if cfg.sys_heap_big_only and cfg.sys_heap_small_only:
            self.fail(("SYS_HEAP_BIG_ONLY", "SYS_HEAP_SMALL_ONLY"),
                      "the sys_heap chunk size choice takes one entry",
                      "keep one of them")

    def user_mode(self) -> None:
        if self.target.rounding is not Rounding.UNSUPPORTED:
            return
        kind = self.board.mpu.kind
        if kind is MpuKind.NONE:
            # Zephyr only offers USERSPACE where an MPU, PMP or MMU selects
            # ARCH_HAS_USERSPACE; a .config that sets it anyway was not made by Kconfig.
            self.fail(("USERSPACE",),
                      f"user mode needs an MPU, a PMP or an MMU, and {self.board.name} has "
                      f"none: Kconfig cannot enable CONFIG_USERSPACE on this board",
                      "disable CONFIG_USERSPACE, or use a board with memory protection")
            return
        self.fail(("USERSPACE",),
                  f"with user mode, Zephyr's loader has no MMU/MPU/PMP alignment rule for "
                  f"the {kind.value} of {self.board.name}: every extension load fails with "
                  f"-ENOTSUP",
                  "disable CONFIG_USERSPACE, or use a board with an Arm or ARC MPU, a RISC-V "
                  "PMP or an MMU")

    # -- options that are set but do not exist in this configuration ----------------------

    def visibility(self) -> None:
        """Kconfig's own verdict on every option the files set: an assignment whose
        ``depends on`` is unmet (on this board, with its HARVARD, MMU, MPU and arch) has no
        effect, as Zephyr's Kconfig step warns (`placer.dotconfig.ineffective`, against the
        same model that read the files)."""
        assignments = self.assignments()
        if not assignments:
            return
        from placer.dotconfig import ineffective  # kconfiglib: only for files read

        # What Kconfig has decided before the files: the board's symbols, LLEXT (on, or
        # run() would have stopped) and user mode as this configuration has them.
        base = (*board_symbols(self.target), ("LLEXT", "y"),
                ("USERSPACE", "y" if self.config.userspace else "n"))
        failed = {o for violation in self.violations for o in violation.options}
        self.warnings.extend(
            warning for warning in ineffective(assignments, base=base)
            if not any(f"CONFIG_{name}=" in warning for name in failed))

    def assignments(self) -> list[Assignment]:
        """The configuration's values for the options its files set, as assignments at the
        ``file:line`` that set them."""
        if not self.config.set_by:
            return []  # nothing read from a file (Zephyr's defaults): no Kconfig reader
        from placer.dotconfig import Assignment

        out = []
        for name, where in self.config.set_by:
            file, _, line = where.rpartition(":")
            text = self.assigned_text(name)
            if text is not None and file and line.isdigit():
                out.append(Assignment(name, text, file, int(line)))
        return out

    def assigned_text(self, name: str) -> str | None:
        """`name`'s value in ``.config`` words, or None when it is not an LLEXT option's."""
        cfg = self.config
        for entry, backend in CHOICE_BACKENDS.items():
            if name == entry:
                return "y" if cfg.heap_backend is backend else "n"
        for entry, binary in CHOICE_BINARY_TYPES.items():
            if name == entry:
                return "y" if cfg.binary_type is binary else "n"
        try:
            spec = option(name)
        except KeyError:
            return None
        value = getattr(cfg, spec.field) if spec.field is not None else None
        if value is None:
            return None
        if spec.kind is OptionKind.BOOL:
            return "y" if value else "n"
        return hex(value) if spec.kind is OptionKind.HEX else str(value)


def _version(version: ZephyrVersion) -> str:
    return str(version)


__all__ = ["NEWEST_ZEPHYR", "SIZE_OPTION", "ConfigReport", "ConfigViolations", "check_config",
           "review_config"]
