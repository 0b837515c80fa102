"""Resolve ld's ``INCLUDE file`` and load a script in one call.

Where GNU ld looks (measured with ld 2.40, ``tests/script/test_includes.py`` re-checks it):
the name as given (relative to the current working folder), then each ``-L`` folder in
command-line order, then each ``SEARCH_DIR`` met in the scripts *before* the INCLUDE. ld
does **not** look in the including script's folder; placer looks there last, and when it
finds the file only there it takes it with a `ScriptWarning` (GNU ld finds that file only
when run from that folder or given it with ``-L``). An absolute name is only opened as is.

An INCLUDE is valid at top level, inside MEMORY, inside SECTIONS and inside an output
section; the included file is parsed as what its position implies and spliced in place.
Its statements keep spans that name the included file. ld allows 10 files open at once
(``MAX_INCLUDE_DEPTH``: the script given with ``-T`` and 9 nested INCLUDEs) and rejects a
file that includes itself directly or through others ("appears multiple times"); placer
reports both with the chain of files (ld names no chain: a cycle through the ``-T``
script "appears multiple times", any other cycle is "nested too deeply").
"""

from __future__ import annotations

import operator
import os
import warnings
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, Final, TypeVar

from placer import records
from placer.errors import InputError, ScriptError, ScriptWarning, SourceSpan
from placer.inputs import LIMIT_VARIABLE, TEXT_LIMIT, effective_limit, read_input_text
from placer.script import ast
from placer.script.diagnostics import (
    at_span,
    check_memory_attributes,
    check_regions_of_files,
    nesting_limit,
    source_line,
)
from placer.script.kconfig_macros import Macro
from placer.script.parser import parse
from placer.script.preprocess import (
    PreprocessedText,
    needs_preprocessing,
    preprocess_text,
    remap_error,
)

#: ``ld/ldlex.h``: files open at once, the top script included.
MAX_INCLUDE_DEPTH: Final = 10

#: How the body of a MEMORY block is parsed: wrapped on its first line so that line
#: numbers stay those of the file; columns on that line are shifted back by its length.
_MEMORY_OPEN: Final = "MEMORY { "

_Node = TypeVar("_Node")


def load_script(
    path: str | Path,
    *,
    include_dirs: Sequence[str | Path] = (),
    library_dirs: Sequence[str | Path] = (),
    defines: Mapping[str, str] | Iterable[Macro] = (),
    config_files: Sequence[str | Path] = (),
    preprocess: bool | str | None = None,
    kind: ast.FragmentKind | None = ast.FragmentKind.SCRIPT,
) -> ast.Script:
    """Read, preprocess, parse and resolve the INCLUDEs of the linker script at `path`.

    `kind` is what the file is: a whole script by default, as ``ld -T`` reads it (output
    sections outside SECTIONS are then a syntax error, as in ld); a snippet (a SECTIONS
    body, an output-section body such as Zephyr's ``noinit.ld``) only when the caller says
    so, or ``None`` to detect it. An INCLUDEd file is read as the kind its INCLUDE sits in.

    `preprocess`: ``None`` preprocesses when the file has C preprocessor directives,
    ``True`` always (pcpp), ``False`` never, a string names a compiler driver to use as
    Zephyr does (``arm-none-eabi-gcc``). `include_dirs` (``-I``), `defines` (``-D``) and
    `config_files` (Kconfig ``.config`` values as macros) feed the preprocessor;
    `library_dirs` (``-L``) are where INCLUDE looks. Every error is a `ScriptError` at
    the original file, line and column.
    """
    path = Path(path)
    with nesting_limit(str(path), "read"):
        return _load_script(path, include_dirs, library_dirs, defines, config_files,
                            preprocess, kind)


def _load_script(
    path: Path,
    include_dirs: Sequence[str | Path],
    library_dirs: Sequence[str | Path],
    defines: Mapping[str, str] | Iterable[Macro],
    config_files: Sequence[str | Path],
    preprocess: bool | str | None,
    kind: ast.FragmentKind | None,
) -> ast.Script:
    text = read_input_text(path, what="linker script", errors="surrogateescape")
    macros = _macros(defines)
    use_cpp = preprocess if preprocess is not None else needs_preprocessing(text)
    preprocessed: PreprocessedText | None = None
    if use_cpp is not False:
        preprocessed = preprocess_text(
            text, str(path), include_dirs=include_dirs, defines=macros,
            config_files=config_files, cpp=use_cpp if isinstance(use_cpp, str) else None,
        )
        text = preprocessed.text
    try:
        script = parse(text, file=str(path), kind=kind, check_memory_regions=False)
    except ScriptError as error:
        if preprocessed is None:
            raise
        raise remap_error(error, preprocessed) from None
    if preprocessed is not None:
        script = _remap_spans(script, preprocessed)
    resolver = _Resolver(tuple(Path(d) for d in library_dirs))
    sources = {str(path): text if preprocessed is None else preprocessed.text}
    if preprocessed is not None:
        sources = dict(preprocessed.sources)
    # Without the keyword there is no INCLUDE to splice: skip rebuilding the whole tree.
    resolved = resolver.resolve(script, str(path)) if "INCLUDE" in text else script
    sources.update(resolver.sources)
    check_regions_of_files(resolved, sources)
    check_memory_attributes(resolved, sources)
    if resolved.kind is ast.FragmentKind.SCRIPT:
        from placer.script.evaluate import check_section_addresses

        check_section_addresses(resolved, str(path))
    return resolved


