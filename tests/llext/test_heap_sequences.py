"""Allocation sequences whose every address was read off Zephyr's own allocator.

Each expected number below came from building Zephyr's ``lib/heap/heap.c`` and
``lib/utils/bitarray.c`` for the host (``-m32`` for 32-bit targets, native for 64-bit) and
running the same script over a buffer at the same offset from a 64 KiB-aligned base; see
docs/verify.md for how the simulators were checked. The sequences are the ones that are easy
to get wrong: the bounded ``SYS_HEAP_ALLOC_LOOPS`` scan, the small/big heap boundary, a
one-chunk leftover a big heap cannot list, alignment with a rewind, an unaligned buffer,
runtime statistics in ``struct z_heap``, and the bit array's best fit for small pools.
"""

from __future__ import annotations

import pytest

from placer.llext.heap import HeapOptions, HeapStats, SysHeap
from placer.llext.memblk import MemBlocks

RAM = 0x2000_0000

#: One step of a script: ("a", n) alloc, ("A", align, n) aligned alloc, ("f", i) free the
#: i-th allocation made so far.
Step = tuple[str, int] | tuple[str, int, int]


def _run(heap: SysHeap, script: list[Step]) -> list[int | None]:
    """Run `script`; return each allocation's offset from RAM (None where it failed)."""
    made: list[int | None] = []
    for step in script:
        if step[0] == "f":
            address = made[step[1]]
            assert address is not None
            heap.free(RAM + address)
            continue
        got = heap.aligned_alloc(step[1], step[2]) if len(step) == 3 else heap.alloc(step[1])
        made.append(None if got is None else got - RAM)
    return made


def _layout(heap: SysHeap) -> list[tuple[int, int, bool]]:
    return [(c.address - RAM, c.size, c.used) for c in heap.chunks()]


_FRAGMENTING: list[Step] = [
    ("a", 12), ("a", 24), ("a", 100), ("f", 0), ("f", 2),
    ("a", 20), ("a", 60), ("f", 3), ("a", 20), ("a", 28),
]


def test_one_alloc_loop_gives_up_on_the_bucket_three_loops_search() -> None:
    heap = SysHeap(RAM, 4096, HeapOptions(alloc_loops=1))
    assert _run(heap, _FRAGMENTING) == [60, 76, 108, 108, 132, 196, 220]
    assert _layout(heap) == [
        (56, 16, False), (72, 32, True), (104, 24, False), (128, 64, True),
        (192, 24, True), (216, 32, True), (248, 3840, False),
    ]


def test_default_three_alloc_loops_reuse_the_freed_hole() -> None:
    heap = SysHeap(RAM, 4096)
    assert _run(heap, _FRAGMENTING) == [60, 76, 108, 108, 132, 108, 196]
    assert _layout(heap) == [
        (56, 16, False), (72, 32, True), (104, 24, True), (128, 64, True),
        (192, 32, True), (224, 3864, False),
    ]


def test_256_kib_heap_is_still_small_though_its_footer_is_big() -> None:
    # 262144 / 8 chunks is past 0x7fff, so the end marker takes 8 bytes; what is left is
    # 0x7fff chunks, which still fits 16-bit fields.
    heap = SysHeap(RAM, 262144)
    assert heap.header == 4
    assert _run(heap, [("a", 1)]) == [84]
    assert _layout(heap)[1] == (88, 262048, False)


def test_eight_bytes_more_make_a_32_bit_heap_big() -> None:
    heap = SysHeap(RAM, 262152)
    assert heap.header == 8
    assert _run(heap, [("a", 1)]) == [88]


def test_a_one_chunk_prefix_on_a_big_heap_stays_off_the_free_lists_and_merges_later() -> None:
    heap = SysHeap(RAM, 4096, HeapOptions(pointer_size=8))
    assert _run(heap, [("a", 16), ("A", 32, 40)]) == [64, 96]
    assert _layout(heap) == [(56, 24, True), (80, 8, False), (88, 48, True), (136, 3952, False)]
    assert heap.largest_free_chunk() == 3952
    heap.free(RAM + 64)
    assert _layout(heap)[0] == (56, 32, False)
    assert _run(heap, [("a", 24), ("a", 1)]) == [64, 144]


def test_alignment_with_a_rewind_bit() -> None:
    # 0x28 asks for 32-byte alignment rewound by 8; 0x24 and 0x104 rewind by 4.
    heap = SysHeap(RAM, 2048)
    script: list[Step] = [("a", 1), ("A", 40, 64), ("A", 36, 10), ("A", 260, 100)]
    assert _run(heap, script) == [52, 88, 156, 252]
    assert _layout(heap) == [
        (48, 8, True), (56, 24, False), (80, 72, True), (152, 16, True),
        (168, 80, False), (248, 104, True), (352, 1688, False),
    ]


