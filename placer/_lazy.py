"""Package exports imported on first use (PEP 562), so importing a package costs nothing
for the names a caller does not touch: ``placer --help`` loads no stage, ``placer check``
no solver (issue 10's start-up budget; tests/test_imports.py pins it)."""

from __future__ import annotations

import sys
from collections.abc import Callable, Collection, Mapping
from importlib import import_module

# Read as true by the type checker only: `typing` would cost ``placer --help`` (which
# imports this module) a tenth of its time.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


def lazy_exports(package: str, exports: Mapping[str, str],
                 submodules: Collection[str] = ()) -> Callable[[str], Any]:
    """A module ``__getattr__`` for `package`: each name of `exports` is imported from the
    module it maps to when first read (then kept in the package's namespace), each of
    `submodules` is imported as ``package.name``."""
    namespace = sys.modules[package].__dict__

    def __getattr__(name: str) -> Any:
        if name in submodules:
            return import_module(f"{package}.{name}")
        home = exports.get(name)
        if home is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(import_module(home), name)
        namespace[name] = value
        return value

    return __getattr__
