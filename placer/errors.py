"""One exception hierarchy for everything placer reports.

Every error carries where it comes from: a file, line and column for scripts and board
files; the option and the rule for configuration; the binding constraint and its numbers
for an infeasible placement; the file and the section or symbol for an extension.

``str(error)`` is the plain message, where and what on one line, as a caller logs it. The
rest (the source line and a caret, notes, the fix, the numbers per region) is in the
fields and in `context()`; rendering it all as a compiler diagnostic (``file:line:col:
error: ...`` and the lines under it) is the CLI's job (`placer.cli.output.render`), as Lark
keeps its messages plain and offers ``get_context()``.
"""

from __future__ import annotations

from typing import ClassVar

from placer import records


@records.frozen
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
    """Root of every error placer raises on bad input.

    Subclasses say where (`location`), what (`summary`) and what to show under it
    (`context`); ``str()`` is ``location: summary``, or the summary alone.
    """

    def __init__(self, message: str = "", where: str | None = None) -> None:
        super().__init__(message)
        self.where = where

    def location(self) -> str | None:
        """Where the problem is (``file:line:col``, ``file``), or None."""
        return self.where

    def summary(self) -> str:
        """What is wrong, in one line, without the location."""
        return str(self.args[0]) if self.args else ""

    def context(self) -> tuple[str, ...]:
        """Lines a diagnostic shows under the message (source line and caret, notes, the
        fix, numbers); not part of ``str()``."""
        return ()

    def __str__(self) -> str:
        where = self.location()
        return f"{where}: {self.summary()}" if where else self.summary()


class ArgumentError(PlacerError, ValueError):
    """A value a caller passed that placer cannot use: an unknown storage type, a load
    order naming an extension that was not given, a pin naming an unknown heap section or
    region, a negative reserve. `argument` names the parameter (as the library spells
    it). Also a `ValueError`, which is what such values raised before."""

    def __init__(self, argument: str, message: str) -> None:
        self.argument = argument
        self.message = message
        super().__init__(message)


class OutputError(PlacerError):
    """A file or folder placer was asked to write and cannot (`file` names it); nothing
    was left half-written."""

    def __init__(self, message: str, file: str) -> None:
        self.message = message
        self.file = file
        super().__init__(message)

    def location(self) -> str | None:
        """The file or folder that could not be written."""
        return self.file


class _Diagnostic(Exception):
    """A message about a place in a source file, which the CLI renders like a compiler's
    diagnostic: ``file:line:col: <severity>: message``, then the source line and a caret,
    then notes."""

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
        super().__init__(message)

    def location(self) -> str | None:
        """``file:line:col``."""
        return f"{self.file}:{self.line}:{self.column}"

    def summary(self) -> str:
        """The message."""
        return self.message

    def context(self) -> tuple[str, ...]:
        """The offending line and a caret under the column, then ``note: ...`` lines."""
        lines: list[str] = []
        if self.source_line is not None:
            lines.append(self.source_line.rstrip("\n").expandtabs(1))
            lines.append(" " * max(self.column - 1, 0) + "^")
        return (*lines, *(f"note: {note}" for note in self.notes))

    def __str__(self) -> str:
        return f"{self.location()}: {self.summary()}"


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
        super().__init__(message)

    def location(self) -> str | None:
        """``file:line``, ``file``, or None for a board built in memory."""
        if self.file is None:
            return None
        return f"{self.file}:{self.line}" if self.line is not None else self.file

    def summary(self) -> str:
        """The message."""
        return self.message


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
        super().__init__(self.summary(), where=where)

    def summary(self) -> str:
        """``CONFIG_A, CONFIG_B: rule``."""
        names = ", ".join(f"CONFIG_{o}" for o in self.options)
        return f"{names}: {self.rule}" if names else self.rule

    def context(self) -> tuple[str, ...]:
        """``  fix: ...`` when there is a fix."""
        return (f"  fix: {self.fix}",) if self.fix else ()


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
        super().__init__(self.summary())

    def summary(self) -> str:
        """``cannot place HEAP: constraint``."""
        return f"cannot place {self.heap}: {self.constraint}"

    def context(self) -> tuple[str, ...]:
        """The numbers per candidate region, indented."""
        return tuple(f"  {line}" for line in self.details)


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
        super().__init__(self.summary())

    def location(self) -> str | None:
        """``file``, then ``: section S`` and ``: symbol X`` when known."""
        where = self.file
        if self.section is not None:
            where += f": section {self.section}"
        if self.symbol is not None:
            where += f": symbol {self.symbol}"
        return where

    def summary(self) -> str:
        """The message and the errno Zephyr would return."""
        return f"{self.message} (Zephyr: -{self.errno})"


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
        super().__init__(self.summary())

    def location(self) -> str | None:
        """``file``, ``file:line`` or ``file:line:col``."""
        if self.line is None:
            return self.file
        return f"{self.file}:{self.line}" + (f":{self.column}" if self.column is not None
                                              else "")

    def summary(self) -> str:
        """The message, after the dotted key of the offending value when there is one."""
        return f"{self.key}: {self.message}" if self.key is not None else self.message


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
        super().__init__(self.summary())

    def location(self) -> str | None:
        """``file``, or ``file:line:col`` of the first byte that is not UTF-8."""
        return self.file if self.line is None else f"{self.file}:{self.line}:{self.column}"

    def summary(self) -> str:
        """``cannot read the WHAT: reason``."""
        return f"cannot read the {self.what}: {self.reason}"
