"""Find the real GNU toolchains the oracle tests run.

On a developer machine a missing cross toolchain skips the test with the package to
install; under CI (``CI=true``) it fails, because ``.ci/run`` installs every one of them and
a skip there would hide a broken install step. `unavailable` is that one policy: the
``@pytest.mark.toolchain(FAMILY...)`` hook in ``tests/conftest.py`` and `tool` both use it.
"""

from __future__ import annotations

import os
import shutil
from typing import NoReturn

import pytest

from placer.board import Arch

#: Tool prefix and Debian package per architecture family.
PREFIXES: dict[str, tuple[str, str]] = {
    "arm": ("arm-none-eabi-", "gcc-arm-none-eabi"),
    "riscv": ("riscv64-unknown-elf-", "gcc-riscv64-unknown-elf"),
    "arc": ("arc-linux-gnu-", "gcc-arc-linux-gnu"),
    "xtensa": ("xtensa-lx106-elf-", "gcc-xtensa-lx106"),
    "x86": ("", "gcc"),
    # Debian has no bare-metal aarch64 gcc; binutils is enough to link the arm64 scripts.
    "arm64": ("aarch64-linux-gnu-", "binutils-aarch64-linux-gnu"),
}


#: The tools each family's tests run (Debian ships no bare-metal aarch64 gcc).
TOOLS: dict[str, tuple[str, ...]] = {
    family: ("as", "ld") if family == "arm64" else ("gcc", "as", "ld") for family in PREFIXES
}


def unavailable(message: str) -> NoReturn:
    """Stop a test that needs what is not installed: a failure under CI (which installs
    everything, so a skip there would hide a broken install), a skip with `message`
    elsewhere."""
    if os.environ.get("CI"):
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


def missing(families: tuple[str, ...]) -> list[str]:
    """``tool not found: apt-get install package`` for each tool of `families` (``"all"``:
    every family) that is not on the PATH."""
    wanted = tuple(PREFIXES) if "all" in families else families
    found = []
    for family in wanted:
        prefix, package = PREFIXES[family]
        found += [f"{prefix}{name} not found: apt-get install {package}"
                  for name in TOOLS[family] if shutil.which(prefix + name) is None]
    return found


def tool(arch: str, name: str) -> str:
    """Path of `name` (``gcc``, ``ld``, ``objcopy``...) for `arch`; skip or fail if absent."""
    prefix, package = PREFIXES[arch]
    path = shutil.which(prefix + name)
    if path is None:
        unavailable(f"{prefix}{name} not found: apt-get install {package}")
    return path


#: Toolchain family (a key of PREFIXES) of each board architecture.
FAMILY: dict[Arch, str] = {
    Arch.ARM: "arm", Arch.ARM64: "arm64", Arch.RISCV: "riscv", Arch.X86: "x86",
    Arch.ARC: "arc", Arch.XTENSA: "xtensa",
}

#: Assembler flags for a board's 32-bit target where the toolchain defaults elsewhere.
AS_FLAGS: dict[Arch, list[str]] = {
    # No relaxation: R_RISCV_ALIGN padding would shift the exact sizes under test.
    Arch.RISCV: ["-march=rv32imac", "-mabi=ilp32", "-mno-relax"],
    Arch.X86: ["--32"],
}

#: Linker emulation for a board's 32-bit target where the toolchain defaults to 64-bit.
LD_FLAGS: dict[Arch, list[str]] = {
    Arch.RISCV: ["-m", "elf32lriscv"],
    Arch.X86: ["-m", "elf_i386"],
}
