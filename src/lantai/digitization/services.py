"""数字化批次: register a scanning batch, place and check its pages (DA/T 31), 抽检, accept or
return it. Views, the API, the CLI and jobs call these functions; OCR is in `reading.py`,
recordings in `recordings.py`.

A batch is checked as a whole in one job: every file is placed (layout.py), stored content-
addressed, each page read and measured, and the findings written. Nothing becomes part of a
record until the batch is accepted, and then every page of it at once."""

from __future__ import annotations

import logging
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Count, Min, Q, QuerySet
from django.utils import timezone

from lantai.catalog import components
from lantai.catalog.models import Record, Repository
from lantai.catalog.services import visible_repositories
from lantai.core import audit
from lantai.core.models import User
from lantai.core.roles import DIGITIZE, DIGITIZE_MANAGE
from lantai.digitization import file_facts, image_checks, layout, page_images
from lantai.digitization.models import Batch, Finding, Item, Page, Recording, StoredFileFields
from lantai.standards import dat31

log = logging.getLogger(__name__)
CHUNK = 500  # rows per query or bulk write
UNPLACED_CODES = ("catalogue_link", "naming", "file_format")  # a file that belongs to no page


class DigitizationError(Exception):
    """A refusal a user can act on: names the place and the rule."""

    def __init__(self, message_zh: str, message_en: str = "", field: str = "") -> None:
        super().__init__(message_zh)
        self.message_zh = message_zh
        self.message_en = message_en or message_zh
        self.field = field


# --- who sees which batch ---------------------------------------------------------------------
def visible_batches(user: User | None) -> QuerySet[Batch]:
    """Managers see the batches of the archives in their scope; a vendor only its own."""
    qs = Batch.objects.select_related("repository", "created_by")
    if user is None:
        return qs
    if not user.is_authenticated:
        return qs.none()
    if user.has_perm_code(DIGITIZE_MANAGE):
        return qs.filter(repository__in=visible_repositories(user))
    if user.has_perm_code(DIGITIZE):
        return qs.filter(created_by=user)
    return qs.none()


def visible_batch(user: User | None, pk: int) -> Batch | None:
    return visible_batches(user).filter(pk=pk).first()


def _require(user: User | None, permission: str) -> None:
    if user is not None and not user.has_perm_code(permission):
        raise DigitizationError("无权进行此数字化操作", "You may not do this digitization step")


def submit_repositories(user: User | None) -> QuerySet[Repository]:
    """The archives a user may bring batches for: a vendor those its account is scoped to."""
    if user is None or user.scope_all:
        return Repository.objects.all()
    return Repository.objects.filter(
        Q(pk__in=user.repositories.all()) | Q(fonds__in=user.fonds.all())
    ).distinct()


# --- registering and checking -------------------------------------------------------------------
def register_batch(
    folder: Path,
    *,
    user: User | None,
    repository: Repository,
    name: str = "",
    purpose: str = "ocr",
    sample_ratio: float | None = None,
) -> Batch:
    """A new batch for the scanning output in `folder` (checked by `check_batch`, a job)."""
    _require(user, DIGITIZE)
    if not submit_repositories(user).filter(pk=repository.pk).exists():
        raise DigitizationError(
            f"无权为档案馆“{repository.name}”提交数字化批次",
            f"You may not bring batches for {repository.name}",
            "repository",
        )
    known = [p.key for p in dat31.purposes()]
    if purpose not in known:
        raise DigitizationError(
            f"扫描用途“{purpose}”未知，可选：{'、'.join(known)}",
            f"Unknown purpose {purpose!r}: choose from {', '.join(known)}",
            "purpose",
        )
    least = float(dat31.threshold("sample_inspection", "ratio"))
    ratio = least if sample_ratio is None else sample_ratio
    if not least <= ratio <= 1:
        raise DigitizationError(
            f"抽检比例 {ratio:g} 低于 DA/T 31 的 {least:g} 或大于 1",
            f"Sample ratio {ratio:g} is below DA/T 31's {least:g} or above 1",
            "sample_ratio",
        )
    folder = folder.resolve()
    if not folder.is_dir():
        raise DigitizationError(
            f"批次文件夹“{folder}”不存在或不是文件夹", f"{folder} is not a folder", "folder"
        )
    batch = Batch.objects.create(
        repository=repository,
        name=(name or folder.name)[:200],
        source=str(folder),
        purpose=purpose,
        sample_ratio=ratio,
        created_by=user,
        catalogue_version=str(dat31.load_catalogue().revision),
    )
    audit.record("digitization_register", "digitization_batch", batch.pk, {"source": str(folder)})
    return batch


