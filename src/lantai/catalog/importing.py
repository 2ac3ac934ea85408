"""Catalogue import (归档文件目录 from .xlsx / .csv): map columns, preview, import.

Guarantees:
- all or nothing by default: a file with any bad row imports nothing, and the report lists every
  bad row (row, column, rule, value, message); with `valid_rows_only` the valid rows are imported
  and the bad ones listed;
- idempotent: a row whose 档号 is already held with the same content is counted as unchanged,
  so re-importing a file creates no duplicates; a held 档号 with different content is an error;
- streaming: rows are validated and written in batches inside one transaction, memory stays flat;
- one audit entry per import (file SM3, counts, outcome, the default 密级 chosen for blank cells,
  and the SM3 of the list of 档号 it created, kept with the batch as runs: see `CodeRuns`);
- nobody imports a row above their own clearance; a blank 密级 is an error unless the archivist
  chose a default 密级 for the file.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from lantai.catalog import bulk, columns
from lantai.catalog.models import Category, ColumnMapping, ImportBatch, Record
from lantai.catalog.readers import FileUnreadable, Table, open_table
from lantai.catalog.row_stream import row_dict, validated_chunks
from lantai.catalog.services import (
    PermissionDenied,
    adjust_year_counts,
    can_see_fonds,
    clearance_issue,
    require,
)
from lantai.catalog.validation import Issue, RecordValidator
from lantai.core import audit
from lantai.core.models import AuditEntry
from lantai.core.roles import IMPORT
from lantai.core.sm3 import sm3_hex, sm3_stream
from lantai.standards import vocabularies as vocab

__all__ = ["FileUnreadable", "ImportResult", "import_file", "preview"]

BATCH = 2000
MAX_REPORTED_ERRORS = 10_000
AUDITED_RUNS = 50  # created-code runs written into the audit entry itself (all are in the batch)


class _Rejected(Exception):
    """Raised inside the transaction to roll it back when the file has bad rows."""


@dataclass
class RowError:
    row: int
    column: str
    rule: str
    value: str
    message: str
    message_en: str = ""

    def as_dict(self) -> dict[str, Any]:
        """As stored in ImportBatch.errors: both languages, the page shows the reader's (rows
        stored before message_en was kept show the Chinese message)."""
        return {
            "row": self.row,
            "column": self.column,
            "rule": self.rule,
            "value": self.value,
            "message": self.message,
            "message_en": self.message_en,
        }


class CodeRuns:
    """The 档号 an import created, compact: runs [first code, last code, count] of consecutive
    serial numbers under one prefix, in file order (a catalogue in order is a handful of runs)."""

    def __init__(self) -> None:
        self.runs: list[list[Any]] = []
        self._last: tuple[str, int] | None = None

    def add(self, code: str, prefix: str, number: int | None) -> None:
        if number is not None and self._last == (prefix, number - 1):
            run = self.runs[-1]
            run[1] = code
            run[2] += 1
        else:
            self.runs.append([code, code, 1])
        self._last = (prefix, number) if number is not None else None


def codes_digest(runs: list[list[Any]]) -> str:
    """SM3 of the canonical JSON of an import's created-code runs (what its audit entry holds)."""
    text = json.dumps(runs, ensure_ascii=False, separators=(",", ":"))
    return sm3_hex(text.encode("utf-8"))


def created_codes_intact(batch: ImportBatch) -> bool:
    """Whether the 档号 list kept with `batch` is the one its audit entry (in the chain) names."""
    entry = (
        AuditEntry.objects.filter(
            action="import", target_type="import_batch", target_id=str(batch.pk)
        )
        .order_by("-seq")
        .first()
    )
    digest = codes_digest(list(batch.created_codes or []))
    return entry is not None and entry.detail.get("created_sm3") == digest == batch.created_sm3


def default_classification_code(value: str | None) -> str:
    """The code of the default 密级 an archivist chose for an import ("" for none);
    FileUnreadable for a value that is not a 密级."""
    if not value or not value.strip():
        return ""
    try:
        return vocab.normalize_classification(value.strip()).code
    except vocab.VocabularyError as e:
        raise FileUnreadable(
            f"默认密级：{e.message_zh}", f"Default classification: {e.message_en}"
        ) from e


