"""Layout JSON: the stable, versioned file CI snapshots and ``placer diff`` compare.

The schema is documented in ``docs/layout-json.md``. The file carries the whole board and
configuration the layout was solved for, so `loads` rebuilds the exact `Layout` (the
loader reads ``--layout layout.json`` with it). Keys come in the declaration order of the
types they mirror; addresses appear both as integers and as ``*_hex`` strings; nothing
depends on the machine (no timestamps, no absolute paths): identical inputs give
byte-identical text.
"""

from __future__ import annotations

import enum
import json
import os
import re
import sys
import types
import typing
from pathlib import Path, PurePath
from typing import Any, TypeVar, cast

from placer import records
from placer.board import Board
from placer.config import LlextConfig
from placer.errors import ConfigError, LayoutError
from placer.inputs import read_input_text
from placer.layout import Layout, PlacedHeap
from placer.target import HeapSection, Rounding, Target
from placer.versions import ZephyrVersion

#: The schema this module writes; `loads` refuses any other.
SCHEMA = "placer-layout/1"

#: Integer fields that are addresses: they also get a ``<name>_hex`` twin.
_ADDRESS_FIELDS = frozenset({"origin", "address", "start", "end"})

#: Target fields that live at the top level of the document instead.
_TARGET_OUTSIDE = frozenset({"board", "config"})

_T = TypeVar("_T")

JsonValue = Any  # the json module's own typing is Any


def dumps(layout: Layout) -> str:
    """The layout as schema ``placer-layout/1`` JSON text, ending in a newline."""
    return json.dumps(to_document(layout), indent=2, ensure_ascii=False) + "\n"


def loads(text: str, *, file: str = "<string>") -> Layout:
    """Rebuild the `Layout` that `dumps` wrote; `LayoutError` names what is wrong."""
    return from_document(parse_json(text, file=file), file=file)


