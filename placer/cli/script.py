"""``placer check`` and ``placer format``: the linker-script language on the command line.

``check`` reads each script as ld would (C preprocessing when the file has directives or
preprocessor options are given, INCLUDE resolution on ``-L`` folders) and reports every
problem as ``file:line:col: error: ...``. ``format`` prints a script in placer's
canonical layout, to stdout or in place (atomically).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from placer._files import replace_atomically
from placer.cli import printable
from placer.cli.memory import (
    add_preprocessor_options,
    register_memory,
    report_script_warnings,
    wants_preprocessor,
)
from placer.errors import PlacerError, ScriptError
from placer.script import parse, print_script
from placer.script.includes import load_script
from placer.script.kconfig_macros import Macro, parse_define
from placer.script.preprocess import needs_preprocessing, preprocess_text, remap_error


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``check`` and ``format`` subcommands."""
    check = subparsers.add_parser(
        "check",
        help="check linker scripts for errors",
        description="Parse each linker script (preprocessed, INCLUDEs resolved) and report "
        "every problem. Exit 0 when all are clean, 1 when any has a problem, 2 on a usage "
        "error such as a missing file.",
    )
    check.add_argument("files", metavar="FILE", nargs="+", type=Path)
    add_preprocessor_options(check)
    check.set_defaults(handler=run_check)

    fmt = subparsers.add_parser(
        "format",
        help="print a linker script in canonical layout",
        description="Print FILE in placer's canonical layout (INCLUDEs are kept as "
        "statements). With -i, rewrite FILE in place atomically.",
    )
    fmt.add_argument("file", metavar="FILE", type=Path)
    fmt.add_argument("-i", "--in-place", action="store_true", help="rewrite FILE in place")
    add_preprocessor_options(fmt)
    fmt.set_defaults(handler=run_format)

    # ``placer memory`` (evaluated MEMORY regions) is registered here by the evaluator
    # stage: add its parser below this line.
    register_memory(subparsers)


def _missing(paths: list[Path]) -> list[Path]:
    # os.path.isfile is False for a name the OS refuses (ENAMETOOLONG); Path.is_file raises.
    return [p for p in paths if not os.path.isfile(p)]


def run_check(args: argparse.Namespace) -> int:
    """``placer check``: 0 clean, 1 problems, 2 usage error."""
    missing = _missing(list(args.files) + [Path(c) for c in args.config_files])
    if missing:
        for path in missing:
            print(f"placer check: error: no such file: {path}", file=sys.stderr)
        return 2
    defines = _macros(args)
    problems = 0
    for path in args.files:
        try:
            with report_script_warnings():
                load_script(
                    path,
                    include_dirs=args.include_dirs,
                    library_dirs=args.library_dirs,
                    defines=defines,
                    config_files=args.config_files,
                    preprocess=True if wants_preprocessor(args) else None,
                )
        except PlacerError as error:
            print(printable(str(error)), file=sys.stderr)
            problems += 1
    return 1 if problems else 0


def _formatted(args: argparse.Namespace, text: str, preprocess: bool) -> str:
    path: Path = args.file
    if not preprocess:
        return print_script(parse(text, file=str(path)))
    preprocessed = preprocess_text(
        text,
        str(path),
        include_dirs=args.include_dirs,
        defines=_macros(args),
        config_files=args.config_files,
    )
    try:
        return print_script(parse(preprocessed.text, file=str(path)))
    except ScriptError as error:
        raise remap_error(error, preprocessed) from None


def _macros(args: argparse.Namespace) -> tuple[Macro, ...]:
    # Validated once, before any file is read: a bad -D is the command line's fault.
    return tuple(parse_define(option) for option in args.defines)


def run_format(args: argparse.Namespace) -> int:
    """``placer format``: canonical text to stdout, or in place with ``-i``."""
    missing = _missing([args.file] + [Path(c) for c in args.config_files])
    if missing:
        for absent in missing:
            print(f"placer format: error: no such file: {absent}", file=sys.stderr)
        return 2
    path: Path = args.file
    try:
        source = path.read_text(encoding="utf-8", errors="surrogateescape")
    except OSError as exc:
        raise ScriptError(f"cannot read linker script: {exc.strerror}", str(path), 1, 1) \
            from None
    preprocess = wants_preprocessor(args) or needs_preprocessing(source)
    if args.in_place and preprocess:
        # The canonical text is of the expansion: writing it back would drop every
        # #include, #define and #if branch of the template.
        print(f"placer format: error: {path} is a C preprocessor template; -i would replace "
              "it with its expansion (print to stdout instead)", file=sys.stderr)
        return 2
    text = _formatted(args, source, preprocess)
    if not args.in_place:
        # As bytes: a non-UTF-8 byte read from the script (surrogateescape) goes back out
        # unchanged, whatever the locale's encoding and error handler for stdout.
        sys.stdout.flush()
        sys.stdout.buffer.write(text.encode("utf-8", errors="surrogateescape"))
        sys.stdout.buffer.flush()
        return 0
    try:
        replace_atomically(path, text.encode("utf-8", errors="surrogateescape"),
                           keep_mode=True)
    except OSError as exc:
        print(f"placer format: error: cannot write {path}: {exc.strerror}", file=sys.stderr)
        return 1
    return 0
