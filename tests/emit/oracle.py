"""GNU ld as the oracle for the emitters: link a program that defines the heap buffers the
way Zephyr does, with the emitted script, and read back where ld put them.

The program is assembly, so every size is exact: `.text/.rodata/.data/.bss/.noinit` filler
of the board's `[image]` sizes (the same sizes the board's used ranges come from), and one
named input section per heap (``.llext_heap``...) holding a buffer of the heap's size and
alignment. Like Zephyr's ``Z_HEAP_DEFINE_IN_SECT`` the heap sections are PROGBITS: the
section names do not start with ``.noinit``, so the assembler gives them contents.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from elftools.elf.elffile import ELFFile

from placer import records
from placer.board import Arch, Board
from placer.importers.elf import HEAP_SYMBOLS
from placer.target import HeapSection
from tests.boards.link import image_program, run
from tests.toolchains import AS_FLAGS, FAMILY, LD_FLAGS, tool


@records.frozen
class Linked:
    """Where ld put each heap buffer: section name -> (address, size)."""

    heaps: dict[str, tuple[int, int]]
    symbols: dict[str, int]


def buffer_symbol(heap: HeapSection) -> str:
    """The label of a heap's buffer in the test program: the symbol Zephyr's heap macros
    define (``kheap_<name>``...), which the ELF importer looks for."""
    return HEAP_SYMBOLS[heap.section][0]


def program(board: Board, heaps: tuple[HeapSection, ...], *, nobits: bool = False) -> str:
    """Assembly for `board`: image filler of the board's sizes, then every heap buffer.

    `nobits` makes the heap sections NOBITS: for the overflow tests, where a heap the size
    of a 256 MiB region must not become 256 MiB of object file. Where a section lands
    does not depend on its type inside a NOLOAD output section.
    """
    assert board.image is not None, f"{board.name} has no [image] sizes"
    types = "%" if board.arch is Arch.ARM else "@"
    lines: list[str] = []
    for heap in heaps:
        label = buffer_symbol(heap)
        lines += [
            f'    .section {heap.section},"aw",{types}{"nobits" if nobits else "progbits"}',
            f"    .balign {heap.align}",
            f"    .globl {label}",
            f"    .type {label}, {types}object",
            f"    .size {label}, {heap.size}",
            f"{label}:",
            f"    .skip {heap.size}",
        ]
    return image_program(board) + "\n".join(lines) + "\n"


def assemble(board: Board, source: str, workdir: Path) -> Path:
    """Assemble `source` for the board's architecture; returns the object file."""
    assembler = tool(FAMILY[board.arch], "as")
    (workdir / "program.s").write_text(source)
    obj = workdir / "program.o"
    run([assembler, *AS_FLAGS.get(board.arch, []), "-o", str(obj), str(workdir / "program.s")])
    return obj


def link(board: Board, obj: Path, script_text: str, workdir: Path, name: str
         ) -> subprocess.CompletedProcess[str]:
    """Link `obj` with `script_text`; the completed process (ld's verdict and messages)."""
    linker = tool(FAMILY[board.arch], "ld")
    script = workdir / f"{name}.ld"
    script.write_text(script_text)
    return subprocess.run(
        [linker, *LD_FLAGS.get(board.arch, []), "-T", str(script), "-o",
         str(workdir / f"{name}.elf"), str(obj)],
        capture_output=True, text=True, check=False, timeout=60,
    )


def read_heaps(elf: Path, heaps: tuple[HeapSection, ...]) -> Linked:
    """Address and size of each heap buffer in a linked ELF, read with pyelftools."""
    with elf.open("rb") as stream:
        table = ELFFile(stream).get_section_by_name(".symtab")
        assert table is not None
        symbols = {s.name: (s["st_value"], s["st_size"]) for s in table.iter_symbols() if s.name}
    found = {h.section: symbols[buffer_symbol(h)] for h in heaps}
    return Linked(found, {name: value for name, (value, _) in symbols.items()})
