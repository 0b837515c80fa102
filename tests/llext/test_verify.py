"""`placer.verify` and ``placer verify``: a verdict, heap totals, and the minimum heaps."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import placer
from placer.cli import main
from placer.config import LlextConfig
from placer.emit.layout_json import dumps
from placer.errors import ArgumentError, ConfigError
from placer.llext import extension_name, verify
from tests.llext.build import HELLO, LIB, build_extension
from tests.llext.targets import layout_for
from tests.toolchains import tool

APP = r"""
extern int lib_add(int, int);
int app_main(void) { return lib_add(2, 3); }
"""


@pytest.fixture(scope="module")
def exports(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("exports") / "exports.txt"
    path.write_text("printk 0x08001000 UNASSIGNED\nmemcpy 0x08002000 LIBC\n")
    return path


def test_verify_is_the_library_entry_point(llext_dir: Path, exports: Path) -> None:
    ext = build_extension(llext_dir, "arm", "hello", HELLO).path
    report = placer.verify(layout_for("arm"), [ext], exports_list=exports)
    assert report.ok
    assert report.verdict() == "OK: all 1 extension(s) load"
    (heap,) = report.heaps
    assert heap.heap == ".llext_heap" and heap.final == report.loads[0].usage[0].after
    assert report.metadata_source == "estimate"


def test_dependencies_decide_the_load_order(llext_dir: Path, exports: Path) -> None:
    app = build_extension(llext_dir, "arm", "app", APP).path
    lib = build_extension(llext_dir, "arm", "lib", LIB).path
    report = verify(layout_for("arm"), [app, lib], exports_list=exports,
                    storage="temporary")
    assert report.order == (lib.stem[:15], app.stem[:15])
    assert report.ok, report.render_text()
    assert report.loads[1].dependencies == (lib.stem[:15],)


def test_a_missing_export_fails_with_enodata(llext_dir: Path) -> None:
    ext = build_extension(llext_dir, "arm", "hello", HELLO).path
    report = verify(layout_for("arm"), [ext])
    load = report.loads[0]
    assert not report.ok and load.unresolved == ("printk",)
    assert load.error is not None and load.error.errno == "ENODATA"
    assert report.notes == ("no export table given (--exports or --exports-list): every "
                            "undefined symbol is unresolved",)


def test_heap_too_small_says_how_much_more_is_needed(llext_dir: Path, exports: Path) -> None:
    ext = build_extension(llext_dir, "arm", "hello", HELLO).path
    layout = layout_for("arm", LlextConfig(heap_size=1))
    report = verify(layout, [ext, build_extension(llext_dir, "arm", "lib", LIB).path],
                    exports_list=exports, storage="temporary")
    assert not report.ok
    assert report.minimum is not None and report.minimum.blocked_by is None
    (minimum,) = report.minimum.heaps
    assert minimum.option == "LLEXT_HEAP_SIZE" and minimum.current == 1024
    assert minimum.shortfall == minimum.size - 1024 > 0
    assert (f"  CONFIG_LLEXT_HEAP_SIZE={minimum.kib}  ({minimum.size} bytes, "
            f"{minimum.size - 1024} bytes more than now)") in report.render_text()
    # The search is exact: one KiB less does not load, the minimum does.
    fits = verify(layout_for("arm", LlextConfig(heap_size=minimum.kib)),
                  [ext, build_extension(llext_dir, "arm", "lib", LIB).path],
                  exports_list=exports, storage="temporary")
    assert fits.ok
    short = verify(layout_for("arm", LlextConfig(heap_size=minimum.kib - 1)),
                   [ext, build_extension(llext_dir, "arm", "lib", LIB).path],
                   exports_list=exports, storage="temporary")
    assert not short.ok
    assert [load.error.errno for load in short.loads if load.error is not None] == ["ENOMEM"]


def test_harvard_minimum_is_found_per_heap(llext_dir: Path, exports: Path) -> None:
    ext = build_extension(llext_dir, "arc", "hello", HELLO).path
    report = verify(layout_for("arc"), [ext], exports_list=exports, storage="temporary",
                    min_heap=True)
    assert report.minimum is not None
    assert report.minimum.kconfig == ("CONFIG_LLEXT_INSTR_HEAP_SIZE=1",
                                      "CONFIG_LLEXT_DATA_HEAP_SIZE=1")


def test_cli_prints_a_table_and_exits_0(llext_dir: Path, exports: Path, tmp_path: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    ext = build_extension(llext_dir, "arm", "hello", HELLO).path
    layout = tmp_path / "layout.json"
    layout.write_text(dumps(layout_for("arm")))
    status = main(["verify", str(ext), "--layout", str(layout), "--exports-list",
                   str(exports), "--storage", "temporary"])
    out = capsys.readouterr().out
    assert status == 0
    assert "\n  TEXT   " in out
    assert "unresolved symbols: none" in out
    assert out.rstrip().endswith("OK: all 1 extension(s) load")


def test_cli_exits_1_when_an_extension_would_not_load(
        llext_dir: Path, exports: Path, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    wrong = build_extension(llext_dir, "riscv32", "hello", HELLO).path
    layout = tmp_path / "layout.json"
    layout.write_text(dumps(layout_for("arm")))
    status = main(["verify", str(wrong), "--layout", str(layout), "--exports-list",
                   str(exports), "--json"])
    report = json.loads(capsys.readouterr().out)
    assert status == 1 and report["ok"] is False
    assert report["extensions"][0]["error"]["errno"] == "ENOEXEC"


def test_cli_dump_image_writes_each_region(llext_dir: Path, exports: Path, tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    ext = build_extension(llext_dir, "arm", "hello", HELLO).path
    layout = tmp_path / "layout.json"
    layout.write_text(dumps(layout_for("arm")))
    out_dir = tmp_path / "image"
    status = main(["verify", str(ext), "--layout", str(layout), "--exports-list",
                   str(exports), "--storage", "temporary", "--dump-image", str(out_dir)])
    capsys.readouterr()
    assert status == 0
    folder = out_dir / ext.stem[:15]
    index = (folder / "regions.txt").read_text().splitlines()
    assert index[0].startswith("TEXT 0x2000") and index[0].endswith(" .llext_heap text.bin")
    size = int(index[0].split()[2])
    assert (folder / "text.bin").stat().st_size == size
    assert not [p for p in folder.iterdir() if p.name.startswith(".")]


def test_cli_board_without_config_takes_zephyrs_defaults(
        llext_dir: Path, exports: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ext = build_extension(llext_dir, "arm", "hello", HELLO).path
    status = main(["verify", str(ext), "--board", "qemu_cortex_m3", "--exports-list",
                   str(exports)])
    out = capsys.readouterr().out
    assert status == 0
    # CONFIG_LLEXT_HEAP_SIZE defaults to 8 KiB: one shared heap.
    assert ".llext_heap" in out


def test_cli_layout_with_config_is_a_usage_error(
        llext_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ext = build_extension(llext_dir, "arm", "hello", HELLO).path
    layout = tmp_path / "layout.json"
    layout.write_text("{}")
    assert main(["verify", str(ext), "--layout", str(layout), "--config", "prj.conf"]) == 2
    assert ("placer verify: error: --config and --zephyr-version apply to --board; a "
            "--layout carries its configuration") in capsys.readouterr().err


def test_report_json_is_deterministic(llext_dir: Path, exports: Path) -> None:
    ext = build_extension(llext_dir, "arm", "hello", HELLO).path
    first = verify(layout_for("arm"), [ext], exports_list=exports).to_json()
    assert verify(layout_for("arm"), [ext], exports_list=exports).to_json() == first


IMAGE = r"""
struct llext { char name[16]; void *mem[11]; unsigned int counts[36]; };
struct llext the_llext;
struct llext_const_symbol { const char *name; const void *addr; };
int printk(const char *fmt, ...) { (void)fmt; return 0; }
static const char printk_name[] = "printk";
const struct llext_const_symbol export_printk
    __attribute__((section("llext_const_symbol_area"), used)) = { printk_name, printk };
