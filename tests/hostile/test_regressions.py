"""The sixteen defects of the hostile-input campaign (issue 13), each pinned with its exact
message: no traceback, no hang, no unbounded read, no half-written output.

D3/D4 (damaged images) and D6 (a layout field that breaks arithmetic) live in
test_damaged_inputs.py; D11-D14 (time and memory per input byte) in test_linear.py.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from placer.cli import main
from placer.cli.output import render

_ROOT = Path(__file__).resolve().parents[2]
_BOARDS = _ROOT / "boards"


def run_placer(argv: list[str], cwd: Path, *, file_size_limit: int | None = None,
               timeout: float = 60) -> subprocess.CompletedProcess[bytes]:
    """``python -m placer argv`` in its own process, so a hang is a timeout and a file-size
    limit (a disk that fills up) applies to it alone."""
    def limit() -> None:
        import resource
        import signal

        if file_size_limit is not None:
            # Writes past the limit fail with EFBIG instead of killing the process: a full
            # disk as the writer sees it.
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
            resource.setrlimit(resource.RLIMIT_FSIZE, (file_size_limit, file_size_limit))

    return subprocess.run([sys.executable, "-m", "placer", *argv], cwd=cwd,
                          capture_output=True, timeout=timeout, preexec_fn=limit,
                          check=False)


def run_main(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    status = main(argv)
    out, err = capsys.readouterr()
    return status, out, err


# -- D1: an #include'd file that is not UTF-8 ------------------------------------------------


def test_d1_an_included_header_with_a_latin1_comment_is_read(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "vendor.h").write_bytes(b"/* (c) Soci\xe9t\xe9 */\n#define ORG 0x1000\n")
    script = tmp_path / "board.ld"
    script.write_text('#include "vendor.h"\nSECTIONS { .text ORG : { *(.text) } }\n')
    assert run_main(["check", str(script)], capsys) == (0, "", "")


@pytest.mark.toolchain("arm")
def test_d1_an_included_header_with_a_latin1_comment_is_read_through_gcc(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "vendor.h").write_bytes(b"#define ORG 0x1000 /* Soci\xe9t\xe9 */\n")
    script = tmp_path / "board.ld"
    script.write_text('#include "vendor.h"\nSECTIONS { .text ORG : { *(.text) } }\n'
                      "x = ;\n")
    status, out, err = run_main(["memory", "--cpp", "arm-none-eabi-gcc", str(script)], capsys)
    assert (status, out) == (1, "")
    assert err.startswith(f"{script}:3:5: error: ")


# -- D2: a recursive #include -----------------------------------------------------------------


@pytest.mark.parametrize("command", ["check", "format", "memory"])
def test_d2_a_recursive_include_names_the_loop(
        command: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    Path("a.h").write_text('#include "b.h"\n')
    Path("b.h").write_text('#include "a.h"\n')
    Path("board.ld").write_text('#include "a.h"\nMEMORY { RAM : ORIGIN = 0, LENGTH = 4K }\n')
    status, out, err = run_main([command, "board.ld"], capsys)
    assert (status, out) == (1, "")
    assert err == ('a.h:1:10: error: #include nested depth 200 exceeds maximum of 200: '
                   'a.h includes itself (a.h -> b.h -> a.h)\n#include "b.h"\n         ^\n')


# -- D5: #ifdef followed by a vertical tab or a form feed ---------------------------------------


@pytest.mark.parametrize("space", ["\v", "\f", ""])
@pytest.mark.parametrize("directive", ["ifdef", "ifndef"])
def test_d5_ifdef_without_a_name_is_gccs_error(
        space: str, directive: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    script = tmp_path / "board.ld"
    script.write_text(f"#{directive}{space}\n#endif\nSECTIONS {{ }}\n")
    status, out, err = run_main(["check", str(script)], capsys)
    assert (status, out) == (1, "")
    assert err.startswith(f"{script}:1:2: error: no macro name given in #{directive} "
                          "directive\n")


# -- D7: board import from a file whose name is not UTF-8 ---------------------------------------


def test_d7_a_script_name_that_is_not_utf8_cannot_go_into_a_board_file(tmp_path: Path) -> None:
    name = os.fsdecode(b"b\xe9.ld")
    shutil.copy(_BOARDS / "qemu_cortex_m3.ld", tmp_path / name)
    done = run_placer(["board", "import", "--from-script", name, "--name", "b",
                       "-o", "b.toml"], tmp_path)
    assert (done.returncode, done.stdout) == (1, b"")
    assert done.stderr == (b"error: the base script's file name 'b\\xe9.ld' is not UTF-8, "
                           b"which a board file (UTF-8 TOML) cannot hold: rename the script\n")
    assert not (tmp_path / "b.toml").exists()


# -- D8: /dev/zero and FIFOs as any input -------------------------------------------------------


def _inputs(tmp_path: Path) -> dict[str, Path]:
    layout_dir = tmp_path / "placed"
    assert main(["place", "-o", str(layout_dir)]) == 0
    return {"layout": layout_dir / "layout.json", "board": _BOARDS / "qemu_cortex_m3.toml"}


#: (command, argv with {} for the hostile file, what the reader calls it). Each of these
#: read /dev/zero until memory ran out, and blocked forever on a FIFO.
_READERS = [
    ("place --script", ["place", "--script", "{}", "-o", "{out}"], "linker script"),
    ("board import --from-script",
     ["board", "import", "--from-script", "{}", "--name", "b", "-o", "{out}/b.toml"],
     "linker script"),
    ("diff old", ["diff", "{}", "{layout}"], "layout"),
    ("diff new", ["diff", "{layout}", "{}"], "layout"),
    ("verify --layout", ["verify", "--layout", "{}", "{layout}"], "layout"),
    ("verify --exports-list",
     ["verify", "--layout", "{layout}", "--exports-list", "{}", "{layout}"], "export list"),
    ("verify --exports", ["verify", "--layout", "{layout}", "--exports", "{}", "{layout}"],
     "image"),
    ("board import --from-dts",
     ["board", "import", "--from-dts", "{}", "--name", "b", "-o", "{out}/b.toml"],
     "devicetree"),
    ("board import --from-elf",
     ["board", "import", "--from-elf", "{}", "--board", "qemu_cortex_m3",
      "-o", "{out}/b.toml"], "image"),
    ("place --elf", ["place", "--elf", "{}", "-o", "{out}"], "image"),
    ("config check", ["config", "check", "{}"], "configuration file"),
    ("place --config", ["place", "--config", "{}", "-o", "{out}"], "configuration file"),
    ("check", ["check", "{}"], "linker script"),
    ("format", ["format", "{}"], "linker script"),
    ("memory", ["memory", "{}"], "linker script"),
    ("check --config", ["check", "{layout}", "--config", "{}"], "configuration file"),
]


def _special_file(special: str, folder: Path) -> tuple[Path, str]:
    """``/dev/zero``, or a new FIFO in `folder`, and how placer names its kind."""
    if special != "fifo":
        return Path(special), "a character device"
    fifo = folder / "fifo"
    os.mkfifo(fifo)
    return fifo, "a FIFO"


@pytest.mark.parametrize("special", ["/dev/zero", "fifo"])
@pytest.mark.parametrize(("command", "argv", "what"), _READERS, ids=[r[0] for r in _READERS])
def test_d8_a_device_or_fifo_is_refused_at_once(
        command: str, argv: list[str], what: str, special: str, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    known = _inputs(tmp_path)
    capsys.readouterr()
    hostile, kind = _special_file(special, tmp_path)
    out = tmp_path / "out"
    out.mkdir()
    filled = [a.format(str(hostile), out=out, layout=known["layout"]) for a in argv]
    status, stdout, err = run_main(filled, capsys)
    assert (status, stdout) == (1, "")
    assert err == f"{hostile}: error: cannot read the {what}: it is {kind}, not a regular file\n"
    assert list(out.iterdir()) == []


def test_d8_an_extension_that_is_a_device_is_that_extensions_refusal(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    known = _inputs(tmp_path)
    capsys.readouterr()
    status, out, err = run_main(["verify", "--layout", str(known["layout"]), "/dev/zero"],
                                capsys)
    assert (status, err) == (1, "")
    assert ("error: cannot read the file: it is a character device, not a regular file "
            "(Zephyr: -ENOENT)") in out


# -- D9: #include of a FIFO or a device ---------------------------------------------------------


@pytest.mark.parametrize("special", ["/dev/zero", "fifo"])
def test_d9_an_include_of_a_fifo_or_device_is_refused_at_the_directive(
        special: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target, kind = _special_file(special, tmp_path)
    script = tmp_path / "board.ld"
    script.write_text(f'#include "{target}"\nSECTIONS {{ }}\n')
    status, out, err = run_main(["check", str(script)], capsys)
    assert (status, out) == (1, "")
    assert err == (f"{script}:1:10: error: cannot #include {target}: it is {kind}, not a "
                   f'regular file\n#include "{target}"\n         ^\n')


@pytest.mark.toolchain("arm")
def test_d9_gcc_stuck_on_a_fifo_is_stopped_by_the_timeout(tmp_path: Path) -> None:
    from placer.errors import ScriptError
    from placer.script.preprocess import preprocess_file

    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    script = tmp_path / "board.ld"
    script.write_text(f'#include "{fifo}"\nSECTIONS {{ }}\n')
    with pytest.raises(ScriptError) as caught:
        preprocess_file(script, cpp="arm-none-eabi-gcc", cpp_timeout=1.0)
    assert render(caught.value) == (
        f"{script}:1:1: error: arm-none-eabi-gcc did not finish within 1 s (does an "
        "#include name a FIFO or a device?)")
    # The driver's cc1, blocked on the FIFO, goes with it: nothing outlives placer.
    assert _processes_naming(script) == []


def _processes_naming(path: Path) -> list[int]:
    """Process ids whose command line names `path`."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            arguments = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:  # not a process, or it ended meanwhile
            continue
        if os.fsencode(path) in arguments:
            found.append(int(entry.name))
    return found


