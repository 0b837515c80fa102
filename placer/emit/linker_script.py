"""The custom linker script: the board's base script with the heaps where the layout says.

The script is made by editing the parsed AST and printing it, never by pasting text:

- a heap placed `Placement.NOINIT` becomes an input section description inside the output
  section that collects ``.noinit`` (Zephyr's default spot, include/zephyr/linker/common-noinit.ld);
- `Placement.OUTPUT_SECTION` becomes its own ``(NOLOAD)`` output section at the layout's
  address in the layout's region, appended after every other output section so nothing
  the image places moves;
- `Placement.IN_RODATA` / `Placement.IN_DATA` (ARC Harvard, include/zephyr/arch/arc/v2/linker.ld)
become input section
  descriptions at the end of the output sections that collect ``.rodata`` and ``.data``,
  with a trailing ``*`` in the pattern because MWDT names them ``.llext_instr_heap.<n>``.

Every heap is bracketed by two symbols (``__placer_<name>_start``/``_end``) and the script
ends with ``ASSERT``s on them, for what must hold whatever the image: size, alignment,
region, no overlap with another heap; and the exact address only where the layout pins it
(`AddressSource.PINNED`). If a link breaks one (another heap size, an edited script, a
region too small), GNU ld itself refuses to link, with a message that names the heap and
the numbers placer expected; a measured or estimated address moving with the image is
what ``placer diff`` reports.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

from placer import records
from placer.errors import BoardError
from placer.layout import AddressSource, Layout, PlacedHeap, Placement
from placer.script import ast, parse_file, print_script

#: Where the heaps of each placement go, when they go inside an existing output section:
#: the input section pattern that identifies that output section.
_HOST_PATTERN = {
    Placement.NOINIT: ".noinit",
    Placement.IN_RODATA: ".rodata",
    Placement.IN_DATA: ".data",
}

#: Every LLEXT heap input section Zephyr defines (Zephyr's subsys/llext/llext_kheap.c and
#: llext_memblk.c).
HEAP_SECTIONS = frozenset({
    ".llext_heap", ".llext_ext_heap", ".llext_metadata_heap", ".llext_instr_heap",
    ".llext_data_heap",
})


def linker_script(layout: Layout, base: ast.Script | None = None) -> str:
    """The board's base script (or `base`, e.g. a parsed Zephyr ``linker.cmd``) with the
    layout's heap sections and the ``ASSERT``s that pin them, as GNU ld script text."""
    return print_script(edit_script(layout, base))


def edit_script(layout: Layout, base: ast.Script | None = None) -> ast.Script:
    """The edited AST behind `linker_script`."""
    script = base if base is not None else load_base_script(layout)
    script = _without_heap_patterns(script, HEAP_SECTIONS | {p.section for p in layout.heaps})
    appended: list[ast.OutputSection] = []
    # In address order: heaps that share an output section follow one another in it.
    for placed in sorted(layout.heaps, key=lambda h: (h.region, h.address)):
        host_name = _HOST_PATTERN.get(placed.placement)
        host = _host_section(script, host_name, placed.region) if host_name else None
        if host is None:
            if placed.placement is not Placement.NOINIT and host_name is not None:
                raise BoardError(
                    f"cannot place {placed.section} {placed.placement.value}: the linker "
                    f"script has no output section collecting {host_name} in region "
                    f"{placed.region}",
                    _script_file(layout, base),
                )
            appended.append(_output_section(placed))
            continue
        edited = records.evolve(host, commands=_with_heap(layout, host, placed))
        script = ast.replace(script, host, edited)
    if appended:
        script = _append_output_sections(script, tuple(appended))
    return ast.with_commands(script, (*script.commands, *heap_asserts(layout)))


def load_base_script(layout: Layout) -> ast.Script:
    """Parse the board's base linker script; `BoardError` when the board names none."""
    board = layout.target.board
    if board.base_script is None:
        raise BoardError(
            f"board {board.name} has no base linker script: pass one (e.g. Zephyr's "
            "linker.cmd) to emit a custom script"
        )
    return parse_file(board.base_script)


def heap_symbols(placed: PlacedHeap) -> tuple[str, str]:
    """The symbols the custom script defines at the start and the end of a heap."""
    stem = placed.section.lstrip(".").replace(".", "_")
    return f"__placer_{stem}_start", f"__placer_{stem}_end"


