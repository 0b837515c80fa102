"""Evaluate linker-script expressions, MEMORY regions and symbols the way GNU ld does.

Arithmetic follows ``ld/ldexp.c`` on a 64-bit host, checked against ld 2.40 (see
``tests/script/test_evaluate_ld.py``): values are 64-bit unsigned (``bfd_vma``);
``/`` and ``%`` divide as *signed* 64-bit C integers (``-1 / 2`` is 0, ``-7 % 3`` is -1);
``>>`` is a logical shift; the shift count is taken modulo 64 (``1 << 64`` is 1);
comparisons, ``MAX`` and ``MIN`` compare unsigned (``-1 < 0`` is 0); ``0x8000000000000000
/ -1`` is an error (ld itself dies of SIGFPE). ld folds constant sub-expressions while it
parses, so ``1 ? 2 : 1/0`` is an error, but at run time ``?:`` evaluates only the branch
taken, so ``DEFINED(a) ? a : 7`` does not need ``a``. A symbol's value is stored with
the target's address width (32-bit targets keep the low 32 bits); comparisons inside one
expression still see the 64-bit value.

What only a link can tell (``ADDR``, ``SIZEOF``, ``LOADADDR``, ``NEXT``, ``.`` inside
SECTIONS, symbols the script does not define, ``DATA_SEGMENT_*``, ``SIZEOF_HEADERS``
without PHDRS) evaluates to an explicit `Unknown` with the reason, never a guess.
``.`` at top level before the first SECTIONS is 0, as in ld; ``SEGMENT_START`` gives its
default (no ``-T<segment>`` options); with PHDRS, ``SIZEOF_HEADERS`` is the ELF header
plus one program header per entry.

Order matters as in ld: top-level and SECTIONS-level assignments run in script order, pass
after pass (so ``a = b + 1; b = 5;`` gives ``a = 6`` as ld does); see `_ScriptEvaluator`
for DEFINED, PROVIDE and cycles. MEMORY is evaluated after every assignment, so
``DEFINED`` there sees them all (picolibc's ``DEFINED(__flash) ? __flash :
0x10000000``). Inputs are a closed world by default: ``DEFINED`` of a symbol the script
never defines is 0, as it is when linking objects that do not define it; pass
``open_world=True`` to get `Unknown` instead.
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Callable, Iterator, Mapping
from typing import Any, Final, cast

from placer import records
from placer._graph import DiGraph, reaching, strongly_connected
from placer.errors import ScriptError, ScriptWarning, SourceSpan
from placer.script import ast
from placer.script.diagnostics import at_span, nesting_limit

_MASK64: Final = (1 << 64) - 1


@records.frozen
class Unknown:
    """A value that cannot be known before a link, and why."""

    reason: str

    def __str__(self) -> str:
        return f"unknown ({self.reason})"


Value = int | Unknown


@records.frozen
class LinkerTarget:
    """The facts of one GNU ld target that expressions can observe.

    `address_bits` is the width symbol values and region bounds are stored with;
    the page sizes are what ``CONSTANT(MAXPAGESIZE)`` and ``CONSTANT(COMMONPAGESIZE)``
    return by default (no ``-z max-page-size``).
    """

    name: str
    address_bits: int
    max_page_size: int
    common_page_size: int

    @property
    def mask(self) -> int:
        return (1 << self.address_bits) - 1


#: Default emulations of the Debian cross binutils 2.40, measured with
#: ``ld -T x.ld`` on ``x = CONSTANT(MAXPAGESIZE); y = CONSTANT(COMMONPAGESIZE);``
#: (``tests/script/test_evaluate_ld.py`` re-checks them).
LINKER_TARGETS: Final[Mapping[str, LinkerTarget]] = {
    "arm": LinkerTarget("armelf (arm-none-eabi)", 32, 0x1000, 0x1000),
    "arm64": LinkerTarget("aarch64linux (aarch64-linux-gnu)", 64, 0x10000, 0x1000),
    "riscv": LinkerTarget("elf64lriscv (riscv64-unknown-elf)", 64, 0x1000, 0x1000),
    "arc": LinkerTarget("arcelf (arc-linux-gnu)", 32, 0x2000, 0x2000),
    "xtensa": LinkerTarget("elf32xtensa (xtensa-lx106-elf)", 32, 0x1000, 0x1000),
    "x86": LinkerTarget("elf_x86_64 (x86_64-linux-gnu)", 64, 0x1000, 0x1000),
}

#: Memory-region attribute letters, in the order ld's map file prints them
#: (``lang_map_flags``): ALLOC, CODE, READONLY, DATA, LOAD.
_FLAG_ORDER: Final = "axrwl"
_FLAG_OF: Final[Mapping[str, str]] = {
    "a": "a", "x": "x", "r": "r", "w": "w", "l": "l", "i": "l",
}


@records.frozen
class EvaluatedRegion:
    """A MEMORY region with its origin and length evaluated.

    `attributes` is spelled as ld's map file prints it: the set flags in the order
    ``a x r w l``, then ``!`` and the inverted ones (``(RWX!AL)`` prints ``xrw!al``).
    `allowed` and `denied` hold the same letters as sets; `aliases` the REGION_ALIAS names.
    """

    name: str
    origin: Value
    length: Value
    attributes: str
    allowed: frozenset[str] = frozenset()
    denied: frozenset[str] = frozenset()
    aliases: tuple[str, ...] = ()
    span: SourceSpan | None = records.field(default=None, eq=False)
    #: False for a region ORIGIN()/LENGTH() named but no MEMORY block declares: GNU ld
    #: makes it (origin 0, length ~0) and lists it in its map; it is no memory.
    declared: bool = True


@records.frozen
class SymbolValue:
    """A symbol the script assigns outside output sections, and its value.

    `provided` marks ``PROVIDE``/``PROVIDE_HIDDEN``: the symbol exists only if something
    references it and nothing else defines it. `hidden` is set for ``HIDDEN`` and
    ``PROVIDE_HIDDEN``.
    """

    name: str
    value: Value
    provided: bool = False
    hidden: bool = False
    span: SourceSpan | None = records.field(default=None, eq=False)


@records.frozen
class EvaluatedSymbols(Mapping[str, Value]):
    """Symbol values of a script: a mapping from name to `Value`, in script order."""

    symbols: tuple[SymbolValue, ...]

    def __getitem__(self, name: str) -> Value:
        for symbol in self.symbols:
            if symbol.name == name:
                return symbol.value
        raise KeyError(name)

    def __contains__(self, name: object) -> bool:
        return any(symbol.name == name for symbol in self.symbols)

    def __iter__(self) -> Iterator[str]:
        return (symbol.name for symbol in self.symbols)

    def __len__(self) -> int:
        return len(self.symbols)

    def symbol(self, name: str) -> SymbolValue:
        """The full record of `name` (raises KeyError)."""
        for symbol in self.symbols:
            if symbol.name == name:
                return symbol
        raise KeyError(name)


# --- Expressions ---------------------------------------------------------------------


class _NotYet(Exception):
    """A symbol read before any pass assigned it: retried on the next pass."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name