@dataclass
class ImportResult:
    batch_id: int | None
    file_name: str
    status: str  # imported | rejected
    rows_total: int = 0
    rows_imported: int = 0
    rows_unchanged: int = 0
    rows_rejected: int = 0
    errors: list[RowError] = field(default_factory=list)
    errors_truncated: bool = False
    seconds: float = 0.0
    created: list[list[Any]] = field(default_factory=list)  # CodeRuns.runs

    def as_dict(self) -> dict[str, Any]:
        return {
            "batch": self.batch_id,
            "file": self.file_name,
            "status": self.status,
            "rows_total": self.rows_total,
            "rows_imported": self.rows_imported,
            "rows_unchanged": self.rows_unchanged,
            "rows_rejected": self.rows_rejected,
            "errors": [e.as_dict() for e in self.errors],
            "errors_truncated": self.errors_truncated,
            "seconds": round(self.seconds, 3),
            "created": self.created,
        }

    def summary_lines(self) -> list[str]:
        head = {"imported": "导入完成", "rejected": "导入被拒绝（未导入任何行）"}[self.status]
        if self.status == "imported" and self.rows_rejected:
            head = "已导入有效行，以下行被拒绝"
        lines = [
            f"{head}：共 {self.rows_total} 行，新增 {self.rows_imported}，未变 {self.rows_unchanged}，错误 {self.rows_rejected}"
        ]
        lines += [
            f"  第 {e.row} 行 [{e.column}] {e.rule}：{e.message}（值：{e.value}）"
            for e in self.errors
        ]
        if self.errors_truncated:
            lines.append(f"  ……仅列出前 {MAX_REPORTED_ERRORS} 条错误")
        return lines


# --- mapping ------------------------------------------------------------------------------------
def mapping_for(table: Table) -> dict[str, str]:
    saved = ColumnMapping.objects.filter(signature=columns.signature(table.headers)).first()
    return dict(saved.mapping) if saved else columns.auto_mapping(table.headers)


def save_mapping(headers: list[str], mapping: Mapping[str, str]) -> None:
    unknown = set(mapping.values()) - set(columns.field_names()) - {""}
    if unknown:
        raise ValueError(f"unknown fields {sorted(unknown)}")
    ColumnMapping.objects.update_or_create(
        signature=columns.signature(headers),
        defaults={"headers": headers, "mapping": dict(mapping)},
    )


def _check_mapping(table: Table, mapping: Mapping[str, str]) -> None:
    mapped = set(mapping.values())
    missing = [columns.field_label(f) for f in columns.required_fields() if f not in mapped]
    if missing:
        raise FileUnreadable(
            f"表头中没有对应“{'、'.join(missing)}”的列：请在列映射中指定",
            f"No column of the header is mapped to {', '.join(missing)}: map one in the column "
            "mapping",
        )


# --- preview ------------------------------------------------------------------------------------
@dataclass
class Preview:
    headers: list[str]
    mapping: dict[str, str]
    rows: list[dict[str, Any]]  # row, values (field -> text), issues


def preview(
    path: Path,
    category: Category,
    mapping: Mapping[str, str] | None = None,
    limit: int = 20,
    level: str | None = None,
    default_classification: str = "",
    user: Any = None,
) -> Preview:
    """The first `limit` rows as they would import, with their issues (a row above `user`'s
    clearance shows the refusal it would get)."""
    level = check_level(category, level)
    table = open_table(path)
    mapping = dict(mapping) if mapping else mapping_for(table)
    validator = _validator(category, level, default_classification)
    out = []
    for number, cells in table.rows():
        raw = row_dict(table.headers, mapping, cells)
        clean, issues = validator.validate(raw)
        if not issues and (refusal := clearance_issue(_person(user), clean)) is not None:
            issues = [refusal]
        out.append(
            {
                "row": number,
                "values": clean,
                "issues": [_error(number, i).as_dict() for i in issues],
            }
        )
        if len(out) >= limit:
            break
    return Preview(table.headers, mapping, out)


def _validator(category: Category, level: str, default_classification: str) -> RecordValidator:
    """An import's validator: a blank 密级 is an error unless a default was chosen for the file."""
    return RecordValidator(
        category,
        level=level,
        blank_classification=default_classification_code(default_classification) or None,
    )


def _person(user: Any) -> Any:
    """The signed-in user whose clearance limits an import; None for the console and jobs
    started by it (the operator)."""
    return user if getattr(user, "pk", None) else None


def _error(row: int, issue: Issue, column: str | None = None) -> RowError:
    return RowError(
        row,
        column or columns.field_label(issue.field),
        issue.rule,
        str(issue.value or ""),
        issue.message_zh,
        issue.message_en,
    )


