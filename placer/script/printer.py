"""Print the AST back to canonical linker-script text.

The output is laid out like Zephyr's generated scripts: one statement per line, blocks
opened by ``{`` on their own line, four spaces per level, output-section attributes on
the header line and region / phdr / fill after the closing brace. Printing is
deterministic, ``parse(print_script(tree)) == tree``, and printing is idempotent.

Names are printed bare when ld would lex the bare text as that same single name in that
position (the lexer state matters: a section pattern may contain ``*`` and ``,``, a
symbol may not contain ``-``), and quoted otherwise. Quotes never change what ld reads,
except for version-script symbols, where a quoted name is matched literally; those keep
their quotes (`VersionSymbol.literal`).
"""

from __future__ import annotations

import re
from typing import Any

from placer.script import ast
from placer.script.ast import FragmentKind
from placer.script.diagnostics import nesting_limit, one_name_hint

_INDENT = "    "

_NAME = re.compile(r"(?!/\*|/=$|~$)[_a-zA-Z/.\\$~][_a-zA-Z0-9/.\\$~\-+:\[\],=]*")
_FILENAME = re.compile(r"(?!/\*|-l)=?[_a-zA-Z/.\\$~][_a-zA-Z0-9/.\\$~\-+:\[\],=]*")
_SYMBOL = re.compile(r"[_a-zA-Z.\\$][_a-zA-Z0-9/.\\$~]*")
_WILDNAME = re.compile(r"(?!/\*|(?:[-+*/&|]?=|&|\[|\])$)[_a-zA-Z0-9/.\\$~\-+:\[\],=?*^!]+")
_NUMBER = re.compile(
    r"\$[0-9A-Fa-f]+[KkMm]?|[0-9A-Fa-f]+[HhXxBbOoDd]|0[xX][0-9A-Fa-f]+[KkMm]?|[0-9]+[KkMm]?"
)
_VTAG = re.compile(r"[.$_a-zA-Z][._a-zA-Z0-9]*")
_VIDENT = re.compile(r"[*?.$_a-zA-Z\[\]\-!^\\]([*?.$_a-zA-Z0-9\[\]\-!^\\]|::)*")

#: Every keyword of the grammar: a name spelled like one must be quoted to stay a name.
KEYWORDS = frozenset(
    [
        "ABSOLUTE",
        "ADDR",
        "AFTER",
        "ALIGN",
        "ALIGNOF",
        "ALIGN_WITH_INPUT",
        "AS_NEEDED",
        "ASSERT",
        "AT",
        "BEFORE",
        "BLOCK",
        "BYTE",
        "CONSTANT",
        "CONSTRUCTORS",
        "COPY",
        "CREATE_OBJECT_SYMBOLS",
        "DATA_SEGMENT_ALIGN",
        "DATA_SEGMENT_END",
        "DATA_SEGMENT_RELRO_END",
        "DEFINED",
        "DSECT",
        "ENTRY",
        "EXCLUDE_FILE",
        "EXTERN",
        "FILL",
        "FLOAT",
        "FORCE_COMMON_ALLOCATION",
        "FORCE_GROUP_ALLOCATION",
        "GROUP",
        "HIDDEN",
        "HLL",
        "INCLUDE",
        "INFO",
        "INHIBIT_COMMON_ALLOCATION",
        "INPUT",
        "INPUT_SECTION_FLAGS",
        "INSERT",
        "KEEP",
        "LD_FEATURE",
        "LENGTH",
        "LOADADDR",
        "LOG2CEIL",
        "LONG",
        "MAP",
        "MAX",
        "MEMORY",
        "MIN",
        "NEXT",
        "NOCROSSREFS",
        "NOCROSSREFS_TO",
        "NOFLOAT",
        "NOLOAD",
        "ONLY_IF_RO",
        "ONLY_IF_RW",
        "ORIGIN",
        "OUTPUT",
        "OUTPUT_ARCH",
        "OUTPUT_FORMAT",
        "OVERLAY",
        "PHDRS",
        "PROVIDE",
        "PROVIDE_HIDDEN",
        "QUAD",
        "READONLY",
        "REGION_ALIAS",
        "REVERSE",
        "SEARCH_DIR",
        "SECTIONS",
        "SEGMENT_START",
        "SHORT",
        "SIZEOF",
        "SIZEOF_HEADERS",
        "SORT",
        "SORT_BY_ALIGNMENT",
        "SORT_BY_INIT_PRIORITY",
        "SORT_BY_NAME",
        "SORT_NONE",
        "SPECIAL",
        "SQUAD",
        "STARTUP",
        "SUBALIGN",
        "SYSLIB",
        "TARGET",
        "TYPE",
        "VERSION",
        "global",
        "local",
        "extern",
        "o",
        "org",
        "l",
        "len",
    ]
)

