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
from lantai.standards import marriage_profile

from . import identity, records
from .models import ImportRun, Registration

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
    try:
        good = _read_rows(table, result)
        good = _numbers_taken(fonds, good, result)
    except FileUnreadable as e:  # a row the reader cannot take (a field over the CSV limit …)
        result.status = "failed"
        _error(result, 0, "", "unreadable", "", e.message_zh, e.message_en)
        _finish(run, fonds, result, started)
        raise
    if result.rows_rejected and not valid_rows_only:
        result.status = "rejected"
    elif result.rows_total == 0:
        result.status = "rejected"
        _error(result, table.header_row, "", "empty", "", "文件中没有数据行", "the file has no data rows")  # fmt: skip
    else:
        written = records.write(fonds, [reg for _row, reg in good], run_id=run.pk)
        result.rows_imported = len(written.created)
        result.rows_unchanged = written.unchanged
        result.status = "imported"
    _finish(run, fonds, result, started)
    return result


def _error(result: Result, row: int, column: str, rule: str, value: str, zh: str, en: str) -> None:
    if len(result.errors) >= MAX_ERRORS:
        result.errors_truncated = True
        return
    # a report is shown, stored and exported: identity numbers in it are masked
    result.errors.append({
        "row": row, "column": column, "rule": rule, "value": identity.mask_in_text(value),
        "message": identity.mask_in_text(zh), "message_en": identity.mask_in_text(en),
    })  # fmt: skip


def _read_rows(table: Any, result: Result) -> list[tuple[int, marriage_profile.Registration]]:
    good: list[tuple[int, marriage_profile.Registration]] = []
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
                _error(result, number, p.column, p.rule, p.value, p.message_zh, p.message_en)
            continue
        good.append((number, registration))
    return good


def _numbers_taken(
    fonds: Fonds, good: list[tuple[int, marriage_profile.Registration]], result: Result
) -> list[tuple[int, marriage_profile.Registration]]:
    """Rows whose 证号 another registration of the fonds (or an earlier row) already carries with
    other content — a name or an identity number changed — are errors: a 证号 names one
    registration, and a corrected row must not become a second one unnoticed."""
    numbers = {reg.certificate_number for _row, reg in good if reg.certificate_number}
    held = {
        number: (key, code)
        for number, key, code in Registration.objects.filter(
            record__fonds=fonds, certificate_number__in=numbers
        ).values_list("certificate_number", "record__row_hash", "record__reference_code")
    }
    kept = []
    for row, reg in good:
        number = reg.certificate_number
        key = records.row_key(reg)
        if number and number in held and held[number][0] != key:
            result.rows_rejected += 1
            where = held[number][1]
            _error(
                result, row, "证号", "certificate_number_taken", number,
                f"证号 {number} 已登记为另一条内容不同的记录（{where}）：请核对后更正原记录",
                f"certificate number {number} is already registered with other content "
                f"({where}): check it and correct the existing record",
            )  # fmt: skip
            continue
        if number:
            held.setdefault(number, (key, f"第 {row} 行"))
        kept.append((row, reg))
    return kept


def _finish(run: ImportRun, fonds: Fonds, result: Result, started: float) -> None:
    result.seconds = time.perf_counter() - started
    ImportRun.objects.filter(pk=run.pk).update(
        status=result.status, rows_total=result.rows_total, rows_imported=result.rows_imported,
        rows_unchanged=result.rows_unchanged, rows_rejected=result.rows_rejected,
        errors=result.errors, finished_at=timezone.now(),
    )  # fmt: skip
    audit.record(
        "marriage_import", "marriage_import", run.pk,
        {"file": result.file_name, "file_sm3": run.file_sm3, "fonds": fonds.code,
         "status": result.status, "imported": result.rows_imported,
         "rejected": result.rows_rejected},
        actor=run.actor,
    )  # fmt: skip
