"""The `placer` package surface: what ``import placer`` loads and what it offers."""

from __future__ import annotations

import subprocess
import sys


def test_import_placer_loads_neither_the_loader_nor_the_emitters() -> None:
    code = ("import sys, placer; "
            "print(sorted(m for m in ('placer.llext', 'placer.emit') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out == "[]\n"


def test_lazy_names_resolve_on_first_use() -> None:
    import placer
    from placer.llext import verify

    assert placer.verify is verify
    assert placer.emit.linker_script is not None


def test_every_public_name_resolves_from_its_one_home() -> None:
    import placer

    for name in placer.__all__:
        value = getattr(placer, name)
        assert value is not None, name
    assert sorted(dir(placer)) == sorted(placer.__all__)


def test_every_error_a_caller_handles_is_a_placer_error() -> None:
    import placer

    for name in ("ArgumentError", "BoardError", "ConfigError", "ConfigViolations",
                 "ExtensionError", "Infeasible", "LayoutError", "OutputError", "ScriptError"):
        assert issubclass(getattr(placer, name), placer.PlacerError), name


def test_import_placer_loads_no_stage() -> None:
    code = ("import sys, placer; "
            "print(sorted(m for m in sys.modules if m.startswith('placer.')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out == "['placer._lazy']\n"  # the first-use importer, nothing else
