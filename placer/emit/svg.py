"""The memory map picture: every region as a column, drawn to scale, with the heaps in it.

Each region is a column whose addresses grow downwards, as in a linker map. A segment's
height is proportional to its size; a segment too long to draw is cut short with a break
mark (and says so in its label), and one too short to see is drawn at a minimum height.
Every segment is labelled with its name, address range and size; image contents are grey,
heaps coloured by role, alignment padding hatched, free space shaded. The SVG is plain
(no scripts, no external fonts) and byte-identical for identical layouts.
"""

from __future__ import annotations

import enum
import math

from placer import records
from placer.layout import Layout
from placer.target import HeapRole

_COLUMN_WIDTH = 150
_LABEL_WIDTH = 280
_REGION_GAP = 40
_COLUMNS_PER_ROW = 3
_SCALE_HEIGHT = 520  # a region drawn entirely to scale would be this tall
_MIN_SEGMENT = 22  # shortest segment drawn: room for one line of label
_MIN_HEAP = 36  # the smallest heap of a region is drawn at least this tall (to scale)
_BREAK_OVER = 240  # a non-heap segment taller than this is cut short with a break mark
_BREAK_SEGMENT = 110  # the height a broken segment is drawn at
_HEAD = 58  # room above a column for the region's title
_LEGEND_HEIGHT = 70
_MARGIN = 20
_LABEL_LINE = 13

_HEAP_COLOURS = {
    HeapRole.SHARED: "#1f77b4",
    HeapRole.EXT: "#2ca02c",
    HeapRole.METADATA: "#9467bd",
    HeapRole.INSTR: "#d62728",
    HeapRole.DATA: "#ff7f0e",
}
_USED_FILL = "#9e9e9e"
_FREE_FILL = "url(#free)"
_PADDING_FILL = "url(#padding)"
_DASH = "\u2013"  # en dash between the ends of an address range
_FONT = "DejaVu Sans, Helvetica, Arial, sans-serif"


class SegmentKind(enum.Enum):
    """What a stretch of a region holds; also the SVG class of its rectangle."""

    USED = "used"
    HEAP = "heap"
    PADDING = "padding"
    FREE = "free"


@records.frozen
class Segment:
    """A contiguous stretch of one region: image contents, a heap, padding or free."""

    kind: SegmentKind
    name: str
    start: int
    size: int
    role: HeapRole | None = None

    @property
    def end(self) -> int:
        """First address past the segment."""
        return self.start + self.size


def region_segments(layout: Layout, region: str) -> tuple[Segment, ...]:
    """The region cut into segments in address order, gaps filled with free space."""
    board = layout.target.board
    memory = board.region(region)
    # Where the image's sections lie once the heaps are in: the solver's answer.
    pieces: list[Segment] = [
        Segment(SegmentKind.USED, u.what, u.start, u.size)
        for u in sorted(layout.image, key=lambda u: (u.start, u.what))
        if u.region == region and u.size > 0
    ]
    for placed in layout.heaps:
        if placed.region != region:
            continue
        if placed.padding > 0:
            pieces.append(Segment(SegmentKind.PADDING, "padding",
                                  placed.address - placed.padding, placed.padding))
        pieces.append(Segment(SegmentKind.HEAP, placed.section, placed.address, placed.size,
                              placed.heap.role))
    pieces.sort(key=lambda s: (s.start, s.kind is not SegmentKind.PADDING, s.name))
    out: list[Segment] = []
    cursor = memory.origin
    for piece in pieces:
        start = max(piece.start, cursor)
        end = min(piece.end, memory.end)
        if end <= start:
            continue  # overlaps what is already drawn, or lies outside the region
        if start > cursor:
            out.append(Segment(SegmentKind.FREE, "free", cursor, start - cursor))
        out.append(records.evolve(piece, start=start, size=end - start))
        cursor = end
    if cursor < memory.end:
        out.append(Segment(SegmentKind.FREE, "free", cursor, memory.end - cursor))
    return tuple(out)


