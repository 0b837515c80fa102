"""Parse throughput over the Debian linker-script corpus, against GNU ld in the same run.

    python bench/parse.py

Prints placer's lines per second parsing every default script installed by Debian's
binutils packages (``/usr/lib/*/ldscripts``), and the ratio of placer's time to the time
the targets' GNU ld takes to process the same scripts (``<prefix>ld -T script empty.o``,
one run per script, sequentially, as a build would). A ratio <= 1.0 means placer reads
the corpus no slower than ld does. The parser tables are built before timing starts
(they are built once per process); that one-off cost is printed separately.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from placer.script import parse
from placer.script.parser import _engine
from tests.script.corpus import collect, unique


def main() -> int:
    scripts = [s for s in unique(collect()) if "ldscripts" in s.path.parts]
    if not scripts:
        print("no Debian ldscripts installed", file=sys.stderr)
        return 2
    lines = sum(s.lines for s in scripts)

    started = time.perf_counter()
    _engine()
    setup = time.perf_counter() - started

    started = time.perf_counter()
    for script in scripts:
        parse(script.text, file=str(script.path))
    placer_seconds = time.perf_counter() - started

    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        objects: dict[str, Path] = {}
        for script in scripts:
            if script.triplet not in objects:
                source = work / "empty.s"
                source.write_text("\n")
                objects[script.triplet] = work / f"{script.triplet}.o"
                subprocess.run(
                    [script.assembler, str(source), "-o", str(objects[script.triplet])], check=True
                )
        started = time.perf_counter()
        for script in scripts:
            subprocess.run(
                [
                    script.ld,
                    "-T",
                    str(script.path),
                    str(objects[script.triplet]),
                    "-o",
                    str(work / "out"),
                ],
                capture_output=True,
                check=False,
            )
        ld_seconds = time.perf_counter() - started

    print(f"corpus: {len(scripts)} scripts, {lines} lines")
    print(
        f"placer: {placer_seconds:.2f} s, {lines / placer_seconds:,.0f} lines/s "
        f"(+ {setup:.2f} s one-off parser setup)"
    )
    print(f"GNU ld: {ld_seconds:.2f} s, {lines / ld_seconds:,.0f} lines/s")
    print(f"ratio placer/ld: {placer_seconds / ld_seconds:.2f} (target <= 1.0)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
