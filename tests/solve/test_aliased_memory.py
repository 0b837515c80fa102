"""Memory seen through two views (ESP32-S3's IRAM and DRAM of one SRAM) and memory the CPU
cannot execute from: heaps never share physical bytes, code heaps go only where the bus
can execute, and verify refuses code loaded where it cannot run."""

from __future__ import annotations

from pathlib import Path

import pytest

import placer
from placer import records
from placer.config import LlextConfig
from placer.errors import Infeasible
from placer.target import resolve
from tests.llext.build import HELLO, build_extension
from tests.llext.targets import layout_for


def _physical(board: placer.board.Board, region: str, address: int) -> int:
    memory = board.region(region)
    return address + memory.alias_offset if memory.alias_of is not None else address


def test_harvard_heaps_never_share_the_sram_they_see_through_two_views() -> None:
    board = placer.load_board("esp32s3_devkitc")
    config = LlextConfig(harvard=True, instr_heap_size=16, data_heap_size=16)
    layout = placer.place(board, config)
    spans = sorted((_physical(board, h.region, h.address), h.size) for h in layout.heaps)
    assert len(spans) == 2
    (first, size), (second, _) = spans
    assert first + size <= second
    regions = {h.section: h.region for h in layout.heaps}
    assert regions == {".llext_instr_heap": "iram0_0_seg", ".llext_data_heap": "dram0_0_seg"}


def test_a_heap_holding_code_is_not_placed_where_the_cpu_cannot_execute() -> None:
    # A non-Harvard heap holds the extensions' text: ESP32-S3's DRAM view (data bus, no
    # x) cannot run it and IRAM is not on the loader's data bus, so nothing fits.
    with pytest.raises(Infeasible) as caught:
        placer.place(placer.load_board("esp32s3_devkitc"), LlextConfig())
    details = "\n".join(caught.value.details)
    assert "dram0_0_seg: excluded: not executable (attributes rw)" in details
    assert "iram0_0_seg: excluded: not on the data bus" in details


def test_verify_refuses_code_loaded_where_the_cpu_cannot_execute(tmp_path: Path) -> None:
    layout = layout_for("arm")
    board = layout.target.board
    home = board.region(layout.heaps[0].region)
    no_exec = records.evolve(board, regions=tuple(
        records.evolve(r, attributes=frozenset("rw")) if r is home else r
        for r in board.regions))
    layout = records.evolve(layout, target=resolve(no_exec, layout.target.config))
    ext = build_extension(tmp_path, "arm", "hello", HELLO).path
    exports = tmp_path / "exports.txt"
    exports.write_text("printk 0x08001000 UNASSIGNED\n")
    report = placer.verify(layout, [ext], exports_list=exports)
    (load,) = report.loads
    assert load.error is None and not load.ok
    (fault,) = load.faults
    text = next(r for r in load.regions if r.mem.name == "TEXT")
    assert fault.startswith(f"TEXT at {text.address:#x} is in {home.name}, which the CPU "
                            "cannot execute (no x attribute)")
    assert "Zephyr's llext_load returns 0 and the first call into the extension faults" \
        in fault
    assert report.verdict() == (f"FAIL: 1 of 1 extension(s) would not load; first: "
                                f"{load.name}: its code cannot execute where it was loaded")
    assert f"  fault: {fault}" in report.render_text()