def inbox_folders() -> list[str]:
    """Folders waiting in the digitization inbox (the server's disk), by name."""
    root = Path(settings.DIGITIZATION_INBOX)
    if not root.is_dir():
        return []
    return sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))


def inbox_folder(name: str) -> Path:
    """A folder of the inbox by its name, refused when the name leaves the inbox."""
    root = Path(settings.DIGITIZATION_INBOX).resolve()
    path = (root / name).resolve()
    if not name or path.parent != root or not path.is_dir():
        raise DigitizationError(
            f"收件箱中没有文件夹“{name}”", f"The inbox has no folder {name!r}", "folder"
        )
    return path


@dataclass
class _Check:
    """Counts of what one check examined."""

    examined: int = 0
    passed: int = 0
    failed: int = 0
    warned: int = 0
    na: int = 0

    def add(self, result: str) -> None:
        self.examined += 1
        key = {"pass": "passed", "fail": "failed", "warn": "warned"}.get(result, "na")
        setattr(self, key, getattr(self, key) + 1)


class _Findings:
    """Findings of a batch being checked: the counts per check and the rows of the non-passes."""

    def __init__(self, batch: Batch) -> None:
        self.batch = batch
        self.counts: dict[str, _Check] = defaultdict(_Check)
        self.rows: list[Finding] = []

    def add(
        self,
        finding: dat31.Finding,
        subject: str,
        *,
        page: Page | None = None,
        item: Item | None = None,
    ) -> None:
        self.counts[finding.code].add(finding.result)
        if finding.result != "pass":
            self.rows.append(
                Finding(
                    batch=self.batch,
                    code=finding.code,
                    result=finding.result,
                    subject=subject[:500],
                    page=page,
                    item=item,
                    evidence=finding.evidence,
                    message_zh=finding.message_zh,
                    message_en=finding.message_en,
                )
            )

    def fail(self, code: str, subject: str, zh: str, en: str, **evidence: Any) -> None:
        evidence = {"file": subject, **evidence}
        self.add(dat31.Finding(code, "fail", evidence, zh, en), subject)


def check_batch(batch_id: int, progress: Callable[[int, int], None] | None = None) -> Batch:
    """Place, store, read and check every file of a batch (the job behind a registered batch).
    Run again after a crash it starts the batch over; a decided batch is left as it is."""
    batch = Batch.objects.select_related("repository").get(pk=batch_id)
    if batch.status != "checking":
        return batch
    with transaction.atomic():  # a crashed run left part of the batch: start over
        Finding.objects.filter(batch=batch).delete()
        Recording.objects.filter(batch=batch).delete()
        Page.objects.filter(batch=batch).delete()
        Item.objects.filter(batch=batch).delete()
    try:
        _check(batch, progress)
    except layout.LayoutError as e:
        batch.status, batch.result, batch.error = "failed", "fail", e.message_zh
        batch.summary = {"error_en": e.message_en}
        batch.checked_at = timezone.now()
        batch.save()
    except Exception as e:
        log.exception("digitization: checking batch %s failed", batch.pk)
        batch.status, batch.result, batch.error = "failed", "fail", f"检测出错：{e}"
        batch.checked_at = timezone.now()
        batch.save()
    return batch


def _existing_codes(repository: Repository) -> Callable[[set[str]], set[str]]:
    def existing(codes: set[str]) -> set[str]:
        found: set[str] = set()
        wanted = sorted(codes)
        for i in range(0, len(wanted), CHUNK):
            found.update(
                Record.objects.filter(
                    repository=repository, reference_code__in=wanted[i : i + CHUNK]
                ).values_list("reference_code", flat=True)
            )
        return found

    return existing


