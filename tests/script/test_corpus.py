"""Every installed default linker script parses, round-trips, and stays valid for GNU ld.

The corpus is collected from the installed binutils packages (see `tests.script.corpus`).
For each script: ``parse(print(x)) == x``, printing is idempotent, and the re-printed text
gets the same verdict from that target's GNU ld as the original (both link an empty
object, or both fail with the same messages, e.g. a 32-bit emulation script given a
64-bit object). The ld runs are batched per target to stay fast.
"""

from __future__ import annotations

import functools
import re
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from placer.script import parse, print_script
from tests.script.corpus import CorpusScript, collect, unique
from tests.toolchains import PREFIXES

CORPUS = collect()
UNIQUE = unique(CORPUS)
TRIPLETS = sorted({s.triplet for s in UNIQUE})


def _id(script: CorpusScript) -> str:
    return (
        f"{script.triplet}/{script.path.name}"
        if "ldscripts" in script.path.parts
        else str(script.path)
    )


@functools.cache
def _printed(path: Path, text: str) -> str:
    return print_script(parse(text, file=str(path)))


@pytest.mark.toolchain("all")
def test_corpus_covers_every_toolchain_the_tests_know() -> None:
    known = {prefix.rstrip("-") or "x86_64-linux-gnu" for prefix, _ in PREFIXES.values()}
    assert known <= set(TRIPLETS), f"missing corpus for {sorted(known - set(TRIPLETS))}"
    assert len(CORPUS) >= 250


@pytest.mark.parametrize("script", UNIQUE, ids=_id)
def test_default_script_round_trips_through_the_printer(script: CorpusScript) -> None:
    tree = parse(script.text, file=str(script.path))
    printed = _printed(script.path, script.text)
    reparsed = parse(printed, file="printed.ld")
    assert reparsed == tree
    assert print_script(reparsed) == printed


def _verdict(ld: str, script: Path, obj: Path, out: Path, cwd: Path) -> tuple[int, str]:
    result = subprocess.run(
        [ld, "-T", str(script), str(obj), "-o", str(out)],
        capture_output=True,
        text=True,
        cwd=cwd,
        check=False,
    )
    message = result.stderr.replace(str(script), "SCRIPT")
    message = re.sub(r"SCRIPT:\d+", "SCRIPT:LINE", message)
    return result.returncode, message


@pytest.mark.toolchain("all")
@pytest.mark.parametrize("triplet", TRIPLETS)
def test_printed_scripts_get_the_same_verdict_from_gnu_ld(triplet: str, tmp_path: Path) -> None:
    scripts = [s for s in UNIQUE if s.triplet == triplet]
    ld, assembler = scripts[0].ld, scripts[0].assembler
    source = tmp_path / "empty.s"
    source.write_text("\n")
    obj = tmp_path / "empty.o"
    subprocess.run([assembler, str(source), "-o", str(obj)], check=True)

    def compare(index: int) -> tuple[str, tuple[int, str], tuple[int, str]]:
        script = scripts[index]
        printed = tmp_path / f"printed-{index}.ld"
        printed.write_text(_printed(script.path, script.text))
        out = tmp_path / f"out-{index}"
        # INCLUDE in the examples is resolved against the working directory: use the
        # original's folder for both runs.
        cwd = script.path.parent
        return (
            str(script.path),
            _verdict(ld, script.path, obj, out, cwd),
            _verdict(ld, printed, obj, out, cwd),
        )

    with ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(compare, range(len(scripts))))
    differing = [
        (path, original, printed) for path, original, printed in results if original != printed
    ]
    assert differing == []
    accepted = sum(1 for _, original, _ in results if original[0] == 0)
    assert accepted > 0, "ld accepted none of the originals: the empty object is wrong"
