"""AArch32 relocations as Zephyr's ``arch/arm/core/elf.c`` applies them.

REL only: the addend is the value already in the instruction or word. Thumb-2 instructions
are two halfwords, each in the file's byte order. Branch ranges are Zephyr's, which exclude
both ends: an ARM branch reaches -0x1fffffc..0x1fffffc and a Thumb BL/B.W
-0xfffffe..0xfffffe.
"""

from __future__ import annotations

from placer.llext.elf import SHN_UNDEF
from placer.llext.relocate import Linker, Site, sign_extend, signed

NAMES: dict[int, str] = {
    0: "R_ARM_NONE", 1: "R_ARM_PC24", 2: "R_ARM_ABS32", 3: "R_ARM_REL32",
    10: "R_ARM_THM_CALL", 20: "R_ARM_COPY", 21: "R_ARM_GLOB_DAT", 22: "R_ARM_JUMP_SLOT",
    23: "R_ARM_RELATIVE", 28: "R_ARM_CALL", 29: "R_ARM_JUMP24", 30: "R_ARM_THM_JUMP24",
    38: "R_ARM_TARGET1", 40: "R_ARM_V4BX", 42: "R_ARM_PREL31", 43: "R_ARM_MOVW_ABS_NC",
    44: "R_ARM_MOVT_ABS", 45: "R_ARM_MOVW_PREL_NC", 46: "R_ARM_MOVT_PREL",
    47: "R_ARM_THM_MOVW_ABS_NC", 48: "R_ARM_THM_MOVT_ABS", 49: "R_ARM_THM_MOVW_PREL_NC",
    50: "R_ARM_THM_MOVT_PREL", 57: "R_ARM_ALU_PC_G0_NC", 59: "R_ARM_ALU_PC_G1_NC",
    63: "R_ARM_LDR_PC_G2", 102: "R_ARM_THM_JUMP11", 108: "R_ARM_TLS_LE32",
}

ARM_BRANCH_LIMIT = 0x2000000
THUMB_BRANCH_LIMIT = 0x1000000
PREL31_LIMIT = 0x40000000
#: Bytes between the thread pointer and the TLS data on AArch32 (AAELF32, variant 1).
ARM_TCB_SIZE = 8

_ADD_S = frozenset({2, 38, 108})  # ABS32, TARGET1, TLS_LE32: *P += S
_ARM_BRANCH = frozenset({1, 28, 29})
_ARM_MOV = frozenset({43, 44, 45, 46})
_THUMB_BRANCH = frozenset({10, 30})
_THUMB_MOV = frozenset({47, 48, 49, 50})
_PC_RELATIVE_MOV = frozenset({45, 46, 49, 50})
_MOVT = frozenset({44, 46, 48, 50})


def relocate(linker: Linker, site: Site) -> None:
    """Apply one AArch32 relocation as Zephyr's ``arch_elf_relocate`` does."""
    kind = site.entry.type
    s = site.symbol_address
    p = site.address
    if kind == 0:
        return
    if not linker.fits(site, 4):
        linker.error(site, "ENOEXEC", "the 4-byte field runs past the end of the section")
        return
    if kind in _ADD_S:
        linker.write(site, 4, linker.read(site, 4) + s)
        if kind == 108:
            # The ABI's offset from the thread pointer skips the 8-byte thread control
            # block, which Zephyr's TLS setup also reserves; the handler adds only S.
            linker.warning(site, f"Zephyr's offset omits the {ARM_TCB_SIZE}-byte thread "
                           "control block: the variable is read "
                           f"{ARM_TCB_SIZE} bytes too low (a Zephyr defect)")
    elif kind in _ARM_BRANCH:
        _arm_branch(linker, site, s, p)
    elif kind == 40:  # V4BX: keep the condition and Rm, make it a MOV PC, Rm
        linker.write(site, 4, (linker.read(site, 4) & 0xF000000F) | 0x01A0F000)
    elif kind == 42:
        _prel31(linker, site, s, p)
    elif kind == 3:  # REL32
        linker.write(site, 4, linker.read(site, 4) + s - p)
    elif kind in _ARM_MOV:
        _arm_mov(linker, site, s, p)
    elif kind in _THUMB_BRANCH:
        _thumb_branch(linker, site, s, p)
    elif kind in _THUMB_MOV:
        _thumb_mov(linker, site, s, p)
    elif kind == 23:
        _relative(linker, site)
    elif kind in (21, 22):  # GLOB_DAT, JUMP_SLOT
        linker.write(site, 4, s)
    else:
        linker.error(site, "ENOEXEC", f"unknown relocation: {kind}")


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


def _relative(linker: Linker, site: Site) -> None:
    # The word holds a link-time address; move it to where its section was loaded.
    vma = linker.read(site, 4)
    for section in linker.ext.sections:
        base = linker.section_address(section.index)
        if base is not None and section.addr <= vma < section.addr + section.size:
            linker.write(site, 4, vma - section.addr + base)
            return
    linker.error(site, "ENOEXEC", f"address {vma:#x} is not inside a loaded section")


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
