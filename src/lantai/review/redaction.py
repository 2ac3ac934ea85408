"""信息级开放: the redacted OPEN COPY of a record. The passages reviewers marked are really removed
— painted black INTO the pixels of every page image and left out of the text layer, never laid
over as an annotation — and the result is checked by extracting its text with pdftotext. The
closed master (the stored files, the OCR, the catalogue) is only read, never changed.

Withheld text is shown as MARK ("■■■"), whatever its length: how many characters a name or a
number had is itself information, and a reader needs only to know that something was withheld
there. Line breaks inside a passage are kept, so the layout of the text survives. (Page images
keep the length of what was painted: the box must cover the glyphs.)

Born-digital PDFs are rebuilt from 150 dpi page images with a text layer from pdftotext's word
boxes, also where nothing is marked: the open copy carries none of the original's hidden parts
(metadata, attachments, scripts, covered or invisible text)."""

from __future__ import annotations

import bisect
import html
import io
import re
import shutil
import statistics
import subprocess
import tempfile
import unicodedata
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
from django.conf import settings
from lxml import etree
from PIL import Image, ImageDraw

from lantai.catalog.models import Component, Record
from lantai.digitization import ocr, ocr_outputs, page_images, reading
from lantai.digitization.models import Page
from lantai.review.texts import Section
from lantai.search.text import detect_kind

MARK = "■■■"
MIN_CHECKED = 2  # a removed text shorter than this (one character) occurs anywhere: not searched
RASTER_DPI = 150
TOOL_TIMEOUT = 120  # seconds for one poppler call
RASTER_CHUNK = 8  # pages rendered by one pdftoppm call
_NARROW = 0.55  # advance of a digit or Latin letter as a share of a full-width character
_SPACE = 0.35
_INK = 160  # a column brighter than this all along the box is a gap between glyphs
Span = tuple[int, int]


@dataclass(frozen=True)
class Passage:
    section: str  # a Section key
    start: int  # character offsets into that section's text, end exclusive
    end: int


@dataclass
class OpenCopy:
    pdf: bytes
    text: str  # every section's text, passages withheld, sections separated by an empty line
    fields: dict[str, str] = field(default_factory=dict)  # redacted fields that had passages
    evidence: dict[str, Any] = field(default_factory=dict)  # verify_open_copy's result


class RedactionError(Exception):
    def __init__(self, message_zh: str, message_en: str) -> None:
        super().__init__(f"{message_zh} — {message_en}")
        self.message_zh = message_zh
        self.message_en = message_en


# --- passages -------------------------------------------------------------------------------------
def _spans(sections: Sequence[Section], passages: Sequence[Passage]) -> dict[str, list[Span]]:
    """Passages per section key, checked against the section's text, overlaps merged."""
    texts = {s.key: s.text for s in sections}
    raw: dict[str, list[Span]] = {}
    for p in passages:
        if p.section not in texts:
            raise RedactionError(
                f"标注的段落“{p.section}”不在该档案的文本中",
                f"the marked passage's section {p.section!r} is not part of the record",
            )
        size = len(texts[p.section])
        if not 0 <= p.start < p.end <= size:
            raise RedactionError(
                f"“{p.section}”中标注的段落 {p.start}–{p.end} 超出文本范围（共 {size} 字）",
                f"passage {p.start}-{p.end} in {p.section!r} is outside its text ({size} chars)",
            )
        raw.setdefault(p.section, []).append((p.start, p.end))
    return {key: _merge(spans) for key, spans in raw.items()}


def _merge(spans: Iterable[Span]) -> list[Span]:
    """Overlapping and touching spans as one."""
    out: list[Span] = []
    for a, b in sorted(spans):
        if out and a <= out[-1][1]:
            out[-1] = (out[-1][0], max(b, out[-1][1]))
        else:
            out.append((a, b))
    return out


def redact_text(text: str, spans: Sequence[Span]) -> str:
    """`text` with each span withheld: MARK per line of the span (line breaks kept)."""
    out, at = [], 0
    for a, b in spans:
        pieces = text[a:b].split("\n")
        out += [text[at:a], "\n".join(MARK if p.strip() else p for p in pieces)]
        at = b
    return "".join([*out, text[at:]])


