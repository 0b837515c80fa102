"""The one way placer reads an input file: bounded, regular files only, never blocking.

Every reader of a user's file (linker scripts and what they ``INCLUDE`` or ``#include``,
``.config`` fragments, board files, devicetrees, layout JSON, export lists, extension and
image ELFs) goes through `read_input` (bytes) or `read_input_text` (str), or, where a
library opens the file itself (dtlib, pyelftools on a large image, a toolchain's ``cpp``),
checks it first with `check_input`. So ``/dev/zero``, a FIFO, a folder or a 10 GB file is
refused with one clear `InputError` instead of reading until memory runs out or blocking
forever.

Usage, for a new reader::

    from placer.inputs import read_input, read_input_text
    data = read_input(path, what="extension")                  # bytes, ELF_LIMIT
    text = read_input_text(path, what="configuration file")    # str, strict UTF-8

`what` names the kind of file in the user's words ("board file", "linker script"); it
appears in the message: ``prj.conf: error: cannot read the configuration file: it is a
FIFO, not a regular file``. `limit` is the largest size accepted in bytes; the environment
variable ``PLACER_INPUT_LIMIT`` (bytes, or with a ``K``/``M``/``G`` suffix) replaces every
limit, for a real input larger than the defaults.
"""

from __future__ import annotations

import errno
import os
import stat
from typing import Literal

from placer.errors import InputError, PlacerError

#: Largest text input accepted by default. Zephyr's generated ``linker.cmd``, ``zephyr.dts``
#: and ``.config`` are well under this (tens to a few hundred KiB; an estimate from builds
#: of common boards, not a measured maximum). The parser and the preprocessor hold a few
#: hundred bytes per input byte (measured: about 400 for a long expression, 500 through
#: pcpp), so 1 MiB keeps one input under half a GiB; the sum of the files one script
#: ``#include``s or ``INCLUDE``s is held to the same limit.
TEXT_LIMIT = 1024 * 1024

#: Largest ELF input accepted by default. A ``zephyr.elf`` with DWARF for a large
#: application reaches tens of MiB; extensions are far smaller.
ELF_LIMIT = 512 * 1024 * 1024

#: The environment variable that replaces every limit (see the module docstring).
LIMIT_VARIABLE = "PLACER_INPUT_LIMIT"

_KINDS = (
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISFIFO, "a FIFO"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


def effective_limit(limit: int) -> int:
    """`limit`, or the value of ``PLACER_INPUT_LIMIT`` when that is set."""
    text = os.environ.get(LIMIT_VARIABLE, "").strip()
    if not text:
        return limit
    scale = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}.get(text[-1:].upper(), 1)
    digits = text[:-1] if scale != 1 else text
    if not digits.isdigit():
        raise PlacerError(f"{LIMIT_VARIABLE}={text!r} is not a size in bytes "
                          "(digits, optionally followed by K, M or G)")
    return int(digits) * scale


def _display(path: str | os.PathLike[str]) -> str:
    return os.fsdecode(os.fspath(path))


def _kind_refusal(mode: int) -> str | None:
    for test, kind in _KINDS:
        if test(mode):
            return f"it is {kind}, not a regular file"
    return None if stat.S_ISREG(mode) else "it is not a regular file"


def _too_large(size: int, limit: int, what: str) -> str:
    return (f"it is {size} bytes, larger than the {limit} bytes placer reads for a {what} "
            f"(set {LIMIT_VARIABLE} to raise the limit)")


def _os_reason(exc: OSError) -> str:
    if exc.errno == errno.EISDIR:
        return "it is a directory, not a regular file"
    return exc.strerror or str(exc)


def check_input(path: str | os.PathLike[str], *, what: str, limit: int = TEXT_LIMIT) -> int:
    """The size of the regular file at `path`, for a library that opens the file itself;
    `InputError` when it is missing, not a regular file, or larger than `limit`.

    Prefer `read_input`: a check followed by another open can race with a file replaced
    between the two, which only matters for a hostile local user.
    """
    try:
        info = os.stat(path)
    except (OSError, ValueError) as exc:
        reason = _os_reason(exc) if isinstance(exc, OSError) else str(exc)
        raise InputError(_display(path), what, reason) from None
    refusal = _kind_refusal(info.st_mode)
    if refusal is not None:
        raise InputError(_display(path), what, refusal)
    limit = effective_limit(limit)
    if info.st_size > limit:
        raise InputError(_display(path), what, _too_large(info.st_size, limit, what))
    return info.st_size


def read_input(path: str | os.PathLike[str], *, what: str, limit: int = TEXT_LIMIT) -> bytes:
    """The bytes of the regular file at `path`, at most `limit` of them.

    The file is opened without blocking (a FIFO has no writer to wait for), checked to be a
    regular file, and read to at most `limit` + 1 bytes (a file that grows while read is
    refused too). Raises `InputError` naming the file, `what` it is and why.
    """
    name = _display(path)
    try:
        handle = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except (OSError, ValueError) as exc:
        reason = _os_reason(exc) if isinstance(exc, OSError) else str(exc)
        raise InputError(name, what, reason) from None
    try:
        info = os.fstat(handle)
        refusal = _kind_refusal(info.st_mode)
        if refusal is not None:
            raise InputError(name, what, refusal)
        limit = effective_limit(limit)
        if info.st_size > limit:
            raise InputError(name, what, _too_large(info.st_size, limit, what))
        chunks: list[bytes] = []
        total = 0
        while True:
            chunk = os.read(handle, min(1 << 20, limit + 1 - total))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
            if total > limit:
                raise InputError(name, what, _too_large(total, limit, what))
        return b"".join(chunks)
    except OSError as exc:
        raise InputError(name, what, _os_reason(exc)) from None
    finally:
        os.close(handle)


def read_input_text(path: str | os.PathLike[str], *, what: str, limit: int = TEXT_LIMIT,
                    errors: Literal["strict", "surrogateescape", "replace"] = "strict") -> str:
    """`read_input` decoded as UTF-8.

    With ``errors="strict"`` a byte that is not UTF-8 is an `InputError` pointing at its
    line and column; with ``"surrogateescape"`` each such byte survives as a lone surrogate
    (for linker scripts, whose comments may be Latin-1), and ``placer.cli.printable`` shows
    it as ``\\xNN``; ``"replace"`` is for quoting a line under a message.
    """
    data = read_input(path, what=what, limit=limit)
    try:
        return data.decode("utf-8", errors)
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        raise InputError(_display(path), what,
                         f"not UTF-8 text (byte 0x{data[exc.start]:02x})", line,
                         column) from None


def is_regular_file(path: str | os.PathLike[str]) -> bool:
    """True when `path` names a regular file (following links); never raises, so a name
    too long for the OS or with a NUL byte is simply not a file."""
    try:
        return stat.S_ISREG(os.stat(path).st_mode)
    except (OSError, ValueError):
        return False


__all__ = ["ELF_LIMIT", "LIMIT_VARIABLE", "TEXT_LIMIT", "InputError", "check_input",
           "effective_limit", "is_regular_file", "read_input", "read_input_text"]
