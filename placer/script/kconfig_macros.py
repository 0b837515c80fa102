"""Kconfig values as C preprocessor macros, the way Zephyr's ``autoconf.h`` spells them.

The ``.config`` files are read by `placer.dotconfig` (placer's one reader, which depends
on nothing above this layer).

Zephyr preprocesses its linker-script templates with ``-imacros autoconf.h``, and
``autoconf.h`` is generated from the ``.config`` file: ``CONFIG_X=y`` becomes
``#define CONFIG_X 1``, ``=n`` and ``# CONFIG_X is not set`` define nothing, integers and
hex keep their text, strings keep their quotes. ``=m`` (tristate modules, unused by Zephyr
but legal Kconfig) defines ``CONFIG_X_MODULE 1`` as Linux's ``autoconf.h`` does.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from placer import records
from placer.errors import ScriptError

if TYPE_CHECKING:
    from placer.dotconfig import KconfigValues



@records.frozen
class Macro:
    """One object-like macro: ``#define name value``."""

    name: str
    value: str


def parse_kconfig(text: str, file: str) -> tuple[Macro, ...]:
    """The macros ``autoconf.h`` would define for the ``.config`` text `text`.

    The text is read by placer's one ``.config`` reader (`placer.dotconfig`), the same
    that reads a configuration for placing heaps, so both accept and refuse the same
    files: a later assignment replaces an earlier one, the last ``=y`` of a choice wins,
    a line that is not an assignment or a comment is a `ScriptError`, and a value Kconfig
    refuses is a `ConfigError` naming the option and ``file:line``.
    """
    from placer.dotconfig import kconfig_values

    return _macros(kconfig_values([(file, text)]))


def read_kconfig(path: str | Path) -> tuple[Macro, ...]:
    """`parse_kconfig` of the file at `path` (`ConfigError` when it cannot be read)."""
    from placer.dotconfig import read_kconfig_files

    return _macros(read_kconfig_files([path]))


def _macros(values: KconfigValues) -> tuple[Macro, ...]:
    return tuple(Macro(name, value) for name, value in values.macros())


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
