"""Board files: TOML descriptions of boards, read into `Board` and written back.

The format is documented key by key in ``boards/README.md``. Reading is strict: unknown
keys, wrong types and inconsistent values are `BoardError`s that point at the line of the
offending key (``file:line: error: message``), so a typo never passes silently.
"""

from __future__ import annotations

import itertools
import os
import re
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from placer import records
from placer._files import replace_atomically
from placer._resources import DEFAULT_BOARD as DEFAULT_BOARD
from placer._resources import data_dir
from placer.board import (
    Arch,
    Board,
    Bus,
    ImageSizes,
    MemoryRegion,
    Mpu,
    MpuKind,
    UsedRange,
    default_mpu_granule,
)
from placer.errors import BoardError
from placer.inputs import read_input_text

#: The board file schema this version of placer reads and writes.
SCHEMA = 1

#: ``e_machine`` per architecture (ELF ABI values) when the board file does not say.
DEFAULT_MACHINE: dict[Arch, int] = {
    Arch.ARM: 40,  # EM_ARM
    Arch.ARM64: 183,  # EM_AARCH64
    Arch.RISCV: 243,  # EM_RISCV
    Arch.X86: 3,  # EM_386
    Arch.ARC: 195,  # EM_ARC_COMPACT2 (ARCv2)
    Arch.XTENSA: 94,  # EM_XTENSA
}

_TOP_KEYS = frozenset({
    "schema", "name", "description", "arch", "cpu", "endianness", "elf_class", "e_machine",
    "harvard", "xip", "mmu_page_size", "pmp_granularity", "noinit_region", "flash_region",
    "base_script", "preferred_regions", "forbidden_regions", "region", "mpu", "used", "image",
})
_REGION_KEYS = frozenset({
    "name", "origin", "length", "attributes", "bus", "writable_at_load", "retained",
    "volatile", "alias_of", "alias_offset",
})
_MPU_KEYS = frozenset({"kind", "requires_power_of_two", "granule", "version"})
_USED_KEYS = frozenset({"region", "start", "size", "what"})
_IMAGE_KEYS = frozenset({
    "text", "rodata", "data", "bss", "noinit", "align", "text_region", "rodata_region",
    "data_load_region",
})

_SIZE = re.compile(r"(?P<number>0[xX][0-9a-fA-F]+|[0-9]+)\s*(?P<unit>[KMG]?)")
_UNITS = {"": 1, "K": 1024, "M": 1024 * 1024, "G": 1024 * 1024 * 1024}
_DECODE_POSITION = re.compile(r"\(at line (\d+), column (\d+)\)$")
_HEADER = re.compile(r"^\s*(\[\[?)\s*([A-Za-z0-9_.\-]+)\s*\]\]?")
_KEY = re.compile(r"^\s*([A-Za-z0-9_\-]+)\s*=")


def parse_size(text: str | int) -> int:
    """A byte count from an int or a string like ``"64K"``, ``"2M"`` or ``"0x10000"``.

    The suffixes K, M and G are binary (1024-based), as in GNU ld's MEMORY lengths.
    Raises `ValueError` for anything else.
    """
    if isinstance(text, bool):
        raise ValueError(f"{text!r} is not a size")
    if isinstance(text, int):
        if text < 0:
            raise ValueError(f"{text} is negative")
        return text
    match = _SIZE.fullmatch(text.strip())
    if match is None:
        raise ValueError(f"{text!r} is not a size (an integer, \"0x...\", or \"64K\"/\"2M\")")
    return int(match["number"], 0) * _UNITS[match["unit"]]


def format_size(value: int) -> str | int:
    """The shortest exact TOML spelling of a size: ``"64K"``, ``"2M"`` or a hex string."""
    for unit in ("G", "M", "K"):
        scale = _UNITS[unit]
        if value >= scale and value % scale == 0:
            return f"{value // scale}{unit}"
    return value


