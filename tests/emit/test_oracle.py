"""GNU ld is the oracle: the emitted script and the noinit.ld fragment put every heap where
the layout JSON says, for every shipped board and mode; where placer says a configuration
does not fit, GNU ld refuses it too.

Each case assembles one program (image filler of the board's sizes plus the heap buffers,
see `tests.emit.oracle`) and links it twice: with the emitted custom script, and with the
board's base script plus the preprocessed ``noinit.ld`` spliced into ``.noinit`` (the way
Zephyr's ``snippets-noinit.ld`` does). Addresses and sizes are read back with pyelftools
and compared with the layout as read back from its JSON.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import placer
from placer import records
from placer.board import Board
from placer.config import HeapBackend, LlextConfig
from placer.emit import layout_json
from placer.emit.linker_script import edit_script, heap_symbols, linker_script
from placer.emit.noinit_fragment import SNIPPETS_INCLUDE, add_snippets_include, noinit_fragment
from placer.emit.svg import SegmentKind, region_segments
from placer.errors import Infeasible
from placer.layout import AddressSource, Layout, PlacedHeap, Placement
from placer.rules import review_config
from placer.script import ast, print_script
from placer.script.kconfig_macros import Macro
from placer.script.preprocess import preprocess_text
from placer.solve import Pin
from placer.target import resolve
from tests.emit.cases import cases, config_for, layout_for, supports
from tests.emit.oracle import assemble, link, program, read_heaps

#: Boards whose default configuration places (ESP32-S3's non-Harvard heap has no memory
#: that is both executable and on the data bus).
BOARDS = [name for name in placer.list_boards() if supports(placer.load_board(name), "k_heap")]


def fragment_script(layout: Layout) -> str:
    """The base script with Zephyr's placement: heaps placed in .noinit come from the
    preprocessed noinit.ld, pasted where ``add_snippets_include`` puts the include, as the
    C preprocessor of Zephyr's build pastes it; ARC Harvard heaps go inside rodata/data as
    the arch script puts them (without placer's ASSERTs: this is Zephyr's own placement)."""
    others = tuple(h for h in layout.heaps if h.placement is not Placement.NOINIT)
    base = edit_script(records.evolve(layout, heaps=others))
    base = ast.with_commands(base, tuple(c for c in base.commands
                                         if not isinstance(c, ast.Assert)))
    fragment = noinit_fragment(layout)
    text = preprocess_text(fragment.text, "noinit.ld", defines=(Macro("CONFIG_LLEXT", "1"),))
    printed = print_script(add_snippets_include(base))
    assert printed.count(SNIPPETS_INCLUDE) == 1
    before, _include, after = printed.partition(SNIPPETS_INCLUDE)
    return before + text.text + after


@pytest.mark.parametrize(("name", "mode"), cases())
def test_gnu_ld_puts_every_heap_where_the_layout_json_says(
    name: str, mode: str, tmp_path: Path
) -> None:
    board = placer.load_board(name)
    try:
        layout = layout_for(board, mode)
    except Infeasible:
        # placer refuses: Zephyr's own placement of the same heaps must overflow in ld.
        heaps = resolve(board, config_for(board, mode)).heap_sections()
        obj = assemble(board, program(board, heaps, nobits=True), tmp_path)
        result = link(board, obj, _default_placement(board, config_for(board, mode)),
                      tmp_path, "refused")
        assert result.returncode != 0
        assert "overflowed by" in result.stderr or "will not fit in region" in result.stderr
        return
    expected = layout_json.loads(layout_json.dumps(layout))
    want = {h.section: (h.address, h.size) for h in expected.heaps}
    heaps = tuple(h.heap for h in expected.heaps)
    obj = assemble(board, program(board, heaps), tmp_path)

    custom = link(board, obj, linker_script(layout), tmp_path, "custom")
    assert custom.returncode == 0, custom.stderr
    linked = read_heaps(tmp_path / "custom.elf", heaps)
    assert linked.heaps == want
    for placed in expected.heaps:
        start, end = heap_symbols(placed)
        assert (linked.symbols[start], linked.symbols[end]) == (placed.address, placed.end)
    # The memory map draws the image where ld put it once the heaps pushed it up.
    for region in {h.region for h in layout.heaps}:
        for segment in region_segments(layout, region):
            if segment.kind is SegmentKind.USED and f"image_{segment.name}" in linked.symbols:
                assert linked.symbols[f"image_{segment.name}"] == segment.start, segment

    if any(h.placement is Placement.NOINIT for h in layout.heaps) and mode != "pinned":
        default = link(board, obj, fragment_script(layout), tmp_path, "fragment")
        assert default.returncode == 0, default.stderr
        assert read_heaps(tmp_path / "fragment.elf", heaps).heaps == want

    if all(h.placement is Placement.NOINIT for h in layout.heaps) and mode != "pinned":
        # The files as a Zephyr build uses them: the board script with the include placer
        # added, a snippets-noinit.ld that includes noinit.ld (what zephyr_linker_sources
        # generates), all through the C preprocessor with CONFIG_LLEXT set.
        fragment = noinit_fragment(layout)
        assert fragment.script_with_include is not None
        (tmp_path / "noinit.ld").write_text(fragment.text)
        (tmp_path / "snippets-noinit.ld").write_text('#include "noinit.ld"\n')
        cooked = preprocess_text(fragment.script_with_include, "linker-snippets.ld",
                                 include_dirs=(tmp_path,),
                                 defines=(Macro("CONFIG_LLEXT", "1"),))
        zephyr = link(board, obj, cooked.text, tmp_path, "zephyr")
        assert zephyr.returncode == 0, zephyr.stderr
        assert read_heaps(tmp_path / "zephyr.elf", heaps).heaps == want


@pytest.mark.parametrize("name", BOARDS)
def test_an_image_that_grew_still_links_and_its_heaps_move_with_it(
        name: str, tmp_path: Path) -> None:
    # The layout's addresses come from the board's canned sizes: an estimate, which the
    # script must not assert. 64 more bytes in every section that can precede a heap move
    # the heaps; the link still succeeds and every heap keeps its size, alignment, region.
    board = placer.load_board(name)
    layout = layout_for(board, "k_heap")
    assert {p.address_source for p in layout.heaps} == {AddressSource.ESTIMATED}
    image = board.image
    assert image is not None
    grown = records.evolve(board, image=records.evolve(
        image, rodata=image.rodata + 64, data=image.data + 64, bss=image.bss + 64,
        noinit=image.noinit + 64))
    heaps = tuple(h.heap for h in layout.heaps)
    obj = assemble(grown, program(grown, heaps), tmp_path)
    result = link(board, obj, linker_script(layout), tmp_path, "drifted")
    assert result.returncode == 0, result.stderr
    found = read_heaps(tmp_path / "drifted.elf", heaps).heaps
    for placed in layout.heaps:
        address, size = found[placed.section]
        assert address > placed.address
        assert size == placed.size and address % placed.heap.align == 0
        assert board.region(placed.region).contains(address, size)


@pytest.mark.parametrize("name", ["qemu_cortex_m3", "qemu_riscv32"])
def test_a_heap_of_another_size_is_refused_by_ld(name: str, tmp_path: Path) -> None:
    board = placer.load_board(name)
    layout = layout_for(board, "k_heap")
    bigger = tuple(records.evolve(h.heap, size=h.size + 64) for h in layout.heaps)
    obj = assemble(board, program(board, bigger), tmp_path)
    result = link(board, obj, linker_script(layout), tmp_path, "bigger")
    assert result.returncode != 0
    for placed in layout.heaps:
        assert f"placer: {placed.section} is not {placed.size} bytes as the layout says" \
            in result.stderr


def test_a_pinned_address_is_asserted_and_kept_when_the_image_grows(tmp_path: Path) -> None:
    board = placer.load_board("qemu_cortex_m3")
    layout = placer.place(board, LlextConfig(), pins=(Pin(".llext_heap", address=0x2000c000),))
    (placed,) = layout.heaps
    assert placed.address_source is AddressSource.PINNED
    text = linker_script(layout)
    assert ('ASSERT(__placer_llext_heap_start == 0x2000c000, "placer: .llext_heap moved: '
            'the layout pins it at 0x2000c000")') in text
    image = board.image
    assert image is not None
    grown = records.evolve(board, image=records.evolve(image, bss=image.bss + 64))
    heaps = (placed.heap,)
    obj = assemble(grown, program(grown, heaps), tmp_path)
    result = link(board, obj, text, tmp_path, "grown")
    assert result.returncode == 0, result.stderr
    assert read_heaps(tmp_path / "grown.elf", heaps).heaps[".llext_heap"] == (0x2000c000, 8192)


def _kib_option(board: Board) -> str:
    return "data_heap_size" if board.harvard else "heap_size"


def _fits(board: Board, kib: int) -> bool:
    try:
        placer.place(board, LlextConfig(**{_kib_option(board): kib}))
    except Infeasible:
        return False
    return True


def _largest_fit(board: Board) -> int:
    # From the smallest size the rules accept (on MMU boards a heap must hold a page).
    low = next(kib for kib in range(1, 65)
               if not review_config(LlextConfig(**{_kib_option(board): kib}), board).violations)
    high = max(r.length for r in board.regions) // 1024 + 1
    assert _fits(board, low) and not _fits(board, high)
    while high - low > 1:
        middle = (low + high) // 2
        low, high = (middle, high) if _fits(board, middle) else (low, middle)
    return low


def _default_placement(board: Board, config: LlextConfig) -> str:
    """The base script with Zephyr's default placement of the heaps of `config` (no
    layout: the heaps go where Zephyr's scripts put them, whether they fit or not)."""
    target = resolve(board, config)
    placement = {".llext_instr_heap": Placement.IN_RODATA, ".llext_data_heap": Placement.IN_DATA}
    heaps = tuple(
        PlacedHeap(heap=h, address=0, padding=0,
                   region=(board.flash_region or board.noinit_region)
                   if h.section == ".llext_instr_heap" else board.noinit_region,
                   placement=placement.get(h.section, Placement.NOINIT))
        for h in target.heap_sections()
    )
    script = edit_script(Layout(target=target, heaps=heaps, regions=()))
    return print_script(ast.with_commands(script, tuple(
        c for c in script.commands if not isinstance(c, ast.Assert))))


