"""Parse GNU linker scripts and fragments into the typed AST of `placer.script.ast`.

The grammar is ``grammar/ld.lark``: Lark compiles it to LALR(1) tables when it changes
(`placer.script._tablegen`, shipped as `placer.script._tables`), and
`placer.script._driver` runs those tables with a contextual lexer
(one lexer per parser state, as Lark's ``lexer="contextual"``), calling the reductions of
`_Builder` directly, so no intermediate parse tree exists.

Deliberate choices about ld's lexer quirks (binutils 2.40 ``ldlex.l``):

* Names are lexed as ld lexes them in each state. In SCRIPT state (top level, SECTIONS)
  ``=``, ``+``, ``-`` and ``,`` are file-name characters, so ``x=1+2;`` is one name and a
  syntax error, as in ld; placer says so in plain words. In WILD state (inside an output
  section) ``.=ALIGN(4);`` is one file name to ld ("cannot find .=ALIGN" at link time);
  placer rejects it at parse time with the same explanation.
* In expressions ``-`` splits names but ``/`` does not (``a/b`` is one symbol), and a run
  of hex digits with a base suffix is a number (``add`` is 0xad read as decimal = 0),
  exactly as ld.
* ``/* */`` comments and ``#`` line comments are skipped in every state; ``//`` is not a
  comment. Strings (``"..."``) may span lines; quotes only group, they never change the
  name (ld strips them in every state).
* A comment on its own line(s) between statements of the script, MEMORY, SECTIONS, an
  output or overlay section, or PHDRS becomes a `Comment` node. Every other comment (at
  the end of a line of code, inside a statement, inside OVERLAY headers or VERSION) is
  dropped.
* Stray ``;`` (top level, output sections) are dropped: they mean nothing to ld.
* MRI scripts (``ld -c``) are out of scope and rejected with a message that says so.
* ``REVERSE`` (binutils 2.42) is accepted in section patterns; ``ASCIZ``/``ASCII``/CRC
  commands (post-2.40) are not keywords, so they read as file names as in 2.40.
"""

from __future__ import annotations

import bisect
import contextlib
import functools
import gc
import re
import threading
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any, TypeVar, cast

from placer import records
from placer.errors import ScriptError, SourceSpan
from placer.inputs import read_input_text
from placer.script import _tables, ast
from placer.script._driver import Driver
from placer.script._tokens import ParseFailure, Token
from placer.script.ast import FragmentKind
from placer.script.diagnostics import (
    ScriptProblem,
    check_regions,
    check_wild_names,
    describe_failure,
    error_at,
    likely_kind,
    looks_like_mri,
    mri_error,
)
from placer.script.numbers import decode_number

_START = {
    FragmentKind.SCRIPT: "script",
    FragmentKind.SECTIONS_BODY: "sections_body",
    FragmentKind.OUTPUT_SECTION_BODY: "output_section_body",
}

_Container = TypeVar("_Container")

_PHDR_TYPES = frozenset(
    {
        "PT_NULL",
        "PT_LOAD",
        "PT_DYNAMIC",
        "PT_INTERP",
        "PT_NOTE",
        "PT_SHLIB",
        "PT_PHDR",
        "PT_TLS",
        "PT_GNU_EH_FRAME",
        "PT_GNU_STACK",
        "PT_GNU_RELRO",
        "PT_GNU_PROPERTY",
    }
)


def _text(token: Token) -> str:
    """The name a token stands for: quotes stripped, as ld does in every state."""
    value = str(token)
    if token.type == "QSTRING":
        return value[1:-1]
    return value


#: An empty section tail, shared (the fields are only read; mappingproxy keeps it so).
_NO_FIELDS: tuple[Mapping[str, Any]] = (MappingProxyType({}),)

#: Scripts repeat the same few numbers; decoding them is pure.
_decode = functools.lru_cache(maxsize=4096)(decode_number)

#: The blanks of ld's lexer (between the parts of a KEPT_SECTIONS token).
_BLANKS = " \t\r\n\f\v"
#: A word of an INPUT_SECTIONS token (names never hold blanks or parentheses).
_WORDS = re.compile(r"[^ \t\r\n\f\v()]+").finditer


def _braces(children: list[Any]) -> tuple[int, int]:
    """Indexes of the first `{` and the last `}` token among a rule's children.

    Only brace tokens compare equal to the strings: AST nodes and tagged tuples never do,
    and a quoted name keeps its quotes in the token text.
    """
    return children.index("{"), len(children) - 1 - children[::-1].index("}")


