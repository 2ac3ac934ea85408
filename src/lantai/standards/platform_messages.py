"""Messages between the nodes and the hub of the region-wide platform, and the hash chain of
the message log (docs/formats/platform-messages-1.0.md).

A message is a JSON object ``{"v", "id", "from", "to", "kind", "sent", "body", "signer",
"signature"}``; the signature (SM2 with SM3, DER, base64) covers the canonical bytes of every
other member: keys sorted, no spaces, UTF-8 (``canonical``). The receiver answers with a receipt
``{"v", "id", "by", "received", "digest", "signer", "signature"}`` that countersigns the SM3 digest
of the message's canonical bytes. A log entry's hash is SM3 over the previous entry's hash and the
entry's own fields, so an altered, removed or inserted entry breaks the chain after it."""

from __future__ import annotations

import base64
import binascii
import json
import re
import uuid
from collections.abc import Callable, Mapping
from typing import Any

from cryptography.hazmat.primitives import hashes

VERSION = 1
GENESIS = "0" * 64
_MESSAGE_KEYS = {"v", "id", "from", "to", "kind", "sent", "body", "signer", "signature"}
_RECEIPT_KEYS = {"v", "id", "by", "received", "digest", "signer", "signature"}
_ID = re.compile(r"[0-9a-f]{32}")
_CODE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,31}")
_KIND = re.compile(r"[a-z][a-z0-9_.]{0,39}")
_TIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,6})?Z")
_KEY = re.compile(r"04[0-9a-f]{128}")

Signer = Callable[[bytes], bytes]  # data -> DER signature
Verifier = Callable[[str, bytes, bytes], bool]  # public key hex, data, DER signature


class MessageError(ValueError):
    """A message or receipt breaks a rule; ``code`` names which."""

    def __init__(self, code: str, message_zh: str, message_en: str) -> None:
        super().__init__(message_en)
        self.code, self.message_zh, self.message_en = code, message_zh, message_en


def sm3_hex(data: bytes) -> str:
    h = hashes.Hash(hashes.SM3())
    h.update(data)
    return h.finalize().hex()


def canonical(obj: Mapping[str, Any]) -> bytes:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def new_id() -> str:
    return uuid.uuid4().hex


def make_message(
    *, sender: str, to: str, kind: str, sent: str, body: Mapping[str, Any], signer_key: str,
    sign: Signer, message_id: str | None = None,
) -> dict[str, Any]:  # fmt: skip
    unsigned = {"v": VERSION, "id": message_id or new_id(), "from": sender, "to": to,
                "kind": kind, "sent": sent, "body": dict(body), "signer": signer_key}  # fmt: skip
    return {**unsigned, "signature": base64.b64encode(sign(canonical(unsigned))).decode("ascii")}


def _signed_part(obj: Mapping[str, Any]) -> bytes:
    return canonical({k: v for k, v in obj.items() if k != "signature"})


def digest(message: Mapping[str, Any]) -> str:
    """SM3 of the whole message (signature included): what a receipt countersigns."""
    return sm3_hex(canonical(message))


def check_message(message: Any, verify: Verifier) -> dict[str, Any]:
    """The message if its form is right and its signature verifies under its ``signer`` key (the
    caller then checks that the key belongs to the sender on the member list)."""
    if not isinstance(message, dict) or set(message) != _MESSAGE_KEYS:
        raise MessageError("form", "消息格式不符合平台消息规范", "the message does not have the platform message form")  # fmt: skip
    checks = (("v", lambda v: v == VERSION), ("id", _ID.fullmatch), ("from", _CODE.fullmatch),
              ("to", _CODE.fullmatch), ("kind", _KIND.fullmatch), ("sent", _TIME.fullmatch),
              ("signer", _KEY.fullmatch), ("body", lambda b: isinstance(b, dict)))  # fmt: skip
    for name, ok in checks:
        value = message[name]
        if not ((isinstance(value, str) or name in ("v", "body")) and ok(value)):
            raise MessageError("form", f"消息字段 {name} 不符合规范", f"the message field {name} is malformed")  # fmt: skip
    _check_signature(message, verify)
    return message


def _check_signature(obj: Mapping[str, Any], verify: Verifier) -> None:
    try:
        signature = base64.b64decode(str(obj["signature"]), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise MessageError("signature", "签名不是 base64", "the signature is not base64") from exc
    if not verify(str(obj["signer"]), _signed_part(obj), signature):
        raise MessageError("signature", "签名无效：消息被改动或不是该密钥所签", "the signature does not verify: the message was altered or not signed by that key")  # fmt: skip


def make_receipt(
    message: Mapping[str, Any], *, by: str, received: str, signer_key: str, sign: Signer
) -> dict[str, Any]:
    unsigned = {"v": VERSION, "id": message["id"], "by": by, "received": received,
                "digest": digest(message), "signer": signer_key}  # fmt: skip
    return {**unsigned, "signature": base64.b64encode(sign(canonical(unsigned))).decode("ascii")}


def check_receipt(receipt: Any, message: Mapping[str, Any], verify: Verifier) -> dict[str, Any]:
    """The receipt if it countersigns exactly ``message`` (the caller checks the signer key)."""
    if not isinstance(receipt, dict) or set(receipt) != _RECEIPT_KEYS:
        raise MessageError("receipt", "回执格式不符合规范", "the receipt does not have the receipt form")  # fmt: skip
    if receipt["id"] != message["id"] or receipt["digest"] != digest(message):
        raise MessageError("receipt", "回执与所发消息不符", "the receipt is not for the message sent")  # fmt: skip
    if not (isinstance(receipt["received"], str) and _TIME.fullmatch(receipt["received"])):
        raise MessageError("receipt", "回执时间格式不符", "the receipt time is malformed")
    if not (isinstance(receipt["signer"], str) and _KEY.fullmatch(receipt["signer"])):
        raise MessageError("receipt", "回执签名密钥格式不符", "the receipt key is malformed")
    _check_signature(receipt, verify)
    return receipt


def entry_hash(prev_hash: str, fields: Mapping[str, Any]) -> str:
    """The chain link of one log entry: SM3(previous hash ‖ canonical fields)."""
    return sm3_hex(prev_hash.encode("ascii") + canonical(fields))


def sign_statement(statement: Mapping[str, Any], signer_key: str, sign: Signer) -> dict[str, Any]:
    """A small signed statement (an anchored chain head, a member list)."""
    unsigned = {**statement, "signer": signer_key}
    return {**unsigned, "signature": base64.b64encode(sign(canonical(unsigned))).decode("ascii")}


def check_statement(statement: Any, keys: set[str], verify: Verifier) -> dict[str, Any]:
    if not isinstance(statement, dict) or not {"signer", "signature"} <= set(statement):
        raise MessageError("statement", "签名声明格式不符", "the signed statement is malformed")
    if statement["signer"] not in keys:
        raise MessageError("statement", "声明不是由受信任的密钥签署", "the statement is not signed by a trusted key")  # fmt: skip
    _check_signature(statement, verify)
    return statement
