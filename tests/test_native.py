"""The modules setup.py compiles (mypyc, and hand-written C): each run of the suite is on
what it says.

tools/test.sh runs the whole suite twice, on the pure-Python sources and on the modules
compiled in the checkout, and says which with ``PLACER_EXPECT_COMPILED``; these tests make
a run that silently used the other kind fail, so "the fallback passes the same tests" is
checked, not assumed.
"""

from __future__ import annotations

import importlib
import importlib.machinery
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.wheel import (
    _NOT_SOURCES,
    ROOT,
    c_module_paths,
    compiled_module_paths,
    install_wheel,
    is_compiled,
    module_name,
)


def _expected() -> bool | None:
    """True or False where tools/test.sh says which kind this run is on, else None."""
    value = os.environ.get("PLACER_EXPECT_COMPILED")
    return None if value is None else value == "1"


@pytest.mark.parametrize("path", compiled_module_paths())
def test_a_compiled_module_is_a_module_of_placer(path: str) -> None:
    source = ROOT / path
    assert source.is_file() and source.suffix == ".py", path
    assert path.startswith("placer/") and source.name != "__init__.py", path


@pytest.mark.parametrize("path", c_module_paths())
def test_a_c_module_is_a_module_of_placer_with_a_typed_interface(path: str) -> None:
    source = ROOT / path
    assert source.is_file() and source.suffix == ".c", path
    assert path.startswith("placer/"), path
    # What mypy checks callers against (the extension has no annotations of its own).
    assert source.with_suffix(".pyi").is_file(), path


def _imported(path: str) -> object | None:
    """The module of source `path` as this run imports it; None for a C module that was
    not built (a pure-Python run)."""
    try:
        return importlib.import_module(module_name(path))
    except ImportError:
        if path in c_module_paths():
            return None
        raise


def _built_beside(path: str) -> list[Path]:
    """The extension modules built in the checkout from source `path`."""
    stem = str(ROOT / path).rsplit(".", 1)[0]
    return [Path(stem + suffix) for suffix in importlib.machinery.EXTENSION_SUFFIXES
            if Path(stem + suffix).is_file()]


@pytest.mark.parametrize("path", compiled_module_paths() + c_module_paths())
def test_the_run_imports_each_module_of_the_kind_it_says(path: str) -> None:
    module = _imported(path)
    expected = _expected()
    if expected is None:
        # A plain `pytest`: a module compiled in the checkout must at least not be older
        # than its source (it would be run instead of the edited source).
        if module is not None and is_compiled(module):
            # Looked for beside its source, not through `__file__`, which is relative when
            # imported through the checkout's own sys.path entry (and an earlier test may
            # have changed the working directory since).
            for compiled in _built_beside(path):
                assert compiled.stat().st_mtime >= (ROOT / path).stat().st_mtime, (
                    f"{compiled} is older than {path}: rebuild it or delete it")
        return
    assert (module is not None and is_compiled(module)) is expected, (
        f"{module_name(path)} from {getattr(module, '__file__', None)}, expected "
        f"{'compiled' if expected else 'its source' if path.endswith('.py') else 'none'}")


def test_records_are_built_in_c_exactly_when_the_run_is_compiled() -> None:
    from placer.errors import SourceSpan
    from placer.script import ast

    native = [type(cls.__init__).__module__ == "placer._recordinit"
              for cls in (SourceSpan, ast.Pattern, ast.OutputSection, ast.Assignment)]
    assert len(set(native)) == 1
    expected = _expected()
    if expected is not None:
        assert native[0] is expected


def test_tokens_are_made_in_c_exactly_when_the_run_is_compiled() -> None:
    from placer.script._tokens import NATIVE_TOKEN, Token, make_token

    expected = _expected()
    if expected is not None:
        assert (NATIVE_TOKEN is not None) is expected
    if NATIVE_TOKEN is None:
        return
    line = int("1000001")  # an object of its own: the token must hold this very one
    made = NATIVE_TOKEN("x y", "NAME", 3, line, 4)
    plain = make_token("NAME", "x y", 3, line, 4)
    assert type(made) is Token and made == plain == "x y" and hash(made) == hash("x y")
    assert (made.type, made.start_pos, made.column) == ("NAME", 3, 4) and made.line is line
    with pytest.raises(TypeError, match="takes a str and 4 values"):
        NATIVE_TOKEN("x", "NAME")
    with pytest.raises(TypeError, match="takes a str and 4 values"):
        NATIVE_TOKEN(1, "NAME", 0, 1, 1)


