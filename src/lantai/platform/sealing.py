"""Sealing the identity numbers a request carries, so that neither side's message log holds them
in clear: SM4-GCM under a key both nodes derive from their own SM2 private key and the other's
public key (static Diffie-Hellman on the SM2 curve, the x coordinate through SM3)."""

from __future__ import annotations

import base64
import json
import os
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from lantai.standards import platform_messages as pm
from lantai.standards import sm2

from . import peers

CONTEXT = b"lantai-platform-seal/1"


def _shared_key(peer_public_key: str) -> bytes:
    own = peers.own_key()
    x = sm2.shared_x(own._d, bytes.fromhex(peer_public_key))  # d·P; ValueError off the curve
    a, b = sorted([own.public_key_hex, peer_public_key])
    return bytes.fromhex(pm.sm3_hex(CONTEXT + x + a.encode() + b.encode()))[:16]


def seal(data: dict[str, Any], peer_public_key: str, context: str) -> str:
    nonce = os.urandom(12)
    encryptor = Cipher(algorithms.SM4(_shared_key(peer_public_key)), modes.GCM(nonce)).encryptor()
    encryptor.authenticate_additional_data(context.encode())
    body = encryptor.update(json.dumps(data, ensure_ascii=False).encode()) + encryptor.finalize()
    return base64.b64encode(nonce + body + encryptor.tag).decode("ascii")


def unseal(token: str, peer_public_key: str, context: str) -> dict[str, Any]:
    """ValueError when the token was not sealed between these two keys for this context."""
    raw = base64.b64decode(token, validate=True)
    if len(raw) < 29:
        raise ValueError("sealed data too short")
    nonce, body, tag = raw[:12], raw[12:-16], raw[-16:]
    decryptor = Cipher(algorithms.SM4(_shared_key(peer_public_key)), modes.GCM(nonce, tag)).decryptor()  # fmt: skip
    decryptor.authenticate_additional_data(context.encode())
    try:
        data = json.loads(decryptor.update(body) + decryptor.finalize())
    except InvalidTag as exc:
        raise ValueError("the sealed data does not open with this pair of keys") from exc
    if not isinstance(data, dict):
        raise ValueError("sealed data is not an object")
    return data
