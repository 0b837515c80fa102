"""``placer verify --profile``: the verdicts of a verify with the whole build, from one file.

Each case builds a firmware image with the cross toolchain (Zephyr's export table by name
or by SLID, DWARF for the loader's structures), places the heaps for a shipped board,
writes the profile, then verifies the same extensions twice: in the build folder with the
layout, the image and the pre-loaded library, and in a fresh folder that holds only the
profile and the extensions. The reports must be byte for byte the same.
"""

from __future__ import annotations

import json
import re
import shlex
import shutil
from pathlib import Path

import pytest

from placer import records
from placer.cli import main
from placer.profile import read_profile
from tests.llext.profile_case import (
    CASES,
    LLEXT_BYTES,
    PRELOADED,
    Case,
    build_extensions,
    build_image,
    exports_object,
)
from tests.zephyr_build import CORTEX_M, Build, make_build_dir, relink, symbols

#: The extensions a developer checks (the pre-loaded library is the product's).
CHECKED = ["hello.llext", "app.llext", "big.llext", "typo.llext"]


@pytest.fixture(scope="module", params=sorted(CASES))
def firmware(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory,
             llext_dir: Path) -> tuple[Case, Path, Path]:
    """(case, build folder, developer folder): the build folder holds the image, the layout
    and every extension; the developer folder only the profile and the checked ones."""
    case = CASES[request.param]
    build = tmp_path_factory.mktemp(f"build-{request.param}")
    build_image(build, case)
    build_extensions(llext_dir, build, case)
    (build / "llext.conf").write_text(case.config or "CONFIG_LLEXT=y\n")
    status = main(["place", "--board", case.board, "--config", str(build / "llext.conf"),
                   "-o", str(build), "--emit", "json"])
    assert status == 0
    status = main(["profile", "--layout", str(build / "layout.json"), "--elf",
                   str(build / "zephyr.elf"), "--preload", str(build / f"{PRELOADED}.llext"),
                   "-o", str(build / "llext-profile.json")])
    assert status == 0
    developer = tmp_path_factory.mktemp(f"developer-{request.param}")
    for name in ["llext-profile.json", *CHECKED]:
        shutil.copy(build / name, developer / name)
    return case, build, developer


def _verify(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
            folder: Path, where: list[str], extra: list[str]) -> tuple[int, str]:
    monkeypatch.chdir(folder)
    capsys.readouterr()
    status = main(["verify", *where, *extra, *CHECKED])
    out = capsys.readouterr().out
    return status, out


_FULL = ["--layout", "layout.json", "--exports", "zephyr.elf", "--preload",
         f"{PRELOADED}.llext"]
_PROFILE = ["--profile", "llext-profile.json"]


@pytest.mark.parametrize("extra", [["--json"], ["--json", "--min-heap"],
                                   ["--json", "--order", "typo,app,-app,big,hello"],
                                   ["--format", "markdown"], []],
                         ids=["json", "min-heap", "order", "markdown", "text"])