@records.frozen
class _Scope:
    """What an expression can see: symbols, DEFINED, regions, ``.``, the target.

    `symbol` may raise `_NotYet` for a symbol a later assignment defines: the pass loop
    of `_ScriptEvaluator` retries it.
    """

    symbol: Callable[[str], Value]
    defined: Callable[[str], Value]
    origin: Callable[[str, ast.Call], Value]
    length: Callable[[str, ast.Call], Value]
    dot: Value
    target: LinkerTarget | None
    file: str = "<script>"
    sizeof_headers: Value = Unknown(
        "SIZEOF_HEADERS depends on the program headers the link creates")
    record: Callable[[str], None] = records.field(factory=lambda: _ignore_read)


def _ignore_read(name: str) -> None:
    """A `_Scope.record` that keeps nothing."""


def _no_symbol(name: str) -> Value:
    return Unknown(f"symbol `{name}' is not known while parsing")


def _no_region(name: str, call: ast.Call) -> Value:
    return Unknown(f"region `{name}' is not known while parsing")


#: What a constant sub-expression can see: nothing but numbers.
_CONSTANT_SCOPE: Final = _Scope(_no_symbol, _no_symbol, _no_region, _no_region,
                                Unknown("`.' is not known while parsing"), None)


def evaluate_expression(
    expr: ast.Expr,
    *,
    symbols: Mapping[str, int] | None = None,
    regions: Mapping[str, tuple[int, int]] | None = None,
    dot: Value = Unknown("the location counter `.' is known only during a link"),
    target: LinkerTarget | None = None,
    file: str = "<script>",
) -> Value:
    """The value of `expr` given known `symbols`, `regions` (name → (origin, length)), ``.``.

    Symbols not in `symbols` are `Unknown` (an input file may define them) and DEFINED of
    them is `Unknown` too. Raises `ScriptError` for what ld rejects (division by zero, an
    unknown CONSTANT, an undeclared region).
    """
    known = dict(symbols or {})
    areas = dict(regions or {})

    def symbol(name: str) -> Value:
        if name in known:
            return known[name] & _MASK64
        return Unknown(f"symbol `{name}' is not defined by the script")

    def defined(name: str) -> Value:
        if name in known:
            return 1
        return Unknown(f"DEFINED({name}): an input file may define `{name}'")

    def region(index: int) -> Callable[[str, ast.Call], Value]:
        def look(name: str, call: ast.Call) -> Value:
            if name not in areas:
                raise _error(f"memory region `{name}' is not declared", call.span, file)
            return areas[name][index]

        return look

    scope = _Scope(symbol, defined, region(0), region(1), dot, target, file)
    value = _evaluate(expr, scope)
    if isinstance(value, int) and target is not None:
        return value & target.mask
    return value


def _error(message: str, span: SourceSpan | None, file: str) -> ScriptError:
    return at_span(ScriptError, message, span, file=file)


def _signed(value: int) -> int:
    return value - (1 << 64) if value & (1 << 63) else value


def _c_divide(left: int, right: int) -> int:
    """C99 signed division: the quotient truncates toward zero."""
    quotient = abs(left) // abs(right)
    return quotient if (left < 0) == (right < 0) else -quotient


def _binary(op: str, left: int, right: int, node: ast.BinaryOp, scope: _Scope) -> int:
    if op in ("/", "%"):
        if right == 0:
            # ld's own words: "x.ld:1 / by zero".
            raise _error(f"{op} by zero", node.span, scope.file)
        a, b = _signed(left), _signed(right)
        if a == -(1 << 63) and b == -1:
            # The one signed division that overflows: ld itself dies of SIGFPE here.
            raise _error(f"signed overflow in {op}: -0x8000000000000000 {op} -1 "
                         "(GNU ld crashes on it)", node.span, scope.file)
        quotient = _c_divide(a, b)
        return (quotient if op == "/" else a - quotient * b) & _MASK64
    function = _OPERATORS.get(op)
    if function is None:
        raise _error(f"unknown operator `{op}'", node.span, scope.file)
    return function(left, right) & _MASK64


#: The operators whose result is the plain unsigned 64-bit C result. ``^`` is XOR as in
#: lld and C; GNU ld 2.40's lexer has no ``^`` at all (the parser decides what to accept).
_OPERATORS: Final[Mapping[str, Callable[[int, int], int]]] = {
    "*": lambda a, b: a * b,
    "+": lambda a, b: a + b,
    "-": lambda a, b: a - b,
    "<<": lambda a, b: a << (b & 63),
    ">>": lambda a, b: a >> (b & 63),
    "<": lambda a, b: int(a < b),
    "<=": lambda a, b: int(a <= b),
    ">": lambda a, b: int(a > b),
    ">=": lambda a, b: int(a >= b),
    "==": lambda a, b: int(a == b),
    "!=": lambda a, b: int(a != b),
    "&": lambda a, b: a & b,
    "^": lambda a, b: a ^ b,
    "|": lambda a, b: a | b,
    "&&": lambda a, b: int(bool(a) and bool(b)),
    "||": lambda a, b: int(bool(a) or bool(b)),
}