def test_unaligned_buffer_start_and_an_alignment_the_heap_cannot_hold() -> None:
    heap = SysHeap(RAM + 5, 3000)
    assert heap.start == RAM + 8
    script: list[Step] = [("A", 64, 1), ("A", 4096, 1), ("A", 16, 200), ("a", 3)]
    assert _run(heap, script) == [128, None, 144, 68]
    assert _layout(heap) == [
        (64, 8, True), (72, 48, False), (120, 16, True), (136, 208, True), (344, 2656, False),
    ]


@pytest.mark.parametrize(
    ("pointer_size", "runtime_stats", "first"),
    [(4, False, 60), (4, True, 76), (8, False, 64), (8, True, 88)],
)
def test_runtime_stats_grow_the_heap_header(
    pointer_size: int, runtime_stats: bool, first: int
) -> None:
    heap = SysHeap(RAM, 8192, HeapOptions(pointer_size=pointer_size, runtime_stats=runtime_stats))
    assert _run(heap, [("a", 1)]) == [first]


def _pool_run(pool: MemBlocks, script: list[tuple[str, int, int]]) -> list[int | None]:
    got: list[int | None] = []
    for op, block, count in script:
        if op == "f":
            pool.free_contiguous(block * pool.block_size, count)
        else:
            address = pool.alloc_contiguous(count)
            got.append(None if address is None else address // pool.block_size)
    return got


_EIGHT_ONES = [("a", 0, 1)] * 8
_THREE_HOLES = [("f", 0, 1), ("f", 3, 2), ("f", 6, 1), ("a", 0, 1), ("a", 0, 2), ("a", 0, 1)]


def test_a_pool_of_at_most_32_blocks_takes_the_best_fitting_hole() -> None:
    pool = MemBlocks(0, 4096, 8)
    assert _pool_run(pool, _EIGHT_ONES + _THREE_HOLES)[8:] == [6, 3, 0]


def test_a_pool_of_more_than_32_blocks_takes_the_first_hole() -> None:
    pool = MemBlocks(0, 4096, 40)
    assert _pool_run(pool, _EIGHT_ONES + _THREE_HOLES)[8:] == [0, 3, 6]


def test_equal_holes_in_a_small_pool_go_to_the_higher_one_first() -> None:
    pool = MemBlocks(0, 8192, 8)
    script = [("a", 0, 3), ("a", 0, 2), ("a", 0, 3), ("f", 0, 3), ("f", 5, 3),
              ("a", 0, 2), ("a", 0, 1)]
    assert _pool_run(pool, script) == [0, 3, 5, 5, 7]
    pool = MemBlocks(0, 4096, 16)
    script = [("a", 0, 4)] * 4 + [("f", 4, 4), ("f", 12, 4), ("a", 0, 3), ("a", 0, 3)]
    assert _pool_run(pool, script) == [0, 4, 8, 12, 12, 4]


def test_largest_alloc_counts_only_the_chunks_the_bucket_scan_reaches() -> None:
    # Two free chunks share the top bucket: 136 bytes at its head, then 248. With one loop
    # Zephyr looks at the head only, so 244 bytes fail although a 248-byte chunk is free.
    script: list[Step] = [("a", 130), ("a", 8), ("a", 240), ("a", 8), ("a", 548), ("f", 0),
                          ("f", 2)]
    one = SysHeap(RAM, 1024, HeapOptions(alloc_loops=1))
    three = SysHeap(RAM, 1024)
    assert _run(one, script) == _run(three, script) == [52, 188, 204, 452, 468]
    assert one.largest_free_chunk() == three.largest_free_chunk() == 248
    assert (one.largest_alloc(), three.largest_alloc()) == (132, 244)
    assert three.alloc(244) == RAM + 204
    # The failed search leaves the bucket's head on the chunk after the one it tried, so
    # the same 244 bytes succeed on the next call.
    assert one.alloc(133) is None
    assert one.alloc(244) == RAM + 204
    assert one.alloc(132) == RAM + 52


def test_runtime_stats_count_usable_bytes_and_keep_the_peak() -> None:
    heap = SysHeap(RAM, 2048, HeapOptions(runtime_stats=True))
    script: list[Step] = [("a", 1), ("A", 40, 64), ("A", 36, 10), ("A", 260, 100)]
    assert _run(heap, script) == [68, 88, 156, 252]
    assert heap.runtime_stats() == HeapStats(1764, 184, 184)
    heap.free(RAM + 88)
    assert heap.runtime_stats() == HeapStats(1836, 116, 184)


def test_runtime_stats_on_64_bit() -> None:
    heap = SysHeap(RAM, 4096, HeapOptions(pointer_size=8, runtime_stats=True))
    assert _run(heap, [("a", 16), ("A", 32, 40)]) == [88, 128]
    assert _layout(heap) == [(80, 24, True), (104, 16, False), (120, 48, True), (168, 3920, False)]
    assert heap.runtime_stats() == HeapStats(3920, 56, 56)
    heap.free(RAM + 88)
    assert heap.runtime_stats() == HeapStats(3944, 40, 56)
