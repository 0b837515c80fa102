"""The Kconfig fragment that builds the heaps the layout placed.

Kconfig sizes are KiB (the one place placer leaves bytes, llext-facts §1.1); only the
options Kconfig makes visible for the layout's mode are written, so the fragment never
sets a symbol Zephyr would ignore with a warning.
"""

from __future__ import annotations

from placer.config import HeapBackend
from placer.layout import Layout, Placement


def needs_custom_script(layout: Layout) -> bool:
    """Whether Zephyr's default placement (``.noinit`` of the RAM region) cannot give this
    layout, so the build must use the custom script."""
    board = layout.target.board
    return any(
        placed.placement is Placement.OUTPUT_SECTION
        or (placed.placement is Placement.NOINIT and placed.region != board.noinit_region)
        for placed in layout.heaps
    )


def kconfig_fragment(layout: Layout, custom_script: str | None = None) -> str:
    """The ``prj.conf``-style lines for `layout`.

    `custom_script` is the file name of the emitted custom linker script when the build
    uses it: the fragment then points ``CONFIG_CUSTOM_LINKER_SCRIPT`` at it. Zephyr's
    default heap placement is turned off with it, and whenever the layout needs a custom
    script at all (`needs_custom_script`), even one placer did not write.
    """
    target = layout.target
    config = target.config
    lines = [
        f"# LLEXT heaps for board {target.board.name}, as placed by placer.",
        "CONFIG_LLEXT=y",
    ]
    if config.heap_dynamic:
        lines.append("CONFIG_LLEXT_HEAP_DYNAMIC=y")
    if config.heap_backend is HeapBackend.MEMBLK:
        lines.append("CONFIG_LLEXT_HEAP_MEMBLK=y")
        lines.append(f"CONFIG_LLEXT_HEAP_MEMBLK_BLOCK_SIZE={config.heap_memblk_block_size}")
        lines.append(f"CONFIG_LLEXT_METADATA_HEAP_SIZE={config.metadata_heap_size}")
    else:
        lines.append("CONFIG_LLEXT_HEAP_K_HEAP=y")
    if not config.heap_dynamic:
        if target.harvard:
            lines.append(f"CONFIG_LLEXT_INSTR_HEAP_SIZE={config.instr_heap_size}")
            lines.append(f"CONFIG_LLEXT_DATA_HEAP_SIZE={config.data_heap_size}")
        elif config.heap_backend is HeapBackend.MEMBLK:
            lines.append(f"CONFIG_LLEXT_EXT_HEAP_SIZE={config.ext_heap_size}")
        else:
            lines.append(f"CONFIG_LLEXT_HEAP_SIZE={config.heap_size}")
    if config.userspace:
        lines.append("CONFIG_USERSPACE=y")
    if custom_script is not None or needs_custom_script(layout):
        lines.append("CONFIG_LLEXT_CUSTOM_HEAP_PLACEMENT=y")
    if custom_script is not None:
        lines.append(f'CONFIG_CUSTOM_LINKER_SCRIPT="{_quote(custom_script)}"')
    return "\n".join(lines) + "\n"


def _quote(text: str) -> str:
    # Kconfig strings escape backslash and double quote, nothing else.
    return text.replace("\\", "\\\\").replace('"', '\\"')
