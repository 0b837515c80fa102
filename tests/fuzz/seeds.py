"""The fuzz targets: one per kind of input placer reads, seeded from real files the tests
build or ship, with the commands that read it.

`build_targets` writes, per target, a folder with the seeds (``seed-*``), the fixed files
the commands need beside the input (``side/``) and ``target.json`` (the commands, with
``{input}``, ``{work}`` and ``{out}`` filled in by the worker, and the mutator's tokens).
Building needs the cross toolchains (extensions and images are compiled and linked with
GCC and GNU ld, as the loader tests build theirs).
"""

from __future__ import annotations

import contextlib
import io
import json
import shutil
import subprocess
from pathlib import Path

from placer import records
from placer.cli import main
from tests.llext.build import build_extension
from tests.script.test_preprocess import DOT_CONFIG, LINKER_DEFS_H, LINKER_LD, SECTIONS_H
from tests.test_cli_robustness import _CONFIG, _DTS, _EXTENSION_SOURCE
from tests.toolchains import tool

_ROOT = Path(__file__).resolve().parents[2]
_BOARDS = _ROOT / "boards"

#: Every kind of input, in the order the CI test runs them.
TARGETS = ("script", "preprocessor", "config", "board", "devicetree", "layout", "exports",
           "extension", "image")


@records.frozen
class Target:
    """What the worker needs: where the seeds are, the input's file name, the commands
    (each run on every `len(commands)`-th input), the tokens and whether it is binary."""

    name: str
    folder: Path
    input_name: str
    commands: tuple[tuple[str, ...], ...]
    tokens: tuple[bytes, ...] = ()
    binary: bool = False

    def seeds(self) -> list[bytes]:
        return [p.read_bytes() for p in sorted(self.folder.glob("seed-*"))]

    def save(self) -> None:
        spec = {"name": self.name, "input_name": self.input_name,
                "commands": [list(c) for c in self.commands],
                "tokens": [t.decode("latin-1") for t in self.tokens], "binary": self.binary}
        (self.folder / "target.json").write_text(json.dumps(spec, indent=1) + "\n")

    @classmethod
    def load(cls, folder: Path) -> Target:
        spec = json.loads((folder / "target.json").read_text())
        return cls(spec["name"], folder, spec["input_name"],
                   tuple(tuple(c) for c in spec["commands"]),
                   tuple(t.encode("latin-1") for t in spec["tokens"]), spec["binary"])


