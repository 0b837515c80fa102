"""Cold whole-process time of each placer subcommand, as a user (or a build) runs it.

    python bench/cli.py [--runs N] [--bin DIR]

Every command is a fresh process of the installed ``placer`` (from `--bin`, by default
the folder of this Python: install placer with ``pip install .`` there, so its bytecode
is precompiled as a wheel install leaves it). Each round runs ``python -c pass`` from the
same environment, every placer command and the GNU ld commands once, round-robin; the
table gives medians and each command's largest peak RSS. The goals (issue 10) are ratios
to ``python -c pass``; the GNU ld rows link the same script or extension. The whole set
runs three times: as is, with a home directory that cannot be written (no per-user cache
can help), and with ``PYTHONDONTWRITEBYTECODE=1``.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _cold import Row, alternate, print_table

DATA = Path(__file__).resolve().parent / "data"
#: A 187-line linker script in STM32CubeIDE's shape.
SCRIPT = DATA / "stm32f429zi.ld"
#: A small extension (one function calling an export, one counter in .bss).
EXTENSION_SOURCE = """\
extern int printk(const char *fmt, ...);
static int counter;
int start(void) { counter++; return printk("hello %d\\n", counter); }
"""
#: Zephyr's LLEXT compiler flags for a Cortex-M4 (as tests/llext/build.py uses them).
ARM_FLAGS = ["-O2", "-ffreestanding", "-nostdlib", "-fno-common", "-fno-stack-protector",
             "-fno-asynchronous-unwind-tables", "-fno-unwind-tables", "-g0",
             "-mcpu=cortex-m4", "-mthumb", "-mlong-calls", "-mfloat-abi=soft"]

#: Suffix of the row names -> environment changes (None removes the variable).
ENVIRONMENTS: dict[str, dict[str, str | None]] = {
    "": {"PYTHONDONTWRITEBYTECODE": None},
    ", read-only home": {"HOME": "/dev/null/home", "XDG_CACHE_HOME": None,
                         "PYTHONDONTWRITEBYTECODE": None},
    ", PYTHONDONTWRITEBYTECODE=1": {"PYTHONDONTWRITEBYTECODE": "1"},
}


def _inputs(work: Path) -> tuple[Path, Path, Path]:
    """The extension, its export list and an empty ARM object for ld."""
    source = work / "hello.c"
    source.write_text(EXTENSION_SOURCE)
    extension = work / "hello.llext"
    subprocess.run(["arm-none-eabi-gcc", *ARM_FLAGS, "-c", str(source), "-o", str(extension)],
                   check=True)
    exports = work / "exports.txt"
    exports.write_text("printk 0x1001\n")
    empty = work / "empty.o"
    (work / "empty.s").write_text("\n")
    subprocess.run(["arm-none-eabi-as", str(work / "empty.s"), "-o", str(empty)], check=True)
    return extension, exports, empty


def rows(runs: int, bin_dir: Path) -> list[Row]:
    """Every subcommand's row in each environment."""
    python, placer = str(bin_dir / "python"), str(bin_dir / "placer")
    result: list[Row] = []
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        extension, exports, empty = _inputs(work)
        script = str(SCRIPT)
        commands = {
            "placer --help": [placer, "--help"],
            "placer boards": [placer, "boards"],
            "placer check (187-line script)": [placer, "check", script],
            "placer memory (187-line script)": [placer, "memory", script],
            "placer format (187-line script)": [placer, "format", script],
            "placer place -o DIR (default board)": [placer, "place", "-o", str(work / "out")],
            "placer verify (one small extension)": [
                placer, "verify", str(extension), "--board", "qemu_cortex_m3",
                "--exports-list", str(exports)],
        }
        targets = {"placer --help": 3.0, "placer check (187-line script)": 6.0,
                   "placer memory (187-line script)": 6.0,
                   "placer format (187-line script)": 6.0,
                   "placer place -o DIR (default board)": 8.0,
                   "placer verify (one small extension)": 8.0}
        ld_script = ["arm-none-eabi-ld", "-T", script, str(empty), "-o", str(work / "a.out")]
        ld_extension = ["arm-none-eabi-ld", "--defsym", "printk=0x1001",
                        "-Ttext=0x20003c00", "-Tbss=0x20003d00", str(extension),
                        "-o", str(work / "b.out")]
        for suffix, changes in ENVIRONMENTS.items():
            env = dict(os.environ)
            for key, value in changes.items():
                if value is None:
                    env.pop(key, None)
                else:
                    env[key] = value
            every = [[python, "-c", "pass"], *commands.values(), ld_script, ld_extension]
            samples = alternate(every, runs, env=env, cwd=folder)
            baseline, ld_script_sample, ld_extension_sample = samples[0], *samples[-2:]
            for (name, _), sample in zip(commands.items(), samples[1:-2], strict=True):
                result.append(Row(name + suffix, sample, "python -c pass", baseline,
                                  targets.get(name)))
                if not suffix and "187-line" in name:
                    result.append(Row(name, sample, "GNU ld", ld_script_sample))
                if not suffix and "verify" in name:
                    result.append(Row(name, sample, "GNU ld", ld_extension_sample))
    return result


def main() -> int:
    options = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    options.add_argument("--runs", type=int, default=11, help="timed rounds (medians kept)")
    options.add_argument("--bin", type=Path, default=Path(sys.executable).parent,
                         help="folder with the python and placer to time")
    arguments = options.parse_args()
    print_table(rows(max(1, arguments.runs), arguments.bin))
    return 0


if __name__ == "__main__":
    sys.exit(main())
