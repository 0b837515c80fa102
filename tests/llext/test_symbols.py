"""Export tables, SLIDs, Zephyr's lookup order and the extension load order."""

from __future__ import annotations

import hashlib
import struct
import subprocess
from pathlib import Path

import pytest
from elftools.elf.elffile import ELFFile
from hypothesis import given
from hypothesis import strategies as st

from placer.board import Arch
from placer.cli.output import render
from placer.errors import ConfigError, ExtensionError, InputError, ScriptError
from placer.llext.elf import ElfSymbol, read_extension
from placer.llext.relocate import apply_relocations
from placer.llext.symbols import (
    SHF_LLEXT_PREPARATION_DONE,
    ExportedSymbol,
    ExportTable,
    ExtensionInterface,
    LoadedExtension,
    SymbolResolver,
    check_slid_collisions,
    exported_names,
    exports_from_list,
    imported_names,
    interface_of,
    load_order,
    read_exports_elf,
    read_exports_list,
    slid,
)
from tests.llext.oracle_link import compile_extension, place
from tests.toolchains import tool

GROUPS = frozenset({"UNASSIGNED", "LIBC"})


def _undefined(name: str, value: int = 0) -> ElfSymbol:
    return ElfSymbol(index=1, name=name, value=value, size=0, type=0, bind=1, shndx=0)


# -- SLIDs -----------------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "slid32", "slid64"), [
    ("printk", 0x87B31052, 0x87B3105268827052),
    ("memcpy", 0xAA517FA4, 0xAA517FA41DB4B3DD),
    ("strlen", 0xA46BD920, 0xA46BD920690B53E2),
    ("k_sleep", 0x39274653, 0x39274653685A2944),
    ("z_impl_k_sleep", 0x401C8720, 0x401C8720377FDB40),
])
def test_slid_matches_the_reference_table(name: str, slid32: int, slid64: int) -> None:
    assert slid(name, 4) == slid32
    assert slid(name, 8) == slid64


@given(st.text(min_size=1, max_size=40))
def test_32_bit_slid_is_the_top_half_of_the_64_bit_one(name: str) -> None:
    assert slid(name, 4) == slid(name, 8) >> 32


def test_slid_needs_a_pointer_size() -> None:
    with pytest.raises(ValueError, match="pointer size must be 4 or 8, not 2"):
        slid("printk", 2)


def test_slid_collision_names_both_symbols() -> None:
    # Found by a birthday search over sym_0, sym_1, ...: equal first 4 bytes of SHA-256.
    assert slid("sym_21994", 4) == slid("sym_44835", 4) == 0xB00DD016
    with pytest.raises(ConfigError) as caught:
        check_slid_collisions(["printk", "sym_21994", "sym_44835"], 4, "exports.txt")
    assert render(caught.value) == (
        "exports.txt: error: CONFIG_LLEXT_EXPORT_BUILTINS_BY_SLID: SLID collision: "
        "'sym_21994' and 'sym_44835' both hash to 0xb00dd016 (32-bit)\n"
        "  fix: rename one of the two symbols, or export by name")
    check_slid_collisions(["sym_21994", "sym_44835"], 8)  # 64-bit SLIDs differ


# -- export lists ----------------------------------------------------------------------------

LIST = """\
# built-in exports
printk 0x1001            # UNASSIGNED by default
memcpy 0x2001 LIBC
k_sleep
z_impl_k_sleep 4096 SYSCALL
"""


def test_export_list_reads_names_addresses_and_groups() -> None:
    table = exports_from_list(LIST, "exports.txt", 4, GROUPS)
    assert table.symbols == (
        ExportedSymbol("printk", 0x1001, "UNASSIGNED"),
        ExportedSymbol("memcpy", 0x2001, "LIBC"),
        ExportedSymbol("k_sleep", None, "UNASSIGNED"),
    )
    assert table.discarded == (ExportedSymbol("z_impl_k_sleep", 4096, "SYSCALL"),)


