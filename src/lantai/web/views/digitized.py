"""The digitized holdings of a record in the staff UI: page images (scaled, cached, never the
stored path), the page viewer with search hits drawn on the image, the searchable PDF, OCR
correction, and recordings with their time-coded segments. Scanning batches are in
`lantai.web.views.digitization`, which also decides who may see a page (`visible_page`)."""

from __future__ import annotations

import io
import os
import secrets
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import content_disposition_header, urlencode
from django.utils.translation import gettext
from django.views.decorators.http import require_POST

from lantai.catalog.models import Record
from lantai.catalog.services import visible_record
from lantai.core.roles import DIGITIZE, DIGITIZE_MANAGE, EDIT, VIEW
from lantai.digitization import reading, recordings, services
from lantai.digitization.models import Page, Recording
from lantai.jobs import START_COMMAND
from lantai.web.labels import english
from lantai.web.ranged_files import ranged_file_response
from lantai.web.views.common import not_found, permission_required, whole_number
from lantai.web.views.digitization import (
    IMAGE_WIDTHS,
    LIST_PAGE,
    _batch,
    _missing,
    _user,
    any_permission,
    visible_page,
)
from lantai.web.worker_status import worker_down_while_waiting


# --- page images ----------------------------------------------------------------------------------
def _image_width(text: str | None) -> int:
    wanted = whole_number(text) or 800
    return next((w for w in IMAGE_WIDTHS if w >= wanted), IMAGE_WIDTHS[-1])


def _rendered(page: Page, width: int) -> tuple[Path, str]:
    """The page scaled to `width` pixels (never wider than it is), made once and kept among the
    derivatives by the page's SM3, frame and width: PNG for bitonal pages, JPEG otherwise."""
    png = page.mode == "bitonal"
    suffix, mime = (".png", "image/png") if png else (".jpg", "image/jpeg")
    root = Path(settings.DERIVATIVES_DIR) / "page-images" / page.sm3[:2]
    path = root / f"{page.sm3}-{page.frame}-w{width}{suffix}"
    if path.is_file():
        return path, mime
    frame = reading.page_image(page)
    image = frame.image
    try:
        if image.width > width:
            image.thumbnail((width, 10 * width))
        if png:
            image = image.convert("1") if image.mode != "1" else image
        elif image.mode not in ("L", "RGB"):
            image = image.convert("RGB")
        buffer = io.BytesIO()
        image.save(buffer, "PNG" if png else "JPEG", quality=85, optimize=True)
    finally:
        frame.image.close()
    root.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.{secrets.token_hex(4)}.part")
    tmp.write_bytes(buffer.getvalue())
    os.replace(tmp, path)
    return path, mime


@any_permission(VIEW, DIGITIZE, DIGITIZE_MANAGE)
def page_image(request: HttpRequest, pk: int) -> HttpResponse:
    """A page as an image for the browser (?w= width in pixels), never the stored file itself."""
    page = visible_page(request.user, pk)
    if page is None:
        return not_found(request, gettext("页面不存在，或您无权查阅。"))
    try:
        path, mime = _rendered(page, _image_width(request.GET.get("w")))
    except Exception:  # an unreadable stored page: say so, never a 500
        return not_found(request, gettext("该页面的图像无法读取。"))
    response = ranged_file_response(request, path, mime)
    response["Cache-Control"] = "private, max-age=86400"
    return response  # type: ignore[return-value]  # a file or a range of it


# --- the page viewer of a record ------------------------------------------------------------------
def _boxes(box: Any) -> str:
    """data-box for digitization.js; "" for a line a person added (it has no box)."""
    return ",".join(str(int(v)) for v in box) if box is not None else ""


def _queued(pages: list[Page]) -> dict[str, Any]:
    """Pages waiting for OCR, and whether they wait on a job worker that is not running."""
    queued = sum(1 for p in pages if p.ocr_status == "pending")
    return {
        "queued_pages": queued,
        "ocr_worker_down": bool(queued) and worker_down_while_waiting(),
        "start_command": START_COMMAND,
    }


