"""Zephyr's sys_mem_blocks pool, simulated block by block (Zephyr's lib/mem_blocks/mem_blocks.c).

A pool is N blocks of B bytes (B a power of two, the buffer aligned to B) with one bit per
block in a ``sys_bitarray``. ``sys_mem_blocks_alloc_contiguous`` asks the bit array for a run
of free blocks, and the bit array has two searches:

- a pool of more than 32 blocks is searched first fit, from block 0;
- a pool of at most 32 blocks (one 32-bit bundle: the usual LLEXT pools of 8 or 16 blocks)
  is searched *best fit* over its runs of free blocks, walking them from the highest block
  down: the first run exactly as long as the request wins at once, otherwise the shortest
  longer run, the higher one on a tie. The blocks taken are the lowest of that run.

There is no header: a region's alignment is exact when B is a multiple of it, and
impossible otherwise.
"""

from __future__ import annotations

#: Bits in one ``sys_bitarray`` bundle: pools up to this many blocks take the best-fit search.
_ONE_BUNDLE = 32


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
        first = self._best_fit(count) if self.blocks <= _ONE_BUNDLE else self._first_fit(count)
        if first is None:
            return None
        for taken in range(first, first + count):
            self._free[taken] = False
        return self.base + first * self.block_size

    def _first_fit(self, count: int) -> int | None:
        run = 0
        for index, free in enumerate(self._free):
            run = run + 1 if free else 0
            if run == count:
                return index - count + 1
        return None

    def _best_fit(self, count: int) -> int | None:
        best: int | None = None
        best_len = 0
        for start, length in reversed(self._free_runs()):
            if length == count:
                return start
            if length > count and (best is None or length < best_len):
                best, best_len = start, length
        return best

    def _free_runs(self) -> list[tuple[int, int]]:
        """Maximal runs of free blocks as ``(first block, length)``, lowest first."""
        runs: list[tuple[int, int]] = []
        start = None
        for index, free in enumerate([*self._free, False]):
            if free and start is None:
                start = index
            elif not free and start is not None:
                runs.append((start, index - start))
                start = None
        return runs

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
