"""Properties of the parser and printer, over generated trees and arbitrary text.

* Any tree the AST can express in ld's syntax prints to text that parses back to the same
  tree, and printing that again gives the same text.
* Any input string, random or a mutation of a real script, either parses to a tree that
  round-trips through the printer like a generated one, or raises a `ScriptError` that
  points inside the text (a line and column the text has); never anything else.
"""

from __future__ import annotations

import string

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from placer.errors import ScriptError
from placer.script import FragmentKind, ast, parse, print_script
from placer.script.numbers import decode_number
from tests.script.corpus import collect, unique

# --- names ------------------------------------------------------------------------------

_odd = st.sampled_from(
    ["my section", "a-b", "MEMORY", "KEEP", "x=1", "add", "0x10", "/DISCARD/", "a,b", "~"]
)
section_names = st.one_of(st.from_regex(r"\.[a-z_][a-z0-9_.]{0,8}", fullmatch=True), _odd)
symbols = st.one_of(
    st.from_regex(r"[_a-zA-Z][_a-zA-Z0-9]{0,6}", fullmatch=True), st.just("."), _odd
)
region_names = st.one_of(st.from_regex(r"[A-Z][A-Z0-9_]{0,6}", fullmatch=True), _odd)
patterns = st.one_of(st.from_regex(r"[.*a-z_?][a-z0-9_.*?]{0,8}", fullmatch=True), _odd)
texts = st.text(alphabet=string.ascii_letters + string.digits + " .,-_:", max_size=12)

# --- expressions -------------------------------------------------------------------------

_number_texts = st.one_of(
    st.integers(0, 2**32).map(str),
    st.integers(0, 2**32).map(lambda v: f"0x{v:X}"),
    st.integers(0, 4096).map(lambda v: f"{v}K"),
    st.integers(0, 64).map(lambda v: f"0x{v:x}M"),
    st.integers(0, 0xFFFF).map(lambda v: f"${v:x}"),
    st.integers(1, 0o777).map(lambda v: f"0{v:o}"),
    st.integers(0, 0xFFFF).map(lambda v: f"{v:x}h"),
)
numbers = _number_texts.map(lambda t: ast.Number(decode_number(t), t))
leaves = st.one_of(numbers, symbols.map(ast.Symbol))

_BINARY = [
    "||",
    "&&",
    "|",
    "^",
    "&",
    "==",
    "!=",
    "<",
    "<=",
    ">",
    ">=",
    "<<",
    ">>",
    "+",
    "-",
    "*",
    "/",
    "%",
]


def _compound(children: st.SearchStrategy[ast.Expr]) -> st.SearchStrategy[ast.Expr]:
    return st.one_of(
        st.builds(ast.UnaryOp, st.sampled_from(["-", "!", "~", "+"]), children),
        st.builds(ast.BinaryOp, st.sampled_from(_BINARY), children, children),
        st.builds(ast.Conditional, children, children, children),
        st.builds(
            lambda f, a: ast.Call(f, (a,)),
            st.sampled_from(["ABSOLUTE", "ALIGN", "BLOCK", "NEXT", "LOG2CEIL", "DATA_SEGMENT_END"]),
            children,
        ),
        st.builds(
            lambda f, a, b: ast.Call(f, (a, b)),
            st.sampled_from(
                ["MAX", "MIN", "ALIGN", "DATA_SEGMENT_ALIGN", "DATA_SEGMENT_RELRO_END"]
            ),
            children,
            children,
        ),
        st.builds(
            lambda f, n: ast.Call(f, (ast.Symbol(n),)),
            st.sampled_from(
                ["ADDR", "LOADADDR", "SIZEOF", "ALIGNOF", "ORIGIN", "LENGTH", "DEFINED", "CONSTANT"]
            ),
            section_names,
        ),
        st.builds(lambda s, e: ast.Call("SEGMENT_START", (ast.String(s), e)), texts, children),
        st.builds(lambda e, m: ast.Call("ASSERT", (e, ast.String(m))), children, texts),
        st.just(ast.Call("SIZEOF_HEADERS", ())),
    )


