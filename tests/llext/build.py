"""Build test extensions with Debian's cross compilers and Zephyr's LLEXT flags
(``add_llext_target`` in Zephyr's cmake/modules/extensions.cmake).

Shared by the loader and the relocation tests. `build_extension` compiles C source for one
architecture once per session (cached by content in a temporary directory) the way
``add_llext_target`` would: ELF_OBJECT on ARM/x86/ARC (a single ``-c``), ELF_RELOCATABLE
(``-r`` partial link) on RISC-V, and Xtensa's objects without ``.xt.*`` sections.
"""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path

import pytest

from placer import records
from tests.toolchains import tool

#: Compiler flags per test architecture: Zephyr's LLEXT additions plus a CPU choice.
FLAGS: dict[str, tuple[str, tuple[str, ...]]] = {
    # key: (toolchain family, flags)
    "arm": ("arm", ("-mcpu=cortex-m4", "-mthumb", "-mlong-calls", "-mfloat-abi=soft")),
    "arm-m0": ("arm", ("-mcpu=cortex-m0", "-mthumb", "-mlong-calls")),
    "riscv32": ("riscv", ("-march=rv32imac_zicsr", "-mabi=ilp32", "-mno-relax",
                          "-msmall-data-limit=0")),
    "riscv64": ("riscv", ("-march=rv64imac_zicsr", "-mabi=lp64", "-mcmodel=medany",
                          "-mno-relax", "-msmall-data-limit=0")),
    "x86-64": ("x86", ("-m64", "-mcmodel=small", "-fno-pic", "-fno-pie")),
    "arc": ("arc", ("-mcpu=em4",)),
    "xtensa": ("xtensa", ("-mlongcalls", "-ffreestanding")),
}
#: Extra ``ld -r`` options where the linker's default emulation differs from the target.
LD_FLAGS: dict[str, tuple[str, ...]] = {"riscv32": ("-m", "elf32lriscv")}
#: Flags every LLEXT build has (``-fno-pic``/``-ffunction-sections`` are removed by Zephyr).
COMMON = ("-O2", "-ffreestanding", "-nostdlib", "-fno-common", "-fno-stack-protector",
          "-fno-asynchronous-unwind-tables", "-fno-unwind-tables", "-g0")


@records.frozen
class Built:
    """A compiled extension: its path and the architecture key it was built for."""

    path: Path
    arch: str


def build_extension(directory: Path, arch: str, name: str, source: str,
                    extra_flags: tuple[str, ...] = (), partial_link: bool | None = None,
                    shared: bool = False) -> Built:
    """Compile `source` for `arch` into ``directory/<name>-<hash>.llext`` (cached).

    `partial_link` forces (or avoids) the ``-r`` ELF_RELOCATABLE step; by default RISC-V
    uses it, as its Kconfig default does. `shared` builds an ELF_SHAREDLIB (ET_DYN) with
    ``-fPIC -shared`` instead.
    """
    family, flags = FLAGS[arch]
    relocatable = partial_link if partial_link is not None else family == "riscv"
    key = hashlib.sha256(
        "\0".join((arch, source, *extra_flags, str(relocatable), str(shared))).encode()
    ).hexdigest()[:12]
    out = directory / f"{name}-{arch}-{key}.llext"
    if out.exists():
        return Built(out, arch)
    gcc = tool(family, "gcc")
    src = directory / f"{name}-{arch}-{key}.c"
    src.write_text(source)
    obj = directory / f"{name}-{arch}-{key}.o"
    if shared:
        pic = tuple(f for f in flags if f not in ("-fno-pic", "-fno-pie"))
        _run([gcc, *COMMON, *pic, *extra_flags, "-fPIC", "-shared", "-nostartfiles",
              str(src), "-o", str(obj)])
        obj.replace(out)
        return Built(out, arch)
    _run([gcc, *COMMON, *flags, *extra_flags, "-c", str(src), "-o", str(obj)])
    if relocatable:
        _run([tool(family, "ld"), *LD_FLAGS.get(arch, ()), "-r", str(obj), "-o",
              str(obj) + ".r"])
        obj = Path(str(obj) + ".r")
    if family == "xtensa":
        _run([tool(family, "objcopy"), "--remove-section=.xt.*", str(obj)])
    obj.replace(out)
    return Built(out, arch)


def _run(command: list[str]) -> None:
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        pytest.fail(f"{' '.join(command)} failed:\n{done.stderr}")


#: A small extension: text, data, rodata, bss, one import (printk), one export.
HELLO = r"""
struct llext_const_symbol { const char *name; const void *addr; };
extern int printk(const char *fmt, ...);
int counter;
int data_var = 5;
static const char message[] = "hello %d\n";
int hello_start(void)
{
    counter++;
    printk(message, data_var + counter);
    return counter;
}
static const char hello_start_name[] = "hello_start";
const struct llext_const_symbol __llext_sym_hello_start
    __attribute__((section(".exported_sym"), used)) = { hello_start_name, hello_start };
"""


#: A library extension: exports ``lib_add`` (through ``.exported_sym``), imports printk.
LIB = r"""
struct llext_const_symbol { const char *name; const void *addr; };
extern int printk(const char *fmt, ...);
int lib_add(int a, int b) { printk("add\n"); return a + b; }
static const char name[] = "lib_add";
const struct llext_const_symbol export_lib_add
    __attribute__((section(".exported_sym"), used)) = { name, lib_add };
"""
