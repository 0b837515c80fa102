"""`read_build_dir`: which file of a Zephyr build gives what, across Zephyr's layouts, and
an error naming the file when one is missing or two disagree."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from placer.builddir import BuildDirError, board_for_build, read_build_dir
from placer.cli.output import render
from placer.errors import BoardError
from placer.importers.mapfile import read_map_sections
from placer.versions import ZephyrVersion
from tests.zephyr_build import CORTEX_M, Build, make_build_dir


@pytest.fixture(scope="module")
def cortex_m(tmp_path_factory: pytest.TempPathFactory) -> Build:
    return make_build_dir(tmp_path_factory.mktemp("cortex_m"), CORTEX_M)


def _copy(build: Build, where: Path) -> Path:
    copy = where / "build"
    shutil.copytree(build.path, copy)
    return copy


def test_a_linked_build_gives_every_file(cortex_m: Build) -> None:
    build = read_build_dir(cortex_m.path)
    zephyr = cortex_m.zephyr
    assert (build.config, build.devicetree, build.linker_script, build.elf, build.map_file) == (
        zephyr / ".config", zephyr / "zephyr.dts", zephyr / "linker.cmd", zephyr / "zephyr.elf",
        zephyr / "zephyr.map")
    assert build.version == ZephyrVersion(4, 4, 0)
    assert build.board == "qemu_cortex_m3"
    assert [s.what for s in build.sources] == [
        "configuration", "board", "version", "devicetree", "linker script", "image", "map"]
    text = build.describe()
    assert text.startswith(f"build directory {cortex_m.path}: Zephyr 4.4.0, board qemu_cortex_m3\n")
    assert f"  version        {zephyr}/include/generated/zephyr/version.h  Zephyr 4.4.0\n" in text


def test_the_board_is_the_linker_scripts_memory_with_the_images_use(cortex_m: Build) -> None:
    board = board_for_build(read_build_dir(cortex_m.path))
    assert [(r.name, r.origin, r.length) for r in board.regions] == [
        ("FLASH", 0x0, 256 * 1024), ("RAM", 0x20000000, 64 * 1024)]
    assert board.noinit_region == "RAM"
    assert board.used_measured
    assert board.base_script == cortex_m.zephyr / "linker.cmd"
    # The heap the image already has is not in the way of the heap placer places.
    assert not any(u.what == ".llext_heap" for u in board.used)


def test_zephyr_before_3_4_keeps_version_h_in_generated(cortex_m: Build, tmp_path: Path) -> None:
    build = _copy(cortex_m, tmp_path)
    generated = build / "zephyr/include/generated"
    (generated / "zephyr/version.h").rename(generated / "version.h")
    (build / "CMakeCache.txt").write_text("BOARD:STRING=qemu_cortex_m3\n")
    assert read_build_dir(build).sources[2].file == generated / "version.h"


def test_zephyr_2_before_2_3_uses_dts_compiled_and_linker_pass_final(
        cortex_m: Build, tmp_path: Path) -> None:
    build = _copy(cortex_m, tmp_path)
    zephyr = build / "zephyr"
    (zephyr / "zephyr.dts").rename(zephyr / "qemu_cortex_m3.dts_compiled")
    shutil.copy(zephyr / "linker.cmd", zephyr / "linker_pass_final.cmd")
    (zephyr / "include/generated/zephyr/version.h").unlink()
    (build / "CMakeCache.txt").write_text(
        "CACHED_BOARD:STRING=qemu_cortex_m3\nCMAKE_PROJECT_VERSION:STATIC=2.2.0\n")
    found = read_build_dir(build)
    assert found.devicetree == zephyr / "qemu_cortex_m3.dts_compiled"
    assert found.linker_script == zephyr / "linker_pass_final.cmd"
    assert found.version == ZephyrVersion(2, 2, 0)
    assert found.sources[2].detail == "Zephyr 2.2.0 (CMAKE_PROJECT_VERSION)"


def test_a_stale_linker_pass_final_is_ignored_after_zephyr_2_4(
        cortex_m: Build, tmp_path: Path) -> None:
    build = _copy(cortex_m, tmp_path)
    (build / "zephyr/linker_pass_final.cmd").write_text("stale")
    assert read_build_dir(build).linker_script == build / "zephyr/linker.cmd"


def test_sysbuild_reads_the_default_images_folder(cortex_m: Build, tmp_path: Path) -> None:
    top = tmp_path / "build"
    shutil.copytree(cortex_m.path, top / "hello")
    (top / "zephyr").mkdir()
    (top / "zephyr/.config").write_text('SB_CONFIG_BOARD="qemu_cortex_m3"\n')
    (top / "domains.yaml").write_text(
        f"default: hello\nbuild_dir: {top}\ndomains:\n  - name: hello\n"
        f"    build_dir: {top}/hello\nflash_order:\n  - hello\n")
    found = read_build_dir(top)
    assert found.path == top / "hello"
    assert found.config == top / "hello/zephyr/.config"
    assert found.sources[0].detail == "sysbuild default image hello"


@pytest.mark.parametrize(("missing", "message"), [
    ("zephyr/.config", "missing: not a Zephyr build directory (no Kconfig output)"),
    ("zephyr/linker.cmd", "missing: no final linker script (linker.cmd): has the build "
     "reached the link?"),
    ("zephyr/zephyr.dts", "missing: no devicetree (zephyr.dts, or <board>.dts_compiled before "
     "Zephyr 2.3)"),
])
def test_a_missing_file_is_an_error_naming_it(cortex_m: Build, tmp_path: Path, missing: str,
                                              message: str) -> None:
    build = _copy(cortex_m, tmp_path)
    (build / missing).unlink()
    with pytest.raises(BuildDirError) as caught:
        read_build_dir(build)
    assert render(caught.value) == f"{build / missing}: error: {message}"


def test_no_version_anywhere_is_an_error(cortex_m: Build, tmp_path: Path) -> None:
    build = _copy(cortex_m, tmp_path)
    (build / "zephyr/include/generated/zephyr/version.h").unlink()
    (build / "CMakeCache.txt").unlink()
    with pytest.raises(BuildDirError, match="cannot tell the Zephyr version"):
        read_build_dir(build)


def test_versions_that_disagree_name_both_files(cortex_m: Build, tmp_path: Path) -> None:
    build = _copy(cortex_m, tmp_path)
    (build / "CMakeCache.txt").write_text("BOARD:STRING=qemu_cortex_m3\n"
                                          "CMAKE_PROJECT_VERSION:STATIC=3.7.0\n")
    with pytest.raises(BuildDirError) as caught:
        read_build_dir(build)
    assert render(caught.value) == (
        f"{build}/zephyr/include/generated/zephyr/version.h: error: Zephyr 4.4.0 here but "
        f"3.7.0 in {build}/CMakeCache.txt (CMAKE_PROJECT_VERSION): the build directory mixes "
        "two builds (run `west build -p`)")


def test_boards_that_disagree_name_both_files(cortex_m: Build, tmp_path: Path) -> None:
    build = _copy(cortex_m, tmp_path)
    (build / "CMakeCache.txt").write_text("BOARD:STRING=nrf52840dk/nrf52840\n")
    with pytest.raises(BuildDirError, match=r"CONFIG_BOARD is 'qemu_cortex_m3' but .*"
                       r"CMakeCache.txt was configured for BOARD 'nrf52840dk/nrf52840'"):
        read_build_dir(build)


def test_a_map_from_another_link_is_refused(cortex_m: Build, tmp_path: Path) -> None:
    build = _copy(cortex_m, tmp_path)
    map_file = build / "zephyr/zephyr.map"
    text = map_file.read_text()
    bss = next(s for s in read_map_sections(map_file) if s.name == "bss")
    map_file.write_text(text.replace(f"0x{bss.size:x} ", f"0x{bss.size + 64:x} ", 1)
                        if f"0x{bss.size:x} " in text else text.replace(
                            f"{bss.size:#018x}", f"{bss.size + 64:#018x}", 1))
    with pytest.raises(BuildDirError, match="the map and the image come from different links"):
        board_for_build(read_build_dir(build))


def test_without_an_image_the_map_says_what_is_used(cortex_m: Build, tmp_path: Path) -> None:
    build = _copy(cortex_m, tmp_path)
    with_elf = board_for_build(read_build_dir(build))
    (build / "zephyr/zephyr.elf").unlink()
    from_map = board_for_build(read_build_dir(build))
    assert from_map.used_measured
    bss = [u for u in from_map.used if u.what == "bss"]
    assert bss == [u for u in with_elf.used if u.what == "bss"]


def test_without_image_or_map_nothing_says_what_is_used(cortex_m: Build, tmp_path: Path) -> None:
    build = _copy(cortex_m, tmp_path)
    (build / "zephyr/zephyr.elf").unlink()
    (build / "zephyr/zephyr.map").unlink()
    with pytest.raises(BuildDirError, match=r"no zephyr\.elf or zephyr\.map"):
        board_for_build(read_build_dir(build))


def test_a_devicetree_whose_ram_does_not_hold_the_scripts_is_refused(
        cortex_m: Build, tmp_path: Path) -> None:
    build = _copy(cortex_m, tmp_path)
    dts = build / "zephyr/zephyr.dts"
    dts.write_text(dts.read_text().replace("0x20000000 0x10000", "0x20000000 0x4000"))
    with pytest.raises(BoardError, match=r"linker.cmd: region RAM \[0x20000000, "
                       r"0x20010000\) disagrees with .*zephyr.dts's RAM "
                       r"\[0x20000000, 0x20004000\)"):
        board_for_build(read_build_dir(build))
