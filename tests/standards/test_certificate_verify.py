"""Offline verification of certificate payloads against the signed trust and status lists: the
valid cases, every forgery, and hostile lists."""

from __future__ import annotations

import base64
import datetime as dt
import gzip
import json
from typing import Any

import pytest

from lantai.core.signing import SigningKey
from lantai.standards import certificate_lists as cl
from lantai.standards.certificate_verify import REASONS, Verdict, verify

from .certificate_vectors import (
    ARCHIVES_A,
    NOW,
    Case,
    cases,
    keys,
    payload,
    status_body,
    text_of,
    trust_body,
)


def run(case: Case) -> Verdict:
    return verify(
        case.text,
        trust_list=case.trust_list,
        status_lists=case.status_lists,
        roots=case.roots,
        now=case.now,
        content_bytes=case.content_bytes,
    )


@pytest.mark.parametrize("case", cases(), ids=lambda c: c.name)
def test_verdict_of_each_case(case: Case) -> None:
    verdict = run(case)
    if case.reason is None:
        assert not verdict.valid
    else:
        assert verdict.reason == case.reason, verdict.detail
        assert verdict.valid == (case.reason == "valid")
    assert (verdict.message_zh, verdict.message_en) == REASONS[verdict.reason]


def test_valid_verdict_names_the_certificate_and_the_list_age() -> None:
    verdict = run(next(c for c in cases() if c.name == "valid"))
    assert verdict.as_json() == {
        "valid": True,
        "reason": "valid",
        "number": "J450000-2026-000123",
        "issuer": ARCHIVES_A,
        "issued": "2026-12-06T08:00:00Z",
        "expires": "2027-12-06T08:00:00Z",
        "status_list_age_s": 7200,
    }
    assert verdict.payload is not None and verdict.payload.names == ("张*明", "李*")


def test_revoked_verdict_still_reports_the_list_age() -> None:
    verdict = run(next(c for c in cases() if c.name == "revoked"))
    assert (verdict.valid, verdict.status_list_age_s, verdict.issuer) == (False, 7200, ARCHIVES_A)


def test_malformed_verdict_has_no_certificate_fields() -> None:
    verdict = run(next(c for c in cases() if c.name == "truncated_text"))
    assert verdict.as_json()["number"] is None and verdict.payload is None


def test_every_reason_has_a_chinese_and_an_english_message() -> None:
    assert all(zh and en and zh != en for zh, en in REASONS.values())
    assert {c.reason for c in cases() if c.reason} <= set(REASONS)


def test_a_revoked_certificate_becomes_valid_when_its_bit_is_clear() -> None:
    # the same text, judged against a list where its bit is clear (so the test can fail)
    case = next(c for c in cases() if c.name == "revoked")
    clean = cl.seal(cl.STATUS_LIST, status_body(revoked=()), keys()["a"])
    assert run(case).reason == "revoked"
    assert verify(
        case.text, trust_list=case.trust_list, status_lists=[clean], roots=case.roots, now=NOW
    ).valid


@pytest.mark.parametrize(
    ("now", "reason"),
    [
        (dt.datetime(2027, 12, 6, 8, 0, 0, tzinfo=dt.UTC), "stale_trust_list"),
        (dt.datetime(2026, 12, 6, 7, 50, 0, tzinfo=dt.UTC), "valid"),  # 10 min of clock skew
        (dt.datetime(2026, 12, 6, 7, 49, 59, tzinfo=dt.UTC), "not_yet_valid"),
        (dt.datetime(2026, 12, 8, 8, 0, 0, tzinfo=dt.UTC), "valid"),  # next_update + 1 day
        (dt.datetime(2026, 12, 8, 8, 0, 1, tzinfo=dt.UTC), "stale_status_list"),
    ],
)
def test_time_limits_are_inclusive_as_documented(now: dt.datetime, reason: str) -> None:
    case = next(c for c in cases() if c.name == "valid")
    verdict = verify(
        case.text,
        trust_list=case.trust_list,
        status_lists=case.status_lists,
        roots=case.roots,
        now=now,
    )
    assert verdict.reason == reason


def test_expiry_is_the_last_valid_instant() -> None:
    case = next(c for c in cases() if c.name == "valid")
    k = keys()
    late_trust = cl.seal(cl.TRUST_LIST, trust_body(next_update="2028-01-01T00:00:00Z"), k["root"])
    expires = dt.datetime(2027, 12, 6, 8, tzinfo=dt.UTC)
    results = []
    for now in (expires, expires + dt.timedelta(seconds=1)):
        status = cl.seal(
            cl.STATUS_LIST,
            status_body(
                issued=now - dt.timedelta(hours=1), next_update=now + dt.timedelta(hours=1)
            ),
            k["a"],
        )
        results.append(
            verify(
                case.text, trust_list=late_trust, status_lists=[status], roots=case.roots, now=now
            ).reason
        )
    assert results == ["valid", "expired"]


