"""D3/D4: damaged images read through pyelftools; D6: a layout field that broke arithmetic.

The images are inputs a fuzz campaign produced from a real arm-none-eabi image (kept in
tests/fuzz/regressions/image/, where the fuzz test replays them through every command
that reads an image); each once escaped as the pyelftools exception named in the message.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from placer.cli import main
from placer.errors import ExtensionError
from placer.llext.metadata import sizes_from_dwarf

_IMAGES = Path(__file__).resolve().parents[1] / "fuzz" / "regressions" / "image"

_DAMAGE = {
    "d3-assertion-bare.elf": "AssertionError in pyelftools",
    "d3-assertion-dwarf-abbrev.elf": "AssertionError in pyelftools: 109",
    "d4-none-name-decode.elf":
        "AttributeError in pyelftools: 'NoneType' object has no attribute 'decode'",
    "d4-zlib-compressed-debug.elf":
        "zlib.error in pyelftools: Error -3 while decompressing data: invalid distance too "
        "far back",
    "keyerror-dwarf-form.elf": "KeyError in pyelftools: 21",
}


@pytest.mark.parametrize(("name", "detail"), sorted(_DAMAGE.items()))
def test_d3_d4_a_damaged_image_names_the_file_and_what_was_read(name: str, detail: str) -> None:
    image = _IMAGES / name
    with pytest.raises(ExtensionError) as caught:
        sizes_from_dwarf(image)
    assert str(caught.value) == (f"{image}: damaged ELF file while reading the DWARF "
                                 f"sizes of struct llext: {detail} (Zephyr: -EINVAL)")


def test_d3_verify_exports_of_a_damaged_image_exits_1_with_the_message(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["place", "-o", str(tmp_path / "placed")]) == 0
    image = _IMAGES / "d4-zlib-compressed-debug.elf"
    capsys.readouterr()
    status = main(["verify", "--layout", str(tmp_path / "placed" / "layout.json"),
                   "--exports", str(image), str(image)])
    out, err = capsys.readouterr()
    assert (status, out) == (1, "")
    assert err == (f"{image}: error: damaged ELF file while reading the DWARF sizes of struct "
                   f"llext: {_DAMAGE['d4-zlib-compressed-debug.elf']} (Zephyr: -EINVAL)\n")


@pytest.mark.parametrize(("field", "value", "message"), [
    ("elf_class", 0, "board.elf_class: 0 is not 32 or 64"),
    ("machine", -1, "board.machine: -1 is not an e_machine"),
])
def test_d6_a_layout_board_field_that_breaks_arithmetic_is_a_layout_error(
        field: str, value: int, message: str, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["place", "-o", str(tmp_path / "placed")]) == 0
    layout = tmp_path / "placed" / "layout.json"
    document = json.loads(layout.read_text())
    document["board"][field] = value
    layout.write_text(json.dumps(document))
    capsys.readouterr()
    status = main(["verify", "--layout", str(layout), str(layout)])
    out, err = capsys.readouterr()
    assert (status, out) == (1, "")
    assert err == f"{layout}: error: {message}\n"


def test_d6_a_heap_in_a_region_the_board_lacks_is_a_layout_error(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["place", "-o", str(tmp_path / "placed")]) == 0
    layout = tmp_path / "placed" / "layout.json"
    document = json.loads(layout.read_text())
    document["heaps"][0]["region"] = "NOPE"
    layout.write_text(json.dumps(document))
    capsys.readouterr()
    assert main(["diff", str(layout), str(layout)]) == 1
    assert capsys.readouterr().err == (
        f"{layout}: error: heaps[0].region: 'NOPE' is not a region of the board\n")
