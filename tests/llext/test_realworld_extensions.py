"""Constructs real extensions use, found by loading Zephyr-style test extensions.

Each test compiles a small extension (written here, in the spirit of the construct) with
the cross compilers and Zephyr's LLEXT flags, then loads it with `placer.verify` and pins
what Zephyr's loader does with it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from placer.config import LlextConfig
from placer.llext import verify
from placer.llext.regions import Mem
from tests.llext.build import build_extension
from tests.llext.targets import layout_for

#: Optional hooks: the extension checks at run time whether the image provides them.
OPTIONAL_HOOKS = r"""
struct llext_const_symbol { const char *name; const void *addr; };
extern void board_led_hook(void) __attribute__((weak));
extern int board_trace_level __attribute__((weak));
extern int printk(const char *fmt, ...);
void (*volatile hook_seen)(void) = board_led_hook;
int *volatile level_seen = &board_trace_level;
int run_hooks(void)
{
    if (board_led_hook)
        board_led_hook();
    printk("level %p\n", &board_trace_level);
    return hook_seen == 0 && level_seen == 0;
}
static const char run_hooks_name[] = "run_hooks";
const struct llext_const_symbol export_run_hooks
    __attribute__((section(".exported_sym"), used)) = { run_hooks_name, run_hooks };
"""

#: The same references without the weak attribute: the image must provide them.
REQUIRED_HOOKS = OPTIONAL_HOOKS.replace(" __attribute__((weak))", "")


@pytest.fixture(scope="module")
def exports(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("exports") / "exports.txt"
    path.write_text("printk 0x00001001 UNASSIGNED\nmemcpy 0x00002001 LIBC\n")
    return path


@pytest.mark.parametrize("arch", ["arm", "riscv32", "x86-64"])
def test_undefined_weak_references_link_as_null(llext_dir: Path, exports: Path,
                                               arch: str) -> None:
    ext = build_extension(llext_dir, arch, "optional_hooks", OPTIONAL_HOOKS).path
    report = verify(layout_for(arch), [ext], exports_list=exports)
    (load,) = report.loads
    assert load.ok, report.render_text()
    assert load.unresolved == ()
    data = next(r for r in load.regions if r.mem is Mem.DATA)
    # Both initialised pointers (the hook and &level) are relocated to NULL.
    pointer = 8 if arch == "x86-64" else 4
    assert data.data[data.size - 2 * pointer:] == bytes(2 * pointer)


@pytest.mark.parametrize("arch", ["arm", "riscv32"])
def test_undefined_strong_references_still_fail_with_enodata(llext_dir: Path, exports: Path,
                                                             arch: str) -> None:
    ext = build_extension(llext_dir, arch, "required_hooks", REQUIRED_HOOKS).path
    (load,) = verify(layout_for(arch), [ext], exports_list=exports).loads
    assert load.error is not None and load.error.errno == "ENODATA"
    assert load.unresolved == ("board_led_hook", "board_trace_level")


def _provider(index: int) -> str:
    return rf"""
struct llext_const_symbol {{ const char *name; const void *addr; }};
int service_{index}(int x) {{ return x + {index}; }}
static const char service_{index}_name[] = "service_{index}";
const struct llext_const_symbol export_service_{index}
    __attribute__((section(".exported_sym"), used)) = {{ service_{index}_name, service_{index} }};
