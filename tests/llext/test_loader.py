"""The load pipeline allocates what Zephyr allocates, in its order, from its heaps."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from placer import records
from placer.board import Mpu, MpuKind
from placer.cli.output import render
from placer.config import HeapBackend, LlextConfig
from placer.errors import ExtensionError
from placer.layout import Layout, PlacedHeap
from placer.llext.elf import ExtensionElf, read_extension
from placer.llext.heap import SysHeap
from placer.llext.loader import Loader, LoadOptions, Storage
from placer.llext.metadata import estimate_llext_size, sizes_from_dwarf
from placer.llext.regions import Mem
from placer.target import resolve
from tests.llext.build import HELLO, build_extension
from tests.llext.targets import BOARDS, layout_for
from tests.toolchains import tool

PRINTK = 0x0800_1000


def builtin(symbol: object) -> int | None:
    return PRINTK if getattr(symbol, "name", "") == "printk" else None


def hello(llext_dir: Path, arch: str = "arm") -> ExtensionElf:
    return read_extension(build_extension(llext_dir, arch, "hello", HELLO).path,
                          layout_for(arch).target)


def temporary(layout_arch: str = "arm", config: LlextConfig | None = None) -> Loader:
    return Loader(layout_for(layout_arch, config), builtin=builtin,
                  options=LoadOptions(storage=Storage.TEMPORARY))


def test_allocations_follow_zephyrs_order_and_heap_arithmetic(llext_dir: Path) -> None:
    result = temporary().load(hello(llext_dir), "hello")
    assert result.ok, result.error
    assert [a.what for a in result.allocations] == [
        "struct llext", "section map", "region SHSTRTAB", "region STRTAB", "region TEXT",
        "region DATA", "region RODATA", "region BSS", "region EXPORT", "region SYMTAB",
        "symbol table", "export table"]
    assert {a.heap for a in result.allocations} == {".llext_heap"}
    for a in result.allocations:  # 4-byte header, whole 8-byte chunks, align <= header
        assert a.consumed == -(-(a.requested + 4) // 8) * 8
    assert result.allocations[0].requested == estimate_llext_size(4) == 204
    (usage,) = result.usage
    kept = sum(a.consumed for a in result.allocations if a.persistent)
    assert usage.persistent == kept
    # The peak is reached with the export table, before the section map and the symbol
    # table are freed.
    assert usage.transient_peak == sum(a.consumed for a in result.allocations)


def test_writable_storage_copies_only_bss(llext_dir: Path) -> None:
    loader = Loader(layout_for("arm"), builtin=builtin,
                    options=LoadOptions(storage=Storage.WRITABLE, buffer_address=0x6000_0000))
    result = loader.load(hello(llext_dir), "hello")
    on_heap = {r.mem for r in result.regions if r.heap is not None}
    assert on_heap == {Mem.BSS}
    text = next(r for r in result.regions if r.mem is Mem.TEXT)
    ext = hello(llext_dir)
    assert text.address == 0x6000_0000 + ext.sections[1].offset


def test_persistent_storage_copies_what_is_written_or_relocated(llext_dir: Path) -> None:
    loader = Loader(layout_for("arm"), builtin=builtin,
                    options=LoadOptions(storage=Storage.PERSISTENT))
    result = loader.load(hello(llext_dir), "hello")
    on_heap = {r.mem for r in result.regions if r.heap is not None}
    # TEXT and EXPORT carry relocations, DATA and BSS are written: those are copied.
    assert on_heap == {Mem.TEXT, Mem.DATA, Mem.BSS, Mem.EXPORT}


def test_harvard_text_goes_to_the_instruction_heap(llext_dir: Path) -> None:
    result = temporary("arc").load(hello(llext_dir, "arc"), "hello")
    assert result.ok, result.error
    heaps = {a.what: a.heap for a in result.allocations}
    assert heaps.pop("region TEXT") == ".llext_instr_heap"
    assert set(heaps.values()) == {".llext_data_heap"}


def test_fragmentation_carries_over_and_unload_gives_everything_back(
        llext_dir: Path) -> None:
    ext = hello(llext_dir)
    loader = temporary()
    first = loader.load(ext, "first")
    second = loader.load(ext, "second")
    assert first.ok and second.ok
    first_end = max(a.address + a.consumed for a in first.allocations if a.persistent)
    assert all(a.address > first_end - 1000 for a in second.allocations)
    assert second.usage[0].before == first.usage[0].after
    loader.unload("first")
    assert loader.usage()[".llext_heap"][0] == second.usage[0].persistent
    again = loader.load(ext, "third")
    # The holes 'first' left are reused: its struct llext slot comes back first.
    assert again.allocations[0].address == first.allocations[0].address
    loader.unload("second")
    loader.unload("third")
    (state,) = loader.heaps
    assert state.kheap is not None
    assert [c.used for c in state.kheap.chunks()] == [False]


def test_loading_a_loaded_name_only_counts_a_reference(llext_dir: Path) -> None:
    loader = temporary()
    ext = hello(llext_dir)
    loader.load(ext, "hello")
    repeat = loader.load(ext, "hello")
    assert repeat.already_loaded and repeat.allocations == ()
    loader.unload("hello")
    assert loader.usage()[".llext_heap"][0] > 0  # one reference left
    loader.unload("hello")
    assert loader.usage()[".llext_heap"][0] == 0


def test_a_heap_too_small_fails_with_enomem_and_names_the_allocation(
        llext_dir: Path) -> None:
    config = LlextConfig(heap_size=1)
    ext = hello(llext_dir)
    result = temporary(config=config).load(ext, "hello")
    assert result.error is not None and result.error.errno == "ENOMEM"
    # A 1 KiB heap: 127 chunks, 7 buckets in chunk 0 (6 chunks), 968 bytes to hand out.
    # Everything up to EXPORT fits; the symbol table copy does not.
    assert [a.what for a in result.allocations][-1] == "region EXPORT"
    symtab = ext.sections[ext.symtab_index].size
    needed = -(-(symtab + 4) // 8) * 8
    largest = 968 - sum(a.consumed for a in result.allocations)
    assert result.error.message == (
        f"cannot allocate {symtab} bytes 4-aligned for region SYMTAB from .llext_heap: that "
        f"needs a free block of {needed} bytes and the largest is {largest} bytes "
        f"({needed - largest} more)")
    # A failed load gives back everything it took.
    assert result.usage[0].after == 0


def test_memblk_rounds_regions_to_blocks_and_keeps_metadata_apart(llext_dir: Path) -> None:
    config = LlextConfig(heap_backend=HeapBackend.MEMBLK, heap_memblk_block_size=32)
    result = temporary(config=config).load(hello(llext_dir), "hello")
    assert result.ok, result.error
    for a in result.allocations:
        if a.what.startswith("region "):
            assert a.heap == ".llext_ext_heap" and a.consumed % 32 == 0
        else:
            assert a.heap == ".llext_metadata_heap"


def test_memblk_cannot_align_beyond_its_block_size(llext_dir: Path) -> None:
    source = "__attribute__((aligned(64))) int table[16] = {1};\nint get(int i) " \
             "{ return table[i]; }\n"
    ext = read_extension(build_extension(llext_dir, "arm", "aligned64", source).path)
    config = LlextConfig(heap_backend=HeapBackend.MEMBLK, heap_memblk_block_size=32)
    result = temporary(config=config).load(ext, "aligned64")
    assert result.error is not None
    assert result.error.errno == "ENOMEM"
    assert result.error.message == ("Requested alignment 64 for region DATA is not possible "
                                    "with block alignment 32 of .llext_ext_heap")


def test_mmu_pages_each_region_so_a_16k_heap_fits_one(llext_dir: Path) -> None:
    config = LlextConfig(heap_size=16, mmu=True, mmu_page_size=4096)
    result = temporary(config=config).load(hello(llext_dir), "hello")
    text = next(a for a in result.allocations if a.what == "region TEXT")
    assert text.address % 4096 == 0 and text.requested == 4096
    assert text.consumed == 4096 + 8
    assert result.error is not None and result.error.errno == "ENOMEM"
    assert "for region DATA" in result.error.message


def test_an_extension_without_globals_fails_like_zephyr(llext_dir: Path) -> None:
    source = "static int helper(int x) { return x; }\nint (*const keep)(int) " \
             "__attribute__((used, section(\".rodata.keep\"))) = 0;\n" \
             "static int local_only(void) { return helper(2); }\n" \
             "__attribute__((used)) static int (*p)(void) = local_only;\n"
    built = build_extension(llext_dir, "arm", "noglobals",
                            source.replace("int (*const keep)", "static int (*const keep)"))
    result = temporary().load(read_extension(built.path), "noglobals")
    assert result.error is not None
    assert render(result.error) == (
        f"{built.path}: error: the extension defines no global function or object symbol, so "
        "its symbol table allocation is 0 bytes and fails (Zephyr: -ENOMEM)")


def test_arm_veneers_add_an_executable_region(llext_dir: Path) -> None:
    # Without -mlong-calls the call to printk is a Thumb BL, which a veneer can serve.
    built = build_extension(llext_dir, "arm", "hello", HELLO, extra_flags=("-mno-long-calls",))
    config = LlextConfig(veneers=True)
    result = temporary(config=config).load(read_extension(built.path), "hello")
    veneer = next(a for a in result.allocations if a.what == "region VENEER")
    assert veneer.requested == 8  # one Thumb call to printk, 8-byte stub on Cortex-M4
    assert veneer.heap == ".llext_heap"
    whats = [a.what for a in result.allocations]
    # enum llext_mem puts VENEER between RODATA and BSS.
    assert whats.index("region RODATA") + 1 == whats.index("region VENEER")
    assert whats.index("region VENEER") + 1 == whats.index("region BSS")
    # One more region kind makes struct llext bigger too.
    assert result.allocations[0].requested == estimate_llext_size(4, regions=12)


def test_et_dyn_loads_as_one_image_on_the_instruction_heap(llext_dir: Path) -> None:
    built = build_extension(llext_dir, "x86-64", "hello", HELLO, shared=True)
    ext = read_extension(built.path, layout_for("x86-64").target)
    assert ext.e_type == 3 and ext.sections[ext.symtab_index].name == ".dynsym"
    result = temporary("x86-64", LlextConfig(heap_size=32)).load(ext, "hello")
    assert result.ok, result.error
    images = [a for a in result.allocations if a.what == "ET_DYN image"]
    assert len(images) == 1
    image = images[0]
    assert not any(a.what in ("region TEXT", "region DATA") for a in result.allocations)
    for region in result.regions:
        if region.mem in (Mem.TEXT, Mem.DATA, Mem.RODATA):
            assert image.address <= region.address < image.address + image.requested


def test_dependencies_order_the_loads_and_hold_references(llext_dir: Path) -> None:
    lib = build_extension(llext_dir, "arm", "lib", r"""