def _flat(text: str) -> str:
    return "".join(unicodedata.normalize("NFKC", text).split())


def _clip(spans: Sequence[Span], lo: int, hi: int) -> list[Span]:
    return [(max(a, lo) - lo, min(b, hi) - lo) for a, b in spans if a < hi and b > lo]


# --- where the characters are on the image --------------------------------------------------------
@dataclass(frozen=True)
class _Box:
    x0: float
    y0: float
    x1: float
    y1: float
    vertical: bool
    reach: float  # how far an edge may move outward to reach a gap between glyphs


def _advance(ch: str) -> float:
    if ch.isspace():
        return _SPACE
    return 1.0 if unicodedata.east_asian_width(ch) in "WF" else _NARROW


def _is_vertical(text: str, box: Sequence[float]) -> bool:
    return (box[3] - box[1]) >= 1.5 * (box[2] - box[0]) and len(text) > 1


def _wide_ratio(items: Sequence[tuple[str, Sequence[float]]]) -> float | None:
    """Advance of a full-width character per unit of line thickness, from the lines (words) of
    the page made only of full-width characters: calibrates where digits sit in a mixed line."""
    found = []
    for text, box in items:
        if len(text) >= 2 and all(_advance(c) == 1.0 for c in text):
            w, h = box[2] - box[0], box[3] - box[1]
            length, thick = (h, w) if _is_vertical(text, box) else (w, h)
            if thick > 0:
                found.append(length / len(text) / thick)
    return statistics.median(found) if found else None


def _char_box(text: str, box: Sequence[float], a: int, b: int, ratio: float | None) -> _Box:
    """The box of characters a..b of a line (or word) in `box`: the line split by character
    advances (narrow ones scaled to fit where the page tells the width of a full-width one),
    then widened a little so that an error of estimate leaves no stroke uncovered."""
    x0, y0, x1, y1 = box
    vertical = _is_vertical(text, box)
    length, thick = (y1 - y0, x1 - x0) if vertical else (x1 - x0, y1 - y0)
    adv = [_advance(c) for c in text]
    wide = sum(1 for v in adv if v == 1.0)
    narrow = sum(v for v in adv if v != 1.0)
    if ratio and wide and narrow and thick > 0:
        scale = (length / (ratio * thick) - wide) / narrow
        if 0.4 <= scale <= 1.8:
            adv = [v if v == 1.0 else v * scale for v in adv]
    unit = length / (sum(adv) or 1.0)
    start, end = sum(adv[:a]) * unit, sum(adv[:b]) * unit
    pad, side = 0.15 * thick, 0.08 * thick
    if vertical:
        return _Box(x0 - side, y0 + start - pad, x1 + side, y0 + end + pad, True, 0.5 * thick)
    return _Box(x0 + start - pad, y0 - side, x0 + end + pad, y1 + side, False, 0.5 * thick)


def _snap(gray: np.ndarray[Any, Any], box: _Box) -> tuple[int, int, int, int]:
    """The box in whole pixels, its two ends moved outward to the nearest blank gap (within
    `reach`): a box never ends in the middle of a glyph."""
    height, width = gray.shape
    x0, y0 = max(0, int(box.x0)), max(0, int(box.y0))
    x1, y1 = min(width, int(np.ceil(box.x1))), min(height, int(np.ceil(box.y1)))
    if x0 >= x1 or y0 >= y1:
        return x0, y0, x0, y0
    band = gray[y0:y1, :] if not box.vertical else gray[:, x0:x1].T
    blank = band.min(axis=0) > _INK  # along the direction of the text
    lo, hi = (y0, y1) if box.vertical else (x0, x1)
    reach = int(box.reach) + 1
    floor, ceiling = max(0, lo - reach), min(len(blank), hi + reach)
    while lo > floor and not blank[lo]:
        lo -= 1
    while hi < ceiling and not blank[hi - 1]:
        hi += 1
    return (x0, lo, x1, hi) if box.vertical else (lo, y0, hi, y1)


