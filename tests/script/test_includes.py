"""INCLUDE resolution and `load_script`, checked against GNU ld where ld has an answer."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from placer.cli.output import render
from placer.errors import ScriptError, ScriptWarning
from placer.script import ast
from placer.script.evaluate import evaluate_memory, evaluate_symbols
from placer.script.includes import MAX_INCLUDE_DEPTH, load_script
from tests.script.ld_oracle import link


@pytest.fixture
def tree(tmp_path: Path) -> Iterator[Path]:
    """A work folder holding a script in ``sub/`` and candidates for ``part.ld``.

    Each candidate sets ``s_where`` to a different value, so which one was included shows
    in the symbol table ld writes and in placer's evaluation.
    """
    for folder, value in (("sub", 1), ("L1", 2), ("L2", 3), ("S", 4), (".", 5)):
        (tmp_path / folder).mkdir(exist_ok=True)
        (tmp_path / folder / "part.ld").write_text(f"s_where = {value};\n")
    (tmp_path / "sub/main.ld").write_text("INCLUDE part.ld\n")
    (tmp_path / "sub/search.ld").write_text("SEARCH_DIR(S)\nINCLUDE part.ld\n")
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        yield tmp_path
    finally:
        os.chdir(cwd)


def _placer_pick(script: str, library_dirs: tuple[str, ...]) -> int:
    value = evaluate_symbols(load_script(script, library_dirs=library_dirs))["s_where"]
    assert isinstance(value, int)
    return value


def _ld_pick(tree: Path, script: str, library_dirs: tuple[str, ...]) -> int:
    extra = tuple(arg for d in library_dirs for arg in ("-L", d))
    (tree / "oracle").mkdir(exist_ok=True)
    result = link("arm", (tree / script).read_text(), tree / "oracle", extra=extra)
    assert result.returncode == 0, result.stderr
    return result.symbols["s_where"]



@pytest.fixture
def work(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty folder that is the working folder for the test."""
    monkeypatch.chdir(tmp_path)
    return tmp_path

@pytest.mark.parametrize(
    ("script", "library_dirs", "removed", "expected"),
    [
        ("sub/main.ld", ("L1", "L2"), (), 5),  # the working folder first
        ("sub/main.ld", ("L1", "L2"), ("part.ld",), 2),  # then -L in order
        ("sub/main.ld", ("L2", "L1"), ("part.ld",), 3),
        ("sub/search.ld", ("L1",), ("part.ld",), 2),  # -L before SEARCH_DIR
        ("sub/search.ld", (), ("part.ld",), 4),  # SEARCH_DIR read before the INCLUDE
    ],
)
def test_include_search_order_is_lds(tree: Path, script: str, library_dirs: tuple[str, ...],
                                     removed: tuple[str, ...], expected: int) -> None:
    for name in removed:
        (tree / name).unlink()
    assert _ld_pick(tree, script, library_dirs) == expected
    assert _placer_pick(script, library_dirs) == expected


def test_the_including_scripts_folder_is_searched_last_with_a_warning(tree: Path) -> None:
    for name in ("part.ld", "L1/part.ld", "L2/part.ld", "S/part.ld"):
        (tree / name).unlink()
    (tree / "oracle").mkdir()
    # ld run from the work folder does not look next to the script...
    result = link("arm", (tree / "sub/main.ld").read_text(), tree / "oracle")
    assert "cannot open linker script file part.ld: No such file or directory" in result.stderr
    # ...and finds that file once given the folder, as the warning says.
    assert _ld_pick(tree, "sub/main.ld", ("sub",)) == 1
    with pytest.warns(ScriptWarning) as caught:
        assert _placer_pick("sub/main.ld", ("L1",)) == 1
    assert [render(w.message) for w in caught] == [
        "sub/main.ld:1:1: warning: INCLUDE part.ld: found only as sub/part.ld, next to the "
        "including script, where GNU ld does not look\n"
        "INCLUDE part.ld\n"
        "^\n"
        "note: searched first: the current folder, L1 (-L folders, then SEARCH_DIRs read "
        "before this INCLUDE)\n"
        "note: GNU ld finds it only when run from sub or given -L sub"
    ]


