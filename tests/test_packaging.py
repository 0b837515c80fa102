"""The wheel carries every package and the grammar and board files, and an installed copy
finds them (not only a checkout)."""

from __future__ import annotations

import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

from tests.wheel import ROOT


def test_every_package_is_listed_in_pyproject() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    listed = set(config["tool"]["setuptools"]["packages"])
    on_disk = {".".join(p.parent.relative_to(ROOT).parts)
               for p in (ROOT / "placer").rglob("__init__.py")}
    assert listed == on_disk | {"placer.grammar", "placer.boards", "placer.kconfig"}


@pytest.fixture(scope="module")
def installed(installed_wheel: tuple[Path, Path]) -> Path:
    """placer built as a wheel and installed into a folder of its own."""
    wheel, target = installed_wheel
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "placer/grammar/ld.lark" in names
    assert "placer/kconfig/llext.kconfig" in names
    assert "placer/py.typed" in names  # PEP 561: callers' type checkers read placer's hints
    for board in (ROOT / "boards").glob("*.toml"):
        assert f"placer/boards/{board.name}" in names
        assert f"placer/boards/{board.stem}.ld" in names
    # The CMake module and the west extension command (its declaration and its code).
    assert {"placer/cmake/placer.cmake", "placer/west/west-commands.yml",
            "placer/west/command.py"} <= names
    return target


def test_an_installed_wheel_finds_its_grammar_and_boards(installed: Path,
                                                         tmp_path: Path) -> None:
    program = (
        "import placer, placer.script\n"
        "board = placer.load_board('qemu_cortex_m3')\n"
        "layout = placer.place(board, placer.read_config('prj.conf'))\n"
        f"print(placer.__file__.startswith({str(installed)!r}), len(placer.list_boards()),\n"
        "      hex(layout.heap('.llext_heap').address),\n"
        "      '.llext_heap' in placer.emit.linker_script(layout))\n"
    )
    (tmp_path / "prj.conf").write_text("CONFIG_LLEXT_HEAP_SIZE=8\n")  # read by the model
    result = subprocess.run([sys.executable, "-c", program], cwd=tmp_path, check=True,
                            capture_output=True, text=True,
                            env={"PYTHONPATH": str(installed), "PATH": "/usr/bin:/bin"})
    count = len(list((ROOT / "boards").glob("*.toml")))
    assert result.stdout.split() == ["True", str(count), "0x20003c00", "True"]


def test_an_installed_wheel_finds_its_cmake_module_and_west_command(installed: Path,
                                                                   tmp_path: Path) -> None:
    program = "import sys; from placer.cli import main; sys.exit(main(['cmake-dir']))"
    result = subprocess.run([sys.executable, "-c", program], cwd=tmp_path, check=True,
                            capture_output=True, text=True,
                            env={"PYTHONPATH": str(installed), "PATH": "/usr/bin:/bin"})
    folder = Path(result.stdout.strip())
    assert folder == installed / "placer" / "cmake"
    assert (folder / "placer.cmake").is_file()
    declaration = (installed / "placer/west/west-commands.yml").read_text()
    # west resolves 'file' against the project folder: the folder the wheel went into.
    assert "file: placer/west/command.py" in declaration
    assert (installed / "placer/west/command.py").is_file()
