"""Write a layout into a Zephyr application: the files the application itself must carry
for its build to produce the heaps where the layout put them.

Two shapes, chosen by the layout (`placer.emit.needs_custom_script`):

- Zephyr's default placement (heaps inside ``.noinit``): ``noinit.ld`` in the application
  folder, and ``zephyr_linker_sources(NOINIT noinit.ld)`` in its ``CMakeLists.txt``, after
  ``find_package(Zephyr ...)``: that call is what defines the function (Zephyr's
  ``cmake/modules/extensions.cmake``), and the function resolves a relative file name
  against the calling ``CMakeLists.txt``'s folder.
- Custom placement: the custom linker script as ``linker.ld`` in the application folder,
  which is where ``CONFIG_CUSTOM_LINKER_SCRIPT="linker.ld"`` is looked up first (Zephyr's
  top-level ``CMakeLists.txt``, ``CONFIG_HAVE_CUSTOM_LINKER_SCRIPT``).

In both shapes the Kconfig lines of the layout go into the application's ``prj.conf``,
inside a block placer owns (between two marker comments). ``prj.conf`` is the one
fragment Zephyr loads from the application without being told
(``cmake/modules/configuration_files.cmake``: used when no ``CONF_FILE`` is given);
a separate fragment would only be read if every build passed ``EXTRA_CONF_FILE``, which
``placer`` cannot see to. A line of ``prj.conf`` outside the block that sets one of the
block's symbols to another value is refused, naming the line: Kconfig would keep one of
the two and warn, and the build would not be the layout's.

`plan` computes the new text of every file without touching the disk; `apply` writes
them all or none (`placer._files.replace_all_atomically`). Files whose text would not
change are left alone, so a second run is a no-op.
"""

from __future__ import annotations

import enum
import os
import re
from pathlib import Path
from typing import TYPE_CHECKING

from placer import records
from placer._files import replace_all_atomically
from placer.dotconfig import kconfig_values
from placer.emit import (
    CMAKE_FILE,
    FRAGMENT_FILE,
    KCONFIG_FILE,
    SCRIPT_FILE,
    needs_custom_script,
    render_artifacts,
)
from placer.errors import PlacerError
from placer.inputs import read_input_text
from placer.layout import Layout, Placement

if TYPE_CHECKING:
    from placer.script.ast import Script

PRJ_CONF = "prj.conf"
CMAKE_LISTS = "CMakeLists.txt"
BLOCK_BEGIN = "# >>> placer: LLEXT heaps ('placer place --apply' replaces this block)"
BLOCK_END = "# <<< placer"
CMAKE_COMMENT = "# LLEXT heaps in .noinit, as placed by placer"


class Action(enum.Enum):
    """What happens to a file of the application."""

    CREATE = "created"
    UPDATE = "updated"


@records.frozen
class FileChange:
    """One file of the application and its new text; `what` says why, for the user."""

    path: Path
    text: str
    action: Action
    what: str


def plan(layout: Layout, app_dir: Path, *, base: Script | None = None) -> tuple[FileChange, ...]:
    """The files of the Zephyr application in `app_dir` that must change to build
    `layout`, with their new text; empty when the application already carries it.

    `base` is the parsed linker script the heaps go into (as for
    `placer.emit.write_artifacts`); default the board's base script. Raises `PlacerError`
    when `app_dir` is not a Zephyr application or ``prj.conf`` contradicts the layout.
    """
    app_dir = Path(app_dir)
    cmake_path = app_dir / CMAKE_LISTS
    cmake_text = _read(cmake_path)
    if cmake_text is None:
        raise PlacerError(where=f"{app_dir}", message=f"not a Zephyr application: no {CMAKE_LISTS}")
    find_zephyr = _find_package_zephyr(cmake_path, cmake_text)
    if needs_custom_script(layout):
        kinds = frozenset({"script", "kconfig"})
    elif any(p.placement is Placement.NOINIT for p in layout.heaps):
        kinds = frozenset({"fragment", "kconfig"})
    else:
        # Harvard heaps inside .rodata/.data and dynamic heaps: Zephyr's own linker
        # script places them, so only the Kconfig lines belong in the application.
        kinds = frozenset({"kconfig"})
    files = render_artifacts(layout, kinds, base=base)
    changes: list[FileChange] = []
    if SCRIPT_FILE in files:
        changes += _whole_file(app_dir / SCRIPT_FILE, files[SCRIPT_FILE],
                               "the custom linker script")
    if FRAGMENT_FILE in files:
        changes += _whole_file(app_dir / FRAGMENT_FILE, files[FRAGMENT_FILE],
                               "the heaps' input sections for .noinit")
        line = files[CMAKE_FILE].strip()
        new_cmake = _with_linker_sources(cmake_path, cmake_text, find_zephyr, line)
        if new_cmake != cmake_text:
            changes.append(FileChange(cmake_path, new_cmake, Action.UPDATE,
                                      f"{line} after find_package(Zephyr)"))
    prj_path = app_dir / PRJ_CONF
    prj_text = _read(prj_path)
    new_prj = _with_block(prj_path, prj_text or "", files[KCONFIG_FILE])
    if new_prj != prj_text:
        changes.append(FileChange(prj_path, new_prj,
                                  Action.CREATE if prj_text is None else Action.UPDATE,
                                  "the Kconfig lines of the layout, in placer's block"))
    return tuple(changes)