def test_a_file_found_nowhere_names_the_folders_searched(tree: Path) -> None:
    for name in ("part.ld", "L1/part.ld", "L2/part.ld", "S/part.ld", "sub/part.ld"):
        (tree / name).unlink()
    with pytest.raises(ScriptError) as caught:
        load_script("sub/search.ld", library_dirs=["L1"])
    assert render(caught.value) == (
        "sub/search.ld:2:1: error: cannot open linker script file part.ld: "
        "No such file or directory\n"
        "INCLUDE part.ld\n"
        "^\n"
        "note: searched: the current folder, L1, S (-L folders, then SEARCH_DIRs read before "
        "this INCLUDE)"
    )


def test_a_cycle_is_an_error_that_prints_the_chain(work: Path) -> None:
    Path("a.ld").write_text("s_a = 1;\nINCLUDE b.ld\n")
    Path("b.ld").write_text("INCLUDE c.ld\n")
    Path("c.ld").write_text("s_c = 1;\n  INCLUDE a.ld\n")
    (work / "oracle").mkdir()
    # ld rejects it too, in words that name no chain.
    result = link("arm", "INCLUDE a.ld\n", work / "oracle")
    assert result.stderr == ":includes nested too deeply\n"
    with pytest.raises(ScriptError) as caught:
        load_script("a.ld")
    assert render(caught.value) == (
        "c.ld:2:3: error: INCLUDE cycle: a.ld -> b.ld -> c.ld -> a.ld\n"
        "  INCLUDE a.ld\n"
        "  ^"
    )


def test_a_file_including_itself_is_a_cycle(work: Path) -> None:
    Path("self.ld").write_text("INCLUDE self.ld\n")
    with pytest.raises(ScriptError) as caught:
        load_script("self.ld")
    assert caught.value.message == "INCLUDE cycle: self.ld -> self.ld"


def test_including_the_same_file_twice_without_a_cycle_is_fine(work: Path) -> None:
    Path("same.ld").write_text("s_same = 1;\n")
    Path("twice.ld").write_text("INCLUDE same.ld\nINCLUDE same.ld\n")
    script = load_script("twice.ld")
    assert [c.target for c in script.commands if isinstance(c, ast.Assignment)] == [
        "s_same", "s_same"]


def _chain(folder: Path, files: int) -> None:
    for index in range(files - 1):
        (folder / f"d{index}.ld").write_text(f"INCLUDE d{index + 1}.ld\n")
    (folder / f"d{files - 1}.ld").write_text("s_deep = 1;\n")


def test_ten_files_deep_is_allowed_as_in_ld(work: Path) -> None:
    _chain(work, MAX_INCLUDE_DEPTH)
    (work / "oracle").mkdir()
    assert link("arm", Path("d0.ld").read_text(), work / "oracle").returncode == 0
    assert evaluate_symbols(load_script("d0.ld"))["s_deep"] == 1


def test_eleven_files_deep_is_an_error_as_in_ld(work: Path) -> None:
    _chain(work, MAX_INCLUDE_DEPTH + 1)
    (work / "oracle").mkdir()
    result = link("arm", Path("d0.ld").read_text(), work / "oracle")
    assert "includes nested too deeply" in result.stderr
    with pytest.raises(ScriptError) as caught:
        load_script("d0.ld")
    chain = " -> ".join(f"d{i}.ld" for i in range(MAX_INCLUDE_DEPTH + 1))
    assert render(caught.value).splitlines()[0] == (
        "d9.ld:1:1: error: INCLUDE nested too deeply: more than 10 files open "
        f"(GNU ld's MAX_INCLUDE_DEPTH): {chain}"
    )


