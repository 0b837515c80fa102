"""The memory map: every region to scale, every segment labelled, rendered by Chromium."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path

import pytest

from placer.emit.svg import SegmentKind, region_segments, render_svg
from placer.layout import Layout
from tests.emit.layouts import harvard_layout, kheap_layout, memblk_layout
from tests.emit.png import read_png

NS = {"svg": "http://www.w3.org/2000/svg"}


def test_region_is_cut_into_used_heap_and_free_segments_in_address_order() -> None:
    segments = region_segments(kheap_layout(), "SRAM")
    assert [(s.kind, s.name, s.start, s.size) for s in segments] == [
        (SegmentKind.USED, "data", 0x20000000, 0x400),
        (SegmentKind.USED, "bss", 0x20000400, 0xc00),
        (SegmentKind.HEAP, ".llext_heap", 0x20001000, 0x2000),
        (SegmentKind.FREE, "free", 0x20003000, 0xd000),
    ]


def test_alignment_padding_is_its_own_segment() -> None:
    from placer import records

    layout = kheap_layout()
    (heap,) = layout.heaps
    padded = records.evolve(
        layout, heaps=(records.evolve(heap, address=0x20001100, padding=0x100),))
    kinds = [(s.kind, s.start, s.size) for s in region_segments(padded, "SRAM")][2:4]
    assert kinds == [(SegmentKind.PADDING, 0x20001000, 0x100), (SegmentKind.HEAP, 0x20001100,
                                                                 0x2000)]


def test_every_heap_is_labelled_with_name_address_and_size() -> None:
    root = ET.fromstring(render_svg(memblk_layout()))
    texts = [t.text for t in root.iter("{http://www.w3.org/2000/svg}text")]
    assert ".llext_ext_heap" in texts
    assert "0x20001000\u20130x20004fff" in texts
    assert "16 KiB" in texts
    assert "0x20005000\u20130x20005fff" in texts


def test_heap_height_is_proportional_to_its_size() -> None:
    root = ET.fromstring(render_svg(memblk_layout()))
    heights = {
        rect.find("svg:title", NS).text.split(":")[0]: float(rect.get("height", "0"))
        for rect in root.iter("{http://www.w3.org/2000/svg}rect")
        if rect.get("class") == "heap"
    }
    assert heights[".llext_ext_heap"] == pytest.approx(4 * heights[".llext_metadata_heap"])


def test_long_free_stretch_gets_a_break_and_says_not_to_scale() -> None:
    text = render_svg(harvard_layout())
    assert "244 KiB (not to scale)" in text


def test_svg_is_deterministic() -> None:
    assert render_svg(harvard_layout()) == render_svg(harvard_layout())


@pytest.mark.parametrize("make", [kheap_layout, harvard_layout, memblk_layout])
def test_svg_is_written_as_elementtree_writes_it(make: Callable[[], Layout]) -> None:
    # placer writes the XML itself (ElementTree's import was a tenth of a cold place -o):
    # read back and written by ElementTree, indented the same way, it is the same text.
    svg = render_svg(make())
    tree = ET.fromstring(svg)
    ET.indent(tree, space=" ")
    assert ET.tostring(tree, encoding="unicode").replace("ns0:", "").replace(
        ' xmlns:ns0="http://www.w3.org/2000/svg"', ' xmlns="http://www.w3.org/2000/svg"'
    ) + "\n" == svg


def test_special_characters_are_escaped_as_elementtree_escapes_them() -> None:
    from placer.emit.svg import _Element, _sub

    root = _Element("svg", {"a": '<&>"\r\n\t'})
    _sub(root, "text").text = "<&> \"'"
    _sub(_sub(root, "g"), "rect", {"b": ""})
    _sub(root, "empty").text = ""
    expected = ET.Element("svg", {"a": '<&>"\r\n\t'})
    ET.SubElement(expected, "text").text = "<&> \"'"
    ET.SubElement(ET.SubElement(expected, "g"), "rect", {"b": ""})
    ET.SubElement(expected, "empty").text = ""
    ET.indent(expected, space=" ")
    assert root.to_xml() == ET.tostring(expected, encoding="unicode")


def test_chromium_renders_the_map(tmp_path: Path) -> None:
    chromium = shutil.which("chromium")
    if chromium is None:
        message = "chromium not found: apt-get install chromium"
        if os.environ.get("CI"):
            pytest.fail(message)  # tools/test.sh installs it: a skip would hide that
        pytest.skip(message)
    svg = tmp_path / "map.svg"
    png = tmp_path / "map.png"
    svg.write_text(render_svg(memblk_layout()))
    subprocess.run(
        [chromium, "--headless", "--no-sandbox", "--disable-gpu",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--no-first-run", f"--user-data-dir={tmp_path / 'profile'}",
         f"--screenshot={png}", "--window-size=1200,900", str(svg)],
        check=True, capture_output=True, timeout=120,
    )
    image = read_png(png.read_bytes())  # Chromium's error page is a PNG too: look inside
    assert image.pixel(3, 3) == (255, 255, 255)  # the map's white background
    # Each heap and used range is drawn in its colour where the SVG says: two points
    # inside each box, clear of its centred label (an error page or a blank render has
    # none of these colours there).
    boxes = re.findall(r'<rect class="(heap|used)" x="([\d.]+)" y="([\d.]+)" width="([\d.]+)" '
                       r'height="([\d.]+)" fill="#([0-9a-f]{6})"', svg.read_text())
    assert [kind for kind, *_ in boxes].count("heap") == 2
    for _, x, y, width, height, colour in boxes:
        left, top, right, bottom = (float(x) + 5, float(y) + 4, float(x) + float(width) - 5,
                                    float(y) + float(height) - 4)
        expected = tuple(bytes.fromhex(colour))
        assert image.pixel(int(left), int(top)) == expected, (colour, x, y)
        assert image.pixel(int(right), int(bottom)) == expected, (colour, x, y)


def test_the_map_draws_noinit_where_the_solver_moved_it() -> None:
    # memblk with 4096-byte blocks: the .noinit output section holds the pool, so GNU ld
    # aligns it to 4096 and its own content moves from 0x20003400 up to 0x20004000. The
    # map reads that from the layout instead of recomputing it.
    import placer
    from placer.config import HeapBackend, LlextConfig

    config = LlextConfig(heap_backend=HeapBackend.MEMBLK, heap_memblk_block_size=4096,
                         ext_heap_size=8)
    layout = placer.place(placer.load_board("qemu_cortex_m3"), config)
    (noinit,) = [u for u in layout.image if u.what == "noinit"]
    assert noinit.start == 0x20004000
    drawn = {s.name: s for s in region_segments(layout, "RAM")}
    assert (drawn["noinit"].start, drawn["noinit"].size) == (0x20004000, 2048)
    assert drawn[".llext_ext_heap"].start == layout.heap(".llext_ext_heap").address
