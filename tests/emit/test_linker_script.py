"""The custom linker script: heaps inserted by editing the AST, pinned by ASSERTs."""

from __future__ import annotations

import pytest

import placer
from placer import records
from placer.cli.output import render
from placer.config import HeapBackend, LlextConfig
from placer.emit.linker_script import edit_script, linker_script
from placer.errors import BoardError
from placer.layout import Placement
from placer.script import ast, parse
from placer.solve import Pin


def _section(script: ast.Script, name: str) -> ast.OutputSection:
    found = ast.find_output_section(script, name)
    assert found is not None
    return found


def _patterns(section: ast.OutputSection) -> list[str]:
    return [
        p.name for c in section.commands if isinstance(c, ast.InputSectionDescription)
        for p in c.sections or () if isinstance(p, ast.Pattern)
    ]


def test_default_heap_goes_after_the_noinit_input_sections() -> None:
    layout = placer.place(placer.load_board("qemu_cortex_m3"), LlextConfig())
    noinit = _section(edit_script(layout), ".noinit")
    assert _patterns(noinit) == [".noinit", ".noinit.*", ".llext_heap"]


def test_harvard_instr_heap_goes_to_iccm_inside_rodata_and_data_heap_inside_data() -> None:
    layout = placer.place(placer.load_board("nsim_em"), LlextConfig())
    script = edit_script(layout)
    rodata = _section(script, "rodata")
    datas = _section(script, "datas")
    assert rodata.region == "ICCM"
    assert _patterns(rodata)[-1] == ".llext_instr_heap*"
    assert datas.region == "DCCM"
    assert _patterns(datas)[-1] == ".llext_data_heap*"
    assert {h.placement for h in layout.heaps} == {Placement.IN_RODATA, Placement.IN_DATA}


def test_pinned_heap_becomes_a_noload_output_section_at_its_address() -> None:
    board = placer.load_board("frdm_k64f")
    layout = placer.place(board, LlextConfig(), pins=(Pin(".llext_heap", region="SRAM_L"),))
    section = _section(edit_script(layout), ".llext_heap")
    assert section.type == "NOLOAD"
    assert section.region == "SRAM_L"
    assert isinstance(section.address, ast.Number)
    assert section.address.value == layout.heap(".llext_heap").address


def test_asserts_check_size_alignment_and_region_but_not_an_estimated_address() -> None:
    layout = placer.place(placer.load_board("qemu_cortex_m3"), LlextConfig())
    text = linker_script(layout)
    assert text.endswith(
        'ASSERT(__placer_llext_heap_end - __placer_llext_heap_start == 0x2000, "placer: '
        '.llext_heap is not 8192 bytes as the layout says")\n'
        'ASSERT(__placer_llext_heap_start % 8 == 0, "placer: .llext_heap is not aligned to 8 '
        'bytes")\n'
        'ASSERT(__placer_llext_heap_start >= ORIGIN(RAM) && __placer_llext_heap_end <= '
        'ORIGIN(RAM) + LENGTH(RAM), "placer: .llext_heap left region RAM")\n'
    )
    assert "moved" not in text


def test_heaps_in_one_memory_are_asserted_apart() -> None:
    layout = placer.place(placer.load_board("nrf52840dk_nrf52840"),
                          LlextConfig(heap_backend=HeapBackend.MEMBLK))
    assert linker_script(layout).endswith(
        'ASSERT(__placer_llext_ext_heap_end <= __placer_llext_metadata_heap_start || '
        '__placer_llext_metadata_heap_end <= __placer_llext_ext_heap_start, "placer: '
        '.llext_ext_heap and .llext_metadata_heap overlap")\n')


def test_printed_script_parses_back_to_the_edited_tree() -> None:
    layout = placer.place(placer.load_board("nucleo_h743zi"), LlextConfig(userspace=True))
    assert parse(linker_script(layout)) == edit_script(layout)


USER_SCRIPT = """
MEMORY { RAM (rwx) : ORIGIN = 0x20000000, LENGTH = 64K }
SECTIONS
{
    bss (NOLOAD) : { *(.bss) } > RAM
    noinit (NOLOAD) :
    {
        *(.noinit)
        *(.llext_heap)
        *(.llext_ext_heap)
    } > RAM
}
"""


def test_a_users_script_keeps_no_heap_pattern_of_its_own() -> None:
    # A Zephyr linker.cmd built without LLEXT_CUSTOM_HEAP_PLACEMENT already collects the
    # heaps; its patterns would catch them before placer's own.
    layout = placer.place(placer.load_board("qemu_cortex_m3"), LlextConfig())
    noinit = _section(edit_script(layout, parse(USER_SCRIPT)), "noinit")
    assert _patterns(noinit) == [".noinit", ".llext_heap"]
    assert sum(isinstance(c, ast.InputSectionDescription) for c in noinit.commands) == 2


def test_board_without_base_script_says_to_pass_one() -> None:
    layout = placer.place(placer.load_board("qemu_cortex_m3"), LlextConfig())
    bare = records.evolve(layout, target=records.evolve(
        layout.target, board=records.evolve(layout.target.board, base_script=None)))
    with pytest.raises(BoardError) as error:
        linker_script(bare)
    assert render(error.value) == (
        "error: board qemu_cortex_m3 has no base linker script: pass one (e.g. Zephyr's "
        "linker.cmd) to emit a custom script"
    )


def test_harvard_heap_needs_a_data_section_in_its_region() -> None:
    layout = placer.place(placer.load_board("nsim_em"), LlextConfig())
    script = parse("MEMORY { DCCM (rw) : ORIGIN = 0x80000000, LENGTH = 1M }\n"
                   "SECTIONS { bss : { *(.bss) } > DCCM }\n", file="custom.ld")
    with pytest.raises(BoardError) as error:
        edit_script(layout, script)
    assert render(error.value) == (
        "custom.ld: error: cannot place .llext_data_heap in-data: the linker script has "
        "no output section collecting .data in region DCCM"
    )
