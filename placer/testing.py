"""Snapshot a board's LLEXT heap layout in your own test suite (a pytest plugin).

Installing placer registers this module as a pytest plugin (entry point ``pytest11``). With
syrupy installed (``pip install syrupy``) it provides the fixture ``layout_snapshot``::

    import placer

    def test_heaps_stay_where_they_are(layout_snapshot):
        board = placer.load_board("boards/my_board.toml")
        config = placer.read_config("prj.conf")
        assert placer.place(board, config) == layout_snapshot

The first run (``pytest --snapshot-update``) stores the layout as placer's layout JSON in
``__snapshots__/<test file>/<test name>.json`` beside the test; later runs fail with a
line diff of that JSON when a heap moves, grows, shrinks or changes region, or when a
region's free space changes. Review the change with ``placer diff`` and update the
snapshot on purpose. The comparison uses the same JSON `placer.emit.layout_json` writes,
so it is byte-stable across machines.

Without syrupy the plugin stays out of the way: the fixture skips the test that asks for
it, saying what to install; nothing else in the test session changes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from placer.layout import Layout

try:
    from syrupy.extensions.single_file import SingleFileSnapshotExtension, WriteMode
except ImportError:  # syrupy is optional: only the fixture needs it
    SingleFileSnapshotExtension = None  # type: ignore[assignment,misc]

if TYPE_CHECKING:
    from syrupy.assertion import SnapshotAssertion


def serialize_layout(data: object) -> str:
    """The text a layout snapshot stores: placer's layout JSON (text passes through)."""
    if isinstance(data, Layout):
        from placer.emit.layout_json import dumps

        return dumps(data)
    if isinstance(data, str):
        return data
    raise TypeError(
        f"a layout snapshot takes a placer Layout or its JSON text, not {type(data).__name__}"
    )


if SingleFileSnapshotExtension is not None:

    class LayoutSnapshotExtension(SingleFileSnapshotExtension):
        """syrupy extension: one ``.json`` file per snapshot, holding the layout JSON."""

        file_extension = "json"
        _write_mode = WriteMode.TEXT

        def serialize(self, data: Any, **kwargs: Any) -> str:
            return serialize_layout(data)

else:  # pragma: no cover - exercised only where syrupy is missing
    LayoutSnapshotExtension = None  # type: ignore[assignment,misc]


@pytest.fixture
def layout_snapshot(request: pytest.FixtureRequest) -> SnapshotAssertion:
    """A syrupy snapshot that stores and compares placer layouts as layout JSON."""
    if LayoutSnapshotExtension is None:
        pytest.skip("layout_snapshot needs syrupy: pip install syrupy")
    snapshot: SnapshotAssertion = request.getfixturevalue("snapshot")
    return snapshot.use_extension(LayoutSnapshotExtension)