def apply(layout: Layout, app_dir: Path, *, base: Script | None = None
          ) -> tuple[FileChange, ...]:
    """`plan` and `write`: the application in `app_dir` made to build `layout`; returns
    the changes (empty when nothing had to change)."""
    changes = plan(layout, app_dir, base=base)
    write(changes, app_dir)
    return changes


def write(changes: tuple[FileChange, ...], app_dir: Path) -> None:
    """Write `changes` (from `plan`) all or none. Raises `PlacerError` naming the file
    when one cannot be written; then no file of the application has changed."""
    try:
        replace_all_atomically([(c.path, c.text.encode("utf-8", "surrogateescape"))
                                for c in changes])
    except OSError as exc:
        where = exc.filename or app_dir
        raise PlacerError(where=f"{where}", message=f"cannot write: {exc.strerror}; "
                          "nothing in the application was changed") from None


# --- whole files -------------------------------------------------------------------------


def _read(path: Path) -> str | None:
    # The application's own files: bounded like every input (a FIFO or a folder named
    # prj.conf is refused by name); surrogateescape keeps a Latin-1 comment byte as it was.
    if not os.path.lexists(path):
        return None
    return read_input_text(path, what="application file", errors="surrogateescape")


def _whole_file(path: Path, text: str, what: str) -> list[FileChange]:
    old = _read(path)
    if old == text:
        return []
    if old is not None and "placer" not in old:
        # Never overwrite a file placer did not write (a hand-made linker.ld, say): what
        # placer writes names it (noinit.ld's header, the script's __placer_ symbols).
        raise PlacerError(where=f"{path}", message="exists and was not written by placer; move it "
                          "away or apply to another folder")
    return [FileChange(path, text, Action.CREATE if old is None else Action.UPDATE, what)]


# --- prj.conf ----------------------------------------------------------------------------

_ASSIGNMENT = re.compile(r"\s*CONFIG_(\w+)=(.*?)\s*$")
_NOT_SET = re.compile(r"\s*#\s*CONFIG_(\w+) is not set\s*$")


def _with_block(path: Path, text: str, fragment: str) -> str:
    """`text` (a ``prj.conf``) with placer's block holding `fragment`: replaced in place if
    the block is there, appended otherwise."""
    lines = text.splitlines()
    begin = next((i for i, line in enumerate(lines) if line.strip() == BLOCK_BEGIN), None)
    end = None
    if begin is not None:
        end = next((i for i in range(begin + 1, len(lines)) if lines[i].strip() == BLOCK_END),
                   None)
        if end is None:
            raise PlacerError(where=f"{path}:{begin + 1}:1", message=f"placer's block has no end "
                              f"marker ({BLOCK_END!r}); restore it or delete the block")
    # The user's lines as Kconfig reads them (the one .config reader), the block blanked
    # so that line numbers stay the file's.
    theirs = list(lines)
    if begin is not None and end is not None:
        theirs[begin:end + 1] = [""] * (end + 1 - begin)
    ours = {a.name: a.text for a in kconfig_values([("placer", fragment)]).assignments}
    for assignment in kconfig_values([(str(path), "\n".join(theirs))]).assignments:
        if assignment.name in ours and ours[assignment.name] != assignment.text:
            raise PlacerError(
                where=f"{assignment.where}:1",
                message=f"CONFIG_{assignment.name}={assignment.text} contradicts the "
                f"layout's CONFIG_{assignment.name}={ours[assignment.name]}; delete the line "
                "(placer writes its value in its own block) or place with this file as "
                "--config")
    block = [BLOCK_BEGIN, *fragment.rstrip("\n").splitlines(), BLOCK_END]
    if begin is not None and end is not None:
        lines[begin:end + 1] = block
    else:
        lines += ([""] if lines and lines[-1].strip() else []) + block
    return "\n".join(lines) + "\n"