_QUOTED_ARGS = frozenset(
    {"OUTPUT_FORMAT", "TARGET", "SEARCH_DIR", "OUTPUT", "STARTUP", "MAP", "LD_FEATURE"}
)
_BARE_COMMANDS = frozenset(
    {
        "FORCE_COMMON_ALLOCATION",
        "INHIBIT_COMMON_ALLOCATION",
        "FORCE_GROUP_ALLOCATION",
        "FLOAT",
        "NOFLOAT",
        "CREATE_OBJECT_SYMBOLS",
        "CONSTRUCTORS",
    }
)


def _quote(name: str) -> str:
    if '"' in name:
        raise ValueError(f"a linker-script name cannot contain a double quote: {name!r}")
    return f'"{name}"'


def _bare_or_quoted(name: str, pattern: re.Pattern[str]) -> str:
    if name and pattern.fullmatch(name) and name not in KEYWORDS:
        return name
    return _quote(name)


def script_name(name: str) -> str:
    """`name` as it must be written where ld's lexer is in SCRIPT state."""
    return _bare_or_quoted(name, _NAME)


def symbol_name(name: str) -> str:
    """`name` as it must be written inside an expression."""
    if _NUMBER.fullmatch(name):
        return _quote(name)
    return _bare_or_quoted(name, _SYMBOL)


def wild_name(name: str) -> str:
    """`name` as it must be written inside an output section (a pattern or target)."""
    if one_name_hint(name) is not None:
        # Bare, `x=1` would read as an assignment written without spaces (rejected).
        return _quote(name)
    return _bare_or_quoted(name, _WILDNAME)


# --- expressions ----------------------------------------------------------------------

_UNARY_LEVEL = 11
_CONDITIONAL_LEVEL = 0

_CALL_NAME_ARGS = frozenset({"ADDR", "LOADADDR", "SIZEOF", "ALIGNOF", "ORIGIN", "LENGTH"})
_CALL_SYMBOL_ARGS = frozenset({"DEFINED", "CONSTANT"})


def _level(expr: ast.Expr) -> int:
    if isinstance(expr, ast.BinaryOp):
        return ast.BINARY_PRECEDENCE[expr.op]
    if isinstance(expr, ast.Conditional):
        return _CONDITIONAL_LEVEL
    if isinstance(expr, ast.UnaryOp):
        return _UNARY_LEVEL
    return _UNARY_LEVEL + 1


def _wrap(expr: ast.Expr, minimum: int) -> str:
    text = print_expr(expr)
    return f"({text})" if _level(expr) < minimum else text


def print_expr(expr: ast.Expr) -> str:
    """One expression, with the fewest parentheses that keep its tree."""
    if isinstance(expr, ast.Number):
        return expr.text or hex(expr.value)
    if isinstance(expr, ast.Symbol):
        return symbol_name(expr.name)
    if isinstance(expr, ast.String):
        return _quote(expr.value)
    if isinstance(expr, ast.UnaryOp):
        return expr.op + _wrap(expr.operand, _UNARY_LEVEL)
    if isinstance(expr, ast.BinaryOp):
        level = ast.BINARY_PRECEDENCE[expr.op]
        return f"{_wrap(expr.left, level)} {expr.op} {_wrap(expr.right, level + 1)}"
    if isinstance(expr, ast.Conditional):
        condition = _wrap(expr.condition, _CONDITIONAL_LEVEL + 1)
        return f"{condition} ? {print_expr(expr.then)} : {print_expr(expr.otherwise)}"
    return _print_call(expr)


