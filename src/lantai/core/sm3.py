"""SM3 (GB/T 32905) digests through `cryptography`, which carries its own OpenSSL."""

from __future__ import annotations

from typing import BinaryIO

from cryptography.hazmat.primitives import hashes

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
