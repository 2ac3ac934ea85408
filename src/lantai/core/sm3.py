"""SM3 (GB/T 32905) digests: one stream through `cryptography` (which carries its own OpenSSL),
many whole messages at once through the SIMD lanes of `_sm3lanes` (decision 0016).

The lanes are a C extension that is built only where a C compiler was present (setup.py: optional).
Without it every message goes through the library SM3 one after the other: the same digests, only
slower for many small files; `backend()` says which one runs (`lantai` reports it, and a warning is
logged once at import)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import BinaryIO, Literal

from cryptography.hazmat.primitives import hashes

_lanes_many: Callable[[Sequence[bytes | bytearray | memoryview]], list[bytes]] | None
try:
    from lantai.core._sm3lanes import FAST as _FAST
    from lantai.core._sm3lanes import sm3_many as _lanes_many
except ImportError:  # built without a C compiler: the library SM3 does the work
    _FAST = False
    _lanes_many = None
    logging.getLogger(__name__).warning(
        "SM3 lanes extension (lantai.core._sm3lanes) not installed: SM3 of many files uses the "
        "library SM3 (cryptography/OpenSSL), same digests, slower for many small files"
    )

LANES_FAST: bool = bool(_FAST)  # the lanes beat OpenSSL here (AVX-512); see sm3_many

CHUNK = 1024 * 1024

Backend = Literal["lanes", "library"]


def backend() -> Backend:
    """Which SM3 computes `sm3_many`: "lanes" (the C extension) or "library" (cryptography's
    OpenSSL, when the extension was not built)."""
    return "lanes" if _lanes_many is not None else "library"


def backend_details() -> dict[str, str | bool]:
    """The SM3 backend for reports (`lantai` checks, readiness details): which one, whether the
    lanes are the fast path on this CPU, and the library beneath `sm3_hex`/`sm3_stream`."""
    import cryptography

    return {
        "backend": backend(),
        "lanes_fast": LANES_FAST,
        "library": f"cryptography {cryptography.__version__}",
    }


def sm3_hex(data: bytes) -> str:
    h = hashes.Hash(hashes.SM3())
    h.update(data)
    return h.finalize().hex()


def sm3_stream(stream: BinaryIO) -> str:
    h = hashes.Hash(hashes.SM3())
    while chunk := stream.read(CHUNK):
        h.update(chunk)
    return h.finalize().hex()


def _library_many(messages: Sequence[bytes | bytearray | memoryview]) -> list[str]:
    out = []
    for m in messages:
        if not isinstance(m, bytes | bytearray | memoryview):
            raise TypeError(f"sm3_many: a bytes-like object is required, not {type(m).__name__}")
        h = hashes.Hash(hashes.SM3())
        h.update(m)
        out.append(h.finalize().hex())
    return out


def sm3_many(messages: Sequence[bytes | bytearray | memoryview]) -> list[str]:
    """The hex SM3 digests of `messages`, in order: 16 messages hashed side by side, several
    times faster than one after the other when there are many (small files) and `LANES_FAST`
    (AVX-512); slower than OpenSSL one by one otherwise. Without the extension: the library SM3,
    one message after the other."""
    if _lanes_many is None:
        return _library_many(messages)
    return [d.hex() for d in _lanes_many(messages)]
