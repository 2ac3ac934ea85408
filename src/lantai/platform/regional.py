"""The regional key: every node holds it, the hub never does. A node hashes the identity numbers
of its marriage records with it (HMAC-SM3) for the hub's index, and a window hashes the number it
searches for, so equal numbers meet at the hub while no number ever reaches it.

The key is a file (``DATA_DIR/keys/regional-id.key``, 32 bytes, 0600) made once at one node and
carried to the others out of band (`lantai platform regional-key --export/--import`); it is never
sent over the platform."""

from __future__ import annotations

import functools
import os
from pathlib import Path

from cryptography.hazmat.primitives import hashes, hmac

from lantai.core.key_files import KeyFileError, key_path, keys_dir, read_private
from lantai.marriage import identity

KEY_FILE = "regional-id.key"
KEY_BYTES = 32


def path() -> Path:
    return keys_dir() / KEY_FILE


def has_key() -> bool:
    return path().exists()


def _key() -> bytes:
    return _load(key_path(KEY_FILE))


@functools.lru_cache(maxsize=4)
def _load(where: str) -> bytes:
    """Read once per process: a harvest hashes every party's number."""
    if not Path(where).exists():
        raise KeyFileError(
            f"没有全区证件号码密钥 {path()}：在一个节点用 lantai platform regional-key --create 生成，"
            "再用 --export/--import 带到其他节点（不经平台传送）",
            f"no regional ID key at {path()}: create it at one node with "
            "`lantai platform regional-key --create` and carry it to the others with --export/--import",
        )
    raw = read_private(Path(where), "全区证件号码密钥", "regional ID key")
    if len(raw) != KEY_BYTES:
        raise KeyFileError(f"全区证件号码密钥应为 {KEY_BYTES} 字节", f"the regional ID key must hold {KEY_BYTES} bytes")  # fmt: skip
    return raw


def install(raw: bytes) -> None:
    """Put the key in place (refused when a different key is already there)."""
    if len(raw) != KEY_BYTES:
        raise KeyFileError(f"全区证件号码密钥应为 {KEY_BYTES} 字节，实为 {len(raw)} 字节", f"the regional ID key must hold {KEY_BYTES} bytes, not {len(raw)}")  # fmt: skip
    if has_key():
        if _key() != raw:
            raise KeyFileError("本节点已有另一把全区证件号码密钥：先核对，再手工替换", "this node already holds a different regional ID key")  # fmt: skip
        return
    target = path()
    target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(raw)


def create() -> None:
    install(os.urandom(KEY_BYTES))


def export() -> bytes:
    return _key()


def id_hash(id_type: str, number: str) -> str:
    """32 hex digits, as the hub's index keeps them."""
    kind = "resident_id" if identity.is_resident(id_type) else "document"
    h = hmac.HMAC(_key(), hashes.SM3())
    h.update(f"{kind}:{identity.normalise(id_type, number)}".encode())
    return h.finalize()[:16].hex()
