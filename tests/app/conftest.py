"""A real west workspace with placer as a project, made from placer's wheel."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

MANIFEST = """\
manifest:
  version: "1.0"
  remotes:
    - name: nowhere
      # Never fetched: the project's folder is there already (the wheel, installed).
      url-base: file:///nonexistent
  projects:
    - name: placer
      remote: nowhere
      path: modules/tools/placer
      west-commands: placer/west/west-commands.yml
  self:
    path: app
"""

APP_CMAKE = """\
cmake_minimum_required(VERSION 3.20.0)
find_package(Zephyr REQUIRED HINTS $ENV{ZEPHYR_BASE})
project(hello)

target_sources(app PRIVATE src/main.c)
"""

West = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture
def workspace(tmp_path: Path, installed_wheel: tuple[Path, Path]) -> Path:
    """A west workspace: the application ``app`` is the manifest repository (``west init
    -l``, no network), and placer is a project at ``modules/tools/placer`` whose folder is
    placer's wheel installed with ``pip install --target``."""
    top = tmp_path / "ws"
    app = top / "app"
    (app / "src").mkdir(parents=True)
    (app / "west.yml").write_text(MANIFEST)
    (app / "CMakeLists.txt").write_text(APP_CMAKE)
    (app / "prj.conf").write_text("CONFIG_LLEXT=y\n")
    (app / "src" / "main.c").write_text("int main(void) { return 0; }\n")
    shutil.copytree(installed_wheel[1], top / "modules" / "tools" / "placer")
    run_west(tmp_path, top, "init", "-l", "app")
    return top


def run_west(tmp_path: Path, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``west ARGS`` in `cwd` with the test's Python, and west's system and global
    configuration files kept inside `tmp_path` (none of the machine's leaks in)."""
    env = dict(os.environ)
    env["WEST_CONFIG_SYSTEM"] = str(tmp_path / "west-system.cfg")
    env["WEST_CONFIG_GLOBAL"] = str(tmp_path / "west-global.cfg")
    env.pop("ZEPHYR_BASE", None)
    return subprocess.run([sys.executable, "-m", "west", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, check=False)


@pytest.fixture
def west(tmp_path: Path) -> West:
    """Run west in a folder: ``west(cwd, "placer", "place", ...)``."""
    def run(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
        return run_west(tmp_path, cwd, *args)
    return run