def test_export_list_by_slid_carries_each_slid() -> None:
    table = exports_from_list("printk 0x1001\n", "exports.txt", 4, GROUPS, by_slid=True)
    assert table.symbols[0].slid == 0x87B31052


def test_export_list_with_too_many_fields_is_an_error() -> None:
    with pytest.raises(ScriptError) as caught:
        exports_from_list("printk 0x1001 LIBC extra\n", "exports.txt", 4, GROUPS)
    assert render(caught.value) == (
        "exports.txt:1:20: error: too many fields: expected 'name [address] [GROUP]'\n"
        "printk 0x1001 LIBC extra\n"
        "                   ^")


def test_export_list_group_before_address_is_an_error() -> None:
    with pytest.raises(ScriptError) as caught:
        exports_from_list("# x\nprintk LIBC 0x10\n", "exports.txt", 4, GROUPS)
    assert render(caught.value) == (
        "exports.txt:2:13: error: unexpected '0x10' after group 'LIBC' (the address comes "
        "before the group)\nprintk LIBC 0x10\n            ^")


# -- lookup order (``llext_lookup_symbol`` in Zephyr's subsys/llext/llext_link.c)


def _builtin(**names: int) -> ExportTable:
    return ExportTable(tuple(ExportedSymbol(n, a) for n, a in names.items()), False, 4)


def test_builtin_table_wins_over_loaded_extensions() -> None:
    resolver = SymbolResolver(_builtin(printk=0x1001),
                              [LoadedExtension("ext_a", (("printk", 0x9000),))])
    assert resolver(_undefined("printk")) == 0x1001
    assert resolver.resolution().dependencies == ()


def test_first_loaded_extension_wins_and_becomes_a_dependency() -> None:
    resolver = SymbolResolver(_builtin(), [
        LoadedExtension("ext_a", (("shared", 0x9000),)),
        LoadedExtension("ext_b", (("shared", 0xA000), ("only_b", 0xA100))),
    ])
    assert resolver(_undefined("shared")) == 0x9000
    assert resolver(_undefined("only_b")) == 0xA100
    assert resolver(_undefined("shared")) == 0x9000
    assert resolver(_undefined("nowhere")) is None
    assert resolver.resolution().dependencies == ("ext_a", "ext_b")


def test_a_ninth_dependency_is_dropped_with_a_warning() -> None:
    loaded = [LoadedExtension(f"ext_{i}", ((f"sym_{i}", 0x1000 + i),)) for i in range(9)]
    resolver = SymbolResolver(_builtin(), loaded)
    for i in range(9):
        assert resolver(_undefined(f"sym_{i}")) == 0x1000 + i
    result = resolver.resolution()
    assert result.dependencies == tuple(f"ext_{i}" for i in range(8))
    assert result.warnings == (
        "dependency on 'ext_8' not recorded: Zephyr keeps at most 8 dependencies per "
        "extension and silently drops the rest, so 'ext_8' can be unloaded while still in use",)


def test_an_export_at_null_is_not_found() -> None:
    assert SymbolResolver(_builtin(z_impl_nothing=0))(_undefined("z_impl_nothing")) is None


def test_slid_lookup_uses_the_injected_st_value() -> None:
    table = ExportTable((ExportedSymbol(None, 0x1001, slid=0x87B31052),), True, 4)
    resolver = SymbolResolver(table)
    assert resolver(_undefined("printk", value=0x87B31052)) == 0x1001
    assert resolver(_undefined("printk", value=0)) is None
    assert resolver.explain_missing(_undefined("printk")) == (
        "'printk' has no SLID in st_value: run llext_inject_slids.py on the extension "
        "(the image exports by SLID)")


def test_a_symbol_of_a_disabled_group_is_explained() -> None:
    table = exports_from_list(LIST, "exports.txt", 4, GROUPS)
    resolver = SymbolResolver(table)
    assert resolver(_undefined("z_impl_k_sleep")) is None
    assert resolver.explain_missing(_undefined("z_impl_k_sleep")) == (
        "'z_impl_k_sleep' is exported in group SYSCALL, which is disabled: enable "
        "CONFIG_LLEXT_EXPORT_SYMBOL_GROUP_SYSCALL")


