"""A board from ``zephyr.dts``, the flattened devicetree Zephyr's build writes.

The devicetree is read with dtlib from Zephyr's own ``devicetree`` package (it parses a
DTS file on its own, without a Zephyr tree). Regions are the memories Zephyr's linker
puts in MEMORY: the ``zephyr,flash`` and ``zephyr,sram`` chosen nodes (FLASH and RAM),
``zephyr,itcm``/``zephyr,dtcm`` (ITCM, DTCM), every ``zephyr,memory-region`` node under
its ``zephyr,memory-region`` name, and ARC's ``arc,iccm``/``arc,dccm`` (ICCM, DCCM).
"""

from __future__ import annotations

import io
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from devicetree import dtlib

from placer.board import Arch, Board, Bus, MemoryRegion, Mpu, MpuKind
from placer.boardfile import DEFAULT_MACHINE
from placer.errors import BoardError, InputError
from placer.inputs import check_input, read_input

#: CPU compatible prefix -> architecture (the part after the vendor names the core).
_CPU_ARCH = (
    ("arm,cortex-a", Arch.ARM64), ("arm,cortex-m", Arch.ARM), ("arm,cortex-r", Arch.ARM),
    ("snps,arc", Arch.ARC), ("riscv", Arch.RISCV), ("sifive,", Arch.RISCV),
    ("intel,", Arch.X86), ("cdns,tensilica-xtensa", Arch.XTENSA),
    ("espressif,xtensa", Arch.XTENSA),
)
_MPU = {
    "arm,armv7m-mpu": Mpu(MpuKind.ARM_MPU, requires_power_of_two=True),
    "arm,armv6m-mpu": Mpu(MpuKind.ARM_MPU, requires_power_of_two=True),
    "arm,armv8m-mpu": Mpu(MpuKind.ARM_MPU, requires_power_of_two=False),
    "arm,armv8.1m-mpu": Mpu(MpuKind.ARM_MPU, requires_power_of_two=False),
    "nxp,sysmpu": Mpu(MpuKind.NXP_MPU),
    "nxp,kinetis-mpu": Mpu(MpuKind.NXP_MPU),
}


def board_from_dts(path: str | Path, *, name: str | None = None, arch: Arch | None = None,
                   cpu: str | None = None, code_partition: bool = False) -> Board:
    """A board from the ``zephyr.dts`` at `path`, named `name` or after the devicetree's
    ``model`` or ``compatible`` (`devicetree_board_name`).

    Flash regions are ``rx`` and not writable at load time; RAM regions ``rwx``; DTCM and
    DCCM ``rw`` on the data bus; ICCM ``rwx`` on the instruction bus (written through the
    data bus while loading). A tree with both ICCM and DCCM is Harvard. The architecture
    and CPU come from the first ``/cpus`` node's compatible unless given; an Arm MPU node
    gives the MPU kind. With `code_partition` (Zephyr's ``CONFIG_USE_DT_CODE_PARTITION``,
    on with a bootloader) FLASH is the ``zephyr,code-partition`` inside the flash node.
    """
    path = Path(path)
    check_input(path, what="devicetree")
    try:
        tree = _BoundedDT(str(path))
    except OSError as exc:
        raise BoardError(f"cannot read devicetree: {exc.strerror}", str(path)) from None
    except dtlib.DTError as exc:
        raise BoardError(f"invalid devicetree: {exc}", str(path)) from None
    except UnicodeDecodeError:
        raise BoardError("invalid devicetree: not UTF-8 text", str(path)) from None
    except ValueError as exc:
        # dtlib lets int() fail on a literal its lexer took for a number (<099>).
        raise BoardError(f"invalid devicetree: {exc}", str(path)) from None
    except RecursionError:
        # dtlib parses expressions and nodes recursively: (((( ... 1 ))))
        raise BoardError("invalid devicetree: nests too deeply to parse", str(path)) from None
    try:
        return _board(tree, path, name=name, arch=arch, cpu=cpu, code_partition=code_partition)
    except dtlib.DTError as exc:
        # A property of the wrong type (reg = "abc";) is only found when it is read.
        raise BoardError(f"invalid devicetree: {exc}", str(path)) from None


#: A C or C++ comment, or a string or character literal (so that a comment marker inside a
#: literal is left alone); written so that the regex engine keeps no state per character.
_COMMENT_OR_LITERAL = re.compile(
    r'"[^"\\]*(?:\\.[^"\\]*)*"'          # a string, across lines as dtlib reads it
    r"|'(?:\\.|[^'\\\n]){0,16}'"          # a character literal: short, so no rescans
    r"|/\*.*?\*/|//[^\n]*", re.DOTALL)
#: Longest string or character literal read from a devicetree: a zephyr.dts holds
#: compatibles, labels and paths, far shorter.
_LITERAL_LIMIT = 64 * 1024


class _BoundedDT(dtlib.DT):  # type: ignore[misc]  # dtlib ships no types
    """dtlib's parser with its ``/include/`` and ``/incbin/`` files read through
    `placer.inputs` (regular files only, bounded) and standard input (``"-"``, which dtlib
    reads for the C tools' sake) refused: a devicetree cannot make placer block or read
    a device until memory runs out. Comments are dropped and long literals refused before
    dtlib lexes the text (see `_without_comments`)."""

    _file_contents: str  # dtlib's text being lexed, set by its __init__ and _enter_file

    def _parse_dt(self) -> None:
        self._file_contents = self._without_comments(self._file_contents)
        super()._parse_dt()

    def _enter_file(self, filename: str) -> None:
        super()._enter_file(filename)
        self._file_contents = self._without_comments(self._file_contents)

    def _without_comments(self, text: str) -> str:
        """`text` with each comment replaced by its newlines (lines keep their numbers),
        and a string or character literal longer than `_LITERAL_LIMIT` refused: dtlib's
        lexer matches both with a pattern that holds hundreds of bytes per character
        (a 10 MB comment took 3.6 GB), so it gets neither."""
        parts: list[str] = []
        last = 0
        for match in _COMMENT_OR_LITERAL.finditer(text):
            token = match.group()
            if token[0] in "\"'":
                if len(token) > _LITERAL_LIMIT:
                    self._lineno = text.count("\n", 0, match.start()) + 1
                    self._parse_error(f"a literal of {len(token)} bytes: longer than the "
                                      f"{_LITERAL_LIMIT} bytes placer reads in a devicetree")
                continue
            parts.append(text[last:match.start()])
            parts.append("\n" * token.count("\n") or " ")
            last = match.end()
        parts.append(text[last:])
        return "".join(parts)

    def _open(self, filename: str, mode: str = "r", **kwargs: object) -> IO[Any]:
        if filename == "-":
            self._parse_error("/include/ or /incbin/ of standard input ('-') is not read")
        for folder in (os.path.dirname(self.filename), *self._include_path):
            candidate = os.path.join(folder, filename)
            if not os.path.lexists(candidate):
                continue
            try:
                data = read_input(candidate, what="devicetree include")
            except InputError as exc:
                self._parse_error(f"cannot read {candidate}: {exc.reason}")
            stream: IO[Any] = io.BytesIO(data) if "b" in mode else \
                io.StringIO(data.decode("utf-8"))
            stream.name = candidate  # type: ignore[misc]  # dtlib reads it back
            return stream
        self._parse_error(f"'{filename}' could not be found")
        raise AssertionError("unreachable: _parse_error raises")


