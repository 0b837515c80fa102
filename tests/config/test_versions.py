"""Zephyr versions: one type, one parser, compared by the release gates."""

from __future__ import annotations

from pathlib import Path

import pytest

from placer.cli.output import render
from placer.config import LlextConfig
from placer.errors import ConfigError
from placer.versions import (
    MEMBLK_BACKEND,
    NEWEST_ZEPHYR,
    ZephyrVersion,
    as_zephyr_version,
    parse_zephyr_version,
)


@pytest.mark.parametrize(("text", "version"), [
    ("4.3", ZephyrVersion(4, 3)),
    ("4.3.0", ZephyrVersion(4, 3, 0)),
    ("v3.7.1", ZephyrVersion(3, 7, 1)),
    ("4.3.99", ZephyrVersion(4, 3, 99)),
    ("4.4.0-rc1", ZephyrVersion(4, 4)),
])
def test_versions_parse_as_zephyr_writes_them(text: str, version: ZephyrVersion) -> None:
    assert parse_zephyr_version(text) == version


@pytest.mark.parametrize("text", ["4", "four.three", "4.3.x", "", "4..3"])
def test_a_malformed_version_names_the_option(text: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_zephyr_version(text)
    assert render(caught.value).startswith(f"error: --zephyr-version: {text!r} is not a Zephyr "
                                        "version")


def test_a_development_tree_counts_as_the_release_before_it() -> None:
    assert ZephyrVersion(4, 3, 99) < MEMBLK_BACKEND <= ZephyrVersion(4, 4, 1)
    assert ZephyrVersion(4, 3, 99).release == ZephyrVersion(4, 4)
    assert str(ZephyrVersion(4, 3, 99)) == "4.3.99" and str(NEWEST_ZEPHYR) == "4.4"


def test_library_callers_may_pass_a_tuple_or_a_string() -> None:
    assert LlextConfig(zephyr_version=(4, 3)).zephyr_version == ZephyrVersion(4, 3)
    assert LlextConfig(zephyr_version="4.2.1").zephyr_version == ZephyrVersion(4, 2, 1)
    assert as_zephyr_version(NEWEST_ZEPHYR) is NEWEST_ZEPHYR
    with pytest.raises(ConfigError, match="zephyr_version: \\(4,\\) is not a Zephyr version"):
        LlextConfig(zephyr_version=(4,))


def test_place_takes_the_zephyr_version_and_emits_what_that_release_understands(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from placer.cli import main

    assert main(["place", "--zephyr-version", "4.3", "-o", str(tmp_path), "--emit",
                 "kconfig"]) == 0
    assert (tmp_path / "llext.conf").read_text().splitlines()[1:] == [
        "CONFIG_LLEXT=y", "CONFIG_LLEXT_HEAP_SIZE=8"]
    capsys.readouterr()
    assert main(["place", "--zephyr-version", "3.4", "-o", str(tmp_path)]) == 1
    assert "Zephyr 3.4 has no LLEXT subsystem" in capsys.readouterr().err
    with pytest.raises(SystemExit) as caught:
        main(["verify", "x.llext", "--board", "qemu_cortex_m3", "--zephyr-version", "four"])
    assert caught.value.code == 2
