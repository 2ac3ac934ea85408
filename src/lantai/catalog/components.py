"""Digital components (电子文件) of records: upload into content-addressed storage, look-up and
download. Permission checks and visibility come from `lantai.catalog.services`."""

from __future__ import annotations

import hashlib
import mimetypes
import os
import secrets
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from cryptography.hazmat.primitives import hashes
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from lantai.catalog.models import Component, ComponentText, Record
from lantai.catalog.services import CatalogError, PermissionDenied, require, visible_records
from lantai.core import audit
from lantai.core.models import User
from lantai.core.roles import EDIT, VIEW
from lantai.core.sm3 import sm3_stream


def _check_file_name(name: str) -> str:
    if not name or not name.strip():
        raise CatalogError("文件名不能为空", "file")
    bad = "/" in name or "\\" in name or name in (".", "..")
    bad = bad or any(unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp") for ch in name)
    if bad:
        raise CatalogError(
            f"文件名“{name.encode('unicode_escape').decode('ascii')}”含路径分隔符或控制字符，"
            "不能接收：请改为普通文件名后重新上传",
            "file",
        )
    if len(name) > 255:
        raise CatalogError("文件名超过 255 个字符，请改短后重新上传", "file")
    return name


def attach_component(
    record: Record, chunks: Iterable[bytes], original_name: str, *, user: User | None
) -> Component:
    """Store an uploaded file as a digital component (电子文件) of `record`.

    The content is streamed once into MEDIA_ROOT under a content-addressed path (``sm3[:2]/sm3``),
    computing SM3, SHA-256 and the size on the way; an identical file already stored is reused.
    The original name is kept only in the database. Empty files and names with path separators
    or control characters are refused. Files are never executed, nor served except as downloads.
    """
    require(user, EDIT)
    if user is not None and not visible_records(user).filter(pk=record.pk).exists():
        raise PermissionDenied("无权为该档案添加电子文件")
    name = _check_file_name(original_name)
    stored = store_chunks(chunks)
    if stored.size == 0:
        raise CatalogError(f"文件“{name}”是空文件（0 字节），未保存", "file")
    with transaction.atomic():
        component = add_stored(record, stored, name)
        touch([record.pk])
        return component


@dataclass(frozen=True)
class StoredFile:
    relative: str  # under MEDIA_ROOT: sm3[:2]/sm3
    sm3: str
    sha256: str
    size: int


def store_chunks(chunks: Iterable[bytes]) -> StoredFile:
    """Stream content once into MEDIA_ROOT under its content address (``sm3[:2]/sm3``), computing
    SM3, SHA-256 and the size on the way; identical content already stored is kept as it is (a
    stored copy that no longer holds its content is replaced). An empty content is not stored
    (size 0, relative "")."""
    root = Path(settings.MEDIA_ROOT)
    incoming = root / "incoming"
    incoming.mkdir(parents=True, exist_ok=True)
    tmp = incoming / secrets.token_hex(16)
    sm3, sha256, size = hashes.Hash(hashes.SM3()), hashlib.sha256(), 0
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o640)
        with os.fdopen(fd, "wb") as out:
            for chunk in chunks:
                sm3.update(chunk)
                sha256.update(chunk)
                size += len(chunk)
                out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
        digest = sm3.finalize().hex()
        if size == 0:
            return StoredFile("", digest, sha256.hexdigest(), 0)
        relative = f"{digest[:2]}/{digest}"
        final = root / relative
        final.parent.mkdir(parents=True, exist_ok=True)
        if final.exists() and _holds(final, digest):  # the same content is already stored
            tmp.unlink()
        else:  # new, or a stored copy that no longer holds its content: the new one replaces it
            os.replace(tmp, final)
        return StoredFile(relative, digest, sha256.hexdigest(), size)
    finally:
        tmp.unlink(missing_ok=True)


def _holds(path: Path, sm3_hex: str) -> bool:
    """Whether the file at a content address still has that content (SM3)."""
    with path.open("rb") as f:
        return sm3_stream(f) == sm3_hex


def store_file(path: Path) -> StoredFile:
    """`store_chunks` of a file on disk."""
    with path.open("rb") as f:
        return store_chunks(iter(lambda: f.read(1024 * 1024), b""))


def add_stored(record: Record, stored: StoredFile, name: str) -> Component:
    """A component of `record` for content already stored by `store_chunks` (the caller checked
    the permission and holds the transaction that attaches a set of files at once)."""
    mime = mimetypes.guess_type(name, strict=False)[0] or "application/octet-stream"
    component = Component.objects.create(
        record=record,
        name=_check_file_name(name),
        size=stored.size,
        mime_type=mime[:100],
        sm3=stored.sm3,
        sha256=stored.sha256,
        path=stored.relative,
    )
    return component


def touch(record_ids: Iterable[int]) -> None:
    """The records got files: harvesters that go by ``updated_at`` (the platform's marriage feed,
    OAI-PMH) see them again. One statement for a whole batch."""
    Record.objects.filter(pk__in=set(record_ids)).update(updated_at=timezone.now())


def set_component_text(component_id: int, text: str, source: str) -> None:
    """The text another room made of a component (OCR, described segments); the search index
    picks it up instead of the file's own text layer. An empty text removes it."""
    if not text.strip():
        ComponentText.objects.filter(component_id=component_id).delete()
        return
    ComponentText.objects.update_or_create(
        component_id=component_id, defaults={"text": text, "source": source}
    )


def visible_component(user: User | None, pk: int) -> Component | None:
    """A component whose record `user` may see, with its record loaded."""
    return (
        Component.objects.select_related("record")
        .filter(pk=pk, record__in=visible_records(user))
        .first()
    )


def record_components(record: Record) -> list[Component]:
    return list(Component.objects.filter(record=record).order_by("id"))


def open_component(component: Component, user: User | None = None) -> BinaryIO:
    """The stored content of a component, opened for reading (the caller closes it). The path is
    checked to stay inside MEDIA_ROOT; the access is written to the audit log."""
    if user is not None:
        require(user, VIEW)
        if not visible_records(user).filter(pk=component.record_id).exists():
            raise PermissionDenied("无权查阅该电子文件")
    root = Path(settings.MEDIA_ROOT).resolve()
    path = (root / component.path).resolve()
    if not path.is_relative_to(root) or not path.is_file():
        raise CatalogError(f"电子文件“{component.name}”的存储文件缺失，请联系保管员", "")
    handle = path.open("rb")
    audit.record(
        "component_download",
        "component",
        component.pk,
        {"record_id": component.record_id, "name": component.name, "sm3": component.sm3},
    )
    return handle
