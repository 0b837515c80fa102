"""Constructs met in real firmware linker scripts, each in a minimal script of our own.

The scripts placer was stressed with (Zephyr's Cortex-M, RISC-V and ESP32-S3 templates,
cortex-m-rt, picolibc, STM32CubeIDE, U-Boot, the ESP8266 Arduino core, every ldscript the
installed binutils ship) are not copied here; each case below is the smallest script
that shows one of their constructs. For each, placer must parse it, print it so that it
parses back to the same tree, and the printed text must give GNU ld's own result: the same
exit status, symbol values and memory map.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from placer.cli import main
from placer.cli.output import render
from placer.errors import ScriptError
from placer.script import ast, parse, print_script
from placer.script.evaluate import evaluate_memory, evaluate_symbols
from placer.script.includes import load_script
from placer.script.kconfig_macros import Macro
from placer.script.preprocess import preprocess_text
from tests.script.ld_oracle import link
from tests.toolchains import tool

#: name -> (arch, script). Every script links an empty object without error.
CONSTRUCTS: dict[str, tuple[str, str]] = {
    # STM32CubeIDE 1.10+: exception tables marked READONLY (binutils 2.38+).
    "readonly_section_type": ("arm", """
MEMORY { FLASH (rx) : ORIGIN = 0x08000000, LENGTH = 64K }
SECTIONS {
  .ARM.extab (READONLY) : { *(.ARM.extab*) } >FLASH
  .ARM (READONLY) : { s_exidx = .; *(.ARM.exidx*) s_exidx_end = .; } >FLASH
}
"""),
    # U-Boot: .bss laid over .rel.dyn at the same address with the OVERLAY type.
    "overlay_section_type_at_an_address": ("arm", """
SECTIONS {
  . = 0x1000;
  .rel.dyn ALIGN(8) : { s_rel = .; *(.rel*) . = ALIGN(8); }
  .bss ADDR(.rel.dyn) (OVERLAY) : { s_bss = .; *(.bss*) . = ALIGN(4); s_bss_end = .; }
}
"""),
    # ESP32 and ESP8266: short region keywords, upper-case attributes, no blank before '('.
    "org_len_and_upper_case_attributes": ("xtensa", """
MEMORY
{
  iram0_0_seg(RX): org = 0x40080000, len = 0x20000
  dram0_0_seg(RW): org = 0x3FFB0000, len = 0x2C200
  rtc_seg(RWX):    org = 0x50000000 + 0x100, len = 0x2000 - 0x100
  FLASH (R):       org = 0x0, len = 0x400000 - 0x100
}
SECTIONS { .iram0.text : { *(.iram1) } > iram0_0_seg AT > FLASH }
"""),
    # ESP8266 Arduino core: archive:member patterns, EXCLUDE_FILE and commas in a list.
    "archive_member_patterns_and_comma_lists": ("xtensa", """
SECTIONS {
  .irom0.text 0x40201010 : {
    *.c.o( EXCLUDE_FILE (umm_malloc.c.o) .literal*, EXCLUDE_FILE (umm_malloc.c.o) .text* )
    *.cpp.o(.literal*, .text*)
    *libc.a:(.literal .text .literal.* .text.*)
    *libgcc.a:_umoddi3.o(.literal .text)
    *libzephyr.a:printk.*(.literal.printk .text.printk)
    *(*.lit4)
    *(.*Vector.literal)
    s_irom_end = ABSOLUTE(.);
  }
}
"""),
    # picolibc: a section in two program headers, PROVIDE of a name with '$'.
    "two_program_headers_and_a_dollar_name": ("riscv", """
PHDRS { text PT_LOAD; tls PT_TLS; ram PT_LOAD; }
MEMORY { flash (rx!w) : ORIGIN = 0x20000000, LENGTH = 64K
         ram (w!rx) : ORIGIN = 0x80000000, LENGTH = 16K }
SECTIONS {
  .text : { *(.text*) } >flash AT>flash :text
  .tdata : { *(.tdata*) } >flash :tls :text
  .data : ALIGN_WITH_INPUT { *(.data*) . = ALIGN(8);
    PROVIDE( __global_pointer$ = . + 0x800 ); } >ram AT>flash :ram
  PROVIDE( s_tls_align = MAX(ALIGNOF(.tdata), 4) );
}
"""),
    # ESP32: location counter set to offsets inside the vector section; spaced ALIGN (16).
    "vector_offsets_inside_a_section": ("xtensa", """
