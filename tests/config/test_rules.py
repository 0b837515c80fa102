"""Each LLEXT configuration rule, with its exact message (options, rule, fix)."""

from __future__ import annotations

import pytest

import placer
from placer import records
from placer.board import Mpu, MpuKind
from placer.cli.output import render
from placer.config import BinaryType, HeapBackend, LlextConfig
from placer.errors import ConfigError
from placer.rules import ConfigViolations, check_config, review_config
from placer.target import resolve


def violations(board: str, config: LlextConfig, **kwargs: object) -> list[str]:
    report = review_config(config, placer.load_board(board), **kwargs)  # type: ignore[arg-type]
    return [render(v) for v in report.violations]


def warnings(board: str, config: LlextConfig) -> list[str]:
    return list(review_config(config, placer.load_board(board)).warnings)


@pytest.mark.parametrize("board", placer.list_boards())
def test_zephyr_defaults_are_clean_except_where_pages_starve_the_heap(board: str) -> None:
    loaded = placer.load_board(board)
    if resolve(loaded, LlextConfig()).mmu:
        # 4 KiB pages: an 8 KiB k_heap cannot serve one page-aligned page, nothing loads.
        assert [v.options for v in review_config(LlextConfig(), loaded).violations] == [
            ("LLEXT_HEAP_SIZE",)]
    else:
        assert check_config(LlextConfig(), loaded) == ()


def test_an_mmu_heap_too_small_for_one_page_is_refused() -> None:
    config = LlextConfig(set_by=(("LLEXT_HEAP_SIZE", "prj.conf:2"),))
    assert violations("qemu_cortex_a53", config) == [
        "prj.conf:2: error: CONFIG_LLEXT_HEAP_SIZE: .llext_heap (8192 bytes) cannot hold one "
        "4096-byte region aligned to 4096 (the MMU rounds every extension region so; sys_heap "
        "needs a free chunk of 8184 bytes and this heap has 8128): no extension can load\n"
        "  fix: set CONFIG_LLEXT_HEAP_SIZE to at least 9 (KiB), more for real extensions"]
    assert violations("qemu_cortex_a53", records.evolve(config, heap_size=9)) == []


def test_memblk_cannot_be_dynamic() -> None:
    config = LlextConfig(heap_backend=HeapBackend.MEMBLK, heap_dynamic=True,
                         set_by=(("LLEXT_HEAP_DYNAMIC", "prj.conf:2"),))
    assert violations("qemu_cortex_m3", config) == [
        "prj.conf:2: error: CONFIG_LLEXT_HEAP_MEMBLK, CONFIG_LLEXT_HEAP_DYNAMIC: the memblk "
        "backend has no dynamic heap (LLEXT_HEAP_MEMBLK depends on !LLEXT_HEAP_DYNAMIC)\n"
        "  fix: drop CONFIG_LLEXT_HEAP_DYNAMIC, or use CONFIG_LLEXT_HEAP_K_HEAP=y with the "
        "dynamic heap"]


def test_pool_must_be_whole_blocks_and_block_a_power_of_two() -> None:
    config = LlextConfig(heap_backend=HeapBackend.MEMBLK, heap_memblk_block_size=96)
    assert violations("qemu_cortex_m3", config) == [
        "error: CONFIG_LLEXT_HEAP_MEMBLK_BLOCK_SIZE: the block size 96 is not a power of two "
        "(sys_mem_blocks shifts by ilog2 of it)\n  fix: use 64 or 128",
        "error: CONFIG_LLEXT_EXT_HEAP_SIZE, CONFIG_LLEXT_HEAP_MEMBLK_BLOCK_SIZE: the pool of "
        "16 KiB (16384 bytes) is not a whole number of 96-byte blocks (BUILD_ASSERT in "
        "llext_memblk.c)\n  fix: set CONFIG_LLEXT_EXT_HEAP_SIZE to a multiple of 3 KiB (e.g. "
        "18), or use a block size that divides 16384",
    ]


def test_harvard_pools_are_checked_each() -> None:
    config = LlextConfig(heap_backend=HeapBackend.MEMBLK, heap_memblk_block_size=4096,
                         instr_heap_size=6, data_heap_size=8)
    assert violations("nsim_em", config) == [
        "error: CONFIG_LLEXT_INSTR_HEAP_SIZE, CONFIG_LLEXT_HEAP_MEMBLK_BLOCK_SIZE: the pool of "
        "6 KiB (6144 bytes) is not a whole number of 4096-byte blocks (BUILD_ASSERT in "
        "llext_memblk.c)\n  fix: set CONFIG_LLEXT_INSTR_HEAP_SIZE to a multiple of 4 KiB (e.g. "
        "8), or use a block size that divides 6144"]


