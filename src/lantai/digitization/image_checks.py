"""DA/T 31 quality checks of scanned pages: what one page image shows (:func:`analyse`),
near-duplicate search over a batch (:func:`near_duplicates`), and the findings against the check
catalogue (``lantai.standards.dat31``). What one file is: ``lantai.digitization.file_facts``.

No Django here: the digitization services call these functions from jobs and store the findings.

Conventions:
- Skew: ``skew_degrees`` > 0 means the content is turned counter-clockwise as seen on screen (what
  ``PIL.Image.rotate(+a)`` does); ``image.rotate(-skew_degrees)`` straightens it.
- The analysis works on a copy reduced to about ``WORK_LONG_SIDE`` pixels on the long side, so its
  cost does not grow with the scan resolution and its pixel thresholds mean the same at any dpi.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import cv2
import numpy as np
from PIL import Image

from lantai.standards import dat31
from lantai.standards.dat31 import Finding, make_finding

__all__ = [
    "PageFacts",
    "analyse",
    "evaluate_batch_duplicates",
    "evaluate_item",
    "evaluate_page",
    "evaluate_sample",
    "hamming",
    "near_duplicates",
    "phash",
]

WORK_LONG_SIDE = 1200
A4_LONG_INCHES = 297 / 25.4

# Pillow modes → the mode class the file stores
_STORED = {"1": "bitonal", "L": "grey", "LA": "grey", "I": "grey", "I;16": "grey", "F": "grey"}


@dataclass(frozen=True)
class PageFacts:
    """What one page image shows. Numbers are evidence for the findings, kept as measured."""

    width: int
    height: int
    dpi: tuple[float, float] | None  # None: the file records no resolution (itself a finding)
    pillow_mode: str  # the stored Pillow mode, e.g. "1", "L", "RGB"
    stored_mode: str  # bitonal | grey | colour — what the file can hold
    mode: str  # bitonal | grey | colour — what the pixels actually hold
    colour_present: bool
    colour_ratio: float  # share of pixels whose chroma exceeds the catalogue's colour_chroma
    skew_degrees: float | None  # None: nothing line-like to measure (blank page, photo)
    skew_confidence: float  # peak sharpness of the projection profile (0: flat)
    blank: bool
    ink_ratio: float  # share of the page covered by marks, specks removed
    mean: float  # mean grey level 0..255 (paper brightness)
    contrast: float  # standard deviation of the grey levels
    paper_level: int  # median grey level: the paper
    phash: str  # 64-bit DCT perceptual hash, 16 hex digits
    file_format: str  # TIFF | JPEG | JPEG2000 | PNG | PDF | BMP | … as identified from content
    compression: str | None  # group4 | lzw | none | deflate | jpeg | packbits | group3 | …
    jpeg_quality: int | None = None  # estimated libjpeg quality where known


# ------------------------------------------------------------------------------------- analyse


def _stored_mode(image: Image.Image) -> str:
    if image.mode in _STORED:
        return _STORED[image.mode]
    if image.mode == "P":  # rare for scans: look at the colours actually used
        used = image.convert("RGB").getcolors(1 << 24) or []
        if any(isinstance(c, tuple) and max(c) > min(c) for _, c in used):
            return "colour"
        return "bitonal" if len(used) <= 2 else "grey"
    return "colour"


def _reduced(image: Image.Image) -> Image.Image:
    """A copy of about WORK_LONG_SIDE pixels on the long side (box filter: cheap and it averages
    scanner noise away), in L or RGB."""
    factor = max(1, math.ceil(max(image.size) / WORK_LONG_SIDE))
    im = image
    if im.mode not in ("L", "RGB"):
        im = im.convert("RGB" if _stored_mode(im) == "colour" else "L")
    return im.reduce(factor) if factor > 1 else im.copy()


def _median_level(hist: np.ndarray) -> int:
    cumulative = np.cumsum(hist)
    return int(np.searchsorted(cumulative, cumulative[-1] / 2))


def phash(grey: np.ndarray) -> str:
    """64-bit DCT perceptual hash of a grey image: shrink to 32×32, 2-D DCT, keep the 8×8 lowest
    frequencies, one bit per coefficient above the median of the 63 non-DC ones."""
    small = cv2.resize(grey, (32, 32), interpolation=cv2.INTER_AREA).astype(np.float32)
    low = cv2.dct(small)[:8, :8].ravel()
    median = float(np.median(low[1:]))
    value = 0
    for bit in low > median:
        value = (value << 1) | int(bit)
    return f"{value:016x}"


def _content(grey: np.ndarray, marks: np.ndarray | None) -> np.ndarray:
    """The part of the page that holds the marks (0.5–99.5 percentile box, a small margin), so
    that the hash spends its 32×32 samples on the text rather than on margins, and a page scanned
    a few millimetres off still hashes the same."""
    if marks is None or not marks.any():
        return grey
    h, w = grey.shape
    rows = np.cumsum(marks.sum(axis=1))
    cols = np.cumsum(marks.sum(axis=0))
    top, bottom = np.searchsorted(rows, [rows[-1] * 0.005, rows[-1] * 0.995])
    left, right = np.searchsorted(cols, [cols[-1] * 0.005, cols[-1] * 0.995])
    pad = max(h, w) // 100
    box = grey[
        max(0, top - pad) : min(h, bottom + pad + 1), max(0, left - pad) : min(w, right + pad + 1)
    ]
    return box if min(box.shape) >= 32 else grey


def _skew(ys: np.ndarray, xs: np.ndarray, limit: float) -> tuple[float | None, float]:
    """Projection-profile skew: the angle that makes the row (and column) histograms of the ink
    pixels most peaked, searched coarse-to-fine over ±limit degrees. Rows score horizontal text,
    columns vertical text and the grid of CJK characters; their sum serves both."""
    if ys.size < 200:
        return None, 0.0
    if ys.size > 40000:  # a regular subsample: the profile shape survives, the cost stays flat
        step = math.ceil(ys.size / 40000)
        ys, xs = ys[::step], xs[::step]
    y = ys.astype(np.float32)
    x = xs.astype(np.float32)
    offset = float(max(ys.max(), xs.max())) * 2 + 2

    def score(deg: float) -> float:
        t = math.radians(deg)
        c, s = math.cos(t), math.sin(t)
        rows = np.bincount((y * c + x * s + offset).astype(np.int32))
        cols = np.bincount((x * c - y * s + offset).astype(np.int32))
        return float(np.dot(rows, rows)) + float(np.dot(cols, cols))

    coarse = np.arange(-limit, limit + 1e-9, 0.5)
    scores = np.array([score(a) for a in coarse])
    best = float(coarse[int(scores.argmax())])
    fine = np.arange(best - 0.5, best + 0.5 + 1e-9, 0.05)
    fscores = np.array([score(a) for a in fine])
    i = int(fscores.argmax())
    angle = float(fine[i])
    if 0 < i < len(fine) - 1:  # parabola through the peak and its neighbours
        a, b, c = fscores[i - 1], fscores[i], fscores[i + 1]
        denominator = a - 2 * b + c
        if denominator < 0:
            angle += 0.05 * 0.5 * float(a - c) / float(denominator)
    median = float(np.median(scores))
    confidence = float(scores.max()) / median - 1.0 if median > 0 else 0.0
    return round(angle, 2), round(confidence, 4)


def analyse(
    image: Image.Image,
    *,
    file_format: str,
    compression: str | None,
    dpi: tuple[float, float] | None,
    jpeg_quality: int | None = None,
) -> PageFacts:
    """Measure one page image (any size; cost is that of a ≈1200 px copy)."""
    width, height = image.size
    stored = _stored_mode(image)
    work = _reduced(image)
    chroma_min = int(dat31.threshold("colour_mode", "colour_chroma"))
    if work.mode == "RGB":
        rgb = np.asarray(work)
        chroma = rgb.max(axis=2).astype(np.int16) - rgb.min(axis=2)
        coloured = chroma > chroma_min
        grey = np.asarray(work.convert("L"))
    else:
        grey = np.asarray(work)
        coloured = np.zeros(grey.shape, dtype=bool)
    colour_ratio = float(coloured.mean())
    colour_present = colour_ratio > float(dat31.threshold("colour_mode", "colour_min_ratio"))

    hist = np.bincount(grey.ravel(), minlength=256)
    paper = _median_level(hist)
    total = grey.size
    levels = np.arange(256)
    mean = float((hist * levels).sum() / total)
    contrast = float(math.sqrt(max(0.0, (hist * (levels - mean) ** 2).sum() / total)))

    if colour_present:
        mode = "colour"
    elif stored == "bitonal":
        mode = "bitonal"
    else:
        # the pixels are bitonal when (almost) nothing lies between black and white; judged on the
        # full-resolution histogram, since reducing the image makes grey edges of its own
        # (blank paper with noise has only mid tones there: grey)
        source = image if image.mode in ("L", "RGB") else image.convert("L")
        full = np.asarray(source.histogram()[:256])  # L, or the red band of a colourless RGB
        mid = float(full[41:215].sum())
        not_paper = mid + float(full[:41].sum())
        mode = "bitonal" if not_paper == 0 or mid / not_paper < 0.05 else "grey"

    # ink: darker than the paper by ink_delta, or coloured (a red seal on white paper)
    delta = int(dat31.threshold("blank_page", "ink_delta"))
    ink = (grey < paper - delta) | coloured
    _, labels, stats, _ = cv2.connectedComponentsWithStats(ink.astype(np.uint8), connectivity=8)
    area = stats[:, cv2.CC_STAT_AREA]
    speck = int(dat31.threshold("blank_page", "speck_max_pixels"))
    keep = area > speck
    keep[0] = False
    ink_pixels = int(area[keep].sum())
    ink_ratio = ink_pixels / total
    blank = ink_ratio < float(dat31.threshold("blank_page", "max_ink_ratio"))

    # skew from text-sized marks only: not the page border, a scanner shadow or a photograph
    h, w = grey.shape
    left, top = stats[:, cv2.CC_STAT_LEFT], stats[:, cv2.CC_STAT_TOP]
    right = left + stats[:, cv2.CC_STAT_WIDTH]
    bottom = top + stats[:, cv2.CC_STAT_HEIGHT]
    textish = keep & (area < total * 0.01) & (left > 0) & (top > 0) & (right < w) & (bottom < h)
    marks = textish[labels]
    ys, xs = np.nonzero(marks) if not blank else (np.empty(0), np.empty(0))
    limit = float(dat31.threshold("skew", "search_degrees"))
    skew, confidence = _skew(ys, xs, limit)
    least = float(dat31.threshold("skew", "min_confidence"))
    if skew is not None and (confidence < least or abs(skew) > limit):
        skew = None  # a flat profile (a photograph) or a peak at the edge: nothing to trust

    return PageFacts(
        width=width,
        height=height,
        dpi=(float(dpi[0]), float(dpi[1])) if dpi else None,
        pillow_mode=image.mode,
        stored_mode=stored,
        mode=mode,
        colour_present=colour_present,
        colour_ratio=round(colour_ratio, 6),
        skew_degrees=skew,
        skew_confidence=confidence,
        blank=blank,
        ink_ratio=round(ink_ratio, 6),
        mean=round(mean, 2),
        contrast=round(contrast, 2),
        paper_level=paper,
        phash=phash(_content(grey, marks if not blank else None)),
        file_format=file_format,
        compression=compression,
        jpeg_quality=jpeg_quality,
    )


# -------------------------------------------------------------------------------- duplicates

K = TypeVar("K", bound=Hashable)


def hamming(a: str, b: str) -> int:
    """Bits in which two hex hashes differ."""
    return (int(a, 16) ^ int(b, 16)).bit_count()


def near_duplicates(hashes: Sequence[tuple[K, str]], max_distance: int) -> list[tuple[K, K, int]]:
    """Pairs (key_a, key_b, distance) of 64-bit hashes at most ``max_distance`` apart, in input
    order. Pigeonhole: split the 64 bits into max_distance + 1 chunks; two hashes that close agree
    exactly on at least one chunk, so only hashes sharing a (chunk, value) bucket are compared —
    near-linear for a batch of thousands instead of all n² pairs."""
    if max_distance < 0:
        return []
    values = [int(h, 16) for _, h in hashes]
    pieces = min(64, max_distance + 1)
    bounds = [round(i * 64 / pieces) for i in range(pieces + 1)]
    buckets: defaultdict[tuple[int, int], list[int]] = defaultdict(list)
    for index, value in enumerate(values):
        for chunk in range(pieces):
            lo, hi = bounds[chunk], bounds[chunk + 1]
            buckets[(chunk, (value >> lo) & ((1 << (hi - lo)) - 1))].append(index)
    found: dict[tuple[int, int], int] = {}
    for members in buckets.values():
        for n, i in enumerate(members):
            for j in members[n + 1 :]:
                if (i, j) not in found:
                    distance = (values[i] ^ values[j]).bit_count()
                    found[(i, j)] = distance
    return [
        (hashes[i][0], hashes[j][0], d) for (i, j), d in sorted(found.items()) if d <= max_distance
    ]


# ----------------------------------------------------------------------------------- evaluation


def _na(code: str, zh: str, en: str, **evidence: Any) -> Finding:
    """Nothing examined: na with the reason, never a pass."""
    return make_finding(code, "na", {**evidence, "reason": en}, reason_zh=zh, reason_en=en)


def _problem(code: str, result: str, evidence: dict[str, Any], zh: str, en: str) -> Finding:
    return make_finding(code, result, evidence, problem_zh=zh, problem_en=en)


def _compression(facts: PageFacts) -> Finding:
    fmt, comp = facts.file_format, facts.compression
    base: dict[str, Any] = {"format": fmt, "compression": comp or "unknown"}
    if fmt == "TIFF" and comp is not None:
        policy = dat31.threshold("compression", "tiff")[facts.stored_mode]
        base.update(examined="TIFF compression tag", stored_mode=facts.stored_mode)
        if comp in policy["pass"]:
            return make_finding("compression", "pass", base)
        good = "/".join(policy["pass"])
        zh, en = dat31.MODE_NAMES[facts.stored_mode]
        return _problem(
            "compression",
            "warn" if comp in policy["warn"] else "fail",
            {**base, "recommended": policy["pass"]},
            f"{zh}图像宜采用 {good}",
            f"{en} images should use {good}",
        )
    if fmt == "JPEG" and facts.jpeg_quality is not None:
        least = int(dat31.threshold("compression", "jpeg_min_quality"))
        base.update(examined="JPEG quantisation tables", min_quality=least)
        base.update(quality=facts.jpeg_quality, compression=f"q≈{facts.jpeg_quality}")
        if facts.jpeg_quality >= least:
            return make_finding("compression", "pass", base)
        return _problem(
            "compression",
            "warn",
            base,
            f"压缩质量过低（低于 {least}），细小笔画可能失真",
            f"quality below {least}: thin strokes may blur",
        )
    if fmt in ("PNG", "JPEG2000", "PDF") and comp:
        return make_finding("compression", "pass", {**base, "examined": f"{fmt} ({comp})"})
    if fmt in ("TIFF", "JPEG"):
        return _na(
            "compression",
            "压缩标签或量化表无法读取",
            "compression tag or quantisation tables not readable",
            **base,
        )
    return _na(
        "compression",
        f"格式 {fmt} 不检查压缩（见文件格式）",
        f"format {fmt} has no compression check (see file format)",
        **base,
    )


def _resolution(facts: PageFacts, purpose: str, names: dict[str, str]) -> Finding:
    least = dat31.min_dpi(purpose)
    ev: dict[str, Any] = {"purpose": purpose, "min_dpi": least}
    ev["pixels"] = [facts.width, facts.height]
    if facts.dpi is None:
        implied = round(max(facts.width, facts.height) / A4_LONG_INCHES)
        ev.update(examined="resolution tags (none recorded)", dpi=None, implied_dpi_if_a4=implied)
        result = str(dat31.threshold("resolution", "missing_dpi_result"))
        return make_finding("resolution", result, ev, message="missing", **names)
    dpi: float = min(facts.dpi)
    if dat31.threshold("resolution", "round_dpi"):
        dpi = round(dpi)
    ev.update(examined="resolution tags", dpi=dpi, dpi_xy=list(facts.dpi))
    return make_finding("resolution", "pass" if dpi >= least else "fail", ev, **names)


def _colour_mode(facts: PageFacts, purpose: str, names: dict[str, str]) -> Finding:
    result = dat31.colour_mode_result(purpose, facts.stored_mode)
    ok = [m for m in dat31.MODES if dat31.colour_mode_result(purpose, m) == "pass"]
    label = dat31.MODE_NAMES
    ev = {
        "examined": f"stored mode {facts.pillow_mode} and the pixels",
        "purpose": purpose,
        "stored_mode": facts.stored_mode,
        "mode": facts.mode,
        "colour_present": facts.colour_present,
        "colour_ratio": facts.colour_ratio,
    }
    return make_finding(
        "colour_mode",
        result,
        ev,
        stored_mode_zh=label[facts.stored_mode][0],
        stored_mode_en=label[facts.stored_mode][1],
        mode_zh=label[facts.mode][0],
        mode_en=label[facts.mode][1],
        required_zh="或".join(label[m][0] for m in ok),
        required_en=" or ".join(label[m][1] for m in ok),
        **names,
    )


def _skew_finding(facts: PageFacts) -> Finding:
    if facts.skew_degrees is None:
        zh, en = (
            ("空白页", "blank page") if facts.blank else ("未检出文字行", "no text lines found")
        )
        return _na("skew", zh, en, confidence=facts.skew_confidence)
    most = float(dat31.threshold("skew", "max_degrees"))
    ev = {"examined": "projection profile of the ink", "degrees": facts.skew_degrees}
    ev.update(max_degrees=most, confidence=facts.skew_confidence)
    return make_finding("skew", "pass" if abs(facts.skew_degrees) <= most else "fail", ev)


def evaluate_page(facts: PageFacts, purpose: str = "general") -> list[Finding]:
    """resolution, colour_mode, skew, blank_page and compression of one page for ``purpose``
    (a key of ``dat31.purposes()``). file_integrity/file_format come from :func:`evaluate_file`."""
    p = dat31.purpose(purpose)
    names = {"purpose_zh": p.name_zh, "purpose_en": p.name_en}
    blank = {
        "examined": "ink coverage",
        "ink_ratio": facts.ink_ratio,
        "ink_percent": round(facts.ink_ratio * 100, 3),
        "max_ink_ratio": dat31.threshold("blank_page", "max_ink_ratio"),
        "mean": facts.mean,
        "contrast": facts.contrast,
    }
    return [
        _resolution(facts, purpose, names),
        _colour_mode(facts, purpose, names),
        _skew_finding(facts),
        make_finding("blank_page", "warn" if facts.blank else "pass", blank),
        _compression(facts),
    ]


def _naming(reference_code: str, page_names: Sequence[str] | None) -> Finding:
    if page_names is None:
        return _na(
            "naming",
            "页面来自清单或多页文件，无单页文件名",
            "pages come from a manifest or a multipage file",
        )
    if not page_names:
        return _na("naming", "没有页面文件", "no page files")
    bad = []
    for name in page_names:
        problem = dat31.page_name_error(name, reference_code)
        if problem:
            bad.append({"name": name, "reason_zh": problem[0], "reason_en": problem[1]})
    ev: dict[str, Any] = {"examined": len(page_names), "reference_code": reference_code}
    if not bad:
        return make_finding("naming", "pass", ev)
    ev.update(bad=bad, count=len(bad))
    shown = "; ".join(f"{b['name']}（{b['reason_zh']}）" for b in bad[:5])
    return make_finding("naming", "fail", ev, names_text=shown)


def _sequence(page_numbers: Sequence[int]) -> Finding:
    numbers = sorted(page_numbers)
    if not numbers:
        return _na("page_sequence", "没有页面", "no pages")
    counts = Counter(numbers)
    repeats = sorted(n for n, c in counts.items() if c > 1)
    gaps = sorted(set(range(1, numbers[-1] + 1)) - set(counts))
    invalid = sorted(n for n in counts if n < 1)
    ev: dict[str, Any] = {"examined": len(numbers), "first": numbers[0], "last": numbers[-1]}
    if not (repeats or gaps or invalid):
        return make_finding("page_sequence", "pass", ev)
    ev.update(missing=gaps, repeated=repeats, invalid=invalid)
    zh, en = [], []
    for values, word_zh, word_en in (
        (gaps, "缺页号", "missing"),
        (repeats, "重复页号", "repeated"),
        (invalid, "无效页号", "invalid"),
    ):
        if values:
            zh.append(f"{word_zh} {_ranges(values)}")
            en.append(f"{word_en} {_ranges(values)}")
    return _problem("page_sequence", "fail", ev, "；".join(zh), "; ".join(en))


def _page_count(scanned: int, declared: int | None) -> Finding:
    if declared is None:
        return _na(
            "page_count", "目录未著录页数", "the catalogue records no page count", scanned=scanned
        )
    ev: dict[str, Any] = {"examined": "页数 vs pages scanned", "scanned": scanned}
    ev["declared"] = declared
    diff = scanned - declared
    if abs(diff) <= int(dat31.threshold("page_count", "tolerance")):
        return make_finding("page_count", "pass", ev)
    if diff < 0:
        ev["missing_pages"] = -diff
        return _problem("page_count", "fail", ev, f"漏扫 {-diff} 页", f"{-diff} page(s) missed")
    ev["extra_pages"] = diff
    return _problem(
        "page_count",
        "fail",
        ev,
        f"多 {diff} 页（重扫或多扫）",
        f"{diff} extra page(s) (scanned twice or not part of the item)",
    )


def _duplicates(hashes: Sequence[tuple[K, str | None]], scope: str) -> Finding:
    hashed = [(k, h) for k, h in hashes if h]
    if len(hashed) < 2:
        return _na("duplicate_page", "少于两页可比较", "fewer than two pages to compare")
    most = int(dat31.threshold("duplicate_page", "max_distance"))
    pairs = near_duplicates(hashed, most)
    ev: dict[str, Any] = {"examined": len(hashed), "max_distance": most, "scope": scope}
    if not pairs:
        return make_finding("duplicate_page", "pass", ev)
    if scope == "item":
        close = int(dat31.threshold("duplicate_page", "fail_distance"))
        result = "fail" if any(d <= close for _, _, d in pairs) else "warn"
        ev["fail_distance"] = close
    else:
        result = str(dat31.threshold("duplicate_page", "batch_result"))
    ev.update(pairs=[list(p) for p in pairs], count=len(pairs))
    text = "; ".join(f"{a}={b} ({d})" for a, b, d in pairs[:10])
    return make_finding("duplicate_page", result, ev, pairs_text=text)


def evaluate_item(
    reference_code: str,
    page_numbers: Sequence[int],
    declared_pages: int | None,
    *,
    page_names: Sequence[str] | None = None,
    phashes: Sequence[tuple[int, str | None]] | None = None,
) -> list[Finding]:
    """naming, page_sequence, page_count and duplicate_page of one item (案卷 or 件).

    page_numbers: the page number of each page file (repeats included); page_names: the file
    names without suffix (None: pages came from a manifest or a multipage file, naming is na);
    phashes: (page number, phash) per page, None for a blank page (blank pages are reported by
    blank_page, and two blank backs are not a rescan)."""
    return [
        _naming(reference_code, page_names),
        _sequence(page_numbers),
        _page_count(len(page_numbers), declared_pages),
        _duplicates(phashes or (), "item"),
    ]


def evaluate_batch_duplicates(hashes: Sequence[tuple[K, str | None]]) -> Finding:
    """Near-identical pages across the items of a batch (keys such as "档号-页号"): a warning
    for a person, since forms and covers look alike. Pairs within one item are evaluate_item's."""
    return _duplicates(hashes, "batch")