expressions = st.recursive(leaves, _compound, max_leaves=5)

# --- statements --------------------------------------------------------------------------

_OPS = ["=", "+=", "-=", "*=", "/=", "<<=", ">>=", "&=", "|="]
comments = st.one_of(
    st.from_regex(r"/\* [a-z ]{0,10} \*/", fullmatch=True),
    st.from_regex(r"# [a-z ]{0,10}", fullmatch=True),
).map(ast.Comment)
assignments = st.one_of(
    st.builds(ast.Assignment, symbols, st.sampled_from(_OPS), expressions),
    st.builds(
        lambda t, e, p: ast.Assignment(t, "=", e, p),
        symbols,
        expressions,
        st.sampled_from(["PROVIDE", "PROVIDE_HIDDEN", "HIDDEN"]),
    ),
)
asserts = st.builds(ast.Assert, expressions, texts)

_SECTION_SORTS = [
    (),
    ("SORT",),
    ("SORT_BY_NAME",),
    ("SORT_BY_ALIGNMENT",),
    ("SORT_NONE",),
    ("SORT_BY_INIT_PRIORITY",),
    ("SORT_BY_NAME", "SORT_BY_ALIGNMENT"),
    ("SORT", "SORT_BY_NAME"),
    ("SORT_BY_ALIGNMENT", "SORT"),
    ("SORT_BY_ALIGNMENT", "SORT_BY_ALIGNMENT"),
]
plain_patterns = st.builds(ast.Pattern, patterns, st.lists(patterns, max_size=2).map(tuple))


@st.composite
def section_patterns(
    draw: st.DrawFn, sorts: list[tuple[str, ...]] = _SECTION_SORTS, bare_reverse: bool = True
) -> object:
    pattern = draw(plain_patterns)
    chosen = draw(st.sampled_from(sorts))
    if (chosen or bare_reverse) and draw(st.booleans()):
        chosen += ("REVERSE",)
    return ast.SortedPattern(chosen, pattern) if chosen else pattern


# A file pattern takes REVERSE only inside a sort (ld's filename_spec).
file_patterns = section_patterns(
    [(), ("SORT",), ("SORT_BY_NAME",), ("SORT_NONE",)], bare_reverse=False
)


@st.composite
def input_sections(draw: st.DrawFn) -> ast.InputSectionDescription:
    form = draw(st.sampled_from(["normal", "bare", "mri"]))
    flags = draw(
        st.none()
        | st.lists(
            st.sampled_from(["SHF_WRITE", "!SHF_EXECINSTR", "SHF_ALLOC"]), min_size=1, max_size=3
        ).map(tuple)
    )
    keep = draw(st.booleans())
    if form == "bare":
        return ast.InputSectionDescription(
            ast.Pattern(draw(patterns)), None, keep=keep, flags=flags
        )
    sections = tuple(draw(st.lists(section_patterns(), min_size=1, max_size=3)))
    file = None if form == "mri" else draw(file_patterns)
    return ast.InputSectionDescription(file, sections, keep=keep, flags=flags)


output_commands = st.one_of(
    input_sections(),
    assignments,
    st.builds(
        ast.DataCommand, st.sampled_from(["BYTE", "SHORT", "LONG", "QUAD", "SQUAD"]), expressions
    ),
    st.builds(ast.Fill, expressions),
    st.sampled_from(
        [
            ast.Command("CREATE_OBJECT_SYMBOLS"),
            ast.Command("CONSTRUCTORS"),
            ast.Command("SORT", ("CONSTRUCTORS",)),
        ]
    ),
    asserts,
    patterns.map(ast.Include),
    comments,
)