def _board(tree: dtlib.DT, path: Path, *, name: str | None, arch: Arch | None,
           cpu: str | None, code_partition: bool) -> Board:
    file = str(path)
    regions: dict[str, MemoryRegion] = {}

    def add(region: MemoryRegion) -> None:
        if region.name not in regions:
            regions[region.name] = region

    chosen = tree.get_node("/chosen") if tree.has_node("/chosen") else None
    chosen_nodes: dict[str, dtlib.Node] = {}
    if chosen is not None:
        for key in ("zephyr,flash", "zephyr,sram", "zephyr,itcm", "zephyr,dtcm"):
            if key in chosen.props:
                chosen_nodes[key] = _chosen(chosen.props[key], file)
    iccm = dccm = None
    for node in tree.node_iter():
        compatible = _strings(node, "compatible")
        if "arc,iccm" in compatible:
            iccm = node
        if "arc,dccm" in compatible:
            dccm = node
    for key, region_name, attributes, bus, writable in (
        ("zephyr,flash", "FLASH", "rx", Bus.BOTH, False),
        ("zephyr,sram", "RAM", "rwx", Bus.BOTH, True),
        ("zephyr,itcm", "ITCM", "rwx", Bus.BOTH, True),
        ("zephyr,dtcm", "DTCM", "rw", Bus.DATA, True),
    ):
        node = chosen_nodes.get(key)
        if node is None:
            continue
        if key == "zephyr,sram" and node is dccm:
            continue  # the DCCM entry below names it as Zephyr's ARC script does
        origin, length = _first_reg(node, file)
        if key == "zephyr,flash" and code_partition:
            origin, length = _code_partition(chosen, node, file)
        add(MemoryRegion(region_name, origin, length, frozenset(attributes), bus, writable))
    if iccm is not None:
        origin, length = _first_reg(iccm, file)
        add(MemoryRegion("ICCM", origin, length, frozenset("rwx"), Bus.INSTRUCTION, True))
    if dccm is not None:
        origin, length = _first_reg(dccm, file)
        add(MemoryRegion("DCCM", origin, length, frozenset("rw"), Bus.DATA, True))
    for node in tree.node_iter():
        if "zephyr,memory-region" in _strings(node, "compatible"):
            if "zephyr,memory-region" not in node.props:
                raise BoardError(f"{node.path}: compatible zephyr,memory-region without a "
                                 "zephyr,memory-region name", file)
            region_name = node.props["zephyr,memory-region"].to_string()
            origin, length = _first_reg(node, file)
            add(MemoryRegion(region_name, origin, length, frozenset("rw"), Bus.BOTH, True))
    if not regions:
        raise BoardError("the devicetree has no zephyr,sram, zephyr,flash, memory-region or "
                         "ICCM/DCCM node", file)
    found_arch, found_cpu = _cpu(tree)
    board_arch = arch or found_arch
    if board_arch is None:
        raise BoardError("no /cpus node with a known compatible; give the architecture", file)
    board_name = name or devicetree_board_name(tree)
    if board_name is None:
        raise BoardError("the root node has no model or compatible to name the board "
                         "after; give a name", file)
    harvard = iccm is not None and dccm is not None
    noinit = "DCCM" if harvard else ("RAM" if "RAM" in regions else next(iter(regions)))
    flash = "ICCM" if harvard else ("FLASH" if "FLASH" in regions else None)
    return Board(
        name=board_name, arch=board_arch, cpu=cpu or found_cpu or "unknown",
        regions=tuple(regions.values()), noinit_region=noinit,
        elf_class=64 if board_arch is Arch.ARM64 else 32,
        machine=DEFAULT_MACHINE[board_arch], harvard=harvard, mpu=_mpu(tree),
        flash_region=flash, xip=flash is not None and not harvard,
        description=f"imported from {path.name}",
    )


def _code_partition(chosen: dtlib.Node | None, flash: dtlib.Node,
                    file: str) -> tuple[int, int]:
    """The code partition as an address range: flash base plus the partition's offset."""
    if chosen is None or "zephyr,code-partition" not in chosen.props:
        raise BoardError("no zephyr,code-partition chosen node", file)
    partition = _chosen(chosen.props["zephyr,code-partition"], file)
    base, _ = _first_reg(flash, file)
    offsets = partition.props.get("reg")
    if offsets is None:
        raise BoardError(f"{partition.path} has no reg property", file)
    parent = partition.parent
    address_cells = _cells(parent, "#address-cells", 1)
    size_cells = _cells(parent, "#size-cells", 1)
    numbers = offsets.to_nums()
    if len(numbers) < address_cells + size_cells:
        raise BoardError(f"{partition.path}: reg is too short", file)
    offset = _join(numbers[:address_cells])
    return base + offset, _join(numbers[address_cells:address_cells + size_cells])


