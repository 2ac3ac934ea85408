"""OCR of attached pages, its derivatives, people's corrections, and what search sees.

`ocr_page` is the job of one page: idempotent by the page's key (SM3 of the stored file and its
frame): a page already read, or the same image read for another page, is not read again. The
result is kept on the page (lines with boxes and confidence) and as derivatives under
DERIVATIVES_DIR/ocr keyed by that SM3 (ALTO XML and plain text). The text of the page's
component goes to the search index through `catalog.components.set_component_text` (the same
path as every other full text), with people's corrections applied."""

from __future__ import annotations

import logging
import os
import queue
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from lantai.catalog import components
from lantai.catalog.models import Record
from lantai.core import audit
from lantai.core.models import User
from lantai.core.roles import DIGITIZE_MANAGE
from lantai.digitization import ocr, ocr_outputs, page_images
from lantai.digitization.models import Correction, Page
from lantai.digitization.services import DigitizationError

log = logging.getLogger(__name__)
# OCR jobs running at once in this process (huey runs jobs in threads): LANTAI_OCR_WORKERS, each
# with an engine of its own (an engine is not thread-safe; its sessions are made once and reused).
_slots = threading.BoundedSemaphore(settings.OCR_WORKERS)
_idle: queue.LifoQueue[ocr.OcrEngine] = queue.LifoQueue()


@contextmanager
def _engine() -> Iterator[ocr.OcrEngine]:
    with _slots:
        try:
            engine = _idle.get_nowait()
        except queue.Empty:
            engine = ocr.OcrEngine(settings.OCR_THREADS, device=settings.OCR_DEVICE)
        try:
            yield engine
        finally:
            _idle.put(engine)


@dataclass(frozen=True)
class Line:
    index: int
    text: str  # corrected where a person corrected it
    box: tuple[int, int, int, int]
    confidence: float
    original: str  # what OCR read
    corrected: bool


def derivative_path(page: Page, suffix: str) -> Path:
    name = f"{page.sm3}-{page.frame}{suffix}"
    return Path(settings.DERIVATIVES_DIR) / "ocr" / page.sm3[:2] / name


def page_image(page: Page) -> page_images.PageImage:
    """The page's image as stored (the frame of a multipage file)."""
    path = Path(settings.MEDIA_ROOT) / page.path
    wanted = page.frame or 1
    for frame in page_images.load_pages(path):
        if frame.frame == wanted:
            return frame
        frame.image.close()
    raise page_images.UnreadableImage(
        f"“{page.source_name}”没有第 {wanted} 帧", f"{page.source_name!r} has no frame {wanted}"
    )


def ocr_page(page_id: int) -> str:
    """Read one page (the job). Returns what was done: done | reused | skipped | failed."""
    page = Page.objects.filter(pk=page_id).first()
    if page is None or page.component_id is None:
        return "skipped"  # not (or no longer) attached
    if page.ocr_status == "done" and page.ocr_key == page.key:
        return "skipped"
    twin = (
        Page.objects.filter(sm3=page.sm3, frame=page.frame, ocr_status="done", ocr_key=page.key)
        .exclude(pk=page.pk)
        .first()
    )
    if twin is not None:
        _store(page, twin.ocr_lines, twin.ocr_engine, twin.ocr_confidence or 0.0, 0.0)
        _refresh_component_text(page.component_id)
        return "reused"
    try:
        frame = page_image(page)
        with _engine() as engine:
            result = engine.read(frame.image)
        frame.image.close()
    except Exception as e:  # a page that cannot be read is recorded, never a stuck job
        log.warning("OCR of page %s (%s) failed: %s", page.pk, page.source_name, e)
        message = getattr(e, "message_zh", "") or f"{type(e).__name__}: {e}"
        Page.objects.filter(pk=page.pk).update(ocr_status="failed", ocr_error=message[:2000])
        return "failed"
    _write_derivatives(page, result)
    lines = [[line.text, list(line.box), round(line.confidence, 4)] for line in result.lines]
    _store(page, lines, result.engine, result.mean_confidence, result.seconds)
    _refresh_component_text(page.component_id)
    return "done"


def _store(page: Page, lines: list[Any], engine: str, confidence: float, seconds: float) -> None:
    page.ocr_lines, page.ocr_engine, page.ocr_confidence = lines, engine[:100], confidence
    page.ocr_seconds, page.ocr_status, page.ocr_key, page.ocr_error = seconds, "done", page.key, ""
    page.needs_correction = bool(lines) and confidence < settings.OCR_LOW_CONFIDENCE
    page.save(
        update_fields=[
            "ocr_lines", "ocr_engine", "ocr_confidence", "ocr_seconds", "ocr_status", "ocr_key",
            "ocr_error", "needs_correction",
        ]
    )  # fmt: skip


def _write_derivatives(page: Page, result: ocr.OcrPage) -> None:
    alto = ocr_outputs.alto_xml(result, image_name=page.source_name, sm3=page.sm3)
    for suffix, data in ((".alto.xml", alto), (".txt", result.text.encode("utf-8"))):
        path = derivative_path(page, suffix)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".part")
        tmp.write_bytes(data)
        os.replace(tmp, path)


