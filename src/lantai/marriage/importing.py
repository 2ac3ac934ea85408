"""Importing a civil-affairs export (.xlsx, or .csv in UTF-8 / UTF-16 / GB18030) of marriage
registrations: the headers are recognised by their usual names (standards/data/
marriage-profile.yaml), every row is checked (marriage_profile.validate_row), and the report lists
every bad row with its column and rule — the same report as the catalogue import. A file with bad
rows imports nothing unless the valid rows alone are asked for; importing the same file again
changes nothing."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.utils import timezone

from lantai.catalog.models import Fonds
from lantai.catalog.readers import FileUnreadable, open_table
from lantai.core import audit
from lantai.core.sm3 import sm3_stream
from lantai.search.tasks import queue_sync
from lantai.standards import marriage_profile

from . import records
from .models import ImportRun

MAX_ERRORS = 1000

__all__ = ["FileUnreadable", "Result", "import_file"]


@dataclass
class Result:
    run_id: int
    file_name: str
    status: str
    rows_total: int = 0
    rows_imported: int = 0
    rows_unchanged: int = 0
    rows_rejected: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)
    errors_truncated: bool = False
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "run": self.run_id, "file": self.file_name, "status": self.status,
            "rows_total": self.rows_total, "rows_imported": self.rows_imported,
            "rows_unchanged": self.rows_unchanged, "rows_rejected": self.rows_rejected,
            "errors": self.errors, "errors_truncated": self.errors_truncated,
            "seconds": round(self.seconds, 3),
        }  # fmt: skip

    def summary_lines(self) -> list[str]:
        lines = [
            f"{self.file_name}：共 {self.rows_total} 行，导入 {self.rows_imported}，"
            f"未变 {self.rows_unchanged}，拒绝 {self.rows_rejected}（{self.status}）"
        ]
        lines += [f"  第 {e['row']} 行 {e['column']}：{e['message']}" for e in self.errors[:50]]
        return lines


def _file_sm3(path: Path) -> str:
    with path.open("rb") as f:
        return sm3_stream(f)


def _is_header(cells: list[str]) -> bool:
    return len(marriage_profile.map_headers(cells).fields) >= 3


def import_file(
    path: Path, fonds: Fonds, *, actor: str, user: Any = None, valid_rows_only: bool = False
) -> Result:
    started = time.perf_counter()
    table = open_table(path, is_header=_is_header)  # FileUnreadable: no file, no header, .xls
    missing = marriage_profile.missing_columns(marriage_profile.map_headers(table.headers))
    if missing:
        raise FileUnreadable(
            f"“{path.name}”缺少必需的列：{'、'.join(missing)}",
            f"{path.name!r} lacks required columns: {', '.join(missing)}",
        )
    run = ImportRun.objects.create(
        fonds=fonds, file_name=path.name, file_sm3=_file_sm3(path), actor=actor,
        created_by=user if getattr(user, "pk", None) else None,
    )  # fmt: skip
    result = Result(run.pk, path.name, "running")
    good: list[marriage_profile.Registration] = []
    for number, cells in table.rows():
        result.rows_total += 1
        row = {
            header: "" if i >= len(cells) or cells[i] is None else cells[i]
            for i, header in enumerate(table.headers)
            if header
        }
        registration, problems = marriage_profile.validate_row(row)
        if problems or registration is None:
            result.rows_rejected += 1
            for p in problems:
                if len(result.errors) >= MAX_ERRORS:
                    result.errors_truncated = True
                    break
                result.errors.append({
                    "row": number, "column": p.column, "rule": p.rule,
                    "value": p.value, "message": p.message_zh, "message_en": p.message_en,
                })  # fmt: skip
            continue
        good.append(registration)
    if result.rows_rejected and not valid_rows_only:
        result.status = "rejected"
    elif result.rows_total == 0:
        result.status = "rejected"
        result.errors.append({"row": table.header_row, "column": "", "rule": "empty", "value": "",
                              "message": "文件中没有数据行", "message_en": "the file has no data rows"})  # fmt: skip
    else:
        written = records.write(fonds, good, run_id=run.pk)
        result.rows_imported = len(written.created)
        result.rows_unchanged = written.unchanged
        result.status = "imported"
        queue_sync(written.created)
    result.seconds = time.perf_counter() - started
    ImportRun.objects.filter(pk=run.pk).update(
        status=result.status, rows_total=result.rows_total, rows_imported=result.rows_imported,
        rows_unchanged=result.rows_unchanged, rows_rejected=result.rows_rejected,
        errors=result.errors, finished_at=timezone.now(),
    )  # fmt: skip
    audit.record(
        "marriage_import", "marriage_import", run.pk,
        {"file": path.name, "file_sm3": run.file_sm3, "fonds": fonds.code,
         "status": result.status, "imported": result.rows_imported,
         "rejected": result.rows_rejected},
        actor=actor,
    )  # fmt: skip
    return result
