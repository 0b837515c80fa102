"""placer: place Zephyr LLEXT heaps in GNU linker scripts, and prove extensions fit.

The library surface a build system calls::

    import placer
    board  = placer.load_board("qemu_cortex_m3")
    config = placer.read_config("build/zephyr/.config")
    layout = placer.place(board, config)
    text   = placer.emit.linker_script(layout)
    report = placer.verify(layout, ["hello.llext"], exports="build/zephyr/zephyr.elf")
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from placer import emit
    from placer.boardfile import DEFAULT_BOARD, list_boards, load_board, write_board
    from placer.config import LlextConfig, read_config
    from placer.errors import (
        BoardError,
        ConfigError,
        ExtensionError,
        Infeasible,
        InputError,
        PlacerError,
        ScriptError,
    )
    from placer.llext import verify
    from placer.rules import check_config
    from placer.solve import Order, Pin, place

__version__ = "0.1.0"

#: Where each exported name lives. Nothing is imported until a name is used: a
#: subcommand of the CLI (and a caller that needs one stage) pays only for the modules it
#: uses, e.g. `placer.emit` loads the script parser and `placer.verify` pyelftools.
_EXPORTS = {
    "DEFAULT_BOARD": "placer._resources",
    "list_boards": "placer.boardfile",
    "load_board": "placer.boardfile",
    "write_board": "placer.boardfile",
    "LlextConfig": "placer.config",
    "check_config": "placer.rules",
    "read_config": "placer.config",
    "BoardError": "placer.errors",
    "ConfigError": "placer.errors",
    "ExtensionError": "placer.errors",
    "Infeasible": "placer.errors",
    "InputError": "placer.errors",
    "PlacerError": "placer.errors",
    "ScriptError": "placer.errors",
    "verify": "placer.llext",
    "Order": "placer.solve",
    "Pin": "placer.solve",
    "place": "placer.solve",
}


def __getattr__(name: str) -> Any:
    if name == "emit":
        return import_module("placer.emit")
    home = _EXPORTS.get(name)
    if home is None:
        raise AttributeError(f"module 'placer' has no attribute {name!r}")
    value = getattr(import_module(home), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)


__all__ = [
    "DEFAULT_BOARD",
    "BoardError",
    "ConfigError",
    "ExtensionError",
    "Infeasible",
    "InputError",
    "LlextConfig",
    "Order",
    "Pin",
    "PlacerError",
    "ScriptError",
    "__version__",
    "check_config",
    "emit",
    "list_boards",
    "load_board",
    "place",
    "read_config",
    "verify",
    "write_board",
]