def _with_commands(node: _Node, before: tuple[Any, ...], after: tuple[Any, ...]) -> _Node:
    """`node` with its statements `after` (were `before`): the same node when no INCLUDE
    changed them, as in most scripts, so resolving copies no tree."""
    if len(before) == len(after) and all(map(operator.is_, before, after)):
        return node
    return ast.with_commands(node, after)


def _macros(defines: Mapping[str, str] | Iterable[Macro]) -> tuple[Macro, ...]:
    if isinstance(defines, Mapping):
        return tuple(Macro(name, value) for name, value in defines.items())
    return tuple(defines)


class _Resolver:
    """Walks a script in ld's order, expanding INCLUDEs and tracking SEARCH_DIRs."""

    def __init__(self, library_dirs: tuple[Path, ...]) -> None:
        self.library_dirs = library_dirs
        self.search_dirs: list[Path] = []
        #: File key -> its name as found, and who includes whom: only a cycle error
        #: reads the edges (through networkx, loaded then).
        self.names: dict[str, str] = {}
        self.edges: list[tuple[str, str]] = []
        self.stack: list[str] = []
        self.sources: dict[str, str] = {}
        self.included = 0  # bytes of every INCLUDE so far: one file INCLUDEd many times

    def resolve(self, script: ast.Script, file: str) -> ast.Script:
        key = _key(file)
        self.names.setdefault(key, file)
        self.stack.append(key)
        try:
            return _with_commands(script, script.commands,
                                  self._commands(script.commands, script.kind))
        finally:
            self.stack.pop()

    def _commands(self, commands: tuple[Any, ...], kind: ast.FragmentKind | str) -> tuple[Any, ...]:
        result: list[Any] = []
        for command in commands:
            if isinstance(command, ast.Include):
                result.extend(self._include(command, kind))
                continue
            if isinstance(command, ast.Command) and command.name == "SEARCH_DIR":
                self.search_dirs.extend(Path(a) for a in command.args)
            if isinstance(command, ast.Memory):
                command = _with_commands(command, command.commands,
                                         self._commands(command.commands, "memory"))
            elif isinstance(command, ast.Sections):
                command = _with_commands(
                    command, command.commands,
                    self._commands(command.commands, ast.FragmentKind.SECTIONS_BODY))
            elif isinstance(command, ast.OutputSection | ast.OverlaySection):
                command = _with_commands(
                    command, command.commands,
                    self._commands(command.commands, ast.FragmentKind.OUTPUT_SECTION_BODY))
            elif isinstance(command, ast.Overlay):
                command = _with_commands(
                    command, command.sections, self._commands(command.sections, "overlay"))
            result.append(command)
        return tuple(result)

    def _include(self, include: ast.Include, kind: ast.FragmentKind | str) -> tuple[Any, ...]:
        found = self._find(include)
        key = _key(str(found))
        includer = self.stack[-1]
        self.names.setdefault(key, str(found))
        self.edges.append((includer, key))
        if key in self.stack:
            raise self._cycle_error(include, key)
        if len(self.stack) >= MAX_INCLUDE_DEPTH:
            chain = " -> ".join(self.names[k] for k in [*self.stack, key])
            raise _located(
                f"INCLUDE nested too deeply: more than {MAX_INCLUDE_DEPTH} files open "
                f"(GNU ld's MAX_INCLUDE_DEPTH): {chain}", include.span)
        try:
            text = read_input_text(found, what="linker script", errors="surrogateescape")
        except InputError as exc:
            raise _located(f"cannot read linker script file {found}: {exc.reason}",
                           include.span) from None
        self.included += len(text)
        if self.included > effective_limit(TEXT_LIMIT):
            raise _located(f"the INCLUDEd files add up to more than "
                           f"{effective_limit(TEXT_LIMIT)} bytes (set {LIMIT_VARIABLE} to "
                           "raise the limit)", include.span)
        self.sources[str(found)] = text
        fragment = _parse_included(text, str(found), kind)
        self.stack.append(key)
        try:
            return self._commands(fragment, kind)
        finally:
            self.stack.pop()

    def _cycle_error(self, include: ast.Include, key: str) -> ScriptError:
        import networkx as nx

        graph: nx.DiGraph[str] = nx.DiGraph()
        graph.add_nodes_from(self.names)
        graph.add_edges_from(self.edges)
        cycle = nx.find_cycle(graph, source=key)
        names = [self.names[edge[0]] for edge in cycle]
        names.append(self.names[cycle[-1][1]])
        # GNU ld's words depend on where the cycle closes: "linker script file 'x'
        # appears multiple times" through the -T script, else "includes nested too deeply".
        return _located(f"INCLUDE cycle: {' -> '.join(names)}", include.span)

    def _find(self, include: ast.Include) -> Path:
        name = Path(include.path)
        if name.is_absolute():
            candidates = [name]
        else:
            candidates = [name, *(d / name for d in (*self.library_dirs, *self.search_dirs))]
        for candidate in candidates:
            if os.path.isfile(candidate):
                return candidate
        searched = [str(d) for d in (*self.library_dirs, *self.search_dirs)]
        where = ("the current folder" + "".join(f", {d}" for d in searched)
                 + " (-L folders, then SEARCH_DIRs read before this INCLUDE)")
        if not name.is_absolute():
            # Last resort, which ld does not take: the including script's own folder.
            # Build systems run ld from that folder or pass it with -L, so the file is
            # most likely the one meant; placer takes it and says so.
            folder = Path(self.names[self.stack[-1]]).parent
            beside = folder / name
            if os.path.isfile(beside):
                warnings.warn(at_span(
                    ScriptWarning,
                    f"INCLUDE {include.path}: found only as {beside}, next to the "
                    "including script, where GNU ld does not look", include.span,
                    notes=(f"searched first: {where}", "GNU ld finds it only when run "
                           f"from {folder} or given -L {folder}")),
                    stacklevel=2)
                return beside
        raise _located(f"cannot open linker script file {include.path}: "
                       "No such file or directory", include.span, (f"searched: {where}",))


