"""收 in the staff UI: transfers, their versions, the live check progress, the 四性检测报告 and
the decisions (接收, 退回, 重新提交). The work is done by lantai.ingest.services and its jobs."""

from __future__ import annotations

import functools
import json
import re
from pathlib import Path
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Count, F, Q
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.utils.http import content_disposition_header
from django.utils.translation import gettext, gettext_noop
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_http_methods, require_POST

from lantai.catalog import importing
from lantai.core.roles import RECEIVE, SUBMIT
from lantai.ingest import services, tasks, uploads, warning
from lantai.ingest.models import Transfer, TransferVersion
from lantai.preservation.models import Package
from lantai.standards.dat70 import PROPERTIES, STATUSES, load_catalogue
from lantai.web import report_pdf
from lantai.web.labels import english
from lantai.web.views.common import View, forbidden, not_found, permission_required, whole_number
from lantai.web.worker_status import worker_down_while_waiting

ALLOWED_SUFFIXES = (".zip", ".xml")
LIST_PAGE = 50
DRILL_CAP = 20  # failing/warning objects shown per content on the report; the rest on its own page
DRILL_PAGE = 100
PDF_CAP = 500  # failing/warning objects per content in the PDF
PROPERTY_LABELS = {
    "authenticity": gettext_noop("真实性"),
    "integrity": gettext_noop("完整性"),
    "usability": gettext_noop("可用性"),
    "security": gettext_noop("安全性"),
}
STATUS_LABELS = {
    "pass": gettext_noop("通过"),
    "fail": gettext_noop("不通过"),
    "warn": gettext_noop("警告"),
    "na": gettext_noop("不适用"),
    "": gettext_noop("未检测"),
}
STAGE_LABELS = {
    "unpack": gettext_noop("安全解包"),
    "read": gettext_noop("读取移交包"),
    "fixity": gettext_noop("数字摘要（固定性）"),
    "formats": gettext_noop("格式识别与验证"),
    "virus": gettext_noop("病毒扫描"),
    "metadata": gettext_noop("元数据检测"),
    "package": gettext_noop("移交包检测"),
}
EVIDENCE_MAIN = ("reason", "expected", "found")
EVIDENCE_HIDDEN = ("db", "socket")  # server paths: not for the filing unit's eyes


def _label(table: dict[str, str], key: str) -> str:
    return gettext(table[key]) if key in table else key


# --- access ------------------------------------------------------------------------------------
def _can_receive(request: HttpRequest) -> bool:
    return bool(request.user.has_perm_code(RECEIVE))  # type: ignore[union-attr]


def transfer_access(view: View) -> View:
    """Sign-in required; only filing units (their own transfers) and receiving staff enter."""

    @functools.wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        user: Any = request.user
        if not (user.has_perm_code(SUBMIT) or user.has_perm_code(RECEIVE)):
            return forbidden(request, gettext("您的角色没有“移交接收”权限。"))
        return view(request, *args, **kwargs)

    return login_required(wrapped)


def _missing(request: HttpRequest) -> HttpResponse:
    return not_found(request, gettext("移交不存在，或您无权查阅。"))


# --- forms -------------------------------------------------------------------------------------
class PackageField(forms.FileField):
    def validate(self, value: Any) -> None:
        super().validate(value)
        if value and Path(value.name).suffix.lower() not in ALLOWED_SUFFIXES:
            raise forms.ValidationError(
                gettext("不支持的文件类型“%(suffix)s”：请上传 .zip 移交包或 EEP .xml 文件。")
                % {"suffix": Path(value.name).suffix or "—"}
            )


class PackageForm(forms.Form):
    """A package: a file in this post, or the token of a finished chunked upload (lantai.js)."""

    package = PackageField(
        label=_("移交包"),
        help_text=_(
            "按《电子档案移交与接收办法》目录结构打包的 .zip（或 BagIt 包的 .zip），或 DA/T 48 EEP 的 .xml 文件。"
        ),
    )
    upload = forms.CharField(required=False, widget=forms.HiddenInput)  # a finished chunked upload

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.data.get("upload"):  # the file came in chunks: no file in this post
            self.fields["package"].required = False


