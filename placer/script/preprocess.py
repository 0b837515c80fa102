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
import copy
import difflib
import errno
import functools
import io
import os
import re
import subprocess
import tempfile
import types
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs
import pcpp

from placer.errors import InputError, ScriptError, SourceSpan
from placer.inputs import is_regular_file, read_input_text
from placer.script.diagnostics import file_source_line, source_line, source_lines
from placer.script.kconfig_macros import Macro, merge_macros, read_kconfig

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
#: A GNU cpp line marker: ``# 12 "file" 1 3``.
_MARKER = re.compile(r'^# (\d+) "((?:[^"\\]|\\.)*)"((?: \d)*)$')
#: First diagnostic of GNU cpp: ``file:line:col: (fatal )?error: message``.
_CPP_ERROR = re.compile(r"^(.*?):(\d+):(\d+): (?:fatal )?error: (.*)$", re.MULTILINE)


@attrs.frozen(slots=True)
class LineOrigin:
    """Where one output line came from: a file and its 1-based line."""

    file: str
    line: int


@attrs.frozen(slots=True)
class PreprocessedText:
    """Preprocessor output with the origin of each of its lines.

    `line_map[i]` is the origin of output line ``i + 1``. `sources` holds the text of every
    file read (by the path the line map names), so errors can quote the original line.
    `warnings` collects ``#warning`` messages as ``file:line: warning: text``.
    """

    text: str
    line_map: tuple[LineOrigin, ...]
    sources: Mapping[str, str] = attrs.field(factory=lambda: types.MappingProxyType({}))
    warnings: tuple[str, ...] = ()
    _output_lines: tuple[str, ...] = attrs.field(init=False, repr=False, eq=False)
    _source_lines: dict[str, list[str]] = attrs.field(init=False, repr=False, eq=False)

    def __attrs_post_init__(self) -> None:
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
    return _run_pcpp(text, file, dirs, macros)


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


@functools.lru_cache(maxsize=4096)
def _matching_blocks(output_line: str, original: str) -> tuple[tuple[int, int, int], ...]:
    """Runs of text common to an output line and its original line (cached: every span
    of a line asks for the same pair)."""
    matcher = difflib.SequenceMatcher(None, output_line, original, autojunk=False)
    return tuple((a, b, size) for a, b, size in matcher.get_matching_blocks())


# --- pcpp --------------------------------------------------------------------------------