@permission_required(VIEW)
def record_pages(request: HttpRequest, pk: int) -> HttpResponse:
    """The digitized pages of a record, one at a time (?page=n), with the OCR lines beside the
    image; with ?q= the lines that hold the query are boxed on the image and the viewer opens at
    the first page that has a hit."""
    record = visible_record(_user(request), pk)
    if record is None:
        return not_found(request, gettext("档案不存在，或您无权查阅。"))
    pages = reading.record_pages(record)
    query = request.GET.get("q", "").strip()[:200]
    # lines that hold the query, added lines (no box on the image) included
    hits = {p.pk: reading.hit_lines(p, query) for p in pages} if query else {}
    number = whole_number(request.GET.get("page"))
    if number is None:
        number = next((i for i, p in enumerate(pages, 1) if hits.get(p.pk)), 1)
    current = pages[min(max(number, 1), len(pages)) - 1] if pages else None
    done = current is not None and current.ocr_status == "done"
    lines = reading.lines(current) if current and done else []
    here = hits.get(current.pk, []) if current else []
    marked = {line.index for line in here}
    boxes = dict.fromkeys(line.box for line in here if line.box is not None)
    user: Any = request.user
    return render(
        request,
        "web/digitization_viewer.html",
        {
            "record": record,
            "pages": [
                {"n": i, "page": p, "hits": len(hits.get(p.pk, []))} for i, p in enumerate(pages, 1)
            ],
            "current": current,
            "number": number if current else 0,
            "total": len(pages),
            "query": query,
            "hit_pages": sum(1 for v in hits.values() if v),
            "boxes": [_boxes(b) for b in boxes],
            "lines": [
                {"line": line, "hit": line.index in marked, "box": _boxes(line.box)}
                for line in lines
            ],
            # a page read as no lines (handwriting) is corrected by typing its lines in
            "can_correct": user.has_perm_code(DIGITIZE_MANAGE) and done,
            "qs": urlencode({"q": query}) if query else "",
            **_queued(pages),
        },
    )


@permission_required(VIEW)
def record_pdf(request: HttpRequest, pk: int) -> HttpResponse:
    """The record's pages as one searchable PDF (image with its OCR text as an invisible layer)."""
    record = visible_record(_user(request), pk)
    if record is None:
        return not_found(request, gettext("档案不存在，或您无权查阅。"))
    try:
        pdf = reading.searchable_pdf(record)
    except services.DigitizationError:
        return not_found(request, gettext("该档案没有数字化页面。"))
    response = HttpResponse(pdf, content_type="application/pdf")
    name = f"{record.reference_code}.pdf"
    response["Content-Disposition"] = content_disposition_header(True, name) or "attachment"
    return response


# --- OCR correction -------------------------------------------------------------------------------
def _apply(request: HttpRequest, page: Page) -> tuple[str, int | None]:
    """One POST of the correction screen (action = save | confirm | finish | add): the message
    to show and the line to return to. Raises DigitizationError."""
    action = request.POST.get("action", "save")
    user: Any = request.user
    text = request.POST.get("text", "")
    if action == "add":
        made = reading.add_line(page, text, user=user)
        return gettext("已添加第 %(n)d 行。") % {"n": made.line + 1}, made.line
    if action == "finish":
        n = reading.confirm_page(page, user=user)
        if n:
            return gettext("已确认其余 %(n)d 行无误，本页校对完成。") % {"n": n}, None
        return gettext("本页没有待确认的行，校对完成。"), None
    index = whole_number(request.POST.get("line"))
    index = -1 if index is None else index
    current = next((ln for ln in reading.lines(page) if ln.index == index), None)
    # 确认无误 confirms what is in the box: text edited before pressing it is saved as corrected
    if action == "confirm" and (current is None or text.strip() == current.text):
        reading.confirm_line(page, index, user=user)
        return gettext("已确认第 %(n)d 行无误。") % {"n": index + 1}, index
    reading.correct_line(page, index, text, user=user)
    return gettext("已保存第 %(n)d 行的更正。") % {"n": index + 1}, index


@permission_required(DIGITIZE_MANAGE)
def page_correct(request: HttpRequest, pk: int) -> HttpResponse:
    """The image beside its OCR text line by line; a line edited and saved becomes a correction
    (the original OCR and every earlier correction stay, with who and when); a low-confidence
    line read right is confirmed as it is; lines OCR missed are added at the end. The page stays
    待校对 until no low-confidence line is left unreviewed."""
    page = visible_page(request.user, pk)
    if page is None:
        return not_found(request, gettext("页面不存在，或您无权查阅。"))
    done = page.ocr_status == "done"
    shown = reading.lines(page) if done else []
    errors: dict[int, str] = {}
    add_error = ""
    if request.method == "POST":
        try:
            message, line = _apply(request, page)
        except services.DigitizationError as e:
            text = e.message_en if english() else e.message_zh
            index = whole_number(request.POST.get("line"))
            if request.POST.get("action") == "add":
                add_error = text
            elif index is not None and any(ln.index == index for ln in shown):
                errors[index] = text
            else:
                messages.error(request, text)
        else:
            messages.success(request, message)
            anchor = f"#line-{line}" if line is not None else ""
            return redirect(reverse("web:digitization_correct", args=[page.pk]) + anchor)
    shown = reading.lines(page) if done else []
    status = 400 if errors or add_error else 200
    return render(
        request,
        "web/digitization_correct.html",
        {
            "page": page,
            "record": page.item.record,
            "done": done,
            "lines": [
                {"line": line, "box": _boxes(line.box), "error": errors.get(line.index, "")}
                for line in shown
            ],
            "to_review": sum(1 for line in shown if line.needs_review),
            "add_error": add_error,
            "add_text": request.POST.get("text", "") if add_error else "",
            "corrections": reading.corrections(page),
            "status": status,
        },
        status=status,
    )


