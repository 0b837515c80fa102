"""Fixtures of the loader tests: a session directory of compiled extensions."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def llext_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One directory per test session where `tests.llext.build` caches its builds."""
    return tmp_path_factory.mktemp("llext")