class _Pcpp(pcpp.Preprocessor):  # type: ignore[misc]
    """pcpp with placer's error handling: every problem is a `ScriptError`."""

    def __init__(self, sources: dict[str, str], top: str) -> None:
        super().__init__()
        self.sources = sources
        self.warnings: list[str] = []
        self.directive: Any = None
        self.directive_args: list[Any] = []
        self._including: list[str] = [top]
        # Times and dates would make output differ run to run; GNU cpp's -undef keeps them,
        # but nothing in a linker script should depend on them.
        for name in ("__DATE__", "__TIME__", "__PCPP__"):
            self.macros.pop(name, None)
        self.define("__ASSEMBLER__ 1")  # what -x assembler-with-cpp defines

    def on_file_open(self, is_system_include: bool, includepath: str) -> Any:
        if not is_regular_file(includepath) and not os.path.exists(includepath):
            # pcpp tries the next include folder on OSError.
            raise FileNotFoundError(errno.ENOENT, "No such file or directory", includepath)
        if os.path.isdir(includepath):
            raise IsADirectoryError(errno.EISDIR, "Is a directory", includepath)
        try:
            # Bytes that are not UTF-8 (a Latin-1 comment in a vendor header) pass through
            # as the top-level script's do.
            content = read_input_text(includepath, what="#include file",
                                      errors="surrogateescape")
        except InputError as exc:
            raise self._at_directive(f"cannot #include {includepath}: {exc.reason}") from None
        self._including.append(_relative(includepath))
        if len(self._including) - 1 >= MAX_INCLUDE_DEPTH:
            raise self._at_directive(_include_loop(self._including))
        self.sources[_relative(includepath)] = content
        return io.StringIO(content)

    def include(self, tokens: Any, original_line: Any) -> Any:
        # pcpp includes recursively; the stack of files being included names a loop.
        depth = len(self._including)
        try:
            yield from super().include(tokens, original_line)
        finally:
            del self._including[depth:]

    def _at_directive(self, message: str) -> ScriptError:
        args = self.directive_args
        anchor = args[0] if args else self.directive
        file, line = anchor.source, anchor.lineno
        return ScriptError(message, file, line, self._column(anchor),
                           source_line=self._line(file, line))

    def on_error(self, file: str, line: int, msg: str) -> None:
        raise ScriptError(msg, file, line, 1, source_line=self._line(file, line))

    def on_directive_handle(
        self, directive: Any, toks: list[Any], ifpassthru: bool, precedingtoks: list[Any]
    ) -> Any:
        self.directive = directive
        self.directive_args = toks
        if directive.value in ("ifdef", "ifndef", "undef") and not any(
                tok.type not in self.t_WS for tok in toks):
            # pcpp indexes the missing name (IndexError); GCC's words.
            raise self._at_directive(f"no macro name given in #{directive.value} directive")
        return super().on_directive_handle(directive, toks, ifpassthru, precedingtoks)

    def on_include_not_found(
        self, is_malformed: bool, is_system_include: bool, curdir: str, includepath: str
    ) -> str:
        where = self.directive
        args = self.directive_args
        anchor = args[0] if args else where
        file, line = anchor.source, anchor.lineno
        column = self._column(anchor)
        if is_malformed:
            raise ScriptError(
                "#include expects \"FILE\" or <FILE>", file, line, column,
                source_line=self._line(file, line),
            )
        searched = ", ".join(self.path) if self.path else "none"
        raise ScriptError(
            f"{includepath}: No such file or directory",
            file, line, column, source_line=self._line(file, line),
            notes=(f"include folders searched (-I): {searched}",),
        )

    def on_directive_unknown(
        self, directive: Any, toks: list[Any], ifpassthru: bool, precedingtoks: list[Any]
    ) -> Any:
        text = "".join(tok.value for tok in toks).strip()
        if directive.value == "error":
            raise ScriptError(
                f"#error {text}", directive.source, directive.lineno, self._column(directive),
                source_line=self._line(directive.source, directive.lineno),
            )
        if directive.value == "warning":
            self.warnings.append(f"{directive.source}:{directive.lineno}: warning: {text}")
            return True
        # `# text` is a comment in ld: pass it through, as assembler-with-cpp does.
        return None

    def on_comment(self, tok: Any) -> bool:
        return False  # cpp without -C drops comments

    def evalexpr(self, tokens: list[Any]) -> Any:
        # GCC evaluates a `defined X` that an object-like macro expands to (`#define HAS_X
        # defined(CONFIG_X)`, `#if HAS_X`) with X unexpanded; pcpp would expand X first
        # and stop on "Malformed defined()". Inline such macros before pcpp sees them.
        for _ in range(32):
            tokens, changed = self._inline_defined_macros(tokens)
            if not changed:
                break
        return super().evalexpr(self._has_include(tokens))

    def _has_include(self, tokens: list[Any]) -> list[Any]:
        """``__has_include("file")`` / ``(<file>)`` replaced by 1 or 0, as GCC answers it.

        pcpp reads only the quoted form; `<file>` fails to evaluate. A quoted name is
        looked for next to the file with the directive, then in the -I folders.
        """
        result: list[Any] = []
        index = 0
        names = ("__has_include", "__has_include_next")
        while index < len(tokens):
            token = tokens[index]
            if token.type == self.t_ID and token.value == "defined":
                # `defined(__has_include)`: GCC says 1, as for any built-in.
                words = [(i, t) for i, t in enumerate(tokens[index + 1:], index + 1)
                         if t.type not in self.t_WS]
                operand = words[1] if words and words[0][1].value == "(" else \
                    (words[0] if words else None)
                if operand is not None and operand[1].value in names:
                    last = operand[0]
                    if words[0][1].value == "(" and len(words) > 2:
                        last = words[2][0]
                    number = copy.copy(token)
                    number.type = self.t_INTEGER
                    number.value = self.t_INTEGER_TYPE("1L")
                    result.append(number)
                    index = last + 1
                    continue
            if token.type != self.t_ID or token.value not in names:
                result.append(token)
                index += 1
                continue
            end = index + 1
            while end < len(tokens) and tokens[end].value != ")":
                end += 1
            spelling = "".join(t.value for t in tokens[index + 1:end]).strip()
            name = spelling.strip("()").strip()
            folders = list(self.path)
            if name.startswith('"'):
                folders.insert(0, os.path.dirname(token.source or ""))
            name = name.strip('"<>')
            found = any(os.path.isfile(os.path.join(folder, name)) for folder in folders)
            number = copy.copy(token)
            number.type = self.t_INTEGER
            number.value = self.t_INTEGER_TYPE("1L" if found else "0L")
            result.append(number)
            index = end + 1
        return result

    def _inline_defined_macros(self, tokens: list[Any]) -> tuple[list[Any], bool]:
        result: list[Any] = []
        changed = False
        operand = False  # the next name is the operand of `defined`: never expanded
        for token in tokens:
            if token.type in self.t_WS or token.value == "(":
                result.append(token)
                continue
            macro = self.macros.get(token.value) if token.type == self.t_ID else None
            if (not operand and macro is not None and macro.arglist is None
                    and any(part.value == "defined" for part in macro.value)):
                result.extend(copy.copy(part) for part in macro.value)
                changed = True
            else:
                result.append(token)
            operand = token.value == "defined"
        return result, changed

    def _line(self, file: str, line: int) -> str | None:
        text = self.sources.get(file)
        if text is None:
            return None
        return source_line(text, line)

    def _column(self, tok: Any) -> int:
        text = self.sources.get(tok.source)
        if text is None or not isinstance(getattr(tok, "lexpos", None), int):
            return 1
        start = text.rfind("\n", 0, tok.lexpos) + 1
        return int(tok.lexpos) - start + 1