#: Grammar rules (or aliases) reduced by another rule's method. Not aliases in the class
#: body: a class compiled by mypyc cannot hold them.
_SAME_AS = {
    "sections_body": "script",
    "output_section_body": "script",
    "hll_names": "_name_list",
    "nocrossref_names": "_name_list",
    "extern_names": "_name_list",
    "os_stmt": "statement_anywhere",
    "section_spec": "file_spec",
    "wild_reverse": "file_spec",
    "sorted_1": "_sorted",
    "sorted_none": "_sorted",
    "sorted_align": "_sorted",
    "sorted_init": "_sorted",
    "sorted_2": "_sorted",
    "sorted_name_align": "_sorted",
    "sorted_align_name": "_sorted",
    "sorted_align_align": "_sorted",
    "reversed": "_sorted",
}


def _token_span(file: str, token: Any) -> SourceSpan:
    """Where `token` starts.

    `token` is typed `Any` on purpose: compiled (setup.py), reading ``Token.line`` as the
    `int` it is declared would unbox it, and the span would get a fresh int object, one per
    span instead of the one per line that pure Python shares (100k spans, 2.7 MiB, at
    100k lines).
    """
    return SourceSpan(file, token.line, token.column)


class _Builder:
    """Builds AST nodes, one method per grammar rule or alias (all tokens are kept: they
    carry the positions)."""

    def __init__(self) -> None:
        self.file = "<string>"
        #: id(container) -> `_position` of its ``{`` and ``}``: where comments may attach.
        self.bodies: dict[int, tuple[int, int]] = {}
        self.comments: list[Token] = []

    def method(self, rule: str) -> Callable[[list[Any]], Any] | None:
        """The reduction of grammar rule (or alias) `rule`, or None if it has none."""
        found: Callable[[list[Any]], Any] | None = getattr(self, _SAME_AS.get(rule, rule), None)
        return found

    # --- helpers ----------------------------------------------------------------------

    def _span(self, first: Any) -> SourceSpan | None:
        if isinstance(first, Token):
            return _token_span(self.file, first)
        span = getattr(first, "span", None)
        if isinstance(span, SourceSpan):
            return span
        if isinstance(first, tuple) and first and isinstance(first[-1], SourceSpan):
            return first[-1]
        return None

    def _body(self, node: _Container, open_brace: Token, close_brace: Token) -> _Container:
        # Only a comment between a container's braces needs them, and the lexer has read
        # such a comment before the container is reduced: a container closed before the
        # first comment holds none (a comment-free script records no braces; 5 MiB of
        # them for 20k output sections).
        if self.comments:
            self.bodies[id(node)] = (
                _position(open_brace.line or 0, open_brace.column or 0),
                _position(close_brace.line or 0, close_brace.column or 0),
            )
        return node

    @staticmethod
    def _statements(items: list[Any]) -> tuple[Any, ...]:
        return tuple([i for i in items if i is not None and not isinstance(i, Token)])

    # --- roots --------------------------------------------------------------------------

    def script(self, c: list[Any]) -> tuple[Any, ...]:
        return self._statements(c)

    def empty(self, c: list[Any]) -> None:
        return None

    # --- top level ----------------------------------------------------------------------

    def cmd_1(self, c: list[Any]) -> ast.Command:
        args = tuple(_text(t) for t in c[1:] if t.type in ("NAME", "QSTRING"))
        return ast.Command(str(c[0]), args, span=self._span(c[0]))

    def cmd_entry(self, c: list[Any]) -> ast.Command:
        return ast.Command("ENTRY", (_text(c[2]),), span=self._span(c[0]))

    def cmd_list(self, c: list[Any]) -> ast.Command:
        names: tuple[str, ...] = c[2] if isinstance(c[2], tuple) else ()
        return ast.Command(str(c[0]), names, span=self._span(c[0]))

    def _name_list(self, c: list[Any]) -> tuple[str, ...]:
        if isinstance(c[0], tuple):
            return (*c[0], _text(c[-1]))
        return (_text(c[0]),)

    def insert(self, c: list[Any]) -> ast.Insert:
        return ast.Insert(str(c[1]), _text(c[2]), span=self._span(c[0]))

    def region_alias(self, c: list[Any]) -> ast.RegionAlias:
        return ast.RegionAlias(_text(c[2]), _text(c[4]), span=self._span(c[0]))

    def include(self, c: list[Any]) -> ast.Include:
        return ast.Include(_text(c[1]), span=self._span(c[0]))

    def input_cmd(self, c: list[Any]) -> ast.Input:
        return ast.Input(str(c[0]), tuple(c[2]), span=self._span(c[0]))

    def input_list(self, c: list[Any]) -> list[Any]:
        if isinstance(c[0], list):
            return [*c[0], c[-1]]
        return [c[0]]

    def input_file(self, c: list[Any]) -> ast.InputFile:
        token = c[0]
        if token.type == "LNAME":
            return ast.InputFile(str(token)[2:], library=True, span=self._span(token))
        return ast.InputFile(_text(token), span=self._span(token))

    def as_needed(self, c: list[Any]) -> ast.AsNeeded:
        return ast.AsNeeded(tuple(c[2]), span=self._span(c[0]))

    def statement_anywhere(self, c: list[Any]) -> Any:
        return c[0]

    def assert_stmt(self, c: list[Any]) -> ast.Assert:
        return ast.Assert(c[2], _text(c[4]), span=self._span(c[0]))

    def assignment(self, c: list[Any]) -> ast.Assignment:
        return ast.Assignment(_text(c[0]), str(c[1]), c[2], span=self._span(c[0]))

    def provide(self, c: list[Any]) -> ast.Assignment:
        return ast.Assignment(_text(c[2]), "=", c[4], str(c[0]), span=self._span(c[0]))

    # --- MEMORY -------------------------------------------------------------------------

    def memory(self, c: list[Any]) -> ast.Memory:
        items = c[2] if isinstance(c[2], list) else []
        return self._body(ast.Memory(tuple(items), span=self._span(c[0])), c[1], c[-1])

    def memory_list(self, c: list[Any]) -> list[Any]:
        if isinstance(c[0], list):
            return [*c[0], c[-1]]
        return [c[0]]

    def memory_region(self, c: list[Any]) -> ast.MemoryRegionDecl:
        attributes = c[1] if isinstance(c[1], str) and not isinstance(c[1], Token) else None
        colon = next(i for i, x in enumerate(c) if isinstance(x, Token) and x.type == "COLON")
        return ast.MemoryRegionDecl(
            _text(c[0]), attributes, c[colon + 3], c[-1], span=self._span(c[0])
        )

    def memory_attrs(self, c: list[Any]) -> str:
        return "".join(c[1:-1])

    def memory_attr(self, c: list[Any]) -> str:
        return "".join(str(t) for t in c)

    # --- SECTIONS -----------------------------------------------------------------------

    def sections(self, c: list[Any]) -> ast.Sections:
        node = ast.Sections(self._statements(c[2:-1]), span=self._span(c[0]))
        return self._body(node, c[1], c[-1])

    def output_section(self, c: list[Any]) -> ast.OutputSection:
        # NAME, header parts (1-tuples of fields) and `:`, `{`, statements, `}`, the tail
        # (a 1-tuple, possibly of no fields), and an optional `,`.
        fields: dict[str, Any] = {}
        open_index = 1
        for open_index in range(1, len(c)):
            item = c[open_index]
            if type(item) is tuple:
                fields.update(item[0])
            elif item.type == "LBRACE":
                break
        tail = c[-1]
        close_index = len(c) - 2
        if type(tail) is not tuple:
            tail = c[-2]
            close_index -= 1
        fields.update(tail[0])
        name = c[0]
        node = ast.OutputSection(
            _text(name),
            self._statements(c[open_index + 1 : close_index]),
            span=_token_span(self.file, name),
            **fields,
        )
        return self._body(node, c[open_index], c[close_index])

    def section_address(self, c: list[Any]) -> tuple[dict[str, Any]]:
        return ({"address": c[0]},)

    def section_address_glued(self, c: list[Any]) -> tuple[dict[str, Any]]:
        # One name to ld (see GLUED_ADDRESS in the grammar): a symbol, never arithmetic.
        return ({"address": ast.Symbol(_text(c[0]), span=self._span(c[0]))},)

    def type_empty(self, c: list[Any]) -> tuple[dict[str, Any]]:
        return ({},)

    def type_plain(self, c: list[Any]) -> tuple[dict[str, Any]]:
        return ({"type": str(c[1])},)

    def type_readonly(self, c: list[Any]) -> tuple[dict[str, Any]]:
        return ({"type": "READONLY"},)

    def type_readonly_value(self, c: list[Any]) -> tuple[dict[str, Any]]:
        return ({"type": "READONLY", "type_value": c[5]},)

    def type_value(self, c: list[Any]) -> tuple[dict[str, Any]]:
        return ({"type": "TYPE", "type_value": c[3]},)

    def section_at(self, c: list[Any]) -> tuple[dict[str, Any]]:
        return ({"lma": c[2]},)

    def section_align(self, c: list[Any]) -> tuple[dict[str, Any]]:
        return ({"align": c[2]},)

    def align_with_input(self, c: list[Any]) -> tuple[dict[str, Any]]:
        return ({"align_with_input": True},)

    def section_subalign(self, c: list[Any]) -> tuple[dict[str, Any]]:
        return ({"subalign": c[2]},)

    def section_constraint(self, c: list[Any]) -> tuple[dict[str, Any]]:
        return ({"constraint": str(c[0])},)

    def section_tail(self, c: list[Any]) -> tuple[Mapping[str, Any]]:
        if not c:
            return _NO_FIELDS
        fields: dict[str, Any] = {}
        phdrs: list[str] = []
        for item in c:
            key, value = item
            if key == "phdr":
                phdrs.append(value)
            else:
                fields[key] = value
        if phdrs:
            fields["phdrs"] = tuple(phdrs)
        return (fields,)

    def region(self, c: list[Any]) -> tuple[str, str]:
        return ("region", _text(c[1]))

    def lma_region(self, c: list[Any]) -> tuple[str, str]:
        return ("lma_region", _text(c[2]))

    def phdr_ref(self, c: list[Any]) -> tuple[str, str]:
        return ("phdr", _text(c[1]))

    def fill(self, c: list[Any]) -> tuple[str, Any]:
        return ("fill", c[1])

    def overlay(self, c: list[Any]) -> ast.Overlay:
        fields: dict[str, Any] = {}
        if not (isinstance(c[1], Token) and c[1].type == "COLON"):
            fields["address"] = c[1]
        open_index, close_index = _braces(c)
        for item in c[2:open_index]:
            if isinstance(item, tuple):
                fields.update(item[0])
        for item in c[close_index + 1 :]:
            if isinstance(item, tuple):
                fields.update(item[0])
        sections = tuple(c[open_index + 1 : close_index])
        node = ast.Overlay(sections, span=self._span(c[0]), **fields)
        return self._body(node, c[open_index], c[close_index])

    def overlay_nocrossrefs(self, c: list[Any]) -> tuple[dict[str, Any]]:
        return ({"nocrossrefs": True},)

    def overlay_section(self, c: list[Any]) -> ast.OverlaySection:
        close_index = _braces(c)[1]
        fields: dict[str, Any] = {}
        phdrs = [
            v for k, v in (x for x in c[close_index + 1 :] if isinstance(x, tuple)) if k == "phdr"
        ]
        for item in c[close_index + 1 :]:
            if isinstance(item, tuple) and item[0] == "fill":
                fields["fill"] = item[1]
        node = ast.OverlaySection(
            _text(c[0]),
            self._statements(c[2:close_index]),
            phdrs=tuple(phdrs),
            span=self._span(c[0]),
            **fields,
        )
        return self._body(node, c[1], c[close_index])

    # --- output-section body ------------------------------------------------------------

    def keyword_stmt(self, c: list[Any]) -> ast.Command:
        return ast.Command(str(c[0]), span=self._span(c[0]))

    def sort_constructors(self, c: list[Any]) -> ast.Command:
        return ast.Command(str(c[0]), ("CONSTRUCTORS",), span=self._span(c[0]))

    def data_command(self, c: list[Any]) -> ast.DataCommand:
        return ast.DataCommand(str(c[0]), c[2], span=self._span(c[0]))

    def fill_command(self, c: list[Any]) -> ast.Fill:
        return ast.Fill(c[2], span=self._span(c[0]))

    def keep(self, c: list[Any]) -> ast.InputSectionDescription:
        inner: ast.InputSectionDescription = c[2]
        # Built anew rather than through records.evolve, as in `kept_sections`.
        return ast.InputSectionDescription(
            file=inner.file, sections=inner.sections, keep=True, flags=inner.flags,
            span=self._span(c[0]))

    def _flags_and_rest(self, c: list[Any]) -> tuple[tuple[str, ...] | None, list[Any]]:
        if isinstance(c[0], tuple) and c[0] and c[0][0] == "flags":
            return c[0][1], c[1:]
        return None, c

    def bare_file(self, c: list[Any]) -> ast.InputSectionDescription:
        flags, rest = self._flags_and_rest(c)
        token = rest[0]
        if token.type == "WILDNAME":
            check_wild_names(str(token), self._span(token))
        pattern = ast.Pattern(_text(token), span=self._span(token))
        return ast.InputSectionDescription(pattern, None, flags=flags, span=self._span(c[0]))

    def mri_sections(self, c: list[Any]) -> ast.InputSectionDescription:
        flags, rest = self._flags_and_rest(c)
        return ast.InputSectionDescription(None, tuple(rest[1]), flags=flags, span=self._span(c[0]))

    def file_sections(self, c: list[Any]) -> ast.InputSectionDescription:
        flags, rest = self._flags_and_rest(c)
        return ast.InputSectionDescription(
            rest[0], tuple(rest[2]), flags=flags, span=self._span(c[0])
        )

    def input_sections(self, c: list[Any]) -> ast.InputSectionDescription:
        """``file(section ...)`` lexed as one token (see `placer.script._driver`): the same
        nodes and spans as the token-by-token rules give."""
        # `Any`: compiled, the line read as an `int` would be boxed anew for every span
        # (see `_token_span`); this way it stays the token's own int object.
        token: Any = c[-1]
        line = token.line
        column = token.column
        file = self.file
        pattern_class = ast.Pattern
        # The token is its text: read as a `str` (typed, so compiled code calls the string
        # methods directly; no copy through `Token.value`).
        text: str = token
        if "\n" not in text:
            # Words hold no blank and no parenthesis, so each is found, in order, by `find`
            # from the end of the last (no match object per word).
            patterns = []
            at = 0
            for word in text.replace("(", " ").replace(")", " ").split():
                at = text.find(word, at)
                patterns.append(pattern_class(word, span=SourceSpan(file, line, column + at)))
                at += len(word)
        else:
            patterns = []
            for found in _WORDS(text):
                offset = found.start()
                newline = text.rfind("\n", 0, offset)
                if newline < 0:
                    span = SourceSpan(file, line, column + offset)
                else:
                    span = SourceSpan(file, line + text.count("\n", 0, offset), offset - newline)
                patterns.append(pattern_class(found.group(), span=span))
        pattern = patterns[0]
        if len(c) == 1:
            return ast.InputSectionDescription(pattern, tuple(patterns[1:]), span=pattern.span)
        _, flags, span = c[0]
        return ast.InputSectionDescription(pattern, tuple(patterns[1:]), flags=flags, span=span)

    def kept_sections(self, c: list[Any]) -> ast.InputSectionDescription:
        """``KEEP(file(section ...))`` lexed as one token (see `placer.script._driver`):
        the inner description as `input_sections` reads it, kept, at the ``KEEP``."""
        # `Any`, and `inner` too, so the inner token's line is this token's own int object,
        # not a copy (see `_token_span`).
        token: Any = c[0]
        text: str = token
        # The inner description starts at the first non-blank after KEEP's `(` and ends at
        # its own `)`, the last but one (blanks only between the two).
        start = len(text) - len(text[text.index("(") + 1 :].lstrip(_BLANKS))
        inner: Any = Token(text[start : text.rindex(")")].rstrip(_BLANKS))
        inner.type = "INPUT_SECTIONS"
        inner.start_pos = token.start_pos + start
        newline = text.rfind("\n", 0, start)
        if newline < 0:
            inner.line, inner.column = token.line, token.column + start
        else:
            inner.line, inner.column = token.line + text.count("\n", 0, start), start - newline
        description = self.input_sections([inner])
        # Built anew rather than through records.evolve: a long script has one per section.
        return ast.InputSectionDescription(
            file=description.file, sections=description.sections, keep=True,
            flags=description.flags, span=_token_span(self.file, token))

    def input_flags(self, c: list[Any]) -> tuple[str, tuple[str, ...], SourceSpan | None]:
        return ("flags", tuple(c[2]), self._span(c[0]))

    def flag_list(self, c: list[Any]) -> list[str]:
        if isinstance(c[0], list):
            return [*c[0], _text(c[2])]
        return [_text(c[0])]

    def file_spec(self, c: list[Any]) -> Any:
        return c[0]

    def _sorted(self, c: list[Any]) -> ast.SortedPattern:
        sorts = [str(t) for t in c if isinstance(t, Token) and t.type not in ("LPAR", "RPAR")]
        inner = next(x for x in c if isinstance(x, ast.Pattern | ast.SortedPattern))
        if isinstance(inner, ast.SortedPattern):
            return ast.SortedPattern((*sorts, *inner.sorts), inner.pattern, span=self._span(c[0]))
        return ast.SortedPattern(tuple(sorts), inner, span=self._span(c[0]))

    def section_list(self, c: list[Any]) -> list[Any]:
        return c

    def wild_exclude(self, c: list[Any]) -> ast.Pattern:
        token = c[0]
        span = _token_span(self.file, token)
        if token.type == "WILDNAME":
            if "=" in token:
                check_wild_names(str(token), span)
            return ast.Pattern(str(token), span=span)
        return ast.Pattern(token[1:-1], span=span)

    def excluded(self, c: list[Any]) -> ast.Pattern:
        return ast.Pattern(_text(c[4]), tuple(c[2]), span=self._span(c[0]))

    def exclude_list(self, c: list[Any]) -> list[str]:
        return [_text(t) for t in c]

    # --- PHDRS and VERSION --------------------------------------------------------------

    def phdrs(self, c: list[Any]) -> ast.Phdrs:
        node = ast.Phdrs(tuple(c[2:-1]), span=self._span(c[0]))
        return self._body(node, c[1], c[-1])

    def phdr(self, c: list[Any]) -> ast.PhdrDecl:
        type_ = c[1]
        if isinstance(type_, ast.Symbol) and type_.name not in _PHDR_TYPES:
            raise ScriptProblem(
                f"unknown program header type `{type_.name}` (try an integer literal)",
                type_.span,
            )
        fields: dict[str, Any] = {}
        for qualifier in c[2:-1]:
            kind, name, value, where = qualifier
            if kind == "at":
                fields["at"] = value
            elif name == "FILEHDR" and value is None:
                fields["filehdr"] = True
            elif name == "PHDRS" and value is None:
                fields["phdrs"] = True
            elif name == "FLAGS" and value is not None:
                fields["flags"] = value
            else:
                raise ScriptProblem(f"PHDRS syntax error at `{name}`", self._span(where))
        return ast.PhdrDecl(_text(c[0]), type_, span=self._span(c[0]), **fields)

    def phdr_flag(self, c: list[Any]) -> tuple[str, str, None, Token]:
        return ("name", str(c[0]), None, c[0])

    def phdr_value(self, c: list[Any]) -> tuple[str, str, Any, Token]:
        return ("name", str(c[0]), c[2], c[0])

    def phdr_at(self, c: list[Any]) -> tuple[str, str, Any, Token]:
        return ("at", "AT", c[2], c[0])

    def version(self, c: list[Any]) -> ast.Version:
        return ast.Version(tuple(c[2:-1]), span=self._span(c[0]))

    def vers_anonymous(self, c: list[Any]) -> ast.VersionNode:
        globals_, locals_ = c[1]
        return ast.VersionNode(None, globals_, locals_, span=self._span(c[0]))

    def vers_tagged(self, c: list[Any]) -> ast.VersionNode:
        globals_, locals_ = c[2]
        dependencies = tuple(str(t) for t in c[4:-1])
        return ast.VersionNode(str(c[0]), globals_, locals_, dependencies, span=self._span(c[0]))

    def vers_empty(self, c: list[Any]) -> tuple[tuple[Any, ...], tuple[Any, ...]]:
        return ((), ())

    def vers_global(self, c: list[Any]) -> tuple[tuple[Any, ...], tuple[Any, ...]]:
        defns = next(x for x in c if isinstance(x, list))
        return (tuple(defns), ())

    def vers_local(self, c: list[Any]) -> tuple[tuple[Any, ...], tuple[Any, ...]]:
        defns = next(x for x in c if isinstance(x, list))
        return ((), tuple(defns))

    def vers_both(self, c: list[Any]) -> tuple[tuple[Any, ...], tuple[Any, ...]]:
        lists = [x for x in c if isinstance(x, list)]
        return (tuple(lists[0]), tuple(lists[1]))

    def vers_defns(self, c: list[Any]) -> list[Any]:
        if isinstance(c[0], list):
            return [*c[0], c[-1]]
        return [c[0]]

    def vers_symbol(self, c: list[Any]) -> ast.VersionSymbol:
        token = c[0]
        return ast.VersionSymbol(
            _text(token), literal=token.type == "QSTRING", span=self._span(token)
        )

    def vers_extern(self, c: list[Any]) -> ast.VersionExtern:
        symbols = next(x for x in c if isinstance(x, list))
        for symbol in symbols:
            if isinstance(symbol, ast.VersionExtern):
                raise ScriptProblem("`extern` blocks do not nest", symbol.span)
        return ast.VersionExtern(_text(c[1]), tuple(symbols), span=self._span(c[0]))

    # --- expressions --------------------------------------------------------------------

    def number(self, c: list[Any]) -> ast.Number:
        token: Token = c[0]
        text = str(token)
        return ast.Number(_decode(text), text, span=_token_span(self.file, token))

    def symbol(self, c: list[Any]) -> ast.Symbol:
        return ast.Symbol(_text(c[0]), span=self._span(c[0]))

    def paren(self, c: list[Any]) -> Any:
        return c[1]

    def call(self, c: list[Any]) -> ast.Call:
        args = tuple(x for x in c[2:-1] if not isinstance(x, Token))
        return ast.Call(str(c[0]), args, span=self._span(c[0]))

    def call_name(self, c: list[Any]) -> ast.Call:
        arg = ast.Symbol(_text(c[2]), span=self._span(c[2]))
        return ast.Call(str(c[0]), (arg,), span=self._span(c[0]))

    def call_segment_start(self, c: list[Any]) -> ast.Call:
        segment = ast.String(_text(c[2]), span=self._span(c[2]))
        return ast.Call("SEGMENT_START", (segment, c[4]), span=self._span(c[0]))

    def call_assert(self, c: list[Any]) -> ast.Call:
        message = ast.String(_text(c[4]), span=self._span(c[4]))
        return ast.Call("ASSERT", (c[2], message), span=self._span(c[0]))

    def sizeof_headers(self, c: list[Any]) -> ast.Call:
        return ast.Call("SIZEOF_HEADERS", (), span=self._span(c[0]))

    def chain(self, c: list[Any]) -> Any:
        if isinstance(c[0], _Chain):
            c[0].items.extend((c[1], c[2]))
            return c[0]
        return _Chain(c)

    def expr(self, c: list[Any]) -> Any:
        first = _fold(c[0].items) if isinstance(c[0], _Chain) else c[0]
        if len(c) == 1:
            return first
        return ast.Conditional(first, c[2], c[4], span=first.span)

    def unary(self, c: list[Any]) -> ast.UnaryOp:
        return ast.UnaryOp(str(c[0]), c[1], span=self._span(c[0]))