def _check(batch: Batch, progress: Callable[[int, int], None] | None) -> None:
    root = Path(batch.source)
    plan = layout.read_layout(root, _existing_codes(batch.repository))
    findings = _Findings(batch)
    codes = {p.reference_code for p in plan.placements if p.reference_code}
    codes |= {code for _, code, _ in plan.missing} | {Path(f).name for f in plan.empty}
    records = _records(batch.repository, codes)
    items: dict[str, Item] = {}

    def item_for(code: str) -> Item:
        if code not in items:
            record = records[code]
            items[code] = Item.objects.create(
                batch=batch, record=record, reference_code=code, declared_pages=record.pages
            )
        return items[code]

    for row, code, name in plan.missing:
        findings.fail(
            "catalogue_link",
            name,
            f"清单第 {row} 行列出的文件“{name}”（档号 {code}）不在批次中",
            f"The file {name!r} (档号 {code}) listed in row {row} of the manifest is not in the batch",
            row=row,
            reference_code=code,
        )
        if code in records:
            item_for(code)  # the record is listed: it shows among the records without pages
    for link in plan.links:
        findings.fail(
            "file_format",
            link,
            f"“{link}”是符号链接，不是图像文件：未读取（请放入文件本身）",
            f"{link!r} is a symbolic link, not an image file: not read (put the file itself)",
        )
    for folder in plan.empty:
        item_for(Path(folder).name)  # a record's folder with nothing in it: 漏扫 of every page
    pages: list[Page] = []
    facts: dict[int, image_checks.PageFacts] = {}
    named: dict[str, list[str]] = defaultdict(list)  # 档号 -> stems of its 档号-页号 files
    total = len(plan.placements)
    for done, place in enumerate(plan.placements, 1):
        if place.problem:
            findings.fail(place.problem, place.source, place.message_zh, place.message_en)
        elif place.reference_code not in records:
            findings.fail(
                "catalogue_link",
                place.source,
                f"“{place.source}”对应的档号“{place.reference_code}”在{batch.repository.name}的目录中不存在",
                f"The 档号 {place.reference_code!r} of {place.source!r} is not in the catalogue of "
                f"{batch.repository.name}",
                reference_code=place.reference_code,
            )
        elif place.kind == "media":
            findings.counts["catalogue_link"].add("pass")
            _stage_recording(batch, item_for(place.reference_code), root, place, findings)
        else:
            findings.counts["catalogue_link"].add("pass")
            _stage_pages(batch, item_for(place.reference_code), root, place, findings, pages, facts)
            if place.how == "name" and place.number is not None:
                named[place.reference_code].append(Path(place.source).stem)
        if progress is not None:
            progress(done, total)
    Page.objects.bulk_create(pages, batch_size=CHUNK)
    _page_findings(batch, pages, facts, findings)
    _item_findings(items.values(), pages, named, findings)
    _digitized_before(batch, list(items.values()), findings)
    _duplicate_findings(pages, findings)
    _choose_sample(batch, list(items.values()))
    Finding.objects.bulk_create(findings.rows, batch_size=CHUNK)
    _finish(batch, plan, findings, pages, items)


def _records(repository: Repository, codes: set[str]) -> dict[str, Record]:
    found: dict[str, Record] = {}
    wanted = sorted(codes)
    for i in range(0, len(wanted), CHUNK):
        for record in Record.objects.filter(
            repository=repository, reference_code__in=wanted[i : i + CHUNK]
        ).only("pk", "reference_code", "pages", "level"):
            found[record.reference_code] = record
    return found


