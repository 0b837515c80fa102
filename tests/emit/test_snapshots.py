"""Snapshots of every artefact for every shipped board and mode, under ``snapshots/``.

A change to the solver, a board or an emitter shows up here as a reviewed diff of the
exact script, fragment, layout JSON or picture a user would get
(``pytest tests/emit/test_snapshots.py --snapshot-update`` to accept it).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from syrupy.assertion import SnapshotAssertion
from syrupy.extensions.single_file import SingleFileSnapshotExtension, WriteMode
from syrupy.location import PyTestLocation

import placer
from placer.cli.output import render
from placer.emit.linker_script import linker_script
from placer.emit.noinit_fragment import noinit_fragment
from placer.emit.svg import render_svg
from placer.errors import Infeasible
from placer.layout import Layout
from placer.testing import LayoutSnapshotExtension
from tests.emit.cases import cases, layout_for

SNAPSHOTS = Path(__file__).resolve().parents[2] / "snapshots"


class _TopLevel(SingleFileSnapshotExtension):
    """Snapshots in the checkout's top-level ``snapshots/<test module>/`` folder."""

    _write_mode = WriteMode.TEXT

    @classmethod
    def dirname(cls, *, test_location: PyTestLocation) -> str:
        return str(SNAPSHOTS / test_location.basename)


class LinkerScriptSnapshot(_TopLevel):
    file_extension = "ld"


class SvgSnapshot(_TopLevel):
    file_extension = "svg"


class MessageSnapshot(_TopLevel):
    file_extension = "txt"


class LayoutJsonSnapshot(LayoutSnapshotExtension):  # type: ignore[misc,valid-type]
    @classmethod
    def dirname(cls, *, test_location: PyTestLocation) -> str:
        return str(SNAPSHOTS / test_location.basename)


REFUSED: dict[str, str] = {}


def _layouts() -> dict[str, Layout]:
    out = {}
    for name, mode in cases():
        try:
            out[f"{name}-{mode}"] = layout_for(placer.load_board(name), mode)
        except Infeasible as error:
            # The oracle test checks that GNU ld refuses these too.
            REFUSED[f"{name}-{mode}"] = render(error) + "\n"
    return out


LAYOUTS = _layouts()


@pytest.mark.parametrize("case", sorted(LAYOUTS))
def test_linker_script(case: str, snapshot: SnapshotAssertion) -> None:
    assert linker_script(LAYOUTS[case]) == snapshot.use_extension(LinkerScriptSnapshot)


@pytest.mark.parametrize("case", sorted(c for c in LAYOUTS if noinit_fragment(LAYOUTS[c]).sections))
def test_noinit_fragment(case: str, snapshot: SnapshotAssertion) -> None:
    assert noinit_fragment(LAYOUTS[case]).text == snapshot.use_extension(LinkerScriptSnapshot)


@pytest.mark.parametrize("case", sorted(LAYOUTS))
def test_layout_json(case: str, snapshot: SnapshotAssertion) -> None:
    assert LAYOUTS[case] == snapshot.use_extension(LayoutJsonSnapshot)


@pytest.mark.parametrize("case", sorted(LAYOUTS))
def test_memory_map_svg(case: str, snapshot: SnapshotAssertion) -> None:
    assert render_svg(LAYOUTS[case]) == snapshot.use_extension(SvgSnapshot)


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_infeasible_message(case: str, snapshot: SnapshotAssertion) -> None:
    assert REFUSED[case] == snapshot.use_extension(MessageSnapshot)
