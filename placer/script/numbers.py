"""Integer literals of the ld language, decoded exactly as GNU ld decodes them.

ld's lexer (binutils ``ldlex.l``) has three number rules in expression state:

* ``$`` followed by hex digits: hexadecimal (``$10`` is 16);
* hex digits followed by a base letter: ``h``/``x`` hex, ``o`` octal, ``b`` binary,
  ``d`` decimal (``1000h``, ``101b``, ``add`` is "ad" in decimal);
* ``0x`` hex, or decimal digits, optionally followed by ``K`` (x 1024) or ``M``
  (x 1024 * 1024); ``$hex`` also takes the suffix. Digits go through
  ``bfd_scan_vma(text, NULL, 0)``, so a leading ``0`` means octal (``010`` is 8).

``bfd_scan_vma`` is ``strtoul``: it stops at the first digit that is not valid in the
base and ignores the rest (``09`` is 0, ``12b`` is 1), and it saturates at 2**64 - 1 on
overflow; the K/M multiplication after it wraps at 64 bits. All of that is reproduced.
"""

from __future__ import annotations

_VMA_MASK = (1 << 64) - 1
_SUFFIX_BASE = {"h": 16, "x": 16, "o": 8, "b": 2, "d": 10}
_MULTIPLIER = {"k": 1024, "m": 1024 * 1024}
_HEX_DIGITS = "0123456789abcdefABCDEF"


def _scan_vma(digits: str, base: int) -> int:
    """``bfd_scan_vma``: the value of the longest prefix of `digits` valid in `base`,
    saturated at the largest 64-bit value as ``strtoul`` does."""
    value = 0
    for char in digits:
        digit = int(char, 16) if char in _HEX_DIGITS else base
        if digit >= base:
            break
        value = value * base + digit
    return min(value, _VMA_MASK)


def decode_number(text: str) -> int:
    """The value GNU ld gives the number token `text` (``0x10K`` -> 16384, ``010`` -> 8).

    Raises ValueError if `text` is not a number token of the ld language.
    """
    if not text:
        raise ValueError("empty number")
    last = text[-1].lower()
    multiplier = _MULTIPLIER.get(last, 1)
    body = text[:-1] if multiplier != 1 else text
    if text[0] == "$":
        digits = body[1:]
        _check(text, digits, _HEX_DIGITS)
        return (_scan_vma(digits, 16) * multiplier) & _VMA_MASK
    if text[:2] in ("0x", "0X") and len(text) > 2:
        digits = body[2:]
        _check(text, digits, _HEX_DIGITS)
        return (_scan_vma(digits, 16) * multiplier) & _VMA_MASK
    if body.isdigit():
        base = 8 if body.startswith("0") else 10
        return (_scan_vma(body, base) * multiplier) & _VMA_MASK
    if last in _SUFFIX_BASE:
        digits = text[:-1]
        _check(text, digits, _HEX_DIGITS)
        return _scan_vma(digits, _SUFFIX_BASE[last])
    raise ValueError(f"not an ld number: {text!r}")


def _check(text: str, digits: str, allowed: str) -> None:
    if not digits or any(c not in allowed for c in digits):
        raise ValueError(f"not an ld number: {text!r}")
