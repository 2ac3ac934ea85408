"""开放审核 in the staff UI: the archives' tools for the senior reviewers — the sensitive-term
lexicons (every change a version), the classifier (trained from reviewers' decisions, honestly
evaluated; it ranks and explains, it never decides), the exchange of appraisal results
(鉴定成果数据对接: preview before applying) and the evaluation of the machine's help."""

from __future__ import annotations

import io
from typing import Any

from django.contrib import messages
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.http import content_disposition_header
from django.utils.translation import gettext, gettext_noop
from django.views.decorators.http import require_POST

from lantai.catalog import services as catalog
from lantai.core.downloads import attachment_response
from lantai.core.roles import REVIEW_MANAGE
from lantai.review import classifier_store, evaluation, exchange, lexicons, publishing, services
from lantai.review import tasks as review_tasks
from lantai.review.models import (
    ClassifierVersion,
    ExchangeImport,
    Lexicon,
    ReviewItem,
    ReviewTask,
)
from lantai.review.services import ReviewError
from lantai.web import report_pdf
from lantai.web import review_support as support
from lantai.web.views.common import not_found
from lantai.web.views.review import message_of, needs, no_task, visible_task

EVALUATION_KEYS = ("balanced_accuracy", "f2", "recall", "precision")
ACTIONS = {
    "propose": gettext_noop("作为建议导入"),
    "not_found": gettext_noop("未找到档案"),
    "already_open": gettext_noop("已开放，不导入"),
    "under_review": gettext_noop("正在审核中，不导入"),
}


def _user(request: HttpRequest) -> Any:
    return request.user


# --- publishing, the deferral list, the exchange export, 利用即时审 -------------------------------
@require_POST
@needs(REVIEW_MANAGE)
def task_publish(request: HttpRequest, pk: int) -> HttpResponse:
    task = visible_task(request, pk)
    if task is None:
        return no_task(request)
    items = list(publishing.ready(task).select_related("record"))
    if not items:
        messages.error(request, gettext("没有经馆审定、待发布的档案。"))
        return redirect("web:review_task", pk=task.pk)
    try:
        done = publishing.publish(items, _user(request))
    except ReviewError as e:
        messages.error(request, message_of(e))
    else:
        messages.success(
            request,
            gettext(
                "已发布 %(n)d 件：开放 %(open)d 件，部分开放 %(partial)d 件，"
                "控制使用 %(restricted_use)d 件，延期开放 %(deferred)d 件。"
            )
            % {"n": done.published, **done.counts},
        )
        english = translation.get_language() == "en"
        for code, zh, en in done.failed:
            messages.error(request, gettext("未发布 %(code)s：%(why)s") % {
                "code": code, "why": en if english else zh})  # fmt: skip
    return redirect("web:review_task", pk=task.pk)


def deferral_context(request: HttpRequest, task: ReviewTask) -> dict[str, Any]:
    return {
        "task": task,
        "rows": publishing.deferral_list(_user(request), task),
        "headers": publishing.DEFERRAL_HEADERS,
    }


@needs(REVIEW_MANAGE)
def task_deferrals(request: HttpRequest, pk: int, fmt: str) -> HttpResponse:
    """延期开放目录 for the authority's approval, as Excel or PDF."""
    task = visible_task(request, pk)
    if task is None or fmt not in ("xlsx", "pdf"):
        return no_task(request)
    context = deferral_context(request, task)
    name = f"{gettext('延期开放目录')}-{task.pk}.{fmt}"
    if fmt == "xlsx":
        data = publishing.deferral_xlsx(context["rows"])
        return attachment_response(io.BytesIO(data), name)  # type: ignore[return-value]  # a file
    html = render_to_string("web/review_deferrals_pdf.html", context, request)
    response = HttpResponse(report_pdf.render(html), content_type="application/pdf")
    response["Content-Disposition"] = content_disposition_header(False, name) or "inline"
    return response


@needs(REVIEW_MANAGE)
def task_export(request: HttpRequest, pk: int, fmt: str) -> HttpResponse:
    """鉴定成果 of the task's decided items as a signed JSON or XML exchange file."""
    task = visible_task(request, pk)
    if task is None or fmt not in ("json", "xml"):
        return no_task(request)
    items = list(
        services.visible_items(_user(request))
        .filter(task=task)
        .exclude(decision="")
        .select_related("record", "record__fonds", "record__repository")
        .order_by("record__reference_code")
    )
    try:
        data = exchange.export(_user(request), items, as_xml=fmt == "xml")
    except ReviewError as e:
        messages.error(request, message_of(e))
        return redirect("web:review_task", pk=task.pk)
    name = f"{gettext('鉴定成果')}-{task.pk}.{fmt}"
    return attachment_response(io.BytesIO(data), name)  # type: ignore[return-value]  # a file