class _Locator:
    """Finds the line of a key in TOML text: tomllib reports no positions for values."""

    def __init__(self, text: str) -> None:
        self._lines: dict[tuple[str, int, str], int] = {}
        self._tables: dict[tuple[str, int], int] = {}
        table, index = "", 0
        counts: dict[str, int] = {}
        for number, line in enumerate(text.splitlines(), start=1):
            header = _HEADER.match(line)
            if header:
                table = header[2]
                if header[1] == "[[":
                    index = counts.get(table, 0)
                    counts[table] = index + 1
                else:
                    index = 0
                self._tables.setdefault((table, index), number)
                continue
            key = _KEY.match(line)
            if key:
                self._lines.setdefault((table, index, key[1]), number)

    def line(self, table: str = "", index: int = 0, key: str | None = None) -> int | None:
        """Line of `key` in the `index`-th `table` (``""`` is the top level), or the table's."""
        if key is not None and (table, index, key) in self._lines:
            return self._lines[(table, index, key)]
        if (table, index) in self._tables:
            return self._tables[(table, index)]
        # An inline table (`mpu = { kind = "arm-mpu" }`): the line of its own key.
        return self._lines.get(("", 0, table)) if table else None


class _Reader:
    """Validates one parsed board file, raising `BoardError` at the offending key's line."""

    def __init__(self, file: str, text: str) -> None:
        self.file = file
        self.locator = _Locator(text)

    def fail(self, message: str, table: str = "", index: int = 0,
             key: str | None = None) -> BoardError:
        return BoardError(message, self.file, self.locator.line(table, index, key))

    def check_keys(self, data: Mapping[str, Any], allowed: frozenset[str], table: str = "",
                   index: int = 0) -> None:
        for key in data:
            if key not in allowed:
                where = f"[{table}]" if table else "the top level"
                known = ", ".join(sorted(allowed))
                raise self.fail(f"unknown key '{key}' in {where} (known keys: {known})",
                                table, index, key)

    def get(self, data: Mapping[str, Any], key: str, kind: type | tuple[type, ...],
            table: str = "", index: int = 0, required: bool = False) -> Any:
        if key not in data:
            if required:
                where = f"[{table}]" if table else "the board file"
                raise self.fail(f"missing required key '{key}' in {where}", table, index)
            return None
        value = data[key]
        kinds = kind if isinstance(kind, tuple) else (kind,)
        bad_bool = isinstance(value, bool) and bool not in kinds
        if bad_bool or not isinstance(value, kinds):
            names = " or ".join(_TYPE_NAMES.get(k, k.__name__) for k in kinds)
            raise self.fail(f"'{key}' must be {names}, not {value!r}", table, index, key)
        return value

    def size(self, data: Mapping[str, Any], key: str, table: str = "", index: int = 0,
             required: bool = False) -> int | None:
        value = self.get(data, key, (int, str), table, index, required)
        if value is None:
            return None
        try:
            return parse_size(value)
        except ValueError as exc:
            raise self.fail(f"'{key}': {exc}", table, index, key) from None

    def enum(self, data: Mapping[str, Any], key: str, enum_type: Callable[[str], Any],
             choices: Iterable[str], table: str = "", index: int = 0,
             required: bool = False) -> Any:
        value = self.get(data, key, str, table, index, required)
        if value is None:
            return None
        try:
            return enum_type(value)
        except ValueError:
            options = ", ".join(choices)
            raise self.fail(f"'{key}' must be one of {options}, not {value!r}",
                            table, index, key) from None


_TYPE_NAMES: dict[type, str] = {
    int: "an integer", str: "a string", bool: "true or false", list: "a list",
    dict: "a table",
}


def _attributes(reader: _Reader, text: str, index: int) -> frozenset[str]:
    letters = text.lower()
    if not letters or any(c not in "rwx" for c in letters) or len(set(letters)) != len(letters):
        raise reader.fail(f"'attributes' must be letters from \"rwx\", not {text!r}",
                          "region", index, "attributes")
    return frozenset(letters)


