"""write_artifacts: the chosen files, all or nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

import placer
from placer import records
from placer.cli.output import render
from placer.config import LlextConfig
from placer.emit import KINDS, applicable_kinds, write_artifacts
from placer.errors import BoardError, PlacerError
from placer.layout import Layout


def _layout(board: str = "qemu_cortex_m3") -> Layout:
    return placer.place(placer.load_board(board), LlextConfig())


def test_default_writes_every_artefact_that_applies(tmp_path: Path) -> None:
    written = write_artifacts(_layout(), tmp_path / "out")
    assert [p.name for p in written] == [
        "linker.ld", "noinit.ld", "noinit.cmake", "linker-snippets.ld", "llext.conf",
        "layout.json", "memory-map.svg",
    ]
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == sorted(
        p.name for p in written)
    assert not [p for p in tmp_path.iterdir() if p.name != "out"], "staging folder left"


def test_harvard_k_heap_layout_gets_no_fragment() -> None:
    assert applicable_kinds(_layout("nsim_em")) == {"script", "kconfig", "json", "svg"}


def test_chosen_kinds_only(tmp_path: Path) -> None:
    written = write_artifacts(_layout(), tmp_path, frozenset({"json", "kconfig"}))
    assert [p.name for p in written] == ["llext.conf", "layout.json"]


def test_unknown_kind_is_refused_before_anything_is_written(tmp_path: Path) -> None:
    with pytest.raises(PlacerError) as error:
        write_artifacts(_layout(), tmp_path / "out", frozenset({"json", "pdf"}))
    assert render(error.value) == (
        "error: unknown artefact kind pdf: choose from " + ", ".join(KINDS)
    )
    assert not (tmp_path / "out").exists()


def test_a_failing_artefact_leaves_the_folder_as_it_was(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "layout.json").write_text("old layout\n")
    layout = _layout()
    bare = records.evolve(layout, target=records.evolve(
        layout.target, board=records.evolve(layout.target.board, base_script=None)))
    with pytest.raises(BoardError):
        write_artifacts(bare, out, frozenset({"json", "svg", "script"}))
    assert [p.name for p in out.iterdir()] == ["layout.json"]
    assert (out / "layout.json").read_text() == "old layout\n"
    assert [p.name for p in tmp_path.iterdir()] == ["out"]


def test_kconfig_points_at_the_script_only_when_default_placement_cannot_do(
    tmp_path: Path,
) -> None:
    board = placer.load_board("frdm_k64f")
    pinned = placer.place(board, LlextConfig(),
                          pins=(placer.Pin(".llext_heap", region="SRAM_L"),))
    write_artifacts(pinned, tmp_path / "pinned")
    assert 'CONFIG_CUSTOM_LINKER_SCRIPT="linker.ld"' in (
        tmp_path / "pinned" / "llext.conf").read_text()
    write_artifacts(placer.place(board, LlextConfig()), tmp_path / "default")
    assert "CUSTOM" not in (tmp_path / "default" / "llext.conf").read_text()


def test_dynamic_heap_gets_kconfig_json_and_picture_only(tmp_path: Path) -> None:
    layout = placer.place(placer.load_board("qemu_cortex_m3"), LlextConfig(heap_dynamic=True))
    written = write_artifacts(layout, tmp_path)
    assert [p.name for p in written] == ["llext.conf", "layout.json", "memory-map.svg"]
    assert "CONFIG_LLEXT_HEAP_DYNAMIC=y" in (tmp_path / "llext.conf").read_text()
    assert "llext_heap_init() needs a buffer of at least 44 bytes aligned to 8 in RAM" in (
        tmp_path / "memory-map.svg").read_text()
