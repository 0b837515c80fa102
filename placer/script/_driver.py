"""A lean LALR(1) driver and contextual lexer over the tables Lark builds for ld.lark.

Lark compiles the grammar (``grammar/ld.lark``) into LALR tables and rule callbacks; this
module runs them. It does what Lark's own contextual lexer and parser loop do, with less
per-token work (one regex match per token, whitespace and comments skipped by one more),
which is most of the parse time on large scripts. Two behaviours differ on purpose, both
to follow GNU ld's lexer:

* where the parser state accepts both a SCRIPT-state name and the ``/`` operator (right
  after an expression), a name starting with ``/`` is the operator unless it is exactly
  ``/DISCARD/`` (ldlex.l's special rule in EXPRESSION state);
* comments are collected for `Comment` nodes here, not through lexer callbacks.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import attrs
from lark import Lark, Token
from lark.lexer import PatternStr, TerminalDef
from lark.parsers.lalr_analysis import Shift

_SKIP = re.compile(r"(?:[ \t\r\n\f\v]+|/\*[\s\S]*?\*/|#[^\n]*)+")
_COMMENT = re.compile(r"/\*[\s\S]*?\*/|#[^\n]*")


@attrs.frozen(slots=True)
class ParseFailure(Exception):
    """Where parsing stopped: the offending token (or character) and what was possible."""

    token: Token | None
    position: int
    expected: frozenset[str]
    previous: Token | None

    def __str__(self) -> str:
        return f"unexpected {self.token!r} at {self.position}"


@attrs.frozen(slots=True)
class _StateLexer:
    pattern: re.Pattern[str]
    #: regex terminal -> {keyword text: keyword terminal} valid in this state.
    keywords: dict[str, dict[str, str]]
    slash_operator: bool


def _callback(rule: Any, transformer: Any) -> Callable[[list[Any]], Any]:
    """The reduction for `rule`, with Lark's tree-shaping rules applied directly.

    Lark wraps every transformer method in generic helpers; the same shaping is done
    here once per rule, which halves the cost of a reduction: children produced by rules
    named ``_x`` (and the ``*``/``+`` helpers) are spliced into the parent, a ``?rule``
    with one child and no alias returns that child, and every token is kept.
    """
    splice = tuple(
        i
        for i, symbol in enumerate(rule.expansion)
        if not symbol.is_term and symbol.name.startswith("_")
    )
    name = rule.origin.name
    if name.startswith("_"):
        method: Callable[[list[Any]], Any] | None = None
    else:
        method = getattr(transformer, rule.alias or name, None)
        if method is None and not rule.options.expand1:
            raise TypeError(f"no transformer method for grammar rule {rule.alias or name}")
    expand1 = bool(rule.options.expand1) and not rule.alias

    def shaped(children: list[Any]) -> list[Any]:
        result: list[Any] = []
        for index, child in enumerate(children):
            if index in splice:
                result.extend(child)
            else:
                result.append(child)
        return result

    if method is None and expand1:
        # A `?rule` without a method of its own: every alternative has one child.
        if splice:
            return lambda children: shaped(children)[0]
        return lambda children: children[0]
    if method is None:
        if not splice:
            return lambda children: children
        return shaped
    call = method
    if expand1:
        if splice:

            def expand_spliced(children: list[Any]) -> Any:
                flat = shaped(children)
                return flat[0] if len(flat) == 1 else call(flat)

            return expand_spliced

        def expand(children: list[Any]) -> Any:
            return children[0] if len(children) == 1 else call(children)

        return expand
    if splice:
        return lambda children: call(shaped(children))
    return call


def _sort_key(t: TerminalDef) -> tuple[int, int, int, str]:
    # Lark's own order: priority, then widest pattern, then longest literal, then name.
    return (-t.priority, -t.pattern.max_width, -len(t.pattern.value), t.name)


class Driver:
    """Parses with the tables of a compiled Lark grammar; see the module docstring."""

    def __init__(self, lark: Lark, transformer: Any) -> None:
        parser = lark.parser.parser.parser
        self.table = parser.parse_table
        self.callbacks = {rule: _callback(rule, transformer) for rule in parser.callbacks}
        ignore = set(lark.lexer_conf.ignore)
        self.terminals = sorted((t for t in lark.terminals if t.name not in ignore), key=_sort_key)
        self._by_name = {t.name: t for t in self.terminals}
        self._lexers: dict[int, _StateLexer] = {}
        self._root = self._build(frozenset(self._by_name))

    def _build(self, accepted: frozenset[str]) -> _StateLexer:
        terminals = [t for t in self.terminals if t.name in accepted]
        regexes = [t for t in terminals if not isinstance(t.pattern, PatternStr)]
        keywords: dict[str, dict[str, str]] = {}
        alternatives = []
        for terminal in terminals:
            if isinstance(terminal.pattern, PatternStr):
                text = terminal.pattern.value
                owner = next(
                    (r for r in regexes if re.fullmatch(r.pattern.to_regexp(), text)), None
                )
                if owner is not None:
                    keywords.setdefault(owner.name, {})[text] = terminal.name
                    continue
            alternatives.append(f"(?P<{terminal.name}>{terminal.pattern.to_regexp()})")
        pattern = re.compile("|".join(alternatives) if alternatives else r"(?!x)x")
        return _StateLexer(pattern, keywords, "NAME" in accepted and "SLASH" in accepted)

    def _lexer(self, state: int) -> _StateLexer:
        lexer = self._lexers.get(state)
        if lexer is None:
            accepted = frozenset(k for k in self.table.states[state] if k.isupper())
            lexer = self._lexers[state] = self._build(accepted)
        return lexer

    def parse(self, text: str, start: str, comments: list[Token]) -> Any:
        """Run the parser on `text` from rule `start`; comments are appended to `comments`."""
        states = self.table.states
        callbacks = self.callbacks
        state_stack = [self.table.start_states[start]]
        value_stack: list[Any] = []
        position, line, line_start = 0, 1, 0
        length = len(text)
        previous: Token | None = None
        while True:
            skipped = _SKIP.match(text, position)
            if skipped is not None:
                chunk = skipped.group()
                if "/*" in chunk or "#" in chunk:
                    for found in _COMMENT.finditer(text, position, skipped.end()):
                        start_pos = found.start()
                        comment_line = line + text.count("\n", position, start_pos)
                        comment_start = text.rfind("\n", 0, start_pos) + 1
                        comments.append(
                            Token(
                                "COMMENT",
                                found.group(),
                                start_pos,
                                comment_line,
                                start_pos - comment_start + 1,
                                end_pos=found.end(),
                            )
                        )
                newlines = chunk.count("\n")
                if newlines:
                    line += newlines
                    line_start = text.rfind("\n", position, skipped.end()) + 1
                position = skipped.end()
            if position >= length:
                token = Token("$END", "", position, line, position - line_start + 1)
                return self._finish(state_stack, value_stack, token, previous, start)
            state = state_stack[-1]
            lexer = self._lexer(state)
            match = lexer.pattern.match(text, position)
            if match is None:
                match = self._root.pattern.match(text, position)
                if match is None:
                    raise ParseFailure(None, position, self.accepts(state_stack), previous)
                lexer = self._root
            kind = match.lastgroup or ""
            value = match.group()
            if (
                lexer.slash_operator
                and kind == "NAME"
                and value[0] == "/"
                and (value != "/DISCARD/")
            ):
                kind, value = "SLASH", "/"
            elif kind in lexer.keywords:
                kind = lexer.keywords[kind].get(value, kind)
            token = Token(
                kind,
                value,
                position,
                line,
                position - line_start + 1,
                end_pos=position + len(value),
            )
            newlines = value.count("\n")
            if newlines:
                line += newlines
                line_start = text.rfind("\n", position, position + len(value)) + 1
            position += len(value)
            # Feed the token: reduce as far as it allows, then shift it.
            while True:
                action_arg = states[state_stack[-1]].get(kind)
                if action_arg is None:
                    raise ParseFailure(
                        token, token.start_pos or 0, self.accepts(state_stack), previous
                    )
                action, arg = action_arg
                if action is Shift:
                    state_stack.append(arg)
                    value_stack.append(token)
                    break
                size = len(arg.expansion)
                if size:
                    children = value_stack[-size:]
                    del state_stack[-size:]
                    del value_stack[-size:]
                else:
                    children = []
                value_stack.append(callbacks[arg](children))
                state_stack.append(states[state_stack[-1]][arg.origin.name][1])
            previous = token

    def _finish(
        self,
        state_stack: list[int],
        value_stack: list[Any],
        token: Token,
        previous: Token | None,
        start: str,
    ) -> Any:
        states = self.table.states
        end_state = self.table.end_states[start]
        while True:
            action_arg = states[state_stack[-1]].get("$END")
            if action_arg is None:
                raise ParseFailure(token, token.start_pos or 0, self.accepts(state_stack), previous)
            _action, rule = action_arg
            size = len(rule.expansion)
            if size:
                children = value_stack[-size:]
                del state_stack[-size:]
                del value_stack[-size:]
            else:
                children = []
            value_stack.append(self.callbacks[rule](children))
            state_stack.append(states[state_stack[-1]][rule.origin.name][1])
            if state_stack[-1] == end_state:
                return value_stack[-1]

    def accepts(self, state_stack: list[int]) -> frozenset[str]:
        """The terminals that could come next, following reductions (no callbacks run)."""
        states = self.table.states
        result = set()
        for terminal in states[state_stack[-1]]:
            if not terminal.isupper() and terminal != "$END":
                continue
            stack = list(state_stack)
            while True:
                action_arg = states[stack[-1]].get(terminal)
                if action_arg is None:
                    break
                action, arg = action_arg
                if action is Shift:
                    result.add(terminal)
                    break
                size = len(arg.expansion)
                if size:
                    del stack[-size:]
                goto = states[stack[-1]].get(arg.origin.name)
                if goto is None:
                    break
                stack.append(goto[1])
                if terminal == "$END" and stack[-1] in self.table.end_states.values():
                    result.add(terminal)
                    break
        return frozenset(result)