def render_svg(layout: Layout) -> str:
    """The memory map of `layout` as an SVG document (text)."""
    board = layout.target.board
    regions = _regions_to_draw(layout)
    columns = [_column(layout, name) for name in regions]
    rows = [columns[i:i + _COLUMNS_PER_ROW] for i in range(0, len(columns), _COLUMNS_PER_ROW)]
    pitch = _COLUMN_WIDTH + _LABEL_WIDTH + _REGION_GAP
    width = _MARGIN * 2 + pitch * min(len(columns), _COLUMNS_PER_ROW) - _REGION_GAP
    width = max(width, 760)
    title_height = 46
    row_heights = [_HEAD + math.ceil(max(c.height for c in row)) + 30 for row in rows] or [40]
    notes = _wrapped(_notes(layout), _note_columns(len(columns)))
    height = (title_height + sum(row_heights) + _LEGEND_HEIGHT + _LABEL_LINE * len(notes)
              + _MARGIN * 2)

    svg = _Element("svg", {
        "xmlns": "http://www.w3.org/2000/svg",
        "width": str(width),
        "height": str(height),
        "viewBox": f"0 0 {width} {height}",
        "font-family": _FONT,
        "font-size": "12",
    })
    _sub(svg, "title").text = f"LLEXT heap layout: {board.name}"
    _defs(svg)
    _sub(svg, "rect", {"width": str(width), "height": str(height), "fill": "#ffffff"})
    _text(svg, _MARGIN, _MARGIN + 14, f"LLEXT heap layout — {board.name}",
          size=18, weight="bold")
    _text(svg, _MARGIN, _MARGIN + 32, _subtitle(layout), size=12, fill="#444444")

    y = _MARGIN + title_height
    for row, row_height in zip(rows, row_heights, strict=True):
        x = _MARGIN
        for column in row:
            _draw_column(svg, column, x, y)
            x += pitch
        y += row_height
    for note in notes:
        _text(svg, _MARGIN, y, note, size=12, fill="#8a1c1c")
        y += _LABEL_LINE
    _legend(svg, layout, _MARGIN, y + 10)
    return svg.to_xml() + "\n"


# --- layout of one column ----------------------------------------------------------------


@records.frozen
class _Drawn:
    segment: Segment
    top: float
    height: float
    broken: bool


@records.frozen
class _Column:
    name: str
    origin: int
    length: int
    attributes: str
    drawn: tuple[_Drawn, ...]

    @property
    def height(self) -> float:
        if not self.drawn:
            return 0.0
        last = self.drawn[-1]
        return last.top + last.height


def _regions_to_draw(layout: Layout) -> tuple[str, ...]:
    # Every region the layout reports on, then any other region holding a heap, in the
    # board's order: the picture shows where heaps could go as well as where they went.
    board = layout.target.board
    wanted = {space.region for space in layout.regions} | {h.region for h in layout.heaps}
    if not wanted:
        wanted = {board.noinit_region}
    return tuple(r.name for r in board.regions if r.name in wanted)


def _column(layout: Layout, region: str) -> _Column:
    memory = layout.target.board.region(region)
    segments = region_segments(layout, region)
    scale = _SCALE_HEIGHT / memory.length if memory.length else 0.0
    heap_sizes = [s.size for s in segments if s.kind is SegmentKind.HEAP]
    if heap_sizes:
        # Zoom in until the smallest heap is legible; the long gaps this makes get breaks.
        scale = max(scale, _MIN_HEAP / min(heap_sizes))
    drawn: list[_Drawn] = []
    top = 0.0
    for segment in segments:
        height: float
        exact = segment.size * scale
        broken = exact > _BREAK_OVER and segment.kind is not SegmentKind.HEAP
        height = _BREAK_SEGMENT if broken else max(exact, _MIN_SEGMENT)
        drawn.append(_Drawn(segment, top, height, broken))
        top += height
    attributes = "".join(sorted(memory.attributes, key="rwx".index))
    return _Column(region, memory.origin, memory.length, attributes, tuple(drawn))


def _draw_column(svg: _Element, column: _Column, x: float, y: float) -> None:
    group = _sub(svg, "g", {"class": "region", "id": f"region-{column.name}"})
    _text(group, x, y + 16, column.name, size=15, weight="bold")
    _text(group, x, y + 32,
          f"{_hex(column.origin)}{_DASH}{_hex(column.origin + column.length - 1)}", size=11,
          fill="#444444")
    _text(group, x, y + 46, f"{_size(column.length)}, {column.attributes}", size=11,
          fill="#444444")
    top = y + _HEAD
    label_x = x + _COLUMN_WIDTH + 12
    next_free_label = top
    for item in column.drawn:
        _draw_segment(group, item, x, top)
        centre = top + item.top + item.height / 2
        lines = _label_lines(item)
        block = _LABEL_LINE * len(lines)
        label_top = max(centre - block / 2, next_free_label)
        anchor_y = top + item.top + item.height / 2
        if abs(label_top + block / 2 - anchor_y) > 1:
            _sub(group, "polyline", {
                "points": f"{x + _COLUMN_WIDTH},{_f(anchor_y)} {label_x - 6},{_f(anchor_y)} "
                          f"{label_x - 2},{_f(label_top + block / 2)}",
                "fill": "none", "stroke": "#999999", "stroke-width": "0.8",
            })
        for index, line in enumerate(lines):
            _text(group, label_x, label_top + _LABEL_LINE * (index + 1) - 3, line,
                  size=11 if index else 12, weight="bold" if index == 0 else None,
                  fill="#222222" if index == 0 else "#555555")
        next_free_label = label_top + block + 3
    _sub(group, "rect", {
        "x": _f(x), "y": _f(top), "width": str(_COLUMN_WIDTH), "height": _f(column.height),
        "fill": "none", "stroke": "#333333", "stroke-width": "1.5",
    })


