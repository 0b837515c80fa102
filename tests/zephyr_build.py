"""Zephyr build directories made for tests: compiled and linked by the real cross toolchains.

`make_build_dir` writes what ``west build`` leaves behind for an LLEXT application, in
Zephyr's layout, for three shapes of target:

- `CORTEX_M` (qemu_cortex_m3-like): XIP from FLASH, the heaps in the NOLOAD ``noinit``
  output section of RAM after ``.noinit``'s own input sections;
- `RISCV` (qemu_riscv32-like): one RAM region holding everything;
- `ARC_HARVARD` (nsim_em-like): ICCM and DCCM, the instruction heap inside ``rodata`` in
  ICCM, the data heap inside ``datas`` in DCCM.

The folder holds ``zephyr/.config``, ``zephyr/zephyr.dts`` (as Zephyr's ``gen_defines``
step writes it: flattened, with ``/chosen``), ``zephyr/linker.cmd`` (the shape of Zephyr's
preprocessed script: ``rom_start``, ``text``, ``initlevel``, ``device_area``,
``llext_const_symbol_area``, ``rodata``, ``datas``, ``k_heap_area``, ``bss``, ``noinit``,
with the heap patterns Zephyr's scripts
carry when ``CONFIG_LLEXT`` is set and ``CONFIG_LLEXT_CUSTOM_HEAP_PLACEMENT`` is not),
``zephyr/zephyr.elf`` and ``zephyr/zephyr.map`` from a real compile and link of a C
program that defines the heap buffers and their ``struct k_heap`` the way Zephyr's
``Z_HEAP_DEFINE_IN_SECT`` does (and exports ``k_yield`` in ``llext_const_symbol_area``, as
``EXPORT_SYMBOL`` does), ``zephyr/include/generated/zephyr/version.h`` and
``CMakeCache.txt``. `relink` links the same objects again with another script.

Used by the ``--build-dir`` tests and by the west/CMake tests; the text written here is
this module's own, in the shape Zephyr's build produces.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from placer import records
from tests.toolchains import tool


@records.frozen
class Region:
    """A MEMORY region of the target's ``linker.cmd`` and its devicetree node."""

    name: str
    origin: int
    length: int
    flags: str


@records.frozen
class Shape:
    """A target: toolchain family, compiler/linker flags, memory, devicetree and Kconfig.

    `rom`/`ram` name the ROMABLE and RAMABLE regions (the same region on a RAM-only
    target); `harvard` puts the instruction heap in ``rodata`` and the data heap in
    ``datas``, as Zephyr's ARC script does.
    """

    name: str
    family: str
    output: str
    regions: tuple[Region, ...]
    rom: str
    ram: str
    cpu_compatible: str
    arch_config: tuple[str, ...]
    cflags: tuple[str, ...] = ()
    ldflags: tuple[str, ...] = ()
    harvard: bool = False
    vectors: str = ".exc_vector_table"


CORTEX_M = Shape(
    name="qemu_cortex_m3", family="arm", output='OUTPUT_FORMAT("elf32-littlearm")',
    regions=(Region("FLASH", 0x0, 256 * 1024, "rx"), Region("RAM", 0x20000000, 64 * 1024, "wx")),
    rom="FLASH", ram="RAM", cpu_compatible="arm,cortex-m3",
    arch_config=("CONFIG_ARM=y", "CONFIG_CPU_CORTEX_M=y", "CONFIG_CPU_CORTEX_M3=y",
                 "CONFIG_XIP=y"),
    cflags=("-mcpu=cortex-m3", "-mthumb"),
)
RISCV = Shape(
    name="qemu_riscv32", family="riscv", output='OUTPUT_ARCH("riscv")',
    regions=(Region("RAM", 0x80000000, 256 * 1024, "rwx"),),
    rom="RAM", ram="RAM", cpu_compatible="riscv",
    arch_config=("CONFIG_RISCV=y", "CONFIG_RISCV_PMP=y", "CONFIG_PMP_GRANULARITY=4"),
    cflags=("-march=rv32imac", "-mabi=ilp32", "-mno-relax"),
    ldflags=("-m", "elf32lriscv"), vectors=".vectors",
)
ARC_HARVARD = Shape(
    name="nsim_em", family="arc", output='OUTPUT_FORMAT("elf32-littlearc")\nOUTPUT_ARCH(arc)',
    regions=(Region("ICCM", 0x0, 256 * 1024, "rwx"), Region("DCCM", 0x80000000, 128 * 1024, "rw")),
    rom="ICCM", ram="DCCM", cpu_compatible="snps,arcem",
    arch_config=("CONFIG_ARC=y", "CONFIG_HARVARD=y", "CONFIG_CPU_ARCEM=y"),
    cflags=("-mcpu=em4",), harvard=True, vectors=".exc_vector_table",
)