class _Chain:
    """operand, operator, operand, ...: a binary-operator chain not yet folded."""

    def __init__(self, items: list[Any]) -> None:
        self.items = items


def _fold(chain: list[Any]) -> Any:
    """Fold ``a op b op c ...`` into a left-associative tree by C precedence."""
    operands: list[Any] = [chain[0]]
    operators: list[str] = []

    def reduce() -> None:
        right = operands.pop()
        left = operands.pop()
        operands.append(ast.BinaryOp(operators.pop(), left, right, span=left.span))

    for index in range(1, len(chain), 2):
        op = str(chain[index])
        while operators and ast.BINARY_PRECEDENCE[operators[-1]] >= ast.BINARY_PRECEDENCE[op]:
            reduce()
        operators.append(op)
        operands.append(chain[index + 1])
    while operators:
        reduce()
    return operands[0]


class _Engine:
    """The parser of a process: the reductions, the driver over them, and a lock (one
    parse at a time uses them)."""

    def __init__(self, builder: _Builder, lock: threading.Lock, literals: dict[str, str],
                 driver: Driver) -> None:
        self.builder = builder
        self.lock = lock
        self.literals = literals
        self.driver = driver


@functools.cache
def _engine() -> _Engine:
    """The parser, built once per process from the shipped tables (no Lark, no cache)."""
    builder = _Builder()
    return _Engine(builder, threading.Lock(), _tables.LITERALS, Driver(builder))


