"""The import wizard: upload → column mapping → preview → import → result, and past imports."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils.http import content_disposition_header
from django.utils.translation import gettext, gettext_noop
from django.views.decorators.http import require_POST

from lantai.catalog import columns, importing, services, tasks
from lantai.catalog.readers import FileUnreadable, open_table
from lantai.core.roles import IMPORT
from lantai.core.spreadsheet_cells import formula_safe
from lantai.web import labels
from lantai.web.forms import UploadForm
from lantai.web.views.common import language, not_found, permission_required
from lantai.web.worker_status import worker_down_while_waiting

SESSION_KEY = "import_wizard"
TOKEN = re.compile(r"^[0-9a-f]{32}$")
ALLOWED_SUFFIXES = (".xlsx", ".csv")
PREVIEW_ROWS = 20
SHOWN_RUNS = 20  # runs of created 档号 shown on an import's result page
PREVIEW_FIELDS = (
    "reference_code",
    "title",
    "author",
    "document_number",
    "date",
    "year",
    "retention",
    "classification",
    "open_status",
)
RULE_LABELS = {
    "required": gettext_noop("必填"),
    "vocabulary": gettext_noop("受控词表"),
    "date": gettext_noop("日期格式"),
    "datatype": gettext_noop("数据类型"),
    "code_rule": gettext_noop("档号规则"),
    "code_mismatch": gettext_noop("档号一致性"),
    "duplicate": gettext_noop("档号重复"),
    "length": gettext_noop("长度"),
    "pattern": gettext_noop("格式"),
    "range": gettext_noop("取值范围"),
    "clearance": gettext_noop("涉密等级"),
}


def rule_label(rule: str) -> str:
    label = RULE_LABELS.get(rule)
    return gettext(label) if label else rule


def unreadable_message(e: FileUnreadable) -> str:
    """Why a file cannot be imported, in the reader's language where the English is known."""
    english = getattr(e, "message_en", "")
    return str(english) if english and labels.english() else e.message_zh


def batch_message(batch: Any) -> str:
    """Why a stored import failed, in the reader's language (Chinese for a batch stored before
    the English was kept)."""
    return str(batch.message_en if labels.english() and batch.message_en else batch.message)


def stored_message(error: dict[str, Any]) -> str:
    """A stored row error's message in the reader's language; an error stored before the
    English was kept (no message_en) shows its Chinese message."""
    if labels.english() and error.get("message_en"):
        return str(error["message_en"])
    return str(error.get("message", ""))


# --- wizard state -----------------------------------------------------------------------------
def _state(request: HttpRequest, token: str) -> dict[str, Any] | None:
    if not TOKEN.match(token):
        return None
    state = request.session.get(SESSION_KEY, {}).get(token)
    if not state:
        return None
    path = Path(state["path"])
    upload_dir = Path(settings.UPLOAD_DIR).resolve()
    if path.resolve().parent != upload_dir or not path.exists():
        return None
    return state


def _store(request: HttpRequest, token: str, state: dict[str, Any]) -> None:
    wizard = dict(request.session.get(SESSION_KEY, {}))
    wizard[token] = state
    request.session[SESSION_KEY] = wizard


def _category(request: HttpRequest, state: dict[str, Any]) -> Any:
    return services.visible_category(request.user, state["category_id"])


def _lost(request: HttpRequest) -> HttpResponse:
    messages.error(request, gettext("上传的文件已失效，请重新上传。"))
    return redirect("web:import_upload")


# --- step 1: upload ---------------------------------------------------------------------------
@permission_required(IMPORT)
def upload(request: HttpRequest) -> HttpResponse:
    categories = list(services.visible_categories(request.user).order_by("fonds__code", "code"))
    form = UploadForm(request.POST or None, request.FILES or None, categories=categories)
    if request.method == "POST" and form.is_valid():
        f = form.cleaned_data["file"]
        suffix = Path(f.name).suffix.lower()
        if suffix == ".xls":
            form.add_error(
                "file",
                gettext("“%(name)s”是旧版 Excel 97-2003 格式（.xls），请另存为 .xlsx 后再上传。")
                % {"name": f.name},
            )
        elif suffix not in ALLOWED_SUFFIXES:
            form.add_error(
                "file",
                gettext("不支持的文件类型“%(suffix)s”：请上传 .xlsx 或 .csv 文件。")
                % {"suffix": suffix or "—"},
            )
        elif (level_error := _level_error(categories, form.cleaned_data)) is not None:
            form.add_error("level", level_error)
        else:
            path = importing.store_upload(f.chunks(), f.name)
            token = path.stem  # the stored file's random name keys the wizard's state
            try:
                open_table(path)
            except FileUnreadable as e:
                path.unlink(missing_ok=True)
                form.add_error("file", unreadable_message(e).replace(path.name, f.name))
            else:
                _store(
                    request,
                    token,
                    {
                        "path": str(path),
                        "name": Path(f.name).name[:255],
                        "size": f.size,
                        "category_id": int(form.cleaned_data["category"]),
                        "level": form.cleaned_data["level"] or None,
                    },
                )
                return redirect("web:import_mapping", token=token)
    return render(
        request,
        "web/import_upload.html",
        {
            "form": form,
            "step": 1,
            "volume_categories": [c for c in categories if c.arrangement == "volume"],
        },
    )


