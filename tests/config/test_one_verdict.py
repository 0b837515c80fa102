"""One rule engine, one verdict: `placer.place` runs the rules `placer config check`
applies, and `config check` runs the placement, so each says ok exactly when the other
does."""

from __future__ import annotations

import itertools

import pytest

import placer
from placer import records
from placer.board import Board
from placer.cli.output import render
from placer.config import BinaryType, HeapBackend, LlextConfig
from placer.errors import ConfigError, Infeasible
from placer.rules import ConfigViolations
from placer.solve.core import review_placement


def refusal(board: Board, config: LlextConfig) -> str | None:
    """Why `place` refuses `config` on `board`, in the words `review_placement` uses for
    it (the first violation; for `Infeasible`, the heap that cannot be placed), or None."""
    try:
        placer.place(board, config)
    except ConfigViolations as error:
        return str(error.violations[0])
    except Infeasible as error:
        return f"{error.heap} cannot be placed on {board.name}: {error.constraint}"
    return None


@pytest.mark.parametrize(("board", "config", "option"), [
    ("nsim_em", LlextConfig(heap_backend=HeapBackend.MEMBLK, heap_memblk_block_size=1024),
     "LLEXT_HEAP_MEMBLK_BLOCK_SIZE"),  # not a multiple of ARC MPU v2's 2 KiB page
    ("qemu_cortex_m3", LlextConfig(heap_backend=HeapBackend.MEMBLK, heap_memblk_block_size=0),
     "LLEXT_HEAP_MEMBLK_BLOCK_SIZE"),
    ("qemu_cortex_m3", LlextConfig(heap_backend=HeapBackend.MEMBLK, heap_memblk_block_size=48),
     "LLEXT_HEAP_MEMBLK_BLOCK_SIZE"),
    ("qemu_cortex_m3", LlextConfig(heap_backend=HeapBackend.MEMBLK, ext_heap_size=1,
                                   heap_memblk_block_size=2048),
     "LLEXT_EXT_HEAP_SIZE"),  # 1 KiB is not whole 2 KiB blocks
    ("qemu_cortex_m3", LlextConfig(heap_backend=HeapBackend.MEMBLK, heap_dynamic=True),
     "LLEXT_HEAP_MEMBLK"),
    ("nsim_em", LlextConfig(instr_heap_size=0), "LLEXT_INSTR_HEAP_SIZE"),
    ("qemu_riscv32", LlextConfig(binary_type=BinaryType.ELF_OBJECT), "LLEXT_TYPE_ELF_OBJECT"),
    ("qemu_cortex_m3", LlextConfig(userspace=True), "USERSPACE"),
    ("esp32s3_devkitc", LlextConfig(userspace=True), "USERSPACE"),
    ("qemu_x86", LlextConfig(), "LLEXT_HEAP_SIZE"),  # 8 KiB under 4 KiB pages: nothing loads
])
def test_place_refuses_what_config_check_refuses(board: str, config: LlextConfig,
                                                 option: str) -> None:
    loaded = placer.load_board(board)
    with pytest.raises(ConfigViolations) as caught:
        placer.place(loaded, config)
    assert option in {o for v in caught.value.violations for o in v.options}
    verdict = review_placement(loaded, config)
    assert [str(v) for v in verdict.violations] == [str(v) for v in caught.value.violations]


def test_config_check_refuses_what_place_cannot_fit() -> None:
    # 48 KiB of pool and 4 KiB of metadata: each fits alone in qemu_cortex_m3's free RAM,
    # both together do not.
    board = placer.load_board("qemu_cortex_m3")
    config = LlextConfig(heap_backend=HeapBackend.MEMBLK, ext_heap_size=48,
                         set_by=(("LLEXT_EXT_HEAP_SIZE", "prj.conf:3"),))
    verdict = review_placement(board, config)
    assert [v.options for v in verdict.violations] == [("LLEXT_METADATA_HEAP_SIZE",)]
    assert render(verdict.violations[0]).startswith(
        "error: CONFIG_LLEXT_METADATA_HEAP_SIZE: .llext_metadata_heap cannot be placed on "
        "qemu_cortex_m3: 4096 bytes aligned to 8 do not fit beside .llext_ext_heap")
    with pytest.raises(Infeasible):
        placer.place(board, config)


def test_a_heap_no_region_can_hold_names_its_option() -> None:
    board = placer.load_board("qemu_cortex_m3")
    flash, ram = board.regions
    board = records.evolve(board, regions=(flash, records.evolve(ram, volatile=True)))
    (violation,) = review_placement(board, LlextConfig()).violations
    assert isinstance(violation, ConfigError)
    assert violation.options == ("LLEXT_HEAP_SIZE",)
    assert "RAM: excluded: not present at boot (volatile)" in violation.rule
    assert violation.fix == ("add memory that can hold it to the board (or free some), or "
                             "use a dynamic heap")


def _configurations() -> list[LlextConfig]:
    out = []
    for size, userspace in itertools.product((1, 8, 40, 200), (False, True)):
        out.append(LlextConfig(heap_size=size, instr_heap_size=size, data_heap_size=size,
                               userspace=userspace))
        for block in (32, 48, 2048, 4096):
            out.append(LlextConfig(heap_backend=HeapBackend.MEMBLK, ext_heap_size=size,
                                   instr_heap_size=size, data_heap_size=size,
                                   heap_memblk_block_size=block, userspace=userspace))
    out.append(LlextConfig(heap_dynamic=True))
    out.append(LlextConfig(heap_dynamic=True, heap_backend=HeapBackend.MEMBLK))
    return out


@pytest.mark.parametrize("board", placer.list_boards())
def test_check_ok_exactly_when_place_ok(board: str) -> None:
    loaded = placer.load_board(board)
    for config in _configurations():
        verdict = review_placement(loaded, config)
        refused = refusal(loaded, config)
        assert (verdict.violations == ()) == (refused is None), (config, refused)
        if refused is not None:
            first = verdict.violations[0]
            assert refused in (str(first), first.rule.split("; ")[0]), (config, refused)
