"""The importers, on real artifacts: shipped scripts, images linked with GNU ld, DTS text."""

from __future__ import annotations

import struct
import textwrap
from pathlib import Path

import pytest

import placer
from placer import records
from placer.board import Arch, Bus, MpuKind
from placer.boardfile import read_board_file
from placer.cli.output import render
from placer.errors import BoardError
from placer.importers import board_from_dts, board_from_script, board_with_elf, read_elf_image
from placer.script.evaluate import evaluate_memory, target_for_script
from placer.script.includes import load_script
from tests.boards.link import image_program, link_assembly


@pytest.mark.parametrize("name", placer.list_boards())
def test_board_file_regions_match_the_memory_block_of_its_script(name: str) -> None:
    board = placer.load_board(name)
    assert board.base_script is not None
    script = load_script(board.base_script)
    memory = {r.name: (r.origin, r.length) for r in
              evaluate_memory(script, target=target_for_script(script))}
    for region in board.regions:
        assert memory[region.name] == (region.origin, region.length), region.name


@pytest.mark.parametrize("name", placer.list_boards())
def test_script_import_finds_regions_noinit_and_code(name: str) -> None:
    board = placer.load_board(name)
    assert board.base_script is not None
    imported = board_from_script(board.base_script)
    assert imported.arch is board.arch
    assert imported.noinit_region == board.noinit_region
    assert {r.name: (r.origin, r.length) for r in imported.regions} == {
        r.name: (r.origin, r.length) for r in board.regions}
    code = board.image.text_region if board.image and board.image.text_region else None
    assert imported.flash_region == (code or board.flash_region)


def test_script_import_maps_ld_attributes(tmp_path: Path) -> None:
    script = tmp_path / "memory.ld"
    script.write_text(textwrap.dedent("""\
        OUTPUT_FORMAT("elf32-littlearm")
        MEMORY
        {
            FLASH (rx) : ORIGIN = 0x08000000, LENGTH = 512K
            RAM (wx) : ORIGIN = 0x20000000, LENGTH = 0x8000 + 0x8000
            DTCM (rw!x) : ORIGIN = 0x20010000, LENGTH = 64K
        }
        SECTIONS
        {
            .text : { *(.text) } > FLASH
            .noinit (NOLOAD) : { *(.noinit) } > RAM
        }
        """))
    board = board_from_script(script)
    assert [(r.name, "".join(sorted(r.attributes)), r.bus, r.writable_at_load)
            for r in board.regions] == [
        ("FLASH", "rx", Bus.BOTH, False), ("RAM", "rwx", Bus.BOTH, True),
        ("DTCM", "rw", Bus.DATA, True)]
    assert board.region("RAM").length == 64 * 1024
    assert (board.arch, board.noinit_region, board.flash_region) == (Arch.ARM, "RAM", "FLASH")


def test_imported_script_board_round_trips_as_a_board_file(tmp_path: Path) -> None:
    original = placer.load_board("nucleo_h743zi")
    assert original.base_script is not None
    imported = board_from_script(original.base_script, cpu="cortex-m7")
    path = tmp_path / "imported.toml"
    placer.write_board(imported, path)
    again = read_board_file(path)
    assert records.evolve(again, source=None) == imported


def test_elf_import_reads_what_a_real_link_uses(tmp_path: Path) -> None:
    board = placer.load_board("qemu_cortex_m3")
    elf = link_assembly(board, image_program(board), tmp_path)
    image = read_elf_image(elf, board)
    assert [(u.region, u.start, u.size, u.what) for u in image.used] == [
        ("FLASH", 0x0, 20 * 1024, "text"),
        ("FLASH", 0x5000, 4 * 1024, "rodata"),
        ("FLASH", 0x6000, 1024, "datas load image"),
        ("RAM", 0x20000000, 1024, "datas"),
        ("RAM", 0x20000400, 12 * 1024, "bss"),
        ("RAM", 0x20003400, 2 * 1024, ".noinit"),
    ]
    assert image.heaps == () and image.outside == ()
    # The same bytes the board file's [image] sizes claim.
    assert sorted((u.start, u.size) for u in image.used) == sorted(
        (u.start, u.size) for u in board.used)


_WITH_HEAP = """\
    .section .text,"ax",%progbits
    .globl __start
__start:
    .skip 1024
    .section .bss,"aw",%nobits
    .balign 4
    .skip 512
    .section .noinit,"aw",%nobits
    .balign 8
    .skip 256
    .section .llext_heap,"aw",%nobits
    .balign 8
    .globl kheap_llext_heap
    .type kheap_llext_heap, %object
kheap_llext_heap:
    .skip 8192
    .size kheap_llext_heap, 8192
"""


