"""Layout JSON: versioned, stable, byte-identical, and read back into the same Layout."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from placer.cli.output import render
from placer.config import LlextConfig
from placer.emit import layout_json
from placer.errors import LayoutError
from tests.emit.layouts import harvard_layout, kheap_layout, memblk_layout

LAYOUTS = {"k_heap": kheap_layout, "memblk": memblk_layout, "harvard": harvard_layout}


@pytest.mark.parametrize("mode", sorted(LAYOUTS))
def test_loads_gives_back_the_layout_that_dumps_wrote(mode: str) -> None:
    layout = LAYOUTS[mode]()
    assert layout_json.loads(layout_json.dumps(layout)) == layout


def test_schema_version_comes_first() -> None:
    text = layout_json.dumps(kheap_layout())
    assert text.startswith('{\n  "schema": "placer-layout/1",\n  "board": {')


def test_heap_address_is_an_integer_and_a_hex_string() -> None:
    document = json.loads(layout_json.dumps(kheap_layout()))
    (heap,) = document["heaps"]
    assert heap["section"] == ".llext_heap"
    assert heap["address"] == 0x20001000
    assert heap["address_hex"] == "0x20001000"
    assert heap["end_hex"] == "0x20003000"
    assert heap["size"] == 8192


@given(
    heap_kib=st.integers(min_value=0, max_value=40),
    userspace=st.booleans(),
)
@settings(max_examples=40, deadline=None)
def test_identical_inputs_give_byte_identical_text(heap_kib: int, userspace: bool) -> None:
    config = LlextConfig(heap_size=heap_kib, userspace=userspace)
    first = layout_json.dumps(kheap_layout(config))
    second = layout_json.dumps(kheap_layout(LlextConfig(heap_size=heap_kib,
                                                        userspace=userspace)))
    assert first == second
    assert layout_json.dumps(layout_json.loads(first)) == first


def test_provenance_keeps_file_names_not_folders() -> None:
    config = LlextConfig(set_by=(("LLEXT_HEAP_SIZE", "/home/me/app/prj.conf:3"),))
    document = json.loads(layout_json.dumps(kheap_layout(config)))
    assert document["config"]["set_by"] == [["LLEXT_HEAP_SIZE", "prj.conf:3"]]


def test_malformed_json_names_file_line_and_column() -> None:
    with pytest.raises(LayoutError) as error:
        layout_json.loads('{\n  "schema": }', file="layout.json")
    assert render(error.value) == "layout.json:2:13: error: Expecting value"


def test_other_schema_version_is_refused() -> None:
    with pytest.raises(LayoutError) as error:
        layout_json.loads('{"schema": "placer-layout/2"}', file="l.json")
    assert render(error.value) == (
        "l.json: error: schema: unsupported schema 'placer-layout/2': "
        "this placer reads 'placer-layout/1'"
    )


def _edited(edit: str, value: object) -> str:
    document = json.loads(layout_json.dumps(kheap_layout()))
    node = document
    *path, last = edit.split(".")
    for part in path:
        node = node[int(part)] if part.isdigit() else node[part]
    node[last] = value
    return json.dumps(document)


@pytest.mark.parametrize(
    ("edit", "value", "message"),
    [
        ("heaps.0.address", "0x20001000", "heaps[0].address: expected an integer, found a string"),
        ("heaps.0.placement", "rom", "heaps[0].placement: 'rom' is not one of 'noinit', "
                                     "'output-section', 'in-rodata', 'in-data'"),
        ("heaps.0.address_hex", "0x20001004",
         "heaps[0].address_hex: '0x20001004' disagrees with address = 536875008"),
        ("heaps.0.end", 1, "heaps[0].end: 1 is not address + size"),
        ("board.regions.0.colour", "red", "board.regions[0].colour: unknown key"),
        ("config.heap_size", True, "config.heap_size: expected an integer, found a boolean"),
        ("target.rounding", 3, "target.rounding: 3 is not one of 'none', 'page', "
                               "'power-of-two', 'pmp', 'unsupported'"),
    ],
)
def test_schema_mistakes_name_the_key(edit: str, value: object, message: str) -> None:
    with pytest.raises(LayoutError) as error:
        layout_json.loads(_edited(edit, value), file="l.json")
    assert render(error.value) == f"l.json: error: {message}"


def test_every_shipped_board_and_mode_round_trips() -> None:
    from tests.emit.test_snapshots import LAYOUTS

    for case, layout in LAYOUTS.items():
        assert layout_json.loads(layout_json.dumps(layout)) == layout, case