_LD_TOKENS = tuple(w.encode() for w in (
    "SECTIONS", "MEMORY", "INCLUDE", "INCLUDE frag.ld", "INCLUDE input.ld", "ORIGIN(RAM)",
    "LENGTH(FLASH)", "ORIGIN(NOPE)", "ADDR(.text)", "SIZEOF(.data)", "ALIGN(", "ASSERT(",
    "PROVIDE(", "KEEP(*(", "*(.text*)", "> RAM", "AT> FLASH", "(NOLOAD)", "(BOGUS)", ". = ",
    ".text : { }", "OVERLAY", "DEFINED(", "LOADADDR(", "SEARCH_DIR(.)", "ENTRY(", "/DISCARD/",
    "SORT_BY_NAME(", "FILL(", "BYTE(", "LONG(", "?", ":", "<<", ">>", "&&", "||", "1+" * 64,
    "(" * 64, ")" * 64, "MAX(", "MIN(", "CONSTANT(MAXPAGESIZE)", "ld", "\\", "0x20000000",
))
_CPP_TOKENS = tuple(w.encode() for w in (
    "#include", '#include "input.ld"', "#include <zephyr/linker/sections.h>", "#define",
    "#define X(a) a a", "#if", "#ifdef", "#ifndef", "#elif", "#else", "#endif", "#undef",
    "#error", "#warning", "#pragma", "#line", "defined(", "__has_include(", "##", "#x",
    "CONFIG_LLEXT", "\\\n", "__FILE__", "__LINE__",
)) + _LD_TOKENS
_CONFIG_TOKENS = tuple(w.encode() for w in (
    "CONFIG_LLEXT=y", "CONFIG_LLEXT_HEAP_SIZE=", "CONFIG_LLEXT_HEAP_MEMBLK=y",
    "CONFIG_LLEXT_EXT_HEAP_SIZE=", "CONFIG_USERSPACE=y", "CONFIG_LLEXT_HEAP_DYNAMIC=y",
    "CONFIG_MMU_PAGE_SIZE=", "CONFIG_LLEXT_STORAGE_WRITABLE=y", "# CONFIG_X is not set",
    "=n", "=m", '="', "CONFIG_BOARD=", "CONFIG_LLEXT_EXPORT_SYMBOL_GROUP_", "CONFIG_ARM_MPU=y",
))
_TOML_TOKENS = tuple(w.encode() for w in (
    "[[regions]]", "[[used]]", "[mpu]", "name = ", "origin = ", "length = ", "attributes = ",
    '"rwx"', "bus = ", '"instruction"', "harvard = true", "schema = ", "base_script = ",
    '"/dev/zero"', "noinit_region = ", "arch = ", '"arm64"', "page_size = ", "= []",
    "= {}", "= true", "0x", "1_000", "inf", "nan", "1e400",
))
_DTS_TOKENS = tuple(w.encode() for w in (
    "/dts-v1/;", "/ {", "};", "reg = <", ">;", "#address-cells = <2>;", "#size-cells = <0>;",
    "compatible = ", "zephyr,memory-region", "chosen {", "zephyr,sram = &", "&label",
    "label: node@0 {", "/delete-node/", "/include/", "/incbin/(", "ranges;", "ranges = <",
    "/memreserve/", "(1 << 40)", "/bits/ 64", "[00 11]", "status = \"disabled\";",
))
_JSON_TOKENS = tuple(w.encode() for w in (
    '"elf_class": 0', '"schema": ', "null", "true", "false", "[]", "{}", "-1", "1e999",
    "0.5", '"\\u0000"', '"heaps": []', '"address": ', '"size": ', '"align": 0',
    '"page_size": 0', '"region": "NOPE"', ", ", ": ",
))
_EXPORT_TOKENS = tuple(w.encode() for w in (
    "printk", "memcpy", "k_sleep", "0x", "UNASSIGNED", "LIBC", "# c", "0xffffffffffffffff",
    "-1", "\t",
))


def build_targets(folder: Path) -> dict[str, Target]:
    """Every target's seeds and fixed files under `folder` (made anew: a campaign run
    again with the same ``--out`` starts from fresh seeds), as `Target`s."""
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    builders = {
        "script": _script, "preprocessor": _preprocessor, "config": _config,
        "board": _board, "devicetree": _devicetree, "layout": _layout,
        "exports": _exports, "extension": _extension, "image": _image,
    }
    shared = folder / "shared"
    shared.mkdir(exist_ok=True)
    layouts = _layouts(shared)
    extension = build_extension(shared, "arm", "fuzz", _EXTENSION_SOURCE).path
    targets = {}
    for name in TARGETS:
        target_folder = folder / name
        (target_folder / "side").mkdir(parents=True, exist_ok=True)
        target = builders[name](target_folder, layouts, extension)
        target.save()
        targets[name] = target
    return targets


def _seed(folder: Path, index: int | str, data: bytes | str) -> None:
    (folder / f"seed-{index}").write_bytes(data.encode() if isinstance(data, str) else data)


def _quiet_main(argv: list[str]) -> int:
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        return main(argv)


