"""placer's relocation against GNU ld, on real extensions built with Zephyr's LLEXT flags.

Each extension is compiled once per session with Debian's cross compiler, its sections are
placed as the loader would put them into regions, and placer relocates them. GNU ld links
the same object with every section at the same address and the exports defined with
``--defsym``: every loaded section must come out byte-identical. Where Zephyr differs from
a correct link on purpose (ARC's doubled addend, Xtensa's text-relative patching) the test
pins Zephyr's result and the warning that explains it.
"""

from __future__ import annotations

import struct
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from placer.board import Arch
from placer.llext.elf import ExtensionElf, read_extension
from placer.llext.relocate import RelocationProblem, Severity, apply_relocations, first_error
from placer.llext.symbols import ExportedSymbol, ExportTable, SymbolResolver
from tests.llext.oracle_link import (
    TARGETS,
    Placement,
    assemble,
    calls_source,
    compile_extension,
    gnu_ld_images,
    place,
    place_in_file_order,
)

ARCH = {"arm": Arch.ARM, "riscv": Arch.RISCV, "x86": Arch.X86, "arc": Arch.ARC,
        "xtensa": Arch.XTENSA}

#: Imports, data pointers, rodata strings, bss, a static call into another text section,
#: and a switch that compilers turn into a jump table.
EXTENSION = r"""
typedef __SIZE_TYPE__ size_t;
extern int printk(const char *fmt, ...);
extern void *memcpy(void *dst, const void *src, size_t n);
extern int shared_counter;

static int counter;
static char buffer[16];
int table[4] = {1, 2, 3, 4};
int *data_ptr = &table[2];
const char *str_ptr = "world";
static const char greeting[] = "hello";

__attribute__((noinline, section(".text.helpers")))
static int helper(int x)
{
	return x * 3 + table[x & 3];
}

__attribute__((noinline))
int dispatch(int op, int a, int b)
{
	switch (op) {
	case 0: return a + b;
	case 1: return a - b;
	case 2: return a * b;
	case 3: return a ^ b;
	case 4: return a | b;
	case 5: return a & b;
	case 6: return a << b;
	case 7: return helper(a) + b;
	default: return -1;
	}
}

int start(void)
{
	counter++;
	shared_counter += counter;
	memcpy(buffer, greeting, sizeof(greeting));
	printk("%s %s %d %d\n", buffer, str_ptr, helper(counter), dispatch(counter, 3, 4));
	return *data_ptr;
}
"""

EXPORTS = {"printk": 0x1001, "memcpy": 0x2001, "shared_counter": 0x2000_0100}
REGIONS = {"text": 0x1_0000, "rodata": 0x1_8000, "data": 0x2000_0000, "bss": 0x2000_1000}


@pytest.fixture(scope="session")
def build_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("oracle")


def _table(ext: ExtensionElf, exports: dict[str, int]) -> ExportTable:
    return ExportTable(
        symbols=tuple(ExportedSymbol(name, address) for name, address in exports.items()),
        by_slid=False, pointer_size=8 if ext.elf_class == 64 else 4)


def _link(
    key: str, ext: ExtensionElf, placement: Placement, exports: dict[str, int] = EXPORTS
) -> tuple[RelocationProblem, ...]:
    family = TARGETS[key][0]
    return apply_relocations(ext, ARCH[family], placement.load_address, placement.images,
                             SymbolResolver(_table(ext, exports)))


def _placement(key: str, ext: ExtensionElf) -> Placement:
    if key == "xtensa":
        # Zephyr's Xtensa linking patches at file distance from TEXT: use it in place.
        return place_in_file_order(ext, 0x4010_0000, 0x3FFE_8000)
    return place(ext, REGIONS)


