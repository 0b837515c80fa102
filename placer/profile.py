"""The placer profile (``placer-profile/1``): what `verify` needs of a firmware, in one file.

A product that loads third-party extensions hands its extension developers a profile
instead of its build directory. The profile is a serialization of exactly what `verify`
consumes: the `Layout` (target facts, the LLEXT configuration and every heap placed) and
the `ImageFacts` (export table, metadata sizes from the image's DWARF, extensions the
product loads first), through the same types and the same codec as the layout JSON.
``verify --profile`` then runs the same code as ``verify`` with the build.

What the loader never reads is left out: the board's used ranges, base script, region
preferences and provenance, the configuration's ``file:line`` records, the solver's free
space, warnings and moved image ranges. A SHA-256 of the content is written inside
(``content_sha256``, over the canonical JSON of every other key), so a CI gate can pin the
profile it trusts, and a reader refuses a file whose content does not match it. Schema in
``docs/profile.md``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
from pathlib import Path, PurePath
from typing import Any

from placer import records
from placer.emit import PROFILE_FILE, layout_json
from placer.emit.layout_json import Decoder, JsonValue, encode
from placer.errors import LayoutError
from placer.inputs import read_input_text
from placer.layout import Layout
from placer.llext.image import MAX_NAME_LEN, ImageFacts, PreloadedExtension
from placer.llext.metadata import MetadataSizes
from placer.llext.symbols import ExportTable

__all__ = ["PROFILE_FILE", "SCHEMA", "Profile", "dumps", "loads", "make_profile",
           "read_profile"]

#: The schema this module writes; `loads` refuses any other.
SCHEMA = "placer-profile/1"
_SCHEMA_NAME, _, _SCHEMA_VERSION = SCHEMA.rpartition("/")
#: The key that holds the content hash.
HASH_KEY = "content_sha256"

#: The largest profile read: its export table and the pre-loaded extensions (base64) can
#: outgrow the 4 MiB other text inputs get (an image exporting 2,000 symbols takes about
#: 400 KiB; a 1 MiB pre-loaded extension 1.4 MiB).
PROFILE_LIMIT = 64 * 1024 * 1024



@records.frozen
class Profile:
    """Everything `verify` needs of one firmware: its layout and its image facts."""

    layout: Layout
    image: ImageFacts

    @property
    def content_sha256(self) -> str:
        """The hash a profile file carries for this content."""
        return content_hash(_content(self))


def make_profile(layout: Layout, image: ImageFacts) -> Profile:
    """The profile of `layout` and `image`, reduced to what the loader reads (see the
    module docs), with file paths reduced to file names."""
    target = layout.target
    board = records.evolve(target.board, used=(), base_script=None, flash_region=None,
                         preferred_regions=(), forbidden_regions=(), description="",
                         source=None, image=None)
    config = records.evolve(target.config, set_by=(), warnings=())
    trimmed = records.evolve(layout, target=records.evolve(target, board=board, config=config),
                           regions=(), usable=(), warnings=(), image=())
    return Profile(layout=trimmed, image=_without_folders(image))


def _without_folders(image: ImageFacts) -> ImageFacts:
    # "DWARF of build/zephyr/zephyr.elf" -> "DWARF of zephyr.elf": a profile is the same
    # file whichever folder it was written from.
    exports = image.exports
    full = exports.source if exports is not None else ""
    short = PurePath(full).name if full else ""

    def strip(text: str) -> str:
        return text.replace(full, short) if full else text

    metadata = records.evolve(image.metadata, source=strip(image.metadata.source))
    if exports is not None:
        exports = records.evolve(exports, source=short)
    return records.evolve(image, metadata=metadata, exports=exports,
                        notes=tuple(strip(note) for note in image.notes))


# --- writing -----------------------------------------------------------------------------


def dumps(profile: Profile) -> str:
    """The profile as ``placer-profile/1`` JSON text, ending in a newline; identical
    content gives identical bytes."""
    content = _content(profile)
    document = {"schema": SCHEMA, HASH_KEY: content_hash(content), **content}
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def content_hash(content: dict[str, JsonValue]) -> str:
    """SHA-256 (hex) of `content` (a profile document without ``schema`` and the hash) as
    canonical JSON: keys sorted, no spaces, UTF-8."""
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _content(profile: Profile) -> dict[str, JsonValue]:
    layout = layout_json.to_document(profile.layout)
    del layout["schema"]
    image = profile.image
    return {
        "layout": layout,
        "image": {
            "metadata": encode(image.metadata),
            "exports": encode(image.exports),
            "preloaded": [{"name": pre.name, "file": pre.file, "size": len(pre.data),
                           "sha256": pre.sha256,
                           "elf_base64": base64.b64encode(pre.data).decode("ascii")}
                          for pre in image.preloaded],
            "notes": list(image.notes),
        },
    }


# --- reading -----------------------------------------------------------------------------


def read_profile(path: str | Path) -> Profile:
    """Read the profile at `path`; `InputError` when it cannot be read, `LayoutError`
    naming the file (and the key) when it is not a profile, comes from a newer placer or
    fails its hash."""
    text = read_input_text(path, what="profile", limit=PROFILE_LIMIT)
    return loads(text, file=os.fsdecode(path))


def loads(text: str, *, file: str = "<string>") -> Profile:
    """Rebuild the `Profile` that `dumps` wrote, checking every value."""
    decoder = Decoder(file)
    root = decoder.mapping(layout_json.parse_json(text, file=file), "")
    _check_schema(root.get("schema"), file)
    decoder.no_unknown_keys(root, {"schema", HASH_KEY, "layout", "image"}, "")
    for key in (HASH_KEY, "layout", "image"):
        if key not in root:
            raise LayoutError("missing", file, key=key)
    content = {key: value for key, value in root.items() if key not in ("schema", HASH_KEY)}
    stated = root[HASH_KEY]
    actual = content_hash(content)
    if stated != actual:
        raise LayoutError(f"the content does not match its hash (the file says {stated!r}, "
                          f"the content hashes to {actual!r}): it was edited or damaged "
                          "since placer wrote it; write it again with `placer profile`",
                          file, key=HASH_KEY)
    layout_part = decoder.mapping(root["layout"], "layout")
    try:
        layout = layout_json.from_document({"schema": layout_json.SCHEMA, **layout_part},
                                           file=file)
    except LayoutError as exc:
        if exc.line is not None:
            raise
        key = "layout" if exc.key in (None, "<document>") else f"layout.{exc.key}"
        raise LayoutError(exc.message, file, key=key) from None
    image = _read_image(decoder, root["image"], layout, file)
    return Profile(layout=layout, image=image)


def _check_schema(schema: object, file: str) -> None:
    if schema == SCHEMA:
        return
    if isinstance(schema, str):
        name, _, version = schema.rpartition("/")
        if name == _SCHEMA_NAME and version.isdigit() and int(version) > int(_SCHEMA_VERSION):
            raise LayoutError(f"written for schema {schema!r}, newer than this placer reads "
                              f"({SCHEMA!r}): upgrade placer", file, key="schema")
    raise LayoutError(f"unsupported schema {schema!r}: this placer reads {SCHEMA!r}", file,
                      key="schema")


def _read_image(decoder: Decoder, value: JsonValue, layout: Layout, file: str) -> ImageFacts:
    data = decoder.mapping(value, "image")
    decoder.no_unknown_keys(data, {"metadata", "exports", "preloaded", "notes"}, "image")
    for key in ("metadata", "exports", "preloaded", "notes"):
        if key not in data:
            raise LayoutError("missing", file, key=f"image.{key}")
    metadata = decoder.decode(MetadataSizes, data["metadata"], "image.metadata")
    exports = decoder.decode(ExportTable | None, data["exports"], "image.exports")
    notes = decoder.decode(tuple[str, ...], data["notes"], "image.notes")
    preloaded = tuple(
        _read_preloaded(decoder, item, f"image.preloaded[{index}]")
        for index, item in enumerate(decoder.sequence(data["preloaded"], "image.preloaded")))
    image = ImageFacts(metadata=metadata, exports=exports, preloaded=preloaded, notes=notes)
    _check_image(image, layout, file)
    return image


def _read_preloaded(decoder: Decoder, value: JsonValue, key: str) -> PreloadedExtension:
    data = decoder.mapping(value, key)
    fields = {"name": str, "file": str, "size": int, "sha256": str, "elf_base64": str}
    decoder.no_unknown_keys(data, set(fields), key)
    values: dict[str, Any] = {}
    for name, kind in fields.items():
        if name not in data:
            raise decoder.fail(f"{key}.{name}", "missing")
        values[name] = decoder.decode(kind, data[name], f"{key}.{name}")
    try:
        elf = base64.b64decode(values["elf_base64"], validate=True)
    except (binascii.Error, ValueError):
        raise decoder.fail(f"{key}.elf_base64", "not base64 text") from None
    if len(elf) != values["size"]:
        raise decoder.fail(f"{key}.size", f"{values['size']} disagrees with the "
                           f"{len(elf)} bytes of elf_base64")
    digest = hashlib.sha256(elf).hexdigest()
    if digest != values["sha256"]:
        raise decoder.fail(f"{key}.sha256", f"{values['sha256']!r} is not the SHA-256 of "
                           f"elf_base64 ({digest!r})")
    name = values["name"]
    if not name or len(name) > MAX_NAME_LEN or name.startswith("-") or "," in name:
        raise decoder.fail(f"{key}.name", f"{name!r} is not an extension name (1 to "
                           f"{MAX_NAME_LEN} characters, no ',' nor a leading '-')")
    if not values["file"] or PurePath(values["file"]).name != values["file"]:
        raise decoder.fail(f"{key}.file", f"{values['file']!r} is not a file name")
    return PreloadedExtension(name=name, file=values["file"], data=elf)


# --- checks beyond types: a profile may come from anyone ----------------------------------

def _fail(file: str, key: str, message: str) -> LayoutError:
    return LayoutError(message, file, key=key)


def _check_image(image: ImageFacts, layout: Layout, file: str) -> None:
    pointer = layout.target.pointer_size
    metadata = image.metadata
    for name in ("llext", "sect_map_entry", "symbol", "section_header"):
        value = getattr(metadata, name)
        if not 1 <= value <= 1 << 20:
            raise _fail(file, f"image.metadata.{name}", f"{value} is not a structure size "
                        "(1 byte to 1 MiB)")
    exports = image.exports
    if exports is None:
        return
    if exports.pointer_size != pointer:
        raise _fail(file, "image.exports.pointer_size", f"{exports.pointer_size} disagrees "
                    f"with the target's {pointer}-byte pointers")
    top = 1 << (8 * pointer)
    for part in ("symbols", "discarded"):
        for index, symbol in enumerate(getattr(exports, part)):
            key = f"image.exports.{part}[{index}]"
            if symbol.address is not None and not 0 <= symbol.address < top:
                raise _fail(file, f"{key}.address", f"{symbol.address} is not a "
                            f"{8 * pointer}-bit address")
            if symbol.slid is not None and not 0 <= symbol.slid < top:
                raise _fail(file, f"{key}.slid", f"{symbol.slid} is not a "
                            f"{8 * pointer}-bit SLID")
            if symbol.name is None and symbol.slid is None:
                raise _fail(file, key, "an export needs a name or a SLID")
