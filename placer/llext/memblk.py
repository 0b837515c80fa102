"""Zephyr's sys_mem_blocks pool, simulated block by block (llext-facts §3.8.2).

A pool is N blocks of B bytes (B a power of two, the buffer aligned to B) with one bit per
block. ``sys_mem_blocks_alloc_contiguous`` takes the first run of free blocks long enough,
scanning from block 0. There is no header: a region's alignment is exact when B is a
multiple of it, and impossible otherwise.
"""

from __future__ import annotations


class MemBlocks:
    """One ``sys_mem_blocks_t`` pool over ``[base, base + blocks * block_size)``."""

    __slots__ = ("_free", "base", "block_size", "blocks")

    def __init__(self, base: int, block_size: int, blocks: int) -> None:
        if block_size <= 0 or block_size & (block_size - 1):
            raise ValueError(f"block size {block_size} is not a power of two")
        self.base = base
        self.block_size = block_size
        self.blocks = blocks
        self._free = [True] * blocks

    def alloc_contiguous(self, count: int) -> int | None:
        """The address of the first run of `count` free blocks, now taken; or None."""
        if count <= 0 or count > self.blocks:
            return None
        run = 0
        for index, free in enumerate(self._free):
            run = run + 1 if free else 0
            if run == count:
                first = index - count + 1
                for taken in range(first, index + 1):
                    self._free[taken] = False
                return self.base + first * self.block_size
        return None

    def free_contiguous(self, address: int, count: int) -> None:
        """Give back `count` blocks starting at `address`."""
        first = (address - self.base) // self.block_size
        if (address - self.base) % self.block_size or first < 0 or first + count > self.blocks:
            raise ValueError(f"{address:#x} is not a block of this pool")
        for index in range(first, first + count):
            if self._free[index]:
                raise ValueError(f"block {index} of the pool is already free")
            self._free[index] = True

    @property
    def used_bytes(self) -> int:
        """Bytes of the pool in taken blocks."""
        return sum(not free for free in self._free) * self.block_size

    @property
    def capacity(self) -> int:
        """Bytes of the whole pool."""
        return self.blocks * self.block_size

    def largest_free_run(self) -> int:
        """Bytes in the longest run of free blocks."""
        best = run = 0
        for free in self._free:
            run = run + 1 if free else 0
            best = max(best, run)
        return best * self.block_size