def _first_unknown(*values: Value) -> Unknown | None:
    for value in values:
        if isinstance(value, Unknown):
            return value
    return None


def _eval(expr: ast.Expr, scope: _Scope) -> Value:
    """Evaluate `expr`; every operand is evaluated, as ld folds them all."""
    if isinstance(expr, ast.Number):
        return expr.value & _MASK64
    if isinstance(expr, ast.Symbol):
        if expr.name == ".":
            return scope.dot
        scope.record(expr.name)
        return scope.symbol(expr.name)
    if isinstance(expr, ast.String):
        raise _error(f"string \"{expr.value}\" used as a number", expr.span, scope.file)
    if isinstance(expr, ast.UnaryOp):
        operand = _eval(expr.operand, scope)
        if isinstance(operand, Unknown):
            return operand
        if expr.op == "-":
            return -operand & _MASK64
        if expr.op == "~":
            return ~operand & _MASK64
        if expr.op == "!":
            return int(operand == 0)
        return operand
    if isinstance(expr, ast.BinaryOp):
        left = _eval(expr.left, scope)
        right = _eval(expr.right, scope)
        if isinstance(left, int) and isinstance(right, int):
            return _binary(expr.op, left, right, expr, scope)
        # A known operand can decide the result alone: that is exact, not a guess.
        if expr.op == "&&" and 0 in (left, right):
            return 0
        if expr.op == "||" and any(isinstance(v, int) and v != 0 for v in (left, right)):
            return 1
        unknown = _first_unknown(left, right)
        assert unknown is not None
        return unknown
    if isinstance(expr, ast.Conditional):
        condition = _eval(expr.condition, scope)
        # ld folds only the branch taken (fold_trinary): `DEFINED(a) ? a + 1 : 7` neither
        # reads nor needs `a` when it is undefined. Constant sub-expressions of the other
        # branch were folded when ld parsed them: `_check_constants` raises their errors.
        if isinstance(condition, int):
            return _eval(expr.then if condition else expr.otherwise, scope)
        then = _eval(expr.then, scope)
        otherwise = _eval(expr.otherwise, scope)
        return then if then == otherwise else condition
    return _call(expr, scope)


#: Builtins ld folds while parsing when their arguments are constant (exp_unop/exp_binop).
_FOLDED_CALLS: Final = frozenset({"MAX", "MIN", "ALIGN", "LOG2CEIL", "ABSOLUTE"})


def _check_constants(expr: ast.Expr, file: str) -> int | None:
    """Fold `expr`'s constant sub-expressions as ld's parser does; their value or None.

    ld builds every operator node through exp_unop/exp_binop/exp_trinop, which fold a node
    whose operands are constant at once: `1 ? 2 : 1/0` fails while parsing, whichever
    branch is taken later.
    """
    def constant(node: ast.Expr) -> int | None:
        if isinstance(node, ast.Number):
            return node.value & _MASK64
        if isinstance(node, ast.UnaryOp):
            operand = constant(node.operand)
            return None if operand is None else _as_int(_eval(ast.UnaryOp(
                node.op, ast.Number(operand, str(operand))), _CONSTANT_SCOPE))
        if isinstance(node, ast.BinaryOp):
            left, right = constant(node.left), constant(node.right)
            if left is None or right is None:
                return None
            return _binary(node.op, left, right, node, records.evolve(_CONSTANT_SCOPE, file=file))
        if isinstance(node, ast.Conditional):
            values = [constant(n) for n in (node.condition, node.then, node.otherwise)]
            if values[0] is None:
                return None
            return values[1] if values[0] else values[2]
        if isinstance(node, ast.Call):
            args = [constant(a) for a in node.args if not isinstance(a, ast.String)]
            if node.function not in _FOLDED_CALLS or None in args or (
                    node.function == "ALIGN" and len(args) == 1):
                return None
            numbers = tuple(ast.Number(a, str(a)) for a in args if a is not None)
            return _as_int(_call(ast.Call(node.function, numbers), _CONSTANT_SCOPE))
        return None

    return constant(expr)


def _as_int(value: Value) -> int | None:
    return value if isinstance(value, int) else None


def _evaluate(expr: ast.Expr, scope: _Scope) -> Value:
    """An expression as ld evaluates it: parse-time folding first, then the evaluation."""
    _check_constants(expr, scope.file)
    return _eval(expr, scope)


