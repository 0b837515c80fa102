"""Build `placer.script._tables` from ``grammar/ld.lark`` with Lark.

    python -m placer.script._tablegen          # rewrite placer/script/_tables.py
    python -m placer.script._tablegen --check  # exit 1 if it is out of date

Lark compiles the grammar into LALR(1) tables once, here, when the grammar changes; the
parser (`placer.script._driver`) runs the generated tables and never imports Lark, so a
``placer`` process loads its parser in milliseconds with no per-user cache (a read-only
home directory costs nothing). ``tests/script/test_tables.py`` fails when the shipped
tables do not match the grammar.

Lark's LALR tables are read through ``Lark.parser.parser.parser`` (not a public API); the
``lark`` range in pyproject.toml's ``dev`` and ``test`` extras is the tested one, and the
test above fails loudly if Lark changes shape. Lark numbers states in a different order
from run to run (it iterates sets of items), so states are renumbered breadth-first from
the start states, each state's successors in symbol order: the same grammar always gives
the same file.
"""

from __future__ import annotations

import hashlib
import re
import sys
from pathlib import Path
from typing import Any

#: The start rules, in the order `placer.script.parser` uses them.
STARTS = ("script", "sections_body", "output_section_body")
#: Terminals declared in the grammar without a pattern and lexed by the driver.
DRIVER_TERMINALS = ("INPUT_SECTIONS", "KEPT_SECTIONS")
TABLES = Path(__file__).with_name("_tables.py")


def _grammar_path() -> Path:
    from placer._resources import data_dir

    return data_dir("grammar") / "ld.lark"


def _sort_key(t: Any) -> tuple[int, int, int, str]:
    # Lark's own order: priority, then widest pattern, then longest literal, then name.
    return (-t.priority, -t.pattern.max_width, -len(t.pattern.value), t.name)