def evaluate_sample(items_total: int, sampled: int, page_verdicts: Sequence[bool]) -> Finding:
    """抽检 of a batch: ``sampled`` items drawn of ``items_total`` (at least dat31.sample_size),
    ``page_verdicts`` one per page a person looked at (True: passed)."""
    needed = dat31.sample_size(items_total)
    ev: dict[str, Any] = {
        "items_total": items_total,
        "sampled": sampled,
        "required": needed,
        "inspected": len(page_verdicts),
        "ratio_percent": round(100 * sampled / items_total, 1) if items_total else 0,
    }
    if not page_verdicts:
        return _na("sample_inspection", "尚未人工检查任何页面", "no page inspected yet", **ev)
    if sampled < needed:
        ev["problem"] = "sample too small"
        zh, en = f"少于应抽的 {needed} 件", f"fewer than the {needed} items required"
        return _problem("sample_inspection", "fail", ev, zh, en)
    failed = sum(1 for v in page_verdicts if not v)
    ev.update(examined=len(page_verdicts), failed=failed)
    if not failed:
        return make_finding("sample_inspection", "pass", ev)
    zh, en = f"{failed} 页不合格", f"{failed} page(s) failed"
    return _problem("sample_inspection", "fail", ev, zh, en)


def _ranges(numbers: Sequence[int]) -> str:
    """[1, 2, 3, 7] → "1-3, 7" (short evidence text for long gaps)."""
    parts: list[str] = []
    start = prev = numbers[0]
    for n in numbers[1:]:
        if n != prev + 1:
            parts.append(str(start) if start == prev else f"{start}-{prev}")
            start = n
        prev = n
    parts.append(str(start) if start == prev else f"{start}-{prev}")
    return ", ".join(parts)