def _chosen(prop: dtlib.Property, file: str) -> dtlib.Node:
    try:
        return prop.to_path()
    except dtlib.DTError:
        try:
            return prop.to_node()
        except dtlib.DTError as exc:
            raise BoardError(f"chosen {prop.name}: {exc}", file) from None


def devicetree_board_name(tree: dtlib.DT) -> str | None:
    """A board name from the root node: its ``model`` ("QEMU Cortex-M3" gives
    ``qemu_cortex_m3``), else its first ``compatible`` without the vendor ("ti,lm3s6965"
    gives ``lm3s6965``); None when the root has neither."""
    root = tree.root
    model = root.props.get("model")
    texts = _strings(root, "model") if model is not None else []
    texts += [c.partition(",")[2] or c for c in _strings(root, "compatible")]
    for text in texts:
        slug = re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")
        if slug:
            return slug
    return None


def _strings(node: dtlib.Node, name: str) -> list[str]:
    prop = node.props.get(name)
    if prop is None:
        return []
    try:
        return list(prop.to_strings())
    except dtlib.DTError:
        return []


def _cells(node: dtlib.Node | None, name: str, default: int) -> int:
    if node is None or name not in node.props:
        return default
    return int(node.props[name].to_num())


def _first_reg(node: dtlib.Node, file: str) -> tuple[int, int]:
    """The first (address, size) of `node`'s reg, translated through parent ranges."""
    if "reg" not in node.props:
        raise BoardError(f"{node.path} has no reg property", file)
    parent = node.parent
    address_cells = _cells(parent, "#address-cells", 2)
    size_cells = _cells(parent, "#size-cells", 1)
    numbers = node.props["reg"].to_nums()
    if len(numbers) < address_cells + size_cells:
        raise BoardError(f"{node.path}: reg has {len(numbers)} cells, fewer than "
                         f"#address-cells + #size-cells = {address_cells + size_cells}", file)
    address = _join(numbers[:address_cells])
    size = _join(numbers[address_cells:address_cells + size_cells])
    return _translate(parent, address, file), size


def _translate(bus: dtlib.Node | None, address: int, file: str) -> int:
    """Map a child bus address to the root's through each ``ranges`` on the way up."""
    while bus is not None and bus.parent is not None:
        ranges = bus.props.get("ranges")
        if ranges is None or not ranges.value:
            bus = bus.parent
            continue  # no ranges: nothing to map (identity for an empty `ranges;`)
        child_cells = _cells(bus, "#address-cells", 2)
        parent_cells = _cells(bus.parent, "#address-cells", 2)
        size_cells = _cells(bus, "#size-cells", 1)
        numbers = ranges.to_nums()
        step = child_cells + parent_cells + size_cells
        for index in range(0, len(numbers) - step + 1, step):
            child = _join(numbers[index:index + child_cells])
            parent = _join(numbers[index + child_cells:index + child_cells + parent_cells])
            size = _join(numbers[index + child_cells + parent_cells:index + step])
            if child <= address < child + size:
                address = parent + (address - child)
                break
        else:
            raise BoardError(f"{bus.path}: address {address:#x} is outside its ranges", file)
        bus = bus.parent
    return address


def _join(cells: list[int]) -> int:
    value = 0
    for cell in cells:
        value = (value << 32) | cell
    return value


def _cpu(tree: dtlib.DT) -> tuple[Arch | None, str | None]:
    if not tree.has_node("/cpus"):
        return None, None
    for node in _walk(tree.get_node("/cpus")):
        for compatible in _strings(node, "compatible"):
            for prefix, arch in _CPU_ARCH:
                if compatible.startswith(prefix):
                    return arch, compatible.split(",", 1)[-1]
    return None, None


def _mpu(tree: dtlib.DT) -> Mpu:
    for node in tree.node_iter():
        for compatible in _strings(node, "compatible"):
            if compatible in _MPU:
                return _MPU[compatible]
    return Mpu(MpuKind.NONE)


def _walk(node: dtlib.Node) -> Iterator[dtlib.Node]:
    yield node
    for child in node.nodes.values():
        yield from _walk(child)
