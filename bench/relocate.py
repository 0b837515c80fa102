"""How fast placer links an extension, measured against GNU ld on the same object.

Run: ``python bench/relocate.py``. Generates extensions of N functions (each calls an
export, reads a global through a pointer table and calls its neighbour in another text
section), compiles them with Zephyr's LLEXT flags for ARM Thumb-2 and RISC-V 64, and times
(best of 5) placer's `apply_relocations` on the loaded sections against GNU ld linking the
same object at the same addresses (process start included: that is what a build pays).
The ratio is placer / ld: below 1 placer is faster. Relocation is O(R + N) for R entries
naming N symbols: each symbol is looked up once per link, and a RISC-V PCREL_LO12 finds its
PCREL_HI20 through an index of the section's entries built once (Zephyr's
``llext_riscv_find_sym_pcrel`` scans the entries from its last match instead: O(R) per
entry in the worst case, O(R^2) per section).
"""

from __future__ import annotations

import functools
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

# Last: the placer installed in this Python wins over the checkout's.
sys.path.append(str(Path(__file__).resolve().parent.parent))

from placer.board import Arch
from placer.llext.elf import ExtensionElf, read_extension
from placer.llext.relocate import apply_relocations
from placer.llext.symbols import ExportedSymbol, ExportTable, SymbolResolver
from tests.llext.oracle_link import (
    TARGETS,
    calls_source,
    compile_extension,
    gnu_ld_images,
    place,
)
from tests.wheel import is_compiled

EXPORTS = {"printk": 0x1001, "memcpy": 0x2001}
REGIONS = {"text": 0x1_0000, "rodata": 0x40_0000, "data": 0x80_0000, "bss": 0xC0_0000}


def best(run: Callable[[], object], repeat: int = 5) -> float:
    """Best wall time of `run()` over `repeat` runs, in milliseconds."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        times.append((time.perf_counter() - start) * 1000)
    return min(times)


def link_with_placer(ext: ExtensionElf, arch: Arch, table: ExportTable) -> None:
    """Place and relocate `ext` as the loader would."""
    placement = place(ext, REGIONS)
    apply_relocations(ext, arch, placement.load_address, placement.images,
                      SymbolResolver(table))


def main() -> None:
    import placer.llext.relocate.fastpath as fastpath

    kind = "compiled" if is_compiled(fastpath) else "pure Python"
    print(f"placer from {Path(fastpath.__file__ or '').parents[3]}: relocation loop {kind}")
    work = Path(tempfile.mkdtemp(prefix="placer-bench-"))
    print(f"{'target':8} {'functions':>9} {'relocations':>11} {'placer ms':>10} "
          f"{'GNU ld ms':>10} {'ratio':>6}")
    for key, arch in (("arm", Arch.ARM), ("riscv64", Arch.RISCV)):
        for functions in (100, 1000, 4000):
            path = compile_extension(work, key, calls_source(functions))
            ext = read_extension(path)
            count = sum(len(r.offsets) for r in ext.relocation_sections)
            table = ExportTable(tuple(ExportedSymbol(n, a) for n, a in EXPORTS.items()),
                                False, 8 if ext.elf_class == 64 else 4)
            placement = place(ext, REGIONS)
            ours = best(functools.partial(link_with_placer, ext, arch, table))
            theirs = best(functools.partial(gnu_ld_images, TARGETS[key][0], key, path, ext,
                                            placement.load_address, EXPORTS))
            print(f"{key:8} {functions:>9} {count:>11} {ours:>10.1f} {theirs:>10.1f} "
                  f"{ours / theirs:>6.2f}")


if __name__ == "__main__":
    main()
