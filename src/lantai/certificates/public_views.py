"""证明核验: the public page where anyone checks a certificate.

The page carries everything the browser verifier needs (the signed trust list, every status list,
the pinned root keys) and verifier.js, so once loaded it verifies QR texts with no further request,
even when the server is gone. A PDF or a photo can also be uploaded for a check on the server
(the PDF's own signature and embedded content are only checked there). The signed lists are served
as JSON for verifiers that keep their own copies (`lantai certificate verify --trust-list …`)."""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_GET, require_http_methods

from lantai.core.ratelimit import limited
from lantai.standards import certificate_lists, marriage_profile
from lantai.standards.certificate_payload import Payload

from . import keys, lists, qr, verifying

MAX_UPLOAD_BYTES = 10 * 1024 * 1024
MAX_IMAGE_PIXELS = qr.MAX_IMAGE_PIXELS
MAX_PAGE_POINTS = qr.MAX_PAGE_POINTS
_MULTIPART_SLACK = 64 * 1024  # the form's other fields and the multipart boundaries
LIST_MAX_AGE_S = 300


def _labels() -> dict[str, str]:
    """The words verify-page.js shows, in the page's language."""
    return {
        "valid": _("有效"), "invalid": _("无效"), "number": _("证明编号"),
        "issuer": _("出证机构"), "issued": _("签发时间"), "expires": _("有效期至"),
        "status_age": _("状态列表签发于"), "reason": _("结论代码"),
        "empty": _("请扫描或粘贴证明二维码的内容（以 LTC1: 开头）"),
        "photo_none": _("照片中没有找到证明二维码"),
        "photo_error": _("无法读取这张照片，请换一张清晰的照片，或用下方的上传核验"),
        "minutes_ago": _("{n} 分钟前"), "hours_ago": _("{n} 小时前"),
        "days_ago": _("{n} 天前"), "just_now": _("刚刚"),
        "kind": _("证明类别"), "names": _("当事人（部分隐去）"), "events": _("登记事项"),
        "compare": _("请与纸质证明逐项核对：证明类别、当事人和登记事项须与上面二维码中签名的内容一致，"
                     "不一致的纸质证明已被改动。"),
    }  # fmt: skip


# what a payload's kind codes mean, Chinese and English, as verdict messages are given both
_CERTIFICATE_KINDS = {
    "record": ("婚姻登记记录证明", "certificate of marriage registration records"),
    "none_found": ("无婚姻登记记录证明", "certificate of no marriage registration record"),
}


def _terms() -> dict[str, tuple[str, str]]:
    """Chinese and English names of the certificate kinds and of the event kinds (J, L, CX, BJ,
    BL: the registration kinds' number prefixes in marriage-profile.yaml)."""
    events = {k.prefix: (k.label_zh, k.label_en) for k in marriage_profile.kinds()}
    return {**_CERTIFICATE_KINDS, **events}


def _signed_facts(payload: Payload | None) -> dict[str, Any]:
    """What the QR code signs beyond number and dates, worded for the reader to compare with the
    paper: the certificate kind, the masked names and the events (empty when not decoded)."""
    if payload is None:
        return {}
    terms = _terms()
    unknown = (payload.kind, payload.kind)
    return {
        "kind_terms": terms.get(payload.kind, unknown),
        "names": list(payload.names),
        "events": [
            {"terms": terms.get(e.kind, (e.kind, e.kind)), "date": e.date.isoformat()}
            for e in payload.events
        ],
    }


