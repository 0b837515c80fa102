"""AArch32 relocations as Zephyr's ``arch/arm/core/elf.c`` applies them.

REL only: the addend is the value already in the instruction or word. Thumb-2 instructions
are two halfwords, each in the file's byte order. Branch ranges are Zephyr's, which exclude
both ends: an ARM branch reaches -0x1fffffc..0x1fffffc and a Thumb BL/B.W
-0xfffffe..0xfffffe.
"""

from __future__ import annotations

from collections.abc import Callable

from placer.llext.elf import SHN_UNDEF
from placer.llext.relocate import Linker, Site
from placer.llext.relocate.codes import ArmType as R
from placer.llext.relocate.fastpath import sign_extend, signed

#: Type number -> name, for reports.
NAMES: dict[int, str] = {r.value: r.name for r in R}

ARM_BRANCH_LIMIT = 0x2000000
THUMB_BRANCH_LIMIT = 0x1000000
PREL31_LIMIT = 0x40000000
#: Bytes between the thread pointer and the TLS data on AArch32 (AAELF32, variant 1).
ARM_TCB_SIZE = 8

_PC_RELATIVE_MOV = frozenset({R.R_ARM_MOVW_PREL_NC, R.R_ARM_MOVT_PREL,
                              R.R_ARM_THM_MOVW_PREL_NC, R.R_ARM_THM_MOVT_PREL})
_MOVT = frozenset({R.R_ARM_MOVT_ABS, R.R_ARM_MOVT_PREL, R.R_ARM_THM_MOVT_ABS,
                   R.R_ARM_THM_MOVT_PREL})

Handler = Callable[[Linker, Site, int, int], None]

# Plain ints for the per-entry tests (an IntEnum member costs an attribute lookup).
_NONE = int(R.R_ARM_NONE)
_TLS_LE32 = int(R.R_ARM_TLS_LE32)


def relocate(linker: Linker, site: Site) -> None:
    """Apply one AArch32 relocation as Zephyr's ``arch_elf_relocate`` does."""
    kind = site.entry.type
    if kind == _NONE:
        return
    if site.offset + 4 > len(site.image):  # linker.fits(site, 4), inline: once per entry
        linker.error(site, "ENOEXEC", "the 4-byte field runs past the end of the section")
        return
    handler = _HANDLERS.get(kind)
    if handler is None:
        linker.error(site, "ENOEXEC", f"unknown relocation: {kind}")
        return
    handler(linker, site, site.symbol_address, site.address)


def _add_s(linker: Linker, site: Site, s: int, p: int) -> None:
    """ABS32, TARGET1, TLS_LE32: ``*P += S``."""
    # The word is inside the image (`relocate` checked): struct directly, the hot case.
    word = linker.fields[4]
    image, offset = site.image, site.offset
    word.pack_into(image, offset, (word.unpack_from(image, offset)[0] + s) & 0xFFFFFFFF)
    if site.entry.type == _TLS_LE32:
        # The ABI's offset from the thread pointer skips the 8-byte thread control
        # block, which Zephyr's TLS setup also reserves; the handler adds only S.
        linker.warning(site, f"Zephyr's offset omits the {ARM_TCB_SIZE}-byte thread "
                       "control block: the variable is read "
                       f"{ARM_TCB_SIZE} bytes too low (a Zephyr defect)")


def _v4bx(linker: Linker, site: Site, s: int, p: int) -> None:
    """V4BX: keep the condition and Rm, make it a MOV PC, Rm."""
    linker.write(site, 4, (linker.read(site, 4) & 0xF000000F) | 0x01A0F000)


def _rel32(linker: Linker, site: Site, s: int, p: int) -> None:
    linker.write(site, 4, linker.read(site, 4) + s - p)


def _absolute(linker: Linker, site: Site, s: int, p: int) -> None:
    """GLOB_DAT, JUMP_SLOT: ``*P = S``."""
    linker.write(site, 4, s)