def _call(call: ast.Call, scope: _Scope) -> Value:
    name = call.function
    args = call.args

    def arg_name(index: int) -> str:
        node = args[index]
        if isinstance(node, ast.Symbol):
            return node.name
        if isinstance(node, ast.String):
            return node.value
        raise _error(f"{name}() expects a name here", call.span, scope.file)

    if name in ("ORIGIN", "LENGTH"):
        region = arg_name(0)
        return scope.origin(region, call) if name == "ORIGIN" else scope.length(region, call)
    if name == "DEFINED":
        return scope.defined(arg_name(0))
    if name == "CONSTANT":
        constant = arg_name(0)
        if constant not in ("MAXPAGESIZE", "COMMONPAGESIZE"):
            raise _error(f"unknown constant `{constant}' referenced in expression",
                         call.span, scope.file)
        if scope.target is None:
            return Unknown(f"CONSTANT({constant}) depends on the target (pass a LinkerTarget)")
        if constant == "MAXPAGESIZE":
            return scope.target.max_page_size
        return scope.target.common_page_size
    if name == "SIZEOF_HEADERS":
        return scope.sizeof_headers
    if name in ("ADDR", "SIZEOF", "LOADADDR", "ALIGNOF"):
        return Unknown(f"{name}({arg_name(0)}) is known only after placing sections")
    if name == "SEGMENT_START":
        # Without -Ttext/-Tdata/-Tbss/-Ttext-segment ld returns the default.
        return _eval(args[1], scope)
    if name.startswith("DATA_SEGMENT_") or name == "NEXT":
        for arg in args:
            _eval(arg, scope)
        return Unknown(f"{name}() is known only after placing sections")
    values = [_eval(arg, scope) for arg in args if not isinstance(arg, ast.String)]
    unknown = _first_unknown(*values)
    if name == "ASSERT":
        condition = values[0]
        if condition == 0:
            message = args[1].value if isinstance(args[1], ast.String) else ""
            raise _error(f"assertion failed: {message}", call.span, scope.file)
        return condition
    if name in ("ALIGN", "BLOCK") and len(values) == 1:
        values = [scope.dot, values[0]]
        unknown = _first_unknown(*values)
    if unknown is not None:
        return unknown
    numbers = [v for v in values if isinstance(v, int)]
    if name in ("ALIGN", "BLOCK"):
        value, align = numbers
        # ld's align_n: round up to a multiple, not only to powers of two; the sum wraps
        # at 64 bits first (ALIGN(2, -1) is 0 in ld).
        if align <= 1:
            return value
        return ((value + align - 1) & _MASK64) // align * align & _MASK64
    if name == "ABSOLUTE":
        return numbers[0]
    if name == "MAX":
        return max(numbers)
    if name == "MIN":
        return min(numbers)
    if name == "LOG2CEIL":
        return max(numbers[0] - 1, 0).bit_length()
    raise _error(f"unknown function {name}()", call.span, scope.file)


# --- Scripts ------------------------------------------------------------------------------


@records.frozen
class _Definition:
    """One assignment in script order, with whether it can be evaluated before a link."""

    statement: ast.Assignment
    in_sections: bool  # inside SECTIONS (outside any output section): `.` is unknown
    before_sections: bool  # at top level before the first SECTIONS block: `.` is 0


def _definitions(script: ast.Script) -> tuple[_Definition, ...]:
    result: list[_Definition] = []
    seen_sections = False
    for command in script.commands:
        if isinstance(command, ast.Assignment):
            result.append(_Definition(command, False, not seen_sections))
        elif isinstance(command, ast.Sections):
            seen_sections = True
            result.extend(
                _Definition(statement, True, False)
                for statement in command.commands
                if isinstance(statement, ast.Assignment)
            )
    return tuple(result)


_COMPOUND: Final[Mapping[str, str]] = {
    "+=": "+", "-=": "-", "*=": "*", "/=": "/", "<<=": "<<", ">>=": ">>", "&=": "&", "|=": "|",
}
_DOT_IN_SECTIONS: Final = Unknown("the location counter `.' inside SECTIONS needs a link")
_MAX_PASSES: Final = 32