def _paint(image: Image.Image, boxes: Sequence[_Box]) -> Image.Image:
    """A copy of `image` with the boxes black in its pixels."""
    painted = image.copy() if image.mode in ("1", "L", "RGB") else image.convert("RGB")
    # the scanner's JPEG, which the searchable PDF would embed as it is, shows the whole page
    painted.info.pop(page_images.JPEG_SOURCE, None)
    gray = np.asarray(painted.convert("L"))
    draw = ImageDraw.Draw(painted)
    for box in boxes:
        x0, y0, x1, y1 = _snap(gray, box)
        if x1 > x0 and y1 > y0:
            draw.rectangle((x0, y0, x1 - 1, y1 - 1), fill="black")
    return painted


# --- page images ----------------------------------------------------------------------------------
def _section_id(key: str) -> int:
    try:
        return int(key.partition(":")[2])
    except ValueError:
        raise RedactionError(f"段落标识“{key}”无效", f"invalid section key {key!r}") from None


def _page_pdf(record: Record, section: Section, spans: Sequence[Span]) -> bytes:
    page = Page.objects.filter(
        pk=_section_id(section.key), item__record=record, component__isnull=False
    ).first()
    if page is None:
        raise RedactionError(
            f"“{section.label}”不是该档案的页面", f"{section.label!r} is not a page of the record"
        )
    if reading.page_text(page) != section.text:
        raise RedactionError(
            f"“{section.label}”的文字在审核后已被校对更改，请重新标注",
            f"the text of {section.label!r} was corrected after review: mark it again",
        )
    shown = [ln for ln in reading.lines(page) if ln.text]
    ratio = _wide_ratio([(ln.text, ln.box) for ln in shown if ln.box is not None])
    kept, boxes, offset = [], [], 0
    for ln in shown:
        local = _clip(spans, offset, offset + len(ln.text))
        offset += len(ln.text) + 1
        if local and ln.box is None:
            raise RedactionError(
                f"“{section.label}”第 {ln.index + 1} 行是人工补录的文字，图像上没有它的位置，"
                "无法从图像中去除",
                f"line {ln.index + 1} of {section.label!r} was typed by a person and has no "
                "position on the image: it cannot be removed from the pixels",
            )
        if local:
            assert ln.box is not None
            boxes += [_char_box(ln.text, ln.box, a, b, ratio) for a, b in local]
            ln = replace(ln, text=redact_text(ln.text, local))
        kept.append(ln)
    frame = reading.page_image(page)
    image = _paint(frame.image, boxes) if boxes else frame.image
    layer = reading.pdf_lines(kept, image.width, image.height)
    dpi = min(frame.dpi) if frame.dpi else (page.dpi or 300.0)
    try:
        return ocr_outputs.searchable_pdf(
            [(image, ocr.OcrPage(layer, image.width, image.height, 0.0, page.ocr_engine), dpi)]
        )
    finally:
        frame.image.close()
        image.close()


# --- born-digital PDFs ----------------------------------------------------------------------------
Word = tuple[str, tuple[float, float, float, float]]


def _poppler(*args: str) -> bytes:
    exe = shutil.which(args[0])
    if exe is None:
        raise RedactionError(f"找不到 {args[0]}（poppler-utils）", f"{args[0]} not found")
    try:
        done = subprocess.run([exe, *args[1:]], capture_output=True, timeout=TOOL_TIMEOUT,
                              check=False, stdin=subprocess.DEVNULL)  # fmt: skip
    except subprocess.TimeoutExpired:
        raise RedactionError(f"{args[0]} 超时", f"{args[0]} timed out") from None
    if done.returncode != 0:
        message = done.stderr.decode("utf-8", "replace")[:300]
        raise RedactionError(f"{args[0]} 失败：{message}", f"{args[0]} failed: {message}")
    return done.stdout


def _bbox_pages(path: Path) -> list[tuple[float, float, list[Word]]]:
    """Each page's size (points) and words with their boxes, in pdftotext's reading order."""
    xml = _poppler("pdftotext", "-q", "-bbox-layout", "-enc", "UTF-8", str(path), "-")
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    root = etree.fromstring(xml, parser)
    pages = []
    for page in root.iter("{*}page"):
        words: list[Word] = [
            (w.text or "", tuple(float(w.get(k)) for k in ("xMin", "yMin", "xMax", "yMax")))  # type: ignore[misc]
            for w in page.iter("{*}word")
        ]
        pages.append((float(page.get("width")), float(page.get("height")), words))
    return pages