MEMORY { iram (RX) : org = 0x40080000, len = 0x20000 }
SECTIONS {
  .iram0.vectors : ALIGN(4) {
    s_start = ABSOLUTE(.);
    . = 0x0; KEEP(*(.WindowVectors.text));
    . = 0x180; KEEP(*(.Level2InterruptVector.text));
    . = 0x400; s_placeholder = ABSOLUTE(.);
    *(.UserEnter.text);
    . = ALIGN (16);
    s_end = ABSOLUTE(.);
  } > iram
}
"""),
    # cortex-m-rt: a region from a definition that may come from the command line.
    "defined_conditional_region_origin": ("arm", """
MEMORY {
  flash (rx) : ORIGIN = DEFINED(s_flash) ? s_flash : 0x10000000, LENGTH = 64K
}
SECTIONS { .text ORIGIN(flash) : { LONG(0) } > flash }
s_top = ORIGIN(flash) + LENGTH(flash);
ASSERT(ORIGIN(flash) % 4 == 0, "
the start of FLASH must be 4-byte aligned");
"""),
}


@pytest.mark.parametrize("name", sorted(CONSTRUCTS))
def test_real_world_construct_round_trips_and_keeps_lds_result(name: str,
                                                                tmp_path: Path) -> None:
    arch, text = CONSTRUCTS[name]
    script = parse(text, file=f"{name}.ld")
    printed = print_script(script)
    assert parse(printed, file="printed.ld") == script
    (tmp_path / "original").mkdir()
    (tmp_path / "printed").mkdir()
    original = link(arch, text, tmp_path / "original")
    again = link(arch, printed, tmp_path / "printed")
    assert original.returncode == 0, original.stderr
    assert (again.returncode, again.symbols, again.regions) == (
        original.returncode, original.symbols, original.regions)
    evaluated = tuple((r.name, r.origin, r.length, r.attributes)
                      for r in evaluate_memory(script))
    assert evaluated == tuple((r.name, r.origin, r.length, r.attributes)
                              for r in original.regions)


def test_object_macro_naming_a_function_macro_expands_as_gcc_does(tmp_path: Path) -> None:
    # Zephyr's ESP32 scripts re-point SECTION_PROLOGUE at SECTION_DATA_PROLOGUE.
    template = (
        "#define SECTION_DATA_PROLOGUE(name, options, align) name options : ALIGN_WITH_INPUT\n"
        "#define SECTION_PROLOGUE SECTION_DATA_PROLOGUE\n"
        "SECTIONS { SECTION_PROLOGUE(.rtc_noinit, (NOLOAD),) { *(.rtc_noinit) } }\n"
    )
    path = tmp_path / "alias.ld"
    path.write_text(template)
    gcc = subprocess.run([tool("x86", "gcc"), "-E", "-P", "-undef", "-x", "assembler-with-cpp",
                          str(path)], capture_output=True, text=True, check=True)
    ours = preprocess_text(template, str(path)).text
    assert parse(ours) == parse(gcc.stdout)
    (section,) = [s for s in parse(ours).commands[0].commands]
    assert (section.name, section.type) == (".rtc_noinit", "NOLOAD")


_BAD_LETTER = "MEMORY\n{\n  FLASH (rxz) : ORIGIN = 0, LENGTH = 4K\n}\n"


def test_check_reports_an_attribute_letter_ld_rejects_at_the_letter(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "oracle").mkdir()
    result = link("arm", _BAD_LETTER, tmp_path / "oracle")
    assert result.returncode != 0
    assert "invalid character %c (122) in flags" in result.stderr  # sic: ld's own message
    path = tmp_path / "bad.ld"
    path.write_text(_BAD_LETTER)
    assert main(["check", str(path)]) == 1
    assert capsys.readouterr().err == (
        f"{path}:3:12: error: memory region `FLASH': invalid character 'z' in memory "
        "attributes\n"
        "  FLASH (rxz) : ORIGIN = 0, LENGTH = 4K\n"
        "           ^\n"
        "note: GNU ld accepts only r, w, x, a, i, l (either case) and ! between the "
        "parentheses, and stops the link\n"
    )


def test_every_attribute_letter_ld_accepts_passes_check(tmp_path: Path) -> None:
    text = ("MEMORY\n{\n  A (rwxail) : ORIGIN = 0, LENGTH = 4K\n"
            "  B (RWXAIL) : ORIGIN = 4K, LENGTH = 4K\n  C (!rw) : ORIGIN = 8K, LENGTH = 4K\n}\n")
    (tmp_path / "oracle").mkdir()
    assert link("arm", text, tmp_path / "oracle").returncode == 0
    path = tmp_path / "good.ld"
    path.write_text(text)
    assert main(["check", str(path)]) == 0


def test_a_bad_letter_in_an_included_memory_file_names_that_file(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    Path("regions.ld").write_text("  RAM (rw) : ORIGIN = 0, LENGTH = 1K\n"
                                  "  ROM (rq) : ORIGIN = 1K, LENGTH = 1K\n")
    Path("main.ld").write_text("MEMORY\n{\n  INCLUDE regions.ld\n}\n")
    with pytest.raises(ScriptError) as caught:
        load_script("main.ld")
    assert render(caught.value).splitlines()[:3] == [
        "regions.ld:2:9: error: memory region `ROM': invalid character 'q' in memory "
        "attributes",
        "  ROM (rq) : ORIGIN = 1K, LENGTH = 1K",
        "        ^",
    ]


def test_a_broken_script_starting_with_output_arch_reports_the_real_error(
        tmp_path: Path) -> None:
    # The ':' of "i386:x86-64" once made the text look like a SECTIONS body, and the
    # error shown was that reading's, on the first line, not where ld stops.
    text = ('OUTPUT_FORMAT("elf64-x86-64", "elf64-x86-64", "elf64-x86-64")\n'
            "OUTPUT_ARCH(i386:x86-64)\n"
            "SECTIONS\n{\n  .text : { *(.text) s_end = . }\n}\n")
    (tmp_path / "oracle").mkdir()
    result = link("x86", text, tmp_path / "oracle")
    assert result.stderr.endswith("oracle.ld:5: syntax error\n")
    with pytest.raises(ScriptError) as caught:
        parse(text, file="arch.ld")
    assert (caught.value.line, caught.value.message) == (5, "missing `;` after the assignment")


@pytest.mark.parametrize(("spec", "ld_accepts"), [
    ("ORIGIN = 0x1000 LENGTH = 4K", True),
    ("o = 0x1000 LENGTH = 4K", True),
    ("org = 0x1000, len = 4K", True),
    ("o = 0x1000, l = 4K", True),
    ("org = 0x1000 len = 4K", False),
    ("ORIGIN = 0x1000 l = 4K", False),
])
def test_a_region_without_a_comma_needs_the_full_length_keyword_as_in_ld(
        spec: str, ld_accepts: bool, tmp_path: Path) -> None:
    # ld lexes the word after the origin as part of its expression: only `,` or the
    # keyword LENGTH ends it; `len` or `l` there is a name, and a syntax error.
    text = f"MEMORY\n{{\n  rom (rx) : {spec}\n}}\n"
    (tmp_path / "oracle").mkdir()
    assert (link("arm", text, tmp_path / "oracle").returncode == 0) is ld_accepts
    if ld_accepts:
        (region,) = parse(text).commands[0].regions
        assert (region.origin, region.length) == (parse("x = 0x1000;").commands[0].expr,
                                                  parse("x = 4K;").commands[0].expr)
    else:
        with pytest.raises(ScriptError) as caught:
            parse(text, file="rom.ld")
        assert caught.value.line == 3
        assert "expected `,` or `LENGTH`" in caught.value.message


@pytest.mark.parametrize(("text", "ld_accepts"), [
    # A keyword run into a name character is that longer name for ld's lexer.
    ("SECTIONS { .t : { LONG(0) } } INSERT AFTER.data;", False),
    ("SECTIONS { .t : { LONG(0) } } INSERT AFTER .data;", True),
    ("SECTIONS { OVERLAY 0x1000 : NOCROSSREFSAT (0x2000) { .a { LONG(1) } } }", False),
    ("SECTIONS { OVERLAY 0x1000 : NOCROSSREFS AT (0x2000) { .a { LONG(1) } } }", True),
    # In MEMORY `=` continues a name too.
    ("MEMORY { r (rw) : ORIGIN= 0x1000, LENGTH = 4K }", False),
    ("MEMORY { r (rw) : ORIGIN = 0x1000, LENGTH= 4K }", False),
    ("MEMORY { r (rw) : org= 0x1000, len = 4K }", False),
    ("MEMORY { r (rw) : ORIGIN =0x1000, LENGTH =4K }", True),
    ("MEMORY { r (rw) : o =0x1000, l =4K }", True),
    # Inside an output section a PROVIDE's `=` glued to its value starts a name (WILD
    # state); outside one it does not.
    ("SECTIONS { .t : { PROVIDE(s_x =.); } }", False),
    ("SECTIONS { .t : { PROVIDE_HIDDEN(s_x =1); } }", False),
    ("SECTIONS { .t : { PROVIDE(s_x = .); HIDDEN(s_y =(1)); } }", True),
    ("SECTIONS { PROVIDE(s_x =.); }", True),
])
def test_names_are_lexed_longest_first_as_ld_does(text: str, ld_accepts: bool,
                                                  tmp_path: Path) -> None:
    (tmp_path / "oracle").mkdir()
    result = link("x86", text + "\n", tmp_path / "oracle")
    assert (result.returncode == 0) is ld_accepts, result.stderr
    if ld_accepts:
        script = parse(text)
        assert parse(print_script(script)) == script
    else:
        assert "syntax error" in result.stderr
        with pytest.raises(ScriptError) as caught:
            parse(text, file="glued.ld")
        assert caught.value.message.startswith("syntax error: unexpected `")


def _gcc_cpp(path: Path, *options: str) -> list[str]:
    """What GCC's preprocessor makes of a template, as Zephyr runs it, blank lines dropped."""
    run = subprocess.run([tool("x86", "gcc"), "-E", "-P", "-undef", "-x", "assembler-with-cpp",
                          *options, str(path)], capture_output=True, text=True, check=True)
    return [" ".join(line.split()) for line in run.stdout.splitlines() if line.strip()]


def _ours(path: Path, include_dirs: tuple[str, ...] = (),
          defines: tuple[Macro, ...] = ()) -> list[str]:
    text = preprocess_text(path.read_text(), str(path), include_dirs=include_dirs,
                           defines=defines).text
    return [" ".join(line.split()) for line in text.splitlines() if line.strip()]


@pytest.mark.parametrize("defined", [(), ("CONFIG_FOO",), ("CONFIG_FOO", "CONFIG_BAR")])
def test_defined_produced_by_a_macro_is_evaluated_as_gcc_does(
        defined: tuple[str, ...], tmp_path: Path) -> None:
    path = tmp_path / "feature.ld"
    path.write_text(
        "#define HAS_FOO defined(CONFIG_FOO)\n"
        "#define FOO_AND_BAR (HAS_FOO && defined CONFIG_BAR)\n"
        "#if HAS_FOO\ns_foo = 1;\n#endif\n"
        "#if defined(HAS_FOO)\ns_has_foo_macro = 1;\n#endif\n"
        "#if FOO_AND_BAR\ns_both = 1;\n#endif\n"
        "#if !HAS_FOO\ns_no_foo = 1;\n#endif\n")
    gcc = _gcc_cpp(path, *(f"-D{name}=1" for name in defined))
    assert _ours(path, defines=tuple(Macro(name, "1") for name in defined)) == gcc


def test_has_include_is_answered_as_gcc_does(tmp_path: Path) -> None:
    (tmp_path / "include").mkdir()
    (tmp_path / "include" / "soc_regions.h").write_text("")
    (tmp_path / "beside.h").write_text("")
    path = tmp_path / "probe.ld"
    path.write_text(
        '#if __has_include("beside.h")\ns_beside = 1;\n#endif\n'
        "#if __has_include(<soc_regions.h>) && !__has_include(<beside.h>)\ns_angle = 1;\n#endif\n"
        "#if __has_include(<absent.h>)\ns_absent = 1;\n#endif\n"
        "#if defined(__has_include) && defined __has_include\ns_builtin = 1;\n#endif\n")
    include = str(tmp_path / "include")
    gcc = _gcc_cpp(path, f"-I{include}")
    assert gcc == ["s_beside = 1;", "s_angle = 1;", "s_builtin = 1;"]
    assert _ours(path, include_dirs=(include,)) == gcc


def test_a_section_address_glued_to_an_operator_is_one_name_as_in_ld(tmp_path: Path) -> None:
    # ld reads the word after an output section's name with `+`, `-`, `:`... as name
    # characters: `s+1` is a symbol of that name, not s plus one.
    text = "s+1 = 0x2000;\ns = 0x1000;\nSECTIONS { .text s+1 : { LONG(0) } s_at = ADDR(.text); }\n"
    (tmp_path / "oracle").mkdir()
    result = link("x86", text, tmp_path / "oracle")
    assert result.returncode == 0, result.stderr
    assert result.symbols["s_at"] == 0x2000
    script = parse(text)
    (section,) = [s for s in ast.iter_output_sections(script)]
    assert section.address == ast.Symbol("s+1")
    assert parse(print_script(script)) == script
    assert evaluate_symbols(script)["s+1"] == 0x2000


def test_a_section_address_glued_to_its_colon_is_a_syntax_error_as_in_ld(
        tmp_path: Path) -> None:
    text = "s = 0x1000;\nSECTIONS\n{\n  .text s: { LONG(0) }\n}\n"
    (tmp_path / "oracle").mkdir()
    assert link("x86", text, tmp_path / "oracle").stderr.endswith(":4: syntax error\n")
    with pytest.raises(ScriptError) as caught:
        parse(text, file="glued.ld")
    assert (caught.value.line, caught.value.message) == (
        4, "syntax error: unexpected `{`; expected `(` or `:`")
