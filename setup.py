"""placer's build: pure Python, plus the hot modules compiled with mypyc where it can.

The modules named under ``[tool.placer] compiled-modules`` in pyproject.toml are compiled
from their own source by mypyc (shipped with mypy) when a wheel is built, so an installed
placer runs them as C; the C sources under ``c-modules`` (the records' constructors) are
built with them. The Python source is the fallback: without mypy or a C compiler, or if
compiling fails, the wheel is pure Python and behaves the same (tools/test.sh runs the
whole suite both ways).

* ``PLACER_COMPILE=0`` builds pure Python; ``PLACER_COMPILE=1`` makes a failure to compile
  an error instead of a warning.
* An editable install (``pip install -e .``) stays pure: a compiled module beside its
  ``.py`` would be imported instead of it, so later edits would not take effect.
  ``PLACER_COMPILE=1 python setup.py build_ext --inplace`` compiles in the checkout on
  purpose (tools/test.sh does, and removes the result afterwards).

C is generated only for the commands that build extensions, not when pip asks for the
metadata.
"""

from __future__ import annotations

import os
import sys
import tomllib
from pathlib import Path

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

ROOT = Path(__file__).resolve().parent
#: The commands that compile (a wheel, or the extensions themselves).
_BUILDING = {"bdist_wheel", "build", "build_ext", "install"}


def _settings() -> dict[str, list[str]]:
    with (ROOT / "pyproject.toml").open("rb") as file:
        settings: dict[str, list[str]] = tomllib.load(file)["tool"]["placer"]
    return settings


def compiled_modules() -> list[str]:
    """The source paths of the modules to compile with mypyc, from pyproject.toml."""
    return list(_settings()["compiled-modules"])


def c_modules() -> list[str]:
    """The C sources of the hand-written extension modules, from pyproject.toml."""
    return list(_settings()["c-modules"])


def module_name(path: str) -> str:
    """The module a source path is imported as."""
    return path.rsplit(".", 1)[0].replace("/", ".")


def _setting() -> str | None:
    value = os.environ.get("PLACER_COMPILE")
    if value not in (None, "", "0", "1"):
        raise SystemExit(f"PLACER_COMPILE={value!r}: use 0 (pure Python) or 1 (must compile)")
    return value or None


def _warn(message: str) -> None:
    print(f"placer: {message}; building pure Python (the same code, slower)", file=sys.stderr)


def _extensions() -> list[object]:
    setting = _setting()
    if setting == "0" or not _BUILDING & set(sys.argv[1:]):
        return []
    try:
        from mypyc.build import mypycify
    except ImportError as error:
        if setting == "1":
            raise SystemExit(f"PLACER_COMPILE=1 but mypyc cannot be imported: {error}") from None
        _warn("mypyc is not installed")
        return []
    try:
        # One shared library for every compiled module ("placer._compiled__mypyc"), so a module
        # cannot be compiled while another it calls into is missing.
        compiled = mypycify(compiled_modules(), opt_level="3", group_name="placer._compiled")
    except (Exception, SystemExit) as error:
        if setting == "1":
            raise
        _warn(f"mypyc could not compile the hot modules ({error})")
        return []
    # Hand-written C: the records' constructors (placer/_recordinit.c), which no Python
    # source can make as fast.
    return [*compiled, *(Extension(module_name(path), [path]) for path in c_modules())]


class BuildExt(build_ext):
    """Build the compiled modules, or fall back to pure Python if the compiler fails."""

    def run(self) -> None:
        try:
            super().run()
        except Exception as error:
            if _setting() == "1":
                raise
            _warn(f"compiling failed ({error})")
            # A shim without the shared library it needs would fail at import: none of
            # the outputs is kept.
            for output in self.get_outputs():
                Path(output).unlink(missing_ok=True)
            self.extensions = []


setup(ext_modules=_extensions(), cmdclass={"build_ext": BuildExt})
