"""Drive fuzz workers: a bounded campaign per target, with a wall-clock watchdog that
catches what a CPU timer cannot (a read that blocks forever), each failing input kept.

`campaign` is what CI runs (a few hundred inputs per target) and what ``python -m
tests.fuzz`` runs for as long as asked.
"""

from __future__ import annotations

import json
import os
import selectors
import subprocess
import sys
import tempfile
from pathlib import Path

from placer import records
from tests.fuzz.seeds import Target
from tests.fuzz.worker import RESTART

_ROOT = Path(__file__).resolve().parents[2]
#: Wall-clock seconds without a word from the worker before an input counts as a hang.
#: Far above the 2 s CPU limit: a blocked read uses no CPU, and CI machines are shared.
HANG_AFTER = 30.0


@records.frozen
class Failure:
    """One input that broke the contract, with what happened and the input's bytes."""

    target: str
    index: int
    kind: str
    signature: str
    argv: tuple[str, ...]
    detail: str
    data: bytes

    def describe(self) -> str:
        return (f"{self.target} input {self.index}: {self.signature}\n  placer "
                f"{' '.join(self.argv)}\n{self.detail}")


@records.frozen
class Outcome:
    """What a campaign ran and found."""

    target: str
    inputs: int
    failures: tuple[Failure, ...]

    def distinct(self) -> dict[str, Failure]:
        """The first failure of each signature."""
        found: dict[str, Failure] = {}
        for failure in self.failures:
            found.setdefault(failure.signature, failure)
        return found


def campaign(target: Target, *, seed: int = 0, iterations: int = 100,
             replay: list[Path] | None = None) -> Outcome:
    """Run `iterations` mutated inputs of `target` (or replay the given files), restarting
    the worker after a hang or a crash, and return every failure."""
    failures: list[Failure] = []
    done = 0
    total = len(replay) if replay is not None else iterations
    with tempfile.TemporaryDirectory(prefix=f"placer-fuzz-{target.name}-") as name:
        work = Path(name)
        start = 0
        while start < total:
            end, found = _run_worker(target, work, seed, start, total, replay)
            failures.extend(found)
            done = end
            start = end
    return Outcome(target.name, done, tuple(failures))


def _run_worker(target: Target, work: Path, seed: int, start: int, total: int,
                replay: list[Path] | None) -> tuple[int, list[Failure]]:
    """One worker from input `start`; returns the next input to run and the failures."""
    command = [sys.executable, "-m", "tests.fuzz.worker", str(target.folder), str(work)]
    if replay is not None:
        command += ["--replay", *(str(p) for p in replay[start:])]
    else:
        command += ["--seed", str(seed), "--start", str(start), "--count", str(total - start)]
    environment = dict(os.environ, PYTHONPATH=str(_ROOT), PYTHONHASHSEED="0")
    process = subprocess.Popen(command, cwd=work, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, env=environment, text=True)
    assert process.stdout is not None
    failures: list[Failure] = []
    current = start
    argv: tuple[str, ...] = ()
    offset = start if replay is not None else 0
    selector = selectors.DefaultSelector()
    selector.register(process.stdout, selectors.EVENT_READ)
    try:
        while True:
            if not selector.select(timeout=HANG_AFTER):
                process.kill()
                failures.append(_failure(target, work, current, "hang", "hang",
                                         argv, f"no progress in {HANG_AFTER:g} s"))
                return current + 1, failures
            line = process.stdout.readline()
            if not line:
                break
            word, _, rest = line.rstrip("\n").partition(" ")
            if word == "begin":
                current = int(rest) + offset
            elif word == "run":
                argv = tuple(json.loads(rest))
            elif word == "fail":
                report = json.loads(rest)
                failures.append(_failure(target, work, current, report["kind"],
                                         report["signature"], tuple(report["argv"]),
                                         report["detail"]))
    finally:
        selector.close()
        process.wait()
    if process.returncode == RESTART:
        return current + 1, failures
    if process.returncode != 0:
        stderr = process.stderr.read() if process.stderr else ""
        failures.append(_failure(target, work, current, "crash", f"worker exit "
                                 f"{process.returncode}", (), stderr[-4000:]))
        return current + 1, failures
    return total, failures


def _failure(target: Target, work: Path, index: int, kind: str, signature: str,
             argv: tuple[str, ...], detail: str) -> Failure:
    path = work / target.input_name
    data = path.read_bytes() if path.exists() else b""
    return Failure(target.name, index, kind, signature, argv, detail, data)


def save(failure: Failure, folder: Path) -> Path:
    """Keep `failure`'s input as ``folder/<target>/<index>-<kind>`` for a regression."""
    where = folder / failure.target
    where.mkdir(parents=True, exist_ok=True)
    path = where / f"{failure.index}-{failure.kind}"
    path.write_bytes(failure.data)
    return path


__all__ = ["Failure", "Outcome", "campaign", "save"]