def test_an_export_without_address_uses_the_default_and_says_so() -> None:
    table = exports_from_list("k_sleep\n", "exports.txt", 4, GROUPS)
    resolver = SymbolResolver(table, default_address=0x8000)
    assert resolver(_undefined("k_sleep")) == 0x8000
    assert resolver(_undefined("k_sleep")) == 0x8000
    assert resolver.resolution().warnings == (
        "'k_sleep' has no address in the export list: linked as if at 0x8000, so its "
        "relocated bytes and range checks are estimates",)
    assert SymbolResolver(table)(_undefined("k_sleep")) == 0x1000


# -- load order ------------------------------------------------------------------------------


def _iface(name: str, imports: set[str], exports: set[str]) -> ExtensionInterface:
    return ExtensionInterface(name, frozenset(imports), frozenset(exports))


def test_providers_load_before_their_users() -> None:
    extensions = [_iface("app", {"lib_fn", "printk"}, set()),
                  _iface("lib", {"base_fn"}, {"lib_fn"}),
                  _iface("base", set(), {"base_fn"}),
                  _iface("other", set(), set())]
    assert load_order(extensions, ["app", "other", "lib", "base"]) == (
        "other", "base", "lib", "app")


def test_names_the_image_exports_create_no_dependency() -> None:
    extensions = [_iface("a", {"printk"}, set()), _iface("b", set(), {"printk"})]
    assert load_order(extensions, ["a", "b"], _builtin(printk=0x1001)) == ("a", "b")
    assert load_order(extensions, ["a", "b"]) == ("b", "a")


def test_a_dependency_cycle_is_an_error_naming_it() -> None:
    extensions = [_iface("a", {"from_b"}, {"from_a"}), _iface("b", {"from_a"}, {"from_b"})]
    with pytest.raises(ExtensionError) as caught:
        load_order(extensions, ["a", "b"])
    assert render(caught.value) == (
        "a: error: extension dependency cycle: a -> b -> a (a exports 'from_a' to b, "
        "b exports 'from_b' to a) (Zephyr: -ENODATA)")


# -- built extensions and images -----------------------------------------------------------------

LIBRARY = r"""
struct llext_const_symbol { const char *name; const void *addr; };
extern int printk(const char *fmt, ...);
int lib_counter;
int lib_add(int a, int b) { lib_counter++; printk("add\n"); return a + b; }
static const char lib_add_name[] = "lib_add";
const struct llext_const_symbol __llext_sym_lib_add
    __attribute__((section(".exported_sym"), used)) = { lib_add_name, lib_add };
"""


@pytest.mark.toolchain("riscv")
def test_exported_sym_names_and_loaded_addresses(tmp_path: Path) -> None:
    ext = read_extension(compile_extension(tmp_path, "riscv32", LIBRARY))
    assert exported_names(ext) == frozenset({"lib_add"})
    # LLEXT_IMPORT_ALL_GLOBALS: every global function and object, the table entry too.
    assert exported_names(ext, import_all_globals=True) == frozenset(
        {"lib_add", "lib_counter", "__llext_sym_lib_add"})
    assert imported_names(ext) == frozenset({"printk"})
    placement = place(ext, {"text": 0x1_0000, "rodata": 0x1_8000, "data": 0x2_0000,
                            "bss": 0x2_8000})
    problems = apply_relocations(ext, Arch.RISCV, placement.load_address, placement.images,
                                 SymbolResolver(_builtin(printk=0x1001)))
    assert problems == ()
    # The relocated .exported_sym entry is the exp_tab entry Zephyr reads once loaded:
    # { name, address }, both pointing at where the linker placed them.
    table = next(s for s in ext.sections if s.name == ".exported_sym")
    name_ptr, address = struct.unpack("<II", bytes(placement.images[table.index][:8]))
    lib_add = next(s for s in ext.symbols if s.name == "lib_add")
    assert address == placement.load_address[lib_add.shndx] + lib_add.value
    holder = next(i for i, base in placement.load_address.items()
                  if base <= name_ptr < base + len(placement.images[i]))
    name_at = name_ptr - placement.load_address[holder]
    assert bytes(placement.images[holder][name_at:name_at + 8]) == b"lib_add\0"


