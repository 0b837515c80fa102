"""placer: place Zephyr LLEXT heaps in GNU linker scripts, and prove extensions fit.

The library surface a build system calls::

    import placer
    board  = placer.load_board("qemu_cortex_m3")
    config = placer.read_config("build/zephyr/.config")
    layout = placer.place(board, config)
    text   = placer.emit.linker_script(layout)
    report = placer.verify(layout, ["hello.llext"], exports="build/zephyr/zephyr.elf")

Every name below is importable from ``placer``: the functions, the values they take and
return (`Board`, `LlextConfig`, `Layout`, `Report`, ...) and every error a caller can
cause, all subclasses of `PlacerError`. Each loads on first use, so ``import placer``
costs nothing until a stage is needed (the emitters load the script grammar, `verify` the
ELF loader and the relocators).
"""

from __future__ import annotations

from placer._lazy import lazy_exports

# Read as true by the type checker only: `typing` would cost ``placer --help`` a tenth of
# its time, and ``import placer`` loads nothing else.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from placer import emit
    from placer.board import Arch, Board, MemoryRegion, UsedRange
    from placer.boardfile import DEFAULT_BOARD, list_boards, load_board, write_board
    from placer.config import HeapBackend, LlextConfig, read_config
    from placer.diff import LayoutDiff, diff_layouts
    from placer.emit.layout_json import read_layout
    from placer.errors import (
        ArgumentError,
        BoardError,
        ConfigError,
        ExtensionError,
        Infeasible,
        InputError,
        LayoutError,
        OutputError,
        PlacerError,
        ScriptError,
        ScriptWarning,
    )
    from placer.layout import Layout, PlacedHeap, Placement
    from placer.llext import Report, Storage, verify
    from placer.rules import ConfigReport, ConfigViolations, check_config, review_config
    from placer.solve import Order, Pin, place
    from placer.target import Target, resolve

__version__ = "0.1.0"

#: Public name -> the module that defines it (its one home). Nothing is imported until a
#: name is used: a subcommand of the CLI (and a caller that needs one stage) pays only for
#: the modules it uses, e.g. `placer.emit` loads the script parser and `placer.verify`
#: pyelftools.
_EXPORTS = {
    "Arch": "placer.board",
    "Board": "placer.board",
    "MemoryRegion": "placer.board",
    "UsedRange": "placer.board",
    "DEFAULT_BOARD": "placer._resources",
    "list_boards": "placer.boardfile",
    "load_board": "placer.boardfile",
    "write_board": "placer.boardfile",
    "HeapBackend": "placer.config",
    "LlextConfig": "placer.config",
    "read_config": "placer.config",
    "LayoutDiff": "placer.diff",
    "diff_layouts": "placer.diff",
    "read_layout": "placer.emit.layout_json",
    "ArgumentError": "placer.errors",
    "BoardError": "placer.errors",
    "ConfigError": "placer.errors",
    "ExtensionError": "placer.errors",
    "Infeasible": "placer.errors",
    "InputError": "placer.errors",
    "LayoutError": "placer.errors",
    "OutputError": "placer.errors",
    "PlacerError": "placer.errors",
    "ScriptError": "placer.errors",
    "ScriptWarning": "placer.errors",
    "Layout": "placer.layout",
    "PlacedHeap": "placer.layout",
    "Placement": "placer.layout",
    "Report": "placer.llext",
    "Storage": "placer.llext",
    "verify": "placer.llext",
    "ConfigReport": "placer.rules",
    "ConfigViolations": "placer.rules",
    "check_config": "placer.rules",
    "review_config": "placer.rules",
    "Order": "placer.solve",
    "Pin": "placer.solve",
    "place": "placer.solve",
    "Target": "placer.target",
    "resolve": "placer.target",
}


__getattr__ = lazy_exports(__name__, _EXPORTS, submodules=("emit",))


def __dir__() -> list[str]:
    return sorted(__all__)


__all__ = [
    "DEFAULT_BOARD",
    "Arch",
    "ArgumentError",
    "Board",
    "BoardError",
    "ConfigError",
    "ConfigReport",
    "ConfigViolations",
    "ExtensionError",
    "HeapBackend",
    "Infeasible",
    "InputError",
    "Layout",
    "LayoutDiff",
    "LayoutError",
    "LlextConfig",
    "MemoryRegion",
    "Order",
    "OutputError",
    "Pin",
    "PlacedHeap",
    "Placement",
    "PlacerError",
    "Report",
    "ScriptError",
    "ScriptWarning",
    "Storage",
    "Target",
    "UsedRange",
    "__version__",
    "check_config",
    "diff_layouts",
    "emit",
    "list_boards",
    "load_board",
    "place",
    "read_config",
    "read_layout",
    "resolve",
    "review_config",
    "verify",
    "write_board",
]