class _ScriptEvaluator:
    """Runs a script's assignments pass after pass as ld does, then its MEMORY regions.

    The rules, each measured with ld 2.40 (``tests/script/test_evaluate_ld.py`` generates
    scripts and compares):

    * every pass runs the assignments in script order; a symbol read before any pass has
      valued it is retried on the next pass (``a = b + 1; b = 5;`` gives 6);
    * ``DEFINED(x)`` is true when a statement before this one in the current pass defined
      ``x``, whether or not its value was known yet;
    * ``PROVIDE(x = e)`` acts only when something reads ``x`` (``DEFINED`` is no read)
      and ``x`` is undefined or was defined by this very PROVIDE in an earlier pass; a
      compound assignment (``x += 1``) updates the value and keeps who defined it, so
      ``PROVIDE(a = 5); a += 1;`` is 6 and ``a += 1; PROVIDE(a = 5);`` is 5;
    * an assignment that reads its own target (``x = x``, ``x += 1``) acts only if a
      statement before it in the same pass defined the target; otherwise ld skips it,
      and ``DEFINED`` after it says 0, in every pass but its final one, which runs once
      the others have settled (see `_deferred`);
    * a symbol whose value feeds on itself across passes (a cycle through a forward
      reference, found on the statement graph), or that reads one, gets
      whatever value ld's number of passes leaves, so it is `Unknown`.

    Not modelled: a symbol both PROVIDEd and assigned with ``=`` that ``DEFINED()`` tests
    (ld's answer there follows its internal iteration counter), and forward references
    chained more than five deep (ld 2.40 stops passing and calls the symbol undefined;
    placer gives the settled value).
    """

    def __init__(
        self,
        script: ast.Script,
        target: LinkerTarget | None,
        defsyms: Mapping[str, int],
        open_world: bool,
    ) -> None:
        self.script = script
        self.target = target
        self.defsyms = {name: value & _MASK64 for name, value in defsyms.items()}
        self.open_world = open_world
        self.file = _file_of(script)
        self.definitions = _definitions(script)
        # Reads PROVIDE counts: those of what placer does not run (output sections,
        # MEMORY, ...) and, growing pass by pass, those the assignments actually make.
        self.referenced = _referenced_symbols(
            script, skip={id(d.statement) for d in self.definitions})
        self.assigned = {d.statement.target for d in self.definitions}
        self.values: dict[str, Value] = dict(self.defsyms)
        self.definer: dict[str, int] = {}  # statement that last defined each symbol
        self.defined_now: set[str] = set()  # defined so far in the current pass
        self.applied: set[int] = set()  # statements that took effect in the last pass
        self.last_statement: dict[str, int] = {}  # the last one to set each symbol
        self.statement_reads: dict[int, set[str]] = {}  # symbols read in the last pass
        self.defined_after: dict[str, int] = {}  # first statement defining it, last pass
        self.deferred = False  # the last pass skipped a self-assignment (see _deferred)
        self.declarations = self._declarations()
        self.aliases = self._aliases()
        self.regions: dict[str, tuple[Value, Value]] = {}
        # Regions used by ORIGIN()/LENGTH() but never declared, in order of first use.
        self.undeclared: dict[str, ast.Call | None] = {}
        self.resolving: set[str] = set()
        self._run_assignments()

    # symbols

    def _defined(self, name: str) -> Value:
        if name in self.defined_now or name in self.defsyms:
            return 1
        if self.open_world:
            return Unknown(f"DEFINED({name}): an input file may define `{name}'")
        return 0

    def _defined_before(self, index: int) -> Callable[[str], Value]:
        """DEFINED as statement `index` saw it in the last pass."""
        def defined(name: str) -> Value:
            if self.defined_after.get(name, index) < index or name in self.defsyms:
                return 1
            if self.open_world:
                return Unknown(f"DEFINED({name}): an input file may define `{name}'")
            return 0

        return defined

    def _symbol(self, name: str) -> Value:
        if name in self.values:
            return self.values[name]
        if name in self.assigned:
            raise _NotYet(name)
        return Unknown(f"symbol `{name}' is not defined by the script")

    def _scope(self, dot: Value, record: Callable[[str], None] = _ignore_read) -> _Scope:
        return _Scope(self._symbol, self._defined, self._origin, self._length,
                      dot, self.target, self.file, self._sizeof_headers(), record)

    def _sizeof_headers(self) -> Value:
        """ELF header plus one program header per PHDRS entry, when the script fixes them.

        Without PHDRS the link decides how many segments there are.
        """
        phdrs = [c for c in self.script.commands if isinstance(c, ast.Phdrs)]
        if not phdrs:
            return Unknown("SIZEOF_HEADERS depends on the program headers the link creates")
        if self.target is None:
            return Unknown("SIZEOF_HEADERS depends on the target's ELF class")
        count = sum(isinstance(h, ast.PhdrDecl) for block in phdrs for h in block.headers)
        if self.target.address_bits == 32:
            return 52 + 32 * count
        return 64 + 56 * count

    def _provide_acts(self, index: int, name: str) -> bool:
        if name not in self.referenced or name in self.defsyms:
            return False
        return name not in self.values or self.definer.get(name) == index

    def _run_pass(self, final: bool = False) -> None:
        """One pass over the assignments; `final` is ld's last one (lang_final_phase_enum),
        the only pass where a self-assignment not preceded by a definition acts."""
        self.deferred = False
        self.defined_now = set()
        self.applied = set()
        self.last_statement = {}
        self.statement_reads = {}
        self.defined_after = {}
        for index, definition in enumerate(self.definitions):
            statement = definition.statement
            name = statement.target
            if name == ".":
                continue
            if statement.provide in ("PROVIDE", "PROVIDE_HIDDEN") and not self._provide_acts(
                    index, name):
                continue
            reads: set[str] = set()
            self.statement_reads[index] = reads
            if statement.op != "=":
                self.referenced.add(name)  # `x += e` reads x
            scope = self._scope(0 if definition.before_sections else _DOT_IN_SECTIONS,
                                reads.add)
            try:
                value = _evaluate(statement.expr, scope)
                if statement.op != "=":
                    value = _combine(statement, self._symbol(name), value, scope)
            except _NotYet:
                self._record_remaining_reads(statement.expr, scope)
                if self._deferred(name, statement, reads, final):
                    continue
                self._define_now(name, index)
                if statement.op == "=":
                    self.definer[name] = index
                self.last_statement[name] = index  # attempted: its inputs decide the value
                continue
            finally:
                # A read makes a PROVIDE act from then on, as an ld hash entry would.
                self.referenced |= reads
            if self._deferred(name, statement, reads, final):
                continue
            self._define_now(name, index)
            if isinstance(value, int) and self.target is not None:
                value &= self.target.mask
            self.values[name] = value
            if statement.op == "=" or name not in self.definer:
                self.definer[name] = index
            self.applied.add(index)
            self.last_statement[name] = index

    def _deferred(self, name: str, statement: ast.Assignment, reads: set[str],
                  final: bool) -> bool:
        """Whether ld skips this assignment in this pass because it reads its own target.

        ld's exp_fold_tree_1 (ld/ldexp.c, etree_assign) defines the symbol only if the
        expression did not read it, or in the final phase; fold_name lets the read pass
        when the target is an absolute script symbol defined earlier in this same
        iteration (its definedness ``iteration`` equals ``lang_statement_iteration``).
        So ``x = x`` or ``x += 1`` with no definition of x before it in the pass does
        nothing, and ``DEFINED(x)`` after it is 0, until the final pass. A skipped
        statement defines nothing; the final pass is still owed once the others settle.
        """
        if final or name in self.defined_now:
            return False
        if statement.op == "=" and name not in reads:
            return False
        self.deferred = True
        return True

    def _define_now(self, name: str, index: int) -> None:
        """Mark `name` defined from statement `index` on in this pass (after the
        expression: `x = DEFINED(x)` reads x as not yet defined)."""
        self.defined_now.add(name)
        self.defined_after.setdefault(name, index)

    def _record_remaining_reads(self, expr: ast.Expr, scope: _Scope) -> None:
        """Record what `expr` reads once a symbol in it turned out not valid yet.

        ld folds the rest of such an expression anyway, both operands and both branches
        of a ``?:`` whose condition is not valid, and each symbol it meets becomes a
        reference that makes a PROVIDE act (measured: ``b = e; c = b ? 0 : d;
        PROVIDE(d = 7); e = 1;`` defines d).
        """
        def symbol(name: str) -> Value:
            try:
                return self._symbol(name)
            except _NotYet:
                return Unknown(f"`{name}' is not valid yet in this pass")

        with contextlib.suppress(ScriptError):
            _eval(expr, records.evolve(scope, symbol=symbol))

    def _run_assignments(self) -> None:
        settled = False
        for _ in range(_MAX_PASSES):
            before = (dict(self.values), dict(self.definer), set(self.referenced))
            self._run_pass()
            if (self.values, self.definer, self.referenced) == before:
                settled = True
                break
        if self.deferred:
            # ld's final phase (lang_do_assignments (lang_final_phase_enum) in
            # lang_process, ld/ldlang.c) runs the skipped self-assignments once more.
            self._run_pass(final=True)
        if not settled:
            for name, value in self.values.items():
                if before[0].get(name) != value:
                    self.values[name] = _cycle(name)
        tainted = self._cyclic_statements()
        for name, index in self.last_statement.items():
            if index in tainted:
                self.values[name] = _cycle(name)

    def _cyclic_statements(self) -> set[int]:
        """Statements whose value feeds on itself across passes, and those reading them.

        Statement i depends on the statement that gives each symbol it read in the last
        pass its value:
        the last definition before i, else (a forward reference) the last one in the
        script, from the previous pass. ``DEFINED(x)`` depends on every earlier statement
        defining x (whether they took effect). A cycle needs a forward edge; its values
        then depend on how many passes ld makes, so they are not reported as numbers.
        """
        graph: DiGraph[int] = DiGraph()
        where: dict[str, list[int]] = {}
        for index, definition in enumerate(self.definitions):
            where.setdefault(definition.statement.target, []).append(index)
        for index, definition in enumerate(self.definitions):
            statement = definition.statement
            graph.add_node(index)
            reads, checks = _reads(statement.expr)
            # The last pass knows which branch of each `?:` was taken: only it is read.
            reads = set(self.statement_reads.get(index, reads))
            if statement.op != "=":
                reads.add(statement.target)
            for name in reads:
                places = where.get(name, [])
                earlier = [j for j in places if j < index]
                if earlier or places:
                    graph.add_edge(index, max(earlier) if earlier else max(places))
            for name in checks:
                for j in where.get(name, []):
                    if j < index:
                        graph.add_edge(index, j)
        cyclic: set[int] = set()
        for index, definition in enumerate(self.definitions):
            statement = definition.statement
            if statement.op != "=" and not any(
                    j < index for j in where.get(statement.target, [])):
                # `x += 1` before any `x = ...`: it adds to what the previous pass left.
                cyclic.add(index)
        for component in strongly_connected(graph):
            if len(component) > 1 or any(graph.has_edge(n, n) for n in component):
                cyclic |= component
        return reaching(graph, cyclic)

    def symbols(self) -> EvaluatedSymbols:
        found: dict[str, SymbolValue] = {}
        for index, definition in enumerate(self.definitions):
            statement = definition.statement
            name = statement.target
            provide = statement.provide in ("PROVIDE", "PROVIDE_HIDDEN")
            if name == "." or (provide and not self._reported_provide(index, name)):
                continue
            value = self.values.get(name)
            if value is None and provide and name not in self.referenced:
                # Nothing in the script reads it: report the value it gets when an input
                # file references it.
                scope = records.evolve(
                    self._scope(0 if definition.before_sections else _DOT_IN_SECTIONS),
                    defined=self._defined_before(index))
                try:
                    value = _evaluate(statement.expr, scope)
                except _NotYet:
                    value = None
                except ScriptError as error:
                    # ld never evaluates an unreferenced PROVIDE, so it never fails.
                    value = Unknown(f"PROVIDEd only if referenced, and then: {error.message}")
            if value is None:
                # Every symbol it reads is assigned somewhere, yet no pass could value it:
                # it depends on itself. ld gives such a cycle a value that depends on how
                # many passes the link makes (`a = b + 1; b = a;` is 6 in one x86-64 link).
                value = _cycle(name)
            previous = found.get(name)
            found[name] = SymbolValue(
                name, value,
                provided=self._is_provided(name),
                hidden=statement.provide in ("HIDDEN", "PROVIDE_HIDDEN")
                or (previous is not None and previous.hidden),
                span=statement.span if previous is None else previous.span,
            )
        return EvaluatedSymbols(tuple(found.values()))

    def _reported_provide(self, index: int, name: str) -> bool:
        """Whether a PROVIDE's symbol is reported: it acted, or nothing references it yet
        (its value is what it would be if an input file referenced it)."""
        if index in self.applied or self.definer.get(name) == index:
            return True
        return name not in self.referenced and self._first_provide(name) == index and not any(
            d.statement.target == name and d.statement.provide not in ("PROVIDE",
                                                                      "PROVIDE_HIDDEN")
            for d in self.definitions) and name not in self.defsyms

    def _first_provide(self, name: str) -> int | None:
        for index, definition in enumerate(self.definitions):
            if definition.statement.target == name and definition.statement.provide in (
                    "PROVIDE", "PROVIDE_HIDDEN"):
                return index
        return None

    def _is_provided(self, name: str) -> bool:
        definer = self.definer.get(name)
        if definer is None:
            return self._first_provide(name) is not None
        return self.definitions[definer].statement.provide in ("PROVIDE", "PROVIDE_HIDDEN")

    # regions

    def _declarations(self) -> dict[str, tuple[int, ast.MemoryRegionDecl]]:
        found: dict[str, tuple[int, ast.MemoryRegionDecl]] = {}
        for command in self.script.commands:
            if not isinstance(command, ast.Memory):
                continue
            for region in command.regions:
                if region.name in found:
                    # GNU ld only warns and keeps the later one; two declarations of one
                    # region are a mistake that changes the memory map silently.
                    raise _error(f"redeclaration of memory region `{region.name}'",
                                 region.span, self.file)
                found[region.name] = (len(found), region)
        return found

    def _aliases(self) -> dict[str, str]:
        aliases: dict[str, str] = {}
        for command in self.script.commands:
            if isinstance(command, ast.RegionAlias):
                if command.region not in self.declarations and command.region not in aliases:
                    raise _error(
                        f"memory region `{command.region}' for alias `{command.alias}' "
                        "does not exist", command.span, self.file)
                aliases[command.alias] = aliases.get(command.region, command.region)
        return aliases

    def _region(self, name: str, call: ast.Call | None) -> tuple[Value, Value]:
        real = self.aliases.get(name, name)
        if real in self.regions:
            return self.regions[real]
        if real not in self.declarations:
            return self._undeclared(real, call)
        if real in self.resolving:
            span = call.span if call is not None else None
            raise _error(f"memory region `{real}' depends on its own ORIGIN or LENGTH",
                         span, self.file)
        self.resolving.add(real)
        _, decl = self.declarations[real]
        scope = self._memory_scope()
        origin = self._bounded(_evaluate(decl.origin, scope))
        length = self._bounded(_evaluate(decl.length, scope))
        self.resolving.discard(real)
        self.regions[real] = (origin, length)
        return origin, length

    def _undeclared(self, name: str, call: ast.Call | None) -> tuple[Value, Value]:
        """GNU ld's reading of ORIGIN/LENGTH of a region no MEMORY block declares: a
        warning ("memory region `X' not declared"), then a region of origin 0 and length
        ~0 that its map lists after the declared ones (lang_memory_region_lookup creates
        it on first use; measured with ld 2.40, tests/hostile/test_language.py)."""
        if name not in self.undeclared:
            self.undeclared[name] = call
            span = call.span if call is not None else None
            warnings.warn(at_span(
                ScriptWarning, f"memory region `{name}' not declared: GNU ld warns and "
                "reads it as origin 0, length ~0", span, file=self.file), stacklevel=2)
        everything = self.target.mask if self.target is not None else _MASK64
        return 0, everything

    def _bounded(self, value: Value) -> Value:
        if isinstance(value, int) and self.target is not None:
            return value & self.target.mask
        return value

    def _memory_scope(self) -> _Scope:
        def symbol(name: str) -> Value:
            try:
                return self._symbol(name)
            except _NotYet:
                return _cycle(name)

        return _Scope(symbol, self._defined, self._origin, self._length, 0, self.target,
                      self.file, self._sizeof_headers())

    def _check_order(self, name: str, call: ast.Call) -> None:
        real = self.aliases.get(name, name)
        current = [r for r in self.resolving]
        if real in self.declarations and current:
            here = self.declarations[current[-1]][0]
            if self.declarations[real][0] > here:
                raise _error(
                    f"memory region `{name}' is used before its declaration "
                    "(GNU ld reads it as 0 there)", call.span, self.file)

    def _origin(self, name: str, call: ast.Call) -> Value:
        self._check_order(name, call)
        return self._region(name, call)[0]

    def _length(self, name: str, call: ast.Call) -> Value:
        self._check_order(name, call)
        return self._region(name, call)[1]

    def memory(self) -> tuple[EvaluatedRegion, ...]:
        result = []
        for name, (_, decl) in self.declarations.items():
            origin, length = self._region(name, None)
            try:
                allowed, denied = region_flags(decl.attributes)
            except ValueError as exc:
                # ld: "invalid character %c (113) in flags" (sic), and the link stops.
                raise _error(f"memory region `{name}': {exc}", decl.span, self.file) from None
            result.append(EvaluatedRegion(
                name=name, origin=origin, length=length,
                attributes=format_flags(allowed, denied),
                allowed=allowed, denied=denied,
                aliases=tuple(a for a, r in self.aliases.items() if r == name),
                span=decl.span,
            ))
        for name, call in self.undeclared.items():
            origin, length = self._undeclared(name, call)
            result.append(EvaluatedRegion(name=name, origin=origin, length=length,
                                          attributes="", declared=False))
        return tuple(result)


