"""Every placer benchmark in one table: placer's figure, the baseline's, the ratio, peak memory.

    python bench/run.py [--runs N] [--bin DIR] [--quick]

Rows (goals from issue 10; no test asserts a time):

* each subcommand as a user runs it, a fresh process against ``python -c pass`` from the
  same environment and GNU ld on the same input (`bench/cli.py`), also with a read-only
  home and with ``PYTHONDONTWRITEBYTECODE=1``;
* the corpus parse (`bench/parse.py`): one process parsing every Debian default script
  (batch) against GNU ld reading each, and ``placer check`` as a fresh process per script
  against ``ld -T`` per script (cold, a sample of the corpus);
* linear scaling: ``placer check`` on generated scripts of 1k, 10k and 100k lines, µs per
  line and peak memory against ld on the same script;
* the solver at 1,000 regions x 100 heap sections (in-process) against one GNU ld link of
  the default board (`bench/solve.py`);
* ``placer.verify`` of 100 extensions (in-process) against GNU ld linking each
  (`bench/loader.py`);
* relocation of the largest extension of `bench/relocate.py` (about 28k relocations)
  against GNU ld linking it.

Cold rows are medians of `--runs` rounds, each round running placer and its baselines
once, alternated (`bench/_cold.py`); in-process rows are the best of a few runs. `--bin`
names the folder of the installed ``python`` and ``placer`` (default: this Python's), so a
wheel install can be measured: the corpus batch and the in-process rows run in that
``python`` too, on the placer it has installed (this checkout only if it has none), and
the table's first line says which placer that was and whether its hot modules are
compiled (setup.py).
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))
# Last: the placer installed in this Python is the one measured, not the checkout's.
sys.path.append(str(BENCH.parent))

import cli  # noqa: E402
import parse  # noqa: E402
from _cold import Row, Sample, alternate, print_table  # noqa: E402


def _best(action: Callable[[], object], repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    return min(times)


def parse_rows(runs: int, bin_dir: Path, quick: bool) -> list[Row]:
    """The corpus batch (one process) and cold (a process per script) against GNU ld."""
    scripts = parse._corpus()
    if not scripts:
        return []
    setup, parsing = parse._time_placer(max(1, runs // 4), bin_dir / "python")
    ld_seconds, _ = parse._time_ld(scripts, max(1, runs // 4))
    rows = [Row(f"parse corpus batch ({len(scripts)} scripts, one process, setup included)",
                Sample(setup + parsing, 0.0), "GNU ld, each script", Sample(ld_seconds, 0.0),
                target=1.0)]
    sample = scripts[:: max(1, len(scripts) // (6 if quick else 12))]
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        (work / "empty.s").write_text("\n")
        objects: dict[str, Path] = {}
        for script in sample:
            if script.triplet not in objects:
                objects[script.triplet] = work / f"{script.triplet}.o"
                subprocess.run([script.assembler, str(work / "empty.s"), "-o",
                                str(objects[script.triplet])], check=True)
        placer = str(bin_dir / "placer")
        commands = [[placer, "check", str(s.path)] for s in sample]
        commands += [[s.ld, "-T", str(s.path), str(objects[s.triplet]), "-o",
                      str(work / "out")] for s in sample]
        samples = alternate(commands, max(1, runs // 2), cwd=folder,
                            expect=[None] * len(commands))
    ours, theirs = samples[: len(sample)], samples[len(sample):]
    rows.append(Row(f"parse corpus cold: placer check per script (median of {len(sample)})",
                    Sample(statistics.median(s.seconds for s in ours),
                           max(s.peak_mib for s in ours)),
                    "ld -T per script", Sample(statistics.median(s.seconds for s in theirs),
                                               0.0)))
    return rows


def _generated(lines: int) -> str:
    """A script of about `lines` lines: MEMORY and output sections of five lines each."""
    body = ["MEMORY", "{", "  RAM (rwx) : ORIGIN = 0x20000000, LENGTH = 256M", "}",
            "SECTIONS", "{"]
    for i in range(max(1, (lines - 8) // 5)):
        body += [f"  .s{i} : {{", f"    *(.s{i} .s{i}.*)", f"    KEEP(*(.k{i}))",
                 f"    sym_{i} = .;", "  } > RAM"]
    body.append("}")
    return "\n".join(body) + "\n"


def scaling_rows(runs: int, bin_dir: Path, quick: bool) -> list[Row]:
    """`placer check` on 1k/10k/100k-line scripts against ld: the time per line is the
    slope from the next smaller size (process start-up cancels out), peak memory beside."""
    rows = []
    previous: tuple[int, float, float] | None = None
    # The 100k-line script is over the 1 MiB placer reads by default (placer.inputs).
    env = dict(os.environ, PLACER_INPUT_LIMIT="64M")
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        (work / "empty.s").write_text("\n")
        subprocess.run(["arm-none-eabi-as", str(work / "empty.s"), "-o",
                        str(work / "empty.o")], check=True)
        for lines in (1_000, 10_000) if quick else (1_000, 10_000, 100_000):
            script = work / f"gen{lines}.ld"
            script.write_text(_generated(lines))
            count = script.read_text().count("\n")
            ours, theirs = alternate(
                [[str(bin_dir / "placer"), "check", str(script)],
                 ["arm-none-eabi-ld", "-T", str(script), str(work / "empty.o"), "-o",
                  str(work / "out")]], max(1, runs // 4 if lines >= 100_000 else runs // 2),
                env=env, cwd=folder, expect=[0, None])
            size_mib = script.stat().st_size / 2**20
            slope = ""
            if previous is not None:
                lines_before, ours_before, theirs_before = previous
                added = count - lines_before
                slope = (f": {(ours.seconds - ours_before) / added * 1e6:.1f} µs/line "
                         f"(goal <= 10; ld {(theirs.seconds - theirs_before) / added * 1e6:.1f})")
            rows.append(Row(f"check {count:,}-line script{slope}; peak limit "
                            f"{10 * size_mib + 50:.0f} MiB", ours, "GNU ld", theirs))
            previous = (count, ours.seconds, theirs.seconds)
    return rows


def solve_row() -> list[Row]:
    """The exact search at 1,000 regions x 100 heaps against one link of the default board."""
    import solve

    from placer import load_board
    from tests.boards.link import image_program

    items, slots = solve.synthetic(1000, 100)
    ours = _best(lambda: solve.search.solve(items, slots, budget=solve.search.DEFAULT_BUDGET))
    board = load_board("qemu_cortex_m3")
    assembler, linker = shutil.which("arm-none-eabi-as"), shutil.which("arm-none-eabi-ld")
    if assembler is None or linker is None or board.base_script is None:
        return []
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        (work / "image.s").write_text(image_program(board))
        subprocess.run([assembler, "-o", str(work / "image.o"), str(work / "image.s")],
                       check=True)
        link = _best(lambda: subprocess.run(
            [linker, "-T", str(board.base_script), "-o", str(work / "a.elf"),
             str(work / "image.o")], check=True), repeat=5)
    return [Row("solve 1,000 regions x 100 heaps (in-process)", Sample(ours, 0.0),
                "one GNU ld link of qemu_cortex_m3", Sample(link, 0.0))]


def verify_row(extensions: int) -> list[Row]:
    """`placer.verify` of `extensions` extensions against GNU ld linking each."""
    from placer.config import LlextConfig
    from placer.llext import verify
    from tests.llext.build import COMMON, FLAGS, HELLO
    from tests.llext.targets import layout_for

    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        source = work / "hello.c"
        source.write_text(HELLO)
        exports = work / "exports.txt"
        exports.write_text("printk 0x08001001\n")
        first = work / "ext0.llext"
        subprocess.run(["arm-none-eabi-gcc", *COMMON, *FLAGS["arm"][1], "-c", str(source),
                        "-o", str(first)], check=True)
        objects = [first]
        for i in range(1, extensions):
            objects.append(work / f"ext{i}.llext")
            shutil.copy(first, objects[-1])
        layout = layout_for("arm", LlextConfig(heap_size=1024))
        ours = _best(lambda: verify(layout, objects, exports_list=exports,
                                    storage="temporary"))
        script = "\n".join(
            f"arm-none-eabi-ld --defsym=printk=0x08001001 -e 0 "
            f"-Ttext=0x{0x2000_1000 + i * 0x400:x} {obj} -o {work / f'linked{i}.elf'}"
            for i, obj in enumerate(objects))
        theirs = _best(lambda: subprocess.run(["sh", "-c", script], check=True))
    return [Row(f"verify {extensions} extensions (in-process)", Sample(ours, 0.0),
                f"GNU ld linking the {extensions}", Sample(theirs, 0.0))]


def relocate_rows(quick: bool) -> list[Row]:
    """`apply_relocations` on the largest extension of bench/relocate.py against GNU ld."""
    import relocate

    from placer.board import Arch
    from placer.llext.elf import read_extension
    from placer.llext.symbols import ExportedSymbol, ExportTable

    rows = []
    work = Path(tempfile.mkdtemp(prefix="placer-bench-"))
    functions = 1000 if quick else 4000
    for key, arch in (("arm", Arch.ARM), ("riscv64", Arch.RISCV)):
        path = relocate.compile_extension(work, key, relocate.calls_source(functions))
        ext = read_extension(path)
        count = sum(len(r.offsets) for r in ext.relocation_sections)
        table = ExportTable(tuple(ExportedSymbol(n, a) for n, a in relocate.EXPORTS.items()),
                            False, 8 if ext.elf_class == 64 else 4)
        placement = relocate.place(ext, relocate.REGIONS)
        ours = _best(functools.partial(relocate.link_with_placer, ext, arch, table))
        theirs = _best(functools.partial(relocate.gnu_ld_images, relocate.TARGETS[key][0],
                                         key, path, ext, placement.load_address,
                                         relocate.EXPORTS))
        rows.append(Row(f"relocate {key}, {count:,} relocations (in-process)",
                        Sample(ours, 0.0), "GNU ld linking it", Sample(theirs, 0.0),
                        target=1.0))
    shutil.rmtree(work, ignore_errors=True)
    return rows


def which_placer() -> str:
    """Where the placer this Python imports lives, and which of its modules are compiled."""
    import importlib
    import importlib.util

    import placer
    from tests.wheel import c_module_paths, compiled_module_paths, is_compiled, module_name

    listed = compiled_module_paths()
    compiled = sum(is_compiled(importlib.import_module(module_name(p))) for p in listed)
    # A pure-Python install has no C module at all.
    built = sum(importlib.util.find_spec(module_name(p)) is not None for p in c_module_paths())
    return (f"placer from {Path(placer.__file__).parent}: {compiled} of {len(listed)} hot "
            f"modules compiled with mypyc, {built} of {len(c_module_paths())} C modules built")


def in_process_rows(quick: bool) -> list[Row]:
    """The rows that call placer's library in this process."""
    return solve_row() + verify_row(10 if quick else 100) + relocate_rows(quick)


