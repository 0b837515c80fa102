"""Same input, byte-identical output: across runs and across Python's string-hash seeds,
which change the iteration order of every set and dict keyed by strings."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.llext.build import build_extension

_ROOT = Path(__file__).resolve().parents[2]
_SOURCE = """\
extern int printk(const char *fmt, ...);
static char buffer[96];
const char greeting[] = "hello";
int counter = 3;
int start(int n) { buffer[n] = greeting[n]; counter += n; return printk("%d", counter); }
"""


def _run(argv: list[str], seed: str, cwd: Path) -> bytes:
    environment = dict(os.environ, PYTHONHASHSEED=seed, PYTHONPATH=str(_ROOT))
    done = subprocess.run([sys.executable, "-m", "placer", *argv], cwd=cwd, env=environment,
                          capture_output=True, check=False, timeout=120)
    assert done.returncode in (0, 1), done.stderr.decode()
    return done.stdout


@pytest.mark.toolchain("arm")
def test_artefacts_and_verify_json_are_byte_identical_across_runs_and_hash_seeds(
        tmp_path: Path) -> None:
    extension = build_extension(tmp_path, "arm", "det", _SOURCE).path
    config = tmp_path / "prj.conf"
    config.write_text("CONFIG_LLEXT=y\nCONFIG_LLEXT_HEAP_MEMBLK=y\n"
                      "CONFIG_LLEXT_EXT_HEAP_SIZE=16\nCONFIG_LLEXT_HEAP_SIZE=8\n")
    outputs: dict[str, dict[str, bytes]] = {}
    for run, seed in enumerate(("0", "1", "4242", "4242")):
        out = tmp_path / f"out-{run}"
        printed = _run(["place", "--board", "nucleo_h743zi", "--config", str(config),
                        "--json", "-o", str(out)], seed, tmp_path)
        files = {p.name: p.read_bytes() for p in sorted(out.iterdir())}
        files["<place --json>"] = printed
        files["<verify --json>"] = _run(
            ["verify", "--layout", str(out / "layout.json"), "--json", str(extension)],
            seed, tmp_path)
        outputs[seed if run < 3 else "4242 again"] = files
    first = outputs["0"]
    assert len(first) >= 6 and all(first.values())
    for seed, files in outputs.items():
        assert files == first, f"PYTHONHASHSEED={seed} differs in " + ", ".join(
            name for name in first if files.get(name) != first[name])