def test_elf_import_finds_the_llext_heap_and_leaves_it_out_of_used(tmp_path: Path) -> None:
    board = placer.load_board("qemu_cortex_m3")
    assert board.base_script is not None
    script = tmp_path / "with_heap.ld"
    # Zephyr's common-noinit.ld placement: the heap input section inside .noinit.
    script.write_text(board.base_script.read_text().replace(
        '*(".noinit.*")', '*(".noinit.*")\n        *(.llext_heap)'))
    elf = link_assembly(records.evolve(board, base_script=script), _WITH_HEAP, tmp_path)
    image = read_elf_image(elf, board)
    assert [(h.section, h.symbol, h.address, h.size, h.region) for h in image.heaps] == [
        (".llext_heap", "kheap_llext_heap", 0x20000300, 8192, "RAM")]
    noinit = [u for u in image.used if u.what == ".noinit"]
    assert [(u.start, u.size) for u in noinit] == [(0x20000200, 256)]
    updated = board_with_elf(board, elf)
    assert updated.used == image.used and updated.image is None


def test_elf_import_refuses_a_symbol_table_that_runs_past_the_file(tmp_path: Path) -> None:
    # The heap symbols are looked up by unpacking .symtab in one pass; a table cut short by
    # the end of the file must still be refused, as reading it symbol by symbol refused it.
    board = placer.load_board("qemu_cortex_m3")
    elf = link_assembly(board, image_program(board), tmp_path)
    data = bytearray(elf.read_bytes())
    shoff, = struct.unpack_from("<I", data, 0x20)
    entsize, count = struct.unpack_from("<HH", data, 0x2E)
    for index in range(count):
        header = shoff + index * entsize
        if struct.unpack_from("<I", data, header + 4)[0] == 2:  # SHT_SYMTAB
            struct.pack_into("<I", data, header + 20, 0x100000)  # sh_size
    damaged = tmp_path / "damaged.elf"
    damaged.write_bytes(bytes(data))
    with pytest.raises(BoardError) as caught:
        read_elf_image(damaged, board)
    assert render(caught.value).startswith(
        f"{damaged}: error: damaged ELF file while reading its sections and symbols: ")


def test_elf_import_refuses_another_architecture(tmp_path: Path) -> None:
    arm = placer.load_board("qemu_cortex_m3")
    elf = link_assembly(arm, image_program(arm), tmp_path)
    with pytest.raises(BoardError) as caught:
        read_elf_image(elf, placer.load_board("qemu_riscv32"))
    assert render(caught.value) == (f"{elf}: error: the image is ELF32 EM_ARM, but board "
                                 "qemu_riscv32 is ELF32 machine 243")


def test_elf_import_refuses_a_non_elf(tmp_path: Path) -> None:
    path = tmp_path / "zephyr.elf"
    path.write_bytes(b"not an elf")
    with pytest.raises(BoardError) as caught:
        read_elf_image(path, placer.load_board("qemu_cortex_m3"))
    assert render(caught.value).startswith(f"{path}: error: not an ELF file: ")


_H743_DTS = """\
/dts-v1/;

/ {
	#address-cells = < 0x1 >;
	#size-cells = < 0x1 >;
	model = "STMicroelectronics STM32H743ZI-NUCLEO board";
	compatible = "st,stm32h743zi-nucleo";
	chosen {
		zephyr,console = &usart3;
		zephyr,sram = &sram0;
		zephyr,flash = &flash0;
		zephyr,dtcm = &dtcm;
		zephyr,itcm = &itcm;
	};
	cpus {
		#address-cells = < 0x1 >;
		#size-cells = < 0x0 >;
		cpu0: cpu@0 {
			device_type = "cpu";
			compatible = "arm,cortex-m7";
			reg = < 0x0 >;
			#address-cells = < 0x1 >;
			#size-cells = < 0x1 >;
			mpu: mpu@e000ed90 {
				compatible = "arm,armv7m-mpu";
				reg = < 0xe000ed90 0x40 >;
			};
		};
	};
	soc {
		#address-cells = < 0x1 >;
		#size-cells = < 0x1 >;
		compatible = "st,stm32h743", "st,stm32h7", "simple-bus";
		ranges;
		flash-controller@52002000 {
			compatible = "st,stm32h7-flash-controller";
			reg = < 0x52002000 0x400 >;
			#address-cells = < 0x1 >;
			#size-cells = < 0x1 >;
			flash0: flash@8000000 {
				compatible = "st,stm32-nv-flash", "soc-nv-flash";
				reg = < 0x8000000 0x200000 >;
				write-block-size = < 0x20 >;
			};
		};
		usart3: serial@40004800 {
			compatible = "st,stm32-usart", "st,stm32-uart";
			reg = < 0x40004800 0x400 >;
			status = "okay";
		};
	};
	sram0: memory@24000000 {
		compatible = "zephyr,memory-region", "mmio-sram";
		reg = < 0x24000000 0x80000 >;
		zephyr,memory-region = "RAM";
	};
	sram1: memory@30000000 {
		compatible = "zephyr,memory-region", "mmio-sram";
		reg = < 0x30000000 0x20000 >;
		zephyr,memory-region = "SRAM1";
	};
	sram4: memory@38000000 {
		compatible = "zephyr,memory-region", "mmio-sram";
		reg = < 0x38000000 0x10000 >;
		zephyr,memory-region = "SRAM4";
	};
	dtcm: memory@20000000 {
		compatible = "zephyr,memory-region", "arm,dtcm";
		reg = < 0x20000000 0x20000 >;
		zephyr,memory-region = "DTCM";
	};
	itcm: memory@0 {
		compatible = "zephyr,memory-region", "arm,itcm";
		reg = < 0x0 0x10000 >;
		zephyr,memory-region = "ITCM";
	};
};
"""