APP = r"""
extern int lib_add(int a, int b);
int app_main(void) { return lib_add(1, 2); }
"""


@pytest.mark.toolchain("riscv")
def test_built_extensions_load_after_the_library_they_import_from(tmp_path: Path) -> None:
    app = read_extension(compile_extension(tmp_path, "riscv32", APP))
    lib = read_extension(compile_extension(tmp_path, "riscv32", LIBRARY))
    interfaces = [interface_of(app, "app"), interface_of(lib, "lib")]
    assert interfaces[0].imports == frozenset({"lib_add"})
    assert load_order(interfaces, ["app", "lib"], _builtin(printk=0x1001)) == ("lib", "app")


IMAGE = r"""
struct llext_const_symbol { const char *name; const void *addr; };
int printk(const char *fmt, ...) { return 0; }
void *memcpy(void *d, const void *s, unsigned int n) { return d; }
#define EXPORT(x) const struct llext_const_symbol __export_##x \
    __attribute__((section("llext_const_symbol_area"), used)) = { #x, (const void *)x }
EXPORT(printk);
EXPORT(memcpy);
"""


def _image(tmp_path: Path) -> Path:
    c_file = tmp_path / "image.c"
    c_file.write_text(IMAGE)
    obj = tmp_path / "image.o"
    elf = tmp_path / "zephyr.elf"
    subprocess.run([tool("arm", "gcc"), "-mthumb", "-mcpu=cortex-m3", "-Os", "-c",
                    "-ffreestanding", str(c_file), "-o", str(obj)], check=True)
    script = tmp_path / "image.ld"
    script.write_text("SECTIONS { .text 0x1000 : { *(.text*) } .rodata : { *(.rodata*) }\n"
                      "llext_const_symbol_area : { *(llext_const_symbol_area) } }\n")
    subprocess.run([tool("arm", "ld"), "-T", str(script), "-e", "0", str(obj), "-o", str(elf)],
                   check=True)
    return elf


SLID_IMAGE = r"""
struct llext_const_symbol { const char *name; const void *addr; };
int printk(const char *fmt, ...) { return 0; }
int k_sleep(int ms) { return ms; }
#define EXPORT(x) \
    static const char __name_##x[] __attribute__((section("llext_exports_strtab"))) = #x; \
    const struct llext_const_symbol __export_##x \
    __attribute__((section("llext_const_symbol_area"), used)) = { __name_##x, (const void *)x }
EXPORT(printk);
EXPORT(k_sleep);
"""


@pytest.mark.toolchain("arm")
def test_unprepared_slid_image_names_come_from_the_exports_strtab(tmp_path: Path) -> None:
    c_file = tmp_path / "image.c"
    c_file.write_text(SLID_IMAGE)
    obj = tmp_path / "image.o"
    elf = tmp_path / "zephyr.elf"
    subprocess.run([tool("arm", "gcc"), "-mthumb", "-mcpu=cortex-m3", "-Os", "-c",
                    "-ffreestanding", str(c_file), "-o", str(obj)], check=True)
    script = tmp_path / "image.ld"
    # As include/zephyr/linker/llext-sections.ld: the names at address 0, not in the image.
    script.write_text("SECTIONS { .text 0x1000 : { *(.text*) } .rodata : { *(.rodata*) }\n"
                      "llext_const_symbol_area : { *(llext_const_symbol_area) }\n"
                      "llext_exports_strtab 0 (COPY) : { *(llext_exports_strtab) } }\n")
    subprocess.run([tool("arm", "ld"), "-T", str(script), "-e", "0", str(obj), "-o", str(elf)],
                   check=True)
    addresses = _symbol_addresses(elf)
    table = read_exports_elf(elf, by_slid=True)
    assert table.by_slid
    assert sorted(table.symbols, key=lambda s: s.name or "") == [
        ExportedSymbol("k_sleep", addresses["k_sleep"], slid=0x39274653),
        ExportedSymbol("printk", addresses["printk"], slid=0x87B31052)]