def _differences(
    key: str, path: Path, ext: ExtensionElf, placement: Placement, exports: dict[str, int]
) -> dict[str, list[int]]:
    linked = gnu_ld_images(TARGETS[key][0], key, path, ext, placement.load_address, exports)
    assert linked, "GNU ld produced no loaded section to compare"
    out: dict[str, list[int]] = {}
    for index, expected in linked.items():
        ours = bytes(placement.images[index])
        assert len(ours) == len(expected)
        out[ext.sections[index].name] = [i for i in range(len(ours)) if ours[i] != expected[i]]
    return out


@pytest.mark.toolchain("all")
@pytest.mark.parametrize(
    "key", ["arm", "riscv32", "riscv64", "x86-64", "x86-32", "arc", "xtensa"])
def test_relocated_sections_are_byte_identical_to_gnu_ld(build_dir: Path, key: str) -> None:
    path = compile_extension(build_dir, key, EXTENSION)
    ext = read_extension(path)
    placement = _placement(key, ext)
    problems = _link(key, ext, placement)
    assert problems == ()
    differences = _differences(key, path, ext, placement, EXPORTS)
    assert {".text", ".data", ".text.helpers"} <= differences.keys()
    assert differences == {name: [] for name in differences}


#: The low-part relocation types whose entries pair with a high part (RISC-V psABI).
RISCV_LOW_PARTS = {"riscv32": 27, "riscv64": 24}  # R_RISCV_LO12_I (medlow), PCREL_LO12_I


@pytest.mark.toolchain("arm", "riscv")
@pytest.mark.parametrize("key", ["arm", "riscv32", "riscv64"])
def test_many_relocations_per_section_are_byte_identical_to_gnu_ld(
    build_dir: Path, key: str
) -> None:
    """Hundreds of entries in each of two text sections, most symbols named by several
    (each is looked up once per link) and, on RISC-V, hundreds of high/low pairs: on
    riscv64 every PCREL_LO12 finds its PCREL_HI20 through the section's index."""
    path = compile_extension(build_dir, key, calls_source(300))
    ext = read_extension(path)
    if key in RISCV_LOW_PARTS:
        for name in (".rela.text", ".rela.text.odd"):
            rsec = next(r for r in ext.relocation_sections if r.name == name)
            assert sum(e.type == RISCV_LOW_PARTS[key] for e in rsec.entries) >= 300
    placement = _placement(key, ext)
    assert _link(key, ext, placement) == ()
    differences = _differences(key, path, ext, placement, EXPORTS)
    assert {".text", ".text.odd", ".data"} <= differences.keys()
    assert differences == {name: [] for name in differences}


#: Three distinct page-aligned region bases below 1 GiB (each region here is < 4 KiB).
TAIL_CALLS = EXTENSION + r"""
int tail_export(int x) { return printk("%d\n", x); }
int tail_local(int x) { return dispatch(x, 1, 2); }
"""


@pytest.mark.toolchain("arm")
@pytest.mark.parametrize("flags", [
    pytest.param(("-mpure-code",), id="thumb-movw-movt"),
    pytest.param(("-mno-long-calls", "-O2"), id="thumb-bl-and-b.w"),
    pytest.param(("-marm", "-mcpu=cortex-r5", "-mno-long-calls"), id="arm-mode-bl"),
])
def test_arm_code_generation_variants_match_gnu_ld(
    build_dir: Path, flags: tuple[str, ...]
) -> None:
    path = compile_extension(build_dir, "arm", TAIL_CALLS, flags)
    ext = read_extension(path)
    kinds = {e.type for r in ext.relocation_sections for e in r.entries}
    assert kinds - {2} and kinds <= {2, 10, 28, 29, 30, 47, 48}
    placement = place(ext, REGIONS)
    assert _link("arm", ext, placement) == ()
    differences = _differences("arm", path, ext, placement, EXPORTS)
    assert differences == {name: [] for name in differences}


