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

from placer.boardfile import DEFAULT_BOARD, list_boards, load_board, write_board
from placer.config import LlextConfig, check_config, read_config
from placer.errors import (
    BoardError,
    ConfigError,
    ExtensionError,
    Infeasible,
    InputError,
    PlacerError,
    ScriptError,
)
from placer.solve import Order, Pin, place

if TYPE_CHECKING:
    from placer.llext import verify

__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    # `placer.emit` loads the script grammar and `placer.verify` the ELF loader (pyelftools,
    # the relocators): about 0.1 s each, so `import placer` to place heaps pays for neither.
    if name == "emit":
        return import_module("placer.emit")
    if name == "verify":
        return import_module("placer.llext").verify
    raise AttributeError(f"module 'placer' has no attribute {name!r}")

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
