"""The typed AST of GNU linker scripts.

Every node is a frozen record (`placer.records`). Each carries its source `span`, which
is excluded from equality so that ``parse(print(ast)) == ast`` compares meaning, not positions.

Names that ld reads the same whether quoted or not (section names, file patterns, region
names, command arguments) are stored unquoted; the printer adds quotes where the bare text
would not lex as one token. The few places where quoting changes meaning (strings in
expressions and ASSERT messages, literal version-script symbols) keep that fact.

The tree helpers at the end (`find_output_section`, `insert_after`, `replace`, ...) are
pure: they return new trees built with `records.evolve` and never mutate.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from placer import records
from placer.errors import SourceSpan

# --- Expressions -------------------------------------------------------------------------


@records.frozen
class Number:
    """An integer literal; `text` is how it was written (``0x10K``, ``010``, ``1h``)."""

    value: int
    text: str
    span: SourceSpan | None = records.field(default=None, eq=False, repr=False, kw_only=True)


@records.frozen
class Symbol:
    """A symbol reference, including the location counter ``.``."""

    name: str
    span: SourceSpan | None = records.field(default=None, eq=False, repr=False, kw_only=True)


@records.frozen
class String:
    """A quoted string argument (``SEGMENT_START("text-segment", ...)``, ASSERT messages)."""

    value: str
    span: SourceSpan | None = records.field(default=None, eq=False, repr=False, kw_only=True)


@records.frozen
class UnaryOp:
    """``-x``, ``!x``, ``~x``, ``+x``."""

    op: str
    operand: Expr
    span: SourceSpan | None = records.field(default=None, eq=False, repr=False, kw_only=True)


@records.frozen
class BinaryOp:
    """A binary operator with C precedence: ``* / % + - << >> < <= > >= == != & ^ | && ||``."""

    op: str
    left: Expr
    right: Expr
    span: SourceSpan | None = records.field(default=None, eq=False, repr=False, kw_only=True)


@records.frozen
class Conditional:
    """``cond ? then : otherwise``."""

    condition: Expr
    then: Expr
    otherwise: Expr
    span: SourceSpan | None = records.field(default=None, eq=False, repr=False, kw_only=True)


@records.frozen
class Call:
    """A builtin function: ``ALIGN(4)``, ``ORIGIN(RAM)``, ``CONSTANT(MAXPAGESIZE)``.

    Arguments that name a section, region or constant are `Symbol` nodes; string
    arguments are `String` nodes. `function` is upper case as ld spells it.
    """

    function: str
    args: tuple[Expr, ...]
    span: SourceSpan | None = records.field(default=None, eq=False, repr=False, kw_only=True)


Expr = Number | Symbol | String | UnaryOp | BinaryOp | Conditional | Call

#: C binding strength of each `BinaryOp.op` (higher binds tighter), as ld's yacc grammar
#: declares it; the parser folds operator chains by it and the printer parenthesises by it.
BINARY_PRECEDENCE: dict[str, int] = {
    "||": 1,
    "&&": 2,
    "|": 3,
    "^": 4,
    "&": 5,
    "==": 6,
    "!=": 6,
    "<": 7,
    "<=": 7,
    ">": 7,
    ">=": 7,
    "<<": 8,
    ">>": 8,
    "+": 9,
    "-": 9,
    "*": 10,
    "/": 10,
    "%": 10,
}


# --- Statements ---------------------------------------------------------------------------


class FragmentKind(enum.Enum):
    """What a piece of linker-script text is: a whole script or the inside of a block.

    A Zephyr ``noinit.ld`` snippet (``*(.llext_heap)``) is an `OUTPUT_SECTION_BODY`; a
    snippet of output-section descriptions is a `SECTIONS_BODY`.
    """

    SCRIPT = "script"
    SECTIONS_BODY = "sections-body"
    OUTPUT_SECTION_BODY = "output-section-body"


@records.frozen
class Comment:
    """A ``/* ... */`` or ``# ...`` comment on its own line(s) between statements.

    `text` is the comment exactly as written, delimiters included.
    """

    text: str
    span: SourceSpan | None = records.field(default=None, eq=False, repr=False, kw_only=True)


@records.frozen
class Assignment:
    """``target op expr;`` with `op` one of ``= += -= *= /= <<= >>= &= |=``.

    `provide` is ``None`` for a plain assignment, else the wrapper keyword: ``"PROVIDE"``,
    ``"PROVIDE_HIDDEN"`` or ``"HIDDEN"``. The target ``.`` is the location counter.
    """

    target: str
    op: str
    expr: Expr
    provide: str | None = None
    span: SourceSpan | None = records.field(default=None, eq=False, repr=False, kw_only=True)


@records.frozen
class Assert:
    """``ASSERT(condition, "message")`` as a statement."""

    condition: Expr
    message: str
    span: SourceSpan | None = records.field(default=None, eq=False, repr=False, kw_only=True)


@records.frozen
class Include:
    """``INCLUDE file``: valid at top level, in MEMORY, in SECTIONS and in an output section."""

    path: str
    span: SourceSpan | None = records.field(default=None, eq=False, repr=False, kw_only=True)


@records.frozen
class Command:
    """A simple command: a keyword and its name arguments.

    Top level: ``ENTRY``, ``OUTPUT``, ``OUTPUT_FORMAT`` (1 or 3 args), ``OUTPUT_ARCH``,
    ``TARGET``, ``SEARCH_DIR``, ``STARTUP``, ``MAP``, ``FORCE_COMMON_ALLOCATION``,
    ``INHIBIT_COMMON_ALLOCATION``, ``FORCE_GROUP_ALLOCATION``, ``NOCROSSREFS``,
    ``NOCROSSREFS_TO``, ``EXTERN``, ``LD_FEATURE``. Inside SECTIONS: ``ENTRY``. Inside an
    output section: ``CREATE_OBJECT_SYMBOLS``, ``CONSTRUCTORS`` and ``SORT(CONSTRUCTORS)``
    (name ``"SORT"`` or ``"SORT_BY_NAME"``, args ``("CONSTRUCTORS",)``).
    """

    name: str
    args: tuple[str, ...] = ()
    span: SourceSpan | None = records.field(default=None, eq=False, repr=False, kw_only=True)


@records.frozen
class InputFile:
    """One file of ``INPUT(...)``/``GROUP(...)``; `library` for ``-lname`` (name without -l)."""

    name: str
    library: bool = False
    span: SourceSpan | None = records.field(default=None, eq=False, repr=False, kw_only=True)


@records.frozen
class AsNeeded:
    """``AS_NEEDED(files...)`` inside INPUT or GROUP."""

    files: tuple[InputFile, ...]
    span: SourceSpan | None = records.field(default=None, eq=False, repr=False, kw_only=True)


@records.frozen
class Input:
    """``INPUT(files...)`` or ``GROUP(files...)``; `command` says which."""

    command: str
    files: tuple[InputFile | AsNeeded, ...]
    span: SourceSpan | None = records.field(default=None, eq=False, repr=False, kw_only=True)


@records.frozen
class Insert:
    """``INSERT AFTER section`` or ``INSERT BEFORE section``; `where` is AFTER or BEFORE."""

    where: str
    section: str
    span: SourceSpan | None = records.field(default=None, eq=False, repr=False, kw_only=True)


@records.frozen
class RegionAlias:
    """``REGION_ALIAS("alias", region)``."""

    alias: str
    region: str
    span: SourceSpan | None = records.field(default=None, eq=False, repr=False, kw_only=True)


# --- MEMORY -------------------------------------------------------------------------------


@records.frozen
class MemoryRegionDecl:
    """``name (attributes) : ORIGIN = origin, LENGTH = length``.

    `attributes` is the text between the parentheses (``"rwx"``, ``"!rx"``), or ``None``
    when the region has none. Origin and length stay expressions: ld evaluates them lazily.
    """

    name: str
    attributes: str | None
    origin: Expr
    length: Expr
    span: SourceSpan | None = records.field(default=None, eq=False, repr=False, kw_only=True)


MemoryCommand = MemoryRegionDecl | Include | Comment


@records.frozen
class Memory:
    """A ``MEMORY { ... }`` block."""

    commands: tuple[MemoryCommand, ...]
    span: SourceSpan | None = records.field(default=None, eq=False, repr=False, kw_only=True)

    @property
    def regions(self) -> tuple[MemoryRegionDecl, ...]:
        """The region declarations of this block, in order (INCLUDEs not expanded)."""
        return tuple(c for c in self.commands if isinstance(c, MemoryRegionDecl))


# --- Input section descriptions -----------------------------------------------------------


@records.frozen
class Pattern:
    """A wildcard (file or section name), with the files ``EXCLUDE_FILE(...)`` removes."""

    name: str
    exclude_files: tuple[str, ...] = ()
    span: SourceSpan | None = records.field(default=None, eq=False, repr=False, kw_only=True)


@records.frozen
class SortedPattern:
    """A pattern under sort wrappers, outermost first.

    ``SORT_BY_NAME(SORT_BY_ALIGNMENT(.text.*))`` is ``sorts=("SORT_BY_NAME",
    "SORT_BY_ALIGNMENT")``. Members: ``SORT``, ``SORT_BY_NAME``, ``SORT_BY_ALIGNMENT``,
    ``SORT_BY_INIT_PRIORITY``, ``SORT_NONE``, ``REVERSE``.
    """

    sorts: tuple[str, ...]
    pattern: Pattern
    span: SourceSpan | None = records.field(default=None, eq=False, repr=False, kw_only=True)


@records.frozen
class InputSectionDescription:
    """``[KEEP(] [INPUT_SECTION_FLAGS(...)] file(sections...) [)]``.

    `file` is ``None`` for the MRI form ``[sections...]``; `sections` is ``None`` for a bare
    file name (every section of that file). `flags` holds the INPUT_SECTION_FLAGS terms
    (``"SHF_WRITE"``, ``"!SHF_EXECINSTR"``), or ``None`` when absent.
    """

    file: Pattern | SortedPattern | None
    sections: tuple[Pattern | SortedPattern, ...] | None
    keep: bool = False
    flags: tuple[str, ...] | None = None
    span: SourceSpan | None = records.field(default=None, eq=False, repr=False, kw_only=True)


@records.frozen
class DataCommand:
    """``BYTE(e)``, ``SHORT(e)``, ``LONG(e)``, ``QUAD(e)`` or ``SQUAD(e)``."""

    size: str
    value: Expr
    span: SourceSpan | None = records.field(default=None, eq=False, repr=False, kw_only=True)


@records.frozen
class Fill:
    """``FILL(expr)`` inside an output section."""

    value: Expr
    span: SourceSpan | None = records.field(default=None, eq=False, repr=False, kw_only=True)


OutputSectionCommand = (
    InputSectionDescription | Assignment | DataCommand | Fill | Command | Assert | Include | Comment
)


# --- SECTIONS -----------------------------------------------------------------------------


@records.frozen
class OutputSection:
    """An output section description.

    ``name [address] [(type)] : [AT(lma)] [ALIGN(align) | ALIGN_WITH_INPUT] [SUBALIGN(s)]
    [constraint] { commands } [> region] [AT> lma_region] [:phdr...] [= fill]``

    `type` is ``NOLOAD``, ``DSECT``, ``COPY``, ``INFO``, ``OVERLAY``, ``READONLY`` or
    ``TYPE``; `type_value` holds the expression of ``TYPE = exp`` and of
    ``READONLY(TYPE = exp)``. `constraint` is ``ONLY_IF_RO``, ``ONLY_IF_RW`` or ``SPECIAL``.
    """

    name: str
    commands: tuple[OutputSectionCommand, ...] = ()
    address: Expr | None = None
    type: str | None = None
    type_value: Expr | None = None
    lma: Expr | None = None
    align: Expr | None = None
    align_with_input: bool = False
    subalign: Expr | None = None
    constraint: str | None = None
    region: str | None = None
    lma_region: str | None = None
    phdrs: tuple[str, ...] = ()
    fill: Expr | None = None
    span: SourceSpan | None = records.field(default=None, eq=False, repr=False, kw_only=True)


@records.frozen
class OverlaySection:
    """One ``secname { ... } [:phdr...] [= fill]`` of an OVERLAY."""

    name: str
    commands: tuple[OutputSectionCommand, ...] = ()
    phdrs: tuple[str, ...] = ()
    fill: Expr | None = None
    span: SourceSpan | None = records.field(default=None, eq=False, repr=False, kw_only=True)


@records.frozen
class Overlay:
    """``OVERLAY [start] : [NOCROSSREFS] [AT(lma)] [SUBALIGN(s)] { sections } ...``."""

    sections: tuple[OverlaySection, ...]
    address: Expr | None = None
    nocrossrefs: bool = False
    lma: Expr | None = None
    subalign: Expr | None = None
    region: str | None = None
    lma_region: str | None = None
    phdrs: tuple[str, ...] = ()
    fill: Expr | None = None
    span: SourceSpan | None = records.field(default=None, eq=False, repr=False, kw_only=True)


SectionsCommand = OutputSection | Overlay | Assignment | Assert | Include | Command | Comment


@records.frozen
class Sections:
    """A ``SECTIONS { ... }`` block."""

    commands: tuple[SectionsCommand, ...]
    span: SourceSpan | None = records.field(default=None, eq=False, repr=False, kw_only=True)


# --- PHDRS and VERSION --------------------------------------------------------------------


@records.frozen
class PhdrDecl:
    """``name TYPE [FILEHDR] [PHDRS] [AT(address)] [FLAGS(flags)];``.

    `type` is a `Symbol` (``PT_LOAD``...) or a `Number`, as written.
    """

    name: str
    type: Expr
    filehdr: bool = False
    phdrs: bool = False
    at: Expr | None = None
    flags: Expr | None = None
    span: SourceSpan | None = records.field(default=None, eq=False, repr=False, kw_only=True)


@records.frozen
class Phdrs:
    """A ``PHDRS { ... }`` block."""

    headers: tuple[PhdrDecl | Comment, ...]
    span: SourceSpan | None = records.field(default=None, eq=False, repr=False, kw_only=True)


@records.frozen
class VersionSymbol:
    """A symbol pattern of a version node; `literal` when quoted and the pattern has
    wildcards that the quotes turn off (ld matches quoted names without globbing)."""

    pattern: str
    literal: bool = False
    span: SourceSpan | None = records.field(default=None, eq=False, repr=False, kw_only=True)

    def __post_init__(self) -> None:
        # Quoting only changes the meaning of a pattern with wildcards: `"l"` and a bare
        # `l` (which the printer must quote, `l` being a keyword) match the same symbol.
        if self.literal and not any(c in self.pattern for c in "*?["):
            object.__setattr__(self, "literal", False)


@records.frozen
class VersionExtern:
    """``extern "C++" { patterns }`` inside a version node."""

    language: str
    symbols: tuple[VersionSymbol, ...]
    span: SourceSpan | None = records.field(default=None, eq=False, repr=False, kw_only=True)


VersionEntry = VersionSymbol | VersionExtern


@records.frozen
class VersionNode:
    """``[tag] { global: ...; local: ...; } [dependencies];``; `tag` is None if anonymous."""

    tag: str | None
    globals: tuple[VersionEntry, ...] = ()
    locals: tuple[VersionEntry, ...] = ()
    dependencies: tuple[str, ...] = ()
    span: SourceSpan | None = records.field(default=None, eq=False, repr=False, kw_only=True)


@records.frozen
class Version:
    """A ``VERSION { ... }`` block."""

    nodes: tuple[VersionNode, ...]
    span: SourceSpan | None = records.field(default=None, eq=False, repr=False, kw_only=True)


# --- The root -----------------------------------------------------------------------------

TopLevelCommand = (
    Command
    | Input
    | Include
    | Insert
    | RegionAlias
    | Assert
    | Assignment
    | Memory
    | Sections
    | Phdrs
    | Version
    | Comment
)

Statement = TopLevelCommand | SectionsCommand | OutputSectionCommand | MemoryCommand


@records.frozen
class Script:
    """A parsed script or fragment: its statements, in order.

    For `FragmentKind.SCRIPT` the commands are top-level commands; for `SECTIONS_BODY`
    they are the statements of a SECTIONS block; for `OUTPUT_SECTION_BODY` those of an
    output section.
    """

    commands: tuple[Statement, ...]
    kind: FragmentKind = FragmentKind.SCRIPT
    span: SourceSpan | None = records.field(default=None, eq=False, repr=False, kw_only=True)


Node = Statement | Script | OverlaySection | Overlay | Expr | Pattern | SortedPattern

# --- Pure tree helpers --------------------------------------------------------------------

_N = TypeVar("_N")

#: The node types holding an ordered statement list, and the field that holds it.
_CONTAINERS: dict[type, str] = {
    Script: "commands",
    Memory: "commands",
    Sections: "commands",
    OutputSection: "commands",
    OverlaySection: "commands",
    Overlay: "sections",
    Phdrs: "headers",
}


def iter_statements(node: Any) -> Iterator[Any]:
    """Every statement under `node`, depth first, in source order (`node` excluded)."""
    # One generator with a stack of the open statement lists, not one generator per
    # statement: most statements hold none, and a 100k-line script has half a million.
    containers = _CONTAINERS
    field = containers.get(type(node))
    if field is None:
        return
    stack = [iter(getattr(node, field))]
    while stack:
        for child in stack[-1]:
            yield child
            field = containers.get(type(child))
            if field is not None:
                stack.append(iter(getattr(child, field)))
                break
        else:
            stack.pop()


def iter_output_sections(script: Script) -> Iterator[OutputSection]:
    """Every output section of `script`, in order (inside OVERLAYs too is not included)."""
    for statement in iter_statements(script):
        if isinstance(statement, OutputSection):
            yield statement


def find_output_section(script: Script, name: str) -> OutputSection | None:
    """The first output section called `name`, or ``None``."""
    for section in iter_output_sections(script):
        if section.name == name:
            return section
    return None


def with_commands(node: _N, commands: tuple[Any, ...]) -> _N:
    """A copy of container `node` (Script, Sections, OutputSection...) with `commands`."""
    field = _CONTAINERS.get(type(node))
    if field is None:
        raise TypeError(f"{type(node).__name__} holds no statement list")
    return records.evolve(node, **{field: tuple(commands)})


def _rewrite(node: _N, edit: Callable[[tuple[Any, ...]], tuple[Any, ...] | None]) -> _N:
    """Apply `edit` to the first statement list (depth first) for which it returns a list."""
    field = _CONTAINERS.get(type(node))
    if field is None:
        return node
    children: tuple[Any, ...] = getattr(node, field)
    edited = edit(children)
    if edited is not None:
        return records.evolve(node, **{field: edited})
    for index, child in enumerate(children):
        new_child = _rewrite(child, edit)
        if new_child is not child:
            replaced = (*children[:index], new_child, *children[index + 1 :])
            return records.evolve(node, **{field: replaced})
    return node


def _locate(children: tuple[Any, ...], anchor: Any) -> int | None:
    for index, child in enumerate(children):
        if child is anchor:
            return index
    for index, child in enumerate(children):
        if type(child) is type(anchor) and child == anchor:
            return index
    return None


def _splice(tree: _N, anchor: Any, new: tuple[Any, ...], offset: int, drop: int) -> _N:
    def edit(children: tuple[Any, ...]) -> tuple[Any, ...] | None:
        index = _locate(children, anchor)
        if index is None:
            return None
        at = index + offset
        return (*children[:at], *new, *children[at + drop :])

    result = _rewrite(tree, edit)
    if result is tree:
        raise ValueError(f"{type(anchor).__name__} not found in the tree")
    return result


def insert_after(tree: _N, anchor: Any, *new: Any) -> _N:
    """A copy of `tree` with `new` statements right after `anchor` (found by identity,
    else by equality; the first match depth first). Raises ValueError if absent."""
    return _splice(tree, anchor, new, 1, 0)


def replace(tree: _N, old: Any, *new: Any) -> _N:
    """A copy of `tree` with statement `old` replaced by `new` (none: removed)."""
    return _splice(tree, old, new, 0, 1)
