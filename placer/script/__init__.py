"""The GNU linker-script language: parse, AST, print, evaluate, preprocess, includes.

This package knows the ld language and nothing of LLEXT. The parsing surface::

    from placer.script import parse, parse_file, print_script, FragmentKind, ast

    script = parse(text, file="board.ld")             # a whole script, or a fragment
    noinit = parse("*(.llext_heap)", kind=FragmentKind.OUTPUT_SECTION_BODY)
    text = print_script(script)                      # canonical; parse(text) == script
"""

from placer.script import ast
from placer.script.ast import FragmentKind, Script
from placer.script.parser import parse, parse_file
from placer.script.printer import print_script

__all__ = ["FragmentKind", "Script", "ast", "parse", "parse_file", "print_script"]
