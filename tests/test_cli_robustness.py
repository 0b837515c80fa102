"""Hostile input never gets a Python traceback out of the ``placer`` command.

Every subcommand is driven in-process through `placer.cli.main` with missing files,
directories, empty files, random bytes, invalid UTF-8, truncated and mutated copies of real
inputs (a shipped board file and its script, a layout JSON from ``placer place``, an
extension ELF built with arm-none-eabi-gcc, a .config, a zephyr.dts), huge numbers, deep
nesting and unwritable outputs. The contract pinned here: no exception escapes `main` but
argparse's SystemExit(2); a failure exits 1 (a problem in the input: bad content, or a
missing or unreadable file) or 2 (usage), each case pinned to its status, with a diagnostic
on stderr that starts with a file name, ``placer``, ``usage:`` or ``error:``; and a failed run
leaves its output folder as it found it, with no temporary file beside it.
"""

from __future__ import annotations

import contextlib
import io
import re
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from placer import records
from placer.cli import main
from tests.llext.build import build_extension

_BOARDS = Path(__file__).resolve().parent.parent / "boards"

#: The first line of a diagnostic: ``file:line:col: error: ...``, ``file: error: ...``,
#: ``placer <command>: error: ...``, argparse's ``usage: ...`` or a bare ``error: ...``.
_DIAGNOSTIC = re.compile(r"(usage: |error: |placer\b|[^\s:][^:\n]*:(\d+:)*\s)")

_EXTENSION_SOURCE = """\
int counter = 3;
static const char greeting[] = "hello";
int bump(int by) { counter += by; return counter + greeting[0]; }
"""

_DTS = """\
/dts-v1/;
/ {
\t#address-cells = <1>;
\t#size-cells = <1>;
\tcompatible = "snps,nsim";
\tchosen {
\t\tzephyr,sram = &dccm0;
\t\tzephyr,flash = &iccm0;
\t};
\tcpus {
\t\t#address-cells = <1>;
\t\t#size-cells = <0>;
\t\tcpu@0 { compatible = "snps,arcem"; device_type = "cpu"; reg = <0>; };
\t};
\ticcm0: iccm@0 { compatible = "arc,iccm"; reg = <0x0 0x80000>; };
\tdccm0: dccm@80000000 { compatible = "arc,dccm"; reg = <0x80000000 0x80000>; };
};
"""

_CONFIG = """\
CONFIG_LLEXT=y
CONFIG_LLEXT_HEAP_SIZE=16
CONFIG_LLEXT_STORAGE_WRITABLE=y
# CONFIG_LLEXT_HEAP_DYNAMIC is not set
"""


@records.frozen
class Inputs:
    """Real, valid inputs of every kind placer reads, to truncate and mutate."""

    folder: Path
    board: Path
    script: Path
    layout: Path
    extension: Path
    dts: Path
    config: Path
    exports: Path
    profile: Path


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> Inputs:
    """Valid inputs, each checked to be accepted before it is mutated."""
    folder = tmp_path_factory.mktemp("valid")
    board = folder / "frdm_k64f.toml"
    script = folder / "frdm_k64f.ld"
    shutil.copy(_BOARDS / "frdm_k64f.toml", board)
    shutil.copy(_BOARDS / "frdm_k64f.ld", script)
    placed = folder / "placed"
    with contextlib.redirect_stdout(io.StringIO()):
        assert main(["place", "-o", str(placed)]) == 0
    layout = folder / "layout.json"
    shutil.copy(placed / "layout.json", layout)
    extension = build_extension(folder, "arm", "robust", _EXTENSION_SOURCE).path
    dts = folder / "zephyr.dts"
    dts.write_text(_DTS)
    config = folder / "prj.conf"
    config.write_text(_CONFIG)
    exports = folder / "exports.txt"
    exports.write_text("printk 0x1000\n")
    profile = folder / "llext-profile.json"
    with contextlib.redirect_stdout(io.StringIO()):
        assert main(["profile", "--layout", str(layout), "--exports-list", str(exports),
                     "-o", str(profile)]) == 0
    return Inputs(folder, board, script, layout, extension, dts, config, exports, profile)


