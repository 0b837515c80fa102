"""Types of the C module setup.py builds from _recordinit.c (see placer.records)."""

from collections.abc import Callable
from typing import Any

MAX_FIELDS: int

def make_init(cls: type, names: tuple[str, ...], slots: tuple[Any, ...],
              defaults: tuple[Any, ...], positional: int, required: object,
              fallback: Callable[..., None], frozen: bool) -> Callable[..., None]: ...
def make_str_maker(cls: type[str], slots: tuple[Any, ...]) -> Callable[..., Any]: ...
