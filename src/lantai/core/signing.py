"""The archives' own SM2 signing key (GB/T 32918 with SM3, GB/T 35276 default user ID), used to
sign what the archives sends out (the appraisal exchange, docs/formats/appraisal-exchange-1.0.md).

- The key lives in ``DATA_DIR/keys/archive-sm2.key`` (PEM, PKCS#8, the same form as
  ``openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:SM2`` writes, so an operator may put
  such a key there or inspect ours with ``openssl pkey``). It is made on first use with mode 0600
  in a 0700 directory, never stored in the database or the repository; a key file that group or
  others may read is refused, as ssh refuses one.
- A public key is the uncompressed point ``04 || x || y``, 130 hex digits.
- The fingerprint is the SM3 digest of those 65 bytes, all 64 hex digits (lower case): a 16-digit
  prefix (64 bits) would be too short to pin a key against a deliberately made second key.
- A signature is DER, ``SEQUENCE { INTEGER r, INTEGER s }`` (GB/T 35276 §7.3, what OpenSSL and
  most 国密 libraries write); :func:`verify` accepts only that form.

The curve arithmetic is Lantai's own (:mod:`lantai.standards.sm2`); the digests are SM3 from
``cryptography``. The nonce comes from :mod:`secrets`.
"""

from __future__ import annotations

import base64
import functools
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from Cryptodome.Util.asn1 import (
    DerBitString,
    DerInteger,
    DerObjectId,
    DerOctetString,
    DerSequence,
)

from lantai.standards import sm2 as std_sm2

from .key_files import KeyFileError, keys_dir, read_private, write_once
from .sm3 import sm3_hex

__all__ = ["KeyFileError", "SigningKey", "archive_key", "fingerprint", "load_key", "verify"]

KEY_FILE = "archive-sm2.key"
_N = std_sm2.N
_EC_PUBLIC_KEY = "1.2.840.10045.2.1"
_SM2_CURVE = "1.2.156.10197.1.301"
_PEM = "PRIVATE KEY"


def _der_items(der: bytes, **options: Any) -> list[Any]:
    """The elements of a DER SEQUENCE (INTEGERs as int, others as their DER bytes), strictly."""
    seq: Any = DerSequence().decode(der, strict=True, **options)  # the stubs type items as None
    return list(seq[:])