struct llext_const_symbol { const char *name; const void *addr; };
int lib_add(int a, int b) { return a + b; }
static const char name[] = "lib_add";
const struct llext_const_symbol export_lib_add
    __attribute__((section(".exported_sym"), used)) = { name, lib_add };
""")
    app = build_extension(llext_dir, "arm", "app", r"""
extern int lib_add(int, int);
int app_main(void) { return lib_add(2, 3); }
""")
    loader = temporary()
    lib_result = loader.load(read_extension(lib.path), "lib")
    assert lib_result.exports and lib_result.exports[0][0] == "lib_add"
    app_result = loader.load(read_extension(app.path), "app")
    assert app_result.ok, app_result.error
    assert app_result.dependencies == ("lib",)
    assert loader.loaded["lib"].use_count == 2
    loader.unload("app")  # dependents first, as Zephyr requires
    assert loader.loaded["lib"].use_count == 1
    loader.unload("lib")
    assert loader.loaded == {}


def test_sizeof_struct_llext_comes_from_dwarf(tmp_path: Path) -> None:
    source = tmp_path / "image.c"
    source.write_text("struct llext { char name[16]; void *mem[13]; unsigned long n; };\n"
                      "struct llext instance;\nint main(void) { return 0; }\n")
    image = tmp_path / "zephyr.elf"
    subprocess.run([tool("arm", "gcc"), "-g", "-c", str(source), "-o", str(image)],
                   check=True)
    sizes = sizes_from_dwarf(image)
    assert sizes is not None
    assert sizes.llext == 16 + 13 * 4 + 4
    assert sizes.sect_map_entry == 8 and sizes.source == f"DWARF of {image}"


def test_estimate_grows_with_the_options() -> None:
    base = estimate_llext_size(4, et_dyn_fields=False)
    assert base == 188  # the documented 32-bit k_heap figure
    assert estimate_llext_size(4, et_dyn_fields=False, userspace=True) == base + 48
    assert estimate_llext_size(4, et_dyn_fields=False, memblk=True) == base + 92
    assert estimate_llext_size(4) == base + 16


def test_simulated_addresses_match_a_direct_replay(llext_dir: Path) -> None:
    """The loader's heap calls are exactly the allocator calls: replaying the recorded
    requests on a fresh allocator gives the same addresses."""
    loader = temporary()
    result = loader.load(hello(llext_dir), "hello")
    placed = loader.heaps[0]
    heap = SysHeap(layout_for("arm").heaps[0].address, layout_for("arm").heaps[0].size)
    replay = []
    for a in result.allocations:
        replay.append(heap.aligned_alloc(a.align, a.requested) if a.align
                      else heap.alloc(a.requested))
    assert replay == [a.address for a in result.allocations]
    assert placed.kheap is not None


@pytest.mark.parametrize("arch", ["arm", "riscv32", "x86-64", "arc", "xtensa"])
def test_hello_loads_on_every_architecture(llext_dir: Path, arch: str) -> None:
    result = temporary(arch).load(hello(llext_dir, arch), "hello")
    assert result.ok, result.error
    if arch != "xtensa":  # Zephyr's Xtensa linker misplaces .exported_sym patches
        assert [e[0] for e in result.exports] == ["hello_start"]


def test_out_of_range_call_fails_the_load(llext_dir: Path) -> None:
    # printk 2 GiB below the heap cannot be reached by a RISC-V CALL pair.
    loader = Loader(layout_for("riscv64"), builtin=lambda symbol: 0x1000,
                    options=LoadOptions(storage=Storage.TEMPORARY))
    result = loader.load(hello(llext_dir, "riscv64"), "hello")
    assert result.error is not None and result.error.errno == "ENOEXEC"
    assert result.error.symbol == "printk"
    assert result.usage[0].after == 0



def test_harvard_text_is_never_run_from_a_data_memory_buffer(llext_dir: Path) -> None:
    loader = Loader(layout_for("arc"), builtin=builtin,
                    options=LoadOptions(storage=Storage.WRITABLE, buffer_address=0x8002_0000))
    result = loader.load(hello(llext_dir, "arc"), "hello")
    assert result.ok, result.error
    text = next(r for r in result.regions if r.mem is Mem.TEXT)
    assert text.heap == ".llext_instr_heap"
    assert any(note.startswith("region TEXT cannot be used in place at 0x8002")
               and note.endswith("(not instruction memory): copied to the heap")
               for note in result.notes)
    data = next(r for r in result.regions if r.mem is Mem.DATA)
    assert data.heap is None  # writable storage: data is used in place


def test_a_loader_without_peek_reads_headers_into_the_heap_and_a_failure_leaks_them(
        llext_dir: Path) -> None:
    ext = hello(llext_dir)
    ok = Loader(layout_for("arm"), builtin=builtin,
                options=LoadOptions(storage=Storage.TEMPORARY, peek=False)).load(ext, "h")
    headers = next(a for a in ok.allocations if a.what == "section headers")
    assert headers.requested == len(ext.sections) * 40 and headers.persistent
    failing = Loader(layout_for("arm", LlextConfig(heap_size=1)), builtin=builtin,
                     options=LoadOptions(storage=Storage.TEMPORARY, peek=False))
    result = failing.load(ext, "h")
    assert result.error is not None and result.error.errno == "ENOMEM"
    leaked = next(a for a in result.allocations if a.what == "section headers")
    assert result.usage[0].after == leaked.consumed
    assert any("does not free the" in note for note in result.notes)


ARM64_HELLO = """
    .text
    .global hello_start
    .type hello_start, %function
