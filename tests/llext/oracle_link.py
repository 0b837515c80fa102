"""GNU ld as the relocation oracle: build an extension, place its sections, link it alike.

`compile_extension` builds C source with Zephyr's LLEXT flags (``add_llext_target`` in Zephyr's
cmake/modules/extensions.cmake) as the
extension kind Zephyr uses for the architecture, cached in a directory. `place` puts each
loaded section at an address the way the loader groups them into regions;
`gnu_ld_images` links the same object with GNU ld so that every section lands at exactly
that address, the exports defined with ``--defsym``. The bytes ld produces are what a
correct link gives, to compare with what placer's relocation writes.
"""

from __future__ import annotations

import hashlib
import subprocess
from collections.abc import Mapping
from pathlib import Path

import pytest
from elftools.elf.elffile import ELFFile

from placer import records
from placer.llext.elf import ExtensionElf
from tests.toolchains import tool

SHF_WRITE, SHF_ALLOC, SHF_EXECINSTR, SHF_MERGE = 0x1, 0x2, 0x4, 0x10
SHT_NOBITS = 8

#: Compiler family and flags per build key: Zephyr's LLEXT additions and a CPU choice.
TARGETS: dict[str, tuple[str, tuple[str, ...]]] = {
    # ELF_OBJECT, ARM's default kind: one source compiled with -mlong-calls -mthumb.
    "arm": ("arm", ("-mlong-calls", "-mthumb", "-mcpu=cortex-m3")),
    # ELF_RELOCATABLE (RISC-V cannot use ELF_OBJECT); medlow gives HI20/LO12, medany PCREL.
    "riscv32": ("riscv", ("-march=rv32imac_zicsr", "-mabi=ilp32", "-mcmodel=medlow",
                          "-mno-relax", "-msmall-data-limit=0")),
    "riscv64": ("riscv", ("-march=rv64imac_zicsr", "-mabi=lp64", "-mcmodel=medany",
                          "-mno-relax", "-msmall-data-limit=0")),
    # Small code model without PIC: every address must sit in the low 2 GiB.
    "x86-64": ("x86", ("-m64", "-fno-pic", "-mcmodel=small")),
    # IA-32: REL entries, the addend in place.
    "x86-32": ("x86", ("-m32", "-fno-pic")),
    # em4_dmips has the multiplier; no millicode, so no libgcc register-save calls.
    "arc": ("arc", ("-mcpu=em4_dmips", "-mno-millicode")),
    # The non-PIC flavour, partially linked, .xt.* stripped (add_llext_target).
    "xtensa": ("xtensa", ("-mlongcalls", "-mtext-section-literals")),
}
COMMON = ("-ffreestanding", "-nostdlib", "-fno-common", "-Os", "-fno-stack-protector",
          "-fno-asynchronous-unwind-tables", "-g0", "-c")
PARTIALLY_LINKED = frozenset({"riscv32", "riscv64", "xtensa"})


def compile_extension(
    directory: Path, key: str, source: str, extra_flags: tuple[str, ...] = (),
    link: bool = False,
) -> Path:
    """The extension object Zephyr's build would make of `source` for `key` (cached).

    With `link`, gcc links too (no ``-c``): with ``-shared`` that is ELF_SHAREDLIB.
    """
    family, flags = TARGETS[key]
    digest = hashlib.sha256(
        "\0".join((key, source, *extra_flags, str(link))).encode()).hexdigest()[:12]
    out = directory / f"{key}-{digest}.llext"
    if out.exists():
        return out
    c_file = directory / f"{key}-{digest}.c"
    c_file.write_text(source)
    obj = directory / f"{key}-{digest}.o"
    common = tuple(f for f in COMMON if f != "-c") if link else COMMON
    _run([tool(family, "gcc"), *common, *flags, *extra_flags, str(c_file), "-o", str(obj)])
    if key in PARTIALLY_LINKED:
        obj = partial_link(family, key, obj)
    if family == "xtensa":
        _run([tool(family, "objcopy"), "--remove-section=.xt.*", str(obj)])
    obj.replace(out)
    return out


def calls_source(functions: int) -> str:
    """C text of an extension with `functions` functions, each calling an export, reading
    a global through a pointer table and calling its neighbour in the other of two text
    sections: about five relocations per function, most symbols named by several."""
    lines = ["extern int printk(const char *fmt, ...);", f"int values[{functions}];",
             f"int *table[{functions}] = {{"]
    lines += [f"  &values[{i}]," for i in range(functions)] + ["};"]
    for i in range(functions):
        section = "text" if i % 2 else "text.odd"
        call = f"f{i - 1}(x) + " if i else ""
        lines.append(f'__attribute__((noinline, section(".{section}"))) int f{i}(int x)'
                     f' {{ return {call}printk("f{i} %d", *table[{i}] + x); }}')
    return "\n".join(lines) + "\n"


def assemble(directory: Path, family: str, source: str) -> Path:
    """An extension object assembled from `source` with `family`'s GNU as (cached)."""
    digest = hashlib.sha256(f"{family}\0{source}".encode()).hexdigest()[:12]
    out = directory / f"{family}-{digest}.o"
    if not out.exists():
        s_file = directory / f"{family}-{digest}.s"
        s_file.write_text(source)
        _run([tool(family, "as"), str(s_file), "-o", str(out)])
    return out