def _read_region(reader: _Reader, data: Mapping[str, Any], index: int) -> MemoryRegion:
    table = "region"
    reader.check_keys(data, _REGION_KEYS, table, index)
    name = reader.get(data, "name", str, table, index, required=True)
    origin = reader.size(data, "origin", table, index, required=True)
    length = reader.size(data, "length", table, index, required=True)
    assert origin is not None and length is not None
    if length == 0:
        raise reader.fail(f"region {name} has length 0", table, index, "length")
    attributes_text = reader.get(data, "attributes", str, table, index)
    attributes = (_attributes(reader, attributes_text, index)
                  if attributes_text is not None else frozenset("rwx"))
    bus = reader.enum(data, "bus", Bus, [b.value for b in Bus], table, index) or Bus.BOTH
    writable = reader.get(data, "writable_at_load", bool, table, index)
    retained = reader.get(data, "retained", bool, table, index)
    volatile = reader.get(data, "volatile", bool, table, index)
    alias_of = reader.get(data, "alias_of", str, table, index)
    offset_value = reader.get(data, "alias_offset", (int, str), table, index)
    offset = 0
    if offset_value is not None:
        text = str(offset_value).strip()
        negative = text.startswith("-")
        try:
            offset = parse_size(text.lstrip("-"))
        except ValueError as exc:
            raise reader.fail(f"'alias_offset': {exc}", table, index, "alias_offset") from None
        offset = -offset if negative else offset
        if alias_of is None:
            raise reader.fail("'alias_offset' needs 'alias_of'", table, index, "alias_offset")
    return MemoryRegion(
        name=name, origin=origin, length=length, attributes=attributes, bus=bus,
        writable_at_load=("w" in attributes) if writable is None else writable,
        retained=bool(retained), volatile=bool(volatile), alias_of=alias_of,
        alias_offset=offset,
    )


def _read_mpu(reader: _Reader, data: Mapping[str, Any]) -> Mpu:
    reader.check_keys(data, _MPU_KEYS, "mpu")
    kind = reader.enum(data, "kind", MpuKind, [k.value for k in MpuKind], "mpu",
                       required=True)
    pow2 = reader.get(data, "requires_power_of_two", bool, "mpu")
    version = reader.get(data, "version", int, "mpu")
    granule = reader.size(data, "granule", "mpu")
    if granule is None:
        granule = default_mpu_granule(kind, version)
    if granule <= 0 or granule & (granule - 1):
        raise reader.fail(f"'granule' must be a power of two, not {granule}", "mpu",
                          key="granule")
    return Mpu(kind=kind, requires_power_of_two=bool(pow2), granule=granule, version=version)


def _read_used(reader: _Reader, data: Mapping[str, Any], index: int) -> UsedRange:
    reader.check_keys(data, _USED_KEYS, "used", index)
    region = reader.get(data, "region", str, "used", index, required=True)
    start = reader.size(data, "start", "used", index, required=True)
    size = reader.size(data, "size", "used", index, required=True)
    what = reader.get(data, "what", str, "used", index) or "image"
    assert start is not None and size is not None
    return UsedRange(region=region, start=start, size=size, what=what)


def _read_image(reader: _Reader, data: Mapping[str, Any], elf_class: int) -> ImageSizes:
    reader.check_keys(data, _IMAGE_KEYS, "image")
    sizes = {k: reader.size(data, k, "image") or 0
             for k in ("text", "rodata", "data", "bss", "noinit")}
    align = reader.size(data, "align", "image")
    if align is None:
        align = elf_class // 8
    if align <= 0 or align & (align - 1):
        raise reader.fail(f"'align' must be a power of two, not {align}", "image", key="align")
    return ImageSizes(
        align=align,
        text_region=reader.get(data, "text_region", str, "image"),
        rodata_region=reader.get(data, "rodata_region", str, "image"),
        data_load_region=reader.get(data, "data_load_region", str, "image"),
        **sizes,
    )


