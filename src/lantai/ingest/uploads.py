"""Resumable (chunked) uploads of transfer packages, for files too large for one form post.

A session is a directory DATA_DIR/ingest/uploads/<token> holding `meta.json` (owner's user id,
file name, announced size, optional client SM3) and `data` (the bytes received so far). Chunks are
appended strictly in order: a chunk at the next expected offset is appended, one lying wholly in
the part already received is acknowledged without writing (a retry), anything else (a gap, an
overlap, an overrun) is refused with the current offset, so the client can resume from there.
When complete, `finish` moves the file under UPLOAD_DIR, named as `importing.store_upload` names
uploads, and the ordinary transfer code path takes over.

Limits: one file at most UPLOAD_MAX_BYTES; per user at most UPLOAD_MAX_OPEN open sessions whose
announced sizes total at most UPLOAD_MAX_OPEN_BYTES (413 / 400, the web layer answers JSON)."""

from __future__ import annotations

import fcntl
import json
import os
import re
import secrets
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from django.conf import settings
from django.utils.translation import gettext

from lantai.catalog.importing import upload_path
from lantai.core.sm3 import sm3_stream

BLOCK = 1024 * 1024
STALE_DAYS = 7  # a session untouched this long is abandoned and removed
TOKEN = re.compile(r"[0-9a-f]{32}")


class UploadError(Exception):
    """A refused step; `status` is the HTTP status the web layer answers with."""

    def __init__(self, message_zh: str, status: int = 400, offset: int | None = None) -> None:
        super().__init__(message_zh)
        self.message_zh = message_zh
        self.status = status
        self.offset = offset


@dataclass(frozen=True)
class Upload:
    token: str
    directory: Path
    owner: int
    name: str
    size: int
    sm3: str

    @property
    def data(self) -> Path:
        return self.directory / "data"

    @property
    def received(self) -> int:
        try:
            return self.data.stat().st_size
        except FileNotFoundError:
            return 0

    @property
    def complete(self) -> bool:
        return self.received == self.size


def root() -> Path:
    return Path(settings.DATA_DIR) / "ingest" / "uploads"


def max_bytes() -> int:
    return int(getattr(settings, "UPLOAD_MAX_BYTES", 50 * 1024**3))


def start(owner: int, name: str, size: int, sm3: str = "") -> Upload:
    """Open a session for `owner` (a user id) to upload `size` bytes of a file called `name`."""
    name = Path(name.replace("\\", "/")).name.strip()
    sm3 = sm3.strip().lower()
    if not name:
        raise UploadError("须提供文件名")
    if size <= 0:
        raise UploadError("文件为空")
    if size > max_bytes():
        raise UploadError(f"文件过大：{size} 字节，超过上限 {max_bytes()} 字节", status=413)
    if sm3 and not re.fullmatch(r"[0-9a-f]{64}", sm3):
        raise UploadError("SM3 摘要格式不正确（应为 64 位十六进制）")
    purge()
    _check_open_uploads(owner, size)
    token = secrets.token_hex(16)
    directory = root() / token
    directory.mkdir(parents=True, mode=0o750)
    meta = {"owner": owner, "name": name, "size": size, "sm3": sm3}
    (directory / "meta.json").write_text(json.dumps(meta, ensure_ascii=False), "utf-8")
    (directory / "data").touch(mode=0o640)
    return Upload(token, directory, owner, name, size, sm3)


def open_uploads(owner: int) -> list[Upload]:
    """The sessions `owner` has open (not finished, discarded or purged)."""
    if not root().is_dir():
        return []
    found = (get(d.name, owner) for d in root().iterdir())
    return [u for u in found if u is not None]


