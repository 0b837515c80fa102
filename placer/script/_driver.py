"""A lean LALR(1) driver and contextual lexer over the tables Lark builds for ld.lark.

Lark compiles the grammar (``grammar/ld.lark``) into LALR tables once, when the grammar
changes (`placer.script._tablegen` writes them to `placer.script._tables`, shipped in the
wheel); this module runs them without importing Lark. It does what Lark's own contextual
lexer and parser loop do, with less per-token work (at most one regex match per token,
which takes the blanks after it too; none for a punctuation character that is a token of
its own, `_SINGLE_CHARACTERS`; comments skipped by one more), which is most of the parse
time on large scripts. A
state's table row and lexer are decoded the first time the parse reaches it (a script
visits a small part of the 2,000 states).

Lark's contextual lexer compiles one pattern per state: every terminal the state accepts,
in priority order. Compiling is slow in Python (a 187-line script reached 31 distinct
patterns, 7.6 ms of CPU, most of its parse), so here the states share patterns: one per
set of regex terminals (15 for all 85 sets of accepted terminals), ending in two generic
groups, a run of operator characters and a word. Which literal of the state such a group
stands for is looked up per state (`_Literals`); the token is the same as the state's own
pattern gives, because Lark orders every regex terminal of these states before their
literals (``tests/script/test_lexer.py`` compares every state with its own pattern).

Two behaviours differ from Lark's on purpose, both to follow GNU ld's lexer:

* where the parser state accepts both a SCRIPT-state name and the ``/`` operator (right
  after an expression), a name starting with ``/`` is the operator unless it is exactly
  ``/DISCARD/`` (ldlex.l's special rule in EXPRESSION state);
* comments are collected for `Comment` nodes here, not through lexer callbacks.

Two terminals exist only here: the grammar declares ``INPUT_SECTIONS`` without a pattern,
and this lexer matches it where the parser accepts it, for the most common statement of
all, an input section description of plain names (``*(.text .text.*)``): the file
pattern, ``(``, the section patterns and ``)`` as one token, two reductions instead of a
dozen; ``KEPT_SECTIONS`` is the same inside ``KEEP( )``, the next most common. Their
words are exactly WILDNAME's, minus ``=`` and minus every keyword a WILD-state lexer
knows; anything else there (a keyword, a comment, a quoted name, a name with ``=``) fails
this match and takes the token-by-token path, so the tree is the same either way.

A wheel built where a C compiler is available runs this module and `placer.script.parser`
compiled by mypyc (``[tool.placer] compiled-modules`` in pyproject.toml); this source is
also the pure-Python fallback, so it is written for both. Compiled code cannot hold a
class that subclasses a builtin: rows, reductions and lexers are lists filled on first use
and read as ``table[i]``, falling back to ``self.method(i)`` while that is None (one index,
no call, once filled), and `Token`
(a `str`) and `ParseFailure` (which pure callers catch as the same class) live in
`placer.script._tokens`, never compiled. Compiled code also checks every annotation at
run time, so the annotations here are exact.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from placer.script import _tables
from placer.script._tokens import NATIVE_TOKEN, ParseFailure, Token, make_token

_BLANK = r"[ \t\r\n\f\v]"
#: A ``/* */`` comment or a ``#`` line comment, skipped in every lexer state. A comment
#: ends at its first ``*/``: written out (runs of characters other than ``*``, then stars,
#: until a ``/``) rather than as a lazy ``[\s\S]*?``, which tries to end the comment after
#: every character; possessive, as no part can give back what the next one could take.
COMMENT = re.compile(r"/\*[^*]*+\*++(?:[^/*][^*]*+\*++)*+/|#[^\n]*+")
_SKIP = re.compile(rf"(?:[ \t\r\n\f\v]++|{COMMENT.pattern})+")
#: ld's lexer takes the longest match: a keyword directly followed by a character that
#: every ld start state lets a name continue with is part of that name (`AFTER.data`,
#: `NOCROSSREFSAT`), even where only the keyword would parse.
_KEYWORD_END = r"(?![_a-zA-Z0-9.])"
#: MEMORY's keywords: in that state `=` is a name character too (`ORIGIN= 0` fails).
_MEMORY_KEYWORD_END = r"(?![_a-zA-Z0-9.=])"
_MEMORY_KEYWORDS = frozenset({"ORIGIN", "org", "o", "LENGTH", "len", "l"})
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
#: Characters that are a token of their own wherever a state accepts them, so the token
#: loop reads them without a regex (nearly half of a script's tokens): no state that
#: accepts one has a regex terminal that may start with it (`tests/script/test_lexer.py`
#: checks every state's own pattern), and no other literal starts with one
#: (`Driver.__init__` checks).
_SINGLE_CHARACTERS = "(){};:,"
#: What `_BLANK` matches, one character at a time.
_BLANKS = frozenset(" \t\r\n\f\v")


class _StateLexer:
    """One state's lexer: its pattern, the keywords each of its regex terminals may stand
    for, how its literal groups read (shared patterns only), whether a name starting
    with `/` may be the operator, and the single characters it reads without a regex."""

    def __init__(self, pattern: re.Pattern[str], keywords: dict[str, dict[str, str]],
                 literals: _Literals | None, slash_operator: bool,
                 singles: dict[str, str]) -> None:
        self.pattern = pattern
        #: regex terminal -> {keyword text: keyword terminal} valid in this state.
        self.keywords = keywords
        self.literals = literals
        self.slash_operator = slash_operator
        #: character of `_SINGLE_CHARACTERS` -> its terminal, where this state accepts it.
        self.singles = singles
        # What the token loop reads (compiled, a class's attributes cost less to read than
        # a tuple's items to check and unpack): the match, and the keyword tables with an
        # entry for NAME where a name may be the `/` operator.
        self.match = pattern.match
        #: `singles` by character code, for the ASCII ones (all of them).
        self.single_codes: list[str | None] = [singles.get(chr(code)) for code in range(128)]
        self.loop_keywords = dict(keywords)
        if slash_operator:
            self.loop_keywords.setdefault("NAME", {})


#: A grammar rule as `placer.script._tables` stores it: produced nonterminal, alias, ?rule,
#: the expansion's symbol names, and the positions of spliced ``_x`` children.
Rule = tuple[str, "str | None", bool, tuple[str, ...], tuple[int, ...]]


def _callback(rule: Rule, transformer: Any) -> Callable[[list[Any]], Any] | None:
    """The reduction for `rule`, with Lark's tree-shaping rules applied directly.

    Lark wraps every transformer method in generic helpers; the same shaping is done
    here once per rule, which halves the cost of a reduction: children produced by rules
    named ``_x`` (and the ``*``/``+`` helpers) are spliced into the parent, a ``?rule``
    with one child and no alias returns that child, and every token is kept. ``None``
    means the reduction passes its one child through unchanged (the driver then only
    changes state).
    """
    name, alias, rule_expand1, symbols, splice = rule
    if name.startswith("_"):
        method: Callable[[list[Any]], Any] | None = None
    else:
        method = transformer.method(alias or name)
        if method is None and not rule_expand1:
            raise TypeError(f"no transformer method for grammar rule {alias or name}")
    expand1 = rule_expand1 and not alias
    if expand1 and len(symbols) == 1 and not splice:
        return None
    if name.startswith("_") and len(symbols) == 2 and symbols[0] == name and splice == (0,):
        # Lark's `x*` / `x+` helper: `__helper: item | __helper item`. Appending in place
        # keeps long statement lists linear; the list is only referenced from the stack.
        def append(children: list[Any]) -> list[Any]:
            items: list[Any] = children[0]
            items.append(children[1])
            return items

        return append

    def shaped(children: list[Any]) -> list[Any]:
        result: list[Any] = []
        for index, child in enumerate(children):
            if index in splice:
                result.extend(child)
            else:
                result.append(child)
        return result

    if len(splice) == 1:
        # The common case (one `x*` list or one `_x` helper): two slices, no loop.
        at = splice[0]

        def shaped(children: list[Any]) -> list[Any]:
            result = children[:at]
            result.extend(children[at])
            result.extend(children[at + 1 :])
            return result

    if method is None and expand1:
        # A `?rule` without a method of its own: every alternative has one child.
        if splice:
            return lambda children: shaped(children)[0]
        return lambda children: children[0]
    if method is None:
        if not splice:
            # The children list is the value (a fresh slice of the stack): `list` copies
            # it without a Python frame, which a lambda returning it would cost.
            return list
        return shaped
    call = method
    if expand1:
        if splice:

            def expand_spliced(children: list[Any]) -> Any:
                flat = shaped(children)
                return flat[0] if len(flat) == 1 else call(flat)

            return expand_spliced

        def expand(children: list[Any]) -> Any:
            return children[0] if len(children) == 1 else call(children)

        return expand
    if len(splice) == 1:
        # `shaped` inlined: output sections and assignments reduce through here.
        def spliced(children: list[Any]) -> Any:
            result = children[:at]
            result.extend(children[at])
            result.extend(children[at + 1 :])
            return call(result)

        return spliced
    if splice:
        return lambda children: call(shaped(children))
    return call


#: Terminals declared in the grammar without a pattern and lexed by this driver.
_DRIVER_TERMINALS = frozenset(_tables.DRIVER_TERMINALS)


#: The two groups that end every shared state pattern (see `Driver._build`): a run of the
#: characters operators are made of, and a word that may be a keyword.
_OPERATOR_GROUP = "_OPERATOR"
_WORD_GROUP = "_WORD"
_LITERAL_GROUPS = frozenset({_OPERATOR_GROUP, _WORD_GROUP})
#: The characters a keyword's word runs over: the lookahead of `_KEYWORD_END`, so a word
#: equals a keyword exactly when that keyword's pattern matches there.
_WORD_CHARS = "_a-zA-Z0-9."
#: What `_Literals` finds where a state accepts no literal (a tuple, so it is true).
_NO_LITERAL = ("", "")


def _literal_group(text: str) -> str | None:
    """The shared-pattern group that finds literal `text`: a keyword is a whole word, an
    operator a prefix of a run of operator characters; None for a literal that is neither
    (a state that accepts one compiles its own pattern)."""
    if _WORD.fullmatch(text):
        return _WORD_GROUP
    if not re.search(f"[{_WORD_CHARS}]", text):
        return _OPERATOR_GROUP
    return None


def _compile(alternatives: list[str]) -> re.Pattern[str]:
    # The blanks after the token are matched with it: one regex call per token on the
    # common path, and the next token starts where the match ends (a blank there, at the
    # start of the text or after a comment, fails the match and goes through _SKIP, as a
    # comment does). Trailing, not leading: the token starts where the match does, and a
    # match that fails does not try every alternative again after each leading blank.
    body = "|".join(alternatives) if alternatives else r"(?!x)x"
    return re.compile(rf"(?:{body}){_BLANK}*+")


class _Literals:
    """What one state lexes from the text of a literal group: (terminal, its text), or
    `_NO_LITERAL` when that state accepts no literal there. `found` holds each text's
    answer once `find` has worked it out (the token loop reads `found` first).

    The state's own pattern would try its literals in Lark's order, longest first, after
    every regex terminal failed; the shared pattern has failed those same regex terminals
    when it reaches a literal group, so the first literal of the state that matches the
    text there is the same token: for an operator, the longest literal that starts the run
    (a run holds every operator that matches there); for a keyword, the one equal to the
    word (`_KEYWORD_END`), unless an ``=`` follows and it is a MEMORY keyword, whose end
    excludes ``=`` (`_MEMORY_KEYWORD_END`).
    """

    def __init__(self, literals: list[tuple[str, str]]) -> None:
        self._literals = literals
        self.found: dict[str, tuple[str, str]] = {}

    def find(self, run: str) -> tuple[str, str]:
        """The literal that `run`, the text of a literal group, stands for (and remember)."""
        found = _NO_LITERAL
        if _WORD.match(run):
            word = run.removesuffix("=")
            for name, text in self._literals:
                if text == word and not (text in _MEMORY_KEYWORDS and word != run):
                    found = (name, text)
                    break
        else:
            for name, text in self._literals:
                if run.startswith(text):
                    found = (name, text)
                    break
        self.found[run] = found
        return found


def _resolve(
    match: re.Match[str], keywords: dict[str, dict[str, str]], literals: _Literals | None,
    slash: bool,
) -> tuple[str, str, str] | None:
    """The group, terminal and text of the token `match` found with a state's keyword
    tables, literals and `/` flag, or None if it is none of that state's (the token loop
    inlines this)."""
    group = kind = match.lastgroup or ""
    value = match.group(kind)
    table = keywords.get(kind)
    if slash and kind == "NAME" and value[0] == "/":
        if value != "/DISCARD/":
            kind, value = "SLASH", "/"
    elif table is not None:
        kind = table.get(value, kind)
    elif literals is not None and kind in _LITERAL_GROUPS:
        literal = literals.found.get(value) or literals.find(value)
        if not literal[0]:
            return None
        kind, value = literal
    return group, kind, value


def _decode_row(encoded: str) -> dict[str, int]:
    """A state's table row (symbol -> number) from its ``symbol:number`` text."""
    names = _tables.SYMBOLS
    fields = encoded.replace(":", " ").split()
    return {names[int(s)]: int(n) for s, n in zip(fields[::2], fields[1::2], strict=True)}


