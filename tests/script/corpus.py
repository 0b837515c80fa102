"""The corpus of real linker scripts installed on this machine, with the ld that owns each.

Every default script that Debian's binutils packages ship (``/usr/lib/<triplet>/ldscripts``
and ``/usr/<triplet>/lib/ldscripts``) plus the newlib / gcc-arm-none-eabi example scripts.
Collected from the installed packages at import time, so a new toolchain package widens
the corpus without an edit. Shared by the corpus tests and ``bench/parse.py``.
"""

from __future__ import annotations

import glob
import hashlib
import shutil
from pathlib import Path

from placer import records

#: Target triplet -> ld command prefix ("" is the native toolchain).
NATIVE = "x86_64-linux-gnu"


@records.frozen
class CorpusScript:
    """One script of the corpus: where it is, whose ld reads it, and its text."""

    path: Path
    triplet: str
    text: str

    @property
    def ld(self) -> str:
        """The command name of the GNU ld for this script's target."""
        return "ld" if self.triplet == NATIVE else f"{self.triplet}-ld"

    @property
    def assembler(self) -> str:
        """The command name of the GNU as for this script's target."""
        return "as" if self.triplet == NATIVE else f"{self.triplet}-as"

    @property
    def lines(self) -> int:
        """Number of lines, for throughput figures."""
        return self.text.count("\n")


def _default_scripts() -> list[tuple[Path, str]]:
    found: list[tuple[Path, str]] = []
    for pattern, triplet_index in (("/usr/lib/*/ldscripts/*", 3), ("/usr/*/lib/ldscripts/*", 2)):
        for name in sorted(glob.glob(pattern)):
            path = Path(name)
            if path.is_file():
                found.append((path, path.parts[triplet_index]))
    return found


def _example_scripts() -> list[tuple[Path, str]]:
    names = set(glob.glob("/usr/lib/arm-none-eabi/**/*.ld", recursive=True))
    names |= set(glob.glob("/usr/share/doc/gcc-arm-none-eabi/examples/ldscripts/*.ld"))
    names |= set(glob.glob("/usr/share/doc/libnewlib-arm-none-eabi/**/*.ld", recursive=True))
    return [(Path(n), "arm-none-eabi") for n in sorted(names) if Path(n).is_file()]


def collect(require_ld: bool = True) -> tuple[CorpusScript, ...]:
    """Every corpus script, in a stable order; with `require_ld`, only targets whose
    GNU ld is installed (so every script has its oracle)."""
    scripts = []
    for path, triplet in _default_scripts() + _example_scripts():
        script = CorpusScript(path, triplet, path.read_text(encoding="utf-8", errors="replace"))
        if require_ld and shutil.which(script.ld) is None:
            continue
        scripts.append(script)
    return tuple(scripts)


def unique(scripts: tuple[CorpusScript, ...]) -> tuple[CorpusScript, ...]:
    """The scripts with distinct text (newlib ships one redboot.ld per multilib)."""
    seen: set[str] = set()
    result = []
    for script in scripts:
        digest = hashlib.sha256(script.text.encode()).hexdigest()
        if digest not in seen:
            seen.add(digest)
            result.append(script)
    return tuple(result)
