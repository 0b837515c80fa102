"""The evaluator on parsed script text: number forms and real-world MEMORY idioms vs GNU ld."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from placer.cli.output import render
from placer.errors import ScriptError
from placer.script import ast, print_script
from placer.script.evaluate import (
    LINKER_TARGETS,
    Unknown,
    evaluate_memory,
    evaluate_symbols,
    target_for_bfd_name,
    target_for_script,
)
from placer.script.includes import load_script
from placer.script.parser import parse
from tests.script.ld_oracle import link

# Every number form of ld's lexer, with the value GNU ld 2.40 gives it.
NUMBER_FORMS = [
    ("0x10", 0x10), ("0X1F", 0x1F), ("010", 8), ("09", 0), ("0", 0), ("123", 123),
    ("$1f", 0x1F), ("$10K", 0x4000), ("0x10K", 0x4000), ("0x2M", 0x200000), ("1K", 1024),
    ("2M", 2 * 1024 * 1024), ("077K", 0o77 * 1024), ("0K", 0), ("1h", 1), ("1fh", 0x1F),
    ("10o", 8), ("101b", 5), ("99d", 99), ("12b", 1), ("0xffffffffffffffff", 2**64 - 1),
]

# Past 64 bits ld's bfd_scan_vma calls strtoull, which saturates instead of wrapping.
OVERFLOWING_FORMS = [
    ("18446744073709551617", 2**64 - 1), ("0x10000000000000000", 2**64 - 1),
    ("99999999999999999999K", (2**64 - 1) * 1024 % 2**64),
]


@pytest.mark.parametrize("arch", ["arm", "x86"])
def test_number_forms_equal_gnu_ld(arch: str, tmp_path: Path) -> None:
    text = "".join(f"s_{i} = {form};\n" for i, (form, _) in enumerate(NUMBER_FORMS))
    result = link(arch, text, tmp_path)
    assert result.returncode == 0, result.stderr
    target = LINKER_TARGETS[arch]
    symbols = evaluate_symbols(parse(text, file="numbers.ld"), target=target)
    expected = {f"s_{i}": value & target.mask for i, (_, value) in enumerate(NUMBER_FORMS)}
    assert {name: symbols[name] for name in symbols} == expected
    assert {name: result.symbols[name] for name in expected} == expected


def test_overflowing_numbers_saturate_as_in_ld(tmp_path: Path) -> None:
    text = "".join(f"s_{i} = {form};\n" for i, (form, _) in enumerate(OVERFLOWING_FORMS))
    result = link("x86", text, tmp_path)
    expected = {f"s_{i}": value for i, (_, value) in enumerate(OVERFLOWING_FORMS)}
    assert {name: result.symbols[name] for name in expected} == expected
    symbols = evaluate_symbols(parse(text, file="numbers.ld"))
    assert {name: symbols[name] for name in symbols} == expected


# picolibc's picolibc.ld shape: every bound can be overridden with --defsym or a symbol
# defined before MEMORY, else a default applies.
PICOLIBC_STYLE = """\
__flash_size = 256K;
MEMORY
{
    flash (rx!w) : ORIGIN = DEFINED(__flash) ? __flash : 0x10000000,
                   LENGTH = DEFINED(__flash_size) ? __flash_size : 0x400000
    ram (w!rx) : ORIGIN = DEFINED(__ram) ? __ram : 0x20000000,
                 LENGTH = DEFINED(__ram_size) ? __ram_size : 0x200000
    stack (w!rx) : ORIGIN = ORIGIN(ram) + LENGTH(ram) - __stack_size, LENGTH = __stack_size
}
PROVIDE(__stack_size = 4K);
"""


@pytest.mark.parametrize(
    "defsyms",
    [{}, {"__flash": 0x8000000}, {"__ram": 0x20010000, "__ram_size": 0x8000}],
    ids=["defaults", "flash-moved", "ram-moved"],
)
def test_picolibc_style_memory_equals_gnu_ld(defsyms: dict[str, int], tmp_path: Path) -> None:
    extra = tuple(arg for name, value in defsyms.items()
                  for arg in ("--defsym", f"{name}={value:#x}"))
    result = link("arm", PICOLIBC_STYLE, tmp_path, extra=extra)
    assert result.regions, result.stderr
    regions = evaluate_memory(parse(PICOLIBC_STYLE, file="picolibc.ld"),
                              target=LINKER_TARGETS["arm"], defsyms=defsyms)
    assert [(r.name, r.origin, r.length, r.attributes) for r in regions] == [
        (r.name, r.origin, r.length, r.attributes) for r in result.regions]


def test_region_spans_point_at_the_declaration() -> None:
    regions = evaluate_memory(parse(PICOLIBC_STYLE, file="picolibc.ld"))
    assert [(r.span.line, r.span.column) for r in regions if r.span] == [(4, 5), (6, 5), (8, 5)]


@pytest.mark.parametrize(
    ("name", "arch", "bits"),
    [("elf32-littlearm", "arm", 32), ("elf64-littleriscv", "riscv", 64),
     ("elf32-littleriscv", "riscv", 32), ("elf32-littlearc", "arc", 32),
     ("elf32-xtensa-le", "xtensa", 32), ("elf64-x86-64", "x86", 64),
     ("i386:x86-64", "x86", 64), ("elf64-littleaarch64", "arm64", 64),
     ("aarch64", "arm64", 64)],
)
def test_target_from_bfd_names(name: str, arch: str, bits: int) -> None:
    target = target_for_bfd_name(name)
    assert target is not None
    assert target.address_bits == bits
    assert target.max_page_size == LINKER_TARGETS[arch].max_page_size


def test_target_from_the_scripts_output_format() -> None:
    script = parse('OUTPUT_FORMAT("elf32-littlearm", "elf32-bigarm", "elf32-littlearm")\n'
                   "x = CONSTANT(MAXPAGESIZE);\n", file="t.ld")
    assert target_for_script(script) == LINKER_TARGETS["arm"]
    assert target_for_script(ast.Script(())) is None


PHDRS_SCRIPT = """\
PHDRS { text PT_LOAD FILEHDR PHDRS; data PT_LOAD; note PT_NOTE; }
s_headers = SIZEOF_HEADERS;
SECTIONS
{
    . = 0x1000 + SIZEOF_HEADERS;
    .text : { LONG(0) } :text
    .data : { LONG(1) } :data
}
"""


@pytest.mark.parametrize("arch", ["arm", "x86"])
def test_sizeof_headers_with_phdrs_equals_gnu_ld(arch: str, tmp_path: Path) -> None:
    result = link(arch, PHDRS_SCRIPT, tmp_path)
    assert result.returncode == 0, result.stderr
    symbols = evaluate_symbols(parse(PHDRS_SCRIPT, file="phdrs.ld"),
                               target=LINKER_TARGETS[arch])
    assert symbols["s_headers"] == result.symbols["s_headers"]


# Each found by the random-script comparison with ld (test_evaluate_ld.py), pinned here.
ORDER_CASES = [
    ("PROVIDE(s_a = 5);\ns_a += 1;\n", {"s_a": 6}),
    ("s_a += 1;\nPROVIDE(s_a = 5);\n", {"s_a": 5}),
    ("PROVIDE(s_a = 5);\ns_b = s_a;\ns_a = 1;\n", {"s_a": 1, "s_b": 1}),
    ("PROVIDE(s_a = 5);\ns_b = DEFINED(s_a);\ns_a = 1;\n", {"s_a": 1, "s_b": 0}),
    ("PROVIDE(s_a = 5);\nPROVIDE(s_a = 6);\ns_b = s_a;\n", {"s_a": 5, "s_b": 5}),
    ("s_a = DEFINED(s_a) ? s_a + 1 : 7;\n", {"s_a": 7}),
    ("s_b = s_a + 1;\ns_a = 3;\ns_a = s_a * 2;\n", {"s_a": 6, "s_b": 7}),
    ("PROVIDE(s_p = 0);\ns_q = DEFINED(s_p);\nPROVIDE(s_r = s_p);\n", {"s_q": 0}),
    ("PROVIDE(s_p = 3);\ns_q = DEFINED(s_p);\ns_r = s_p;\n", {"s_p": 3, "s_q": 1, "s_r": 3}),
    ("s_a = s_a + 1;\ns_a = 3;\ns_b = s_a;\n", {"s_a": 3, "s_b": 3}),
]


@pytest.mark.parametrize(("text", "expected"), ORDER_CASES)
def test_assignment_order_rules_equal_gnu_ld(text: str, expected: dict[str, int],
                                             tmp_path: Path) -> None:
    result = link("x86", text, tmp_path)
    assert result.returncode == 0, result.stderr
    assert {name: result.symbols[name] for name in expected} == expected
    symbols = evaluate_symbols(parse(text, file="order.ld"))
    assert {name: symbols[name] for name in expected} == expected


@pytest.mark.parametrize("text", [
    "s_a = s_b + 1;\ns_b = s_a;\n",
    "s_1 = s_2;\ns_2 += 0;\ns_2 = DEFINED(s_2);\n",
    "s_a = 1;\ns_a += s_b;\ns_b = s_a;\n",
])
def test_values_that_depend_on_lds_pass_count_are_unknown(text: str) -> None:
    symbols = evaluate_symbols(parse(text, file="cycle.ld"))
    unknown = [name for name in symbols if isinstance(symbols[name], Unknown)]
    assert unknown
    for name in unknown:
        assert symbols[name] == Unknown(f"`{name}' depends on itself through other assignments")


def test_an_invalid_attribute_letter_is_an_error_as_in_ld(tmp_path: Path) -> None:
    text = "MEMORY\n{\n  RAM (rwq) : ORIGIN = 0, LENGTH = 1K\n}\n"
    result = link("x86", text, tmp_path)
    assert "invalid character %c (113) in flags" in result.stderr  # ld's own typo
    with pytest.raises(ScriptError) as caught:
        evaluate_memory(parse(text, file="bad.ld"))
    assert render(caught.value) == (
        "bad.ld:3:3: error: memory region `RAM': invalid character 'q' in memory attributes")


_FUNCTIONS = ["ORIGIN", "LENGTH", "ALIGN", "MAX", "MIN", "LOG2CEIL", "DEFINED", "ABSOLUTE",
              "CONSTANT", "ADDR", "SIZEOF", "LOADADDR", "NEXT", "SEGMENT_START", "ASSERT",
              "DATA_SEGMENT_ALIGN", "DATA_SEGMENT_END", "ALIGNOF", "BLOCK"]
_ATOMS = st.sampled_from(["0", "1", "0x10K", "s_a", "s_b", "RAM", ".", "MAXPAGESIZE",
                          '"text"', "-1", ".text"])


def _expression_text() -> st.SearchStrategy[str]:
    return st.recursive(_ATOMS, lambda inner: st.one_of(
        st.builds(lambda f, args: f"{f}({', '.join(args)})", st.sampled_from(_FUNCTIONS),
                  st.lists(inner, max_size=3)),
        st.builds(lambda a, op, b: f"({a}) {op} ({b})", inner,
                  st.sampled_from(["+", "-", "/", "%", "<<", "&&", "||", "==", "*"]), inner),
        st.builds(lambda c, a, b: f"({c}) ? ({a}) : ({b})", inner, inner, inner),
        st.builds(lambda op, a: f"{op}({a})", st.sampled_from(["-", "!", "~"]), inner),
    ), max_leaves=6)


@settings(max_examples=300, deadline=None)
@given(st.lists(_expression_text(), min_size=1, max_size=4))
def test_a_script_and_its_printed_form_evaluate_alike(expressions: list[str]) -> None:
    # The evaluator agrees with itself across the printer: the canonical text of a script
    # gives the same symbols and regions, or the same error message; nothing but a
    # ScriptError is ever raised.
    text = "MEMORY { RAM (rw) : ORIGIN = 0x20000000, LENGTH = 64K }\n"
    text += "".join(f"s_{'ab'[i % 2]}{i} = {e};\n" for i, e in enumerate(expressions))
    text += "s_a = 1;\ns_b = s_a + 1;\n"
    try:
        script = parse(text, file="fuzz.ld")
    except ScriptError:
        return  # generated text ld would refuse too (ORIGIN() without a region)
    printed = parse(print_script(script), file="fuzz.ld")

    def outcome(tree: ast.Script) -> object:
        try:
            return (evaluate_symbols(tree, target=LINKER_TARGETS["arm"]),
                    evaluate_memory(tree, target=LINKER_TARGETS["arm"]))
        except ScriptError as error:
            return error.message

    assert outcome(printed) == outcome(script)


def test_an_attribute_error_after_a_form_feed_shows_its_own_line(tmp_path: Path) -> None:
    script = tmp_path / "board.ld"
    script.write_text("/* page */\f\nMEMORY\n{\n  RAM (rwq) : ORIGIN = 0, LENGTH = 1K\n}\n")
    with pytest.raises(ScriptError) as caught:
        load_script(script)
    assert (caught.value.line, caught.value.column) == (4, 10)  # at the `q`
    assert caught.value.source_line == "  RAM (rwq) : ORIGIN = 0, LENGTH = 1K"


def test_an_expression_too_deep_to_evaluate_is_a_script_error_not_a_traceback() -> None:
    text = "MEMORY { RAM : ORIGIN = " + " + ".join(["1"] * 3000) + ", LENGTH = 4K }\n"
    script = parse(text, file="deep.ld")
    for evaluate in (evaluate_memory, evaluate_symbols):
        with pytest.raises(ScriptError) as caught:
            evaluate(script)
        assert render(caught.value) == "deep.ld:1:1: error: expressions nest too deeply to evaluate"