hello_start:
    adrp x0, counter
    add x0, x0, :lo12:counter
    ldr w1, [x0]
    add w1, w1, #1
    str w1, [x0]
    b printk
    .size hello_start, .-hello_start
    .data
    .global data_var
    .type data_var, %object
data_var: .word 5
    .bss
    .global counter
    .type counter, %object
counter: .space 4
"""


def test_arm64_object_loads_with_64_bit_metadata(tmp_path: Path) -> None:
    source = tmp_path / "hello.s"
    source.write_text(ARM64_HELLO)
    obj = tmp_path / "hello.llext"
    subprocess.run([tool("arm64", "as"), str(source), "-o", str(obj)], check=True)
    ext = read_extension(obj, layout_for("arm64").target)
    loader = Loader(layout_for("arm64"), builtin=lambda symbol: 0x4000_2000,
                    options=LoadOptions(storage=Storage.TEMPORARY))
    result = loader.load(ext, "hello")
    assert result.ok, result.error
    first = result.allocations[0]
    assert (first.what, first.requested, first.consumed) == ("struct llext", 384, 392)
    assert all(a.consumed % 8 == 0 and a.consumed >= a.requested + 8
               for a in result.allocations)
    text = next(r for r in result.regions if r.mem is Mem.TEXT)
    branch = int.from_bytes(text.data[20:24], "little")
    assert branch >> 26 == 0b000101  # B, patched to reach printk
    assert (0x4000_2000 - (text.address + 20)) // 4 == sign_extend(branch & 0x3FFFFFF, 26)


def sign_extend(value: int, bits: int) -> int:
    return value - (1 << bits) if value >> (bits - 1) else value


def test_power_of_two_mpu_sizes_and_aligns_each_region_to_a_power_of_two(
        llext_dir: Path) -> None:
    board = records.evolve(BOARDS["arm"], mpu=Mpu(MpuKind.ARM_MPU, requires_power_of_two=True))
    config = LlextConfig(userspace=True, heap_size=16)
    target = resolve(board, config)
    (heap,) = target.heap_sections()
    layout = Layout(target=target, heaps=(PlacedHeap(heap, "RAM", 0x2000_4000, 0),),
                    regions=())
    result = Loader(layout, builtin=builtin,
                    options=LoadOptions(storage=Storage.TEMPORARY)).load(hello(llext_dir), "h")
    assert result.ok, result.error
    for a in result.allocations:
        if a.what in ("region TEXT", "region DATA", "region RODATA", "region BSS"):
            assert a.requested == a.align and a.requested & (a.requested - 1) == 0
            assert a.requested >= 32 and a.address % a.align == 0
    strtab = next(a for a in result.allocations if a.what == "region STRTAB")
    assert strtab.align == 1  # string tables are not ALLOC: never rounded


def test_user_mode_without_a_protection_rule_is_not_supported(llext_dir: Path) -> None:
    config = LlextConfig(userspace=True)
    result = temporary("xtensa", config).load(hello(llext_dir, "xtensa"), "h")
    assert result.error is not None and result.error.errno == "ENOTSUP"
    assert result.error.message == ("region TEXT: no memory protection alignment rule for "
                                    "this architecture")


def test_an_exports_file_that_is_not_elf_says_so(tmp_path: Path) -> None:
    image = tmp_path / "zephyr.elf"
    image.write_text("not an image\n")
    with pytest.raises(ExtensionError) as caught:
        sizes_from_dwarf(image)
    assert render(caught.value) == (f"{image}: error: not an ELF image: Magic number does not "
                                 "match (Zephyr: -ENOEXEC)")
