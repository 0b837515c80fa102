"""The output sections of a GNU ld map file (``zephyr.map``): name, address, size, and the
load address when ld printed one.

The map's "Linker script and memory map" part lists each output section at the start of a
line: ``name address size [load address LMA]``, with the numbers on the next line when the
name is too long to share it. Lines that begin with a blank are input sections, symbol
assignments and script statements, which this reader skips.
"""

from __future__ import annotations

import re
from pathlib import Path

from placer import records
from placer.board import Board, UsedRange
from placer.errors import BoardError
from placer.inputs import ELF_LIMIT, read_input_text

_START = "Linker script and memory map"
_NUMBERS = r"0x(?P<address>[0-9a-fA-F]+)\s+0x(?P<size>[0-9a-fA-F]+)" \
           r"(?:\s+load address 0x(?P<load>[0-9a-fA-F]+))?\s*$"
_SECTION = re.compile(r"^(?P<name>[^\s*]\S*)\s+" + _NUMBERS)
_NAME_ALONE = re.compile(r"^(?P<name>[^\s*]\S*)\s*$")
_CONTINUED = re.compile(r"^\s+" + _NUMBERS)
#: Output sections that occupy no target memory (debug information, notes, attributes):
#: ld gives them address 0, which would read as bytes used at the start of a region.
_NOT_MEMORY = re.compile(r"^(\.debug|\.zdebug|\.comment|\.stab|\.ARM\.attributes|"
                         r"\.riscv\.attributes|\.arc\.attributes|\.note|\.gnu\.attributes|"
                         r"\.xtensa\.info|\.symtab|\.strtab|\.shstrtab|/DISCARD/|"
                         r"\.rel\.|\.rela\.)")


@records.frozen
class MapSection:
    """One output section as the map reports it; `load_address` is None when ld printed
    none (the section is not loaded from elsewhere)."""

    name: str
    address: int
    size: int
    load_address: int | None = None


def read_map_sections(path: str | Path) -> tuple[MapSection, ...]:
    """The non-empty output sections in the map file at `path` that occupy target memory,
    in the map's order. Raises `BoardError` when the file cannot be read or is not a GNU
    ld map (no "Linker script and memory map" part)."""
    path = Path(path)
    # A map lists every input section of the link: tens of MiB for a large image, so it
    # gets the ELF limit rather than the text one.
    text = read_input_text(path, what="map file", limit=ELF_LIMIT, errors="surrogateescape")
    start = text.find(_START)
    if start < 0:
        raise BoardError(f"not a GNU ld map file (no '{_START}' part)", str(path))
    sections: list[MapSection] = []
    pending: str | None = None
    for line in text[start:].splitlines()[1:]:
        if pending is not None:
            continued = _CONTINUED.match(line)
            if continued:
                _add(sections, pending, continued)
            pending = None
            continue
        match = _SECTION.match(line)
        if match:
            _add(sections, match["name"], match)
            continue
        alone = _NAME_ALONE.match(line)
        if alone and not line.startswith(("LOAD ", "OUTPUT(")):
            pending = alone["name"]
    return tuple(sections)


def _add(sections: list[MapSection], name: str, match: re.Match[str]) -> None:
    size = int(match["size"], 16)
    if size == 0 or _NOT_MEMORY.match(name):
        return
    load = match["load"]
    sections.append(MapSection(name, int(match["address"], 16), size,
                               int(load, 16) if load is not None else None))


def map_used_ranges(path: str | Path, board: Board) -> tuple[UsedRange, ...]:
    """The ranges of `board`'s regions that the output sections in the map at `path`
    occupy (run addresses, and load addresses where ld printed them), as the ELF importer
    reads them from an image."""
    used: list[UsedRange] = []
    for section in read_map_sections(path):
        spans = [(section.address, section.name)]
        if section.load_address is not None and section.load_address != section.address:
            spans.append((section.load_address, f"{section.name} load image"))
        for start, what in spans:
            region = board.region_name_at(start)
            if region is None:
                continue
            end = min(start + section.size, board.region(region).end)
            used.append(UsedRange(region, start, end - start, what))
    used.sort(key=lambda u: (board.regions.index(board.region(u.region)), u.start, u.what))
    return tuple(used)
