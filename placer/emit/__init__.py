"""Turn a `Layout` into the files a build consumes: one module per format.

========== ======================= ==============================================
kind       file(s)                 module
========== ======================= ==============================================
script     ``linker.ld``           `linker_script`: base script + heaps + ASSERTs
fragment   ``noinit.ld``,          `noinit_fragment`: Zephyr's noinit snippet, its
           ``noinit.cmake``,       CMake line and, when the board script lacks the
           ``linker-snippets.ld``  ``snippets-noinit.ld`` include, the script with it
kconfig    ``llext.conf``          `kconfig`: the options that build these heaps
json       ``layout.json``         `layout_json`: the versioned layout, for CI
svg        ``memory-map.svg``      `svg`: the memory map picture
profile    ``llext-profile.json``  `placer.profile`: what ``verify --profile``
                                   needs (only when the image facts are given)
========== ======================= ==============================================

`write_artifacts` writes them atomically: every file is produced in memory first, written
into a temporary folder beside the output folder, then moved into place with
``os.replace``. If anything fails before the moves (bad layout, unreadable base script,
full disk), the output folder is left exactly as it was; each file that is replaced is
replaced whole, never half-written.
"""

from __future__ import annotations

import sys
import types
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from placer._files import replace_files_atomically
from placer._lazy import lazy_exports
from placer.errors import ArgumentError, OutputError, PlacerError

if TYPE_CHECKING:
    from placer.emit import layout_json
    from placer.emit.kconfig import kconfig_fragment, needs_custom_script
    from placer.emit.linker_script import linker_script
    from placer.emit.noinit_fragment import Fragment, noinit_fragment
    from placer.emit.svg import render_svg
    from placer.layout import Layout
    from placer.llext.image import ImageFacts
    from placer.script import ast

#: Every artefact kind, in the order files are written and returned.
KINDS: tuple[str, ...] = ("script", "fragment", "kconfig", "json", "svg", "profile")

SCRIPT_FILE = "linker.ld"
FRAGMENT_FILE = "noinit.ld"
CMAKE_FILE = "noinit.cmake"
SNIPPETS_SCRIPT_FILE = "linker-snippets.ld"
KCONFIG_FILE = "llext.conf"
JSON_FILE = "layout.json"
SVG_FILE = "memory-map.svg"
PROFILE_FILE = "llext-profile.json"

#: Where each re-exported name lives: a module is imported when its name is first used, so
#: writing the JSON layout loads neither the script parser nor the SVG writer.
_EXPORTS = {
    "Fragment": "placer.emit.noinit_fragment",
    "kconfig_fragment": "placer.emit.kconfig",
    "needs_custom_script": "placer.emit.kconfig",
    "linker_script": "placer.emit.linker_script",
    "noinit_fragment": "placer.emit.noinit_fragment",
    "render_svg": "placer.emit.svg",
}


__getattr__ = lazy_exports(__name__, _EXPORTS, submodules=("layout_json",))


class _Package(types.ModuleType):
    """This package, keeping its function names when a same-named module is imported.

    `linker_script` and `noinit_fragment` are both functions exported here and modules of
    this package; importing a submodule binds its name on the package. The functions were
    imported eagerly so they won that race; imported on first use they must be protected
    from the binding instead (``placer.emit.linker_script(layout)`` stays a call).
    """

    def __setattr__(self, name: str, value: Any) -> None:
        if isinstance(value, types.ModuleType) and name in _EXPORTS:
            return
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package

__all__ = [
    "KINDS",
    "Fragment",
    "applicable_kinds",
    "kconfig_fragment",
    "layout_json",
    "linker_script",
    "needs_custom_script",
    "noinit_fragment",
    "render_artifacts",
    "render_svg",
    "write_artifacts",
    "write_files",
]


def applicable_kinds(layout: Layout) -> frozenset[str]:
    """The kinds written by default: a script when there are static heaps and a base
    script to put them in, a fragment when a heap sits in ``.noinit``, and always Kconfig,
    JSON and SVG (a dynamic heap needs no script: the application supplies the buffer)."""
    from placer.layout import Placement

    kinds = {"kconfig", "json", "svg"}
    if layout.heaps and layout.target.board.base_script is not None:
        kinds.add("script")
    if any(placed.placement is Placement.NOINIT for placed in layout.heaps):
        kinds.add("fragment")
    return frozenset(kinds)