def parse(
    text: str,
    *,
    file: str = "<string>",
    kind: FragmentKind | None = None,
    check_memory_regions: bool | None = None,
) -> ast.Script:
    """Parse linker-script text into a `Script`.

    `kind` says what the text is (a whole script, a SECTIONS body, or an output-section
    body such as Zephyr's ``noinit.ld``); with ``None`` it is detected: the first kind
    that parses, in that order, wins, and if none does the error of the kind that read
    furthest is reported. The result's `kind` says which was used; its `commands` are
    the statements of that kind.

    `check_memory_regions`: report ``> REGION`` / ``AT> REGION`` naming a region no
    MEMORY block declares (GNU ld only warns). ``None`` checks when the text has a
    MEMORY block of its own.

    Raises `ScriptError` (``file:line:col: error: ...``) for any text ld would reject,
    and never any other exception.
    """
    with _collector_paused():
        if kind is not None:
            script = _parse_kind(text, file, kind)
        else:
            failures: dict[str, ScriptError] = {}
            for candidate in FragmentKind:
                try:
                    script = _parse_kind(text, file, candidate)
                except ScriptError as error:
                    failures[candidate.value] = error
                    continue
                if candidate is FragmentKind.SCRIPT or _plausible(script):
                    break
            else:
                if looks_like_mri(text):
                    raise mri_error(file, text)
                # The whole-script reading always failed to get here; a fragment reading
                # may have parsed yet been implausible, leaving no error of its own.
                raise failures.get(likely_kind(text), failures[FragmentKind.SCRIPT.value])
        has_memory = any(isinstance(c, ast.Memory) for c in script.commands)
        if check_memory_regions or (check_memory_regions is None and has_memory):
            check_regions(script, file, text)
        return script


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    """The cyclic garbage collector off for the duration (back on after, if it was on).

    Everything a parse allocates is either freed by reference counting or kept in the tree
    it returns, so the collector's passes during a parse free nothing; they cost a third of
    a 100k-line parse, and most of the difference between parsing many scripts in one
    process and parsing them with the collector off, as the ``placer`` command runs.
    """
    collecting = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if collecting:
            # Not gc.freeze() + gc.unfreeze() to move the tree to the oldest generation
            # unvisited: that moves every young object, garbage cycles of the caller's
            # included, where no full collection ever comes for them (objects that skip
            # the middle generation never count towards one), so a process that parses
            # again and again grew without bound.
            gc.enable()