def _print_call(call: ast.Call) -> str:
    function = call.function
    if function == "SIZEOF_HEADERS" and not call.args:
        return function
    if function in _CALL_NAME_ARGS | _CALL_SYMBOL_ARGS and len(call.args) == 1:
        arg = call.args[0]
        if isinstance(arg, ast.Symbol):
            render = script_name if function in _CALL_NAME_ARGS else symbol_name
            return f"{function}({render(arg.name)})"
    if function == "SEGMENT_START" and len(call.args) == 2:
        segment, default = call.args
        if isinstance(segment, ast.String):
            return f"SEGMENT_START({_quote(segment.value)}, {print_expr(default)})"
    if function == "ASSERT" and len(call.args) == 2:
        condition, message = call.args
        if isinstance(message, ast.String):
            return f"ASSERT({print_expr(condition)}, {_quote(message.value)})"
    return f"{function}({', '.join(print_expr(a) for a in call.args)})"


# --- statements -----------------------------------------------------------------------


class _Printer:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def emit(self, depth: int, text: str) -> None:
        self.lines.append(_INDENT * depth + text)

    def block(
        self, depth: int, header: str, body: list[Any], context: str, footer: str = ""
    ) -> None:
        self.emit(depth, header)
        self.emit(depth, "{")
        for statement in body:
            self.statement(statement, depth + 1, context)
        self.emit(depth, "}" + footer)

    def statement(self, node: Any, depth: int, context: str) -> None:
        method = getattr(self, "_" + type(node).__name__, None)
        if method is None:
            raise TypeError(f"cannot print {type(node).__name__} in {context}")
        method(node, depth, context)

    def _name(self, name: str, context: str) -> str:
        return wild_name(name) if context == "output" else script_name(name)

    # top-level and shared statements

    def _Comment(self, node: ast.Comment, depth: int, context: str) -> None:
        self.emit(depth, node.text)

    def _Command(self, node: ast.Command, depth: int, context: str) -> None:
        name, args = node.name, node.args
        if name in _BARE_COMMANDS and not args:
            self.emit(depth, name)
        elif name in ("SORT", "SORT_BY_NAME") and args == ("CONSTRUCTORS",):
            self.emit(depth, f"{name}(CONSTRUCTORS)")
        elif name in _QUOTED_ARGS:
            self.emit(depth, f"{name}({', '.join(_quote(a) for a in args)})")
        elif name == "EXTERN":
            self.emit(depth, f"EXTERN({' '.join(symbol_name(a) for a in args)})")
        else:
            self.emit(depth, f"{name}({' '.join(script_name(a) for a in args)})")

    def _Input(self, node: ast.Input, depth: int, context: str) -> None:
        self.emit(depth, f"{node.command}({self._files(node.files)})")

    def _files(self, files: tuple[ast.InputFile | ast.AsNeeded, ...]) -> str:
        words = []
        for item in files:
            if isinstance(item, ast.AsNeeded):
                words.append(f"AS_NEEDED({self._files(item.files)})")
            elif item.library:
                words.append("-l" + item.name)
            elif _FILENAME.fullmatch(item.name) and item.name != "AS_NEEDED":
                words.append(item.name)
            else:
                words.append(_quote(item.name))
        return " ".join(words)

    def _Include(self, node: ast.Include, depth: int, context: str) -> None:
        self.emit(depth, f"INCLUDE {self._name(node.path, context)}")

    def _Insert(self, node: ast.Insert, depth: int, context: str) -> None:
        self.emit(depth, f"INSERT {node.where} {script_name(node.section)}")

    def _RegionAlias(self, node: ast.RegionAlias, depth: int, context: str) -> None:
        self.emit(depth, f"REGION_ALIAS({_quote(node.alias)}, {script_name(node.region)})")

    def _Assert(self, node: ast.Assert, depth: int, context: str) -> None:
        # Inside an output section ld requires the `;`; in SECTIONS it forbids one.
        end = ";" if context == "output" else ""
        self.emit(depth, f"ASSERT({print_expr(node.condition)}, {_quote(node.message)}){end}")

    def _Assignment(self, node: ast.Assignment, depth: int, context: str) -> None:
        target = self._name(node.target, context)
        if node.provide is None:
            self.emit(depth, f"{target} {node.op} {print_expr(node.expr)};")
        else:
            self.emit(depth, f"{node.provide}({target} {node.op} {print_expr(node.expr)});")

    # MEMORY

    def _Memory(self, node: ast.Memory, depth: int, context: str) -> None:
        self.block(depth, "MEMORY", list(node.commands), "memory")

    def _MemoryRegionDecl(self, node: ast.MemoryRegionDecl, depth: int, context: str) -> None:
        attributes = f" ({node.attributes})" if node.attributes is not None else ""
        self.emit(
            depth,
            f"{script_name(node.name)}{attributes} : ORIGIN = {print_expr(node.origin)}, "
            f"LENGTH = {print_expr(node.length)}",
        )

    # SECTIONS

    def _Sections(self, node: ast.Sections, depth: int, context: str) -> None:
        self.block(depth, "SECTIONS", list(node.commands), "sections")

    def _tail(self, node: ast.OutputSection | ast.Overlay | ast.OverlaySection) -> str:
        parts = []
        if not isinstance(node, ast.OverlaySection):
            if node.region is not None:
                parts.append(f"> {script_name(node.region)}")
            if node.lma_region is not None:
                parts.append(f"AT> {script_name(node.lma_region)}")
        parts.extend(f":{script_name(p)}" for p in node.phdrs)
        if node.fill is not None:
            parts.append(f"= {print_expr(node.fill)}")
        return (" " + " ".join(parts)) if parts else ""

    def _OutputSection(self, node: ast.OutputSection, depth: int, context: str) -> None:
        header = [script_name(node.name)]
        if node.address is not None:
            header.append(print_expr(node.address))
        if node.type is not None:
            if node.type == "TYPE":
                header.append(f"(TYPE = {print_expr(node.type_value)})")  # type: ignore[arg-type]
            elif node.type == "READONLY" and node.type_value is not None:
                header.append(f"(READONLY(TYPE = {print_expr(node.type_value)}))")
            else:
                header.append(f"({node.type})")
        header.append(":")
        if node.lma is not None:
            header.append(f"AT({print_expr(node.lma)})")
        if node.align is not None:
            header.append(f"ALIGN({print_expr(node.align)})")
        if node.align_with_input:
            header.append("ALIGN_WITH_INPUT")
        if node.subalign is not None:
            header.append(f"SUBALIGN({print_expr(node.subalign)})")
        if node.constraint is not None:
            header.append(node.constraint)
        self.block(depth, " ".join(header), list(node.commands), "output", self._tail(node))

    def _Overlay(self, node: ast.Overlay, depth: int, context: str) -> None:
        header = ["OVERLAY"]
        if node.address is not None:
            header.append(print_expr(node.address))
        header.append(":")
        if node.nocrossrefs:
            header.append("NOCROSSREFS")
        if node.lma is not None:
            header.append(f"AT({print_expr(node.lma)})")
        if node.subalign is not None:
            header.append(f"SUBALIGN({print_expr(node.subalign)})")
        self.block(depth, " ".join(header), list(node.sections), "overlay", self._tail(node))

    def _OverlaySection(self, node: ast.OverlaySection, depth: int, context: str) -> None:
        self.block(depth, script_name(node.name), list(node.commands), "output", self._tail(node))

    # output-section body

    def _InputSectionDescription(
        self, node: ast.InputSectionDescription, depth: int, context: str
    ) -> None:
        self.emit(depth, print_input_section(node))

    def _DataCommand(self, node: ast.DataCommand, depth: int, context: str) -> None:
        self.emit(depth, f"{node.size}({print_expr(node.value)})")

    def _Fill(self, node: ast.Fill, depth: int, context: str) -> None:
        self.emit(depth, f"FILL({print_expr(node.value)})")

    # PHDRS and VERSION

    def _Phdrs(self, node: ast.Phdrs, depth: int, context: str) -> None:
        self.block(depth, "PHDRS", list(node.headers), "phdrs")

    def _PhdrDecl(self, node: ast.PhdrDecl, depth: int, context: str) -> None:
        words = [script_name(node.name), print_expr(node.type)]
        if node.filehdr:
            words.append("FILEHDR")
        if node.phdrs:
            words.append("PHDRS")
        if node.at is not None:
            words.append(f"AT({print_expr(node.at)})")
        if node.flags is not None:
            words.append(f"FLAGS({print_expr(node.flags)})")
        self.emit(depth, " ".join(words) + ";")

    def _Version(self, node: ast.Version, depth: int, context: str) -> None:
        self.emit(depth, "VERSION")
        self.emit(depth, "{")
        for version_node in node.nodes:
            self._version_node(version_node, depth + 1)
        self.emit(depth, "}")

    def _version_node(self, node: ast.VersionNode, depth: int) -> None:
        if node.tag is not None:
            self.emit(depth, _bare_or_quoted(node.tag, _VTAG))
        self.emit(depth, "{")
        for label, entries in (("global:", node.globals), ("local:", node.locals)):
            if entries:
                self.emit(depth + 1, label)
                for entry in entries:
                    self._version_entry(entry, depth + 2)
        dependencies = "".join(" " + d for d in node.dependencies)
        self.emit(depth, "}" + dependencies + ";")

    def _version_entry(self, entry: ast.VersionEntry, depth: int) -> None:
        if isinstance(entry, ast.VersionExtern):
            self.emit(depth, f"extern {_quote(entry.language)}")
            self.emit(depth, "{")
            for symbol in entry.symbols:
                self._version_entry(symbol, depth + 1)
            self.emit(depth, "};")
        elif entry.literal:
            self.emit(depth, _quote(entry.pattern) + ";")
        elif entry.pattern in ("global", "local", "extern"):
            self.emit(depth, entry.pattern + ";")
        else:
            self.emit(depth, _bare_or_quoted(entry.pattern, _VIDENT) + ";")


