"""The C preprocessor pass over linker-script templates and snippets.

Zephyr writes its linker scripts as C-preprocessed templates (``linker.ld`` with
``#include <zephyr/linker/sections.h>`` and ``#if defined(CONFIG_X)`` guards) and runs
them through ``<cc> -x assembler-with-cpp -E -P`` with ``-imacros autoconf.h``. placer
does the same in pure Python with pcpp by default, or with a toolchain's ``cpp`` when the
caller names one (`cpp=`), so that a template gives the text Zephyr would link with.

Both backends return a `PreprocessedText`: the text without any line markers, and for
every output line the file and line it came from. Errors found later in that text (by
the parser) are moved back to the original file, line and column with `remap_error`.

Blank lines are dropped from the output: the line map keeps every kept line exact, and a
template's kilobytes of guarded-out text do not turn into kilobytes of empty lines.
"""

from __future__ import annotations

import contextlib
import functools
import re
import types
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from placer import records
from placer.errors import InputError, ScriptError, SourceSpan
from placer.inputs import is_regular_file, read_input_text
from placer.script.diagnostics import file_source_line, source_lines
from placer.script.kconfig_macros import Macro, merge_macros, read_kconfig

if TYPE_CHECKING:
    import subprocess

#: Directives that make a file a template; ``# text`` alone is an ld comment, not one.
_DIRECTIVE = re.compile(
    r"^[ \t]*#[ \t]*(include|if|ifdef|ifndef|elif|else|endif|define|undef|error|warning|"
    r"pragma|line)\b",
    re.MULTILINE,
)
#: GCC's limit on nested ``#include`` (``-fmax-include-depth``, 200 by default): a file
#: that includes itself without a guard stops there, with the loop named.
MAX_INCLUDE_DEPTH = 200
#: Seconds a toolchain's cpp may run: a Zephyr linker template preprocesses in well under
#: a second; GNU cpp blocks forever on an ``#include`` of a FIFO and reads a device to the
#: end, so it is stopped rather than waited for.
CPP_TIMEOUT = 60.0
#: A GNU cpp line marker: ``# 12 "file" 1 3``. This and the next are pattern source text:
#: only a script with directives needs them, and ``re`` compiles (and caches) them then.
_MARKER = r'^# (\d+) "((?:[^"\\]|\\.)*)"((?: \d)*)$'
#: First diagnostic of GNU cpp: ``file:line:col: (fatal )?error: message``.
_CPP_ERROR = r"(?m)^(.*?):(\d+):(\d+): (?:fatal )?error: (.*)$"


@records.frozen
class LineOrigin:
    """Where one output line came from: a file and its 1-based line."""

    file: str
    line: int


@records.frozen
class PreprocessedText:
    """Preprocessor output with the origin of each of its lines.

    `line_map[i]` is the origin of output line ``i + 1``. `sources` holds the text of every
    file read (by the path the line map names), so errors can quote the original line.
    `warnings` collects ``#warning`` messages as ``file:line: warning: text``.
    """

    text: str
    line_map: tuple[LineOrigin, ...]
    sources: Mapping[str, str] = records.field(factory=lambda: types.MappingProxyType({}))
    warnings: tuple[str, ...] = ()
    _output_lines: tuple[str, ...] = records.field(init=False, repr=False, eq=False)
    _source_lines: dict[str, list[str]] = records.field(init=False, repr=False, eq=False)

    def __post_init__(self) -> None:
        # Spans are remapped one by one: split the texts once, not once per span.
        object.__setattr__(self, "_output_lines", tuple(self.text.split("\n")))
        object.__setattr__(self, "_source_lines", {})

    def origin(self, line: int, column: int) -> SourceSpan:
        """The original file, line and column of output position (`line`, `column`)."""
        if not 1 <= line <= len(self.line_map):
            last = self.line_map[-1] if self.line_map else LineOrigin("<empty>", 1)
            return SourceSpan(last.file, last.line, 1)
        where = self.line_map[line - 1]
        output_lines = self._output_lines
        output_line = output_lines[line - 1] if line - 1 < len(output_lines) else ""
        original = self.source_line(where)
        mapped = column if original is None else _map_column(output_line, original, column)
        return SourceSpan(where.file, where.line, mapped)

    def source_line(self, where: LineOrigin) -> str | None:
        """The text of the original line `where`, if the file was read."""
        lines = self._source_lines.get(where.file)
        if lines is None:
            text = self.sources.get(where.file)
            if text is None:
                return None
            lines = self._source_lines[where.file] = source_lines(text)
        return lines[where.line - 1] if 0 < where.line <= len(lines) else None


