"""What a Zephyr build directory holds, found the way Zephyr 2.x to 4.x and nRF Connect SDK
builds lay it out.

`read_build_dir` finds, in the application's build folder (``build/``, or under sysbuild
``build/<app>/`` as ``domains.yaml`` names the default image):

========================  ==========================================================
what                      where (first that exists)
========================  ==========================================================
Kconfig                   ``zephyr/.config``
devicetree                ``zephyr/zephyr.dts``; before Zephyr 2.3
                          ``zephyr/<board>.dts_compiled``
final linker script       ``zephyr/linker_pass_final.cmd`` (Zephyr 2.x up to 2.4, where
                          ``linker.cmd`` is the first pass); ``zephyr/linker.cmd``
image                     ``zephyr/zephyr.elf`` (optional)
map                       ``zephyr/zephyr.map`` (optional)
Zephyr version            ``zephyr/include/generated/zephyr/version.h`` (Zephyr 3.4+),
                          ``zephyr/include/generated/version.h``, and
                          ``CMakeCache.txt``'s ``CMAKE_PROJECT_VERSION`` (Zephyr's
                          ``project(Zephyr VERSION ...)``)
board                     ``CMakeCache.txt``'s ``BOARD`` (``CACHED_BOARD``) and the
                          ``.config``'s ``CONFIG_BOARD``
========================  ==========================================================

A required file that is missing, or two files that disagree (the version in ``version.h``
and in ``CMakeCache.txt``, the board in ``CMakeCache.txt`` and in ``.config``), is a
`BuildDirError` naming the file(s). `BuildDir.sources` says which file gave what, for the
command line to print.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

from placer import records
from placer.board import Board

if TYPE_CHECKING:
    from elftools.elf.elffile import ELFFile

    from placer.script import ast
from placer.errors import ConfigError, InputError, PlacerError
from placer.inputs import read_input_text
from placer.versions import LINKER_PASS_FINAL_UNTIL, ZephyrVersion, parse_zephyr_version

#: ``version.h``'s defines (Zephyr's ``version.h.in``), by the version part they give.
_VERSION_DEFINES = (("KERNEL_VERSION_MAJOR", 0), ("KERNEL_VERSION_MINOR", 1),
                    ("KERNEL_PATCHLEVEL", 2))
_DEFINE = re.compile(r"^\s*#\s*define\s+(\w+)\s+(\S+)", re.MULTILINE)
_CACHE_ENTRY = re.compile(r"^(?P<name>[A-Za-z_][\w.-]*):(?P<type>\w+)=(?P<value>.*)$",
                          re.MULTILINE)
_DEFAULT_DOMAIN = re.compile(r"^default:\s*(?P<name>\S+)\s*$", re.MULTILINE)
_CONFIG_BOARD = re.compile(r'^CONFIG_BOARD="(?P<name>[^"]*)"\s*$', re.MULTILINE)


class BuildDirError(PlacerError):
    """A build directory that lacks a file placer needs, or whose files disagree."""

    def __init__(self, message: str, file: Path | str) -> None:
        self.message = message
        self.file = str(file)
        super().__init__(message, where=self.file)


@records.frozen
class Source:
    """One fact and the file it came from (`detail` says what the file gave)."""

    what: str
    file: Path
    detail: str


@records.frozen
class BuildDir:
    """The files of one Zephyr application build, and the facts read from them.

    `path` is the application's build folder (``build`` or, under sysbuild,
    ``build/<app>``), `root` the folder the user named; `version` is Zephyr's release
    (patch level 99 for a development tree); `board` the board target the build was configured for
    (``nrf54l15dk/nrf54l15/cpuapp``), None when no file names it. `elf` and `map_file` are
    None when the build has not linked.
    """

    path: Path
    root: Path
    config: Path
    devicetree: Path
    linker_script: Path
    elf: Path | None
    map_file: Path | None
    version: ZephyrVersion
    board: str | None
    sources: tuple[Source, ...]

    @property
    def version_text(self) -> str:
        """The version as Zephyr writes it: ``3.7.0``."""
        return _dotted(self.version)

    def describe(self) -> str:
        """Which file gave what, one line per file, for the command line."""
        rows = [(s.what, str(s.file), s.detail) for s in self.sources]
        width_what = max(len(r[0]) for r in rows)
        width_file = max(len(r[1]) for r in rows)
        lines = [f"build directory {self.root}: Zephyr {self.version_text}"
                 + (f", board {self.board}" if self.board else "")]
        for what, file, detail in rows:
            lines.append(f"  {what.ljust(width_what)}  {file.ljust(width_file)}  {detail}"
                         .rstrip())
        return "\n".join(lines) + "\n"


def read_build_dir(path: str | Path) -> BuildDir:
    """The build directory at `path` (a ``west build`` folder, or one application's folder
    of a sysbuild build); raises `BuildDirError` naming the file that is missing or that
    contradicts another."""
    root = Path(path)
    if not root.is_dir():
        raise BuildDirError("no such build directory (run `west build` first, or give "
                            "--build-dir)", root)
    app = _application_dir(root)
    zephyr = app / "zephyr"
    config = zephyr / ".config"
    if not config.is_file():
        raise BuildDirError("missing: not a Zephyr build directory (no Kconfig output)",
                            config)
    config_text = _read_text(config)
    cache = app / "CMakeCache.txt"
    cache_entries = _cache_entries(cache) if cache.is_file() else {}
    sources: list[Source] = []
    if app != root:
        sources.append(Source("application", root / "domains.yaml",
                               f"sysbuild default image {app.name}"))
    sources.append(Source("configuration", config, "Kconfig values"))
    board = _board(config, config_text, cache, cache_entries, sources)
    version = _version(zephyr, cache, cache_entries, sources)
    devicetree = _devicetree(zephyr, board)
    sources.append(Source("devicetree", devicetree, "memory nodes, CPU, MPU"))
    # Up to Zephyr 2.4 the final link used linker_pass_final.cmd and linker.cmd was the
    # first pass; a later build in the same folder may leave a stale one behind.
    names = ("linker_pass_final.cmd", "linker.cmd") if version < LINKER_PASS_FINAL_UNTIL \
        else ("linker.cmd",)
    script = _first_file(zephyr, names, "final linker script")
    sources.append(Source("linker script", script, "MEMORY regions, output sections"))
    elf = zephyr / "zephyr.elf"
    map_file = zephyr / "zephyr.map"
    found_elf = elf if elf.is_file() else None
    found_map = map_file if map_file.is_file() else None
    if found_elf is not None:
        sources.append(Source("image", found_elf, "used memory, existing heaps"))
    if found_map is not None:
        sources.append(Source("map", found_map, "used memory" if found_elf is None
                              else "cross-check of the image"))
    return BuildDir(path=app, root=root, config=config, devicetree=devicetree, linker_script=script,
                    elf=found_elf, map_file=found_map, version=version, board=board,
                    sources=tuple(sources))


def _application_dir(root: Path) -> Path:
    # Sysbuild (Zephyr 3.5+, nRF Connect SDK 2.7+) writes domains.yaml and builds each image
    # in a folder of its own; its own zephyr/.config holds SB_CONFIG_ values only.
    domains = root / "domains.yaml"
    if not domains.is_file():
        return root
    match = _DEFAULT_DOMAIN.search(_read_text(domains))
    if match is None:
        raise BuildDirError("no 'default:' image in the sysbuild domains file", domains)
    app = root / match["name"]
    if not app.is_dir():
        raise BuildDirError(f"the default image {match['name']} has no build folder "
                            f"{app}", domains)
    return app


def _board(config: Path, config_text: str, cache: Path, entries: dict[str, str],
           sources: list[Source]) -> str | None:
    from_cache = entries.get("BOARD") or entries.get("CACHED_BOARD")
    match = _CONFIG_BOARD.search(config_text)
    from_config = match["name"] if match else None
    # CONFIG_BOARD is the board's name alone; BOARD adds the qualifiers
    # (nrf54l15dk/nrf54l15/cpuapp) and, before Zephyr 3.7, nothing.
    if from_cache and from_config and from_cache.split("/")[0].split("@")[0] != from_config:
        raise BuildDirError(f"CONFIG_BOARD is {from_config!r} but {cache} was configured "
                            f"for BOARD {from_cache!r}: the build directory mixes two "
                            "builds (run `west build -p`)", config)
    if from_cache:
        sources.append(Source("board", cache, f"BOARD {from_cache}"))
        return from_cache
    return from_config


def _version(zephyr: Path, cache: Path, entries: dict[str, str],
             sources: list[Source]) -> ZephyrVersion:
    header = None
    for candidate in (zephyr / "include/generated/zephyr/version.h",
                      zephyr / "include/generated/version.h"):
        if candidate.is_file():
            header = candidate
            break
    from_header = _version_from_header(header) if header is not None else None
    cached = entries.get("CMAKE_PROJECT_VERSION")
    from_cache = _version_from_text(cached, cache) if cached else None
    if from_header is not None and from_cache is not None and from_header != from_cache:
        raise BuildDirError(f"Zephyr {_dotted(from_header)} here but {_dotted(from_cache)} in "
                            f"{cache} (CMAKE_PROJECT_VERSION): the build directory mixes two "
                            "builds (run `west build -p`)", header or cache)
    if header is not None and from_header is not None:
        sources.append(Source("version", header, f"Zephyr {_dotted(from_header)}"))
        return from_header
    if from_cache is not None:
        sources.append(Source("version", cache, f"Zephyr {_dotted(from_cache)} "
                              "(CMAKE_PROJECT_VERSION)"))
        return from_cache
    raise BuildDirError("missing: no include/generated/zephyr/version.h, "
                        "include/generated/version.h or CMakeCache.txt version: cannot tell "
                        "the Zephyr version", zephyr / "include/generated/zephyr/version.h")


def _version_from_header(header: Path) -> ZephyrVersion:
    defines = dict(_DEFINE.findall(_read_text(header)))
    parts = [0, 0, 0]
    for name, index in _VERSION_DEFINES:
        value = defines.get(name)
        if value is None or not value.isdigit():
            raise BuildDirError(f"no numeric {name} define: not a Zephyr version.h", header)
        parts[index] = int(value)
    return ZephyrVersion(*parts)


def _version_from_text(text: str, file: Path) -> ZephyrVersion:
    try:
        return parse_zephyr_version(text, option="CMAKE_PROJECT_VERSION")
    except ConfigError as exc:
        raise BuildDirError(exc.rule, file) from None


def _devicetree(zephyr: Path, board: str | None) -> Path:
    flattened = zephyr / "zephyr.dts"
    if flattened.is_file():
        return flattened
    # Before Zephyr 2.3 the build wrote <board>.dts_compiled.
    compiled = sorted(zephyr.glob("*.dts_compiled"))
    if board is not None:
        named = zephyr / f"{board.split('/')[0]}.dts_compiled"
        if named.is_file():
            return named
    if len(compiled) == 1:
        return compiled[0]
    if compiled:
        raise BuildDirError("several *.dts_compiled files and no board to choose one: "
                            + ", ".join(p.name for p in compiled), zephyr)
    raise BuildDirError("missing: no devicetree (zephyr.dts, or <board>.dts_compiled before "
                        "Zephyr 2.3)", flattened)


def _first_file(folder: Path, names: tuple[str, ...], what: str) -> Path:
    for name in names:
        candidate = folder / name
        if candidate.is_file():
            return candidate
    raise BuildDirError(f"missing: no {what} ({' or '.join(names)}): has the build "
                        "reached the link?", folder / names[-1])


def _cache_entries(cache: Path) -> dict[str, str]:
    return {m["name"]: m["value"].strip() for m in _CACHE_ENTRY.finditer(_read_text(cache))}


def _read_text(path: Path) -> str:
    try:
        return read_input_text(path, what="build file", errors="surrogateescape")
    except InputError as exc:
        raise BuildDirError(f"cannot read: {exc.reason}", path) from None


def _dotted(version: ZephyrVersion) -> str:
    # All three parts, as version.h's KERNEL_VERSION_STRING spells them.
    return f"{version.major}.{version.minor}.{version.patch}"


@records.frozen
class BuildTarget:
    """What a build links for (`load_build`): the board, the parsed final linker script
    the emitted script starts from, and notes on how the image's use was read."""

    board: Board
    script: ast.Script
    notes: tuple[str, ...] = ()