def test_withdrawal_in_the_future_does_not_yet_reject() -> None:
    k = keys()
    body = trust_body()
    body["issuers"][0]["withdrawn_at"] = "2026-12-06T10:00:01Z"
    trust = cl.seal(cl.TRUST_LIST, body, k["root"])
    status = cl.seal(cl.STATUS_LIST, status_body(), k["a"])
    text = text_of(payload())
    roots = [k["root"].public_key_hex]
    assert verify(text, trust_list=trust, status_lists=[status], roots=roots, now=NOW).valid
    later = NOW + dt.timedelta(seconds=1)
    assert (
        verify(text, trust_list=trust, status_lists=[status], roots=roots, now=later).reason
        == "key_withdrawn"
    )


@pytest.mark.parametrize(
    "trust_list",
    [
        None,
        [],
        "text",
        {"format": "lantai-trust-list/1"},
        {"format": 1, "signed": 2, "signer": 3, "signature": 4},
    ],
)
def test_hostile_trust_list_is_a_verdict_not_an_exception(trust_list: Any) -> None:
    case = next(c for c in cases() if c.name == "valid")
    verdict = verify(case.text, trust_list=trust_list, status_lists=[], roots=case.roots, now=NOW)
    assert verdict.reason == "untrusted_list"


def test_hostile_status_lists_are_skipped() -> None:
    case = next(c for c in cases() if c.name == "valid")
    hostile: list[Any] = [
        None,
        1,
        "x",
        [],
        {"format": cl.STATUS_LIST, "signed": "!", "signer": "", "signature": ""},
    ]
    verdict = verify(
        case.text, trust_list=case.trust_list, status_lists=hostile, roots=case.roots, now=NOW
    )
    assert verdict.reason == "no_status_list"


@pytest.mark.parametrize("text", [None, 12, b"LTC1:", "LTC1:" + "%" * 300])
def test_hostile_text_is_malformed(text: Any) -> None:
    case = next(c for c in cases() if c.name == "valid")
    assert (
        verify(text, trust_list=case.trust_list, status_lists=[], roots=case.roots, now=NOW).reason
        == "malformed"
    )


def test_naive_now_is_a_programming_error() -> None:
    case = next(c for c in cases() if c.name == "valid")
    with pytest.raises(ValueError):
        verify(
            case.text,
            trust_list=case.trust_list,
            status_lists=[],
            roots=case.roots,
            now=dt.datetime(2026, 12, 6),
        )


# --- the envelopes ---------------------------------------------------------------------------


def _envelope(signed: bytes, key: SigningKey, format: str = cl.TRUST_LIST) -> dict[str, str]:
    """An envelope over arbitrary bytes (seal refuses a body that breaks a rule)."""
    return {
        "format": format,
        "signed": base64.b64encode(signed).decode(),
        "signer": key.public_key_hex,
        "signature": base64.b64encode(key.sign(signed)).decode(),
    }


def test_seal_and_open_round_trip() -> None:
    root = keys()["root"]
    env = cl.seal(cl.TRUST_LIST, trust_body(), root)
    assert set(env) == {"format", "signed", "signer", "signature"}
    assert cl.open_envelope(env, cl.TRUST_LIST, [root.public_key_hex]) == trust_body()
    assert json.loads(base64.b64decode(env["signed"])) == trust_body()


@pytest.mark.parametrize(
    ("change", "code"),
    [
        (lambda e, k: {**e, "format": cl.STATUS_LIST}, "format"),
        (lambda e, k: {**e, "format": "lantai-trust-list/2"}, "format"),
        (lambda e, k: {**e, "signer": keys()["b"].public_key_hex}, "signer"),
        (lambda e, k: {**e, "extra": 1}, "envelope"),
        (lambda e, k: {**e, "signed": e["signed"] + "\n"}, "envelope"),
        (lambda e, k: {**e, "signed": e["signed"].rstrip("=")}, "envelope"),
        (
            lambda e, k: {
                **e,
                "signed": base64.b64encode(base64.b64decode(e["signed"]) + b" ").decode(),
            },
            "signature",
        ),
        (lambda e, k: {**e, "signature": e["signature"][:-4]}, "signature"),
        (lambda e, k: _envelope(b'{"province":"a","province":"b"}', k), "envelope"),
        (lambda e, k: _envelope(b'{"sequence":NaN}', k), "envelope"),
        (lambda e, k: _envelope(b"\xff{}", k), "envelope"),
        (lambda e, k: _envelope(b"[]", k), "envelope"),
        (lambda e, k: _envelope(b"{}", k), "body"),
    ],
)
def test_open_envelope_refuses(change: Any, code: str) -> None:
    root = keys()["root"]
    env = change(cl.seal(cl.TRUST_LIST, trust_body(), root), root)
    with pytest.raises(cl.ListError) as caught:
        cl.open_envelope(env, cl.TRUST_LIST, [root.public_key_hex, keys()["b"].public_key_hex][:1])
    assert caught.value.code == code


