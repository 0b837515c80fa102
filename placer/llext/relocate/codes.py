"""The relocation type numbers of AArch32 and RISC-V, in one place.

The architecture handlers (`placer.llext.relocate.arm`, `placer.llext.relocate.riscv`) name
them in reports, and the fast path (`placer.llext.relocate.fastpath`) applies the common ones
itself; both import them from here, which imports nothing of theirs.
"""

from __future__ import annotations

import enum


class ArmType(enum.IntEnum):
    """AArch32 relocation types (AAELF32; pyelftools' ``ENUM_RELOC_TYPE_ARM``), the ones
    Zephyr's ``arch_elf_relocate`` handles."""

    R_ARM_NONE = 0
    R_ARM_PC24 = 1
    R_ARM_ABS32 = 2
    R_ARM_REL32 = 3
    R_ARM_THM_CALL = 10
    R_ARM_COPY = 20
    R_ARM_GLOB_DAT = 21
    R_ARM_JUMP_SLOT = 22
    R_ARM_RELATIVE = 23
    R_ARM_CALL = 28
    R_ARM_JUMP24 = 29
    R_ARM_THM_JUMP24 = 30
    R_ARM_TARGET1 = 38
    R_ARM_V4BX = 40
    R_ARM_PREL31 = 42
    R_ARM_MOVW_ABS_NC = 43
    R_ARM_MOVT_ABS = 44
    R_ARM_MOVW_PREL_NC = 45
    R_ARM_MOVT_PREL = 46
    R_ARM_THM_MOVW_ABS_NC = 47
    R_ARM_THM_MOVT_ABS = 48
    R_ARM_THM_MOVW_PREL_NC = 49
    R_ARM_THM_MOVT_PREL = 50
    R_ARM_ALU_PC_G0_NC = 57
    R_ARM_ALU_PC_G1_NC = 59
    R_ARM_LDR_PC_G2 = 63
    R_ARM_THM_JUMP11 = 102
    R_ARM_TLS_LE32 = 108


class RiscvType(enum.IntEnum):
    """RISC-V relocation types (the RISC-V ELF psABI's numbers),
    the ones Zephyr's ``arch_elf_relocate`` knows."""

    R_RISCV_NONE = 0
    R_RISCV_32 = 1
    R_RISCV_64 = 2
    R_RISCV_RELATIVE = 3
    R_RISCV_COPY = 4
    R_RISCV_JUMP_SLOT = 5
    R_RISCV_BRANCH = 16
    R_RISCV_JAL = 17
    R_RISCV_CALL = 18
    R_RISCV_CALL_PLT = 19
    R_RISCV_GOT_HI20 = 20
    R_RISCV_PCREL_HI20 = 23
    R_RISCV_PCREL_LO12_I = 24
    R_RISCV_PCREL_LO12_S = 25
    R_RISCV_HI20 = 26
    R_RISCV_LO12_I = 27
    R_RISCV_LO12_S = 28
    R_RISCV_TPREL_HI20 = 29
    R_RISCV_TPREL_LO12_I = 30
    R_RISCV_TPREL_LO12_S = 31
    R_RISCV_TPREL_ADD = 32
    R_RISCV_ADD8 = 33
    R_RISCV_ADD16 = 34
    R_RISCV_ADD32 = 35
    R_RISCV_ADD64 = 36
    R_RISCV_SUB8 = 37
    R_RISCV_SUB16 = 38
    R_RISCV_SUB32 = 39
    R_RISCV_SUB64 = 40
    R_RISCV_ALIGN = 43
    R_RISCV_RVC_BRANCH = 44
    R_RISCV_RVC_JUMP = 45
    R_RISCV_RELAX = 51
    R_RISCV_SUB6 = 52
    R_RISCV_SET6 = 53
    R_RISCV_SET8 = 54
    R_RISCV_SET16 = 55
    R_RISCV_SET32 = 56
    R_RISCV_32_PCREL = 57
    R_RISCV_PLT32 = 59
    R_RISCV_SET_ULEB128 = 60
    R_RISCV_SUB_ULEB128 = 61
