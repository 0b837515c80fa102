"""Zephyr's LLEXT loader, simulated: read extension ELF files as ``llext_load`` does, load
them into the heaps of a layout, link them, and report whether and how they fit.

This package's own names are its exports; the work lives in its modules (`verifier` the
entry point, `loader` the step-by-step load, `relocate` the per-architecture relocations).
The exports load on first use, so importing a module of this package (`placer.llext.heap`
for the solver) does not load the ELF reader and every relocator.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from placer.llext.image import ImageFacts, PreloadedExtension, image_facts
    from placer.llext.loader import Storage
    from placer.llext.report import Report
    from placer.llext.verifier import extension_name, verify, with_dynamic_buffers

#: Export -> the module of this package that defines it.
_HOMES = {
    "ImageFacts": "image",
    "PreloadedExtension": "image",
    "Report": "report",
    "Storage": "loader",
    "extension_name": "verifier",
    "image_facts": "image",
    "verify": "verifier",
    "with_dynamic_buffers": "verifier",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'placer.llext' has no attribute {name!r}")
    return getattr(import_module(f"placer.llext.{home}"), name)


__all__ = ["ImageFacts", "PreloadedExtension", "Report", "Storage", "extension_name",
           "image_facts", "verify", "with_dynamic_buffers"]
