"""How fast placer reads boards and configurations, measured against GNU ld.

Run: ``python bench/boards.py``. For every shipped board (best of 5):

1. ``load_board``: read and validate the TOML, derive the used ranges;
2. ``board_from_script``: parse the base script and evaluate its MEMORY block;
3. ``review_config``: check Zephyr's default LLEXT configuration against the board;

against GNU ld linking a one-section object with the same base script (process start
included: what a build pays). The ratio is placer / ld: below 1 placer is faster.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

# Last: the placer installed in this Python wins over the checkout's.
sys.path.append(str(Path(__file__).resolve().parent.parent))

import placer
from placer.board import Arch
from placer.config import LlextConfig
from placer.importers import board_from_script
from placer.rules import review_config
from tests.boards.link import FAMILY, LD_FLAGS, image_program
from tests.toolchains import PREFIXES

_AS_FLAGS = {Arch.RISCV: ["-march=rv32imac", "-mabi=ilp32", "-mno-relax"], Arch.X86: ["--32"]}


def best(action: Callable[[], object], repeat: int = 5) -> float:
    """Best wall time of `repeat` runs, in seconds."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    print(f"{'board':22} {'load_board':>11} {'from_script':>12} {'check':>9} {'ld -T':>9} "
          f"{'(load+check)/ld':>16}")
    with tempfile.TemporaryDirectory() as directory:
        work = Path(directory)
        for name in placer.list_boards():
            board = placer.load_board(name)
            assert board.base_script is not None
            prefix = PREFIXES[FAMILY[board.arch]][0]
            source = work / f"{name}.s"
            source.write_text(image_program(board))
            obj = work / f"{name}.o"
            subprocess.run([f"{prefix}as", *_AS_FLAGS.get(board.arch, []), "-o", str(obj),
                            str(source)], check=True)
            ld = [f"{prefix}ld", *LD_FLAGS.get(board.arch, []), "-T", str(board.base_script),
                  "-o", str(work / f"{name}.elf"), str(obj)]
            load = best(lambda: placer.load_board(name))  # noqa: B023
            script = best(lambda: board_from_script(board.base_script))  # type: ignore[arg-type]  # noqa: B023
            check = best(lambda: review_config(LlextConfig(), board))  # noqa: B023
            link = best(lambda: subprocess.run(ld, check=True, capture_output=True))  # noqa: B023
            print(f"{name:22} {load * 1e3:9.2f}ms {script * 1e3:10.2f}ms {check * 1e3:7.2f}ms "
                  f"{link * 1e3:7.2f}ms {(load + check) / link:16.2f}")


if __name__ == "__main__":
    main()
