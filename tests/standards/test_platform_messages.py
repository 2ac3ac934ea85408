"""Platform messages (standards/platform_messages.py, docs/formats/platform-messages-1.0.md):
the canonical bytes, every field of a message refused when malformed, any flipped bit of a signed
message or receipt refused, a receipt for another message, the signer check left to the caller,
signed statements and the chain link of a log entry."""

from __future__ import annotations

import base64
import copy
import json
from typing import Any

import pytest

from lantai.core.signing import SigningKey, verify
from lantai.standards import platform_messages as pm

KEY = SigningKey.generate()
OTHER = SigningKey.generate()
SENT = "2026-12-07T04:00:00.123456Z"


def message(key: SigningKey = KEY, **overrides: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {"sender": "A01", "to": "hub", "kind": "ping", "sent": SENT,
                              "body": {"名": "王建华", "n": 1}}  # fmt: skip
    fields.update(overrides)
    return pm.make_message(**fields, signer_key=key.public_key_hex, sign=key.sign)


def resign(msg: dict[str, Any], key: SigningKey = KEY) -> dict[str, Any]:
    """The message signed again after a change (so that only the form check can refuse it)."""
    unsigned = {k: v for k, v in msg.items() if k != "signature"}
    return {**unsigned, "signature": base64.b64encode(key.sign(pm.canonical(unsigned))).decode()}


# ------------------------------------------------------------------------------ canonical bytes


def test_canonical_sorts_keys_keeps_utf8_and_drops_spaces() -> None:
    data = {"b": 1, "a": {"z": "档案", "y": [1, 2]}}
    assert pm.canonical(data) == '{"a":{"y":[1,2],"z":"档案"},"b":1}'.encode()
    assert pm.canonical(dict(reversed(list(data.items())))) == pm.canonical(data)


def test_a_message_serialised_in_another_key_order_still_verifies() -> None:
    msg = message()
    reordered = json.loads(json.dumps(dict(reversed(list(msg.items()))), ensure_ascii=True))
    assert pm.check_message(reordered, verify) == msg
    assert pm.digest(reordered) == pm.digest(msg)


def test_a_made_message_checks() -> None:
    msg = message()
    assert pm.check_message(msg, verify) is msg
    assert len(msg["id"]) == 32 and msg["v"] == pm.VERSION


# --------------------------------------------------------------------------------- malformed


MALFORMED = [
    ("id", "0" * 31), ("id", "0" * 33), ("id", "G" * 32), ("id", "A" * 32), ("id", 12),
    ("from", ""), ("from", "-A01"), ("from", "a" * 33), ("from", "中文"), ("from", None),
    ("to", "A 01"), ("kind", "Ping"), ("kind", "1ping"), ("kind", "ping-x"), ("kind", "k" * 41),
    ("sent", "2026-12-07 04:00:00Z"), ("sent", "2026-12-07T04:00:00"), ("sent", "2026-12-07T04:00:00+08:00"),
    ("sent", 1765080000), ("signer", "04" + "0" * 127), ("signer", "03" + "0" * 128),
    ("signer", "04" + "A" * 128), ("body", []), ("body", "x"), ("body", None), ("v", 2), ("v", "1"),
]  # fmt: skip


@pytest.mark.parametrize(("field", "value"), MALFORMED)
def test_every_malformed_field_is_refused_as_form(field: str, value: Any) -> None:
    msg = resign({**message(), field: value})
    with pytest.raises(pm.MessageError) as caught:
        pm.check_message(msg, verify)
    assert caught.value.code == "form"
    assert field in caught.value.message_en


@pytest.mark.parametrize("bad", [None, [], "text", 1])
def test_not_an_object_is_refused(bad: Any) -> None:
    with pytest.raises(pm.MessageError) as caught:
        pm.check_message(bad, verify)
    assert caught.value.code == "form"


def test_an_extra_or_missing_key_is_refused() -> None:
    extra = resign({**message(), "note": "x"})
    missing = resign({k: v for k, v in message().items() if k != "sent"})
    for msg in (extra, missing):
        with pytest.raises(pm.MessageError) as caught:
            pm.check_message(msg, verify)
        assert caught.value.code == "form"


def test_a_signature_that_is_not_base64_is_refused() -> None:
    for bad in ("not base64!", "", "AAA"):
        with pytest.raises(pm.MessageError) as caught:
            pm.check_message({**message(), "signature": bad}, verify)
        assert caught.value.code == "signature"


# ------------------------------------------------------------------------------- flipped bits


def _flip(text: str, index: int) -> str:
    """The text with one bit of one character flipped, kept printable."""
    c = text[index]
    flipped = chr(ord(c) ^ 1)
    if flipped == c or not flipped.isprintable():
        flipped = chr(ord(c) ^ 2)
    return text[:index] + flipped + text[index + 1 :]


@pytest.mark.parametrize("field", ["id", "from", "to", "kind", "sent", "signer"])
def test_a_flipped_bit_in_any_signed_field_fails(field: str) -> None:
    msg = message()
    value = msg[field]
    for index in (0, len(value) // 2, len(value) - 1):
        changed = {**msg, field: _flip(value, index)}
        with pytest.raises(pm.MessageError):
            pm.check_message(changed, verify)


def test_a_changed_body_fails() -> None:
    msg = message()
    for body in (
        {"名": "王建华", "n": 2},
        {"名": "王建平", "n": 1},
        {"名": "王建华", "n": 1, "x": 0},
        {},
    ):
        with pytest.raises(pm.MessageError) as caught:
            pm.check_message({**msg, "body": body}, verify)
        assert caught.value.code == "signature"


def test_a_flipped_bit_in_the_signature_fails() -> None:
    msg = message()
    raw = bytearray(base64.b64decode(msg["signature"]))
    for index in (4, len(raw) // 2, len(raw) - 1):
        changed = bytearray(raw)
        changed[index] ^= 0x01
        with pytest.raises(pm.MessageError) as caught:
            pm.check_message({**msg, "signature": base64.b64encode(changed).decode()}, verify)
        assert caught.value.code == "signature"


def test_a_message_signed_by_another_key_than_its_signer_fails() -> None:
    msg = message()
    forged = resign(msg, OTHER)  # signer field still names KEY
    with pytest.raises(pm.MessageError) as caught:
        pm.check_message(forged, verify)
    assert caught.value.code == "signature"


def test_the_signer_key_is_the_callers_check() -> None:
    """A well-formed message by any key verifies: the member list decides who may send."""
    msg = message(OTHER)
    assert pm.check_message(msg, verify)["signer"] == OTHER.public_key_hex != KEY.public_key_hex


# ---------------------------------------------------------------------------------- receipts


def receipt_for(msg: dict[str, Any], key: SigningKey = OTHER) -> dict[str, Any]:
    return pm.make_receipt(
        msg, by="B02", received=SENT, signer_key=key.public_key_hex, sign=key.sign
    )


def test_a_receipt_checks_for_its_message_only() -> None:
    msg = message()
    receipt = receipt_for(msg)
    assert pm.check_receipt(receipt, msg, verify) is receipt
    assert receipt["digest"] == pm.digest(msg)
    for other in (message(), {**msg, "signature": message()["signature"]}):
        with pytest.raises(pm.MessageError) as caught:
            pm.check_receipt(receipt, other, verify)
        assert caught.value.code == "receipt"


def test_a_receipt_for_another_message_with_the_same_id_fails() -> None:
    msg = message()
    twin = message(message_id=msg["id"], body={"other": True})
    with pytest.raises(pm.MessageError):
        pm.check_receipt(receipt_for(twin), msg, verify)


@pytest.mark.parametrize("field", ["id", "by", "received", "digest", "signer", "signature"])
def test_a_flipped_bit_anywhere_in_a_receipt_fails(field: str) -> None:
    msg = message()
    receipt = receipt_for(msg)
    value = receipt[field]
    for index in (0, len(value) // 2, len(value) - 1):
        with pytest.raises(pm.MessageError):
            pm.check_receipt({**receipt, field: _flip(value, index)}, msg, verify)


def test_a_malformed_receipt_fails() -> None:
    msg = message()
    receipt = receipt_for(msg)
    bad = [None, [], {**receipt, "extra": 1}, {k: v for k, v in receipt.items() if k != "by"},
           {**receipt, "received": 1}, {**receipt, "signer": None}]  # fmt: skip
    for r in bad:
        with pytest.raises(pm.MessageError) as caught:
            pm.check_receipt(r, msg, verify)
        assert caught.value.code == "receipt"


def test_a_receipt_by_another_key_verifies_here_and_the_caller_compares_the_signer() -> None:
    msg = message()
    receipt = receipt_for(msg, KEY)
    assert pm.check_receipt(receipt, msg, verify)["signer"] != OTHER.public_key_hex


# -------------------------------------------------------------------------------- statements


def test_a_statement_checks_against_the_trusted_keys_only() -> None:
    statement = pm.sign_statement(
        {"node": "A01", "seq": 3, "名": "甲"}, KEY.public_key_hex, KEY.sign
    )
    assert pm.check_statement(statement, {KEY.public_key_hex}, verify) is statement
    with pytest.raises(pm.MessageError) as caught:
        pm.check_statement(statement, {OTHER.public_key_hex}, verify)
    assert caught.value.code == "statement"
    for changed in ({**statement, "seq": 4}, {**statement, "extra": 1}, resign(statement, OTHER)):
        with pytest.raises(pm.MessageError):
            pm.check_statement(changed, {KEY.public_key_hex}, verify)
    for bad in (None, [], {"signer": KEY.public_key_hex}):
        with pytest.raises(pm.MessageError):
            pm.check_statement(bad, {KEY.public_key_hex}, verify)


def test_a_statement_with_a_malformed_signer_is_refused_not_raised() -> None:
    statement = pm.sign_statement({"node": "A01"}, "zz", KEY.sign)
    with pytest.raises(pm.MessageError):
        pm.check_statement(statement, {"zz"}, verify)


# ------------------------------------------------------------------------------------ chain


def test_entry_hash_links_and_changes_with_every_field() -> None:
    fields = {"seq": 1, "direction": "in", "peer": "A01", "kind": "ping", "message_id": "0" * 32,
              "digest": "1" * 64, "logged_at": SENT}  # fmt: skip
    first = pm.entry_hash(pm.GENESIS, fields)
    assert first == pm.entry_hash(pm.GENESIS, dict(reversed(list(fields.items()))))
    assert pm.entry_hash(first, fields) != first
    for name in fields:
        changed = copy.deepcopy(fields)
        changed[name] = 2 if name == "seq" else str(changed[name]) + "x"
        assert pm.entry_hash(pm.GENESIS, changed) != first
