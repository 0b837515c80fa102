"""How long placer takes to emit every artefact, next to what GNU ld takes to link with it.

Run: ``python bench/emit.py``. For each shipped board whose GNU ld is installed it
places the default configuration's heaps, then times (best of several runs):

- emit: the custom linker script (parse the base script, edit the AST, print), the
  noinit.ld fragment, the Kconfig fragment, the layout JSON and the SVG, all in memory;
- ld: one GNU ld link of a small program with that custom script (the process, as a
  build runs it).

and prints both and their ratio. Target: emitting costs less than one link (ratio < 1),
so running placer in every build is lost in the noise of the link itself.
"""

from __future__ import annotations

import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

# Last: the placer installed in this Python wins over the checkout's.
sys.path.append(str(Path(__file__).resolve().parent.parent))

import placer
from placer.board import Arch, Board
from placer.config import LlextConfig
from placer.emit import render_artifacts
from placer.emit.linker_script import linker_script
from tests.emit.oracle import program

_TOOLS = {
    Arch.ARM: ("arm-none-eabi-", [], []),
    Arch.ARM64: ("aarch64-linux-gnu-", [], []),
    Arch.RISCV: ("riscv64-unknown-elf-", ["-march=rv32imac", "-mabi=ilp32", "-mno-relax"],
                 ["-m", "elf32lriscv"]),
    Arch.X86: ("", ["--32"], ["-m", "elf_i386"]),
    Arch.ARC: ("arc-linux-gnu-", [], []),
    Arch.XTENSA: ("xtensa-lx106-elf-", [], []),
}


def _best(action: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return min(times)


def _ld_seconds(board: Board, script: str, source: str, workdir: Path) -> float | None:
    prefix, as_flags, ld_flags = _TOOLS[board.arch]
    assembler, linker = shutil.which(prefix + "as"), shutil.which(prefix + "ld")
    if assembler is None or linker is None:
        return None
    (workdir / "p.s").write_text(source)
    (workdir / "s.ld").write_text(script)
    subprocess.run([assembler, *as_flags, "-o", str(workdir / "p.o"), str(workdir / "p.s")],
                   check=True, capture_output=True)
    command = [linker, *ld_flags, "-T", str(workdir / "s.ld"), "-o", str(workdir / "p.elf"),
               str(workdir / "p.o")]
    return _best(lambda: subprocess.run(command, check=True, capture_output=True), 7)


def main() -> None:
    print(f"{'board':<22} {'emit all (ms)':>14} {'script (ms)':>12} {'ld link (ms)':>13} "
          f"{'emit/ld':>8}")
    ratios = []
    with tempfile.TemporaryDirectory() as folder:
        for name in placer.list_boards():
            board = placer.load_board(name)
            layout = placer.place(board, LlextConfig())
            if not layout.heaps:
                continue
            emit_all = _best(lambda layout=layout: render_artifacts(layout), 7)
            script_only = _best(lambda layout=layout: linker_script(layout), 7)
            # The oracle tests' program: image filler of the board's sizes and the heaps,
            # so the script's ASSERTs hold and ld does the whole link.
            source = program(board, tuple(h.heap for h in layout.heaps))
            ld = _ld_seconds(board, linker_script(layout), source, Path(folder))
            if ld is None:
                print(f"{name:<22} {emit_all * 1e3:14.1f} {script_only * 1e3:12.1f} "
                      f"{'(no ld)':>13}")
                continue
            ratios.append(emit_all / ld)
            print(f"{name:<22} {emit_all * 1e3:14.1f} {script_only * 1e3:12.1f} "
                  f"{ld * 1e3:13.1f} {emit_all / ld:8.2f}")
    if ratios:
        print(f"median emit/ld ratio: {statistics.median(ratios):.2f} (target < 1.0)")


if __name__ == "__main__":
    main()
