"""Every emitted ``llext.conf`` survives Zephyr's Kconfig: loaded through kconfiglib against
placer's Kconfig model, on top of the board's own values, no assignment is dropped or
changed, and reading it back gives the configuration the layout was placed for."""

from __future__ import annotations

import pytest

import placer
from placer.config import HeapBackend, LlextConfig, config_from_values
from placer.dotconfig import ineffective_assignments, kconfig_values
from placer.emit.kconfig import kconfig_fragment, needs_custom_script
from placer.errors import ConfigError, Infeasible
from placer.solve import Pin
from placer.solve.core import review_placement
from placer.target import board_symbols
from tests.emit.cases import cases, config_for, layout_for


@pytest.mark.parametrize(("name", "mode"), cases())
def test_every_emitted_fragment_loads_through_kconfig_and_every_value_survives(
        name: str, mode: str) -> None:
    board = placer.load_board(name)
    try:
        layout = layout_for(board, mode)
    except Infeasible:
        # Nothing to emit; config check says so too (hifive1_revb's 8.5 KiB of free RAM
        # holds no 16 KiB memblk pool).
        assert review_placement(board, config_for(board, mode)).violations
        return
    # As write_artifacts names the custom script when the layout needs one.
    custom = "linker.ld" if needs_custom_script(layout) else None
    text = kconfig_fragment(layout, custom_script=custom)
    base = board_symbols(layout.target)
    assert ineffective_assignments([("llext.conf", text)], base=base) == ()
    values = kconfig_values([("llext.conf", text)], base=base)
    read = config_from_values(values, layout.target.config.zephyr_version)
    placed = layout.target.config
    for field in ("heap_backend", "heap_dynamic", "userspace"):
        assert getattr(read, field) == getattr(placed, field), field
    for placed_heap in layout.heaps:
        option = {".llext_heap": "heap_size", ".llext_ext_heap": "ext_heap_size",
                  ".llext_metadata_heap": "metadata_heap_size",
                  ".llext_instr_heap": "instr_heap_size",
                  ".llext_data_heap": "data_heap_size"}[placed_heap.heap.section]
        assert getattr(read, option) == getattr(placed, option), option
    if custom is not None:
        assert read.custom_heap_placement
        assert values.get("CUSTOM_LINKER_SCRIPT") is not None


def test_custom_placement_names_the_script_with_have_custom_linker_script() -> None:
    board = placer.load_board("nucleo_h743zi")
    layout = placer.place(board, LlextConfig(), pins=(Pin(".llext_heap", region="ITCM"),))
    text = kconfig_fragment(layout, custom_script="linker.ld")
    assert text.splitlines()[-3:] == ["CONFIG_LLEXT_CUSTOM_HEAP_PLACEMENT=y",
                                      "CONFIG_HAVE_CUSTOM_LINKER_SCRIPT=y",
                                      'CONFIG_CUSTOM_LINKER_SCRIPT="linker.ld"']
    # Without HAVE_CUSTOM_LINKER_SCRIPT, Kconfig drops the file name: the heap would be an
    # orphan after .data (what placer wrote before).
    dropped = text.replace("CONFIG_HAVE_CUSTOM_LINKER_SCRIPT=y\n", "")
    (warning,) = ineffective_assignments([("llext.conf", dropped)],
                                         base=board_symbols(layout.target))
    assert warning == ('llext.conf:6: warning: CONFIG_CUSTOM_LINKER_SCRIPT="linker.ld" has no '
                       "effect: Kconfig gives it '', as it depends on HAVE_CUSTOM_LINKER_SCRIPT, "
                       "and HAVE_CUSTOM_LINKER_SCRIPT does not hold")


def test_kconfig_reports_a_value_whose_dependency_is_unmet() -> None:
    text = "CONFIG_LLEXT=y\nCONFIG_LLEXT_HEAP_MEMBLK=y\nCONFIG_LLEXT_HEAP_SIZE=16\n"
    assert ineffective_assignments([("prj.conf", text)]) == (
        "prj.conf:3: warning: CONFIG_LLEXT_HEAP_SIZE=16 has no effect: Kconfig gives it '', "
        "as it depends on !LLEXT_HEAP_DYNAMIC && !HARVARD && !LLEXT_HEAP_MEMBLK && LLEXT, and "
        "!LLEXT_HEAP_MEMBLK does not hold",)
    text = "CONFIG_LLEXT=y\nCONFIG_LLEXT_HEAP_DYNAMIC=y\nCONFIG_LLEXT_HEAP_MEMBLK=y\n"
    assert ineffective_assignments([("prj.conf", text)]) == (
        "prj.conf:3: warning: CONFIG_LLEXT_HEAP_MEMBLK=y has no effect: LLEXT_HEAP_K_HEAP is "
        "the choice's selection, as it depends on !LLEXT_HEAP_DYNAMIC && "
        "<choice LLEXT_HEAP_MANAGEMENT>, and !LLEXT_HEAP_DYNAMIC does not hold",)


def test_a_release_before_the_heap_management_choice_gets_no_k_heap_line() -> None:
    board = placer.load_board("qemu_cortex_m3")
    old = placer.place(board, LlextConfig(zephyr_version=(4, 3)))
    assert kconfig_fragment(old).splitlines()[1:] == ["CONFIG_LLEXT=y",
                                                      "CONFIG_LLEXT_HEAP_SIZE=8"]
    new = placer.place(board, LlextConfig())
    assert "CONFIG_LLEXT_HEAP_K_HEAP=y" in kconfig_fragment(new).splitlines()


def test_a_release_without_heap_sections_keeps_zephyrs_placement_or_refuses() -> None:
    board = placer.load_board("nucleo_h743zi")
    pins = (Pin(".llext_heap", region="ITCM"),)
    with pytest.raises(Infeasible) as caught:
        placer.place(board, LlextConfig(zephyr_version=(4, 3)), pins=pins)
    assert "Zephyr 4.3 can place its heaps nowhere else" in str(caught.value)
    layout = placer.place(board, LlextConfig(zephyr_version=(4, 3)))
    assert not needs_custom_script(layout)


def test_a_release_before_llext_is_refused() -> None:
    board = placer.load_board("qemu_cortex_m3")
    with pytest.raises(ConfigError, match=r"Zephyr 3\.4 has no LLEXT subsystem"):
        placer.place(board, LlextConfig(zephyr_version=(3, 4)))


def test_harvard_heaps_need_a_release_that_has_them() -> None:
    board = placer.load_board("nsim_em")
    with pytest.raises(ConfigError, match=r"Zephyr 4\.2's LLEXT has no Harvard heaps"):
        placer.place(board, LlextConfig(zephyr_version=(4, 2)))


def test_memblk_fragment_survives_on_an_mmu_board() -> None:
    board = placer.load_board("qemu_x86")
    config = LlextConfig(heap_backend=HeapBackend.MEMBLK, heap_memblk_block_size=4096,
                         ext_heap_size=32)
    layout = placer.place(board, config)
    text = kconfig_fragment(layout)
    assert ineffective_assignments([("llext.conf", text)],
                                   base=board_symbols(layout.target)) == ()
