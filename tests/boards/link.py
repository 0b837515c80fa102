"""Assemble and link small programs against a board's base script with real GNU ld."""

from __future__ import annotations

import subprocess
from pathlib import Path

from elftools.elf.elffile import ELFFile

from placer.board import Arch, Board
from tests.toolchains import AS_FLAGS, FAMILY, LD_FLAGS, tool


def run(command: list[str]) -> None:
    """Run a toolchain command; fail the test with its output when it fails."""
    result = subprocess.run(command, capture_output=True, text=True, check=False, timeout=60)
    assert result.returncode == 0, f"{' '.join(command)}\n{result.stdout}{result.stderr}"


def image_program(board: Board) -> str:
    """Assembly whose sections have exactly the board's `[image]` sizes, one label each."""
    assert board.image is not None
    image = board.image
    nobits = "%nobits" if board.arch is Arch.ARM else "@nobits"
    progbits = "%progbits" if board.arch is Arch.ARM else "@progbits"
    lines = []
    for name, flags, kind, size in (
        ("text", "ax", progbits, image.text),
        ("rodata", "a", progbits, image.rodata),
        ("data", "aw", progbits, image.data),
        ("bss", "aw", nobits, image.bss),
        ("noinit", "aw", nobits, image.noinit),
    ):
        lines += [f'    .section .{name},"{flags}",{kind}', f"    .balign {image.align}",
                  f"    .globl image_{name}", f"image_{name}:"]
        if name == "text":
            lines += ["    .globl __start", "__start:"]
        if size:
            lines.append(f"    .skip {size}")
    return "\n".join(lines) + "\n"


def link_assembly(board: Board, source: str, workdir: Path) -> Path:
    """Assemble `source` for the board's architecture and link it with its base script."""
    assert board.base_script is not None
    family = FAMILY[board.arch]
    assembler = tool(family, "as")
    linker = tool(family, "ld")
    (workdir / "program.s").write_text(source)
    run([assembler, *AS_FLAGS.get(board.arch, []), "-o", str(workdir / "program.o"),
         str(workdir / "program.s")])
    output = workdir / "program.elf"
    run([linker, *LD_FLAGS.get(board.arch, []), "-T", str(board.base_script), "-o",
         str(output), str(workdir / "program.o")])
    return output


def symbols(path: Path) -> dict[str, int]:
    """Every named symbol of an ELF file and its value."""
    with path.open("rb") as stream:
        elf = ELFFile(stream)
        table = elf.get_section_by_name(".symtab")
        assert table is not None
        return {s.name: s["st_value"] for s in table.iter_symbols() if s.name}


def elf_header(path: Path) -> tuple[int, int, bool]:
    """(ELF class, e_machine number, little endian) of an ELF file."""
    with path.open("rb") as stream:
        elf = ELFFile(stream)
        machine = elf.header["e_machine"]
        number = machine if isinstance(machine, int) else _MACHINE_NUMBERS[machine]
        return elf.elfclass, number, elf.little_endian


_MACHINE_NUMBERS = {
    "EM_ARM": 40, "EM_AARCH64": 183, "EM_RISCV": 243, "EM_386": 3,
    "EM_ARC_COMPACT2": 195, "EM_ARCV2": 195, "EM_XTENSA": 94,
}