def _key(file: str) -> str:
    return os.path.realpath(file)


def _located(message: str, span: SourceSpan | None,
             notes: tuple[str, ...] = ()) -> ScriptError:
    return at_span(ScriptError, message, span, notes=notes)


def _parse_included(text: str, file: str, kind: ast.FragmentKind | str) -> tuple[Any, ...]:
    """The statements of an included file, parsed as what its INCLUDE's position implies."""
    if kind == "memory":
        try:
            wrapped = parse(_MEMORY_OPEN + text + "\n}", file=file,
                            kind=ast.FragmentKind.SCRIPT, check_memory_regions=False)
        except ScriptError as error:
            column = error.column - len(_MEMORY_OPEN) if error.line == 1 else error.column
            raise ScriptError(error.message, file, error.line, max(column, 1),
                              source_line=source_line(text, error.line), notes=error.notes) \
                from None
        (memory,) = [c for c in wrapped.commands if isinstance(c, ast.Memory)]
        return _shift_first_line(memory.commands, len(_MEMORY_OPEN))
    if kind == "overlay":
        raise ScriptError("INCLUDE is not allowed between the sections of an OVERLAY",
                          file, 1, 1)
    assert isinstance(kind, ast.FragmentKind)
    return parse(text, file=file, kind=kind, check_memory_regions=False).commands


def _shift_first_line(nodes: tuple[Any, ...], width: int) -> tuple[Any, ...]:
    def shift(span: SourceSpan) -> SourceSpan:
        if span.line != 1:
            return span
        end = span.end_column
        if span.end_line == 1 and end is not None:
            end -= width
        return records.evolve(span, column=span.column - width, end_column=end)

    return tuple(map_spans(node, shift) for node in nodes)


def map_spans(node: Any, change: Any) -> Any:
    """A copy of AST `node` with `change(span)` applied to every node's span."""
    if isinstance(node, tuple):
        return tuple(map_spans(item, change) for item in node)
    if not records.has(type(node)) or isinstance(node, SourceSpan):
        return node
    updates: dict[str, Any] = {}
    for field in records.fields(type(node)):
        value = getattr(node, field.name)
        if field.name == "span":
            if value is not None:
                updates["span"] = change(value)
        elif isinstance(value, tuple) or records.has(type(value)):
            new = map_spans(value, change)
            if new is not value:
                updates[field.name] = new
    return records.evolve(node, **updates) if updates else node


def _remap_spans(script: ast.Script, preprocessed: PreprocessedText) -> ast.Script:
    """Spans of a script parsed from preprocessed text, moved to the original files."""

    def change(span: SourceSpan) -> SourceSpan:
        start = preprocessed.origin(span.line, span.column)
        if span.end_line is None or span.end_column is None:
            return start
        end = preprocessed.origin(span.end_line, span.end_column)
        if end.file != start.file:
            return start
        return records.evolve(start, end_line=end.line, end_column=end.column)

    result = map_spans(script, change)
    assert isinstance(result, ast.Script)
    return result