def _occurrences(text: str, needle: str) -> list[int]:
    return [m.start() for m in re.finditer(f"(?={re.escape(needle)})", text)]


def _word_spans(
    section: Section, spans: Sequence[Span], pages: list[tuple[float, float, list[Word]]]
) -> dict[tuple[int, int], list[Span]]:
    """The passages as character ranges of words: the section's text and the words agree
    character for character (whitespace aside); where they do not, a passage is placed only if
    it occurs as often in both (the k-th in the text is the k-th in the words), else refused."""
    where: list[tuple[int, int, int]] = []  # (page, word, character) of each stream character
    letters: list[str] = []
    for i, (_, _, words) in enumerate(pages):
        for j, (text, _) in enumerate(words):
            for k, c in enumerate(text):
                if not c.isspace():
                    where.append((i, j, k))
                    letters.append(c)
    stream = "".join(letters)
    index = [p for p, c in enumerate(section.text) if not c.isspace()]
    mine = "".join(section.text[p] for p in index)
    aligned = stream.startswith(mine)
    chars: dict[tuple[int, int], list[int]] = {}
    for a, b in spans:
        lo, hi = bisect.bisect_left(index, a), bisect.bisect_left(index, b)
        if lo == hi:
            continue  # only blanks: nothing to paint
        at = lo
        if not aligned:
            here, there = _occurrences(mine, mine[lo:hi]), _occurrences(stream, mine[lo:hi])
            if len(here) != len(there):
                raise RedactionError(
                    f"无法在“{section.label}”的版面中可靠定位标注的段落 {a}–{b}，未生成开放件",
                    f"passage {a}-{b} of {section.label!r} cannot be placed reliably on the "
                    "PDF's pages: no open copy made",
                )
            at = there[here.index(lo)]
        for i, j, k in where[at : at + hi - lo]:
            chars.setdefault((i, j), []).append(k)
    return {key: _merge((k, k + 1) for k in ks) for key, ks in chars.items()}


def _rasters(path: Path, count: int) -> Iterator[Image.Image]:
    """The PDF's pages as RGB images at RASTER_DPI, rendered by pdftoppm a chunk at a time (one
    call per page would load the CJK fonts again for every page)."""
    for first in range(1, count + 1, RASTER_CHUNK):
        last = min(count, first + RASTER_CHUNK - 1)
        with tempfile.TemporaryDirectory(prefix="lantai-redact-") as tmp:
            _poppler("pdftoppm", "-q", "-f", str(first), "-l", str(last), "-r", str(RASTER_DPI),
                     str(path), f"{tmp}/p")  # fmt: skip
            made = sorted(Path(tmp).glob("p-*.ppm"), key=lambda f: int(f.stem.rpartition("-")[2]))
            if len(made) != last - first + 1:
                raise RedactionError("PDF 页面栅格化不完整", "pdftoppm rendered too few pages")
            for file in made:
                with page_images.bomb_limit(), Image.open(file) as opened:
                    yield opened.convert("RGB")


def _component_pdf(record: Record, section: Section, spans: Sequence[Span]) -> bytes:
    path = _component_path(record, section)
    assert path is not None
    pages = _bbox_pages(path)
    marks = _word_spans(section, spans, pages)
    parts = []
    for i, ((pw, ph, words), image) in enumerate(
        zip(pages, _rasters(path, len(pages)), strict=True)
    ):
        if (image.width > image.height) != (pw > ph):  # /Rotate 90 or 270: words are turned
            pw, ph = ph, pw
        sx, sy = image.width / pw, image.height / ph
        placed = [(t, (b[0] * sx, b[1] * sy, b[2] * sx, b[3] * sy)) for t, b in words]
        ratio = _wide_ratio(placed)
        boxes, layer = [], []
        for j, (text, box) in enumerate(placed):
            ranges = marks.get((i, j), [])
            boxes += [_char_box(text, box, a, b, ratio) for a, b in ranges]
            pixels = (int(box[0]), int(box[1]), int(np.ceil(box[2])), int(np.ceil(box[3])))
            layer.append(ocr.OcrLine(redact_text(text, ranges), pixels, 1.0))
        if boxes:
            image = _paint(image, boxes)
        page = ocr.OcrPage(layer, image.width, image.height, 0.0, "pdftotext")
        parts.append(ocr_outputs.searchable_pdf([(image, page, float(RASTER_DPI))]))
        image.close()
    return _join(parts)