def _include_loop(including: Sequence[str]) -> str:
    """GCC's message for an ``#include`` nested too deep, naming the loop that did it."""
    message = (f"#include nested depth {len(including) - 1} exceeds maximum of "
               f"{MAX_INCLUDE_DEPTH}")
    # The loop as the user entered it: from the first file opened again.
    seen: dict[str, int] = {}
    for index, name in enumerate(including):
        if name in seen:
            loop = including[seen[name]:index + 1]
            return f"{message}: {name} includes itself ({' -> '.join(loop)})"
        seen[name] = index
    return message


def _relative(path: str) -> str:
    """The path the way pcpp names token sources: relative to the working folder if inside."""
    absolute = os.path.abspath(path)
    cwd = os.path.abspath("") + os.sep
    return absolute[len(cwd):] if absolute.startswith(cwd) else absolute


def _run_pcpp(
    text: str, file: str, include_dirs: tuple[str, ...], macros: tuple[Macro, ...]
) -> PreprocessedText:
    sources: dict[str, str] = {file: text}
    processor = _Pcpp(sources, file)
    for folder in include_dirs:
        processor.add_path(folder)
    for macro in macros:
        processor.define(f"{macro.name} {macro.value}")
    processor.parse(text, file)
    lines: list[str] = []
    origins: list[LineOrigin] = []
    for origin, line in _group_lines(processor):
        lines.append(line)
        origins.append(origin)
    return PreprocessedText(
        text="\n".join(lines) + ("\n" if lines else ""),
        line_map=tuple(origins),
        sources=types.MappingProxyType(dict(sources)),
        warnings=tuple(processor.warnings),
    )


def _group_lines(processor: _Pcpp) -> Iterator[tuple[LineOrigin, str]]:
    """Output lines with their origin: a line starts at each new source line.

    A multi-line comment swallows its newlines, so the text after it would join the line
    before; starting a new output line whenever a token comes from a later source line
    keeps one output line per original line.
    """
    parts: list[str] = []
    origin: LineOrigin | None = None
    continuation = processor.t_LINECONT
    while (tok := processor.token()) is not None:
        value: str = tok.value
        if tok.type in continuation:
            continue
        if "\n" in value and not value.strip():
            if origin is not None:
                yield origin, "".join(parts).rstrip()
            parts, origin = [], None
            continue
        if not value.strip():
            parts.append(value)
            continue
        here = LineOrigin(tok.source, tok.lineno)
        if origin is None:
            origin = here
        elif here != origin and here.file == origin.file and here.line > origin.line:
            yield origin, "".join(parts).rstrip()
            parts, origin = [], here
        parts.append(value)
    if origin is not None:
        yield origin, "".join(parts).rstrip()


# --- toolchain cpp -----------------------------------------------------------------------


def _run_cpp(
    cpp: str, text: str, file: str, include_dirs: tuple[str, ...], macros: tuple[Macro, ...],
    timeout: float,
) -> PreprocessedText:
    """Zephyr's command (``-x assembler-with-cpp -undef -nostdinc -E``), without ``-P``.

    Zephyr passes ``-P``; placer keeps the line markers to map lines back and strips them
    itself, which yields the same text.
    """
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
            result = subprocess.run(command, capture_output=True, encoding="utf-8",
                                    errors="surrogateescape", check=False, timeout=timeout)
        except subprocess.TimeoutExpired:
            raise ScriptError(f"{cpp} did not finish within {timeout:g} s (does an #include "
                              "name a FIFO or a device?)", file, 1, 1) from None
        except OSError as exc:
            raise ScriptError(f"cannot run preprocessor {cpp}: {exc.strerror}", file, 1, 1) \
                from exc
        rename = {str(source): file}
    if result.returncode != 0:
        raise _cpp_error(result.stderr, rename, cpp)
    return _parse_markers(result.stdout, rename, text, file, result.stderr)


def _cpp_error(stderr: str, rename: Mapping[str, str], cpp: str) -> ScriptError:
    match = _CPP_ERROR.search(stderr)
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
    for raw in output.split("\n"):
        marker = _MARKER.match(raw)
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
