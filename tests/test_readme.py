"""The README tells the truth: its library example runs as written."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

from tests.toolchains import tool

README = Path(__file__).resolve().parent.parent / "README.md"

HELLO = """
extern int printk(const char *fmt, ...);
static int calls;
int hello(int x) { calls += x; printk("hello %d\\n", calls); return calls; }
"""


def _python_blocks(text: str) -> list[str]:
    return re.findall(r"```python\n(.*?)```", text, flags=re.DOTALL)


def test_library_example_runs_as_written(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    (example,) = _python_blocks(README.read_text(encoding="utf-8"))
    (tmp_path / "prj.conf").write_text("CONFIG_LLEXT=y\nCONFIG_LLEXT_HEAP_SIZE=16\n")
    (tmp_path / "exports.txt").write_text("printk\n")
    (tmp_path / "hello.c").write_text(HELLO)
    # Zephyr's LLEXT flags for a Cortex-M3 ELF_OBJECT extension.
    subprocess.run([tool("arm", "gcc"), "-mcpu=cortex-m3", "-mthumb", "-mlong-calls", "-Os",
                    "-ffreestanding", "-nostdlib", "-fno-common", "-c", "hello.c", "-o",
                    "hello.llext"], cwd=tmp_path, check=True)
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, object] = {}
    exec(compile(example, str(README), "exec"), namespace)
    assert capsys.readouterr().out == "OK: all 1 extension(s) load\n"
    assert ".llext_heap" in str(namespace["script"])


def test_setup_commands_are_what_ci_runs() -> None:
    text = README.read_text(encoding="utf-8")
    # A virtual environment in the command itself: Debian's pip refuses to install
    # outside one (PEP 668).
    assert "python3 -m venv .venv && .venv/bin/pip install . && .venv/bin/placer" in text
    assert "bash tools/test.sh" in text
    ci = (README.parent / ".ci" / "run").read_text(encoding="utf-8")
    assert "tools/test.sh" in ci
    assert os.access(README.parent / "tools" / "test.sh", os.X_OK)