# --- uploads and queueing -------------------------------------------------------------------------
def upload_path(original_name: str) -> Path:
    """A fresh random path under UPLOAD_DIR for an upload named `original_name`: only a plain
    suffix of the name is kept (the reader needs it to tell the format)."""
    directory = Path(settings.UPLOAD_DIR)
    directory.mkdir(parents=True, exist_ok=True)
    suffix = Path(original_name).suffix.lower()
    if not re.fullmatch(r"\.[a-z0-9]{1,8}", suffix):
        suffix = ""
    return directory / f"{secrets.token_hex(16)}{suffix}"


def store_upload(chunks: Iterable[bytes], original_name: str) -> Path:
    """Copy an uploaded file under UPLOAD_DIR with a random name, keeping only a plain suffix
    (the reader needs it to tell the format). Uploads are never served or executed."""
    path = upload_path(original_name)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o640)
    with os.fdopen(fd, "wb") as out:
        for chunk in chunks:
            out.write(chunk)
    return path


def start_import(
    path: Path,
    original_name: str,
    category: Category,
    *,
    user: Any,
    valid_rows_only: bool = False,
    mapping: Mapping[str, str] | None = None,
    level: str | None = None,
    default_classification: str = "",
) -> tuple[ImportBatch, ImportResult | None]:
    """Register an import of a stored upload and run it: inline for a small file (the result is
    returned), as a queued job for one larger than IMPORT_JOB_THRESHOLD_BYTES (result None).
    `level` as for `import_file`. Raises FileUnreadable at once for a file that cannot be read
    or a level the category does not take."""
    from lantai.catalog import tasks

    level = check_level(category, level)
    default_classification = default_classification_code(default_classification)
    if path.stat().st_size >= settings.IMPORT_JOB_THRESHOLD_BYTES:
        open_table(path)  # refuse an unreadable file now rather than in the worker
        inline = False
    else:
        inline = True
    with path.open("rb") as f:
        digest = sm3_stream(f)
    batch = ImportBatch.objects.create(
        category=category, file_name=Path(original_name).name[:255] or path.name, file_path=str(path),
        file_sm3=digest, valid_rows_only=valid_rows_only, created_by=_person(user),
        default_classification=default_classification,
    )  # fmt: skip
    if not inline:
        tasks.run_import(
            batch.pk,
            dict(mapping) if mapping else None,
            getattr(user, "username", "system"),
            level=level,
        )
        return batch, None
    result = import_file(
        path,
        category,
        valid_rows_only=valid_rows_only,
        mapping=mapping,
        batch=batch,
        user=user,
        level=level,
    )
    return batch, result


# --- import -------------------------------------------------------------------------------------
def import_file(
    path: Path,
    category: Category,
    *,
    valid_rows_only: bool = False,
    mapping: Mapping[str, str] | None = None,
    batch: ImportBatch | None = None,
    user: Any = None,
    progress: Callable[[int], None] | None = None,
    level: str | None = None,
    default_classification: str = "",
) -> ImportResult:
    """Import a catalogue file into `category`. Raises FileUnreadable for a file that cannot be
    read at all; bad rows are reported in the result.

    `level` says what the rows are: items (按件), volumes (案卷目录) or the documents inside
    volumes (卷内文件目录, each linked to its volume by the 档号); by default items or volumes
    as the category is arranged.

    `default_classification`: the 密级 of rows whose 密级 is blank, as the archivist chose it for
    this file (recorded in the batch and the audit entry); without one such rows are errors.
    A `batch` made by `start_import` carries its own. Rows above `user`'s clearance are refused."""
    level = check_level(category, level)
    person = _person(user)
    started = time.perf_counter()
    if batch is None:
        if not path.is_file():
            raise FileUnreadable(f"文件“{path}”不存在", f"File {str(path)!r} does not exist")
        with path.open("rb") as f:
            digest = sm3_stream(f)
        batch = ImportBatch.objects.create(
            category=category, file_name=path.name, file_path=str(path), file_sm3=digest,
            valid_rows_only=valid_rows_only, created_by=person,
            default_classification=default_classification_code(default_classification),
        )  # fmt: skip
    ImportBatch.objects.filter(pk=batch.pk).update(status="running")
    result = ImportResult(batch.pk, batch.file_name, "imported")
    try:
        if person is not None:  # the views and the API check first; a queued job checks again
            require(person, IMPORT)
            if not can_see_fonds(person, category.fonds):
                raise PermissionDenied(f"无权向全宗 {category.fonds.code} 导入目录", "fonds")
        table = open_table(path)
        mapping = dict(mapping) if mapping else mapping_for(table)
        _check_mapping(table, mapping)
        with transaction.atomic():
            _run(table, mapping, category, batch, level, result, progress, person)
            if result.rows_rejected and not valid_rows_only:
                raise _Rejected
            audit.record("import", "import_batch", batch.pk, _audit_detail(batch, category, result))
    except _Rejected:
        result.status = "rejected"
        result.rows_imported = 0
        result.created = []
        audit.record(
            "import_rejected", "import_batch", batch.pk, _audit_detail(batch, category, result)
        )
    except (FileUnreadable, PermissionDenied) as e:  # the batch is failed, never left running
        ImportBatch.objects.filter(pk=batch.pk).update(
            status="failed",
            message=e.message_zh,
            message_en=e.message_en if isinstance(e, FileUnreadable) else "",
            finished_at=timezone.now(),
        )
        audit.record(
            "import_failed",
            "import_batch",
            batch.pk,
            {"file": batch.file_name, "error": e.message_zh},
        )
        raise
    result.seconds = time.perf_counter() - started
    ImportBatch.objects.filter(pk=batch.pk).update(
        status=result.status, rows_total=result.rows_total, rows_imported=result.rows_imported,
        rows_unchanged=result.rows_unchanged, rows_rejected=result.rows_rejected, progress=1.0,
        errors=[e.as_dict() for e in result.errors], finished_at=timezone.now(),
        created_codes=result.created, created_sm3=codes_digest(result.created),
    )  # fmt: skip
    return result