"""


#: Calls one function from each of nine other extensions.
NINE_SERVICES = "\n".join(f"extern int service_{i}(int);" for i in range(9)) + r"""
int use_all(void)
{
    return service_0(0) + service_1(0) + service_2(0) + service_3(0) + service_4(0)
        + service_5(0) + service_6(0) + service_7(0) + service_8(0);
}
"""


def test_a_ninth_dependency_is_reported_as_dropped(llext_dir: Path, exports: Path) -> None:
    providers = [build_extension(llext_dir, "arm", f"svc{i}", _provider(i)).path
                 for i in range(9)]
    user = build_extension(llext_dir, "arm", "svcuser", NINE_SERVICES).path
    layout = layout_for("arm", LlextConfig(heap_size=32))
    report = verify(layout, [*providers, user], exports_list=exports)
    assert report.ok, report.render_text()
    load = report.load(user.stem[:15])
    # Zephyr records the first eight providers met while relocating; the ninth is linked
    # but not held, so it may be unloaded under the user's feet.
    assert len(load.dependencies) == 8
    (dropped,) = sorted({p.stem[:15] for p in providers} - set(load.dependencies))
    assert load.notes == (
        f"dependency on '{dropped}' not recorded: Zephyr keeps at most 8 dependencies per "
        f"extension and silently drops the rest, so '{dropped}' can be unloaded while still "
        "in use",)
    assert f"  note: dependency on '{dropped}' not recorded" in report.render_text()


def test_eight_dependencies_give_no_note(llext_dir: Path, exports: Path) -> None:
    providers = [build_extension(llext_dir, "arm", f"svc{i}", _provider(i)).path
                 for i in range(8)]
    source = NINE_SERVICES.replace(" + service_8(0)", "").replace(
        "extern int service_8(int);", "")
    user = build_extension(llext_dir, "arm", "svcuser8", source).path
    layout = layout_for("arm", LlextConfig(heap_size=32))
    report = verify(layout, [*providers, user], exports_list=exports)
    load = report.load(user.stem[:15])
    assert load.ok and len(load.dependencies) == 8 and load.notes == ()


#: Calls two exports with plain BL: built without -mlong-calls, as veneer users do.
SHORT_CALLS = r"""
struct llext_const_symbol { const char *name; const void *addr; };
extern int printk(const char *fmt, ...);
extern void *memcpy(void *dst, const void *src, unsigned int n);
static char copy[8];
int short_calls(const char *text)
{
    memcpy(copy, text, sizeof(copy));
    return printk("%s\n", copy);
}
static const char short_calls_name[] = "short_calls";
const struct llext_const_symbol export_short_calls
    __attribute__((section(".exported_sym"), used)) = { short_calls_name, short_calls };
"""


def _short_calls(llext_dir: Path) -> Path:
    return build_extension(llext_dir, "arm", "short_calls", SHORT_CALLS,
                           extra_flags=("-mno-long-calls",)).path


def test_out_of_range_calls_without_veneers_fail_with_the_long_calls_hint(
        llext_dir: Path, exports: Path) -> None:
    (load,) = verify(layout_for("arm"), [_short_calls(llext_dir)], exports_list=exports).loads
    assert load.error is not None and load.error.errno == "ENOEXEC"
    assert "build with -mlong-calls, or enable CONFIG_LLEXT_VENEERS" in load.error.message


def test_out_of_range_calls_with_veneers_load_through_the_veneer_region(
        llext_dir: Path, exports: Path) -> None:
    layout = layout_for("arm", LlextConfig(veneers=True))
    report = verify(layout, [_short_calls(llext_dir)], exports_list=exports)
    (load,) = report.loads
    assert load.ok, report.render_text()
    veneer = next(r for r in load.regions if r.mem is Mem.VENEER)
    # One 8-byte Mainline stub per Thumb call to an export: memcpy and printk.
    assert veneer.size == 2 * 8 and veneer.heap == ".llext_heap"
    assert {p.symbol for p in load.relocation_problems} == {"memcpy", "printk"}
    assert all(p.severity.value == "warning" and
               f"Zephyr routes it through a veneer in VENEER ({veneer.address:#x}, 16 bytes)"
               in p.message for p in load.relocation_problems)


#: A provider and its user, as Zephyr's export-dependency tests pair them.
PROVIDER = r"""
struct llext_const_symbol { const char *name; const void *addr; };
extern int printk(const char *fmt, ...);
int scale_reading(int raw)
{
    printk("scale_reading: raw sensor value %d, scaled by three\n", raw);
    return raw * 3;
}
static const char scale_reading_name[] = "scale_reading";
const struct llext_const_symbol export_scale_reading
    __attribute__((section(".exported_sym"), used)) = { scale_reading_name, scale_reading };