def test_dts_import_of_an_stm32h7_tree(tmp_path: Path) -> None:
    path = tmp_path / "zephyr.dts"
    path.write_text(_H743_DTS)
    board = board_from_dts(path, name="nucleo_h743zi")
    assert [(r.name, r.origin, r.length, "".join(sorted(r.attributes)), r.bus)
            for r in board.regions] == [
        ("FLASH", 0x08000000, 2 * 1024 * 1024, "rx", Bus.BOTH),
        ("RAM", 0x24000000, 512 * 1024, "rwx", Bus.BOTH),
        ("ITCM", 0x0, 64 * 1024, "rwx", Bus.BOTH),
        ("DTCM", 0x20000000, 128 * 1024, "rw", Bus.DATA),
        ("SRAM1", 0x30000000, 128 * 1024, "rw", Bus.BOTH),
        ("SRAM4", 0x38000000, 64 * 1024, "rw", Bus.BOTH),
    ]
    assert (board.arch, board.cpu, board.noinit_region, board.flash_region) == (
        Arch.ARM, "cortex-m7", "RAM", "FLASH")
    assert board.mpu.kind is MpuKind.ARM_MPU and board.mpu.requires_power_of_two
    # The same memory map as the shipped board file.
    shipped = placer.load_board("nucleo_h743zi")
    for region in board.regions:
        assert (shipped.region(region.name).origin, shipped.region(region.name).length) == (
            region.origin, region.length)


_NSIM_DTS = """\
/dts-v1/;

/ {
	#address-cells = < 0x1 >;
	#size-cells = < 0x1 >;
	model = "snps,nsim_em";
	compatible = "snps,nsim_em";
	cpus {
		#address-cells = < 0x1 >;
		#size-cells = < 0x0 >;
		cpu0: cpu@0 {
			compatible = "snps,arcem";
			reg = < 0x0 >;
			device_type = "cpu";
		};
	};
	iccm0: iccm@0 {
		compatible = "arc,iccm";
		reg = < 0x0 0x100000 >;
	};
	chosen {
		zephyr,sram = &dccm0;
	};
	dccm0: dccm@80000000 {
		compatible = "arc,dccm";
		reg = < 0x80000000 0x100000 >;
	};
};
"""


def test_dts_import_of_an_arc_harvard_tree(tmp_path: Path) -> None:
    path = tmp_path / "zephyr.dts"
    path.write_text(_NSIM_DTS)
    board = board_from_dts(path)
    assert board.harvard and board.arch is Arch.ARC and board.cpu == "arcem"
    assert [(r.name, r.origin, r.length, r.bus) for r in board.regions] == [
        ("ICCM", 0x0, 1024 * 1024, Bus.INSTRUCTION),
        ("DCCM", 0x80000000, 1024 * 1024, Bus.DATA)]
    assert (board.noinit_region, board.flash_region) == ("DCCM", "ICCM")
    shipped = placer.load_board("nsim_em")
    assert [(r.name, r.origin, r.length, r.bus) for r in shipped.regions] == [
        (r.name, r.origin, r.length, r.bus) for r in board.regions]


def test_dts_reg_with_two_address_cells_and_ranges(tmp_path: Path) -> None:
    path = tmp_path / "zephyr.dts"
    path.write_text(textwrap.dedent("""\
        /dts-v1/;
        / {
            #address-cells = <2>;
            #size-cells = <2>;
            cpus { #address-cells = <1>; #size-cells = <0>;
                cpu@0 { compatible = "arm,cortex-a53"; reg = <0>; device_type = "cpu"; };
            };
            chosen { zephyr,sram = &sram0; };
            bus@0 {
                #address-cells = <1>;
                #size-cells = <1>;
                ranges = <0x0 0x0 0x40000000 0x10000000>;
                sram0: memory@0 { reg = <0x0 0x8000000>; };
            };
        };
        """))
    board = board_from_dts(path, name="a53")
    assert board.arch is Arch.ARM64 and board.elf_class == 64
    assert [(r.name, r.origin, r.length) for r in board.regions] == [
        ("RAM", 0x40000000, 128 * 1024 * 1024)]


