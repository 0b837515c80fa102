"""The corpus of real linker scripts, collected from the installed toolchain packages.

Debian's cross binutils ship their default scripts under ``/usr/lib/<triple>/ldscripts``
(older layouts: ``/usr/<triple>/lib/ldscripts``), and gcc-arm-none-eabi ships example
scripts. Each script is paired with the architecture whose ld reads it.
"""

from __future__ import annotations

import glob
import re
from pathlib import Path

import attrs

#: Triple directory name → architecture family of `tests.toolchains.PREFIXES`.
_TRIPLES = {
    "arm-none-eabi": "arm",
    "riscv64-unknown-elf": "riscv",
    "arc-linux-gnu": "arc",
    "xtensa-lx106-elf": "xtensa",
    "x86_64-linux-gnu": "x86",
}

_ARM_EXAMPLES = "/usr/share/doc/gcc-arm-none-eabi/examples/ldscripts/*.ld"


@attrs.frozen(slots=True)
class CorpusScript:
    """One installed script and the architecture whose ld it belongs to."""

    path: Path
    arch: str

    @property
    def id(self) -> str:
        return f"{self.arch}:{self.path.name}"


def corpus_scripts() -> tuple[CorpusScript, ...]:
    """Every installed default and example script, sorted by path."""
    found: dict[Path, str] = {}
    patterns = [("/usr/lib/{}/ldscripts/*", triple) for triple in _TRIPLES]
    patterns += [("/usr/{}/lib/ldscripts/*", triple) for triple in _TRIPLES]
    for pattern, triple in patterns:
        for name in glob.glob(pattern.format(triple)):
            path = Path(name)
            if path.is_file():
                found[path] = _TRIPLES[triple]
    for name in glob.glob(_ARM_EXAMPLES):
        found[Path(name)] = "arm"
    return tuple(CorpusScript(p, a) for p, a in sorted(found.items()))


_MEMORY = re.compile(r"^\s*MEMORY\b", re.MULTILINE)
_INCLUDE = re.compile(r"^\s*INCLUDE\s+(\S+?);?\s*$", re.MULTILINE)


def memory_scripts() -> tuple[CorpusScript, ...]:
    """Corpus scripts with a MEMORY block of their own."""
    return tuple(s for s in corpus_scripts()
                 if _MEMORY.search(s.path.read_text(errors="replace")))


def including_scripts() -> tuple[tuple[CorpusScript, str], ...]:
    """Corpus scripts that INCLUDE a file the user must provide, with that file's name."""
    result = []
    for script in corpus_scripts():
        match = _INCLUDE.search(script.path.read_text(errors="replace"))
        if match:
            result.append((script, match.group(1)))
    return tuple(result)