@st.composite
def output_sections(draw: st.DrawFn) -> ast.OutputSection:
    maybe = lambda s: draw(st.none() | s)  # noqa: E731
    type_ = draw(
        st.sampled_from([None, "NOLOAD", "DSECT", "COPY", "INFO", "OVERLAY", "READONLY", "TYPE"])
    )
    type_value = None
    if type_ == "TYPE" or (type_ == "READONLY" and draw(st.booleans())):
        type_value = draw(expressions)
    align_with_input = draw(st.booleans())
    return ast.OutputSection(
        draw(section_names),
        tuple(draw(st.lists(output_commands, max_size=4))),
        address=maybe(expressions),
        type=type_,
        type_value=type_value,
        lma=maybe(expressions),
        align=None if align_with_input else maybe(expressions),
        align_with_input=align_with_input,
        subalign=maybe(expressions),
        constraint=draw(st.sampled_from([None, "ONLY_IF_RO", "ONLY_IF_RW", "SPECIAL"])),
        region=maybe(region_names),
        lma_region=maybe(region_names),
        phdrs=tuple(draw(st.lists(region_names, max_size=2))),
        fill=maybe(expressions),
    )


overlays = st.builds(
    ast.Overlay,
    st.lists(
        st.builds(
            ast.OverlaySection,
            section_names,
            st.lists(output_commands, max_size=2).map(tuple),
            st.lists(region_names, max_size=1).map(tuple),
            st.none() | expressions,
        ),
        max_size=3,
    ).map(tuple),
    address=st.none() | expressions,
    nocrossrefs=st.booleans(),
    lma=st.none() | expressions,
    region=st.none() | region_names,
)
sections_commands = st.one_of(
    output_sections(),
    overlays,
    assignments,
    asserts,
    comments,
    symbols.map(lambda s: ast.Command("ENTRY", (s,))),
)

memory = st.builds(
    ast.Memory,
    st.lists(
        st.one_of(
            st.builds(
                ast.MemoryRegionDecl,
                region_names,
                st.none() | st.from_regex(r"!?[rwxailRWXAIL]{1,3}(![rwx]{1,2})?", fullmatch=True),
                expressions,
                expressions,
            ),
            comments,
        ),
        max_size=4,
    ).map(tuple),
)
phdrs = st.builds(
    ast.Phdrs,
    st.lists(
        st.builds(
            ast.PhdrDecl,
            region_names,
            st.one_of(st.sampled_from(["PT_LOAD", "PT_NOTE", "PT_TLS"]).map(ast.Symbol), numbers),
            st.booleans(),
            st.booleans(),
            st.none() | expressions,
            st.none() | expressions,
        ),
        max_size=3,
    ).map(tuple),
)
_vident = st.from_regex(r"[a-z_*][a-z0-9_*?]{0,6}", fullmatch=True)
version_entries = st.one_of(
    st.builds(ast.VersionSymbol, _vident),
    st.builds(ast.VersionSymbol, texts, st.just(True)),
    st.builds(
        ast.VersionExtern,
        st.just("C++"),
        st.lists(st.builds(ast.VersionSymbol, _vident), min_size=1, max_size=2).map(tuple),
    ),
)
versions = st.builds(
    ast.Version,
    st.lists(
        st.builds(
            ast.VersionNode,
            st.none() | st.from_regex(r"V[A-Z0-9_.]{0,4}", fullmatch=True),
            st.lists(version_entries, max_size=2).map(tuple),
            st.lists(version_entries, max_size=2).map(tuple),
        ),
        min_size=1,
        max_size=2,
    ).map(tuple),
)
top_commands = st.one_of(
    assignments,
    asserts,
    comments,
    memory,
    phdrs,
    versions,
    st.lists(sections_commands, max_size=4).map(lambda c: ast.Sections(tuple(c))),
    symbols.map(lambda s: ast.Command("ENTRY", (s,))),
    texts.map(lambda s: ast.Command("OUTPUT_FORMAT", (s,))),
    st.tuples(texts, texts, texts).map(lambda a: ast.Command("OUTPUT_FORMAT", a)),
    texts.map(lambda s: ast.Command("SEARCH_DIR", (s,))),
    st.lists(section_names, max_size=3).map(lambda a: ast.Command("NOCROSSREFS", tuple(a))),
    st.sampled_from(
        [ast.Command("FORCE_COMMON_ALLOCATION"), ast.Command("INHIBIT_COMMON_ALLOCATION")]
    ),
    st.builds(ast.Insert, st.sampled_from(["AFTER", "BEFORE"]), section_names),
    st.builds(ast.RegionAlias, texts, region_names),
    st.builds(
        ast.Input,
        st.sampled_from(["INPUT", "GROUP"]),
        st.lists(
            st.one_of(
                st.from_regex(r"[a-z][a-z0-9_.]{0,6}", fullmatch=True).map(ast.InputFile),
                st.from_regex(r"[a-z][a-z0-9_]{0,4}", fullmatch=True).map(
                    lambda n: ast.InputFile(n, library=True)
                ),
            ),
            min_size=1,
            max_size=3,
        ).map(tuple),
    ),
)


