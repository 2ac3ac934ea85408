"""The digitized part of the demo archives (issue 14, point 7): scanned pages and recordings.

- a scanning batch (数字化批次) of A4 pages at 300 dpi, drawn like scans of the records' paper
  originals (案卷 and 件, each with as many pages as its 页数 says; a few pages slightly skewed or
  noisy, one page of an old 红色档案 document set in vertical columns read right to left),
  written as a vendor delivers it (``档号-页号.jpg``), registered by the demo scanning vendor,
  checked by the real DA/T 31 checks, its 抽检 pages inspected by the demo archivist and
  accepted: the pages become components of their records and their OCR jobs are queued for the
  worker of `lantai serve` (the demo is usable at once; pages become searchable as OCR runs);
- a second batch that fails its checks (a page at 150 dpi, a page skewed beyond 3°, a missing
  page) and is returned to the vendor with the reasons, so its report is there to read;
- a short oral-history interview (口述历史, audio) and a short meeting video, each attached to an
  open record with a time-coded description segment; their access copies are queued jobs.

Everything goes through the digitization services; each step finds what an earlier run made
(batches by name, recordings by record) and does not make it twice. Pages are drawn in parallel
processes: drawing and encoding 300 dpi pages is the slow part on a 2-core machine.
"""

from __future__ import annotations

import os
import random
import shutil
import tempfile
import time
import zlib
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db.models import QuerySet
from PIL import Image, ImageDraw

from lantai.catalog.models import Record, Repository
from lantai.core.models import User
from lantai.demo import documents
from lantai.demo.generator import DemoArchive
from lantai.demo.words import words

if TYPE_CHECKING:
    from lantai.demo.seed import Summary

VENDOR = "vendor"  # the demo scanning vendor (seed.DEMO_USERS)
ARCHIVIST = "archivist"  # inspects, accepts and returns batches
BATCH_NAME = "馆藏档案数字化（第一批，演示）"
RETURNED_NAME = "馆藏档案数字化（第二批，演示，已退回）"
# one page per this many demo records: 133 pages for the default 20,000 (drawing and checking a
# 300 dpi page costs ~0.5 s of a 2-core machine; `lantai demo` should not grow by much more
# than a minute and a half)
PAGES_PER_RECORDS = 150
MIN_PAGES, MAX_PAGES = 6, 400
MAX_ITEM_PAGES = 5  # 件 with more pages are left for a later (real) batch
MAX_VOLUME_PAGES = 24  # the thinnest 记账凭证 volumes of the demo hold 20 sheets
DPI = 300
SCALE = 3  # documents draws A4 at 100 dpi; pages are drawn at that size and scaled to 300 dpi
SKEW_EVERY, NOISE_EVERY = 7, 6  # about every n-th page is slightly skewed / item noisy
AUDIO_SECONDS, VIDEO_SECONDS = 20, 15
PAPER = (246, 242, 228)


@dataclass(frozen=True)
class PageJob:
    """One document's pages to draw (plain data: it crosses into a worker process)."""

    folder: str
    code: str
    issuer: str
    title: str
    date: str
    number: str
    pages: int
    red_header: bool
    seed: int
    vertical: bool = False
    volume: bool = False  # a 案卷: its pages are the vouchers and forms it holds
    skip: tuple[int, ...] = ()  # page numbers left out (a 漏扫 for the returned batch)
    low_dpi: tuple[int, ...] = ()  # pages "scanned" at 150 dpi
    tilt: dict[int, float] = field(default_factory=dict)  # page -> degrees
    noisy: tuple[int, ...] = ()


@dataclass
class Outcome:
    pages: int = 0
    items: int = 0
    volumes: int = 0
    vertical: int = 0
    status: str = ""  # as shown
    state: str = ""  # Batch.status
    result: str = ""
    findings: int = 0


