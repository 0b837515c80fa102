"""A plain, seeded mutator: the same (seed, iteration) gives the same input on any machine.

Text inputs get byte flips, inserted hostile bytes (controls, vertical tab, form feed,
non-UTF-8, NUL), deleted, duplicated and repeated ranges, tokens of the input's own
language from a dictionary, and truncation. ELF inputs get words of the ELF header and
of the section header table overwritten with boundary values, as a damaged or hostile
file has them, besides the same byte-level damage.
"""

from __future__ import annotations

import random
import struct
from collections.abc import Callable, Sequence

#: Largest input a mutation may produce: enough for deep nesting and long lines, small
#: enough that the 2 s per input is a statement about placer, not about the input size.
MAX_SIZE = 96 * 1024

_HOSTILE_BYTES = (b"\x00", b"\x0b", b"\x0c", b"\r", b"\t", b"\xff", b"\xe9", b"\xc3",
                  b"\x80", b"\n", b" ", b'"', b"'", b"\\", b"/*", b"*/", b"#", b"{", b"}",
                  b"(", b")", b";", b"=", b",", b"[", b"]")
_NUMBERS = (b"0", b"1", b"-1", b"0x", b"0xffffffff", b"0x7fffffff", b"0x100000000",
            b"18446744073709551616", b"9" * 40, b"1K", b"4M", b"0b", b"077", b"09")
_WORDS = (0, 1, 2, 0x7F, 0x80, 0xFF, 0x100, 0xFFFF, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF,
          0xFFFFFFFFFFFFFFFF)


class Mutator:
    """Mutations of `seeds` for one input kind; `tokens` are that language's words."""

    def __init__(self, seeds: Sequence[bytes], tokens: Sequence[bytes] = (),
                 binary: bool = False) -> None:
        if not seeds:
            raise ValueError("a mutator needs at least one seed")
        self.seeds = tuple(seeds)
        self.tokens = tuple(tokens) + _HOSTILE_BYTES + _NUMBERS
        self.binary = binary

    def input(self, seed: int, iteration: int) -> bytes:
        """The input of `iteration` in the campaign `seed`."""
        rng = random.Random(f"{seed}:{iteration}")
        data = bytearray(rng.choice(self.seeds))
        for _ in range(rng.choice((1, 1, 2, 3, 4, 8))):
            operation = rng.choice(self._operations())
            operation(self, rng, data)
            if len(data) > MAX_SIZE:
                del data[MAX_SIZE:]
        return bytes(data)

    def _operations(self) -> tuple[Operation, ...]:
        common: tuple[Operation, ...] = (_flip, _insert_token, _delete, _duplicate, _repeat,
                                          _truncate, _splice)
        if self.binary:
            return (*common, _elf_word, _elf_word, _elf_word, _elf_section_word,
                    _elf_section_word)
        return common


#: One mutation: of `data` in place, drawing from the mutator's seeds and tokens.
Operation = Callable[[Mutator, random.Random, bytearray], None]


def _position(rng: random.Random, data: bytearray) -> int:
    return rng.randrange(len(data) + 1)


def _flip(m: Mutator, rng: random.Random, data: bytearray) -> None:
    if data:
        data[rng.randrange(len(data))] ^= 1 << rng.randrange(8)


def _insert_token(m: Mutator, rng: random.Random, data: bytearray) -> None:
    at = _position(rng, data)
    data[at:at] = rng.choice(m.tokens)


def _delete(m: Mutator, rng: random.Random, data: bytearray) -> None:
    if data:
        start = rng.randrange(len(data))
        del data[start:start + rng.choice((1, 2, 8, 64, 512))]


def _duplicate(m: Mutator, rng: random.Random, data: bytearray) -> None:
    if data:
        start = rng.randrange(len(data))
        chunk = data[start:start + rng.choice((1, 8, 64, 512, 4096))]
        at = _position(rng, data)
        data[at:at] = chunk


def _repeat(m: Mutator, rng: random.Random, data: bytearray) -> None:
    """A chunk repeated many times: deep nesting, long lines, huge expressions."""
    if data:
        start = rng.randrange(len(data))
        chunk = bytes(data[start:start + rng.choice((1, 2, 4, 16))])
        at = _position(rng, data)
        data[at:at] = chunk * rng.choice((16, 256, 2048))


def _truncate(m: Mutator, rng: random.Random, data: bytearray) -> None:
    if data:
        del data[rng.randrange(len(data)):]


def _splice(m: Mutator, rng: random.Random, data: bytearray) -> None:
    """A piece of another seed: constructs of one file in the context of another."""
    other = rng.choice(m.seeds)
    if other:
        start = rng.randrange(len(other))
        at = _position(rng, data)
        data[at:at] = other[start:start + rng.choice((16, 128, 1024))]


def _put_word(rng: random.Random, data: bytearray, at: int) -> None:
    size = rng.choice((1, 2, 4, 8))
    value = rng.choice(_WORDS) if rng.random() < 0.8 else rng.getrandbits(8 * size)
    order = "<" if rng.random() < 0.5 else ">"
    packed = struct.pack(order + {1: "B", 2: "H", 4: "I", 8: "Q"}[size],
                         value & ((1 << (8 * size)) - 1))
    data[at:at + size] = packed[:max(0, len(data) - at)]


def _elf_word(m: Mutator, rng: random.Random, data: bytearray) -> None:
    """A header field (e_shoff, e_shnum, e_shstrndx, e_phoff...) set to a boundary value."""
    if len(data) > 16:
        _put_word(rng, data, rng.randrange(16, min(len(data), 64)))


def _elf_section_word(m: Mutator, rng: random.Random, data: bytearray) -> None:
    """A field of one section header (sh_offset, sh_size, sh_link, sh_entsize...)."""
    table = _section_table(data)
    if table is None:
        _elf_word(m, rng, data)
        return
    start, entry, count = table
    index = rng.randrange(max(count, 1))
    at = start + index * entry + rng.randrange(entry)
    if at < len(data):
        _put_word(rng, data, at)


def _section_table(data: bytearray) -> tuple[int, int, int] | None:
    if len(data) < 52 or data[:4] != b"\x7fELF":
        return None
    order = "<" if data[5] == 1 else ">"
    if data[4] == 2 and len(data) >= 64:
        start, = struct.unpack_from(order + "Q", data, 0x28)
        entry, count = struct.unpack_from(order + "HH", data, 0x3A)
    else:
        start, = struct.unpack_from(order + "I", data, 0x20)
        entry, count = struct.unpack_from(order + "HH", data, 0x2E)
    if not entry or start >= len(data):
        return None
    return start, entry, count
