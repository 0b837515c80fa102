"""Zephyr releases: the version type, its parser, and the release where each behaviour changed.

This is the one home of version facts. A `ZephyrVersion` comes from the user
(``--zephyr-version 4.3``), from a build directory (``version.h``, ``CMakeCache.txt``) or
from a library caller; every gate below is compared with it, so a fact about "which
release has what" is written once.

Releases are named by Zephyr's ``VERSION`` file: ``VERSION_MAJOR.VERSION_MINOR.PATCHLEVEL``.
A development tree between releases reports the next minor with patch level 99
(``4.3.99`` is what becomes 4.4). The gates compare whole versions, so a development tree
counts as the release before it (``4.3.99 < 4.4``): placer does not guess which pull
requests an unreleased tree already has.
"""

from __future__ import annotations

import re

from placer import records
from placer.errors import ConfigError


@records.frozen
class ZephyrVersion:
    """A Zephyr version ``major.minor.patch`` (patch 99: a development tree), ordered as
    releases are."""

    major: int
    minor: int
    patch: int = 0

    def _key(self) -> tuple[int, int, int]:
        return (self.major, self.minor, self.patch)

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, ZephyrVersion):
            return NotImplemented
        return self._key() < other._key()

    def __le__(self, other: object) -> bool:
        if not isinstance(other, ZephyrVersion):
            return NotImplemented
        return self._key() <= other._key()

    def __gt__(self, other: object) -> bool:
        if not isinstance(other, ZephyrVersion):
            return NotImplemented
        return self._key() > other._key()

    def __ge__(self, other: object) -> bool:
        if not isinstance(other, ZephyrVersion):
            return NotImplemented
        return self._key() >= other._key()

    @property
    def release(self) -> ZephyrVersion:
        """The release this tree is or becomes: ``4.3.99`` is the 4.4 development tree."""
        if self.patch >= 90:
            return ZephyrVersion(self.major, self.minor + 1, 0)
        return ZephyrVersion(self.major, self.minor, 0)

    def __str__(self) -> str:
        return f"{self.major}.{self.minor}" + (f".{self.patch}" if self.patch else "")


_VERSION = re.compile(r"v?(\d{1,3})\.(\d{1,3})(?:\.(\d{1,3}))?(?:[-+][0-9A-Za-z.\-]*)?")


def parse_zephyr_version(text: str, *, option: str = "--zephyr-version") -> ZephyrVersion:
    """``X.Y`` or ``X.Y.Z`` (a leading ``v`` and a ``-rc1``-like suffix allowed) as a
    `ZephyrVersion`; a `ConfigError` naming `option` otherwise."""
    match = _VERSION.fullmatch(text.strip())
    if match is None:
        raise ConfigError((), f"{option}: {text!r} is not a Zephyr version",
                          "write MAJOR.MINOR or MAJOR.MINOR.PATCH, such as 4.3 or 4.3.0")
    major, minor, patch = match.group(1, 2, 3)
    return ZephyrVersion(int(major), int(minor), int(patch or 0))


def as_zephyr_version(value: ZephyrVersion | tuple[int, ...] | str) -> ZephyrVersion:
    """`value` as a `ZephyrVersion`: library callers may pass ``(4, 3)`` or ``"4.3"``."""
    if isinstance(value, ZephyrVersion):
        return value
    if isinstance(value, str):
        return parse_zephyr_version(value, option="zephyr_version")
    if (isinstance(value, tuple) and 2 <= len(value) <= 3
            and all(isinstance(part, int) and part >= 0 for part in value)):
        return ZephyrVersion(*value)
    raise ConfigError((), f"zephyr_version: {value!r} is not a Zephyr version",
                      "pass a ZephyrVersion, (major, minor) or 'major.minor'")


#: The newest Zephyr behaviour placer models: the tree Zephyr's 4.4 release was cut from,
#: with everything merged for it (the LLEXT changes cited below).
NEWEST_ZEPHYR = ZephyrVersion(4, 4)

# Where Zephyr's behaviour changed: the first release (major, minor) with the new one.

#: LLEXT itself (``subsys/llext``) appeared in Zephyr 3.5; older trees have no extensions.
LLEXT_SUBSYSTEM = ZephyrVersion(3, 5)
#: Harvard heaps (``LLEXT_INSTR_HEAP_SIZE``, ``LLEXT_DATA_HEAP_SIZE``): the 4.2.0
#: documentation still says Harvard cores are not supported; the 4.3 tree has both heaps.
HARVARD_HEAPS = ZephyrVersion(4, 3)
#: PR #98811 (power of two only with MPU_REQUIRES_POWER_OF_TWO_ALIGNMENT) and PR #100964
#: (MPU rounding only with USERSPACE). Before: any ARM/ARC MPU forced powers of two.
MPU_ROUNDING_REWORK = ZephyrVersion(4, 4)
#: PR #102428: the ``LLEXT_HEAP_MANAGEMENT`` choice, ``LLEXT_HEAP_K_HEAP`` and the
#: sys_mem_blocks (``LLEXT_HEAP_MEMBLK``) backend; PR #107277 relaxed its page assert.
MEMBLK_BACKEND = ZephyrVersion(4, 4)
#: PR #104918: the heap buffers in their own input sections (``.llext_heap``,
#: ``.llext_ext_heap``, ``.llext_metadata_heap``, ``.llext_instr_heap``,
#: ``.llext_data_heap``) collected by ``common-noinit.ld``. Before, ``K_HEAP_DEFINE`` put
#: the buffer in a ``.noinit.*`` section of its own, which no script can name stably.
HEAP_SECTIONS = ZephyrVersion(4, 4)
#: PR #107366: ``LLEXT_CUSTOM_HEAP_PLACEMENT`` drops the default placement of those
#: sections so a custom script can place them.
CUSTOM_HEAP_PLACEMENT = ZephyrVersion(4, 4)
#: PR #114099: Xtensa loads from read-only storage; before, STORAGE_WRITABLE defaulted to y.
XTENSA_READONLY_STORAGE = ZephyrVersion(4, 4)
#: Shared-library extensions on ARM/ARM64/RISC-V/x86/ARC (the ``LLEXT_TYPE_ELF_SHAREDLIB``
#: dependency of the newest ``subsys/llext/Kconfig``); before, the documentation said
#: ET_DYN was "not currently supported on ARM" and only Xtensa built them.
SHAREDLIB_EVERYWHERE = ZephyrVersion(4, 4)


#: Zephyr 2.5 (the linker generator rework) links the final image with ``linker.cmd``;
#: before, ``linker.cmd`` was the first pass and ``linker_pass_final.cmd`` the final one.
LINKER_PASS_FINAL_UNTIL = ZephyrVersion(2, 5)

__all__ = [
    "CUSTOM_HEAP_PLACEMENT",
    "HARVARD_HEAPS",
    "HEAP_SECTIONS",
    "LINKER_PASS_FINAL_UNTIL",
    "LLEXT_SUBSYSTEM",
    "MEMBLK_BACKEND",
    "MPU_ROUNDING_REWORK",
    "NEWEST_ZEPHYR",
    "SHAREDLIB_EVERYWHERE",
    "XTENSA_READONLY_STORAGE",
    "ZephyrVersion",
    "as_zephyr_version",
    "parse_zephyr_version",
]
