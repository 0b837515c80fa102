"""Every parser state lexes what Lark's contextual lexer would: the shared patterns.

Most states share one compiled pattern per set of regex terminals and tell their literals
apart in Python, and read a few single characters without a regex at all
(`placer.script._driver`); each state's own pattern, every alternative in Lark's order as
the contextual lexer compiles it, is the reference. Both must give the same terminal, text
and position, or both nothing, in every state, on every probe.
"""

from __future__ import annotations

import re
from functools import cache

from hypothesis import given, settings
from hypothesis import strategies as st

from placer.script import _tables
from placer.script._driver import _SINGLE_CHARACTERS, COMMENT, Driver, _Literals, _resolve
from placer.script.parser import _Builder

_LITERALS = sorted(set(_tables.LITERALS.values()))
#: Texts where the literal groups' rules are decided: every literal with each kind of
#: character after it, operators run together, comment starts, names glued to operators.
_PROBES = sorted(
    {f"{literal}{after}" for literal in _LITERALS
     for after in ("", " ", "=", ".", "x", "(", "*", "/", "0", "_", "-", ":")}
    | {"<<=", "<<", "<=", "<", ">>=", "/*", "/*x*/", "//", "*/", "/=", "/DISCARD/", "/x",
       "=x", "==", "=/*", "-l", "-lfoo", '"q x"', "0x10K", "1h", "add", "a+b", ".text:",
       "ORIGIN=", "org =", "o=1", "l =", "LENGTH=", "AT>", "AT.x", "ALIGN(", "*(.text)",
       "*(.text .text.*)", "KEEP(*(.init))", "  \n ;", "\t)", "#x\n", "~", "~x", "!x",
       "&&", "&=", "||", "|=", "*=", "+=1", "-=", "[", "]", "[x]", "?", "^", "%", "$1",
       "$ff", "foo", "_x", ".", "..", "SORT(", "global:", "local:", "extern"}
)


@cache
def _driver() -> Driver:
    return Driver(_Builder())


@cache
def _state_sets() -> list[tuple[int, frozenset[str]]]:
    """One state per distinct set of accepted terminals."""
    driver = _driver()
    seen: dict[frozenset[str], int] = {}
    for state in range(len(_tables.ACTIONS)):
        accepted = frozenset(k for k in driver.actions(state) if k != "$END")
        seen.setdefault(accepted, state)
    return [(state, accepted) for accepted, state in seen.items()]


def _token(pattern: re.Pattern[str], keywords: dict[str, dict[str, str]],
           literals: _Literals | None, slash: bool, text: str) -> tuple[str, str, int] | None:
    match = pattern.match(text)
    found = None if match is None else _resolve(match, keywords, literals, slash)
    if match is None or found is None:
        return None
    group, kind, value = found
    return kind, value, match.start(group)


def _agree(state: int, accepted: frozenset[str], texts: list[str]) -> None:
    driver = _driver()
    lexer = driver._lexer(state)
    keywords, literals, slash = lexer.keywords, lexer.literals, lexer.slash_operator
    exact = driver._exact(accepted)
    for text in texts:
        single = lexer.singles.get(text[:1])
        if single is not None:
            ours: tuple[str, str, int] | None = (single, text[0], 0)
        else:
            ours = _token(lexer.pattern, keywords, literals, slash, text)
        reference = _token(exact, keywords, literals, slash, text)
        assert ours == reference, (state, sorted(accepted), text)


def test_every_state_lexes_the_probes_as_its_own_pattern() -> None:
    for state, accepted in _state_sets():
        _agree(state, accepted, _PROBES)


def test_a_single_character_is_its_own_token_whatever_follows_it() -> None:
    # The token loop reads these characters without a regex; in every state that accepts
    # one, its own pattern must read just that character, whatever comes after it.
    tails = ["", *_PROBES, *(_ALPHABET[i] + _ALPHABET[j]
                             for i in range(len(_ALPHABET)) for j in range(len(_ALPHABET)))]
    read = 0
    for state, accepted in _state_sets():
        lexer = _driver()._lexer(state)
        exact = _driver()._exact(accepted)
        for character, terminal in lexer.singles.items():
            for tail in tails:
                found = _token(exact, lexer.keywords, lexer.literals, lexer.slash_operator,
                               character + tail)
                assert found == (terminal, character, 0), (state, character + tail, found)
            read += 1
    assert read and {c for c in _SINGLE_CHARACTERS} == {
        c for state, _ in _state_sets() for c in _driver()._lexer(state).singles
    }


def test_the_states_share_few_patterns() -> None:
    driver = _driver()
    for state, _ in _state_sets():
        driver._lexer(state)
    assert len(driver._shared) < len(_state_sets()) // 4


_ALPHABET = "aAlLoOtT_.0x9$~-+*/=<>&|!^%?:;,()[]{}\"# \n"


@settings(max_examples=200, deadline=None)
@given(text=st.text(_ALPHABET, max_size=12), pick=st.integers(min_value=0))
def test_random_text_lexes_the_same_in_every_state(text: str, pick: int) -> None:
    states = _state_sets()
    for offset in range(8):
        state, accepted = states[(pick + offset * 37) % len(states)]
        _agree(state, accepted, [text])


def _comment_end(text: str) -> int | None:
    """Where the comment that starts `text` ends, found with `str.find`."""
    if text.startswith("/*"):
        close = text.find("*/", 2)
        return None if close < 0 else close + 2
    if text.startswith("#"):
        newline = text.find("\n")
        return len(text) if newline < 0 else newline
    return None


@settings(max_examples=500, deadline=None)
@given(text=st.text("/*x \n#", max_size=16))
def test_a_comment_ends_at_its_first_close_or_the_line_end(text: str) -> None:
    found = COMMENT.match(text)
    assert (None if found is None else found.end()) == _comment_end(text)


#: Pieces of input section descriptions, and what stops one from being a single token.
_SECTION_PIECES = ["*", "(", ")", " ", "\n", ".text", ".text.*", "crt?.o", "x", "SORT",
                   "SORT_NONE", "KEEP", "EXCLUDE_FILE", "[", "]", "/*", "*/", "=", ":", "-"]


@settings(max_examples=300, deadline=None)
@given(pieces=st.lists(st.sampled_from(_SECTION_PIECES), max_size=12))
def test_input_sections_match_as_their_backtracking_pattern(pieces: list[str]) -> None:
    # The driver's own terminals are written with possessive quantifiers and a guard on
    # the keyword look-ahead, for speed; without them, the same text must match the same.
    text = "".join(pieces)
    for name in ("INPUT_SECTIONS", "KEPT_SECTIONS"):
        fast = _driver()._patterns[name]
        plain = re.sub(r"\(\?=\[[^()]*?\]\)", "", fast.replace("*+", "*").replace("++", "+"))
        assert "*+" not in plain and "++" not in plain and "(?=" not in plain, plain
        found, reference = re.match(fast, text), re.match(plain, text)
        assert (found and found.span()) == (reference and reference.span()), (name, text)