def test_dts_syntax_error_is_a_board_error(tmp_path: Path) -> None:
    path = tmp_path / "zephyr.dts"
    path.write_text("/dts-v1/;\n/ {\n\tchosen {\n};\n")
    with pytest.raises(BoardError) as caught:
        board_from_dts(path)
    assert render(caught.value).startswith(f"{path}: error: invalid devicetree: ")


def test_dts_that_is_not_utf8_is_a_board_error(tmp_path: Path) -> None:
    path = tmp_path / "zephyr.dts"
    path.write_bytes(b"/dts-v1/;\n/ { model = \"\xff\"; };\n")
    with pytest.raises(BoardError) as caught:
        board_from_dts(path)
    assert render(caught.value) == f"{path}: error: invalid devicetree: not UTF-8 text"


def test_dts_property_of_the_wrong_type_is_a_board_error(tmp_path: Path) -> None:
    path = tmp_path / "zephyr.dts"
    path.write_text('/dts-v1/;\n/ {\n\t#address-cells = <1>;\n\t#size-cells = <1>;\n'
                    '\tchosen { zephyr,sram = &sram0; };\n'
                    '\tsram0: memory@20000000 { reg = "abc"; };\n};\n')
    with pytest.raises(BoardError) as caught:
        board_from_dts(path)
    assert render(caught.value).startswith(
        f"{path}: error: invalid devicetree: expected property 'reg' on /memory@20000000")


def test_dts_board_round_trips_as_a_board_file(tmp_path: Path) -> None:
    path = tmp_path / "zephyr.dts"
    path.write_text(_H743_DTS)
    board = board_from_dts(path)
    out = tmp_path / "board.toml"
    placer.write_board(board, out)
    assert records.evolve(read_board_file(out), source=None) == board


def test_used_ranges_is_the_image_without_heaps(tmp_path: Path) -> None:
    from placer.importers.elf import used_ranges

    board = placer.load_board("qemu_riscv32")
    elf = link_assembly(board, image_program(board), tmp_path)
    assert used_ranges(elf, board) == read_elf_image(elf, board).used
    assert [u.region for u in used_ranges(elf, board)] == ["RAM"] * 5


_NRF_DTS = """\
/dts-v1/;

/ {
	#address-cells = < 0x1 >;
	#size-cells = < 0x1 >;
	chosen {
		zephyr,flash = &flash0;
		zephyr,sram = &sram0;
		zephyr,code-partition = &slot0_partition;
	};
	cpus {
		#address-cells = < 0x1 >;
		#size-cells = < 0x0 >;
		cpu@0 {
			device_type = "cpu";
			compatible = "arm,cortex-m4f";
			reg = < 0x0 >;
		};
	};
	soc {
		#address-cells = < 0x1 >;
		#size-cells = < 0x1 >;
		ranges;
		flash-controller@4001e000 {
			reg = < 0x4001e000 0x1000 >;
			#address-cells = < 0x1 >;
			#size-cells = < 0x1 >;
			flash0: flash@0 {
				compatible = "soc-nv-flash";
				reg = < 0x0 0x100000 >;
				partitions {
					compatible = "fixed-partitions";
					#address-cells = < 0x1 >;
					#size-cells = < 0x1 >;
					boot_partition: partition@0 {
						label = "mcuboot";
						reg = < 0x0 0xc000 >;
					};
					slot0_partition: partition@c000 {
						label = "image-0";
						reg = < 0xc000 0x77000 >;
					};
				};
			};
		};
		sram0: memory@20000000 {
			compatible = "mmio-sram";
			reg = < 0x20000000 0x40000 >;
		};
	};
};
"""


def test_dts_code_partition_behind_mcuboot(tmp_path: Path) -> None:
    path = tmp_path / "zephyr.dts"
    path.write_text(_NRF_DTS)
    whole = board_from_dts(path, name="mcuboot")
    assert (whole.region("FLASH").origin, whole.region("FLASH").length) == (0, 0x100000)
    slot = board_from_dts(path, name="mcuboot", code_partition=True)
    assert (slot.region("FLASH").origin, slot.region("FLASH").length) == (0xC000, 0x77000)
    assert (slot.region("RAM").origin, slot.region("RAM").length) == (0x20000000, 0x40000)
    assert slot.mpu.kind is MpuKind.NONE  # no MPU node in this tree
