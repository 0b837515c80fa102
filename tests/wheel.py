"""Build placer's wheel and install it into a folder, as a user's ``pip`` would."""

from __future__ import annotations

import importlib.machinery
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _settings() -> dict[str, list[str]]:
    settings = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    placer: dict[str, list[str]] = settings["tool"]["placer"]
    return placer


def compiled_module_paths() -> list[str]:
    """The source paths setup.py compiles with mypyc (pyproject.toml, ``[tool.placer]
    compiled-modules``)."""
    return list(_settings()["compiled-modules"])


def c_module_paths() -> list[str]:
    """The C sources setup.py builds into extension modules (``c-modules``)."""
    return list(_settings()["c-modules"])


def module_name(path: str) -> str:
    """The module a source path under the checkout is imported as."""
    return path.rsplit(".", 1)[0].replace("/", ".")


def is_compiled(module: object) -> bool:
    """Whether `module` was loaded from an extension module (compiled), not its source."""
    file = getattr(module, "__file__", None) or ""
    return file.endswith(tuple(importlib.machinery.EXTENSION_SUFFIXES))


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
