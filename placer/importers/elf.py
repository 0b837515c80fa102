"""What a built image already uses, read from its ELF file (``zephyr.elf``).

Each allocated section occupies its run address range, and, when it is loaded from
elsewhere (initialised data copied from flash), its load address range too. The LLEXT
heap buffers the image already has are found by their input-section names (when placer's
script gave them output sections of their own) or by the buffer symbols Zephyr's heap
macros define, and are reported apart: they are what placer places, not what is in its way.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from elftools.elf.constants import SH_FLAGS
from elftools.elf.elffile import ELFFile
from elftools.elf.sections import SymbolTableSection

from placer import records
from placer.board import Board, UsedRange
from placer.elfguard import elf_guard, open_image
from placer.errors import BoardError

#: What `read_elf_image` reads, as a message on a damaged image names it.
_SECTIONS_AND_SYMBOLS = "its sections and symbols"

#: Heap section -> the buffer symbols Zephyr defines for it. A k_heap's buffer is
#: ``kheap_<name>`` (``K_HEAP_DEFINE``/``Z_HEAP_DEFINE_IN_SECT`` in include/zephyr/kernel.h,
#: every release). The non-Harvard memblk pool comes from ``SYS_MEM_BLOCKS_DEFINE``, whose
#: ``_SYS_MEM_BLOCKS_DEFINE`` (include/zephyr/sys/mem_blocks.h) names its backing buffer
#: ``_sys_mem_blocks_buf_<name>``; the Harvard pools pass their own buffers
#: (``llext_instr_heap_buf``, ``llext_data_heap_buf``) to
#: ``SYS_MEM_BLOCKS_DEFINE_WITH_EXT_BUF`` (subsys/llext/llext_memblk.c).
HEAP_SYMBOLS: dict[str, tuple[str, ...]] = {
    ".llext_heap": ("kheap_llext_heap",),
    ".llext_ext_heap": ("_sys_mem_blocks_buf_llext_ext_heap",),
    ".llext_metadata_heap": ("kheap_llext_metadata_heap",),
    ".llext_instr_heap": ("kheap_llext_instr_heap", "llext_instr_heap_buf"),
    ".llext_data_heap": ("kheap_llext_data_heap", "llext_data_heap_buf"),
}


@records.frozen
class ElfHeap:
    """An LLEXT heap buffer the image already has: where it is and how big."""

    section: str
    symbol: str
    address: int
    size: int
    region: str | None


@records.frozen
class ElfImage:
    """The memory a built image uses, per board region.

    `used` excludes the LLEXT heap buffers (`heaps`); `outside` names the allocated
    sections that lie in no region of the board (Zephyr's IDT_LIST data, for instance);
    `orphans` the heaps that were orphan output sections, whose gap `used` has closed.
    """

    used: tuple[UsedRange, ...]
    heaps: tuple[ElfHeap, ...]
    outside: tuple[str, ...]
    orphans: tuple[str, ...] = ()


def open_for_image(path: str | Path) -> ELFFile:
    """The built image at `path` opened for `read_elf_image` (and whatever else its caller
    reads of it): `BoardError` when it cannot be read or is no ELF file."""
    file = os.fsdecode(path)
    return open_image(path, _SECTIONS_AND_SYMBOLS, lambda message: BoardError(message, file),
                      lambda message: BoardError(f"not an ELF file: {message}", file))


def read_elf_image(path: str | Path, board: Board, *,
                   orphans: frozenset[str] = frozenset(),
                   elf: ELFFile | None = None) -> ElfImage:
    """The ranges of `board`'s regions that the image at `path` occupies.

    `orphans` names heap sections the image's linker script has no output section for:
    where the image has one by that name, GNU ld placed it by its orphan rules (after the
    last output section with the same flags: for a PROGBITS heap, after the initialised
    data, with a load image in flash). Placer's scripts put the heap into ``.noinit``
    instead, so the sections after the orphan close the gap (`ElfImage.orphans` lists
    them; the ranges then predict a relink, not this image).

    `elf` is the file at `path` already opened (`open_for_image`), for a caller that reads
    more of it. Raises `BoardError` for a file that is not an ELF image, one whose class or
    machine differs from the board's, or a section that straddles a region's end.
    """
    file = os.fsdecode(path)
    if elf is None:
        elf = open_for_image(path)
    with elf_guard(_SECTIONS_AND_SYMBOLS, lambda message: BoardError(message, file)):
        return _read(elf, file, board, orphans)


def used_ranges(path: str | Path, board: Board) -> tuple[UsedRange, ...]:
    """The ranges of `board`'s regions the image at `path` uses (its LLEXT heaps excluded)."""
    return read_elf_image(path, board).used


def board_with_elf(board: Board, path: str | Path) -> Board:
    """`board` with its used ranges replaced by what the image at `path` uses."""
    image = read_elf_image(path, board)
    return records.evolve(board, used=image.used, image=None, used_measured=True)


def _read(elf: ELFFile, file: str, board: Board, orphans: frozenset[str]) -> ElfImage:
    machine = elf.header["e_machine"]
    number = machine if isinstance(machine, int) else _MACHINES.get(machine)
    if elf.elfclass != board.elf_class or (number is not None and number != board.machine):
        raise BoardError(f"the image is ELF{elf.elfclass} {machine}, but board {board.name} "
                         f"is ELF{board.elf_class} machine {board.machine}", file)
    heaps = _heaps(elf, board)
    ranges = list(_ranges(elf))
    moved = [h for h in heaps if h.section in orphans and h.symbol == h.section]
    for heap in moved:
        ranges = _close_gap(ranges, heap, board)
    carved = [(h.address, h.address + h.size) for h in heaps if h not in moved]
    used: list[UsedRange] = []
    outside: list[str] = []
    for name, start, size, is_load_image, _ in ranges:
        if name in HEAP_SYMBOLS and (is_load_image or any(h.section == name for h in moved)):
            continue  # an orphan heap's bytes (and its load image) leave with it
        region = board.region_name_at(start)
        if region is None:
            outside.append(name)
            continue
        if start + size > board.region(region).end:
            raise BoardError(f"section {name} [{start:#x}, {start + size:#x}) runs past the end "
                             f"of region {region}", file)
        what = f"{name} load image" if is_load_image else name
        for piece_start, piece_end in _subtract(start, start + size, carved):
            used.append(UsedRange(region=region, start=piece_start,
                                  size=piece_end - piece_start, what=what))
    used.sort(key=lambda u: (board.regions.index(board.region(u.region)), u.start, u.what))
    return ElfImage(used=tuple(used), heaps=heaps, outside=tuple(sorted(set(outside))),
                    orphans=tuple(h.section for h in moved))


def _close_gap(ranges: list[_Range], heap: ElfHeap, board: Board) -> list[_Range]:
    """`ranges` as GNU ld lays them out once the orphan output section `heap` is gone
    (its input section then goes into ``.noinit`` by the heap patterns): each later
    section of its region starts at the end of the one before, rounded up to its own
    alignment, keeping any further gap the script put in front of it."""
    region = board.region_name_at(heap.address)
    if region is None:
        return ranges
    run = sorted((r for r in ranges if not r[3] and r[0] != heap.section
                  and board.region_name_at(r[1]) == region), key=lambda r: r[1])
    before = [r for r in run if r[1] + r[2] <= heap.address]
    after = [r for r in run if r[1] >= heap.address + heap.size]
    cursor = max((r[1] + r[2] for r in before), default=heap.address)
    old_end = heap.address + heap.size
    shifted: dict[tuple[str, int], int] = {}
    for name, start, size, _, align in after:
        gap = max(start - _align_up(old_end, align), 0)
        new_start = _align_up(cursor, align) + gap
        shifted[(name, start)] = new_start
        old_end, cursor = start + size, new_start + size
    return [(r[0], shifted.get((r[0], r[1]), r[1]), r[2], r[3], r[4]) if not r[3] else r
            for r in ranges]


def _align_up(value: int, align: int) -> int:
    return -(-value // align) * align if align > 1 else value


#: An allocated section's range: name, address, size, whether it is the load image, and
#: the section's alignment.
_Range = tuple[str, int, int, bool, int]


def _ranges(elf: ELFFile) -> Iterator[_Range]:
    segments = [s for s in elf.iter_segments() if s["p_type"] == "PT_LOAD"]
    for section in elf.iter_sections():
        if not section["sh_flags"] & SH_FLAGS.SHF_ALLOC or section["sh_size"] == 0:
            continue
        if section["sh_flags"] & SH_FLAGS.SHF_TLS and section["sh_type"] == "SHT_NOBITS":
            continue  # .tbss takes no memory of its own
        address, size = section["sh_addr"], section["sh_size"]
        align = max(int(section["sh_addralign"]), 1)
        yield section.name, address, size, False, align
        if section["sh_type"] == "SHT_NOBITS":
            continue
        load = _load_address(segments, section)
        if load is not None and load != address:
            yield section.name, load, size, True, align


def _load_address(segments: list[Any], section: Any) -> int | None:
    offset = section["sh_offset"]
    for segment in segments:
        start = segment["p_offset"]
        if start <= offset < start + segment["p_filesz"]:
            return int(segment["p_paddr"] + (offset - start))
    return None


def _heaps(elf: ELFFile, board: Board) -> tuple[ElfHeap, ...]:
    found: dict[str, ElfHeap] = {}
    for section in elf.iter_sections():
        if section.name in HEAP_SYMBOLS and section["sh_size"]:
            found[section.name] = ElfHeap(section.name, section.name, section["sh_addr"],
                                          section["sh_size"],
                                          board.region_name_at(section["sh_addr"]))
    wanted = {name for heap, symbols in HEAP_SYMBOLS.items() if heap not in found
              for name in symbols}
    by_name = _symbols_named(elf, wanted)
    for heap, symbols in HEAP_SYMBOLS.items():
        if heap in found:
            continue
        for name in symbols:
            value, size = by_name.get(name, (0, 0))
            if size:
                found[heap] = ElfHeap(heap, name, value, size, board.region_name_at(value))
                break
    return tuple(sorted(found.values(), key=lambda h: h.address))


def _symbols_named(elf: ELFFile, names: set[str]) -> dict[str, tuple[int, int]]:
    """Value and size of each of `names` in the image's ``.symtab`` (the last symbol of
    that name, as a name-to-symbol map of the whole table keeps it). A Zephyr image has
    thousands of symbols: the table is unpacked with `struct` in one pass, not parsed
    entry by entry through pyelftools' constructs (about 30 µs a symbol), and only the
    names that can match are decoded."""
    symtab = elf.get_section_by_name(".symtab")
    if not names or not isinstance(symtab, SymbolTableSection):
        return {}
    strings = elf.get_section(symtab["sh_link"]).data()
    # A string table shares suffixes: a name may start inside a longer one.
    starts: set[int] = set()
    for name in names:
        needle = name.encode() + b"\0"
        at = strings.find(needle)
        while at >= 0:
            starts.add(at)
            at = strings.find(needle, at + 1)
    order = "<" if elf.little_endian else ">"
    if elf.elfclass == 32:
        layout, name_at, value_at, size_at = order + "IIIBBH", 0, 1, 2
    else:
        layout, name_at, value_at, size_at = order + "IBBHQQ", 0, 4, 5
    data = symtab.data()
    found: dict[str, tuple[int, int]] = {}
    if symtab["sh_entsize"] != struct.calcsize(layout) or len(data) != symtab["sh_size"]:
        # An unusual stride, or a table that runs past the end of the file: pyelftools'
        # own reading, which steps by sh_entsize and refuses what it cannot read.
        for symbol in symtab.iter_symbols():
            if symbol.name in names:
                found[symbol.name] = (symbol["st_value"], symbol["st_size"])
        return found
    for entry in struct.iter_unpack(layout, data):
        if entry[name_at] in starts:
            start = entry[name_at]
            name = strings[start:strings.index(b"\0", start)].decode()
            found[name] = (entry[value_at], entry[size_at])
    return found


def _subtract(start: int, end: int, holes: list[tuple[int, int]]) -> Iterator[tuple[int, int]]:
    pieces = [(start, end)]
    for hole_start, hole_end in holes:
        next_pieces = []
        for a, b in pieces:
            if hole_end <= a or b <= hole_start:
                next_pieces.append((a, b))
                continue
            if a < hole_start:
                next_pieces.append((a, hole_start))
            if hole_end < b:
                next_pieces.append((hole_end, b))
        pieces = next_pieces
    yield from pieces


_MACHINES = {
    "EM_ARM": 40, "EM_AARCH64": 183, "EM_RISCV": 243, "EM_386": 3, "EM_ARC_COMPACT2": 195,
    "EM_XTENSA": 94, "EM_X86_64": 62, "EM_ARC_COMPACT": 93,
}
