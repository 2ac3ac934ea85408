"""SM3 of many messages in SIMD lanes (`_sm3lanes.c`) against GB/T 32905's examples and OpenSSL."""

from __future__ import annotations

import hashlib
import random

import pytest

from lantai.core.sm3 import sm3_hex, sm3_many

# GB/T 32905-2016, appendix A: "abc" and "abcd" x 16
SM3_ABC = "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"
SM3_ABCD16 = "debe9ff92275b8a138604889c18e5a4d6fdb70e5387e5765293dcba39c0c5732"


def test_standard_examples() -> None:
    assert sm3_many([b"abc", b"abcd" * 16]) == [SM3_ABC, SM3_ABCD16]
    assert sm3_many([]) == []


def test_every_length_around_the_padding_boundaries() -> None:
    """Lengths 0 to 200 (one or two padding blocks, 55/56 and 119/120 among them), more messages
    than lanes, so lanes take new messages as others end."""
    rnd = random.Random(32905)
    messages = [rnd.randbytes(n) for n in range(201)]
    assert sm3_many(messages) == [sm3_hex(m) for m in messages]


def test_uneven_lengths_and_the_scalar_finish() -> None:
    """One long message outlasting many short ones (finished in scalar code), in any order,
    and every bytes-like type."""
    rnd = random.Random(7)
    messages: list[bytes | bytearray | memoryview] = [
        rnd.randbytes(rnd.randrange(5000)) for _ in range(40)
    ]
    messages.insert(rnd.randrange(40), rnd.randbytes(3 << 20))
    messages += [bytearray(b"abc"), memoryview(b"xabcx")[1:4]]
    expected = [hashlib.new("sm3", bytes(m)).hexdigest() for m in messages]
    assert sm3_many(messages) == expected
    assert sm3_many(messages[::-1]) == expected[::-1]


def test_not_bytes_is_refused() -> None:
    with pytest.raises(TypeError):
        sm3_many(["abc"])  # type: ignore[list-item]
    with pytest.raises(TypeError):
        sm3_many(None)  # type: ignore[arg-type]