def generate(grammar: str) -> str:
    """The text of ``_tables.py`` for `grammar` (the text of ld.lark)."""
    from lark import Lark
    from lark.lexer import PatternStr
    from lark.parsers.lalr_analysis import Shift

    lark = Lark(grammar, parser="lalr", lexer="contextual", start=list(STARTS),
                keep_all_tokens=True)
    parser = lark.parser.parser.parser
    table = parser.parse_table
    rules = list(parser.callbacks)
    rule_index = {rule: i for i, rule in enumerate(rules)}

    # Canonical state numbers: breadth first from the start states.
    number: dict[int, int] = {}
    queue = [table.start_states[s] for s in STARTS]
    for state in queue:
        if state in number:
            continue
        number[state] = len(number)
        row = table.states[state]
        for symbol in sorted(row):
            action, arg = row[symbol]
            if action is Shift and arg not in number:
                queue.append(arg)
    if len(number) != len(table.states):
        raise RuntimeError("some LALR states are unreachable from the start states")
    ordered = sorted(table.states, key=number.__getitem__)

    symbols: dict[str, int] = {}

    def index(name: str) -> int:
        return symbols.setdefault(name, len(symbols))

    actions: list[str] = []
    gotos: list[str] = []
    for state in ordered:
        shifts_reduces = []
        goes = []
        for name in sorted(table.states[state]):
            action, arg = table.states[state][name]
            if action is Shift:
                target = number[arg]
                if name.isupper() or name == "$END":
                    shifts_reduces.append(f"{index(name)}:{target}")
                else:
                    goes.append(f"{index(name)}:{target}")
            else:
                shifts_reduces.append(f"{index(name)}:{~rule_index[arg]}")
        actions.append(" ".join(shifts_reduces))
        gotos.append(" ".join(goes))

    rule_rows = [
        (str(rule.origin.name), None if rule.alias is None else str(rule.alias),
         bool(rule.options.expand1),
         tuple(s.name for s in rule.expansion),
         tuple(i for i, s in enumerate(rule.expansion)
               if not s.is_term and s.name.startswith("_")))
        for rule in rules
    ]

    ignore = set(lark.lexer_conf.ignore)
    terminals = sorted((t for t in lark.terminals if t.name not in ignore), key=_sort_key)
    terminal_rows = [
        (t.name, t.pattern.value if isinstance(t.pattern, PatternStr) else None,
         t.pattern.to_regexp())
        for t in terminals
    ]
    regex_terminals = [t for t in terminals if not isinstance(t.pattern, PatternStr)]
    # A keyword is lexed by the first regex terminal of the state that matches its text.
    owners = {
        t.name: tuple(r.name for r in regex_terminals
                      if re.fullmatch(r.pattern.to_regexp(), t.pattern.value))
        for t in terminals if isinstance(t.pattern, PatternStr)
    }
    owners = {name: found for name, found in owners.items() if found}
    literals = {t.name: str(t.pattern.value) for t in lark.terminals
                if t.pattern.type == "str"}
    # Keywords a WILD-state name could spell (the INPUT_SECTIONS fast path excludes them).
    wild = next(t for t in terminals if t.name == "WILDNAME").pattern.to_regexp()
    wild_keywords = sorted({
        name for state in table.states.values() if "WILDNAME" in state
        for name in state
        if name in literals and re.fullmatch(wild, literals[name])
    }, reverse=True)

    digest = hashlib.sha256(grammar.encode("utf-8")).hexdigest()
    names = sorted(symbols, key=symbols.__getitem__)
    lines = [
        '"""LALR(1) tables of ``grammar/ld.lark``, generated by `placer.script._tablegen`.',
        "",
        "Do not edit: run ``python -m placer.script._tablegen`` after changing the grammar",
        '(tests/script/test_tables.py checks that this file matches it)."""',
        "",
        "# fmt: off",
        "# ruff: noqa: E501",
        "",
        # The annotations are what mypy (and mypyc, compiling the driver) read instead of
        # the literals' own types: mypyc specialises code on a literal tuple's exact type,
        # which for these tables was hundreds of megabytes of C.
        f"GRAMMAR_SHA256: str = {digest!r}",
        f"STARTS: tuple[str, ...] = {STARTS!r}",
        f"START_STATES: dict[str, int] = { {s: number[table.start_states[s]] for s in STARTS}!r}",
        f"END_STATES: dict[str, int] = { {s: number[table.end_states[s]] for s in STARTS}!r}",
        f"SYMBOLS: tuple[str, ...] = {tuple(names)!r}",
        "#: Per state: 'symbol:action' pairs, action >= 0 a shift to that state, < 0 a reduction",
        "#: by rule ~action (decoded on first use: a parse visits a few of these states).",
        "ACTIONS: tuple[str, ...] = (",
        *(f"    {row!r}," for row in actions),
        ")",
        "#: Per state: 'nonterminal:state' after a reduction to that nonterminal.",
        "GOTOS: tuple[str, ...] = (",
        *(f"    {row!r}," for row in gotos),
        ")",
        "#: Per rule: produced nonterminal, alias, ?rule (expand a single child), the symbols,",
        "#: and the positions of `_x` children spliced into the parent.",
        "RULES: tuple[tuple[str, str | None, bool, tuple[str, ...], tuple[int, ...]], ...] = (",
        *(f"    {row!r}," for row in rule_rows),
        ")",
        "#: Lexer terminals in Lark's priority order: name, literal text (None for a regex),",
        "#: regular expression.",
        "TERMINALS: tuple[tuple[str, str | None, str], ...] = (",
        *(f"    {row!r}," for row in terminal_rows),
        ")",
        "#: Keyword -> the regex terminals whose pattern also matches it, in terminal order.",
        f"OWNERS: dict[str, tuple[str, ...]] = {owners!r}",
        "#: Every literal terminal's text (for diagnostics).",
        f"LITERALS: dict[str, str] = {literals!r}",
        "#: Keywords a WILD-state name could spell, longest-sorting first.",
        f"WILD_KEYWORDS: tuple[str, ...] = {tuple(wild_keywords)!r}",
        f"DRIVER_TERMINALS: tuple[str, ...] = {DRIVER_TERMINALS!r}",
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    """Rewrite the tables, or with ``--check`` say whether they are up to date."""
    text = generate(_grammar_path().read_text(encoding="utf-8"))
    if "--check" in argv:
        current = TABLES.read_text(encoding="utf-8") if TABLES.exists() else ""
        if current != text:
            print(f"{TABLES} is out of date: run python -m placer.script._tablegen",
                  file=sys.stderr)
            return 1
        return 0
    TABLES.write_text(text, encoding="utf-8")
    print(f"wrote {TABLES}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
