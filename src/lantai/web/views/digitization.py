"""数字化 in the staff UI: scanning batches (from the inbox or uploaded), their live check, the
DA/T 31 check report (page and PDF), 抽检, accept or return. A record's pages, viewer, OCR
correction and recordings are in `lantai.web.views.digitized`.

The work is done by lantai.digitization (services, reading, recordings, tasks); these views only
decide who may see what and show it. A scanning vendor (DIGITIZE alone) sees its own batches and
their reports, never the catalogue; managers (DIGITIZE_MANAGE) every batch of their archives."""

from __future__ import annotations

import functools
import json
import secrets
import unicodedata
from collections.abc import Callable
from pathlib import Path
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import TooManyFilesSent
from django.core.paginator import Paginator
from django.db.models import Count
from django.http import HttpRequest, HttpResponse, JsonResponse, QueryDict
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.utils.translation import gettext, gettext_noop
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from lantai.catalog.services import visible_records
from lantai.core.roles import DIGITIZE, DIGITIZE_MANAGE, VIEW
from lantai.digitization import layout, services, tasks
from lantai.digitization.models import Batch, Finding, Item, Page
from lantai.standards import dat31
from lantai.web import report_pdf
from lantai.web.labels import english
from lantai.web.views.common import View, forbidden, not_found, permission_required, whole_number
from lantai.web.worker_status import worker_down_while_waiting