# -- D10: a board whose base_script is a device -------------------------------------------------


def test_d10_a_base_script_that_is_a_device_stops_before_the_layout_is_printed(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = (_BOARDS / "qemu_cortex_m3.toml").read_text()
    board = tmp_path / "board.toml"
    board.write_text("\n".join('base_script = "/dev/zero"' if line.startswith("base_script")
                               else line for line in text.splitlines()) + "\n")
    status, out, err = run_main(["place", "--board", str(board), "-o", str(tmp_path / "o")],
                                capsys)
    assert (status, out) == (1, "")
    assert err == ("/dev/zero: error: cannot read the linker script: it is a character "
                   "device, not a regular file\n")
    assert not (tmp_path / "o").exists()


# -- D15: place -o DIR where one artefact's name is a folder ------------------------------------


def _snapshot(folder: Path) -> dict[str, bytes | None]:
    return {p.name: (p.read_bytes() if p.is_file() else None) for p in folder.iterdir()}


def test_d15_a_folder_in_place_of_one_artefact_changes_nothing(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    assert main(["place", "-o", str(out)]) == 0
    (out / "llext.conf").unlink()
    (out / "llext.conf").mkdir()
    before = _snapshot(out)
    capsys.readouterr()
    status, _, err = run_main(["place", "--reserve", "512", "-o", str(out)], capsys)
    assert status == 1
    assert err == (f"{out / 'llext.conf'}: error: cannot write: it exists and is not a "
                   "regular file (nothing was changed)\n")
    assert _snapshot(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_d15_a_rename_that_fails_midway_puts_the_replaced_files_back(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from placer import _files

    out = tmp_path / "out"
    _files.replace_files_atomically(out, {"a": b"old a", "b": b"old b"})
    real_replace = os.replace
    calls = []

    def fail_on_the_third(source: str | Path, target: str | Path) -> None:
        calls.append(target)
        if len(calls) == 3:
            raise OSError(28, "No space left on device")
        real_replace(source, target)

    monkeypatch.setattr(_files.os, "replace", fail_on_the_third)
    with pytest.raises(OSError):
        _files.replace_files_atomically(out, {"a": b"new a", "b": b"new b", "c": b"new c"})
    monkeypatch.undo()
    assert _snapshot(out) == {"a": b"old a", "b": b"old b"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


# -- D16: verify --dump-image on a full disk ----------------------------------------------------


@pytest.mark.toolchain("arm")
def test_d16_a_dump_that_fills_the_disk_leaves_nothing(tmp_path: Path) -> None:
    from tests.llext.build import build_extension

    source = ("char big[3000] = {1};\nconst char table[200] = {2};\n"
              "int f(void) { return big[0] + table[0]; }\n")
    ext = build_extension(tmp_path, "arm", "fill", source).path
    assert main(["place", "-o", str(tmp_path / "placed")]) == 0
    layout = tmp_path / "placed" / "layout.json"
    dump = tmp_path / "dump"
    done = run_placer(["verify", "--layout", str(layout), "--dump-image", str(dump),
                       str(ext)], tmp_path, file_size_limit=2048)
    assert done.returncode == 1
    assert done.stderr.decode() == (f"placer verify: error: cannot write the image to {dump}: "
                                    "File too large\n")
    assert not dump.exists()
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []
