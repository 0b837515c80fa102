"""The one guard around pyelftools: a damaged ELF file is an error naming the file and
what was being read, never a traceback.

pyelftools parses lazily and trusts the file: a damaged header, section or DWARF unit
surfaces as whatever its parsing code trips on (``AssertionError``, ``AttributeError`` on
a ``None``, ``zlib.error`` from a compressed section, ``struct.error``, ``KeyError``...),
at any later access. So every use of it, from opening the file to the last attribute
read, runs inside `elf_guard`, and the file is read once through `placer.inputs` (regular
files only, bounded), never streamed from a FIFO or a device.
"""

from __future__ import annotations

import io
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from placer.errors import PlacerError
from placer.inputs import ELF_LIMIT, read_input

if TYPE_CHECKING:
    from elftools.elf.elffile import ELFFile


@contextmanager
def elf_guard(reading: str, error: Callable[[str], PlacerError]) -> Iterator[None]:
    """Run the body, turning any exception pyelftools raises into ``error(message)``.

    `reading` says what was being read ("the export table", "the DWARF of struct llext");
    `error` builds the caller's error type (an `ExtensionError` or a `BoardError`) from
    the message, so the file is named the caller's way. placer's own errors pass through;
    so does `MemoryError`, which is no statement about the file.
    """
    try:
        yield
    except (PlacerError, MemoryError):
        raise
    except Exception as exc:  # pyelftools raises anything on damaged input: see above
        from elftools.common.exceptions import ELFError

        # pyelftools' own errors say what is wrong; anything else (an assert that held
        # for every file its authors met, a None where a string was) only says where
        # its code stopped, so its type is kept for a bug report.
        kind = type(exc)
        name = kind.__qualname__ if kind.__module__ == "builtins" else \
            f"{kind.__module__}.{kind.__qualname__}"
        detail = str(exc) if isinstance(exc, ELFError) else \
            f"{name} in pyelftools" + (f": {exc}" if str(exc) else "")
        raise error(f"damaged ELF file while reading {reading}: {detail}") from exc


def open_image(path: str | os.PathLike[str], reading: str,
               error: Callable[[str], PlacerError],
               refused: Callable[[str], PlacerError]) -> ELFFile:
    """`open_elf` of a built image inside ``elf_guard(reading, error)``, a file pyelftools
    refuses outright (no ELF magic, a bad class) raising ``refused(its message)``.

    A reader of the image takes the opened file (`placer.builddir.load_build` and
    `placer.llext.image.image_facts` each read several things from one ``zephyr.elf``), so
    each run reads and parses it once per stage rather than once per reader."""
    from elftools.common.exceptions import ELFError

    with elf_guard(reading, error):
        try:
            return open_elf(path, what="image")
        except ELFError as exc:
            raise refused(str(exc)) from exc


def open_elf(path: str | os.PathLike[str], *, what: str, limit: int = ELF_LIMIT) -> ELFFile:
    """pyelftools' `ELFFile` over the bytes of the file at `path`, read with
    `placer.inputs.read_input` (`what` names it in the `InputError` when it cannot be
    read). Call it, and use the result, inside `elf_guard`."""
    from elftools.elf.elffile import ELFFile

    return ELFFile(io.BytesIO(read_input(path, what=what, limit=limit)))