@records.frozen
class Outcome:
    """What one run of `main` did."""

    status: int
    out: str
    err: str


def run(capsysbinary: pytest.CaptureFixture[bytes], argv: list[str]) -> Outcome:
    """`main(argv)`; only argparse's SystemExit is caught, so any other exception fails the
    test with the traceback a user would have seen."""
    capsysbinary.readouterr()
    try:
        status = main(argv)
    except SystemExit as exc:
        assert exc.code == 2, f"SystemExit({exc.code!r}) from {argv}"
        status = 2
    out, err = capsysbinary.readouterr()
    # format writes a script's own bytes back, so stdout need not be UTF-8.
    return Outcome(status, out.decode("utf-8", "surrogateescape"),
                   err.decode("utf-8", "surrogateescape"))


def assert_clean(outcome: Outcome, argv: list[str], *, report_on_stdout: bool = False) -> None:
    """A success, or a failure with exit 1/2 and a diagnostic (stderr, or the verify report
    when `report_on_stdout`)."""
    assert outcome.status in (0, 1, 2), (argv, outcome)
    if outcome.status == 0:
        return
    text = outcome.err or (outcome.out if report_on_stdout else "")
    assert text.strip(), f"{argv} exited {outcome.status} silently"
    if outcome.err:
        assert _DIAGNOSTIC.match(outcome.err), (argv, outcome.err)


@contextlib.contextmanager
def output_folder() -> Iterator[Path]:
    """A fresh folder holding an empty ``out`` folder, removed afterwards."""
    with tempfile.TemporaryDirectory(prefix="placer-robust-") as name:
        out = Path(name) / "out"
        out.mkdir()
        yield out


def assert_no_half_output(out: Path, outcome: Outcome) -> None:
    """No temporary file is left next to or in `out`; a failure wrote nothing into it."""
    leftovers = [p.name for p in (*out.parent.iterdir(), *out.iterdir())
                 if p.name.startswith(".") or p.suffix == ".tmp"]
    assert leftovers == [], leftovers
    if outcome.status != 0:
        assert list(out.iterdir()) == [], sorted(p.name for p in out.iterdir())


# -- Commands, one per way a file reaches placer ------------------------------------------

#: (kind of input, argv builder from (the hostile file, the valid inputs, an output folder),
#: whether a bad file is reported in the stdout report rather than as a diagnostic).
Command = Callable[[Path, Inputs, Path], list[str]]

COMMANDS: dict[str, tuple[str, Command, bool]] = {
    "place --board": ("board", lambda p, v, o: ["place", "--board", str(p), "-o", str(o)],
                      False),
    "board show": ("board", lambda p, v, o: ["board", "show", str(p)], False),
    "config check --board": ("board", lambda p, v, o: ["config", "check", "--board", str(p),
                                                        str(v.config)], False),
    "check": ("script", lambda p, v, o: ["check", str(p)], False),
    "format": ("script", lambda p, v, o: ["format", str(p)], False),
    "format -i": ("script", lambda p, v, o: ["format", "-i", str(p)], False),
    "memory": ("script", lambda p, v, o: ["memory", "--json", str(p)], False),
    "place --script": ("script", lambda p, v, o: ["place", "--script", str(p), "-o", str(o)],
                       False),
    "board import --from-script": ("script", lambda p, v, o: [
        "board", "import", "--from-script", str(p), "--name", "robust",
        "-o", str(o / "board.toml")], False),
    "diff": ("layout", lambda p, v, o: ["diff", str(v.layout), str(p)], False),
    "verify --layout": ("layout", lambda p, v, o: ["verify", "--layout", str(p),
                                                   str(v.extension)], False),
    "verify EXT": ("extension", lambda p, v, o: [
        "verify", "--layout", str(v.layout), "--dump-image", str(o), str(p)], True),
    "verify --exports": ("extension", lambda p, v, o: [
        "verify", "--layout", str(v.layout), "--exports", str(p), str(v.extension)], False),
    "place --elf": ("extension", lambda p, v, o: ["place", "--elf", str(p), "-o", str(o)],
                    False),
    "board import --from-elf": ("extension", lambda p, v, o: [
        "board", "import", "--from-elf", str(p), "--board", "qemu_cortex_m3",
        "-o", str(o / "board.toml")], False),
    "board import --from-dts": ("dts", lambda p, v, o: [
        "board", "import", "--from-dts", str(p), "-o", str(o / "board.toml")], False),
    "config check": ("config", lambda p, v, o: ["config", "check", str(p)], False),
    "place --config": ("config", lambda p, v, o: ["place", "--config", str(p), "-o", str(o)],
                       False),
    "check --config": ("config", lambda p, v, o: ["check", "--config", str(p), str(v.script)],
                       False),
    "verify --profile": ("profile", lambda p, v, o: ["verify", "--profile", str(p),
                                                     str(v.extension)], False),
    "profile --layout": ("layout", lambda p, v, o: [
        "profile", "--layout", str(p), "--exports-list", str(v.exports), "-o",
        str(o / "p.json")], False),
    "profile --preload": ("extension", lambda p, v, o: [
        "profile", "--layout", str(v.layout), "--exports-list", str(v.exports), "--preload",
        str(p), "-o", str(o / "p.json")], False),
    "verify --board --config": ("config", lambda p, v, o: [
        "verify", str(v.extension), "--board", "qemu_cortex_m3", "--config", str(p)], False),
}

