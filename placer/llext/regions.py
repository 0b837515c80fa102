"""Sections to memory regions, exactly as ``llext_map_sections`` groups them (Zephyr's
subsys/llext/llext_load.c).

Zephyr loads an extension not section by section but region by region: every section of
one kind (text, data, read-only data, ...) is merged into a single region that covers the
whole *file span* of those sections, prepadded so its start is aligned. The rules that
make a file unloadable live here too: mismatched flags, a second NOBITS section, a second
init array, a bad alignment, and regions whose file ranges overlap.
"""

from __future__ import annotations

import enum

from placer import records
from placer.errors import ExtensionError
from placer.llext.elf import (
    ET_DYN,
    SHF_ALLOC,
    SHF_EXECINSTR,
    SHF_TLS,
    SHF_WRITE,
    SHN_UNDEF,
    SHT_FINI_ARRAY,
    SHT_INIT_ARRAY,
    SHT_NOBITS,
    SHT_PREINIT_ARRAY,
    SHT_PROGBITS,
    SHT_REL,
    SHT_RELA,
    ExtensionElf,
)

#: ``SHF_LLEXT_HAS_RELOCS``: set on a region some relocation section patches.
SHF_LLEXT_HAS_RELOCS = 0x00100000
#: ``SHF_BASIC_TYPE_MASK``: the flags merged sections must agree on.
SHF_BASIC_TYPE_MASK = SHF_WRITE | SHF_ALLOC | SHF_EXECINSTR
#: Section names the loader treats as linker padding and never loads.
_PADDING_SECTIONS = frozenset({".relro_padding", ".heap", ".stack"})
#: ``R_ARM_THM_CALL`` and ``R_ARM_THM_JUMP24``: the branches a veneer can serve.
_ARM_THUMB_BRANCHES = frozenset({10, 30})
#: Cores with only the ARMv6-M / ARMv8-M Baseline instruction set need 16-byte veneers.
_BASELINE_CORES = frozenset({"cortex-m0", "cortex-m0plus", "cortex-m0+", "cortex-m1",
                             "cortex-m23"})


class Mem(enum.IntEnum):
    """``enum llext_mem``: the region kinds, in the order the loader walks them.

    VENEER (with ``CONFIG_LLEXT_VENEERS``) sits between RODATA and BSS and RODATA_NO_RELOC
    (with ``CONFIG_LLEXT_RODATA_NO_RELOC``) after FINI, as in ``include/zephyr/llext/
    llext.h``. The values here number every kind; Zephyr's numbers skip the kinds a build
    does not enable, but the order is the same.
    """

    TEXT = 0
    DATA = 1
    RODATA = 2
    VENEER = 3
    BSS = 4
    EXPORT = 5
    SYMTAB = 6
    STRTAB = 7
    SHSTRTAB = 8
    PREINIT = 9
    INIT = 10
    FINI = 11
    RODATA_NO_RELOC = 12


_ARRAY_TYPES = {SHT_PREINIT_ARRAY: Mem.PREINIT, SHT_INIT_ARRAY: Mem.INIT,
                SHT_FINI_ARRAY: Mem.FINI}


@records.frozen
class Region:
    """One region as the loader's descriptor holds it after mapping.

    `offset` and `size` cover the file span of the merged sections, prepad included;
    `prepad` bytes before the first section keep the start aligned. `addr` is the link
    address (ET_DYN), prepad subtracted. `flags` include `SHF_LLEXT_HAS_RELOCS`.
    """

    mem: Mem
    type: int
    flags: int
    offset: int
    size: int
    addr: int
    align: int
    prepad: int
    sections: tuple[int, ...]

    @property
    def is_alloc(self) -> bool:
        """Whether the region occupies memory at run time (``SHF_ALLOC``)."""
        return bool(self.flags & SHF_ALLOC)

    @property
    def is_exec(self) -> bool:
        """Whether it holds code (``SHF_EXECINSTR``): it goes to the instruction heap."""
        return bool(self.flags & SHF_EXECINSTR)

    @property
    def is_nobits(self) -> bool:
        """Whether it has no file bytes (``SHT_NOBITS``): zero-filled, never in place."""
        return self.type == SHT_NOBITS

    @property
    def has_relocs(self) -> bool:
        """Whether a relocation section patches it: persistent storage must copy it."""
        return bool(self.flags & SHF_LLEXT_HAS_RELOCS)


@records.frozen
class SectionSlot:
    """Where one section lives: its region and its offset inside the region."""

    section: int
    mem: Mem
    offset: int


@records.frozen
class RegionMap:
    """Every non-empty region, in `Mem` order, and every loaded section's slot."""

    regions: tuple[Region, ...]
    slots: tuple[SectionSlot, ...]

    def region(self, mem: Mem) -> Region | None:
        """The region of kind `mem`, or None when the extension has none."""
        for region in self.regions:
            if region.mem is mem:
                return region
        return None

    def slot(self, section: int) -> SectionSlot | None:
        """The slot of section index `section`, or None when it is not loaded."""
        for slot in self.slots:
            if slot.section == section:
                return slot
        return None


