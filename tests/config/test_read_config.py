"""Reading .config, prj.conf and fragments."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

import placer
from placer.cli.output import render
from placer.config import (
    OPTIONS,
    BinaryType,
    HeapBackend,
    LlextConfig,
    config_from_values,
    option,
    read_config,
)
from placer.dotconfig import read_kconfig_files
from placer.errors import ConfigError, InputError, ScriptError
from placer.versions import NEWEST_ZEPHYR, ZephyrVersion


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_no_file_gives_zephyr_defaults() -> None:
    config = read_config()
    assert config == LlextConfig()
    assert (config.heap_size, config.metadata_heap_size, config.ext_heap_size) == (8, 4, 16)
    assert (config.instr_heap_size, config.data_heap_size) == (4, 8)
    assert config.heap_memblk_block_size == 32
    assert config.export_symbol_groups == {"UNASSIGNED", "SYSCALL", "LIBC"}


#: Every release placer models, from the first with LLEXT to the newest.
RELEASES = [ZephyrVersion(3, minor) for minor in range(5, 8)] + \
    [ZephyrVersion(4, minor) for minor in range(NEWEST_ZEPHYR.minor + 1)]


@pytest.mark.parametrize("version", RELEASES, ids=str)
def test_no_file_gives_what_the_kconfig_model_gives(version: ZephyrVersion) -> None:
    # Without a file read_config skips the Kconfig model (start-up time): the model's
    # defaults with LLEXT on must be exactly the LlextConfig it returns instead.
    merged = config_from_values(read_kconfig_files((), base=(("LLEXT", "y"),)), version)
    assert read_config(zephyr_version=version) == merged


def test_later_files_win_and_set_by_points_at_the_winner(tmp_path: Path) -> None:
    dotconfig = write(tmp_path, ".config", "CONFIG_LLEXT=y\nCONFIG_LLEXT_HEAP_SIZE=16\n")
    fragment = write(tmp_path, "llext.conf", "# a fragment\nCONFIG_LLEXT_HEAP_SIZE=48\n")
    config = read_config(dotconfig, fragment)
    assert config.heap_size == 48
    assert config.where("LLEXT_HEAP_SIZE") == f"{fragment}:2"
    assert config.where("LLEXT") == f"{dotconfig}:1"


def test_not_set_comment_turns_a_bool_off(tmp_path: Path) -> None:
    path = write(tmp_path, ".config", "# CONFIG_LLEXT_EDK is not set\n"
                 "# CONFIG_LLEXT_EXPORT_DEFAULT_GROUPS is not set\n")
    config = read_config(path)
    assert config.edk is False
    assert config.export_symbol_groups == frozenset()


def test_choices_strings_hex_and_ints(tmp_path: Path) -> None:
    path = write(tmp_path, "prj.conf", "\n".join([
        "CONFIG_LLEXT_HEAP_MEMBLK=y",
        "CONFIG_LLEXT_HEAP_MEMBLK_BLOCK_SIZE=256",
        "CONFIG_LLEXT_TYPE_ELF_SHAREDLIB=y",
        "CONFIG_MMU_PAGE_SIZE=0x4000",
        'CONFIG_BOARD="qemu_x86"',
        "CONFIG_ARM=y",
        "CONFIG_LLEXT_EXPORT_SYMBOL_GROUP_SENSORS=y",
        "# CONFIG_LLEXT_EXPORT_SYMBOL_GROUP_LIBC is not set",
    ]) + "\n")
    config = read_config(path)
    assert config.heap_backend is HeapBackend.MEMBLK
    assert config.heap_memblk_block_size == 256
    assert config.binary_type is BinaryType.ELF_SHAREDLIB
    assert config.mmu_page_size == 0x4000
    assert config.arch == "arm"
    assert config.export_symbol_groups == {"UNASSIGNED", "SYSCALL", "SENSORS"}
    assert config.declared_symbol_groups == {"SENSORS", "LIBC"}


def test_old_memblk_symbol_name_is_understood(tmp_path: Path) -> None:
    path = write(tmp_path, "prj.conf", "CONFIG_LLEXT_HEAP_SYS_MEM_BLOCKS=y\n")
    assert read_config(path).heap_backend is HeapBackend.MEMBLK


def test_malformed_line_is_a_script_error_with_its_place(tmp_path: Path) -> None:
    path = write(tmp_path, "prj.conf", "CONFIG_LLEXT=y\n  LLEXT_HEAP_SIZE=8\n")
    with pytest.raises(ScriptError) as caught:
        read_config(path)
    assert render(caught.value) == (
        f"{path}:2:3: error: expected `CONFIG_NAME=value`, `# CONFIG_NAME is not set`, a `#` "
        "comment or a blank line\n  LLEXT_HEAP_SIZE=8\n  ^")


def test_unterminated_string(tmp_path: Path) -> None:
    path = write(tmp_path, "prj.conf", 'CONFIG_BOARD="qemu\n')
    with pytest.raises(ScriptError) as caught:
        read_config(path)
    assert render(caught.value).startswith(f"{path}:1:14: error: unterminated string value")


def test_wrong_value_type_names_option_and_place(tmp_path: Path) -> None:
    path = write(tmp_path, "prj.conf", "CONFIG_LLEXT_HEAP_SIZE=big\n")
    with pytest.raises(ConfigError) as caught:
        read_config(path)
    assert render(caught.value) == (
        f"{path}:1: error: CONFIG_LLEXT_HEAP_SIZE: 'big' is not an int value (Kconfig ignores "
        "the assignment, and Zephyr's build stops on it)\n"
        "  fix: write a decimal number such as 8 (an int option takes no hex)")


def test_bool_with_a_number_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, "prj.conf", "CONFIG_LLEXT_HEAP_DYNAMIC=1\n")
    with pytest.raises(ConfigError) as caught:
        read_config(path)
    assert render(caught.value) == (
        f"{path}:1: error: CONFIG_LLEXT_HEAP_DYNAMIC: '1' is not a bool value (Kconfig "
        "ignores the assignment, and Zephyr's build stops on it)\n  fix: write y or n")


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InputError) as caught:
        read_config(tmp_path / "absent.conf")
    assert render(caught.value) == (f"{tmp_path / 'absent.conf'}: error: cannot read the "
                                 "configuration file: No such file or directory")


def test_a_file_that_is_not_utf8_names_its_line(tmp_path: Path) -> None:
    path = tmp_path / "prj.conf"
    path.write_bytes(b"CONFIG_LLEXT=y\nCONFIG_X=\"\xff\"\n")
    with pytest.raises(InputError) as caught:
        read_config(path)
    assert render(caught.value) == (
        f"{path}:2:11: error: cannot read the configuration file: not UTF-8 text (byte 0xff)")


def test_reassignment_in_one_file_warns(tmp_path: Path) -> None:
    path = write(tmp_path, "prj.conf", "CONFIG_LLEXT_HEAP_SIZE=8\nCONFIG_LLEXT_HEAP_SIZE=12\n")
    config = read_config(path)
    assert config.heap_size == 12
    assert config.warnings == (f"{path}:2: warning: CONFIG_LLEXT_HEAP_SIZE set again (was "
                               "'8' at line 1); the last value wins",)


def test_every_heap_option_has_its_unit() -> None:
    for spec in OPTIONS:
        if spec.name.endswith("_HEAP_SIZE"):
            assert spec.unit == "KiB", spec.name
    assert option("LLEXT_HEAP_MEMBLK_BLOCK_SIZE").unit == "bytes"
    assert option("LLEXT_HEAP_SIZE").depends == (
        "!LLEXT_HEAP_DYNAMIC && !HARVARD && !LLEXT_HEAP_MEMBLK")


def test_read_config_is_exported_from_placer() -> None:
    assert placer.read_config is read_config


@given(st.integers(min_value=0, max_value=1 << 20), st.integers(min_value=0, max_value=1 << 20))
def test_last_assignment_wins_for_any_values(first: int, second: int) -> None:
    import tempfile

    with tempfile.TemporaryDirectory() as directory:
        a = Path(directory) / "a.conf"
        b = Path(directory) / "b.conf"
        a.write_text(f"CONFIG_LLEXT_DATA_HEAP_SIZE={first}\n")
        b.write_text(f"CONFIG_LLEXT_DATA_HEAP_SIZE={second}\n")
        assert read_config(a, b).data_heap_size == second
        assert read_config(b, a).data_heap_size == first


_NSIM_DOTCONFIG = """\
#
# Automatically generated file; DO NOT EDIT.
# Zephyr Kernel Configuration
#
CONFIG_BOARD="nsim"
CONFIG_BOARD_QUALIFIERS="nsim_em"
CONFIG_SOC_NSIM_EM=y
CONFIG_ARC=y
CONFIG_ISA_ARCV2=y
CONFIG_ARC_MPU_VER=2
CONFIG_HARVARD=y
# CONFIG_XIP is not set
CONFIG_SRAM_SIZE=1024
# CONFIG_USERSPACE is not set
CONFIG_LLEXT=y
# CONFIG_LLEXT_HEAP_DYNAMIC is not set
# CONFIG_LLEXT_HEAP_K_HEAP is not set
CONFIG_LLEXT_HEAP_MEMBLK=y
# CONFIG_LLEXT_CUSTOM_HEAP_PLACEMENT is not set
CONFIG_LLEXT_METADATA_HEAP_SIZE=4
CONFIG_LLEXT_HEAP_MEMBLK_BLOCK_SIZE=2048
CONFIG_LLEXT_INSTR_HEAP_SIZE=16
CONFIG_LLEXT_DATA_HEAP_SIZE=48
CONFIG_LLEXT_TYPE_ELF_OBJECT=y
# CONFIG_LLEXT_TYPE_ELF_RELOCATABLE is not set
# CONFIG_LLEXT_TYPE_ELF_SHAREDLIB is not set
CONFIG_LLEXT_EXPORT_DEFAULT_GROUPS=y
CONFIG_LLEXT_EXPORT_SYMBOL_GROUP_UNASSIGNED=y
CONFIG_LLEXT_EXPORT_SYMBOL_GROUP_SYSCALL=y
CONFIG_LLEXT_EXPORT_SYMBOL_GROUP_LIBC=y
# CONFIG_LLEXT_EXPORT_SYMBOL_GROUP_DEVICE is not set
# CONFIG_LLEXT_EXPORT_BUILTINS_BY_SLID is not set
CONFIG_LLEXT_EDK=y
CONFIG_SYS_HEAP_ALLOC_LOOPS=3
"""


def test_a_zephyr_dotconfig_for_harvard_memblk(tmp_path: Path) -> None:
    path = write(tmp_path, ".config", _NSIM_DOTCONFIG)
    config = read_config(path)
    assert (config.harvard, config.arch, config.arc_mpu_ver, config.userspace) == (
        True, "arc", 2, False)
    assert config.heap_backend is HeapBackend.MEMBLK
    assert (config.instr_heap_size, config.data_heap_size) == (16, 48)
    assert config.heap_memblk_block_size == 2048
    assert config.binary_type is BinaryType.ELF_OBJECT
    assert config.export_symbol_groups == {"UNASSIGNED", "SYSCALL", "LIBC"}
    assert config.where("LLEXT_INSTR_HEAP_SIZE") == f"{path}:22"
    board = placer.load_board("nsim_em")
    assert placer.check_config(config, board) == ()
    from placer.target import resolve

    heaps = resolve(board, config).heap_sections()
    assert [(h.section, h.size, h.align) for h in heaps] == [
        (".llext_instr_heap", 16384, 2048), (".llext_data_heap", 49152, 2048),
        (".llext_metadata_heap", 4096, 8)]


_INT_OPTIONS = [spec for spec in OPTIONS if spec.kind.value == "int" and spec.field]


@given(st.dictionaries(st.sampled_from(_INT_OPTIONS), st.integers(0, 1 << 24), min_size=1))
def test_int_options_read_back_what_was_written(values: dict[object, int]) -> None:
    import tempfile

    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "prj.conf"
        path.write_text("".join(f"CONFIG_{spec.name}={value}\n"  # type: ignore[attr-defined]
                                for spec, value in values.items()))
        config = read_config(path)
    for spec, value in values.items():
        assert getattr(config, spec.field) == value  # type: ignore[attr-defined]


# -- Kconfig's semantics, through kconfiglib and placer's Kconfig model -------------------


@pytest.mark.parametrize(("first", "last", "backend"), [
    ("LLEXT_HEAP_K_HEAP", "LLEXT_HEAP_MEMBLK", HeapBackend.MEMBLK),
    ("LLEXT_HEAP_MEMBLK", "LLEXT_HEAP_K_HEAP", HeapBackend.K_HEAP),
])
def test_the_last_y_of_a_choice_wins_as_in_kconfig(tmp_path: Path, first: str, last: str,
                                                   backend: HeapBackend) -> None:
    path = write(tmp_path, "prj.conf", f"CONFIG_{first}=y\nCONFIG_{last}=y\n")
    config = read_config(path)
    assert config.heap_backend is backend
    assert config.where(last) == f"{path}:2"


def test_the_last_y_of_a_choice_wins_across_files(tmp_path: Path) -> None:
    board = write(tmp_path, "board.conf", "CONFIG_LLEXT_HEAP_MEMBLK=y\n")
    app = write(tmp_path, "prj.conf", "CONFIG_LLEXT_HEAP_K_HEAP=y\n")
    assert read_config(board, app).heap_backend is HeapBackend.K_HEAP
    assert read_config(app, board).heap_backend is HeapBackend.MEMBLK


def test_hex_for_an_int_option_is_refused_as_kconfig_refuses_it(tmp_path: Path) -> None:
    path = write(tmp_path, "prj.conf", "CONFIG_LLEXT=y\nCONFIG_LLEXT_HEAP_SIZE=0x10\n")
    with pytest.raises(ConfigError) as caught:
        read_config(path)
    assert caught.value.options == ("LLEXT_HEAP_SIZE",)
    assert caught.value.where == f"{path}:2"
    assert render(caught.value).startswith(
        f"{path}:2: error: CONFIG_LLEXT_HEAP_SIZE: '0x10' is not an int value")


def test_a_hex_option_takes_hex_with_or_without_prefix(tmp_path: Path) -> None:
    path = write(tmp_path, "prj.conf", "CONFIG_MMU=y\nCONFIG_MMU_PAGE_SIZE=4000\n")
    assert read_config(path).mmu_page_size == 0x4000


def test_a_negative_size_names_the_option_and_its_place(tmp_path: Path) -> None:
    path = write(tmp_path, "prj.conf", "CONFIG_LLEXT_HEAP_SIZE=-4\n")
    with pytest.raises(ConfigError) as caught:
        read_config(path)
    assert caught.value.options == ("LLEXT_HEAP_SIZE",)
    assert caught.value.where == f"{path}:1"


def test_a_symbol_outside_the_model_is_judged_alike_by_every_reader(tmp_path: Path) -> None:
    from placer.script.kconfig_macros import read_kconfig

    path = write(tmp_path, "prj.conf", "CONFIG_LLEXT=y\nCONFIG_FOO=bar\n")
    with pytest.raises(ScriptError) as by_config:
        read_config(path)
    with pytest.raises(ScriptError) as by_macros:
        read_kconfig(path)
    assert render(by_config.value) == render(by_macros.value)
    assert render(by_config.value).startswith(
        f"{path}:2:12: error: value of CONFIG_FOO is not y, n, m, a number or a quoted string")


def test_symbols_outside_the_model_are_kept_for_the_preprocessor(tmp_path: Path) -> None:
    from placer.script.kconfig_macros import Macro, read_kconfig

    path = write(tmp_path, ".config", 'CONFIG_BOARD="qemu_x86"\nCONFIG_SRAM_SIZE=64\n'
                 "CONFIG_LLEXT_HEAP_K_HEAP=y\nCONFIG_LLEXT_HEAP_MEMBLK=y\n")
    assert read_kconfig(path) == (Macro("CONFIG_BOARD", '"qemu_x86"'),
                                  Macro("CONFIG_SRAM_SIZE", "64"),
                                  Macro("CONFIG_LLEXT_HEAP_MEMBLK", "1"))
    assert read_config(path).heap_backend is HeapBackend.MEMBLK


def test_not_set_means_nothing_to_an_int(tmp_path: Path) -> None:
    path = write(tmp_path, ".config", "CONFIG_LLEXT_HEAP_SIZE=12\n"
                 "# CONFIG_LLEXT_HEAP_SIZE is not set\n")
    assert read_config(path).heap_size == 12


def test_the_model_agrees_with_the_option_table() -> None:
    import kconfiglib

    from placer.dotconfig import load_model

    kconf = load_model()
    assert kconf.warnings == []
    for spec in OPTIONS:
        sym = kconf.syms[spec.name]
        assert sym.nodes, spec.name
        assert kconfiglib.TYPE_TO_STR[sym.orig_type] == spec.kind.value, spec.name


@pytest.mark.parametrize(("field", "value", "option_name"), [
    ("heap_size", -4, "LLEXT_HEAP_SIZE"),
    ("heap_memblk_block_size", -32, "LLEXT_HEAP_MEMBLK_BLOCK_SIZE"),
    ("mmu_page_size", -1, "MMU_PAGE_SIZE"),
    ("data_heap_size", "8", "LLEXT_DATA_HEAP_SIZE"),
])
def test_an_impossible_value_from_a_library_caller_names_the_option(
        field: str, value: object, option_name: str) -> None:
    with pytest.raises(ConfigError) as caught:
        LlextConfig(**{field: value})  # type: ignore[arg-type]
    assert caught.value.options == (option_name,)
