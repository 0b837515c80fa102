"""The typed AST of GNU linker scripts.

Every node is a frozen attrs class. Each carries its source `span`, which is excluded from
equality so that ``parse(print(ast)) == ast`` compares meaning, not positions.
"""

from __future__ import annotations

import attrs

from placer.errors import SourceSpan


def _span() -> SourceSpan | None:
    return attrs.field(default=None, eq=False, repr=False, kw_only=True)  # type: ignore[no-any-return]


# --- Expressions -------------------------------------------------------------------------


@attrs.frozen(slots=True)
class Number:
    """An integer literal; `text` is how it was written (``0x10K``, ``010``, ``1h``)."""

    value: int
    text: str
    span: SourceSpan | None = _span()


@attrs.frozen(slots=True)
class Symbol:
    """A symbol reference, including the location counter ``.``."""

    name: str
    span: SourceSpan | None = _span()


@attrs.frozen(slots=True)
class String:
    """A quoted string argument (``SEGMENT_START("text-segment", ...)``, ASSERT messages)."""

    value: str
    span: SourceSpan | None = _span()


@attrs.frozen(slots=True)
class UnaryOp:
    """``-x``, ``!x``, ``~x``, ``+x``."""

    op: str
    operand: Expr
    span: SourceSpan | None = _span()


@attrs.frozen(slots=True)
class BinaryOp:
    """A binary operator with C precedence: ``* / % + - << >> < <= > >= == != & ^ | && ||``."""

    op: str
    left: Expr
    right: Expr
    span: SourceSpan | None = _span()


@attrs.frozen(slots=True)
class Conditional:
    """``cond ? then : otherwise``."""

    condition: Expr
    then: Expr
    otherwise: Expr
    span: SourceSpan | None = _span()


@attrs.frozen(slots=True)
class Call:
    """A builtin function: ``ALIGN(4)``, ``ORIGIN(RAM)``, ``CONSTANT(MAXPAGESIZE)``.

    Arguments that name a section, region or constant are `Symbol` nodes; string
    arguments are `String` nodes. `function` is upper case as ld spells it.
    """

    function: str
    args: tuple[Expr, ...]
    span: SourceSpan | None = _span()


Expr = Number | Symbol | String | UnaryOp | BinaryOp | Conditional | Call
