"""Zephyr's sys_heap allocator, simulated address by address (Zephyr's lib/heap/heap.c).

This is an independent Python model of ``lib/heap/heap.c``: chunks of 8 bytes indexed
from the 8-aligned start of the buffer, 4-byte headers on small heaps and 8-byte headers
on big ones, one circular free list per power-of-two bucket with new chunks inserted
*before* the bucket head, a bounded scan of ``SYS_HEAP_ALLOC_LOOPS`` chunks in the first
bucket (rotating its head) before taking the head of the next non-empty bucket, aligned
allocation by over-allocating ``bytes + align - header`` and giving the prefix and suffix
back, and merging with free neighbours on both sides when freeing. With
``SYS_HEAP_HARDENING_FULL`` every chunk carries one extra 8-byte trailer unit.

Every allocation returns the same address Zephyr's allocator would, so fragmentation that
carries from one extension load to the next is exact, not estimated.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

from placer import records

if TYPE_CHECKING:
    from placer.config import LlextConfig

#: ``CHUNK_UNIT``: the allocator's granule, in bytes.
CHUNK_UNIT = 8
#: Largest chunk count a small heap (16-bit fields) can address.
_SMALL_HEAP_MAX_CHUNKS = 0x7FFF


@records.frozen
class HeapOptions:
    """The build options that change the allocator's arithmetic.

    `pointer_size` is ``sizeof(void *)``: 64-bit targets always use big heaps.
    """

    pointer_size: int = 4
    big_only: bool = False
    small_only: bool = False
    alloc_loops: int = 3
    runtime_stats: bool = False
    hardening_full: bool = False

    @classmethod
    def for_config(cls, pointer_size: int, config: LlextConfig) -> HeapOptions:
        """The options a build with `config` gives its sys_heaps (``CONFIG_SYS_HEAP_*``)."""
        return cls(pointer_size=pointer_size, big_only=config.sys_heap_big_only,
                   small_only=config.sys_heap_small_only,
                   alloc_loops=config.sys_heap_alloc_loops,
                   runtime_stats=config.sys_heap_runtime_stats,
                   hardening_full=config.sys_heap_hardening_full)

    def z_heap_struct_bytes(self) -> int:
        """``sizeof(struct z_heap)`` without its bucket array."""
        stats = 3 * self.pointer_size if self.runtime_stats else 0
        return 16 + stats

    def trailer_chunks(self) -> int:
        """``CHUNK_TRAILER_SIZE``: the canary trailer, in chunk units."""
        return 1 if self.hardening_full else 0

    def big_heap_chunks(self, chunks: int) -> bool:
        """Whether a heap of `chunks` units uses 32-bit chunk fields (8-byte headers)."""
        if self.small_only:
            return False
        if self.big_only or self.pointer_size > 4:
            return True
        return chunks > _SMALL_HEAP_MAX_CHUNKS


@records.frozen
class HeapStats:
    """A heap's runtime statistics, in usable bytes (``struct sys_memory_stats``)."""

    free_bytes: int
    allocated_bytes: int
    max_allocated_bytes: int


class HeapTooSmall(ValueError):
    """The buffer cannot even hold the allocator's own bookkeeping."""


@functools.cache
def z_heap_min_size(options: HeapOptions) -> int:
    """``Z_HEAP_MIN_SIZE`` (``include/zephyr/kernel.h``): the smallest buffer whose fresh
    heap serves one 1-byte allocation, found with this model (as Zephyr derives it from
    the struct sizes, ``Z_HEAP_MIN_SIZE_FOR(1)``): 44 bytes on 32-bit targets and 56 on
    64-bit ones without runtime statistics or hardening, the constants Zephyr wrote by hand
    before."""
    size = CHUNK_UNIT
    while True:
        try:
            if SysHeap(0, size, options).alloc(1) is not None:
                return size
        except HeapTooSmall:
            pass
        size += 1


@records.frozen
class Chunk:
    """One chunk of the heap as it stands: its address, size in bytes and state."""

    address: int
    size: int
    used: bool