def _age_text(seconds: float, labels: dict[str, str]) -> str:
    """How long ago, as verify-page.js words it (it keeps the text current in the page)."""
    minutes = int(seconds // 60)
    if minutes < 1:
        return labels["just_now"]
    if minutes < 120:
        return labels["minutes_ago"].replace("{n}", str(minutes))
    hours = minutes // 60
    if hours < 48:
        return labels["hours_ago"].replace("{n}", str(hours))
    return labels["days_ago"].replace("{n}", str(hours // 24))


def _oldest_issued(status_lists: Sequence[dict[str, Any]]) -> datetime | None:
    times = []
    for envelope in status_lists:
        try:
            _format, body = certificate_lists.peek(envelope)
            times.append(certificate_lists.parse_time(body.get("issued"), "issued"))
        except certificate_lists.ListError:
            continue
    return min(times) if times else None


def _lists(now: datetime) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    trust, statuses = lists.current(now)
    return statuses, trust


def _parse_iso(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return certificate_lists.parse_time(value, "time")
    except certificate_lists.ListError:
        return None


def _for_display(result: dict[str, Any], labels: dict[str, str]) -> dict[str, Any]:
    """The upload's result with its ISO times as datetimes (the template's date filter shows
    them in the page's time zone) and the status list's age in words."""
    age = result.get("status_list_age_s")
    return {
        **result,
        "issued_at": _parse_iso(result.get("issued")),
        "expires_at": _parse_iso(result.get("expires")),
        "status_age": _age_text(age, labels) if isinstance(age, int) and age >= 0 else "",
    }


def _render(
    request: HttpRequest, *, result: dict[str, Any] | None = None, status: int = 200
) -> HttpResponse:
    now = timezone.now()
    statuses, trust = _lists(now)
    oldest = _oldest_issued(statuses)
    labels = _labels()
    context = {
        "trust_list": trust,
        "status_lists": statuses,
        "roots": sorted(keys.pinned_roots()),
        "labels": labels,
        "terms": _terms(),
        "time_zone": settings.TIME_ZONE,
        "status_issued": oldest,
        "status_age": "" if oldest is None else _age_text((now - oldest).total_seconds(), labels),
        "result": None if result is None else _for_display(result, labels),
        "max_upload_mb": MAX_UPLOAD_BYTES // (1024 * 1024),
    }
    return render(request, "certificates/verify.html", context, status=status)


def _unreadable(message: str, message_en: str = "nothing to verify was found in the file") -> dict[str, Any]:  # fmt: skip
    return {"valid": False, "reason": "unreadable", "message": message, "message_en": message_en}


def _too_large() -> dict[str, Any]:
    limit = MAX_UPLOAD_BYTES // (1024 * 1024)
    return {"valid": False, "reason": "too_large",
            "message": _("文件超过 %(mb)d MB，请上传更小的 PDF 或照片") % {"mb": limit},
            "message_en": f"the file is larger than {limit} MB"}  # fmt: skip


def _too_many_pixels() -> dict[str, Any]:
    megapixels = MAX_IMAGE_PIXELS // 1_000_000
    return _unreadable(
        _("照片像素过多（超过 %(mp)d 百万像素），请缩小后再上传") % {"mp": megapixels},
        f"the photo has too many pixels (more than {megapixels} megapixels); upload a smaller one",
    )


def _image_problem(data: bytes) -> dict[str, Any] | None:
    """A reason not to decode this image (not one, or too many pixels), checked from its header."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as opened:
            width, height = opened.size
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        # PIL refuses on open what is far beyond its own limit, before we see the size
        return _too_many_pixels()
    except (UnidentifiedImageError, OSError, ValueError):
        return _unreadable(
            _("文件既不是 PDF，也不是可读取的图像（PNG 或 JPEG）"),
            "the file is neither a PDF nor a readable PNG or JPEG image",
        )
    if width * height > MAX_IMAGE_PIXELS:
        return _unreadable(
            _("照片像素过多（%(w)d×%(h)d），请缩小后再上传") % {"w": width, "h": height},
            f"the photo has too many pixels ({width}×{height}); upload a smaller one",
        )
    return None


def _pdf_problem(data: bytes) -> dict[str, Any] | None:
    """A first page too large to render for its QR code (a 200-inch page would take gigabytes at
    150 dpi); a PDF that does not open is left to the verifier, which says so."""
    import pypdfium2

    try:
        document = pypdfium2.PdfDocument(data)
    except pypdfium2.PdfiumError:
        return None
    try:
        if len(document) == 0:
            return None
        page = document[0]
        try:
            width, height = page.get_size()
        finally:
            page.close()
    finally:
        document.close()
    if max(width, height) > MAX_PAGE_POINTS:
        return _unreadable(
            _("PDF 第一页过大（%(w)d×%(h)d 点），不是证明的版式") % {"w": width, "h": height},
            f"the PDF's first page is too large ({width:.0f}×{height:.0f} points) for a certificate",
        )
    return None


def _check_upload(request: HttpRequest) -> dict[str, Any]:
    upload = request.FILES.get("file")
    if upload is None:
        return _unreadable(_("请选择要核验的证明 PDF 或照片"), "choose the PDF or photo to verify")
    if upload.size is None or upload.size > MAX_UPLOAD_BYTES:
        return _too_large()
    data = upload.read()
    pdf = data if data.startswith(b"%PDF-") else None
    problem = _pdf_problem(data) if pdf is not None else _image_problem(data)
    if problem is not None:
        return problem
    now = timezone.now()
    statuses, trust = _lists(now)
    try:
        outcome = verifying.verify(
            pdf=pdf, image=None if pdf is not None else data, trust_list=trust,
            status_lists=statuses, roots=keys.pinned_roots(), now=now,
        )  # fmt: skip
    except (verifying.Unreadable, qr.QrReadError) as e:
        return _unreadable(str(e))
    return {**outcome.as_dict(), **_signed_facts(outcome.verdict.payload)}


@csrf_protect
def _page(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        return _render(request)
    result = _check_upload(request)
    status = {"too_large": 413, "unreadable": 400}.get(result["reason"], 200)
    return _render(request, result=result, status=status)


@csrf_exempt  # checked by _page, after the size check: a too-large body is never read
@require_http_methods(["GET", "POST"])
@limited("search", methods=("POST",))
def verify_page(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        try:
            declared = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            declared = 0
        if declared > MAX_UPLOAD_BYTES + _MULTIPART_SLACK:
            return _render(request, result=_too_large(), status=413)
    return _page(request)


def _list_response(data: Any) -> JsonResponse:
    response = JsonResponse(data, safe=False)
    response["Cache-Control"] = f"public, max-age={LIST_MAX_AGE_S}"
    # signed public data: other sites' verifiers (a bank's intranet page) may fetch it
    response["Access-Control-Allow-Origin"] = "*"
    return response


@require_GET
@limited("content")
def trust_list_json(request: HttpRequest) -> JsonResponse:
    """The newest signed trust list (format lantai-trust-list/1)."""
    trust, _statuses = lists.current()
    return _list_response(trust)


@require_GET
@limited("content")
def status_lists_json(request: HttpRequest) -> JsonResponse:
    """The newest signed status list of every issuing archives (a JSON array)."""
    _trust, statuses = lists.current()
    return _list_response(statuses)