def _audit_detail(batch: ImportBatch, category: Category, r: ImportResult) -> dict[str, Any]:
    return {
        "file": r.file_name, "sm3": batch.file_sm3, "fonds": category.fonds.code, "category": category.code,
        "rows_total": r.rows_total, "imported": r.rows_imported, "unchanged": r.rows_unchanged,
        "rejected": r.rows_rejected, "valid_rows_only": batch.valid_rows_only,
        "default_classification": batch.default_classification,
        # the 档号 created: their runs in full when short, always the SM3 of the list kept with
        # the batch (ImportBatch.created_codes), so the chain covers it
        "created_sm3": codes_digest(r.created), "created_runs": len(r.created),
        "created": r.created if len(r.created) <= AUDITED_RUNS else r.created[:AUDITED_RUNS],
    }  # fmt: skip


def _run(
    table: Table,
    mapping: Mapping[str, str],
    category: Category,
    batch: ImportBatch,
    level: str,
    result: ImportResult,
    progress: Callable[[int], None] | None,
    user: Any,
) -> None:
    validator = _validator(category, level, batch.default_classification)
    ceiling = None if user is None else user.clearance
    created = CodeRuns()
    fixed = {
        "repository_id": category.fonds.repository_id, "fonds_id": category.fonds_id,
        "category_id": category.pk, "import_batch_id": batch.pk,
    }  # fmt: skip
    code_column = next((h for h, f in mapping.items() if f == "reference_code"), "档号")
    years: Counter[int | None] = Counter()
    writer = bulk.Writer()
    pending: list[tuple[int, dict[str, Any]]] = []

    def reject(row: int, issue: Issue, column: str | None = None) -> None:
        result.rows_rejected += 1
        if len(result.errors) < MAX_REPORTED_ERRORS:
            result.errors.append(_error(row, issue, column))
        else:
            result.errors_truncated = True

    def flush() -> None:
        now = timezone.now()
        held = _held(category, [c["reference_code"] for _, c in pending])
        parents = (
            _volumes(category, [_volume_code(c) for _, c in pending])
            if level == "volume_item"
            else {}
        )
        rows: list[tuple[Any, ...]] = []
        seen: dict[str, int] = {}
        for number, clean in pending:
            code = clean["reference_code"]
            if code in seen:
                reject(
                    number,
                    Issue(
                        "reference_code",
                        "duplicate",
                        code,
                        f"档号“{code}”与本文件第 {seen[code]} 行重复",
                        f"Archival code {code!r} repeats row {seen[code]} of this file",
                    ),
                    code_column,
                )
                continue
            seen[code] = number
            if code in held:
                held_hash, held_batch = held[code]
                if held_batch == batch.pk:
                    reject(
                        number,
                        Issue(
                            "reference_code",
                            "duplicate",
                            code,
                            f"档号“{code}”与本文件前面的行重复",
                            f"Archival code {code!r} repeats an earlier row of this file",
                        ),
                        code_column,
                    )
                elif held_hash == clean["row_hash"]:
                    result.rows_unchanged += 1
                else:
                    reject(
                        number,
                        Issue(
                            "reference_code",
                            "duplicate",
                            code,
                            f"档号“{code}”已存在，且内容与库中记录不同",
                            f"Archival code {code!r} is already held with different content",
                        ),
                        code_column,
                    )
                continue
            if level == "volume_item":
                clean["parent_id"] = parents.get(_volume_code(clean))
                if clean["parent_id"] is None:
                    reject(
                        number,
                        Issue(
                            "reference_code",
                            "parent",
                            code,
                            f"卷内文件“{code}”所属的案卷“{_volume_code(clean)}”不存在：请先导入案卷目录",
                            f"The volume {_volume_code(clean)!r} of item {code!r} does not exist: "
                            "import the volume catalogue first",
                        ),
                        code_column,
                    )
                    continue
            rows.append(bulk.row_tuple(clean, fixed, now))
            created.add(code, clean["sequence_prefix"], clean["sequence_number"])
            if (
                level != "volume_item"
            ):  # the browse tree counts items and volumes, not their contents
                years[clean["year"]] += 1
        writer.insert(rows)
        result.rows_imported += len(rows)
        pending.clear()
        if progress:
            progress(result.rows_total)

    parallel = table.path.stat().st_size >= settings.IMPORT_PARALLEL_BYTES
    for chunk in validated_chunks(table, mapping, validator, parallel=parallel):
        for number, clean, errors in chunk:
            result.rows_total += 1
            if clean is None:
                result.rows_rejected += 1
                for issue in errors:
                    if len(result.errors) < MAX_REPORTED_ERRORS:
                        result.errors.append(_error(number, issue))
                    else:
                        result.errors_truncated = True
            elif ceiling is not None and clean["classification_level"] > ceiling:
                # refused before the held 档号 are looked at: nothing about a record above the
                # user's clearance (its existence, its content) shows in the report
                reject(number, clearance_issue(user, clean))
            else:
                pending.append((number, clean))
        if len(pending) >= BATCH:
            flush()
    flush()
    adjust_year_counts(category.pk, years)
    result.created = created.runs


