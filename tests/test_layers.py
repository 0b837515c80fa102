"""The package's layers, checked from the source: module-level imports between placer's
modules form no circle (config, rules, target and the solver once did), and the language
layer (`placer.script`) uses nothing above it."""

from __future__ import annotations

import ast
from pathlib import Path

import networkx as nx

PACKAGE = Path(__file__).resolve().parent.parent / "placer"
#: What `placer.script` may use besides itself: the errors, the records (and their C
#: constructors, which also make the lexer's tokens), the bounded reader, shipped data, and
#: the one .config reader (which itself uses only these).
SCRIPT_MAY_USE = {"placer.errors", "placer.records", "placer._recordinit", "placer.inputs",
                  "placer._resources", "placer._files", "placer._graph", "placer._lazy",
                  "placer.dotconfig"}


def _module(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path, *, everywhere: bool) -> set[str]:
    """placer modules `path` imports: at module level outside ``if TYPE_CHECKING:``, or
    (`everywhere`) anywhere, function bodies included."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    nodes: list[ast.AST] = []
    if everywhere:
        nodes = list(ast.walk(tree))
    else:
        for node in tree.body:
            if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
                continue
            nodes.append(node)
    found = set()
    for node in nodes:
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "placer":  # `from placer import records`: the module records
                found |= {f"placer.{a.name}" for a in node.names}
            elif node.module.startswith("placer"):
                found.add(node.module)
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("placer")}
    return found


def test_module_level_imports_form_no_circle() -> None:
    graph = nx.DiGraph()
    modules = {_module(p): p for p in PACKAGE.rglob("*.py")}
    for name, path in modules.items():
        for target in _imports(path, everywhere=False):
            if target in modules and target != name and not name.startswith(target + "."):
                graph.add_edge(name, target)
    cycles = [c for c in nx.simple_cycles(graph)
              if not all(m.startswith(c[0].rsplit(".", 1)[0]) for m in c)]
    assert cycles == []


def test_the_language_layer_uses_nothing_above_it() -> None:
    for path in (PACKAGE / "script").rglob("*.py"):
        above = {m for m in _imports(path, everywhere=True)
                 if not m.startswith("placer.script") and m not in SCRIPT_MAY_USE}
        assert above == set(), path


def test_the_config_reader_uses_only_the_lowest_layer() -> None:
    uses = _imports(PACKAGE / "dotconfig.py", everywhere=True)
    assert uses <= {"placer.errors", "placer.records", "placer.inputs", "placer._resources"}
