"""``placer place --apply APP_DIR``: the application gets what its build needs, all or
nothing, touching only the files it names, and a second run changes nothing."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from placer import application, load_board, place
from placer._files import replace_all_atomically
from placer.cli import main
from placer.config import LlextConfig
from placer.dotconfig import read_kconfig_files
from placer.errors import PlacerError
from placer.solve import Pin
from tests.zephyr_build import CORTEX_M, make_build_dir, relink, symbols

CMAKE = """\
cmake_minimum_required(VERSION 3.20.0)
# find_package(Zephyr) in a comment does not count
find_package(Zephyr REQUIRED
             HINTS $ENV{ZEPHYR_BASE} "a (quoted) hint")
project(hello)

target_sources(app PRIVATE src/main.c)
"""


def _app(tmp_path: Path, prj: str | None = "CONFIG_LLEXT=y\n") -> Path:
    app = tmp_path / "app"
    (app / "src").mkdir(parents=True)
    (app / "CMakeLists.txt").write_text(CMAKE)
    (app / "src" / "main.c").write_text("int main(void) { return 0; }\n")
    if prj is not None:
        (app / "prj.conf").write_text(prj)
    return app


def _snapshot(folder: Path) -> dict[str, tuple[bytes, int]]:
    return {str(p.relative_to(folder)): (p.read_bytes(), p.stat().st_mtime_ns)
            for p in sorted(folder.rglob("*")) if p.is_file()}


def test_noinit_placement_writes_the_fragment_the_cmake_line_and_the_kconfig_block(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    app = _app(tmp_path)
    assert main(["place", "--apply", str(app)]) == 0
    out = capsys.readouterr().out
    assert f"created {app / 'noinit.ld'}: " in out
    assert f"updated {app / 'CMakeLists.txt'}: zephyr_linker_sources(NOINIT noinit.ld) " \
           "after find_package(Zephyr)" in out
    assert f"updated {app / 'prj.conf'}: " in out
    assert "*(.llext_heap)" in (app / "noinit.ld").read_text()
    assert (app / "CMakeLists.txt").read_text() == CMAKE.replace(
        '"a (quoted) hint")\n',
        '"a (quoted) hint")\n\n# LLEXT heaps in .noinit, as placed by placer\n'
        "zephyr_linker_sources(NOINIT noinit.ld)\n\n")
    assert (app / "prj.conf").read_text() == (
        "CONFIG_LLEXT=y\n\n"
        f"{application.BLOCK_BEGIN}\n"
        "# LLEXT heaps for board qemu_cortex_m3, as placed by placer.\n"
        "CONFIG_LLEXT=y\nCONFIG_LLEXT_HEAP_K_HEAP=y\nCONFIG_LLEXT_HEAP_SIZE=8\n"
        f"{application.BLOCK_END}\n")
    # Nothing else: no placer-out, no temporary file left beside the files.
    assert sorted(p.name for p in app.iterdir()) == [
        "CMakeLists.txt", "noinit.ld", "prj.conf", "src"]
    assert not (tmp_path / "placer-out").exists()


def test_a_second_run_is_a_no_op(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    app = _app(tmp_path)
    assert main(["place", "--apply", str(app)]) == 0
    before = _snapshot(app)
    capsys.readouterr()
    assert main(["place", "--apply", str(app)]) == 0
    assert capsys.readouterr().out.endswith(
        f"{app} already builds this layout: nothing written\n")
    assert _snapshot(app) == before


def test_a_changed_layout_replaces_placers_block_and_keeps_the_users_lines(
        tmp_path: Path) -> None:
    app = _app(tmp_path, "CONFIG_LLEXT=y\nCONFIG_PRINTK=y\n")
    assert main(["place", "--apply", str(app)]) == 0
    with (app / "prj.conf").open("a") as stream:
        stream.write("CONFIG_LOG=y\n")
    config = app / "bigger.conf"
    config.write_text("CONFIG_LLEXT=y\nCONFIG_LLEXT_HEAP_SIZE=12\n")
    assert main(["place", "--config", str(config), "--apply", str(app)]) == 0
    text = (app / "prj.conf").read_text()
    assert text.count(application.BLOCK_BEGIN) == 1
    assert "CONFIG_LLEXT_HEAP_SIZE=12\n" in text and "HEAP_SIZE=8" not in text
    assert text.startswith("CONFIG_LLEXT=y\nCONFIG_PRINTK=y\n")
    assert text.endswith(f"{application.BLOCK_END}\nCONFIG_LOG=y\n")
    assert (app / "CMakeLists.txt").read_text().count("zephyr_linker_sources") == 1


def test_custom_placement_writes_the_script_and_points_kconfig_at_it(
        tmp_path: Path) -> None:
    app = _app(tmp_path, prj=None)
    layout = place(load_board("qemu_cortex_m3"), LlextConfig(),
                   pins=(Pin(".llext_heap", address=0x20008000),))
    changes = application.apply(layout, app)
    assert [(c.path.name, c.action) for c in changes] == [
        ("linker.ld", application.Action.CREATE), ("prj.conf", application.Action.CREATE)]
    assert "__placer_llext_heap_start" in (app / "linker.ld").read_text()
    prj = (app / "prj.conf").read_text()
    assert 'CONFIG_CUSTOM_LINKER_SCRIPT="linker.ld"\n' in prj
    assert "CONFIG_LLEXT_CUSTOM_HEAP_PLACEMENT=y\n" in prj
    # No CMake line: the custom script places the heaps itself.
    assert (app / "CMakeLists.txt").read_text() == CMAKE
    assert application.apply(layout, app) == ()


def _refused(app: Path, capsys: pytest.CaptureFixture[str], *options: str) -> str:
    before = _snapshot(app)
    assert main(["place", *options, "--apply", str(app)]) == 1
    assert _snapshot(app) == before
    return capsys.readouterr().err


def test_a_prj_conf_line_that_contradicts_the_layout_is_refused_naming_it(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    app = _app(tmp_path, "CONFIG_LLEXT=y\nCONFIG_LLEXT_HEAP_SIZE=16\n")
    assert _refused(app, capsys) == (
        f"{app / 'prj.conf'}:2:1: error: CONFIG_LLEXT_HEAP_SIZE=16 contradicts the layout's "
        "CONFIG_LLEXT_HEAP_SIZE=8; delete the line (placer writes its value in its own "
        "block) or place with this file as --config\n")


def test_an_application_without_find_package_zephyr_is_refused(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    app = _app(tmp_path)
    (app / "CMakeLists.txt").write_text("project(hello)\n# find_package(Zephyr)\n")
    assert _refused(app, capsys) == (
        f"{app / 'CMakeLists.txt'}: error: no find_package(Zephyr ...): not a Zephyr "
        "application's CMakeLists.txt\n")
    (app / "CMakeLists.txt").unlink()
    assert _refused(app, capsys) == f"{app}: error: not a Zephyr application: no " \
                                    "CMakeLists.txt\n"


def test_a_linker_sources_line_before_find_package_is_refused(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    app = _app(tmp_path)
    (app / "CMakeLists.txt").write_text(
        "ZEPHYR_LINKER_SOURCES(NOINIT\n  noinit.ld)\nfind_package(Zephyr)\n")
    assert _refused(app, capsys).startswith(
        f"{app / 'CMakeLists.txt'}:1:1: error: zephyr_linker_sources(NOINIT noinit.ld) comes "
        "before find_package(Zephyr) (line 3)")


def test_an_existing_call_in_another_spelling_is_recognised(tmp_path: Path) -> None:
    app = _app(tmp_path)
    text = CMAKE + "Zephyr_Linker_Sources( NOINIT   noinit.ld ) # ours\n"
    (app / "CMakeLists.txt").write_text(text)
    assert main(["place", "--apply", str(app)]) == 0
    assert (app / "CMakeLists.txt").read_text() == text


def test_a_hand_written_linker_ld_is_never_overwritten(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    app = _app(tmp_path)
    (app / "linker.ld").write_text("SECTIONS { .text : { *(.text) } }\n")
    err = _refused(app, capsys, "--pin", ".llext_heap=0x20008000")
    assert err.startswith(f"{app / 'linker.ld'}: error: exists and was not written by placer")


def test_an_unterminated_block_is_refused(tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    app = _app(tmp_path, f"CONFIG_LLEXT=y\n{application.BLOCK_BEGIN}\nCONFIG_LLEXT_HEAP_SIZE=8\n")
    assert _refused(app, capsys).startswith(
        f"{app / 'prj.conf'}:2:1: error: placer's block has no end marker")


def test_a_file_that_cannot_be_read_changes_nothing(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    app = _app(tmp_path, prj=None)
    (app / "prj.conf").mkdir()
    assert _refused(app, capsys).startswith(f"{app / 'prj.conf'}: error: cannot read")


def test_a_failed_rename_puts_back_the_files_already_replaced(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first, second, third = tmp_path / "a.txt", tmp_path / "b.txt", tmp_path / "c.txt"
    first.write_bytes(b"old a")
    os.chmod(first, 0o640)
    third.write_bytes(b"old c")
    # Every target passes the checks before staging; the third rename then fails, as it
    # would if the disk or the folder changed under placer (root passes permission checks,
    # so a fault is injected into the one system call instead).
    real_replace = os.replace

    def failing_replace(source: str | Path, target: str | Path) -> None:
        if Path(target) == third:
            raise OSError(5, "Input/output error", str(target))
        real_replace(source, target)

    monkeypatch.setattr(os, "replace", failing_replace)
    with pytest.raises(OSError, match="Input/output error"):
        replace_all_atomically([(first, b"new a"), (second, b"new b"), (third, b"new c")])
    monkeypatch.undo()
    assert first.read_bytes() == b"old a"
    assert first.stat().st_mode & 0o777 == 0o640
    assert not second.exists()
    assert third.read_bytes() == b"old c"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.txt", "c.txt"]


def test_a_file_that_cannot_be_staged_changes_nothing(tmp_path: Path) -> None:
    first = tmp_path / "a.txt"
    first.write_bytes(b"old a")
    with pytest.raises(OSError):
        replace_all_atomically([(first, b"new a"), (tmp_path / "no" / "b.txt", b"new b")])
    assert first.read_bytes() == b"old a"
    assert [p.name for p in tmp_path.iterdir()] == ["a.txt"]


def test_plan_raises_placer_error_for_a_folder_that_is_not_an_application(
        tmp_path: Path) -> None:
    layout = place(load_board("qemu_cortex_m3"), LlextConfig())
    with pytest.raises(PlacerError, match="not a Zephyr application"):
        application.plan(layout, tmp_path)


def test_applied_from_a_build_dir_the_custom_script_links_the_heap_at_the_layouts_address(
        tmp_path: Path) -> None:
    build = make_build_dir(tmp_path, CORTEX_M)
    app = _app(tmp_path)
    assert main(["place", "--build-dir", str(build.path), "--pin", ".llext_heap=0x20008000",
                 "--apply", str(app)]) == 0
    # The application's linker.ld is the build's own linker.cmd with the heap moved: the
    # build's objects linked with it put the heap where the layout says.
    relinked = tmp_path / "relinked.elf"
    relink(build, app / "linker.ld", relinked, check=True)
    assert symbols(build, relinked)["kheap_llext_heap"] == (0x20008000, 8 * 1024)
    assert 'CONFIG_CUSTOM_LINKER_SCRIPT="linker.ld"\n' in (app / "prj.conf").read_text()


def test_applied_from_a_build_dir_zephyrs_placement_gets_noinit_ld_and_its_cmake_line(
        tmp_path: Path) -> None:
    build = make_build_dir(tmp_path, CORTEX_M)
    app = _app(tmp_path)
    assert main(["place", "--build-dir", str(build.path), "--apply", str(app)]) == 0
    assert "*(.llext_heap)" in (app / "noinit.ld").read_text()
    assert "zephyr_linker_sources(NOINIT noinit.ld)" in (app / "CMakeLists.txt").read_text()
    before = _snapshot(app)
    assert main(["place", "--build-dir", str(build.path), "--apply", str(app)]) == 0
    assert _snapshot(app) == before


@pytest.mark.parametrize("pins", [(), ("--pin", ".llext_heap=0x20008000")],
                         ids=["noinit", "custom"])
def test_the_applied_prj_conf_loads_through_kconfig_with_every_value_of_the_layout(
        tmp_path: Path, pins: tuple[str, ...]) -> None:
    app = _app(tmp_path, "CONFIG_LLEXT=y\nCONFIG_PRINTK=y\n")
    out = tmp_path / "out"
    assert main(["place", *pins, "-o", str(out), "--apply", str(app)]) == 0
    values = read_kconfig_files([app / "prj.conf"])
    assert values.warnings == ()
    emitted = read_kconfig_files([out / "llext.conf"])
    for assignment in emitted.assignments:
        assert values.get(assignment.name) is not None, assignment.name
        assert values.get(assignment.name).text == assignment.text  # type: ignore[union-attr]
    assert values.get("PRINTK") is not None