LEVELS = ("item", "volume", "volume_item")


LEVEL_LABELS = {"item": "件", "volume": "案卷目录", "volume_item": "卷内文件目录"}
LEVEL_LABELS_EN = {"item": "items", "volume": "volumes", "volume_item": "documents in volumes"}


def default_level(category: Category) -> str:
    return "volume" if category.arrangement == "volume" else "item"


def levels_for(category: Category) -> tuple[str, ...]:
    """The levels a category's catalogues may hold: items (按件), or volumes and the documents
    inside them (按卷)."""
    return ("volume", "volume_item") if category.arrangement == "volume" else ("item",)


def check_level(category: Category, level: str | None) -> str:
    """`level`, or the category's default; FileUnreadable for one it does not take."""
    level = level or default_level(category)
    if level not in LEVELS:
        raise FileUnreadable(
            f"未知的导入层次“{level}”：应为 {'、'.join(LEVELS)}",
            f"Unknown import level {level!r}: one of {', '.join(LEVELS)}",
        )
    if level not in levels_for(category):
        arranged = "按卷" if category.arrangement == "volume" else "按件"
        allowed = "、".join(LEVEL_LABELS[x] for x in levels_for(category))
        raise FileUnreadable(
            f"门类 {category.code} {arranged}整理，不能导入{LEVEL_LABELS[level]}：可导入{allowed}",
            f"Category {category.code} is arranged by {category.arrangement}: it does not take "
            f"{LEVEL_LABELS_EN[level]}; it takes "
            + ", ".join(LEVEL_LABELS_EN[x] for x in levels_for(category)),
        )
    return level


def _volume_code(clean: Mapping[str, Any]) -> str:
    """A 卷内文件's volume: its 档号 without the last (item) part."""
    return str(clean["sequence_prefix"]).rstrip("-·")


def _volumes(category: Category, codes: list[str]) -> dict[str, int]:
    qs = Record.objects.filter(category=category, level="volume", reference_code__in=set(codes))
    return dict(qs.values_list("reference_code", "pk"))


def _held(category: Category, codes: list[str]) -> dict[str, tuple[str, int | None]]:
    """Codes of this batch already held by the repository: code -> (row hash, import batch)."""
    if not codes:
        return {}
    qs = Record.objects.filter(repository_id=category.fonds.repository_id, reference_code__in=codes)
    return {
        c: (h, b) for c, h, b in qs.values_list("reference_code", "row_hash", "import_batch_id")
    }