def _check_open_uploads(owner: int, size: int) -> None:
    """Refuse a new session beyond the per-user limits on open sessions and their total size."""
    mine = open_uploads(owner)
    if len(mine) >= settings.UPLOAD_MAX_OPEN:
        raise UploadError(
            gettext(
                "您已有 %(count)s 个未完成的上传，达到上限 %(limit)s 个：请先完成或取消其中的上传"
                "（%(days)s 天未续传的上传会自动清除）。"
            )
            % {"count": len(mine), "limit": settings.UPLOAD_MAX_OPEN, "days": STALE_DAYS},
            status=400,
        )
    announced = sum(u.size for u in mine)
    if announced + size > settings.UPLOAD_MAX_OPEN_BYTES:
        raise UploadError(
            gettext(
                "未完成的上传总量将达 %(total)s 字节，超过每位用户的上限 %(limit)s 字节：请先完成或"
                "取消已有的上传。"
            )
            % {"total": announced + size, "limit": settings.UPLOAD_MAX_OPEN_BYTES},
            status=413,
        )


def get(token: str, owner: int) -> Upload | None:
    """The session `token` if it exists and belongs to `owner`; None otherwise (no difference
    is made between the two, so that tokens of others cannot be probed)."""
    if not TOKEN.fullmatch(token):
        return None
    directory = root() / token
    try:
        meta = json.loads((directory / "meta.json").read_text("utf-8"))
    except (OSError, ValueError):
        return None
    if meta.get("owner") != owner:
        return None
    return Upload(token, directory, owner, meta["name"], int(meta["size"]), meta.get("sm3", ""))


def append(upload: Upload, offset: int, length: int, body: BinaryIO) -> int:
    """Append `length` bytes read from `body` at `offset`; returns the bytes received in all.
    Raises UploadError (409, with the current offset) for a chunk that does not fit."""
    if offset < 0 or length < 0:
        raise UploadError("分块范围不正确")
    with open(upload.data, "ab") as out:
        fcntl.flock(out, fcntl.LOCK_EX)  # one writer at a time per session
        received = out.seek(0, os.SEEK_END)
        if offset + length <= received:
            return received  # already have it: a retried chunk
        if offset != received:
            raise UploadError(
                f"分块不连续：应从第 {received} 字节续传", status=409, offset=received
            )
        if offset + length > upload.size:
            raise UploadError(f"分块超出文件大小 {upload.size} 字节", status=409, offset=received)
        left = length
        while left > 0:
            block = body.read(min(BLOCK, left))
            if not block:
                break  # the connection broke: keep what arrived, the client resumes from there
            out.write(block)
            left -= len(block)
        out.flush()
        return out.tell()


def finish(upload: Upload) -> Path:
    """Move a complete upload under UPLOAD_DIR (a random name with its plain suffix) and close
    the session. Raises UploadError for an incomplete upload or an SM3 that does not match."""
    received = upload.received
    if received != upload.size:
        raise UploadError(
            f"文件“{upload.name}”尚未上传完整（已收到 {received} / {upload.size} 字节），"
            "请重新选择该文件以继续上传。",
            status=409,
            offset=received,
        )
    if upload.sm3:
        with open(upload.data, "rb") as f:
            if sm3_stream(f) != upload.sm3:
                discard(upload)
                raise UploadError(
                    f"文件“{upload.name}”的 SM3 摘要与上传前计算的不一致，请重新上传。"
                )
    path = upload_path(upload.name)
    shutil.move(upload.data, path)
    discard(upload)
    return path


def discard(upload: Upload) -> None:
    shutil.rmtree(upload.directory, ignore_errors=True)


def purge(max_age_days: float = STALE_DAYS) -> int:
    """Remove sessions untouched for `max_age_days` (abandoned uploads); returns how many."""
    if not root().is_dir():
        return 0
    limit = time.time() - max_age_days * 86400
    removed = 0
    for directory in root().iterdir():
        data = directory / "data"
        try:
            touched = max(directory.stat().st_mtime, data.stat().st_mtime if data.exists() else 0)
        except OSError:
            continue
        if TOKEN.fullmatch(directory.name) and touched < limit:
            shutil.rmtree(directory, ignore_errors=True)
            removed += 1
    return removed