#: Zephyr's heap input sections (``subsys/llext/llext_mem.c`` and ``llext_kheap.c``:
#: ``Z_HEAP_DEFINE_IN_SECT(llext_heap, ...)`` and the Harvard pair).
HEAP_SECTIONS = {".llext_heap": "llext_heap", ".llext_instr_heap": "llext_instr_heap",
                 ".llext_data_heap": "llext_data_heap"}
#: memblk pools' block size in the builds made here (a multiple of every page size).
BLOCK_SIZE = 256


@records.frozen
class Build:
    """A build directory made by `make_build_dir`: `path` is ``build``; `objects` are the
    object files its image links, for `relink`."""

    path: Path
    shape: Shape
    objects: tuple[Path, ...]

    @property
    def zephyr(self) -> Path:
        """The ``zephyr`` folder of the build."""
        return self.path / "zephyr"


def make_build_dir(where: Path, shape: Shape, *, heap_kib: int = 8, bss: int = 4096,
                   noinit: int = 1024, version: tuple[int, int, int] = (4, 4, 0),
                   extra_config: tuple[str, ...] = (), name: str = "build",
                   memblk: bool = False, heap_patterns: bool = True) -> Build:
    """Write a linked Zephyr build directory for `shape` at ``where/name``: an LLEXT
    application with heaps of `heap_kib` KiB (each Harvard heap too), `bss` and `noinit`
    bytes of the application's own, for Zephyr `version` (4.4 by default: the heaps in
    sections of their own and the Harvard heaps this writes are 4.4's, `placer.versions`).

    `memblk` (non-Harvard) builds the sys_mem_blocks backend: a pool of `heap_kib` KiB in
    `BLOCK_SIZE` blocks and a 4 KiB metadata k_heap. Without `heap_patterns` the script
    lacks the heap patterns (a board script written before them), so ld places each heap
    section as an orphan."""
    build = where / name
    zephyr = build / "zephyr"
    (zephyr / "include/generated/zephyr").mkdir(parents=True, exist_ok=True)
    config = _config(shape, heap_kib, extra_config, memblk)
    (zephyr / ".config").write_text(config)
    (zephyr / "zephyr.dts").write_text(_devicetree(shape))
    (zephyr / "include/generated/zephyr/version.h").write_text(_version_h(version))
    (build / "CMakeCache.txt").write_text(_cmake_cache(shape, version))
    (zephyr / "linker.cmd").write_text(linker_cmd(shape, memblk=memblk,
                                                  heap_patterns=heap_patterns))
    objects = (_compile(shape, _program(shape, heap_kib, bss, noinit, memblk), zephyr),)
    made = Build(build, shape, objects)
    relink(made, zephyr / "linker.cmd", zephyr / "zephyr.elf", zephyr / "zephyr.map",
           check=True)
    return made


def relink(build: Build, script: Path, elf: Path, map_file: Path | None = None, *,
           check: bool = False) -> subprocess.CompletedProcess[str]:
    """Link `build`'s objects with `script` into `elf` (and a map); ld's verdict."""
    command = [tool(build.shape.family, "ld"), *build.shape.ldflags, "-T", str(script),
               "-o", str(elf)]
    if map_file is not None:
        command += [f"-Map={map_file}"]
    result = subprocess.run([*command, *map(str, build.objects)], capture_output=True,
                            text=True, check=False, timeout=60)
    if check and result.returncode != 0:
        raise AssertionError(f"ld failed: {result.stderr}")
    return result