@require_POST
@needs(REVIEW_MANAGE)
def record_request(request: HttpRequest, pk: int) -> HttpResponse:
    """利用即时审 from the record page: a task for this one record."""
    user = _user(request)
    record = catalog.visible_record(user, pk)
    if record is None:
        return not_found(request, gettext("档案不存在，或您无权查阅。"))
    reason = request.POST.get("reason", "").strip()[:500] or gettext("利用者申请查阅")
    try:
        task = services.request_task(user, record, reason)
    except ReviewError as e:
        messages.error(request, message_of(e))
        return redirect("web:record", pk=record.pk)
    messages.success(request, gettext("已建立利用即时审任务，机审完成后即可审核。"))
    return redirect("web:review_task", pk=task.pk)


# --- lexicons -------------------------------------------------------------------------------------
@needs(REVIEW_MANAGE)
def lexicon_list(request: HttpRequest) -> HttpResponse:
    lexicons.ensure_defaults()
    rows = []
    for lex in Lexicon.objects.prefetch_related("versions"):
        latest = max(lex.versions.all(), key=lambda v: v.number)
        rows.append({"lexicon": lex, "version": latest, "terms": len(latest.terms),
                     "category": support.category_label(lex.category)})  # fmt: skip
    return render(request, "web/review_lexicons.html", {"rows": rows})


@needs(REVIEW_MANAGE)
def lexicon_detail(request: HttpRequest, code: str) -> HttpResponse:
    lexicons.ensure_defaults()
    lex = Lexicon.objects.filter(code=code).first()
    if lex is None:
        return not_found(request, gettext("词表不存在。"))
    versions = list(lex.versions.select_related("created_by").order_by("-number"))
    error = ""
    text = "\n".join(versions[0].terms) if versions else ""
    note = ""
    if request.method == "POST":
        text, note = request.POST.get("terms", ""), request.POST.get("note", "")[:2000]
        terms = [t.strip() for t in text.splitlines() if t.strip()]
        try:
            made = lexicons.save_terms(code, terms, user=_user(request), note=note)
        except (lexicons.LexiconError, ReviewError) as e:
            error = message_of(e)
        else:
            messages.success(request, gettext("词表已保存为第 %(n)d 版。") % {"n": made.number})
            return redirect("web:review_lexicon", code=code)
    history = []
    for newer, older in zip(versions, [*versions[1:], None], strict=True):
        before = set(older.terms) if older else set()
        history.append({"v": newer, "added": sorted(set(newer.terms) - before),
                        "removed": sorted(before - set(newer.terms))})  # fmt: skip
    return render(
        request,
        "web/review_lexicon.html",
        {"lexicon": lex, "category": support.category_label(lex.category), "text": text,
         "note": note, "error": error, "history": history},
    )  # fmt: skip


# --- the classifier -------------------------------------------------------------------------------
def _evaluation_rows(evaluation_: dict[str, Any]) -> list[dict[str, Any]]:
    labels = {
        "balanced_accuracy": gettext("平衡准确率"),
        "f2": "F2",
        "recall": gettext("召回率"),
        "precision": gettext("精确率"),
    }
    intervals = {"balanced_accuracy": "bac_interval", "f2": "f2_interval"}
    rows = []
    for key in EVALUATION_KEYS:
        if key not in evaluation_:
            continue
        interval = evaluation_.get(intervals.get(key, ""))
        rows.append({"key": key, "label": labels[key], "value": evaluation_[key],
                     "interval": interval if isinstance(interval, list) and len(interval) == 2
                     else None})  # fmt: skip
    return rows