def check_section_addresses(script: ast.Script, file: str) -> None:
    """GNU ld's refusal of an output-section address that reads a symbol nothing defines
    ("non constant or forward reference address expression for section .text"). A symbol
    the script assigns anywhere (a later assignment too: ld's passes find it) or tests
    with DEFINED() in the same expression passes; one only an input file or --defsym
    could define is refused, as ld refuses it when none does (measured with ld 2.40)."""
    assigned: set[str] | None = None  # only walked for when an address reads a symbol
    for section in ast.iter_output_sections(script):
        if section.address is None:
            continue
        reads, checks = _reads(section.address)
        if not reads - checks:
            continue
        if assigned is None:
            assigned = {statement.target for statement in ast.iter_statements(script)
                        if isinstance(statement, ast.Assignment)}
        missing = sorted(reads - assigned - checks)
        if missing:
            raise at_span(
                ScriptError, "non constant or forward reference address expression for "
                f"section {section.name}", section.span, file=file,
                notes=(f"`{missing[0]}' is assigned nowhere in the script; GNU ld accepts it "
                       "only when an input file or --defsym defines it",))


def _cycle(name: str) -> Unknown:
    # ld gives such a symbol whatever its number of passes makes of it (`a = b + 1;
    # b = a;` is 6 in one x86-64 link), or reports it undefined.
    return Unknown(f"`{name}' depends on itself through other assignments")