@permission_required(DIGITIZE_MANAGE)
def batch_corrections(request: HttpRequest, pk: int) -> HttpResponse:
    """The pages of a batch that OCR read with low confidence, to be corrected."""
    batch = _batch(request, pk)
    if batch is None:
        return _missing(request)
    flagged = (
        Page.objects.filter(batch=batch, needs_correction=True)
        .select_related("item")
        .order_by("item__reference_code", "number")
    )
    page = Paginator(flagged, LIST_PAGE).get_page(request.GET.get("page"))
    rows = [
        {"page": p, "to_review": sum(1 for line in reading.lines(p) if line.needs_review)}
        for p in page.object_list
    ]
    return render(
        request,
        "web/digitization_corrections.html",
        {"batch": batch, "page": page, "rows": rows, "ocr": services.ocr_progress(batch)},
    )


# --- recordings -----------------------------------------------------------------------------------
def _visible_recording(request: HttpRequest, pk: int) -> Recording | None:
    recording = Recording.objects.filter(pk=pk, component__isnull=False).first()
    if recording is None or visible_record(_user(request), recording.record_id) is None:
        return None
    return recording


@permission_required(VIEW)
def recording_file(request: HttpRequest, pk: int, which: str) -> HttpResponse:
    """The access copy (with HTTP Range, for seeking), poster frame or waveform of a recording."""
    recording = _visible_recording(request, pk)
    path = recordings.derivative(recording, which) if recording is not None else None
    if recording is None or path is None:
        raise Http404(gettext("录音录像不存在，或尚未生成利用版本。"))
    if which == "copy":
        mime = recording.access_mime or ("video/mp4" if recording.kind == "video" else "audio/mp4")
    else:
        mime = "image/png" if path.suffix.lower() == ".png" else "image/jpeg"
    return ranged_file_response(request, path, mime)  # type: ignore[return-value]


@require_POST
@any_permission(EDIT, DIGITIZE_MANAGE)
def segment_add(request: HttpRequest, pk: int) -> HttpResponse:
    recording = _visible_recording(request, pk)
    if recording is None:
        return not_found(request, gettext("录音录像不存在，或您无权查阅。"))
    try:
        recordings.add_segment(
            recording,
            request.POST.get("start", ""),
            request.POST.get("end", ""),
            request.POST.get("description", ""),
            user=request.user,  # type: ignore[arg-type]
        )
    except services.DigitizationError as e:
        messages.error(request, e.message_en if english() else e.message_zh)
    else:
        messages.success(request, gettext("已添加片段著录。"))
    return redirect(
        reverse("web:record", args=[recording.record_id]) + f"#recording-{recording.pk}"
    )


def recording_rows(recordings_: list[Recording]) -> list[dict[str, Any]]:
    """The record page's recordings with their technical metadata as (label, value) rows."""
    from lantai.digitization import av

    out = []
    for r in recordings_:
        info = r.info or {}
        facts: list[tuple[str, str]] = [
            (gettext("容器格式"), str(info.get("container") or "—")),
        ]
        duration = info.get("duration_seconds")
        if duration:
            facts.append((gettext("时长"), av.timecode(float(duration))))
        if info.get("bit_rate"):
            facts.append((gettext("码率"), f"{int(info['bit_rate']) // 1000} kbit/s"))
        for s in info.get("streams") or []:
            if s.get("type") == "video":
                rate = s.get("frame_rate")
                facts.append(
                    (
                        gettext("视频"),
                        f"{s.get('codec')} {s.get('width')}×{s.get('height')}"
                        + (f" {float(rate):g} fps" if rate else ""),
                    )
                )
            elif s.get("type") == "audio":
                facts.append(
                    (
                        gettext("音频"),
                        f"{s.get('codec')} {s.get('sample_rate') or '—'} Hz "
                        f"{s.get('channels') or '—'} ch",
                    )
                )
        segments = [
            {
                "start": s.start,
                "label": f"{av.timecode(s.start)}–{av.timecode(s.end)}",
                "description": s.description,
            }
            for s in r.segments.all()
        ]
        out.append(
            {
                "recording": r,
                "facts": facts,
                "segments": segments,
                "has_copy": recordings.derivative(r, "copy") is not None,
                "has_poster": recordings.derivative(r, "poster") is not None,
                "has_waveform": recordings.derivative(r, "waveform") is not None,
            }
        )
    return out


def record_section(request: HttpRequest, record: Record) -> dict[str, Any]:
    """What the record page's 数字化页面 and 录音录像 sections show (records.record_detail)."""
    user: Any = request.user
    pages = reading.record_pages(record)
    queued = _queued(pages)
    return {
        "digitized_pages": pages,
        "digitized_queued": queued["queued_pages"],
        "digitized_worker_down": queued["ocr_worker_down"],
        "digitized_start_command": queued["start_command"],
        "recordings": recording_rows(recordings.record_recordings(record)),
        "digitized_query": request.GET.get("q", "").strip()[:200],
        "can_describe": user.has_perm_code(EDIT) or user.has_perm_code(DIGITIZE_MANAGE),
    }
