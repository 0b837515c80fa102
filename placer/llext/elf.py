"""An extension ELF as Zephyr's loader sees it: header, sections, symbols, relocations.

These types are the contract between reading (`read_extension`), region building, symbol
resolution and relocation. They hold plain numbers from the file, already validated, so
later stages never touch pyelftools.
"""

from __future__ import annotations

import attrs


@attrs.frozen(slots=True)
class ElfSection:
    """One section header, with its name resolved."""

    index: int
    name: str
    type: int
    flags: int
    addr: int
    offset: int
    size: int
    link: int
    info: int
    addralign: int
    entsize: int


@attrs.frozen(slots=True)
class ElfSymbol:
    """One symbol table entry. `type` and `bind` are the STT_/STB_ numbers."""

    index: int
    name: str
    value: int
    size: int
    type: int
    bind: int
    shndx: int


@attrs.frozen(slots=True)
class Relocation:
    """One REL or RELA entry; `addend` is None for REL (the addend is in place)."""

    offset: int
    type: int
    symbol: int
    addend: int | None


@attrs.frozen(slots=True)
class RelocationSection:
    """A SHT_REL/SHT_RELA section and the section it patches (`target`, from sh_info)."""

    index: int
    name: str
    target: int
    is_rela: bool
    entries: tuple[Relocation, ...]


@attrs.frozen(slots=True)
class ExtensionElf:
    """A validated extension file.

    `data` is the whole file; section contents are ``data[offset:offset + size]``.
    `symbols` is the table the loader links with (``.symtab`` for ET_REL, ``.dynsym`` for
    ET_DYN).
    """

    path: str
    elf_class: int
    little_endian: bool
    machine: int
    e_type: int
    shstrndx: int
    sections: tuple[ElfSection, ...]
    symbols: tuple[ElfSymbol, ...]
    symtab_index: int
    strtab_index: int
    relocation_sections: tuple[RelocationSection, ...]
    data: bytes = attrs.field(repr=False)

    def section_bytes(self, section: ElfSection) -> bytes:
        """The file bytes of `section` (empty for NOBITS)."""
        if section.type == 8:  # SHT_NOBITS
            return b""
        return self.data[section.offset : section.offset + section.size]