def needs_preprocessing(text: str) -> bool:
    """Whether `text` has C preprocessor directives (a ``# comment`` alone does not count)."""
    return _DIRECTIVE.search(text) is not None


def preprocess_file(
    path: str | Path,
    *,
    include_dirs: Sequence[str | Path] = (),
    defines: Iterable[Macro] = (),
    config_files: Sequence[str | Path] = (),
    cpp: str | None = None,
    cpp_timeout: float = CPP_TIMEOUT,
) -> PreprocessedText:
    """Preprocess the template at `path` as Zephyr's build does.

    `include_dirs` are ``-I`` folders; `defines` are ``-D`` macros; each Kconfig file in
    `config_files` adds its values as macros (``CONFIG_X=y`` → ``CONFIG_X`` = 1) before
    `defines`, which win. `cpp` names a compiler driver (``arm-none-eabi-gcc``) to run
    instead of the embedded pcpp, stopped after `cpp_timeout` seconds (GNU cpp waits
    forever on an ``#include`` of a FIFO). Raises `ScriptError` at the original file, line
    and column for ``#error``, a missing ``#include`` or a malformed directive.
    """
    path = Path(path)
    text = read_input_text(path, what="linker script", errors="surrogateescape")
    return preprocess_text(
        text, str(path), include_dirs=include_dirs, defines=defines,
        config_files=config_files, cpp=cpp, cpp_timeout=cpp_timeout,
    )


def preprocess_text(
    text: str,
    file: str,
    *,
    include_dirs: Sequence[str | Path] = (),
    defines: Iterable[Macro] = (),
    config_files: Sequence[str | Path] = (),
    cpp: str | None = None,
    cpp_timeout: float = CPP_TIMEOUT,
) -> PreprocessedText:
    """`preprocess_file` for text already read; `file` names it in the line map."""
    macros = merge_macros(*(read_kconfig(c) for c in config_files), defines)
    dirs = tuple(str(d) for d in include_dirs)
    if cpp is not None:
        return _run_cpp(cpp, text, file, dirs, macros, cpp_timeout)
    # pcpp (and its lexer tables) only when a template is really preprocessed.
    from placer.script._pcpp import run_pcpp

    return run_pcpp(text, file, dirs, macros)


def remap_error(error: ScriptError, preprocessed: PreprocessedText) -> ScriptError:
    """`error`, found at a line of `preprocessed.text`, moved to the original source.

    The note keeps the preprocessed position, because after macro expansion the text the
    parser saw can differ from the original line.
    """
    span = preprocessed.origin(error.line, error.column)
    original = preprocessed.source_line(LineOrigin(span.file, span.line))
    note = f"at line {error.line}, column {error.column} of the preprocessed text"
    return ScriptError(
        error.message, span.file, span.line, span.column,
        source_line=original, notes=(*error.notes, note),
    )


def _map_column(output_line: str, original: str, column: int) -> int:
    """Column in `original` of `column` in `output_line`, through their common text."""
    index = column - 1
    best = 1
    for out_start, in_start, size in _matching_blocks(output_line, original):
        if size == 0:
            continue
        if out_start <= index < out_start + size:
            return in_start + (index - out_start) + 1
        if out_start <= index:
            # Inside a macro expansion: point at the start of the text it replaced.
            best = in_start + size + 1
    return min(best, len(original) + 1)


#: Longest pair of lines (output + original, in characters) aligned with difflib, whose
#: time grows with the product of the lengths: a real script's lines are far shorter, and a
#: longer pair is aligned by its common prefix and suffix alone, in linear time.
_ALIGN_LIMIT = 2048


@functools.lru_cache(maxsize=4096)
def _matching_blocks(output_line: str, original: str) -> tuple[tuple[int, int, int], ...]:
    """Runs of text common to an output line and its original line (cached: every span
    of a line asks for the same pair)."""
    if len(output_line) + len(original) > _ALIGN_LIMIT:
        return _prefix_suffix_blocks(output_line, original)
    import difflib  # only to map a template's error back to its line

    matcher = difflib.SequenceMatcher(None, output_line, original, autojunk=False)
    return tuple((a, b, size) for a, b, size in matcher.get_matching_blocks())