def test_block_size_must_be_a_page_multiple_with_an_mmu() -> None:
    config = LlextConfig(heap_backend=HeapBackend.MEMBLK, heap_memblk_block_size=1024)
    assert violations("qemu_x86", config) == [
        "error: CONFIG_LLEXT_HEAP_MEMBLK_BLOCK_SIZE: the block size 1024 is not a multiple of "
        "LLEXT_PAGE_SIZE 4096 (the MMU; BUILD_ASSERT in llext_memblk.c)\n"
        "  fix: use a block size of 4096 or a multiple of it"]


def test_block_size_must_be_a_multiple_of_arc_mpu_v2_page() -> None:
    config = LlextConfig(heap_backend=HeapBackend.MEMBLK, heap_memblk_block_size=1024)
    assert violations("nsim_em", config) == [
        "error: CONFIG_LLEXT_HEAP_MEMBLK_BLOCK_SIZE: the block size 1024 is not a multiple of "
        "LLEXT_PAGE_SIZE 2048 (an MPU; BUILD_ASSERT in llext_memblk.c)\n"
        "  fix: use a block size of 2048 or a multiple of it"]


def test_page_multiple_does_not_apply_without_mmu_or_mpu_since_pr_107277() -> None:
    # qemu_riscv32 has a PMP, which is not CONFIG_MPU: a 16-byte block is fine.
    config = LlextConfig(heap_backend=HeapBackend.MEMBLK, heap_memblk_block_size=16)
    assert violations("qemu_riscv32", config) == []


def test_memblk_does_not_exist_before_zephyr_4_4() -> None:
    config = LlextConfig(heap_backend=HeapBackend.MEMBLK, zephyr_version=(4, 3))
    assert violations("qemu_cortex_m3", config) == [
        "error: CONFIG_LLEXT_HEAP_MEMBLK: Zephyr 4.3 has no memblk backend (added in 4.4 by "
        "PR #102428)\n  fix: use CONFIG_LLEXT_HEAP_K_HEAP=y, or model Zephyr 4.4"]


def test_slid_with_the_edk() -> None:
    config = LlextConfig(export_builtins_by_slid=True, edk=True,
                         set_by=(("LLEXT_EDK", "prj.conf:4"),))
    assert violations("qemu_cortex_m3", config) == [
        "prj.conf:4: error: CONFIG_LLEXT_EXPORT_BUILTINS_BY_SLID, CONFIG_LLEXT_EDK: SLID "
        "linking is not compatible with the LLEXT EDK\n  fix: set CONFIG_LLEXT_EDK=n, or drop "
        "CONFIG_LLEXT_EXPORT_BUILTINS_BY_SLID"]


def test_slid_with_the_default_edk_only_warns() -> None:
    config = LlextConfig(export_builtins_by_slid=True,
                         set_by=(("LLEXT_EXPORT_BUILTINS_BY_SLID", "prj.conf:1"),))
    assert warnings("qemu_cortex_m3", config) == [
        "prj.conf:1: warning: CONFIG_LLEXT_EDK defaults to y, but SLID linking is not "
        "compatible with the LLEXT EDK: set CONFIG_LLEXT_EDK=n"]


def test_elf_object_on_riscv() -> None:
    config = LlextConfig(binary_type=BinaryType.ELF_OBJECT)
    assert violations("qemu_riscv32", config) == [
        "error: CONFIG_LLEXT_TYPE_ELF_OBJECT: RISC-V extensions cannot be single-compile "
        "objects (LLEXT_TYPE_ELF_OBJECT depends on !RISCV)\n"
        "  fix: use CONFIG_LLEXT_TYPE_ELF_RELOCATABLE=y, the RISC-V default"]


def test_shared_libraries_not_on_thumb1_cores() -> None:
    config = LlextConfig(binary_type=BinaryType.ELF_SHAREDLIB, armv6_m_armv8_m_baseline=True)
    assert violations("qemu_cortex_m3", config) == [
        "error: CONFIG_LLEXT_TYPE_ELF_SHAREDLIB: shared-library extensions are not supported "
        "on ARMv6-M/ARMv8-M Baseline (Thumb-1) cores (LLEXT_TYPE_ELF_SHAREDLIB depends on "
        "(ARM && !ARMV6_M_ARMV8_M_BASELINE) || ARM64 || RISCV || X86 || (ARC && !ISA_ARCV3) "
        "|| XTENSA)\n  fix: use CONFIG_LLEXT_TYPE_ELF_RELOCATABLE=y"]


