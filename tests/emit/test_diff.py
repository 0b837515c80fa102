"""`placer diff`: what moved, grew, shrank or changed region, and free space per region."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from placer import records
from placer.cli import main
from placer.diff import Change, diff_layouts, format_json, format_markdown, format_text
from placer.emit import layout_json
from placer.layout import Layout
from tests.emit.layouts import kheap_layout, memblk_layout


def _moved_and_grown() -> Layout:
    layout = kheap_layout()
    (heap,) = layout.heaps
    bigger = records.evolve(heap.heap, size=16384)
    moved = records.evolve(heap, heap=bigger, address=0x20002000, padding=0)
    sram = records.evolve(layout.regions[1], free_after=0x10000 - 0x1000 - 0x1000 - 16384)
    return records.evolve(layout, heaps=(moved,), regions=(layout.regions[0], sram))


def test_same_layout_has_no_change() -> None:
    diff = diff_layouts(kheap_layout(), kheap_layout())
    assert not diff.changed
    assert format_text(diff) == (
        "heaps: no change\n"
        "free space per region (bytes, old -> new):\n"
        "  FLASH  249856 -> 249856  (+0)\n"
        "  SRAM   53248 -> 53248  (+0)\n"
    )


def test_moved_and_grown_heap_is_reported_with_numbers() -> None:
    diff = diff_layouts(kheap_layout(), _moved_and_grown())
    assert diff.changed
    assert diff.heaps[0].changes == (Change.MOVED, Change.GREW)
    assert format_text(diff).splitlines()[0] == (
        ".llext_heap: moved 0x20001000 -> 0x20002000 (+0x1000); grew 8192 -> 16384 bytes (+8192)"
    )
    assert "  SRAM   53248 -> 40960  (-12288)" in format_text(diff)


def test_switching_backend_adds_and_removes_heaps() -> None:
    diff = diff_layouts(kheap_layout(), memblk_layout())
    assert [(d.section, d.changes) for d in diff.heaps] == [
        (".llext_heap", (Change.REMOVED,)),
        (".llext_ext_heap", (Change.ADDED,)),
        (".llext_metadata_heap", (Change.ADDED,)),
    ]


def test_markdown_is_a_pull_request_table() -> None:
    text = format_markdown(diff_layouts(kheap_layout(), _moved_and_grown()))
    assert "| `.llext_heap` | moved, grew | SRAM | `0x20001000` → `0x20002000` " \
           "| 8192 → 16384 |" in text
    assert "| region | old free (bytes) | new free (bytes) | delta |" in text
    assert "| SRAM | 53248 | 40960 | -12288 |" in text


def test_json_diff_is_machine_readable() -> None:
    document = json.loads(format_json(diff_layouts(kheap_layout(), _moved_and_grown())))
    assert document["changed"] is True
    assert document["heaps"][0]["changes"] == ["moved", "grew"]
    assert document["regions"][1] == {"region": "SRAM", "old_free": 53248, "new_free": 40960,
                                      "delta": -12288}


@pytest.fixture
def layout_files(tmp_path: Path) -> tuple[Path, Path]:
    old = tmp_path / "old.json"
    new = tmp_path / "new.json"
    old.write_text(layout_json.dumps(kheap_layout()))
    new.write_text(layout_json.dumps(_moved_and_grown()))
    return old, new


def test_cli_exits_1_on_change_and_0_without(
    layout_files: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    old, new = layout_files
    assert main(["diff", str(old), str(old)]) == 0
    assert main(["diff", str(old), str(new), "--format", "markdown"]) == 1
    assert "### LLEXT heap layout changes" in capsys.readouterr().out


def test_cli_unreadable_file_exits_1_with_a_message_and_no_diff(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "nope.json"
    assert main(["diff", str(missing), str(missing)]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == f"{missing}: error: cannot read the layout: No such file or directory\n"



def test_cli_file_that_is_not_utf8_exits_1_with_a_message(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    binary = tmp_path / "layout.json"
    binary.write_bytes(b"\xff\xfe")
    assert main(["diff", str(binary), str(binary)]) == 1
    assert capsys.readouterr().err == (
        f"{binary}:1:1: error: cannot read the layout: not UTF-8 text (byte 0xff)\n")


def test_read_layout_gives_back_the_written_layout(tmp_path: Path) -> None:
    path = tmp_path / "layout.json"
    path.write_text(layout_json.dumps(kheap_layout()))
    assert layout_json.read_layout(path) == kheap_layout()

@given(
    address_step=st.integers(min_value=-0x800, max_value=0x800).map(lambda n: n * 8),
    size_step=st.integers(min_value=-512, max_value=512).map(lambda n: n * 8),
)
@settings(max_examples=60, deadline=None)
def test_diff_reports_exactly_what_changed(address_step: int, size_step: int) -> None:
    old = kheap_layout()
    (heap,) = old.heaps
    new_heap = records.evolve(heap, address=heap.address + address_step,
                            heap=records.evolve(heap.heap, size=heap.size + size_step))
    new = records.evolve(old, heaps=(new_heap,))
    (delta,) = diff_layouts(old, new).heaps
    assert (Change.MOVED in delta.changes) == (address_step != 0)
    assert (Change.GREW in delta.changes) == (size_step > 0)
    assert (Change.SHRANK in delta.changes) == (size_step < 0)
    assert diff_layouts(old, new).changed == (address_step != 0 or size_step != 0)
    # Reading both back from their JSON does not change the verdict.
    again = diff_layouts(layout_json.loads(layout_json.dumps(old)),
                         layout_json.loads(layout_json.dumps(new)))
    assert again == diff_layouts(old, new)
