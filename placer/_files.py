"""Writing output files so that a reader never sees half of one."""

from __future__ import annotations

import contextlib
import errno
import os
import stat
from collections.abc import Mapping, Sequence
from pathlib import Path

#: How many names `stage` tries before it gives up (as `tempfile.TMP_MAX`).
_STAGE_ATTEMPTS = 10000


def stage(path: Path) -> tuple[int, str]:
    """A new, empty file beside `path` (same folder, so renaming it over `path` cannot
    copy), open for writing: its descriptor and name. Created as `tempfile.mkstemp` creates
    one (exclusively, mode 0600, not inherited by child processes), named
    ``.NAME.PID.N``; `tempfile` itself would load `shutil` and `random` into every command
    that writes a file, for the name alone."""
    flags = (os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
             | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0))
    for attempt in range(_STAGE_ATTEMPTS):
        temporary = os.path.join(path.parent, f".{path.name}.{os.getpid()}.{attempt}")
        try:
            return os.open(temporary, flags, 0o600), temporary
        except FileExistsError:
            continue
    raise FileExistsError(errno.EEXIST, "no free temporary name", str(path))


def replace_atomically(path: Path, data: bytes, *, keep_mode: bool = False) -> None:
    """Write `data` to `path` through a temporary file beside it and a rename, so a reader
    sees the old file or the whole new one. `keep_mode` keeps an existing file's
    permissions; otherwise the file gets the umask's default, as an editor would create it
    (not the 0600 of the temporary file). Raises `OSError` (nothing is left behind) when it
    cannot be written."""
    handle, temporary = stage(path)
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
        kept = keep_mode and path.exists()
        os.chmod(temporary, path.stat().st_mode & 0o7777 if kept else 0o666 & ~_umask())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def replace_all_atomically(files: Sequence[tuple[Path, bytes]]) -> None:
    """Write several files all or nothing: each is staged in a temporary file beside its
    target (same file system, so the rename cannot copy), then all are renamed into
    place. If staging fails, no target was touched; if a rename fails, the targets
    already replaced get their old bytes back (or are removed if they were new). An
    existing file keeps its permissions; a new one gets the umask's default, as an editor
    would create it.

    Nothing is fsynced: the rename is what keeps a reader (or a failed run) from seeing
    half a file, and these are build outputs that the next run writes again; surviving a
    power cut is the file system's and the build's concern, as with any compiler's or
    GNU ld's output (neither syncs).

    Raises `OSError` after the rollback; before anything is staged, one with `strerror`
    ``"it exists and is not a regular file"`` (and the target as `filename`) when a
    folder, a FIFO or a device holds a target's name."""
    for path, _ in files:
        _check_target(path)
    originals: list[bytes | None] = []
    staged: list[Path] = []
    try:
        for path, data in files:
            originals.append(path.read_bytes() if path.exists() else None)
            handle, temporary = stage(path)
            staged.append(Path(temporary))
            with os.fdopen(handle, "wb") as stream:
                stream.write(data)
            mode = path.stat().st_mode & 0o7777 if path.exists() else 0o666 & ~_umask()
            os.chmod(temporary, mode)
        done = 0
        try:
            for (path, _), staged_file in zip(files, staged, strict=True):
                os.replace(staged_file, path)
                done += 1
        except BaseException:
            for (path, _), original in zip(files[:done], originals, strict=False):
                if original is None:
                    path.unlink(missing_ok=True)
                else:
                    replace_atomically(path, original, keep_mode=True)
            raise
    finally:
        for leftover in staged:
            leftover.unlink(missing_ok=True)


def _umask() -> int:
    # os.umask can only be read by setting it; set it straight back.
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _check_target(path: Path) -> None:
    """Refuse a target that is not a regular file (a link to one is fine) before anything
    is written: its old content could not be kept for a rollback, and reading a FIFO to
    keep it would block."""
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        return
    if not stat.S_ISREG(mode):
        raise OSError(errno.EEXIST, "it exists and is not a regular file", str(path))


def replace_files_atomically(out_dir: Path, files: Mapping[str, bytes]) -> tuple[Path, ...]:
    """`replace_all_atomically` of `files` (a name relative to `out_dir`, possibly in a
    subfolder → its bytes), making `out_dir` and the subfolders first; on a failure the
    folders it made are removed again, so nothing has changed. Returns the paths written,
    in the order of `files`."""
    made: list[Path] = []
    try:
        targets = [(out_dir / name, data) for name, data in files.items()]
        for path, _ in targets:
            _make_folder(path.parent, made)
        replace_all_atomically(targets)
    except BaseException:
        for folder in reversed(made):
            with contextlib.suppress(OSError):
                folder.rmdir()
        raise
    return tuple(path for path, _ in targets)


def _make_folder(folder: Path, made: list[Path]) -> None:
    """`folder` and its missing parents, each one made recorded in `made` (outermost
    first)."""
    missing = []
    for parent in (folder, *folder.parents):
        if parent.is_dir():
            break
        missing.append(parent)
    for parent in reversed(missing):
        parent.mkdir()
        made.append(parent)
