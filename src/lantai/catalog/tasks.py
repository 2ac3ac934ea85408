"""Queued jobs of the catalogue. Progress goes to the cache, readable by any web process."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.cache import cache

from lantai.catalog.importing import FileUnreadable, import_file
from lantai.catalog.models import ImportBatch
from lantai.core.audit import acting_as
from lantai.jobs import huey


def progress_key(batch_id: int) -> str:
    return f"import-progress:{batch_id}"


def read_progress(batch_id: int) -> dict[str, Any]:
    return cache.get(progress_key(batch_id)) or {}


@huey.task()
def run_import(
    batch_id: int, mapping: dict[str, str] | None, actor: str, level: str | None = None
) -> None:
    batch = ImportBatch.objects.select_related("category__fonds__repository", "created_by").get(
        pk=batch_id
    )
    key = progress_key(batch_id)

    def progress(rows: int) -> None:
        cache.set(key, {"rows": rows, "status": "running"}, 3600)

    with acting_as(actor):
        try:
            result = import_file(
                Path(batch.file_path), batch.category, valid_rows_only=batch.valid_rows_only,
                mapping=mapping, batch=batch, user=batch.created_by, progress=progress, level=level,
            )  # fmt: skip
            cache.set(key, {"rows": result.rows_total, "status": result.status}, 3600)
        except FileUnreadable as e:
            cache.set(key, {"status": "failed", "message": e.message_zh}, 3600)
