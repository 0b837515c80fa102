"""A board from a linker script: its MEMORY block, and where code and ``.noinit`` go."""

from __future__ import annotations

from pathlib import Path

from placer.board import Arch, Board, Bus, MemoryRegion
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
                      arch: Arch | None = None, cpu: str = "unknown") -> Board:
    """A board whose regions are the MEMORY block of the linker script at `path`.

    Attributes map from ld's flags: ``r``, ``w`` and ``x`` as given, and every region is
    readable unless ``!r`` denies it (Zephyr writes ``RAM (wx)``). A region without ``x``
    is reachable on the data bus only. The noinit region is the region of the ``.noinit``
    (or Zephyr's ``noinit``) output section, else the largest writable region; the flash
    region is the region of ``text`` when it is another one. `arch` defaults to what
    ``OUTPUT_FORMAT``/``OUTPUT_ARCH`` name.
    """
    path = Path(path)
    script = load_script(path)
    memory = evaluate_memory(script, target=target_for_script(script))
    regions: list[MemoryRegion] = []
    for region in memory:
        if region.name in _NOT_MEMORY:
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