def board_for_build(build: BuildDir, board: Board | None = None) -> Board:
    """The board of `load_build` alone."""
    return load_build(build, board).board


def load_build(build: BuildDir, board: Board | None = None) -> BuildTarget:
    """The board a build links for: the regions of its final linker script, cross-checked
    with `board` when one is given (strictly: every region must lie in the board's memory)
    and with the devicetree (the region of ``.noinit`` must lie in a memory node); CPU and
    memory-protection facts from `board`, else from the devicetree; what is used from the
    image (``zephyr.elf``, else ``zephyr.map``), else the board model's estimate.

    An image heap that is an orphan output section (the script has no pattern for it) is
    read as it will be once placer's script puts it in ``.noinit``: the sections after it
    close the gap. That is a prediction, so the used ranges then count as an estimate.

    Raises `BoardError` naming the files when the script and a board or the devicetree
    disagree, and when nothing says what the image uses.
    """
    from placer.importers.dts import board_from_dts
    from placer.importers.script import board_from_script, board_on_script
    from placer.script import ast
    from placer.script.includes import load_script

    tree = records.evolve(board_from_dts(build.devicetree,
                                       name=(build.board or "build").split("/")[0]),
                        source=build.devicetree)
    base = board if board is not None else tree
    # linker.cmd is the preprocessor's output already: parse it as it is.
    parsed = load_script(build.linker_script, preprocess=False)
    script = board_from_script(build.linker_script, arch=base.arch, script=parsed)
    on_script = board_on_script(base, script, strict=board is not None)
    if board is not None:
        board_on_script(tree, script, strict=False)  # the devicetree must agree too
    if build.elf is not None:
        from placer.importers.elf import HEAP_SYMBOLS, open_for_image, read_elf_image

        named = {section.name for section in ast.iter_output_sections(parsed)}
        elf = open_for_image(build.elf)  # read and parsed once for both
        image = read_elf_image(build.elf, on_script,
                               orphans=frozenset(HEAP_SYMBOLS) - named, elf=elf)
        if build.map_file is not None:
            _cross_check_map(build.map_file, build.elf, elf)
        notes = tuple(
            f"{build.elf}: {name} is an orphan output section ({build.linker_script.name} "
            "has no pattern for it): read as ld will lay the image out once the heap is in "
            ".noinit, so the heap addresses are estimates until the image is relinked"
            for name in image.orphans)
        return BuildTarget(records.evolve(on_script, used=image.used, image=None,
                                        used_measured=not image.orphans), parsed, notes)
    if build.map_file is not None:
        from placer.importers.mapfile import map_used_ranges

        return BuildTarget(records.evolve(on_script,
                                        used=map_used_ranges(build.map_file, on_script),
                                        image=None, used_measured=True), parsed)
    if board is None or not board.used:
        raise BuildDirError("missing: no zephyr.elf or zephyr.map, so nothing says what the "
                            "image uses (finish the build, or give --board for an estimate)",
                            build.path / "zephyr" / "zephyr.elf")
    return BuildTarget(on_script, parsed)


def _cross_check_map(map_file: Path, elf: Path, opened: ELFFile) -> None:
    # A map left from an earlier link describes another image: refuse rather than guess.
    from placer.elfguard import elf_guard
    from placer.importers.mapfile import read_map_sections

    try:
        with elf_guard("its sections", lambda message: BuildDirError(message, elf)):
            sections = {s.name: (s["sh_addr"], s["sh_size"]) for s in opened.iter_sections()}
    except PlacerError:
        return  # the ELF importer has read it already and reports a broken file
    for section in read_map_sections(map_file):
        found = sections.get(section.name)
        if found is not None and found != (section.address, section.size):
            raise BuildDirError(
                f"{section.name} is at {section.address:#x}, {section.size} bytes here but at "
                f"{found[0]:#x}, {found[1]} bytes in {elf}: the map and the image come from "
                "different links (rebuild)", map_file)
