"""OCR of attached pages, its derivatives, people's corrections, and what search sees.

`ocr_page` is the job of one page: idempotent by the page's key (SM3 of the stored file and its
frame): a page already read, or the same image read for another page, is not read again. The
result is kept on the page (lines with boxes and confidence) and as derivatives under
DERIVATIVES_DIR/ocr keyed by that SM3 (ALTO XML and plain text). The text of the page's
component goes to the search index through `catalog.components.set_component_text` (the same
path as every other full text), with people's corrections applied.

People's work on the text is kept as `Correction` rows (who, when), never by changing the OCR: a
changed line (original → text), a line confirmed as read right (original == text), and a line OCR
missed (index ≥ len(page.ocr_lines), original ""). A page flagged 待校对 stays flagged until
every line read with low confidence has been corrected or confirmed by a person."""

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
from django.db.models import F, Max
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
    box: tuple[int, int, int, int] | None  # None: a line a person added (OCR missed it)
    confidence: float  # 1.0 for an added line
    original: str  # what OCR read ("" for an added line)
    corrected: bool  # the text is not what OCR read
    reviewed: bool = False  # a person corrected, confirmed or added it

    @property
    def added(self) -> bool:
        return self.box is None

    @property
    def low(self) -> bool:
        return self.confidence < settings.OCR_LOW_CONFIDENCE

    @property
    def needs_review(self) -> bool:
        """Read with low confidence and not yet looked at by a person: keeps the page 待校对."""
        return self.low and not self.reviewed


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
    """The page's OCR lines in reading order with the latest correction of each applied, then
    the lines people added (an added line whose text was later emptied is left out)."""
    latest: dict[int, str] = {}
    for line, text in page.corrections.order_by("id").values_list("line", "text"):
        latest[line] = text
    out = []
    for i, (text, box, confidence) in enumerate(page.ocr_lines):
        shown = latest.get(i, text)
        x0, y0, x1, y1 = (int(v) for v in box)
        out.append(
            Line(i, shown, (x0, y0, x1, y1), float(confidence), text, shown != text, i in latest)
        )
    for i in sorted(k for k in latest if k >= len(page.ocr_lines)):
        if latest[i]:
            out.append(Line(i, latest[i], None, 1.0, "", True, True))
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
    # confirmations (text == original) leave the text as OCR read it
    corrected = Correction.objects.filter(page__in=pages).exclude(original=F("text")).exists()
    text = "\n\n".join(page_text(p) for p in pages)
    components.set_component_text(component_id, text, "corrected" if corrected else "ocr")


def _may_correct(user: User | None) -> None:
    if user is not None and not user.has_perm_code(DIGITIZE_MANAGE):
        raise DigitizationError("无权校对识别文本", "You may not correct OCR text")


def _one_line(text: str, *, empty: bool) -> str:
    text = text.strip()
    if "\n" in text or "\r" in text or len(text) > 2000:
        raise DigitizationError(
            "更正后的一行不能含换行，且不超过 2000 字", "One line, at most 2,000 characters", "text"
        )
    if not text and not empty:
        raise DigitizationError("请填写这一行的文字", "Enter the text of the line", "text")
    return text


def _line(page: Page, index: int) -> Line:
    shown = lines(page) if page.ocr_status == "done" else []
    found = next((line for line in shown if line.index == index), None)
    if found is None:
        raise DigitizationError(
            f"第 {index + 1} 行不存在（该页共 {len(shown)} 行识别文本）",
            f"Line {index + 1} does not exist (the page has {len(shown)} lines)",
            "line",
        )
    return found


def _settle(page: Page) -> None:
    """After a person's work on the page: the 待校对 flag goes once no line read with low
    confidence is left unreviewed (it is never raised here: OCR decides that), and search gets
    the text as corrected."""
    if page.needs_correction and not any(line.needs_review for line in lines(page)):
        page.needs_correction = False
        page.save(update_fields=["needs_correction"])
    assert page.component_id is not None
    _refresh_component_text(page.component_id)


def _keep(
    page: Page, index: int, before: str, text: str, user: User | None, action: str
) -> Correction:
    made = Correction.objects.create(page=page, line=index, original=before, text=text, user=user)
    audit.record(
        action,
        "digitization_page",
        page.pk,
        {"line": index, "from": before, "to": text, "at": timezone.now().isoformat()},
    )
    return made


def correct_line(page: Page, index: int, text: str, *, user: User | None) -> Correction:
    """A person's correction of one line (an OCR line or one added by a person). The original
    OCR and every earlier correction stay; the corrected text replaces the OCR text in search."""
    _may_correct(user)
    current = _line(page, index)
    text = _one_line(text, empty=True)
    if text == current.text:
        raise DigitizationError("文本未改动", "The text is unchanged", "text")
    with transaction.atomic():
        made = _keep(page, index, current.text, text, user, "ocr_correct")
        _settle(page)
    return made


