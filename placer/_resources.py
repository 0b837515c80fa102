"""Where the shipped data (grammar, boards, Kconfig model) is, in a checkout or a wheel."""

from __future__ import annotations

from pathlib import Path

#: The board placer uses when none is named: TI LM3S6965 as QEMU emulates it. (Here, not
#: in `placer.boardfile`, so the command line's help text names it without loading the
#: board reader.)
DEFAULT_BOARD = "qemu_cortex_m3"

_PACKAGE = Path(__file__).resolve().parent
_CHECKOUT = _PACKAGE.parent


def data_dir(name: str) -> Path:
    """Return the folder of shipped data `name` ("grammar", "boards" or "kconfig").

    A checkout keeps the folders at its top level; an installed wheel carries them inside
    the package (``placer/grammar``, ``placer/boards``, ``placer/kconfig``).
    """
    installed = _PACKAGE / name
    if installed.is_dir():
        return installed
    return _CHECKOUT / name