def _issuer_changed(**change: Any) -> dict[str, Any]:
    body = trust_body()
    body["issuers"][0] = {**body["issuers"][0], **change}
    return body


@pytest.mark.parametrize(
    "body",
    [
        _issuer_changed(key_id="0000000000000000"),
        _issuer_changed(public_key="04" + "11" * 64),
        _issuer_changed(public_key=keys()["a"].public_key_hex.upper()),
        _issuer_changed(not_before="2027-01-01"),
        _issuer_changed(not_after="2026-02-30"),
        _issuer_changed(valid_until="2036-12-31T23:59:59+08:00"),
        _issuer_changed(valid_until="2036-12-31"),
        _issuer_changed(withdrawn_at="yesterday"),
        _issuer_changed(archives=""),
        _issuer_changed(repository_code=None),
        {**trust_body(), "issuers": [trust_body()["issuers"][0]] * 2},
        {**trust_body(), "sequence": -1},
        {**trust_body(), "sequence": True},
        {**trust_body(), "issued": "2026-12-01T00:00:00.5Z"},
        {**trust_body(), "next_update": "２０２７-01-01T00:00:00Z"},
        {**trust_body(), "issuers": {}},
    ],
)
def test_trust_list_body_rules(body: dict[str, Any]) -> None:
    root = keys()["root"]
    with pytest.raises(cl.ListError) as caught:
        cl.seal(cl.TRUST_LIST, body, root)
    assert caught.value.code == "body"
    env = _envelope(json.dumps(body, ensure_ascii=False).encode(), root)
    with pytest.raises(cl.ListError):
        cl.open_envelope(env, cl.TRUST_LIST, [root.public_key_hex])


def _gzip_b64(data: bytes) -> str:
    return base64.b64encode(gzip.compress(data)).decode()


@pytest.mark.parametrize(
    "change",
    [
        {"size": 0},
        {"size": 2**24 + 1},
        {"size": 1025},  # bits hold 1024
        {"size": 1016},
        {"bits": _gzip_b64(bytes(1024 * 1024))},  # inflates far beyond size
        {"bits": _gzip_b64(bytes(128)) + "AAAA"},  # bytes after the gzip member
        {"bits": base64.b64encode(gzip.compress(bytes(128)) * 2).decode()},  # two members
        {"bits": base64.b64encode(bytes(128)).decode()},  # not compressed
        {"bits": 7},
        {"repository_code": "  "},
    ],
    ids=str,
)
def test_status_list_body_rules(change: dict[str, Any]) -> None:
    with pytest.raises(cl.ListError):
        cl.seal(cl.STATUS_LIST, {**status_body(), **change}, keys()["a"])


def test_bit_order_is_that_of_the_w3c_bitstring_status_list() -> None:
    bits = cl.make_bitstring(16, [0, 9, 15])
    raw = gzip.decompress(base64.b64decode(bits))
    assert raw == bytes([0b1000_0000, 0b0100_0001])
    assert [i for i in range(16) if cl.is_set(bits, i)] == [0, 9, 15]
    with pytest.raises(ValueError):
        cl.is_set(bits, 16)
    with pytest.raises(ValueError):
        cl.make_bitstring(16, [16])


def test_key_may_sign_by_utc_calendar_day() -> None:
    entry = trust_body()["issuers"][0]  # 2026-01-01 .. 2026-12-31
    beijing = dt.timezone(dt.timedelta(hours=8))
    assert cl.key_may_sign(entry, dt.datetime(2026, 1, 1, 0, 0, tzinfo=dt.UTC))
    assert cl.key_may_sign(entry, dt.datetime(2026, 12, 31, 23, 59, 59, tzinfo=dt.UTC))
    assert not cl.key_may_sign(entry, dt.datetime(2027, 1, 1, 0, 0, tzinfo=dt.UTC))
    # 08:00 on 1 January in Beijing is still 31 December in UTC
    assert not cl.key_may_sign(entry, dt.datetime(2026, 1, 1, 7, 59, tzinfo=beijing))
