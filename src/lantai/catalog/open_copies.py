"""Redacted open copies (信息级开放): a partly opened record is read by the public through its open
copy only — the PDF, text and field values made by 开放审核 with the closed passages removed. The
search index and the portal ask here; the review room writes here (it is a floor above)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction

from lantai.catalog.models import OpenCopy, Record
from lantai.core import sm3

# the catalogue fields an open copy may give in redacted form
REDACTABLE_FIELDS = ("title", "author", "document_number", "remarks")


def _root() -> Path:
    return Path(settings.MEDIA_ROOT)


def set_open_copy(
    record: Record, pdf: bytes, text: str, fields: dict[str, str], evidence: dict[str, Any]
) -> OpenCopy:
    """Store the open copy of `record` (replacing an earlier one); the PDF is content-addressed."""
    unknown = set(fields) - set(REDACTABLE_FIELDS)
    if unknown:
        raise ValueError(f"fields that cannot be redacted: {sorted(unknown)}")
    digest = sm3.sm3_hex(pdf)
    rel = Path("open-copies") / digest[:2] / f"{digest}.pdf"
    path = _root() / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        tmp = path.with_suffix(".tmp")
        tmp.write_bytes(pdf)
        os.replace(tmp, path)
    with transaction.atomic():
        copy, _ = OpenCopy.objects.update_or_create(
            record=record,
            defaults={
                "path": str(rel), "sm3": digest, "size": len(pdf), "text": text,
                "fields": fields, "evidence": evidence,
            },
        )  # fmt: skip
        Record.objects.filter(pk=record.pk).update(updated_at=copy.created_at)
    return copy


def clear_open_copy(record: Record) -> None:
    OpenCopy.objects.filter(record=record).delete()


def open_copy_of(record_id: int) -> OpenCopy | None:
    return OpenCopy.objects.filter(record_id=record_id).first()


def open_copy_path(copy: OpenCopy) -> Path:
    return _root() / copy.path


def open_copies(record_ids: list[int]) -> dict[int, OpenCopy]:
    return {c.record_id: c for c in OpenCopy.objects.filter(record_id__in=record_ids)}


def public_value(record: Record, field: str, copy: OpenCopy | None) -> Any:
    """A field of `record` as the public sees it: the redacted value where the open copy has one."""
    if copy is not None and field in copy.fields:
        return copy.fields[field]
    return getattr(record, field)