"""


def test_a_built_image_gives_exports_and_sizeof_struct_llext(
        llext_dir: Path, tmp_path: Path) -> None:
    source = tmp_path / "image.c"
    source.write_text(IMAGE)
    obj = tmp_path / "image.o"
    image = tmp_path / "zephyr.elf"
    subprocess.run([tool("arm", "gcc"), "-g", "-mthumb", "-mcpu=cortex-m4", "-c",
                    str(source), "-o", str(obj)], check=True)
    subprocess.run([tool("arm", "ld"), "-e", "printk", "-Ttext=0x08000000", str(obj), "-o",
                    str(image)], check=True)
    ext = build_extension(llext_dir, "arm", "hello", HELLO).path
    report = verify(layout_for("arm"), [ext], exports=image, storage="temporary")
    assert report.ok, report.render_text()
    assert report.metadata_source == f"DWARF of {image}"
    first = report.loads[0].allocations[0]
    assert (first.what, first.requested) == ("struct llext", 16 + 11 * 4 + 36 * 4)


def test_dynamic_heap_loads_into_the_buffer_given(llext_dir: Path, exports: Path,
                                                  tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    from placer.solve import place
    from tests.llext.targets import BOARDS

    layout = place(BOARDS["arm"], LlextConfig(heap_dynamic=True))
    assert layout.heaps == () and layout.dynamic
    ext = build_extension(llext_dir, "arm", "hello", HELLO).path
    with pytest.raises(ConfigError, match=r"extensions load only after llext_heap_init\(\): "
                       r"give the shared buffer \(address and size\)"):
        verify(layout, [ext], exports_list=exports)
    report = verify(layout, [ext], exports_list=exports, storage="temporary",
                    heap_buffers=[(0x2002_0000, 4096)])
    assert report.ok, report.render_text()
    (heap,) = report.heaps
    assert (heap.heap, heap.address) == ("dynamic llext_heap", 0x2002_0000)
    path = tmp_path / "dynamic.json"
    path.write_text(dumps(layout))
    assert main(["verify", str(ext), "--layout", str(path), "--exports-list", str(exports),
                 "--heap-buffer", "0x20020000:4096", "--min-heap"]) == 0
    assert "  dynamic llext_heap: a buffer of " in capsys.readouterr().out


def test_order_can_unload_and_the_next_load_reuses_the_hole(
        llext_dir: Path, exports: Path, capsys: pytest.CaptureFixture[str],
        tmp_path: Path) -> None:
    hello_path = build_extension(llext_dir, "arm", "hello", HELLO).path
    lib = build_extension(llext_dir, "arm", "lib", LIB).path
    h, lb = hello_path.stem[:15], lib.stem[:15]
    report = verify(layout_for("arm"), [hello_path, lib], exports_list=exports,
                    storage="temporary", order=[h, lb, f"-{h}", h])
    assert report.ok and [load.name for load in report.loads] == [h, lb, h]
    (unload,) = report.unloads
    assert unload.name == h and unload.after_loads == 2
    first, again = report.loads[0], report.loads[2]
    assert again.allocations[0].address == first.allocations[0].address
    assert unload.usage[0].after == report.loads[1].usage[0].after - first.usage[0].persistent
    text = report.render_text()
    assert f"unload {h}: .llext_heap {unload.usage[0].before} -> {unload.usage[0].after} " \
           "bytes in use" in text
    with pytest.raises(ArgumentError, match=r"unloads .* before loading it"):
        verify(layout_for("arm"), [hello_path], exports_list=exports, order=[f"-{h}"])
    layout = tmp_path / "layout.json"
    layout.write_text(dumps(layout_for("arm")))
    assert main(["verify", str(hello_path), str(lib), "--layout", str(layout),
                 "--exports-list", str(exports), "--order", f"{h},{lb},-{h},{h}"]) == 0
    assert f"unload {h}:" in capsys.readouterr().out


def test_cli_places_the_heaps_for_a_board_and_config(
        llext_dir: Path, exports: Path, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    conf = tmp_path / "prj.conf"
    conf.write_text("CONFIG_LLEXT=y\nCONFIG_LLEXT_HEAP_SIZE=16\n")
    ext = build_extension(llext_dir, "arm", "hello", HELLO).path
    status = main(["verify", str(ext), "--board", "qemu_cortex_m3", "--config", str(conf),
                   "--exports-list", str(exports), "--storage", "temporary", "--json"])
    report = json.loads(capsys.readouterr().out)
    assert status == 0 and report["ok"]
    (heap,) = report["heaps"]
    assert heap["heap"] == ".llext_heap" and heap["size"] == 16 * 1024
    assert report["extensions"][0]["regions"][0]["heap"] == ".llext_heap"


def test_cli_config_is_repeatable_and_leaves_the_extensions_to_the_positionals(
        llext_dir: Path, exports: Path, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    base = tmp_path / "prj.conf"
    base.write_text("CONFIG_LLEXT=y\nCONFIG_LLEXT_HEAP_SIZE=16\n")
    overlay = tmp_path / "big.conf"
    overlay.write_text("CONFIG_LLEXT_HEAP_SIZE=24\n")
    ext = build_extension(llext_dir, "arm", "hello", HELLO).path
    status = main(["verify", "--board", "qemu_cortex_m3", "--config", str(base),
                   "--config", str(overlay), str(ext), "--exports-list", str(exports),
                   "--json"])
    report = json.loads(capsys.readouterr().out)
    assert status == 0 and report["ok"]
    (heap,) = report["heaps"]
    assert heap["size"] == 24 * 1024  # the later file wins


@settings(max_examples=6, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(picks=st.lists(st.sampled_from(["hello", "lib", "app"]), min_size=1, max_size=3,
                      unique=True),
       storage=st.sampled_from(["temporary", "persistent"]))
def test_the_minimum_heap_is_exact(llext_dir: Path, exports: Path, picks: list[str],
                                   storage: str) -> None:
    sources = {"hello": HELLO, "lib": LIB, "app": APP}
    paths = [build_extension(llext_dir, "arm", name, sources[name]).path for name in picks]
    if "app" in picks and "lib" not in picks:
        paths.append(build_extension(llext_dir, "arm", "lib", LIB).path)
    report = verify(layout_for("arm", LlextConfig(heap_size=1)), paths,
                    exports_list=exports, storage=storage, min_heap=True)
    assert report.minimum is not None and report.minimum.blocked_by is None
    (minimum,) = report.minimum.heaps
    at = verify(layout_for("arm", LlextConfig(heap_size=minimum.kib)), paths,
                exports_list=exports, storage=storage)
    assert at.ok
    if minimum.kib > 1:
        below = verify(layout_for("arm", LlextConfig(heap_size=minimum.kib - 1)), paths,
                       exports_list=exports, storage=storage)
        assert not below.ok


def test_a_refused_file_still_takes_and_gives_back_its_metadata(
        llext_dir: Path, exports: Path, tmp_path: Path) -> None:
    good = build_extension(llext_dir, "arm", "hello", HELLO).path
    broken = tmp_path / "broken.llext"
    data = bytearray(good.read_bytes())
    data[46:48] = (52).to_bytes(2, "little")  # e_shentsize: refused after struct llext
    broken.write_bytes(bytes(data))
    stripped = tmp_path / "stripped.llext"
    subprocess.run([tool("arm", "objcopy"), "--strip-all", str(good), str(stripped)],
                   check=True)
    report = verify(layout_for("arm"), [broken, stripped, good], exports_list=exports,
                    order=["broken", "stripped", good.stem[:15]], storage="temporary")
    header, tables, loaded = report.loads
    assert [a.what for a in header.allocations] == ["struct llext"]
    assert [a.what for a in tables.allocations] == ["struct llext", "section map"]
    assert header.usage[0].after == header.usage[0].before == 0
    assert tables.usage[0].after == 0 and tables.usage[0].peak > 0
    assert loaded.ok and [load.error.errno for load in (header, tables)
                          if load.error is not None] == ["ENOEXEC", "ENOEXEC"]


def test_export_list_gaps_are_explained(llext_dir: Path, tmp_path: Path) -> None:
    ext = build_extension(llext_dir, "arm", "hello", HELLO).path
    unplaced = tmp_path / "unplaced.txt"
    unplaced.write_text("printk\n")
    report = verify(layout_for("arm"), [ext], exports_list=unplaced)
    assert report.ok
    assert report.notes == ("'printk' has no address in the export list: linked as if at "
                            "0x1000, so its relocated bytes and range checks are estimates",)
    disabled = tmp_path / "disabled.txt"
    disabled.write_text("printk 0x08001000 CONSOLE\n")
    report = verify(layout_for("arm"), [ext], exports_list=disabled)
    (load,) = report.loads
    assert load.unresolved == ("printk",)
    assert ("'printk' is exported in group CONSOLE, which is disabled: enable "
            "CONFIG_LLEXT_EXPORT_SYMBOL_GROUP_CONSOLE") in load.notes


def test_cli_dump_image_into_a_file_is_a_clean_error(
        llext_dir: Path, exports: Path, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    ext = build_extension(llext_dir, "arm", "hello", HELLO).path
    layout = tmp_path / "layout.json"
    layout.write_text(dumps(layout_for("arm")))
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("")
    status = main(["verify", str(ext), "--layout", str(layout), "--exports-list",
                   str(exports), "--dump-image", str(blocker)])
    assert status == 1
    assert capsys.readouterr().err.startswith(
        f"placer verify: error: cannot write the image to {blocker}: ")


def test_cli_bad_buffer_address_is_a_usage_error_in_words(
        capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["verify", "x.llext", "--board", "qemu_cortex_m3", "--buffer-address", "0xZZ"])
    assert exit_info.value.code == 2
    assert ("argument --buffer-address: '0xZZ' is not an address (e.g. 0x20010000)"
            in capsys.readouterr().err)


def test_cli_unreadable_layout_is_a_clear_error(
        llext_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ext = build_extension(llext_dir, "arm", "hello", HELLO).path
    layout = tmp_path / "layout.json"
    layout.write_bytes(b"\xff\xfe")
    assert main(["verify", str(ext), "--layout", str(layout)]) == 1
    assert capsys.readouterr().err == (
        f"{layout}:1:1: error: cannot read the layout: not UTF-8 text (byte 0xff)\n")


@pytest.mark.parametrize(("options", "argument", "message"), [
    ({"storage": "bogus"}, "storage",
     "storage 'bogus' is not one of writable, persistent, temporary"),
    ({"order": ["nope"]}, "order",
     "the order names 'nope', which is not among the extensions given ({name})"),
    ({"order": ["-{name}", "{name}"]}, "order",
     "the order unloads '{name}' before loading it"),
])
def test_a_bad_argument_is_an_argument_error_not_a_zephyr_errno(
        llext_dir: Path, options: dict[str, object], argument: str, message: str) -> None:
    ext = build_extension(llext_dir, "arm", "hello", HELLO).path
    name = extension_name(ext)  # the file stem, cut to Zephyr's 15 characters
    order = options.get("order")
    if isinstance(order, list):
        options = {"order": [entry.format(name=name) for entry in order]}
    with pytest.raises(ArgumentError) as caught:
        verify(layout_for("arm"), [ext], **options)  # type: ignore[arg-type]
    assert caught.value.argument == argument
    assert str(caught.value) == message.format(name=name)
    assert isinstance(caught.value, placer.PlacerError)