def _layouts(shared: Path) -> dict[str, Path]:
    """Layout JSON of shipped boards, as `placer place` writes it."""
    found = {}
    configs = {
        # x86's MMU rounds each region to a 4 KiB page: the default 8 KiB heap holds none.
        "qemu_x86": "CONFIG_LLEXT=y\nCONFIG_LLEXT_HEAP_SIZE=32\n",
        "nucleo_h743zi": "CONFIG_LLEXT=y\nCONFIG_LLEXT_HEAP_MEMBLK=y\n"
                         "CONFIG_LLEXT_EXT_HEAP_SIZE=16\nCONFIG_LLEXT_HEAP_SIZE=8\n",
    }
    for board in ("qemu_cortex_m3", "qemu_riscv32", "qemu_x86", "nsim_em", "nucleo_h743zi"):
        argv = ["place", "--board", board, "-o", str(shared / f"placed-{board}"),
                "--emit", "json"]
        if board in configs:
            conf = shared / f"{board}.conf"
            conf.write_text(configs[board])
            argv += ["--config", str(conf)]
        assert _quiet_main(argv) == 0, argv
        found[board] = shared / f"placed-{board}" / "layout.json"
    return found


_CHAIN_MAIN = """\
MEMORY { FLASH (rx) : ORIGIN = 0x0, LENGTH = 256K
         RAM (rwx) : ORIGIN = 0x20000000, LENGTH = 64K }
INCLUDE frag.ld
SECTIONS {
  .text : { *(.text*) } > FLASH
  INCLUDE input.ld
  .noinit (NOLOAD) : { *(.noinit*) } > RAM
}
"""

_FRAGMENT = """\
  .data : { *(.data*) } > RAM AT> FLASH
  .bss (NOLOAD) : { *(.bss*) *(COMMON) } > RAM
  __heap_start = ALIGN(8);
"""


def _script(folder: Path, layouts: dict[str, Path], extension: Path) -> Target:
    for index, script in enumerate(sorted(_BOARDS.glob("*.ld"))):
        _seed(folder, index, script.read_bytes())
    _seed(folder, "chain", _CHAIN_MAIN)
    _seed(folder, "fragment", _FRAGMENT)
    side = folder / "side"
    (side / "frag.ld").write_text("ENTRY(reset)\nPROVIDE(_stack = 0x20010000);\n")
    (side / "includer.ld").write_text(_CHAIN_MAIN)
    return Target("script", folder, "input.ld", (
        ("check", "-L", "{work}", "{input}"),
        ("memory", "--json", "{input}"),
        ("check", "-L", "{work}", "{work}/includer.ld"),
        ("format", "{input}"),
    ), _LD_TOKENS)


def _preprocessor(folder: Path, layouts: dict[str, Path], extension: Path) -> Target:
    _seed(folder, 0, LINKER_LD)
    _seed(folder, 1, SECTIONS_H + LINKER_DEFS_H)
    _seed(folder, 2, (_BOARDS / "qemu_cortex_m3.ld").read_text().replace(
        "MEMORY", "#include <zephyr/linker/sections.h>\n#ifdef CONFIG_LLEXT\n#endif\nMEMORY"))
    side = folder / "side"
    (side / "include/zephyr/linker").mkdir(parents=True)
    (side / "include/zephyr/linker/sections.h").write_text(SECTIONS_H)
    (side / "include/zephyr/linker/linker-defs.h").write_text(LINKER_DEFS_H)
    (side / ".config").write_text(DOT_CONFIG)
    (side / "includer.ld").write_text('#include "input.ld"\n' + LINKER_LD)
    return Target("preprocessor", folder, "input.ld", (
        ("check", "-I", "{work}/include", "--config", "{work}/.config", "{input}"),
        ("memory", "-I", "{work}/include", "--config", "{work}/.config", "{input}"),
        ("check", "-I", "{work}/include", "--config", "{work}/.config", "{work}/includer.ld"),
    ), _CPP_TOKENS)