def test_include_in_memory_sections_and_output_section_parse_as_their_position(
        work: Path) -> None:
    Path("regions.ld").write_text("FLASH (rx) : ORIGIN = 0, LENGTH = 64K\n"
                                  "RAM (rw) : ORIGIN = 0x20000000, LENGTH = 16K\n")
    Path("sections.ld").write_text(".data : { *(.data) } > RAM\n")
    Path("text.ld").write_text("*(.text*)\n")
    Path("main.ld").write_text(
        "MEMORY\n{\n  INCLUDE regions.ld\n}\n"
        "SECTIONS\n{\n  .text : { INCLUDE text.ld } > FLASH\n  INCLUDE sections.ld\n}\n"
    )
    script = load_script("main.ld")
    memory, sections = script.commands
    assert isinstance(memory, ast.Memory) and isinstance(sections, ast.Sections)
    assert [r.name for r in memory.regions] == ["FLASH", "RAM"]
    text, data = sections.commands
    assert isinstance(text, ast.OutputSection) and isinstance(data, ast.OutputSection)
    assert isinstance(text.commands[0], ast.InputSectionDescription)
    assert data.name == ".data"
    # Spliced statements keep where they came from, columns included.
    spans = [(s.file, s.line, s.column) for s in (memory.regions[0].span,
                                                   memory.regions[1].span,
                                                   text.commands[0].span, data.span) if s]
    assert spans == [("regions.ld", 1, 1), ("regions.ld", 2, 1), ("text.ld", 1, 1),
                     ("sections.ld", 1, 1)]
    (work / "oracle").mkdir()
    result = link("arm", Path("main.ld").read_text(), work / "oracle",
                  extra=("-L", str(work)))
    assert [(r.name, r.origin, r.length) for r in result.regions] == [
        (r.name, r.origin, r.length) for r in evaluate_memory(script)]


def test_an_error_in_an_included_file_points_into_that_file(work: Path) -> None:
    Path("regions.ld").write_text("FLASH (rx) : ORIGIN = 0 LENGTH = 64K\nRAM (rw) ORIGIN\n")
    Path("main.ld").write_text("MEMORY\n{\n  INCLUDE regions.ld\n}\n")
    with pytest.raises(ScriptError) as caught:
        load_script("main.ld")
    assert (caught.value.file, caught.value.line) == ("regions.ld", 2)
    assert caught.value.source_line == "RAM (rw) ORIGIN"


def test_region_check_sees_aliases_from_an_included_file(work: Path) -> None:
    Path("aliases.ld").write_text('REGION_ALIAS("REGION_TEXT", FLASH);\n')
    Path("main.ld").write_text(
        "MEMORY { FLASH (rx) : ORIGIN = 0, LENGTH = 64K }\nINCLUDE aliases.ld\n"
        "SECTIONS { .text : { *(.text) } > REGION_TEXT }\n")
    assert load_script("main.ld").commands
    Path("main.ld").write_text(
        "MEMORY { FLASH (rx) : ORIGIN = 0, LENGTH = 64K }\n"
        "SECTIONS { .text : { *(.text) } > REGION_DATA }\n")
    with pytest.raises(ScriptError) as caught:
        load_script("main.ld")
    assert caught.value.line == 2


def test_template_spans_point_at_the_original_lines(work: Path) -> None:
    Path("t.ld").write_text(
        "#define RAM_BASE 0x20000000\n"
        "/* a comment\n   over lines */\n"
        "#ifdef CONFIG_BIG\n#define RAM_SIZE 256K\n#else\n#define RAM_SIZE 64K\n#endif\n"
        "MEMORY\n{\n"
        "    RAM (rwx) : ORIGIN = RAM_BASE, LENGTH = RAM_SIZE\n"
        "}\n")
    script = load_script("t.ld", defines={"CONFIG_BIG": "1"})
    (region,) = evaluate_memory(script)
    assert (region.origin, region.length) == (0x20000000, 256 * 1024)
    assert region.span is not None
    assert (region.span.file, region.span.line, region.span.column) == ("t.ld", 11, 5)


def test_preprocess_false_leaves_directives_to_the_parser(work: Path) -> None:
    Path("t.ld").write_text("#include <x.h>\nMEMORY { R : ORIGIN = 0, LENGTH = 1 }\n")
    with pytest.raises(ScriptError) as caught:
        load_script("t.ld")
    assert caught.value.message.startswith("x.h: No such file or directory")


def test_a_template_with_an_expression_too_deep_to_read_is_a_script_error(
    tmp_path: Path,
) -> None:
    script = tmp_path / "deep.ld"
    script.write_text("#define ONE 1\nx = " + " + ".join(["ONE"] * 3000) + ";\n")
    with pytest.raises(ScriptError) as caught:
        load_script(script)
    assert render(caught.value) == f"{script}:1:1: error: expressions nest too deeply to read"