def _prefix_suffix_blocks(output_line: str, original: str) -> tuple[tuple[int, int, int], ...]:
    """The common prefix and suffix of two lines as matching blocks (difflib's shape): a
    position between them maps to the start of the text the macros replaced."""
    limit = min(len(output_line), len(original))
    prefix = 0
    while prefix < limit and output_line[prefix] == original[prefix]:
        prefix += 1
    suffix = 0
    while (suffix < limit - prefix
           and output_line[-1 - suffix] == original[-1 - suffix]):
        suffix += 1
    blocks = [(0, 0, prefix)] if prefix else []
    if suffix:
        blocks.append((len(output_line) - suffix, len(original) - suffix, suffix))
    blocks.append((len(output_line), len(original), 0))
    return tuple(blocks)


# --- toolchain cpp -----------------------------------------------------------------------


def _run_cpp(
    cpp: str, text: str, file: str, include_dirs: tuple[str, ...], macros: tuple[Macro, ...],
    timeout: float,
) -> PreprocessedText:
    """Zephyr's command (``-x assembler-with-cpp -undef -nostdinc -E``), without ``-P``.

    Zephyr passes ``-P``; placer keeps the line markers to map lines back and strips them
    itself, which yields the same text.
    """
    # Imported here: reading a plain script (most calls) runs no compiler.
    import subprocess
    import tempfile

    with tempfile.TemporaryDirectory(prefix="placer-cpp-") as folder:
        # The template is passed by its own path when it exists, so `#include "x"` resolves
        # next to it; text without a file goes through a temporary file named like it.
        source = Path(file)
        # Bytes that are not UTF-8 (a Latin-1 comment) pass through unchanged, as
        # load_script reads them.
        if not (is_regular_file(source)
                and read_input_text(source, what="linker script",
                                    errors="surrogateescape") == text):
            source = Path(folder) / Path(file).name
            source.write_text(text, encoding="utf-8", errors="surrogateescape")
        command = [cpp, "-E", "-x", "assembler-with-cpp", "-undef", "-nostdinc"]
        command += [f"-I{d}" for d in include_dirs]
        command += [f"-D{m.name}={m.value}" for m in macros]
        command.append(str(source))
        try:
            # A session of its own: the driver (gcc) runs cc1 as a child, and on a timeout
            # the whole group must go, or a cc1 blocked on a FIFO outlives placer.
            process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                       stdin=subprocess.DEVNULL, encoding="utf-8",
                                       errors="surrogateescape", start_new_session=True)
        except OSError as exc:
            raise ScriptError(f"cannot run preprocessor {cpp}: {exc.strerror}", file, 1, 1) \
                from exc
        try:
            stdout, stderr = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            _kill_group(process)
            raise ScriptError(f"{cpp} did not finish within {timeout:g} s (does an #include "
                              "name a FIFO or a device?)", file, 1, 1) from None
        except BaseException:
            _kill_group(process)
            raise
        rename = {str(source): file}
    if process.returncode != 0:
        raise _cpp_error(stderr, rename, cpp)
    return _parse_markers(stdout, rename, text, file, stderr)


def _kill_group(process: subprocess.Popen[str]) -> None:
    """Kill `process` and every process it started (its session), then reap it."""
    import os
    import signal

    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.communicate()


def _cpp_error(stderr: str, rename: Mapping[str, str], cpp: str) -> ScriptError:
    match = re.search(_CPP_ERROR, stderr)
    if match is None:
        return ScriptError(f"{cpp} failed: {stderr.strip()}", "<preprocessor>", 1, 1)
    file = rename.get(match.group(1), match.group(1))
    line, column = int(match.group(2)), int(match.group(3))
    return ScriptError(match.group(4), file, line, column,
                       source_line=file_source_line(match.group(1), line))


def _parse_markers(
    output: str, rename: Mapping[str, str], text: str, file: str, stderr: str
) -> PreprocessedText:
    lines: list[str] = []
    origins: list[LineOrigin] = []
    sources: dict[str, str] = {file: text}
    current = file
    number = 1
    marker_at = re.compile(_MARKER).match
    for raw in output.split("\n"):
        marker = marker_at(raw)
        if marker:
            number = int(marker.group(1))
            name = marker.group(2).encode().decode("unicode_escape")
            current = rename.get(name, name)
            if current not in sources and not current.startswith("<"):
                with contextlib.suppress(InputError):
                    sources[current] = read_input_text(current, what="#include file",
                                                       errors="surrogateescape")
            continue
        if raw.strip():
            lines.append(raw.rstrip())
            origins.append(LineOrigin(current, number))
        number += 1
    warnings = tuple(
        line for line in stderr.splitlines() if ": warning: " in line and "#warning" in line
    )
    return PreprocessedText(
        text="\n".join(lines) + ("\n" if lines else ""),
        line_map=tuple(origins),
        sources=types.MappingProxyType(sources),
        warnings=warnings,
    )
