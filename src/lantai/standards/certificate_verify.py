"""Offline verification of a certificate's QR payload against a signed trust list and signed
status lists (docs/formats/certificate-payload-1.0.md §6). The browser verifier
(certificates/static/certificates/verifier.js) makes the same checks in the same order and
answers with the same reason codes.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any

from . import sm2
from .certificate_lists import (
    STATUS_LIST,
    TRUST_LIST,
    ListError,
    format_time,
    is_set,
    key_may_sign,
    open_envelope,
    parse_time,
    peek,
)
from .certificate_payload import Payload, PayloadError, content_digest, decode

__all__ = ["CLOCK_SKEW", "GRACE", "REASONS", "Verdict", "verify"]

# a list past its next_update still counts for this long (a verifier offline over a weekend)
GRACE = dt.timedelta(days=1)
# a certificate issued this far in the future of the verifier's clock is still accepted
CLOCK_SKEW = dt.timedelta(minutes=10)
# a status list is refreshed at least daily: one promising its next update later is not trusted
MAX_STATUS_SPAN = dt.timedelta(days=2)

REASONS: dict[str, tuple[str, str]] = {
    "valid": ("证明有效", "the certificate is valid"),
    "malformed": ("二维码内容不是有效的证明载荷", "the QR text is not a certificate payload"),
    "untrusted_list": (
        "信任列表不是由省级根密钥签发或格式不符",
        "the trust list is not signed by a provincial root key or is malformed",
    ),
    "stale_trust_list": ("信任列表已过期，请更新", "the trust list is out of date; update it"),
    "unknown_issuer": (
        "签发密钥不在信任列表中",
        "the issuing key is not on the trust list",
    ),
    "bad_signature": ("签名验证失败，证明内容可能被篡改", "the signature does not verify"),
    "key_not_valid_then": (
        "签发时间不在该密钥的使用期内",
        "the certificate was issued outside its key's signing period",
    ),
    "key_withdrawn": ("签发密钥已被撤回", "the issuing key has been withdrawn"),
    "key_compromised": (
        "签发密钥已泄露，此证明签发于泄露日期之后",
        "the issuing key was compromised before this certificate was issued",
    ),
    "key_expired": (
        "签发密钥的验证期限已过",
        "certificates of this key may no longer be verified",
    ),
    "not_yet_valid": (
        "证明的签发时间晚于当前时间",
        "the certificate's issue time is in the future",
    ),
    "expired": ("证明已超过有效期", "the certificate has expired"),
    "digest_mismatch": (
        "二维码与证明文件内容不符",
        "the QR code does not belong to this certificate's content",
    ),
    "no_status_list": (
        "缺少该档案馆的证明状态列表，无法确认是否已撤销",
        "no status list of the issuing archives: revocation cannot be checked",
    ),
    "untrusted_status_list": (
        "证明状态列表不是由该档案馆的可信密钥签发或格式不符",
        "the status list is not signed by a trusted key of the issuing archives or is malformed",
    ),
    "stale_status_list": (
        "证明状态列表已过期，请更新",
        "the status list is out of date; update it",
    ),
    "status_out_of_range": (
        "证明的状态序号超出状态列表范围",
        "the certificate's status index is outside the status list",
    ),
    "revoked": ("证明已被撤销", "the certificate has been revoked"),
}


@dataclass(frozen=True)
class Verdict:
    valid: bool
    reason: str
    message_zh: str
    message_en: str
    number: str | None = None
    issuer: str | None = None  # the issuing archives' name, from the trust list
    issued: dt.datetime | None = None
    expires: dt.datetime | None = None
    status_list_age_s: int | None = None
    payload: Payload | None = None
    detail: str = ""  # what exactly failed, for a log or an operator (English)

    def as_json(self) -> dict[str, Any]:
        """The stable JSON answer (`lantai certificate verify --json`, the browser verifier)."""
        return {
            "valid": self.valid,
            "reason": self.reason,
            "number": self.number,
            "issuer": self.issuer,
            "issued": format_time(self.issued) if self.issued else None,
            "expires": format_time(self.expires) if self.expires else None,
            "status_list_age_s": self.status_list_age_s,
        }


def _verdict(reason: str, detail: str = "", **fields: Any) -> Verdict:
    zh, en = REASONS[reason]
    return Verdict(reason == "valid", reason, zh, en, detail=detail, **fields)


def _open(env: Any, format: str, signers: Collection[str]) -> dict[str, Any]:
    """open_envelope, remembering lists already checked: a verifier judges many certificates
    against the same few lists, and each check costs an SM2 verification. Callers must not
    change the body."""
    if isinstance(env, dict) and all(isinstance(v, str) for v in env.values()):
        items = tuple(sorted(env.items()))
        return _open_cached(items, format, frozenset(signers))
    return open_envelope(env, format, signers)


@functools.lru_cache(maxsize=64)
def _open_cached(
    items: tuple[tuple[str, str], ...], format: str, signers: frozenset[str]
) -> dict[str, Any]:
    return open_envelope(dict(items), format, signers)


def _after_or_at(value: Any, moment: dt.datetime) -> bool:
    """Whether the optional time ``value`` of a checked list is set and ≤ ``moment``."""
    return value is not None and parse_time(value, "time") <= moment


def verify(
    text: str,
    *,
    trust_list: dict[str, Any],
    status_lists: Sequence[dict[str, Any]],
    roots: Collection[str],
    now: dt.datetime,
    content_bytes: bytes | None = None,
) -> Verdict:
    """The verdict on the QR ``text``; never raises for bad input. ``now`` must be aware."""
    if now.utcoffset() is None:
        raise ValueError("now must be an aware datetime")
    try:
        signed = decode(text)
    except PayloadError as exc:
        return _verdict("malformed", f"{exc.code}: {exc.message_en}")
    p = signed.payload
    fields: dict[str, Any] = {
        "number": p.number,
        "issued": p.issued,
        "expires": p.expires,
        "payload": p,
    }

    try:
        trust = _open(trust_list, TRUST_LIST, roots)
    except ListError as exc:
        return _verdict("untrusted_list", f"{exc.code}: {exc.message_en}", **fields)
    if now > parse_time(trust["next_update"], "next_update") + GRACE:
        return _verdict("stale_trust_list", f"next_update {trust['next_update']}", **fields)

    issuer = next((i for i in trust["issuers"] if i["key_id"] == p.issuer_key_id), None)
    if issuer is None:
        return _verdict("unknown_issuer", f"key id {p.issuer_key_id}", **fields)
    fields["issuer"] = issuer["archives"]
    point = bytes.fromhex(issuer["public_key"])
    if not sm2.verify_rs(point, signed.r, signed.s, signed.signed_bytes):
        return _verdict("bad_signature", **fields)
    if not key_may_sign(issuer, p.issued):
        return _verdict(
            "key_not_valid_then", f"{issuer['not_before']}..{issuer['not_after']}", **fields
        )
    if _after_or_at(issuer["withdrawn_at"], now):
        return _verdict("key_withdrawn", f"withdrawn at {issuer['withdrawn_at']}", **fields)
    if _after_or_at(issuer["compromised_since"], p.issued):
        return _verdict(
            "key_compromised", f"compromised since {issuer['compromised_since']}", **fields
        )
    if now > parse_time(issuer["valid_until"], "valid_until"):
        return _verdict("key_expired", f"valid until {issuer['valid_until']}", **fields)
    if p.issued > now + CLOCK_SKEW:
        return _verdict("not_yet_valid", **fields)
    if now > p.expires:
        return _verdict("expired", **fields)
    if content_bytes is not None and content_digest(content_bytes) != p.content_digest:
        return _verdict("digest_mismatch", **fields)

    repository = issuer["repository_code"]
    return _check_status(p, repository, trust, status_lists, now, fields)


def _status_signers(trust: dict[str, Any], repository: str, now: dt.datetime) -> list[str]:
    """Keys that may sign the status list of ``repository`` now: its issuer keys on the trust
    list, not withdrawn (a compromised key's lists are judged by their issue time, below)."""
    return [
        i["public_key"]
        for i in trust["issuers"]
        if i["repository_code"] == repository and not _after_or_at(i["withdrawn_at"], now)
    ]


def _check_status(
    p: Payload,
    repository: str,
    trust: dict[str, Any],
    status_lists: Sequence[dict[str, Any]],
    now: dt.datetime,
    fields: dict[str, Any],
) -> Verdict:
    signers = _status_signers(trust, repository, now)
    compromised = {
        i["public_key"]: parse_time(i["compromised_since"], "compromised_since")
        for i in trust["issuers"]
        if i["compromised_since"] is not None
    }
    best: dict[str, Any] | None = None
    problem = ""
    for env in status_lists:
        try:
            _, unchecked = peek(env)
        except ListError:
            continue  # not a list at all: it cannot be this repository's
        if unchecked.get("repository_code") != repository:
            continue
        try:
            body = _open(env, STATUS_LIST, signers)
        except ListError as exc:
            problem = f"{exc.code}: {exc.message_en}"
            continue
        issued = parse_time(body["issued"], "issued")
        if issued > now + CLOCK_SKEW:  # a wrong clock's list would otherwise win "newest"
            problem = "issued in the future"
            continue
        if parse_time(body["next_update"], "next_update") - issued > MAX_STATUS_SPAN:
            problem = "promises no update for too long"
            continue
        since = compromised.get(env["signer"])
        if since is not None and issued >= since:
            problem = "signed by a compromised key after the compromise"
            continue
        if best is None or issued > parse_time(best["issued"], "issued"):
            best = body
    if best is None:
        return _verdict("untrusted_status_list" if problem else "no_status_list", problem, **fields)

    age = (now - parse_time(best["issued"], "issued")) // dt.timedelta(seconds=1)
    fields["status_list_age_s"] = age
    if now > parse_time(best["next_update"], "next_update") + GRACE:
        return _verdict("stale_status_list", f"next_update {best['next_update']}", **fields)
    if p.status_index >= best["size"]:
        return _verdict("status_out_of_range", f"size {best['size']}", **fields)
    if is_set(best["bits"], p.status_index):
        return _verdict("revoked", **fields)
    return _verdict("valid", **fields)
