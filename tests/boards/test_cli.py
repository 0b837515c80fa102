"""The board and config subcommands, run through placer's command-line entry point."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

import placer
from placer.boardfile import read_board_file
from placer.cli import main
from tests.boards.link import image_program, link_assembly


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    status = main(list(argv))
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def test_boards_lists_every_shipped_board(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(capsys, "boards")
    assert status == 0
    lines = out.splitlines()
    assert lines[0].split() == ["BOARD", "ARCH", "CPU", "MEMORY", "PROTECTION"]
    assert len(lines) == 1 + len(placer.list_boards())
    assert any(line.startswith("qemu_cortex_m3 (default)  arm") for line in lines)


def test_boards_json(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(capsys, "boards", "--json")
    assert status == 0
    boards = json.loads(out)
    assert [b["name"] for b in boards] == list(placer.list_boards())
    nsim = next(b for b in boards if b["name"] == "nsim_em")
    assert nsim["harvard"] and nsim["mpu"] == {"kind": "arc-mpu", "requires_power_of_two": True,
                                               "granule": 2048, "version": 2}


def test_board_show_prints_regions_and_free_space(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(capsys, "board", "show", "qemu_cortex_m3")
    assert status == 0
    lines = out.splitlines()
    assert lines[0] == ("qemu_cortex_m3: QEMU lm3s6965evb: TI LM3S6965, Cortex-M3 (no MPU in "
                        "Zephyr), 256K flash, 64K SRAM")
    assert lines[1].endswith("protection: none; LLEXT_PAGE_SIZE 32")
    assert lines[-2].split() == ["FLASH", "0x00000000", "0x00040000", "256K", "rx", "both",
                                 "no", "25600", "236544", "code"]
    assert lines[-1].split() == ["RAM", "0x20000000", "0x20010000", "64K", "rwx", "both",
                                 "yes", "15360", "50176", ".noinit"]


def test_board_show_json(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(capsys, "board", "show", "esp32s3_devkitc", "--json")
    assert status == 0
    regions = {r["region"]: r for r in json.loads(out)["regions"]}
    # DRAM use (data, bss, noinit: 44 KiB) shows through the IRAM alias, plus 24K of IRAM code.
    assert regions["iram0_0_seg"]["used"] == 24 * 1024 + 44 * 1024
    assert regions["dram0_0_seg"]["notes"] == ".noinit, alias of iram0_0_seg"


def test_unknown_board_exits_1_without_a_traceback(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = run(capsys, "board", "show", "no_such_board")
    assert status == 1 and out == ""
    assert err.startswith("error: unknown board 'no_such_board'")


def test_board_import_from_script(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    script = placer.load_board("nsim_em").base_script
    assert script is not None
    output = tmp_path / "nsim.toml"
    status, out, _ = run(capsys, "board", "import", "--from-script", str(script), "-o",
                         str(output), "--name", "my_nsim", "--cpu", "arcem")
    assert status == 0
    assert out == f"wrote {output}: my_nsim, 2 regions, 0 used ranges\n"
    board = read_board_file(output)
    assert [r.name for r in board.regions] == ["ICCM", "DCCM"]
    assert board.base_script == script.resolve()


@pytest.mark.parametrize(("umask", "mode"), [(0o022, 0o644), (0o077, 0o600)])
def test_a_written_board_file_gets_the_umasks_mode(
        umask: int, mode: int, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # Written through a temporary file (mode 0600) and a rename: the file must still get
    # the mode any other tool would create it with.
    output = tmp_path / "board.toml"
    old = os.umask(umask)
    try:
        status, _, _ = run(capsys, "board", "import", "--board", "qemu_cortex_m3", "-o",
                           str(output))
    finally:
        os.umask(old)
    assert status == 0
    assert output.stat().st_mode & 0o777 == mode


def test_board_import_names_a_script_board_after_config_board(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    script = placer.load_board("nsim_em").base_script
    assert script is not None
    config = tmp_path / ".config"
    config.write_text('CONFIG_LLEXT=y\nCONFIG_BOARD="nsim"\n')
    output = tmp_path / "nsim.toml"
    status, out, _ = run(capsys, "board", "import", "--from-script", str(script),
                         "--config", str(config), "-o", str(output))
    assert status == 0 and out.startswith(f"wrote {output}: nsim, ")
    assert read_board_file(output).name == "nsim"


def test_board_import_takes_config_board_from_the_build_folder(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # Zephyr's build writes .config beside zephyr.dts and linker.cmd.
    script = placer.load_board("nsim_em").base_script
    assert script is not None
    build = tmp_path / "zephyr"
    build.mkdir()
    (build / "linker.cmd").write_bytes(script.read_bytes())
    (build / ".config").write_text('CONFIG_BOARD="nsim_em"\n')
    output = tmp_path / "board.toml"
    status, _, _ = run(capsys, "board", "import", "--from-script", str(build / "linker.cmd"),
                       "-o", str(output))
    assert status == 0 and read_board_file(output).name == "nsim_em"


def test_board_import_of_a_script_that_names_no_board_asks_for_a_name(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    script = tmp_path / "linker.cmd"
    script.write_text("MEMORY { RAM (rwx) : ORIGIN = 0, LENGTH = 64K }\n")
    output = tmp_path / "board.toml"
    status, _, err = run(capsys, "board", "import", "--from-script", str(script),
                         "--arch", "arm", "-o", str(output))
    assert status == 2
    assert err == (f"placer board import: error: {script} does not name its board: give "
                   "--name, or --config with the build's .config (CONFIG_BOARD)\n")
    assert not output.exists()


def test_board_import_names_a_devicetree_board_after_its_model(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    dts = tmp_path / "zephyr.dts"
    dts.write_text('/dts-v1/;\n/ {\n\tmodel = "QEMU Cortex-M3";\n'
                   '\tcompatible = "ti,lm3s6965evb-qemu", "ti,lm3s6965";\n'
                   '\t#address-cells = <1>;\n\t#size-cells = <1>;\n'
                   '\tchosen { zephyr,sram = &sram0; };\n'
                   '\tcpus { #address-cells = <1>; #size-cells = <0>;\n'
                   '\t\tcpu@0 { compatible = "arm,cortex-m3"; reg = <0>; }; };\n'
                   '\tsram0: memory@20000000 { reg = <0x20000000 0x10000>; };\n};\n')
    output = tmp_path / "board.toml"
    status, out, _ = run(capsys, "board", "import", "--from-dts", str(dts), "-o", str(output))
    assert status == 0 and out.startswith(f"wrote {output}: qemu_cortex_m3, ")
    dts.write_text(dts.read_text().replace('\tmodel = "QEMU Cortex-M3";\n', ""))
    status, out, _ = run(capsys, "board", "import", "--from-dts", str(dts), "-o", str(output))
    assert status == 0 and out.startswith(f"wrote {output}: lm3s6965evb_qemu, ")


def test_board_import_from_elf_updates_a_board(tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    board = placer.load_board("qemu_cortex_m3")
    elf = link_assembly(board, image_program(board), tmp_path)
    output = tmp_path / "built.toml"
    status, out, _ = run(capsys, "board", "import", "--from-elf", str(elf), "--board",
                         "qemu_cortex_m3", "-o", str(output))
    assert status == 0 and out.endswith("6 used ranges\n")
    assert [u.what for u in read_board_file(output).used] == [
        "text", "rodata", "datas load image", "datas", "bss", ".noinit"]


def test_board_import_needs_a_source(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status, _, err = run(capsys, "board", "import", "-o", str(tmp_path / "x.toml"))
    assert status == 2
    assert err == ("placer board import: error: give --from-script, --from-dts, or --from-elf "
                   "with --board\n")
    assert not (tmp_path / "x.toml").exists()


def test_failed_import_writes_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "zephyr.dts"
    bad.write_text("/dts-v1/;\n/ { chosen { };\n")
    output = tmp_path / "board.toml"
    status, _, err = run(capsys, "board", "import", "--from-dts", str(bad), "-o", str(output))
    assert status == 1 and "invalid devicetree" in err
    assert list(tmp_path.iterdir()) == [bad]


def test_import_into_a_missing_folder_is_an_error_not_a_traceback(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    output = tmp_path / "no-such-folder" / "board.toml"
    status, _, err = run(capsys, "board", "import", "--board", "qemu_cortex_m3", "-o",
                         str(output))
    assert status == 1
    assert err == f"{output}: error: cannot write board file: No such file or directory\n"


def test_import_onto_a_folder_leaves_no_temporary_file(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    output = tmp_path / "board.toml"
    output.mkdir()
    status, _, err = run(capsys, "board", "import", "--board", "qemu_cortex_m3", "-o",
                         str(output))
    assert status == 1
    assert err == f"{output}: error: cannot write board file: Is a directory\n"
    assert list(tmp_path.iterdir()) == [output]


def test_config_check_ok_prints_the_heaps(tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    conf = tmp_path / "prj.conf"
    conf.write_text("CONFIG_LLEXT=y\nCONFIG_LLEXT_HEAP_SIZE=16\n")
    status, out, err = run(capsys, "config", "check", str(conf), "--board", "qemu_cortex_m3")
    assert (status, err) == (0, "")
    assert out == "ok: qemu_cortex_m3, Zephyr 4.4: .llext_heap 16384 bytes\n"


def test_config_check_warns_but_passes(tmp_path: Path,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    conf = tmp_path / "prj.conf"
    conf.write_text("CONFIG_LLEXT=y\nCONFIG_LLEXT_HEAP_SIZE=16\n")
    status, out, err = run(capsys, "config", "check", str(conf), "--board", "nsim_em")
    assert status == 0
    assert err == (f"{conf}:2: warning: CONFIG_LLEXT_HEAP_SIZE=16 has no effect: Kconfig gives "
                   "it '', as it depends on !LLEXT_HEAP_DYNAMIC && !HARVARD && "
                   "!LLEXT_HEAP_MEMBLK && LLEXT, and !HARVARD does not hold\n")
    assert out.startswith("ok: nsim_em")


def test_config_check_violations_exit_1(tmp_path: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    conf = tmp_path / "prj.conf"
    conf.write_text("CONFIG_LLEXT=y\nCONFIG_LLEXT_HEAP_MEMBLK=y\nCONFIG_LLEXT_HEAP_DYNAMIC=y\n")
    status, out, err = run(capsys, "config", "check", str(conf), "--board", "qemu_cortex_m3")
    assert status == 1 and out == ""
    assert err == (
        f"{conf}:2: error: CONFIG_LLEXT_HEAP_MEMBLK, CONFIG_LLEXT_HEAP_DYNAMIC: the memblk "
        "backend has no dynamic heap (LLEXT_HEAP_MEMBLK depends on !LLEXT_HEAP_DYNAMIC)\n"
        "  fix: drop CONFIG_LLEXT_HEAP_DYNAMIC, or use CONFIG_LLEXT_HEAP_K_HEAP=y with the "
        "dynamic heap\n1 violation of LLEXT's rules on qemu_cortex_m3\n")


def test_config_check_models_an_older_zephyr(tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    conf = tmp_path / "prj.conf"
    conf.write_text("CONFIG_LLEXT_HEAP_MEMBLK=y\n")
    status, _, err = run(capsys, "config", "check", str(conf), "--zephyr-version", "4.3")
    assert status == 1
    assert "Zephyr 4.3 has no memblk backend" in err


def test_config_check_malformed_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    conf = tmp_path / "prj.conf"
    conf.write_text("LLEXT=y\n")
    status, _, err = run(capsys, "config", "check", str(conf))
    assert status == 1
    assert err.startswith(f"{conf}:1:1: error: expected `CONFIG_NAME=value`")


def test_bad_board_file_prints_file_line_error(tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "typo.toml"
    path.write_text('schema = 1\nname = "x"\narch = "arm"\ncpu = "m3"\nnoinit_region = "RAM"\n'
                    '[[region]]\nname = "RAM"\norigin = 0\nlenght = 4096\n')
    status, out, err = run(capsys, "board", "show", str(path))
    assert status == 1 and out == ""
    assert err.startswith(f"{path}:9: error: unknown key 'lenght' in [region]")
    assert "Traceback" not in err
