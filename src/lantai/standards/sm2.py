"""SM2 with SM3 (GB/T 32918.2): the message digest e = SM3(Z ‖ M), with Z over the signer's user
id (GB/T 35276's default, data/signature-algorithms.yaml), the curve and the public key, and the
check of a signature (r, s) over it. Shared by the EEP signature check and the archives' own key
(core/signing.py); gmssl does the curve arithmetic."""

from __future__ import annotations

from cryptography.hazmat.primitives import hashes
from gmssl import sm2

from ._data import load_data

__all__ = ["N", "digest_e", "user_id", "verify_rs"]

N = int("FFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFF7203DF6B21C6052B53BBF40939D54123", 16)  # the group order


def _sm3(data: bytes) -> bytes:
    h = hashes.Hash(hashes.SM3())
    h.update(data)
    return h.finalize()


def user_id() -> bytes:
    return str(load_data("signature-algorithms.yaml")["sm2_default_user_id"]).encode("ascii")


def digest_e(point: bytes, message: bytes) -> bytes:
    """SM3(Z ‖ M) for the uncompressed public key `point` (04 ‖ x ‖ y)."""
    table = sm2.default_ecc_table
    uid = user_id()
    z = _sm3(
        (len(uid) * 8).to_bytes(2, "big")
        + uid
        + bytes.fromhex(table["a"] + table["b"] + table["g"])
        + point[1:]
    )
    return _sm3(z + message)


def verify_rs(point: bytes, r: int, s: int, message: bytes) -> bool:
    """Whether (r, s) is an SM2 signature of `message` by the key `point`."""
    if len(point) != 65 or point[0] != 4:
        raise ValueError("SM2 公钥不是未压缩的曲线点")
    if not (1 <= r < N and 1 <= s < N):
        return False
    verifier = sm2.CryptSM2(private_key=None, public_key="00")
    verifier.public_key = point[1:].hex()  # set directly: the constructor's lstrip("04") is lossy
    return bool(verifier.verify(f"{r:064x}{s:064x}", digest_e(point, message)))
