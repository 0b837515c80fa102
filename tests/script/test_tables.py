"""The parser's shipped tables (`placer.script._tables`) are the ones ld.lark compiles to.

The parser runs tables generated from ``grammar/ld.lark`` by `placer.script._tablegen`
(with Lark) and never imports Lark itself; a grammar edit without regenerating them, or a
Lark release that builds different tables or changed the internals the generator reads,
fails here."""

from __future__ import annotations

import sys

from placer._resources import data_dir
from placer.script import _tablegen, _tables


def test_the_shipped_tables_are_generated_from_the_grammar() -> None:
    grammar = (data_dir("grammar") / "ld.lark").read_text(encoding="utf-8")
    regenerated = _tablegen.generate(grammar)
    shipped = _tablegen.TABLES.read_text(encoding="utf-8")
    assert regenerated == shipped, (
        "placer/script/_tables.py does not match grammar/ld.lark (or this Lark builds "
        "other tables): run `python -m placer.script._tablegen` and review the diff")


def test_the_tables_name_the_grammar_they_came_from() -> None:
    import hashlib

    grammar = (data_dir("grammar") / "ld.lark").read_bytes()
    assert hashlib.sha256(grammar).hexdigest() == _tables.GRAMMAR_SHA256


def test_parsing_does_not_import_lark() -> None:
    import subprocess

    program = ("import sys; from placer.script import parse; parse('SECTIONS { .text : "
               "{ *(.text) } }'); print('lark' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True,
                            check=True)
    assert result.stdout.strip() == "False"


def test_every_grammar_rule_has_its_reduction() -> None:
    # Reductions are built when a parse first needs them; build them all here, so a rule
    # added to the grammar without a `_Builder` method fails now, not on some user's script.
    from placer.script._driver import Driver
    from placer.script.parser import _Builder

    driver = Driver(_Builder())
    for index in range(len(_tables.RULES)):
        size, _, produced = driver.reduction(index)
        assert size == len(_tables.RULES[index][3]) and produced == _tables.RULES[index][0]
