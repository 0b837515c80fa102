"""The noinit.ld fragment: Zephyr's guard, the heap sections, the CMake line, and the
snippets-noinit.ld include added only where the board's script lacks it."""

from __future__ import annotations

import placer
from placer.config import HeapBackend, LlextConfig
from placer.emit.noinit_fragment import (
    add_snippets_include,
    includes_snippets,
    noinit_fragment,
)
from placer.layout import Layout
from placer.script import FragmentKind, parse
from placer.script.kconfig_macros import Macro
from placer.script.preprocess import preprocess_text


def _memblk_layout() -> Layout:
    config = LlextConfig(heap_backend=HeapBackend.MEMBLK)
    return placer.place(placer.load_board("qemu_cortex_m3"), config)


def test_fragment_is_guarded_like_zephyrs_default_placement() -> None:
    fragment = noinit_fragment(_memblk_layout())
    assert fragment.text == (
        "/* LLEXT heaps for board qemu_cortex_m3, placed in .noinit by placer */\n"
        "#if defined(CONFIG_LLEXT) && !defined(CONFIG_LLEXT_CUSTOM_HEAP_PLACEMENT)\n"
        "*(.llext_ext_heap)\n"
        "*(.llext_metadata_heap)\n"
        "#endif\n"
    )
    assert fragment.cmake_line == "zephyr_linker_sources(NOINIT noinit.ld)"
    assert fragment.sections == (".llext_ext_heap", ".llext_metadata_heap")


def test_fragment_is_inert_with_custom_heap_placement() -> None:
    text = noinit_fragment(_memblk_layout()).text
    on = preprocess_text(text, "noinit.ld", defines=(Macro("CONFIG_LLEXT", "1"),))
    off = preprocess_text(text, "noinit.ld", defines=(
        Macro("CONFIG_LLEXT", "1"), Macro("CONFIG_LLEXT_CUSTOM_HEAP_PLACEMENT", "1")))
    body = parse(on.text, kind=FragmentKind.OUTPUT_SECTION_BODY)
    assert len(body.commands) == 2
    assert off.text.strip() == ""


def test_harvard_layout_has_nothing_in_noinit_with_k_heap() -> None:
    layout = placer.place(placer.load_board("nsim_em"), LlextConfig())
    assert noinit_fragment(layout).sections == ()


def test_board_script_without_the_include_gets_it_after_the_noinit_sections() -> None:
    fragment = noinit_fragment(_memblk_layout())
    assert fragment.script_with_include is not None
    assert (
        "        *(.noinit)\n"
        "        *(.noinit.*)\n"
        "        #include <snippets-noinit.ld>\n"
        "    } > RAM\n"
    ) in fragment.script_with_include


ZEPHYR_STYLE = """
MEMORY { RAM (rwx) : ORIGIN = 0x20000000, LENGTH = 64K }
SECTIONS
{
    .noinit (NOLOAD) :
    {
        *(.noinit)
#include <snippets-noinit.ld>
    } > RAM
}
"""


def test_script_that_already_includes_snippets_needs_no_edit() -> None:
    script = parse(ZEPHYR_STYLE, file="linker.ld")
    assert includes_snippets(script)
    assert noinit_fragment(_memblk_layout(), script).script_with_include is None


def test_ld_include_of_snippets_counts_too() -> None:
    script = parse(ZEPHYR_STYLE.replace("#include <snippets-noinit.ld>",
                                        "INCLUDE snippets-noinit.ld"))
    assert includes_snippets(script)


def test_adding_the_include_makes_the_script_include_it() -> None:
    script = parse(ZEPHYR_STYLE.replace("#include <snippets-noinit.ld>\n", ""))
    assert not includes_snippets(script)
    assert includes_snippets(add_snippets_include(script))