def confirm_line(page: Page, index: int, *, user: User | None) -> Correction:
    """A person confirms that a line reads right as it is: kept as a Correction whose text is
    the line's text unchanged (who, when), so that a low-confidence line no longer holds the
    page on 待校对."""
    _may_correct(user)
    current = _line(page, index)
    if current.reviewed:
        raise DigitizationError(
            f"第 {index + 1} 行已经校对过", f"Line {index + 1} has already been reviewed", "line"
        )
    with transaction.atomic():
        made = _keep(page, index, current.text, current.text, user, "ocr_confirm")
        _settle(page)
    return made


def confirm_page(page: Page, *, user: User | None) -> int:
    """校对完成: every low-confidence line not yet reviewed is confirmed as it reads (one
    Correction row each, who and when), and the page leaves 待校对. Returns the lines confirmed."""
    _may_correct(user)
    if page.ocr_status != "done":
        raise DigitizationError("该页尚未识别", "The page has not been read yet")
    with transaction.atomic():
        waiting = [line for line in lines(page) if line.needs_review]
        for line in waiting:
            _keep(page, line.index, line.text, line.text, user, "ocr_confirm")
        _settle(page)
    return len(waiting)


def add_line(page: Page, text: str, *, user: User | None) -> Correction:
    """A line OCR missed (or a page it could not read at all, such as handwriting), typed by a
    person: it follows the OCR lines, has no box on the image, and is searched like them."""
    _may_correct(user)
    if page.ocr_status != "done":
        raise DigitizationError(
            "该页尚未识别，识别完成后才能添加文字", "The page has not been read yet", "text"
        )
    text = _one_line(text, empty=False)
    with transaction.atomic():
        # the page row locked: two people adding at once get lines of their own
        locked = Page.objects.select_for_update().get(pk=page.pk)
        last = locked.corrections.aggregate(last=Max("line"))["last"]
        index = max(len(locked.ocr_lines), -1 if last is None else last + 1)
        made = _keep(page, index, "", text, user, "ocr_add_line")
        _settle(page)
    return made


def corrections(page: Page) -> list[Correction]:
    return list(page.corrections.select_related("user").order_by("-id"))


# --- hits on the page image ---------------------------------------------------------------------
_FOLD = re.compile(r"\s+")


def hit_lines(page: Page, query: str) -> list[Line]:
    """The lines that hold a term of `query` (terms: the query's space-separated words; a term
    split over two lines marks both), added lines included."""
    terms = [t for t in _FOLD.split(query.strip()) if t and not t.startswith("-")]
    if not terms:
        return []
    found: dict[int, Line] = {}
    shown = lines(page)
    for i, line in enumerate(shown):
        here = _FOLD.sub("", line.text)
        after = _FOLD.sub("", shown[i + 1].text) if i + 1 < len(shown) else ""
        for term in terms:
            if term in here:
                found.setdefault(line.index, line)
                break
            joined = here + after
            at = joined.find(term)
            if 0 <= at < len(here) < at + len(term):  # starts here, ends on the next line
                found.setdefault(line.index, line)
                found.setdefault(shown[i + 1].index, shown[i + 1])
                break
    return list(found.values())


def highlights(page: Page, query: str) -> list[tuple[int, int, int, int]]:
    """Boxes on the page image of the lines that hold a term of `query` (an added line has
    none: it is marked in the text only)."""
    boxes = [line.box for line in hit_lines(page, query) if line.box is not None]
    return list(dict.fromkeys(boxes))


# --- delivery -----------------------------------------------------------------------------------
def record_pages(record: Record) -> list[Page]:
    """The attached pages of a record in page order."""
    return list(
        Page.objects.filter(item__record=record, component__isnull=False)
        .select_related("batch")
        .order_by("number", "frame", "pk")
    )


def pdf_lines(shown: list[Line], width: int, height: int) -> list[ocr.OcrLine]:
    """The text layer of a page: OCR lines in their boxes; lines people added (no box) at the
    foot of the page, one under another, so that the PDF's search and copy find them too."""
    out = [ocr.OcrLine(ln.text, ln.box, ln.confidence) for ln in shown if ln.box is not None]
    added = [ln for ln in shown if ln.box is None and ln.text]
    tall = max(8, height // 60)
    for k, ln in enumerate(added):
        bottom = max(tall, height - tall * (len(added) - k))
        out.append(
            ocr.OcrLine(ln.text, (width // 20, bottom - tall, width - width // 20, bottom), 1.0)
        )
    return out


def searchable_pdf(record: Record) -> bytes:
    """The record's pages as one PDF: each page image with its (corrected) text invisible over
    it, so that the PDF can be searched and its text copied."""
    parts = []
    for page in record_pages(record):
        frame = page_image(page)
        shown = pdf_lines(lines(page), frame.image.width, frame.image.height)
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
