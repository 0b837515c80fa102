"""``placer check`` and ``placer format``: the linker-script language on the command line.

``check`` reads each script as ld would (C preprocessing when the file has directives or
preprocessor options are given, INCLUDE resolution on ``-L`` folders) and reports every
problem as ``file:line:col: error: ...``. ``format`` prints a script in placer's
canonical layout, to stdout or in place (atomically).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from placer.cli.options import (
    INPUT_PROBLEM,
    USAGE_ERROR,
    add_preprocessor_options,
    defines,
    report_missing,
    wants_preprocessor,
)
from placer.cli.output import printable, render, report_script_warnings

if TYPE_CHECKING:
    from placer.script.ast import FragmentKind


def _check_arguments(check: argparse.ArgumentParser) -> None:
    """Declare ``placer check``: its description and options."""
    check.description = (
        "Parse each linker script (preprocessed, INCLUDEs resolved) and report "
        "every problem. Exit 0 when all are clean, 1 when any has a problem or is missing, "
        "2 on a usage error."
    )
    check.add_argument("files", metavar="FILE", nargs="+", type=Path)
    add_fragment_option(check)
    add_preprocessor_options(check)
    check.set_defaults(handler=run_check)


def _format_arguments(fmt: argparse.ArgumentParser) -> None:
    """Declare ``placer format``: its description and options."""
    fmt.description = (
        "Print FILE in placer's canonical layout (INCLUDEs are kept as "
        "statements). With -i, rewrite FILE in place atomically."
    )
    fmt.add_argument("file", metavar="FILE", type=Path)
    fmt.add_argument("-i", "--in-place", action="store_true", help="rewrite FILE in place")
    add_fragment_option(fmt)
    add_preprocessor_options(fmt)
    fmt.set_defaults(handler=run_format)


#: The subcommands this module declares (`placer.cli._COMMANDS` lists them).
ARGUMENTS = {"check": _check_arguments, "format": _format_arguments}


#: ``--fragment`` values: what a file is when it is not a whole script.
_FRAGMENTS = {"sections-body": "SECTIONS_BODY", "output-section-body": "OUTPUT_SECTION_BODY",
              "auto": None}


def add_fragment_option(parser: argparse.ArgumentParser) -> None:
    """``--fragment``: read FILE as a snippet rather than a whole ``-T`` script."""
    parser.add_argument(
        "--fragment", choices=sorted(_FRAGMENTS), metavar="KIND",
        help="read FILE as a snippet: sections-body (statements of a SECTIONS block), "
        "output-section-body (what goes between an output section's braces, like "
        "Zephyr's noinit.ld) or auto (detected); without it FILE is a whole script, as "
        "ld -T reads it")


def fragment_kind(args: argparse.Namespace) -> FragmentKind | None:
    """The `FragmentKind` ``--fragment`` asks for; SCRIPT without it, None for auto."""
    from placer.script.ast import FragmentKind

    if args.fragment is None:
        return FragmentKind.SCRIPT
    member = _FRAGMENTS[args.fragment]
    return None if member is None else FragmentKind[member]


def run_check(args: argparse.Namespace) -> int:
    """``placer check``: 0 clean, 1 problems (a missing file included), 2 usage error."""
    from placer.errors import PlacerError
    from placer.script.includes import load_script

    macros = defines("check", args)
    if report_missing("check", (*args.files, *args.config_files)):
        return INPUT_PROBLEM
    problems = 0
    for path in args.files:
        try:
            with report_script_warnings():
                load_script(
                    path,
                    include_dirs=args.include_dirs,
                    library_dirs=args.library_dirs,
                    defines=macros,
                    config_files=args.config_files,
                    preprocess=True if wants_preprocessor(args) else None,
                    kind=fragment_kind(args),
                )
        except PlacerError as error:
            print(printable(render(error)), file=sys.stderr)
            problems += 1
    return INPUT_PROBLEM if problems else 0


def _formatted(args: argparse.Namespace, text: str, preprocess: bool) -> str:
    from placer.errors import ScriptError
    from placer.script import parse, print_script
    from placer.script.preprocess import preprocess_text, remap_error

    path: Path = args.file
    if not preprocess:
        return print_script(parse(text, file=str(path), kind=fragment_kind(args)))
    preprocessed = preprocess_text(
        text,
        str(path),
        include_dirs=args.include_dirs,
        defines=defines("format", args),
        config_files=args.config_files,
    )
    try:
        return print_script(parse(preprocessed.text, file=str(path), kind=fragment_kind(args)))
    except ScriptError as error:
        raise remap_error(error, preprocessed) from None


def run_format(args: argparse.Namespace) -> int:
    """``placer format``: canonical text to stdout, or in place with ``-i``."""
    from placer._files import replace_atomically
    from placer.inputs import read_input_text
    from placer.script.preprocess import needs_preprocessing

    defines("format", args)
    if report_missing("format", (args.file, *args.config_files)):
        return INPUT_PROBLEM
    path: Path = args.file
    source = read_input_text(path, what="linker script", errors="surrogateescape")
    preprocess = wants_preprocessor(args) or needs_preprocessing(source)
    if args.in_place and preprocess:
        # The canonical text is of the expansion: writing it back would drop every
        # #include, #define and #if branch of the template.
        print(f"placer format: error: {path} is a C preprocessor template; -i would replace "
              "it with its expansion (print to stdout instead)", file=sys.stderr)
        return USAGE_ERROR
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
        return INPUT_PROBLEM
    return 0
