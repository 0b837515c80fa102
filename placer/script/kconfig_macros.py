"""Kconfig values as C preprocessor macros, the way Zephyr's ``autoconf.h`` spells them.

Zephyr preprocesses its linker-script templates with ``-imacros autoconf.h``, and
``autoconf.h`` is generated from the ``.config`` file: ``CONFIG_X=y`` becomes
``#define CONFIG_X 1``, ``=n`` and ``# CONFIG_X is not set`` define nothing, integers and
hex keep their text, strings keep their quotes. ``=m`` (tristate modules, unused by Zephyr
but legal Kconfig) defines ``CONFIG_X_MODULE 1`` as Linux's ``autoconf.h`` does.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from pathlib import Path

import attrs

from placer.errors import ScriptError
from placer.inputs import read_input_text

_ASSIGNMENT = re.compile(r"(CONFIG_[A-Za-z0-9_]+)=(.*)")
_NOT_SET = re.compile(r"#\s*(CONFIG_[A-Za-z0-9_]+) is not set\s*$")
_INTEGER = re.compile(r"-?(0[xX][0-9a-fA-F]+|[0-9]+)")
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')


@attrs.frozen(slots=True)
class Macro:
    """One object-like macro: ``#define name value``."""

    name: str
    value: str


def parse_kconfig(text: str, file: str) -> tuple[Macro, ...]:
    """The macros ``autoconf.h`` would define for the ``.config`` text `text`.

    A later assignment of the same option replaces an earlier one, as Kconfig reads
    ``.config`` files. Raises `ScriptError` on a line that is neither an assignment, a
    comment nor blank, and on a value that is not ``y``/``n``/``m``, a number or a string.
    """
    values: dict[str, str | None] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line:
            continue
        if line.startswith("#"):
            unset = _NOT_SET.match(line)
            if unset:
                values[unset.group(1)] = None
            continue
        match = _ASSIGNMENT.fullmatch(line)
        if match is None:
            column = raw.index(line[0]) + 1
            raise ScriptError(
                "expected `CONFIG_NAME=value`, a `#` comment or a blank line",
                file, number, column, source_line=raw,
            )
        name, value = match.group(1), match.group(2)
        column = raw.index("=") + 2
        if value == "y":
            values[name] = "1"
        elif value == "n":
            values[name] = None
        elif value == "m":
            values[name] = None
            values[f"{name}_MODULE"] = "1"
        elif _INTEGER.fullmatch(value) or _STRING.fullmatch(value):
            values[name] = value
        else:
            raise ScriptError(
                f"value of {name} is not y, n, m, a number or a quoted string: {value!r}",
                file, number, column, source_line=raw,
            )
    return tuple(Macro(name, value) for name, value in values.items() if value is not None)


def read_kconfig(path: str | Path) -> tuple[Macro, ...]:
    """`parse_kconfig` of the file at `path`."""
    # Kconfig writes UTF-8; a stray byte means a corrupt or wrong file, so it is refused
    # with its place (read_input_text's strict decoding) rather than an encoding guessed.
    path = Path(path)
    text = read_input_text(path, what="Kconfig file")
    return parse_kconfig(text, os.fsdecode(path))


def merge_macros(*groups: Iterable[Macro]) -> tuple[Macro, ...]:
    """Macros of several sources, later groups overriding earlier ones by name."""
    merged: dict[str, str] = {}
    for group in groups:
        for macro in group:
            merged[macro.name] = macro.value
    return tuple(Macro(name, value) for name, value in merged.items())


def parse_define(option: str) -> Macro:
    """A ``-D`` option's argument: ``NAME`` defines ``NAME`` as 1, ``NAME=value`` as value."""
    name, eq, value = option.partition("=")
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
        raise ScriptError(f"-D {option}: macro name must be an identifier", "<command line>", 1, 1)
    return Macro(name, value if eq else "1")
