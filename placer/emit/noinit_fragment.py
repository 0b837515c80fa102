"""The ``noinit.ld`` fragment: Zephyr's documented way to place the heaps without a custom
linker script (Zephyr's ``doc/services/llext/config.rst`` and
include/zephyr/linker/common-noinit.ld).

Three pieces, each ready to paste:

- ``noinit.ld``: the heap input sections, guarded as Zephyr guards its own default
  placement, so the file is inert once ``CONFIG_LLEXT_CUSTOM_HEAP_PLACEMENT`` is set;
- the CMake line that feeds it into the ``.noinit`` output section:
  ``zephyr_linker_sources(NOINIT noinit.ld)``;
- when the board's linker script never includes ``snippets-noinit.ld`` (found by parsing
  the script, not by searching its text), the script with the include added after its
  ``.noinit`` input sections: without it the fragment goes nowhere.

The fragment is built as an AST (C preprocessor lines are comment nodes, which is how the
parser reads ``#`` lines) and printed.
"""

from __future__ import annotations

import re

from placer import records
from placer.emit.linker_script import (
    alignment_commands,
    collects,
    input_sections_end,
    load_base_script,
)
from placer.errors import ScriptError
from placer.layout import Layout, Placement
from placer.script import FragmentKind, ast, print_script

#: The guard Zephyr puts around its default heap placement (zephyr PR #107366).
GUARD = "#if defined(CONFIG_LLEXT) && !defined(CONFIG_LLEXT_CUSTOM_HEAP_PLACEMENT)"
CMAKE_LINE = "zephyr_linker_sources(NOINIT noinit.ld)"
SNIPPETS_INCLUDE = "#include <snippets-noinit.ld>"

_INCLUDES_SNIPPETS = re.compile(r"^#\s*include\s*[<\"]snippets-noinit\.ld[>\"]")


@records.frozen
class Fragment:
    """A ``noinit.ld`` and what a board needs to use it.

    `text` is the ``noinit.ld`` file; `cmake_line` goes in the board's (or SoC's)
    ``CMakeLists.txt``; `script_with_include` is the board's linker script with
    ``#include <snippets-noinit.ld>`` added, or ``None`` when the script already has it.
    `sections` lists the heap input sections the fragment places.
    """

    text: str
    cmake_line: str
    sections: tuple[str, ...]
    script_with_include: str | None = None


def noinit_fragment(layout: Layout, base: ast.Script | None = None) -> Fragment:
    """The ``noinit.ld`` fragment for the heaps `layout` places in ``.noinit``.

    `base` is the board's linker script as parsed (default: the board's base script); it
    decides whether the ``snippets-noinit.ld`` include must be added.
    """
    placed_here = sorted(
        (p for p in layout.heaps if p.placement is Placement.NOINIT),
        key=lambda p: p.address,
    )
    sections = tuple(p.section for p in placed_here)
    body: list[ast.OutputSectionCommand] = [
        ast.Comment(f"/* LLEXT heaps for board {layout.target.board.name}, "
                    "placed in .noinit by placer */"),
        ast.Comment(GUARD),
    ]
    for placed in placed_here:
        # The base the layout wants so the heap's allocations align well (user mode with
        # a power-of-two MPU), aligned by ld from wherever .noinit really ends.
        body += alignment_commands(layout, placed)
        body.append(ast.InputSectionDescription(
            file=ast.Pattern("*"), sections=(ast.Pattern(placed.section),)))
    body.append(ast.Comment("#endif"))
    text = print_script(ast.Script(tuple(body), kind=FragmentKind.OUTPUT_SECTION_BODY))
    script = base
    if script is None and layout.target.board.base_script is not None:
        script = load_base_script(layout)
    with_include = None
    if script is not None and not includes_snippets(script):
        with_include = print_script(add_snippets_include(script))
    return Fragment(text=text, cmake_line=CMAKE_LINE, sections=sections,
                    script_with_include=with_include)


def includes_snippets(script: ast.Script) -> bool:
    """Whether `script` pulls in ``snippets-noinit.ld`` (``#include`` or ``INCLUDE``)."""
    for statement in ast.iter_statements(script):
        if isinstance(statement, ast.Comment) and _INCLUDES_SNIPPETS.match(statement.text):
            return True
        if isinstance(statement, ast.Include) and statement.path.endswith("snippets-noinit.ld"):
            return True
    return False


def add_snippets_include(script: ast.Script) -> ast.Script:
    """`script` with ``#include <snippets-noinit.ld>`` after the input section descriptions
    of its ``.noinit`` output section, as Zephyr's documentation describes."""
    host = _noinit_section(script)
    if host is None:
        raise _no_noinit(script)
    commands = host.commands
    at = input_sections_end(commands)
    include = ast.Comment(SNIPPETS_INCLUDE)
    edited = records.evolve(host, commands=(*commands[:at], include, *commands[at:]))
    return ast.replace(script, host, edited)


def _noinit_section(script: ast.Script) -> ast.OutputSection | None:
    return next((section for section in ast.iter_output_sections(script)
                 if collects(section, ".noinit")), None)


def _no_noinit(script: ast.Script) -> ScriptError:
    file = script.span.file if script.span is not None else "<script>"
    return ScriptError(
        "no output section collects *(.noinit): cannot add the noinit.ld fragment", file, 1, 1
    )
