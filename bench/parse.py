"""Parse throughput over the Debian linker-script corpus, against GNU ld in the same run.

    python bench/parse.py [--repeat N]

What is measured, on the same scripts (every distinct default script that Debian's
binutils packages install under ``ldscripts/``, for the targets whose ld is installed):

* placer: a fresh Python process reads the corpus texts, then (timed from here) imports
  ``placer.script``, loads the parser tables shipped in the package, and calls
  ``placer.script.parse(text)`` once on every script: one batch run, so the one-off
  setup (import, tables, and each parser state's lexer, built on first use) is paid once,
  as a tool that parses many scripts pays it. Python's own start-up and reading the
  files are not counted. A CLI call per script would pay the setup per script; that is
  not what is measured.
* GNU ld: ``<target>-ld -T script empty.o -o out`` once per script, run one after the
  other by a single ``sh`` (as make would run them), so each run costs ld's process
  start-up, reading and parsing the script, and whatever linking follows. Python's
  ``subprocess`` overhead is kept out of ld's figure. Many of those links then stop with
  an error (the empty object is for the toolchain's default emulation, not the script's
  ``OUTPUT_FORMAT``); ld has parsed the whole script by then, so this only makes ld's
  side cheaper, never placer's.

Each side is run `--repeat` times and the best run is kept (the machine is shared; the
minimum is the least disturbed figure). The ratio is placer's total over ld's; the last
line is the verdict against the target ratio <= 1.0.
"""

from __future__ import annotations

import argparse
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# Last: the placer installed in the measured Python wins over this checkout's.
sys.path.append(str(Path(__file__).resolve().parent.parent))

from tests.script.corpus import CorpusScript, collect, unique

TARGET = 1.0


def _corpus() -> list[CorpusScript]:
    return [s for s in unique(collect()) if "ldscripts" in s.path.parts]


def _placer_run() -> None:
    """One cold batch run (this process must not have imported placer.script yet):
    prints the setup and parse seconds."""
    scripts = _corpus()
    started = time.perf_counter()
    from placer.script import parse
    from placer.script.parser import _engine

    _engine()
    loaded = time.perf_counter()
    for script in scripts:
        parse(script.text, file=str(script.path))
    finished = time.perf_counter()
    print(loaded - started, finished - loaded)


def _time_placer(repeat: int, python: Path | None = None) -> tuple[float, float]:
    """Setup and parse seconds of the best of `repeat` cold batch runs by `python` (this
    one by default), on the placer it has installed."""
    runs = []
    for _ in range(repeat):
        output = subprocess.run(
            [str(python or sys.executable), __file__, "--placer-run"], capture_output=True,
            text=True, check=True,
        ).stdout.split()
        runs.append((float(output[0]), float(output[1])))
    return min(runs, key=sum)


def _time_ld(scripts: list[CorpusScript], repeat: int) -> tuple[float, int]:
    """Best wall time of one shell running every ld command, and how many links succeed."""
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        objects: dict[str, Path] = {}
        source = work / "empty.s"
        source.write_text("\n")
        for script in scripts:
            if script.triplet not in objects:
                objects[script.triplet] = work / f"{script.triplet}.o"
                subprocess.run(
                    [script.assembler, str(source), "-o", str(objects[script.triplet])], check=True
                )
        output = str(work / "out")
        commands = [
            [script.ld, "-T", str(script.path), str(objects[script.triplet]), "-o", output]
            for script in scripts
        ]
        linked = sum(
            subprocess.run(command, capture_output=True, check=False).returncode == 0
            for command in commands
        )
        shell = "\n".join(f"{shlex.join(command)} >/dev/null 2>&1" for command in commands)
        best = float("inf")
        for _ in range(repeat):
            started = time.perf_counter()
            subprocess.run(["sh", "-c", shell], check=False)
            best = min(best, time.perf_counter() - started)
    return best, linked


def main() -> int:
    options = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    options.add_argument("--repeat", type=int, default=3, help="timed runs per side (best kept)")
    options.add_argument("--placer-run", action="store_true", help=argparse.SUPPRESS)
    arguments = options.parse_args()
    if arguments.placer_run:
        _placer_run()
        return 0
    repeat = max(1, arguments.repeat)
    scripts = _corpus()
    if not scripts:
        print("no Debian ldscripts installed", file=sys.stderr)
        return 2
    lines = sum(s.lines for s in scripts)

    setup, parsing = _time_placer(repeat)
    placer_seconds = setup + parsing
    ld_seconds, linked = _time_ld(scripts, repeat)
    ratio = placer_seconds / ld_seconds

    print(f"corpus: {len(scripts)} scripts, {lines} lines (best of {repeat} runs per side)")
    print(
        f"placer: {placer_seconds:.2f} s = {setup:.2f} s import and table load + {parsing:.2f} s "
        f"parsing, lexers built on first use included ({lines / parsing:,.0f} lines/s)"
    )
    print(
        f"GNU ld: {ld_seconds:.2f} s, {ld_seconds / len(scripts) * 1000:.2f} ms per script "
        f"({linked} of {len(scripts)} links succeed; the rest stop after reading the script)"
    )
    print(f"ratio placer/ld: {ratio:.2f} (parsing alone {parsing / ld_seconds:.2f})")
    if ratio <= TARGET:
        print(f"verdict: PASS, ratio {ratio:.2f} <= {TARGET:.1f}: placer is no slower than GNU ld")
    else:
        print(f"verdict: FAIL, ratio {ratio:.2f} > {TARGET:.1f}: placer is slower than GNU ld")
    return 0


if __name__ == "__main__":
    sys.exit(main())