def _relative(linker: Linker, site: Site, s: int, p: int) -> None:
    # The word holds a link-time address; move it to where its section was loaded.
    vma = linker.read(site, 4)
    for section in linker.ext.sections:
        base = linker.section_address(section.index)
        if base is not None and section.addr <= vma < section.addr + section.size:
            linker.write(site, 4, vma - section.addr + base)
            return
    linker.error(site, "ENOEXEC", f"address {vma:#x} is not inside a loaded section")


def _arm_branch(linker: Linker, site: Site, s: int, p: int) -> None:
    insn = linker.read(site, 4)
    offset = signed(sign_extend((insn & 0xFFFFFF) << 2, 26) + s - p, 4)
    if offset >= ARM_BRANCH_LIMIT or offset <= -ARM_BRANCH_LIMIT:
        linker.error(site, "ENOEXEC", f"relocation out of range ({p:#x} -> {s:#x})",
                     value=offset, allowed=(-ARM_BRANCH_LIMIT + 1, ARM_BRANCH_LIMIT - 1))
        return
    linker.write(site, 4, (insn & 0xFF000000) | ((offset >> 2) & 0xFFFFFF))


def _prel31(linker: Linker, site: Site, s: int, p: int) -> None:
    word = linker.read(site, 4)
    offset = signed(sign_extend(word, 31) + s - p, 4)
    if offset >= PREL31_LIMIT or offset < -PREL31_LIMIT:
        linker.error(site, "ENOEXEC", f"relocation out of range ({p:#x} -> {s:#x})",
                     value=offset, allowed=(-PREL31_LIMIT, PREL31_LIMIT - 1))
        return
    linker.write(site, 4, (word & 0x80000000) | (offset & 0x7FFFFFFF))


def _arm_mov(linker: Linker, site: Site, s: int, p: int) -> None:
    insn = linker.read(site, 4)
    value = sign_extend(((insn & 0xF0000) >> 4) | (insn & 0xFFF), 16) + s
    if site.entry.type in _PC_RELATIVE_MOV:
        value -= p
    value = signed(value, 4)
    if site.entry.type in _MOVT:
        value >>= 16
    insn &= 0xFFF0F000
    insn |= ((value & 0xF000) << 4) | (value & 0xFFF)
    linker.write(site, 4, insn)


def _thumb_branch(linker: Linker, site: Site, s: int, p: int) -> None:
    upper = linker.read(site, 2)
    lower = linker.read(site, 2, delta=2)
    sign = (upper >> 10) & 1
    j1 = (lower >> 13) & 1
    j2 = (lower >> 11) & 1
    encoded = (
        (sign << 24)
        | ((~(j1 ^ sign) & 1) << 23)
        | ((~(j2 ^ sign) & 1) << 22)
        | ((upper & 0x3FF) << 12)
        | ((lower & 0x7FF) << 1)
    )
    offset = signed(sign_extend(encoded, 25) + s - p, 4)
    if offset >= THUMB_BRANCH_LIMIT or offset <= -THUMB_BRANCH_LIMIT:
        message = f"relocation out of range ({p:#x} -> {s:#x})"
        undefined = site.symbol is not None and site.symbol.shndx == SHN_UNDEF
        if undefined and linker.veneers is not None:
            _through_veneer(linker, site, p, s)
            return
        if undefined:
            message += ("; build with -mlong-calls, or enable CONFIG_LLEXT_VENEERS to reach "
                        "exports through veneers")
        linker.error(site, "ENOEXEC", message,
                     value=offset, allowed=(-THUMB_BRANCH_LIMIT + 1, THUMB_BRANCH_LIMIT - 1))
        return
    sign = (offset >> 24) & 1
    j1 = sign ^ (~(offset >> 23) & 1)
    j2 = sign ^ (~(offset >> 22) & 1)
    upper = (upper & 0xF800) | (sign << 10) | ((offset >> 12) & 0x3FF)
    lower = (lower & 0xD000) | (j1 << 13) | (j2 << 11) | ((offset >> 1) & 0x7FF)
    linker.write(site, 2, upper)
    linker.write(site, 2, lower, delta=2)