# --- the text as people see it ------------------------------------------------------------------
def lines(page: Page) -> list[Line]:
    """The page's OCR lines in reading order with the latest correction of each applied."""
    latest: dict[int, str] = {}
    for line, text in page.corrections.order_by("id").values_list("line", "text"):
        latest[line] = text
    out = []
    for i, (text, box, confidence) in enumerate(page.ocr_lines):
        out.append(Line(i, latest.get(i, text), tuple(box), confidence, text, i in latest))
    return out


def page_text(page: Page) -> str:
    return "\n".join(line.text for line in lines(page) if line.text)


def _refresh_component_text(component_id: int) -> None:
    """The component's searchable text: its pages in order, corrections applied."""
    pages = list(
        Page.objects.filter(component_id=component_id, ocr_status="done").order_by(
            "frame", "number"
        )
    )
    corrected = Correction.objects.filter(page__in=pages).exists()
    text = "\n\n".join(page_text(p) for p in pages)
    components.set_component_text(component_id, text, "corrected" if corrected else "ocr")


def correct_line(page: Page, index: int, text: str, *, user: User | None) -> Correction:
    """A person's correction of one line. The original OCR and every earlier correction stay;
    the corrected text replaces the OCR text in search."""
    if user is not None and not user.has_perm_code(DIGITIZE_MANAGE):
        raise DigitizationError("无权校对识别文本", "You may not correct OCR text")
    if page.ocr_status != "done" or not 0 <= index < len(page.ocr_lines):
        raise DigitizationError(
            f"第 {index + 1} 行不存在（该页共 {len(page.ocr_lines)} 行识别文本）",
            f"Line {index + 1} does not exist (the page has {len(page.ocr_lines)} lines)",
            "line",
        )
    text = text.strip()
    if "\n" in text or len(text) > 2000:
        raise DigitizationError(
            "更正后的一行不能含换行，且不超过 2000 字", "One line, at most 2,000 characters", "text"
        )
    current = lines(page)[index]
    if text == current.text:
        raise DigitizationError("文本未改动", "The text is unchanged", "text")
    with transaction.atomic():
        made = Correction.objects.create(
            page=page, line=index, original=current.text, text=text, user=user
        )
        if page.needs_correction:
            page.needs_correction = False  # a person has worked on the page
            page.save(update_fields=["needs_correction"])
        audit.record(
            "ocr_correct",
            "digitization_page",
            page.pk,
            {"line": index, "from": current.text, "to": text, "at": timezone.now().isoformat()},
        )
        assert page.component_id is not None
        _refresh_component_text(page.component_id)
    return made


def corrections(page: Page) -> list[Correction]:
    return list(page.corrections.select_related("user").order_by("-id"))


# --- hits on the page image ---------------------------------------------------------------------
_FOLD = re.compile(r"\s+")


def highlights(page: Page, query: str) -> list[tuple[int, int, int, int]]:
    """Boxes of the lines that hold a term of `query` (terms: the query's space-separated
    words; a term split over two lines marks both)."""
    terms = [t for t in _FOLD.split(query.strip()) if t and not t.startswith("-")]
    if not terms:
        return []
    found = []
    shown = lines(page)
    for i, line in enumerate(shown):
        here = _FOLD.sub("", line.text)
        after = _FOLD.sub("", shown[i + 1].text) if i + 1 < len(shown) else ""
        for term in terms:
            if term in here:
                found.append(line.box)
                break
            joined = here + after
            at = joined.find(term)
            if 0 <= at < len(here) < at + len(term):  # starts here, ends on the next line
                found.append(line.box)
                found.append(shown[i + 1].box)
                break
    return list(dict.fromkeys(found))


# --- delivery -----------------------------------------------------------------------------------
def record_pages(record: Record) -> list[Page]:
    """The attached pages of a record in page order."""
    return list(
        Page.objects.filter(item__record=record, component__isnull=False)
        .select_related("batch")
        .order_by("number", "frame", "pk")
    )


def searchable_pdf(record: Record) -> bytes:
    """The record's pages as one PDF: each page image with its (corrected) text invisible over
    it, so that the PDF can be searched and its text copied."""
    parts = []
    for page in record_pages(record):
        frame = page_image(page)
        shown = [ocr.OcrLine(line.text, line.box, line.confidence) for line in lines(page)]
        result = ocr.OcrPage(shown, frame.image.width, frame.image.height, 0.0, page.ocr_engine)
        dpi = min(frame.dpi) if frame.dpi else (page.dpi or 300.0)
        parts.append((frame.image, result, dpi))
    if not parts:
        raise DigitizationError("该档案没有数字化页面", "The record has no digitized pages")
    try:
        return ocr_outputs.searchable_pdf(parts)
    finally:
        for image, _, _ in parts:
            image.close()
