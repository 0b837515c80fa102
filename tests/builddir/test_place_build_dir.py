"""``placer place --build-dir``: from a build GNU ld really linked, to a script that puts
every heap where the layout says when the same objects are linked again."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from placer import elfguard
from placer.cli import main
from tests.zephyr_build import ARC_HARVARD, CORTEX_M, RISCV, Shape, make_build_dir, relink, symbols

SHAPES = [pytest.param(CORTEX_M, id="cortex-m"), pytest.param(RISCV, id="riscv"),
          pytest.param(ARC_HARVARD, id="arc-harvard")]


def _heap_addresses(layout: Path) -> dict[str, int]:
    return {h["section"]: h["address"] for h in json.loads(layout.read_text())["heaps"]}


@pytest.mark.parametrize("shape", SHAPES)
def test_relinking_with_the_emitted_script_puts_every_heap_at_the_layouts_address(
        shape: Shape, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    build = make_build_dir(tmp_path, shape, heap_kib=12)
    out = tmp_path / "out"
    assert main(["place", "--build-dir", str(build.path), "-o", str(out)]) == 0
    printed = capsys.readouterr().out
    line = next(x for x in printed.splitlines() if x.startswith("  linker script  "))
    assert line.split() == ["linker", "script", f"{build.zephyr}/linker.cmd", "MEMORY",
                            "regions,", "output", "sections"]
    relinked = tmp_path / "relinked.elf"
    relink(build, out / "linker.ld", relinked, check=True)
    found = symbols(build, relinked)
    expected = _heap_addresses(out / "layout.json")
    assert {section: found["kheap_" + section.lstrip(".")] for section in expected} == {
        section: (address, 12 * 1024) for section, address in expected.items()}
    # The image as built already had them there: the prediction is the link's own answer.
    original = symbols(build, build.zephyr / "zephyr.elf")
    assert {s: original["kheap_" + s.lstrip(".")][0] for s in expected} == expected


def test_the_emitted_script_is_the_builds_own_linker_cmd(tmp_path: Path) -> None:
    build = make_build_dir(tmp_path, CORTEX_M)
    out = tmp_path / "out"
    assert main(["place", "--build-dir", str(build.path), "-o", str(out)]) == 0
    script = (out / "linker.ld").read_text()
    for section in ("initlevel :", "device_area :", "k_heap_area :", "noinit (NOLOAD) :"):
        assert section in script


def test_build_dir_defaults_to_build(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    make_build_dir(tmp_path, CORTEX_M)
    monkeypatch.chdir(tmp_path)
    assert main(["place", "--build-dir", "--json"]) == 0
    captured = capsys.readouterr()
    assert captured.err.startswith("build directory build: Zephyr 4.4.0, board qemu_cortex_m3\n")
    assert json.loads(captured.out)["heaps"][0]["region"] == "RAM"


def test_build_dir_with_script_is_a_usage_error(tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["place", "--build-dir", str(tmp_path), "--script", "x.ld"]) == 2
    assert "--build-dir gives the linker script and the image" in capsys.readouterr().err


def test_a_missing_build_dir_is_an_input_error(tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["place", "--build-dir", str(tmp_path / "nope")]) == 1
    assert capsys.readouterr().err == (
        f"{tmp_path / 'nope'}: error: no such build directory (run `west build` first, or "
        "give --build-dir)\n")


@pytest.mark.parametrize("shape", SHAPES)
def test_a_bigger_bss_still_links_and_diff_reports_the_move(
        shape: Shape, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    before = make_build_dir(tmp_path / "before", shape, bss=4096)
    out = tmp_path / "out"
    assert main(["place", "--build-dir", str(before.path), "-o", str(out)]) == 0
    placed = json.loads((out / "layout.json").read_text())["heaps"]
    assert {h["address_source"] for h in placed} == {"measured"}
    # The application grows its .bss by 256 bytes and is built again.
    after = make_build_dir(tmp_path / "after", shape, bss=4096 + 256)
    relinked = tmp_path / "grown.elf"
    result = relink(after, out / "linker.ld", relinked)
    assert result.returncode == 0, result.stderr
    found = symbols(after, relinked)
    capsys.readouterr()
    # Heaps in .noinit follow .bss; ARC's, inside rodata and datas, come before it.
    follows_bss = [h for h in placed if h["placement"] == "noinit"]
    # Exit 1 either way: the region holding .bss has 256 bytes less free.
    assert main(["diff", str(out / "layout.json"), "--build-dir", str(after.path)]) == 1
    report = capsys.readouterr().out
    assert ("heaps: no change" in report) == (not follows_bss)
    for heap in placed:
        moved_to = found["kheap_" + heap["section"].lstrip(".")][0]
        if heap in follows_bss:
            assert moved_to >= heap["address"] + 256
            assert f"{heap['section']}: moved {heap['address']:#010x} -> {moved_to:#010x}" \
                in report
        else:
            assert moved_to == heap["address"]


def test_diff_needs_a_new_layout_or_a_build_dir(tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["diff", str(tmp_path / "old.json")]) == 2
    assert "compare OLD.json with NEW.json or with --build-dir" in capsys.readouterr().err


def test_verify_from_a_build_dir_uses_its_layout_and_image(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    build = make_build_dir(tmp_path, CORTEX_M)
    missing = tmp_path / "nothing.llext"
    assert main(["verify", str(missing), "--build-dir", str(build.path)]) == 1
    captured = capsys.readouterr()
    assert captured.out.startswith(f"build directory {build.path}: Zephyr 4.4.0")


def test_verify_from_a_build_dir_reads_the_image_once_per_stage(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Placing reads the image's sections and symbols (and checks the map against them),
    # verify its export table and DWARF sizes: one read and parse of zephyr.elf for each
    # stage, not one per thing read (it was four).
    build = make_build_dir(tmp_path, CORTEX_M)
    opened: list[str] = []
    real_open_elf = elfguard.open_elf

    def counting(path: str, **kwargs: Any) -> Any:
        opened.append(str(path))
        return real_open_elf(path, **kwargs)

    monkeypatch.setattr(elfguard, "open_elf", counting)
    assert main(["verify", str(tmp_path / "nothing.llext"), "--build-dir",
                 str(build.path)]) == 1
    assert opened == [str(build.zephyr / "zephyr.elf")] * 2


@pytest.mark.parametrize("shape", [pytest.param(CORTEX_M, id="cortex-m"),
                                   pytest.param(RISCV, id="riscv")])
def test_an_images_memblk_pool_is_recognised_by_the_buffer_name_zephyr_gives_it(
        shape: Shape, tmp_path: Path) -> None:
    # SYS_MEM_BLOCKS_DEFINE names the pool's buffer _sys_mem_blocks_buf_<name>: read under
    # another name, the image's own pool counted as used and a second one went after it.
    build = make_build_dir(tmp_path, shape, memblk=True, heap_kib=16)
    out = tmp_path / "out"
    assert main(["place", "--build-dir", str(build.path), "-o", str(out)]) == 0
    expected = _heap_addresses(out / "layout.json")
    assert set(expected) == {".llext_ext_heap", ".llext_metadata_heap"}
    buffers = {".llext_ext_heap": "_sys_mem_blocks_buf_llext_ext_heap",
               ".llext_metadata_heap": "kheap_llext_metadata_heap"}
    image = symbols(build, build.zephyr / "zephyr.elf")
    assert {s: image[buffers[s]][0] for s in expected} == expected
    relinked = tmp_path / "relinked.elf"
    relink(build, out / "linker.ld", relinked, check=True)
    found = symbols(build, relinked)
    assert {s: found[buffers[s]][0] for s in expected} == expected


@pytest.mark.parametrize("shape", SHAPES)
def test_an_orphan_heap_is_predicted_where_ld_puts_it_once_the_script_has_its_pattern(
        shape: Shape, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # A linker.cmd without the heap patterns: ld places each heap section as an orphan
    # (after the initialised data, with a load image in flash). Placer's script puts it
    # where Zephyr's would; the sections after the orphan then close its gap.
    build = make_build_dir(tmp_path, shape, heap_patterns=False)
    out = tmp_path / "out"
    assert main(["place", "--build-dir", str(build.path), "-o", str(out)]) == 0
    printed = capsys.readouterr().out
    heaps = json.loads((out / "layout.json").read_text())["heaps"]
    for heap in heaps:
        assert f"note: {build.zephyr}/zephyr.elf: {heap['section']} is an orphan output " \
            "section" in printed
        assert heap["address_source"] == "estimated"
    relinked = tmp_path / "relinked.elf"
    relink(build, out / "linker.ld", relinked, check=True)
    found = symbols(build, relinked)
    assert {h["section"]: found["kheap_" + h["section"].lstrip(".")][0] for h in heaps} == \
        {h["section"]: h["address"] for h in heaps}


def test_verify_and_diff_take_each_heap_where_the_builds_image_holds_it(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # The image was linked with a script that puts .llext_heap 512 bytes further than the
    # build's linker.cmd says: the image is what runs, so the layout diff and verify read
    # (and profile --build-dir writes) holds the heap where the image has it.
    build = make_build_dir(tmp_path, CORTEX_M)
    out = tmp_path / "out"
    assert main(["place", "--build-dir", str(build.path), "-o", str(out)]) == 0
    (placed,) = json.loads((out / "layout.json").read_text())["heaps"]
    script = (build.zephyr / "linker.cmd").read_text()
    assert script.count("        *(.llext_heap)\n") == 1
    padded = tmp_path / "padded.ld"
    padded.write_text(script.replace("        *(.llext_heap)\n",
                                     "        . = . + 0x200;\n        *(.llext_heap)\n"))
    relink(build, padded, build.zephyr / "zephyr.elf", build.zephyr / "zephyr.map", check=True)
    held = symbols(build, build.zephyr / "zephyr.elf")["kheap_llext_heap"][0]
    assert held == placed["address"] + 0x200
    capsys.readouterr()
    main(["diff", str(out / "layout.json"), "--build-dir", str(build.path)])
    assert f".llext_heap: moved {placed['address']:#010x} -> {held:#010x}" \
        in capsys.readouterr().out
