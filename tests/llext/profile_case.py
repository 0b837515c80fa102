"""A firmware build and its extensions, made with the real cross toolchains, for the
profile tests: an image with Zephyr's export table (by name, or by SLID as
``llext_export_builtins_by_slid`` builds it, prepared or not), DWARF for the loader's
structures, a layout placed for a shipped board, and extensions built as
``add_llext_target`` would.
"""

from __future__ import annotations

import shutil
import struct
import subprocess
from pathlib import Path
from typing import Literal

from elftools.elf.elffile import ELFFile

from placer import records
from placer.llext.symbols import slid
from tests.llext.build import HELLO, LIB, build_extension
from tests.toolchains import tool

#: How the image exports its symbols.
ExportMode = Literal["names", "slid", "slid-prepared"]

#: Sizes the image's DWARF gives the loader's structures: not the estimate, so a profile
#: that lost them would show in the heap figures.
LLEXT_BYTES = 236
SECT_MAP_BYTES = 8
SYMBOL_BYTES = 8

_IMAGE = r"""
struct llext {{ char bytes[{llext}]; }};
struct llext the_llext;
struct llext_elf_sect_map {{ unsigned int mem_idx; unsigned int offset; }};
struct llext_elf_sect_map the_sect_map;
struct llext_symbol {{ const char *name; void *addr; }};
struct llext_symbol the_symbol;
struct llext_const_symbol {{ const char *name; const void *addr; }};
int printk(const char *fmt, ...) {{ (void)fmt; return 0; }}
int k_sleep(int ms) {{ return ms; }}
void *memcpy(void *d, const void *s, unsigned int n) {{ (void)s; (void)n; return d; }}
#define EXPORT(x) \
    static const char __name_##x[] {strtab} = #x; \
    const struct llext_const_symbol __export_##x \
    __attribute__((section("llext_const_symbol_area"), used)) = {{ __name_##x, (const void *)x }}
EXPORT(printk);
EXPORT(k_sleep);
EXPORT(memcpy);
"""

APP = r"""
extern int lib_add(int, int);
extern int k_sleep(int);
int app_main(void) { return k_sleep(lib_add(2, 3)); }
"""
#: Larger than any default heap: Zephyr refuses it with -ENOMEM.
BIG = r"""
int big_table[6000] = { 1 };
int big_get(int i) { return big_table[i]; }
"""
#: A misspelt import: unresolved, with k_sleep the nearest exported name.
TYPO = r"""
extern int k_slep(int);
int typo_main(void) { return k_slep(1); }
"""
#: Loaded as a product's own library, before any extension.
PRELOADED = "lib"
EXTENSIONS = {"lib": LIB, "hello": HELLO, "app": APP, "big": BIG, "typo": TYPO}


@records.frozen
class Case:
    """One firmware: board, configuration, CPU flags, and how it exports."""

    board: str
    config: str
    arch: str  # a key of tests.llext.build.FLAGS
    family: str  # a key of tests.toolchains.PREFIXES
    exports: ExportMode
    text: int  # where the image's code goes (not 0: Zephyr takes an export at NULL as absent)
    data: int  # where its data goes


CASES: dict[str, Case] = {
    "k_heap": Case("qemu_cortex_m3", "", "arm", "arm", "names", 0x1000, 0x2000_0000),
    "memblk": Case("qemu_cortex_m3", "CONFIG_LLEXT_HEAP_MEMBLK=y\n"
                   "CONFIG_LLEXT_EXPORT_BUILTINS_BY_SLID=y\n", "arm", "arm", "slid",
                   0x1000, 0x2000_0000),
    "harvard": Case("nsim_em", "", "arc", "arc", "names", 0x1000, 0x8000_0000),
    "mpu-user": Case("nrf52840dk_nrf52840", "CONFIG_USERSPACE=y\n"
                     "CONFIG_LLEXT_EXPORT_BUILTINS_BY_SLID=y\n", "arm", "arm",
                     "slid-prepared", 0x1000, 0x2000_0000),
}