def test_the_wheel_holds_what_this_run_compiles(installed_wheel: tuple[Path, Path]) -> None:
    wheel, target = installed_wheel
    names = set(zipfile.ZipFile(wheel).namelist())
    suffix = importlib.machinery.EXTENSION_SUFFIXES[0]
    every = {module_name(p) for p in compiled_module_paths() + c_module_paths()}
    compiled = {module_name(p) for p in compiled_module_paths() + c_module_paths()
                if p.rsplit(".", 1)[0] + suffix in names}
    expected = _expected()
    if expected is None:
        # Either kind is a good wheel, but never part of one: a shim without the shared
        # library, or some modules compiled and not others.
        library = any(n.startswith("placer/_compiled__mypyc") for n in names)
        assert compiled in (set(), every)
        assert library == bool(compiled)
        return
    assert bool(compiled) is expected
    if expected:
        assert compiled == every
    # Each Python source ships either way: it is the fallback, and what tracebacks show.
    assert all(p in names for p in compiled_module_paths())
    # The installed wheel imports its compiled modules, not only carries them.
    program = ("import importlib, sys\n"
               f"for name in {sorted(compiled)!r}:\n"
               "    print(importlib.import_module(name).__file__)\n")
    result = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True,
                            check=True, cwd=target,
                            env={"PYTHONPATH": str(target), "PATH": "/usr/bin:/bin"})
    assert all(line.startswith(str(target)) and line.endswith(suffix)
               for line in result.stdout.split())


def test_placer_version_says_whether_it_runs_compiled() -> None:
    result = subprocess.run([sys.executable, "-m", "placer", "--version"], cwd=ROOT,
                            capture_output=True, text=True, check=True)
    assert result.stdout.startswith("placer ")
    compiled = "compiled with mypyc" in result.stdout
    assert compiled is not ("pure Python" in result.stdout)
    expected = _expected()
    if expected is not None:
        assert compiled is expected, result.stdout
        assert ("records built in C" in result.stdout) is expected, result.stdout


@pytest.mark.slow
def test_without_a_c_compiler_the_wheel_is_pure_python_and_works(tmp_path: Path) -> None:
    """`pip install .` must not fail where mypyc cannot compile: the build warns and the
    wheel holds the sources alone, which run."""
    source = tmp_path / "source"
    shutil.copytree(ROOT, source, ignore=_NOT_SOURCES)
    env = {k: v for k, v in os.environ.items() if k != "PLACER_COMPILE"}
    env["CC"] = "/bin/false"  # what setuptools compiles with: every compile fails
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-v", "-w",
                            str(tmp_path), str(source)],
                           capture_output=True, text=True, env=env)
    assert built.returncode == 0, built.stderr[-2000:]
    assert "building pure Python" in built.stdout + built.stderr
    (wheel,) = tmp_path.glob("placer-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert not [n for n in names if n.endswith(tuple(importlib.machinery.EXTENSION_SUFFIXES))]
    target = install_wheel(wheel, tmp_path / "installed")
    result = subprocess.run([sys.executable, "-m", "placer", "--version"], cwd=target,
                            capture_output=True, text=True, check=True,
                            env={"PYTHONPATH": str(target), "PATH": "/usr/bin:/bin"})
    assert "pure Python" in result.stdout


def test_spans_of_one_line_share_its_number() -> None:
    """Compiled code unboxes an `int` it reads from a Python object and boxes a copy when it
    stores one: a span per word would then hold its own line number, 2.7 MiB more at 100k
    lines than pure Python, which shares one per line (the peak-memory goal of
    bench/run.py's scaling rows). The parser keeps the token's own object."""
    from placer.script import ast, parse

    text = "\n" * 300 + "SECTIONS { .a : { *(.a .b) KEEP(*(.c .d)) x = 1; } }\n"
    script = parse(text)
    spans = [s.span for s in ast.iter_statements(script) if getattr(s, "span", None)]
    spans += [p.span for s in ast.iter_statements(script)
              if isinstance(s, ast.InputSectionDescription) for p in s.sections]
    lines = {id(span.line) for span in spans if span.line == 301}
    assert len(spans) >= 8 and len(lines) == 1


def test_a_placer_compile_value_other_than_0_or_1_is_refused_by_name() -> None:
    result = subprocess.run([sys.executable, "setup.py", "--name"], cwd=ROOT,
                            capture_output=True, text=True,
                            env={**os.environ, "PLACER_COMPILE": "yes"})
    assert result.returncode != 0
    assert "PLACER_COMPILE='yes': use 0 (pure Python) or 1 (must compile)" in result.stderr
    assert "Traceback" not in result.stderr