#: A reduction: children count, the callback (None: pass the one child through), and the
#: nonterminal produced.
_Reduction = tuple[int, "Callable[[list[Any]], Any] | None", str]


class Driver:
    """Parses with the generated tables of ld.lark; see the module docstring."""

    def __init__(self, transformer: Any) -> None:
        self._transformer = transformer
        size = len(_tables.ACTIONS)
        # Rows, reductions and lexers are made the first time a parse needs them (a
        # script uses a few of the 2,000 states and 1,000 rules); None until then.
        #: Per rule index: its `_Reduction`.
        self._rules: list[_Reduction | None] = [None] * len(_tables.RULES)
        #: Per state: terminal -> next state (>= 0, shift) or ~rule index (< 0, reduce).
        self._actions: list[dict[str, int] | None] = [None] * size
        #: Per state: nonterminal -> state after reducing to it.
        self._gotos: list[dict[str, int] | None] = [None] * size
        self.start_states: dict[str, int] = _tables.START_STATES
        self.end_states: dict[str, int] = _tables.END_STATES
        #: Lexer terminals in Lark's priority order: (name, literal text or None, regexp).
        self.terminals: tuple[tuple[str, str | None, str], ...] = _tables.TERMINALS
        #: The same rows by name, and each terminal's place in that order: a state's lexer
        #: reads its own few terminals, not all 142.
        self._terminal_rows = {row[0]: row for row in self.terminals}
        self._priority = {row[0]: index for index, row in enumerate(self.terminals)}
        sections = self._input_sections_regexp()
        self._patterns = {
            "INPUT_SECTIONS": sections,
            "KEPT_SECTIONS": rf"KEEP{_BLANK}*+\({_BLANK}*+{sections}{_BLANK}*+\)",
        }
        self._patterns.update(
            (name, regexp) for name, text, regexp in self.terminals if text is None
        )
        #: Regex terminals (in order) -> the pattern of the states whose lexers are those
        #: terminals, then literals (see `_build`): a few patterns serve most states.
        self._shared: dict[tuple[str, ...], re.Pattern[str]] = {}
        operators = [text for text in _tables.LITERALS.values()
                     if _literal_group(text) == _OPERATOR_GROUP]
        characters = "".join(sorted(set("".join(operators))))
        self._literal_groups = [
            # `/*` starts a comment, never the `/` operator (see `_alternatives`).
            rf"(?P<{_OPERATOR_GROUP}>(?!/\*)[{re.escape(characters)}]"
            rf"{{1,{max(map(len, operators))}}})",
            rf"(?P<{_WORD_GROUP}>[A-Za-z_][{_WORD_CHARS}]*=?)",
        ]
        singles = {text: name for name, text in _tables.LITERALS.items()
                   if text in _SINGLE_CHARACTERS}
        longer = [text for text in _tables.LITERALS.values()
                  if len(text) > 1 and text[0] in singles]
        if longer:
            raise AssertionError(f"literals that start with a single character: {longer}")
        #: Character of `_SINGLE_CHARACTERS` -> its literal terminal.
        self._singles = singles
        self._lexers: list[_StateLexer | None] = [None] * size
        self._by_accepted: dict[frozenset[str], _StateLexer] = {}
        self._root_lexer: _StateLexer | None = None

    def actions(self, state: int) -> dict[str, int]:
        """State `state`'s actions: terminal -> next state (>= 0) or ~rule index (< 0)."""
        row = self._actions[state]
        if row is None:
            row = self._actions[state] = _decode_row(_tables.ACTIONS[state])
        return row

    def gotos(self, state: int) -> dict[str, int]:
        """State `state`'s gotos: nonterminal -> the state after reducing to it."""
        row = self._gotos[state]
        if row is None:
            row = self._gotos[state] = _decode_row(_tables.GOTOS[state])
        return row

    def reduction(self, index: int) -> _Reduction:
        """Rule `index`'s children count, reduction (None to pass the one child through)
        and produced nonterminal."""
        reduction = self._rules[index]
        if reduction is None:
            rule = _tables.RULES[index]
            reduction = (len(rule[3]), _callback(rule, self._transformer), rule[0])
            self._rules[index] = reduction
        return reduction

    @property
    def _root(self) -> _StateLexer:
        """The fallback lexer (for error tokens): every terminal, single tokens only."""
        if self._root_lexer is None:
            self._root_lexer = self._build(frozenset(name for name, _, _ in self.terminals))
        return self._root_lexer

    def _input_sections_regexp(self) -> str:
        """``file(section ...)`` of plain WILD names; see the module docstring."""
        literals = _tables.LITERALS
        # WILDNAME's own characters, without `=`; its exclusions (a lone operator, a
        # comment start) are kept, and keywords are excluded as whole words.
        chars = r"[_a-zA-Z0-9\/.\\$~\-+:\[\],?*^!]"
        keywords = [literals[k] for k in _tables.WILD_KEYWORDS]
        excluded = "|".join([r"\[", r"\]"] + [re.escape(k) for k in keywords])
        # The keyword alternatives are tried only at a word that starts like one (most
        # start with `.` or `*`). Every quantifier is possessive: what follows a run of
        # word characters or blanks never starts with one, so giving one back could not
        # make the match succeed, only retry it (a word that is not followed by `(` is a
        # WILDNAME; tests/script/test_lexer.py compares this with the plain pattern).
        starts = "".join(sorted({re.escape(k[0]) for k in keywords} | {r"\[", r"\]"}))
        word = rf"(?!\/\*|(?=[{starts}])(?:{excluded})(?!{chars})){chars}++"
        return rf"{word}{_BLANK}*+\({_BLANK}*+{word}(?:{_BLANK}++{word})*+{_BLANK}*+\)"

    def _alternatives(
        self, accepted: frozenset[str]
    ) -> tuple[list[tuple[str, str, str | None]], dict[str, dict[str, str]]]:
        """A state's lexer as Lark's contextual lexer defines it: its alternatives in
        priority order (name, regexp, literal text or None for a regex terminal), tried
        first to last, and the keywords folded into the regex terminal that lexes them."""
        keywords: dict[str, dict[str, str]] = {}
        # Driver terminals first: each is a longer reading of what the others would lex.
        alternatives: list[tuple[str, str, str | None]] = [
            (name, self._patterns[name], None) for name in sorted(_DRIVER_TERMINALS & accepted)
        ]
        terminals = self._terminal_rows
        for name in sorted((n for n in accepted if n in terminals),
                           key=self._priority.__getitem__):
            _, text, regexp = terminals[name]
            if text is not None:
                owner = next(
                    (r for r in _tables.OWNERS.get(name, ()) if r in accepted), None
                )
                if owner is not None:
                    keywords.setdefault(owner, {})[text] = name
                    continue
                if _WORD.fullmatch(text):
                    regexp += _MEMORY_KEYWORD_END if text in _MEMORY_KEYWORDS else _KEYWORD_END
            if regexp == re.escape("/"):
                regexp = r"/(?!\*)"  # a comment, not a division
            alternatives.append((name, regexp, text))
        return alternatives, keywords

    def _build(self, accepted: frozenset[str]) -> _StateLexer:
        alternatives, keywords = self._alternatives(accepted)
        literals = [(name, text) for name, _, text in alternatives if text is not None]
        regexes = tuple(name for name, _, text in alternatives if text is None)
        if all(_literal_group(text) for _, text in literals) and (
            not literals or alternatives[len(regexes)][2] is not None
        ):
            # Every regex terminal comes before every literal: the state shares the
            # pattern of its regex terminals, and its literals are told apart here.
            pattern = self._shared.get(regexes)
            if pattern is None:
                parts = [f"(?P<{name}>{self._patterns[name]})" for name in regexes]
                pattern = self._shared[regexes] = _compile(parts + self._literal_groups)
            table: _Literals | None = _Literals(literals)
        else:
            pattern = _compile([f"(?P<{name}>{regexp})" for name, regexp, _ in alternatives])
            table = None
        singles = {text: name for text, name in self._singles.items() if name in accepted}
        return _StateLexer(
            pattern, keywords, table, "NAME" in accepted and "SLASH" in accepted, singles
        )

    def _exact(self, accepted: frozenset[str]) -> re.Pattern[str]:
        """The state's own pattern: every alternative in order, as Lark's contextual lexer
        compiles it (tests compare the shared patterns against it)."""
        alternatives, _ = self._alternatives(accepted)
        return _compile([f"(?P<{name}>{regexp})" for name, regexp, _ in alternatives])

    def _lexer(self, state: int) -> _StateLexer:
        lexer = self._lexers[state]
        if lexer is None:
            accepted = frozenset(k for k in self.actions(state) if k != "$END")
            # Many states accept the same terminals (the corpus uses 201 states but 46
            # sets): each distinct set's keyword tables and literals are built once.
            lexer = self._by_accepted.get(accepted)
            if lexer is None:
                lexer = self._by_accepted[accepted] = self._build(accepted)
            self._lexers[state] = lexer
        return lexer

    def parse(self, text: str, start: str, comments: list[Token]) -> Any:
        """Run the parser on `text` from rule `start`; comments are appended to `comments`."""
        # Rows, reductions and lexers are read as `table[i]`, or `self.method(i)` while that
        # is None: decoded on first use, then one list index (no call) per look-up. Not
        # `or`: compiled, that asks a row for its size and boxes a reduction's tuple anew
        # to test its truth.
        actions, gotos, rules, lexers = self._actions, self._gotos, self._rules, self._lexers
        state = self.start_states[start]
        state_stack = [state]
        value_stack: list[Any] = []
        position = 0
        # `Any`: compiled, a native int would be boxed anew for every token, and tokens
        # of one line would no longer share one int object, nor would their spans.
        line: Any = 1
        line_start = 0
        length = len(text)
        previous: Token | None = None
        skip = _SKIP.match
        token_class = Token
        native_token = NATIVE_TOKEN
        literal_groups = _LITERAL_GROUPS
        blanks = _BLANKS
        skipped_to = -1
        while True:
            lexer = lexers[state]
            if lexer is None:
                lexer = self._lexer(state)
            # `Any`: compiled, the match and the token share one boxed int for the offset.
            offset: Any = position
            # Compiled, `ord(text[i])` reads the character where it is: no str, no hash.
            code = ord(text[position]) if position < length else 128
            kind = lexer.single_codes[code] if code < 128 else None
            if kind is not None:
                # A character that is a token of its own here: no regex, and the blanks
                # after it are skipped here.
                value = text[position]
                end = position + 1
                while end < length and text[end] in blanks:
                    end += 1
            elif (match := lexer.match(text, offset)) is not None:
                # `_resolve`, inlined: this runs once per token (a call would cost more
                # than the rest of this block).
                kind = match.lastgroup or ""
                value = match[kind]
                # Where the next token starts: after the blanks that follow this one, or
                # right after a literal or `/` that is shorter than the text of its group.
                end = match.end()
                table = lexer.loop_keywords.get(kind)
                if table is not None:
                    if lexer.slash_operator and kind == "NAME" and value[0] == "/":
                        if value != "/DISCARD/":
                            kind, value = "SLASH", "/"
                            end = position + 1
                    else:
                        kind = table.get(value, kind)
                elif (literals := lexer.literals) is not None and kind in literal_groups:
                    literal = literals.found.get(value) or literals.find(value)
                    if not literal[0]:
                        kind = None
                    elif len(literal[1]) != len(value):
                        kind, value = literal
                        end = position + len(value)
                    else:
                        kind = literal[0]
            if kind is None:
                # Nothing this state accepts starts here: skip comments once, then try
                # again; if that fails too, lex an error token with every terminal.
                if skipped_to != position:
                    skipped = skip(text, position)
                    if skipped is not None:
                        end = skipped.end()
                        chunk = skipped.group()
                        if "/*" in chunk or "#" in chunk:
                            self._comments(text, position, end, line, comments)
                        newlines = chunk.count("\n")
                        if newlines:
                            line += newlines
                            line_start = text.rfind("\n", position, end) + 1
                        position = end
                    if position >= length:
                        token = make_token("$END", "", position, line, position - line_start + 1)
                        return self._finish(state_stack, value_stack, token, previous, start)
                    skipped_to = position
                    if skipped is not None:
                        continue
                root = self._root
                error = root.pattern.match(text, position)
                found = None if error is None else _resolve(
                    error, root.keywords, root.literals, root.slash_operator
                )
                if error is None or found is None:
                    raise ParseFailure(None, position, self.accepts(state_stack), previous)
                _, kind, value = found
                end = position + len(value)
            if native_token is not None:
                token = native_token(value, kind, offset, line, position - line_start + 1)
            else:
                # make_token, inlined: this is the innermost loop.
                token = token_class(value)
                token.type = kind
                token.start_pos = offset
                token.line = line
                token.column = position - line_start + 1
            position += len(value)
            if "\n" in value:
                # A quoted name or an input section description (no other token's text
                # holds a newline): the lines it spans.
                line += value.count("\n")
                line_start = text.rfind("\n", 0, position) + 1
            # Feed the token: reduce as far as it allows, then shift it.
            while True:
                row = actions[state]
                if row is None:
                    row = self.actions(state)
                action = row.get(kind)
                if action is None:
                    raise ParseFailure(
                        token, position - len(value), self.accepts(state_stack), previous
                    )
                if action >= 0:
                    state = action
                    state_stack.append(state)
                    value_stack.append(token)
                    break
                reduction = rules[~action]
                if reduction is None:
                    reduction = self.reduction(~action)
                size, reduce, produced = reduction
                # The children's values and states make way for the result's, which take
                # the first child's places: a pass-through (`reduce` None, one child) keeps
                # its value, a rule without children pushes both. Pops, not a `del` of a
                # slice, which compiled builds a slice object for the generic protocol.
                if reduce is None:
                    pass
                elif size == 1:
                    value_stack[-1] = reduce([value_stack[-1]])
                elif size:
                    children = value_stack[-size:]
                    for _ in range(size - 1):
                        state_stack.pop()
                        value_stack.pop()
                    value_stack[-1] = reduce(children)
                else:
                    value_stack.append(reduce([]))
                    state_stack.append(state)
                state = state_stack[-2]
                targets = gotos[state]
                if targets is None:
                    targets = self.gotos(state)
                state = state_stack[-1] = targets[produced]
            previous = token
            if end != position:
                # The blanks after the token, matched with it.
                newlines = text.count("\n", position, end)
                if newlines:
                    line += newlines
                    line_start = text.rfind("\n", position, end) + 1
                position = end

    @staticmethod
    def _comments(text: str, start: int, end: int, line: int, comments: list[Token]) -> None:
        for found in COMMENT.finditer(text, start, end):
            offset = found.start()
            comment_line = line + text.count("\n", start, offset)
            column = offset - (text.rfind("\n", 0, offset) + 1) + 1
            comments.append(make_token("COMMENT", found.group(), offset, comment_line, column))

    def _reduce(self, state_stack: list[int], value_stack: list[Any], rule: int) -> None:
        size, reduce, produced = self.reduction(rule)
        if size:
            children = value_stack[-size:]
            del state_stack[-size:]
            del value_stack[-size:]
        else:
            children = []
        value_stack.append(children[0] if reduce is None else reduce(children))
        state_stack.append(self.gotos(state_stack[-1])[produced])

    def _finish(
        self,
        state_stack: list[int],
        value_stack: list[Any],
        token: Token,
        previous: Token | None,
        start: str,
    ) -> Any:
        end_state = self.end_states[start]
        while True:
            action = self.actions(state_stack[-1]).get("$END")
            if action is None or action >= 0:
                raise ParseFailure(token, token.start_pos or 0, self.accepts(state_stack), previous)
            self._reduce(state_stack, value_stack, ~action)
            if state_stack[-1] == end_state:
                return value_stack[-1]

    def accepts(self, state_stack: list[int]) -> frozenset[str]:
        """The terminals that could come next, following reductions (no callbacks run).

        Driver terminals are left out: each is a longer reading of a terminal that is
        listed.
        """
        end_states = set(self.end_states.values())
        result = set()
        for terminal in self.actions(state_stack[-1]):
            if terminal in _DRIVER_TERMINALS:
                continue
            stack = list(state_stack)
            while True:
                action = self.actions(stack[-1]).get(terminal)
                if action is None:
                    break
                if action >= 0:
                    result.add(terminal)
                    break
                size, _, produced = self.reduction(~action)
                if size:
                    del stack[-size:]
                goto = self.gotos(stack[-1]).get(produced)
                if goto is None:
                    break
                stack.append(goto)
                if terminal == "$END" and goto in end_states:
                    result.add(terminal)
                    break
        return frozenset(result)
