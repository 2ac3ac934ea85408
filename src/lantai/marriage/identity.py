"""Identity numbers of marriage parties and requesters, kept so that only roles that need the full
number see it (婚姻登记档案 are personal information, PIPL art 28: 敏感个人信息).

- ``lookup_hash``: HMAC-SM3 under the archives' personal-data key of the normalised number (an
  18-digit 居民身份证 number in upper case; a 15-digit one upgraded to 18 digits first, so either
  form finds the same person), cut to 128 bits: what the exact search compares.
- ``seal`` / ``unseal``: SM4-GCM of the number as given, for the few screens allowed to show it.
- ``mask``: what every other screen, log, export and certificate shows.

The key file ``DATA_DIR/keys/personal-data.key`` holds 48 random bytes (16 for SM4, 32 for the
HMAC) and is made on first use (core/key_files.py). Losing it loses the sealed numbers and the
lookup: the operator guide tells operators to back it up with the database."""

from __future__ import annotations

import base64
import functools
import os
import re
import unicodedata
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, hmac
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from lantai.access.models import mask_id
from lantai.core.key_files import KeyFileError, key_path, read_private, write_once
from lantai.standards import personal_ids

__all__ = [
    "is_resident", "lookup_hash", "mask", "mask_in_text", "mask_name", "normalise", "seal", "unseal",
]  # fmt: skip

KEY_FILE = "personal-data.key"
RESIDENT_ID = "居民身份证"  # the code in marriage-profile.yaml; access requests say "resident_id"
_RESIDENT = frozenset({"", RESIDENT_ID, "resident_id"})


@functools.lru_cache(maxsize=4)
def _keys(path: str) -> tuple[bytes, bytes]:
    """Made on first use, then read once per process: the import hashes millions of numbers."""
    write_once(Path(path), lambda: os.urandom(48))
    raw = read_private(Path(path), "个人信息密钥文件", "personal-data key file")
    if len(raw) != 48:
        raise KeyFileError(
            f"个人信息密钥文件 {path} 应为 48 字节，实为 {len(raw)} 字节",
            f"the personal-data key file {path} must hold 48 bytes, not {len(raw)}",
        )
    return raw[:16], raw[16:]


def _key_pair() -> tuple[bytes, bytes]:
    return _keys(key_path(KEY_FILE))


def is_resident(id_type: str) -> bool:
    return id_type in _RESIDENT


def normalise(id_type: str, number: str) -> str:
    """The comparable form of a number: NFKC (full-width → ASCII), no spaces, upper case; a valid
    15-digit 居民身份证 number as its 18-digit form."""
    text = "".join(unicodedata.normalize("NFKC", number).split()).upper()
    if id_type in _RESIDENT and len(text) == 15 and personal_ids.id15_problem(text) is None:
        return personal_ids.id15_to_18(text)
    return text


def lookup_hash(id_type: str, number: str) -> str:
    """32 hex digits: the keyed hash the exact search compares. Passports and other documents are
    hashed with their type, so equal numbers of different kinds do not meet."""
    _sm4, mac_key = _key_pair()
    kind = "resident_id" if id_type in _RESIDENT else "document"
    h = hmac.HMAC(mac_key, hashes.SM3())
    h.update(f"{kind}:{normalise(id_type, number)}".encode())
    return h.finalize()[:16].hex()


def seal(number: str) -> str:
    sm4_key, _mac = _key_pair()
    nonce = os.urandom(12)
    encryptor = Cipher(algorithms.SM4(sm4_key), modes.GCM(nonce)).encryptor()
    body = encryptor.update(number.encode()) + encryptor.finalize()
    return base64.b64encode(nonce + body + encryptor.tag).decode("ascii")


def unseal(token: str) -> str:
    """The number sealed in ``token`` (ValueError if it was not sealed with this key)."""
    sm4_key, _mac = _key_pair()
    raw = base64.b64decode(token)
    nonce, body, tag = raw[:12], raw[12:-16], raw[-16:]
    decryptor = Cipher(algorithms.SM4(sm4_key), modes.GCM(nonce, tag)).decryptor()
    try:
        return (decryptor.update(body) + decryptor.finalize()).decode()
    except InvalidTag as exc:
        raise ValueError("证件号码密文无法用本馆密钥解开") from exc


def mask(number: str) -> str:
    return mask_id(normalise("", number))


_DIGIT = "[0-9０-９]"
_ID_IN_TEXT = re.compile(
    rf"(?<![0-9０-９A-Za-zＡ-Ｚａ-ｚ]){_DIGIT}{{14}}(?:{_DIGIT}{{3}}[0-9０-９XxＸｘ]|{_DIGIT})"
    r"(?![0-9０-９A-Za-zＡ-Ｚａ-ｚ])"
)


def mask_in_text(text: str) -> str:
    """``text`` with every run that looks like a 居民身份证 number (15, or 17 digits and a check
    character; full-width forms too) masked, the rest left as written: for free text a clerk typed
    (a proof's reference) and for error reports."""
    return _ID_IN_TEXT.sub(lambda m: mask(m.group(0)), text)


def mask_name(name: str) -> str:
    """张三丰 → 张*丰, 张三 → 张*, 欧阳娜娜 → 欧**娜: the surname's first and the last character."""
    if len(name) <= 1:
        return name
    if len(name) == 2:
        return name[0] + "*"
    return name[0] + "*" * (len(name) - 2) + name[-1]
