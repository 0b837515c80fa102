"""Why a size gate (file size against ``CONFIG_LLEXT_HEAP_SIZE``) is wrong both ways: real
extensions, built with the cross toolchain, loaded by placer. The figures in
``docs/admission.md`` are the ones this test computes; it fails when they drift."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from placer import records
from placer.boardfile import load_board
from placer.config import LlextConfig
from placer.llext import verify
from placer.llext.image import ImageFacts
from placer.llext.metadata import estimated_sizes
from placer.solve import place
from tests.llext.build import COMMON, FLAGS
from tests.toolchains import tool

DOC = Path(__file__).resolve().parents[2] / "docs" / "admission.md"

#: 12 KiB of scratch space: a file of about a kilobyte, a region larger than the heap.
SCRATCH = r"""
char scratch[12288];
int scratch_fill(int value) { for (int i = 0; i < 12288; i++) scratch[i] = value; return 0; }
"""
#: 4.4 KB of initialised data: under user mode with a power-of-two MPU the region becomes
#: an 8 KiB block aligned to 8 KiB, which an 8 KiB heap with its own headers cannot give.
TABLE = r"""
int table[1100] = { 1 };
int table_get(int i) { return table[i]; }
"""
#: A 12 KiB constant table without relocations (used in place from the ELF buffer when
#: the storage is persistent), built with debug information (never loaded).
LOOKUP = r"""
#define ROW(n) n, n + 1, n + 2, n + 3, n + 4, n + 5, n + 6, n + 7
#define ROWS(n) ROW(n), ROW(n + 8), ROW(n + 16), ROW(n + 24)
const unsigned int crc_table[3072] = { ROWS(1), ROWS(33), ROWS(65), ROWS(97) };
unsigned int crc_step(unsigned int crc, unsigned char byte)
{
    return crc_table[(crc ^ byte) % 3072] ^ (crc >> 8);
}
"""


@records.frozen
class Row:
    """One line of the comparison: the file, the heap, and both verdicts."""

    extension: str
    board: str
    file_bytes: int
    heap_bytes: int
    naive: str
    placer: str

    def markdown(self) -> str:
        return (f"| `{self.extension}` | {self.board} | {self.file_bytes} | "
                f"{self.heap_bytes} | {self.naive} | {self.placer} |")


def _row(path: Path, name: str, board: str, config: LlextConfig, shown: str) -> Row:
    layout = place(load_board(board), config)
    target = layout.target
    image = ImageFacts(metadata=estimated_sizes(target.pointer_size, userspace=config.userspace))
    report = verify(layout, [path], image=image)
    (load,) = report.loads
    (heap,) = report.heaps
    size = path.stat().st_size
    naive = "pass" if size <= heap.size else "reject"
    if load.ok:
        (usage,) = load.usage
        verdict = f"loads: {usage.persistent} heap bytes kept, peak {usage.transient_peak}"
    else:
        assert load.error is not None
        verdict = f"-{load.error.errno}: {_reason(load.error.message)}"
    return Row(name, shown, size, heap.size, naive, verdict)


def _reason(message: str) -> str:
    # "cannot allocate N bytes ... for region DATA from .llext_heap: that needs a free
    # block of X bytes and the largest is Y bytes (Z more)" -> the region and the numbers.
    found = re.search(r"cannot allocate (\d+) bytes(?: (\d+)-aligned)? for region (\w+)",
                      message)
    assert found is not None, message
    aligned = f", aligned to {found[2]}" if found[2] else ""
    return f"its {found[3]} region needs {found[1]} bytes{aligned}"


def _build(folder: Path, name: str, source: str, extra: tuple[str, ...] = ()) -> Path:
    """Compile `source` as ``folder/<name>.llext`` with Zephyr's LLEXT flags for a
    Cortex-M4, from inside `folder` with relative names, so that nothing of the machine's
    folders reaches the file (its size is what the gate compares)."""
    family, flags = FLAGS["arm"]
    (folder / f"{name}.c").write_text(source)
    subprocess.run([tool(family, "gcc"), *COMMON, *flags, *extra, "-c", f"{name}.c", "-o",
                    f"{name}.llext"], cwd=folder, check=True, capture_output=True)
    return folder / f"{name}.llext"


@pytest.fixture(scope="module")
def rows(tmp_path_factory: pytest.TempPathFactory) -> list[Row]:
    folder = tmp_path_factory.mktemp("gate")
    scratch = _build(folder, "scratch", SCRATCH)
    table = _build(folder, "table", TABLE)
    # Debug information names the build folder: mapped to ".", and the compiler's
    # switches left out of it.
    lookup = _build(folder, "lookup", LOOKUP, ("-g", "-gno-record-gcc-switches",
                                               f"-fdebug-prefix-map={folder}=."))
    return [
        _row(scratch, "scratch.llext", "qemu_cortex_m3", LlextConfig(), "qemu_cortex_m3"),
        _row(table, "table.llext", "nrf52840dk_nrf52840", LlextConfig(userspace=True),
             "nrf52840dk_nrf52840, `CONFIG_USERSPACE=y`"),
        _row(lookup, "lookup.llext", "qemu_cortex_m3", LlextConfig(), "qemu_cortex_m3"),
    ]


def test_the_naive_gate_is_wrong_both_ways(rows: list[Row]) -> None:
    scratch, table, lookup = rows
    # Smaller than the heap, passed by the gate, refused by Zephyr's allocator.
    for row in (scratch, table):
        assert row.file_bytes < row.heap_bytes and row.naive == "pass"
        assert row.placer.startswith("-ENOMEM")
    # Larger than the heap, rejected by the gate, loaded.
    assert lookup.file_bytes > lookup.heap_bytes and lookup.naive == "reject"
    assert lookup.placer.startswith("loads")


def test_the_documented_figures_are_placers(rows: list[Row]) -> None:
    text = DOC.read_text(encoding="utf-8")
    for row in rows:
        assert row.markdown() in text, row.markdown()
