"""Where the shipped data files (grammar, boards) are, in a checkout or an installed wheel."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

_CHECKOUT = Path(__file__).resolve().parent.parent


def data_dir(name: str) -> Path:
    """Return the folder of shipped data `name` ("grammar" or "boards").

    A checkout keeps the folders at its top level; an installed wheel carries them as the
    packages ``placer.grammar`` and ``placer.boards``.
    """
    in_checkout = _CHECKOUT / name
    if in_checkout.is_dir() and (_CHECKOUT / "pyproject.toml").is_file():
        return in_checkout
    return Path(str(resources.files(f"placer.{name}")))
