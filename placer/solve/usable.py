"""How much of a heap extension regions can use under a power-of-two MPU (``llext_copy_region`` in
Zephyr's subsys/llext/llext_mem.c; ``sys_heap_aligned_alloc`` in Zephyr's lib/heap/heap.c).

With ``CONFIG_USERSPACE`` and ``CONFIG_MPU_REQUIRES_POWER_OF_TWO_ALIGNMENT`` every region
is a block of ``2**k`` bytes aligned to its size. sys_heap's aligned allocation first takes
a free chunk of ``ceil((n + A) / 8)`` chunks, so a block of A bytes needs about 2A free
bytes. Where the block lands depends on the heap's absolute base: when the first free
chunk's payload is already A-aligned nothing is split off in front, and the rest of the
heap stays in one piece for the next block. These functions model exactly that path of
``sys_heap_aligned_alloc`` on a fresh heap.
"""

from __future__ import annotations

from placer import records
from placer.config import LlextConfig
from placer.llext.heap import CHUNK_UNIT as CHUNK
from placer.llext.heap import HeapOptions, SysHeap


@records.frozen
class HeapShape:
    """A fresh sys_heap over a buffer: header bytes, chunk 0's size and the chunk count."""

    header: int
    chunk0: int
    chunks: int

    @property
    def free_bytes(self) -> int:
        """Bytes of the one free chunk a fresh heap starts with (after chunk 0)."""
        return (self.chunks - self.chunk0) * CHUNK


def heap_shape(size: int, pointer_size: int, config: LlextConfig) -> HeapShape:
    """The fresh heap ``sys_heap_init`` builds over `size` bytes at an 8-aligned base, as
    the allocator model (`placer.llext.heap.SysHeap`) lays it out."""
    fresh = SysHeap(0, size, HeapOptions.for_config(pointer_size, config))
    return HeapShape(header=fresh.header, chunk0=fresh.chunk0, chunks=fresh.end_chunk)


def largest_block(shape: HeapShape, granule: int) -> int:
    """The largest power-of-two block (at least `granule`) one allocation can get."""
    block = 0
    candidate = max(granule, 1)
    while 2 * candidate <= shape.free_bytes:
        block = candidate
        candidate *= 2
    return block


def blocks_served(base: int, shape: HeapShape, block: int) -> int:
    """How many `block`-sized, `block`-aligned regions a fresh heap at `base` serves in a row.

    Each request needs a free chunk of ``ceil(2 * block / 8)`` chunks; the fragments split
    off in front are smaller than half of that, so only the tail chunk can serve it.
    """
    if block <= 0:
        return 0
    need = -(-2 * block // CHUNK)
    start = shape.chunk0
    count = 0
    while shape.chunks - start >= need:
        payload = base + start * CHUNK + shape.header
        mem = payload + (-payload) % block
        end = mem + block
        start = -(-(end - base) // CHUNK)
        count += 1
    return count


def aligned_residue(shape: HeapShape, block: int) -> int:
    """The base residue modulo `block` that puts the first payload on a block boundary."""
    return (-(shape.chunk0 + 1) * CHUNK) % block
