"""The profile file: it round-trips, it is versioned and hashed, and it refuses what it
cannot trust with an error naming the file and the key, never a traceback."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, reject, settings
from hypothesis import strategies as st

from placer import records
from placer.boardfile import load_board
from placer.cli import main
from placer.cli.output import render
from placer.config import HeapBackend, LlextConfig
from placer.errors import ConfigError, LayoutError, PlacerError
from placer.llext import verify
from placer.llext.image import ImageFacts, PreloadedExtension
from placer.llext.metadata import estimated_sizes
from placer.llext.symbols import exports_from_list
from placer.profile import Profile, content_hash, dumps, loads, make_profile
from placer.solve import place
from tests.llext.build import HELLO, build_extension

_EXPORTS = "printk 0x1000 UNASSIGNED\nmemcpy 0x1100 LIBC\nk_sleep\nhidden 0x1200 DEVICE\n"


def _profile(board: str = "qemu_cortex_m3", config: LlextConfig | None = None,
             by_slid: bool = False) -> Profile:
    layout = place(load_board(board), config if config is not None else LlextConfig())
    target = layout.target
    table = exports_from_list(_EXPORTS, "build/exports.txt", target.pointer_size,
                              target.config.export_symbol_groups, by_slid=by_slid)
    image = ImageFacts(metadata=estimated_sizes(target.pointer_size), exports=table,
                       preloaded=(PreloadedExtension("libc", "libc.llext", b"\x7fELF..."),),
                       notes=("a note",))
    return make_profile(layout, image)


_BOARDS = ["qemu_cortex_m3", "nsim_em", "qemu_cortex_a53", "nrf52840dk_nrf52840",
           "hifive1_revb", "esp32s3_devkitc"]


@settings(max_examples=25, deadline=None)
@given(board=st.sampled_from(_BOARDS), memblk=st.booleans(), userspace=st.booleans(),
       by_slid=st.booleans())
def test_a_profile_reads_back_as_the_profile_it_was(board: str, memblk: bool,
                                                    userspace: bool, by_slid: bool) -> None:
    config = LlextConfig(heap_backend=HeapBackend.MEMBLK if memblk else HeapBackend.K_HEAP,
                         userspace=userspace, heap_size=16, ext_heap_size=8,
                         metadata_heap_size=4)
    try:
        profile = _profile(board, config, by_slid)
    except PlacerError:
        # Zephyr's rules refuse this combination on this board (user mode without memory
        # protection, pools below a page): there is no firmware to profile.
        reject()
    text = dumps(profile)
    again = loads(text, file="p.json")
    assert again == profile
    assert dumps(again) == text


def test_the_profile_says_its_schema_and_hash_first() -> None:
    document = json.loads(dumps(_profile()))
    assert list(document)[:2] == ["schema", "content_sha256"]
    assert document["schema"] == "placer-profile/1"
    content = {k: v for k, v in document.items() if k not in ("schema", "content_sha256")}
    assert document["content_sha256"] == content_hash(content)


def test_the_profile_keeps_file_names_not_folders() -> None:
    text = dumps(_profile())
    assert "build/" not in text
    assert json.loads(text)["image"]["exports"]["source"] == "exports.txt"


def test_a_newer_schema_is_refused_with_an_upgrade_hint() -> None:
    document = json.loads(dumps(_profile()))
    document["schema"] = "placer-profile/2"
    with pytest.raises(LayoutError) as caught:
        loads(json.dumps(document), file="p.json")
    assert render(caught.value) == ("p.json: error: schema: written for schema "
                                 "'placer-profile/2', newer than this placer reads "
                                 "('placer-profile/1'): upgrade placer")


def test_a_layout_is_not_a_profile() -> None:
    with pytest.raises(LayoutError) as caught:
        loads('{"schema": "placer-layout/1"}', file="p.json")
    assert render(caught.value) == ("p.json: error: schema: unsupported schema "
                                 "'placer-layout/1': this placer reads 'placer-profile/1'")


def test_an_edited_profile_fails_its_hash() -> None:
    text = dumps(_profile())
    edited = text.replace('"size": 8192', '"size": 16384', 1)
    assert edited != text
    with pytest.raises(LayoutError) as caught:
        loads(edited, file="p.json")
    message = render(caught.value)
    assert message.startswith("p.json: error: content_sha256: the content does not match "
                              "its hash (the file says '")
    assert message.endswith("it was edited or damaged since placer wrote it; write it "
                            "again with `placer profile`")


def _rehashed(document: dict[str, Any]) -> str:
    content = {k: v for k, v in document.items() if k not in ("schema", "content_sha256")}
    return json.dumps({"schema": document["schema"], "content_sha256": content_hash(content),
                       **content})


def test_a_bad_value_names_its_key_even_with_a_good_hash() -> None:
    document = json.loads(dumps(_profile()))
    document["layout"]["heaps"][0]["align"] = 12
    with pytest.raises(LayoutError) as caught:
        loads(_rehashed(document), file="p.json")
    assert render(caught.value) == "p.json: error: layout.heaps[0].align: 12 is not a power of two"
    document = json.loads(dumps(_profile()))
    document["image"]["preloaded"][0]["sha256"] = "0" * 64
    with pytest.raises(LayoutError) as caught:
        loads(_rehashed(document), file="p.json")
    assert render(caught.value).startswith(
        "p.json: error: image.preloaded[0].sha256: '" + "0" * 64 + "' is not the SHA-256 of "
        "elf_base64")


def _leaves(value: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _leaves(item, (*path, key))
    elif isinstance(value, list) and value:
        for index, item in enumerate(value):
            yield from _leaves(item, (*path, index))
    else:
        yield path


def _set(document: Any, path: tuple[Any, ...], value: Any) -> None:
    for key in path[:-1]:
        document = document[key]
    document[path[-1]] = value


def _hostile(value: Any) -> list[Any]:
    """Values to put where `value` was: the arithmetic edges for a number, another type
    for anything (the decoder treats every wrong type alike, so one is enough)."""
    if isinstance(value, bool):
        return ["x"]
    if isinstance(value, int):
        return [-1, 0, 3, 1 << 70, "x"]
    if isinstance(value, str):
        return [7, ""]
    return [1, None] if value is not None else [1, "x"]


@pytest.mark.toolchain("arm")
def test_no_value_anywhere_in_a_rehashed_profile_gets_a_traceback(llext_dir: Path) -> None:
    """Every leaf of a profile (with a valid preloaded extension) replaced by each hostile
    value, the hash recomputed so the checks behind it are reached: reading it and
    verifying against it ends in a report or a `PlacerError` naming the file (what
    ``placer verify --profile`` prints with exit 1), never in another exception."""
    ext = build_extension(llext_dir, "arm", "hello", HELLO).path
    profile = _profile()
    profile = records.evolve(profile, image=records.evolve(profile.image, preloaded=(
        PreloadedExtension("pre", "pre.llext", ext.read_bytes()),)))
    base = json.loads(dumps(profile))
    leaves = [leaf for leaf in _leaves(base) if leaf[-1] not in ("schema", "content_sha256")]
    assert len(leaves) > 100
    for leaf in leaves:
        original: Any = base
        for key in leaf:
            original = original[key]
        for value in _hostile(original):
            document = json.loads(json.dumps(base))
            _set(document, leaf, value)
            try:
                read = loads(_rehashed(document), file="p.json")
            except LayoutError as exc:
                assert render(exc).startswith("p.json: error: "), (leaf, value, exc)
                continue
            try:
                report = verify(read.layout, [ext], image=read.image)
            except PlacerError as exc:
                # A configuration the loader refuses (LLEXT off, no heap for a role).
                assert isinstance(exc, ConfigError), (leaf, value, exc)
                continue
            assert report.verdict(), (leaf, value)


def test_the_cli_reports_a_bad_profile_with_exit_1(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    document = json.loads(dumps(_profile()))
    document["layout"]["board"]["elf_class"] = 16
    path = tmp_path / "p.json"
    path.write_text(_rehashed(document))
    assert main(["verify", "--profile", str(path), "x.llext"]) == 1
    assert capsys.readouterr().err == (f"{path}: error: layout.board.elf_class: 16 is not 32 "
                                       "or 64\n")
