"""The evaluator against the real GNU ld: expression values and script semantics.

Each test links ONE script with many symbols (one ld run per hypothesis example), reads the
values back from the symbol table and compares them with placer's.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from placer.errors import ScriptError, ScriptWarning
from placer.script import ast, parse
from placer.script.evaluate import (
    LINKER_TARGETS,
    Unknown,
    evaluate_expression,
    evaluate_memory,
    evaluate_symbols,
)
from tests.script.ld_oracle import link, render, render_statement

_BOUNDARIES = [0, 1, 2, 3, 7, 8, 31, 32, 63, 64, 65, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF,
               0x100000000, 0x7FFFFFFFFFFFFFFF, 0x8000000000000000, 0xFFFFFFFFFFFFFFFF]

numbers = st.one_of(
    st.sampled_from(_BOUNDARIES),
    st.integers(0, 300),
    st.integers(0, 2**64 - 1),
).map(lambda v: ast.Number(v, hex(v)))

# No `^`: GNU ld 2.40 has no XOR operator ("ignoring invalid character `^' in expression").
_BINARY = ["*", "/", "%", "+", "-", "<<", ">>", "<", "<=", ">", ">=", "==", "!=", "&", "|",
           "&&", "||"]


def _extend(children: st.SearchStrategy[ast.Expr]) -> st.SearchStrategy[ast.Expr]:
    return st.one_of(
        st.builds(ast.UnaryOp, st.sampled_from(["-", "~", "!"]), children),
        st.builds(ast.BinaryOp, st.sampled_from(_BINARY), children, children),
        st.builds(ast.Conditional, children, children, children),
        st.builds(lambda f, a, b: ast.Call(f, (a, b)),
                  st.sampled_from(["MAX", "MIN", "ALIGN"]), children, children),
        st.builds(lambda f, a: ast.Call(f, (a,)),
                  st.sampled_from(["LOG2CEIL", "ABSOLUTE"]), children),
    )


expressions = st.recursive(numbers, _extend, max_leaves=8)


def _value_or_error(expr: ast.Expr, arch: str) -> int | None:
    try:
        value = evaluate_expression(expr, target=LINKER_TARGETS[arch])
    except ScriptError:
        return None  # ld stops the whole link on these: tested on their own below
    assert isinstance(value, int)
    return value


@pytest.mark.parametrize("arch", ["arm", "riscv"])
@settings(max_examples=15, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(batch=st.lists(expressions, min_size=60, max_size=60))
def test_expression_values_equal_gnu_ld(arch: str, batch: list[ast.Expr],
                                        tmp_path: Path) -> None:
    expected = {f"s_{i}": v for i, e in enumerate(batch)
                if (v := _value_or_error(e, arch)) is not None}
    script = "\n".join(f"s_{i} = {render(batch[i])};"
                       for i in range(len(batch)) if f"s_{i}" in expected)
    result = link(arch, script + "\n", tmp_path)
    assert result.returncode == 0, result.stderr
    placer = {name: expected[name] for name in expected}
    ld = {name: result.symbols[name] for name in expected}
    assert placer == ld


@pytest.mark.parametrize(("op", "message"), [("/", "/ by zero"), ("%", "% by zero")])
def test_division_by_zero_is_an_error_as_in_ld(op: str, message: str, tmp_path: Path) -> None:
    # ld folds every operand, also the `?:` branch it does not take.
    expr = ast.Conditional(ast.Number(1, "1"), ast.Number(2, "2"),
                           ast.BinaryOp(op, ast.Number(1, "1"), ast.Number(0, "0")))
    result = link("arm", f"s_a = {render(expr)};\n", tmp_path)
    assert result.returncode != 0
    assert f"oracle.ld:1 {message}" in result.stderr
    with pytest.raises(ScriptError) as caught:
        evaluate_expression(expr)
    assert caught.value.message == message


@pytest.mark.parametrize("op", ["/", "%"])
def test_the_overflowing_signed_division_is_an_error_where_ld_crashes(op: str,
                                                                      tmp_path: Path) -> None:
    expr = ast.BinaryOp(op, _n(0x8000000000000000), ast.UnaryOp("-", _n(1)))
    result = link("x86", f"s_a = {render(expr)};\n", tmp_path)
    assert result.returncode == -8  # SIGFPE
    with pytest.raises(ScriptError) as caught:
        evaluate_expression(expr)
    assert caught.value.message == (
        f"signed overflow in {op}: -0x8000000000000000 {op} -1 (GNU ld crashes on it)")


@pytest.mark.parametrize("arch", sorted(LINKER_TARGETS))
def test_page_size_constants_match_each_targets_ld(arch: str, tmp_path: Path) -> None:
    script = "s_max = CONSTANT(MAXPAGESIZE);\ns_common = CONSTANT(COMMONPAGESIZE);\n"
    result = link(arch, script, tmp_path)
    assert result.returncode == 0, result.stderr
    target = LINKER_TARGETS[arch]
    assert (result.symbols["s_max"], result.symbols["s_common"]) == (
        target.max_page_size, target.common_page_size)


def _n(value: int) -> ast.Number:
    return ast.Number(value, hex(value))


def _sym(name: str) -> ast.Symbol:
    return ast.Symbol(name)


def _call(function: str, *args: ast.Expr) -> ast.Call:
    return ast.Call(function, args)


def _set(name: str, expr: ast.Expr, provide: str | None = None) -> ast.Assignment:
    return ast.Assignment(name, "=", expr, provide)


# Forward references, DEFINED's order rule, PROVIDE, compound assignments, MEMORY reading
# symbols defined before and after it, REGION_ALIAS.
ORDER_SCRIPT = ast.Script((
    _set("s_a", ast.BinaryOp("+", _sym("s_b"), _n(1))),
    _set("s_b", _n(5)),
    _set("s_before", _n(0x40)),
    ast.Memory((
        ast.MemoryRegionDecl(
            "ROM", "rx",
            ast.Conditional(_call("DEFINED", _sym("s_before")), _sym("s_before"), _n(9)),
            ast.Conditional(_call("DEFINED", _sym("s_after")), _sym("s_after"), _n(2))),
        ast.MemoryRegionDecl(
            "RAM", "rw!x",
            ast.BinaryOp("+", _call("ORIGIN", _sym("ROM")), _call("LENGTH", _sym("ROM"))),
            ast.BinaryOp("*", _sym("s_b"), _n(1024))),
        ast.MemoryRegionDecl("BIG", None, ast.UnaryOp("-", _n(1)), _n(0x100000000)),
    )),
    ast.RegionAlias("TEXT", "ROM"),
    _set("s_after", _n(0x30)),
    _set("s_c", _call("DEFINED", _sym("s_after"))),
    _set("s_d", _call("DEFINED", _sym("s_e"))),
    _set("s_e", _n(1)),
    _set("s_f", _n(7), "PROVIDE"),
    _set("s_g", _sym("s_f")),
    _set("s_h", _n(1)),
    _set("s_h", _n(2), "PROVIDE"),
    _set("s_i", _sym("s_i2")),
    _set("s_i2", ast.BinaryOp("+", _sym("s_i3"), _n(1))),
    _set("s_i3", _n(1)),
    ast.Assignment("s_i3", "+=", _n(4)),
    _set("s_j", ast.BinaryOp("+", _call("ORIGIN", _sym("TEXT")), _call("LENGTH", _sym("RAM")))),
    _set("s_k", _call("SEGMENT_START", ast.String("text-segment"), _n(0x400))),
    _set("s_l", _call("ALIGN", _n(16))),
    _set("s_m", ast.BinaryOp("+", _sym("."), _n(4))),
    _set("s_n", _call("DEFINED", _sym("s_nowhere"))),
))


@pytest.mark.parametrize("arch", ["arm", "x86"])
def test_script_symbols_and_memory_equal_gnu_ld(arch: str, tmp_path: Path) -> None:
    text = "\n".join(render_statement(s) for s in ORDER_SCRIPT.commands)  # type: ignore[arg-type]
    result = link(arch, text + "\n", tmp_path)
    assert result.returncode == 0, result.stderr
    target = LINKER_TARGETS[arch]
    symbols = evaluate_symbols(ORDER_SCRIPT, target=target)
    assert {name: symbols[name] for name in symbols} == {
        name: result.symbols[name] for name in symbols}
    regions = evaluate_memory(ORDER_SCRIPT, target=target)
    assert [(r.name, r.origin, r.length, r.attributes) for r in regions] == [
        (r.name, r.origin, r.length, r.attributes) for r in result.regions]


@pytest.mark.parametrize("reader", [
    "s_c = s_b ? 0 : s_d;",  # the branch not taken once s_b is valid
    "s_c = s_b ? 0 : (s_b ? 0 : s_d);",  # nested: ld folds both branches there too
    "s_c = (s_b + s_d) ? 0 : 1;",  # the operand after the one not valid yet
])
def test_a_read_after_a_symbol_not_valid_yet_still_makes_a_provide_act(
        reader: str, tmp_path: Path) -> None:
    # Pass 1: s_b is not valid, yet ld folds the rest and references s_d; the PROVIDE
    # then acts in each pass with s_b as it is there (1), not its final value (0).
    text = f"s_b = s_e;\n{reader}\nPROVIDE(s_d = s_b);\ns_b = 0;\ns_e = 1;\n"
    result = link("x86", text, tmp_path)
    assert result.returncode == 0, result.stderr
    symbols = evaluate_symbols(parse(text), target=LINKER_TARGETS["x86"])
    assert result.symbols["s_d"] == 1
    assert {name: symbols[name] for name in symbols} == {
        name: result.symbols[name] for name in symbols}


def test_a_self_assignment_defines_its_symbol_only_in_lds_final_pass(tmp_path: Path) -> None:
    # Found by the property test below. `s_0 = s_0` reads its own target before anything
    # in the pass defined it: ld skips it (so DEFINED(s_0) is 0) in every pass but the
    # final one, where s_10 and then s_5 become 1 while s_9 still reads s_5 as the
    # earlier passes left it, 0.
    text = ("s_0 = s_0; s_1 = 0; s_2 = 0; s_3 = 0; s_4 = 0; PROVIDE(s_7 = 0);"
            " s_10 = DEFINED(s_0);\nPROVIDE(s_8 = 0); s_9 = s_5; s_5 = s_10; s_10 = 0;"
            " s_11 = 0; s_0 += 0; s_0 += 0;\ns_0 = 0; s_6 = 0;\n")
    result = link("x86", text, tmp_path)
    assert result.returncode == 0, result.stderr
    symbols = evaluate_symbols(parse(text), target=LINKER_TARGETS["x86"])
    assert (result.symbols["s_9"], result.symbols["s_5"]) == (0, 1)
    compared = {name: symbols[name] for name in symbols if name in result.symbols}
    assert compared == {name: result.symbols[name] for name in compared}
    assert all(symbols.symbol(name).provided for name in symbols if name not in compared)


def test_alias_names_its_region() -> None:
    regions = evaluate_memory(ORDER_SCRIPT)
    assert [r.aliases for r in regions] == [("TEXT",), (), ()]


def test_provided_symbol_is_marked_and_overridden_provide_is_dropped() -> None:
    symbols = evaluate_symbols(ORDER_SCRIPT)
    assert symbols.symbol("s_f").provided
    assert not symbols.symbol("s_h").provided
    assert symbols["s_h"] == 1


def test_what_needs_a_link_is_unknown_with_the_reason() -> None:
    script = ast.Script((
        ast.Sections((
            _set("s_dot", ast.BinaryOp("+", _sym("."), _n(1))),
            _set("s_plain", _n(0x77)),
        )),
        _set("s_addr", _call("ADDR", _sym(".text"))),
        _set("s_size", _call("SIZEOF", _sym(".data"))),
        _set("s_ext", ast.BinaryOp("+", _sym("_etext"), _n(1))),
        _set("s_hdr", _call("SIZEOF_HEADERS")),
        _set("s_page", _call("CONSTANT", _sym("MAXPAGESIZE"))),
        _set("s_zero_and", ast.BinaryOp("&&", _n(0), _sym("_etext"))),
    ))
    symbols = evaluate_symbols(script)
    assert symbols["s_dot"] == Unknown("the location counter `.' inside SECTIONS needs a link")
    assert symbols["s_plain"] == 0x77
    assert symbols["s_addr"] == Unknown("ADDR(.text) is known only after placing sections")
    assert symbols["s_size"] == Unknown("SIZEOF(.data) is known only after placing sections")
    assert symbols["s_ext"] == Unknown("symbol `_etext' is not defined by the script")
    assert symbols["s_hdr"] == Unknown(
        "SIZEOF_HEADERS depends on the program headers the link creates")
    assert symbols["s_page"] == Unknown(
        "CONSTANT(MAXPAGESIZE) depends on the target (pass a LinkerTarget)")
    # 0 && anything is 0 whatever the unknown operand is: exact, not a guess.
    assert symbols["s_zero_and"] == 0


def test_open_world_makes_defined_of_an_outside_symbol_unknown() -> None:
    script = ast.Script((_set("s", _call("DEFINED", _sym("__flash"))),))
    assert evaluate_symbols(script)["s"] == 0
    assert evaluate_symbols(script, open_world=True)["s"] == Unknown(
        "DEFINED(__flash): an input file may define `__flash'")
    assert evaluate_symbols(script, defsyms={"__flash": 0x100})["s"] == 1


def _memory(*regions: ast.MemoryRegionDecl) -> ast.Script:
    return ast.Script((ast.Memory(regions),))


def test_region_used_before_its_declaration_is_an_error() -> None:
    # GNU ld silently reads ORIGIN(S) as 0 here.
    script = _memory(
        ast.MemoryRegionDecl("R", None, _call("ORIGIN", _sym("S")), _n(1)),
        ast.MemoryRegionDecl("S", None, _n(4), _n(4)),
    )
    with pytest.raises(ScriptError) as caught:
        evaluate_memory(script)
    assert caught.value.message == (
        "memory region `S' is used before its declaration (GNU ld reads it as 0 there)")


def test_region_depending_on_itself_is_an_error() -> None:
    script = _memory(ast.MemoryRegionDecl("R", None, _call("LENGTH", _sym("R")), _n(1)))
    with pytest.raises(ScriptError) as caught:
        evaluate_memory(script)
    assert caught.value.message == "memory region `R' depends on its own ORIGIN or LENGTH"


def test_an_undeclared_region_warns_as_ld_does_and_a_redeclared_one_is_an_error() -> None:
    with pytest.warns(ScriptWarning) as caught:
        symbols = evaluate_symbols(ast.Script((_set("s", _call("ORIGIN", _sym("NOPE"))),
                                               _set("l", _call("LENGTH", _sym("NOPE"))))))
    assert [str(w.message.message) for w in caught] == [  # type: ignore[union-attr]
        "memory region `NOPE' not declared: GNU ld warns and reads it as origin 0, "
        "length ~0"]
    assert (symbols["s"], symbols["l"]) == (0, (1 << 64) - 1)
    twice = _memory(ast.MemoryRegionDecl("R", None, _n(0), _n(1)),
                    ast.MemoryRegionDecl("R", None, _n(0), _n(2)))
    with pytest.raises(ScriptError) as caught:
        evaluate_memory(twice)
    assert caught.value.message == "redeclaration of memory region `R'"


def test_alias_of_a_missing_region_uses_lds_message() -> None:
    script = ast.Script((ast.RegionAlias("A", "NOPE"),))
    with pytest.raises(ScriptError) as caught:
        evaluate_memory(script)
    assert caught.value.message == "memory region `NOPE' for alias `A' does not exist"


def test_unknown_constant_uses_lds_message() -> None:
    with pytest.raises(ScriptError) as caught:
        evaluate_expression(_call("CONSTANT", _sym("FOO")))
    assert caught.value.message == "unknown constant `FOO' referenced in expression"


@pytest.mark.parametrize(
    ("attributes", "printed"),
    [("rwxail", "axrwl"), ("!rw", "!rw"), ("r!w", "r!w"), ("RWX!AL", "xrw!al"),
     ("xxr", "xr"), ("!r!w", "!rw"), (None, "")],
)
def test_attributes_print_as_lds_map(attributes: str | None, printed: str,
                                     tmp_path: Path) -> None:
    script = _memory(ast.MemoryRegionDecl("R", attributes, _n(0), _n(1)))
    (region,) = evaluate_memory(script)
    assert region.attributes == printed
    result = link("arm", render_statement(script.commands[0]) + "\n", tmp_path)  # type: ignore[arg-type]
    assert result.regions[0].attributes == printed


_SYMBOLS = [f"s_{i}" for i in range(12)]


@st.composite
def _assignment_scripts(draw: st.DrawFn) -> ast.Script:
    """Top-level assignments in random order: forward references, DEFINED, compound
    operators and PROVIDE, every referenced symbol assigned somewhere."""
    names = draw(st.lists(st.sampled_from(_SYMBOLS), min_size=3, max_size=12, unique=True))
    provides = draw(st.lists(st.booleans(), min_size=len(names), max_size=len(names)))
    # DEFINED() only of plainly assigned symbols: whether a PROVIDE acts in time for an
    # earlier DEFINED depends on when ld first reads the symbol (not modelled).
    plain = [n for n, p in zip(names, provides, strict=True) if not p] or names[:1]
    leaves = st.one_of(
        st.integers(0, 2**32).map(_n),
        st.sampled_from(names).map(_sym),
        st.sampled_from(plain).map(lambda name: _call("DEFINED", _sym(name))),
    )
    expr = st.recursive(leaves, lambda c: st.one_of(
        st.builds(ast.BinaryOp, st.sampled_from(["+", "-", "*", "&", "|", "<<", ">>", "<",
                                                 "=="]), c, c),
        st.builds(ast.Conditional, c, c, c),  # picolibc's `DEFINED(x) ? x : default`
    ), max_leaves=5)
    statements = [_set(name, draw(expr), None if name in plain else "PROVIDE")
                  for name in names]
    # Not generated: a symbol both PROVIDEd and assigned with `=` that DEFINED() reads;
    # there ld's answer hangs on its internal iteration counter (see _ScriptEvaluator).
    extra = draw(st.lists(st.one_of(
        st.tuples(st.sampled_from(names), st.sampled_from(["+=", "-="]), expr),
        st.tuples(st.sampled_from(plain), st.just("="), expr),
    ), max_size=4))
    statements += [ast.Assignment(name, op, e) for name, op, e in extra
                   if op != "=" or name in plain]
    return ast.Script(tuple(draw(st.permutations(statements))))


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(script=_assignment_scripts())
def test_symbol_values_of_random_scripts_equal_gnu_ld(script: ast.Script,
                                                      tmp_path: Path) -> None:
    symbols = evaluate_symbols(script, target=LINKER_TARGETS["x86"])
    text = "\n".join(render_statement(s) for s in script.commands)  # type: ignore[arg-type]
    result = link("x86", text + "\n", tmp_path)
    if result.returncode != 0:
        # A symbol that depends on itself: ld refuses the script, placer cannot value it.
        assert any(isinstance(symbols[name], Unknown) for name in symbols), result.stderr
        return
    # A symbol defined through a cycle has whatever value ld's number of passes gives it:
    # placer says so instead of guessing.
    known = {name for name in symbols
             if not (isinstance(value := symbols[name], Unknown)
                     and value.reason.endswith("depends on itself through other assignments"))}
    # ld leaves out a PROVIDEd symbol nothing references; every other one must agree.
    compared = {name: symbols[name] for name in known if name in result.symbols}
    assert compared == {name: result.symbols[name] for name in compared}
    assert all(symbols.symbol(name).provided for name in known if name not in compared)
