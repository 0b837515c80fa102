"""The Kconfig fragment that builds the heaps the layout placed: the one home of a layout's
Kconfig lines (``llext.conf``, ``place --maximize``'s sizes, ``--apply``'s block).

Kconfig sizes are KiB (the one place placer leaves bytes); only the options Kconfig
makes visible for the layout's mode, and that the layout's Zephyr release has
(`placer.versions`), are written, so the fragment never sets a symbol Zephyr would
ignore with a warning or abort on as undefined. The tests load every fragment through
kconfiglib against placer's Kconfig model (`placer.dotconfig`) and check that every value
survives.
"""

from __future__ import annotations

from placer.config import HeapBackend
from placer.errors import ConfigError
from placer.layout import Layout, Placement
from placer.target import SIZE_OPTION
from placer.versions import CUSTOM_HEAP_PLACEMENT, LLEXT_SUBSYSTEM, MEMBLK_BACKEND


def needs_custom_script(layout: Layout) -> bool:
    """Whether Zephyr's default placement (``.noinit`` of the RAM region) cannot give this
    layout, so the build must use the custom script."""
    board = layout.target.board
    return any(
        placed.placement is Placement.OUTPUT_SECTION
        or (placed.placement is Placement.NOINIT and placed.region != board.noinit_region)
        for placed in layout.heaps
    )


def kconfig_assignments(layout: Layout, custom_script: str | None = None
                        ) -> tuple[tuple[str, str], ...]:
    """``(symbol, value)`` pairs (no ``CONFIG_`` prefix; values as ``.config`` writes them)
    that build `layout`'s heaps with the layout's Zephyr release.

    `custom_script` is the file name of the emitted custom linker script when the build
    uses it: ``CONFIG_HAVE_CUSTOM_LINKER_SCRIPT`` (without which Kconfig drops the file
    name) and ``CONFIG_CUSTOM_LINKER_SCRIPT`` point the build at it. Zephyr's default heap
    placement is turned off with it, and whenever the layout needs a custom script at all
    (`needs_custom_script`), even one placer did not write. Raises `ConfigError` when the
    release cannot build the layout (no LLEXT; no custom heap placement before 4.4).
    """
    target = layout.target
    config = target.config
    version = config.zephyr_version
    if version < LLEXT_SUBSYSTEM:
        raise ConfigError(("LLEXT",), f"Zephyr {version} has no LLEXT subsystem (subsys/llext "
                          f"arrived in {LLEXT_SUBSYSTEM})", "use Zephyr 3.5 or newer")
    out: list[tuple[str, str]] = [("LLEXT", "y")]
    if config.heap_dynamic:
        out.append(("LLEXT_HEAP_DYNAMIC", "y"))
    if config.heap_backend is HeapBackend.MEMBLK:
        out.append(("LLEXT_HEAP_MEMBLK", "y"))
        out.append(("LLEXT_HEAP_MEMBLK_BLOCK_SIZE", str(config.heap_memblk_block_size)))
        out.append(("LLEXT_METADATA_HEAP_SIZE", str(config.metadata_heap_size)))
    elif version >= MEMBLK_BACKEND:
        # The LLEXT_HEAP_MANAGEMENT choice came with the memblk backend (PR #102428);
        # before it, LLEXT_HEAP_K_HEAP is an undefined symbol Zephyr's build aborts on.
        out.append(("LLEXT_HEAP_K_HEAP", "y"))
    if not config.heap_dynamic:
        if target.harvard:
            out.append(("LLEXT_INSTR_HEAP_SIZE", str(config.instr_heap_size)))
            out.append(("LLEXT_DATA_HEAP_SIZE", str(config.data_heap_size)))
        elif config.heap_backend is HeapBackend.MEMBLK:
            out.append(("LLEXT_EXT_HEAP_SIZE", str(config.ext_heap_size)))
        else:
            out.append(("LLEXT_HEAP_SIZE", str(config.heap_size)))
    if config.userspace:
        out.append(("USERSPACE", "y"))
    if custom_script is not None or needs_custom_script(layout):
        if version < CUSTOM_HEAP_PLACEMENT:
            raise ConfigError(
                ("LLEXT_CUSTOM_HEAP_PLACEMENT",),
                f"this layout moves a heap away from Zephyr's placement, and Zephyr {version} "
                f"has no LLEXT_CUSTOM_HEAP_PLACEMENT ({CUSTOM_HEAP_PLACEMENT}, PR #107366)",
                "keep Zephyr's placement (no pins), or use Zephyr "
                f"{CUSTOM_HEAP_PLACEMENT} or newer")
        out.append(("LLEXT_CUSTOM_HEAP_PLACEMENT", "y"))
    if custom_script is not None:
        out.append(("HAVE_CUSTOM_LINKER_SCRIPT", "y"))
        out.append(("CUSTOM_LINKER_SCRIPT", f'"{_quote(custom_script)}"'))
    return tuple(out)


def kconfig_fragment(layout: Layout, custom_script: str | None = None) -> str:
    """The ``prj.conf``-style lines for `layout` (`kconfig_assignments`, with a header)."""
    lines = [f"# LLEXT heaps for board {layout.target.board.name}, as placed by placer."]
    lines += [f"CONFIG_{name}={value}"
              for name, value in kconfig_assignments(layout, custom_script)]
    return "\n".join(lines) + "\n"


def kconfig_lines(layout: Layout) -> tuple[str, ...]:
    """The lines of the fragment that size the layout's heaps (``CONFIG_LLEXT_HEAP_SIZE=52``),
    heap by heap, then the block size and the custom placement when they apply."""
    values = dict(kconfig_assignments(layout))
    names = [SIZE_OPTION[placed.heap.role] for placed in layout.heaps]
    names += ["LLEXT_HEAP_MEMBLK_BLOCK_SIZE", "LLEXT_CUSTOM_HEAP_PLACEMENT"]
    return tuple(f"CONFIG_{name}={values[name]}" for name in names if name in values)


def _quote(text: str) -> str:
    # Kconfig strings escape backslash and double quote, nothing else.
    return text.replace("\\", "\\\\").replace('"', '\\"')