def make_digitized(archive: DemoArchive, summary: Summary) -> None:
    """Both batches and both recordings, then the summary lines (with the seconds spent)."""
    if documents.fonts_available():  # said once already by living.make_alive
        return
    started = time.perf_counter()
    vendor = User.objects.filter(username=VENDOR).first()
    archivist = User.objects.filter(username=ARCHIVIST).first()
    if vendor is None or archivist is None:
        summary.problems.append("演示数字化批次未生成：缺少演示账号 vendor 或 archivist")
        return
    home = Repository.objects.get(code=archive.repositories[0].code)
    red_fonds = next((f.code for f in archive.fonds if f.revolutionary), "")
    target = max(MIN_PAGES, min(MAX_PAGES, archive.records // PAGES_PER_RECORDS))
    accepted = _accepted_batch(home, vendor, archivist, target, red_fonds, archive.seed)
    if accepted.state != "accepted":  # say why rather than show a batch that silently stayed
        summary.problems.append(_not_accepted(home))
    returned = _returned_batch(home, vendor, archivist, archive.seed)
    heard = _recordings(home, archivist, red_fonds)
    summary.alive.append(
        f"  数字化 digitization: 批次“{BATCH_NAME}”{accepted.status}（检测结论 {accepted.result}），"
        f"{accepted.pages} 页 A4 {DPI} dpi 扫描图像附于 {accepted.items + accepted.volumes} 条档案"
        f"（案卷 {accepted.volumes}、件 {accepted.items}，其中竖排的红色档案 {accepted.vertical} 件），"
        f"OCR 由 `lantai serve` 的后台任务逐页识别，识别后即可检索"
        f" (batch {accepted.state}: {accepted.pages} pages, OCR queued for the worker)"
    )
    summary.alive.append(
        f"  数字化 digitization: 批次“{RETURNED_NAME}”{returned.status}（{returned.findings} 项不合格："
        "低分辨率、偏斜超限、漏扫），检测报告可在数字化批次中查看"
        f" (a second batch returned to the vendor with {returned.findings} failed checks)"
    )
    summary.alive.append(
        f"  音像档案 recordings: {heard}；利用版本由后台任务生成"
        f"（本步用时 {time.perf_counter() - started:.1f} 秒 seconds for the digitized demo）"
    )


# --- choosing records ------------------------------------------------------------------------------
def _in_batches() -> set[int]:
    from lantai.digitization.models import Item

    return set(Item.objects.values_list("record_id", flat=True))


def _without_pages(home: Repository) -> QuerySet[Record]:
    return Record.objects.filter(
        repository=home,
        components__isnull=True,
        children__isnull=True,  # a 案卷 whose 卷内文件 carry their own pages is left alone
        pages__gte=1,
    )


def _choose(home: Repository, target: int, red_fonds: str, seed: int) -> list[Record]:
    """Records without pages: one red record (the vertical page), a few 案卷 with few pages,
    then 件 of several fonds and decades until about `target` pages; open ones first, so the
    portal shows them."""
    taken = _in_batches()
    pool = _without_pages(home).exclude(pk__in=taken)
    chosen: list[Record] = []
    reds = pool.filter(fonds__code=red_fonds, level="item", pages__lte=MAX_ITEM_PAGES)
    # an open one of few pages (the portal shows it); a small demo may have none: any other
    red = (
        reds.filter(open_status="open", pages__lte=3).order_by("pages", "date", "pk").first()
        or reds.order_by("pages", "date", "pk").first()
    )
    if red is not None:
        chosen.append(red)
    volumes = pool.filter(  # 会计 volumes: their sheets are drawn as vouchers
        level="volume",
        category__code="KU",
        open_status="open",
        pages__lte=min(MAX_VOLUME_PAGES, target // 4),
    )
    chosen += list(volumes.order_by("pages", "-date", "pk")[: max(0, target // 80)])
    items = list(
        pool.filter(level="item", category__code="WS", pages__lte=MAX_ITEM_PAGES)
        .exclude(pk__in=[r.pk for r in chosen])
        .order_by("pk")
        .values_list("pk", "open_status")[:20000]
    )
    rng = random.Random(f"lantai-demo:{seed}:digitized")
    rng.shuffle(items)
    items.sort(key=lambda row: row[1] != "open")  # stable: open ones first, shuffled
    count = sum(r.pages or 0 for r in chosen)
    picked: list[int] = []
    by_pk = {r.pk: r for r in Record.objects.filter(pk__in=[pk for pk, _ in items[: target * 2]])}
    for pk, _status in items[: target * 2]:
        if count >= target:
            break
        record = by_pk[pk]
        count += record.pages or 0
        picked.append(pk)
    chosen += [by_pk[pk] for pk in picked]
    return chosen


def _document(record: Record) -> tuple[str, str, str, str]:
    issuer = record.author or record.fonds.creator or record.fonds.name
    date = record.date.isoformat() if record.date else f"{record.year or 1990}-01-01"
    return issuer, record.title, date, record.document_number


# --- drawing (in worker processes) ---------------------------------------------------------------
NUMERALS = str.maketrans("0123456789", "〇一二三四五六七八九")


def _old_date(date: str) -> str:
    """1938-05-04 → 一九三八年五月四日 (as an old document writes it)."""
    y, m, d = (int(p) for p in date[:10].split("-"))

    def small(n: int) -> str:
        tens, ones = divmod(n, 10)
        head = ("" if tens == 1 else str(tens).translate(NUMERALS)) + "十" if tens else ""
        return head + (str(ones).translate(NUMERALS) if ones else "")

    return f"{str(y).translate(NUMERALS)}年{small(m)}月{small(d)}日"


def _draw_vertical(job: PageJob, number: int) -> Image.Image:
    """A page of an old document set in columns read from right to left: on the first page the
    title column at the right in bold, then the text; on the last the issuer and the date at the
    left under a red seal. Drawn at 300 dpi at once."""
    width, height = documents.WIDTH * SCALE, documents.HEIGHT * SCALE
    rng = random.Random(f"{job.seed}:vertical:{number}")
    img = Image.new("RGB", (width, height), (236, 226, 196))  # old, yellowed paper
    draw = ImageDraw.Draw(img)
    cell, pitch = 78, 113  # character height, column distance (pixels at 300 dpi)
    body, bold = documents._font("serif", 62), documents._font("bold", 70)
    top, bottom, margin = 300, height - 300, 280
    per_column = (bottom - top) // cell
    phrases = words()["document_phrases"]
    topic = documents.subject(job.title)
    points = [p.format(topic=topic) for p in phrases["points"]]
    rng.shuffle(points)
    text = rng.choice(phrases["openings"]).format(topic=topic) if number == 1 else ""
    text += "".join(points[: 2 + number % 3])
    columns = []
    if number == 1:
        title = job.title
        columns += [(title[i : i + per_column], bold, 0) for i in range(0, len(title), per_column)]
        columns.append(("", body, 0))
    columns += [(text[i : i + per_column], body, 0) for i in range(0, len(text), per_column)]
    last = number == job.pages
    if last:
        date = _old_date(job.date)
        columns.append(("", body, 0))
        columns.append((job.issuer[:per_column], body, max(0, per_column - len(job.issuer) - 2)))
        columns.append((date, body, max(0, per_column - len(date))))
    x = width - margin
    for line, face, offset in columns:
        if x < margin:
            break
        y = top + offset * cell
        for ch in line:
            draw.text((x, y), ch, font=face, fill=(35, 30, 25), anchor="mt")
            y += cell
        x -= pitch
    if last:
        cx, cy, r = x + int(1.5 * pitch), bottom - 4 * cell, 150
        draw.ellipse((cx - r, cy - r, cx + r, cy + r), outline=documents.RED, width=12)
        draw.text((cx, cy - 20), "★", font=documents._font("bold", 110), fill=documents.RED,
                  anchor="mm")  # fmt: skip
    return img


def _scan(page: Image.Image, job: PageJob, number: int) -> tuple[Image.Image, int]:
    """A 100 dpi drawing as a scanner gives it: at 300 dpi (150 for a low-resolution page),
    turned a little, speckled; returns the image and its dpi."""
    dpi = 150 if number in job.low_dpi else DPI
    size = (documents.WIDTH * dpi // 100, documents.HEIGHT * dpi // 100)
    if page.size != size:
        page = page.resize(size, Image.Resampling.BILINEAR)
    if number in job.noisy:
        rng = random.Random(f"{job.seed}:{number}:noise")
        grain = Image.effect_noise((page.width // 2, page.height // 2), 40).resize(page.size)
        page = Image.blend(page, Image.merge("RGB", [grain] * 3), 0.10 + rng.random() * 0.05)
    angle = job.tilt.get(number, 0.0)
    if abs(angle) >= MAX_GENTLE_TILT:  # a page the check must fail (the returned batch)
        page = page.rotate(angle, resample=Image.Resampling.BILINEAR, fillcolor=PAPER)
    return page, dpi


# Where the text of a page after the first ends (a share of the page height), tried in turn until
# the page differs from the item's other pages: pages drawn from one template would otherwise be
# near-duplicates to the DA/T 31 check (perceptual hash), as they never are on paper. The hash is
# taken on the 100 dpi drawing: it is that of the 300 dpi page within a bit or two.
TEXT_ENDS = (0.25, 0.4, 0.55, 1.0)
LEDGER_ENDS = (0.12, 0.2, 0.28, 0.36, 1.0)
DISTINCT_BITS = 16  # the check's limit is 10 bits: a margin for skew, noise and scaling
MAX_GENTLE_TILT = 3.0  # DA/T 31's limit: gentler tilts are applied only where the check sees them


def _ended(page: Image.Image, end: float, last: bool) -> Image.Image:
    """The page with its text cut off at `end` (paper painted over the rest, above the date and
    seal of a last page and above the page number)."""
    if end >= 1.0:
        return page
    page = page.copy()
    top = _gap_above(page, int(documents.HEIGHT * end))
    bottom = documents.HEIGHT - documents.MARGIN - (210 if last else 0)
    if bottom > top:
        ImageDraw.Draw(page).rectangle((0, top, page.width, bottom), fill=page.getpixel((4, 4)))
    return page


def _gap_above(page: Image.Image, y: int) -> int:
    """The nearest row at or above `y` with no ink on it: text is cut between lines."""
    grey = page.convert("L")
    paper = grey.getpixel((4, 4))
    assert isinstance(paper, int)
    for row in range(y, max(0, y - 60), -1):
        low, _high = grey.crop((0, row, page.width, row + 1)).getextrema()
        if low > paper - 40:
            return row
    return y


def _facts(image: Image.Image) -> Any:
    from lantai.digitization import image_checks

    return image_checks.analyse(image, file_format="JPEG", compression=None, dpi=None)


def _voucher(job: PageJob, number: int, attempt: int) -> Image.Image:
    """Page `number` of a 案卷: a voucher sheet of its own (a table, the issuer and date) with a
    receipt pasted on it, its place and size set by the page and the attempt, as on real
    记账凭证 (and so that no two sheets of a volume look alike to the duplicate check)."""
    doc = documents.Document(job.issuer, f"{job.title}（第{number}页）", job.date, job.number)
    page = documents.render_pages(doc, red_header=False, seed=job.seed * 100 + number)[0]
    rng = random.Random(f"{job.seed}:{number}:{attempt}")
    width = rng.randint(documents.WIDTH // 4, documents.WIDTH // 2)
    height = rng.randint(documents.HEIGHT // 10, documents.HEIGHT // 4)
    x = rng.randint(documents.MARGIN // 2, documents.WIDTH - documents.MARGIN // 2 - width)
    y = rng.randint(documents.HEIGHT // 3, documents.HEIGHT - 2 * documents.MARGIN - height)
    tint = rng.choice(((214, 200, 170), (205, 215, 222), (222, 205, 205)))  # receipt paper
    draw = ImageDraw.Draw(page)
    draw.rectangle((x, y, x + width, y + height), fill=tint, outline=(110, 100, 90), width=2)
    face = documents._font("serif", 16)
    lines = ("发票联", f"金额 {rng.randint(100, 99999) / 100:,.2f} 元", "收款单位（盖章）")
    for i, line in enumerate(lines):
        if 14 + i * 34 + 20 < height:
            draw.text((x + 12, y + 12 + i * 34), line, font=face, fill=documents.INK)
    return page


def _variants(job: PageJob, number: int, drawn: list[Image.Image]) -> Iterator[Image.Image]:
    last = number == job.pages
    if job.volume:
        for attempt in range(12):
            yield _voucher(job, number, attempt)
        return
    ends = TEXT_ENDS if job.red_header else LEDGER_ENDS
    turn = (job.seed + number) % len(ends)
    order = ends[turn:] + ends[:turn]
    for end in order:
        yield _ended(drawn[number - 1], end, last)
    for attempt in range(8):  # then with a reader's note (批示) written on the page
        page = _ended(drawn[number - 1], order[attempt % len(order)], last)
        yield _annotated(page, f"{job.seed}:{number}:{attempt}")


NOTES = (
    "同意，请抓紧办理。",
    "已阅，请各处室传阅。",
    "请办公室研究提出意见。",
    "拟同意，呈领导审定。",
)


def _annotated(page: Image.Image, seed: str) -> Image.Image:
    """The page with a note in blue-black ink where a reader wrote it: a line or two of 批示,
    initials and a date."""
    rng = random.Random(seed)
    page = page.copy()
    draw = ImageDraw.Draw(page)
    face = documents._font("bold", rng.randint(24, 30))
    note = rng.choice(NOTES)
    x = rng.randint(documents.MARGIN // 2, documents.WIDTH // 2)
    y = rng.randint(documents.HEIGHT // 5, documents.HEIGHT - 2 * documents.MARGIN - 120)
    ink = (30, 45, 110)
    draw.text((x, y), note, font=face, fill=ink)
    draw.text(
        (x + 120, y + 48), f"王 {rng.randint(1, 12)}.{rng.randint(1, 28)}", font=face, fill=ink
    )
    draw.line((x, y + 92, x + rng.randint(160, 320), y + 92), fill=ink, width=3)
    return page


def _distinct(
    job: PageJob, number: int, drawn: list[Image.Image], hashes: list[str]
) -> Image.Image:
    """Page `number`, the variant farthest from the item's pages so far (the first far enough)."""
    from lantai.digitization import image_checks

    if job.pages == 1:
        return drawn[0]
    if number == 1 and not job.volume:
        hashes.append(_facts(drawn[0]).phash)
        return drawn[0]
    best, best_mark, best_bits = None, "", -1
    for candidate in _variants(job, number, drawn):
        mark = _facts(candidate).phash
        bits = min((image_checks.hamming(mark, h) for h in hashes), default=64)
        if bits > best_bits:
            best, best_mark, best_bits = candidate, mark, bits
        if bits > DISTINCT_BITS:
            break
    assert best is not None
    hashes.append(best_mark)
    return best


def _tilted(page: Image.Image, angle: float) -> Image.Image:
    """The page turned by a gentle `angle`, unless the skew check would read it as turned
    beyond its limit (it misreads some layouts); then the page as it was."""
    turned = page.rotate(angle, resample=Image.Resampling.BICUBIC, fillcolor=PAPER)
    measured = _facts(turned).skew_degrees
    return turned if measured is None or abs(measured) < MAX_GENTLE_TILT - 0.3 else page


def draw_job(job: PageJob) -> int:
    """Draw and write the pages of one document as ``档号-页号.jpg``; returns pages written."""
    folder = Path(job.folder)
    folder.mkdir(parents=True, exist_ok=True)
    doc = documents.Document(job.issuer, job.title, job.date, job.number)
    if job.vertical:
        drawn = [_draw_vertical(job, n) for n in range(1, job.pages + 1)]
    elif job.volume:
        drawn = [_voucher(job, 1, 0)]
    else:
        drawn = documents.render_pages(
            doc, pages=job.pages, red_header=job.red_header, seed=job.seed
        )
    written = 0
    hashes: list[str] = []
    for number in range(1, job.pages + 1):
        page = drawn[number - 1] if job.vertical else _distinct(job, number, drawn, hashes)
        angle = job.tilt.get(number, 0.0)
        if angle and abs(angle) < MAX_GENTLE_TILT:
            page = _tilted(page, angle)
        if number in job.skip:
            continue
        image, dpi = _scan(page, job, number)
        image.save(folder / f"{job.code}-{number:04d}.jpg", "JPEG", quality=80, dpi=(dpi, dpi))
        written += 1
    return written


def _draw_all(jobs: list[PageJob]) -> int:
    """Draw every job, in as many processes as there are cores (at most 4)."""
    workers = max(1, min(4, os.cpu_count() or 1, len(jobs)))
    if workers == 1:
        return sum(draw_job(j) for j in jobs)
    # jobs biggest first, so that no process is left with one long document at the end
    order = sorted(jobs, key=lambda j: -j.pages)
    with ProcessPoolExecutor(workers) as pool:
        return sum(pool.map(draw_job, order, chunksize=1))


# --- the accepted batch ------------------------------------------------------------------------------
def _seed(record: Record) -> int:
    """A record's drawing seed from its 档号: the same pages whatever keys the database gave."""
    return zlib.crc32(record.reference_code.encode())


def _inbox(name: str) -> Path:
    root = Path(settings.DIGITIZATION_INBOX)
    root.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=f"{name}-", dir=root))


def _outcome(batch: object, red_fonds: str = "") -> Outcome:
    from lantai.digitization.models import Batch, Finding, Item, Page

    assert isinstance(batch, Batch)
    items = Item.objects.filter(batch=batch)
    return Outcome(
        pages=Page.objects.filter(batch=batch).count(),
        items=items.filter(record__level="item").count(),
        volumes=items.filter(record__level="volume").count(),
        vertical=int(bool(red_fonds) and items.filter(record__fonds__code=red_fonds).exists()),
        status=batch.get_status_display(),
        state=batch.status,
        result=batch.result,
        findings=Finding.objects.filter(batch=batch, result="fail").count(),
    )


def _accepted_batch(
    home: Repository, vendor: User, archivist: User, target: int, red_fonds: str, seed: int
) -> Outcome:
    from lantai.digitization import services
    from lantai.digitization.models import Batch

    batch = Batch.objects.filter(name=BATCH_NAME, repository=home).first()
    if batch is None:
        records = _choose(home, target, red_fonds, seed)
        folder = _inbox("demo-batch-1")
        jobs = []
        for n, record in enumerate(records):
            issuer, title, date, number = _document(record)
            pages = int(record.pages or 1)
            # a few pages turned 0.6–2.5° (not the first, whose red header the skew check misreads),
            # a few first pages speckled (noise moves a page's perceptual hash unpredictably)
            tilt = {
                p: (0.6 + ((n + p) % 20) / 10) * (1 if p % 2 else -1)
                for p in range(2, pages + 1)
                if (n + p) % SKEW_EVERY == 0
            }
            noisy = (1,) if n % NOISE_EVERY == 3 else ()
            jobs.append(
                PageJob(str(folder), record.reference_code, issuer, title, date, number, pages,
                        record.level == "item", _seed(record),
                        vertical=n == 0 and record.fonds.code == red_fonds,
                        volume=record.level == "volume",
                        tilt=tilt, noisy=noisy)
            )  # fmt: skip
        _draw_all(jobs)
        batch = services.register_batch(
            folder, user=vendor, repository=home, name=BATCH_NAME, purpose="ocr"
        )
    if batch.status == "checking":
        batch = services.check_batch(batch.pk)
    if batch.status == "checked":
        for page in services.sample_pages(batch).filter(inspection=""):
            services.inspect_page(
                page, user=archivist, result="pass", note="演示抽检：图像清晰完整"
            )
        ready = services.readiness(batch)
        if ready.acceptable:
            reason = "演示：警告项已逐项核实（轻微偏斜、版面相近的页面）" if ready.warnings else ""
            services.accept_batch(batch, user=archivist, reason=reason)
            shutil.rmtree(batch.source, ignore_errors=True)  # stored: the batch holds its copies
        batch.refresh_from_db()
    return _outcome(batch, red_fonds)


def _not_accepted(home: Repository) -> str:
    from lantai.digitization.models import Batch, Finding

    batch = Batch.objects.get(name=BATCH_NAME, repository=home)
    failed = Finding.objects.filter(batch=batch, result="fail").order_by("pk")[:5]
    reasons = "；".join(f"{f.code} {f.subject}：{f.message_zh}" for f in failed) or batch.error
    return f"演示数字化批次未能验收（{batch.status}）：{reasons or '抽检未完成'}"


# --- the returned batch -----------------------------------------------------------------------------
def _returned_batch(home: Repository, vendor: User, archivist: User, seed: int) -> Outcome:
    """Three 件: one page at 150 dpi, one page skewed 5°, and page 2 of three missing."""
    from lantai.digitization import services
    from lantai.digitization.models import Batch, Finding

    batch = Batch.objects.filter(name=RETURNED_NAME, repository=home).first()
    if batch is None:
        taken = _in_batches()
        pool = _without_pages(home).exclude(pk__in=taken).filter(level="item")
        three = list(pool.filter(pages=3).order_by("-date", "pk")[:1])
        others = list(
            pool.filter(pages=2).exclude(pk__in=[r.pk for r in three]).order_by("-date", "pk")[:2]
        )
        records = others + three
        if len(records) < 2:
            return Outcome(status="未生成")
        folder = _inbox("demo-batch-2")
        jobs = []
        for n, record in enumerate(records):
            issuer, title, date, number = _document(record)
            jobs.append(
                PageJob(str(folder), record.reference_code, issuer, title, date, number,
                        int(record.pages or 1), True, _seed(record),
                        low_dpi=(2,) if n == 0 else (),
                        tilt={1: 5.0} if n == 1 else {},
                        skip=(2,) if n == 2 else ())
            )  # fmt: skip
        _draw_all(jobs)
        batch = services.register_batch(folder, user=vendor, repository=home, name=RETURNED_NAME)
    if batch.status == "checking":
        batch = services.check_batch(batch.pk)
    if batch.status in ("checked", "failed"):
        failed = Finding.objects.filter(batch=batch, result="fail").order_by("id")[:6]
        reasons = "；".join(f"{f.subject}：{f.message_zh}" for f in failed) or batch.error
        services.return_batch(
            batch, user=archivist, reason=f"检测不合格，请整改后重新提交。{reasons}"
        )
        batch.refresh_from_db()
    return _outcome(batch)


# --- recordings ---------------------------------------------------------------------------------------
def _recordings(home: Repository, archivist: User, red_fonds: str) -> str:
    """An oral-history interview (audio, on a red record) and a meeting video (on a 会议 record),
    each with one described segment; returns the summary's words."""
    from lantai.digitization import av, recordings
    from lantai.digitization.models import Recording

    made: list[str] = []
    held = Recording.objects.filter(batch__isnull=True, record__repository=home)
    taken = _in_batches()
    pool = (
        _without_pages(home)
        .exclude(pk__in=taken)
        .filter(open_status="open", classification_level=0)
    )
    # (the oral history is about an old red record; the meeting is a recent one)
    plans = (
        ("audio", ".flac", AUDIO_SECONDS, pool.filter(fonds__code=red_fonds).order_by("date", "pk"), "口述历史访谈录音",
         ("00:00:03", "00:00:15", "口述人回忆{year}年前后在{place}参加革命工作的经过，讲述{title}的来龙去脉（口述历史，演示）")),
        ("video", ".mp4", VIDEO_SECONDS, pool.filter(category__code="WS", title__contains="会议").order_by("-date", "pk"), "会议录像",
         ("00:00:02", "00:00:11", "主持人宣布会议开始，与会人员讨论{title}（会议录像，演示）")),
    )  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="demo-av-") as tmp:
        for kind, suffix, seconds, candidates, label, segment in plans:
            if held.filter(kind=kind).exists():
                made.append(f"{label} 1 段（已有）")
                continue
            record = candidates.first() or pool.order_by("-date", "pk").first()
            if record is None:
                continue
            slate = f"{record.reference_code} {record.title}"[:40]
            path = Path(tmp) / f"{record.reference_code}{suffix}"
            av.generate_sample(path, kind, seconds, text=slate)  # type: ignore[arg-type]
            recording = recordings.add_recording(record, path, user=archivist)
            start, end, text = segment
            description = text.format(
                year=record.year or "",
                place=record.author or record.fonds.creator,
                title=f"《{record.title}》",
            )
            recordings.add_segment(recording, start, end, description, user=archivist)
            made.append(f"{label} 1 段（{seconds} 秒，{record.reference_code}）")
    return "、".join(made) or "未生成"