def _reads(expr: ast.Expr) -> tuple[set[str], set[str]]:
    """Symbols `expr` reads as values, and those it only tests with DEFINED."""
    reads: set[str] = set()
    checks: set[str] = set()

    def walk(node: ast.Expr) -> None:
        if isinstance(node, ast.Symbol):
            if node.name != ".":
                reads.add(node.name)
        elif isinstance(node, ast.Call):
            if node.function == "DEFINED":
                checks.update(a.name for a in node.args if isinstance(a, ast.Symbol))
                return
            if node.function in ("ORIGIN", "LENGTH", "ADDR", "SIZEOF", "LOADADDR",
                                 "ALIGNOF", "CONSTANT"):
                return  # names of regions, sections and constants, not symbols
            for arg in node.args:
                walk(arg)
        elif isinstance(node, ast.UnaryOp):
            walk(node.operand)
        elif isinstance(node, ast.BinaryOp):
            walk(node.left)
            walk(node.right)
        elif isinstance(node, ast.Conditional):
            walk(node.condition)
            walk(node.then)
            walk(node.otherwise)

    walk(expr)
    return reads, checks


def _referenced_symbols(script: ast.Script, skip: set[int]) -> set[str]:
    """Symbols the script reads outside the assignments in `skip` (by id), as ld counts
    them for PROVIDE.

    DEFINED's argument is no read, and neither is anything inside a PROVIDE that does
    not act: a PROVIDE's expression counts only once its own symbol is read (so chains of
    PROVIDEs are followed to a fixed point).
    """
    found: set[str] = set()
    provides: list[ast.Assignment] = []

    def walk(node: object) -> None:
        if isinstance(node, tuple):
            for item in node:
                walk(item)
            return
        if isinstance(node, ast.Call) and node.function == "DEFINED":
            return
        if isinstance(node, ast.Symbol):
            found.add(node.name)
            return
        if isinstance(node, ast.Assignment):
            if id(node) in skip:
                return
            if node.provide in ("PROVIDE", "PROVIDE_HIDDEN"):
                provides.append(node)
                return
            if node.op != "=":
                found.add(node.target)
        if records.has(type(node)):
            for field in records.fields(cast(Any, type(node))):
                if field.name != "span":
                    walk(getattr(node, field.name))

    walk(script)
    pending = provides
    while True:
        acting = [p for p in pending if p.target in found]
        if not acting:
            return found
        pending = [p for p in pending if p.target not in found]
        for provide in acting:
            walk(provide.expr)