def _symbol_addresses(path: Path) -> dict[str, int]:
    with path.open("rb") as stream:
        symtab = ELFFile(stream).get_section_by_name(".symtab")
        return {s.name: s["st_value"] for s in symtab.iter_symbols() if s.name}


@pytest.mark.toolchain("arm")
def test_export_table_read_from_a_built_image(tmp_path: Path) -> None:
    elf = _image(tmp_path)
    table = read_exports_elf(elf)
    addresses = _symbol_addresses(elf)
    assert not table.by_slid
    assert sorted(table.symbols, key=lambda s: s.name or "") == [
        ExportedSymbol("memcpy", addresses["memcpy"]),
        ExportedSymbol("printk", addresses["printk"])]


@pytest.mark.toolchain("arm")
def test_prepared_image_is_read_by_slid(tmp_path: Path) -> None:
    elf = _image(tmp_path)
    addresses = _symbol_addresses(elf)
    _prepare(elf)
    table = read_exports_elf(elf)
    assert table.by_slid
    assert table.symbols == (
        ExportedSymbol(None, addresses["printk"], slid=0x87B31052),
        ExportedSymbol(None, addresses["memcpy"], slid=0xAA517FA4),
    )
    resolver = SymbolResolver(table)
    assert resolver(_undefined("memcpy", value=0xAA517FA4)) == addresses["memcpy"]


def _prepare(path: Path) -> None:
    """What llext_prepare_exptab.py does: entries become (SLID, addr), sorted, flag set."""
    data = bytearray(path.read_bytes())
    with path.open("rb") as stream:
        elf = ELFFile(stream)
        area = elf.get_section_by_name("llext_const_symbol_area")
        index = next(i for i, s in enumerate(elf.iter_sections()) if s.name == area.name)
        header = elf["e_shoff"] + index * elf["e_shentsize"]
        entries = []
        for at in range(0, area["sh_size"], 8):
            name_ptr, address = struct.unpack_from("<II", area.data(), at)
            rodata = next(s for s in elf.iter_sections()
                          if s["sh_addr"] <= name_ptr < s["sh_addr"] + s["sh_size"])
            raw = rodata.data()[name_ptr - rodata["sh_addr"]:]
            name = raw[:raw.index(b"\0")]
            entries.append((int.from_bytes(hashlib.sha256(name).digest()[:4], "big"), address))
        for i, (key, address) in enumerate(sorted(entries)):
            struct.pack_into("<II", data, area["sh_offset"] + 8 * i, key, address)
        flags = struct.unpack_from("<I", data, header + 8)[0]
        struct.pack_into("<I", data, header + 8, flags | SHF_LLEXT_PREPARATION_DONE)
    path.write_bytes(bytes(data))


def test_image_without_exports_is_an_error(tmp_path: Path) -> None:
    empty = tmp_path / "nothing.elf"
    empty.write_bytes(b"\x7fELF\x01\x01\x01" + bytes(9) + struct.pack(
        "<HHIIIIIHHHHHH", 2, 40, 1, 0, 0, 0, 0, 52, 0, 0, 40, 0, 0))
    with pytest.raises(ExtensionError) as caught:
        read_exports_elf(empty)
    assert render(caught.value) == (
        f"{empty}: error: no llext_const_symbol_area section: the image exports no symbols "
        "(is CONFIG_LLEXT enabled?) (Zephyr: -ENODATA)")


def test_a_missing_export_list_names_the_file_once(tmp_path: Path) -> None:
    missing = tmp_path / "exports.txt"
    with pytest.raises(InputError) as caught:
        read_exports_list(missing, 4, frozenset({"UNASSIGNED"}))
    assert render(caught.value) == (
        f"{missing}: error: cannot read the export list: No such file or directory")
