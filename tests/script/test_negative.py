"""Malformed scripts: placer rejects exactly what GNU ld rejects, in plain words.

Each file in ``negative/`` is a small broken script. The table pins placer's exact
message (line:column and text); a second test runs the real ``arm-none-eabi-ld`` on each
and checks that ld rejects it too (syntax error, or a failed link for the cases ld only
discovers at link time, like ``.=ALIGN(4);`` read as a file name).

Deliberate differences, where GNU ld only warns and carries on:

* ``undeclared_region.ld``: ``> NOPE`` naming no MEMORY region. ld warns and places the
  section in the default region; placer reports it, because a section silently landing
  elsewhere is exactly the bug placer exists to catch.
* ``unterminated_string.ld``: ld warns "ignoring invalid character" and drops the lone
  ``"``; placer reports the unterminated string.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from placer.cli.output import render
from placer.errors import ScriptError
from placer.script import parse_file
from tests.toolchains import tool

NEGATIVE = Path(__file__).parent / "negative"

#: file -> (line:column, message) of placer's diagnostic.
EXPECTED: dict[str, tuple[str, str]] = {
    "align_and_align_with_input.ld": (
        "3:20",
        "syntax error: unexpected `ALIGN_WITH_INPUT`; expected `ONLY_IF_RO`, `ONLY_IF_RW`, `SPECIAL`, `SUBALIGN` or `{`",  # noqa: E501
    ),
    "assert_without_semicolon_in_output_section.ld": (
        "3:44",
        "missing `;` after ASSERT (inside an output section ld requires one)",
    ),
    "assignment_without_spaces.ld": (
        "1:1",
        "`x=1+2` is read as one name: here GNU ld counts `=`, `+`, `-` and `,` as name characters; write spaces around the operator: `x = 1+2`",  # noqa: E501
    ),
    "assignment_without_spaces_in_output_section.ld": (
        "5:5",
        "`.=ALIGN` is read as one name: here GNU ld counts `=`, `+`, `-` and `,` as name characters; write spaces around the operator: `. = ALIGN`",  # noqa: E501
    ),
    "at_without_parentheses.ld": ("3:14", "syntax error: unexpected `0x100`; expected `(`"),
    "conditional_missing_colon.ld": ("1:10", "syntax error: unexpected `;`; expected `:`"),
    "data_command_without_parentheses.ld": ("3:18", "syntax error: unexpected `0`; expected `(`"),
    "entry_without_parentheses.ld": ("1:7", "syntax error: unexpected `_start`; expected `(`"),
    "exclude_file_empty.ld": (
        "3:28",
        "syntax error: unexpected `)`; expected a file or section pattern or a quoted string",
    ),
    "extra_closing_brace.ld": ("5:1", "unbalanced braces: this `}` closes nothing"),
    "fill_without_parentheses.ld": ("3:18", "syntax error: unexpected `0x90`; expected `(`"),
    "hidden_unclosed.ld": ("1:13", "syntax error: unexpected `;`; expected `)`"),
    "include_without_file.ld": (
        "1:8",
        "unexpected end of file; expected a name or a quoted string",
    ),
    "input_section_flags_empty.ld": (
        "3:33",
        "syntax error: unexpected `)`; expected a file or section pattern or a quoted string",
    ),
    "input_unclosed.ld": (
        "1:14",
        "unexpected end of file; expected -lname, `)`, `,`, `AS_NEEDED`, a file name or a quoted string",  # noqa: E501
    ),
    "insert_without_where.ld": (
        "2:8",
        "syntax error: unexpected `.text`; expected `AFTER` or `BEFORE`",
    ),
    "keep_without_parentheses.ld": ("3:18", "syntax error: unexpected `*`; expected `(`"),
    "memory_empty_attributes.ld": ("3:8", "syntax error: unexpected `)`; expected `!` or a name"),
    "memory_inside_sections.ld": (
        "3:3",
        "`MEMORY` blocks are only allowed at the top level of a script",
    ),
    "memory_missing_colon.ld": ("3:7", "syntax error: unexpected `ORIGIN`; expected `(` or `:`"),
    "memory_missing_length.ld": ("4:1", "unexpected `}`; expected `,` or `LENGTH`"),
    "memory_unknown_keyword.ld": (
        "3:9",
        "syntax error: unexpected `START`; expected `ORIGIN`, `o` or `org`",
    ),
    "missing_semicolon_in_output_section.ld": ("3:34", "missing `;` after the assignment"),
    "missing_semicolon_in_sections.ld": ("3:13", "missing `;` after the assignment"),
    "missing_semicolon_top.ld": ("1:6", "missing `;` after the assignment"),
    "mri_script.ld": (
        "1:1",
        "this is an MRI-format linker script (`ld -c`); placer reads only GNU ld command-language scripts",  # noqa: E501
    ),
    "number_as_assignment_target.ld": ("1:1", "syntax error: unexpected `5`"),
    "output_format_two_names.ld": ("1:48", "syntax error: unexpected `)`; expected `,`"),
    "output_section_missing_colon.ld": (
        "3:9",
        "missing `:` between output section `.text` and `{`",
    ),
    "overlay_missing_colon.ld": ("4:3", "syntax error: unexpected `{`"),
    "paren_inside_section_pattern.ld": ("3:20", "syntax error: unexpected `(`"),
    "phdrs_missing_semicolon.ld": ("3:15", "missing `;` at the end of this statement"),
    "phdrs_unknown_qualifier.ld": ("3:16", "PHDRS syntax error at `BOGUS`"),
    "phdrs_unknown_type.ld": (
        "3:8",
        "unknown program header type `PT_BOGUS` (try an integer literal)",
    ),
    "provide_compound_operator.ld": ("1:11", "syntax error: unexpected `+=`; expected `=`"),
    "region_alias_unquoted_comma.ld": ("2:21", "syntax error: unexpected `rom`; expected `,`"),
    "sections_inside_sections.ld": (
        "3:3",
        "`SECTIONS` blocks are only allowed at the top level of a script",
    ),
    "semicolon_after_assert_in_sections.ld": (
        "3:21",
        "unexpected `;`: inside SECTIONS GNU ld accepts no `;` after `}` or after ASSERT(...)",
    ),
    "sort_by_init_priority_nested.ld": ("3:55", "syntax error: unexpected `(`; expected `)`"),
    "sort_nested_three_deep.ld": ("3:58", "syntax error: unexpected `(`; expected `)`"),
    "stray_semicolon_in_sections.ld": (
        "4:3",
        "unexpected `;`: inside SECTIONS GNU ld accepts no `;` after `}` or after ASSERT(...)",
    ),
    "two_binary_operators.ld": ("1:9", "syntax error: unexpected `*`"),
    "two_regions.ld": ("4:30", "syntax error: unexpected `>`"),
    "unclosed_brace.ld": ("2:1", "unbalanced braces: this `{` is never closed"),
    "unclosed_parenthesis.ld": ("1:11", "syntax error: unexpected `;`; expected `)`"),
    "undeclared_region.ld": (
        "7:3",
        "output section `.data` goes to memory region `NOPE`, which no MEMORY block declares (GNU ld only warns; placer treats it as an error)",  # noqa: E501
    ),
    "unknown_bare_word.ld": ("2:1", "unknown command `foo`"),
    "unknown_command.ld": ("2:1", "unknown command `FOO`"),
    "unterminated_comment.ld": ("1:1", "unterminated comment: `/*` has no closing `*/`"),
    "unterminated_string.ld": ("1:15", 'unterminated string: `"` has no closing quote'),
    "version_node_missing_semicolon.ld": ("4:1", "unexpected `}`; expected `;` or a version tag"),
}

#: Scripts GNU ld accepts with only a warning, which placer rejects on purpose.
LD_ONLY_WARNS = {
    "undeclared_region.ld": "warning: memory region `NOPE' not declared",
    "unterminated_string.ld": "ignoring invalid character `\"' in script",
}


def test_negative_corpus_has_at_least_forty_scripts_all_pinned() -> None:
    files = sorted(p.name for p in NEGATIVE.glob("*.ld"))
    assert len(files) >= 40
    assert files == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_placer_rejects_with_its_pinned_message(name: str) -> None:
    path = NEGATIVE / name
    with pytest.raises(ScriptError) as caught:
        parse_file(path)
    where, message = EXPECTED[name]
    assert f"{caught.value.line}:{caught.value.column}" == where
    assert caught.value.message == message
    rendered = render(caught.value).splitlines()
    assert rendered[0] == f"{path}:{where}: error: {message}"
    assert rendered[2].strip() == "^"


@pytest.mark.toolchain("arm")
def test_gnu_ld_rejects_every_negative_script_too(tmp_path: Path) -> None:
    ld, assembler = tool("arm", "ld"), tool("arm", "as")
    source = tmp_path / "empty.s"
    source.write_text("\n")
    obj = tmp_path / "empty.o"
    subprocess.run([assembler, str(source), "-o", str(obj)], check=True)
    accepted = []
    for name in sorted(EXPECTED):
        result = subprocess.run(
            [ld, "-T", str(NEGATIVE / name), str(obj), "-o", str(tmp_path / "out")],
            capture_output=True,
            text=True,
            check=False,
        )
        if name in LD_ONLY_WARNS:
            assert result.returncode == 0, name
            assert LD_ONLY_WARNS[name] in result.stderr
        elif result.returncode == 0:
            accepted.append(name)
    assert accepted == []
