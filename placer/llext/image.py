"""What `verify` needs to know of the built image besides its heaps.

`ImageFacts` gathers it: the built-in export table, the sizes of the loader's bookkeeping
(``sizeof(struct llext)`` and the per-load tables, from the image's DWARF when it has
them) and the extensions the product always loads before any other. `image_facts` reads
them from a built ``zephyr.elf`` or an export list; a profile (`placer.profile`) stores
them, so that verify with the build and verify with the profile run the same code.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from placer import records
from placer.inputs import ELF_LIMIT, read_input
from placer.llext.metadata import (
    MetadataSizes,
    estimated_sizes,
    open_for_sizes,
    region_count,
    sizes_from_dwarf,
)
from placer.llext.symbols import ExportTable, read_exports_elf, read_exports_list
from placer.target import Target

#: ``LLEXT_MAX_NAME_LEN``: Zephyr keeps this many characters of an extension's name.
MAX_NAME_LEN = 15


def extension_name(path: str | os.PathLike[str]) -> str:
    """The name an extension is loaded under: its file stem, cut to 15 characters."""
    return Path(path).stem[:MAX_NAME_LEN]


@records.frozen
class PreloadedExtension:
    """An extension the product loads before any other (a shared library the image
    ships, say): its bytes, so the heaps and the symbols it leaves behind are exact.

    `file` is the name it was read from (no folders) and `name` the name it loads under.
    """

    name: str
    file: str
    data: bytes = records.field(repr=False)

    @property
    def sha256(self) -> str:
        """The SHA-256 of the file's bytes, in hex."""
        import hashlib  # only for a profile: loading OpenSSL costs a verify ~2 ms

        return hashlib.sha256(self.data).hexdigest()


@records.frozen
class ImageFacts:
    """The built image as the loader meets it, beyond its heaps.

    `exports` is None when nothing told placer what the image exports (every undefined
    symbol is then unresolved); `notes` say where an estimate stands in for a fact.
    """

    metadata: MetadataSizes
    exports: ExportTable | None = None
    preloaded: tuple[PreloadedExtension, ...] = ()
    notes: tuple[str, ...] = ()


def image_facts(
    target: Target,
    *,
    exports: str | os.PathLike[str] | None = None,
    exports_list: str | os.PathLike[str] | None = None,
    preloaded: Sequence[str | os.PathLike[str]] = (),
) -> ImageFacts:
    """Read what `verify` needs of the image: from `exports`, a built ``zephyr.elf`` (its
    export table, and the metadata sizes from its DWARF), or `exports_list`, a plain list
    (metadata sizes then estimated for `target`'s options); `preloaded` are the extension
    files the product loads first, in that order.

    Raises `ExtensionError` when a file cannot be read.
    """
    cfg = target.config
    notes: list[str] = []
    sizes: MetadataSizes | None = None
    table = None
    if exports is not None:
        elf = open_for_sizes(exports)  # read and parsed once for both
        sizes = sizes_from_dwarf(exports, elf=elf)
        if sizes is None:
            notes.append(f"{os.fspath(exports)} has no DWARF for struct llext: "
                         "sizeof(struct llext) estimated from the options")
        table = read_exports_elf(exports, by_slid=cfg.export_builtins_by_slid or None,
                                 elf=elf)
    elif exports_list is not None:
        table = read_exports_list(exports_list, target.pointer_size, cfg.export_symbol_groups,
                                  by_slid=cfg.export_builtins_by_slid)
    else:
        notes.append("no export table given (--exports or --exports-list): every undefined "
                     "symbol is unresolved")
    if sizes is None:
        sizes = estimated_sizes(
            target.pointer_size,
            regions=region_count(rodata_no_reloc=cfg.rodata_no_reloc, veneers=cfg.veneers),
            userspace=cfg.userspace, memblk=cfg.heap_backend.value == "memblk")
    return ImageFacts(metadata=sizes, exports=table,
                      preloaded=tuple(read_preloaded(path) for path in preloaded),
                      notes=tuple(notes))


def read_preloaded(path: str | os.PathLike[str]) -> PreloadedExtension:
    """The extension file at `path`, to be loaded before any other; `InputError` when it
    cannot be read (whether Zephyr accepts it is the load's verdict, not an error)."""
    data = read_input(path, what="pre-loaded extension", limit=ELF_LIMIT)
    return PreloadedExtension(name=extension_name(path), file=Path(path).name, data=data)