def _config(folder: Path, layouts: dict[str, Path], extension: Path) -> Target:
    _seed(folder, 0, _CONFIG)
    _seed(folder, 1, DOT_CONFIG)
    _seed(folder, 2, "CONFIG_LLEXT=y\nCONFIG_LLEXT_HEAP_MEMBLK=y\nCONFIG_LLEXT_EXT_HEAP_SIZE=16\n"
          "CONFIG_LLEXT_HEAP_SIZE=8\nCONFIG_USERSPACE=y\n")
    (folder / "side" / "template.ld").write_text(
        "#ifdef CONFIG_LLEXT\nMEMORY { RAM : ORIGIN = 0, LENGTH = CONFIG_LLEXT_HEAP_SIZE }\n"
        "#endif\n")
    return Target("config", folder, "input.conf", (
        ("config", "check", "--board", "qemu_cortex_m3", "{input}"),
        ("place", "--config", "{input}", "--json"),
        ("check", "--config", "{input}", "{work}/template.ld"),
        ("verify", "--board", "nucleo_h743zi", "--config", "{input}", str(extension)),
    ), _CONFIG_TOKENS)


def _board(folder: Path, layouts: dict[str, Path], extension: Path) -> Target:
    for index, board in enumerate(sorted(_BOARDS.glob("*.toml"))):
        _seed(folder, index, board.read_bytes())
    for script in _BOARDS.glob("*.ld"):
        shutil.copy(script, folder / "side" / script.name)
    return Target("board", folder, "input.toml", (
        ("board", "show", "{input}"),
        ("place", "--board", "{input}", "--json"),
    ), _TOML_TOKENS)


_DTS_PARTITIONS = """\
/dts-v1/;
/ {
\t#address-cells = <1>;
\t#size-cells = <1>;
\tmodel = "fuzz board";
\tchosen { zephyr,sram = &sram0; zephyr,flash = &flash0; zephyr,code-partition = &slot0; };
\tcpus { #address-cells = <1>; #size-cells = <0>;
\t\tcpu@0 { compatible = "arm,cortex-m33f"; device_type = "cpu"; reg = <0>; }; };
\tsoc { #address-cells = <1>; #size-cells = <1>; ranges;
\t\tmpu: mpu@e000ed90 { compatible = "arm,armv8m-mpu"; reg = <0xe000ed90 0x40>; };
\t\tsram0: memory@20000000 { compatible = "mmio-sram"; reg = <0x20000000 0x40000>; };
\t\tsram1: memory@20040000 { compatible = "zephyr,memory-region", "mmio-sram";
\t\t\treg = <0x20040000 0x10000>; zephyr,memory-region = "SRAM1"; };
\t\tflash0: flash@0 { compatible = "soc-nv-flash"; reg = <0x0 0x100000>;
\t\t\tpartitions { compatible = "fixed-partitions"; #address-cells = <1>;
\t\t\t\t#size-cells = <1>;
\t\t\t\tboot: partition@0 { label = "mcuboot"; reg = <0x0 0xc000>; };
\t\t\t\tslot0: partition@c000 { label = "image-0"; reg = <0xc000 0x76000>; };
\t\t\t};
\t\t};
\t};
};
"""


def _devicetree(folder: Path, layouts: dict[str, Path], extension: Path) -> Target:
    _seed(folder, 0, _DTS)
    _seed(folder, 1, _DTS_PARTITIONS)
    (folder / "side" / "extra.dtsi").write_text("/ { extra { x = <1>; }; };\n")
    return Target("devicetree", folder, "input.dts", (
        ("board", "import", "--from-dts", "{input}", "--name", "fz", "-o", "{out}/b.toml"),
    ), _DTS_TOKENS)


def _layout(folder: Path, layouts: dict[str, Path], extension: Path) -> Target:
    for index, layout in enumerate(sorted(layouts.values())):
        _seed(folder, index, layout.read_bytes())
    reference = layouts["qemu_cortex_m3"]
    return Target("layout", folder, "input.json", (
        ("verify", "--layout", "{input}", str(extension)),
        ("diff", str(reference), "{input}"),
    ), _JSON_TOKENS)


def _exports(folder: Path, layouts: dict[str, Path], extension: Path) -> Target:
    _seed(folder, 0, "# comment\nprintk 0x1000a1 UNASSIGNED\nmemcpy 0x1000c4 LIBC\nk_sleep\n")
    _seed(folder, 1, "printk 0x08001000\nputs 4096 CONSOLE\n")
    return Target("exports", folder, "input.txt", (
        ("verify", "--layout", str(layouts["qemu_cortex_m3"]), "--exports-list", "{input}",
         str(extension)),
    ), _EXPORT_TOKENS)


