"""How ``placer`` subcommands print: diagnostics that survive any byte, warnings collected
by the library, and aligned text tables."""

from __future__ import annotations

import contextlib
import sys
import warnings
from collections.abc import Iterator, Sequence, Set

# Read as true by the type checker only: `typing` would cost ``placer --help`` (which
# imports this module) a tenth of its time.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from placer.errors import PlacerError, ScriptWarning


def printable(text: str) -> str:
    """`text` with each byte a file held that is not UTF-8 (read with surrogateescape, so it
    reaches a diagnostic's source line as a lone surrogate) shown as ``\\xNN``: a stream
    that encodes strictly would raise on the surrogate instead of printing the error."""
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def render(error: PlacerError | ScriptWarning) -> str:
    """`error` as a compiler's diagnostic: ``location: error: summary`` (``warning:`` for a
    warning), then its context lines (source line and caret, notes, fix, numbers)."""
    # ConfigViolations: each violation is a diagnostic of its own.
    violations: tuple[PlacerError, ...] = getattr(error, "violations", ())
    if violations:
        return "\n".join(render(v) for v in violations)
    severity = getattr(error, "severity", "error")
    summary = error.summary()
    if summary.startswith(f"{severity}: ") or f": {severity}: " in summary:
        return str(error)  # a message written pre-rendered: shown as written, not twice
    where = error.location()
    head = f"{where}: {severity}: {summary}" if where else f"{severity}: {summary}"
    return "\n".join((head, *error.context()))


@contextlib.contextmanager
def report_script_warnings() -> Iterator[None]:
    """Print every `ScriptWarning` issued inside the block to stderr, even if it raises."""
    from placer.errors import ScriptWarning

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ScriptWarning)
        try:
            yield
        finally:
            for warning in caught:
                if isinstance(warning.message, ScriptWarning):
                    print(printable(render(warning.message)), file=sys.stderr)


def text_table(rows: Sequence[tuple[str, ...]], numeric: Set[int] = frozenset()) -> list[str]:
    """`rows` as lines of aligned columns two spaces apart; the `numeric` columns (by
    index) are right-aligned, the rest left-aligned; no trailing blanks."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    out = []
    for row in rows:
        cells = [cell.rjust(widths[i]) if i in numeric else cell.ljust(widths[i])
                 for i, cell in enumerate(row)]
        out.append("  ".join(cells).rstrip())
    return out