def _stage_pages(
    batch: Batch,
    item: Item,
    root: Path,
    place: layout.Placement,
    findings: _Findings,
    pages: list[Page],
    facts: dict[int, image_checks.PageFacts],
) -> None:
    path = root / place.source
    facts_of_file = file_facts.file_facts(path)
    checked = file_facts.evaluate_file(facts_of_file)
    for finding in checked:
        findings.add(finding, place.source)
    if any(f.result == "fail" for f in checked):
        return  # a corrupt file or a format not taken: its pages are not read
    stored = components.store_file(path)
    multipage = facts_of_file.frames > 1 or place.number is None
    start = len(pages)
    try:
        for frame in page_images.load_pages(path):  # one frame in memory at a time
            try:
                number = frame.frame if place.number is None else place.number
                page = Page(
                    batch=batch,
                    item=item,
                    number=number,
                    source_name=f"{place.source}#{frame.frame}" if multipage else place.source,
                    frame=frame.frame if multipage else 0,
                    **StoredFileFields.fields_of(stored),
                    file_format=facts_of_file.format,
                    compression=facts_of_file.compression or "",
                )
                measured = image_checks.analyse(
                    frame.image,
                    file_format=facts_of_file.format,
                    compression=facts_of_file.compression,
                    dpi=frame.dpi,
                    jpeg_quality=facts_of_file.jpeg_quality,
                )
            finally:
                frame.image.close()
            _measure(page, measured)
            facts[len(pages)] = measured
            pages.append(page)
    except page_images.UnreadableImage as e:  # a frame further on is unreadable: none is taken
        for i in range(start, len(pages)):
            facts.pop(i, None)
        del pages[start:]
        findings.fail("file_integrity", place.source, e.message_zh, e.message_en)


def _measure(page: Page, facts: image_checks.PageFacts) -> None:
    page.width, page.height = facts.width, facts.height
    page.dpi = min(facts.dpi) if facts.dpi else None
    page.mode = facts.mode
    page.skew = facts.skew_degrees
    page.blank = facts.blank
    page.phash = facts.phash


def _page_findings(
    batch: Batch,
    pages: list[Page],
    facts: dict[int, image_checks.PageFacts],
    findings: _Findings,
) -> None:
    for i, page in enumerate(pages):
        for finding in image_checks.evaluate_page(facts[i], batch.purpose):
            findings.add(finding, page.source_name, page=page, item=page.item)


def _item_findings(
    items: Iterable[Item], pages: list[Page], named: dict[str, list[str]], findings: _Findings
) -> None:
    numbers: dict[int, list[int]] = defaultdict(list)
    hashes: dict[int, list[tuple[int, str | None]]] = defaultdict(list)
    for page in pages:
        numbers[page.item_id].append(page.number)
        hashes[page.item_id].append((page.number, None if page.blank else page.phash))
    with_recordings = set(
        Recording.objects.filter(item__in=items).values_list("item_id", flat=True)
    )
    for item in items:
        got = sorted(numbers.get(item.pk, []))
        item.page_count = len(got)
        if not got and item.pk in with_recordings:
            continue  # a recording is not a page: 页数 is not its business
        for finding in image_checks.evaluate_item(
            item.reference_code,
            got,
            item.declared_pages,
            page_names=named.get(item.reference_code),
            phashes=hashes.get(item.pk, []),
        ):
            findings.add(finding, item.reference_code, item=item)
    Item.objects.bulk_update(list(items), ["page_count"], batch_size=CHUNK)


def attached_pages(record_ids: Iterable[int]) -> dict[int, tuple[int, int]]:
    """record id -> (pages attached, the first batch that attached them), for those that have."""
    rows = (
        Page.objects.filter(item__record_id__in=list(record_ids), component__isnull=False)
        .values("item__record_id")
        .annotate(n=Count("pk"), first=Min("batch_id"))
    )
    return {r["item__record_id"]: (r["n"], r["first"]) for r in rows}


def _digitized_before(batch: Batch, items: list[Item], findings: _Findings) -> None:
    """A record whose pages an earlier batch attached gets none from this one (已有数字化页面)."""
    with_pages = [i for i in items if i.page_count]
    before = attached_pages(i.record_id for i in with_pages)
    for item in with_pages:
        if item.record_id in before:
            pages, first = before[item.record_id]
            found = dat31.make_finding(
                "already_digitized", "fail", {"pages": pages, "batch": first}
            )
        else:
            found = dat31.make_finding("already_digitized", "pass", {"examined": 1})
        findings.add(found, item.reference_code, item=item)