@records.mutable
class _Draft:
    mem: Mem
    type: int
    flags: int
    offset: int
    size: int
    addr: int
    align: int
    sections: list[int]


def map_regions(ext: ExtensionElf, *, rodata_no_reloc: bool = False,
                veneer_bytes: int = 0) -> RegionMap:
    """Group `ext`'s sections into regions as ``llext_map_sections`` does.

    `rodata_no_reloc` is ``CONFIG_LLEXT_RODATA_NO_RELOC``; `veneer_bytes` the size of the
    VENEER region ``arch_elf_veneer_init`` adds (0 for none).
    """
    drafts: dict[Mem, _Draft] = {}
    for table, index in ((Mem.SYMTAB, ext.symtab_index), (Mem.STRTAB, ext.strtab_index),
                       (Mem.SHSTRTAB, ext.shstrndx)):
        s = ext.sections[index]
        drafts[table] = _Draft(table, s.type, s.flags, s.offset, s.size, s.addr,
                               s.addralign, [index])
    tables = {ext.symtab_index, ext.strtab_index, ext.shstrndx}
    for s in ext.sections:
        if s.index in tables or s.name in _PADDING_SECTIONS:
            continue
        mem = _kind(s.type, s.flags, s.name, rodata_no_reloc)
        if mem is None or not s.flags & SHF_ALLOC or s.size == 0 or s.flags & SHF_TLS:
            continue
        if mem in (Mem.PREINIT, Mem.INIT, Mem.FINI) and (
            s.entsize not in (0, ext.elf_class // 8) or (s.entsize and s.size % s.entsize)
        ):
            raise ExtensionError(
                f"init/fini array entry size {s.entsize} or size {s.size} is invalid "
                f"(entries must be {ext.elf_class // 8} bytes)", ext.path, "ENOEXEC",
                section=s.name)
        draft = drafts.get(mem)
        if draft is None:
            drafts[mem] = _Draft(mem, s.type, s.flags, s.offset, s.size, s.addr, s.addralign,
                                 [s.index])
            continue
        _merge(ext, draft, s.index)
    if veneer_bytes:
        drafts[Mem.VENEER] = _Draft(Mem.VENEER, SHT_NOBITS, SHF_ALLOC | SHF_EXECINSTR, 0,
                                    veneer_bytes, 0, 4, [])
    _mark_relocated(ext, drafts)
    regions = tuple(_finish(ext, drafts[m]) for m in sorted(drafts) if drafts[m].size)
    _check_overlaps(ext, regions)
    slots = []
    for region in regions:
        for index in region.sections:
            slots.append(SectionSlot(index, region.mem,
                                     ext.sections[index].offset - region.offset))
    if (r := _find(regions, Mem.RODATA_NO_RELOC)) is not None and r.has_relocs:
        raise ExtensionError("region RODATA_NO_RELOC has relocations, so it cannot be used "
                             "in place", ext.path, "ENOEXEC", section=".llext.rodata.noreloc")
    return RegionMap(regions=regions, slots=tuple(sorted(slots, key=lambda x: x.section)))


def count_veneers(ext: ExtensionElf) -> int:
    """Thumb branches to undefined symbols that ``arch_elf_veneer_init`` gives a veneer."""
    count = 0
    for rsec in ext.relocation_sections:
        if rsec.is_rela or rsec.target >= len(ext.sections):
            continue
        if not ext.sections[rsec.target].flags & SHF_ALLOC:
            continue
        for type_, symbol in zip(rsec.types, rsec.symbols, strict=True):
            if type_ not in _ARM_THUMB_BRANCHES or symbol >= len(ext.symbols):
                continue
            if ext.symbols[symbol].shndx == SHN_UNDEF:
                count += 1
    return count


def veneer_stub_bytes(cpu: str) -> int:
    """Bytes per veneer: 16 on ARMv6-M / ARMv8-M Baseline, 8 on Mainline cores."""
    return 16 if cpu.lower() in _BASELINE_CORES else 8


def _kind(sh_type: int, flags: int, name: str, rodata_no_reloc: bool) -> Mem | None:
    if name == ".exported_sym":
        return Mem.EXPORT
    if sh_type == SHT_NOBITS:
        return Mem.BSS
    if sh_type == SHT_PROGBITS:
        if flags & SHF_EXECINSTR:
            return Mem.TEXT
        if flags & SHF_WRITE:
            return Mem.DATA
        if rodata_no_reloc and name == ".llext.rodata.noreloc":
            return Mem.RODATA_NO_RELOC
        return Mem.RODATA
    return _ARRAY_TYPES.get(sh_type)


def _merge(ext: ExtensionElf, draft: _Draft, index: int) -> None:
    s = ext.sections[index]
    first = ext.sections[draft.sections[0]]
    if (s.flags ^ draft.flags) & SHF_BASIC_TYPE_MASK:
        raise ExtensionError(
            f"Unsupported section flags {s.flags:#x} for section {s.name}: region "
            f"{draft.mem.name} already holds {first.name} with flags {draft.flags:#x}",
            ext.path, "ENOEXEC", section=s.name)
    if draft.mem is Mem.BSS:
        raise ExtensionError(
            f"Multiple SHT_NOBITS sections are not supported: {s.name} after {first.name} "
            "(build with -msmall-data-limit=0 on RISC-V, or merge them in a linker script)",
            ext.path, "ENOTSUP", section=s.name)
    if draft.mem in (Mem.PREINIT, Mem.INIT, Mem.FINI):
        raise ExtensionError(
            f"a second {draft.mem.name} array section {s.name} after {first.name}",
            ext.path, "ENOEXEC", section=s.name)
    if ext.e_type == ET_DYN and s.addr - draft.addr != s.offset - draft.offset:
        raise ExtensionError(
            f"section {s.name} is {s.addr - draft.addr:#x} bytes from {first.name} in memory "
            f"but {s.offset - draft.offset:#x} in the file", ext.path, "ENOEXEC",
            section=s.name)
    end = max(draft.offset + draft.size, s.offset + s.size)
    draft.offset = min(draft.offset, s.offset)
    draft.size = end - draft.offset
    draft.addr = min(draft.addr, s.addr)
    draft.align = max(draft.align, s.addralign)
    draft.sections.append(index)


def _mark_relocated(ext: ExtensionElf, drafts: dict[Mem, _Draft]) -> None:
    for s in ext.sections:
        if s.type not in (SHT_REL, SHT_RELA):
            continue
        for draft in drafts.values():
            if s.info in draft.sections:
                draft.flags |= SHF_LLEXT_HAS_RELOCS


def _finish(ext: ExtensionElf, d: _Draft) -> Region:
    align = d.align
    if align and align & (align - 1):
        raise ExtensionError(f"region {d.mem.name} alignment {align} is not a power of two",
                             ext.path, "ENOEXEC", section=ext.sections[d.sections[0]].name
                             if d.sections else None)
    # Zephyr masks with (sh_addralign - 1) in size_t: an alignment of 0 wraps to all ones,
    # so the whole offset becomes prepad.
    mask = (align - 1) % (1 << ext.elf_class)
    prepad = d.offset & mask
    addr = d.addr
    if ext.e_type == ET_DYN:
        if prepad > addr:
            raise ExtensionError(f"Bad section alignment in region {d.mem.name}: prepad "
                                 f"{prepad:#x} is above its address {addr:#x}", ext.path,
                                 "ENOEXEC", section=ext.sections[d.sections[0]].name
                                 if d.sections else None)
        addr -= prepad
    return Region(mem=d.mem, type=d.type, flags=d.flags, offset=d.offset - prepad,
                  size=d.size + prepad, addr=addr, align=align, prepad=prepad,
                  sections=tuple(d.sections))


def _check_overlaps(ext: ExtensionElf, regions: tuple[Region, ...]) -> None:
    for i, x in enumerate(regions):
        for y in regions[i + 1:]:
            if Mem.EXPORT in (x.mem, y.mem) or Mem.VENEER in (x.mem, y.mem):
                continue
            if ext.e_type == ET_DYN and x.is_alloc and y.is_alloc:
                _check_pair(ext, x, y, x.addr, y.addr, "VMA range")
            if Mem.BSS in (x.mem, y.mem):
                continue  # no file bytes: only its VMA range can clash
            if {x.mem, y.mem} == {Mem.STRTAB, Mem.SHSTRTAB}:
                continue  # clang may share one table for both
            _check_pair(ext, x, y, x.offset, y.offset, "ELF file range")


def _check_pair(ext: ExtensionElf, x: Region, y: Region, x_base: int, y_base: int,
                what: str) -> None:
    x_lo, x_hi = x_base + x.prepad, x_base + x.size - 1
    y_lo, y_hi = y_base + y.prepad, y_base + y.size - 1
    if x_lo <= y_hi and y_lo <= x_hi:
        names = ", ".join(ext.sections[i].name for i in x.sections + y.sections)
        raise ExtensionError(
            f"Region {x.mem.name} {what} ({x_lo:#x}-{x_hi:#x}) overlaps with "
            f"{y.mem.name} ({y_lo:#x}-{y_hi:#x}); sections {names} are interleaved "
            "(reorder them with Zephyr's llext_reorder_sections.ld)",
            ext.path, "ENOEXEC", section=ext.sections[y.sections[0]].name)


def _find(regions: tuple[Region, ...], mem: Mem) -> Region | None:
    return next((r for r in regions if r.mem is mem), None)