def _der_rs(r: int, s: int) -> bytes:
    """DER ``SEQUENCE { INTEGER r, INTEGER s }`` for 0 < r, s < n (written here: the general
    encoder costs a tenth of a signature). Each INTEGER is the shortest big-endian form with a
    0x00 in front when the top bit is set; the lengths are < 128, one byte each."""
    body = b""
    for value in (r, s):
        octets = value.to_bytes(value.bit_length() // 8 + 1, "big")  # room for the sign bit
        body += b"\x02" + bytes([len(octets)]) + octets
    return b"\x30" + bytes([len(body)]) + body


def fingerprint(public_key_hex: str) -> str:
    """SM3 of the uncompressed public key point, 64 lower-case hex digits."""
    return sm3_hex(bytes.fromhex(public_key_hex))


@dataclass(frozen=True)
class SigningKey:
    """An SM2 private key. ``repr`` does not show the private scalar."""

    _d: int

    @functools.cached_property
    def _point(self) -> bytes:
        return std_sm2.public_point(self._d)

    @property
    def public_key_hex(self) -> str:
        return self._point.hex()

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.public_key_hex)

    def __repr__(self) -> str:
        return f"SigningKey(fingerprint={self.fingerprint[:16]}…)"

    def sign(self, data: bytes) -> bytes:
        """The SM2-with-SM3 signature of ``data``, DER encoded."""
        e = int.from_bytes(std_sm2.digest_e(self._point, data), "big")
        while True:  # a nonce giving r = 0, r + k = n or s = 0 is drawn again (GB/T 32918.2 §6.1)
            rs = std_sm2.sign_e(self._d, e, secrets.randbelow(_N - 1) + 1)
            if rs:
                return _der_rs(*rs)

    @classmethod
    def generate(cls) -> SigningKey:
        return cls(secrets.randbelow(_N - 2) + 1)  # d in [1, n-2] (GB/T 32918.1 §6.1)

    def to_pem(self) -> bytes:
        inner = DerSequence(
            [
                DerInteger(1),
                DerOctetString(self._d.to_bytes(32, "big")),
                DerBitString(self._point, explicit=1),
            ]
        ).encode()
        algorithm = DerSequence([DerObjectId(_EC_PUBLIC_KEY), DerObjectId(_SM2_CURVE)])
        der = DerSequence([DerInteger(0), algorithm, DerOctetString(inner)]).encode()
        b64 = base64.encodebytes(der).decode("ascii").replace("\n", "")
        lines = [b64[i : i + 64] for i in range(0, len(b64), 64)]
        return "\n".join([f"-----BEGIN {_PEM}-----", *lines, f"-----END {_PEM}-----", ""]).encode()

    @classmethod
    def from_pem(cls, pem: bytes) -> SigningKey:
        """A PKCS#8 SM2 key (ValueError when it is not one)."""
        text = pem.decode("ascii").strip()
        head, tail = f"-----BEGIN {_PEM}-----", f"-----END {_PEM}-----"
        if not (text.startswith(head) and text.endswith(tail)):
            raise ValueError(f"not a PEM '{_PEM}'")
        der = base64.b64decode("".join(text[len(head) : -len(tail)].split()), validate=True)
        outer = _der_items(der)
        if len(outer) < 3 or outer[0] != 0:
            raise ValueError("not PKCS#8 version 0")
        algorithm = _der_items(outer[1])
        oids = [DerObjectId().decode(algorithm[i], strict=True).value for i in range(2)]
        if oids != [_EC_PUBLIC_KEY, _SM2_CURVE]:
            raise ValueError(f"not an SM2 key: {oids}")
        inner = _der_items(DerOctetString().decode(outer[2], strict=True).payload)
        if inner[0] != 1:
            raise ValueError("not an ECPrivateKey version 1")
        d = int.from_bytes(DerOctetString().decode(inner[1], strict=True).payload, "big")
        if not 1 <= d <= _N - 2:
            raise ValueError("private scalar out of range")
        key = cls(d)
        for item in inner[2:]:
            if isinstance(item, bytes) and item[:1] == b"\xa1":  # [1] publicKey: must agree
                bits = DerBitString(explicit=1).decode(item, strict=True).value
                if bits != key._point:
                    raise ValueError(
                        "the public key in the file does not belong to the private key"
                    )
        return key


def verify(public_key_hex: str, data: bytes, signature: bytes) -> bool:
    """Whether ``signature`` (DER) is an SM2-with-SM3 signature of ``data`` by that key. A
    malformed key or signature is False, not an exception."""
    try:
        point = bytes.fromhex(public_key_hex)
        if not std_sm2.on_curve(point):
            return False
        pair = _der_items(signature, nr_elements=2, only_ints_expected=True)
        r, s = int(pair[0]), int(pair[1])
    except (ValueError, TypeError, IndexError, EOFError):
        return False
    try:
        return std_sm2.verify_rs(point, r, s, data)
    except ValueError:
        return False


def archive_key(directory: Path | None = None) -> SigningKey:
    """The archives' key, made on first use. ``directory`` defaults to ``DATA_DIR/keys``."""
    return load_key((Path(directory) if directory is not None else keys_dir()) / KEY_FILE)


def load_key(path: Path) -> SigningKey:
    """The SM2 key in ``path``, made there on first use (core/key_files.py)."""
    write_once(path, lambda: SigningKey.generate().to_pem())
    pem = read_private(path, "签名密钥文件", "signing key file")  # checks the mode every time
    return _parsed(str(path), pem)


@functools.lru_cache(maxsize=64)
def _parsed(path: str, pem: bytes) -> SigningKey:
    try:
        return SigningKey.from_pem(pem)
    except (ValueError, UnicodeError, IndexError, TypeError, EOFError) as exc:
        raise KeyFileError(
            f"签名密钥文件 {path} 不是 PKCS#8 格式的 SM2 私钥：{exc}",
            f"the signing key file {path} is not an SM2 private key in PKCS#8: {exc}",
        ) from exc