def heap_asserts(layout: Layout) -> tuple[ast.Assert, ...]:
    """``ASSERT``s that fail the link when a heap breaks what must hold: its size, its
    alignment, its region, and no overlap with another heap (in physical memory, through
    a region's alias); and its exact address only where the layout pins it
    (`AddressSource.PINNED`). A measured or estimated address follows the image (a bigger
    ``.bss`` moves it), so asserting it would refuse good links; ``placer diff`` reports
    such a move instead."""
    asserts: list[ast.Assert] = []
    for placed in layout.heaps:
        start, end = heap_symbols(placed)
        name = placed.section
        region = placed.region
        if placed.address_source is AddressSource.PINNED:
            asserts.append(ast.Assert(
                _eq(ast.Symbol(start), placed.address),
                f"placer: {name} moved: the layout pins it at 0x{placed.address:08x}",
            ))
        asserts += [
            ast.Assert(
                _eq(ast.BinaryOp("-", ast.Symbol(end), ast.Symbol(start)), placed.size),
                f"placer: {name} is not {placed.size} bytes as the layout says",
            ),
            ast.Assert(
                _eq(ast.BinaryOp("%", ast.Symbol(start), _number(placed.heap.align)), 0),
                f"placer: {name} is not aligned to {placed.heap.align} bytes",
            ),
            ast.Assert(
                ast.BinaryOp(
                    "&&",
                    ast.BinaryOp(">=", ast.Symbol(start), _call("ORIGIN", region)),
                    ast.BinaryOp(
                        "<=",
                        ast.Symbol(end),
                        ast.BinaryOp("+", _call("ORIGIN", region), _call("LENGTH", region)),
                    ),
                ),
                f"placer: {name} left region {region}",
            ),
        ]
    for first, second in itertools.combinations(layout.heaps, 2):
        offsets = physical_offsets(layout, first.region, second.region)
        if offsets is None:
            continue
        first_start, first_end = (_shifted(s, offsets[0]) for s in heap_symbols(first))
        second_start, second_end = (_shifted(s, offsets[1]) for s in heap_symbols(second))
        asserts.append(ast.Assert(
            ast.BinaryOp("||", ast.BinaryOp("<=", first_end, second_start),
                         ast.BinaryOp("<=", second_end, first_start)),
            f"placer: {first.section} and {second.section} overlap",
        ))
    return tuple(asserts)


def physical_offsets(layout: Layout, first: str, second: str) -> tuple[int, int] | None:
    """What to add to an address in region `first` and one in region `second` to compare
    them as the same physical memory (0, 0 for one region; a region's alias offset for
    two views of one SRAM); None when the two regions are different memory."""
    if first == second:
        return 0, 0
    board = layout.target.board
    a, b = board.region(first), board.region(second)
    if a.alias_of == second:
        return a.alias_offset, 0
    if b.alias_of == first:
        return 0, b.alias_offset
    return None


def alignment_commands(layout: Layout, placed: PlacedHeap) -> tuple[ast.Assignment, ...]:
    """What moves the location counter to where the heap's base must be when the solver
    wants more than the heap's own alignment (a power-of-two MPU: the base modulo the
    block size that serves the most extension regions), computed by ld from wherever the
    image really ends (``ALIGN``), never a fixed number of padding bytes."""
    modulus = next((u.base_alignment for u in layout.usable if u.section == placed.section),
                   placed.heap.align)
    if modulus <= placed.heap.align:
        return ()
    residue = placed.address % modulus
    if residue == 0:
        return (ast.Assignment(".", "=", _call_expr("ALIGN", _number(modulus))),)
    # ALIGN(exp, n) aligns exp as given: ABSOLUTE(.) makes it the address, not the offset
    # into the output section, so the base is the first address >= . that is residue
    # modulo `modulus`.
    shifted = ast.BinaryOp("-", _call_expr("ABSOLUTE", ast.Symbol(".")), _number(residue))
    return (ast.Assignment(".", "=", ast.BinaryOp(
        "+", ast.Call("ALIGN", (shifted, _number(modulus))), _number(residue))),)


def _shifted(symbol: str, offset: int) -> ast.Expr:
    return ast.BinaryOp("+", ast.Symbol(symbol), _number(offset)) if offset else ast.Symbol(symbol)


# --- editing -------------------------------------------------------------------------------


def _heap_commands(layout: Layout, placed: PlacedHeap) -> tuple[ast.OutputSectionCommand, ...]:
    start, end = heap_symbols(placed)
    pattern = placed.section
    if placed.placement in (Placement.IN_RODATA, Placement.IN_DATA):
        pattern += "*"  # MWDT's .llext_instr_heap.<n> (zephyr PR #108099)
    # The base the layout wants for the heap's allocations (when it wants more than the
    # heap's own alignment), then the heap's own alignment, which the input section would
    # apply anyway: aligning first puts the start symbol on the heap's first byte.
    return (
        *alignment_commands(layout, placed),
        ast.Assignment(".", "=", _call_expr("ALIGN", _number(placed.heap.align))),
        ast.Assignment(start, "=", ast.Symbol(".")),
        ast.InputSectionDescription(
            file=ast.Pattern("*"), sections=(ast.Pattern(pattern),), keep=True
        ),
        ast.Assignment(end, "=", ast.Symbol(".")),
    )


