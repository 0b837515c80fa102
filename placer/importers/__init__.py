"""Build boards from what a porter already has, so no board file is written by hand.

- `placer.importers.script`: a linker script's MEMORY block (and where ``.noinit`` and
  the code go);
- `placer.importers.dts`: a ``zephyr.dts`` as Zephyr's build writes it;
- `placer.importers.elf`: a built ``zephyr.elf``: the ranges its sections already use,
  and the LLEXT heaps it already has.

Every importer returns a `placer.board.Board`; `placer.write_board` writes it out.
"""

from placer.importers.dts import board_from_dts
from placer.importers.elf import ElfHeap, ElfImage, board_with_elf, read_elf_image, used_ranges
from placer.importers.script import board_from_script

__all__ = ["ElfHeap", "ElfImage", "board_from_dts", "board_from_script", "board_with_elf",
           "read_elf_image", "used_ranges"]
