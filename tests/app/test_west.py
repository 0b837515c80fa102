"""``west placer``: declared by placer's ``west-commands.yml``, loaded by a real west (from
PyPI) in a real workspace, and run on the build directory ``west build`` would use."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from placer.west.command import find_build_dir, is_zephyr_build
from tests.app.conftest import West
from tests.llext.build import build_extension
from tests.zephyr_build import CORTEX_M, make_build_dir


def _zephyr_build(folder: Path) -> Path:
    # What 'west build' looks for to call a folder a Zephyr build directory.
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "CMakeCache.txt").write_text(
        "# This is the CMakeCache file.\nZEPHYR_TOOLCHAIN_VARIANT:STRING=zephyr\n")
    return folder


def test_west_lists_placer_among_the_workspaces_extension_commands(
        workspace: Path, west: West) -> None:
    result = west(workspace / "app", "--help")
    assert result.returncode == 0, result.stderr
    assert "extension commands from project placer (path: modules/tools/placer):" \
        in result.stdout
    assert "placer:" in result.stdout


def test_west_placer_help_names_the_subcommands(workspace: Path, west: West) -> None:
    result = west(workspace / "app", "placer", "--help")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(
        "usage: west placer {place,verify,diff} [-d BUILD_DIR] [placer's arguments]")


def test_west_placer_refuses_an_unknown_subcommand(workspace: Path, west: West) -> None:
    result = west(workspace / "app", "placer", "format")
    assert result.returncode == 2
    assert "invalid choice: 'format'" in result.stderr


def test_the_build_directory_is_d_when_given(tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert find_build_dir("out/b", "build") == str(tmp_path / "out" / "b")


def test_the_build_directory_defaults_to_build_dir_fmt(tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    app = tmp_path / "hello"
    app.mkdir()
    monkeypatch.chdir(app)
    assert find_build_dir(None, "build") == str(app / "build")
    assert find_build_dir(None, "build/{board}/{app}", board="qemu_cortex_m3") == str(
        app / "build" / "qemu_cortex_m3" / "hello")
    assert find_build_dir(None, "{west_topdir}/out", topdir=str(tmp_path)) == str(
        tmp_path / "out")
    # A key that is not known here: the caller must ask for -d.
    assert find_build_dir(None, "build/{board}") is None


def test_the_current_folder_is_used_when_it_is_a_build_and_the_default_is_not(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    build = _zephyr_build(tmp_path / "elsewhere")
    monkeypatch.chdir(build)
    assert find_build_dir(None, "build") == str(build)
    # ... but the default wins when both are build directories, as in 'west build'.
    _zephyr_build(build / "build")
    assert find_build_dir(None, "build") == str(build / "build")


def test_a_zephyr_build_is_a_cmake_cache_with_zephyr_toolchain_variant(tmp_path: Path) -> None:
    assert not is_zephyr_build(tmp_path)
    (tmp_path / "CMakeCache.txt").write_text("CMAKE_BUILD_TYPE:STRING=\n")
    assert not is_zephyr_build(tmp_path)
    assert is_zephyr_build(_zephyr_build(tmp_path))


def test_west_placer_place_reads_the_build_folder_west_build_wrote(workspace: Path,
                                                                   west: West) -> None:
    app = workspace / "app"
    build = make_build_dir(app, CORTEX_M)
    result = west(app, "placer", "place", "--json")
    assert result.returncode == 0, result.stderr
    assert result.stderr.startswith(
        f"build directory {build.path}: Zephyr 4.4.0, board qemu_cortex_m3\n")
    assert json.loads(result.stdout)["heaps"][0]["section"] == ".llext_heap"


def test_west_placer_place_apply_writes_into_the_application_once(workspace: Path,
                                                                 west: West) -> None:
    app = workspace / "app"
    make_build_dir(app, CORTEX_M)
    first = west(app, "placer", "place", "--apply", ".")
    assert first.returncode == 0, first.stderr
    assert "created noinit.ld: " in first.stdout
    assert "zephyr_linker_sources(NOINIT noinit.ld)" in (app / "CMakeLists.txt").read_text()
    second = west(app, "placer", "place", "--apply", ".")
    assert second.returncode == 0, second.stderr
    assert second.stdout.endswith(". already builds this layout: nothing written\n")


def test_west_placer_inside_a_build_folder_uses_it(workspace: Path, west: West) -> None:
    build = make_build_dir(workspace / "app", CORTEX_M, name="out")
    result = west(build.path, "placer", "place", "--json")
    assert result.returncode == 0, result.stderr
    assert result.stderr.startswith(f"build directory {build.path}: ")


def test_west_placer_d_names_the_build_folder(workspace: Path, west: West) -> None:
    build = make_build_dir(workspace, CORTEX_M, name="elsewhere")
    result = west(workspace / "app", "placer", "place", "-d", str(build.path), "--json")
    assert result.returncode == 0, result.stderr
    assert result.stderr.startswith(f"build directory {build.path}: ")


def test_west_placer_passes_placers_diagnostic_and_exit_status(workspace: Path,
                                                              west: West) -> None:
    result = west(workspace / "app", "placer", "place", "-d", "nowhere")
    assert result.returncode == 1
    assert result.stderr == (f"{workspace / 'app' / 'nowhere'}: error: no such build "
                             "directory (run `west build` first, or give --build-dir)\n")


def test_west_placer_follows_build_dir_fmt(workspace: Path, west: West) -> None:
    app = workspace / "app"
    assert west(app, "config", "build.dir-fmt", "out/{board}").returncode == 0
    result = west(app, "placer", "place")
    assert result.returncode == 1
    assert "build.dir-fmt 'out/{board}' names a value west placer cannot know here; " \
           "give -d/--build-dir" in result.stderr
    assert west(app, "config", "build.board", "qemu_cortex_m3").returncode == 0
    build = make_build_dir(app / "out", CORTEX_M, name="qemu_cortex_m3")
    result = west(app, "placer", "place", "--json")
    assert result.returncode == 0, result.stderr
    assert result.stderr.startswith(f"build directory {build.path}: ")


def test_west_placer_verify_and_diff_run_on_the_build(workspace: Path, west: West,
                                                      tmp_path: Path) -> None:
    app = workspace / "app"
    make_build_dir(app, CORTEX_M)
    source = "extern void k_yield(void);\nint hello(int x) { k_yield(); return x; }\n"
    extension = build_extension(tmp_path, "arm", "hello", source).path
    result = west(app, "placer", "verify", str(extension))
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.rstrip().endswith("OK: all 1 extension(s) load")
    placed = west(app, "placer", "place", "--json")
    assert placed.returncode == 0, placed.stderr
    (app / "llext-layout.json").write_text(placed.stdout)
    same = west(app, "placer", "diff", "llext-layout.json")
    assert same.returncode == 0, same.stdout + same.stderr
    # The application grows: its build's heap moves, and diff says so with exit 1.
    make_build_dir(app, CORTEX_M, bss=8192)
    moved = west(app, "placer", "diff", "llext-layout.json")
    assert moved.returncode == 1, moved.stdout + moved.stderr
    assert ".llext_heap" in moved.stdout