_SUFFIX = {"board": ".toml", "script": ".ld", "layout": ".json", "extension": ".llext",
           "dts": ".dts", "config": ".conf", "profile": ".json"}


def valid_bytes(inputs: Inputs, kind: str) -> bytes:
    """The valid input of `kind`."""
    path: Path = getattr(inputs, kind)
    return path.read_bytes()


def drive(capsysbinary: pytest.CaptureFixture[bytes], inputs: Inputs, name: str,
          content: bytes | None, make: Callable[[Path], None] | None = None) -> Outcome:
    """Run command `name` on a file holding `content` (or made by `make`) and check the
    contract; returns what happened."""
    kind, build, on_stdout = COMMANDS[name]
    with output_folder() as out:
        hostile = out.parent / f"input{_SUFFIX[kind]}"
        if kind == "board":
            # The board file names its base script beside it.
            shutil.copy(inputs.script, out.parent / inputs.script.name)
        if make is not None:
            make(hostile)
        elif content is not None:
            hostile.write_bytes(content)
        argv = build(hostile, inputs, out)
        outcome = run(capsysbinary, argv)
        assert_clean(outcome, argv, report_on_stdout=on_stdout)
        # A well-formed file whose values cannot be placed is an Infeasible about the heap,
        # not about the file.
        infeasible = outcome.err.startswith("error: cannot place ")
        if outcome.status != 0 and name != "format -i" and not infeasible:
            assert str(hostile) in outcome.err + outcome.out, (argv, outcome)
        assert_no_half_output(out, outcome)
        if name == "format -i" and outcome.status != 0 and content is not None:
            assert hostile.read_bytes() == content, "format -i changed a file it rejected"
        return outcome


# -- Missing, folder, empty -------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_a_missing_input_is_a_diagnostic_naming_it(
        name: str, inputs: Inputs, capsysbinary: pytest.CaptureFixture[bytes]) -> None:
    outcome = drive(capsysbinary, inputs, name, None)
    assert outcome.status == 1


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_a_folder_where_a_file_belongs_is_a_diagnostic_naming_it(
        name: str, inputs: Inputs, capsysbinary: pytest.CaptureFixture[bytes]) -> None:
    outcome = drive(capsysbinary, inputs, name, None, make=lambda p: p.mkdir())
    assert outcome.status == 1


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_an_empty_file_never_gets_a_traceback(
        name: str, inputs: Inputs, capsysbinary: pytest.CaptureFixture[bytes]) -> None:
    drive(capsysbinary, inputs, name, b"")


# -- Random, truncated and mutated content ------------------------------------------------