def test_shared_libraries_allowed_on_cortex_m3_now_but_not_in_4_3() -> None:
    config = LlextConfig(binary_type=BinaryType.ELF_SHAREDLIB)
    assert violations("qemu_cortex_m3", config) == []
    old = LlextConfig(binary_type=BinaryType.ELF_SHAREDLIB, zephyr_version=(4, 3))
    assert violations("qemu_cortex_m3", old) == [
        "error: CONFIG_LLEXT_TYPE_ELF_SHAREDLIB: Zephyr 4.3 does not support shared-library "
        "extensions on ARM\n  fix: use CONFIG_LLEXT_TYPE_ELF_RELOCATABLE=y"]


def test_shared_libraries_on_riscv_warn_about_lld() -> None:
    config = LlextConfig(binary_type=BinaryType.ELF_SHAREDLIB)
    assert warnings("qemu_riscv32", config) == [
        "warning: RISC-V shared-library extensions must be linked with lld"]


def test_harvard_without_an_instruction_heap() -> None:
    config = LlextConfig(instr_heap_size=0)
    assert violations("nsim_em", config) == [
        "error: CONFIG_LLEXT_INSTR_HEAP_SIZE: a Harvard build needs an instruction heap, and "
        "with 0 KiB no executable region can load\n  fix: set CONFIG_LLEXT_INSTR_HEAP_SIZE "
        "to the KiB your extensions need (Zephyr's default is 4)"]


def test_harvard_without_a_data_heap() -> None:
    config = LlextConfig(data_heap_size=0)
    assert violations("nsim_em", config) == [
        "error: CONFIG_LLEXT_DATA_HEAP_SIZE: a Harvard build needs a data heap, and with 0 KiB "
        "no data region or metadata can load\n  fix: set CONFIG_LLEXT_DATA_HEAP_SIZE to the "
        "KiB your extensions need (Zephyr's default is 8)"]


def test_symbol_group_must_be_upper_case() -> None:
    config = LlextConfig(declared_symbol_groups=frozenset({"sensors"}),
                         export_symbol_groups=frozenset({"sensors", "LIBC"}))
    assert violations("qemu_cortex_m3", config) == [
        "error: CONFIG_LLEXT_EXPORT_SYMBOL_GROUP_sensors: symbol group 'sensors' is not all "
        "upper case (group names must be)\n  fix: rename the group to SENSORS in "
        "EXPORT_GROUP_SYMBOL() and in its Kconfig symbol"]


def test_used_symbol_group_needs_its_kconfig_symbol() -> None:
    assert violations("qemu_cortex_m3", LlextConfig(), symbol_groups_used={"MOTOR"}) == [
        "error: CONFIG_LLEXT_EXPORT_SYMBOL_GROUP_MOTOR: symbols are exported in group MOTOR, "
        "but no Kconfig symbol LLEXT_EXPORT_SYMBOL_GROUP_MOTOR exists\n  fix: add 'config "
        "LLEXT_EXPORT_SYMBOL_GROUP_MOTOR' (bool) to a Kconfig file and set it"]


def test_used_but_disabled_group_warns() -> None:
    report = review_config(LlextConfig(), placer.load_board("qemu_cortex_m3"),
                           symbol_groups_used={"DEVICE"})
    assert report.warnings == (
        "warning: symbols exported in group DEVICE are left out of the export table: "
        "CONFIG_LLEXT_EXPORT_SYMBOL_GROUP_DEVICE is not set",)


def test_user_mode_without_a_rounding_rule_is_enotsup() -> None:
    # An Xtensa MPU supports user mode, but llext_copy_region has no rounding rule for it.
    board = records.evolve(placer.load_board("esp32s3_devkitc"),
                         mpu=Mpu(MpuKind.XTENSA_MPU, granule=4096))
    report = review_config(LlextConfig(userspace=True), board)
    assert [render(v) for v in report.violations] == [
        "error: CONFIG_USERSPACE: with user mode, Zephyr's loader has no MMU/MPU/PMP alignment "
        "rule for the xtensa-mpu of esp32s3_devkitc: every extension load fails with -ENOTSUP\n"
        "  fix: disable CONFIG_USERSPACE, or use a board with an Arm or ARC MPU, a RISC-V PMP "
        "or an MMU"]


