"""Signed envelopes for the provincial trust list and the archives' status lists
(docs/formats/certificate-payload-1.0.md §4-§5).

An envelope is ``{"format", "signed", "signer", "signature"}``: ``signed`` is the base64 of the
UTF-8 JSON body, ``signer`` the signing public key (``04 ‖ x ‖ y``, lower-case hex) and
``signature`` the base64 of the DER SM2-with-SM3 signature of exactly those bytes. A verifier
reads only the decoded ``signed`` bytes; nothing outside them is trusted.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import gzip
import json
import re
import zlib
from collections.abc import Collection, Iterable
from typing import Any, Protocol

from cryptography.hazmat.primitives import hashes

from . import sm2
from .certificate_payload import der_to_rs

__all__ = [
    "STATUS_LIST",
    "TRUST_LIST",
    "ListError",
    "is_set",
    "key_id_of",
    "key_may_sign",
    "make_bitstring",
    "on_curve",
    "open_envelope",
    "parse_date",
    "parse_time",
    "peek",
    "seal",
]

TRUST_LIST = "lantai-trust-list/1"
STATUS_LIST = "lantai-status-list/1"
FORMATS = (TRUST_LIST, STATUS_LIST)
MAX_STATUS_SIZE = 2**24
_ENVELOPE_KEYS = {"format", "signed", "signer", "signature"}
_TIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_PUBLIC_KEY = re.compile(r"04[0-9a-f]{128}")
_KEY_ID = re.compile(r"[0-9a-f]{16}")
_P = int("FFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00000000FFFFFFFFFFFFFFFF", 16)
_A = _P - 3
_B = int("28E9FA9E9D9F5E344D5A9E4BCF6509A7F39789F515AB8F92DDBCBD414D940E93", 16)


class ListError(ValueError):
    """An envelope or its body breaks a rule; ``code`` names which."""

    def __init__(self, code: str, message_zh: str, message_en: str) -> None:
        super().__init__(f"{message_zh} — {message_en}")
        self.code, self.message_zh, self.message_en = code, message_zh, message_en


class Signer(Protocol):
    """What seal needs of a key (lantai.core.signing.SigningKey has it)."""

    @property
    def public_key_hex(self) -> str: ...

    def sign(self, data: bytes) -> bytes: ...


def _sm3(data: bytes) -> bytes:
    h = hashes.Hash(hashes.SM3())
    h.update(data)
    return h.finalize()


def key_id_of(public_key_hex: str) -> str:
    """The 16-hex-digit key id: the first 8 bytes of the SM3 fingerprint of the key point."""
    return _sm3(bytes.fromhex(public_key_hex))[:8].hex()


def on_curve(public_key_hex: str) -> bool:
    if not isinstance(public_key_hex, str) or not _PUBLIC_KEY.fullmatch(public_key_hex):
        return False
    x, y = int(public_key_hex[2:66], 16), int(public_key_hex[66:], 16)
    return x < _P and y < _P and (y * y - (x * x * x + _A * x + _B)) % _P == 0


def parse_time(value: object, where: str) -> dt.datetime:
    """``YYYY-MM-DDThh:mm:ssZ`` (UTC, whole seconds), the only time form in the lists."""
    try:
        if isinstance(value, str) and _TIME.fullmatch(value):
            return dt.datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.UTC)
    except ValueError:
        pass
    raise ListError(
        "body",
        f"{where} 须为 UTC 时间，形如 2026-01-01T00:00:00Z，实为 {value!r}",
        f"{where} must be a UTC time like 2026-01-01T00:00:00Z, not {value!r}",
    )


def parse_date(value: object, where: str) -> dt.date:
    try:
        if isinstance(value, str) and _DATE.fullmatch(value):
            return dt.date.fromisoformat(value)
    except ValueError:
        pass
    raise ListError(
        "body",
        f"{where} 须为日期，形如 2026-12-31，实为 {value!r}",
        f"{where} must be a date like 2026-12-31, not {value!r}",
    )


def format_time(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def key_may_sign(issuer: dict[str, Any], at: dt.datetime) -> bool:
    """Whether the trust-list entry ``issuer`` may sign a certificate issued at ``at``: its UTC
    calendar date lies in [not_before, not_after]. The issuing side picks its key with this, so
    that it and the verifier agree around midnight and the new year."""
    day = at.astimezone(dt.UTC).date()
    return (
        parse_date(issuer["not_before"], "not_before")
        <= day
        <= parse_date(issuer["not_after"], "not_after")
    )


# --- bitstrings ------------------------------------------------------------------------------


def make_bitstring(size: int, revoked: Iterable[int]) -> str:
    """base64(gzip(bits)) of ``size`` bits, bit i set for each i in ``revoked``; bit 0 is the
    most significant bit of the first byte (as the W3C Bitstring Status List)."""
    if isinstance(size, bool) or not isinstance(size, int) or not 1 <= size <= MAX_STATUS_SIZE:
        raise ValueError(f"size must be 1..{MAX_STATUS_SIZE}")
    bits = bytearray((size + 7) // 8)
    for index in revoked:
        if not 0 <= index < size:
            raise ValueError(f"index {index} outside the list of {size} bits")
        bits[index // 8] |= 0x80 >> (index % 8)
    return base64.b64encode(gzip.compress(bytes(bits), mtime=0)).decode("ascii")


def _b64(value: object, where: str) -> bytes:
    """Strict base64: the standard alphabet, padded, canonical (one text per byte string)."""
    if isinstance(value, str):
        try:
            raw = base64.b64decode(value, validate=True)
            if base64.b64encode(raw).decode("ascii") == value:
                return raw
        except (binascii.Error, ValueError):
            pass
    raise ListError("envelope", f"{where} 不是规范的 base64", f"{where} is not canonical base64")


def _inflate(bits_b64: str, size: int) -> bytes:
    """The bitstring of ``size`` bits, refusing anything that inflates to another length."""
    data, expected = _b64(bits_b64, "bits"), (size + 7) // 8
    inflater = zlib.decompressobj(wbits=31)  # gzip only
    try:
        bits = inflater.decompress(data, expected + 1)
    except zlib.error as exc:
        raise ListError(
            "body", f"bits 不是有效的 gzip 数据：{exc}", f"bits is not valid gzip: {exc}"
        ) from exc
    if len(bits) != expected or not inflater.eof or inflater.unused_data:
        raise ListError(
            "body",
            f"bits 解压后应为 {expected} 字节（{size} 位）的单个 gzip 成员",
            f"bits must be one gzip member of {expected} bytes ({size} bits)",
        )
    return bits


def is_set(bits_b64: str, index: int) -> bool:
    """Whether bit ``index`` is set (ValueError if outside the bitstring)."""
    raw = zlib.decompress(base64.b64decode(bits_b64, validate=True), wbits=31)
    if not 0 <= index < len(raw) * 8:
        raise ValueError(f"index {index} outside the bitstring of {len(raw) * 8} bits")
    return bool(raw[index // 8] & (0x80 >> (index % 8)))


# --- bodies ----------------------------------------------------------------------------------


def _text(body: dict[str, Any], key: str, where: str) -> str:
    value = body.get(key)
    if not isinstance(value, str) or not value.strip():
        raise ListError(
            "body", f"{where}.{key} 须为非空字符串", f"{where}.{key} must be a non-empty string"
        )
    return value


def _optional_time(body: dict[str, Any], key: str, where: str) -> None:
    if body.get(key) is not None:
        parse_time(body[key], f"{where}.{key}")


def _check_trust_list(body: dict[str, Any]) -> None:
    _text(body, "province", "trust list")
    parse_time(body.get("issued"), "issued")
    parse_time(body.get("next_update"), "next_update")
    sequence = body.get("sequence")
    if isinstance(sequence, bool) or not isinstance(sequence, int) or not 0 <= sequence < 2**53:
        raise ListError("body", "sequence 须为非负整数", "sequence must be a non-negative integer")
    issuers = body.get("issuers")
    if not isinstance(issuers, list):
        raise ListError("body", "issuers 须为数组", "issuers must be an array")
    seen: set[str] = set()
    for i, issuer in enumerate(issuers):
        where = f"issuers[{i}]"
        if not isinstance(issuer, dict):
            raise ListError("body", f"{where} 须为对象", f"{where} must be an object")
        key = issuer.get("public_key")
        if not isinstance(key, str) or not on_curve(key):
            raise ListError(
                "body",
                f"{where}.public_key 须为 SM2 曲线上的未压缩点（04 开头，130 位小写十六进制）",
                f"{where}.public_key must be an uncompressed SM2 point (04…, 130 lower-case hex)",
            )
        key_id = issuer.get("key_id")
        if not isinstance(key_id, str) or key_id != key_id_of(key):
            raise ListError(
                "body",
                f"{where}.key_id 须为公钥 SM3 指纹的前 16 位十六进制",
                f"{where}.key_id must be the first 16 hex digits of the key's SM3 fingerprint",
            )
        if key_id in seen:
            raise ListError("body", f"{where}：密钥 {key_id} 重复", f"{where}: key {key_id} twice")
        seen.add(key_id)
        _text(issuer, "repository_code", where)
        _text(issuer, "archives", where)
        first = parse_date(issuer.get("not_before"), f"{where}.not_before")
        last = parse_date(issuer.get("not_after"), f"{where}.not_after")
        if first > last:
            raise ListError(
                "body",
                f"{where}：not_before 晚于 not_after",
                f"{where}: not_before is after not_after",
            )
        parse_time(issuer.get("valid_until"), f"{where}.valid_until")
        _optional_time(issuer, "withdrawn_at", where)
        _optional_time(issuer, "compromised_since", where)


def _check_status_list(body: dict[str, Any]) -> None:
    _text(body, "repository_code", "status list")
    parse_time(body.get("issued"), "issued")
    parse_time(body.get("next_update"), "next_update")
    size = body.get("size")
    if isinstance(size, bool) or not isinstance(size, int) or not 1 <= size <= MAX_STATUS_SIZE:
        raise ListError(
            "body", f"size 须为 1–{MAX_STATUS_SIZE} 的整数", f"size must be 1..{MAX_STATUS_SIZE}"
        )
    _inflate(body.get("bits"), size)  # type: ignore[arg-type]  # _b64 rejects a non-string


_CHECKS = {TRUST_LIST: _check_trust_list, STATUS_LIST: _check_status_list}


def _canonical(body: dict[str, Any]) -> bytes:
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode(
        "utf-8"
    )


def seal(format: str, body: dict[str, Any], key: Signer) -> dict[str, str]:
    """The envelope of ``body`` signed by ``key`` (ListError if the body breaks a rule)."""
    if format not in _CHECKS:
        raise ListError("format", f"未知的列表格式 {format!r}", f"unknown list format {format!r}")
    _CHECKS[format](body)
    signed = _canonical(body)
    return {
        "format": format,
        "signed": base64.b64encode(signed).decode("ascii"),
        "signer": key.public_key_hex,
        "signature": base64.b64encode(key.sign(signed)).decode("ascii"),
    }


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    keys = [k for k, _ in pairs]
    if len(set(keys)) != len(keys):
        raise ValueError("duplicate key in a JSON object")
    return dict(pairs)


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not JSON")


def peek(env: object) -> tuple[str, dict[str, Any]]:
    """The format and the body of an envelope, NOT yet trusted (to find out which keys may have
    signed it); ListError if it is not a well-formed envelope."""
    if not isinstance(env, dict) or set(env) != _ENVELOPE_KEYS:
        raise ListError(
            "envelope",
            f"列表须为含且仅含 {', '.join(sorted(_ENVELOPE_KEYS))} 的 JSON 对象",
            f"a list must be a JSON object with exactly {', '.join(sorted(_ENVELOPE_KEYS))}",
        )
    if env["format"] not in FORMATS:
        raise ListError(
            "format", f"未知的列表格式 {env['format']!r}", f"unknown list format {env['format']!r}"
        )
    signed = _b64(env["signed"], "signed")
    try:
        body = json.loads(
            signed.decode("utf-8"),
            object_pairs_hook=_no_duplicates,
            parse_constant=_reject_constant,
        )
    except ValueError as exc:  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        raise ListError(
            "envelope",
            f"signed 不是 UTF-8 JSON：{exc}",
            f"signed is not UTF-8 JSON: {exc}",
        ) from exc
    if not isinstance(body, dict):
        raise ListError("envelope", "signed 须为 JSON 对象", "signed must be a JSON object")
    return str(env["format"]), body


def open_envelope(env: object, format: str, signers: Collection[str]) -> dict[str, Any]:
    """The body of ``env`` once its signature by one of ``signers`` (public keys, hex) is
    checked and the body follows the rules of ``format``; ListError otherwise."""
    found, body = peek(env)
    assert isinstance(env, dict)  # peek checked it
    if found != format:
        raise ListError(
            "format",
            f"列表格式为 {found}，此处需要 {format}",
            f"the list is {found}, {format} is needed here",
        )
    signer = env["signer"]
    if not isinstance(signer, str) or signer not in signers:
        raise ListError(
            "signer",
            f"签名公钥 {str(signer)[:18]}… 不在可信签名者之列",
            f"signing key {str(signer)[:18]}… is not one of the trusted signers",
        )
    try:
        r, s = der_to_rs(_b64(env["signature"], "signature"))
        good = on_curve(signer) and sm2.verify_rs(
            bytes.fromhex(signer), r, s, _b64(env["signed"], "signed")
        )
    except ValueError:
        good = False
    if not good:
        raise ListError("signature", "列表签名无效", "the list's signature does not verify")
    _CHECKS[format](body)
    return body