def _combine(statement: ast.Assignment, current: Value, value: Value, scope: _Scope) -> Value:
    op = _COMPOUND[statement.op]
    if isinstance(current, Unknown):
        return current
    if isinstance(value, Unknown):
        return value
    node = ast.BinaryOp(op, ast.Number(current, str(current)), ast.Number(value, str(value)),
                        span=statement.span)
    return _binary(op, current, value, node, scope)


def region_flags(attributes: str | None) -> tuple[frozenset[str], frozenset[str]]:
    """The (allowed, denied) ld flag letters of a MEMORY attribute string.

    ld's grammar reads ``!`` as "the following letters are denied" (``r!w`` allows r,
    denies w; ``!r!w`` denies both). ``I`` and ``L`` are the same flag, printed ``l``.
    """
    allowed: set[str] = set()
    denied: set[str] = set()
    target = allowed
    for char in attributes or "":
        if char == "!":
            target = denied
            continue
        flag = _FLAG_OF.get(char.lower())
        if flag is None:
            raise ValueError(f"invalid character {char!r} in memory attributes")
        target.add(flag)
    return frozenset(allowed), frozenset(denied)


def format_flags(allowed: frozenset[str], denied: frozenset[str]) -> str:
    """Attributes as ld's map file prints them: ``axrwl`` order, ``!`` before denied."""
    text = "".join(f for f in _FLAG_ORDER if f in allowed)
    if denied:
        text += "!" + "".join(f for f in _FLAG_ORDER if f in denied)
    return text


def evaluate_memory(
    script: ast.Script,
    *,
    target: LinkerTarget | None = None,
    defsyms: Mapping[str, int] | None = None,
    open_world: bool = False,
) -> tuple[EvaluatedRegion, ...]:
    """The MEMORY regions of `script`, in declaration order, evaluated as ld does.

    `defsyms` are ``--defsym`` values. `target` sets the address width and CONSTANT()
    values (see `LINKER_TARGETS`, `target_for_script`). INCLUDEs must be resolved first
    (`placer.script.includes.load_script` does). Raises `ScriptError` for a redeclared or
    undeclared region, a region used before its declaration, or an ld arithmetic error.
    """
    with nesting_limit(_file_of(script), "evaluate"):
        return _ScriptEvaluator(script, target, defsyms or {}, open_world).memory()


def evaluate_symbols(
    script: ast.Script,
    *,
    target: LinkerTarget | None = None,
    defsyms: Mapping[str, int] | None = None,
    open_world: bool = False,
) -> EvaluatedSymbols:
    """Values of the symbols `script` assigns at top level and directly inside SECTIONS.

    Assignments inside output sections are not included: their values are relative to a
    section placed by the link. A symbol the script assigns from something only the link
    knows has an `Unknown` value saying what.
    """
    with nesting_limit(_file_of(script), "evaluate"):
        return _ScriptEvaluator(script, target, defsyms or {}, open_world).symbols()


def _file_of(script: ast.Script) -> str:
    return script.span.file if script.span is not None else "<script>"


def target_for_script(script: ast.Script) -> LinkerTarget | None:
    """The `LinkerTarget` that the script's ``OUTPUT_FORMAT``/``OUTPUT_ARCH`` names, if any."""
    for statement in script.commands:
        if isinstance(statement, ast.Command) and statement.name in ("OUTPUT_FORMAT",
                                                                     "OUTPUT_ARCH"):
            for arg in statement.args:
                found = target_for_bfd_name(arg)
                if found is not None:
                    return found
    return None


def target_for_bfd_name(name: str) -> LinkerTarget | None:
    """The `LinkerTarget` of a BFD target or architecture name (``elf32-littlearm``)."""
    lowered = name.lower()
    # Order matters: "aarch64" contains "arc", and "elf32-littleriscv" must stay 32-bit.
    for key, needle in (("arm64", "aarch64"), ("x86", "x86-64"), ("x86", "x86_64"),
                        ("riscv", "riscv"), ("xtensa", "xtensa"), ("arc", "arc"),
                        ("arm", "arm")):
        if needle in lowered:
            found = LINKER_TARGETS[key]
            if key == "riscv" and "elf32" in lowered:
                return records.evolve(found, name="elf32lriscv", address_bits=32)
            return found
    return None
