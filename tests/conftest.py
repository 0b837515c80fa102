"""Fixtures shared across test folders."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import settings

from tests.toolchains import PREFIXES, missing, unavailable
from tests.wheel import build_wheel, install_wheel

# No property test asserts a time (speed lives in bench/): hypothesis' default 200 ms
# deadline failed a .config property on a loaded two-core machine.
settings.register_profile("placer", deadline=None)
settings.load_profile("placer")


def pytest_runtest_setup(item: pytest.Item) -> None:
    """``@pytest.mark.toolchain(FAMILY, ...)`` (a key of `tests.toolchains.PREFIXES`, or
    ``"all"``): without that family's tools the test is skipped with what to install, or
    fails under CI (`tests.toolchains.unavailable`)."""
    for mark in item.iter_markers("toolchain"):
        families = tuple(mark.args)
        unknown = [f for f in families if f != "all" and f not in PREFIXES]
        if unknown or not families:
            pytest.fail(f"toolchain marker names {unknown or 'nothing'}; known: "
                        f"{', '.join(PREFIXES)} or all", pytrace=False)
        absent = missing(families)
        if absent:
            unavailable("; ".join(absent))


@pytest.fixture(scope="session")
def installed_wheel(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """placer's wheel and the folder it was installed into (``pip install --target``),
    built once per test process: building takes seconds."""
    work = tmp_path_factory.mktemp("placer-wheel")
    wheel = build_wheel(work)
    return wheel, install_wheel(wheel, work / "installed")