"""
CONSUMER = r"""
extern int scale_reading(int raw);
int sample_once(void) { return scale_reading(14); }
"""


def test_xtensa_links_from_read_only_storage_since_zephyr_4_4(
        llext_dir: Path, exports: Path) -> None:
    provider = build_extension(llext_dir, "xtensa", "provider", PROVIDER).path
    consumer = build_extension(llext_dir, "xtensa", "consumer", CONSUMER).path
    report = verify(layout_for("xtensa"), [provider, consumer], exports_list=exports,
                    storage="persistent")
    assert report.ok, report.render_text()
    first, second = report.loads
    assert first.relocation_problems == () and second.relocation_problems == ()
    # The provider's export table was copied to the heap and patched there, so the
    # consumer finds scale_reading at the provider's relocated text.
    text = next(r for r in first.regions if r.mem is Mem.TEXT)
    (address,) = [a for name, a in first.exports if name == "scale_reading"]
    assert text.address <= address < text.address + text.size
    assert second.dependencies == (first.name,)


def test_xtensa_before_zephyr_4_4_links_nothing_from_read_only_storage(
        llext_dir: Path, exports: Path) -> None:
    provider = build_extension(llext_dir, "xtensa", "provider", PROVIDER).path
    consumer = build_extension(llext_dir, "xtensa", "consumer", CONSUMER).path
    layout = layout_for("xtensa", LlextConfig(zephyr_version=(4, 3)))
    report = verify(layout, [provider, consumer], exports_list=exports, storage="persistent")
    # llext_link_plt refuses to patch a buffer it may not write, entry by entry, and the
    # load still succeeds: every relocation is left unlinked.
    assert report.ok
    for load in report.loads:
        assert load.relocation_problems
        assert all(p.severity.value == "warning" and p.message.startswith(
            "PLT: cannot link read-only ELF file") for p in load.relocation_problems)
    # Writable storage (LLEXT_STORAGE_WRITABLE's Xtensa default before 4.4) links them.
    writable = verify(layout, [provider, consumer], exports_list=exports)
    assert writable.storage.startswith("writable")
    assert writable.ok and all(not load.relocation_problems for load in writable.loads)


def test_names_alike_in_15_characters_hand_back_the_loaded_extension(
        llext_dir: Path, exports: Path, tmp_path: Path) -> None:
    provider = tmp_path / "reading_scaler_v1.llext"
    user = tmp_path / "reading_scaler_v2.llext"
    provider.write_bytes(build_extension(llext_dir, "arm", "provider", PROVIDER).path
                         .read_bytes())
    user.write_bytes(build_extension(llext_dir, "arm", "consumer", CONSUMER).path.read_bytes())
    report = verify(layout_for("arm"), [provider, user], exports_list=exports)
    first, second = report.loads
    # llext_by_name compares 15 characters: the second llext_load returns the first
    # extension with one more reference, and the second file is never read.
    assert first.name == second.name == "reading_scaler_"
    assert report.ok and second.already_loaded and second.path == str(user)
    assert second.regions == first.regions and second.allocations == ()
    assert second.notes == (
        f"llext_load('reading_scaler_v2') compares only the first 15 characters of the "
        f"name: Zephyr hands back 'reading_scaler_' (loaded from {provider}) and never reads "
        f"{user}; give the extensions names that differ earlier",)


def test_shared_library_regions_report_the_heap_of_their_image(
        llext_dir: Path, exports: Path) -> None:
    ext = build_extension(llext_dir, "x86-64", "provider", PROVIDER, shared=True).path
    report = verify(layout_for("x86-64", LlextConfig(heap_size=32)), [ext],
                    exports_list=exports)
    (load,) = report.loads
    assert load.ok, report.render_text()
    (image,) = [a for a in load.allocations if a.what == "ET_DYN image"]
    end = image.address + image.requested
    inside = [r for r in load.regions if image.address <= r.address < end]
    assert {r.mem for r in inside} >= {Mem.TEXT, Mem.EXPORT}
    # Not "in place": the regions live in the image block on the heap, counted once there.
    assert all(r.heap == ".llext_heap" and r.consumed == 0 for r in inside)
