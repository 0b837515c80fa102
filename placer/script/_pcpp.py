"""The embedded C preprocessor: pcpp, with placer's error handling and line map.

Its own module so that reading a script without directives never imports pcpp (and
ply's lexer tables): `placer.script.preprocess` imports it only to run it.
"""

from __future__ import annotations

import copy
import errno
import io
import os
import types
from collections.abc import Iterator, Sequence
from typing import Any

import pcpp

from placer.errors import InputError, ScriptError
from placer.inputs import (
    LIMIT_VARIABLE,
    TEXT_LIMIT,
    effective_limit,
    is_regular_file,
    read_input_text,
)
from placer.script.diagnostics import source_line
from placer.script.kconfig_macros import Macro
from placer.script.preprocess import MAX_INCLUDE_DEPTH, LineOrigin, PreprocessedText


class _Included:
    """The tokens of an included file, passed up to `_Pcpp.token` to run."""

    __slots__ = ("tokens",)

    def __init__(self, tokens: Iterator[Any]) -> None:
        self.tokens = tokens


class _Pcpp(pcpp.Preprocessor):  # type: ignore[misc]
    """pcpp with placer's error handling: every problem is a `ScriptError`."""

    parser: Iterator[Any] | None  # pcpp's token stream of the script, set by `parse`

    def __init__(self, sources: dict[str, str], top: str) -> None:
        super().__init__()
        self.sources = sources
        self.warnings: list[str] = []
        self.directive: Any = None
        self.directive_args: list[Any] = []
        self._including: list[str] = [top]
        # A small file included many times is as large as one huge file.
        self._included = 0
        self._include_limit = effective_limit(TEXT_LIMIT)
        # The token streams `token` runs: the script's, then one per open #include.
        self._streams: list[Iterator[Any]] = []
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
            raise self.at_directive(f"cannot #include {includepath}: {exc.reason}") from None
        self._included += len(content)
        if self._included > self._include_limit:
            raise self.at_directive(
                f"the #include files add up to more than {self._include_limit} bytes "
                f"(set {LIMIT_VARIABLE} to raise the limit)")
        self._including.append(_relative(includepath))
        if len(self._including) - 1 >= MAX_INCLUDE_DEPTH:
            raise self.at_directive(_include_loop(self._including))
        self.sources[_relative(includepath)] = content
        return io.StringIO(content)

    def include(self, tokens: Any, original_line: Any) -> Any:
        # pcpp nests one generator per #include level and passes every token up through
        # all of them: a file that includes itself until the depth limit cost time in the
        # square of the depth (1.5 s for 2 KB). The included file's tokens go to `token`
        # as one generator instead, which runs it on a stack of its own.
        yield _Included(self._included_tokens(tokens, original_line))

    def _included_tokens(self, tokens: Any, original_line: Any) -> Iterator[Any]:
        # The stack of files being included names a loop.
        depth = len(self._including)
        try:
            yield from super().include(tokens, original_line)
        finally:
            del self._including[depth:]

    def token(self) -> Any:
        """The next token, running each included file's tokens where its #include was."""
        if self.parser is None:
            return None
        if not self._streams:
            self._streams.append(self.parser)
        streams = self._streams
        ignore = self.ignore
        while streams:
            try:
                tok = next(streams[-1])
            except StopIteration:
                streams.pop()
                continue
            if type(tok) is _Included:
                streams.append(tok.tokens)
            elif tok.type not in ignore:
                return tok
        self.parser = None
        return None

    def at_directive(self, message: str) -> ScriptError:
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
        words = [tok for tok in toks if tok.type not in self.t_WS]
        if directive.value in ("ifdef", "ifndef", "undef", "define") and not words:
            # pcpp indexes the missing name (IndexError); GCC's words.
            raise self.at_directive(f"no macro name given in #{directive.value} directive")
        if directive.value in ("if", "elif") and not words:
            raise self.at_directive(f"#{directive.value} with no expression")
        if directive.value == "pragma" and not words:
            raise pcpp.OutputDirective(pcpp.Action.IgnoreAndRemove)  # GCC ignores it too
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


def run_pcpp(
    text: str, file: str, include_dirs: tuple[str, ...], macros: tuple[Macro, ...]
) -> PreprocessedText:
    """`text` preprocessed by pcpp with `include_dirs` and `macros`, with its line map."""
    sources: dict[str, str] = {file: text}
    processor = _Pcpp(sources, file)
    for folder in include_dirs:
        processor.add_path(folder)
    for macro in macros:
        processor.define(f"{macro.name} {macro.value}")
    processor.parse(text, file)
    lines: list[str] = []
    origins: list[LineOrigin] = []
    try:
        for origin, line in _group_lines(processor):
            lines.append(line)
            origins.append(origin)
    except IndexError:
        # pcpp indexes a directive's words without checking there are enough (`#if !defined`
        # at the top of a file); the cases GCC words are refused above, the rest here.
        name = processor.directive.value if processor.directive is not None else "directive"
        raise processor.at_directive(f"malformed #{name} directive") from None
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
