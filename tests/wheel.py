"""Build placer's wheel and install it into a folder, as a user's ``pip`` would."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def build_wheel(folder: Path) -> Path:
    """Build the wheel of this checkout into `folder`; its path."""
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w",
                    str(folder), str(ROOT)], check=True, capture_output=True)
    (wheel,) = folder.glob("placer-*.whl")
    return wheel


def install_wheel(wheel: Path, target: Path) -> Path:
    """Install `wheel` (without its dependencies) into the folder `target`; `target`."""
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target",
                    str(target), str(wheel)], check=True, capture_output=True)
    return target