def hostile_versions(valid: bytes) -> st.SearchStrategy[bytes]:
    """Random bytes, a truncation, a splice of random bytes, or an invalid UTF-8 prefix of
    `valid`."""
    size = len(valid)
    return st.one_of(
        st.binary(max_size=200),
        st.integers(0, size).map(lambda n: valid[:n]),
        st.tuples(st.integers(0, size), st.integers(0, 16), st.binary(min_size=1, max_size=8))
        .map(lambda t: valid[:t[0]] + t[2] + valid[t[0] + t[1]:]),
        st.integers(0, size).map(lambda n: valid[:n] + b"\xff\xc0\x85" + valid[n:]),
        st.tuples(st.integers(0, size), st.sampled_from(_TOKENS))
        .map(lambda t: valid[:t[0]] + t[1] + valid[t[0]:]),
    )


#: Tokens that break parsers at their edges: a bad octal, huge numbers, deep nesting,
#: unbalanced delimiters.
_TOKENS = (b"099", b"9" * 5000, b"0x" + b"f" * 40, b"(" * 3000, b"[" * 3000, b"{" * 3000,
           b"-" * 3000, b'"', b"/*", b"<", b"}", b";", b"=")


_FUZZ = settings(max_examples=30, deadline=None, derandomize=True,
                 suppress_health_check=[HealthCheck.function_scoped_fixture,
                                        HealthCheck.too_slow])


@pytest.mark.parametrize("name", sorted(COMMANDS))
@_FUZZ
@given(data=st.data())
def test_mangled_input_never_gets_a_traceback(
        name: str, inputs: Inputs, capsysbinary: pytest.CaptureFixture[bytes],
        data: st.DataObject) -> None:
    valid = valid_bytes(inputs, COMMANDS[name][0])
    drive(capsysbinary, inputs, name, data.draw(hostile_versions(valid), label="content"))


# -- Huge numbers and deep nesting ----------------------------------------------------------

_SCRIPT_COMMANDS = sorted(n for n, (kind, _, _) in COMMANDS.items() if kind == "script")


@pytest.mark.parametrize("text", [
    "MEMORY { RAM (rwx) : ORIGIN = 0x" + "f" * 80 + ", LENGTH = 4K }\n",
    "MEMORY { RAM (rwx) : ORIGIN = " + "9" * 5000 + ", LENGTH = 4K }\n",
    "MEMORY { RAM (rwx) : ORIGIN = 0, LENGTH = 1 << 4000 }\n",
    "MEMORY { RAM (rwx) : ORIGIN = 0, LENGTH = " + "(" * 3000 + "1" + ")" * 3000 + " }\n",
    "MEMORY { RAM (rwx) : ORIGIN = 0, LENGTH = " + "1+" * 5000 + "1 }\n",
    "MEMORY { RAM (rwx) : ORIGIN = 0, LENGTH = " + "-" * 5000 + "1 }\n",
    "MEMORY { RAM (rwx) : ORIGIN = 0, LENGTH = 4K / 0 }\n",
], ids=["wide-hex", "long-decimal", "huge-shift", "deep-parens", "long-sum", "deep-unary",
        "divide-by-zero"])
@pytest.mark.parametrize("name", _SCRIPT_COMMANDS)
def test_huge_numbers_and_deep_nesting_in_a_script(
        name: str, text: str, inputs: Inputs, capsysbinary: pytest.CaptureFixture[bytes]) -> None:
    drive(capsysbinary, inputs, name, text.encode())


@pytest.mark.parametrize("mutation", [
    ("0x20000000", "0x" + "f" * 40),
    ("0x20000000", "9" * 5000),
    ("0x20000000", "-1"),
    ("0x20000000", "[" * 2000 + "1" + "]" * 2000),
], ids=["wide-hex", "long-decimal", "negative", "deep-array"])
@pytest.mark.parametrize("name", ["place --board", "board show", "config check --board"])
def test_huge_numbers_and_deep_nesting_in_a_board_file(
        name: str, mutation: tuple[str, str], inputs: Inputs,
        capsysbinary: pytest.CaptureFixture[bytes]) -> None:
    old, new = mutation
    text = inputs.board.read_text()
    assert old in text
    drive(capsysbinary, inputs, name, text.replace(old, new, 1).encode())


