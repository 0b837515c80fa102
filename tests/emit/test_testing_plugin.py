"""The pytest plugin users put in their CI: snapshots a layout as JSON, inert without syrupy."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from placer.emit import layout_json
from placer.testing import serialize_layout
from tests.emit.layouts import kheap_layout

ROOT = Path(__file__).resolve().parents[2]

USER_TEST = textwrap.dedent(
    """
    from tests.emit.layouts import kheap_layout

    def test_board_layout(layout_snapshot):
        assert kheap_layout() == layout_snapshot
    """
)


def _run_pytest(
    folder: Path, *args: str, block_syrupy: bool = False
) -> subprocess.CompletedProcess[str]:
    blocker = "import sys; sys.modules['syrupy'] = None; " if block_syrupy else ""
    code = f"{blocker}import pytest, sys; sys.exit(pytest.main(sys.argv[1:]))"
    env = {**os.environ, "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1", "PYTHONPATH": str(ROOT)}
    plugins = ["-p", "placer.testing"] if block_syrupy else ["-p", "syrupy", "-p",
                                                            "placer.testing"]
    return subprocess.run(
        [sys.executable, "-c", code, *plugins, "-q", "-p", "no:cacheprovider",
         "--rootdir", str(folder), str(folder), *args],
        capture_output=True, text=True, cwd=folder, env=env, timeout=120,
    )


def test_snapshot_is_the_layout_json() -> None:
    assert serialize_layout(kheap_layout()) == layout_json.dumps(kheap_layout())


def test_snapshot_refuses_other_objects() -> None:
    with pytest.raises(TypeError, match="a layout snapshot takes a placer Layout"):
        serialize_layout(42)


def test_user_suite_stores_then_checks_the_layout(tmp_path: Path) -> None:
    (tmp_path / "test_user.py").write_text(USER_TEST)
    assert _run_pytest(tmp_path, "--snapshot-update").returncode == 0
    stored = tmp_path / "__snapshots__" / "test_user" / "test_board_layout.json"
    assert stored.read_text() == layout_json.dumps(kheap_layout())
    assert _run_pytest(tmp_path).returncode == 0
    stored.write_text(stored.read_text().replace('"address": 536875008', '"address": 0'))
    failed = _run_pytest(tmp_path)
    assert failed.returncode == 1
    assert '"address": 536875008' in failed.stdout


def test_without_syrupy_the_fixture_skips_and_pytest_still_runs(tmp_path: Path) -> None:
    (tmp_path / "test_user.py").write_text(USER_TEST + "\n\ndef test_other():\n    pass\n")
    result = _run_pytest(tmp_path, "-rs", block_syrupy=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 passed, 1 skipped" in result.stdout
    assert "layout_snapshot needs syrupy: pip install syrupy" in result.stdout
