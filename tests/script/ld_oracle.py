"""Run the real GNU ld on a script and read back what it computed.

Shared by the evaluator's oracle tests and the ``placer memory`` tests: one ld run links
an empty object with the script and returns the symbol table (pyelftools) and the
"Memory Configuration" of its map file.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from elftools.elf.elffile import ELFFile

from placer import records
from placer.script import ast
from tests.toolchains import tool


@records.frozen
class MapRegion:
    """One row of ld's "Memory Configuration" table."""

    name: str
    origin: int
    length: int
    attributes: str


@records.frozen
class LinkResult:
    """What one ld run produced: symbol values, map regions, and ld's messages."""

    returncode: int
    stderr: str
    symbols: dict[str, int]
    regions: tuple[MapRegion, ...]


def empty_object(arch: str, folder: Path) -> Path:
    """An object file with no content for `arch`, assembled once per folder."""
    path = folder / f"empty-{arch}.o"
    if not path.exists():
        source = folder / "empty.s"
        source.write_text("\n")
        subprocess.run([tool(arch, "as"), "-o", str(path), str(source)], check=True)
    return path


def link(arch: str, script: str, folder: Path, extra: tuple[str, ...] = ()) -> LinkResult:
    """Link an empty object with `script` (text) using `arch`'s GNU ld."""
    script_path = folder / "oracle.ld"
    script_path.write_text(script)
    output = folder / "oracle.elf"
    map_path = folder / "oracle.map"
    for stale in (output, map_path):
        stale.unlink(missing_ok=True)
    # ld reads a -T script while it parses the command line: -L must come first.
    command = [tool(arch, "ld"), *extra, "-T", str(script_path),
               str(empty_object(arch, folder)), "-o", str(output), f"-Map={map_path}"]
    run = subprocess.run(command, capture_output=True, text=True, check=False)
    symbols: dict[str, int] = {}
    if run.returncode == 0 and output.exists():
        with output.open("rb") as handle:
            table = ELFFile(handle).get_section_by_name(".symtab")
            if table is not None:
                for symbol in table.iter_symbols():
                    if symbol.name:
                        symbols[symbol.name] = symbol["st_value"]
    regions = read_memory_configuration(map_path.read_text()) if map_path.exists() else ()
    return LinkResult(run.returncode, run.stderr, symbols, regions)


def read_memory_configuration(map_text: str) -> tuple[MapRegion, ...]:
    """The regions of a map file's "Memory Configuration", without ``*default*``."""
    lines = map_text.splitlines()
    try:
        start = lines.index("Memory Configuration")
    except ValueError:
        return ()
    regions = []
    for line in lines[start + 3:]:
        if not line.strip():
            break
        fields = line.split()
        if fields[0] == "*default*":
            continue
        attributes = fields[3] if len(fields) > 3 else ""
        regions.append(MapRegion(fields[0], int(fields[1], 16), int(fields[2], 16), attributes))
    return tuple(regions)


def render(expr: ast.Expr) -> str:
    """`expr` as ld text, fully parenthesised and spaced so ld's lexer reads it as meant."""
    if isinstance(expr, ast.Number):
        return hex(expr.value)
    if isinstance(expr, ast.Symbol):
        return expr.name
    if isinstance(expr, ast.String):
        return f'"{expr.value}"'
    if isinstance(expr, ast.UnaryOp):
        return f"{expr.op}({render(expr.operand)})"
    if isinstance(expr, ast.BinaryOp):
        return f"({render(expr.left)}) {expr.op} ({render(expr.right)})"
    if isinstance(expr, ast.Conditional):
        return (f"({render(expr.condition)}) ? ({render(expr.then)}) : "
                f"({render(expr.otherwise)})")
    return f"{expr.function}({', '.join(render(a) for a in expr.args)})"


def render_statement(statement: ast.Assignment | ast.Memory | ast.RegionAlias) -> str:
    """A top-level statement as ld text (assignments, MEMORY, REGION_ALIAS)."""
    if isinstance(statement, ast.Assignment):
        text = f"{statement.target} {statement.op} {render(statement.expr)}"
        return f"{statement.provide}({text});" if statement.provide else f"{text};"
    if isinstance(statement, ast.RegionAlias):
        return f'REGION_ALIAS("{statement.alias}", {statement.region});'
    lines = ["MEMORY", "{"]
    for region in statement.regions:
        attributes = f" ({region.attributes})" if region.attributes is not None else ""
        lines.append(f"  {region.name}{attributes} : ORIGIN = {render(region.origin)}, "
                     f"LENGTH = {render(region.length)}")
    lines.append("}")
    return "\n".join(lines)
