"""The certificate QR payload (docs/formats/certificate-payload-1.0.md): Base45, the byte layout,
the signature input and the strictness of decoding."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
import segno

from lantai.core.signing import SigningKey
from lantai.standards import certificate_payload as cp
from lantai.standards import sm2

from .certificate_vectors import (
    EXAMPLE_CONTENT,
    EXAMPLE_KEY,
    EXAMPLE_TEXT,
    FAKE_SIGNATURE,
    as_text,
    largest_payload,
    layout,
    malformed_texts,
    payload,
    text_of,
)

UTC = dt.UTC
QR_ALPHANUMERIC = set("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:")


def fake_sign(_data: bytes) -> bytes:
    """A fixed DER signature (r = 1, s = 2): the layout does not depend on its value."""
    return bytes.fromhex("3006020101020102")


# --- SM3 and the content digest --------------------------------------------------------------


def test_sm3_vectors_of_gbt_32905() -> None:
    assert (
        cp.content_digest(b"abc").hex()
        == "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"
    )
    assert (
        cp.content_digest(b"abcd" * 16).hex()
        == "debe9ff92275b8a138604889c18e5a4d6fdb70e5387e5765293dcba39c0c5732"
    )


def test_canonical_content_sorts_keys_and_keeps_chinese() -> None:
    content = {"b": [1, {"z": "档案", "a": None}], "a": "张*明"}
    assert cp.canonical_content(content) == '{"a":"张*明","b":[1,{"a":null,"z":"档案"}]}'.encode()
    assert cp.canonical_content(content) == cp.canonical_content(dict(reversed(content.items())))


# --- Base45 ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "text"),
    [
        (b"AB", "BB8"),
        (b"Hello!!", "%69 VD92EX0"),
        (b"base-45", "UJCLQE7W581"),
        (b"ietf!", "QED8WEX0"),
    ],
)
def test_base45_examples_of_rfc_9285(data: bytes, text: str) -> None:
    assert cp.b45encode(data) == text
    assert cp.b45decode(text) == data


def test_base45_round_trips_every_byte_pair() -> None:
    data = bytes(range(256)) + bytes(reversed(range(256))) + b"\xff"
    assert cp.b45decode(cp.b45encode(data)) == data
    assert cp.b45encode(b"\xff\xff") == "FGW"


@pytest.mark.parametrize("text", ["GGW", "Z6", "A", "ABCD", "ab", "A\n", "A#B"])
def test_base45_refuses_what_rfc_9285_refuses(text: str) -> None:
    with pytest.raises(cp.PayloadError) as caught:
        cp.b45decode(text)
    assert caught.value.code == "base45"


# --- the layout --------------------------------------------------------------------------------


def test_bytes_follow_the_documented_layout() -> None:
    p = payload(issuer_key_id="0123456789abcdef", content_digest=bytes(range(32)))
    text = cp.encode(
        p,
        lambda _: (
            bytes.fromhex("30440220" + FAKE_SIGNATURE[:32].hex() + "0220") + FAKE_SIGNATURE[32:]
        ),
    )
    assert text == as_text(layout())


def test_round_trip_keeps_every_field_and_signs_the_body() -> None:
    key = SigningKey.generate()
    p = payload(issuer_key_id=key.fingerprint[:16], kind="record")
    text = cp.encode(p, key.sign)
    signed = cp.decode(text)
    assert signed.payload == p
    assert set(text) <= QR_ALPHANUMERIC
    assert sm2.verify_rs(bytes.fromhex(key.public_key_hex), signed.r, signed.s, signed.signed_bytes)
    assert not sm2.verify_rs(
        bytes.fromhex(key.public_key_hex), signed.r, signed.s, signed.signed_bytes + b"\x00"
    )
    body = cp.b45decode(text[len(cp.PREFIX) :])
    assert signed.signed_bytes == body[:-64]


def test_none_found_payload_round_trips() -> None:
    p = payload(kind="none_found", events=(), names=("王*",))
    assert cp.decode(cp.encode(p, fake_sign)).payload == p


def test_every_event_kind_and_date_range_round_trips() -> None:
    events = tuple(
        cp.Event(kind, date)
        for kind, date in zip(
            cp.EVENT_KINDS,
            [
                dt.date(1900, 1, 1),
                dt.date(1950, 5, 1),
                dt.date(2000, 2, 29),
                dt.date(2079, 6, 7),
                dt.date(7641, 10, 21),
            ],
            strict=True,
        )
    )
    p = payload(events=events)
    assert cp.decode(cp.encode(p, fake_sign)).payload.events == events


def test_largest_realistic_payload_fits_qr_version_12_at_level_m() -> None:
    text = text_of(largest_payload())
    qr = segno.make(text, error="m", boost_error=False)
    print(f"largest payload: {len(text)} characters, QR version {qr.version}, mode {qr.mode}")
    assert qr.mode == "alphanumeric"
    assert isinstance(qr.version, int) and qr.version <= 12  # a Micro QR version is a str


def test_worked_example_of_the_format_document() -> None:
    signed = cp.decode(EXAMPLE_TEXT)
    p = signed.payload
    assert p.number == "J450000-2026-000123"
    assert p.issuer_key_id == "4a9d58bc2eafcfe4"
    assert p.content_digest == cp.content_digest(cp.canonical_content(EXAMPLE_CONTENT))
    assert (p.status_index, p.kind, p.names) == (5, "record", ("张*明", "李*"))
    assert p.events == (cp.Event("J", dt.date(2010, 5, 20)),)
    assert p.issued == dt.datetime(2026, 12, 6, 8, tzinfo=UTC)
    assert p.expires == dt.datetime(2027, 12, 6, 8, tzinfo=UTC)
    assert sm2.verify_rs(bytes.fromhex(EXAMPLE_KEY), signed.r, signed.s, signed.signed_bytes)


# --- strict decoding -------------------------------------------------------------------------


@pytest.mark.parametrize(("what", "text", "code"), malformed_texts(), ids=lambda v: str(v)[:40])
def test_malformed_text_is_refused_with_its_rule(what: str, text: str, code: str) -> None:
    with pytest.raises(cp.PayloadError) as caught:
        cp.decode(text)
    assert caught.value.code == code, what
    assert caught.value.message_zh and caught.value.message_en


def test_the_hand_built_good_layout_decodes() -> None:
    # the malformed texts above differ from this one in one rule each
    assert cp.decode(as_text(layout())).payload.number == "J450000-2026-000123"


@pytest.mark.parametrize("bad", [None, 123, b"LTC1:"])
def test_non_text_is_refused(bad: object) -> None:
    with pytest.raises(cp.PayloadError):
        cp.decode(bad)  # type: ignore[arg-type]


def test_any_damaged_character_is_refused_or_changes_what_was_signed() -> None:
    key = SigningKey.generate()
    text = cp.encode(payload(issuer_key_id=key.fingerprint[:16]), key.sign)
    original = cp.decode(text)
    point = bytes.fromhex(key.public_key_hex)
    for i in range(len(cp.PREFIX), len(text), 7):
        damaged = text[:i] + ("0" if text[i] != "0" else "1") + text[i + 1 :]
        try:
            signed = cp.decode(damaged)
        except cp.PayloadError:
            continue
        assert (signed.signed_bytes, signed.r, signed.s) != (
            original.signed_bytes,
            original.r,
            original.s,
        )
        assert not sm2.verify_rs(point, signed.r, signed.s, signed.signed_bytes)


# --- encoding refuses what decoding would refuse ----------------------------------------------


@pytest.mark.parametrize(
    "change",
    [
        {"number": ""},
        {"number": "J" * 33},
        {"number": "证明-1"},
        {"number": "J 1"},
        {"issuer_key_id": "0123456789ABCDEF"},
        {"issuer_key_id": "0123"},
        {"content_digest": bytes(31)},
        {"status_index": -1},
        {"status_index": 2**24},
        {"status_index": True},
        {"kind": "other"},
        {"kind": "none_found"},  # with an event
        {"names": ("a",) * 5},
        {"names": ("张" * 17,)},
        {"names": ("",)},
        {"names": ("a\nb",)},
        {"names": ["张*明"]},
        {"events": (cp.Event("X", dt.date(2000, 1, 1)),)},
        {"events": (cp.Event("J", dt.date(1899, 12, 31)),)},
        {"events": (cp.Event("J", dt.date(7641, 10, 22)),)},
        {"events": (cp.Event("J", dt.date(2000, 1, 1)),) * 9},
        {"issued": dt.datetime(2026, 1, 1)},
        {"issued": dt.datetime(2026, 1, 1, tzinfo=dt.timezone(dt.timedelta(hours=8)))},
        {"issued": dt.datetime(2026, 1, 1, 0, 0, 0, 500, tzinfo=UTC)},
        {"issued": dt.datetime(1969, 12, 31, tzinfo=UTC)},
        {"expires": dt.datetime(2106, 12, 31, tzinfo=UTC)},
        {"expires": dt.datetime(2026, 12, 6, 8, tzinfo=UTC)},  # = issued
    ],
    ids=lambda change: "-".join(f"{k}={str(v)[:20]}" for k, v in change.items()),
)
def test_encode_refuses_a_field_that_breaks_its_rule(change: dict[str, object]) -> None:
    with pytest.raises(cp.PayloadError) as caught:
        cp.encode(dataclasses.replace(payload(), **change), fake_sign)
    assert caught.value.code == "field"


@pytest.mark.parametrize(
    "der",
    [
        "3006020101020102ff",  # after the sequence
        "300702020001020102",  # INTEGER not minimal
        "30060201ff020102",  # negative
        "3005020101020102",  # wrong sequence length
        "31060201010201 02".replace(" ", ""),  # not a SEQUENCE
        "",
    ],
)
def test_der_signature_is_read_strictly(der: str) -> None:
    with pytest.raises(ValueError):
        cp.der_to_rs(bytes.fromhex(der))


def test_der_signature_of_the_signing_key_is_read() -> None:
    key = SigningKey.generate()
    r, s = cp.der_to_rs(key.sign(b"x"))
    assert sm2.verify_rs(bytes.fromhex(key.public_key_hex), r, s, b"x")
