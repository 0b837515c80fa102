"""The sys_heap simulator pins the allocator's real numbers and keeps its invariants."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from placer.llext.heap import CHUNK_UNIT, HeapOptions, HeapTooSmall, SysHeap

RAM = 0x2000_0000


def test_fresh_8k_heap_serves_8124_bytes_on_32_bit() -> None:
    heap = SysHeap(RAM, 8192)
    assert (heap.end_chunk, heap.chunk0, heap.header) == (1023, 7, 4)
    assert heap.capacity == 8128
    assert heap.largest_alloc() == 8124
    assert heap.alloc(8125) is None
    assert heap.alloc(8124) == RAM + 7 * 8 + 4


def test_fresh_8k_heap_serves_8120_bytes_on_64_bit() -> None:
    heap = SysHeap(RAM, 8192, HeapOptions(pointer_size=8))
    assert heap.header == 8
    assert heap.largest_alloc() == 8120
    assert heap.alloc(8121) is None
    assert heap.alloc(8120) is not None


def test_16k_heap_holds_only_one_page_aligned_page() -> None:
    heap = SysHeap(0x1000_0000, 16384)
    first = heap.aligned_alloc(4096, 4096)
    assert first == 0x1000_1000
    # The next aligned request needs a free chunk of 4096 + 4096 bytes first.
    assert heap.required_block(4096, 4096) == 8192
    assert heap.largest_free_chunk() < 8192
    assert heap.aligned_alloc(4096, 4096) is None
    # ...even though a plain 4096-byte block still fits.
    assert heap.alloc(4096) is not None


def test_llext_sequence_costs_2752_bytes_as_in_the_reference_table() -> None:
    heap = SysHeap(RAM, 8192)
    plain = [188, 160]
    aligned = [(1, 150), (1, 300), (4, 1000), (1, 64), (8, 200), (1, 32), (4, 480)]
    costs = [heap.chunk_bytes(heap.alloc(n) or 0) for n in plain]
    costs += [heap.chunk_bytes(heap.aligned_alloc(a, n) or 0) for a, n in aligned]
    costs += [heap.chunk_bytes(heap.alloc(n) or 0) for n in (80, 16)]
    assert costs == [192, 168, 160, 304, 1008, 72, 208, 40, 488, 88, 24]
    assert sum(costs) == 2752 == heap.used_bytes


def test_small_heap_payloads_sit_4_past_a_chunk_boundary() -> None:
    heap = SysHeap(RAM + 4, 4096)  # an unaligned buffer start is rounded up to 8
    assert heap.start == RAM + 8
    mem = heap.alloc(1)
    assert mem is not None and mem % 8 == 4


def test_aligned_allocation_gives_back_its_prefix_and_suffix() -> None:
    heap = SysHeap(RAM, 8192)
    mem = heap.aligned_alloc(256, 100)
    assert mem == RAM + 0x100
    # The chunk starts at the chunk boundary below `mem`'s header and ends at the 8-aligned
    # end of the payload: round_up(100, 8) + 8 on a small heap.
    assert heap.chunk_bytes(mem) == 112
    used = [c for c in heap.chunks() if c.used]
    free = [c for c in heap.chunks() if not c.used]
    assert len(used) == 1 and len(free) == 2  # the prefix before it and the rest after


def test_freeing_merges_with_both_neighbours() -> None:
    heap = SysHeap(RAM, 4096)
    a, b, c = heap.alloc(100), heap.alloc(100), heap.alloc(100)
    assert a is not None and b is not None and c is not None
    heap.free(a)
    heap.free(c)  # merges with the free tail
    heap.free(b)  # merges left and right: one free chunk again
    assert [ch.used for ch in heap.chunks()] == [False]
    assert heap.largest_alloc() == SysHeap(RAM, 4096).largest_alloc()


def test_alloc_loops_bounds_the_search_in_the_first_bucket() -> None:
    # Bucket 4 holds chunks of 16..31 units. Put four free chunks there, the one that fits
    # last in list order: with SYS_HEAP_ALLOC_LOOPS=3 the search gives up before it and
    # takes the head of a larger bucket; with more loops it finds it.
    def scenario(loops: int) -> tuple[int | None, int]:
        heap = SysHeap(RAM, 16384, HeapOptions(alloc_loops=loops))
        sizes = [17, 17, 17, 30]
        blocks = []
        for units in sizes:
            blocks.append(heap.alloc(units * CHUNK_UNIT - 4))
            blocks.append(heap.alloc(4))  # a separator so frees cannot merge
        for mem in blocks[0::2]:
            assert mem is not None
            heap.free(mem)
        want = heap.alloc(29 * CHUNK_UNIT - 4)
        return want, blocks[6] or 0

    found_late, fitting = scenario(loops=4)
    assert found_late == fitting
    found_early, fitting = scenario(loops=3)
    assert found_early is not None and found_early != fitting


def test_freed_chunk_is_inserted_before_the_bucket_head() -> None:
    heap = SysHeap(RAM, 16384)
    blocks = [heap.alloc(100) for _ in range(6)]
    assert all(b is not None for b in blocks)
    heap.free(blocks[0] or 0)
    heap.free(blocks[2] or 0)
    heap.free(blocks[4] or 0)
    # All three sit in one bucket; the head is still the first one freed, so an
    # allocation that fits any of them takes blocks[0]'s chunk.
    assert heap.alloc(100) == blocks[0]


def test_hardening_full_adds_one_trailer_unit_per_chunk() -> None:
    plain = SysHeap(RAM, 8192)
    hardened = SysHeap(RAM, 8192, HeapOptions(hardening_full=True))
    a, b = plain.alloc(100), hardened.alloc(100)
    assert a is not None and b is not None
    assert hardened.chunk_bytes(b) == plain.chunk_bytes(a) + 8
    assert hardened.chunk0 == plain.chunk0 + 1


def test_big_heap_above_32767_chunks_uses_8_byte_headers() -> None:
    assert SysHeap(RAM, 256 * 1024).header == 4
    assert SysHeap(RAM, 256 * 1024 + 16).header == 8
    assert SysHeap(RAM, 4096, HeapOptions(big_only=True)).header == 8


def test_a_heap_too_small_for_its_bookkeeping_is_refused() -> None:
    with pytest.raises(HeapTooSmall):
        SysHeap(RAM, 40)
    assert SysHeap(RAM, 44).alloc(1) is not None  # Z_HEAP_MIN_SIZE on 32-bit


operations = st.lists(
    st.tuples(st.sampled_from(["alloc", "aligned", "free"]), st.integers(1, 900),
              st.sampled_from([4, 8, 16, 64, 256, 1024]), st.integers(0, 1000)),
    max_size=60)


@settings(max_examples=150, deadline=None)
@given(ops=operations, pointer=st.sampled_from([4, 8]), base=st.integers(0, 64))
def test_chunks_tile_the_heap_and_allocations_never_overlap(
        ops: list[tuple[str, int, int, int]], pointer: int, base: int) -> None:
    heap = SysHeap(RAM + base * 4, 8192, HeapOptions(pointer_size=pointer))
    live: dict[int, tuple[int, int]] = {}
    for op, size, align, pick in ops:
        if op == "free" and live:
            mem = sorted(live)[pick % len(live)]
            heap.free(mem)
            del live[mem]
            continue
        mem = heap.alloc(size) if op == "alloc" else heap.aligned_alloc(align, size)
        if mem is None:
            continue
        if op == "aligned":
            assert mem % align == 0
        live[mem] = (mem, mem + size)
    chunks = heap.chunks()
    assert sum(c.size for c in chunks) == heap.capacity
    for left, right in itertools.pairwise(chunks):
        assert left.address + left.size == right.address
        assert not (not left.used and not right.used)  # free neighbours always merge
    spans = sorted(live.values())
    for (_, end), (start, _) in itertools.pairwise(spans):
        assert end <= start
    for mem in list(live):
        heap.free(mem)
    assert [c.used for c in heap.chunks()] == [False]


@settings(max_examples=50, deadline=None)
@given(pointer=st.sampled_from([4, 8]), kib=st.sampled_from([1, 2, 4, 8, 16, 64, 255, 256]),
       base=st.integers(0, 4095), shift=st.integers(6, 15))
def test_the_solvers_block_count_agrees_with_the_simulator(pointer: int, kib: int, base: int,
                                                           shift: int) -> None:
    # placer.solve sizes heaps for power-of-two MPU blocks with a closed-form model of
    # sys_heap_aligned_alloc on a fresh heap; the loader must see the same count.
    from placer.config import LlextConfig
    from placer.solve.usable import blocks_served, heap_shape

    block = 1 << shift
    address = RAM + 8 * base
    heap = SysHeap(address, kib * 1024, HeapOptions(pointer_size=pointer))
    served = 0
    while heap.aligned_alloc(block, block) is not None:
        served += 1
    shape = heap_shape(kib * 1024, pointer, LlextConfig())
    assert blocks_served(address, shape, block) == served


def test_the_model_gives_zephyrs_hand_written_minimum_heap_sizes() -> None:
    # Z_HEAP_MIN_SIZE was 44 bytes on 32-bit and 56 on 64-bit targets before Zephyr
    # derived it from the struct sizes; the model finds both, and more with the options
    # that grow the bookkeeping.
    from placer.llext.heap import HeapOptions, z_heap_min_size

    assert z_heap_min_size(HeapOptions(pointer_size=4)) == 44
    assert z_heap_min_size(HeapOptions(pointer_size=8)) == 56
    assert z_heap_min_size(HeapOptions(pointer_size=4, hardening_full=True)) > 44