# --- CMakeLists.txt ----------------------------------------------------------------------


@records.frozen
class _Command:
    """A CMake command invocation: name, arguments as written, where it ends (the offset
    after its closing parenthesis) and its line."""

    name: str
    arguments: tuple[str, ...]
    end: int
    line: int


def _find_package_zephyr(path: Path, text: str) -> _Command:
    for command in _commands(path, text):
        if command.name == "find_package" and command.arguments[:1] == ("Zephyr",):
            return command
    raise PlacerError(where=f"{path}", message="no find_package(Zephyr ...): not a Zephyr "
                      "application's CMakeLists.txt")


def _with_linker_sources(path: Path, text: str, find_zephyr: _Command, line: str) -> str:
    """`text` with `line` (``zephyr_linker_sources(NOINIT noinit.ld)``) on its own line after
    the ``find_package(Zephyr ...)`` call, unless an equal call is already there."""
    wanted = _commands(path, line)[0]
    for command in _commands(path, text):
        if command.name == wanted.name and command.arguments == wanted.arguments:
            if command.line < find_zephyr.line:
                raise PlacerError(where=f"{path}:{command.line}:1", message=f"{line} comes before "
                    f"find_package(Zephyr) (line {find_zephyr.line}), which defines it; "
                    "move it after")
            return text
    eol = text.find("\n", find_zephyr.end)
    head, rest = (text + "\n", "") if eol < 0 else (text[:eol + 1], text[eol + 1:])
    gap = "\n" if rest.strip() and not rest.startswith("\n") else ""
    return f"{head}\n{CMAKE_COMMENT}\n{line}\n{gap}{rest}"


_TOKEN = re.compile(
    r"""(?P<bracket_comment>\#\[(?P<eq1>=*)\[.*?\](?P=eq1)\])
      | (?P<comment>\#[^\n]*)
      | (?P<bracket>\[(?P<eq2>=*)\[.*?\](?P=eq2)\])
      | (?P<quoted>"(?:\\.|[^"\\])*")
      | (?P<open>\()
      | (?P<close>\))
      | (?P<newline>\n)
      | (?P<word>[^\s()#"]+)
      | (?P<space>[ \t\r]+)""",
    re.VERBOSE | re.DOTALL,
)


def _commands(path: Path, text: str) -> list[_Command]:
    """The top-level command invocations of a CMake file, in order (CMake's grammar:
    ``name ( arguments )``; comments, bracket and quoted arguments may hold parentheses)."""
    commands: list[_Command] = []
    line = 1
    position = 0
    name: str | None = None
    name_line = 0
    depth = 0
    arguments: list[str] = []
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None:
            raise PlacerError(where=f"{path}:{line}:1", message="cannot read this CMake line")
        kind, token = match.lastgroup, match[0]
        position = match.end()
        if kind in ("eq1", "eq2"):  # pragma: no cover - named subgroups, never lastgroup
            continue
        if depth == 0:
            if kind == "word":
                name, name_line = token.lower(), line
            elif kind == "open" and name is not None:
                depth, arguments = 1, []
            elif kind not in ("space", "comment", "bracket_comment"):
                name = None
        elif kind == "open":
            depth += 1
            arguments.append(token)
        elif kind == "close":
            depth -= 1
            if depth == 0:
                assert name is not None
                commands.append(_Command(name, tuple(arguments), position, name_line))
                name = None
            else:
                arguments.append(token)
        elif kind in ("word", "quoted", "bracket"):
            arguments.append(token)
        line += token.count("\n")
    if depth:
        raise PlacerError(where=f"{path}:{name_line}:1", message=f"{name}( is never closed")
    return commands