def _print_pattern(pattern: ast.Pattern | ast.SortedPattern) -> str:
    if isinstance(pattern, ast.SortedPattern):
        text = _print_pattern(pattern.pattern)
        for sort in reversed(pattern.sorts):
            text = f"{sort}({text})"
        return text
    text = wild_name(pattern.name)
    if pattern.exclude_files:
        excluded = " ".join(wild_name(f) for f in pattern.exclude_files)
        text = f"EXCLUDE_FILE({excluded}) {text}"
    return text


def print_input_section(node: ast.InputSectionDescription) -> str:
    """One input section description: ``KEEP(*(SORT(.init_array.*)))``."""
    if node.file is None:
        # Spaces matter: `[` and `]` are wildcard characters when they touch a name.
        text = f"[ {' '.join(_print_pattern(p) for p in node.sections or ())} ]"
    elif node.sections is None:
        text = _print_pattern(node.file)
    else:
        text = f"{_print_pattern(node.file)}({' '.join(_print_pattern(p) for p in node.sections)})"
    if node.flags is not None:
        text = f"INPUT_SECTION_FLAGS({' & '.join(wild_name(f) for f in node.flags)}) {text}"
    if node.keep:
        text = f"KEEP({text})"
    return text


_CONTEXT = {
    FragmentKind.SCRIPT: "script",
    FragmentKind.SECTIONS_BODY: "sections",
    FragmentKind.OUTPUT_SECTION_BODY: "output",
}


def print_script(node: Any) -> str:
    """Canonical text of a `Script` (any kind), a statement, or an expression."""
    if isinstance(
        node,
        ast.Number
        | ast.Symbol
        | ast.String
        | ast.UnaryOp
        | ast.BinaryOp
        | ast.Conditional
        | ast.Call,
    ):
        return print_expr(node)
    printer = _Printer()
    if isinstance(node, ast.Script):
        context = _CONTEXT[node.kind]
        with nesting_limit(node.span.file if node.span else "<script>", "print"):
            for statement in node.commands:
                printer.statement(statement, 0, context)
    else:
        context = (
            "output"
            if isinstance(node, ast.InputSectionDescription | ast.DataCommand | ast.Fill)
            else "script"
        )
        printer.statement(node, 0, context)
    return "\n".join(printer.lines) + "\n" if printer.lines else ""
