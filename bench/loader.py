"""How fast placer's loader simulates Zephyr, measured against GNU ld on the same objects.

Run: ``python bench/loader.py``. Two figures:

1. The sys_heap simulator alone: random allocation/free sequences (plain and aligned,
   as the loader issues them), in operations per second. Each operation is O(1) amortised
   like Zephyr's (bounded bucket scan), plus dictionary updates.
2. ``placer.verify`` on E copies of an ARM Thumb-2 extension (read, validate, map
   regions, simulate every heap allocation, link at the chosen addresses) against GNU ld
   linking each copy once at fixed addresses (process start included: what a build pays).
   The ratio is placer / ld: below 1 placer is faster.
"""

from __future__ import annotations

import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# Last: the placer installed in this Python wins over the checkout's.
sys.path.append(str(Path(__file__).resolve().parent.parent))

from placer.config import LlextConfig
from placer.layout import Layout
from placer.llext import verify
from placer.llext.heap import SysHeap
from tests.llext.build import COMMON, FLAGS, HELLO
from tests.llext.targets import layout_for


def heap_ops_per_second(operations: int) -> float:
    """Random plain/aligned allocations and frees on a 256 KiB heap."""
    rng = random.Random(6)
    heap = SysHeap(0x2000_0000, 256 * 1024)
    live: list[int] = []
    start = time.perf_counter()
    for _ in range(operations):
        if live and rng.random() < 0.45:
            heap.free(live.pop(rng.randrange(len(live))))
            continue
        size = rng.randrange(1, 2048)
        align = rng.choice((0, 4, 8, 16, 64, 256))
        mem = heap.aligned_alloc(align, size) if align else heap.alloc(size)
        if mem is not None:
            live.append(mem)
    return operations / (time.perf_counter() - start)


def best_of(runs: int, action: object) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        action()  # type: ignore[operator]
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    print("sys_heap simulator")
    for count in (10_000, 100_000):
        print(f"  {count:>7} operations: {heap_ops_per_second(count):>10,.0f} ops/s")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        source = folder / "hello.c"
        source.write_text(HELLO)
        exports = folder / "exports.txt"
        exports.write_text("printk 0x08001001\n")
        print("verify (ARM Thumb-2, temporary storage) vs arm-none-eabi-ld, best of 3")
        print(f"  {'extensions':>10} {'placer s':>10} {'ld s':>10} {'ratio':>7}")
        for copies in (1, 8, 32):
            objects = []
            for i in range(copies):
                obj = folder / f"ext{i}.llext"
                subprocess.run(["arm-none-eabi-gcc", *COMMON, *FLAGS["arm"][1], "-c",
                                str(source), "-o", str(obj)], check=True)
                objects.append(obj)
            layout = layout_for("arm", LlextConfig(heap_size=64))

            def run_placer(objects: list[Path] = objects, layout: Layout = layout) -> None:
                verify(layout, objects, exports_list=exports, storage="temporary")

            def run_ld(objects: list[Path] = objects) -> None:
                for i, obj in enumerate(objects):
                    subprocess.run(
                        ["arm-none-eabi-ld", "--defsym=printk=0x08001001", "-e", "0",
                         f"-Ttext=0x{0x2000_1000 + i * 0x400:x}", str(obj), "-o",
                         str(folder / f"linked{i}.elf")], check=True)

            placer_s = best_of(3, run_placer)
            ld_s = best_of(3, run_ld)
            print(f"  {copies:>10} {placer_s:>10.3f} {ld_s:>10.3f} {placer_s / ld_s:>7.2f}")


if __name__ == "__main__":
    main()
