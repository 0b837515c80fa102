"""LLEXT_PAGE_SIZE, the rounding rule and the version-gated defaults, per board."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

import placer
from placer.config import BinaryType, HeapBackend, LlextConfig
from placer.target import Rounding, resolve


@pytest.mark.parametrize("board, page", [
    ("qemu_cortex_m3", 32), ("nrf52840dk_nrf52840", 32), ("nucleo_h743zi", 32),
    ("frdm_k64f", 32), ("qemu_riscv32", 32), ("hifive1_revb", 32), ("qemu_x86", 4096),
    ("qemu_cortex_a53", 4096), ("nsim_em", 2048), ("esp32s3_devkitc", 32),
])
def test_llext_page_size_per_board(board: str, page: int) -> None:
    assert resolve(placer.load_board(board), LlextConfig()).page_size == page


@pytest.mark.parametrize("board, rounding, granule", [
    ("mps2_an385", Rounding.POWER_OF_TWO, 32),  # ARMv7-M
    ("qemu_cortex_m3", Rounding.UNSUPPORTED, 1),  # LM3S6965: Zephyr enables no MPU
    ("nsim_em", Rounding.POWER_OF_TWO, 2048),  # ARC MPU v2
    ("qemu_riscv32", Rounding.PMP, 4),
    ("qemu_x86", Rounding.PAGE, 4096),
    ("frdm_k64f", Rounding.PAGE, 32),  # NXP SYSMPU under CONFIG_ARM_MPU: 32-byte granules
    ("esp32s3_devkitc", Rounding.UNSUPPORTED, 1),
])
def test_rounding_with_user_mode(board: str, rounding: Rounding, granule: int) -> None:
    target = resolve(placer.load_board(board), LlextConfig(userspace=True))
    assert (target.rounding, target.rounding_granule) == (rounding, granule)


def test_armv8m_mpu_rounds_to_32_byte_granules_not_powers_of_two() -> None:
    config = LlextConfig(userspace=True, mpu_requires_power_of_two_alignment=False)
    target = resolve(placer.load_board("mps2_an385"), config)
    assert target.rounding is Rounding.PAGE
    assert target.round_region(100, 4) == (128, 32)


def test_without_user_mode_the_mpu_does_not_round_since_4_4() -> None:
    target = resolve(placer.load_board("mps2_an385"), LlextConfig())
    assert target.rounding is Rounding.NONE
    assert target.round_region(100, 4) == (100, 4)


def test_zephyr_4_3_forces_powers_of_two_on_any_arm_mpu() -> None:
    old = LlextConfig(zephyr_version=(4, 3))
    target = resolve(placer.load_board("mps2_an385"), old)
    assert target.rounding is Rounding.POWER_OF_TWO
    assert target.round_region(100, 4) == (128, 128)
    # The ARMv8-M flag made no difference then.
    armv8 = LlextConfig(zephyr_version=(4, 3), mpu_requires_power_of_two_alignment=False)
    assert resolve(placer.load_board("mps2_an385"), armv8).rounding is Rounding.POWER_OF_TWO
    # A board Zephyr builds without an MPU was never rounded.
    assert resolve(placer.load_board("qemu_cortex_m3"), old).rounding is Rounding.NONE


def test_mmu_rounds_to_pages_even_without_user_mode() -> None:
    target = resolve(placer.load_board("qemu_cortex_a53"), LlextConfig())
    assert target.round_region(5000, 8) == (8192, 4096)


@given(st.integers(1, 1 << 20), st.sampled_from([1, 2, 4, 8, 16, 64, 4096]))
def test_power_of_two_rounding_covers_and_aligns(size: int, align: int) -> None:
    target = resolve(placer.load_board("nsim_em"), LlextConfig(userspace=True))
    rounded, alignment = target.round_region(size, align)
    assert rounded >= max(size, 2048) and rounded & (rounded - 1) == 0
    assert alignment == rounded and alignment % align == 0


def test_xtensa_storage_writable_default_changed_with_pr_114099() -> None:
    board = placer.load_board("esp32s3_devkitc")
    assert resolve(board, LlextConfig()).storage_writable is False
    assert resolve(board, LlextConfig(zephyr_version=(4, 3))).storage_writable is True
    arm = placer.load_board("qemu_cortex_m3")
    assert resolve(arm, LlextConfig(zephyr_version=(4, 3))).storage_writable is False


@pytest.mark.parametrize("board, binary, pic", [
    ("qemu_cortex_m3", BinaryType.ELF_OBJECT, False),
    ("qemu_cortex_a53", BinaryType.ELF_OBJECT, False),
    ("qemu_riscv32", BinaryType.ELF_RELOCATABLE, False),
    ("esp32s3_devkitc", BinaryType.ELF_SHAREDLIB, True),
    ("qemu_x86", BinaryType.ELF_OBJECT, False),
    ("nsim_em", BinaryType.ELF_OBJECT, False),
])
def test_binary_type_and_pic_defaults(board: str, binary: BinaryType, pic: bool) -> None:
    target = resolve(placer.load_board(board), LlextConfig())
    assert (target.binary_type, target.build_pic) == (binary, pic)


def test_memblk_pool_blocks_are_word_rounded() -> None:
    config = LlextConfig(heap_backend=HeapBackend.MEMBLK, heap_memblk_block_size=2,
                         ext_heap_size=1)
    pool = resolve(placer.load_board("qemu_cortex_m3"), config).heap_sections()[0]
    # 512 blocks of 2 bytes, each taking WB_UP(2) = 4 bytes, aligned to 4.
    assert (pool.size, pool.align, pool.block_size) == (2048, 4, 2)
