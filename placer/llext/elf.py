"""An extension ELF as Zephyr's loader sees it: header, sections, symbols, relocations.

These types are the contract between reading (`read_extension`), region building, symbol
resolution and relocation. They hold plain numbers from the file, already validated, so
later stages never touch pyelftools.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Mapping

from placer import records
from placer.board import Arch
from placer.errors import ExtensionError, InputError
from placer.inputs import ELF_LIMIT, read_input
from placer.target import Target


@records.frozen
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


@records.frozen
class ElfSymbol:
    """One symbol table entry. `type` and `bind` are the STT_/STB_ numbers."""

    index: int
    name: str
    value: int
    size: int
    type: int
    bind: int
    shndx: int


@records.frozen
class Relocation:
    """One REL or RELA entry; `addend` is None for REL (the addend is in place)."""

    offset: int
    type: int
    symbol: int
    addend: int | None


@records.frozen
class RelocationSection:
    """A SHT_REL/SHT_RELA section and the section it patches (`target`, from sh_info).

    Its entries are held as columns, entry `i` being ``offsets[i]`` (``r_offset``),
    ``types[i]`` and ``symbols[i]`` (the two halves of ``r_info``) and, for RELA,
    ``addends[i]`` (empty for REL, whose addend is in place): an extension has tens of
    thousands of entries, and the linker's hot loop reads them as plain ints
    (`placer.llext.relocate.fastpath`). `entry` and `entries` give them as `Relocation`
    values. `from_entries` makes a section from such values.
    """

    index: int
    name: str
    target: int
    is_rela: bool
    offsets: tuple[int, ...]
    types: tuple[int, ...]
    symbols: tuple[int, ...]
    addends: tuple[int, ...]

    @classmethod
    def from_entries(cls, index: int, name: str, target: int, is_rela: bool,
                     entries: tuple[Relocation, ...]) -> RelocationSection:
        """The section holding `entries` (their addends are dropped unless `is_rela`)."""
        return cls(index=index, name=name, target=target, is_rela=is_rela,
                   offsets=tuple(e.offset for e in entries),
                   types=tuple(e.type for e in entries),
                   symbols=tuple(e.symbol for e in entries),
                   addends=tuple(e.addend or 0 for e in entries) if is_rela else ())

    def entry(self, i: int) -> Relocation:
        """Entry `i` as a value (its `addend` None for REL)."""
        return Relocation(self.offsets[i], self.types[i], self.symbols[i],
                          self.addends[i] if self.is_rela else None)

    @property
    def entries(self) -> tuple[Relocation, ...]:
        """Every entry as a value, in file order (made on each call: the columns are what
        the section holds)."""
        if self.is_rela:
            return tuple(map(Relocation, self.offsets, self.types, self.symbols,
                             self.addends))
        return tuple(Relocation(offset, type_, symbol, None) for offset, type_, symbol
                     in zip(self.offsets, self.types, self.symbols, strict=True))


@records.frozen
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
    data: bytes = records.field(repr=False)

    def section_bytes(self, section: ElfSection) -> bytes:
        """The file bytes of `section` (empty for NOBITS)."""
        if section.type == 8:  # SHT_NOBITS
            return b""
        return self.data[section.offset : section.offset + section.size]


# -- reading and validating (``llext_load_elf_data`` in Zephyr's subsys/llext/llext_load.c)

ET_REL = 1
ET_DYN = 3
SHT_NULL = 0
SHT_PROGBITS = 1
SHT_SYMTAB = 2
SHT_STRTAB = 3
SHT_RELA = 4
SHT_NOBITS = 8
SHT_REL = 9
SHT_DYNSYM = 11
SHT_INIT_ARRAY = 14
SHT_FINI_ARRAY = 15
SHT_PREINIT_ARRAY = 16
SHF_WRITE = 0x1
SHF_ALLOC = 0x2
SHF_EXECINSTR = 0x4
SHF_TLS = 0x400
STB_LOCAL = 0
STB_GLOBAL = 1
STB_WEAK = 2
STT_NOTYPE = 0
STT_OBJECT = 1
STT_FUNC = 2
STT_SECTION = 3
SHN_UNDEF = 0
SHN_LORESERVE = 0xFF00
SHN_ABS = 0xFFF1

#: ``e_machine`` values the loader accepts per architecture; Xtensa is not checked
#: (``llext_load_elf_data`` in Zephyr's subsys/llext/llext_load.c).
_MACHINES: dict[str, tuple[int, ...]] = {
    "arm": (40,),
    "arm64": (183,),
    "riscv": (243,),
    "x86-32": (3,),
    "x86-64": (62,),
    "arc": (93, 195, 253, 255),
}



def _machine_name(number: int) -> str | None:
    """pyelftools' name of an ``e_machine`` value (``EM_ARM``), for a refusal's message."""
    from elftools.elf.enums import ENUM_E_MACHINE

    return _enum_name(ENUM_E_MACHINE, number)


def _type_name(number: int) -> str | None:
    """pyelftools' name of an ``e_type`` value (``ET_EXEC``), for a refusal's message."""
    from elftools.elf.enums import ENUM_E_TYPE

    return _enum_name(ENUM_E_TYPE, number)


def _enum_name(enum: Mapping[str, object], number: int) -> str | None:
    # pyelftools is imported only for these messages: the reader itself never needs it,
    # and its import would be most of a cold `placer verify`. Where two names share a
    # number, the later one is kept, as a dict inverted from the enum would keep it.
    names = [name for name, value in enum.items() if isinstance(value, int) and value == number]
    return names[-1] if names else None


@records.frozen
class ElfExpectation:
    """What the target's loader checks the header against: its class, byte order and the
    machine numbers it accepts (empty: not checked, as on Xtensa)."""

    elf_class: int
    little_endian: bool
    machines: tuple[int, ...]
    arch_label: str

    @classmethod
    def for_target(cls, target: Target) -> ElfExpectation:
        """The expectation for a resolved board and configuration."""
        cfg, board = target.config, target.board
        is64 = cfg.is_64bit if cfg.is_64bit is not None else board.elf_class == 64
        big = cfg.big_endian if cfg.big_endian is not None else board.endianness == "big"
        arch = board.arch.value
        if board.arch is Arch.X86:
            arch = "x86-64" if is64 else "x86-32"
        return cls(elf_class=64 if is64 else 32, little_endian=not big,
                   machines=_MACHINES.get(arch, ()), arch_label=arch)


@records.frozen
class Refusal:
    """A file Zephyr's loader refuses while reading it: the error, and ``e_shnum`` when the
    refusal comes after the header checks (Zephyr allocated the section map for that many
    sections before failing), None when the header itself is refused or there is no file."""

    error: ExtensionError
    section_count: int | None


def read_extension(path: str | os.PathLike[str], target: Target | None = None) -> ExtensionElf:
    """Read and validate an extension file as Zephyr's ``llext_load`` does (``llext_load_elf_data``
    in Zephyr's subsys/llext/llext_load.c).

    Every failure raises `ExtensionError` naming the file, the section or symbol and the
    errno Zephyr returns. With `target`, the header is also checked against the build's
    class, byte order and machine. The file is read once into memory and every offset is
    checked against its size before use, so a truncated or corrupt file fails in bounded
    time and memory.
    """
    result = read_or_refusal(path, target)
    if isinstance(result, Refusal):
        raise result.error
    return result


def read_or_refusal(path: str | os.PathLike[str], target: Target | None = None
                    ) -> ExtensionElf | Refusal:
    """`read_extension`, with a refused file returned as a `Refusal` (one read, one parse,
    however the file ends)."""
    name = os.fspath(path)
    try:
        data = read_input(name, what="extension", limit=ELF_LIMIT)
    except InputError as exc:
        # One extension that cannot be read is that extension's refusal, as a corrupt one
        # is: the others are still loaded and reported.
        return Refusal(ExtensionError(f"cannot read the file: {exc.reason}", name, "ENOENT"),
                       None)
    expect = ElfExpectation.for_target(target) if target is not None else None
    return _parse(data, name, expect)


def parse_or_refusal(data: bytes, name: str, expect: ElfExpectation | None = None
                     ) -> ExtensionElf | Refusal:
    """`read_or_refusal` on bytes already in memory; `name` labels the errors."""
    return _parse(data, name, expect)


def _parse(data: bytes, name: str, expect: ElfExpectation | None) -> ExtensionElf | Refusal:
    reader = _Reader(data, name, expect)
    try:
        return reader.read()
    except ExtensionError as exc:
        return Refusal(exc, reader.section_count)
    except (struct.error, ValueError, IndexError, KeyError, UnicodeError) as exc:
        # A corrupt file the checks above missed: still a clean error, never a traceback.
        error = ExtensionError(f"corrupt ELF file: {exc}", name, "ENOEXEC")
        error.__cause__ = exc
        return Refusal(error, reader.section_count)


class _Reader:
    """One pass over the file, in the order Zephyr's loader checks it."""

    def __init__(self, data: bytes, name: str, expect: ElfExpectation | None) -> None:
        self.data = data
        self.name = name
        self.expect = expect
        self.order = "<"
        self.is64 = False
        self.section_count: int | None = None

    def fail(self, message: str, errno: str = "ENOEXEC", section: str | None = None,
             symbol: str | None = None) -> ExtensionError:
        return ExtensionError(message, self.name, errno, section=section, symbol=symbol)

    def read(self) -> ExtensionElf:
        data = self.data
        if len(data) < 16:
            raise self.fail(f"file is {len(data)} bytes, too short for an ELF header", "EINVAL")
        if data[:4] != b"\x7fELF":
            raise self.fail(f"not an ELF file: magic is {data[:4].hex(' ')}, "
                            "expected 7f 45 4c 46")
        ei_class, ei_data = data[4], data[5]
        if ei_data not in (1, 2):
            raise self.fail(f"invalid EI_DATA {ei_data}")
        little = ei_data == 1
        if ei_class not in (1, 2):
            raise self.fail(f"invalid EI_CLASS {ei_class}")
        self.is64 = ei_class == 2
        self.order = "<" if little else ">"
        expect = self.expect
        if expect is not None and little != expect.little_endian:
            raise self.fail(
                f"{'little' if little else 'big'}-endian ELF, but the target is "
                f"{'little' if expect.little_endian else 'big'}-endian")
        elf_class = 64 if self.is64 else 32
        if expect is not None and elf_class != expect.elf_class:
            raise self.fail(f"ELFCLASS{elf_class} file, but the target is "
                            f"{expect.elf_class}-bit (needs ELFCLASS{expect.elf_class})")
        header_size = 64 if self.is64 else 52
        if len(data) < header_size:
            raise self.fail(f"file is {len(data)} bytes, too short for an ELF header",
                            "EINVAL")
        if self.is64:
            (e_type, e_machine, _v, _entry, _phoff, e_shoff, _flags, _ehsize, _phentsize,
             _phnum, e_shentsize, e_shnum, e_shstrndx) = struct.unpack_from(
                self.order + "HHIQQQIHHHHHH", data, 16)
        else:
            (e_type, e_machine, _v, _entry, _phoff, e_shoff, _flags, _ehsize, _phentsize,
             _phnum, e_shentsize, e_shnum, e_shstrndx) = struct.unpack_from(
                self.order + "HHIIIIIHHHHHH", data, 16)
        if expect is not None and expect.machines and e_machine not in expect.machines:
            wanted = " or ".join(f"{_machine_name(m) or m} ({m})" for m in expect.machines)
            raise self.fail(f"e_machine is {_machine_name(e_machine) or 'unknown'} "
                            f"({e_machine}): built for another architecture; the "
                            f"{expect.arch_label} target accepts {wanted}")
        if e_type not in (ET_REL, ET_DYN):
            raise self.fail(f"ELF type {_type_name(e_type) or e_type} ({e_type}) cannot be "
                            "loaded: an extension must be ET_REL or ET_DYN")
        shdr_size = 64 if self.is64 else 40
        if e_shentsize != shdr_size:
            raise self.fail(f"e_shentsize is {e_shentsize}, expected "
                            f"sizeof(Elf{elf_class}_Shdr) = {shdr_size}")
        if e_shnum == 0:
            # sect_map is e_shnum entries: llext_alloc_metadata(0) returns NULL.
            raise self.fail("no section headers (e_shnum is 0): the section map allocation "
                            "is 0 bytes and fails", "ENOMEM")
        # From here on Zephyr has allocated the section map: a later refusal still
        # allocated (and freed) it.
        self.section_count = e_shnum
        if e_shoff + e_shnum * shdr_size > len(data):
            raise self.fail(f"section header table ({e_shnum} headers at {e_shoff:#x}) "
                            f"extends past the end of the {len(data)}-byte file", "EINVAL")
        headers = [self._section_header(e_shoff + i * shdr_size) for i in range(e_shnum)]
        for index, h in enumerate(headers):
            if h[1] != SHT_NOBITS and h[4] + h[5] > len(data):
                raise self.fail(f"section {index} (offset {h[4]:#x}, size {h[5]:#x}) extends "
                                f"past the end of the {len(data)}-byte file", "EINVAL")
        if e_shstrndx >= e_shnum or headers[e_shstrndx][1] != SHT_STRTAB:
            raise self.fail("Some sections are missing or present multiple times! "
                            f"(section name table e_shstrndx={e_shstrndx} is not a "
                            "SHT_STRTAB section)")
        shstr = headers[e_shstrndx]
        sections = tuple(
            ElfSection(index=i, name=self._string(shstr, h[0], "section", i),
                       type=h[1], flags=h[2], addr=h[3], offset=h[4], size=h[5], link=h[6],
                       info=h[7], addralign=h[8], entsize=h[9])
            for i, h in enumerate(headers))
        symtab_index, strtab_index = self._tables(sections, e_type)
        symtab = sections[symtab_index]
        symbols = self._symbols(symtab, headers[strtab_index])
        relocations = tuple(self._relocations(s, sections) for s in sections
                            if s.type in (SHT_REL, SHT_RELA))
        return ExtensionElf(
            path=self.name, elf_class=elf_class, little_endian=little, machine=e_machine,
            e_type=e_type, shstrndx=e_shstrndx, sections=sections, symbols=symbols,
            symtab_index=symtab_index, strtab_index=strtab_index,
            relocation_sections=relocations, data=bytes(data))

    def _section_header(self, at: int) -> tuple[int, ...]:
        if self.is64:
            return struct.unpack_from(self.order + "IIQQQQIIQQ", self.data, at)
        return struct.unpack_from(self.order + "IIIIIIIIII", self.data, at)

    def _string(self, table: tuple[int, ...], offset: int, kind: str, index: int) -> str:
        """The name at `offset` in string table `table`, for `kind` number `index`."""
        size, start = table[5], table[4]
        if offset >= size:
            raise self.fail(f"{kind} {index} name is out of the string table bounds "
                            f"(offset {offset:#x} >= size {size:#x})")
        end = self.data.find(b"\0", start + offset, start + size)
        if end < 0:
            end = start + size
        return self.data[start + offset:end].decode("utf-8", "replace")

    def _tables(self, sections: tuple[ElfSection, ...], e_type: int) -> tuple[int, int]:
        wanted = SHT_SYMTAB if e_type == ET_REL else SHT_DYNSYM
        kind = "SHT_SYMTAB" if wanted == SHT_SYMTAB else "SHT_DYNSYM"
        found = [s.index for s in sections if s.type == wanted]
        if not found:
            raise self.fail(f"Some sections are missing or present multiple times! (symbol "
                            f"table {kind} is missing; the file may be stripped)")
        symtab = sections[found[-1]]  # as llext_find_tables: the last one wins
        if symtab.link >= len(sections):
            raise self.fail(f"String table index {symtab.link} out of bounds, section count "
                            f"{len(sections)}", section=symtab.name)
        if sections[symtab.link].type != SHT_STRTAB:
            raise self.fail("Some sections are missing or present multiple times! "
                            f"(string table sh_link={symtab.link} of {symtab.name} is not a "
                            "SHT_STRTAB section)", section=symtab.name)
        entsize = 24 if self.is64 else 16
        bits = 64 if self.is64 else 32
        if symtab.entsize != entsize or symtab.size % entsize:
            raise self.fail(f"symbol table entry size {symtab.entsize} or size "
                            f"{symtab.size} does not match sizeof(Elf{bits}_Sym) = {entsize}",
                            section=symtab.name)
        return symtab.index, symtab.link

    def _symbols(self, symtab: ElfSection, strtab: tuple[int, ...]) -> tuple[ElfSymbol, ...]:
        # One unpack over the table (`_tables` checked entsize and size) rather than one
        # per entry: an extension can have tens of thousands of symbols.
        rows = struct.iter_unpack(self.order + ("IBBHQQ" if self.is64 else "IIIBBH"),
                                  self.data[symtab.offset:symtab.offset + symtab.size])
        string = self._string
        out = []
        for i, row in enumerate(rows):
            if self.is64:
                st_name, info, _other, shndx, value, size = row
            else:
                st_name, value, size, info, _other, shndx = row
            name = string(strtab, st_name, "symbol", i) if st_name else ""
            out.append(ElfSymbol(i, name, value, size, info & 0xF, info >> 4, shndx))
        return tuple(out)

    def _relocations(self, rsec: ElfSection, sections: tuple[ElfSection, ...]
                     ) -> RelocationSection:
        is_rela = rsec.type == SHT_RELA
        bits = 64 if self.is64 else 32
        entsize = {(True, True): 24, (True, False): 16, (False, True): 12,
                   (False, False): 8}[(self.is64, is_rela)]
        kind = "Rela" if is_rela else "Rel"
        if rsec.entsize != entsize or rsec.size % entsize:
            raise self.fail(f"relocation entry size {rsec.entsize} or size {rsec.size} does "
                            f"not match sizeof(Elf{bits}_{kind}) = {entsize}",
                            section=rsec.name)
        if rsec.info >= len(sections):
            raise self.fail(f"relocation target sh_info={rsec.info} is not a section "
                            f"(e_shnum={len(sections)})", section=rsec.name)
        # One unpack over the table into columns rather than a value per entry (tens of
        # thousands of them); r_info splits as ELF32_R_SYM/ELF32_R_TYPE or
        # ELF64_R_SYM/ELF64_R_TYPE.
        columns = tuple(zip(*struct.iter_unpack(
            self.order + ("QQ" if self.is64 else "II") + (("q" if self.is64 else "i")
                                                          if is_rela else ""),
            self.data[rsec.offset:rsec.offset + rsec.size]), strict=True))
        if not columns:
            columns = ((), (), ()) if is_rela else ((), ())
        shift, type_mask = (32, 0xFFFFFFFF) if self.is64 else (8, 0xFF)
        infos = columns[1]
        return RelocationSection(index=rsec.index, name=rsec.name, target=rsec.info,
                                 is_rela=is_rela, offsets=columns[0],
                                 types=tuple([info & type_mask for info in infos]),
                                 symbols=tuple([info >> shift for info in infos]),
                                 addends=columns[2] if is_rela else ())
