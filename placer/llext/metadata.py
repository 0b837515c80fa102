"""Sizes of the loader's own bookkeeping: ``struct llext`` and the per-load tables.

The exact ``sizeof(struct llext)`` depends on options (userspace partitions, memblk
allocation map, extra region kinds, the ET_DYN fields), so the best source is the DWARF of
the built ``zephyr.elf``. Without one, `estimate_llext_size` lays the structure out field
by field for the options given (``struct llext`` in Zephyr's include/zephyr/llext/llext.h): 204
bytes on a 32-bit k_heap build
without userspace (the documented 188 plus the four ET_DYN fields of the current tree).
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from placer import records
from placer.elfguard import elf_guard, open_image
from placer.errors import ExtensionError

if TYPE_CHECKING:
    from elftools.elf.elffile import ELFFile

#: What `sizes_from_dwarf` reads, as a message on a damaged image names it.
_DWARF_SIZES = "the DWARF sizes of struct llext"

#: Regions every build has (TEXT .. FINI); RODATA_NO_RELOC and VENEER add one each.
BASE_REGION_COUNT = 11


@records.frozen
class MetadataSizes:
    """Byte sizes of what the loader allocates from the metadata heap."""

    llext: int
    sect_map_entry: int
    symbol: int
    section_header: int
    source: str  # "DWARF of <file>" or "estimate"


def region_count(*, rodata_no_reloc: bool, veneers: bool) -> int:
    """``LLEXT_MEM_COUNT`` for these options."""
    return BASE_REGION_COUNT + int(rodata_no_reloc) + int(veneers)


def estimate_llext_size(pointer_size: int, *, regions: int = BASE_REGION_COUNT,
                        userspace: bool = False, memblk: bool = False,
                        et_dyn_fields: bool = True) -> int:
    """``sizeof(struct llext)`` laid out field by field with natural alignment.

    Fields in order: list node, user-mode partitions (4 x {start, size, attr}), name[16],
    mem[], mem_on_heap[], mem_size[], alloc_size, sym_tab, exp_tab, use_count,
    dependency[8], sect_cnt, sect_hdrs, two flags, the memblk map ({ptr, count} per region
    and an index) and the ET_DYN image fields.
    """
    p = pointer_size
    size = p  # sys_snode_t
    if userspace:
        size += 4 * 3 * p  # struct k_mem_partition {uintptr_t start; size_t size; attr}
    size += 16  # name[LLEXT_MAX_NAME_LEN + 1]
    size += regions * p  # mem[]
    size = _align(size + regions, p)  # mem_on_heap[]
    size += regions * p  # mem_size[]
    size += p  # alloc_size
    size += 2 * 2 * p  # sym_tab, exp_tab
    size = _align(size + 4, p)  # use_count
    size += 8 * p  # dependency[LLEXT_MAX_DEPENDENCIES]
    size = _align(size + 4, p)  # sect_cnt
    size += p  # sect_hdrs
    size = _align(size + 2, p)  # sect_hdrs_on_heap, mmu_permissions_set
    if memblk:
        size += regions * 2 * p  # map[] of {void *ptr; size_t num_blocks}
        size = _align(size + 4, p)  # idx
    if et_dyn_fields:
        size += 4 * p  # dyn_image, dyn_base, dyn_link, dyn_span
    return _align(size, p)


def estimated_sizes(pointer_size: int, *, regions: int = BASE_REGION_COUNT,
                    userspace: bool = False, memblk: bool = False) -> MetadataSizes:
    """All metadata sizes for a build of these options, without a ``zephyr.elf``."""
    return MetadataSizes(
        llext=estimate_llext_size(pointer_size, regions=regions, userspace=userspace,
                                  memblk=memblk),
        sect_map_entry=2 * pointer_size, symbol=2 * pointer_size,
        section_header=64 if pointer_size == 8 else 40, source="estimate")


def open_for_sizes(zephyr_elf: str | os.PathLike[str]) -> ELFFile:
    """The built ``zephyr.elf`` opened for `sizes_from_dwarf` (and whatever else its caller
    reads of it): `ExtensionError` when it cannot be read or is no ELF file."""
    name = os.fsdecode(zephyr_elf)
    return open_image(zephyr_elf, _DWARF_SIZES,
                      lambda message: ExtensionError(message, name, "EINVAL"),
                      lambda message: ExtensionError(f"not an ELF image: {message}", name,
                                                     "ENOEXEC"))


def sizes_from_dwarf(zephyr_elf: str | os.PathLike[str], *, elf: ELFFile | None = None
                     ) -> MetadataSizes | None:
    """The sizes read from the DWARF of a built ``zephyr.elf`` (`elf`: the file already
    opened by `open_for_sizes`); None without debug info or without LLEXT in the image."""
    name = os.fsdecode(zephyr_elf)
    if elf is None:
        elf = open_for_sizes(zephyr_elf)
    with elf_guard(_DWARF_SIZES, lambda message: ExtensionError(message, name, "EINVAL")):
        pointer = elf.elfclass // 8
        if not elf.has_dwarf_info():
            return None
        found = _struct_sizes(elf, {"llext", "llext_elf_sect_map", "llext_symbol"})
    if "llext" not in found:
        return None
    return MetadataSizes(
        llext=found["llext"],
        sect_map_entry=found.get("llext_elf_sect_map", 2 * pointer),
        symbol=found.get("llext_symbol", 2 * pointer),
        section_header=64 if pointer == 8 else 40, source=f"DWARF of {name}")


def _struct_sizes(elf: ELFFile, names: set[str]) -> dict[str, int]:
    found: dict[str, int] = {}
    dwarf = elf.get_dwarf_info()
    units = list(dwarf.iter_CUs())
    # The loader's own sources define these structures: look there first, so a large
    # image is not walked DIE by DIE.
    units.sort(key=lambda cu: b"llext" not in _unit_name(cu))
    for cu in units:
        for die in cu.iter_DIEs():
            if die.tag != "DW_TAG_structure_type":
                continue
            name_attr = die.attributes.get("DW_AT_name")
            size_attr = die.attributes.get("DW_AT_byte_size")
            if name_attr is None or size_attr is None:
                continue  # a declaration, not the definition
            name = name_attr.value.decode("utf-8", "replace")
            if name in names and name not in found:
                found[name] = int(size_attr.value)
        if len(found) == len(names):
            break
    return found


def _unit_name(cu: object) -> bytes:
    top = cu.get_top_DIE()  # type: ignore[attr-defined]
    attr = top.attributes.get("DW_AT_name")
    return attr.value if attr is not None and isinstance(attr.value, bytes) else b""


def _align(value: int, align: int) -> int:
    return -(-value // align) * align