_FILE_PATTERN_HINTS = frozenset("*?[./:\\")


def _plausible(fragment: ast.Script) -> bool:
    """Whether a fragment reading is what the text meant, not an accident of ld's syntax.

    Almost any words parse as an output-section body (each a bare input file name), so a
    fragment is taken only if it has the statements its kind exists for: output sections
    for a SECTIONS body; input section descriptions whose file patterns look like file
    patterns (``*``, ``foo.o``, ``lib.a:``), and no bare file names, for an
    output-section body.
    """
    commands = fragment.commands
    if fragment.kind is FragmentKind.SECTIONS_BODY:
        return any(isinstance(c, ast.OutputSection | ast.Overlay) for c in commands)
    descriptions = [c for c in commands if isinstance(c, ast.InputSectionDescription)]
    if not descriptions:
        return False
    for description in descriptions:
        if description.sections is None:
            return False
        pattern = description.file
        if isinstance(pattern, ast.SortedPattern):
            pattern = pattern.pattern
        if pattern is not None and not _FILE_PATTERN_HINTS & set(pattern.name):
            return False
    return True


def parse_file(
    path: str | Path,
    *,
    kind: FragmentKind | None = None,
    check_memory_regions: bool | None = None,
) -> ast.Script:
    """Read and parse the linker script at `path` (see `parse`)."""
    name = str(path)
    text = read_input_text(path, what="linker script", errors="surrogateescape")
    return parse(text, file=name, kind=kind, check_memory_regions=check_memory_regions)