def _component_path(record: Record, section: Section) -> Path | None:
    """The stored file of a component section (None: not stored here, e.g. only its text)."""
    component = Component.objects.filter(pk=_section_id(section.key), record=record).first()
    if component is None:
        raise RedactionError(
            f"“{section.label}”不是该档案的电子文件",
            f"{section.label!r} is not a file of the record",
        )
    root = Path(settings.MEDIA_ROOT).resolve()
    path = (root / component.path).resolve()
    return path if path.is_relative_to(root) and path.is_file() else None


# --- text pages, the whole copy, verification -----------------------------------------------------
def _text_pdf(items: Sequence[tuple[str, str]]) -> bytes:
    import weasyprint
    from PIL import ImageFile

    ImageFile.LOAD_TRUNCATED_IMAGES = False  # weasyprint's import turns it on process-wide

    def refuse(url: str, *args: Any, **kwargs: Any) -> dict[str, Any]:
        raise ValueError(f"the open copy loads no resource: {url}")

    body = "".join(
        f"<h2>{html.escape(label)}</h2><div>{html.escape(text)}</div>" for label, text in items
    )
    document = f"""<!doctype html><html lang="zh"><head><meta charset="utf-8"><style>
@page {{ size: A4; margin: 20mm }}
body {{ font-family: "Noto Serif CJK SC", "Noto Sans CJK SC", serif; font-size: 11pt }}
h2 {{ font-family: "Noto Sans CJK SC", sans-serif; font-size: 12pt; margin: 12pt 0 4pt }}
div {{ white-space: pre-wrap; overflow-wrap: anywhere; line-height: 1.6 }}
</style></head><body>{body}</body></html>"""
    pdf: bytes = weasyprint.HTML(string=document, url_fetcher=refuse).write_pdf()
    return pdf


def _join(parts: Sequence[bytes]) -> bytes:
    import pikepdf

    out = pikepdf.new()
    sources = [pikepdf.open(io.BytesIO(part)) for part in parts]
    for source in sources:
        out.pages.extend(source.pages)
    buf = io.BytesIO()
    out.save(buf)
    for source in sources:
        source.close()
    return buf.getvalue()


@cache
def _pdftotext_version() -> str:
    exe = shutil.which("pdftotext")
    if exe is None:
        return "pdftotext (missing)"
    done = subprocess.run([exe, "-v"], capture_output=True, timeout=30, check=False)
    return (done.stderr or done.stdout).decode("utf-8", "replace").splitlines()[0].strip()


def verify_open_copy(
    pdf: bytes, removed_texts: Sequence[str], *, expect_text: bool = True
) -> dict[str, Any]:
    """Extract the text of `pdf` with pdftotext and search it for every removed text, as it is
    and with whitespace and line breaks taken out (NFKC-folded). `ok` is False when one is
    found, or when no text at all came out although `expect_text`. The evidence names a found
    text by its index into `removed_texts`, never by its content: it goes to the audit log, which
    must not become a second copy of what was withheld."""
    import pikepdf

    evidence: dict[str, Any] = {"tool": _pdftotext_version(), "pages": 0, "characters": 0}
    with tempfile.NamedTemporaryFile(suffix=".pdf") as f:
        f.write(pdf)
        f.flush()
        try:
            with pikepdf.open(f.name) as opened:
                evidence["pages"] = len(opened.pages)
            extracted = _poppler("pdftotext", "-q", "-enc", "UTF-8", f.name, "-").decode("utf-8")
        except (pikepdf.PdfError, RedactionError) as e:
            return {**evidence, "ok": False, "searched": 0, "found": [],
                    "reason_zh": f"无法读取开放件的文本：{e}",
                    "reason_en": f"cannot extract the open copy's text: {e}"}  # fmt: skip
    flat = _flat(extracted)
    found, searched = [], 0
    for i, removed in enumerate(removed_texts):
        needle = _flat(removed)
        if len(needle) < MIN_CHECKED:
            continue
        searched += 1
        if needle in flat:
            found.append({"index": i, "length": len(removed)})
    evidence.update(characters=len(flat), searched=searched, found=found)
    evidence["ok"] = not found and bool(flat or not expect_text)
    if found:
        evidence["reason_zh"] = f"开放件中仍能提取出 {len(found)} 处应去除的文字"
        evidence["reason_en"] = f"{len(found)} removed text(s) can still be extracted"
    elif not evidence["ok"]:
        evidence["reason_zh"] = "开放件中提取不到任何文字"
        evidence["reason_en"] = "no text at all could be extracted from the open copy"
    return evidence