def build_image(folder: Path, case: Case) -> Path:
    """Compile and link ``folder/zephyr.elf`` for `case`, with DWARF (``-g``)."""
    strtab = '__attribute__((section("llext_exports_strtab")))' \
        if case.exports != "names" else ""
    source = folder / "image.c"
    source.write_text(_IMAGE.format(llext=LLEXT_BYTES, strtab=strtab))
    obj = folder / "image.o"
    elf = folder / "zephyr.elf"
    flags = ["-mcpu=cortex-m4", "-mthumb"] if case.family == "arm" else ["-mcpu=em4"]
    _run([tool(case.family, "gcc"), "-g", "-O1", "-ffreestanding", "-fno-common", *flags,
          "-c", str(source), "-o", str(obj)])
    # As include/zephyr/linker/llext-sections.ld lays the tables out; with SLIDs the
    # names sit in a COPY section at 0 that never reaches the device.
    strtab_section = "  llext_exports_strtab 0 (COPY) : { *(llext_exports_strtab) }\n" \
        if case.exports != "names" else ""
    script = folder / "image.ld"
    script.write_text(
        "SECTIONS {\n"
        f"  .text {case.text:#x} : {{ *(.text*) }}\n"
        "  .rodata : { *(.rodata*) }\n"
        "  llext_const_symbol_area : { *(llext_const_symbol_area) }\n"
        f"  .bss {case.data:#x} (NOLOAD) : {{ *(.bss*) *(COMMON) }}\n"
        f"{strtab_section}"
        "}\n")
    _run([tool(case.family, "ld"), "-T", str(script), "-e", "printk", str(obj), "-o",
          str(elf)])
    if case.exports == "slid-prepared":
        prepare_export_table(elf)
    return elf


def exports_object(folder: Path, family: str, cflags: tuple[str, ...]) -> Path:
    """An object holding Zephyr's export table (by name) and the loader's structures with
    DWARF, to link into another test's image."""
    source = folder / "exports.c"
    source.write_text(_IMAGE.format(llext=LLEXT_BYTES, strtab=""))
    obj = folder / "exports.o"
    _run([tool(family, "gcc"), "-g", "-O1", "-ffreestanding", "-fno-common", *cflags, "-c",
          str(source), "-o", str(obj)])
    return obj


def build_extensions(cache: Path, folder: Path, case: Case) -> dict[str, Path]:
    """Every extension of `EXTENSIONS` for `case`, copied into `folder` as
    ``<name>.llext`` (with SLIDs injected when the image exports by SLID)."""
    out = {}
    for name, source in EXTENSIONS.items():
        built = build_extension(cache, case.arch, name, source).path
        target = folder / f"{name}.llext"
        shutil.copy(built, target)
        if case.exports != "names":
            inject_slids(target)
        out[name] = target
    return out


def inject_slids(path: Path) -> None:
    """What ``llext_inject_slids.py`` does: each undefined symbol's ``st_value`` becomes
    the SLID of its name (32-bit little-endian ELF)."""
    data = bytearray(path.read_bytes())
    with path.open("rb") as stream:
        elf = ELFFile(stream)
        symtab = elf.get_section_by_name(".symtab")
        for index, symbol in enumerate(symtab.iter_symbols()):
            if index and symbol["st_shndx"] == "SHN_UNDEF" and symbol.name:
                at = symtab["sh_offset"] + index * symtab["sh_entsize"] + 4
                struct.pack_into("<I", data, at, slid(symbol.name, 4))
    path.write_bytes(bytes(data))


def prepare_export_table(path: Path) -> None:
    """What ``llext_prepare_exptab.py`` does: entries become (SLID, address), sorted by
    SLID, and the section is flagged as prepared (32-bit little-endian ELF)."""
    from placer.llext.symbols import SHF_LLEXT_PREPARATION_DONE

    data = bytearray(path.read_bytes())
    with path.open("rb") as stream:
        elf = ELFFile(stream)
        area = elf.get_section_by_name("llext_const_symbol_area")
        strtab = elf.get_section_by_name("llext_exports_strtab")
        index = next(i for i, s in enumerate(elf.iter_sections()) if s.name == area.name)
        header = elf["e_shoff"] + index * elf["e_shentsize"]
        names = strtab.data()
        entries = []
        for at in range(0, area["sh_size"], 8):
            name_at, address = struct.unpack_from("<II", area.data(), at)
            name = names[name_at:names.index(b"\0", name_at)].decode()
            entries.append((slid(name, 4), address))
        for i, (key, address) in enumerate(sorted(entries)):
            struct.pack_into("<II", data, area["sh_offset"] + 8 * i, key, address)
        flags = struct.unpack_from("<I", data, header + 8)[0]
        struct.pack_into("<I", data, header + 8, flags | SHF_LLEXT_PREPARATION_DONE)
    path.write_bytes(bytes(data))


def _run(command: list[str]) -> None:
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    assert done.returncode == 0, f"{' '.join(command)} failed:\n{done.stderr}"