def _parse_kind(text: str, file: str, kind: FragmentKind) -> ast.Script:
    engine = _engine()
    with engine.lock:
        builder = engine.builder
        builder.file = file
        builder.bodies = {}
        builder.comments = []
        try:
            commands = cast(
                tuple[Any, ...], engine.driver.parse(text, _START[kind], builder.comments)
            )
        except ScriptProblem as error:
            where = error.where
            line, column = (where.line, where.column) if where else (1, 1)
            raise error_at(error.message, file, text, line, column) from None
        except ParseFailure as failure:
            if kind is FragmentKind.SCRIPT and looks_like_mri(text):
                raise mri_error(file, text) from None
            raise describe_failure(failure, file, text, engine.literals) from None
        except (RecursionError, ValueError) as error:
            raise ScriptError(f"cannot parse: {error}", file, 1, 1) from None
        script = ast.Script(commands, kind, span=SourceSpan(file, 1, 1))
        if builder.comments:
            script = _attach_comments(script, builder, text)
        builder.bodies = {}
        builder.comments = []
    return script


# --- comments ---------------------------------------------------------------------------


def _own_line(token: Token, text: str) -> bool:
    start = token.start_pos or 0
    end = token.end_pos or start
    line_start = text.rfind("\n", 0, start) + 1
    line_end = text.find("\n", end)
    if line_end < 0:
        line_end = len(text)
    return not text[line_start:start].strip() and not text[end:line_end].strip()


