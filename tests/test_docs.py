"""The README's and the docs' examples are what placer prints: each is produced again here
and compared, so an example never drifts from the code."""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path

import pytest

import placer
from placer.cli import main
from placer.cli.output import render
from placer.config import HeapBackend, LlextConfig
from placer.emit import layout_json
from placer.errors import Infeasible
from placer.solve import usable

ROOT = Path(__file__).resolve().parent.parent


def _blocks(path: Path, fence: str = "") -> list[str]:
    """The fenced code blocks of `path` whose fence says `fence` (``json``...)."""
    blocks: list[str] = []
    current: list[str] | None = None
    info = ""
    for line in path.read_text(encoding="utf-8").splitlines(keepends=True):
        if line.startswith("```"):
            if current is None:
                current, info = [], line[3:].strip()
            else:
                if info == fence:
                    blocks.append("".join(current))
                current = None
        elif current is not None:
            current.append(line)
    return blocks


def test_the_readme_shows_what_placer_alone_prints(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    (shown,) = [b for b in _blocks(ROOT / "README.md") if b.startswith("board ")]
    monkeypatch.chdir(tmp_path)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main([]) == 0
    lines = shown.splitlines()
    assert lines[-1] == "..."  # the README stops after the first file written
    assert out.getvalue().splitlines()[:len(lines) - 1] == lines[:-1]


def test_the_solver_doc_shows_the_infeasible_message_placer_gives() -> None:
    (shown,) = [b for b in _blocks(ROOT / "docs" / "solver.md")
                if b.startswith("error: cannot place")]
    config = LlextConfig(heap_backend=HeapBackend.MEMBLK, heap_memblk_block_size=32)
    with pytest.raises(Infeasible) as caught:
        placer.place(placer.load_board("hifive1_revb"), config)
    assert render(caught.value) + "\n" == shown


def test_the_solver_doc_power_of_two_example_holds() -> None:
    # "a 16 KiB heap at a 4096-aligned base serves one 4 KiB block; 72 bytes lower
    # (base + 9 * 8 on a 4 KiB boundary) it serves two"
    text = (ROOT / "docs" / "solver.md").read_text(encoding="utf-8")
    assert "serves one 4 KiB block; 72 bytes lower" in text
    shape = usable.heap_shape(16 * 1024, 4, LlextConfig())
    assert usable.blocks_served(0x20004000, shape, 4096) == 1
    assert usable.blocks_served(0x20004000 - 72, shape, 4096) == 2


def test_the_layout_json_example_is_a_real_layouts_excerpt() -> None:
    (shown,) = _blocks(ROOT / "docs" / "layout-json.md", "json")
    example = json.loads(shown)
    real = json.loads(layout_json.dumps(placer.place(placer.load_board("qemu_cortex_m3"),
                                                     LlextConfig())))
    assert list(example) == list(real)  # every top-level key, in order
    assert example["heaps"] == real["heaps"]
    (ram,) = example["regions"]
    assert ram in real["regions"]
    assert example["image"][0] in real["image"]
    for key in ("board", "config", "target"):
        shown_part = {k: v for k, v in example[key].items() if k != "..."}
        assert shown_part.items() <= real[key].items(), key