def _with_heap(layout: Layout, host: ast.OutputSection,
               placed: PlacedHeap) -> tuple[ast.OutputSectionCommand, ...]:
    # After the last input section description: the heap follows what the section already
    # collects (and after heaps inserted before it), the way Zephyr's noinit snippets do.
    commands = host.commands
    at = input_sections_end(commands)
    # A heap inserted before this one ends with its end symbol: keep it with its heap.
    while at < len(commands):
        command = commands[at]
        if not (isinstance(command, ast.Assignment) and command.target.startswith("__placer_")):
            break
        at += 1
    return (*commands[:at], *_heap_commands(layout, placed), *commands[at:])


def input_sections_end(commands: Sequence[ast.OutputSectionCommand]) -> int:
    """The index just past the last input section description of an output section body
    (past its last command when it has none): where Zephyr's snippets go."""
    return 1 + max(
        (i for i, c in enumerate(commands) if isinstance(c, ast.InputSectionDescription)),
        default=len(commands) - 1,
    )


def _output_section(placed: PlacedHeap) -> ast.OutputSection:
    start, end = heap_symbols(placed)
    return ast.OutputSection(
        name=placed.section,
        address=_number(placed.address),
        type="NOLOAD",
        commands=(
            ast.Assignment(start, "=", ast.Symbol(".")),
            ast.InputSectionDescription(
                file=ast.Pattern("*"), sections=(ast.Pattern(placed.section),), keep=True
            ),
            ast.Assignment(end, "=", ast.Symbol(".")),
        ),
        region=placed.region,
    )


def _append_output_sections(
    script: ast.Script, sections: tuple[ast.OutputSection, ...]
) -> ast.Script:
    # Last in the (last) SECTIONS block, but before /DISCARD/, which by convention ends it.
    blocks = [c for c in script.commands if isinstance(c, ast.Sections)]
    if not blocks:
        return ast.with_commands(script, (*script.commands, ast.Sections(sections)))
    block = blocks[-1]
    commands = block.commands
    at = len(commands)
    for index, command in enumerate(commands):
        if isinstance(command, ast.OutputSection) and command.name == "/DISCARD/":
            at = index
            break
    edited = ast.with_commands(block, (*commands[:at], *sections, *commands[at:]))
    return ast.replace(script, block, edited)


def _host_section(script: ast.Script, pattern: str, region: str) -> ast.OutputSection | None:
    # The output section whose input section descriptions name `pattern` exactly (the way
    # Zephyr's scripts write *(.noinit), *(.rodata), *(.data)), preferring one in `region`.
    candidates = [
        section for section in ast.iter_output_sections(script) if collects(section, pattern)
    ]
    for section in candidates:
        if section.region == region:
            return section
    return candidates[0] if candidates and candidates[0].region is None else None


def collects(section: ast.OutputSection, pattern: str) -> bool:
    """Whether an input section description of `section` names `pattern` exactly (sorted
    or not), the way Zephyr's scripts write ``*(.noinit)``."""
    return any(
        _plain(p).name == pattern
        for d in section.commands if isinstance(d, ast.InputSectionDescription)
        for p in d.sections or ()
    )


def _without_heap_patterns(script: ast.Script, heaps: frozenset[str]) -> ast.Script:
    # A base script that already collects a heap section (a Zephyr linker.cmd built without
    # LLEXT_CUSTOM_HEAP_PLACEMENT) would catch it before placer's own pattern does.
    for section in list(ast.iter_output_sections(script)):
        kept = tuple(
            c for c in section.commands
            if not (isinstance(c, ast.InputSectionDescription) and c.sections
                    and all(_plain(p).name.rstrip("*") in heaps for p in c.sections))
        )
        if kept != section.commands:
            script = ast.replace(script, section, records.evolve(section, commands=kept))
    return script


def _plain(pattern: ast.Pattern | ast.SortedPattern) -> ast.Pattern:
    return pattern.pattern if isinstance(pattern, ast.SortedPattern) else pattern


def _script_file(layout: Layout, base: ast.Script | None) -> str | None:
    if base is not None:
        return base.span.file if base.span is not None else None
    script = layout.target.board.base_script
    return script.name if script is not None else None


def _number(value: int) -> ast.Number:
    return ast.Number(value, f"0x{value:x}" if value >= 10 else str(value))


def _eq(left: ast.Expr, value: int) -> ast.BinaryOp:
    return ast.BinaryOp("==", left, _number(value))


def _call(function: str, name: str) -> ast.Call:
    return ast.Call(function, (ast.Symbol(name),))


def _call_expr(function: str, argument: ast.Expr) -> ast.Call:
    return ast.Call(function, (argument,))