def _thumb_mov(linker: Linker, site: Site, s: int, p: int) -> None:
    upper = linker.read(site, 2)
    lower = linker.read(site, 2, delta=2)
    value = (
        ((upper & 0xF) << 12)
        | ((upper & 0x400) << 1)
        | ((lower & 0x7000) >> 4)
        | (lower & 0xFF)
    )
    value = sign_extend(value, 16) + s
    if site.entry.type in _PC_RELATIVE_MOV:
        value -= p
    value = signed(value, 4)
    if site.entry.type in _MOVT:
        value >>= 16
    upper = (upper & 0xFBF0) | ((value & 0xF000) >> 12) | ((value & 0x800) >> 1)
    lower = (lower & 0x8F00) | ((value & 0x700) << 4) | (value & 0xFF)
    linker.write(site, 2, upper)
    linker.write(site, 2, lower, delta=2)


def _through_veneer(linker: Linker, site: Site, p: int, s: int) -> None:
    """An out-of-range Thumb call to an export, with ``CONFIG_LLEXT_VENEERS``: Zephyr
    branches to a stub in the VENEER region that jumps on to the export.

    Which slot the branch gets and the stub's exact instructions are not modelled, so the
    branch keeps its unlinked bytes and a warning says so. When even the VENEER region is
    beyond the branch's reach, Zephyr fails as without veneers.
    """
    assert linker.veneers is not None
    base, size = linker.veneers
    reach = [signed(slot - p, 4) for slot in (base, base + size - 1)]
    if all(-THUMB_BRANCH_LIMIT < r < THUMB_BRANCH_LIMIT for r in reach):
        linker.warning(site, f"out of range ({p:#x} -> {s:#x}): Zephyr routes it through a "
                       f"veneer in VENEER ({base:#x}, {size} bytes); placer does not model "
                       "the veneer stub, so this branch keeps its unlinked bytes")
        return
    linker.error(site, "ENOEXEC", f"relocation out of range ({p:#x} -> {s:#x}), and the "
                 f"VENEER region at {base:#x} is out of the branch's range too",
                 value=max(reach, key=abs),
                 allowed=(-THUMB_BRANCH_LIMIT + 1, THUMB_BRANCH_LIMIT - 1))


#: Zephyr's switch on the relocation type, as a table: type -> handler.
_HANDLERS: dict[int, Handler] = {
    R.R_ARM_ABS32: _add_s, R.R_ARM_TARGET1: _add_s, R.R_ARM_TLS_LE32: _add_s,
    R.R_ARM_PC24: _arm_branch, R.R_ARM_CALL: _arm_branch, R.R_ARM_JUMP24: _arm_branch,
    R.R_ARM_V4BX: _v4bx,
    R.R_ARM_PREL31: _prel31,
    R.R_ARM_REL32: _rel32,
    R.R_ARM_MOVW_ABS_NC: _arm_mov, R.R_ARM_MOVT_ABS: _arm_mov,
    R.R_ARM_MOVW_PREL_NC: _arm_mov, R.R_ARM_MOVT_PREL: _arm_mov,
    R.R_ARM_THM_CALL: _thumb_branch, R.R_ARM_THM_JUMP24: _thumb_branch,
    R.R_ARM_THM_MOVW_ABS_NC: _thumb_mov, R.R_ARM_THM_MOVT_ABS: _thumb_mov,
    R.R_ARM_THM_MOVW_PREL_NC: _thumb_mov, R.R_ARM_THM_MOVT_PREL: _thumb_mov,
    R.R_ARM_RELATIVE: _relative,
    R.R_ARM_GLOB_DAT: _absolute, R.R_ARM_JUMP_SLOT: _absolute,
}
