"""Writing output files so that a reader never sees half of one."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def replace_atomically(path: Path, data: bytes, *, keep_mode: bool = False) -> None:
    """Write `data` to `path` through a temporary file beside it and a rename, so a reader
    sees the old file or the whole new one. `keep_mode` keeps an existing file's
    permissions. Raises `OSError` (nothing is left behind) when it cannot be written."""
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
        if keep_mode and path.exists():
            os.chmod(temporary, path.stat().st_mode & 0o7777)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