@pytest.mark.parametrize("value", ["9" * 5000, "0x" + "f" * 40, "-1", '"' + "x" * 100],
                         ids=["long-decimal", "wide-hex", "negative", "unterminated-string"])
@pytest.mark.parametrize("name", ["config check", "place --config", "check --config"])
def test_huge_numbers_in_a_config(name: str, value: str, inputs: Inputs,
                                  capsysbinary: pytest.CaptureFixture[bytes]) -> None:
    drive(capsysbinary, inputs, name, f"CONFIG_LLEXT_HEAP_SIZE={value}\n".encode())


@pytest.mark.parametrize("value", ["9" * 5000, "-1", "1e999", "[" * 5000 + "]" * 5000],
                         ids=["long-decimal", "negative", "infinite-float", "deep-array"])
@pytest.mark.parametrize("name", ["diff", "verify --layout"])
def test_huge_numbers_and_deep_nesting_in_a_layout(
        name: str, value: str, inputs: Inputs,
        capsysbinary: pytest.CaptureFixture[bytes]) -> None:
    text = inputs.layout.read_text()
    assert '"origin": 0,' in text
    mangled = text.replace('"origin": 0,', f'"origin": {value},', 1)
    drive(capsysbinary, inputs, name, mangled.encode())


# -- Outputs that cannot be written ----------------------------------------------------------


def _writers(inputs: Inputs, target: Path) -> list[list[str]]:
    return [
        ["place", "-o", str(target)],
        ["board", "import", "--board", "qemu_cortex_m3", "-o", str(target)],
        ["board", "import", "--from-script", str(inputs.script), "--name", "robust",
         "-o", str(target)],
        ["verify", "--layout", str(inputs.layout), "--dump-image", str(target),
         str(inputs.extension)],
    ]


@pytest.mark.parametrize("where", ["under-a-file", "proc"])
def test_an_output_that_cannot_be_written_is_a_diagnostic(
        where: str, inputs: Inputs, capsysbinary: pytest.CaptureFixture[bytes]) -> None:
    with output_folder() as out:
        blocker = out.parent / "blocker"
        blocker.write_text("keep me\n")
        target = {"under-a-file": blocker / "sub",
                  "proc": Path("/proc/placer-cannot-write-here")}[where]
        for argv in _writers(inputs, target):
            outcome = run(capsysbinary, argv)
            assert_clean(outcome, argv, report_on_stdout=True)
            assert outcome.status == 1, (argv, outcome)
            assert str(target) in outcome.err or str(target.parent) in outcome.err, outcome
            assert blocker.read_text() == "keep me\n"
            assert sorted(p.name for p in out.parent.iterdir()) == ["blocker", "out"]


def test_place_onto_an_existing_file_is_a_diagnostic(
        inputs: Inputs, capsysbinary: pytest.CaptureFixture[bytes]) -> None:
    with output_folder() as out:
        target = out / "a-file"
        target.write_text("keep me\n")
        outcome = run(capsysbinary, ["place", "-o", str(target)])
        assert outcome.status == 1 and str(target) in outcome.err
        assert target.read_text() == "keep me\n"
        assert [p.name for p in out.iterdir()] == ["a-file"]
        assert sorted(p.name for p in out.parent.iterdir()) == ["out"]


# -- Pinned messages of tracebacks this file found -----------------------------------------


def test_a_config_that_is_not_utf8_is_pinned_to_its_byte(
        inputs: Inputs, tmp_path: Path, capsysbinary: pytest.CaptureFixture[bytes]) -> None:
    config = tmp_path / "bad.conf"
    config.write_bytes(b"CONFIG_LLEXT=y\nCONFIG_X=\x85\n")
    outcome = run(capsysbinary, ["check", "--config", str(config), str(inputs.script)])
    assert outcome.status == 1 and outcome.out == ""
    assert outcome.err == (
        f"{config}:2:10: error: cannot read the configuration file: not UTF-8 text (byte 0x85)\n")


