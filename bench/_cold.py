"""Cold whole-process timing shared by the benchmarks: each command a fresh process, runs
alternated with its baseline in the same loop (so a busy moment of the shared machine
hits both sides), medians kept, peak memory measured in the untimed warm-up round.

The peak comes from GNU time (``/usr/bin/time -f %M``), not from this process's own
``wait4``: Linux carries a forked child's high-water RSS across ``exec``, so a child of
this Python starts with this Python's RSS (~25 MiB) as its "peak". GNU time forks the
command from its own tiny process. Without GNU time the table prints no peak."""

from __future__ import annotations

import os
import statistics
import subprocess
import tempfile
import time
from collections.abc import Mapping, Sequence

from placer import records


@records.frozen
class Sample:
    """The median wall seconds of a command's runs and its largest peak RSS."""

    seconds: float
    peak_mib: float


@records.frozen
class Row:
    """One line of the benchmark table: placer's figure against a baseline's."""

    name: str
    placer: Sample
    baseline_name: str
    baseline: Sample
    #: The goal for placer / baseline, when the issue sets one.
    target: float | None = None
    unit: str = "s"

    @property
    def ratio(self) -> float:
        """placer's figure over the baseline's."""
        return self.placer.seconds / self.baseline.seconds


#: GNU time, which reports a command's own peak RSS (see the module's docstring).
GNU_TIME = "/usr/bin/time" if os.access("/usr/bin/time", os.X_OK) else None


def run_once(command: Sequence[str], env: Mapping[str, str] | None = None,
             cwd: str | None = None) -> tuple[float, int]:
    """Wall seconds and exit status of one run of `command`."""
    started = time.perf_counter()
    process = subprocess.run(list(command), stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL, env=dict(env) if env else None,
                             cwd=cwd, check=False)
    return time.perf_counter() - started, process.returncode


def peak_mib(command: Sequence[str], env: Mapping[str, str] | None = None,
             cwd: str | None = None) -> tuple[float, int]:
    """The peak RSS of one run of `command` in MiB (0 without GNU time) and its status."""
    if GNU_TIME is None:
        return 0.0, run_once(command, env, cwd)[1]
    with tempfile.NamedTemporaryFile("r", suffix=".rss") as report:
        status = subprocess.run([GNU_TIME, "-f", "%M", "-o", report.name, *command],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                env=dict(env) if env else None, cwd=cwd,
                                check=False).returncode
        # A failing command's report starts with "Command exited with non-zero status".
        return int(report.read().split()[-1]) / 1024, status


def alternate(commands: Sequence[Sequence[str]], runs: int,
              env: Mapping[str, str] | None = None, cwd: str | None = None,
              expect: Sequence[int | None] | None = None) -> list[Sample]:
    """Run every command `runs` times, round-robin, after one untimed warm-up round (page
    cache, bytecode) that measures each one's peak memory; the median time and the peak.
    `expect` gives each command's exit status (None: any; default 0)."""
    times: list[list[float]] = [[] for _ in commands]
    peaks = [0.0 for _ in commands]
    for round_ in range(runs + 1):
        for index, command in enumerate(commands):
            if round_:
                seconds, status = run_once(command, env, cwd)
                times[index].append(seconds)
            else:
                peaks[index], status = peak_mib(command, env, cwd)
            wanted = expect[index] if expect else 0
            if wanted is not None and status != wanted:
                raise SystemExit(f"{' '.join(command)}: exit status {status}, not {wanted}")
    return [Sample(statistics.median(t), p) for t, p in zip(times, peaks, strict=True)]


def print_table(rows: Sequence[Row]) -> None:
    """The rows as one Markdown table: figure, baseline, ratio (and goal), peak memory."""
    print("| benchmark | placer | baseline | ratio | goal | peak MiB |")
    print("|---|---|---|---|---|---|")
    for row in rows:
        goal = f"<= {row.target:g}x" if row.target is not None else ""
        verdict = ""
        if row.target is not None:
            verdict = " ok" if row.ratio <= row.target else " MISSED"
        peak = f"{row.placer.peak_mib:.0f}" if row.placer.peak_mib else "—"
        print(f"| {row.name} | {_figure(row.placer.seconds, row.unit)} | "
              f"{row.baseline_name} {_figure(row.baseline.seconds, row.unit)} | "
              f"{row.ratio:.2f}x | {goal}{verdict} | {peak} |")


def _figure(value: float, unit: str) -> str:
    if unit == "s":
        return f"{value * 1000:.1f} ms" if value < 10 else f"{value:.2f} s"
    return f"{value:.2f} {unit}"