def _draw_segment(group: _Element, item: _Drawn, x: float, top: float) -> None:
    segment = item.segment
    fill = {
        SegmentKind.USED: _USED_FILL,
        SegmentKind.FREE: _FREE_FILL,
        SegmentKind.PADDING: _PADDING_FILL,
        SegmentKind.HEAP: _HEAP_COLOURS.get(segment.role or HeapRole.SHARED, "#1f77b4"),
    }[segment.kind]
    rect = _sub(group, "rect", {
        "class": segment.kind.value,
        "x": _f(x), "y": _f(top + item.top), "width": str(_COLUMN_WIDTH),
        "height": _f(item.height), "fill": fill, "stroke": "#555555", "stroke-width": "0.5",
    })
    _sub(rect, "title").text = (
        f"{segment.name}: {_hex(segment.start)}{_DASH}{_hex(segment.end - 1)}, {segment.size} bytes"
    )
    if segment.kind is SegmentKind.HEAP and item.height >= 16:
        _text(group, x + _COLUMN_WIDTH / 2, top + item.top + item.height / 2 + 4, segment.name,
              size=11, weight="bold", fill="#ffffff", anchor="middle")
    if item.broken:
        _break_mark(group, x, top + item.top + item.height / 2)


def _break_mark(group: _Element, x: float, y: float) -> None:
    # Two zigzags across the column with a white band between them: "not to scale here".
    step = _COLUMN_WIDTH / 10
    for offset in (-4.0, 4.0):
        points = " ".join(
            f"{_f(x + i * step)},{_f(y + offset + (3 if i % 2 else -3))}" for i in range(11)
        )
        _sub(group, "polyline", {
            "points": points, "fill": "none", "stroke": "#333333", "stroke-width": "1.2",
        })
    _sub(group, "rect", {
        "x": _f(x), "y": _f(y - 2), "width": str(_COLUMN_WIDTH), "height": "4",
        "fill": "#ffffff",
    })


def _label_lines(item: _Drawn) -> list[str]:
    segment = item.segment
    span = f"{_hex(segment.start)}{_DASH}{_hex(segment.end - 1)}"
    size = _size(segment.size)
    if item.broken:
        size += " (not to scale)"
    if item.height < _LABEL_LINE * 3 and segment.kind is not SegmentKind.HEAP:
        return [f"{segment.name} · {size}", span]
    return [segment.name, span, size]


# --- decorations ---------------------------------------------------------------------------


def _defs(svg: _Element) -> None:
    defs = _sub(svg, "defs")
    free = _sub(defs, "pattern", {
        "id": "free", "width": "8", "height": "8", "patternUnits": "userSpaceOnUse",
    })
    _sub(free, "rect", {"width": "8", "height": "8", "fill": "#e8f5e9"})
    _sub(free, "path", {"d": "M0,8 L8,0", "stroke": "#b7dcb9", "stroke-width": "1"})
    padding = _sub(defs, "pattern", {
        "id": "padding", "width": "6", "height": "6", "patternUnits": "userSpaceOnUse",
        "patternTransform": "rotate(45)",
    })
    _sub(padding, "rect", {"width": "6", "height": "6", "fill": "#fff3cd"})
    _sub(padding, "rect", {"width": "3", "height": "6", "fill": "#e0a800"})


def _legend(svg: _Element, layout: Layout, x: float, y: float) -> None:
    group = _sub(svg, "g", {"class": "legend"})
    entries: list[tuple[str, str]] = [("image (used)", _USED_FILL)]
    roles = []
    for placed in layout.heaps:
        if placed.heap.role not in roles:
            roles.append(placed.heap.role)
    entries += [(f"heap: {_role_words(role)}", _HEAP_COLOURS[role]) for role in roles]
    entries += [("alignment padding", _PADDING_FILL), ("free", _FREE_FILL)]
    cursor = x
    for label, fill in entries:
        _sub(group, "rect", {
            "x": _f(cursor), "y": _f(y), "width": "18", "height": "14", "fill": fill,
            "stroke": "#555555", "stroke-width": "0.5",
        })
        _text(group, cursor + 24, y + 11, label, size=12)
        cursor += 34 + 7 * len(label)
    _text(group, x, y + 34,
          "Addresses grow downwards. Heights are to scale within a region, except segments "
          f"shorter than {_MIN_SEGMENT} px (drawn taller) and stretches marked with a break.",
          size=11, fill="#555555")


