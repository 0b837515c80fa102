"""The one reader of ``.config`` files and fragments: kconfiglib against placer's Kconfig model.

Zephyr merges ``.config``, ``prj.conf`` and extra fragments with kconfiglib
(``scripts/kconfig/kconfig.py``); placer does the same, against ``llext.kconfig``, a model
of the symbols it reads and writes (shipped in the package; see the file for its
sources). Each value of a modelled symbol is given to kconfiglib as its ``.config``
loader gives it, so a value Kconfig refuses is refused here with its ``file:line``: an
int written in hex, a bool that is not ``y``/``n``, a malformed string (kconfiglib's
warning, captured rather than printed, becomes a `ConfigError`: Zephyr's build stops on
it). Within a choice the last ``=y`` wins, as in Kconfig.

Symbols the model does not declare (``CONFIG_BOARD``, ``CONFIG_SRAM_SIZE``, an
application's symbol groups) are kept as written, provided the value is one Kconfig
could have written: ``y``, ``n``, ``m``, a number or a quoted string. Every caller -- the
LLEXT configuration (`placer.config.read_config`) and the C preprocessor's macros
(`placer.script.kconfig_macros`) -- gets its values from `read_kconfig_files`, so the two
cannot disagree about a file.

This module depends on nothing of placer but its errors: the language layer
(`placer.script`) may use it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from placer import records
from placer.errors import ConfigError, ScriptError

if TYPE_CHECKING:
    import kconfiglib

#: The Kconfig model's file name inside the shipped ``kconfig`` data folder.
MODEL_FILE = "llext.kconfig"

# The .config syntax, as kconfiglib's loader matches it (on the line without trailing
# blanks): an assignment, or the "is not set" comment that turns a bool off.
_ASSIGNMENT = re.compile(r"CONFIG_([^=]+)=(.*)", re.ASCII)
_NOT_SET = re.compile(r"# CONFIG_([^ ]+) is not set", re.ASCII)
_NAME = re.compile(r"[A-Za-z0-9_]+")
_NUMBER = re.compile(r"-?(0[xX][0-9a-fA-F]+|[0-9]+)")
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')


@records.frozen
class Assignment:
    """One ``CONFIG_NAME=value`` (or ``# CONFIG_NAME is not set``) line of a file.

    `name` has no ``CONFIG_`` prefix. `text` is the value as written (a string keeps its
    quotes); ``# ... is not set`` reads as ``n``.
    """

    name: str
    text: str
    file: str
    line: int
    #: Written as ``# CONFIG_NAME is not set``.
    unset: bool = False

    @property
    def where(self) -> str:
        """``file:line`` of the assignment."""
        return f"{self.file}:{self.line}"

    @property
    def is_string(self) -> bool:
        """Whether the value is a quoted string."""
        return self.text.startswith('"')


@records.frozen
class KconfigValues:
    """What Kconfig makes of a sequence of ``.config`` files and fragments.

    `assignments` holds the assignment that counts for each symbol (the last one), in the
    order the symbols first appear. `modelled` names the symbols placer's model declares;
    their assignments were checked by Kconfig's rules for their type. `selections` maps
    each choice of the model to the entry the files selected (the last ``=y``), if any.
    `warnings` are located messages about things Kconfig accepts.
    """

    assignments: tuple[Assignment, ...]
    modelled: frozenset[str]
    selections: tuple[tuple[str, str], ...] = ()
    warnings: tuple[str, ...] = ()

    def get(self, name: str) -> Assignment | None:
        """The assignment that counts for `name` (no prefix), or None."""
        for assignment in self.assignments:
            if assignment.name == name:
                return assignment
        return None

    def selection(self, choice: str) -> str | None:
        """The entry of `choice` the files selected, or None."""
        return dict(self.selections).get(choice)

    def enabled(self, name: str) -> bool:
        """Whether `name` is a choice's selection or assigned y (as ``autoconf.h`` sees it)."""
        choice_of = {entry: choice for choice, entry in self.selections}
        if name in choice_of or self._is_choice_entry(name):
            return self.selection(choice_of.get(name, "")) == name
        assignment = self.get(name)
        return assignment is not None and assignment.text == "y"

    def _is_choice_entry(self, name: str) -> bool:
        return name in _CHOICE_ENTRIES

    def macros(self) -> tuple[tuple[str, str], ...]:
        """``(name, value)`` of each macro ``autoconf.h`` would define for these values:
        ``y`` is 1, ``n`` defines nothing, ``m`` defines ``CONFIG_X_MODULE``, numbers and
        strings keep their text; of a choice only the selected entry is defined."""
        out: list[tuple[str, str]] = []
        for assignment in self.assignments:
            name, text = f"CONFIG_{assignment.name}", assignment.text
            if text == "y":
                if self.enabled(assignment.name):
                    out.append((name, "1"))
            elif text == "m":
                out.append((f"{name}_MODULE", "1"))
            elif text != "n":
                out.append((name, text))
        return tuple(out)


#: The entries of the model's choices (an entry's y is a selection, not a plain value).
_CHOICE_ENTRIES = frozenset({
    "LLEXT_TYPE_ELF_OBJECT", "LLEXT_TYPE_ELF_RELOCATABLE", "LLEXT_TYPE_ELF_SHAREDLIB",
    "LLEXT_HEAP_K_HEAP", "LLEXT_HEAP_MEMBLK",
})


def model_path() -> Path:
    """The shipped Kconfig model (``llext.kconfig``)."""
    from placer._resources import data_dir

    return data_dir("kconfig") / MODEL_FILE


def load_model() -> kconfiglib.Kconfig:
    """A fresh kconfiglib tree of placer's model, warnings captured rather than printed.

    Parsing the model takes a few milliseconds; each call gets its own tree because
    loading values mutates it.
    """
    import kconfiglib  # imported here: only commands that read Kconfig pay for it

    kconf = kconfiglib.Kconfig(str(model_path()), warn_to_stderr=False, encoding="utf-8")
    # Zephyr lets a later fragment override an earlier one without a word; placer warns
    # about a repeat inside one file itself (see _scan).
    kconf.warn_assign_override = False
    kconf.warn_assign_redun = False
    # Symbols outside the model are placer's business (kept as written), not warnings.
    kconf.warn_assign_undef = False
    return kconf


def read_kconfig_files(paths: Sequence[str | Path], *,
                       base: Sequence[tuple[str, str]] = ()) -> KconfigValues:
    """Merge the ``.config`` files and fragments `paths` (later ones win) as Kconfig does.

    `base` holds ``(name, value)`` assignments loaded before the files (placer reads a
    configuration for an LLEXT build, so its callers start from ``LLEXT=y``). Raises
    `ScriptError` for a line that is not an assignment, a comment or blank, and for a
    value outside the model that Kconfig could not have written; `ConfigError` (option and
    ``file:line``) for a value Kconfig refuses for a modelled symbol, and for a file that
    cannot be read or is not UTF-8.
    """
    texts = [(str(path), _read(Path(path))) for path in paths]
    return kconfig_values(texts, base=base)


def kconfig_values(texts: Sequence[tuple[str, str]], *,
                   base: Sequence[tuple[str, str]] = ()) -> KconfigValues:
    """`read_kconfig_files` for ``(file name, text)`` pairs already read."""
    return _merge(texts, base)[1]


def ineffective_assignments(texts: Sequence[tuple[str, str]], *,
                            base: Sequence[tuple[str, str]] = ()) -> tuple[str, ...]:
    """What Zephyr's Kconfig step warns about after merging `texts` on top of `base` (the
    board's values): each assignment to a modelled symbol whose value did not take (an
    unmet ``depends on``, a symbol without a prompt) and each choice entry set to y that
    did not become the selection, located at its ``file:line``. Empty when every value
    survives."""
    kconf, values = _merge(texts, base)
    return _ineffective(kconf, values)


def ineffective(assignments: Sequence[Assignment], *,
                base: Sequence[tuple[str, str]] = ()) -> tuple[str, ...]:
    """`ineffective_assignments` for assignments already read (each keeps its place)."""
    kconf, values = _merge_assignments([list(assignments)], base)
    return _ineffective(kconf, values)


def _ineffective(kconf: kconfiglib.Kconfig, values: KconfigValues) -> tuple[str, ...]:
    import kconfiglib

    out: list[str] = []
    for assignment in values.assignments:
        if assignment.name not in values.modelled:
            continue
        sym = kconf.syms[assignment.name]
        kind = kconfiglib.TYPE_TO_STR[sym.orig_type]
        name = f"CONFIG_{assignment.name}"
        if sym.choice is not None:
            if assignment.text.startswith("y") and sym.choice.selection is not sym:
                chosen = sym.choice.selection.name if sym.choice.selection else "no entry"
                out.append(f"{assignment.where}: warning: {name}=y has no effect: {chosen} "
                           f"is the choice's selection{_unmet(sym.direct_dep)}")
            continue
        wanted = assignment.text
        if kind in ("bool", "tristate"):
            wanted = wanted[:1]
        elif kind == "string":
            wanted = kconfiglib.unescape(wanted[1:-1])
        got = sym.str_value
        if kind in ("int", "hex") and got:
            radix = 10 if kind == "int" else 16
            same = int(got, radix) == int(wanted, radix)
        else:
            same = got == wanted
        if not same:
            out.append(f"{assignment.where}: warning: {name}={assignment.text} has no effect: "
                       f"Kconfig gives it {got!r}{_unmet(sym.direct_dep)}")
    return tuple(out)


def _unmet(dependency: object) -> str:
    """``, as it depends on E, and A does not hold``: the parts of a ``depends on`` (its
    ``&&`` operands) that are false."""
    import kconfiglib

    if kconfiglib.expr_value(dependency):
        return ""
    parts = kconfiglib.split_expr(dependency, kconfiglib.AND)
    false = [kconfiglib.expr_str(p) for p in parts if not kconfiglib.expr_value(p)]
    return (f", as it depends on {kconfiglib.expr_str(dependency)}, and "
            f"{' and '.join(false)} does not hold")


def _merge(texts: Sequence[tuple[str, str]], base: Sequence[tuple[str, str]]
           ) -> tuple[kconfiglib.Kconfig, KconfigValues]:
    kconf, modelled, ignored = _model()
    warnings: list[str] = []
    lists = [_scan(text, file, modelled, ignored, warnings) for file, text in texts]
    return _merge_assignments(lists, base, (kconf, modelled, ignored), warnings)


def _model() -> tuple[kconfiglib.Kconfig, frozenset[str], frozenset[str]]:
    import kconfiglib

    kconf = load_model()
    modelled = frozenset(name for name, sym in kconf.syms.items() if sym.nodes)
    # "# CONFIG_X is not set" means nothing to an int, hex or string symbol (Kconfig's
    # loader skips it), so it neither replaces nor repeats an assignment.
    ignored = frozenset(name for name in modelled
                        if kconfiglib.TYPE_TO_STR[kconf.syms[name].orig_type]
                        not in ("bool", "tristate"))
    return kconf, modelled, ignored


def _merge_assignments(
        lists: Sequence[Sequence[Assignment]], base: Sequence[tuple[str, str]],
        model: tuple[kconfiglib.Kconfig, frozenset[str], frozenset[str]] | None = None,
        warnings: Sequence[str] = ()) -> tuple[kconfiglib.Kconfig, KconfigValues]:
    kconf, modelled, _ = model if model is not None else _model()
    for name, value in base:
        kconf.syms[name].set_value(value)
    latest: dict[str, Assignment] = {}
    for assignments in lists:
        for assignment in assignments:
            if assignment.name in modelled:
                _assign(kconf, assignment)
            latest.pop(assignment.name, None)
            latest[assignment.name] = assignment
    selections = tuple(
        (choice.name, choice.user_selection.name) for choice in kconf.unique_choices
        if choice.name is not None and choice.user_selection is not None)
    return kconf, KconfigValues(tuple(latest.values()), modelled, selections, tuple(warnings))


def _assign(kconf: kconfiglib.Kconfig, assignment: Assignment) -> None:
    """Give a modelled symbol its value through kconfiglib, as its ``.config`` loader does:
    a bool takes the first letter of ``y...``/``n...``, a string is unquoted, and a value
    of the wrong type is refused (Kconfig ignores it with a warning, which Zephyr's build
    turns into an error; here it is a `ConfigError` at the assignment)."""
    import kconfiglib

    sym = kconf.syms[assignment.name]
    kind = kconfiglib.TYPE_TO_STR[sym.orig_type]
    text = assignment.text
    if kind in ("bool", "tristate"):
        value = text[0] if text.startswith(("y", "n")) else text
    elif kind == "string":
        if not _STRING.fullmatch(text):
            raise ConfigError((assignment.name,), f"{text} is not a well-formed quoted string",
                              'write a quoted string such as "linker.ld"', assignment.where)
        value = kconfiglib.unescape(text[1:-1])
    else:
        value = text
    before = len(kconf.warnings)
    accepted = sym.set_value(value)
    del kconf.warnings[before:]
    if not accepted:
        fixes = {"int": "write a decimal number such as 8 (an int option takes no hex)",
                 "hex": "write a hex number such as 0x1000"}
        article = "an" if kind == "int" else "a"
        raise ConfigError((assignment.name,), f"{text!r} is not {article} {kind} value "
                          "(Kconfig ignores the assignment, and Zephyr's build stops on it)",
                          fixes.get(kind, "write y or n"), assignment.where)


def _read(path: Path) -> str:
    # Bounded and strict (placer.inputs): a FIFO, a huge file or a byte that is not UTF-8
    # is an InputError at its place; Kconfig writes UTF-8, so no encoding is guessed.
    from placer.inputs import read_input_text

    return read_input_text(path, what="configuration file")


def _scan(text: str, file: str, modelled: frozenset[str], ignored: frozenset[str],
          warnings: list[str]) -> list[Assignment]:
    """The assignments of one file, checked for the syntax Kconfig's loader accepts."""
    found: list[Assignment] = []
    seen: dict[str, Assignment] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.rstrip()
        if not line:
            continue
        match = _ASSIGNMENT.fullmatch(line)
        if match is not None:
            name, value = match[1], match[2]
        else:
            unset = _NOT_SET.fullmatch(line)
            if unset is None:
                if line.lstrip().startswith("#"):
                    continue
                column = len(line) - len(line.lstrip()) + 1
                raise ScriptError(
                    "expected `CONFIG_NAME=value`, `# CONFIG_NAME is not set`, a `#` comment "
                    "or a blank line", file, number, column, source_line=raw)
            name, value = unset[1], "n"
            if name in ignored:
                continue
        if not _NAME.fullmatch(name):
            raise ScriptError(f"CONFIG_{name} is not a Kconfig symbol name", file, number, 1,
                              source_line=raw)
        column = line.index("=") + 2 if match is not None else 1
        if name not in modelled:
            _check_foreign(name, value, file, number, column, raw)
        assignment = Assignment(name, value, file, number, unset=match is None)
        previous = seen.get(name)
        if previous is not None and previous.text != value:
            warnings.append(f"{file}:{number}: warning: CONFIG_{name} set again (was "
                            f"{previous.text!r} at line {previous.line}); the last value "
                            "wins")
        seen[name] = assignment
        found.append(assignment)
    return found


def _check_foreign(name: str, value: str, file: str, line: int, column: int,
                   raw: str) -> None:
    # A symbol outside the model: Kconfig wrote it (or a user did, for Kconfig to read), so
    # its value is one of a Kconfig type; anything else is a typo placer must not guess.
    if value in ("y", "n", "m") or _NUMBER.fullmatch(value) or _STRING.fullmatch(value):
        return
    if value.startswith('"'):
        raise ScriptError("unterminated string value", file, line, column, source_line=raw)
    raise ScriptError(f"value of CONFIG_{name} is not y, n, m, a number or a quoted string: "
                      f"{value!r}", file, line, column, source_line=raw)


__all__ = ["MODEL_FILE", "Assignment", "KconfigValues", "ineffective", "ineffective_assignments",
           "kconfig_values", "load_model", "model_path", "read_kconfig_files"]