class SysHeap:
    """One sys_heap over ``[base, base + size)``.

    The state is the same as Zephyr's (chunk sizes, left sizes, used bits, free-list links
    and bucket heads), kept in dictionaries keyed by chunk index instead of in the buffer.
    """

    __slots__ = (
        "_allocated",
        "_avail",
        "_buckets",
        "_left",
        "_max_allocated",
        "_next",
        "_prev",
        "_size",
        "_used",
        "base",
        "big",
        "chunk0",
        "end_chunk",
        "header",
        "min_chunk",
        "options",
        "size",
        "start",
        "trailer",
    )

    def __init__(self, base: int, size: int, options: HeapOptions | None = None) -> None:
        opts = options if options is not None else HeapOptions()
        self.options = opts
        self.base = base
        self.size = size
        footer = 8 if opts.big_heap_chunks(size // CHUNK_UNIT) else 4
        if size <= footer:
            raise HeapTooSmall(f"a {size}-byte heap cannot hold its {footer}-byte end marker")
        usable = size - footer
        start = _round_up(base, CHUNK_UNIT)
        end = _round_down(base + usable, CHUNK_UNIT)
        if end <= start:
            raise HeapTooSmall(f"a {size}-byte heap at {base:#x} has no whole chunk")
        end_chunk = (end - start) // CHUNK_UNIT
        self.start = start
        self.end_chunk = end_chunk
        self.big = opts.big_heap_chunks(end_chunk)
        self.header = 8 if self.big else 4
        self.trailer = opts.trailer_chunks()
        self.min_chunk = _chunks_for(self.header + 1) + self.trailer
        struct_bytes = opts.z_heap_struct_bytes()
        if end_chunk <= _chunks_for(struct_bytes):
            raise HeapTooSmall(f"a {size}-byte heap cannot hold struct z_heap")
        buckets = self._bucket_index(end_chunk) + 1
        chunk0 = _chunks_for(struct_bytes + 4 * buckets) + self.trailer
        if chunk0 + self.min_chunk > end_chunk:
            raise HeapTooSmall(
                f"a {size}-byte heap has {end_chunk} chunks; its bookkeeping takes {chunk0}"
            )
        self.chunk0 = chunk0
        self._buckets = [0] * buckets
        self._avail = 0
        self._allocated = 0
        self._max_allocated = 0
        self._size: dict[int, int] = {0: chunk0, chunk0: end_chunk - chunk0, end_chunk: 0}
        self._left: dict[int, int] = {0: 0, chunk0: chunk0, end_chunk: end_chunk - chunk0}
        self._used: set[int] = {0, end_chunk}
        self._prev: dict[int, int] = {}
        self._next: dict[int, int] = {}
        self._free_list_add(chunk0)

    # -- public API ---------------------------------------------------------------------

    def alloc(self, nbytes: int) -> int | None:
        """``sys_heap_alloc``: the payload address, or None when no chunk fits."""
        if nbytes <= 0:
            return None
        want = self._bytes_to_chunks(nbytes, 0)
        c = self._alloc_chunk(want)
        if c == 0:
            return None
        if self._size[c] > want:
            self._split(c, c + want)
            self._free_list_add(c + want)
        self._used.add(c)
        self._count_alloc(c)
        return self._chunk_mem(c)

    def aligned_alloc(self, align: int, nbytes: int) -> int | None:
        """``sys_heap_aligned_alloc``: the payload address aligned to `align`, or None.

        Alignments at or below the header size are plain allocations, as in Zephyr; the
        "rewind" encoding (a lowest set bit below the alignment) is honoured too.
        """
        rewind = align & -align
        if align != rewind:
            align -= rewind
            gap = min(rewind, self.header)
        else:
            if align <= self.header:
                return self.alloc(nbytes)
            rewind = 0
            gap = self.header
        # Zephyr only asserts a power of two; release builds round with plain division.
        if nbytes <= 0:
            return None
        padded = self._bytes_to_chunks(nbytes, align - gap)
        c0 = self._alloc_chunk(padded)
        if c0 == 0:
            return None
        mem = _round_up(self._chunk_mem(c0) + rewind, align) - rewind
        end = _round_up(mem + nbytes, CHUNK_UNIT)
        c = self._mem_to_chunk(mem)
        c_end = (end - self.start) // CHUNK_UNIT + self.trailer
        if c > c0:
            self._split(c0, c)
            self._free_list_add(c0)
        if c + self._size[c] > c_end:
            self._split(c, c_end)
            self._free_list_add(c_end)
        self._used.add(c)
        self._count_alloc(c)
        return mem

    def required_block(self, align: int, nbytes: int) -> int:
        """Bytes of one free chunk that ``aligned_alloc(align, nbytes)`` (or ``alloc`` for
        `align` 0) needs before it splits: the request plus header, plus the alignment
        slack for alignments above the header size."""
        rewind = align & -align
        if align != rewind:
            extra = align - rewind - min(rewind, self.header)
        elif align <= self.header:
            extra = 0
        else:
            extra = align - self.header
        return self._bytes_to_chunks(nbytes, extra) * CHUNK_UNIT

    def free(self, address: int) -> None:
        """``sys_heap_free``: give back the allocation whose payload is at `address`."""
        c = self._mem_to_chunk(address)
        if c not in self._used or c in (0, self.end_chunk):
            raise ValueError(f"{address:#x} is not an allocated block of this heap")
        self._used.discard(c)
        self._allocated -= self._usable(c)
        self._free_chunk(c)

    def chunk_bytes(self, address: int) -> int:
        """Bytes of the heap the allocation at `address` occupies (its whole chunk)."""
        return self._size[self._mem_to_chunk(address)] * CHUNK_UNIT

    def chunks(self) -> tuple[Chunk, ...]:
        """Every chunk after the bookkeeping chunk, in address order."""
        out = []
        c = self.chunk0
        while c < self.end_chunk:
            size = self._size[c]
            out.append(Chunk(self.start + c * CHUNK_UNIT, size * CHUNK_UNIT, c in self._used))
            c += size
        return tuple(out)

    @property
    def used_bytes(self) -> int:
        """Bytes held by allocations, headers and padding included."""
        return sum(ch.size for ch in self.chunks() if ch.used)

    @property
    def capacity(self) -> int:
        """Bytes the allocator can ever hand out (all chunks after its bookkeeping)."""
        return (self.end_chunk - self.chunk0) * CHUNK_UNIT

    def largest_free_chunk(self) -> int:
        """Bytes in the largest free chunk (header included)."""
        return max((ch.size for ch in self.chunks() if not ch.used), default=0)

    def largest_alloc(self) -> int:
        """The largest `n` a plain ``alloc(n)`` would serve right now (0 for none).

        Not simply the largest free chunk: a request whose bucket is the highest non-empty
        one is only tried against the first ``SYS_HEAP_ALLOC_LOOPS`` chunks of that bucket's
        list (all of them for 0), so a bigger chunk further down the list is out of reach.
        Any smaller request falls back on that bucket's head and succeeds.
        """
        top = len(self._buckets) - 1
        while top >= 0 and self._buckets[top] == 0:
            top -= 1
        if top < 0:
            return 0
        head = self._buckets[top]
        c = head
        best = 0
        loops = self.options.alloc_loops
        while True:
            best = max(best, self._size[c])
            c = self._next[c]
            loops -= 1
            if loops == 0 or c == head:
                break
        return max((best - self.trailer) * CHUNK_UNIT - self.header, 0)

    def runtime_stats(self) -> HeapStats:
        """``sys_heap_runtime_stats_get`` as ``CONFIG_SYS_HEAP_RUNTIME_STATS`` keeps it.

        Every figure is in usable bytes (a chunk less its header and trailer), and free
        chunks too small for any list are not counted, as in Zephyr.
        """
        free = sum(
            self._usable(c) for c in self._size
            if c not in self._used and not self._undersized(c)
        )
        return HeapStats(free, self._allocated, self._max_allocated)

    # -- the allocator ------------------------------------------------------------------

    def _usable(self, c: int) -> int:
        return (self._size[c] - self.trailer) * CHUNK_UNIT - self.header

    def _count_alloc(self, c: int) -> None:
        self._allocated += self._usable(c)
        self._max_allocated = max(self._max_allocated, self._allocated)

    def _bytes_to_chunks(self, nbytes: int, extra: int) -> int:
        chunks = (nbytes // CHUNK_UNIT) + (extra // CHUNK_UNIT)
        oddments = (nbytes % CHUNK_UNIT + extra % CHUNK_UNIT + self.header + CHUNK_UNIT - 1)
        total = chunks + oddments // CHUNK_UNIT + self.trailer
        return min(total, self.end_chunk)

    def _bucket_index(self, chunks: int) -> int:
        return (chunks - self.min_chunk + 1).bit_length() - 1

    def _undersized(self, c: int) -> bool:
        return self._size[c] < self.min_chunk

    def _chunk_mem(self, c: int) -> int:
        return self.start + c * CHUNK_UNIT + self.header

    def _mem_to_chunk(self, mem: int) -> int:
        return (mem - self.header - self.start) // CHUNK_UNIT

    def _free_list_remove_bidx(self, c: int, bidx: int) -> None:
        if self._next[c] == c:
            self._avail &= ~(1 << bidx)
            self._buckets[bidx] = 0
        else:
            first, second = self._prev[c], self._next[c]
            self._buckets[bidx] = second
            self._next[first] = second
            self._prev[second] = first
        del self._prev[c], self._next[c]

    def _free_list_remove(self, c: int) -> None:
        if not self._undersized(c):
            self._free_list_remove_bidx(c, self._bucket_index(self._size[c]))

    def _free_list_add(self, c: int) -> None:
        if self._undersized(c):
            return  # too small to allocate or to hold list links: Zephyr leaves it out
        bidx = self._bucket_index(self._size[c])
        head = self._buckets[bidx]
        if head == 0:
            self._avail |= 1 << bidx
            self._buckets[bidx] = c
            self._prev[c] = c
            self._next[c] = c
        else:
            first = self._prev[head]
            self._prev[c] = first
            self._next[c] = head
            self._next[first] = c
            self._prev[head] = c

    def _split(self, lc: int, rc: int) -> None:
        total = self._size[lc]
        left = rc - lc
        right = total - left
        self._size[lc] = left
        self._size[rc] = right
        self._left[rc] = left
        self._left[rc + right] = right

    def _merge(self, lc: int, rc: int) -> None:
        merged = self._size[lc] + self._size[rc]
        right_end = rc + self._size[rc]
        del self._size[rc]
        self._left.pop(rc, None)
        self._size[lc] = merged
        self._left[right_end] = merged

    def _free_chunk(self, c: int) -> None:
        right = c + self._size[c]
        if right not in self._used:
            self._free_list_remove(right)
            self._merge(c, right)
        left = c - self._left[c]
        if left not in self._used:
            self._free_list_remove(left)
            self._merge(left, c)
            c = left
        self._free_list_add(c)

    def _alloc_chunk(self, want: int) -> int:
        bi = self._bucket_index(want)
        if bi < len(self._buckets) and self._buckets[bi] != 0:
            first = self._buckets[bi]
            loops = self.options.alloc_loops
            while True:
                c = self._buckets[bi]
                if self._size[c] >= want:
                    self._free_list_remove_bidx(c, bi)
                    return c
                self._buckets[bi] = self._next[c]
                loops -= 1
                if loops == 0 or self._buckets[bi] == first:
                    break
        mask = self._avail & ~((1 << (bi + 1)) - 1)
        if mask:
            minbucket = (mask & -mask).bit_length() - 1
            c = self._buckets[minbucket]
            self._free_list_remove_bidx(c, minbucket)
            return c
        return 0


def _chunks_for(nbytes: int) -> int:
    return (nbytes + CHUNK_UNIT - 1) // CHUNK_UNIT


def _round_up(value: int, align: int) -> int:
    return -(-value // align) * align


def _round_down(value: int, align: int) -> int:
    return value // align * align
