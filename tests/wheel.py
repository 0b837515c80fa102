"""Build placer's wheel and install it into a folder, as a user's ``pip`` would."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


#: What the wheel is not built from: setuptools writes build/ and *.egg-info into the
#: source folder, so the wheel is built from a copy (two xdist workers building from the
#: checkout itself would race on those folders).
_NOT_SOURCES = shutil.ignore_patterns(".git", "build", "dist", "*.egg-info", "__pycache__",
                                      ".*_cache", ".hypothesis", "placer-out", "tests",
                                      "bench", "snapshots", "*.so")


def build_wheel(folder: Path) -> Path:
    """Build the wheel of this checkout into `folder`; its path."""
    source = folder / "source"
    shutil.copytree(ROOT, source, ignore=_NOT_SOURCES)
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w",
                    str(folder), str(source)], check=True, capture_output=True)
    (wheel,) = folder.glob("placer-*.whl")
    return wheel


def install_wheel(wheel: Path, target: Path) -> Path:
    """Install `wheel` (without its dependencies) into the folder `target`; `target`."""
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target",
                    str(target), str(wheel)], check=True, capture_output=True)
    return target