LIST_PAGE = 50
FINDINGS_CAP = 50  # findings shown per check on the report page; the PDF shows PDF_CAP
PDF_CAP = 1000
IMAGE_WIDTHS = (160, 400, 800, 1200, 1600, 2400)  # the sizes a page image is rendered at
UPLOAD_SUFFIXES = (
    layout.PAGE_SUFFIXES
    | layout.DOCUMENT_SUFFIXES
    | layout.MANIFEST_SUFFIXES
    | layout.MEDIA_SUFFIXES
)
# the first bytes of each image kind: a file named .png that is not one is refused at upload
MAGIC = {
    ".png": (b"\x89PNG\r\n\x1a\n",),
    ".jpg": (b"\xff\xd8\xff",),
    ".jpeg": (b"\xff\xd8\xff",),
    ".tif": (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"),
    ".tiff": (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"),
    ".jp2": (b"\x00\x00\x00\x0cjP  ", b"\xff\x4f\xff\x51"),
    ".j2k": (b"\xff\x4f\xff\x51", b"\x00\x00\x00\x0cjP  "),
    ".pdf": (b"%PDF-",),
}
RESULT_LABELS = {
    "pass": gettext_noop("通过"),
    "fail": gettext_noop("不通过"),
    "warn": gettext_noop("警告"),
    "na": gettext_noop("不适用"),
    "": gettext_noop("未检测"),
}
INSPECTION_LABELS = {
    "pass": gettext_noop("合格"),
    "fail": gettext_noop("不合格"),
    "": gettext_noop("未检查"),
}
MODE_LABELS = {
    "bitonal": gettext_noop("黑白二值"),
    "grey": gettext_noop("灰度"),
    "colour": gettext_noop("彩色"),
}


def _label(table: dict[str, str], key: str) -> str:
    return gettext(table[key]) if key in table else key


# --- access ---------------------------------------------------------------------------------------
def _manages(request: HttpRequest) -> bool:
    return bool(request.user.has_perm_code(DIGITIZE_MANAGE))  # type: ignore[union-attr]


def digitization_access(view: View) -> View:
    """Sign-in required; scanning vendors (their own batches) and digitization managers enter."""

    @functools.wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        user: Any = request.user
        if not (user.has_perm_code(DIGITIZE) or user.has_perm_code(DIGITIZE_MANAGE)):
            return forbidden(request, gettext("您的角色没有“数字化”权限。"))
        return view(request, *args, **kwargs)

    return login_required(wrapped)


def any_permission(*permissions: str) -> Callable[[View], View]:
    """Sign-in required; a user holding none of `permissions` gets the 403 page."""

    def decorate(view: View) -> View:
        @functools.wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            user: Any = request.user
            if not any(user.has_perm_code(p) for p in permissions):
                return forbidden(request, gettext("您的角色无权查看数字化页面。"))
            return view(request, *args, **kwargs)

        return login_required(wrapped)

    return decorate


def _user(request: HttpRequest) -> Any:
    return request.user


def _missing(request: HttpRequest) -> HttpResponse:
    return not_found(request, gettext("数字化批次不存在，或您无权查阅。"))


def _batch(request: HttpRequest, pk: int) -> Batch | None:
    return services.visible_batch(request.user, pk)  # type: ignore[arg-type]


def visible_page(user: Any, pk: int) -> Page | None:
    """A page the user may see. Who reads the catalogue (VIEW) must be able to see the page's
    record (scope and clearance hold for page images too) and then sees an attached page, or a
    page of a batch they may see before it is attached. A scanning vendor sees the pages of its
    own batches until they are accepted: they are its own scans, not the catalogue."""
    page = Page.objects.select_related("batch", "item__record").filter(pk=pk).first()
    if page is None:
        return None
    if user.has_perm_code(VIEW):
        if not visible_records(user).filter(pk=page.item.record_id).exists():
            return None
        if page.component_id is not None:
            return page
    elif page.batch.status == "accepted":
        return None
    return page if services.visible_batch(user, page.batch_id) is not None else None


# --- forms ----------------------------------------------------------------------------------------
class BatchForm(forms.Form):
    repository = forms.TypedChoiceField(
        label=_("档案馆"),
        coerce=int,
        error_messages={
            "required": _("请选择档案馆。"),
            "invalid_choice": _("所选档案馆不在您的权限范围内。"),
        },
    )
    name = forms.CharField(label=_("批次名称"), max_length=200, required=False)
    purpose = forms.ChoiceField(label=_("扫描用途"), initial="ocr")
    sample_ratio = forms.FloatField(
        label=_("抽检比例"),
        required=False,
        min_value=0.0,
        max_value=1.0,
        help_text=_("DA/T 31 要求不低于 5%；留空即按 5% 抽检（至少 1 件）。"),
    )

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        repositories = list(services.submit_repositories(user))
        self.repositories = {r.pk: r for r in repositories}
        choices = [("", "—")] + [(r.pk, r.name) for r in repositories]
        self.fields["repository"].choices = choices  # type: ignore[attr-defined]
        if len(repositories) == 1:
            self.fields["repository"].initial = repositories[0].pk
        en = english()
        self.fields["purpose"].choices = [  # type: ignore[attr-defined]
            (p.key, f"{p.name(en)}（≥ {p.min_dpi} dpi）") for p in dat31.purposes()
        ]


class UploadRefused(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def safe_name(name: str) -> str:
    """The uploaded file's own name when it is a plain file name (档号-页号.ext); refused when it
    names a folder, leaves the folder (../), is hidden or has control characters."""
    raw = unicodedata.normalize("NFC", name or "").strip()
    if (
        not raw
        or "/" in raw
        or "\\" in raw
        or raw in (".", "..")
        or raw.startswith(".")
        or any(unicodedata.category(ch).startswith("C") for ch in raw)
        or len(raw.encode("utf-8")) > 240
    ):
        raise UploadRefused(
            gettext("文件名“%(name)s”不是单个文件名：请上传“档号-页号.扩展名”的页面文件。")
            % {"name": name}
        )
    suffix = Path(raw).suffix.lower()
    if suffix not in UPLOAD_SUFFIXES:
        raise UploadRefused(
            gettext(
                "“%(name)s”的类型不支持：只接收 JPEG、TIFF、JPEG 2000、PNG、PDF 页面、音视频文件和 .csv/.xlsx 清单。"
            )
            % {"name": raw}
        )
    return raw


def _sniff(upload: Any, name: str) -> None:
    wanted = MAGIC.get(Path(name).suffix.lower())
    if not wanted:
        return
    upload.seek(0)
    head = upload.read(16)
    upload.seek(0)
    if not any(head.startswith(m) for m in wanted):
        raise UploadRefused(
            gettext("“%(name)s”不是%(kind)s图像文件（文件内容与扩展名不符）。")
            % {"name": name, "kind": Path(name).suffix.lstrip(".").upper()}
        )


def save_uploads(files: list[Any]) -> Path:
    """The uploaded files in a fresh folder of the digitization inbox, under their own (checked)
    names; nothing is written when one of them is refused."""
    if not files:
        raise UploadRefused(gettext("请选择要上传的页面文件。"))
    names = [safe_name(f.name) for f in files]
    seen: set[str] = set()
    for upload, name in zip(files, names, strict=True):
        if name.lower() in seen:
            raise UploadRefused(gettext("文件“%(name)s”上传了两次。") % {"name": name})
        seen.add(name.lower())
        _sniff(upload, name)
    manifests = [n for n in names if Path(n).suffix.lower() in layout.MANIFEST_SUFFIXES]
    if len(manifests) > 1:
        raise UploadRefused(gettext("一个批次只能有一个清单文件（.csv 或 .xlsx）。"))
    root = Path(settings.DIGITIZATION_INBOX)
    stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
    folder = root / f"upload-{stamp}-{secrets.token_hex(4)}"
    folder.mkdir(parents=True)
    for upload, name in zip(files, names, strict=True):
        target = folder / name
        with open(target, "xb") as out:
            for chunk in upload.chunks():
                out.write(chunk)
    return folder


def _queue_check(request: HttpRequest, batch: Batch) -> None:
    tasks.check_batch(batch.pk, actor=getattr(request.user, "username", "system"))


# --- list, new batch ------------------------------------------------------------------------------
@digitization_access
def batch_list(request: HttpRequest) -> HttpResponse:
    status = request.GET.get("status", "")
    qs = services.visible_batches(request.user)  # type: ignore[arg-type]
    if status in dict(Batch.STATUSES):
        qs = qs.filter(status=status)
    page = Paginator(qs.order_by("-created_at", "-pk"), LIST_PAGE).get_page(request.GET.get("page"))
    # pages by OCR state for this page's batches: one grouped query on the (batch, ocr_status)
    # index, not a join over every page of every batch
    states: dict[int, dict[str, int]] = {}
    rows = (
        Page.objects.filter(batch__in=[b.pk for b in page.object_list])
        .values("batch_id", "ocr_status")
        .annotate(n=Count("id"))
    )
    for row in rows:
        states.setdefault(row["batch_id"], {})[row["ocr_status"]] = row["n"]
    for b in page.object_list:
        counts = states.get(b.pk, {})
        b.n_pages = sum(counts.values())
        b.n_read = counts.get("done", 0)
        b.n_ocr = b.n_pages - counts.get("", 0)
    return render(
        request,
        "web/digitization_list.html",
        {
            "page": page,
            "status": status,
            "statuses": Batch.STATUSES,
            "manages": _manages(request),
            "result_labels": {k: gettext(v) for k, v in RESULT_LABELS.items()},
        },
    )


def _register(request: HttpRequest, form: BatchForm, folder: Path) -> Batch:
    data = form.cleaned_data
    return services.register_batch(
        folder,
        user=request.user,  # type: ignore[arg-type]
        repository=form.repositories[data["repository"]],
        name=data["name"],
        purpose=data["purpose"],
        sample_ratio=data["sample_ratio"],
    )


def _add_refusal(form: BatchForm, e: services.DigitizationError) -> None:
    message = e.message_en if english() else e.message_zh
    field = {"repository": "repository", "purpose": "purpose", "sample_ratio": "sample_ratio"}
    form.add_error(field.get(e.field), message)


@digitization_access
def batch_create(request: HttpRequest) -> HttpResponse:
    """Upload the files of a scanning run (several at once) and register them as a batch."""
    upload_error = ""
    try:
        data = request.POST
    except TooManyFilesSent:  # Django's cap on files per request: the inbox takes big runs
        data = QueryDict()
        upload_error = gettext(
            "一次最多上传 %(n)d 个文件；更大的批次请拷贝到服务器的数字化收件目录后登记。"
        ) % {"n": settings.DATA_UPLOAD_MAX_NUMBER_FILES}
    form = BatchForm(data or None, user=request.user)
    if request.method == "POST" and not upload_error and form.is_valid():
        try:
            folder = save_uploads(request.FILES.getlist("files"))
        except UploadRefused as e:
            upload_error = e.message
        else:
            try:
                batch = _register(request, form, folder)
            except services.DigitizationError as e:
                _add_refusal(form, e)
            else:
                _queue_check(request, batch)
                messages.success(request, gettext("页面文件已收到，正在进行 DA/T 31 质量检测。"))
                return redirect("web:digitization_batch", pk=batch.pk)
    return render(
        request,
        "web/digitization_form.html",
        {
            "form": form,
            "upload_error": upload_error,
            "suffixes": sorted(UPLOAD_SUFFIXES),
            "max_files": settings.DATA_UPLOAD_MAX_NUMBER_FILES,
        },
    )


@permission_required(DIGITIZE_MANAGE)
def batch_inbox(request: HttpRequest) -> HttpResponse:
    """Register a folder that was put into the digitization inbox on the server's disk (the
    usual way for a large scanning run). Only managers: the inbox holds every vendor's folders."""
    form = BatchForm(request.POST or None, user=request.user)
    chosen = request.POST.get("folder", "")
    folder_error = ""
    if request.method == "POST" and form.is_valid():
        try:
            folder = services.inbox_folder(chosen)
            batch = _register(request, form, folder)
        except services.DigitizationError as e:
            if e.field == "folder":
                folder_error = e.message_en if english() else e.message_zh
            else:
                _add_refusal(form, e)
        else:
            _queue_check(request, batch)
            messages.success(request, gettext("批次已登记，正在进行 DA/T 31 质量检测。"))
            return redirect("web:digitization_batch", pk=batch.pk)
    return render(
        request,
        "web/digitization_inbox.html",
        {
            "form": form,
            "folders": services.inbox_folders(),
            "chosen": chosen,
            "folder_error": folder_error,
            "inbox": settings.DIGITIZATION_INBOX,
        },
    )


# --- one batch ------------------------------------------------------------------------------------
def _actions(request: HttpRequest, batch: Batch) -> dict[str, Any]:
    manage = _manages(request)
    user: Any = request.user
    return {
        "manages": manage,
        "can_inspect": manage and batch.status == "checked",
        "can_accept": manage and batch.status == "checked",
        "can_return": manage and batch.status in ("checked", "failed"),
        "can_recheck": user.has_perm_code(DIGITIZE) and batch.status in ("returned", "failed"),
    }


def _progress(batch: Batch) -> dict[str, Any]:
    info = tasks.read_progress(batch.pk) if batch.status == "checking" else {}
    done, total = int(info.get("done") or 0), int(info.get("total") or 0)
    return {"done": done, "total": total, "fraction": done / total if total else 0.0}


@digitization_access
def batch_detail(request: HttpRequest, pk: int) -> HttpResponse:
    batch = _batch(request, pk)
    if batch is None:
        return _missing(request)
    ready = services.readiness(batch) if batch.status == "checked" else None
    ocr = services.ocr_progress(batch) if batch.status == "accepted" else None
    reading_pages = bool(ocr and ocr["pending"])
    return render(
        request,
        "web/digitization_detail.html",
        {
            "batch": batch,
            "summary": batch.summary or {},
            "result_label": _label(RESULT_LABELS, batch.result),
            "purpose": _purpose_name(batch.purpose),
            "running": batch.status == "checking",
            "waits_on_job": batch.status == "checking" or reading_pages,
            "reading_pages": reading_pages,
            "progress": _progress(batch),
            "ready": ready,
            "ocr": ocr,
            "sampled": services.sample_pages(batch).count() if ready else 0,
            # the records' pages: for those who read the catalogue, once the batch is accepted
            "records": (
                list(batch.items.select_related("record").order_by("reference_code")[:LIST_PAGE])
                if ocr is not None and request.user.has_perm_code(VIEW)  # type: ignore[union-attr]
                else []
            ),
            **_actions(request, batch),
        },
    )


def _purpose_name(key: str) -> str:
    try:
        return dat31.purpose(key).name(english())
    except KeyError:
        return key


@digitization_access
def batch_progress(request: HttpRequest, pk: int) -> HttpResponse:
    batch = _batch(request, pk)
    if batch is None:
        return JsonResponse({"error": gettext("数字化批次不存在")}, status=404)
    done = batch.status != "checking"
    progress = _progress(batch)
    return JsonResponse(
        {
            "status": batch.status,
            "status_label": str(batch.get_status_display()),
            "stage_label": (
                gettext("已检测 %(done)d / %(total)d 个文件") % progress
                if progress["total"]
                else ""
            ),
            "progress": 1.0 if done else progress["fraction"],
            "done": done,
            "worker_down": not done and worker_down_while_waiting(),
        }
    )


# --- the report -----------------------------------------------------------------------------------
def _evidence(evidence: Any) -> list[tuple[str, str]]:
    if not isinstance(evidence, dict):
        return [("", str(evidence))]
    return [
        (str(k), v if isinstance(v, str) else json.dumps(v, ensure_ascii=False))
        for k, v in evidence.items()
    ]


def _finding_row(f: Finding, en: bool) -> dict[str, Any]:
    return {
        "subject": f.subject,
        "result": f.result,
        "result_label": _label(RESULT_LABELS, f.result),
        "message": (f.message_en or f.message_zh) if en else f.message_zh,
        "evidence": _evidence(f.evidence),
        "page_id": f.page_id,
    }


def _check_status(counts: dict[str, Any]) -> str:
    if counts.get("failed"):
        return "fail"
    if counts.get("warned"):
        return "warn"
    if counts.get("passed"):
        return "pass"
    return "na" if counts.get("na") else ""


def report_context(request: HttpRequest, batch: Batch, *, cap: int) -> dict[str, Any]:
    """What the report page and its PDF show: the batch, the summary counts, every check of the
    catalogue that examined something (name, rule, counts) with up to `cap` of its findings, the
    files that could not be placed and the records without pages."""
    en = english()
    summary = batch.summary or {}
    counts: dict[str, dict[str, Any]] = summary.get("checks") or {}
    findings = Finding.objects.filter(batch=batch)
    by_code = {row["code"]: row["n"] for row in findings.values("code").annotate(n=Count("id"))}
    checks = []
    codes = list(counts) + [c for c in by_code if c not in counts]
    catalogue_order = list(dat31.load_catalogue().checks)
    codes.sort(key=lambda c: (catalogue_order.index(c) if c in catalogue_order else 999, c))
    for code in codes:
        c = counts.get(code, {})
        try:
            spec = dat31.check(code)
            name, rule, level = spec.name(en), spec.rule(en), spec.level
        except KeyError:
            name, rule, level = code, "", ""
        status = _check_status(c) or ("fail" if by_code.get(code) else "")
        rows = findings.filter(code=code).order_by("result", "id")[:cap]
        checks.append(
            {
                "code": code,
                "name": name,
                "rule": rule,
                "level": level,
                "status": status,
                "status_label": _label(RESULT_LABELS, status),
                "examined": c.get("examined", 0),
                "passed": c.get("passed", 0),
                "failed": c.get("failed", 0),
                "warned": c.get("warned", 0),
                "na": c.get("na", 0),
                "n_findings": by_code.get(code, 0),
                "rows": [_finding_row(f, en) for f in rows],
                "more": max(0, by_code.get(code, 0) - cap),
            }
        )
    unplaced = findings.filter(
        code__in=services.UNPLACED_CODES, item__isnull=True, page__isnull=True
    )
    without_pages = (
        Item.objects.filter(batch=batch, page_count=0)
        .annotate(n_rec=Count("recordings"))
        .filter(n_rec=0)
        .select_related("record")
        .order_by("reference_code")
    )
    return {
        "batch": batch,
        "summary": summary,
        "catalogue_name": gettext("%(version)s（检测目录第 %(revision)s 版）")
        % {
            "version": dat31.load_catalogue().version,
            "revision": batch.catalogue_version or dat31.load_catalogue().revision,
        },
        "result_label": _label(RESULT_LABELS, batch.result),
        "purpose": _purpose_name(batch.purpose),
        "checks": checks,
        "unplaced": [_finding_row(f, en) for f in unplaced.order_by("id")[:cap]],
        "unplaced_more": max(0, unplaced.count() - cap),
        "without_pages": list(without_pages[:cap]),
        "items": list(batch.items.order_by("reference_code")[:cap]),
        "checked": batch.checked_at is not None,
        "error": batch.error,
        "ready": services.readiness(batch) if batch.status == "checked" else None,
        **_actions(request, batch),
    }


@digitization_access
def batch_report(request: HttpRequest, pk: int) -> HttpResponse:
    batch = _batch(request, pk)
    if batch is None:
        return _missing(request)
    return render(
        request, "web/digitization_report.html", report_context(request, batch, cap=FINDINGS_CAP)
    )


@digitization_access
def batch_report_pdf(request: HttpRequest, pk: int) -> HttpResponse:
    """The same report as a PDF/A-3b (WeasyPrint, CJK fonts embedded) for printing and filing."""
    batch = _batch(request, pk)
    if batch is None or batch.checked_at is None:
        return _missing(request)
    context = report_context(request, batch, cap=PDF_CAP)
    html = render_to_string("web/digitization_report_pdf.html", {**context, "pdf": True}, request)
    response = HttpResponse(report_pdf.render(html), content_type="application/pdf")
    name = f"{gettext('数字化质量检测报告')}-{batch.pk}.pdf"
    response["Content-Disposition"] = content_disposition_header(False, name) or "inline"
    return response


# --- 抽检, accept, return, check again -------------------------------------------------------------
def _page_facts(page: Page) -> list[tuple[str, str]]:
    return [
        (gettext("分辨率"), f"{page.dpi:g} dpi" if page.dpi else gettext("文件未记录")),
        (gettext("色彩模式"), _label(MODE_LABELS, page.mode) or "—"),
        (gettext("偏斜"), f"{page.skew:.2f}°" if page.skew is not None else "—"),
        (gettext("空白页"), gettext("是") if page.blank else gettext("否")),
        (gettext("像素"), f"{page.width} × {page.height}"),
        (gettext("格式"), " / ".join(x for x in (page.file_format, page.compression) if x) or "—"),
    ]


@permission_required(DIGITIZE_MANAGE)
def batch_inspect(request: HttpRequest, pk: int) -> HttpResponse:
    """抽检: the sampled pages one after another (?page=n), each with its measured facts and its
    findings; the verdict posts back here and the next uninspected page follows."""
    batch = _batch(request, pk)
    if batch is None:
        return _missing(request)
    pages = list(services.sample_pages(batch).order_by("item__reference_code", "number", "pk"))
    if request.method == "POST":
        page_id = whole_number(request.POST.get("page_id"))
        page = next((p for p in pages if p.pk == page_id), None)
        if page is None:
            messages.error(request, gettext("该页不在本批次的抽检样本中。"))
            return redirect("web:digitization_inspect", pk=batch.pk)
        try:
            services.inspect_page(
                page,
                user=request.user,  # type: ignore[arg-type]
                result=request.POST.get("result", ""),
                note=request.POST.get("note", ""),
            )
        except services.DigitizationError as e:
            messages.error(request, e.message_en if english() else e.message_zh)
            index = pages.index(page) + 1
            return redirect(reverse("web:digitization_inspect", args=[batch.pk]) + f"?page={index}")
        pages = [p if p.pk != page.pk else page for p in pages]
        left = [i for i, p in enumerate(pages, 1) if not p.inspection]
        if not left:
            messages.success(request, gettext("抽检已完成，可以验收或退回。"))
            return redirect("web:digitization_batch", pk=batch.pk)
        return redirect(reverse("web:digitization_inspect", args=[batch.pk]) + f"?page={left[0]}")
    if not pages:
        return render(request, "web/digitization_inspect.html", {"batch": batch, "current": None})
    number = whole_number(request.GET.get("page"))
    if number is None:
        undone = [i for i, p in enumerate(pages, 1) if not p.inspection]
        number = undone[0] if undone else 1
    number = min(max(number, 1), len(pages))
    current = pages[number - 1]
    return render(
        request,
        "web/digitization_inspect.html",
        {
            "batch": batch,
            "current": current,
            "number": number,
            "total": len(pages),
            "facts": _page_facts(current),
            "findings": [_finding_row(f, english()) for f in current.findings.order_by("id")],
            "done": sum(1 for p in pages if p.inspection),
            "pages": [
                {
                    "n": i,
                    "page": p,
                    "label": _label(INSPECTION_LABELS, p.inspection),
                }
                for i, p in enumerate(pages, 1)
            ],
            "open": batch.status == "checked",
            "inspection_label": _label(INSPECTION_LABELS, current.inspection),
        },
    )


def _decide(request: HttpRequest, pk: int, action: Any) -> HttpResponse:
    batch = _batch(request, pk)
    if batch is None:
        return _missing(request)
    try:
        message = action(batch)
    except services.DigitizationError as e:
        messages.error(request, e.message_en if english() else e.message_zh)
    else:
        messages.success(request, message)
    return redirect("web:digitization_batch", pk=batch.pk)


@require_POST
@permission_required(DIGITIZE_MANAGE)
def batch_accept(request: HttpRequest, pk: int) -> HttpResponse:
    def act(batch: Batch) -> str:
        n = services.accept_batch(batch, user=request.user, reason=request.POST.get("reason", ""))  # type: ignore[arg-type]
        return gettext("已验收，%(n)d 个页面已挂接到档案，正在进行文字识别（OCR）。") % {"n": n}

    return _decide(request, pk, act)


@require_POST
@permission_required(DIGITIZE_MANAGE)
def batch_return(request: HttpRequest, pk: int) -> HttpResponse:
    def act(batch: Batch) -> str:
        services.return_batch(batch, user=request.user, reason=request.POST.get("reason", ""))  # type: ignore[arg-type]
        return gettext("已退回，数字化服务商可看到退回理由，整改后重新检测。")

    return _decide(request, pk, act)


@require_POST
@digitization_access
def batch_recheck(request: HttpRequest, pk: int) -> HttpResponse:
    def act(batch: Batch) -> str:
        services.recheck_batch(batch, user=request.user)  # type: ignore[arg-type]
        _queue_check(request, batch)
        return gettext("已重新提交检测。")

    return _decide(request, pk, act)