def parse_json(text: str, *, file: str = "<string>") -> JsonValue:
    """`text` parsed as JSON; `LayoutError` at the line and column of a syntax error, or
    for nesting or numbers beyond what Python converts."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise LayoutError(exc.msg, file, exc.lineno, exc.colno) from None
    except RecursionError:
        raise LayoutError("arrays or objects nest too deeply", file) from None
    except ValueError:
        # Python refuses to convert an integer literal longer than its digit limit, which
        # json reports without a position; no address or size in a layout is that long.
        digits = re.search(rf"\d{{{sys.get_int_max_str_digits() + 1},}}", text)
        if digits is None:
            raise
        line = text.count("\n", 0, digits.start()) + 1
        column = digits.start() - (text.rfind("\n", 0, digits.start()) + 1) + 1
        raise LayoutError(f"number of {len(digits[0])} digits is too long", file, line,
                          column) from None


def read_layout(path: str | Path) -> Layout:
    """Read the layout file at `path`; `LayoutError` when it cannot be read or is not a
    layout (not UTF-8, malformed JSON, another schema)."""
    path = Path(path)
    text = read_input_text(path, what="layout")
    return loads(text, file=os.fsdecode(path))


def to_document(layout: Layout) -> dict[str, JsonValue]:
    """The JSON document (plain dicts and lists) for `layout`, in schema key order."""
    target = layout.target
    document: dict[str, JsonValue] = {"schema": SCHEMA}
    document["board"] = encode(target.board)
    document["config"] = encode(target.config)
    document["target"] = _encode_fields(target, skip=_TARGET_OUTSIDE)
    for field in records.fields(Layout):
        if field.name == "target":
            continue
        value = getattr(layout, field.name)
        if field.name == "heaps":
            document["heaps"] = [_encode_heap(placed) for placed in value]
        else:
            document[field.name] = encode(value)
    return document


def from_document(document: JsonValue, *, file: str = "<string>") -> Layout:
    """Rebuild a `Layout` from a parsed JSON document (see `to_document`)."""
    decoder = Decoder(file)
    root = decoder.mapping(document, "")
    schema = root.get("schema")
    if schema != SCHEMA:
        raise LayoutError(
            f"unsupported schema {schema!r}: this placer reads {SCHEMA!r}", file, key="schema"
        )
    expected = {"schema", "board", "config", "target"} | {
        f.name for f in records.fields(Layout) if f.name != "target"
    }
    decoder.no_unknown_keys(root, expected, "")
    for key in ("board", "config", "target", "heaps", "regions"):
        if key not in root:
            raise LayoutError("missing", file, key=key)
    board = decoder.decode(Board, root["board"], "board")
    config = decoder.decode(LlextConfig, root["config"], "config")
    target = decoder.record_instance(
        Target, root["target"], "target", extra={"board": board, "config": config}
    )
    heaps = tuple(
        decoder.heap(item, f"heaps[{index}]")
        for index, item in enumerate(decoder.sequence(root["heaps"], "heaps"))
    )
    values: dict[str, Any] = {"target": target, "heaps": heaps}
    hints = _hints(Layout)
    for field in records.fields(Layout):
        if field.name in values or field.name not in root:
            continue
        values[field.name] = decoder.decode(hints[field.name], root[field.name], field.name)
    layout = Layout(**values)
    check_layout(layout, file)
    return layout


#: The largest k_heap buffer placer simulates (Zephyr's sys_heap counts chunks of 8
#: bytes in 31 bits on big heaps; no LLEXT heap comes near).
MAX_HEAP_BYTES = 1 << 31
#: The most blocks a memblk pool may have in a layout (the simulator keeps one flag each).
MAX_POOL_BLOCKS = 1 << 22


def _fail(file: str, key: str, message: str) -> LayoutError:
    return LayoutError(message, file, key=key)


def _power_of_two(value: int) -> bool:
    return value > 0 and value & (value - 1) == 0


def check_layout(layout: Layout, file: str) -> None:
    """Refuse values the loader's arithmetic cannot take (sizes, alignments, classes) and
    heaps in regions the board lacks, so a hand-edited, damaged or hostile layout
    (``"elf_class": 0``) ends in an error naming its key, never in a traceback. Heaps are not
    held to their regions' bounds nor configurations to Zephyr's rules: `diff` compares
    layouts that were never placed."""
    target = layout.target
    board = target.board
    if board.elf_class not in (32, 64):
        raise _fail(file, "board.elf_class", f"{board.elf_class} is not 32 or 64")
    if board.endianness not in ("little", "big"):
        raise _fail(file, "board.endianness",
                    f"{board.endianness!r} is not 'little' or 'big'")
    if not 0 <= board.machine < 1 << 16:
        raise _fail(file, "board.machine", f"{board.machine} is not an e_machine")
    top = 1 << board.elf_class
    for index, region in enumerate(board.regions):
        if region.origin < 0 or region.length < 0 or region.end > top:
            raise _fail(file, f"board.regions[{index}]",
                        f"[{region.origin:#x}, {region.end:#x}) is outside the "
                        f"{board.elf_class}-bit address space")
    if not _power_of_two(target.page_size):
        raise _fail(file, "target.page_size",
                    f"{target.page_size} is not a power of two")
    if target.rounding is not Rounding.NONE and not 1 <= target.rounding_granule <= top:
        raise _fail(file, "target.rounding_granule",
                    f"{target.rounding_granule} is not a granule")
    config = target.config
    if not 1 <= config.sys_heap_alloc_loops <= 1 << 16:
        raise _fail(file, "config.sys_heap_alloc_loops",
                    f"{config.sys_heap_alloc_loops} is not between 1 and 65536")
    for index, placed in enumerate(layout.heaps):
        key = f"heaps[{index}]"
        heap = placed.heap
        if not _power_of_two(heap.align):
            raise _fail(file, f"{key}.align", f"{heap.align} is not a power of two")
        if placed.address < 0 or placed.address % heap.align or placed.end > top:
            raise _fail(file, f"{key}.address", f"{placed.address:#x} is not a "
                        f"{heap.align}-aligned address of a {heap.size}-byte heap")
        if heap.size <= 0 or heap.size > MAX_HEAP_BYTES:
            raise _fail(file, f"{key}.size", f"{heap.size} is not between 1 and "
                        f"{MAX_HEAP_BYTES} bytes")
        if heap.block_size is not None:
            if not _power_of_two(heap.block_size):
                raise _fail(file, f"{key}.block_size",
                            f"{heap.block_size} is not a power of two")
            if heap.size // heap.block_size > MAX_POOL_BLOCKS:
                raise _fail(file, f"{key}.size", f"{heap.size // heap.block_size} blocks "
                            f"exceed the {MAX_POOL_BLOCKS} placer simulates")
        elif heap.backend.value == "memblk":
            raise _fail(file, f"{key}.block_size", "a memblk pool needs a block size")
    names = {region.name for region in board.regions}
    for index, placed in enumerate(layout.heaps):
        if placed.region not in names:
            raise _fail(file, f"heaps[{index}].region",
                        f"{placed.region!r} is not a region of the board")
    if len({p.section for p in layout.heaps}) != len(layout.heaps):
        raise _fail(file, "heaps", "a heap section appears twice")



# --- encoding ----------------------------------------------------------------------------


def encode(value: object) -> JsonValue:
    """`value` (a record, enum, tuple, set, path or scalar) as plain JSON data."""
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, int):
        return value
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, ZephyrVersion):
        # [major, minor] as schema 1 wrote it; the patch level only when there is one.
        parts = [value.major, value.minor] + ([value.patch] if value.patch else [])
        return cast(JsonValue, parts)
    if isinstance(value, PurePath):
        # Only the file name: an absolute path would make the file differ per machine.
        return value.name
    if isinstance(value, frozenset):
        return sorted(encode(item) for item in value)
    if isinstance(value, tuple):
        return [encode(item) for item in value]
    if records.has(type(value)):
        return _encode_fields(value)
    raise TypeError(f"layout JSON cannot encode {type(value).__name__}")


def _encode_fields(instance: object, skip: frozenset[str] = frozenset()) -> dict[str, JsonValue]:
    out: dict[str, JsonValue] = {}
    for field in records.fields(cast(Any, type(instance))):
        if field.name in skip:
            continue
        value = getattr(instance, field.name)
        if field.name == "set_by":
            value = tuple((option, _strip_dirs(place)) for option, place in value)
        out[field.name] = encode(value)
        if field.name in _ADDRESS_FIELDS and isinstance(value, int):
            out[f"{field.name}_hex"] = _hex(value)
    return out


def _encode_heap(placed: PlacedHeap) -> dict[str, JsonValue]:
    # Flat: a heap's own facts (HeapSection) then where it went (PlacedHeap), then its end.
    out = _encode_fields(placed.heap)
    out.update(_encode_fields(placed, skip=frozenset({"heap"})))
    out["end"] = placed.end
    out["end_hex"] = _hex(placed.end)
    return out


def _hex(value: int) -> str:
    return f"0x{value:08x}"


def _strip_dirs(place: str) -> str:
    # "path/to/prj.conf:12" -> "prj.conf:12": provenance without the machine's folders.
    file, sep, line = place.rpartition(":")
    if not sep or not line.isdigit():
        return PurePath(place).name
    return f"{PurePath(file).name}:{line}"


# --- decoding ----------------------------------------------------------------------------


def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


class Decoder:
    """Decodes JSON values into typed values, naming the key path of every mistake (also
    used by `placer.profile`, whose documents embed a layout's types)."""

    def __init__(self, file: str) -> None:
        self.file = file

    def fail(self, key: str, message: str) -> LayoutError:
        return LayoutError(message, self.file, key=key or "<document>")

    def mapping(self, value: JsonValue, key: str) -> dict[str, JsonValue]:
        if not isinstance(value, dict):
            raise self.fail(key, f"expected an object, found {_kind(value)}")
        return value

    def sequence(self, value: JsonValue, key: str) -> list[JsonValue]:
        if not isinstance(value, list):
            raise self.fail(key, f"expected an array, found {_kind(value)}")
        return value

    def no_unknown_keys(self, value: dict[str, JsonValue], known: set[str], key: str) -> None:
        for name in value:
            if name not in known:
                raise self.fail(_join(key, name), "unknown key")

    def record_instance(
        self, cls: type[_T], value: JsonValue, key: str, extra: dict[str, Any] | None = None
    ) -> _T:
        data = self.mapping(value, key)
        extra = extra or {}
        hints = _hints(cls)
        fields = [f for f in records.fields(cast(Any, cls)) if f.name not in extra]
        known = {f.name for f in fields}
        derived = {f"{name}_hex" for name in known & _ADDRESS_FIELDS}
        self.no_unknown_keys(data, known | derived, key)
        values: dict[str, Any] = dict(extra)
        for field in fields:
            if field.name in data:
                values[field.name] = self.decode(
                    hints[field.name], data[field.name], _join(key, field.name)
                )
            elif not field.has_default:
                raise self.fail(_join(key, field.name), "missing")
        for name in derived & data.keys():
            base = name.removesuffix("_hex")
            if isinstance(data.get(base), int) and data[name] != _hex(data[base]):
                raise self.fail(
                    _join(key, name), f"{data[name]!r} disagrees with {base} = {data[base]}"
                )
        try:
            return cls(**values)
        except (TypeError, ValueError) as exc:
            raise self.fail(key, str(exc)) from None
        except ConfigError as exc:
            # A value the type itself refuses (LlextConfig: a negative size): the file's
            # fault, named by its key.
            names = "".join(f"CONFIG_{option}: " for option in exc.options)
            raise self.fail(key, names + exc.rule) from None

    def heap(self, value: JsonValue, key: str) -> PlacedHeap:
        data = self.mapping(value, key)
        heap_names = {f.name for f in records.fields(HeapSection)}
        heap_part = {k: v for k, v in data.items() if k in heap_names}
        placed_part = {
            k: v for k, v in data.items() if k not in heap_names and k not in {"end", "end_hex"}
        }
        heap = self.record_instance(HeapSection, heap_part, key)
        placed = self.record_instance(PlacedHeap, placed_part, key, extra={"heap": heap})
        if data.get("end", placed.end) != placed.end:
            raise self.fail(_join(key, "end"), f"{data['end']} is not address + size")
        return placed

    def decode(self, hint: Any, value: JsonValue, key: str) -> Any:
        origin = typing.get_origin(hint)
        if origin in (types.UnionType, typing.Union):
            options = typing.get_args(hint)
            if value is None and type(None) in options:
                return None
            concrete = [o for o in options if o is not type(None)]
            if len(concrete) == 1:
                return self.decode(concrete[0], value, key)
            raise self.fail(key, f"cannot decode a value of type {hint}")
        if origin is tuple:
            args = typing.get_args(hint)
            items = self.sequence(value, key)
            if len(args) == 2 and args[1] is Ellipsis:
                return tuple(
                    self.decode(args[0], item, f"{key}[{i}]") for i, item in enumerate(items)
                )
            if len(items) != len(args):
                raise self.fail(key, f"expected {len(args)} items, found {len(items)}")
            return tuple(
                self.decode(arg, item, f"{key}[{i}]")
                for i, (arg, item) in enumerate(zip(args, items, strict=True))
            )
        if origin is frozenset:
            (arg,) = typing.get_args(hint)
            items = self.sequence(value, key)
            return frozenset(self.decode(arg, item, f"{key}[{i}]") for i, item in enumerate(items))
        if isinstance(hint, type):
            return self._scalar_or_class(hint, value, key)
        raise self.fail(key, f"cannot decode a value of type {hint}")

    def _scalar_or_class(self, hint: type, value: JsonValue, key: str) -> Any:
        if hint is bool:
            if not isinstance(value, bool):
                raise self.fail(key, f"expected true or false, found {_kind(value)}")
            return value
        if hint is int:
            if isinstance(value, bool) or not isinstance(value, int):
                raise self.fail(key, f"expected an integer, found {_kind(value)}")
            return value
        if hint is str:
            if not isinstance(value, str):
                raise self.fail(key, f"expected a string, found {_kind(value)}")
            return value
        if issubclass(hint, enum.Enum):
            try:
                return hint(value)
            except ValueError:
                allowed = ", ".join(repr(member.value) for member in hint)
                raise self.fail(key, f"{value!r} is not one of {allowed}") from None
        if issubclass(hint, PurePath):
            if not isinstance(value, str):
                raise self.fail(key, f"expected a file name, found {_kind(value)}")
            return _shipped_or_relative(value)
        if hint is ZephyrVersion:
            parts = self.sequence(value, key)
            if not (2 <= len(parts) <= 3 and all(type(p) is int and p >= 0 for p in parts)):
                raise self.fail(key, "expected [major, minor] or [major, minor, patch]")
            return ZephyrVersion(*cast(list[int], parts))
        if records.has(hint):
            return self.record_instance(hint, value, key)
        raise self.fail(key, f"cannot decode a value of type {hint.__name__}")


def _shipped_or_relative(name: str) -> Path:
    # Board files name their base script relative to themselves; a shipped board's script
    # is found again in the shipped boards folder, anything else stays a relative path.
    from placer._resources import data_dir

    shipped = data_dir("boards") / name
    try:
        is_shipped = shipped.is_file()
    except OSError:
        # is_file() raises for a name the OS refuses outright (ENAMETOOLONG): not shipped.
        is_shipped = False
    return shipped if is_shipped else Path(name)


def _join(key: str, name: str) -> str:
    return f"{key}.{name}" if key else name


def _kind(value: JsonValue) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object"