class TransferForm(PackageForm):
    unit = forms.TypedChoiceField(
        label=_("移交单位"),
        coerce=int,
        help_text=_("移交单位是本单位的立档单位（全宗），从您的权限范围中选择。"),
        error_messages={
            "required": _("请选择移交单位。"),
            "invalid_choice": _("所选移交单位不在您的权限范围内。"),
        },
    )
    title = forms.CharField(label=_("交接工作名称"), max_length=300, required=False)
    opening_opinion = forms.CharField(
        label=_("到期开放意见"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    disclosure_status = forms.CharField(
        label=_("政府信息公开情况"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    classification_changes = forms.CharField(
        label=_("密级变更情况"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    field_order = [
        "unit",
        "title",
        "opening_opinion",
        "disclosure_status",
        "classification_changes",
    ]

    def __init__(self, *args: Any, units: list[Any], **kwargs: Any) -> None:
        """`units`: the fonds the user may transfer for (services.submitting_units)."""
        super().__init__(*args, **kwargs)
        self.units = {f.pk: f for f in units}
        self.fields["unit"].choices = [("", "—")] + [
            (f.pk, f"{services.unit_name(f)}（{f.repository.name} · {gettext('全宗')} {f.code}）")
            for f in units
        ]
        if len(units) == 1:
            self.fields["unit"].initial = units[0].pk


class ResubmitForm(PackageForm):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["package"].label = _("改正后的移交包")


def _package_path(request: HttpRequest, data: dict[str, Any]) -> Path:
    """The posted package on disk: a finished chunked upload, or the file of this post."""
    return _finish_upload(request, data["upload"]) if data["upload"] else _store(data["package"])


def _store(upload: Any) -> Path:
    return importing.store_upload(upload.chunks(), upload.name)


def _queue_check(request: HttpRequest, version: TransferVersion) -> None:
    tasks.check_version(version.pk, getattr(request.user, "username", "system"))


# --- list, create ------------------------------------------------------------------------------
@transfer_access
def transfer_list(request: HttpRequest) -> HttpResponse:
    user: Any = request.user
    status = request.GET.get("status", "")
    qs = services.visible_transfers(request.user).select_related("created_by")
    if status in dict(Transfer.STATUSES):
        qs = qs.filter(status=status)
    qs = qs.annotate(n_versions=Count("versions")).order_by("-created_at", "-pk")
    page = Paginator(qs, LIST_PAGE).get_page(request.GET.get("page"))
    return render(
        request,
        "web/transfer_list.html",
        {
            "page": page,
            "status": status,
            "statuses": Transfer.STATUSES,
            "can_receive": _can_receive(request),
            "due_units": warning.banner_units(user),  # this unit's transfer reminder
        },
    )


@transfer_access
def transfer_create(request: HttpRequest) -> HttpResponse:
    user: Any = request.user
    units = list(services.submitting_units(user))
    form = TransferForm(request.POST or None, request.FILES or None, units=units)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            path = _package_path(request, data)
        except uploads.UploadError as e:  # an unfinished or unknown chunked upload
            form.add_error(None, e.message_zh)
            return render(request, "web/transfer_form.html", {"form": form})
        try:
            transfer = services.receive(
                path, fonds=form.units[data["unit"]], title=data["title"],
                opening_opinion=data["opening_opinion"], disclosure_status=data["disclosure_status"],
                classification_changes=data["classification_changes"], user=user,
            )  # fmt: skip
        except services.IngestError as e:
            form.add_error(None, e.message_zh)
        else:
            _queue_check(request, transfer.versions.get())
            messages.success(request, gettext("移交包已收到，正在进行四性检测。"))
            return redirect("web:transfer", pk=transfer.pk)
        finally:
            path.unlink(missing_ok=True)  # the original now lives in quarantine
    return render(request, "web/transfer_form.html", {"form": form})


@permission_required(RECEIVE)
def transfer_inbox(request: HttpRequest) -> HttpResponse:
    """Receiving staff register a package that was put on the server's disk (a folder, .zip or EEP
    file in LANTAI_TRANSFER_INBOX, e.g. copied from a carrier); the inbox copy stays untouched."""
    form = TransferForm(request.POST or None, units=list(services.submitting_units(request.user)))  # type: ignore[arg-type]
    del form.fields["package"]  # the package is chosen from the inbox instead
    entries = services.inbox_entries()
    chosen = request.POST.get("entry", "")
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            transfer = services.receive(
                services.inbox_path(chosen), fonds=form.units[data["unit"]], title=data["title"],
                opening_opinion=data["opening_opinion"], disclosure_status=data["disclosure_status"],
                classification_changes=data["classification_changes"], user=request.user,  # type: ignore[arg-type]
            )  # fmt: skip
        except services.IngestError as e:
            form.add_error(None, e.message_zh)
        else:
            _queue_check(request, transfer.versions.get())
            messages.success(request, gettext("移交包已登记，正在进行四性检测。"))
            return redirect("web:transfer", pk=transfer.pk)
    return render(
        request, "web/transfer_inbox.html", {"form": form, "entries": entries, "chosen": chosen}
    )


# --- resumable chunked uploads (lantai.js; the plain form post stays the fallback) ---------------
CONTENT_RANGE = re.compile(r"bytes ([0-9]{1,18})-([0-9]{1,18})/([0-9]{1,18})")


def _finish_upload(request: HttpRequest, token: str) -> Path:
    upload = uploads.get(token, request.user.pk)  # type: ignore[arg-type]
    if upload is None:
        raise uploads.UploadError(gettext("上传记录不存在或已失效，请重新选择文件上传。"))
    return uploads.finish(upload)


def _upload_state(upload: uploads.Upload, status: int = 200) -> JsonResponse:
    offset = upload.received
    response = JsonResponse(
        {
            "token": upload.token,
            "offset": offset,
            "size": upload.size,
            "complete": offset == upload.size,
        },
        status=status,
    )
    response["Upload-Offset"] = str(offset)
    return response


def _upload_refused(e: uploads.UploadError) -> JsonResponse:
    body: dict[str, Any] = {"error": e.message_zh}
    if e.offset is not None:
        body["offset"] = e.offset
    response = JsonResponse(body, status=e.status)
    if e.offset is not None:
        response["Upload-Offset"] = str(e.offset)
    return response


@require_POST
@transfer_access
def upload_start(request: HttpRequest) -> HttpResponse:
    """Open a chunked upload: `name`, `size` (bytes) and optionally `sm3` (hex) of the file."""
    name = request.POST.get("name", "")
    if Path(name).suffix.lower() not in ALLOWED_SUFFIXES:
        message = gettext("不支持的文件类型“%(suffix)s”：请上传 .zip 移交包或 EEP .xml 文件。")
        return JsonResponse({"error": message % {"suffix": Path(name).suffix or "—"}}, status=400)
    size = whole_number(request.POST.get("size"))
    if size is None:
        return JsonResponse({"error": gettext("须提供文件大小（字节）")}, status=400)
    try:
        upload = uploads.start(request.user.pk, name, size, request.POST.get("sm3", ""))  # type: ignore[arg-type]
    except uploads.UploadError as e:
        return _upload_refused(e)
    return _upload_state(upload, status=201)


@require_http_methods(["GET", "HEAD", "PUT", "POST", "DELETE"])
@transfer_access
def upload_chunk(request: HttpRequest, token: str) -> HttpResponse:
    """GET/HEAD: the bytes received so far. PUT/POST: a chunk as the raw body, placed by a
    `Content-Range: bytes start-end/total` header or an `offset` query parameter. DELETE: drop."""
    upload = uploads.get(token, request.user.pk)  # type: ignore[arg-type]
    if upload is None:
        return JsonResponse({"error": gettext("上传记录不存在")}, status=404)
    if request.method in ("GET", "HEAD"):
        return _upload_state(upload)
    if request.method == "DELETE":
        uploads.discard(upload)
        return HttpResponse(status=204)
    length = whole_number(request.META.get("CONTENT_LENGTH")) or 0
    match = CONTENT_RANGE.fullmatch(request.headers.get("Content-Range", "").strip())
    if match:
        start, end, total = (int(g) for g in match.groups())
        if total != upload.size or end < start or end - start + 1 != length:
            return JsonResponse({"error": gettext("Content-Range 与上传记录不符")}, status=400)
        offset = start
    elif (number := whole_number(request.GET.get("offset"))) is not None:
        offset = number
    else:
        return JsonResponse({"error": gettext("须提供 Content-Range 或 offset")}, status=400)
    try:
        uploads.append(upload, offset, length, request)  # type: ignore[arg-type]
    except uploads.UploadError as e:
        return _upload_refused(e)
    return _upload_state(upload)


# --- one transfer --------------------------------------------------------------------------------
def _actions(request: HttpRequest, transfer: Transfer) -> dict[str, bool]:
    receive = _can_receive(request)
    return {
        "can_accept": receive and transfer.status == "passed",
        "can_return": receive and transfer.status in ("passed", "failed"),
        "can_resubmit": transfer.status in ("returned", "failed"),
    }


def _package_of(transfer: Transfer) -> Package | None:
    """The package an accepted transfer became, with its copies written so far (`n_current`)."""
    if transfer.status != "accepted":
        return None
    current = Q(version__gt=0, replicas__version__gte=F("version"))
    return (
        Package.objects.filter(kind="transfer", source_id=transfer.pk)
        .annotate(n_current=Count("replicas", filter=current))
        .first()
    )


@transfer_access
def transfer_detail(request: HttpRequest, pk: int) -> HttpResponse:
    transfer = services.visible_transfer(request.user, pk)
    if transfer is None:
        return _missing(request)
    versions = list(transfer.versions.order_by("-number"))
    latest = versions[0] if versions else None
    package = _package_of(transfer)
    return render(
        request,
        "web/transfer_detail.html",
        {
            "transfer": transfer,
            "versions": versions,
            "latest": latest,
            "package": package,
            "running": transfer.status in ("pending", "checking"),
            "waits_on_job": transfer.status in ("pending", "checking")
            or (package is not None and package.status == "pending"),
            "stages": [gettext(v) for v in STAGE_LABELS.values()],
            "warnings": bool(latest and latest.checks.filter(status="warn").exists()),
            **_actions(request, transfer),
        },
    )


@transfer_access
def transfer_progress(request: HttpRequest, pk: int) -> HttpResponse:
    transfer = services.visible_transfer(request.user, pk)
    if transfer is None:
        return JsonResponse({"error": gettext("移交不存在")}, status=404)
    version = transfer.versions.order_by("-number").first()
    info = tasks.read_progress(version.pk) if version else {}
    stage = info.get("stage", "")
    done = transfer.status not in ("pending", "checking")
    stages = info.get("stages", [])
    return JsonResponse(
        {
            "status": transfer.status,
            "status_label": str(transfer.get_status_display()),
            "stage": stage,
            "stage_label": _label(STAGE_LABELS, stage) if stage else "",
            "progress": 1.0 if done else len(stages) / (len(STAGE_LABELS) + 1),
            "done": done,
            "worker_down": not done and worker_down_while_waiting(),
            "message": info.get("message", ""),
        }
    )


# --- the report ------------------------------------------------------------------------------------
def _content_status(counts: dict[str, int]) -> str:
    for status in ("fail", "warn", "pass", "na"):
        if counts.get(status):
            return status
    return ""


def _evidence(evidence: Any) -> dict[str, Any]:
    if not isinstance(evidence, dict):
        return {"main": [], "other": [("", str(evidence))]}

    def text(value: Any) -> str:
        if isinstance(value, str):
            return value
        return json.dumps(value, ensure_ascii=False)

    labels = {"reason": gettext("原因"), "expected": gettext("应为"), "found": gettext("实际")}
    return {
        "main": [(labels[k], text(evidence[k])) for k in EVIDENCE_MAIN if k in evidence],
        "other": [
            (k, text(v))
            for k, v in evidence.items()
            if k not in EVIDENCE_MAIN and k not in EVIDENCE_HIDDEN
        ],
    }


def _rows(records: Any) -> list[dict[str, Any]]:
    catalogue, en = load_catalogue(), english()
    return [
        {
            "object": r.object,
            "title": catalogue.check_title(r.check_key, r.title, en),
            "status": r.status,
            "status_label": _label(STATUS_LABELS, r.status),
            "item_code": r.item_code,
            "tool": " ".join(x for x in (r.tool, r.tool_version) if x),
            "evidence": _evidence(r.evidence),
        }
        for r in records
    ]


def _report_context(
    request: HttpRequest, transfer: Transfer, version: TransferVersion, *, focus: str, cap: int
) -> dict[str, Any]:
    """What the report page and its PDF show: the summary by property, every DA/T 70 content of
    the stage with its status, and up to `cap` failing/warning objects per content."""
    catalogue = load_catalogue()
    counts: dict[tuple[str, str], int] = {}
    by_content: dict[str, dict[str, int]] = {}
    for row in version.checks.values("property", "content_code", "status").annotate(n=Count("id")):
        key = (row["property"], row["status"])
        counts[key] = counts.get(key, 0) + row["n"]
        per = by_content.setdefault(row["content_code"], {})
        per[row["status"]] = per.get(row["status"], 0) + row["n"]
    summary_rows = [
        {
            "property": p,
            "label": _label(PROPERTY_LABELS, p),
            "counts": [counts.get((p, s), 0) for s in STATUSES],
            "status": _content_status({s: counts.get((p, s), 0) for s in STATUSES}),
        }
        for p in PROPERTIES
    ]
    problems = version.checks.filter(status__in=("fail", "warn")).order_by("status", "id")
    focus = request.GET.get("content", "")
    contents = []
    for c in catalogue.contents("yj"):
        c_counts = by_content.get(c.code, {})
        status = _content_status(c_counts)
        bad = c_counts.get("fail", 0) + c_counts.get("warn", 0)
        contents.append(
            {
                "code": c.code,
                "title": c.title(english()),
                "method": c.method(english()),
                "property_label": _label(PROPERTY_LABELS, c.property),
                "status": status,
                "status_label": _label(STATUS_LABELS, status),
                "counts": [c_counts.get(s, 0) for s in STATUSES],
                "bad": bad,
                "rows": _rows(problems.filter(content_code=c.code)[:cap])
                if bad and not focus
                else [],
                "more": bad > cap,
            }
        )
    focused = None
    if focus:
        content = next((c for c in contents if c["code"] == focus), None)
        if content is not None:
            page = Paginator(problems.filter(content_code=focus), DRILL_PAGE).get_page(
                request.GET.get("page")
            )
            focused = {"content": content, "page": page, "rows": _rows(page.object_list)}
    summary = version.summary or {}
    stage_seconds = summary.get("stage_seconds", {})
    return {
        "transfer": transfer,
        "version": version,
        "latest": version.number == transfer.versions.count(),
        "catalogue": catalogue,
        "status_headers": [_label(STATUS_LABELS, s) for s in STATUSES],
        "summary_rows": summary_rows,
        "contents": contents,
        "focused": focused,
        "notes": summary.get("notes", []),
        "error": summary.get("error", ""),
        "stages": [
            {"label": _label(STAGE_LABELS, k), "seconds": v} for k, v in stage_seconds.items()
        ],
        "total_seconds": round(sum(stage_seconds.values()), 3),
        "files": summary.get("files"),
        "bytes": summary.get("bytes"),
        "package_kind": summary.get("package_kind") or version.package_kind,
        "checked": bool(version.checked_at),
        "warnings": any(counts.get((p, "warn")) for p in PROPERTIES),
        **_actions(request, transfer),
    }


def _report_target(request: HttpRequest, pk: int, number: int) -> tuple[Any, Any]:
    transfer = services.visible_transfer(request.user, pk)
    version = transfer.versions.filter(number=number).first() if transfer else None
    return transfer, version


@transfer_access
def transfer_report(request: HttpRequest, pk: int, number: int) -> HttpResponse:
    transfer, version = _report_target(request, pk, number)
    if transfer is None or version is None:
        return _missing(request)
    context = _report_context(
        request, transfer, version, focus=request.GET.get("content", ""), cap=DRILL_CAP
    )
    return render(request, "web/transfer_report.html", context)


@transfer_access
def transfer_report_pdf(request: HttpRequest, pk: int, number: int) -> HttpResponse:
    """The same report as a PDF/A-3b (WeasyPrint, CJK fonts embedded), for printing and filing."""
    transfer, version = _report_target(request, pk, number)
    if transfer is None or version is None:
        return _missing(request)
    context = _report_context(request, transfer, version, focus="", cap=PDF_CAP)
    html = render_to_string("web/transfer_report_pdf.html", {**context, "pdf": True}, request)
    pdf = report_pdf.render(html)
    response = HttpResponse(pdf, content_type="application/pdf")
    name = f"{gettext('四性检测报告')}-{transfer.pk}-v{version.number}.pdf"
    response["Content-Disposition"] = content_disposition_header(False, name) or "inline"
    return response


@transfer_access
def transfer_register_pdf(request: HttpRequest, pk: int, number: int) -> HttpResponse:
    """《电子档案移交与接收登记表》 of a checked version, filled in from the package and the checks,
    with blank lines for the signatures and seals of both parties."""
    transfer, version = _report_target(request, pk, number)
    if transfer is None or version is None or not version.checked_at:
        return _missing(request)
    summary = version.summary or {}
    register = summary.get("register") or {}
    by_property = summary.get("by_property") or {}
    verdicts = [
        (label, gettext("不通过") if by_property.get(prop, {}).get("fail") else gettext("通过"))
        for prop, label in (
            ("authenticity", gettext("准确性（真实性）检验")),
            ("integrity", gettext("完整性检验")),
            ("usability", gettext("可用性检验")),
            ("security", gettext("安全性检验")),
        )
    ]
    content_bytes = register.get("byte_count") or summary.get("bytes") or 0
    context = {
        "transfer": transfer,
        "version": version,
        "title": transfer.title or register.get("交接工作名称", ""),
        "description": register.get("内容描述", ""),
        "items": register.get("item_count") or summary.get("items") or summary.get("files"),
        "gigabytes": f"{content_bytes / 1024**3:.3f}",
        "verdicts": verdicts,
    }
    html = render_to_string("web/transfer_register_pdf.html", context, request)
    response = HttpResponse(report_pdf.render(html), content_type="application/pdf")
    name = f"{gettext('电子档案移交与接收登记表')}-{transfer.pk}-v{version.number}.pdf"
    response["Content-Disposition"] = content_disposition_header(False, name) or "inline"
    return response


# --- decisions -------------------------------------------------------------------------------------
def _decide(request: HttpRequest, pk: int, action: Any) -> HttpResponse:
    transfer = services.visible_transfer(request.user, pk)
    if transfer is None:
        return _missing(request)
    try:
        message = action(transfer)
    except services.IngestError as e:
        messages.error(request, e.message_zh)
    except PermissionDenied as e:
        return forbidden(request, str(e))
    else:
        messages.success(request, message)
    number = whole_number(request.POST.get("report"))
    if number is not None and transfer.versions.filter(number=number).exists():
        return redirect("web:transfer_report", pk=transfer.pk, number=number)
    return redirect("web:transfer", pk=transfer.pk)


@require_POST
@permission_required(RECEIVE)
def transfer_accept(request: HttpRequest, pk: int) -> HttpResponse:
    def act(transfer: Transfer) -> str:
        n = services.accept(
            transfer,
            user=request.user,  # type: ignore[arg-type]
            reason=request.POST.get("reason", ""),
            fonds_code=request.POST.get("fonds", "").strip() or None,
            category_code=request.POST.get("category", "").strip() or None,
        )
        return gettext("已接收，生成 %(n)d 条档案记录。") % {"n": n}

    return _decide(request, pk, act)


@require_POST
@permission_required(RECEIVE)
def transfer_return(request: HttpRequest, pk: int) -> HttpResponse:
    def act(transfer: Transfer) -> str:
        services.return_transfer(transfer, request.POST.get("reason", ""), user=request.user)  # type: ignore[arg-type]
        return gettext("已退回，立档单位可看到退回理由并重新提交。")

    return _decide(request, pk, act)


@transfer_access
def transfer_resubmit(request: HttpRequest, pk: int) -> HttpResponse:
    transfer = services.visible_transfer(request.user, pk)
    if transfer is None:
        return _missing(request)
    form = ResubmitForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            path = _package_path(request, form.cleaned_data)
        except uploads.UploadError as e:
            form.add_error(None, e.message_zh)
            return render(
                request, "web/transfer_resubmit.html", {"transfer": transfer, "form": form}
            )
        try:
            version = services.resubmit(transfer, path, user=request.user)  # type: ignore[arg-type]
        except services.IngestError as e:
            form.add_error(None, e.message_zh)
        else:
            _queue_check(request, version)
            messages.success(
                request, gettext("已作为第 %(n)d 版重新提交，正在检测。") % {"n": version.number}
            )
            return redirect("web:transfer", pk=transfer.pk)
        finally:
            path.unlink(missing_ok=True)
    return render(request, "web/transfer_resubmit.html", {"transfer": transfer, "form": form})
