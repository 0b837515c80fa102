"""``placer.cmake`` with Debian's CMake and Ninja: a small CMake project includes the module
and checks a Zephyr build directory made by the cross toolchains (`tests.zephyr_build`).
placer runs when an input changed and only then, and a placement or an extension that does
not fit fails the build with placer's own message."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from placer.cli.cmake import CMAKE_DIR
from tests.llext.build import build_extension
from tests.zephyr_build import CORTEX_M, Build, make_build_dir

PLACING = "placer: placing the LLEXT heaps of"
VERIFYING = "placer: verifying LLEXT extensions against"
# Calls k_yield, which the build's zephyr.elf exports (its llext_const_symbol_area).
FITS = ("extern void k_yield(void);\nstatic int counter = 3;\n"
        "int bump(int by) { counter += by; k_yield(); return counter; }\n")
# 16 KiB of writable data: copied into the 8 KiB heap at load time, it cannot fit.
TOO_BIG = "char big[16384] = {1};\nvoid set(int i, char c) { big[i] = c; }\n"


def _tools() -> tuple[str, str]:
    found = (shutil.which("cmake"), shutil.which("ninja"))
    if None in found:
        message = "cmake and ninja not found: apt-get install cmake ninja-build"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    cmake, ninja = found
    assert cmake is not None and ninja is not None
    return cmake, ninja


@pytest.fixture
def build(tmp_path: Path) -> Build:
    """A linked Cortex-M Zephyr build directory with an 8 KiB heap."""
    return make_build_dir(tmp_path, CORTEX_M)


def _project(tmp_path: Path, calls: str) -> Path:
    """A CMake project that includes placer.cmake and makes `calls`, configured with Ninja;
    its build folder."""
    cmake, ninja = _tools()
    source = tmp_path / "check"
    source.mkdir()
    (source / "CMakeLists.txt").write_text(
        "cmake_minimum_required(VERSION 3.20)\n"
        "project(placer_check NONE)\n"
        f'include("{CMAKE_DIR}/placer.cmake")\n'
        f"{calls}\n")
    binary = tmp_path / "check-build"
    # The placer of the test's own Python: the one this checkout installs.
    command = f"{sys.executable};-m;placer"
    subprocess.run([cmake, "-S", str(source), "-B", str(binary), "-G", "Ninja",
                    f"-DCMAKE_MAKE_PROGRAM={ninja}", f"-DPLACER_COMMAND={command}"],
                   check=True, capture_output=True, text=True, timeout=120)
    return binary


def _build(binary: Path) -> subprocess.CompletedProcess[str]:
    cmake, _ = _tools()
    return subprocess.run([cmake, "--build", str(binary)], capture_output=True, text=True,
                          check=False, timeout=300)


def _touch(path: Path) -> None:
    # Now: later than every output of the previous build (nanosecond times, as Ninja
    # reads them), and not in the future, which would make every later build stale. The
    # kernel stamps files from a clock that advances once a tick (4 ms at HZ=250), so a
    # build that finished within the same tick would have the same time: wait one out.
    time.sleep(0.02)
    os.utime(path)


def test_placer_place_runs_once_and_again_when_an_input_changes(tmp_path: Path,
                                                                 build: Build) -> None:
    binary = _project(tmp_path, f'placer_place(BUILD_DIR "{build.path}")')
    first = _build(binary)
    assert first.returncode == 0, first.stdout + first.stderr
    assert first.stdout.count(PLACING) == 1
    layout = binary / "placer" / "layout.json"
    assert '".llext_heap"' in layout.read_text()
    second = _build(binary)
    assert second.returncode == 0
    assert PLACING not in second.stdout
    assert "no work to do" in second.stdout
    for changed in (build.zephyr / ".config", build.zephyr / "zephyr.elf",
                    build.zephyr / "linker.cmd", build.zephyr / "zephyr.dts",
                    build.zephyr / "zephyr.map",
                    build.zephyr / "include/generated/zephyr/version.h"):
        _touch(changed)
        again = _build(binary)
        assert again.returncode == 0, again.stdout + again.stderr
        assert again.stdout.count(PLACING) == 1, changed
        assert PLACING not in _build(binary).stdout


def test_placer_place_fails_the_build_with_placers_message_when_nothing_fits(
        tmp_path: Path, build: Build) -> None:
    fragment = tmp_path / "huge.conf"
    fragment.write_text("CONFIG_LLEXT_HEAP_SIZE=1024\n")
    binary = _project(tmp_path, f'placer_place(BUILD_DIR "{build.path}" CONFIG "{fragment}")')
    result = _build(binary)
    assert result.returncode != 0
    assert "FAILED:" in result.stdout
    assert ".llext_heap" in result.stdout and "1048576" in result.stdout
    assert not (binary / "placer" / "layout.json").exists()


def test_placer_verify_runs_only_when_an_extension_or_the_build_changed(
        tmp_path: Path, build: Build) -> None:
    extension = build_extension(tmp_path, "arm", "fits", FITS).path
    binary = _project(tmp_path, f'placer_verify(EXTENSIONS "{extension}" '
                                f'BUILD_DIR "{build.path}")')
    first = _build(binary)
    assert first.returncode == 0, first.stdout + first.stderr
    assert first.stdout.count(VERIFYING) == 1
    assert "OK: all 1 extension(s) load" in first.stdout
    assert PLACING not in first.stdout
    assert VERIFYING not in _build(binary).stdout
    _touch(extension)
    assert _build(binary).stdout.count(VERIFYING) == 1
    _touch(build.zephyr / "zephyr.elf")
    assert _build(binary).stdout.count(VERIFYING) == 1
    assert VERIFYING not in _build(binary).stdout


def test_an_extension_that_would_not_load_fails_the_build_with_placers_message(
        tmp_path: Path, build: Build) -> None:
    fits = build_extension(tmp_path, "arm", "fits", FITS).path
    too_big = build_extension(tmp_path, "arm", "too_big", TOO_BIG).path
    binary = _project(tmp_path, f'placer_verify(EXTENSIONS "{fits}" "{too_big}" '
                                f'BUILD_DIR "{build.path}")')
    result = _build(binary)
    assert result.returncode != 0
    assert "FAILED:" in result.stdout
    assert "(Zephyr: -ENOMEM)" in result.stdout
    assert "FAIL: 1 of 2 extension(s) would not load" in result.stdout
    assert not (binary / "placer_verify.verified").exists()
    # A failed check is not remembered: the next build checks again.
    assert _build(binary).stdout.count(VERIFYING) == 1


def test_an_unknown_argument_is_a_configure_error(tmp_path: Path) -> None:
    with pytest.raises(subprocess.CalledProcessError) as failure:
        _project(tmp_path, "placer_place(BULD_DIR build)")
    assert "placer_place: unknown arguments BULD_DIR;build" in failure.value.stderr