def _duplicate_findings(pages: list[Page], findings: _Findings) -> None:
    """Near-duplicate pages of different items (a warning: forms and covers look alike; pairs
    within one item are evaluate_item's), one finding on each page of a pair."""
    hashed = [(i, p.phash) for i, p in enumerate(pages) if p.phash and not p.blank]
    limit = int(dat31.threshold("duplicate_page", "max_distance"))
    pairs = [
        (a, b, d)
        for a, b, d in image_checks.near_duplicates(hashed, limit)
        if pages[a].item_id != pages[b].item_id
    ]
    for a, b, distance in pairs:
        first, second = pages[a], pages[b]
        for page, other in ((first, second), (second, first)):
            findings.add(
                dat31.Finding(
                    "duplicate_page",
                    "warn",
                    {"other": other.source_name, "distance": distance, "phash": page.phash},
                    f"与“{other.source_name}”几乎相同（感知哈希距离 {distance}），疑为重扫",
                    f"Nearly the same as {other.source_name!r} (perceptual hash distance "
                    f"{distance}): scanned twice?",
                ),
                page.source_name,
                page=page,
                item=page.item,
            )


def _choose_sample(batch: Batch, items: list[Item]) -> None:
    """抽检: at least the batch's ratio of its items (at least one), chosen at random but the same
    every time the batch is checked again."""
    with_pages = sorted((i for i in items if i.page_count), key=lambda i: i.reference_code)
    if not with_pages:
        return
    chosen = dat31.sample_items(
        [i.reference_code for i in with_pages], seed=f"batch-{batch.pk}", ratio=batch.sample_ratio
    )
    Item.objects.filter(batch=batch, reference_code__in=chosen).update(sampled=True)


def _finish(
    batch: Batch,
    plan: layout.Layout,
    findings: _Findings,
    pages: list[Page],
    items: dict[str, Item],
) -> None:
    counts = {code: vars(c) for code, c in sorted(findings.counts.items())}
    heard = set(Recording.objects.filter(batch=batch).values_list("item_id", flat=True))
    failed = sum(c.failed for c in findings.counts.values())
    warned = sum(c.warned for c in findings.counts.values())
    batch.summary = {
        "files": len(plan.placements) + (1 if plan.manifest else 0),
        "manifest": plan.manifest,
        "pages": len(pages),
        "recordings": Recording.objects.filter(batch=batch).count(),
        "items": len(items),
        "items_without_pages": sum(
            1 for i in items.values() if not i.page_count and i.pk not in heard
        ),
        "unplaced": sum(c.failed for k, c in findings.counts.items() if k in UNPLACED_CODES),
        "checks": counts,
    }
    if not pages and not batch.summary["recordings"]:
        failed += 1  # a batch in which nothing could be examined is not a pass
        batch.error = "批次中没有可检测的页面或录音录像"
    batch.result = "fail" if failed else ("warn" if warned else "pass")
    batch.status = "checked"
    batch.checked_at = timezone.now()
    batch.save()


def _stage_recording(
    batch: Batch, item: Item, root: Path, place: layout.Placement, findings: _Findings
) -> None:
    from lantai.digitization import av

    path = root / place.source
    try:
        info = av.probe(path)
    except av.MediaRejected as e:
        findings.fail("file_integrity", place.source, e.message_zh, e.message_en)
        return
    findings.counts["file_integrity"].add("pass")
    stored = components.store_file(path)
    Recording.objects.create(
        record_id=item.record_id,
        batch=batch,
        item=item,
        source_name=place.source,
        **StoredFileFields.fields_of(stored),
        kind=info.kind,
        info=info.as_dict(),
        status="staged",
    )


# --- 抽检, accept, return ------------------------------------------------------------------------
def sample_pages(batch: Batch) -> QuerySet[Page]:
    return Page.objects.filter(batch=batch, item__sampled=True).select_related("item")