def symbols(build: Build, elf: Path) -> dict[str, tuple[int, int]]:
    """Name -> (address, size) of every symbol of `elf`, as the toolchain's nm prints them."""
    out = subprocess.run([tool(build.shape.family, "nm"), "-S", str(elf)], capture_output=True,
                         text=True, check=True, timeout=60).stdout
    found: dict[str, tuple[int, int]] = {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 4:
            found[parts[3]] = (int(parts[0], 16), int(parts[1], 16))
        elif len(parts) == 3:
            found[parts[2]] = (int(parts[0], 16), 0)
    return found


# --- what the build writes ------------------------------------------------------------------


def _heaps(shape: Shape) -> tuple[str, ...]:
    return (".llext_instr_heap", ".llext_data_heap") if shape.harvard else (".llext_heap",)


def _config(shape: Shape, heap_kib: int, extra: tuple[str, ...], memblk: bool) -> str:
    lines = ["#", "# Automatically generated file; DO NOT EDIT.", "# Zephyr Kernel Configuration",
             "#", f'CONFIG_BOARD="{shape.name}"', *shape.arch_config, "CONFIG_LLEXT=y"]
    if memblk:
        lines += ["# CONFIG_LLEXT_HEAP_K_HEAP is not set", "CONFIG_LLEXT_HEAP_MEMBLK=y",
                  "# CONFIG_LLEXT_HEAP_DYNAMIC is not set",
                  "# CONFIG_LLEXT_CUSTOM_HEAP_PLACEMENT is not set",
                  f"CONFIG_LLEXT_EXT_HEAP_SIZE={heap_kib}", "CONFIG_LLEXT_METADATA_HEAP_SIZE=4",
                  f"CONFIG_LLEXT_HEAP_MEMBLK_BLOCK_SIZE={BLOCK_SIZE}"]
        return "\n".join([*lines, *extra]) + "\n"
    lines += ["CONFIG_LLEXT_HEAP_K_HEAP=y", "# CONFIG_LLEXT_HEAP_MEMBLK is not set",
              "# CONFIG_LLEXT_HEAP_DYNAMIC is not set",
              "# CONFIG_LLEXT_CUSTOM_HEAP_PLACEMENT is not set"]
    if shape.harvard:
        lines += [f"CONFIG_LLEXT_INSTR_HEAP_SIZE={heap_kib}",
                  f"CONFIG_LLEXT_DATA_HEAP_SIZE={heap_kib}"]
    else:
        lines += [f"CONFIG_LLEXT_HEAP_SIZE={heap_kib}"]
    return "\n".join([*lines, *extra]) + "\n"


def _devicetree(shape: Shape) -> str:
    nodes = []
    chosen = []
    for region in shape.regions:
        label = region.name.lower()
        if shape.harvard:
            compatible = "arc,iccm" if region.name == "ICCM" else "arc,dccm"
        elif region.name == shape.rom and shape.rom != shape.ram:
            compatible = "soc-nv-flash"
            chosen.append(f"\t\tzephyr,flash = &{label};")
        else:
            compatible = "mmio-sram"
        if region.name == shape.ram:
            chosen.append(f"\t\tzephyr,sram = &{label};")
        nodes.append(f"\t\t{label}: memory@{region.origin:x} {{\n"
                     f'\t\t\tcompatible = "{compatible}";\n'
                     f"\t\t\treg = < 0x{region.origin:x} 0x{region.length:x} >;\n\t\t}};")
    body = "\n".join(nodes)
    return ("/dts-v1/;\n\n/ {\n\t#address-cells = < 0x1 >;\n\t#size-cells = < 0x1 >;\n"
            f'\tmodel = "{shape.name}";\n'
            "\tcpus {\n\t\t#address-cells = < 0x1 >;\n\t\t#size-cells = < 0x0 >;\n"
            '\t\tcpu@0 {\n\t\t\tdevice_type = "cpu";\n'
            f'\t\t\tcompatible = "{shape.cpu_compatible}";\n'
            "\t\t\treg = < 0x0 >;\n\t\t};\n\t};\n"
            f"\tsoc {{\n\t\t#address-cells = < 0x1 >;\n\t\t#size-cells = < 0x1 >;\n"
            f'\t\tcompatible = "simple-bus";\n\t\tranges;\n{body}\n\t}};\n'
            "\tchosen {\n" + "\n".join(chosen) + "\n\t};\n};\n")


def _version_h(version: tuple[int, int, int]) -> str:
    major, minor, patch = version
    return ("#ifndef _KERNEL_VERSION_H_\n#define _KERNEL_VERSION_H_\n\n"
            f"#define ZEPHYR_VERSION_CODE {major << 16 | minor << 8 | patch}\n"
            f"#define KERNEL_VERSION_MAJOR {major}\n#define KERNEL_VERSION_MINOR {minor}\n"
            f"#define KERNEL_PATCHLEVEL {patch}\n"
            f'#define KERNEL_VERSION_STRING "{major}.{minor}.{patch}"\n\n#endif\n')


def _cmake_cache(shape: Shape, version: tuple[int, int, int]) -> str:
    # ZEPHYR_TOOLCHAIN_VARIANT is what 'west build' looks for to call a folder a build
    # directory (scripts/west_commands/build_helpers.py, is_zephyr_build).
    return ("# This is the CMakeCache file.\n"
            f"BOARD:STRING={shape.name}\nCACHED_BOARD:STRING={shape.name}\n"
            "ZEPHYR_TOOLCHAIN_VARIANT:STRING=zephyr\n"
            f"CMAKE_PROJECT_VERSION:STATIC={'.'.join(map(str, version))}\n")


def linker_cmd(shape: Shape, *, memblk: bool = False, heap_patterns: bool = True) -> str:
    """The target's ``linker.cmd``: Zephyr's section names and order, its symbols, and the
    LLEXT heap patterns where Zephyr's scripts put them (none without `heap_patterns`)."""
    memory = "\n".join(f"    {r.name} ({r.flags}) : ORIGIN = 0x{r.origin:x}, LENGTH = {r.length}"
                       for r in shape.regions)
    rom, ram = shape.rom, shape.ram
    ram_at = f"> {ram} AT > {rom}" if rom != ram else f"> {ram}"
    instr = "        *(.llext_instr_heap*)\n" if shape.harvard else ""
    data = "        *(.llext_data_heap*)\n" if shape.harvard else ""
    noinit_heaps = "" if shape.harvard else "        *(.llext_heap)\n"
    if memblk:
        noinit_heaps = "        *(.llext_ext_heap)\n        *(.llext_metadata_heap)\n"
    if not heap_patterns:
        instr = data = noinit_heaps = ""
    ram_region = next(r for r in shape.regions if r.name == ram)
    return f"""{shape.output}
_region_min_align = 32;
MEMORY
    {{
{memory}
    IDT_LIST (wx) : ORIGIN = 0xFFFF7FFF, LENGTH = 32K
    }}
ENTRY("__start")
SECTIONS
    {{
    /DISCARD/ : {{ *(.plt) *(.iplt) *(.got.plt) *(.igot.plt) *(.got) *(.igot) }}
    __rom_region_start = ORIGIN({rom});
    rom_start :
    {{
        __rom_start_address = .;
        KEEP(*({shape.vectors}))
        KEEP(*("{shape.vectors}.*"))
    }} > {rom}
    text :
    {{
        __text_region_start = .;
        *(.text)
        *(".text.*")
        *(.gnu.linkonce.t.*)
    }} > {rom}
    __text_region_end = .;
    initlevel :
    {{
        __init_start = .;
        KEEP(*(SORT(.z_init_*)))
        __init_end = .;
    }} > {rom}
    device_area :
    {{
        _device_list_start = .;
        KEEP(*(SORT(._device.static.*)))
        _device_list_end = .;
    }} > {rom}
    llext_const_symbol_area : SUBALIGN(4)
    {{
        _llext_const_symbol_list_start = .;
        KEEP(*(SORT_BY_NAME(._llext_const_symbol.static.*)))
        _llext_const_symbol_list_end = .;
    }} > {rom}
    rodata :
    {{
        __rodata_region_start = .;
        *(.rodata)
        *(".rodata.*")
        *(.gnu.linkonce.r.*)
{instr}        __rodata_region_end = .;
    }} > {rom}
    __rom_region_end = .;
    datas : ALIGN_WITH_INPUT
    {{
        __data_region_start = .;
        __data_start = .;
        *(.data)
        *(".data.*")
        *(".kernel.*")
{data}        __data_end = .;
    }} {ram_at}
    __data_size = __data_end - __data_start;
    __data_load_start = LOADADDR(datas);
    k_heap_area : ALIGN_WITH_INPUT SUBALIGN(4)
    {{
        _k_heap_list_start = .;
        KEEP(*(SORT_BY_NAME(._k_heap.static.*)))
        _k_heap_list_end = .;
    }} {ram_at}
    __data_region_end = .;
    bss (NOLOAD) : ALIGN_WITH_INPUT
    {{
        . = ALIGN(4);
        __bss_start = .;
        __kernel_ram_start = .;
        *(.bss)
        *(".bss.*")
        *(COMMON)
        *(".kernel_bss.*")
        __bss_end = ALIGN(4);
    }} > {ram}
    noinit (NOLOAD) :
    {{
        *(.noinit)
        *(".noinit.*")
        *(".kernel_noinit.*")
{noinit_heaps}    }} > {ram}
    __kernel_ram_end = 0x{ram_region.origin:x} + {ram_region.length};
    __kernel_ram_size = __kernel_ram_end - __kernel_ram_start;
    _image_ram_end = .;
    _end = .;
    .comment 0 : {{ *(.comment) }}
    /DISCARD/ : {{ *(.note.GNU-stack) }}
    }}
"""


def _program(shape: Shape, heap_kib: int, bss: int, noinit: int, memblk: bool) -> str:
    heaps = []
    if memblk:
        # SYS_MEM_BLOCKS_DEFINE(llext_ext_heap, B, N, B): the pool's buffer is
        # _sys_mem_blocks_buf_llext_ext_heap, aligned to the block size, here in the
        # pool's own input section; the metadata heap is a k_heap.
        heaps.append(
            f'unsigned char __attribute__((section(".llext_ext_heap"), aligned({BLOCK_SIZE}))) '
            f"_sys_mem_blocks_buf_llext_ext_heap[{heap_kib * 1024}];\n"
            'char __attribute__((section(".llext_metadata_heap"), aligned(8))) '
            "kheap_llext_metadata_heap[4096];\n"
            'struct k_heap llext_metadata_heap __attribute__((section('
            '"._k_heap.static.llext_metadata_heap"), used)) = '
            "{ kheap_llext_metadata_heap, sizeof(kheap_llext_metadata_heap) };\n")
    for section in () if memblk else _heaps(shape):
        name = HEAP_SECTIONS[section]
        # Z_HEAP_DEFINE_IN_SECT: the buffer kheap_<name>, 8-aligned, in the given section,
        # and the struct k_heap in the k_heap iterable section.
        heaps.append(
            f'char __attribute__((section("{section}"), aligned(8))) '
            f"kheap_{name}[{heap_kib * 1024}];\n"
            f'struct k_heap {name} __attribute__((section("._k_heap.static.{name}"), used)) '
            f"= {{ kheap_{name}, sizeof(kheap_{name}) }};\n")
    return f"""/* An LLEXT application as the linker sees it. */
struct k_heap {{ void *buffer; unsigned long size; }};
struct device {{ const char *name; }};
{''.join(heaps)}
const char app_table[96] = {{ 1 }};
int app_counter = 7;
char app_buffer[{bss}];
char __attribute__((section(".noinit.app"))) app_noinit[{noinit}];
static const struct device uart __attribute__((section("._device.static.1_0_uart"), used))
    = {{ "uart" }};
static int init_uart(void) {{ return 0; }}
static int (*const init_entry)(void) __attribute__((section(".z_init_PRE_KERNEL_10_"), used))
    = init_uart;
void (*const vectors[2])(void) __attribute__((section("{shape.vectors}"), used));

/* EXPORT_SYMBOL(k_yield): the export table LLEXT resolves extensions' symbols against
 * (STRUCT_SECTION_ITERABLE(llext_const_symbol, ...) in Zephyr's llext/symbol.h). */
struct llext_const_symbol {{ const char *name; const void *addr; }};
void k_yield(void) {{ app_counter++; }}
static const char __llext_sym_name_k_yield[] = "k_yield";
const struct llext_const_symbol __llext_sym_k_yield
    __attribute__((section("._llext_const_symbol.static.__llext_sym_k_yield"), used))
    = {{ __llext_sym_name_k_yield, (const void *)k_yield }};

int main(void) {{ app_buffer[0] = app_table[app_counter]; app_noinit[0] = 1; return 0; }}
void __start(void) {{ main(); for (;;) {{ }} }}
"""


def _compile(shape: Shape, source: str, folder: Path) -> Path:
    path = folder / "app.c"
    path.write_text(source)
    obj = folder / "app.c.obj"
    subprocess.run([tool(shape.family, "gcc"), *shape.cflags, "-O1", "-ffreestanding",
                    "-fno-common", "-ffunction-sections", "-fdata-sections", "-c", str(path),
                    "-o", str(obj)], check=True, capture_output=True, text=True, timeout=60)
    return obj