def _position(line: int, column: int) -> int:
    """Line and column as one int that orders as the pair does: a comparison of two ints,
    not of two tuples, for every child of a container that holds a comment."""
    return line << 32 | column


def _attach_comments(script: ast.Script, builder: _Builder, text: str) -> ast.Script:
    comments = [
        (
            _position(t.line or 0, t.column or 0),
            ast.Comment(
                str(t).rstrip("\n"), span=SourceSpan(builder.file, t.line or 0, t.column or 0)
            ),
        )
        for t in builder.comments
        if _own_line(t, text)
    ]
    if not comments:
        return script
    return _attach(script, comments, builder.bodies)  # type: ignore[no-any-return]


_ACCEPTS_COMMENTS: dict[type, str] = {
    ast.Script: "commands",
    ast.Memory: "commands",
    ast.Sections: "commands",
    ast.OutputSection: "commands",
    ast.OverlaySection: "commands",
    ast.Phdrs: "headers",
}


def _attach(
    node: Any,
    comments: list[tuple[int, ast.Comment]],
    bodies: dict[int, tuple[int, int]],
) -> Any:
    field = _ACCEPTS_COMMENTS.get(type(node))
    children: tuple[Any, ...] = getattr(node, field) if field else node.sections
    result: list[Any] = []
    # `pending` is in source order; `pending[:placed]` are already placed (or dropped).
    pending = list(comments)
    keys = [position for position, _ in pending]
    placed = 0
    for index, child in enumerate(children):
        if placed == len(pending):
            # Every comment is placed (those inside a child's braces went with it): the
            # rest of the children are unchanged, however many there are.
            result.extend(children[index:])
            break
        body = bodies.get(id(child))
        # (Pending comments are in source order: none is inside unless the first is
        # before the closing brace; most containers hold none, and bisecting costs more.)
        if body is not None and keys[placed] < body[1]:
            # The comments strictly between the child's braces go inside it.
            low = bisect.bisect_right(keys, body[0], placed)
            high = bisect.bisect_left(keys, body[1], low)
            if low < high:
                inside = pending[low:high]
                del pending[low:high]
                del keys[low:high]
                child = _attach(child, inside, bodies)
        span = child.span
        start = 0 if span is None else _position(span.line, span.column)
        while placed < len(pending) and keys[placed] < start:
            if field:
                result.append(pending[placed][1])
            placed += 1
        result.append(child)
    if field:
        result.extend(c for _, c in pending[placed:])
        return records.evolve(node, **{field: tuple(result)})
    return records.evolve(node, sections=tuple(result))
