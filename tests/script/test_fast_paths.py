"""The parser's fast paths give the same trees and spans as the token-by-token rules.

An input section description of plain names (``*(.text .text.*)``) is lexed as one token,
and so is one inside KEEP; a comment before its ``)`` makes the same text take the
token-by-token path, with every name at the same place. Both readings must agree on the
tree, on every span, and on rejecting the text.
"""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from placer import records
from placer.errors import ScriptError, SourceSpan
from placer.script import ast, parse

_words = st.one_of(
    st.from_regex(r"[_a-zA-Z0-9/.\\$~\-+:\[\],?*^!]{1,6}", fullmatch=True),
    st.sampled_from(
        ["*", ".text", "*crtbegin.o", "KEEP", "SORT", "EXCLUDE_FILE", "CONSTRUCTORS", "a=b"]
    ),
    st.sampled_from(["[", "]", "=", "-=", "!", "lib.a:", "REVERSE", "ASSERT", '"q x"']),
)
_blanks = st.sampled_from(["", " ", "  ", "\t", "\n", " \n\t ", "\r\n", "\f", "\v"])
_separators = st.sampled_from([" ", "\n", "\t", " \n  ", "\r\n"])


def _spans(node: Any) -> list[tuple[str, SourceSpan | None]]:
    """Every node's type and span, depth first."""
    found: list[tuple[str, SourceSpan | None]] = []
    if isinstance(node, tuple):
        for item in node:
            found.extend(_spans(item))
    elif records.has(type(node)):
        found.append((type(node).__name__, getattr(node, "span", None)))
        for field in records.fields(type(node)):
            if field.name != "span":
                found.extend(_spans(getattr(node, field.name)))
    return found


def _both(text: str) -> tuple[ast.Script | ScriptError, ast.Script | ScriptError]:
    results: list[ast.Script | ScriptError] = []
    for variant in (text.replace("@", ""), text.replace("@", " /**/")):
        try:
            results.append(parse(variant, file="s.ld"))
        except ScriptError as error:
            results.append(error)
    return results[0], results[1]


@settings(max_examples=300, deadline=None)
@given(
    prefix=st.sampled_from(["", "KEEP(", "INPUT_SECTION_FLAGS(SHF_WRITE) ", "KEEP (\n",
                            "KEEP( \t", "KEEP\n(\n  "]),
    file=_words,
    words=st.lists(st.tuples(_words, _separators), min_size=1, max_size=5),
    before=_blanks,
    inside=_blanks,
    after=_blanks,
    closing=_blanks,
)
def test_an_input_section_description_reads_the_same_on_both_paths(
    prefix: str,
    file: str,
    words: list[tuple[str, str]],
    before: str,
    inside: str,
    after: str,
    closing: str,
) -> None:
    names = "".join(word + separator for word, separator in words[:-1]) + words[-1][0]
    suffix = f"{closing})" if prefix.startswith("KEEP") else ""
    text = (
        f"SECTIONS {{\n  .out :\n  {{\n    x = 1;\n    {prefix}{file}{before}({inside}{names}"
        f"{after}@){suffix}\n    *(.more)\n  }}\n}}\n"
    )
    fast, slow = _both(text)
    if isinstance(slow, ScriptError):
        assert isinstance(fast, ScriptError)
        return
    assert isinstance(fast, ast.Script)
    assert fast == slow
    assert _spans(fast) == _spans(slow)


def test_section_names_on_later_lines_keep_their_own_line_and_column() -> None:
    text = "SECTIONS { .o : {\n  *(.a\n\t.b   .c\n .d) } }"
    (sections,) = parse(text).commands
    assert isinstance(sections, ast.Sections)
    (section,) = sections.commands
    assert isinstance(section, ast.OutputSection)
    (description,) = section.commands
    assert isinstance(description, ast.InputSectionDescription)
    assert description.sections is not None
    where = [(p.name, p.span.line, p.span.column) for p in description.sections if p.span]
    assert where == [(".a", 2, 5), (".b", 3, 2), (".c", 3, 7), (".d", 4, 2)]
    assert description.span == SourceSpan("<string>", 2, 3)
