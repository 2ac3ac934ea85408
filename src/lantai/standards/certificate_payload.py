"""The thin signed payload in a certificate's QR code (docs/formats/certificate-payload-1.0.md).

Text form: ``LTC1:`` + Base45 (RFC 9285) of ``body ‖ r ‖ s``, where ``body`` is the compact binary
structure below and (r, s) the SM2-with-SM3 signature (GB/T 32918, GB/T 32905) of ``body`` by the
issuer key, 32 bytes each, big-endian. Every character is in the QR alphanumeric set, so a QR
encoder packs it at 5.5 bits a character.

``body`` (all integers big-endian):

=====  ==========================================================================
bytes  field
=====  ==========================================================================
1      version, 0x01
1      flags: bit 0 = kind (0 record, 1 none_found); bits 1-7 zero
1+n    certificate number: length n (1..32), printable ASCII without space
8      issuer key id (first 8 bytes of the key's SM3 fingerprint)
32     content digest (SM3 of the canonical content)
3      status list index
4      issued, seconds since 1970-01-01T00:00:00Z
4      expires, seconds since 1970-01-01T00:00:00Z (> issued)
1      number of names (0..4), then per name: length (1 byte) + UTF-8 (1..16 chars)
1      number of events (0..8), then per event 3 bytes: kind (3 high bits) and
       days since 1900-01-01 (21 low bits)
=====  ==========================================================================

Decoding is strict: one text has exactly one meaning, and any other text is an error.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives import hashes

__all__ = [
    "EVENT_KINDS",
    "PAYLOAD_KINDS",
    "PREFIX",
    "Event",
    "Payload",
    "PayloadError",
    "Signed",
    "b45decode",
    "b45encode",
    "canonical_content",
    "content_digest",
    "decode",
    "der_to_rs",
    "encode",
]

PREFIX = "LTC1:"
VERSION = 1
# the five registration types of 婚姻登记档案管理办法 arts 2, 5-8, with their number letters
EVENT_KINDS = ("J", "L", "CX", "BJ", "BL")  # 结婚, 离婚, 撤销婚姻, 补发结婚证, 补发离婚证
PAYLOAD_KINDS = ("record", "none_found")
MAX_NUMBER = 32
MAX_NAMES, MAX_NAME_CHARS = 4, 16
MAX_EVENTS = 8
MAX_STATUS_INDEX = 2**24 - 1
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_DAY_ZERO = dt.date(1900, 1, 1)
_MAX_DAYS = 2**21 - 1
_NUMBER = re.compile(r"[\x21-\x7e]{1,32}")
_KEY_ID = re.compile(r"[0-9a-f]{16}")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")

_B45 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"
_B45_VALUE = {c: i for i, c in enumerate(_B45)}


class PayloadError(ValueError):
    """The text is not a well-formed certificate payload; ``code`` says which rule it breaks."""

    def __init__(self, code: str, message_zh: str, message_en: str) -> None:
        super().__init__(f"{message_zh} — {message_en}")
        self.code, self.message_zh, self.message_en = code, message_zh, message_en


@dataclass(frozen=True)
class Event:
    kind: str  # one of EVENT_KINDS
    date: dt.date


@dataclass(frozen=True)
class Payload:
    number: str
    issuer_key_id: str
    content_digest: bytes
    status_index: int
    kind: str
    names: tuple[str, ...]
    events: tuple[Event, ...]
    issued: dt.datetime
    expires: dt.datetime


@dataclass(frozen=True)
class Signed:
    """A decoded payload with the bytes its signature covers and the signature itself."""

    payload: Payload
    signed_bytes: bytes
    r: int
    s: int


# --- Base45 (RFC 9285) ---------------------------------------------------------------------


def b45encode(data: bytes) -> str:
    out = []
    for i in range(0, len(data) - 1, 2):
        n = data[i] * 256 + data[i + 1]
        c, n = n % 45, n // 45
        d, e = n % 45, n // 45
        out += [_B45[c], _B45[d], _B45[e]]
    if len(data) % 2:
        c, d = data[-1] % 45, data[-1] // 45
        out += [_B45[c], _B45[d]]
    return "".join(out)


def b45decode(text: str) -> bytes:
    """Strict RFC 9285 decoding: every character in the alphabet, no group over its range."""
    if len(text) % 3 == 1:
        raise PayloadError(
            "base45",
            f"Base45 文本长度 {len(text)} 除以 3 余 1，不是有效的 Base45（RFC 9285 §4）",
            f"Base45 text length {len(text)} leaves remainder 1 modulo 3 (RFC 9285 §4)",
        )
    out = bytearray()
    for i in range(0, len(text), 3):
        group = text[i : i + 3]
        try:
            values = [_B45_VALUE[ch] for ch in group]
        except KeyError as exc:
            bad = next(ch for ch in group if ch not in _B45_VALUE)
            raise PayloadError(
                "base45",
                f"第 {i + 1} 个字符附近有 Base45 字母表以外的字符 {bad!r}（RFC 9285 §4）",
                f"character {bad!r} near position {i + 1} is not in the Base45 alphabet",
            ) from exc
        n = sum(v * 45**k for k, v in enumerate(values))
        if (len(group) == 3 and n > 0xFFFF) or (len(group) == 2 and n > 0xFF):
            raise PayloadError(
                "base45",
                f"第 {i + 1} 个字符起的 Base45 组的值 {n} 超出范围（RFC 9285 §4）",
                f"Base45 group at position {i + 1} has value {n}, out of range",
            )
        out += n.to_bytes(len(group) - 1, "big")
    return bytes(out)


# --- the content digest ----------------------------------------------------------------------


def canonical_content(content: Mapping[str, Any]) -> bytes:
    """UTF-8 JSON with sorted keys, no spaces, non-ASCII kept as is."""
    return json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode(
        "utf-8"
    )


def content_digest(content_bytes: bytes) -> bytes:
    h = hashes.Hash(hashes.SM3())
    h.update(content_bytes)
    return h.finalize()


# --- encoding --------------------------------------------------------------------------------


def _field(message_zh: str, message_en: str) -> PayloadError:
    return PayloadError("field", message_zh, message_en)


def _check_time(name: str, value: dt.datetime) -> int:
    if not isinstance(value, dt.datetime) or value.utcoffset() != dt.timedelta(0):
        raise _field(f"{name} 须为 UTC 时间", f"{name} must be a UTC datetime")
    if value.microsecond:
        raise _field(f"{name} 须精确到整秒", f"{name} must be in whole seconds")
    seconds = int((value - _EPOCH).total_seconds())
    if not 0 <= seconds <= 0xFFFFFFFF:
        raise _field(f"{name} 超出 1970–2106 年", f"{name} is outside 1970-2106")
    return seconds


def _check(payload: Payload) -> None:
    """The rules of every field (the same on encoding and decoding)."""
    if not isinstance(payload.number, str) or not _NUMBER.fullmatch(payload.number):
        raise _field(
            f"证明编号 {payload.number!r} 须为 1–{MAX_NUMBER} 个可打印 ASCII 字符（不含空格）",
            f"certificate number {payload.number!r} must be 1-{MAX_NUMBER} printable ASCII "
            "characters without spaces",
        )
    if not isinstance(payload.issuer_key_id, str) or not _KEY_ID.fullmatch(payload.issuer_key_id):
        raise _field(
            "签发密钥标识须为 16 位小写十六进制", "issuer key id must be 16 lower-case hex digits"
        )
    if not isinstance(payload.content_digest, bytes) or len(payload.content_digest) != 32:
        raise _field("内容摘要须为 32 字节（SM3）", "content digest must be 32 bytes (SM3)")
    index = payload.status_index
    if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index <= MAX_STATUS_INDEX:
        raise _field(
            f"状态列表序号 {index!r} 须在 0–{MAX_STATUS_INDEX} 之间",
            f"status index {index!r} must be in 0-{MAX_STATUS_INDEX}",
        )
    if payload.kind not in PAYLOAD_KINDS:
        raise _field(
            f"证明类型 {payload.kind!r} 须为 record 或 none_found",
            f"kind {payload.kind!r} must be record or none_found",
        )
    if not isinstance(payload.names, tuple) or len(payload.names) > MAX_NAMES:
        raise _field(f"姓名最多 {MAX_NAMES} 个", f"at most {MAX_NAMES} names")
    for name in payload.names:
        if not isinstance(name, str) or not 1 <= len(name) <= MAX_NAME_CHARS:
            raise _field(
                f"姓名 {name!r} 须为 1–{MAX_NAME_CHARS} 个字符",
                f"name {name!r} must have 1-{MAX_NAME_CHARS} characters",
            )
        if _CONTROL.search(name):
            raise _field(f"姓名 {name!r} 含控制字符", f"name {name!r} contains a control character")
    if not isinstance(payload.events, tuple) or len(payload.events) > MAX_EVENTS:
        raise _field(f"登记事项最多 {MAX_EVENTS} 条", f"at most {MAX_EVENTS} events")
    if payload.kind == "none_found" and payload.events:
        raise _field("“无婚姻登记记录”证明不得列出登记事项", "a none_found payload has no events")
    for event in payload.events:
        if not isinstance(event, Event) or event.kind not in EVENT_KINDS:
            raise _field(
                f"登记类别须为 {'/'.join(EVENT_KINDS)} 之一",
                f"event kind must be one of {', '.join(EVENT_KINDS)}",
            )
        if not isinstance(event.date, dt.date) or isinstance(event.date, dt.datetime):
            raise _field("登记日期须为日期", "event date must be a date")
        if not 0 <= (event.date - _DAY_ZERO).days <= _MAX_DAYS:
            last = _DAY_ZERO + dt.timedelta(days=_MAX_DAYS)
            raise _field(
                f"登记日期 {event.date} 须在 1900-01-01 至 {last} 之间",
                f"event date {event.date} must be within 1900-01-01..{last}",
            )
    if _check_time("issued", payload.issued) >= _check_time("expires", payload.expires):
        raise _field("有效期须晚于签发时间", "expires must be later than issued")


def _body(payload: Payload) -> bytes:
    _check(payload)
    out = bytearray([VERSION, PAYLOAD_KINDS.index(payload.kind)])
    number = payload.number.encode("ascii")
    out += bytes([len(number)]) + number
    out += bytes.fromhex(payload.issuer_key_id) + payload.content_digest
    out += payload.status_index.to_bytes(3, "big")
    out += _check_time("issued", payload.issued).to_bytes(4, "big")
    out += _check_time("expires", payload.expires).to_bytes(4, "big")
    out.append(len(payload.names))
    for name in payload.names:
        raw = name.encode("utf-8")
        out += bytes([len(raw)]) + raw
    out.append(len(payload.events))
    for event in payload.events:
        packed = EVENT_KINDS.index(event.kind) << 21 | (event.date - _DAY_ZERO).days
        out += packed.to_bytes(3, "big")
    return bytes(out)


def der_to_rs(der: bytes) -> tuple[int, int]:
    """(r, s) from DER ``SEQUENCE { INTEGER r, INTEGER s }`` as SM2 signers write it (strict:
    short lengths, minimal positive integers, nothing after); ValueError otherwise."""

    def integer(at: int) -> tuple[int, int]:
        if at + 2 > len(der) or der[at] != 0x02 or der[at + 1] > 33:
            raise ValueError("not a short DER INTEGER")
        length = der[at + 1]
        raw = der[at + 2 : at + 2 + length]
        if len(raw) != length or length == 0 or raw[0] & 0x80:
            raise ValueError("bad DER INTEGER")
        if length > 1 and raw[0] == 0 and not raw[1] & 0x80:
            raise ValueError("DER INTEGER not minimal")
        return int.from_bytes(raw, "big"), at + 2 + length

    if len(der) < 8 or der[0] != 0x30 or der[1] != len(der) - 2:
        raise ValueError("not a DER SEQUENCE of the right length")
    r, at = integer(2)
    s, at = integer(at)
    if at != len(der):
        raise ValueError("bytes after the DER SEQUENCE")
    return r, s


def encode(payload: Payload, sign: Callable[[bytes], bytes]) -> str:
    """The QR text of ``payload`` signed by ``sign`` (a DER SM2 signature, as SigningKey.sign)."""
    body = _body(payload)
    r, s = der_to_rs(sign(body))
    if not (0 < r < 2**256 and 0 < s < 2**256):
        raise ValueError("SM2 signature out of range")
    return PREFIX + b45encode(body + r.to_bytes(32, "big") + s.to_bytes(32, "big"))


# --- decoding --------------------------------------------------------------------------------


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data, self.at = data, 0

    def take(self, n: int, what: str) -> bytes:
        if self.at + n > len(self.data):
            raise PayloadError(
                "truncated",
                f"载荷在第 {self.at} 字节处截断，缺少{what}",
                f"payload truncated at byte {self.at}: {what} missing",
            )
        chunk = self.data[self.at : self.at + n]
        self.at += n
        return chunk

    def byte(self, what: str) -> int:
        return self.take(1, what)[0]


def decode(text: str) -> Signed:
    """The payload in ``text`` with its signature; PayloadError when ``text`` is malformed.
    The signature is not checked here (certificate_verify does that against the trust list)."""
    if not isinstance(text, str) or not text.startswith(PREFIX):
        raise PayloadError(
            "prefix",
            f"证明二维码内容须以 {PREFIX} 开头（大写）",
            f"certificate QR text must start with {PREFIX}",
        )
    raw = b45decode(text[len(PREFIX) :])
    reader = _Reader(raw)
    version = reader.byte("版本号")
    if version != VERSION:
        raise PayloadError(
            "version",
            f"载荷版本 {version} 不受支持（仅支持 {VERSION}）",
            f"payload version {version} is not supported (only {VERSION})",
        )
    flags = reader.byte("标志")
    if flags > 1:
        raise _field(
            f"标志字节 {flags:#04x} 的保留位不为 0", f"flags {flags:#04x}: reserved bits set"
        )
    number_raw = reader.take(reader.byte("证明编号长度"), "证明编号")
    try:
        number = number_raw.decode("ascii")
    except UnicodeDecodeError as exc:
        raise _field("证明编号不是 ASCII", "certificate number is not ASCII") from exc
    key_id = reader.take(8, "签发密钥标识").hex()
    digest = reader.take(32, "内容摘要")
    status_index = int.from_bytes(reader.take(3, "状态列表序号"), "big")
    issued = _EPOCH + dt.timedelta(seconds=int.from_bytes(reader.take(4, "签发时间"), "big"))
    expires = _EPOCH + dt.timedelta(seconds=int.from_bytes(reader.take(4, "有效期"), "big"))
    names = []
    for _ in range(reader.byte("姓名个数")):
        chunk = reader.take(reader.byte("姓名长度"), "姓名")
        try:
            names.append(chunk.decode("utf-8"))
        except UnicodeDecodeError as exc:
            raise _field("姓名不是有效的 UTF-8", "a name is not valid UTF-8") from exc
    events = []
    for _ in range(reader.byte("登记事项条数")):
        packed = int.from_bytes(reader.take(3, "登记事项"), "big")
        code, days = packed >> 21, packed & _MAX_DAYS
        if code >= len(EVENT_KINDS):
            raise _field(f"登记类别代码 {code} 未定义", f"event kind code {code} is undefined")
        events.append(Event(EVENT_KINDS[code], _DAY_ZERO + dt.timedelta(days=days)))
    signed_bytes = raw[: reader.at]
    signature = reader.take(64, "签名")
    if reader.at != len(raw):
        raise PayloadError(
            "trailing",
            f"签名之后多出 {len(raw) - reader.at} 个字节",
            f"{len(raw) - reader.at} bytes after the signature",
        )
    payload = Payload(
        number=number,
        issuer_key_id=key_id,
        content_digest=digest,
        status_index=status_index,
        kind=PAYLOAD_KINDS[flags],
        names=tuple(names),
        events=tuple(events),
        issued=issued,
        expires=expires,
    )
    _check(payload)
    return Signed(
        payload,
        signed_bytes,
        int.from_bytes(signature[:32], "big"),
        int.from_bytes(signature[32:], "big"),
    )