def test_place_script_keeps_a_latin1_comment_byte_instead_of_a_traceback(
        inputs: Inputs, tmp_path: Path, capsysbinary: pytest.CaptureFixture[bytes]) -> None:
    script = tmp_path / "linker.cmd"
    script.write_bytes(b"/* (c) J\xf6rg */\n" + inputs.script.read_bytes())
    out = tmp_path / "out"
    outcome = run(capsysbinary, ["place", "--board", "frdm_k64f", "--script", str(script),
                                 "-o", str(out)])
    assert outcome.status == 0, outcome.err
    assert b"J\xf6rg" in (out / "linker.ld").read_bytes()


def test_a_layout_number_longer_than_python_converts_is_pinned_to_its_place(
        inputs: Inputs, tmp_path: Path, capsysbinary: pytest.CaptureFixture[bytes]) -> None:
    layout = tmp_path / "new.json"
    layout.write_text('{\n  "origin": ' + "9" * 5000 + "\n}\n")
    outcome = run(capsysbinary, ["diff", str(inputs.layout), str(layout)])
    assert outcome.status == 1 and outcome.out == ""
    assert outcome.err == f"{layout}:2:13: error: number of 5000 digits is too long\n"


def test_a_layout_nested_deeper_than_python_recurses_is_a_layout_error(
        inputs: Inputs, tmp_path: Path, capsysbinary: pytest.CaptureFixture[bytes]) -> None:
    layout = tmp_path / "new.json"
    layout.write_text("[" * 100_000 + "]" * 100_000)
    outcome = run(capsysbinary, ["verify", "--layout", str(layout), str(inputs.extension)])
    assert outcome.status == 1 and outcome.out == ""
    assert outcome.err == f"{layout}: error: arrays or objects nest too deeply\n"


def test_a_script_byte_that_is_not_utf8_is_shown_escaped_in_the_diagnostic(
        tmp_path: Path, capsysbinary: pytest.CaptureFixture[bytes]) -> None:
    script = tmp_path / "bad.ld"
    script.write_bytes(b"\x80\n")
    outcome = run(capsysbinary, ["check", str(script)])
    assert outcome.status == 1
    assert outcome.err == f"{script}:1:1: error: unexpected character `\\x80`\n\\x80\n^\n"