def test_the_profile_alone_gives_the_full_verdicts(
        firmware: tuple[Case, Path, Path], extra: list[str],
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    _, build, developer = firmware
    full = _verify(capsys, monkeypatch, build, _FULL, extra)
    alone = _verify(capsys, monkeypatch, developer, _PROFILE, extra)
    if "markdown" in extra:
        # The same budget; only the line that says what it was checked against differs.
        full_lines = [line for line in full[1].splitlines() if not line.startswith("Checked")]
        alone_lines = [line for line in alone[1].splitlines()
                       if not line.startswith("Checked")]
        assert (full[0], full_lines) == (alone[0], alone_lines)
    else:
        assert alone == full


def test_the_reports_carry_what_the_firmware_decides(
        firmware: tuple[Case, Path, Path], capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    case, _, developer = firmware
    status, out = _verify(capsys, monkeypatch, developer, _PROFILE, ["--json"])
    report = json.loads(out)
    assert status == 1
    verdicts = {e["name"]: (e["ok"], e["error"] and e["error"]["errno"])
                for e in report["extensions"]}
    # The pre-loaded library loads first and app links against it; big does not fit;
    # typo's import is nowhere.
    assert report["order"][0] == PRELOADED
    assert verdicts == {"lib": (True, None), "hello": (True, None), "app": (True, None),
                        "big": (False, "ENOMEM"), "typo": (False, "ENOENT" if case.family
                                                            == "xtensa" else "ENODATA")}
    app = next(e for e in report["extensions"] if e["name"] == "app")
    assert app["dependencies"] == [PRELOADED]
    # sizeof(struct llext) came from the image's DWARF, through the profile.
    assert report["metadata_sizes"] == "DWARF of zephyr.elf"
    first = report["extensions"][0]["allocations"][0]
    assert (first["what"], first["requested"]) == ("struct llext", LLEXT_BYTES)


def test_the_markdown_budget_names_the_nearest_exports(
        firmware: tuple[Case, Path, Path], capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    case, _, developer = firmware
    status, out = _verify(capsys, monkeypatch, developer, _PROFILE, ["--format", "markdown"])
    assert status == 1
    assert out.startswith("## LLEXT admission check: ❌ FAIL: 2 of 5 extension(s) would "
                          "not load")
    if case.exports == "slid-prepared":
        assert ("| `k_slep` | none close (the image exports by SLID only: its names are not "
                "known) |") in out
    else:
        assert "| `k_slep` | `k_sleep` |" in out
    assert "### `big`" in out and "(Zephyr: -ENOMEM)" in out


def test_the_profile_carries_the_target_and_the_exports(
        firmware: tuple[Case, Path, Path]) -> None:
    case, _, developer = firmware
    profile = read_profile(developer / "llext-profile.json")
    board = profile.layout.target.board
    assert board.name == case.board
    # What the loader never reads stays out: used ranges, base script, provenance.
    assert board.used == () and board.base_script is None and board.source is None
    assert profile.layout.target.config.set_by == () and profile.layout.image == ()
    exports = profile.image.exports
    assert exports is not None
    assert exports.by_slid is (case.exports != "names")
    names = {s.name for s in exports.symbols}
    expected = {None} if case.exports == "slid-prepared" else {"printk", "k_sleep", "memcpy"}
    assert names == expected
    assert [p.name for p in profile.image.preloaded] == [PRELOADED]
    assert profile.image.metadata.llext == LLEXT_BYTES


def test_place_emits_the_same_profile_as_the_profile_command(
        firmware: tuple[Case, Path, Path], tmp_path: Path) -> None:
    case, build, _ = firmware
    conf, elf = str(build / "llext.conf"), str(build / "zephyr.elf")
    out = tmp_path / "out"
    assert main(["place", "--board", case.board, "--config", conf, "--elf", elf, "--emit",
                 "json,profile", "-o", str(out)]) == 0
    assert main(["profile", "--layout", str(out / "layout.json"), "--elf", elf, "-o",
                 str(tmp_path / "p.json")]) == 0
    assert (out / "llext-profile.json").read_bytes() == (tmp_path / "p.json").read_bytes()
    # From the board and configuration directly: the same placement, the same file.
    assert main(["profile", "--board", case.board, "--config", conf, "--elf", elf, "-o",
                 str(tmp_path / "q.json")]) == 0
    assert (tmp_path / "q.json").read_bytes() == (tmp_path / "p.json").read_bytes()


def test_place_needs_the_image_for_a_profile(capsys: pytest.CaptureFixture[str],
                                             tmp_path: Path) -> None:
    assert main(["place", "--emit", "profile", "-o", str(tmp_path / "out")]) == 2
    assert capsys.readouterr().err == (
        "placer place: error: --emit profile needs the built image for its export table "
        "and metadata sizes: give --elf zephyr.elf or --build-dir\n")
    assert not (tmp_path / "out").exists()


def test_the_profile_goes_beside_the_edk_flags(
        firmware: tuple[Case, Path, Path], tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    _, build, _ = firmware
    edk = tmp_path / "llext-edk"
    (edk / "include").mkdir(parents=True)
    argv = ["profile", "--layout", str(build / "layout.json"), "--elf",
            str(build / "zephyr.elf"), "--edk", str(edk)]
    assert main(argv) == 1
    assert capsys.readouterr().err == (
        f"{edk}: error: not an unpacked LLEXT EDK: it has no cmake.cflags or "
        "Makefile.cflags (unpack llext-edk.tar.xz and give the folder that holds them)\n")
    (edk / "cmake.cflags").write_text("set(LLEXT_CFLAGS -mthumb)\n")
    assert main(argv) == 0
    written = edk / "llext-profile.json"
    assert capsys.readouterr().out.startswith(f"wrote {written} (content_sha256 ")
    assert read_profile(written).layout == read_profile(build / "llext-profile.json").layout


def test_a_build_directory_gives_a_profile_with_the_heaps_where_the_image_has_them(
        tmp_path: Path, llext_dir: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    made = _build_dir_with_exports(tmp_path)
    zephyr = made.zephyr
    build_extensions(llext_dir, tmp_path, CASES["k_heap"])
    monkeypatch.chdir(tmp_path)
    assert main(["profile", "--build-dir", "build", "-o", "llext-profile.json"]) == 0
    assert "wrote llext-profile.json (content_sha256 " in capsys.readouterr().out
    profile = read_profile(tmp_path / "llext-profile.json")
    (heap,) = profile.layout.heaps
    assert heap.address == symbols(made, zephyr / "zephyr.elf")["kheap_llext_heap"][0]
    assert str(profile.layout.target.config.zephyr_version) == "4.4"
    # The same verdicts as verify with the build directory itself.
    full = _verify(capsys, monkeypatch, tmp_path, ["--build-dir", "build"], ["--json"])
    alone = _verify(capsys, monkeypatch, tmp_path, _PROFILE, ["--json"])
    assert alone == (full[0], full[1].replace("DWARF of build/zephyr/zephyr.elf",
                                              "DWARF of zephyr.elf"))


def _build_dir_with_exports(where: Path) -> Build:
    """A Zephyr build directory (``where/build``) whose image also has Zephyr's export
    table and DWARF for the loader's structures."""
    made = make_build_dir(where, CORTEX_M)
    extra = exports_object(made.zephyr, CORTEX_M.family, CORTEX_M.cflags)
    zephyr = made.zephyr
    relink(records.evolve(made, objects=(*made.objects, extra)), zephyr / "linker.cmd",
           zephyr / "zephyr.elf", zephyr / "zephyr.map", check=True)
    return made


README = Path(__file__).resolve().parents[2] / "README.md"


def _readme_commands(fence: str) -> list[list[str]]:
    """The ``placer`` commands of the README's admission section, in its `fence` blocks
    (continuation lines joined, a pipe and what follows it dropped)."""
    text = README.read_text(encoding="utf-8")
    section = text.split("## Admission checks in an extension repository's CI", 1)[1]
    section = section.split("\n## ", 1)[0]
    commands = []
    for block in re.findall(rf"```{fence}\n(.*?)```", section, flags=re.DOTALL):
        joined = re.sub(r"\\\n\s*", "", block)
        for line in joined.splitlines():
            line = line.strip().split("#", 1)[0].split("|", 1)[0]
            if line.startswith("placer "):
                commands.append(shlex.split(line)[1:])
    return commands


def test_the_readme_admission_job_runs_as_written(
        tmp_path: Path, llext_dir: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    # The firmware's side: a build, its shared library, an unpacked EDK.
    _build_dir_with_exports(tmp_path)
    built = build_extensions(llext_dir, tmp_path, CASES["k_heap"])
    shutil.copy(built["lib"], tmp_path / "build" / "libshared.llext")
    edk = tmp_path / "out" / "llext-edk"
    edk.mkdir(parents=True)
    (edk / "cmake.cflags").write_text("set(LLEXT_CFLAGS -mcpu=cortex-m4 -mthumb)\n")
    (edk / "Makefile.cflags").write_text("LLEXT_CFLAGS = -mcpu=cortex-m4 -mthumb\n")
    monkeypatch.chdir(tmp_path)
    (product,) = _readme_commands("sh")
    assert product[0] == "profile"
    assert main(product) == 0
    pinned = read_profile(edk / "llext-profile.json").content_sha256
    assert f"content_sha256 {pinned}" in capsys.readouterr().out
    # The extension's side: the EDK unpacked in the checkout, the extensions in build/.
    checkout = tmp_path / "extension"
    (checkout / "build").mkdir(parents=True)
    shutil.copytree(edk, checkout / "llext-edk")
    for name in ("hello", "app", "typo"):
        shutil.copy(built[name], checkout / "build" / f"{name}.llext")
    monkeypatch.chdir(checkout)
    (job,) = _readme_commands("yaml")
    assert job[0] == "verify"

    def expand(argument: str) -> list[str]:
        if "*" in argument:
            return sorted(str(p.relative_to(checkout)) for p in checkout.glob(argument))
        return [argument.replace("$PROFILE_SHA256", pinned)]

    argv = [expanded for argument in job for expanded in expand(argument)]
    capsys.readouterr()
    assert main(argv) == 1  # typo's import is nowhere: the job fails
    out = capsys.readouterr().out
    assert out.startswith("## LLEXT admission check: ❌ FAIL: 1 of 4 extension(s) would not "
                          "load; first: typo: -ENODATA")
    assert "| 2 | `app` | loads |" in out and "| `k_slep` | `k_sleep` |" in out
    # Another profile than the pinned one is refused.
    argv[argv.index(pinned)] = "0" * 64
    assert main(argv) == 1
    assert "this is not the profile the gate trusts" in capsys.readouterr().err


def test_a_pre_loaded_extension_that_does_not_load_is_refused(
        firmware: tuple[Case, Path, Path], tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    _, build, _ = firmware
    big = build / "big.llext"
    assert main(["profile", "--layout", str(build / "layout.json"), "--elf",
                 str(build / "zephyr.elf"), "--preload", str(big), "-o",
                 str(tmp_path / "p.json")]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"{big}: error: the pre-loaded extension would not load: cannot "
                          "allocate ")
    assert err.endswith("(Zephyr: -ENOMEM)\n")
    assert not (tmp_path / "p.json").exists()