def _level_label(level: str) -> str:
    return {
        "item": gettext("文件目录（按件）"),
        "volume": gettext("案卷目录"),
        "volume_item": gettext("卷内文件目录"),
    }.get(level, level)


def _level_error(categories: list[Any], data: dict[str, Any]) -> str | None:
    """The refusal for a level the chosen category does not take (None when it does)."""
    category = next((c for c in categories if str(c.pk) == data["category"]), None)
    if category is None:
        return None
    try:
        importing.check_level(category, data["level"] or None)
    except FileUnreadable as e:
        return unreadable_message(e)
    return None


# --- step 2: column mapping -------------------------------------------------------------------
def _default_classification_choices(user: Any) -> list[tuple[str, str]]:
    """The 密级 an archivist may choose for this file's blank 密级 cells: none (such rows are
    errors, DA/T 46 M38 is mandatory) or a level at or below their own clearance."""
    clearance = getattr(user, "clearance", 0)
    return [("", gettext("不设默认：密级为空的行报错"))] + [
        (t.code, labels.vocab_label("classification", t.code))
        for t in services.vocabulary_choices("classification")
        if (t.level or 0) <= clearance
    ]


def _field_choices() -> list[tuple[str, str]]:
    return [("", gettext("（不导入，作为其他元数据保留）"))] + [
        (f, f"{columns.field_label(f)} · {f}") for f in columns.field_names()
    ]


@permission_required(IMPORT)
def mapping(request: HttpRequest, token: str) -> HttpResponse:
    state = _state(request, token)
    if state is None:
        return _lost(request)
    category = _category(request, state)
    if category is None:
        return _lost(request)
    table = open_table(Path(state["path"]))
    headers = table.headers
    current = state.get("mapping") or importing.mapping_for(table)
    default_choices = _default_classification_choices(request.user)
    default = state.get("default_classification", "")
    errors: list[str] = []
    if request.method == "POST":
        default = request.POST.get("default_classification", "")
        if default not in dict(default_choices):
            errors.append(gettext("请从列表中选择默认密级。"))
            default = ""
        known = set(columns.field_names())
        chosen = {}
        for i, header in enumerate(headers):
            value = request.POST.get(f"col_{i}", "")
            chosen[header] = value if value in known else ""
        current = chosen
        used: dict[str, str] = {}
        for header, field in chosen.items():
            if not field:
                continue
            if field in used:
                errors.append(
                    gettext("“%(a)s”和“%(b)s”两列都映射到了“%(field)s”，一个字段只能对应一列。")
                    % {"a": used[field], "b": header, "field": columns.field_label(field)}
                )
            used[field] = header
        for field in columns.required_fields():
            if field not in used:
                errors.append(
                    gettext("必须有一列映射到“%(field)s”。") % {"field": columns.field_label(field)}
                )
        if not errors:
            importing.save_mapping(headers, chosen)
            state["mapping"] = chosen
            state["default_classification"] = default
            _store(request, token, state)
            return redirect("web:import_preview", token=token)
    rows = [
        {"index": i, "header": h or gettext("（空表头）"), "selected": current.get(h, "")}
        for i, h in enumerate(headers)
    ]
    return render(
        request,
        "web/import_mapping.html",
        {
            "step": 2,
            "token": token,
            "state": state,
            "category": category,
            "rows": rows,
            "choices": _field_choices(),
            "errors": errors,
            "header_row": table.header_row,
            "encoding": table.encoding,
            "default_choices": default_choices,
            "default_classification": default,
        },
    )


# --- step 3: preview, step 4: import ------------------------------------------------------------
@permission_required(IMPORT)
def preview(request: HttpRequest, token: str) -> HttpResponse:
    state = _state(request, token)
    if state is None:
        return _lost(request)
    if not state.get("mapping"):
        return redirect("web:import_mapping", token=token)
    category = _category(request, state)
    if category is None:
        return _lost(request)
    try:
        result = importing.preview(
            Path(state["path"]),
            category,
            state["mapping"],
            limit=PREVIEW_ROWS,
            level=state.get("level"),
            default_classification=state.get("default_classification", ""),
            user=request.user,
        )
    except FileUnreadable as e:
        messages.error(request, unreadable_message(e))
        return redirect("web:import_upload")
    field_of_label = {columns.field_label(f): f for f in columns.field_names()}
    rows = []
    for row in result.rows:
        bad_fields = {field_of_label.get(i["column"], i["column"]) for i in row["issues"]}
        values = row["values"]
        rows.append(
            {
                "row": row["row"],
                "cells": [
                    {"value": _display(f, values.get(f)), "bad": f in bad_fields}
                    for f in PREVIEW_FIELDS
                ],
                "issues": [{**i, "rule_label": rule_label(i["rule"])} for i in row["issues"]],
                "bad": bool(row["issues"]),
            }
        )
    return render(
        request,
        "web/import_preview.html",
        {
            "step": 3,
            "token": token,
            "state": state,
            "category": category,
            "headers": [columns.field_label(f) for f in PREVIEW_FIELDS],
            "rows": rows,
            "bad_rows": sum(1 for r in rows if r["bad"]),
            "level_label": _level_label(state.get("level") or importing.default_level(category)),
            "limit": PREVIEW_ROWS,
            # the rule importing.start_import applies when the import is started
            "queued": state["size"] >= settings.IMPORT_JOB_THRESHOLD_BYTES,
        },
    )