def inspect_page(page: Page, *, user: User | None, result: str, note: str = "") -> None:
    """A person's verdict on one sampled page: pass, or fail with a note saying what is wrong."""
    _require(user, DIGITIZE_MANAGE)
    if page.batch.status != "checked":
        raise DigitizationError("该批次已验收或退回，不能再抽检", "The batch is already decided")
    if not page.item.sampled:
        raise DigitizationError("该页不在抽检样本中", "This page is not in the sample")
    if result not in ("pass", "fail"):
        raise DigitizationError("抽检结论只能是“合格”或“不合格”", "Pass or fail", "result")
    if result == "fail" and not note.strip():
        raise DigitizationError(
            "判为不合格时须写明问题（如：字迹不清、缺页、倾斜）",
            "Say what is wrong with a failed page",
            "note",
        )
    page.inspection, page.inspection_note = result, note.strip()
    page.inspected_by, page.inspected_at = user, timezone.now()
    page.save(update_fields=["inspection", "inspection_note", "inspected_by", "inspected_at"])


@dataclass(frozen=True)
class Readiness:
    """What stands between a checked batch and its acceptance."""

    failures: int  # findings that fail
    warnings: int
    uninspected: int  # sampled pages nobody looked at yet
    rejected: int  # sampled pages a person failed

    @property
    def acceptable(self) -> bool:
        return not (self.failures or self.uninspected or self.rejected)


def readiness(batch: Batch) -> Readiness:
    results = Counter(Finding.objects.filter(batch=batch).values_list("result", flat=True))
    sample = Counter(sample_pages(batch).values_list("inspection", flat=True))
    failures = results["fail"] + (1 if batch.result == "fail" and not results["fail"] else 0)
    return Readiness(failures, results["warn"], sample[""], sample["fail"])


def accept_batch(batch: Batch, *, user: User | None, reason: str = "") -> int:
    """Attach every page of the batch to its record (one transaction) and queue their OCR.
    Refused while a check fails, a sampled page is not inspected or was failed; warnings need a
    written reason. Returns the number of pages attached."""
    _require(user, DIGITIZE_MANAGE)
    with transaction.atomic():
        batch = Batch.objects.select_for_update().get(pk=batch.pk)
        if batch.status != "checked":
            raise DigitizationError(
                f"批次状态为“{batch.get_status_display()}”，只有待验收的批次可以验收",
                f"The batch is {batch.status}: only a checked batch can be accepted",
            )
        ready = readiness(batch)
        if ready.uninspected and not (ready.failures or ready.rejected):
            raise DigitizationError(
                f"不能验收：还有 {ready.uninspected} 个抽检页面未检查，请先完成抽检",
                f"Cannot accept yet: {ready.uninspected} sampled pages are not inspected; "
                "finish the 抽检 first",
            )
        if not ready.acceptable:
            raise DigitizationError(
                f"不能验收：{ready.failures} 项检测不合格，{ready.rejected} 个抽检页面不合格"
                f"（另有 {ready.uninspected} 个未检查）。请退回数字化服务商整改",
                f"Cannot accept: {ready.failures} failed checks, {ready.rejected} sampled pages "
                f"failed ({ready.uninspected} not inspected); return the batch for correction",
            )
        ids = batch.items.filter(page_count__gt=0).values_list("record_id", flat=True)
        twice = attached_pages(ids)
        if twice:  # another batch was accepted for the same records since this one was checked
            raise DigitizationError(
                f"不能验收：{len(twice)} 件档案在本批次检测之后已由其他批次挂接了页面，请退回或重新检测",
                f"Cannot accept: {len(twice)} records got pages from another batch after this "
                "one was checked; return it or check it again",
            )
        if ready.warnings and not reason.strip():
            raise DigitizationError(
                f"有 {ready.warnings} 项警告：请写明验收说明",
                "Give a reason to accept despite warnings",
                "reason",
            )
        _record_sample(batch)
        attached = _attach(batch)
        batch.status, batch.accept_reason = "accepted", reason.strip()
        batch.decided_by, batch.decided_at = user, timezone.now()
        batch.save()
        audit.record("digitization_accept", "digitization_batch", batch.pk, {"pages": attached})
        transaction.on_commit(lambda: _queue_after_accept(batch.pk))
    return attached


