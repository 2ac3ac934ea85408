"""SM3 (GB/T 32905) digests: one stream through `cryptography` (which carries its own OpenSSL),
many whole messages at once through the SIMD lanes of `_sm3lanes` (decision 0016)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import BinaryIO

from cryptography.hazmat.primitives import hashes

from lantai.core._sm3lanes import FAST
from lantai.core._sm3lanes import sm3_many as _sm3_many

LANES_FAST = FAST  # the lanes beat OpenSSL here (AVX-512); see sm3_many

CHUNK = 1024 * 1024


def sm3_hex(data: bytes) -> str:
    h = hashes.Hash(hashes.SM3())
    h.update(data)
    return h.finalize().hex()


def sm3_stream(stream: BinaryIO) -> str:
    h = hashes.Hash(hashes.SM3())
    while chunk := stream.read(CHUNK):
        h.update(chunk)
    return h.finalize().hex()


def sm3_many(messages: Sequence[bytes | bytearray | memoryview]) -> list[str]:
    """The hex SM3 digests of `messages`, in order: 16 messages hashed side by side, several
    times faster than one after the other when there are many (small files) and `LANES_FAST`
    (AVX-512); slower than OpenSSL one by one otherwise."""
    return [d.hex() for d in _sm3_many(messages)]