_CALLS = """\
extern int printk(const char *fmt, ...);
extern void *memcpy(void *d, const void *s, unsigned long n);
static char buffer[64];
const char message[] = "hello";
int counter = 3;
int start(int n) { memcpy(buffer, message, sizeof message); counter += n;
                   return printk("%s %d", buffer, counter); }
"""


def _extension(folder: Path, layouts: dict[str, Path], extension: Path) -> Target:
    built = [extension]
    for arch in ("arm", "riscv32", "x86-64", "arc"):
        built.append(build_extension(folder / "side", arch, "calls", _CALLS).path)
    for index, path in enumerate(built):
        _seed(folder, index, path.read_bytes())
    for leftover in (folder / "side").iterdir():
        leftover.unlink()
    return Target("extension", folder, "input.llext", (
        ("verify", "--layout", str(layouts["qemu_cortex_m3"]), "{input}"),
        ("verify", "--layout", str(layouts["qemu_riscv32"]), "{input}"),
        ("verify", "--layout", str(layouts["qemu_x86"]), "{input}"),
        ("verify", "--layout", str(layouts["nsim_em"]), "--dump-image", "{out}/dump",
         "{input}"),
    ), binary=True)


_IMAGE = """\
struct llext_const_symbol { const char *name; const void *addr; };
struct llext { void *mem[11]; unsigned long size[11]; int use_count; char name[16]; };
struct llext_symbol { const char *name; void *addr; };
struct llext the_llext;
struct llext_symbol a_symbol;
int printk(const char *fmt, ...) { return 0; }
void *memcpy(void *d, const void *s, unsigned long n) { return d; }
char kheap_llext_heap[8192] __attribute__((section(".noinit.llext_heap")));
#define EXPORT(x) const struct llext_const_symbol __export_##x \\
    __attribute__((section("llext_const_symbol_area"), used)) = { #x, (const void *)x }
EXPORT(printk);
EXPORT(memcpy);
"""

_IMAGE_SCRIPT = """\
MEMORY { FLASH (rx) : ORIGIN = 0x0, LENGTH = 256K
         RAM (rwx) : ORIGIN = 0x20000000, LENGTH = 64K }
SECTIONS { .text : { *(.text*) } > FLASH  .rodata : { *(.rodata*) } > FLASH
  llext_const_symbol_area : { *(llext_const_symbol_area) } > FLASH
  .data : { *(.data*) } > RAM AT> FLASH  .bss (NOLOAD) : { *(.bss*) *(COMMON) } > RAM
  .noinit (NOLOAD) : { *(.noinit*) } > RAM }
"""


def _image(folder: Path, layouts: dict[str, Path], extension: Path) -> Target:
    work = folder / "side"
    (work / "image.c").write_text(_IMAGE)
    (work / "image.ld").write_text(_IMAGE_SCRIPT)
    obj = work / "image.o"
    subprocess.run([tool("arm", "gcc"), "-mthumb", "-mcpu=cortex-m3", "-Os", "-g", "-c",
                    "-ffreestanding", str(work / "image.c"), "-o", str(obj)], check=True)
    for index, extra in enumerate(((), ("--compress-debug-sections=zlib",))):
        elf = work / f"zephyr-{index}.elf"
        subprocess.run([tool("arm", "ld"), "-T", str(work / "image.ld"), "-e", "0", *extra,
                        str(obj), "-o", str(elf)], check=True)
        _seed(folder, index, elf.read_bytes())
    for leftover in work.iterdir():
        leftover.unlink()
    return Target("image", folder, "input.elf", (
        ("verify", "--layout", str(layouts["qemu_cortex_m3"]), "--exports", "{input}",
         str(extension)),
        ("place", "--elf", "{input}", "--json"),
        ("board", "import", "--from-elf", "{input}", "--board", "qemu_cortex_m3",
         "-o", "{out}/b.toml"),
    ), binary=True)
