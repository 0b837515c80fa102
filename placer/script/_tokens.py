"""The lexer's tokens and the parser's failure, as classes of their own module.

`placer.script._driver` may run compiled (mypyc, when the wheel is built with a C
compiler), and compiled code can hold neither a class that subclasses `str` nor an
exception that pure-Python callers must catch as the very same class; so both live here,
always pure Python, and the driver, the reductions and the diagnostics share them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


class Token(str):
    """A lexed token: its text (the string itself), terminal name and position (as Lark's
    ``Token``, whose attributes the diagnostics read; `end_line`/`end_column` unused)."""

    # Four attributes set per token (the lexer makes one per word of a script); the text
    # and the end are derived from the string itself when asked for.
    __slots__ = ("column", "line", "start_pos", "type")

    type: str
    start_pos: int
    line: int
    column: int

    @property
    def value(self) -> str:
        """The token's text (as a plain `str`)."""
        return str.__str__(self)

    @property
    def end_pos(self) -> int:
        """The offset just past the token."""
        return self.start_pos + len(self)

    def __repr__(self) -> str:
        return f"Token({self.type!r}, {self.value!r})"


def make_token(kind: str, value: str, start: int, line: int, column: int) -> Token:
    """A token of terminal `kind` with text `value`, at offset `start` (`line`, `column`)."""
    token = Token(value)
    token.type = kind
    token.start_pos = start
    token.line = line
    token.column = column
    return token


def _native_token_maker() -> Callable[[str, str, int, Any, int], Token] | None:
    try:
        # Built by setup.py with the compiled modules (placer/_recordinit.c).
        from placer._recordinit import make_str_maker
    except ImportError:
        return None
    made: Callable[[str, str, int, Any, int], Token] = make_str_maker(
        Token, (Token.type, Token.start_pos, Token.line, Token.column))
    return made


#: ``NATIVE_TOKEN(value, kind, start, line, column)``: `make_token` in C (one call instead
#: of a `str` constructor call and four attribute stores, a tenth of a compiled parse), or
#: None where setup.py built no C (the lexer then makes its tokens itself).
NATIVE_TOKEN = _native_token_maker()


class ParseFailure(Exception):
    """Where parsing stopped: the offending token (or character) and what was possible."""

    def __init__(self, token: Token | None, position: int, expected: frozenset[str],
                 previous: Token | None) -> None:
        super().__init__(token, position, expected, previous)
        self.token = token
        self.position = position
        self.expected = expected
        self.previous = previous

    def __str__(self) -> str:
        return f"unexpected {self.token!r} at {self.position}"
