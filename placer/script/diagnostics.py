"""Plain-words diagnostics for linker scripts.

Lark reports "unexpected token X, expected one of ..."; ld reports "syntax error". This
module turns the parser's context into the message a firmware engineer needs: a missing
``;`` after an assignment, ``x=1+2`` read as one name, an unterminated comment or string,
an unbalanced brace, an unknown command, an MRI script. It also holds the semantic checks
that run after a successful parse (``> REGION`` naming no declared region).
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator, Mapping
from typing import Final, TypeVar

from placer.errors import InputError, ScriptError, ScriptWarning, SourceSpan
from placer.inputs import read_input_text
from placer.script import ast
from placer.script._driver import COMMENT
from placer.script._tokens import ParseFailure, Token


class ScriptProblem(Exception):
    """A semantic problem found while building the tree, before its source line is known."""

    def __init__(self, message: str, where: SourceSpan | None) -> None:
        super().__init__(message)
        self.message = message
        self.where = where


def source_lines(text: str) -> list[str]:
    """`text` cut into lines where ld, cpp and the parser count them: at ``\\n`` only.

    `str.splitlines` also cuts at form feeds (common in GNU-style sources) and other
    separators, which would number the lines after one wrongly.
    """
    return [line.removesuffix("\r") for line in text.split("\n")]


def source_line(text: str, line: int) -> str | None:
    """Line `line` (from 1) of `text`, for the caret under a message; None past the end."""
    lines = source_lines(text)
    return lines[line - 1] if 0 < line <= len(lines) else None


def file_source_line(file: str, line: int) -> str | None:
    """Line `line` of the file `file`, read only when a message needs it; None if unreadable."""
    try:
        text = read_input_text(file, what="linker script", errors="replace")
    except InputError:
        return None
    return source_line(text, line)


_D = TypeVar("_D", ScriptError, ScriptWarning)


def at_span(kind: type[_D], message: str, span: SourceSpan | None, *,
            file: str = "<script>", notes: tuple[str, ...] = ()) -> _D:
    """A `ScriptError` or `ScriptWarning` at `span`, its source line read from the file
    only now that there is a message to show; at `file` line 1 when there is no span."""
    if span is None:
        return kind(message, file, 1, 1, notes=notes)
    return kind(message, span.file, span.line, span.column,
                source_line=file_source_line(span.file, span.line), notes=notes)


@contextlib.contextmanager
def nesting_limit(file: str, doing: str) -> Iterator[None]:
    """Report an expression too deep for Python's recursion as a `ScriptError` on `file`.

    The parser accepts any depth, as ld's yacc stack does; the tree walks after it recurse.
    """
    try:
        yield
    except RecursionError:
        raise ScriptError(f"expressions nest too deeply to {doing}", file, 1, 1) from None


def error_at(message: str, file: str, text: str, line: int, column: int) -> ScriptError:
    """A `ScriptError` at `line`:`column` of `text`, with that source line for the caret."""
    return ScriptError(message, file, max(line, 1), max(column, 1), source_line(text, line))


# --- lexical scan for unclosed things ---------------------------------------------------

#: Patterns only an error needs stay source text until then: ``re`` compiles and caches
#: them on first use, so a script that parses pays nothing for them at start-up.
_SCAN = r'/\*|\*/|"|#|\{|\}|\n'


def _line_col(text: str, offset: int) -> tuple[int, int]:
    line = text.count("\n", 0, offset) + 1
    return line, offset - (text.rfind("\n", 0, offset) + 1) + 1


def _scan(text: str) -> tuple[str, int] | None:
    """The first unclosed comment or string, or unbalanced brace: (what, offset)."""
    opens: list[int] = []
    position = 0
    scan = re.compile(_SCAN).search
    while True:
        match = scan(text, position)
        if match is None:
            break
        token, start = match.group(), match.start()
        if token == "/*":
            end = text.find("*/", start + 2)
            if end < 0:
                return ("comment", start)
            position = end + 2
        elif token == '"':
            end = text.find('"', start + 1)
            if end < 0:
                return ("string", start)
            position = end + 1
        elif token == "#":
            end = text.find("\n", start)
            position = len(text) if end < 0 else end
        elif token == "{":
            opens.append(start)
            position = start + 1
        elif token == "}":
            if not opens:
                return ("close", start)
            opens.pop()
            position = start + 1
        else:
            position = start + 1
    if opens:
        return ("open", opens[-1])
    return None


# --- turning Lark errors into messages ---------------------------------------------------

_FRIENDLY = {
    "NAME": "a name",
    "SYMBOL": "a symbol",
    "NUMBER": "a number",
    "WILDNAME": "a file or section pattern",
    "QSTRING": "a quoted string",
    "WILD_EQ": "`=`",
    "FILENAME": "a file name",
    "LNAME": "-lname",
    "VTAG": "a version tag",
    "VIDENT": "a symbol pattern",
    "$END": "end of file",
}

_ASSIGN_TERMINALS = {"EQUAL", "PLUSEQUAL", "MINUSEQUAL"}
_ONE_NAME = r"^([_a-zA-Z.$][_a-zA-Z0-9.$]*)\s*(<<=|>>=|[-+*/&|]?=)(.+)$"


def _end_of_previous(text: str, offset: int) -> tuple[int, int]:
    """Where the text before `offset` ends, whitespace skipped: where a `;` belongs."""
    end = len(text[:offset].rstrip())
    return _line_col(text, end)


def _statement_before(text: str, offset: int) -> str:
    """The text of the statement that ends before `offset` (from the last ; { or })."""
    start = max(text.rfind(c, 0, offset) for c in ";{}") + 1
    return text[start:offset]


def _describe_token(token: Token) -> str:
    if token.type == "$END":
        return "end of file"
    return f"`{token}`"


def _expected_words(expected: set[str], literals: dict[str, str]) -> str:
    words = sorted({_FRIENDLY.get(name) or f"`{literals.get(name, name)}`" for name in expected})
    if not words or len(words) > 8:
        return ""
    if len(words) == 1:
        return f"; expected {words[0]}"
    return "; expected " + ", ".join(words[:-1]) + " or " + words[-1]


def one_name_hint(name: str) -> str | None:
    """If `name` is an assignment written without spaces (``x=1+2``), say so."""
    match = re.match(_ONE_NAME, name)
    if match is None:
        return None
    target, op, rest = match.groups()
    return (
        f"`{name}` is read as one name: here GNU ld counts `=`, `+`, `-` and `,` as "
        f"name characters; write spaces around the operator: `{target} {op} {rest}`"
    )


def check_wild_names(name: str, span: SourceSpan | None) -> None:
    """Reject an input-section pattern that is really an assignment without spaces.

    GNU ld reads ``.=ALIGN(4);`` inside an output section as the file name
    ``.=ALIGN`` and fails at link time ("cannot find"); placer says why at parse time.
    """
    if "=" not in name:
        return
    hint = one_name_hint(name)
    if hint is not None:
        raise ScriptProblem(hint, span)


def describe_failure(
    failure: ParseFailure, file: str, text: str, literals: dict[str, str]
) -> ScriptError:
    """The plain-words `ScriptError` for a parse that stopped at `failure`."""
    unclosed = _scan(text)
    if unclosed is not None:
        what, offset = unclosed
        line, column = _line_col(text, offset)
        at_end = failure.token is not None and failure.token.type == "$END"
        if what == "comment":
            return error_at(
                "unterminated comment: `/*` has no closing `*/`", file, text, line, column
            )
        if what == "string":
            return error_at(
                'unterminated string: `"` has no closing quote', file, text, line, column
            )
        if what == "close" and failure.position >= offset:
            return error_at("unbalanced braces: this `}` closes nothing", file, text, line, column)
        if what == "open" and at_end:
            return error_at("unbalanced braces: this `{` is never closed", file, text, line, column)

    token = failure.token
    expected = set(failure.expected)
    previous = failure.previous
    if token is None:
        char = text[failure.position] if failure.position < len(text) else ""
        return error_at(
            f"unexpected character `{char}`", file, text, *_line_col(text, failure.position)
        )

    for candidate in (previous, token):
        if candidate is not None and candidate.type in ("NAME", "WILDNAME"):
            hint = one_name_hint(str(candidate))
            if hint is not None:
                return error_at(hint, file, text, candidate.line or 1, candidate.column or 1)

    if token.type == "$END":
        line, column = _end_of_previous(text, len(text))
        return error_at(
            "unexpected end of file" + _expected_words(expected, literals),
            file,
            text,
            line,
            column,
        )

    statement = _statement_before(text, token.start_pos or 0)
    if "SEMICOLON" in expected and token.type not in ("SEMICOLON", "COMMA") and statement.strip():
        line, column = _end_of_previous(text, token.start_pos or 0)
        if re.search(r"\bASSERT\s*\(", statement):
            message = "missing `;` after ASSERT (inside an output section ld requires one)"
        elif "COMMA" in expected:
            message = "missing `;` after the assignment"
        else:
            message = "missing `;` at the end of this statement"
        return error_at(message, file, text, line, column)

    if (
        previous is not None
        and str(previous) in ("MEMORY", "SECTIONS", "PHDRS", "VERSION")
        and token.type == "LBRACE"
    ):
        return error_at(
            f"`{previous}` blocks are only allowed at the top level of a script",
            file,
            text,
            previous.line or 1,
            previous.column or 1,
        )

    if (
        previous is not None
        and previous.type == "NAME"
        and expected & _ASSIGN_TERMINALS
        and "COLON" in expected
        and token.type == "LBRACE"
    ):
        if str(previous).endswith(":"):
            return error_at(
                f"`{previous}` is read as one name (`:` is a name character here, as in "
                "GNU ld); write a space before the `:`",
                file,
                text,
                previous.line or 1,
                previous.column or 1,
            )
        return error_at(
            f"missing `:` between output section `{previous}` and `{{`",
            file,
            text,
            token.line or 1,
            token.column or 1,
        )

    if (
        previous is not None
        and previous.type == "NAME"
        and expected & _ASSIGN_TERMINALS
        and token.type in ("LPAR", "SEMICOLON", "NAME", "QSTRING", "LBRACE")
    ):
        return error_at(
            f"unknown command `{previous}`",
            file,
            text,
            previous.line or 1,
            previous.column or 1,
        )

    if token.type == "SEMICOLON" and text[: token.start_pos or 0].rstrip().endswith(("}", ")")):
        return error_at(
            "unexpected `;`: inside SECTIONS GNU ld accepts no `;` after `}` or after ASSERT(...)",
            file,
            text,
            token.line or 1,
            token.column or 1,
        )

    if token.type == "RBRACE" and "RBRACE" not in expected:
        return error_at(
            "unexpected `}`" + _expected_words(expected, literals),
            file,
            text,
            token.line or 1,
            token.column or 1,
        )

    return error_at(
        f"syntax error: unexpected {_describe_token(token)}" + _expected_words(expected, literals),
        file,
        text,
        token.line or 1,
        token.column or 1,
    )


# --- MRI scripts ----------------------------------------------------------------------

_MRI_WORDS = frozenset(
    {
        "SECT",
        "ORDER",
        "PUBLIC",
        "ALIAS",
        "BASE",
        "TRUNCATE",
        "LOAD",
        "NAME",
        "FORMAT",
        "CASE",
        "START",
        "LIST",
        "END",
        "CHIP",
        "ABSOLUTE",
        "ALIGNMOD",
    }
)


def _first_mri_line(text: str) -> tuple[int, int] | None:
    for number, line in enumerate(source_lines(text), start=1):
        stripped = line.strip()
        if not stripped or stripped[0] in "*;#":
            continue
        word = re.match(r"[A-Za-z]+", stripped)
        if word is None:
            return None
        rest = stripped[word.end() :].lstrip()
        if word.group().upper() in _MRI_WORDS and not rest.startswith(("(", "=", "{")):
            return number, line.index(stripped[0]) + 1
        return None
    return None


# Possessive name: it cannot hand characters back to the lazy scan after it, which made a
# long line without `:` quadratic (36 KB: 22 s).
_SECTIONS_BODY_START = r'\A\s*(?:"[^"]*"|[^\s:;{}()"]++)[^;{}]*?:'
_OUTPUT_BODY_START = (
    r"\A\s*(?:KEEP|SORT\w*|EXCLUDE_FILE|INPUT_SECTION_FLAGS|BYTE|SHORT|LONG|QUAD|SQUAD|FILL"
    r"|CREATE_OBJECT_SYMBOLS|CONSTRUCTORS)\b|\A\s*[^\s(;{}]*[*?\[][^\s(;{}]*\s*\("
)


#: Commands valid only at a script's top level: a text starting with one is a script,
#: whatever ``:`` follows (``OUTPUT_ARCH(i386:x86-64)`` is no output section).
_SCRIPT_START = (
    r"\A\s*(?:(?:OUTPUT_FORMAT|OUTPUT_ARCH|OUTPUT|TARGET|SEARCH_DIR|INPUT|GROUP|STARTUP"
    r"|EXTERN|REGION_ALIAS|NOCROSSREFS|NOCROSSREFS_TO|LD_FEATURE|MAP)\s*\("
    r"|(?:MEMORY|SECTIONS|PHDRS|VERSION)\s*\{"
    r"|(?:FORCE_COMMON_ALLOCATION|INHIBIT_COMMON_ALLOCATION|FORCE_GROUP_ALLOCATION)\b)"
)


def likely_kind(text: str) -> str:
    """Which reading of a snippet its first statement suggests: "script",
    "sections-body" or "output-section-body" (the values of `ast.FragmentKind`)."""
    code = COMMENT.sub(" ", text)
    if re.match(_SCRIPT_START, code):
        return "script"
    if re.match(_OUTPUT_BODY_START, code):
        return "output-section-body"
    if re.match(_SECTIONS_BODY_START, code):
        return "sections-body"
    return "script"


def looks_like_mri(text: str) -> bool:
    """Whether `text` starts like an MRI-format script (``SECT .text 0x1000``...)."""
    return _first_mri_line(text) is not None


def mri_error(file: str, text: str) -> ScriptError:
    """The error for an MRI script: out of scope, said in those words."""
    line, column = _first_mri_line(text) or (1, 1)
    return error_at(
        "this is an MRI-format linker script (`ld -c`); placer reads only GNU ld "
        "command-language scripts",
        file,
        text,
        line,
        column,
    )


# --- semantic checks ------------------------------------------------------------------


#: An output section or OVERLAY that names regions: its name ("OVERLAY" for an overlay),
#: where it is, and its ``> REGION`` and ``AT> REGION`` names.
_RegionUser = tuple[str, SourceSpan | None, tuple[str, ...]]


def _outer_statements(script: ast.Script) -> Iterator[object]:
    """The statements of `script` and of its SECTIONS blocks, in source order: the only
    places MEMORY, REGION_ALIAS, output sections and OVERLAYs can be (grammar/ld.lark's
    ``top_stmt`` and ``sections_stmt``; an INCLUDE's statements are spliced in where it
    stood). Output-section bodies, most of a long script, are not walked."""
    for statement in script.commands:
        yield statement
        if isinstance(statement, ast.Sections):
            yield from statement.commands


def _regions_and_users(script: ast.Script) -> tuple[set[str], bool, bool, list[_RegionUser]]:
    """One walk of `script`: the declared regions and aliases, whether it has a MEMORY
    block, whether one INCLUDEs another file, and every output section and OVERLAY."""
    declared: set[str] = set()
    has_memory = memory_includes = False
    users: list[_RegionUser] = []
    for statement in _outer_statements(script):
        if isinstance(statement, ast.Memory):
            has_memory = True
            memory_includes |= any(isinstance(c, ast.Include) for c in statement.commands)
            declared.update(r.name for r in statement.regions)
        elif isinstance(statement, ast.RegionAlias):
            declared.add(statement.alias)
        elif isinstance(statement, ast.OutputSection | ast.Overlay):
            name = statement.name if isinstance(statement, ast.OutputSection) else "OVERLAY"
            regions = tuple(r for r in (statement.region, statement.lma_region) if r is not None)
            users.append((name, statement.span, regions))
    return declared, has_memory, memory_includes, users


def check_regions(script: ast.Script, file: str, text: str) -> None:
    """Every ``> REGION`` and ``AT> REGION`` must name a declared region or alias.

    GNU ld only warns and then places the section in the default region; placer makes it
    an error. Skipped when a MEMORY block INCLUDEs another file (its regions are unknown
    here).
    """
    declared, _, memory_includes, users = _regions_and_users(script)
    if memory_includes:
        return
    for section, span, regions in users:
        for region in regions:
            if region not in declared:
                raise _undeclared_region(section, region, file, text, span)


def check_regions_of_files(script: ast.Script, sources: Mapping[str, str]) -> None:
    """`check_regions` for a script whose INCLUDEs are spliced in: regions and aliases may
    come from one file and their users from another, and each user is reported with its
    own file's text (`sources`, by the name its spans use), files in the order their
    first output section comes. Nothing to check without a MEMORY block."""
    declared, has_memory, _, users = _regions_and_users(script)
    if not has_memory:
        return
    by_file: dict[str, list[_RegionUser]] = {}
    for user in users:
        if user[1] is not None:
            by_file.setdefault(user[1].file, []).append(user)
    for file, found in by_file.items():
        for section, span, regions in found:
            for region in regions:
                if region not in declared:
                    raise _undeclared_region(section, region, file, sources.get(file, ""),
                                             span)


def _undeclared_region(section: str, region: str, file: str, text: str,
                       span: SourceSpan | None) -> ScriptError:
    line, column = (span.line, span.column) if span else (1, 1)
    return error_at(
        f"output section `{section}` goes to memory region `{region}`, which no MEMORY "
        "block declares (GNU ld only warns; placer treats it as an error)",
        file, text, line, column)


#: What ld's ``lang_set_flags`` accepts between a region's parentheses (either case).
_ATTRIBUTE_CHARACTERS: Final = frozenset("rwxailRWXAIL!")


def check_memory_attributes(script: ast.Script, sources: Mapping[str, str]) -> None:
    """Every MEMORY attribute must be one of ld's letters ``r w x a i l`` (either case) or ``!``.

    ld rejects any other letter as it reads the script ("invalid character %c (N) in
    flags", sic) and the link stops there, so placer reports it at the letter. `sources`
    holds the text of each file the script came from, by the name its spans use.
    """
    # MEMORY is a top-level statement (grammar/ld.lark, top_stmt; an INCLUDE inside one is
    # spliced into it): no need to walk every statement of a long script for it.
    for statement in script.commands:
        if not isinstance(statement, ast.Memory):
            continue
        for region in statement.regions:
            bad = next((c for c in region.attributes or ""
                        if c not in _ATTRIBUTE_CHARACTERS), None)
            if bad is None:
                continue
            span = region.span
            file = span.file if span else "<script>"
            text = sources.get(file)
            if text is None:
                try:
                    text = read_input_text(file, what="linker script", errors="replace")
                except InputError:
                    text = ""
            line, column = (span.line, span.column) if span else (1, 1)
            column = _attribute_column(text, line, column, bad)
            raise ScriptError(
                f"memory region `{region.name}': invalid character '{bad}' in memory "
                "attributes", file, line, column, source_line(text, line),
                notes=("GNU ld accepts only r, w, x, a, i, l (either case) and ! between "
                       "the parentheses, and stops the link",))


def _attribute_column(text: str, line: int, column: int, bad: str) -> int:
    """The column of `bad` inside the parentheses after the region name at `column`.

    The region name's column when the attributes are not on that line as written (a
    macro from the preprocessor, or a line break before the parenthesis).
    """
    source = source_line(text, line)
    if source is None:
        return column
    opening = source.find("(", column - 1)
    closing = source.find(")", opening + 1)
    if opening < 0 or closing < 0:
        return column
    found = source.find(bad, opening + 1, closing)
    return found + 1 if found >= 0 else column