def _in_process(bin_dir: Path, quick: bool) -> tuple[str, list[Row]]:
    """`which_placer` and `in_process_rows`, computed by the ``python`` of `bin_dir`."""
    command = [str(bin_dir / "python"), __file__, "--in-process"]
    if quick:
        command.append("--quick")
    output = json.loads(subprocess.run(command, check=True, capture_output=True,
                                       text=True).stdout)
    rows = [Row(r["name"], Sample(*r["placer"]), r["baseline_name"], Sample(*r["baseline"]),
                r["target"], r["unit"]) for r in output["rows"]]
    return output["placer"], rows


def _print_in_process(quick: bool) -> None:
    rows = in_process_rows(quick)
    print(json.dumps({"placer": which_placer(), "rows": [
        {"name": r.name, "placer": [r.placer.seconds, r.placer.peak_mib],
         "baseline_name": r.baseline_name, "baseline": [r.baseline.seconds,
                                                         r.baseline.peak_mib],
         "target": r.target, "unit": r.unit} for r in rows]}))


def main() -> int:
    options = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    options.add_argument("--runs", type=int, default=11, help="rounds of the cold rows")
    options.add_argument("--bin", type=Path, default=Path(sys.executable).parent,
                         help="folder with the python and placer to time")
    options.add_argument("--quick", action="store_true",
                         help="smaller samples and sizes (a smoke run, not the figures)")
    options.add_argument("--in-process", action="store_true", help=argparse.SUPPRESS)
    arguments = options.parse_args()
    if arguments.in_process:
        _print_in_process(arguments.quick)
        return 0
    runs = max(1, arguments.runs)
    rows: list[Row] = []
    rows += cli.rows(runs, arguments.bin)
    rows += parse_rows(runs, arguments.bin, arguments.quick)
    rows += scaling_rows(runs, arguments.bin, arguments.quick)
    measured, in_process = _in_process(arguments.bin, arguments.quick)
    rows += in_process
    print(measured)
    print_table(rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
