"""A board from a linker script: its MEMORY block, and where code and ``.noinit`` go."""

from __future__ import annotations

from pathlib import Path

from placer import records
from placer.board import Arch, Board, Bus, MemoryRegion, UsedRange
from placer.boardfile import DEFAULT_MACHINE
from placer.errors import BoardError
from placer.script import ast
from placer.script.evaluate import evaluate_memory, target_for_script
from placer.script.includes import load_script

#: Zephyr's fake MEMORY region for build-time IDT data; stripped from the image.
_NOT_MEMORY = frozenset({"IDT_LIST"})
_NOINIT_SECTIONS = (".noinit", "noinit")
_TEXT_SECTIONS = ("text", ".text")

_ARCH_OF_FORMAT = (
    ("aarch64", Arch.ARM64), ("arm", Arch.ARM), ("riscv", Arch.RISCV), ("i386", Arch.X86),
    ("x86-64", Arch.X86), ("arc", Arch.ARC), ("xtensa", Arch.XTENSA),
)


def board_from_script(path: str | Path, *, name: str | None = None,
                      arch: Arch | None = None, cpu: str = "unknown",
                      script: ast.Script | None = None) -> Board:
    """A board whose regions are the MEMORY block of the linker script at `path`.

    Attributes map from ld's flags: ``r``, ``w`` and ``x`` as given, and every region is
    readable unless ``!r`` denies it (Zephyr writes ``RAM (wx)``). A region without ``x``
    is reachable on the data bus only. The noinit region is the region of the ``.noinit``
    (or Zephyr's ``noinit``) output section, else the largest writable region; the flash
    region is the region of ``text`` when it is another one. `arch` defaults to what
    ``OUTPUT_FORMAT``/``OUTPUT_ARCH`` name. `script` is the file at `path` already read
    (e.g. preprocessed with a build's Kconfig values).
    """
    path = Path(path)
    if script is None:
        script = load_script(path)
    memory = evaluate_memory(script, target=target_for_script(script))
    regions: list[MemoryRegion] = []
    for region in memory:
        if region.name in _NOT_MEMORY or not region.declared:
            continue
        if not isinstance(region.origin, int) or not isinstance(region.length, int):
            raise BoardError(f"region {region.name}: origin or length depends on the link "
                             "and cannot be evaluated", str(path))
        letters = set(region.allowed & {"r", "w", "x"})
        if "r" not in region.denied:
            letters.add("r")
        bus = Bus.BOTH if "x" in letters else Bus.DATA
        regions.append(MemoryRegion(
            name=region.name, origin=region.origin, length=region.length,
            attributes=frozenset(letters), bus=bus, writable_at_load="w" in letters))
    if not regions:
        raise BoardError("the script has no MEMORY regions", str(path))
    names = {r.name for r in regions}
    noinit = _section_region(script, _NOINIT_SECTIONS, names)
    if noinit is None:
        writable = [r for r in regions if r.writable]
        if not writable:
            raise BoardError("no writable MEMORY region to hold .noinit", str(path))
        noinit = max(writable, key=lambda r: (r.length, r.name)).name
    code = _section_region(script, _TEXT_SECTIONS, names)
    found_arch = arch or _arch_of(script)
    if found_arch is None:
        raise BoardError("the script names no OUTPUT_FORMAT/OUTPUT_ARCH this importer knows; "
                         "give the architecture", str(path))
    return Board(
        name=name or path.stem, arch=found_arch, cpu=cpu, regions=tuple(regions),
        noinit_region=noinit, elf_class=64 if found_arch is Arch.ARM64 else 32,
        machine=DEFAULT_MACHINE[found_arch], base_script=path.resolve(),
        flash_region=code if code is not None and code != noinit else None,
        xip=code is not None and code != noinit,
        description=f"imported from {path.name}",
    )


def _section_region(script: ast.Script, names: tuple[str, ...],
                    regions: set[str]) -> str | None:
    for section in ast.iter_output_sections(script):
        if section.name in names and section.region in regions:
            return section.region
    return None