#: Extra ld options per build key: the emulation, and no relaxation (ld would rewrite code).
LD_FLAGS: dict[str, tuple[str, ...]] = {
    "riscv32": ("-m", "elf32lriscv", "--no-relax"),
    "riscv64": ("-m", "elf64lriscv", "--no-relax"),
    "xtensa": ("--no-relax",),
    "x86-32": ("-m", "elf_i386"),
}


def partial_link(family: str, key: str, obj: Path) -> Path:
    """``ld -r`` of `obj` (ELF_RELOCATABLE), with the emulation the build key needs."""
    emulation = LD_FLAGS.get(key, ())[:2] if key.startswith("riscv") else ()
    out = obj.with_suffix(".r.o")
    if not out.exists():
        _run([tool(family, "ld"), "-r", *emulation, str(obj), "-o", str(out)])
    return out


@records.frozen
class Placement:
    """Where each loaded section went, and its loaded (writable) bytes."""

    load_address: dict[int, int]
    images: dict[int, bytearray]


def region_of(flags: int, type_: int) -> str:
    """The loader's region for a section: text, rodata, data or bss (``llext_map_sections`` in
    Zephyr's subsys/llext/llext_load.c)."""
    if type_ == SHT_NOBITS:
        return "bss"
    if flags & SHF_EXECINSTR:
        return "text"
    if flags & SHF_WRITE:
        return "data"
    return "rodata"


def place(ext: ExtensionElf, bases: Mapping[str, int]) -> Placement:
    """Lay the non-empty ALLOC sections out region by region from `bases`, in section
    order, each at its alignment, as the loader packs a region."""
    cursor = dict(bases)
    load_address: dict[int, int] = {}
    images: dict[int, bytearray] = {}
    for section in ext.sections:
        if not section.flags & SHF_ALLOC or section.size == 0:
            continue
        region = region_of(section.flags, section.type)
        align = max(section.addralign, 1)
        address = -(-cursor[region] // align) * align
        load_address[section.index] = address
        cursor[region] = address + section.size
        images[section.index] = bytearray(ext.section_bytes(section).ljust(section.size, b"\0"))
    return Placement(load_address, images)


def place_in_file_order(ext: ExtensionElf, text_base: int, bss_base: int) -> Placement:
    """Every PROGBITS section at its file distance from the first text section, as an
    extension used in place from writable storage sits: what Xtensa's linking assumes."""
    text = min((s for s in ext.sections if s.flags & SHF_ALLOC and s.flags & SHF_EXECINSTR
                and s.size), key=lambda s: s.offset)
    load_address: dict[int, int] = {}
    images: dict[int, bytearray] = {}
    for section in ext.sections:
        if not section.flags & SHF_ALLOC or section.size == 0:
            continue
        if section.type == SHT_NOBITS:
            load_address[section.index] = bss_base
            images[section.index] = bytearray(section.size)
            bss_base += -(-section.size // 8) * 8
        else:
            load_address[section.index] = text_base + section.offset - text.offset
            images[section.index] = bytearray(ext.section_bytes(section))
    return Placement(load_address, images)


def gnu_ld_images(
    family: str,
    key: str,
    obj: Path,
    ext: ExtensionElf,
    load_address: Mapping[int, int],
    exports: Mapping[str, int],
) -> dict[int, bytes]:
    """Link `obj` with GNU ld, each loaded section alone in an output section at its
    address from `load_address`, the exports given with ``--defsym``; return each loaded
    PROGBITS section's linked bytes by section index."""
    lines = ["SECTIONS", "{"]
    for index, address in sorted(load_address.items()):
        name = ext.sections[index].name
        lines.append(f"  .placer_{index} {address:#x} : {{ KEEP(*({name})) }}")
    lines.append("  /DISCARD/ : { *(.comment) *(.note.GNU-stack) }")
    lines.append("}")
    text = "\n".join(lines) + "\n"
    digest = hashlib.sha256((text + repr(sorted(exports.items()))).encode()).hexdigest()[:12]
    script = obj.parent / f"{obj.stem}-oracle-{digest}.ld"
    script.write_text(text)
    out = script.with_suffix(".elf")
    obj = _without_merging(family, obj, ext)
    defsyms = [f"--defsym={name}={address:#x}" for name, address in sorted(exports.items())]
    command = [tool(family, "ld"), *LD_FLAGS.get(key, ()), "-e", "0",
               "--unresolved-symbols=report-all", "-T", str(script), *defsyms, str(obj),
               "-o", str(out)]
    _run(command)
    linked: dict[int, bytes] = {}
    with out.open("rb") as stream:
        elf = ELFFile(stream)
        for index in load_address:
            section = elf.get_section_by_name(f".placer_{index}")
            if section is not None and section["sh_type"] != "SHT_NOBITS":
                linked[index] = section.data()
    return linked


def _without_merging(family: str, obj: Path, ext: ExtensionElf) -> Path:
    """`obj` with SHF_MERGE cleared: ld would deduplicate strings, the loader never does."""
    mergeable = [s.name for s in ext.sections if s.flags & SHF_MERGE and s.flags & SHF_ALLOC]
    if not mergeable:
        return obj
    out = obj.with_suffix(".nomerge.o")
    if not out.exists():
        flags = [a for name in mergeable
                 for a in ("--set-section-flags", f"{name}=alloc,load,readonly,data")]
        _run([tool(family, "objcopy"), *flags, str(obj), str(out)])
    return out


def _run(command: list[str]) -> None:
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        pytest.fail(f"{' '.join(command)} failed:\n{done.stderr}")