def _round_trips(tree: ast.Script) -> None:
    printed = print_script(tree)
    reparsed = parse(printed, kind=tree.kind, check_memory_regions=False)
    assert reparsed == tree, printed
    assert print_script(reparsed) == printed


_FAST = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@_FAST
@given(st.lists(top_commands, max_size=5))
def test_generated_scripts_round_trip(commands: list[object]) -> None:
    _round_trips(ast.Script(tuple(commands), FragmentKind.SCRIPT))  # type: ignore[arg-type]


@_FAST
@given(st.lists(sections_commands, max_size=5))
def test_generated_sections_bodies_round_trip(commands: list[object]) -> None:
    script = ast.Script(tuple(commands), FragmentKind.SECTIONS_BODY)  # type: ignore[arg-type]
    _round_trips(script)


@_FAST
@given(st.lists(output_commands, max_size=6))
def test_generated_output_section_bodies_round_trip(commands: list[object]) -> None:
    script = ast.Script(tuple(commands), FragmentKind.OUTPUT_SECTION_BODY)  # type: ignore[arg-type]
    _round_trips(script)


def _parsed_or_located(text: str) -> None:
    """`text` parses and round-trips, or its `ScriptError` names a place inside it."""
    try:
        tree = parse(text)
    except ScriptError as error:
        lines = text.split("\n")
        assert 1 <= error.line <= len(lines), (error.line, len(lines))
        # The column may point just past the last character (a missing token at the end).
        assert 1 <= error.column <= len(lines[error.line - 1].expandtabs(1)) + 2, error
        return
    _round_trips(tree)


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=80))
def test_arbitrary_text_parses_and_round_trips_or_fails_at_a_place_in_it(text: str) -> None:
    _parsed_or_located(text)


_ld_alphabet = st.sampled_from(
    [
        *list('{}();:=,*."#/!<>+-&|?\n '),
        "/*",
        "*/",
        "SECTIONS",
        "MEMORY",
        "KEEP",
        "0x10",
        "ALIGN",
        ">",
        "AT",
    ]
)


@settings(max_examples=150, deadline=None)
@given(st.lists(_ld_alphabet, max_size=40).map("".join))
def test_script_shaped_noise_parses_and_round_trips_or_fails_at_a_place_in_it(
        text: str) -> None:
    _parsed_or_located(text)


_SAMPLES = [s.text for s in unique(collect(require_ld=False))[::40]]


@settings(max_examples=50, deadline=None)
@given(st.sampled_from(_SAMPLES) if _SAMPLES else st.just("SECTIONS { }"), st.data())
def test_mutated_real_scripts_round_trip_or_fail_at_a_place_in_them(
        text: str, data: st.DataObject) -> None:
    for _ in range(data.draw(st.integers(1, 4))):
        position = data.draw(st.integers(0, len(text)))
        action = data.draw(st.sampled_from(["delete", "insert", "replace"]))
        chunk = data.draw(st.sampled_from([*list('{}();:=,"*/#'), "/*", "\n", "x"]))
        if action == "delete":
            text = text[:position] + text[position + 1 :]
        elif action == "insert":
            text = text[:position] + chunk + text[position:]
        else:
            text = text[:position] + chunk + text[position + len(chunk) :]
    _parsed_or_located(text)
