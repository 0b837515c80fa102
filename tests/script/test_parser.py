"""The parser on each construct of the ld language, fragments, comments and tree helpers."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from placer.cli.output import render
from placer.errors import InputError, ScriptError
from placer.script import FragmentKind, ast, parse, parse_file, print_script
from placer.script.numbers import decode_number
from tests.toolchains import tool


def _only(text: str, kind: FragmentKind | None = None) -> object:
    script = parse(text, kind=kind, check_memory_regions=False)
    assert len(script.commands) == 1, script.commands
    return script.commands[0]


def _section(text: str) -> ast.OutputSection:
    sections = _only(f"SECTIONS {{ {text} }}")
    assert isinstance(sections, ast.Sections)
    section = sections.commands[0]
    assert isinstance(section, ast.OutputSection)
    return section


# --- numbers ------------------------------------------------------------------------------

NUMBER_CASES = {
    "0": 0,
    "42": 42,
    "010": 8,
    "09": 0,
    "0x10": 16,
    "0X1f": 31,
    "0x10K": 0x4000,
    "4K": 4096,
    "2M": 2 * 1024 * 1024,
    "$10": 16,
    "$1fK": 31 * 1024,
    "1000h": 0x1000,
    "17o": 15,
    "101b": 5,
    "99d": 99,
    "add": 0,
    "deadh": 0xDEAD,
}


@pytest.mark.parametrize(("text", "value"), sorted(NUMBER_CASES.items()))
def test_numbers_decode_as_gnu_ld_reads_them(text: str, value: int) -> None:
    assert decode_number(text) == value
    assignment = _only(f"x = {text};")
    assert isinstance(assignment, ast.Assignment)
    assert assignment.expr == ast.Number(value, text)


@pytest.mark.toolchain("arm")
def test_number_decoding_matches_gnu_ld(tmp_path: Path) -> None:
    names = {f"n{i}": text for i, text in enumerate(sorted(NUMBER_CASES))}
    script = tmp_path / "numbers.ld"
    script.write_text("".join(f"{name} = {text};\n" for name, text in names.items()))
    source = tmp_path / "empty.s"
    source.write_text("\n")
    obj = tmp_path / "empty.o"
    subprocess.run([tool("arm", "as"), str(source), "-o", str(obj)], check=True)
    out = tmp_path / "out.elf"
    subprocess.run(
        [tool("arm", "ld"), "-T", str(script), str(obj), "-o", str(out)],
        check=True,
        capture_output=True,
    )
    listing = subprocess.run(
        [tool("arm", "nm"), str(out)], check=True, capture_output=True, text=True
    ).stdout
    values = {line.split()[2]: int(line.split()[0], 16) for line in listing.splitlines()}
    mask = 0xFFFFFFFF  # a 32-bit target truncates symbol values
    for name, text in names.items():
        assert values[name] == decode_number(text) & mask, text


def test_hex_letters_with_a_base_suffix_are_a_number_but_longer_names_are_symbols() -> None:
    script = parse("x = add; y = adding;")
    first, second = script.commands
    assert isinstance(first, ast.Assignment) and isinstance(second, ast.Assignment)
    assert first.expr == ast.Number(0, "add")
    assert second.expr == ast.Symbol("adding")


# --- lexer states ------------------------------------------------------------------------


def test_minus_is_a_name_character_in_script_state_but_an_operator_in_expressions() -> None:
    assignment = _only("a-b = c-d;")
    assert assignment == ast.Assignment(
        "a-b", "=", ast.BinaryOp("-", ast.Symbol("c"), ast.Symbol("d"))
    )


def test_slash_joins_symbols_in_expressions_as_in_gnu_ld() -> None:
    assert _only("c = a/b;") == ast.Assignment("c", "=", ast.Symbol("a/b"))


def test_slash_after_an_operand_divides_even_without_a_space_after_it() -> None:
    assert _only("c = a /b;") == ast.Assignment(
        "c", "=", ast.BinaryOp("/", ast.Symbol("a"), ast.Symbol("b"))
    )


def test_discard_after_a_fill_expression_is_the_next_output_section() -> None:
    sections = _only("SECTIONS { .a : { *(.a) } = 0x90 /DISCARD/ : { *(.x) } }")
    assert isinstance(sections, ast.Sections)
    first, second = sections.commands
    assert isinstance(first, ast.OutputSection) and isinstance(second, ast.OutputSection)
    assert first.fill == ast.Number(0x90, "0x90")
    assert second.name == "/DISCARD/"


def test_quoted_names_are_the_same_names() -> None:
    assert _section('".text" : { *(".text.*") }') == _section(".text : { *(.text.*) }")


def test_strings_may_span_lines() -> None:
    statement = _only('ASSERT(1, "one\ntwo")')
    assert statement == ast.Assert(ast.Number(1, "1"), "one\ntwo")


def test_hash_starts_a_line_comment_but_double_slash_does_not() -> None:
    assert parse("# a comment\nx = 1; # trailing\n").commands[1] == ast.Assignment(
        "x", "=", ast.Number(1, "1")
    )
    with pytest.raises(ScriptError):
        parse("// not a comment\nx = 1;\n", kind=FragmentKind.SCRIPT)


# --- constructs ---------------------------------------------------------------------------


def test_memory_regions_with_attributes_abbreviations_and_optional_commas() -> None:
    memory = _only(
        "MEMORY { FLASH (rx!w) : org = 0x0, len = 256K\n"
        # No comma after the origin: ld then needs the keyword LENGTH ("l" would be read
        # as a name continuing the origin expression).
        " RAM (rwx) : o = 0x20000000 LENGTH = DEFINED(big) ? 64K : 32K }"
    )
    assert isinstance(memory, ast.Memory)
    flash, ram = memory.regions
    assert (flash.name, flash.attributes, flash.origin, flash.length) == (
        "FLASH",
        "rx!w",
        ast.Number(0, "0x0"),
        ast.Number(256 * 1024, "256K"),
    )
    assert ram.attributes == "rwx"
    assert isinstance(ram.length, ast.Conditional)


def test_every_output_section_attribute() -> None:
    section = _section(
        ".data 0x100 (READONLY(TYPE = SHT_PROGBITS)) : AT(0x200) ALIGN(8) SUBALIGN(4) "
        "ONLY_IF_RW { *(.data) } > RAM AT> FLASH :text :data = 0xff,"
    )
    assert section.address == ast.Number(0x100, "0x100")
    assert (section.type, section.type_value) == ("READONLY", ast.Symbol("SHT_PROGBITS"))
    assert section.lma == ast.Number(0x200, "0x200")
    assert section.align == ast.Number(8, "8")
    assert section.subalign == ast.Number(4, "4")
    assert section.constraint == "ONLY_IF_RW"
    assert (section.region, section.lma_region) == ("RAM", "FLASH")
    assert section.phdrs == ("text", "data")
    assert section.fill == ast.Number(0xFF, "0xff")


@pytest.mark.parametrize("kind", ["NOLOAD", "DSECT", "COPY", "INFO", "OVERLAY", "READONLY"])
def test_output_section_types(kind: str) -> None:
    assert _section(f".x ({kind}) : {{ }}").type == kind


def test_type_equals_and_align_with_input() -> None:
    section = _section(".x (TYPE = 7) : ALIGN_WITH_INPUT { }")
    assert (section.type, section.type_value) == ("TYPE", ast.Number(7, "7"))
    assert section.align_with_input


def test_input_section_descriptions_with_keep_flags_exclude_and_sorting() -> None:
    body = parse(
        "KEEP(INPUT_SECTION_FLAGS(SHF_WRITE & !SHF_EXECINSTR) *(.a))\n"
        "EXCLUDE_FILE(*crtend.o) *(.ctors)\n"
        "*(EXCLUDE_FILE(*crtend.o *crtend?.o) .dtors .x)\n"
        "*(SORT_BY_NAME(SORT_BY_ALIGNMENT(.text.*)) REVERSE(.y*))\n"
        "SORT(*)(.idata$5)\n"
        "libc.a:memcpy.o(.text)\n"
        "[ .mri ]\n"
        "crt0.o\n",
        kind=FragmentKind.OUTPUT_SECTION_BODY,
    )
    keep, exclude_file, exclude_section, nested, sorted_file, member, mri, bare = body.commands
    assert keep == ast.InputSectionDescription(
        ast.Pattern("*"),
        (ast.Pattern(".a"),),
        keep=True,
        flags=("SHF_WRITE", "!SHF_EXECINSTR"),
    )
    assert exclude_file.file == ast.Pattern("*", ("*crtend.o",))  # type: ignore[union-attr]
    assert exclude_section.sections == (  # type: ignore[union-attr]
        ast.Pattern(".dtors", ("*crtend.o", "*crtend?.o")),
        ast.Pattern(".x"),
    )
    assert nested.sections == (  # type: ignore[union-attr]
        ast.SortedPattern(("SORT_BY_NAME", "SORT_BY_ALIGNMENT"), ast.Pattern(".text.*")),
        ast.SortedPattern(("REVERSE",), ast.Pattern(".y*")),
    )
    assert sorted_file.file == ast.SortedPattern(("SORT",), ast.Pattern("*"))  # type: ignore[union-attr]
    assert member.file == ast.Pattern("libc.a:memcpy.o")  # type: ignore[union-attr]
    assert mri == ast.InputSectionDescription(None, (ast.Pattern(".mri"),))
    assert bare == ast.InputSectionDescription(ast.Pattern("crt0.o"), None)


def test_data_commands_fill_and_keywords() -> None:
    body = parse(
        "BYTE(1) SHORT(2) LONG(3) QUAD(4) SQUAD(5) FILL(0x90) CREATE_OBJECT_SYMBOLS "
        'CONSTRUCTORS SORT(CONSTRUCTORS) ASSERT(. > 0, "empty");',
        kind=FragmentKind.OUTPUT_SECTION_BODY,
    )
    sizes = [c.size for c in body.commands if isinstance(c, ast.DataCommand)]
    assert sizes == ["BYTE", "SHORT", "LONG", "QUAD", "SQUAD"]
    assert ast.Fill(ast.Number(0x90, "0x90")) in body.commands
    assert ast.Command("SORT", ("CONSTRUCTORS",)) in body.commands
    assert isinstance(body.commands[-1], ast.Assert)


@pytest.mark.parametrize(
    ("text", "provide", "op"),
    [
        ("x += 4;", None, "+="),
        ("x <<= 1;", None, "<<="),
        ("x |= 1,", None, "|="),
        ("PROVIDE(x = 1);", "PROVIDE", "="),
        ("PROVIDE_HIDDEN(x = 1);", "PROVIDE_HIDDEN", "="),
        ("HIDDEN(x = 1);", "HIDDEN", "="),
    ],
)
def test_assignments(text: str, provide: str | None, op: str) -> None:
    assignment = _only(text)
    assert isinstance(assignment, ast.Assignment)
    assert (assignment.provide, assignment.op) == (provide, op)


def test_top_level_commands() -> None:
    script = parse(
        'OUTPUT_FORMAT("elf32-littlearm", "elf32-bigarm", "elf32-littlearm")\n'
        'OUTPUT_ARCH(arm) ENTRY(_start) TARGET(binary) SEARCH_DIR("=/usr/lib")\n'
        "STARTUP(crt0.o) OUTPUT(a.out) MAP(a.map) FORCE_COMMON_ALLOCATION\n"
        "INHIBIT_COMMON_ALLOCATION FORCE_GROUP_ALLOCATION NOCROSSREFS(.a .b)\n"
        'NOCROSSREFS_TO(.a .b) EXTERN(a b, c) LD_FEATURE("SANE_EXPR")\n'
        "INPUT(a.o -lc AS_NEEDED(libm.so)) GROUP(libc.a libgcc.a)\n"
        "MEMORY { rom : ORIGIN = 0, LENGTH = 1K }\n"
        'REGION_ALIAS("FLASH", rom) INCLUDE extra.ld\n'
        "SECTIONS { .x : { } } INSERT AFTER .text\n"
        "PHDRS { text PT_LOAD FILEHDR PHDRS AT(0) FLAGS(5); note 4; }\n"
        'VERSION { V1 { global: foo; extern "C++" { ns::*; }; local: *; }; '
        'V2 { "exact"; } V1; }\n',
        check_memory_regions=False,
    )
    kinds = [type(c).__name__ for c in script.commands]
    assert kinds.count("Command") == 15
    input_ = next(c for c in script.commands if isinstance(c, ast.Input))
    assert input_.files == (
        ast.InputFile("a.o"),
        ast.InputFile("c", library=True),
        ast.AsNeeded((ast.InputFile("libm.so"),)),
    )
    assert ast.Command("EXTERN", ("a", "b", "c")) in script.commands
    assert ast.RegionAlias("FLASH", "rom") in script.commands
    assert ast.Insert("AFTER", ".text") in script.commands
    phdrs = next(c for c in script.commands if isinstance(c, ast.Phdrs))
    assert phdrs.headers[0] == ast.PhdrDecl(
        "text",
        ast.Symbol("PT_LOAD"),
        filehdr=True,
        phdrs=True,
        at=ast.Number(0, "0"),
        flags=ast.Number(5, "5"),
    )
    version = next(c for c in script.commands if isinstance(c, ast.Version))
    v1, v2 = version.nodes
    assert v1.globals == (
        ast.VersionSymbol("foo"),
        ast.VersionExtern("C++", (ast.VersionSymbol("ns::*"),)),
    )
    assert v1.locals == (ast.VersionSymbol("*"),)
    assert (v2.globals, v2.dependencies) == ((ast.VersionSymbol("exact", literal=True),), ("V1",))


def test_overlay() -> None:
    sections = _only(
        "SECTIONS { OVERLAY 0x1000 : NOCROSSREFS AT(0x4000) { .a { *(.a) } :p = 1 .b { *(.b) } }"
        " > RAM :p }"
    )
    assert isinstance(sections, ast.Sections)
    overlay = sections.commands[0]
    assert isinstance(overlay, ast.Overlay)
    assert overlay.nocrossrefs and overlay.region == "RAM" and overlay.phdrs == ("p",)
    assert [s.name for s in overlay.sections] == [".a", ".b"]
    assert overlay.sections[0].fill == ast.Number(1, "1")


def test_every_expression_builtin_parses_and_prints_back() -> None:
    text = (
        "x = ABSOLUTE(.) + ADDR(.text) + ALIGN(4) + ALIGN(., 8) + ALIGNOF(.data) + BLOCK(4)"
        " + CONSTANT(MAXPAGESIZE) + DATA_SEGMENT_ALIGN(0x1000, 0x100) + DATA_SEGMENT_END(.)"
        " + DATA_SEGMENT_RELRO_END(0, .) + DEFINED(y) + LENGTH(RAM) + LOADADDR(.data)"
        " + LOG2CEIL(5) + MAX(1, 2) + MIN(1, 2) + NEXT(4) + ORIGIN(RAM)"
        ' + SEGMENT_START("text-segment", 0) + SIZEOF(.bss) + SIZEOF_HEADERS'
        ' + ASSERT(1, "ok") + (a ? b : c) - -~!+1 * 2 / 3 % 4 << 1 >> 1 < 1 <= 1 > 1'
        " >= 1 == 1 != 1 & 1 ^ 1 | 1 && 1 || 1;\n"
    )
    script = parse(text)
    assert parse(print_script(script)) == script
    functions = set()
    for node in _walk(script.commands[0].expr):  # type: ignore[union-attr]
        if isinstance(node, ast.Call):
            functions.add(node.function)
    assert functions == {
        "ABSOLUTE",
        "ADDR",
        "ALIGN",
        "ALIGNOF",
        "BLOCK",
        "CONSTANT",
        "DATA_SEGMENT_ALIGN",
        "DATA_SEGMENT_END",
        "DATA_SEGMENT_RELRO_END",
        "DEFINED",
        "LENGTH",
        "LOADADDR",
        "LOG2CEIL",
        "MAX",
        "MIN",
        "NEXT",
        "ORIGIN",
        "SEGMENT_START",
        "SIZEOF",
        "SIZEOF_HEADERS",
        "ASSERT",
    }


def _walk(expr: ast.Expr) -> list[ast.Expr]:
    found: list[ast.Expr] = [expr]
    for child in (
        getattr(expr, "left", None),
        getattr(expr, "right", None),
        getattr(expr, "operand", None),
        getattr(expr, "condition", None),
        getattr(expr, "then", None),
        getattr(expr, "otherwise", None),
        *getattr(expr, "args", ()),
    ):
        if child is not None:
            found.extend(_walk(child))
    return found


def test_operators_follow_c_precedence() -> None:
    expr = _only("x = 1 + 2 * 3 << 1 == 14 || 0;").expr  # type: ignore[union-attr]
    assert print_script(expr) == "1 + 2 * 3 << 1 == 14 || 0"
    assert isinstance(expr, ast.BinaryOp) and expr.op == "||"
    shifted = expr.left.left  # type: ignore[union-attr]
    assert shifted.op == "<<" and shifted.left.op == "+"  # type: ignore[union-attr]


def test_left_associativity_survives_printing() -> None:
    expr = _only("x = 10 - (4 - 3);").expr  # type: ignore[union-attr]
    assert print_script(expr) == "10 - (4 - 3)"


# --- fragments ----------------------------------------------------------------------------


def test_a_zephyr_noinit_snippet_is_an_output_section_body() -> None:
    snippet = parse("*(.llext_heap)\nKEEP(*(.llext_instr_heap))\n")
    assert snippet.kind is FragmentKind.OUTPUT_SECTION_BODY
    assert snippet.commands[0] == ast.InputSectionDescription(
        ast.Pattern("*"), (ast.Pattern(".llext_heap"),)
    )


def test_a_list_of_output_sections_is_a_sections_body() -> None:
    snippet = parse(".llext_heap (NOLOAD) : { *(.llext_heap) } > SRAM\n")
    assert snippet.kind is FragmentKind.SECTIONS_BODY


def test_assignments_alone_read_as_a_whole_script() -> None:
    assert parse("x = 1;").kind is FragmentKind.SCRIPT


def test_a_named_kind_is_not_second_guessed() -> None:
    with pytest.raises(ScriptError, match="expected"):
        parse("*(.text)", kind=FragmentKind.SCRIPT)


def test_printing_a_fragment_keeps_its_kind() -> None:
    snippet = parse("*(.a)\n. = ALIGN(4);\n", kind=FragmentKind.OUTPUT_SECTION_BODY)
    assert print_script(snippet) == "*(.a)\n. = ALIGN(4);\n"


# --- comments and printing ----------------------------------------------------------------


def test_comments_on_their_own_lines_are_kept_where_they_stand() -> None:
    text = (
        "/* header */\n"
        "SECTIONS\n"
        "{\n"
        "    # before text\n"
        "    .text :\n"
        "    {\n"
        "        /* inside */\n"
        "        *(.text) /* trailing comments are dropped */\n"
        "    }\n"
        "}\n"
    )
    script = parse(text)
    assert script.commands[0] == ast.Comment("/* header */")
    sections = script.commands[1]
    assert isinstance(sections, ast.Sections)
    assert sections.commands[0] == ast.Comment("# before text")
    section = sections.commands[1]
    assert isinstance(section, ast.OutputSection)
    assert section.commands[0] == ast.Comment("/* inside */")
    assert print_script(script) == text.replace(" /* trailing comments are dropped */", "")


def test_printed_layout_is_canonical() -> None:
    # `ORIGIN=` with no blank is one name in ld's MEMORY state, a syntax error.
    text = "MEMORY{RAM(rwx):ORIGIN =0x20000000,LENGTH =64K}SECTIONS{.data :{*(.data*)}>RAM AT>RAM}"
    assert print_script(parse(text)) == (
        "MEMORY\n"
        "{\n"
        "    RAM (rwx) : ORIGIN = 0x20000000, LENGTH = 64K\n"
        "}\n"
        "SECTIONS\n"
        "{\n"
        "    .data :\n"
        "    {\n"
        "        *(.data*)\n"
        "    } > RAM AT> RAM\n"
        "}\n"
    )


def test_names_that_would_lex_differently_are_quoted() -> None:
    script = ast.Script(
        (
            ast.Assignment("my symbol", "=", ast.Symbol("a-b")),
            ast.Sections(
                (
                    ast.OutputSection(
                        "KEEP",
                        (ast.InputSectionDescription(ast.Pattern("*"), (ast.Pattern("x=1"),)),),
                    ),
                )
            ),
        )
    )
    printed = print_script(script)
    assert '"my symbol" = "a-b";' in printed
    assert '"KEEP" :' in printed and '*("x=1")' in printed
    assert parse(printed) == script


# --- spans and diagnostics ----------------------------------------------------------------


def test_nodes_carry_their_source_position_outside_equality() -> None:
    script = parse("\n\n  x = 1;", file="board.ld")
    assignment = script.commands[0]
    assert assignment.span is not None
    assert (assignment.span.file, assignment.span.line, assignment.span.column) == (
        "board.ld",
        3,
        3,
    )
    assert assignment == ast.Assignment("x", "=", ast.Number(1, "1"))


def test_error_render_has_location_line_and_caret() -> None:
    with pytest.raises(ScriptError) as caught:
        parse("SECTIONS\n{\n  x=1+2;\n}\n", file="board.ld")
    assert render(caught.value).splitlines() == [
        "board.ld:3:3: error: `x=1+2` is read as one name: here GNU ld counts `=`, `+`, "
        "`-` and `,` as name characters; write spaces around the operator: `x = 1+2`",
        "  x=1+2;",
        "  ^",
    ]


def test_a_colon_touching_a_section_name_is_part_of_the_name_as_in_gnu_ld() -> None:
    with pytest.raises(ScriptError) as caught:
        parse("SECTIONS { .data: { *(.data) } }", kind=FragmentKind.SCRIPT)
    assert caught.value.message == (
        "`.data:` is read as one name (`:` is a name character here, as in GNU ld); "
        "write a space before the `:`"
    )


def test_region_check_runs_when_asked_even_without_memory() -> None:
    text = "SECTIONS { .x : { } > RAM }"
    assert parse(text).commands
    with pytest.raises(ScriptError, match="memory region `RAM`"):
        parse(text, check_memory_regions=True)


def test_region_alias_counts_as_a_declared_region() -> None:
    parse(
        'MEMORY { rom : ORIGIN = 0, LENGTH = 1K }\nREGION_ALIAS("FLASH", rom)\n'
        "SECTIONS { .text : { } > FLASH }"
    )


# --- tree helpers -------------------------------------------------------------------------

BOARD = """MEMORY { RAM (rwx) : ORIGIN = 0x20000000, LENGTH = 64K }
SECTIONS
{
    .data : { *(.data) } > RAM
    .noinit (NOLOAD) : { *(.noinit) } > RAM
    .bss : { *(.bss) } > RAM
}
"""


def test_find_output_section() -> None:
    script = parse(BOARD)
    noinit = ast.find_output_section(script, ".noinit")
    assert noinit is not None and noinit.type == "NOLOAD"
    assert ast.find_output_section(script, ".nope") is None
    region = next(s for s in ast.iter_statements(script)
                  if isinstance(s, ast.MemoryRegionDecl) and s.name == "RAM")
    assert region is not None and region.origin == ast.Number(0x20000000, "0x20000000")


def test_insert_after_returns_a_new_tree_with_the_section_in_place() -> None:
    script = parse(BOARD)
    heap = ast.OutputSection(
        ".llext_heap",
        (ast.InputSectionDescription(ast.Pattern("*"), (ast.Pattern(".llext_heap"),)),),
        type="NOLOAD",
        region="RAM",
    )
    noinit = ast.find_output_section(script, ".noinit")
    edited = ast.insert_after(script, noinit, heap)
    names = [s.name for s in ast.iter_output_sections(edited)]
    assert names == [".data", ".noinit", ".llext_heap", ".bss"]
    assert [s.name for s in ast.iter_output_sections(script)] == [".data", ".noinit", ".bss"]
    assert parse(print_script(edited)) == edited


def test_insert_into_an_output_section_and_replace() -> None:
    script = parse(BOARD)
    noinit = ast.find_output_section(script, ".noinit")
    assert noinit is not None
    extra = ast.InputSectionDescription(ast.Pattern("*"), (ast.Pattern(".llext"),))
    edited = ast.insert_after(script, noinit.commands[0], extra)
    updated = ast.find_output_section(edited, ".noinit")
    assert updated is not None and updated.commands[1] == extra
    removed = ast.replace(edited, updated)
    assert ast.find_output_section(removed, ".noinit") is None
    with pytest.raises(ValueError, match="not found"):
        ast.insert_after(script, ast.Comment("/* absent */"), extra)
    renamed = ast.with_commands(noinit, ())
    assert renamed.commands == () and renamed.name == ".noinit"


def test_include_is_read_at_every_level_ld_allows() -> None:
    script = parse(
        "INCLUDE top.ld\n"
        "MEMORY { INCLUDE regions.ld }\n"
        "SECTIONS { INCLUDE sections.ld .text : { INCLUDE inputs.ld *(.text) } }\n",
        check_memory_regions=False,
    )
    memory, sections = script.commands[1], script.commands[2]
    assert script.commands[0] == ast.Include("top.ld")
    assert isinstance(memory, ast.Memory) and memory.commands == (ast.Include("regions.ld"),)
    assert isinstance(sections, ast.Sections)
    assert sections.commands[0] == ast.Include("sections.ld")
    text = sections.commands[1]
    assert isinstance(text, ast.OutputSection)
    assert text.commands[0] == ast.Include("inputs.ld")
    assert parse(print_script(script), check_memory_regions=False) == script


def test_a_form_feed_does_not_shift_the_line_shown_under_an_error() -> None:
    # GNU sources separate pages with ^L; only '\n' ends a line for ld and for the caret.
    with pytest.raises(ScriptError) as caught:
        parse("/* page */\f\nx = 1;\ny = 2\nz = 3;\n", file="board.ld")
    assert render(caught.value).splitlines()[:2] == [
        "board.ld:3:6: error: missing `;` after the assignment",
        "y = 2",
    ]


def test_a_script_that_cannot_be_read_is_an_input_error_naming_it(
    tmp_path: Path,
) -> None:
    with pytest.raises(InputError) as caught:
        parse_file(tmp_path / "absent.ld")
    assert render(caught.value) == (
        f"{tmp_path / 'absent.ld'}: error: cannot read the linker script: "
        "No such file or directory")


def test_an_expression_too_deep_to_print_is_a_script_error() -> None:
    script = parse("x = " + " + ".join(["1"] * 3000) + ";\n", file="deep.ld")
    with pytest.raises(ScriptError) as caught:
        print_script(script)
    assert render(caught.value) == "deep.ld:1:1: error: expressions nest too deeply to print"


def test_the_printer_quotes_exactly_the_grammar_s_keywords() -> None:
    # KEYWORDS is spelled out so printing needs no parser; it must not drift from ld.lark.
    from placer.script.parser import _engine
    from placer.script.printer import KEYWORDS

    words = {text for text in _engine().literals.values()
             if text.replace("_", "").isalnum() and not text[0].isdigit()}
    assert words == KEYWORDS


def test_a_process_that_parses_again_and_again_does_not_keep_its_garbage() -> None:
    """`parse` pauses the collector; afterwards the caller's garbage cycles must still be
    collected. (Moving every young object to the oldest generation after a parse left
    them where no full collection came: a build system or fuzz worker calling placer in
    one process grew by every cycle it dropped.)"""
    import gc

    gc.collect()
    before = len(gc.get_objects())
    for _ in range(3000):
        cycle: list[object] = []
        cycle.append(cycle)  # dropped by the caller: only the collector frees it
        del cycle
        parse("SECTIONS { .a : { *(.a) } }")
    assert len(gc.get_objects()) - before < 1000