@needs(REVIEW_MANAGE)
def classifier(request: HttpRequest) -> HttpResponse:
    """The active classifier and its evaluation; POST trains a new version."""
    error = ""
    if request.method == "POST":
        try:
            classifier_store.check_trainable()
        except ReviewError as e:
            error = message_of(e)
        else:
            review_tasks.train_classifier(_user(request).pk)
            messages.success(
                request, gettext("已开始训练分类器：完成后本页显示新版本及其评估（后台任务）。")
            )
            return redirect("web:review_classifier")
    versions = list(ClassifierVersion.objects.select_related("created_by")[:20])
    active = next((v for v in versions if v.active), None)
    # active learning: what to decide next, and the stopping rule (classifier_store._learning_round)
    learning = (active.evaluation.get("learning") or {}) if active else {}
    wanted = learning.get("next_items", [])
    found = {i.pk: i for i in services.visible_items(_user(request)).filter(
        pk__in=wanted, decision="").select_related("record")}  # fmt: skip
    next_items = [found[pk] for pk in wanted if pk in found]
    return render(
        request,
        "web/review_classifier.html",
        {"active": active, "versions": versions, "error": error,
         "rows": _evaluation_rows(active.evaluation) if active else [],
         "evaluation": active.evaluation if active else {},
         "decided": ReviewItem.objects.exclude(decision="").count(),
         "min_labels": classifier_store.MIN_LABELS, "min_each": classifier_store.MIN_EACH,
         "waits_on_job": True,  # training is a queued job
         "learning": learning, "next_items": next_items},
    )  # fmt: skip


# --- 鉴定成果数据对接 ------------------------------------------------------------------------------
@needs(REVIEW_MANAGE)
def exchange_home(request: HttpRequest) -> HttpResponse:
    """Upload an exchange file: it is checked and previewed, nothing changes yet."""
    error = ""
    if request.method == "POST":
        try:
            upload = request.FILES.get("file")
        except RequestDataTooBig:
            upload, error = None, gettext("文件过大。")
        if upload is None:
            error = error or gettext("请选择鉴定成果文件（JSON 或 XML）。")
        else:
            try:
                data = upload.read(exchange.MAX_BYTES + 1)
                row = exchange.preview(_user(request), data, upload.name or "")
            except ReviewError as e:
                error = message_of(e)
            else:
                return redirect("web:review_exchange_import", pk=row.pk)
    imports = ExchangeImport.objects.select_related("created_by", "task").order_by("-pk")[:30]
    return render(request, "web/review_exchange.html", {"imports": imports, "error": error})


@needs(REVIEW_MANAGE)
def exchange_import(request: HttpRequest, pk: int) -> HttpResponse:
    """The preview of one import; POST action=apply (确认导入) or discard (放弃)."""
    row = ExchangeImport.objects.filter(pk=pk).select_related("task").first()
    if row is None:
        return not_found(request, gettext("鉴定成果导入记录不存在。"))
    if request.method == "POST":
        try:
            if request.POST.get("action") == "apply":
                task = exchange.apply(_user(request), row)
                messages.success(
                    request, gettext("已导入：导入的结论作为建议进入审核任务，由审核员决定。")
                )
                if task is not None:
                    return redirect("web:review_task", pk=task.pk)
            else:
                support.discard_import(_user(request), row)
                messages.success(request, gettext("已放弃该导入，未作任何改动。"))
        except ReviewError as e:
            messages.error(request, message_of(e))
        return redirect("web:review_exchange_import", pk=row.pk)
    changes = [
        {**c, "action_label": gettext(ACTIONS.get(c["action"], c["action"])),
         "decision_label": support.decision_label(c["decision"]),
         "ground_label": support.ground_label(c["ground"]) if c.get("ground") else "",
         "current_label": support.decision_label(c.get("current") or "")
         if c.get("current") else ""}
        for c in row.changes
    ]  # fmt: skip
    counts: dict[str, int] = {}
    for c in row.changes:
        counts[c["action"]] = counts.get(c["action"], 0) + 1
    return render(
        request,
        "web/review_exchange_import.html",
        {"row": row, "changes": changes,
         "counts": [(gettext(ACTIONS.get(k, k)), n) for k, n in counts.items()]},
    )  # fmt: skip


# --- evaluation -----------------------------------------------------------------------------------
@needs(REVIEW_MANAGE)
def evaluation_report(request: HttpRequest) -> HttpResponse:
    report = evaluation.report(services.visible_items(_user(request)))
    classified = report["classifier"]
    return render(
        request,
        "web/review_evaluation.html",
        {"report": report, "classifier": classified,
         "rows": _evaluation_rows(classified["evaluation"]) if classified else [],
         "grounds": [{**g, "ground_label": support.ground_label(g["ground"])}
                     for g in report["per_ground"]]},
    )  # fmt: skip
