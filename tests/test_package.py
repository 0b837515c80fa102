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