def _arch_of(script: ast.Script) -> Arch | None:
    for statement in ast.iter_statements(script):
        if isinstance(statement, ast.Command) and statement.name in ("OUTPUT_FORMAT",
                                                                     "OUTPUT_ARCH"):
            for argument in statement.args:
                lowered = str(argument).lower()
                for marker, arch in _ARCH_OF_FORMAT:
                    if marker in lowered:
                        return arch
    return None


def board_on_script(board: Board, script_board: Board, *, strict: bool = True) -> Board:
    """`board` with the regions of a linker script (`script_board`, from
    `board_from_script`) in place of its own: the link uses the script's MEMORY, so heaps
    go in the script's regions, by the script's names, with the script's lengths.

    Each script region keeps the hardware facts (bus, attributes, load-time writability,
    alias) of the `board` region that holds it. With `strict`, a script region that no
    board region holds is a `BoardError` naming both files; without it only the region
    that holds ``.noinit`` must be held (a devicetree names only some memories). The
    board's used ranges move to the script region that holds them.
    """
    script_file = _file_name(script_board.base_script)
    board_file = _file_name(board.source) or f"board {board.name}"
    regions: list[MemoryRegion] = []
    for region in script_board.regions:
        holder = _holder(board, region)
        same_name = next((r for r in board.regions if r.name == region.name), None)
        if same_name is not None and holder is not same_name:
            raise BoardError(
                f"region {region.name} {_span(region)} disagrees with {board_file}'s "
                f"{same_name.name} {_span(same_name)}", script_file)
        if holder is None:
            if strict or region.name == script_board.noinit_region:
                raise BoardError(
                    f"region {region.name} {_span(region)} lies in no memory of "
                    f"{board_file} ({', '.join(f'{r.name} {_span(r)}' for r in board.regions)})"
                    ": the script and the board describe different hardware", script_file)
            regions.append(region)
            continue
        regions.append(records.evolve(
            region, attributes=holder.attributes if holder.attributes else region.attributes,
            bus=holder.bus, writable_at_load=holder.writable_at_load,
            retained=holder.retained, volatile=holder.volatile))
    regions = [_aliased(board, region, regions) for region in regions]
    names = {r.name for r in regions}
    used = tuple(moved for u in board.used if (moved := _moved(u, board, regions)) is not None)
    return records.evolve(
        board, regions=tuple(regions), noinit_region=script_board.noinit_region,
        flash_region=script_board.flash_region, xip=script_board.xip,
        base_script=script_board.base_script, used=used,
        preferred_regions=tuple(_renamed(board, n, regions) for n in board.preferred_regions
                                if _renamed(board, n, regions) in names),
        forbidden_regions=tuple(_renamed(board, n, regions) for n in board.forbidden_regions
                                if _renamed(board, n, regions) in names))


def _holder(board: Board, region: MemoryRegion) -> MemoryRegion | None:
    for candidate in board.regions:
        if candidate.contains(region.origin, region.length):
            return candidate
    return None


def _aliased(board: Board, region: MemoryRegion, regions: list[MemoryRegion]) -> MemoryRegion:
    # The board's alias (ESP32-S3 IRAM -> DRAM) carried over to the script region that
    # holds the aliased addresses.
    holder = _holder(board, region)
    if holder is None or holder.alias_of is None:
        return region
    target = region.origin + holder.alias_offset
    for other in regions:
        if other.name != region.name and other.contains(target):
            return records.evolve(region, alias_of=other.name, alias_offset=holder.alias_offset)
    return records.evolve(region, alias_of=None, alias_offset=0)


def _moved(used: UsedRange, board: Board, regions: list[MemoryRegion]) -> UsedRange | None:
    for region in regions:
        start = max(used.start, region.origin)
        end = min(used.end, region.end)
        if start < end:
            return UsedRange(region.name, start, end - start, used.what)
    return None


def _renamed(board: Board, name: str, regions: list[MemoryRegion]) -> str:
    try:
        old = board.region(name)
    except KeyError:
        return name
    for region in regions:
        if old.contains(region.origin, region.length):
            return region.name
    return name


def _span(region: MemoryRegion) -> str:
    return f"[{region.origin:#x}, {region.end:#x})"


def _file_name(path: Path | None) -> str | None:
    return str(path) if path is not None else None
