"""One exception hierarchy for everything placer reports.

Every error carries where it comes from: a file, line and column for scripts and board
files; the option and the rule for configuration; the binding constraint and its numbers
for an infeasible placement; the file and the section or symbol for an extension. The CLI
prints ``str(error)`` and exits non-zero; library callers read the fields.
"""

from __future__ import annotations

from typing import ClassVar

import attrs


@attrs.frozen(slots=True)
class SourceSpan:
    """A place in a source file: 1-based line and column; `end_*` inclusive-exclusive."""

    file: str
    line: int
    column: int
    end_line: int | None = None
    end_column: int | None = None

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"


class PlacerError(Exception):
    """Root of every error placer raises on bad input."""


class _Diagnostic(Exception):
    """A message about a place in a source file, rendered like a compiler's diagnostic:
    ``file:line:col: <severity>: message``, then the source line and a caret, then notes."""

    severity: ClassVar[str]

    def __init__(
        self,
        message: str,
        file: str,
        line: int,
        column: int,
        source_line: str | None = None,
        notes: tuple[str, ...] = (),
    ) -> None:
        self.message = message
        self.file = file
        self.line = line
        self.column = column
        self.source_line = source_line
        self.notes = notes
        super().__init__(self.render())

    def render(self) -> str:
        """The full diagnostic: location, message, the offending line and a caret."""
        text = f"{self.file}:{self.line}:{self.column}: {self.severity}: {self.message}"
        if self.source_line is not None:
            shown = self.source_line.rstrip("\n").expandtabs(1)
            text += f"\n{shown}\n" + " " * max(self.column - 1, 0) + "^"
        for note in self.notes:
            text += f"\nnote: {note}"
        return text


class ScriptError(_Diagnostic, PlacerError):
    """A linker script or snippet that cannot be read, preprocessed or understood.

    Renders as ``file:line:col: error: message`` followed by the source line and a caret,
    the shape of GCC's and Kconfiglib's messages.
    """

    severity = "error"


class ScriptWarning(_Diagnostic, UserWarning):
    """Something placer accepted in a linker script that GNU ld would not do the same way.

    Issued with `warnings.warn`; the CLI prints each one as ``file:line:col: warning:
    message`` with the source line, a caret and notes, the way `ScriptError` renders.
    """

    severity = "warning"


class BoardError(PlacerError):
    """A board file or an imported board that is malformed or inconsistent."""

    def __init__(self, message: str, file: str | None = None, line: int | None = None) -> None:
        self.message = message
        self.file = file
        self.line = line
        where = ""
        if file is not None:
            where = f"{file}:{line}: " if line is not None else f"{file}: "
        super().__init__(f"{where}error: {message}")


class ConfigError(PlacerError):
    """A Kconfig value that breaks one of LLEXT's rules.

    `options` names the option(s) involved (without the ``CONFIG_`` prefix), `rule` states
    the rule Zephyr enforces, and `fix` says what to change.
    """

    def __init__(
        self,
        options: tuple[str, ...],
        rule: str,
        fix: str | None = None,
        where: str | None = None,
    ) -> None:
        self.options = options
        self.rule = rule
        self.fix = fix
        self.where = where
        names = ", ".join(f"CONFIG_{o}" for o in options)
        text = f"{where}: " if where else ""
        text += f"error: {names}: {rule}" if names else f"error: {rule}"
        if fix:
            text += f"\n  fix: {fix}"
        super().__init__(text)


class Infeasible(PlacerError):
    """No placement satisfies every constraint.

    `heap` is the heap section that cannot be placed, `constraint` the binding constraint
    in words, and `details` the numbers per candidate region (free space, largest aligned
    gap) and the largest size that would fit.
    """

    def __init__(
        self,
        heap: str,
        constraint: str,
        details: tuple[str, ...] = (),
        largest_fit: int | None = None,
    ) -> None:
        self.heap = heap
        self.constraint = constraint
        self.details = details
        self.largest_fit = largest_fit
        text = f"error: cannot place {heap}: {constraint}"
        for line in details:
            text += f"\n  {line}"
        super().__init__(text)


class ExtensionError(PlacerError):
    """An extension ELF that Zephyr's loader would refuse.

    `errno` is the negative errno Zephyr would return (``-ENOEXEC``, ``-ENOMEM``, ...), as
    its symbolic name.
    """

    def __init__(
        self,
        message: str,
        file: str,
        errno: str,
        section: str | None = None,
        symbol: str | None = None,
    ) -> None:
        self.message = message
        self.file = file
        self.errno = errno
        self.section = section
        self.symbol = symbol
        where = file
        if section is not None:
            where += f": section {section}"
        if symbol is not None:
            where += f": symbol {symbol}"
        super().__init__(f"{where}: error: {message} (Zephyr: -{errno})")


class LayoutError(PlacerError):
    """A layout file (placer's layout JSON) that cannot be read back.

    `file` names the layout file; `line` and `column` point into it when the JSON itself
    is malformed; `key` is the dotted path of the offending value when the JSON is well
    formed but does not follow the schema.
    """

    def __init__(
        self,
        message: str,
        file: str,
        line: int | None = None,
        column: int | None = None,
        key: str | None = None,
    ) -> None:
        self.message = message
        self.file = file
        self.line = line
        self.column = column
        self.key = key
        where = file
        if line is not None:
            where += f":{line}:{column}" if column is not None else f":{line}"
        text = f"{where}: error: "
        if key is not None:
            text += f"{key}: "
        super().__init__(text + message)


class InputError(PlacerError):
    """An input file that cannot be read: missing, not a regular file, larger than the
    limit, unreadable, or (for `read_input_text` with strict decoding) not UTF-8.

    `file` names the file, `what` the kind of input, `reason` what is wrong; `line` and
    `column` point at the first byte that is not UTF-8.
    """

    def __init__(self, file: str, what: str, reason: str, line: int | None = None,
                 column: int | None = None) -> None:
        self.file = file
        self.what = what
        self.reason = reason
        self.line = line
        self.column = column
        where = file if line is None else f"{file}:{line}:{column}"
        super().__init__(f"{where}: error: cannot read the {what}: {reason}")
