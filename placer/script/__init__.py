"""The GNU linker-script language: parse, AST, print, evaluate, preprocess, includes.

This package knows the ld language and nothing of LLEXT. The parsing surface::

    from placer.script import parse, parse_file, print_script, FragmentKind, ast

    script = parse(text, file="board.ld")             # a whole script, or a fragment
    noinit = parse("*(.llext_heap)", kind=FragmentKind.OUTPUT_SECTION_BODY)
    text = print_script(script)                      # canonical; parse(text) == script
"""

from typing import TYPE_CHECKING

from placer._lazy import lazy_exports

if TYPE_CHECKING:
    from placer.script import ast
    from placer.script.ast import FragmentKind, Script
    from placer.script.parser import parse, parse_file
    from placer.script.printer import print_script

#: Where each exported name lives, imported on first use: the AST module alone (to build
#: nodes) loads no parser, and the parser no printer.
_EXPORTS = {
    "FragmentKind": "placer.script.ast",
    "Script": "placer.script.ast",
    "parse": "placer.script.parser",
    "parse_file": "placer.script.parser",
    "print_script": "placer.script.printer",
}


__getattr__ = lazy_exports(__name__, _EXPORTS, submodules=("ast",))


__all__ = ["FragmentKind", "Script", "ast", "parse", "parse_file", "print_script"]
