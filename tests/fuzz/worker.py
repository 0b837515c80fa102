"""One fuzz worker process: runs placer's commands on mutated inputs of one target under a
memory limit and a per-input CPU-time limit, and reports each input on stdout.

Run by `tests.fuzz.runner` (never by hand)::

    python -m tests.fuzz.worker TARGET_FOLDER WORK --seed S --start A --count N
    python -m tests.fuzz.worker TARGET_FOLDER WORK --replay FILE...

Protocol, one line each: ``begin <i>`` before input i runs (the input is then in WORK),
``run <json argv>`` before each command on it, ``end <i>`` after it ran cleanly, ``fail
<json>`` when it did not: any exception other than placer's own errors reaching the
command line, an exit status other than 0/1/2, more than `TIME_LIMIT` seconds of CPU, or
the memory limit (`MemoryError`).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import resource
import shutil
import signal
import sys
import traceback
from pathlib import Path

#: Address space of the worker, as the issue's campaign capped it.
MEMORY_LIMIT = 512 * 1024 * 1024
#: CPU seconds one input may take (user time, so a loaded CI machine does not fail it).
TIME_LIMIT = 2.0
#: Exit status asking the runner for a fresh worker from the next input.
RESTART = 3


class _OutOfTime(BaseException):
    """Raised by the CPU timer; a BaseException so no `except Exception` swallows it."""


def _on_timer(signum: int, frame: object) -> None:
    raise _OutOfTime


def _report(kind: str, index: int, argv: list[str], detail: str, signature: str) -> None:
    print("fail " + json.dumps({"index": index, "kind": kind, "argv": argv, "detail": detail,
                                "signature": signature}), flush=True)


def _signature(error: BaseException) -> str:
    """Where the exception came from: its type and the innermost frame in placer (or the
    innermost frame at all), so one defect found by many inputs counts once."""
    frames = traceback.extract_tb(error.__traceback__)
    ours = [f for f in frames if "/placer/" in f.filename] or frames
    where = f"{Path(ours[-1].filename).name}:{ours[-1].name}" if ours else "?"
    return f"{type(error).__name__} at {where}"


def _sink() -> io.TextIOWrapper:
    return io.TextIOWrapper(io.BytesIO(), encoding="utf-8", errors="strict")


def run_one(index: int, argv: list[str]) -> None:
    """Run `placer argv` in this process, reporting anything but a clean exit."""
    from placer.cli import main

    status: object = None
    signal.setitimer(signal.ITIMER_VIRTUAL, TIME_LIMIT)
    try:
        # Streams with a byte buffer underneath, as a terminal's: format writes bytes.
        with contextlib.redirect_stdout(_sink()), contextlib.redirect_stderr(_sink()):
            try:
                status = main(argv)
            except SystemExit as exc:  # argparse's usage error
                status = exc.code
    except _OutOfTime:
        _report("time", index, argv, f"more than {TIME_LIMIT:g} s of CPU", "time limit")
        # Interrupted anywhere, placer's caches may be half-built: a fresh process goes on.
        sys.exit(RESTART)
    except MemoryError:
        _report("memory", index, argv, "the 512 MiB memory limit", "memory limit")
        sys.exit(RESTART)
    except BaseException as exc:  # the whole point: anything placer did not turn into a message
        _report("exception", index, argv, "".join(traceback.format_exception(exc)),
                _signature(exc))
        return
    finally:
        signal.setitimer(signal.ITIMER_VIRTUAL, 0)
    if status not in (0, 1, 2):
        _report("status", index, argv, f"exit status {status!r}", f"status {status!r}")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("target", type=Path)
    parser.add_argument("work", type=Path)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--start", type=int, default=0)
    parser.add_argument("--count", type=int, default=0)
    parser.add_argument("--replay", type=Path, nargs="*", default=None)
    args = parser.parse_args()
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))
    signal.signal(signal.SIGVTALRM, _on_timer)
    sys.setrecursionlimit(1000)

    from tests.fuzz.mutate import Mutator
    from tests.fuzz.seeds import Target

    target = Target.load(args.target)
    work: Path = args.work
    shutil.copytree(target.folder / "side", work, dirs_exist_ok=True)
    out = work / "out"
    mutator = Mutator(target.seeds(), target.tokens, target.binary)
    if args.replay is not None:
        inputs = [(i, path.read_bytes()) for i, path in enumerate(args.replay)]
    else:
        inputs = [(i, b"") for i in range(args.start, args.start + args.count)]
    for index, data in inputs:
        if args.replay is None:
            data = mutator.input(args.seed, index)
        (work / target.input_name).write_bytes(data)
        shutil.rmtree(out, ignore_errors=True)
        out.mkdir()
        print(f"begin {index}", flush=True)
        commands = target.commands if args.replay is not None else \
            (target.commands[index % len(target.commands)],)
        for command in commands:
            argv = [a.format(input=work / target.input_name, work=work, out=out)
                    for a in command]
            print("run " + json.dumps(argv), flush=True)  # so a hang names its command
            run_one(index, argv)
        print(f"end {index}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
