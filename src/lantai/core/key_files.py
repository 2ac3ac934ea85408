"""Secret key files under ``DATA_DIR/keys``: made once with mode 0600 in a 0700 directory, written
whole under another name and linked into place (a second process making the same key at the same
moment finds either no file or a complete one), and refused when group or others may read them, as
ssh refuses such a key. Never stored in the database or the repository."""

from __future__ import annotations

import contextlib
import functools
import os
import secrets
from collections.abc import Callable
from pathlib import Path

from django.conf import settings

__all__ = ["KeyFileError", "key_path", "keys_dir", "read_private", "write_once"]


class KeyFileError(Exception):
    """A key file cannot be used (unreadable, too open, not the expected kind): an operator's
    problem."""

    def __init__(self, message_zh: str, message_en: str) -> None:
        super().__init__(f"{message_zh} — {message_en}")
        self.message_zh, self.message_en = message_zh, message_en


def keys_dir() -> Path:
    return Path(settings.DATA_DIR) / "keys"


def key_path(name: str) -> str:
    """``keys_dir() / name`` as text, made once per data directory: hashing millions of numbers
    asks for it millions of times."""
    return _key_path(str(settings.DATA_DIR), name)


@functools.lru_cache(maxsize=64)
def _key_path(data_dir: str, name: str) -> str:
    return str(Path(data_dir) / "keys" / name)


def write_once(path: Path, make: Callable[[], bytes]) -> None:
    """Create ``path`` with the bytes ``make()`` returns unless it exists (then leave it)."""
    if path.exists():
        return
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    tmp = path.parent / f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(make())
            f.flush()
            os.fsync(f.fileno())
        with contextlib.suppress(FileExistsError):  # made by another process meanwhile
            os.link(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def read_private(path: Path, what_zh: str = "密钥文件", what_en: str = "key file") -> bytes:
    """The bytes of a key file that only its owner may read (KeyFileError otherwise)."""
    try:
        mode = path.stat().st_mode & 0o777
        if mode & 0o077:
            raise KeyFileError(
                f"{what_zh} {path} 的权限为 {mode:o}，他人可读；请执行 chmod 600 {path}",
                f"the {what_en} {path} has mode {mode:o} and others may read it; "
                f"run chmod 600 {path}",
            )
        return path.read_bytes()
    except OSError as exc:
        raise KeyFileError(
            f"无法读取{what_zh} {path}：{exc}", f"cannot read the {what_en} {path}: {exc}"
        ) from exc
