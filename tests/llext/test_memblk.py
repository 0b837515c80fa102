"""The sys_mem_blocks pool over whole blocks (best fit up to 32 blocks, first fit beyond)."""

from __future__ import annotations

import pytest

from placer.llext.memblk import MemBlocks


def test_a_small_pool_takes_the_run_exactly_as_long_as_the_request() -> None:
    pool = MemBlocks(0x1000, 32, 8)
    a = pool.alloc_contiguous(2)
    b = pool.alloc_contiguous(1)
    c = pool.alloc_contiguous(2)
    assert (a, b, c) == (0x1000, 0x1040, 0x1060)
    pool.free_contiguous(0x1000, 2)
    assert pool.alloc_contiguous(3) == 0x10A0  # the freed pair is too short
    assert pool.alloc_contiguous(2) == 0x1000


def test_a_pool_refuses_more_blocks_than_any_free_run() -> None:
    pool = MemBlocks(0, 64, 4)
    assert pool.alloc_contiguous(5) is None
    assert pool.alloc_contiguous(4) == 0
    assert pool.alloc_contiguous(1) is None
    assert pool.used_bytes == 256 and pool.largest_free_run() == 0


def test_block_size_must_be_a_power_of_two() -> None:
    with pytest.raises(ValueError, match="not a power of two"):
        MemBlocks(0, 48, 4)


def test_double_free_is_caught() -> None:
    pool = MemBlocks(0, 32, 4)
    pool.alloc_contiguous(1)
    pool.free_contiguous(0, 1)
    with pytest.raises(ValueError, match="already free"):
        pool.free_contiguous(0, 1)


@pytest.mark.parametrize(("blocks", "taken"), [(8, 4), (40, 0)])
def test_pools_up_to_32_blocks_fit_best_and_larger_ones_fit_first(blocks: int,
                                                                   taken: int) -> None:
    pool = MemBlocks(0, 1, blocks)
    assert pool.alloc_contiguous(3) == 0
    assert pool.alloc_contiguous(1) == 3
    assert pool.alloc_contiguous(2) == 4
    assert pool.alloc_contiguous(blocks - 6) == 6
    pool.free_contiguous(0, 3)
    pool.free_contiguous(4, 2)
    assert pool.alloc_contiguous(2) == taken
