"""``placer memory`` equals GNU ld's "Memory Configuration" on every corpus script."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from placer.cli import main
from placer.script.evaluate import LINKER_TARGETS, evaluate_memory
from placer.script.includes import load_script
from tests.script.corpus import CorpusScript, collect, unique
from tests.script.ld_oracle import MapRegion, link
from tests.toolchains import tool

#: Corpus triplet -> architecture family of `tests.toolchains` and `LINKER_TARGETS`.
ARCH_OF_TRIPLET = {
    "arm-none-eabi": "arm",
    "riscv64-unknown-elf": "riscv",
    "arc-linux-gnu": "arc",
    "xtensa-lx106-elf": "xtensa",
    "x86_64-linux-gnu": "x86",
    "aarch64-linux-gnu": "arm64",
}
_MEMORY = re.compile(r"^\s*MEMORY\b", re.MULTILINE)
_INCLUDE = re.compile(r"^\s*INCLUDE\s+([^\s;]+)", re.MULTILINE)

CORPUS = unique(collect())
#: Corpus scripts with a MEMORY block of their own.
MEMORY_SCRIPTS = tuple(s for s in CORPUS if _MEMORY.search(s.text))
#: Corpus scripts that INCLUDE a file the user provides, with that file's name.
INCLUDING_SCRIPTS = tuple((s, m.group(1)) for s in CORPUS if (m := _INCLUDE.search(s.text)))


def _id(value: object) -> str:
    if isinstance(value, CorpusScript):
        return f"{value.triplet}:{value.path.name}"
    return str(value)


def _arch(script: CorpusScript) -> str:
    return ARCH_OF_TRIPLET[script.triplet]

# What a user puts next to ARC's arcv2elfx.x ("fixed memory banks" emulation): regions
# whose bounds are expressions over symbols, other regions and suffixes.
USER_MEMORY_X = """\
__ICCM_BASE = 0x00000000;
__DCCM_SIZE = 64K;
MEMORY
{
    ICCM (rx)  : ORIGIN = __ICCM_BASE, LENGTH = 0x10K
    DCCM (rw!x): ORIGIN = 0x80000000, LENGTH = DEFINED(__DCCM_SIZE) ? __DCCM_SIZE : 32K
    SRAM (rwxa): org = ORIGIN(DCCM) + LENGTH(DCCM), len = 1M - 0x400
}
REGION_ALIAS("startup", ICCM);
REGION_ALIAS("text", ICCM);
REGION_ALIAS("data", DCCM);
REGION_ALIAS("sdata", SRAM);
"""


def _ld_table(map_text: str) -> list[str]:
    lines = map_text.splitlines()
    start = lines.index("Memory Configuration") + 2
    table = []
    for line in lines[start:]:
        if not line.strip():
            break
        if not line.startswith("*default*"):
            table.append(line)
    return table


def _rows(regions: tuple[MapRegion, ...]) -> list[tuple[str, int, int, str]]:
    return [(r.name, r.origin, r.length, r.attributes) for r in regions]


@pytest.fixture
def in_tmp(tmp_path: Path) -> Iterator[Path]:
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        yield tmp_path
    finally:
        os.chdir(cwd)


@pytest.mark.toolchain("arm", "arc")
def test_the_corpus_has_memory_scripts() -> None:
    # The must-show needs both shipped MEMORY scripts and ones that INCLUDE their MEMORY.
    assert {_arch(s) for s in MEMORY_SCRIPTS} >= {"arm", "arc"}
    assert INCLUDING_SCRIPTS


@pytest.mark.parametrize("script", MEMORY_SCRIPTS, ids=_id)
def test_memory_equals_gnu_ld_memory_configuration(script: CorpusScript, tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    arch = _arch(script)
    result = link(arch, script.text, tmp_path)
    assert result.regions, result.stderr
    regions = evaluate_memory(load_script(script.path), target=LINKER_TARGETS[arch])
    assert [(r.name, r.origin, r.length, r.attributes) for r in regions] == _rows(result.regions)
    # The printed table is ld's, character for character.
    assert main(["memory", str(script.path), "--arch", arch]) == 0
    printed = capsys.readouterr().out.splitlines()
    assert printed == _ld_table((tmp_path / "oracle.map").read_text())


@pytest.mark.parametrize(("script", "included"), INCLUDING_SCRIPTS, ids=_id)
def test_memory_of_a_script_that_includes_its_memory_equals_gnu_ld(
        script: CorpusScript, included: str, tmp_path: Path) -> None:
    user = tmp_path / "user"
    user.mkdir()
    (user / included).write_text(USER_MEMORY_X)
    arch = _arch(script)
    result = link(arch, script.text, tmp_path, extra=("-L", str(user)))
    assert result.regions, result.stderr
    loaded = load_script(script.path, library_dirs=[user])
    regions = evaluate_memory(loaded, target=LINKER_TARGETS[arch])
    assert [(r.name, r.origin, r.length, r.attributes) for r in regions] == _rows(result.regions)
    assert [r.span.file for r in regions if r.span] == [str(user / included)] * 3


def test_json_has_integers_and_attributes(in_tmp: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    Path("m.ld").write_text(
        'OUTPUT_FORMAT("elf32-littlearm")\n'
        "MEMORY\n{\n  FLASH (rx) : ORIGIN = 0x08000000, LENGTH = 1M\n"
        "  RAM (rw!x) : ORIGIN = 0x20000000, LENGTH = 128K\n}\n"
        'REGION_ALIAS("REGION_TEXT", FLASH);\n'
    )
    assert main(["memory", "m.ld", "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document == {
        "format": "placer-memory/1",
        "file": "m.ld",
        "address_bits": 32,
        "regions": [
            {"name": "FLASH", "origin": 0x08000000, "length": 0x100000, "attributes": "xr",
             "allowed": ["r", "x"], "denied": [], "aliases": ["REGION_TEXT"], "unknown": {},
             "declared": True},
            {"name": "RAM", "origin": 0x20000000, "length": 0x20000, "attributes": "rw!x",
             "allowed": ["r", "w"], "denied": ["x"], "aliases": [], "unknown": {},
             "declared": True},
        ],
    }


def test_a_region_only_origin_names_is_marked_undeclared(
        in_tmp: Path, capsys: pytest.CaptureFixture[str]) -> None:
    Path("m.ld").write_text("MEMORY { RAM : ORIGIN = 0x1000, LENGTH = 4K }\n"
                            "_rom = ORIGIN(ROM);\n")
    assert main(["memory", "m.ld", "--arch", "arm"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[2:] == [
        "ROM              0x00000000         0xffffffff",
        "",
        "ROM is not declared by MEMORY: GNU ld makes it (origin 0, length ~0) for "
        "ORIGIN()/LENGTH() and lists it; it is no memory",
    ]
    assert main(["memory", "m.ld", "--arch", "arm", "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert [(r["name"], r["declared"]) for r in document["regions"]] == [
        ("RAM", True), ("ROM", False)]


def test_unknown_bounds_are_printed_with_the_reason(in_tmp: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    Path("m.ld").write_text("MEMORY { RAM : ORIGIN = _ram_start, LENGTH = 4K }\n")
    assert main(["memory", "m.ld"]) == 0
    assert capsys.readouterr().out == (
        "Name             Origin             Length             Attributes\n"
        "RAM              unknown            0x0000000000001000\n"
        "\n"
        "RAM origin: symbol `_ram_start' is not defined by the script\n"
    )
    assert main(["memory", "m.ld", "--defsym", "_ram_start=0x20000000", "--arch", "arm"]) == 0
    assert capsys.readouterr().out.splitlines()[1] == (
        "RAM              0x20000000         0x00001000")


def test_template_with_config_and_defines(in_tmp: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    Path("include").mkdir()
    Path("include/mem.h").write_text("#define KB(x) ((x) * 1024)\n")
    Path(".config").write_text("CONFIG_SRAM_BASE_ADDRESS=0x20000000\nCONFIG_SRAM_SIZE=256\n"
                               "CONFIG_LLEXT=y\n")
    Path("linker.ld").write_text(
        "#include <mem.h>\n"
        "MEMORY\n{\n"
        "  RAM (rwx) : ORIGIN = CONFIG_SRAM_BASE_ADDRESS, LENGTH = KB(CONFIG_SRAM_SIZE)\n"
        "#if defined(CONFIG_LLEXT) && !defined(NO_EXT)\n"
        "  EXT (rw) : ORIGIN = EXT_BASE, LENGTH = KB(64)\n"
        "#endif\n}\n"
    )
    assert main(["memory", "linker.ld", "-I", "include", "--config", ".config",
                 "-D", "EXT_BASE=0x30000000", "--arch", "arm", "--json"]) == 0
    regions = json.loads(capsys.readouterr().out)["regions"]
    assert [(r["name"], r["origin"], r["length"]) for r in regions] == [
        ("RAM", 0x20000000, 256 * 1024), ("EXT", 0x30000000, 64 * 1024)]
    assert main(["memory", "linker.ld", "-I", "include", "--config", ".config",
                 "-D", "NO_EXT", "--arch", "arm", "--json"]) == 0
    assert [r["name"] for r in json.loads(capsys.readouterr().out)["regions"]] == ["RAM"]


def test_an_error_in_a_template_points_at_the_original_line(
        in_tmp: Path, capsys: pytest.CaptureFixture[str]) -> None:
    Path("linker.ld").write_text(
        "#define BASE 0x20000000\n"
        "/* two\n   lines */\n"
        "MEMORY\n{\n"
        "  RAM (rwx) : ORIGIN = BASE, LENGTH = 4K / 0\n"
        "}\n"
    )
    assert main(["memory", "linker.ld"]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.splitlines()[0] == "linker.ld:6:39: error: / by zero"
    assert "Traceback" not in captured.err


def test_missing_file_is_an_error_not_a_traceback(in_tmp: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["memory", "nope.ld"]) == 1
    assert capsys.readouterr().err == "placer memory: error: no such file: nope.ld\n"


def test_toolchain_cpp_gives_the_same_regions(in_tmp: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    gcc = tool("arm", "gcc")
    Path("linker.ld").write_text(
        "#define KB(x) ((x) * 1024)\n"
        "MEMORY\n{\n"
        "#ifdef CONFIG_XIP\n  FLASH (rx) : ORIGIN = 0x08000000, LENGTH = KB(512)\n#endif\n"
        "  RAM (rwx) : ORIGIN = 0x20000000, LENGTH = KB(CONFIG_SRAM_SIZE)\n}\n")
    Path(".config").write_text("CONFIG_XIP=y\nCONFIG_SRAM_SIZE=96\n")
    outputs = []
    for extra in ([], ["--cpp", gcc]):
        assert main(["memory", "linker.ld", "--config", ".config", "--arch", "arm",
                     *extra]) == 0
        outputs.append(capsys.readouterr().out)
    assert outputs[0] == outputs[1] == (
        "Name             Origin             Length             Attributes\n"
        "FLASH            0x08000000         0x00080000         xr\n"
        "RAM              0x20000000         0x00018000         xrw\n"
    )