@pytest.mark.parametrize("name", BOARDS)
def test_gnu_ld_overflows_exactly_where_placer_says_infeasible(name: str, tmp_path: Path) -> None:
    board = placer.load_board(name)
    largest = _largest_fit(board)
    config = LlextConfig(**{_kib_option(board): largest})
    layout = placer.place(board, config)
    heaps = tuple(h.heap for h in layout.heaps)
    fits = link(board, assemble(board, program(board, heaps, nobits=True), tmp_path),
                linker_script(layout), tmp_path, "largest")
    assert fits.returncode == 0, fits.stderr

    with pytest.raises(Infeasible):
        placer.place(board, LlextConfig(**{_kib_option(board): largest + 1}))
    over = resolve(board, LlextConfig(**{_kib_option(board): largest + 1})).heap_sections()
    (tmp_path / "over").mkdir()
    obj = assemble(board, program(board, over, nobits=True), tmp_path / "over")
    script = _default_placement(board, LlextConfig(**{_kib_option(board): largest + 1}))
    result = link(board, obj, script, tmp_path / "over", "over")
    assert result.returncode != 0
    assert "overflowed by" in result.stderr or "will not fit in region" in result.stderr


@given(
    kib=st.integers(min_value=1, max_value=24),
    offset=st.integers(min_value=0, max_value=0x4000).map(lambda n: n * 8),
    backend=st.sampled_from([HeapBackend.K_HEAP, HeapBackend.MEMBLK]),
    pinned=st.booleans(),
)
@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_any_layout_placer_accepts_links_exactly_there(
    kib: int, offset: int, backend: HeapBackend, pinned: bool, tmp_path: Path
) -> None:
    """Property: whatever heap size, backend and pinned address placer accepts on
    qemu_cortex_m3, GNU ld with the emitted script puts every heap exactly there."""
    board = placer.load_board("qemu_cortex_m3")
    config = LlextConfig(heap_backend=backend, heap_size=kib, ext_heap_size=kib,
                         heap_memblk_block_size=32)
    first = resolve(board, config).heap_sections()[0]
    pins = (Pin(first.section, address=0x20004000 + offset),) if pinned else ()
    try:
        layout = placer.place(board, config, pins=pins)
    except Infeasible:
        return
    heaps = tuple(h.heap for h in layout.heaps)
    workdir = Path(tempfile.mkdtemp(dir=tmp_path))
    obj = assemble(board, program(board, heaps), workdir)
    result = link(board, obj, linker_script(layout), workdir, "any")
    assert result.returncode == 0, result.stderr
    assert read_heaps(workdir / "any.elf", heaps).heaps == {
        h.section: (h.address, h.size) for h in layout.heaps
    }