def _removed(
    sections: Sequence[Section], spans: dict[str, list[Span]]
) -> list[tuple[str, Section]]:
    """The texts withheld, each with its section (a passage over a line break also line by line)."""
    removed: list[tuple[str, Section]] = []
    for s in sections:
        for a, b in spans.get(s.key, []):
            pieces = s.text[a:b].split("\n")
            removed += [(t, s) for t in [s.text[a:b], *(pieces if len(pieces) > 1 else [])]]
    return removed


def check_passages(
    sections: Sequence[Section], passages: Sequence[Passage]
) -> dict[str, list[Span]]:
    """The passages as spans per section; RedactionError for a passage out of place and for a
    withheld text that also occurs unmarked elsewhere (it would survive the redaction). Cheap:
    the review calls it when a decision is taken, long before the copy is made."""
    spans = _spans(sections, passages)
    flats = {s.key: _flat(redact_text(s.text, spans.get(s.key, []))) for s in sections}
    for text, origin in _removed(sections, spans):
        needle = _flat(text)
        for s in sections:
            if len(needle) >= MIN_CHECKED and needle in flats[s.key]:
                raise RedactionError(
                    f"“{origin.label}”中去除的“{text}”在“{s.label}”中仍未标注，请一并标注",
                    f"text removed from {origin.label!r} also occurs unmarked in {s.label!r}",
                )
    return spans


def make_open_copy(
    record: Record, sections: Sequence[Section], passages: Sequence[Passage]
) -> OpenCopy:
    """The redacted open copy of `record` from its `sections` with `passages` withheld; checked
    by `verify_open_copy` before it is returned (RedactionError when any withheld text survives)."""
    spans = check_passages(sections, passages)
    redacted = {s.key: redact_text(s.text, spans.get(s.key, [])) for s in sections}
    removed = _removed(sections, spans)
    parts: list[bytes] = []
    pending: list[tuple[str, str]] = []
    for s in sections:
        path = _component_path(record, s) if s.key.startswith("component:") else None
        if s.key.startswith("page:") or (path and detect_kind(path, path.name) == "pdf"):
            if pending:
                parts.append(_text_pdf(pending))
                pending = []
            make = _page_pdf if s.key.startswith("page:") else _component_pdf
            parts.append(make(record, s, spans.get(s.key, [])))
        else:
            pending.append((s.label, redacted[s.key]))
    if pending:
        parts.append(_text_pdf(pending))
    if not parts:
        raise RedactionError("该档案没有可开放的内容", "the record has nothing to open")
    pdf = _join(parts)
    open_text = "\n\n".join(t for t in redacted.values() if t)
    expect = bool(_flat(open_text.replace(MARK, "")))
    evidence = verify_open_copy(pdf, [t for t, _ in removed], expect_text=expect)
    if not evidence["ok"]:
        where = "、".join(dict.fromkeys(removed[f["index"]][1].label for f in evidence["found"]))
        raise RedactionError(
            f"开放件核验未通过（{where or '全部'}）：{evidence['reason_zh']}",
            f"the open copy failed verification ({where or 'all'}): {evidence['reason_en']}",
        )
    fields = {
        s.key.partition(":")[2]: redacted[s.key]
        for s in sections
        if s.key.startswith("field:") and s.key in spans
    }
    return OpenCopy(pdf=pdf, text=open_text, fields=fields, evidence=evidence)
