"""``str(error)`` is the plain message a caller logs; the CLI renders the diagnostic."""

from __future__ import annotations

from placer.cli.output import render
from placer.errors import (
    BoardError,
    ConfigError,
    ExtensionError,
    Infeasible,
    LayoutError,
    ScriptError,
)


def test_a_script_error_is_one_line_and_renders_with_its_caret() -> None:
    error = ScriptError("missing `;`", "board.ld", 3, 5, "  x = 1", notes=("see above",))
    assert str(error) == "board.ld:3:5: missing `;`"
    assert render(error) == ("board.ld:3:5: error: missing `;`\n  x = 1\n    ^\n"
                             "note: see above")


def test_each_error_keeps_severity_and_context_out_of_its_str() -> None:
    cases = [
        (BoardError("no such board file", "b.toml"), "b.toml: no such board file",
         "b.toml: error: no such board file"),
        (ConfigError(("LLEXT_HEAP_SIZE",), "too big", fix="shrink it", where="prj.conf:2"),
         "prj.conf:2: CONFIG_LLEXT_HEAP_SIZE: too big",
         "prj.conf:2: error: CONFIG_LLEXT_HEAP_SIZE: too big\n  fix: shrink it"),
        (Infeasible(".llext_heap", "does not fit", ("RAM: 12 bytes free",)),
         "cannot place .llext_heap: does not fit",
         "error: cannot place .llext_heap: does not fit\n  RAM: 12 bytes free"),
        (ExtensionError("bad magic", "a.llext", "ENOEXEC"), "a.llext: bad magic (Zephyr: -ENOEXEC)",
         "a.llext: error: bad magic (Zephyr: -ENOEXEC)"),
        (LayoutError("unknown key", "l.json", key="heaps[0].x"), "l.json: heaps[0].x: unknown key",
         "l.json: error: heaps[0].x: unknown key"),
    ]
    for error, plain, rendered in cases:
        assert str(error) == plain
        assert render(error) == rendered
