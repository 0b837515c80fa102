"""Three places where placer read a script differently from GNU ld 2.40, now judged by ld
itself in each test: the ld of the arm toolchain links the same script first."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from placer.cli import main
from tests.toolchains import tool


def _ld(tmp_path: Path, script: Path) -> subprocess.CompletedProcess[str]:
    """Link an empty arm object with `script`, as ``ld -T`` reads it."""
    obj = tmp_path / "empty.o"
    if not obj.exists():
        source = tmp_path / "empty.s"
        source.write_text(".data\n.word 1\n")
        subprocess.run([tool("arm", "as"), str(source), "-o", str(obj)], check=True)
    return subprocess.run([tool("arm", "ld"), "-T", str(script), str(obj), "-o",
                           str(tmp_path / "out.elf"), "-Map", str(tmp_path / "out.map")],
                          capture_output=True, text=True, check=False)


@pytest.mark.toolchain("arm")
@pytest.mark.parametrize(("text", "column", "message"), [
    (".text : { *(.text) }\n", 7, "syntax error: unexpected `:`"),
    ("SECTIONS .text : { *(.text) }\n", 10, "syntax error: unexpected `.text`; expected `{`"),
])
def test_output_sections_outside_sections_are_a_syntax_error_in_a_whole_script(
        text: str, column: int, message: str, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    script = tmp_path / "top.ld"
    script.write_text(text)
    linked = _ld(tmp_path, script)
    assert linked.returncode != 0 and f"{script}:1: syntax error" in linked.stderr
    assert main(["check", str(script)]) == 1
    assert capsys.readouterr().err.startswith(f"{script}:1:{column}: error: {message}\n")


def test_a_snippet_is_read_when_asked_for_or_when_included_inside_sections(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    snippet = tmp_path / "snippet.ld"
    snippet.write_text(".text : { *(.text) }\n")
    assert main(["check", "--fragment", "sections-body", str(snippet)]) == 0
    assert main(["check", "--fragment", "auto", str(snippet)]) == 0
    assert main(["format", "--fragment", "sections-body", str(snippet)]) == 0
    assert capsys.readouterr().out == ".text :\n{\n    *(.text)\n}\n"
    whole = tmp_path / "whole.ld"
    whole.write_text("SECTIONS {\n  INCLUDE snippet.ld\n}\n")
    assert main(["check", "-L", str(tmp_path), str(whole)]) == 0


@pytest.mark.toolchain("arm")
def test_origin_and_length_of_an_undeclared_region_warn_and_read_as_ld_does(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    script = tmp_path / "regions.ld"
    script.write_text("MEMORY { RAM (rwx) : ORIGIN = 0x20000000, LENGTH = LENGTH(NOPE) - "
                      "0xffff0000 + 1 }\nSECTIONS { .data : { *(.data) } > RAM }\n")
    linked = _ld(tmp_path, script)
    assert linked.returncode == 0
    assert "warning: memory region `NOPE' not declared" in linked.stderr
    ld_map = (tmp_path / "out.map").read_text()
    assert "RAM              0x20000000         0x00010000         xrw" in ld_map
    assert "NOPE             0x00000000         0xffffffff" in ld_map
    assert main(["memory", "--arch", "arm", str(script)]) == 0
    out, err = capsys.readouterr()
    assert out == ("Name             Origin             Length             Attributes\n"
                   "RAM              0x20000000         0x00010000         xrw\n"
                   "NOPE             0x00000000         0xffffffff\n"
                   "\n"
                   "NOPE is not declared by MEMORY: GNU ld makes it (origin 0, length ~0) "
                   "for ORIGIN()/LENGTH() and lists it; it is no memory\n")
    assert err.startswith(f"{script}:1:52: warning: memory region `NOPE' not declared: GNU ld "
                          "warns and reads it as origin 0, length ~0\n")


@pytest.mark.toolchain("arm")
@pytest.mark.parametrize(("text", "accepted"), [
    ("SECTIONS { .text (BOGUS) : { *(.text) } }\n", False),
    ("SECTIONS { .text BOGUS + 4 : { *(.text) } }\n", False),
    ("SECTIONS { .text (BOGUS) : { *(.text) } }\nBOGUS = 0x100;\n", True),
    ("SECTIONS { .text (DEFINED(BOGUS) ? BOGUS : 0x200) : { *(.text) } }\n", True),
])
def test_an_address_expression_ld_cannot_evaluate_is_refused_as_ld_refuses_it(
        text: str, accepted: bool, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    script = tmp_path / "address.ld"
    script.write_text(text)
    linked = _ld(tmp_path, script)
    assert (linked.returncode == 0) is accepted, linked.stderr
    status = main(["check", str(script)])
    err = capsys.readouterr().err
    if accepted:
        assert (status, err) == (0, "")
        return
    assert "non constant or forward reference address expression for section .text" \
        in linked.stderr
    assert status == 1
    assert err.startswith(f"{script}:1:12: error: non constant or forward reference address "
                          "expression for section .text\n")
    assert err.endswith("note: `BOGUS' is assigned nowhere in the script; GNU ld accepts it "
                        "only when an input file or --defsym defines it\n")