def _notes(layout: Layout) -> list[str]:
    notes = [
        f"LLEXT_HEAP_DYNAMIC: {d.init_call}() needs a buffer of at least {d.minimum_size} "
        f"bytes aligned to {d.align} in {', '.join(d.regions) or 'any RAM'}"
        for d in layout.dynamic
    ]
    notes += [f"warning: {w}" for w in layout.warnings]
    return notes


def _note_columns(regions: int) -> int:
    # Characters per line of a note, for 12 px text (about 7 px a character, rounded safe).
    width = _MARGIN * 2 + (_COLUMN_WIDTH + _LABEL_WIDTH + _REGION_GAP) * min(
        max(regions, 1), _COLUMNS_PER_ROW)
    return max(int(width / 7.0) - 4, 60)


def _subtitle(layout: Layout) -> str:
    target = layout.target
    config = target.config
    mode = config.heap_backend.value
    if target.harvard:
        mode += ", Harvard"
    if config.heap_dynamic:
        mode += ", dynamic"
    if config.userspace:
        mode += ", user mode"
    heaps = ", ".join(f"{h.section} in {h.region}" for h in layout.heaps) or "no static heap"
    return f"{target.board.arch.value} {target.board.cpu} · {mode} · {heaps}"


def _role_words(role: HeapRole) -> str:
    return {
        HeapRole.SHARED: "shared (.llext_heap)",
        HeapRole.EXT: "extension pool",
        HeapRole.METADATA: "metadata",
        HeapRole.INSTR: "instruction",
        HeapRole.DATA: "data",
    }[role]


def _text(parent: _Element, x: float, y: float, text: str, *, size: int,
          weight: str | None = None, fill: str = "#000000",
          anchor: str | None = None) -> _Element:
    attributes = {"x": _f(x), "y": _f(y), "font-size": str(size), "fill": fill}
    if weight is not None:
        attributes["font-weight"] = weight
    if anchor is not None:
        attributes["text-anchor"] = anchor
    element = _sub(parent, "text", attributes)
    element.text = text
    return element


def _wrapped(notes: list[str], columns: int) -> list[str]:
    """`notes` wrapped to `columns`, continuation lines indented."""
    if not notes:
        return []  # the usual case: no textwrap (its regexes) to load
    import textwrap

    return [line for note in notes
            for line in textwrap.wrap(note, columns, subsequent_indent="    ")]


class _Element:
    """One SVG element: the part of `xml.etree.ElementTree.Element` this writer builds,
    written as ``ElementTree.tostring`` writes it after ``ElementTree.indent(space=" ")``
    (tests/emit/test_svg.py holds the output to that). ElementTree itself, pyexpat
    included, took a tenth of a cold ``placer place -o``'s own time to import."""

    __slots__ = ("attributes", "children", "tag", "text")

    def __init__(self, tag: str, attributes: dict[str, str] | None = None) -> None:
        self.tag = tag
        self.attributes = dict(attributes or {})
        self.text: str | None = None
        self.children: list[_Element] = []

    def to_xml(self, level: int = 0) -> str:
        """The element and its children as indented XML text (no trailing newline)."""
        head = "<" + self.tag + "".join(f' {key}="{_escape_attribute(value)}"'
                                        for key, value in self.attributes.items())
        if self.children:
            inner = "\n" + " " * (level + 1)
            text = _escape_text(self.text) if self.text and self.text.strip() else inner
            body = inner.join(child.to_xml(level + 1) for child in self.children)
            return f"{head}>{text}{body}\n{' ' * level}</{self.tag}>"
        if self.text:
            return f"{head}>{_escape_text(self.text)}</{self.tag}>"
        return head + " />"


def _sub(parent: _Element, tag: str, attributes: dict[str, str] | None = None) -> _Element:
    """A new child of `parent` (``ElementTree.SubElement``)."""
    child = _Element(tag, attributes)
    parent.children.append(child)
    return child


def _escape_text(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _escape_attribute(value: str) -> str:
    return (_escape_text(value).replace('"', "&quot;").replace("\r", "&#13;")
            .replace("\n", "&#10;").replace("\t", "&#09;"))


def _hex(value: int) -> str:
    return f"0x{value:08x}"


def _size(size: int) -> str:
    if size >= 1024 and size % 1024 == 0:
        kib = size // 1024
        return f"{kib // 1024} MiB" if kib % 1024 == 0 else f"{kib} KiB"
    if size >= 1024:
        return f"{size} B ({size / 1024:.1f} KiB)"
    return f"{size} B"


def _f(value: float) -> str:
    # Two decimals at most, no trailing zeros: stable text for identical layouts.
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return text if text != "-0" else "0"