def _record_sample(batch: Batch) -> None:
    """The 抽检 as a check of the batch's report, once a person has decided the batch."""
    verdicts = list(sample_pages(batch).exclude(inspection="").values_list("inspection", flat=True))
    finding = image_checks.evaluate_sample(
        batch.items.filter(page_count__gt=0).count(),
        batch.items.filter(sampled=True).count(),
        [v == "pass" for v in verdicts],
    )
    findings = _Findings(batch)
    findings.add(finding, batch.name)
    Finding.objects.filter(batch=batch, code="sample_inspection").delete()
    Finding.objects.bulk_create(findings.rows)
    checks = batch.summary.setdefault("checks", {})
    checks["sample_inspection"] = vars(findings.counts["sample_inspection"])


def _attach(batch: Batch) -> int:
    """One component per stored file (a multipage file is one component of many pages)."""
    made: dict[tuple[int, str], int] = {}
    pages = list(Page.objects.filter(batch=batch).select_related("item__record"))
    for page in pages:
        key = (page.item.record_id, page.sm3)
        if key not in made:
            name = Path(page.source_name.split("#")[0]).name
            made[key] = components.add_stored(page.item.record, page.stored(), name).pk
        page.component_id = made[key]
        page.ocr_status = "pending"  # every attached page is read
    Page.objects.bulk_update(pages, ["component", "ocr_status"], batch_size=CHUNK)
    for recording in Recording.objects.filter(batch=batch).select_related("record"):
        name = Path(recording.source_name).name
        component = components.add_stored(recording.record, recording.stored(), name)
        recording.component, recording.status = component, "pending"
        recording.save(update_fields=["component", "status"])
        made[(recording.record_id, recording.sm3)] = component.pk
    components.touch(record_id for record_id, _sm3 in made)
    return len(pages)


def _queue_after_accept(batch_id: int) -> None:
    from lantai.digitization import tasks

    tasks.queue_batch_work(batch_id)


def return_batch(batch: Batch, *, user: User | None, reason: str) -> None:
    """Return the batch to whoever brought it, with the reasons; nothing of it is attached."""
    _require(user, DIGITIZE_MANAGE)
    if not reason.strip():
        raise DigitizationError("退回时须写明理由", "Give the reasons for returning", "reason")
    with transaction.atomic():
        batch = Batch.objects.select_for_update().get(pk=batch.pk)
        if batch.status not in ("checked", "failed"):
            raise DigitizationError(
                f"批次状态为“{batch.get_status_display()}”，不能退回",
                f"The batch is {batch.status}: it cannot be returned",
            )
        _record_sample(batch)
        batch.status, batch.return_reason = "returned", reason.strip()
        batch.decided_by, batch.decided_at = user, timezone.now()
        batch.save()
        audit.record("digitization_return", "digitization_batch", batch.pk, {"reason": reason})


def recheck_batch(batch: Batch, *, user: User | None) -> Batch:
    """Check a returned or failed batch again (the vendor corrected its folder)."""
    _require(user, DIGITIZE)
    if batch.status not in ("returned", "failed"):
        raise DigitizationError(
            "只有已退回或检测出错的批次可以重新检测",
            "Only a returned or failed batch is checked again",
        )
    batch.status, batch.result, batch.error, batch.summary = "checking", "", "", {}
    batch.decided_by, batch.decided_at = None, None
    batch.save()
    return batch


def ocr_progress(batch: Batch) -> dict[str, int]:
    """Pages of the batch by OCR state, and those flagged for correction."""
    states = Counter(Page.objects.filter(batch=batch).values_list("ocr_status", flat=True))
    return {
        "pages": sum(states.values()),
        "done": states["done"],
        "pending": states["pending"],
        "failed": states["failed"],
        "not_wanted": states[""],
        "needs_correction": Page.objects.filter(batch=batch, needs_correction=True).count(),
    }
