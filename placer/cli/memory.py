"""``placer memory FILE``: the evaluated MEMORY regions of a linker script.

Prints the table GNU ld writes under "Memory Configuration" in its map file (same columns,
same attribute spelling), or JSON with the values as integers. Registered by
`placer.cli.script`.
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from placer.cli.options import (
    INPUT_PROBLEM,
    UsageError,
    add_preprocessor_options,
    defines,
    report_missing,
    wants_preprocessor,
)
from placer.cli.output import report_script_warnings

if TYPE_CHECKING:
    from placer.script.evaluate import EvaluatedRegion, LinkerTarget, Value

#: The names of `placer.script.evaluate.LINKER_TARGETS`, sorted, spelled here so building
#: the parser loads no evaluator (tests/test_imports.py keeps them equal).
LINKER_TARGETS = ("arc", "arm", "arm64", "riscv", "x86", "xtensa")

#: Version of the JSON document; bump on incompatible changes.
JSON_FORMAT = "placer-memory/1"


def _arguments(parser: argparse.ArgumentParser) -> None:
    """Declare ``placer memory``: its description and options."""
    parser.description = (
        "Evaluate a linker script's MEMORY regions as GNU ld does and print "
        "them like ld's map file (\"Memory Configuration\") or as JSON."
    )
    parser.add_argument("file", metavar="FILE", help="linker script or template")
    parser.add_argument("--json", action="store_true", help="print JSON with integer values")
    add_preprocessor_options(parser)
    parser.add_argument("--cpp", metavar="CC",
                        help="preprocess with this compiler driver (as Zephyr does) "
                             "instead of the embedded preprocessor")
    parser.add_argument("--defsym", action="append", default=[], metavar="SYMBOL=VALUE",
                        help="define a symbol, as ld's --defsym")
    parser.add_argument("--arch", choices=LINKER_TARGETS,
                        help="target whose ld decides address width and CONSTANT() "
                             "(default: from OUTPUT_FORMAT/OUTPUT_ARCH)")
    parser.set_defaults(handler=memory_command)


def memory_command(args: argparse.Namespace) -> int:
    """Run ``placer memory``: 0 printed, 1 a problem in the script or a missing file."""
    from placer.script import evaluate
    from placer.script.includes import load_script

    macros = defines("memory", args)
    defsyms = _defsyms(args.defsym)
    if report_missing("memory", (args.file, *args.config_files)):
        return INPUT_PROBLEM
    with report_script_warnings():
        script = load_script(
            args.file,
            include_dirs=args.include_dirs,
            library_dirs=args.library_dirs,
            defines=macros,
            config_files=args.config_files,
            preprocess=args.cpp if args.cpp else (True if wants_preprocessor(args) else None),
        )
    target = evaluate.LINKER_TARGETS[args.arch] if args.arch else evaluate.target_for_script(script)
    with report_script_warnings():
        regions = evaluate.evaluate_memory(script, target=target, defsyms=defsyms)
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
            raise UsageError("memory", f"--defsym {option}: expected SYMBOL=VALUE")
        try:
            symbols[name] = int(value, 0)
        except ValueError:
            raise UsageError("memory", f"--defsym {option}: value must be an integer") \
                from None
    return symbols


def _cell(value: Value, bits: int) -> str:
    # ld's lang_map: "0x%s " with the address, then spaces up to 16 digits' width.
    from placer.script.evaluate import Unknown

    if isinstance(value, Unknown):
        return f"{'unknown':<19}"
    digits = f"{value:0{bits // 4}x}"
    return f"0x{digits} " + " " * max(16 - len(digits), 0)


def _table(regions: tuple[EvaluatedRegion, ...], bits: int) -> str:
    """The layout of ld's map: ``%-16s `` for the name, then origin, length, attributes."""
    from placer.script.evaluate import Unknown

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
        if not region.declared:
            notes.append(f"{region.name} is not declared by MEMORY: GNU ld makes it (origin 0, "
                         "length ~0) for ORIGIN()/LENGTH() and lists it; it is no memory")
    return "\n".join(lines + (["", *notes] if notes else [])) + "\n"


def _json(file: str, target: LinkerTarget | None,
          regions: tuple[EvaluatedRegion, ...]) -> str:
    from placer.script.evaluate import Unknown

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
                "declared": r.declared,
            }
            for r in regions
        ],
    }
    import json  # only for --json: building the parser (``placer --help``) does not need it

    return json.dumps(document, indent=2) + "\n"


#: The subcommands this module declares (`placer.cli._COMMANDS` lists them).
ARGUMENTS = {"memory": _arguments}
