"""The heap budget of a verify run, as Markdown for a pull-request comment.

Per extension, in load order: the heap bytes it keeps and its peak during the load, what
the heap has left after it, and the largest block the allocator would still hand out (no
region of a later extension can be larger). Then, for each extension that fails, why, and
each unresolved symbol with the exported names nearest to it. Every figure comes from the
report of the exact simulation; nothing is estimated here.
"""

from __future__ import annotations

import difflib

from placer.llext.image import ImageFacts
from placer.llext.loader import ExtensionLoad
from placer.llext.report import Report

#: How many near names to suggest for an unresolved symbol.
NEAREST = 3


def render_markdown(report: Report, image: ImageFacts, *, source: str = "") -> str:
    """The budget of `report` as Markdown; `source` says what it was checked against (a
    line under the title); `image` gives the exported names to suggest."""
    mark = "✅" if report.ok else "❌"
    lines = [f"## LLEXT admission check: {mark} {report.verdict()}", ""]
    if source:
        lines += [source, ""]
    lines += ["| # | extension | result | heap | kept | peak during load | left after | "
              "largest block left |",
              "|--:|---|---|---|--:|--:|--:|--:|"]
    for number, load in enumerate(report.loads, start=1):
        result = "loads" if load.ok else f"**fails** (-{load.error.errno})" \
            if load.error is not None else "fails"
        if load.already_loaded:
            result += " (already loaded)"
        first = f"| {number} | `{load.name}` | {result} "
        if not load.usage:
            lines.append(first + "| (no file read) | | | | |")
        for index, usage in enumerate(load.usage):
            lead = first if index == 0 else "| | | "
            lines.append(f"{lead}| `{usage.heap}` | {usage.persistent} | "
                         f"{usage.transient_peak} | {usage.capacity - usage.after} of "
                         f"{usage.capacity} | {usage.largest_free} |")
    lines.append("")
    names = _exported_names(report, image)
    for load in report.loads:
        lines.extend(_problems(load, names, image))
    lines.append("| heap | address | size | allocatable | peak | in use at the end |")
    lines.append("|---|--:|--:|--:|--:|--:|")
    for heap in report.heaps:
        lines.append(f"| `{heap.heap}` | `{heap.address:#x}` | {heap.size} | {heap.capacity} "
                     f"| {heap.peak} | {heap.final} |")
    lines.append("")
    if report.minimum is not None and report.minimum.blocked_by is None:
        wanted = ", ".join(f"`{m.kconfig_line}`" for m in report.minimum.heaps)
        lines += [f"Smallest heaps at which all of these load: {wanted}.", ""]
    lines.append("<sub>Bytes, as Zephyr's allocator counts them (chunk headers and "
                 "alignment included). *kept*: held while the extension is loaded; *peak "
                 "during load*: the most it held at once while loading; *largest block "
                 "left*: the largest single allocation the heap still serves, so no region "
                 f"of a later extension can be larger. Metadata sizes: "
                 f"{report.metadata_source}.</sub>")
    return "\n".join(lines) + "\n"


def _problems(load: ExtensionLoad, names: list[str], image: ImageFacts) -> list[str]:
    if load.ok and not load.unresolved and not load.relocation_problems:
        return []
    lines = [f"### `{load.name}`", ""]
    if load.error is not None:
        lines += [f"Would not load: {load.error.message} (Zephyr: -{load.error.errno}).", ""]
    if load.unresolved:
        lines += ["| unresolved symbol | nearest exported names |", "|---|---|"]
        for symbol in load.unresolved:
            lines.append(f"| `{symbol}` | {_nearest(symbol, names, image)} |")
        lines.append("")
    if load.relocation_problems:
        lines += [f"- {problem}" for problem in load.relocation_problems]
        lines.append("")
    return lines


def _exported_names(report: Report, image: ImageFacts) -> list[str]:
    names: set[str] = set()
    if image.exports is not None:
        names.update(s.name for s in image.exports.symbols if s.name)
    for load in report.loads:
        names.update(name for name, _ in load.exports)
    return sorted(names)


def _nearest(symbol: str, names: list[str], image: ImageFacts) -> str:
    if image.exports is None:
        return "no export table given"
    near = difflib.get_close_matches(symbol, names, n=NEAREST, cutoff=0.6)
    found = ", ".join(f"`{name}`" for name in near) if near else "none close"
    if image.exports.symbols and not any(s.name for s in image.exports.symbols):
        # A prepared SLID table keeps only hashes: only the extensions' names compare.
        found += " (the image exports by SLID only: its names are not known)"
    return found