def _display(field: str, value: Any) -> str:
    if value is None:
        return ""
    if field in ("retention", "classification", "open_status"):
        return labels.vocab_label(field, value)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


@require_POST
@permission_required(IMPORT)
def run(request: HttpRequest, token: str) -> HttpResponse:
    state = _state(request, token)
    if state is None or not state.get("mapping"):
        return _lost(request)
    category = _category(request, state)
    if category is None:
        return _lost(request)
    wizard = dict(request.session.get(SESSION_KEY, {}))
    wizard.pop(token, None)
    request.session[SESSION_KEY] = wizard
    try:
        batch, result = importing.start_import(
            Path(state["path"]),
            state["name"],
            category,
            user=request.user,
            valid_rows_only=request.POST.get("valid_rows_only") == "on",
            mapping=state["mapping"],
            level=state.get("level"),
            default_classification=state.get("default_classification", ""),
        )
    except FileUnreadable as e:
        messages.error(request, unreadable_message(e))
        return redirect("web:import_upload")
    if result is None:
        messages.info(request, gettext("文件较大，已作为后台任务排队导入。"))
    return redirect("web:import_result", pk=batch.pk)


# --- step 5: result, progress, error report, list ------------------------------------------------
@permission_required(IMPORT)
def result(request: HttpRequest, pk: int) -> HttpResponse:
    batch = services.visible_batch(request.user, pk)
    if batch is None:
        return not_found(request, gettext("导入记录不存在，或您无权查阅。"))
    errors = [
        {**e, "rule_label": rule_label(e.get("rule", "")), "message": stored_message(e)}
        for e in batch.errors or []
    ]
    return render(
        request,
        "web/import_result.html",
        {
            "batch": batch,
            "batch_message": batch_message(batch),
            "errors": errors,
            "running": batch.status in ("pending", "running"),
            "waits_on_job": batch.status in ("pending", "running"),
            "category_name": labels.category_name(batch.category.code),
            "lang": language(request),
            "default_classification": (
                labels.vocab_label("classification", batch.default_classification)
                if batch.default_classification
                else ""
            ),
            "created_runs": (batch.created_codes or [])[:SHOWN_RUNS],
            "more_runs": max(0, len(batch.created_codes or []) - SHOWN_RUNS),
        },
    )


@permission_required(IMPORT)
def progress(request: HttpRequest, pk: int) -> HttpResponse:
    batch = services.visible_batch(request.user, pk)
    if batch is None:
        return JsonResponse({"error": gettext("导入记录不存在")}, status=404)
    info = tasks.read_progress(batch.pk)
    return JsonResponse(
        {
            "status": batch.status,
            "status_label": str(batch.get_status_display()),
            "rows": info.get("rows", batch.rows_total),
            "progress": batch.progress,
            "done": batch.status not in ("pending", "running"),
            "worker_down": batch.status in ("pending", "running") and worker_down_while_waiting(),
            "message": batch_message(batch) if batch.message else info.get("message", ""),
        }
    )


@permission_required(IMPORT)
def error_report(request: HttpRequest, pk: int) -> HttpResponse:
    batch = services.visible_batch(request.user, pk)
    if batch is None:
        return not_found(request, gettext("导入记录不存在，或您无权查阅。"))
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow([gettext("行"), gettext("列"), gettext("规则"), gettext("值"), gettext("说明")])
    for e in batch.errors or []:
        cells = (e.get("row"), e.get("column"), e.get("rule"), e.get("value"), stored_message(e))
        w.writerow([formula_safe(c) for c in cells])
    response = HttpResponse(
        ("\ufeff" + buf.getvalue()).encode("utf-8"), content_type="text/csv; charset=utf-8"
    )
    stem = Path(batch.file_name).stem or "import"
    suffix = gettext("错误报告")
    name = f"{stem}-{suffix}.csv"
    response["Content-Disposition"] = content_disposition_header(True, name)
    return response


@permission_required(IMPORT)
def batch_list(request: HttpRequest) -> HttpResponse:
    return render(
        request, "web/import_list.html", {"batches": services.import_batches(request.user)}
    )