@pytest.mark.toolchain("xtensa")
def test_xtensa_literals_in_their_own_sections_match_gnu_ld(build_dir: Path) -> None:
    path = compile_extension(build_dir, "xtensa", TAIL_CALLS, ("-mno-text-section-literals",))
    ext = read_extension(path)
    assert any(s.name.startswith(".literal") and s.size for s in ext.sections)
    placement = _placement("xtensa", ext)
    assert _link("xtensa", ext, placement) == ()
    differences = _differences("xtensa", path, ext, placement, EXPORTS)
    assert differences == {name: [] for name in differences}


#: Three distinct page-aligned region bases below 15 MiB (each region here is < 4 KiB), so
#: that the exports near 0 stay within ARC's +-16 MiB branches.
_BASES = st.lists(st.integers(min_value=0x10, max_value=0xEFF), min_size=3, max_size=3,
                  unique=True).map(lambda pages: [page * 0x1000 for page in pages])


@pytest.mark.toolchain("all")
@pytest.mark.parametrize("key", ["arm", "riscv32", "riscv64", "x86-64", "x86-32", "arc"])
@settings(max_examples=8, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(bases=_BASES)
def test_any_region_placement_links_like_gnu_ld(
    build_dir: Path, key: str, bases: list[int]
) -> None:
    path = compile_extension(build_dir, key, EXTENSION)
    ext = read_extension(path)
    text, rodata, data = bases
    placement = place(ext, {"text": text, "rodata": rodata, "data": data,
                            "bss": 0x4000_0000})
    assert _link(key, ext, placement) == ()
    differences = _differences(key, path, ext, placement, EXPORTS)
    assert differences == {name: [] for name in differences}


# -- where Zephyr differs from ld on purpose ------------------------------------------------

ARC_BRANCH_WITH_ADDEND = r"""
extern int printk(const char *fmt, ...);
void jump_into(void) { __asm__ volatile ("bl printk+8"); }
"""


@pytest.mark.toolchain("arc")
def test_arc_branch_with_addend_lands_where_zephyr_puts_it(build_dir: Path) -> None:
    path = compile_extension(build_dir, "arc", ARC_BRANCH_WITH_ADDEND)
    ext = read_extension(path)
    placement = place(ext, REGIONS)
    problems = _link("arc", ext, placement)
    assert [(p.severity, p.type_name) for p in problems] == [
        (Severity.WARNING, "R_ARC_S25W_PCREL")]
    assert "adds the addend (8) twice" in problems[0].message
    text = next(s for s in ext.sections if s.name == ".text")
    linked = gnu_ld_images("arc", "arc", path, ext, placement.load_address, EXPORTS)
    pcl = placement.load_address[text.index] & ~3
    ours = _arc_s25w(placement.images[text.index])
    theirs = _arc_s25w(bytearray(linked[text.index]))
    # Word-scaled: the displacement is rounded down to a multiple of 4.
    assert theirs == (EXPORTS["printk"] + 8 - pcl) & ~3
    assert ours == (EXPORTS["printk"] + 16 - pcl) & ~3  # Zephyr's result, pinned


def _arc_s25w(code: bytearray) -> int:
    word = struct.unpack_from("<I", code, 0)[0]
    insn = ((word >> 16) | (word << 16)) & 0xFFFFFFFF
    words = ((insn >> 18) & 0x1FF) | (((insn >> 6) & 0x3FF) << 9) | ((insn & 0xF) << 19)
    # The field also has a sign bit (bit 4 of the last nibble) that Zephyr writes too.
    value = words * 4
    return value - (1 << 25) if value & (1 << 24) else value


@pytest.mark.toolchain("arc")
def test_arc_call_beyond_16_mib_loads_in_zephyr_but_is_flagged(build_dir: Path) -> None:
    path = compile_extension(build_dir, "arc", EXTENSION)
    ext = read_extension(path)
    problems = _link("arc", ext, place(ext, {**REGIONS, "text": 0x0200_0000}))
    assert problems and first_error(problems) is None  # Zephyr checks no ARC range
    assert {(p.symbol, p.allowed) for p in problems} == {
        ("printk", (-0x100_0000, 0xFF_FFFF)), ("memcpy", (-0x100_0000, 0xFF_FFFF))}
    assert all(p.message == "displacement does not fit 25 bits and Zephyr does not check it"
               for p in problems)


@pytest.mark.toolchain("xtensa")
def test_xtensa_data_loaded_away_from_text_is_patched_at_the_wrong_place(
    build_dir: Path,
) -> None:
    path = compile_extension(build_dir, "xtensa", EXTENSION)
    ext = read_extension(path)
    placement = place(ext, {"text": 0x4010_0000, "rodata": 0x3FFE_0000,
                            "data": 0x3FFE_8000, "bss": 0x3FFF_0000})
    problems = _link("xtensa", ext, placement)
    assert problems and all(p.severity is Severity.WARNING for p in problems)
    assert {p.section for p in problems} == {".data", ".rodata"}
    assert all("at the file distance from TEXT" in p.message or "outside every loaded section"
               in p.message for p in problems)


@pytest.mark.toolchain("x86")
def test_x86_64_data_above_4_gib_is_truncated_with_warnings(build_dir: Path) -> None:
    path = compile_extension(build_dir, "x86-64", EXTENSION)
    ext = read_extension(path)
    placement = place(ext, {**REGIONS, "data": 0x1_0000_0000, "bss": 0x1_0000_1000})
    problems = _link("x86-64", ext, placement)
    assert problems and first_error(problems) is None
    assert {p.type_name for p in problems} <= {"R_X86_64_32", "R_X86_64_32S", "R_X86_64_PC32"}
    assert all(p.allowed is not None and not p.allowed[0] <= (p.value or 0) <= p.allowed[1]
               for p in problems)


# -- failures with Zephyr's errors -------------------------------------------------------------


def _offset_of(ext: ExtensionElf, symbol: str) -> tuple[str, int, int]:
    for rsec in ext.relocation_sections:
        for entry in rsec.entries:
            if ext.symbols[entry.symbol].name == symbol:
                return ext.sections[rsec.target].name, entry.offset, entry.type
    raise AssertionError(f"no relocation against {symbol}")


@pytest.mark.toolchain("arm")
def test_missing_export_fails_with_enodata(build_dir: Path) -> None:
    path = compile_extension(build_dir, "arm", EXTENSION)
    ext = read_extension(path)
    exports = {k: v for k, v in EXPORTS.items() if k != "printk"}
    problems = _link("arm", ext, place(ext, REGIONS), exports)
    section, offset, _ = _offset_of(ext, "printk")
    error = first_error(problems)
    assert error is not None
    assert str(error) == (
        f"error: {section}+{offset:#x}: R_ARM_ABS32 against 'printk': undefined symbol "
        "'printk' is not exported by the image or any loaded extension (Zephyr: -ENODATA)")
    assert {p.symbol for p in problems} == {"printk"}


DEVICE_USER = r"""
struct device;
extern const struct device __device_dts_ord_12;
const struct device *get_uart(void) { return &__device_dts_ord_12; }
"""


@pytest.mark.toolchain("riscv")
def test_missing_device_suggests_export_devices(build_dir: Path) -> None:
    path = compile_extension(build_dir, "riscv32", DEVICE_USER)
    ext = read_extension(path)
    problems = _link("riscv32", ext, place(ext, REGIONS), {})
    assert problems and all(p.errno == "ENODATA" for p in problems)
    assert all(p.message == (
        "undefined symbol '__device_dts_ord_12' is not exported by the image or any loaded "
        "extension (a device object: enable CONFIG_LLEXT_EXPORT_DEVICES to export devices)")
        for p in problems)


RELAXED = r"""
int sum3(const int *p, int n) { int s = 0; for (int i = 0; i < n; i++) s += p[i] * 3; return s; }
int next(int x) { return x + 1; }
"""


@pytest.mark.toolchain("riscv")
def test_riscv_built_with_relaxation_fails_on_align(build_dir: Path) -> None:
    path = compile_extension(build_dir, "riscv32", RELAXED,
                             ("-mrelax", "-O2", "-falign-functions=16", "-falign-loops=16"))
    ext = read_extension(path)
    problems = _link("riscv32", ext, place(ext, REGIONS), {})
    error = first_error(problems)
    assert error is not None
    assert error.type_name == "R_RISCV_ALIGN"
    assert error.errno == "ENOEXEC"
    assert error.message.endswith(
        "Alignment relocation is currently not supported (build with -mno-relax)")


@pytest.mark.toolchain("arm")
def test_thumb_call_to_a_section_16_mib_away_is_out_of_range(build_dir: Path) -> None:
    # Without -mlong-calls the static call into .text.helpers is a BL.
    path = compile_extension(build_dir, "arm", EXTENSION, ("-mno-long-calls",))
    ext = read_extension(path)
    placement = place(ext, REGIONS)
    helpers = next(s for s in ext.sections if s.name == ".text.helpers")
    placement.load_address[helpers.index] = REGIONS["text"] + 0x200_0000
    problems = _link("arm", ext, placement)
    errors = [p for p in problems if p.severity is Severity.ERROR]
    assert errors and {p.type_name for p in errors} == {"R_ARM_THM_CALL"}
    assert all(p.allowed == (-0xFFFFFF, 0xFFFFFF) and p.errno == "ENOEXEC" for p in errors)
    assert all(str(p).startswith("error: .text+") and "relocation out of range" in str(p)
               for p in errors)


@pytest.mark.toolchain("arm")
def test_thumb_bl_to_an_export_beyond_16_mib_needs_long_calls(build_dir: Path) -> None:
    path = compile_extension(build_dir, "arm", EXTENSION, ("-mno-long-calls",))
    ext = read_extension(path)
    far = {**EXPORTS, "printk": REGIONS["text"] + 0x100_0000 + 0x1001}
    problems = _link("arm", ext, place(ext, REGIONS), far)
    section, offset, kind = _offset_of(ext, "printk")
    error = first_error(problems)
    assert kind == 10  # R_ARM_THM_CALL
    assert error is not None
    assert error.symbol == "printk"
    assert (error.section, error.offset) == (section, offset)
    assert error.message.startswith("relocation out of range")
    # The same object with printk in reach links exactly like ld.
    placement = place(ext, REGIONS)
    assert _link("arm", ext, placement) == ()
    differences = _differences("arm", path, ext, placement, EXPORTS)
    assert differences == {name: [] for name in differences}


# -- ARM64: no bare-metal gcc in Debian, so hand-written assembly through GNU as ------------

ARM64_EXTENSION = """\
    .text
    .global start
    .type start, %function
start:
    adrp x0, data_var
    add  x0, x0, :lo12:data_var
    ldr  x1, [x0, :lo12:data_var]
    ldr  w2, [x0, :lo12:word_var]
    ldrh w3, [x0, :lo12:half_var]
    ldrb w4, [x0, :lo12:byte_var]
    ldr  q0, [x0, :lo12:quad_var]
    bl   printk
    b    memcpy
    cbz  x0, other
    tbz  x0, #3, other
    ldr  x5, literal
    adr  x6, other
    movz x7, #:abs_g3:printk
    movk x7, #:abs_g2_nc:printk
    movk x7, #:abs_g1_nc:printk
    movk x7, #:abs_g0_nc:printk
    movz x8, #:abs_g1:data_var
    movk x8, #:abs_g0_nc:data_var
    movz x9, #:abs_g0:small
    adrp x10, :pg_hi21_nc:data_var
    ret
    .section .text.other,"ax"
other:
    ret
    .align 3
literal:
    .quad 0
    .data
    .align 4
data_var:
    .quad printk
    .quad start + 8
    .word printk
    .word other - .
    .hword small
    .hword other - .
    .xword other - .
word_var: .word 0
half_var: .hword 0
byte_var: .byte 0
    .align 4
quad_var: .quad 0, 0
"""
ARM64_EXPORTS = {"printk": 0x4000_1000, "memcpy": 0x4000_2000, "small": 0x1234}
ARM64_REGIONS = {"text": 0x4010_0000, "rodata": 0x4010_4000, "data": 0x4010_6000,
                 "bss": 0x4010_8000}


@pytest.mark.toolchain("arm64")
def test_arm64_relocations_are_byte_identical_to_gnu_ld(build_dir: Path) -> None:
    path = assemble(build_dir, "arm64", ARM64_EXTENSION)
    ext = read_extension(path)
    kinds = {e.type for r in ext.relocation_sections for e in r.entries}
    assert len(kinds) == 26  # every static type the assembly above produces
    placement = place(ext, ARM64_REGIONS)
    problems = apply_relocations(ext, Arch.ARM64, placement.load_address, placement.images,
                                 SymbolResolver(_table(ext, ARM64_EXPORTS)))
    assert problems == ()
    linked = gnu_ld_images("arm64", "arm64", path, ext, placement.load_address, ARM64_EXPORTS)
    assert {ext.sections[i].name for i in linked} == {".text", ".text.other", ".data"}
    for index, expected in linked.items():
        assert bytes(placement.images[index]) == expected, ext.sections[index].name


@pytest.mark.toolchain("arm64")
def test_arm64_prel16_to_text_a_mebibyte_away_is_refused(build_dir: Path) -> None:
    ext = read_extension(assemble(build_dir, "arm64", ARM64_EXTENSION))
    placement = place(ext, {**ARM64_REGIONS, "data": 0x4020_0000})
    problems = apply_relocations(ext, Arch.ARM64, placement.load_address, placement.images,
                                 SymbolResolver(_table(ext, ARM64_EXPORTS)))
    assert [str(p) for p in problems] == [
        "error: .data+0x1a: R_AARCH64_PREL16 against '.text.other': relocation out of range "
        "(allowed -0x8000..0x7fff) (Zephyr: -ENOEXEC)"]


ARM64_SIGNED_MOV = """\
    .text
    movz x0, #:abs_g0_s:negative
    movz x1, #:abs_g0_s:positive
"""


@pytest.mark.toolchain("arm64")
def test_arm64_signed_mov_picks_the_opposite_opcode_as_zephyr_does(build_dir: Path) -> None:
    path = assemble(build_dir, "arm64", ARM64_SIGNED_MOV)
    ext = read_extension(path)
    exports = {"negative": -0x10 & 0xFFFF_FFFF_FFFF_FFFF, "positive": 0x10}
    placement = place(ext, ARM64_REGIONS)
    problems = apply_relocations(ext, Arch.ARM64, placement.load_address, placement.images,
                                 SymbolResolver(_table(ext, exports)))
    assert [p.type_name for p in problems] == ["R_AARCH64_MOVW_SABS_G0"] * 2
    assert all(p.severity is Severity.WARNING and "a Zephyr defect" in p.message
               for p in problems)
    linked = gnu_ld_images("arm64", "arm64", path, ext, placement.load_address, exports)
    text = next(s.index for s in ext.sections if s.name == ".text")
    ours = struct.unpack("<II", placement.images[text])
    theirs = struct.unpack("<II", linked[text])
    # ld: MOVN x0, #0xf (= -0x10) and MOVZ x1, #0x10. Zephyr swaps the opcodes (opc bits
    # 30..29) and keeps ld's immediates, so its x0 is 0xf and its x1 is ~0x10.
    assert theirs == (0x9280_01E0, 0xD280_0201)
    assert ours == (0xD280_01E0, 0x9280_0201)


# -- a shared library (ET_DYN) loaded as one image ------------------------------------------


@pytest.mark.toolchain("x86")
def test_x86_64_shared_library_dynamic_relocations_point_into_the_image(
    build_dir: Path,
) -> None:
    path = compile_extension(build_dir, "x86-64", EXTENSION, ("-fPIC", "-shared"),
                             link=True)
    ext = read_extension(path)
    base = 0x4000_0000
    # llext_prepare_et_dyn_image (Zephyr's subsys/llext/llext_mem.c): one allocation holds the whole
    # image at its link layout.
    placement = Placement(
        load_address={s.index: base + s.addr for s in ext.sections if s.flags & 0x2},
        images={s.index: bytearray(ext.section_bytes(s).ljust(s.size, b"\0"))
                for s in ext.sections if s.flags & 0x2})
    problems = _link("x86-64", ext, placement)
    assert problems == ()
    dynamic = [r for r in ext.relocation_sections if r.name in (".rela.dyn", ".rela.plt")]
    assert {e.type for r in dynamic for e in r.entries} == {1, 6, 7, 8}
    for entry in (e for r in dynamic for e in r.entries):
        holder = next(s for s in ext.sections if s.flags & 0x2
                      and s.addr <= entry.offset < s.addr + s.size)
        word = struct.unpack_from("<Q", placement.images[holder.index],
                                  entry.offset - holder.addr)[0]
        symbol = ext.symbols[entry.symbol]
        if entry.type == 8:  # RELATIVE: load bias + addend
            expected = base + (entry.addend or 0)
        elif symbol.shndx == 0:
            expected = EXPORTS[symbol.name] + (entry.addend or 0)
        else:
            expected = base + symbol.value + (entry.addend or 0)
        assert word == expected, (entry, symbol.name)


ARM64_TLS = """\
    .text
    .global get
get:
    mrs x0, tpidr_el0
    add x0, x0, #:tprel_hi12:counter
    add x0, x0, #:tprel_lo12_nc:counter
    add x1, x0, #:tprel_lo12_nc:other
    ret
    .section .tbss,"awT",%nobits
    .align 3
pad: .skip 8
counter: .skip 8
other: .skip 4
"""


@pytest.mark.toolchain("arm64")
def test_arm64_thread_pointer_offsets_skip_the_16_byte_tcb_like_gnu_ld(
    build_dir: Path,
) -> None:
    path = assemble(build_dir, "arm64", ARM64_TLS)
    ext = read_extension(path)
    assert {e.type for r in ext.relocation_sections for e in r.entries} == {549, 551}
    placement = place(ext, ARM64_REGIONS)
    assert apply_relocations(ext, Arch.ARM64, placement.load_address, placement.images,
                             SymbolResolver(_table(ext, {}))) == ()
    linked = gnu_ld_images("arm64", "arm64", path, ext, placement.load_address, {})
    text = next(s.index for s in ext.sections if s.name == ".text")
    assert bytes(placement.images[text]) == linked[text]


ARM_TLS = r"""
__thread int pad = 1;
__thread int counter = 2;
int get(void) { return counter + pad; }
"""


@pytest.mark.toolchain("arm")
def test_arm_tls_offset_lacks_the_thread_control_block_in_zephyr(build_dir: Path) -> None:
    path = compile_extension(build_dir, "arm", ARM_TLS, ("-ftls-model=local-exec",))
    ext = read_extension(path)
    exports = {"__aeabi_read_tp": 0x1001}
    placement = place(ext, REGIONS)
    problems = _link("arm", ext, placement, exports)
    assert [(p.type_name, p.severity) for p in problems] == [
        ("R_ARM_TLS_LE32", Severity.WARNING)]
    section, offset, _ = _offset_of(ext, ".LANCHOR0")
    text = next(s.index for s in ext.sections if s.name == section)
    linked = gnu_ld_images("arm", "arm", path, ext, placement.load_address, exports)
    ours = struct.unpack_from("<I", placement.images[text], offset)[0]
    theirs = struct.unpack_from("<I", linked[text], offset)[0]
    assert theirs == ours + 8
