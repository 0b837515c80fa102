"""A longer fuzz campaign than CI runs, from the repository root::

    python -m tests.fuzz --iterations 20000 --seed 7 --out fuzz-out
    python -m tests.fuzz --targets image,extension --iterations 100000

Builds the seeds (needs the cross toolchains), runs each target's inputs under the same
limits as CI (512 MiB, 2 s of CPU per input, a hang after 30 s), prints per target the
inputs run and the distinct failures, and keeps every failing input under
``OUT/failures/<target>/`` to be added to ``tests/fuzz/regressions/`` once fixed.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from tests.fuzz.runner import campaign, save
from tests.fuzz.seeds import TARGETS, build_targets


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.fuzz")
    parser.add_argument("--targets", default=",".join(TARGETS),
                        help=f"comma-separated, from {','.join(TARGETS)}")
    parser.add_argument("--iterations", type=int, default=2000, help="inputs per target")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", type=Path, default=Path("fuzz-out"))
    args = parser.parse_args()
    chosen = [t.strip() for t in args.targets.split(",") if t.strip()]
    unknown = sorted(set(chosen) - set(TARGETS))
    if unknown:
        parser.error(f"unknown target {', '.join(unknown)}")
    targets = build_targets(args.out / "seeds")
    found = 0
    for name in chosen:
        began = time.monotonic()
        outcome = campaign(targets[name], seed=args.seed, iterations=args.iterations)
        distinct = outcome.distinct()
        found += len(distinct)
        print(f"{name}: {outcome.inputs} inputs in {time.monotonic() - began:.0f} s, "
              f"{len(outcome.failures)} failing, {len(distinct)} distinct", flush=True)
        for failure in outcome.failures:
            save(failure, args.out / "failures")
        for signature, failure in distinct.items():
            print(f"  {signature}: input {failure.index}: placer {' '.join(failure.argv)}")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
