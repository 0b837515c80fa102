"""``placer memory FILE``: the evaluated MEMORY regions of a linker script.

Prints the table GNU ld writes under "Memory Configuration" in its map file (same columns,
same attribute spelling), or JSON with the values as integers. Registered by
`placer.cli.script`.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import warnings
from collections.abc import Iterator
from typing import Any

from placer.cli import printable
from placer.errors import ScriptError, ScriptWarning
from placer.script.evaluate import (
    LINKER_TARGETS,
    EvaluatedRegion,
    LinkerTarget,
    Unknown,
    Value,
    evaluate_memory,
    target_for_script,
)
from placer.script.includes import load_script
from placer.script.kconfig_macros import parse_define

#: Version of the JSON document; bump on incompatible changes.
JSON_FORMAT = "placer-memory/1"


def add_preprocessor_options(parser: argparse.ArgumentParser) -> None:
    """Add -I, -D, -L and --config, shared by check, format and memory."""
    parser.add_argument(
        "-I",
        dest="include_dirs",
        metavar="DIR",
        action="append",
        default=[],
        help="#include search folder (repeatable)",
    )
    parser.add_argument(
        "-D",
        dest="defines",
        metavar="NAME[=VALUE]",
        action="append",
        default=[],
        help="define a preprocessor macro (repeatable)",
    )
    parser.add_argument(
        "-L",
        dest="library_dirs",
        metavar="DIR",
        action="append",
        default=[],
        help="INCLUDE search folder, as ld's -L (repeatable)",
    )
    parser.add_argument(
        "--config",
        dest="config_files",
        metavar="FILE",
        action="append",
        default=[],
        help="Kconfig .config whose values become macros",
    )


def wants_preprocessor(args: argparse.Namespace) -> bool:
    """Whether preprocessor options were given: then the caller wants cpp, directives or not."""
    return bool(args.defines or args.config_files or args.include_dirs)


def register_memory(subparsers: Any) -> None:
    """Add the ``memory`` subcommand."""
    parser = subparsers.add_parser(
        "memory",
        help="print the evaluated MEMORY regions of a linker script",
        description="Evaluate a linker script's MEMORY regions as GNU ld does and print "
                    "them like ld's map file (\"Memory Configuration\") or as JSON.",
    )
    parser.add_argument("file", metavar="FILE", help="linker script or template")
    parser.add_argument("--json", action="store_true", help="print JSON with integer values")
    add_preprocessor_options(parser)
    parser.add_argument("--cpp", metavar="CC",
                        help="preprocess with this compiler driver (as Zephyr does) "
                             "instead of the embedded preprocessor")
    parser.add_argument("--defsym", action="append", default=[], metavar="SYMBOL=VALUE",
                        help="define a symbol, as ld's --defsym")
    parser.add_argument("--arch", choices=sorted(LINKER_TARGETS),
                        help="target whose ld decides address width and CONSTANT() "
                             "(default: from OUTPUT_FORMAT/OUTPUT_ARCH)")
    parser.set_defaults(handler=memory_command)


@contextlib.contextmanager
def report_script_warnings() -> Iterator[None]:
    """Print every `ScriptWarning` issued inside the block to stderr, even if it raises."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ScriptWarning)
        try:
            yield
        finally:
            for warning in caught:
                if isinstance(warning.message, ScriptWarning):
                    print(printable(str(warning.message)), file=sys.stderr)


def memory_command(args: argparse.Namespace) -> int:
    """Run ``placer memory``: 0 printed, 1 a problem in the script, 2 a missing file."""
    missing = [f for f in (args.file, *args.config_files) if not os.path.isfile(f)]
    if missing:
        for absent in missing:
            print(f"placer memory: error: no such file: {absent}", file=sys.stderr)
        return 2
    with report_script_warnings():
        script = load_script(
            args.file,
            include_dirs=args.include_dirs,
            library_dirs=args.library_dirs,
            defines=[parse_define(d) for d in args.defines],
            config_files=args.config_files,
            preprocess=args.cpp if args.cpp else (True if wants_preprocessor(args) else None),
        )
    target = LINKER_TARGETS[args.arch] if args.arch else target_for_script(script)
    regions = evaluate_memory(script, target=target, defsyms=_defsyms(args.defsym))
    bits = target.address_bits if target is not None else 64
    if args.json:
        sys.stdout.write(_json(args.file, target, regions))
    else:
        sys.stdout.write(_table(regions, bits))
    return 0


def _defsyms(options: list[str]) -> dict[str, int]:
    symbols: dict[str, int] = {}
    for option in options:
        name, eq, value = option.partition("=")
        if not eq or not name:
            raise ScriptError(f"--defsym {option}: expected SYMBOL=VALUE", "<command line>", 1, 1)
        try:
            symbols[name] = int(value, 0)
        except ValueError:
            raise ScriptError(f"--defsym {option}: value must be an integer",
                              "<command line>", 1, 1) from None
    return symbols


def _cell(value: Value, bits: int) -> str:
    # ld's lang_map: "0x%s " with the address, then spaces up to 16 digits' width.
    if isinstance(value, Unknown):
        return f"{'unknown':<19}"
    digits = f"{value:0{bits // 4}x}"
    return f"0x{digits} " + " " * max(16 - len(digits), 0)


def _table(regions: tuple[EvaluatedRegion, ...], bits: int) -> str:
    """The layout of ld's map: ``%-16s `` for the name, then origin, length, attributes."""
    lines = [f"{'Name':<17}{'Origin':<19}{'Length':<19}Attributes"]
    notes: list[str] = []
    for region in regions:
        row = f"{region.name:<16} {_cell(region.origin, bits)}{_cell(region.length, bits)}"
        lines.append((row + region.attributes).rstrip())
        for what, value in (("origin", region.origin), ("length", region.length)):
            if isinstance(value, Unknown):
                notes.append(f"{region.name} {what}: {value.reason}")
        if region.aliases:
            notes.append(f"{region.name} is also called {', '.join(region.aliases)}")
    return "\n".join(lines + (["", *notes] if notes else [])) + "\n"


def _json(file: str, target: LinkerTarget | None,
          regions: tuple[EvaluatedRegion, ...]) -> str:
    def number(value: Value) -> int | None:
        return None if isinstance(value, Unknown) else value

    def unknown(region: EvaluatedRegion) -> dict[str, str]:
        return {what: value.reason for what, value in (("origin", region.origin),
                                                        ("length", region.length))
                if isinstance(value, Unknown)}

    document = {
        "format": JSON_FORMAT,
        "file": file,
        "address_bits": target.address_bits if target is not None else 64,
        "regions": [
            {
                "name": r.name,
                "origin": number(r.origin),
                "length": number(r.length),
                "attributes": r.attributes,
                "allowed": sorted(r.allowed),
                "denied": sorted(r.denied),
                "aliases": list(r.aliases),
                "unknown": unknown(r),
            }
            for r in regions
        ],
    }
    return json.dumps(document, indent=2) + "\n"