def _align_up(value: int, align: int) -> int:
    return -(-value // align) * align


def image_used_ranges(board: Board, image: ImageSizes) -> tuple[UsedRange, ...]:
    """The ranges an image of these section sizes occupies, in the base script's order.

    Code regions: `text` then `rodata` from the start of `image.text_region` (default: the
    flash region, Zephyr's ROMABLE_REGION, else the noinit region), rodata in
    `image.rodata_region` when given. RAM: `data`, `bss`, `noinit` from the start of the
    noinit region, after text and rodata when those share it. The load image of `data` follows
    rodata in `image.data_load_region` (default: the flash region on XIP boards; none when
    data is loaded in place). Every section starts at a multiple of `image.align`; empty
    sections take no range.
    """
    ram = board.noinit_region
    code_default = board.flash_region or ram
    text_region = image.text_region or code_default
    rodata_region = image.rodata_region or text_region
    load_region = image.data_load_region
    if load_region is None and board.xip and board.flash_region and board.flash_region != ram:
        load_region = board.flash_region
    cursors: dict[str, int] = {}
    ranges: list[UsedRange] = []

    def put(region: str, size: int, what: str) -> None:
        start = _align_up(cursors.get(region, board.region(region).origin), image.align)
        if size:
            ranges.append(UsedRange(region=region, start=start, size=size, what=what))
            cursors[region] = start + size

    put(text_region, image.text, "text")
    put(rodata_region, image.rodata, "rodata")
    put(ram, image.data, "data")
    if load_region is not None and load_region != ram:
        put(load_region, image.data, "data load image")
    put(ram, image.bss, "bss")
    put(ram, image.noinit, "noinit")
    return tuple(ranges)


def _check_consistency(reader: _Reader, board: Board, explicit_used: int) -> None:
    names = [r.name for r in board.regions]
    for index, region in enumerate(board.regions):
        if region.name in names[:index]:
            raise reader.fail(f"region {region.name} is defined twice", "region", index,
                              "name")
        if region.alias_of is not None and (region.alias_of not in names
                                            or region.alias_of == region.name):
            raise reader.fail(f"region {region.name} is an alias of {region.alias_of}, which "
                              f"is not another region of the board", "region", index,
                              "alias_of")
        if region.end > (1 << board.elf_class):
            raise reader.fail(
                f"region {region.name} ends at {region.end:#x}, beyond the "
                f"{board.elf_class}-bit address space", "region", index, "length")
    by_region: dict[str, list[UsedRange]] = {}
    for index, used in enumerate(board.used):
        if used.region not in names:
            raise reader.fail(f"used range '{used.what}' is in region {used.region}, which the "
                              f"board does not define", "used", index, "region")
        region = board.region(used.region)
        if not region.contains(used.start, used.size):
            raise reader.fail(
                f"used range '{used.what}' [{used.start:#x}, {used.end:#x}) lies outside "
                f"region {region.name} [{region.origin:#x}, {region.end:#x})",
                *(("used", index, "start") if index < explicit_used else ("image", 0, None)))
        by_region.setdefault(used.region, []).append(used)
    for name in by_region:
        ordered = sorted(board.used_in(name), key=lambda u: u.start)
        for first, second in itertools.pairwise(ordered):
            if second.start < first.end:
                raise reader.fail(f"used ranges '{first.what}' and '{second.what}' overlap in "
                                  f"region {first.region}", "used")
    if board.harvard and not any(r.bus is Bus.INSTRUCTION for r in board.regions):
        raise reader.fail("a Harvard board needs a region with bus = \"instruction\"",
                          key="harvard")


def parse_board(text: str, file: str = "<board>", base_dir: Path | None = None) -> Board:
    """A `Board` from board-file text; `file` names it in errors, `base_dir` resolves paths."""
    data = _decode(text, file)
    reader = _Reader(file, text)
    reader.check_keys(data, _TOP_KEYS)
    schema = reader.get(data, "schema", int, required=True)
    if schema != SCHEMA:
        raise reader.fail(f"board file schema {schema} is not supported (this placer reads "
                          f"schema {SCHEMA})", key="schema")
    name = reader.get(data, "name", str, required=True)
    arch = reader.enum(data, "arch", Arch, [a.value for a in Arch], required=True)
    cpu = reader.get(data, "cpu", str, required=True)
    endianness = reader.get(data, "endianness", str) or "little"
    if endianness not in ("little", "big"):
        raise reader.fail(f"'endianness' must be little or big, not {endianness!r}",
                          key="endianness")
    elf_class = reader.get(data, "elf_class", int)
    if elf_class is None:
        elf_class = 64 if arch is Arch.ARM64 else 32
    if elf_class not in (32, 64):
        raise reader.fail(f"'elf_class' must be 32 or 64, not {elf_class}", key="elf_class")
    machine = reader.get(data, "e_machine", int)
    page = reader.size(data, "mmu_page_size")
    if page is not None and (page <= 0 or page & (page - 1)):
        raise reader.fail(f"'mmu_page_size' must be a power of two, not {page}",
                          key="mmu_page_size")
    region_tables = reader.get(data, "region", list, required=True)
    if not region_tables:
        raise reader.fail("a board needs at least one [[region]]", key="region")
    regions = tuple(_read_region(reader, r, i) for i, r in enumerate(region_tables))
    mpu_table = reader.get(data, "mpu", dict)
    mpu = _read_mpu(reader, mpu_table) if mpu_table is not None else Mpu(MpuKind.NONE)
    pmp = reader.size(data, "pmp_granularity")
    if pmp is not None:
        if mpu.kind not in (MpuKind.NONE, MpuKind.RISCV_PMP):
            raise reader.fail(f"'pmp_granularity' is for a RISC-V PMP, but [mpu] says "
                              f"{mpu.kind.value}", key="pmp_granularity")
        if pmp < 4 or pmp & (pmp - 1):
            raise reader.fail(f"'pmp_granularity' must be a power of two of at least 4, not "
                              f"{pmp}", key="pmp_granularity")
        mpu = Mpu(MpuKind.RISCV_PMP, granule=pmp)
    used_tables = reader.get(data, "used", list) or []
    used = tuple(_read_used(reader, u, i) for i, u in enumerate(used_tables))
    base = reader.get(data, "base_script", str)
    base_path: Path | None = None
    if base is not None:
        base_path = ((base_dir / base) if base_dir is not None else Path(base)).resolve()
    image_table = reader.get(data, "image", dict)
    board = Board(
        name=name, arch=arch, cpu=cpu, regions=regions,
        noinit_region=reader.get(data, "noinit_region", str, required=True),
        endianness=endianness, elf_class=elf_class,
        machine=DEFAULT_MACHINE[arch] if machine is None else machine,
        harvard=bool(reader.get(data, "harvard", bool)),
        mmu_page_size=page, mpu=mpu, used=used, base_script=base_path,
        flash_region=reader.get(data, "flash_region", str),
        preferred_regions=tuple(_strings(reader, data, "preferred_regions")),
        forbidden_regions=tuple(_strings(reader, data, "forbidden_regions")),
        description=reader.get(data, "description", str) or "",
        source=Path(file) if file != "<board>" else None,
        image=_read_image(reader, image_table, elf_class) if image_table is not None else None,
        xip=_default_true(reader.get(data, "xip", bool)),
    )
    references = [("", key, getattr(board, key)) for key in ("noinit_region", "flash_region")]
    references += [("", key, value) for key in ("preferred_regions", "forbidden_regions")
                   for value in getattr(board, key)]
    if board.image is not None:
        references += [("image", key, getattr(board.image, key))
                       for key in ("text_region", "rodata_region", "data_load_region")]
    names = [r.name for r in regions]
    for table, key, value in references:
        if value is not None and value not in names:
            raise reader.fail(f"'{key}' names region {value}, which the board does not define "
                              f"(regions: {', '.join(names)})", table, key=key)
    explicit_used = len(board.used)
    if board.image is not None:
        board = records.evolve(board, used=board.used + image_used_ranges(board, board.image))
    _check_consistency(reader, board, explicit_used)
    return board


def _decode(text: str, file: str) -> dict[str, Any]:
    """What ``tomllib.loads`` gives for `text`: for the text of a shipped board, from
    `placer._board_data` (written by ``python -m placer._boardgen``; a test keeps it
    current), as tomllib and its datetime and regexes would cost a command that loads a
    board more than the rest of reading it."""
    from placer._board_data import DECODED

    shipped = DECODED.get(text)
    if shipped is not None:
        return shipped()
    import tomllib

    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        message = str(exc)
        position = _DECODE_POSITION.search(message)
        line = int(position[1]) if position else None
        message = _DECODE_POSITION.sub("", message).strip()
        raise BoardError(f"invalid TOML: {message}", file, line) from None


def _default_true(value: bool | None) -> bool:
    return True if value is None else value


def _strings(reader: _Reader, data: Mapping[str, Any], key: str) -> list[str]:
    values = reader.get(data, key, list) or []
    for value in values:
        if not isinstance(value, str):
            raise reader.fail(f"'{key}' must be a list of region names", key=key)
    return list(values)


def read_board_file(path: str | Path) -> Board:
    """Read and validate the board file at `path`."""
    path = Path(path)
    text = read_input_text(path, what="board file")
    return parse_board(text, os.fsdecode(path), path.parent)


def list_boards() -> tuple[str, ...]:
    """Names of the boards shipped with placer, sorted."""
    return tuple(sorted(p.stem for p in data_dir("boards").glob("*.toml")))


def load_board(name_or_path: str | Path) -> Board:
    """A shipped board by name (``"qemu_cortex_m3"``) or a board file by path."""
    text = str(name_or_path)
    path = Path(text)
    if text.endswith(".toml") or os.sep in text or "/" in text or os.path.isfile(path):
        if not os.path.isfile(path):
            raise BoardError("no such board file", text)
        return read_board_file(path)
    shipped = data_dir("boards") / f"{text}.toml"
    if not os.path.isfile(shipped):
        raise BoardError(f"unknown board '{text}' (shipped boards: "
                         f"{', '.join(list_boards())}; or give a path to a .toml file)")
    return read_board_file(shipped)


def board_to_toml(board: Board, base_dir: Path | None = None) -> str:
    """The board-file text of `board` (schema 1); `parse_board` reads it back equal.

    Used ranges are written as explicit ``[[used]]`` tables (the image sizes they may have
    been derived from are kept as a comment-free ``[image]`` only when the ranges are
    exactly the derived ones).
    """
    out: list[str] = [f"schema = {SCHEMA}", f"name = {_q(board.name)}"]
    if board.description:
        out.append(f"description = {_q(board.description)}")
    out += [
        f"arch = {_q(board.arch.value)}",
        f"cpu = {_q(board.cpu)}",
        f"endianness = {_q(board.endianness)}",
        f"elf_class = {board.elf_class}",
        f"e_machine = {board.machine}",
        f"harvard = {_b(board.harvard)}",
        f"xip = {_b(board.xip)}",
    ]
    if board.mmu_page_size is not None:
        out.append(f"mmu_page_size = {_v(board.mmu_page_size)}")
    out.append(f"noinit_region = {_q(board.noinit_region)}")
    if board.flash_region is not None:
        out.append(f"flash_region = {_q(board.flash_region)}")
    if board.base_script is not None:
        script = board.base_script
        # Relative when the script sits beside the board file, so the pair can move.
        if base_dir is not None and script.resolve().is_relative_to(base_dir.resolve()):
            script = script.resolve().relative_to(base_dir.resolve())
        name = script.as_posix()
        if _has_surrogate(name):
            # TOML is UTF-8 text: a name made of other bytes cannot be written in it.
            shown = name.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
            raise BoardError(f"the base script's file name '{shown}' is not UTF-8, which a "
                             "board file (UTF-8 TOML) cannot hold: rename the script")
        out.append(f"base_script = {_q(name)}")
    if board.preferred_regions:
        out.append(f"preferred_regions = [{', '.join(_q(r) for r in board.preferred_regions)}]")
    if board.forbidden_regions:
        out.append(f"forbidden_regions = [{', '.join(_q(r) for r in board.forbidden_regions)}]")
    if board.mpu == Mpu(MpuKind.RISCV_PMP, granule=board.mpu.granule):
        out.append(f"pmp_granularity = {board.mpu.granule}")
    elif board.mpu.kind is not MpuKind.NONE:
        out += ["", "[mpu]", f"kind = {_q(board.mpu.kind.value)}",
                f"requires_power_of_two = {_b(board.mpu.requires_power_of_two)}",
                f"granule = {board.mpu.granule}"]
        if board.mpu.version is not None:
            out.append(f"version = {board.mpu.version}")
    for region in board.regions:
        attributes = "".join(c for c in "rwx" if c in region.attributes)
        out += ["", "[[region]]", f"name = {_q(region.name)}",
                f"origin = {_q(f'{region.origin:#x}')}", f"length = {_v(region.length)}",
                f"attributes = {_q(attributes)}", f"bus = {_q(region.bus.value)}",
                f"writable_at_load = {_b(region.writable_at_load)}"]
        if region.alias_of is not None:
            sign = "-" if region.alias_offset < 0 else ""
            out += [f"alias_of = {_q(region.alias_of)}",
                    f"alias_offset = {_q(f'{sign}{abs(region.alias_offset):#x}')}"]
        if region.retained:
            out.append("retained = true")
        if region.volatile:
            out.append("volatile = true")
    derived: tuple[UsedRange, ...] = ()
    if board.image is not None:
        derived = image_used_ranges(board, board.image)
    explicit = board.used
    if derived and board.used[len(board.used) - len(derived):] == derived:
        explicit = board.used[: len(board.used) - len(derived)]
        assert board.image is not None
        image = board.image
        out += ["", "[image]"]
        for key in ("text", "rodata", "data", "bss", "noinit"):
            out.append(f"{key} = {_v(getattr(image, key))}")
        out.append(f"align = {image.align}")
        for key in ("text_region", "rodata_region", "data_load_region"):
            if getattr(image, key) is not None:
                out.append(f"{key} = {_q(getattr(image, key))}")
    for used in explicit:
        out += ["", "[[used]]", f"region = {_q(used.region)}",
                f"start = {_q(f'{used.start:#x}')}", f"size = {_v(used.size)}",
                f"what = {_q(used.what)}"]
    return "\n".join(out) + "\n"


def _has_surrogate(text: str) -> bool:
    """A byte of a file name that was not UTF-8 (os.fsdecode keeps it as a surrogate)."""
    return any("\udc80" <= c <= "\udcff" for c in text)


def write_board(board: Board, path: str | Path) -> None:
    """Write `board` as a board file at `path`, atomically (a temp file, then a rename)."""
    path = Path(path)
    text = board_to_toml(board, path.parent.resolve())
    atomic_write(path, text)


def atomic_write(path: Path, text: str) -> None:
    """Write `text` to `path` so a reader sees the old file or the whole new one.

    Raises `BoardError` when the file cannot be written (no such folder, a folder in the
    way, no permission), so the CLI reports it instead of a traceback.
    """
    try:
        replace_atomically(path, text.encode("utf-8"))
    except OSError as exc:
        raise BoardError(f"cannot write board file: {exc.strerror}", str(path)) from None


def _q(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


def _b(value: bool) -> str:
    return "true" if value else "false"


def _v(value: int) -> str:
    formatted = format_size(value)
    return _q(formatted) if isinstance(formatted, str) else str(formatted)