def render_artifacts(
    layout: Layout, kinds: frozenset[str] | None = None, *, base: ast.Script | None = None,
    image: ImageFacts | None = None,
) -> dict[str, str]:
    """File name → text of every chosen artefact, in `KINDS` order, without touching disk.

    The profile needs `image` (the export table and metadata sizes of the built image).
    """
    chosen = applicable_kinds(layout) if kinds is None else kinds
    unknown = sorted(chosen - set(KINDS))
    if unknown:
        raise ArgumentError(
            "kinds", f"unknown artefact kind {', '.join(unknown)}: choose from {', '.join(KINDS)}"
        )
    # Each kind's writer is imported only when that kind is written.
    from placer.emit.kconfig import kconfig_fragment, needs_custom_script

    files: dict[str, str] = {}
    custom = SCRIPT_FILE if "script" in chosen and needs_custom_script(layout) else None
    if base is None and chosen & {"script", "fragment"} and layout.target.board.base_script:
        from placer.emit.linker_script import load_base_script

        base = load_base_script(layout)  # parsed once for both the script and the fragment
    if "script" in chosen:
        from placer.emit.linker_script import linker_script

        files[SCRIPT_FILE] = linker_script(layout, base)
    if "fragment" in chosen:
        from placer.emit.noinit_fragment import noinit_fragment

        fragment = noinit_fragment(layout, base)
        if not fragment.sections:
            raise ArgumentError(
                "kinds", "the noinit.ld fragment does not apply: no heap of this layout is "
                "placed in .noinit (Harvard, dynamic or output-section placement)"
            )
        files[FRAGMENT_FILE] = fragment.text
        files[CMAKE_FILE] = fragment.cmake_line + "\n"
        if fragment.script_with_include is not None:
            files[SNIPPETS_SCRIPT_FILE] = fragment.script_with_include
    if "kconfig" in chosen:
        files[KCONFIG_FILE] = kconfig_fragment(layout, custom_script=custom)
    if "json" in chosen:
        from placer.emit import layout_json

        files[JSON_FILE] = layout_json.dumps(layout)
    if "svg" in chosen:
        from placer.emit.svg import render_svg

        files[SVG_FILE] = render_svg(layout)
    if "profile" in chosen:
        if image is None:
            raise PlacerError("the profile needs the built image's export table: give "
                              "the image (placer place --elf zephyr.elf)")
        from placer import profile  # imports this package's layout_json: not at the top

        files[PROFILE_FILE] = profile.dumps(profile.make_profile(layout, image))
    return files


def write_artifacts(
    layout: Layout,
    out_dir: Path,
    kinds: frozenset[str] | None = None,
    *,
    base: ast.Script | None = None,
    image: ImageFacts | None = None,
) -> tuple[Path, ...]:
    """Write the chosen artefacts (default: `applicable_kinds`) into `out_dir` atomically
    (see the module docs) and return their paths in `KINDS` order."""
    return write_files(render_artifacts(layout, kinds, base=base, image=image), Path(out_dir))


def write_files(files: Mapping[str, str], out_dir: Path) -> tuple[Path, ...]:
    """Write `files` (name → text, from `render_artifacts`) into `out_dir` so that a
    failure changes nothing (`placer._files.replace_files_atomically`: every target checked
    first, all staged, renames undone on a failure)."""
    # A base script read with surrogateescape (a Latin-1 byte in a comment) carries its
    # bytes into the emitted script; they are written back unchanged, as format does.
    data = {name: text.encode("utf-8", "surrogateescape") for name, text in files.items()}
    try:
        return replace_files_atomically(out_dir, data)
    except OSError as exc:
        where = exc.filename or out_dir
        raise OutputError(f"cannot write: {exc.strerror} (nothing was changed)",
                          str(where)) from None
