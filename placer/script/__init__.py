"""The GNU linker-script language: parse, AST, print, evaluate, preprocess, includes.

This package knows the ld language and nothing of LLEXT.
"""