def test_user_mode_with_the_nxp_sysmpu_is_clean() -> None:
    # Zephyr drives the Kinetis SYSMPU through CONFIG_ARM_MPU: 32-byte granules apply.
    assert violations("frdm_k64f", LlextConfig(userspace=True)) == []


def test_user_mode_on_qemu_cortex_m3_is_refused_for_want_of_an_mpu() -> None:
    # A porter's mistake: Zephyr builds the LM3S6965 with no MPU, so there is no user mode
    # for extensions on qemu_cortex_m3 (mps2_an385 is the Cortex-M3 that has one).
    config = LlextConfig(userspace=True, set_by=(("USERSPACE", "prj.conf:4"),))
    assert violations("qemu_cortex_m3", config) == [
        "prj.conf:4: error: CONFIG_USERSPACE: user mode needs an MPU, a PMP or an MMU, and "
        "qemu_cortex_m3 has none: Kconfig cannot enable CONFIG_USERSPACE on this board\n"
        "  fix: disable CONFIG_USERSPACE, or use a board with memory protection"]
    assert violations("mps2_an385", config) == []


def test_sys_heap_choice_takes_one_entry() -> None:
    config = LlextConfig(sys_heap_big_only=True, sys_heap_small_only=True)
    assert violations("qemu_cortex_m3", config) == [
        "error: CONFIG_SYS_HEAP_BIG_ONLY, CONFIG_SYS_HEAP_SMALL_ONLY: the sys_heap chunk size "
        "choice takes one entry\n  fix: keep one of them"]


def test_invisible_option_warns_and_names_why() -> None:
    config = LlextConfig(heap_size=16, set_by=(("LLEXT_HEAP_SIZE", "prj.conf:3"),))
    assert warnings("nsim_em", config) == [
        "prj.conf:3: warning: CONFIG_LLEXT_HEAP_SIZE=16 has no effect: Kconfig gives it '', as "
        "it depends on !LLEXT_HEAP_DYNAMIC && !HARVARD && !LLEXT_HEAP_MEMBLK && LLEXT, and "
        "!HARVARD does not hold"]


def test_rodata_no_reloc_has_no_effect_with_an_mmu() -> None:
    config = LlextConfig(rodata_no_reloc=True, set_by=(("LLEXT_RODATA_NO_RELOC", "a:1"),))
    assert warnings("qemu_x86", config) == [
        "a:1: warning: CONFIG_LLEXT_RODATA_NO_RELOC=y has no effect: Kconfig gives it 'n', as it "
        "depends on !MMU && !USERSPACE && (!LLEXT_BUILD_PIC || XTENSA) && LLEXT, and !MMU does "
        "not hold"]


def test_memblk_with_power_of_two_mpu_warns_about_alignment() -> None:
    config = LlextConfig(heap_backend=HeapBackend.MEMBLK, userspace=True)
    assert warnings("mps2_an385", config) == [
        "warning: with user mode and a power-of-two MPU every region is rounded to a power of "
        "two of at least 32 bytes and aligned to it; memblk fails the allocation of any "
        "region aligned beyond the block size 32"]


def test_all_violations_come_in_one_error() -> None:
    config = LlextConfig(sys_heap_big_only=True, sys_heap_small_only=True,
                         heap_backend=HeapBackend.MEMBLK, heap_memblk_block_size=48)
    with pytest.raises(ConfigViolations) as caught:
        check_config(config, placer.load_board("qemu_cortex_m3"))
    error = caught.value
    assert isinstance(error, ConfigError)
    assert len(error.violations) == 3
    assert error.options == ("LLEXT_HEAP_MEMBLK_BLOCK_SIZE",)
    assert str(error) == "\n".join(str(v) for v in error.violations)


def test_llext_off_warns_about_llext_options() -> None:
    config = LlextConfig(llext=False, set_by=(("LLEXT_HEAP_SIZE", "p:1"),))
    assert warnings("qemu_cortex_m3", config) == [
        "p:1: warning: CONFIG_LLEXT_HEAP_SIZE has no effect: CONFIG_LLEXT is not set"]


def test_configuration_for_another_architecture() -> None:
    config = LlextConfig(arch="arc", set_by=(("ARC", ".config:8"),))
    assert violations("qemu_cortex_m3", config) == [
        ".config:8: error: CONFIG_ARC: the configuration is for arc, but board qemu_cortex_m3 "
        "is arm\n  fix: check the configuration against the board it was built for (--board)"]
