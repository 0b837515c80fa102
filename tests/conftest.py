"""Fixtures shared across test folders."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.wheel import build_wheel, install_wheel


@pytest.fixture(scope="session")
def installed_wheel(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """placer's wheel and the folder it was installed into (``pip install --target``),
    built once per test process: building takes seconds."""
    work = tmp_path_factory.mktemp("placer-wheel")
    wheel = build_wheel(work)
    return wheel, install_wheel(wheel, work / "installed")