def test_a_dts_number_that_is_not_octal_is_a_board_error(
        tmp_path: Path, capsysbinary: pytest.CaptureFixture[bytes]) -> None:
    dts = tmp_path / "zephyr.dts"
    dts.write_text("/dts-v1/;\n/ { x = <099>; };\n")
    output = tmp_path / "board.toml"
    outcome = run(capsysbinary, ["board", "import", "--from-dts", str(dts), "-o", str(output)])
    assert outcome.status == 1 and outcome.out == ""
    assert outcome.err == (f"{dts}: error: invalid devicetree: invalid literal for int() with "
                           "base 8: '099'\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["zephyr.dts"]


# -- Option values -------------------------------------------------------------------------


#: Exit status of an option value of the wrong form or naming what does not exist (a
#: region the board does not have, an extension not given): the command line must change.
USAGE = 2
#: Exit status of an option value the input cannot satisfy (a pinned address that is not
#: aligned) or of a file that cannot be read.
INPUT = 1


def _bad_options(v: Inputs) -> list[tuple[list[str], int]]:
    script, layout, ext, config = str(v.script), str(v.layout), str(v.extension), str(v.config)
    deep = "(" * 3000 + "1" + ")" * 3000
    return [
        (["place", "--pin", "x"], USAGE),
        (["place", "--pin", ".llext_heap=0x" + "f" * 40], INPUT),
        (["place", "--pin", ".llext_heap=NO_SUCH_REGION"], USAGE),
        (["place", "--reserve", "-1"], USAGE),
        (["place", "--reserve", "9" * 5000], USAGE),
        (["place", "--emit", "bogus"], USAGE),
        (["memory", "--defsym", "x", script], USAGE),
        (["memory", "--defsym", "x=" + deep, script], USAGE),
        (["memory", "--defsym", "x=" + "9" * 5000, script], USAGE),
        (["memory", "-D", "1x", script], USAGE),
        (["memory", "--cpp", "/nonexistent/cc", script], INPUT),
        (["memory", "--cpp", str(v.config), script], INPUT),
        (["check", "-D", "=", script], USAGE),
        (["verify", "--layout", layout, "--buffer-address", "zz", ext], USAGE),
        (["verify", "--layout", layout, "--heap-buffer", "1:2:3", ext], USAGE),
        (["verify", "--layout", layout, "--heap-buffer", "0x" + "f" * 40 + ":1", ext], INPUT),
        (["verify", "--layout", layout, "--order", "nope", ext], USAGE),
        (["verify", "--layout", layout, "--exports-list", str(v.folder), ext], INPUT),
        (["verify", "--layout", layout, "--exports-list", script, ext], INPUT),
        (["verify", "--layout", layout, "--exports", script, ext], INPUT),
        (["verify", "--board", "no_such_board", ext], INPUT),
        (["config", "check", "--zephyr-version", "9", config], USAGE),
        (["config", "check", "--zephyr-version", "1." + "9" * 5000, config], USAGE),
        (["config", "check", "--board", "", config], INPUT),
        (["board", "show", "no/such/board.toml"], INPUT),
        (["board", "import", "--from-elf", ext, "-o", str(v.folder / "never.toml")], USAGE),
        (["diff", "--format", "yaml", layout, layout], USAGE),
        (["no-such-command"], USAGE),
    ]


def test_bad_option_values_are_diagnostics(
        inputs: Inputs, capsysbinary: pytest.CaptureFixture[bytes]) -> None:
    before = sorted(p.name for p in inputs.folder.iterdir())
    for argv, status in _bad_options(inputs):
        outcome = run(capsysbinary, argv)
        assert outcome.status == status, (argv, outcome)
        assert_clean(outcome, argv)
    assert sorted(p.name for p in inputs.folder.iterdir()) == before


def test_a_dts_expression_nested_past_the_recursion_limit_is_a_board_error(
        tmp_path: Path, capsysbinary: pytest.CaptureFixture[bytes]) -> None:
    dts = tmp_path / "zephyr.dts"
    dts.write_text("/dts-v1/;\n/ { x = <" + "(" * 3000 + "1" + ")" * 3000 + ">; };\n")
    output = tmp_path / "board.toml"
    outcome = run(capsysbinary, ["board", "import", "--from-dts", str(dts), "-o", str(output)])
    assert outcome.status == 1 and outcome.out == ""
    assert outcome.err == f"{dts}: error: invalid devicetree: nests too deeply to parse\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["zephyr.dts"]


def test_a_layout_base_script_name_too_long_for_the_os_is_read_as_a_relative_path(
        inputs: Inputs, tmp_path: Path, capsysbinary: pytest.CaptureFixture[bytes]) -> None:
    text = inputs.layout.read_text()
    assert '"base_script": "qemu_cortex_m3.ld"' in text
    layout = tmp_path / "new.json"
    layout.write_text(text.replace('"base_script": "qemu_cortex_m3.ld"',
                                   '"base_script": "' + "x" * 5000 + '.ld"'))
    outcome = run(capsysbinary, ["diff", str(inputs.layout), str(layout)])
    # is_file() raised ENAMETOOLONG; the name is data here, the heaps did not change.
    assert outcome.status == 0 and outcome.err == ""


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_a_file_name_too_long_for_the_os_is_a_diagnostic(
        name: str, inputs: Inputs, capsysbinary: pytest.CaptureFixture[bytes]) -> None:
    # Path.is_file() raises ENAMETOOLONG where os.path.isfile() says False.
    kind, build, on_stdout = COMMANDS[name]
    with output_folder() as out:
        argv = build(out.parent / ("x" * 5000 + _SUFFIX[kind]), inputs, out)
        outcome = run(capsysbinary, argv)
        assert outcome.status == 1, (argv, outcome)
        assert_clean(outcome, argv, report_on_stdout=on_stdout)
        assert_no_half_output(out, outcome)


def test_a_board_name_too_long_for_the_os_is_an_unknown_board(
        capsysbinary: pytest.CaptureFixture[bytes]) -> None:
    outcome = run(capsysbinary, ["board", "show", "x" * 5000])
    assert outcome.status == 1
    assert outcome.err.startswith("error: unknown board 'xxxx")
