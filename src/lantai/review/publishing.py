"""公布: publishing approved decisions (the record opens at once in search and on the portal, with
its redacted open copy where it opens in part), the deferral list (延期开放目录) for the authority,
and the re-review of deferred records in their year (办法 art 15, 17)."""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext

from lantai.catalog import open_copies
from lantai.catalog import services as catalog
from lantai.catalog.models import Record, Repository
from lantai.core import audit
from lantai.core.models import User
from lantai.core.roles import REVIEW_MANAGE
from lantai.review import redaction, texts
from lantai.review.models import ReviewItem, ReviewTask
from lantai.review.services import (
    ReviewError,
    create_task,
    stage_label,
    under_review,
    visible_items,
)
from lantai.search import services as search
from lantai.standards.sensitivity import ground_citation, grounds

OPEN_STATUS = {"open": "open", "restricted_use": "restricted_use", "deferred": "closed"}


def ready(task: ReviewTask) -> QuerySet[ReviewItem]:
    """Items approved (馆审定) and not yet published."""
    return task.items.filter(stage="published", published_at__isnull=True)


@dataclass
class Published:
    """What a publication did: counts per outcome, and the items it could not publish (each
    with the reason; they stay approved and can be published again once put right)."""

    counts: dict[str, int] = field(
        default_factory=lambda: {"open": 0, "partial": 0, "restricted_use": 0, "deferred": 0}
    )
    failed: list[tuple[str, str, str]] = field(default_factory=list)  # 档号, zh, en

    @property
    def published(self) -> int:
        return sum(self.counts.values())


def publish(items: Sequence[ReviewItem], user: User) -> Published:
    """Apply the approved decisions: 开放 opens the record now (through its redacted copy when
    passages are withheld), 控制使用 marks it so, 延期开放 keeps it closed until its re-review.
    Each item in its own transaction: one that cannot be published does not hold the others."""
    catalog.require(user, REVIEW_MANAGE)
    for item in items:
        if item.stage != "published" or item.published_at is not None:
            raise ReviewError(
                f"档案“{item.record.reference_code}”尚未经馆审定或已发布",
                f"{item.record.reference_code} is not approved or was published already",
            )
    done = Published()
    changed: list[int] = []
    for item in items:
        try:
            outcome = _publish_one(item)
        except ReviewError as e:
            done.failed.append((item.record.reference_code, e.message_zh, e.message_en))
            continue
        done.counts[outcome] += 1
        changed.append(item.record_id)
    if changed:
        search.apply_now(changed)  # at once; the queued index job repeats it harmlessly
    _close_finished(items)
    return done


def _publish_one(item: ReviewItem) -> str:
    with transaction.atomic():
        record = Record.objects.select_for_update().get(pk=item.record_id)
        evidence: dict[str, Any] = {}
        outcome = item.decision
        if item.decision == "open" and item.passages:
            evidence = _make_open_copy(record, item).evidence
            outcome = "partial"
        else:
            open_copies.clear_open_copy(record)
        declassified = ""
        if item.decision != "deferred" and record.classification_level > 0:
            # opened by review: no longer 限制 (internal) nor a secret whose period has run out
            # (保守国家秘密法 art 24: 期限已满自行解密; one not run out was refused at the decision)
            declassified = record.classification
            record.classification, record.classification_level = "public", 0
        record.open_status = OPEN_STATUS[item.decision]
        record.save()
        item.published_at = timezone.now()
        item.save(update_fields=["published_at", "updated_at"])
        audit.record("review_publish", "review_item", item.pk, {
            "record": record.reference_code, "record_id": record.pk,
            "decision": item.decision, "ground": item.ground, "rule": item.rule,
            "rereview_year": item.rereview_year, "partial": bool(item.passages),
            "open_copy": evidence, "declassified_from": declassified,
        })  # fmt: skip
    return outcome


def _make_open_copy(record: Record, item: ReviewItem) -> Any:
    sections = {s.key: s for s in texts.sections(record)}
    for p in item.passages:  # the record changed since the decision: its offsets may be wrong
        section = sections.get(p["section"])
        if section is None or section.text[p["start"] : p["end"]] != p.get("text"):
            raise ReviewError(
                f"档案“{record.reference_code}”在审核结论作出后内容已改动，不开放段落的位置可能不再准确；"
                "请重新审核后再发布",
                f"{record.reference_code} changed after the decision; review it again",
            )
    shown = [s for s in sections.values() if texts.is_public(s)]
    passages = [
        redaction.Passage(p["section"], p["start"], p["end"])
        for p in item.passages
        if texts.is_public(sections[p["section"]])
    ]
    try:
        made = redaction.make_open_copy(record, shown, passages)
    except redaction.RedactionError as e:
        raise ReviewError(f"档案“{record.reference_code}”的开放件未能生成：{e.message_zh}",
                          f"{record.reference_code}: {e.message_en}") from e  # fmt: skip
    return open_copies.set_open_copy(record, made.pdf, made.text, made.fields, made.evidence)


def _close_finished(items: Sequence[ReviewItem]) -> None:
    for task_id in {i.task_id for i in items}:
        left = ReviewItem.objects.filter(task_id=task_id, published_at__isnull=True).exists()
        if not left:
            ReviewTask.objects.filter(pk=task_id).update(status="done")


# --- 延期开放目录 ------------------------------------------------------------------------------
@dataclass(frozen=True)
class DeferralRow:
    number: int
    reference_code: str
    title: str
    year: int | None
    fonds: str
    ground: str
    rule: str
    rereview_year: int | None
    unit_opinion: str
    decided_by: str
    decided_at: str


DEFERRAL_HEADERS = (
    "序号", "档号", "题名", "年度", "全宗", "延期开放依据", "具体规则", "复审年度",
    "形成单位意见", "审定人", "审定日期",
)  # fmt: skip


def deferral_list(user: User | None, task: ReviewTask | None = None) -> list[DeferralRow]:
    """The deferred records (published decisions 延期开放) for the authority's approval, of one
    task or of every task the user sees."""
    qs = visible_items(user).filter(decision="deferred", published_at__isnull=False)
    if task is not None:
        qs = qs.filter(task=task)
    rows = []
    named = grounds()
    for n, item in enumerate(
        qs.select_related("record", "record__fonds").order_by("record__reference_code"), 1
    ):
        approval = item.decisions.filter(stage="approval").select_related("reviewer").last()
        unit = item.opinions.filter(side="unit").last()
        rows.append(
            DeferralRow(
                n,
                item.record.reference_code,
                item.record.title,
                item.record.year,
                f"{item.record.fonds.code} {item.record.fonds.name}",
                f"{ground_citation(item.ground)}{named[item.ground]['short_zh']}"
                if item.ground in named
                else item.ground,
                item.rule,
                item.rereview_year,
                ("同意" if unit.agrees else f"不同意：{unit.note}") if unit else "",
                approval.reviewer.get_full_name() or approval.reviewer.get_username()
                if approval
                else "",
                approval.at.date().isoformat() if approval else "",
            )  # fmt: skip
        )
    return rows


def deferral_xlsx(rows: Sequence[DeferralRow]) -> bytes:
    import openpyxl
    from openpyxl.cell import WriteOnlyCell

    wb = openpyxl.Workbook(write_only=True)
    ws = wb.create_sheet("延期开放目录")
    ws.append(list(DEFERRAL_HEADERS))
    for row in rows:
        cells = []
        for value in (row.number, row.reference_code, row.title, row.year, row.fonds,
                      row.ground, row.rule, row.rereview_year, row.unit_opinion,
                      row.decided_by, row.decided_at):  # fmt: skip
            cell = WriteOnlyCell(ws, value=value)
            if isinstance(value, str):
                cell.data_type = "s"  # text stays text: never a formula
            cells.append(cell)
        ws.append(cells)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


# --- re-review in their year -------------------------------------------------------------------
def due_rereviews(repository: Repository, year: int) -> list[Record]:
    """Closed records whose latest published decision is 延期开放 with a re-review year that has
    come, and that are not in a task under way."""
    published = ReviewItem.objects.filter(
        published_at__isnull=False, record__repository=repository, record__open_status="closed"
    ).exclude(record__in=under_review())
    latest: dict[int, ReviewItem] = {}
    for item in published.select_related("record").order_by("published_at", "pk"):
        latest[item.record_id] = item  # a later publication replaces an earlier one
    return [
        i.record
        for i in latest.values()
        if i.decision == "deferred" and (i.rereview_year or year + 1) <= year
    ]


def start_rereviews(year: int | None = None, user: User | None = None) -> list[ReviewTask]:
    """One 延期开放复审 task per archives for the deferred records due this year (the periodic
    job calls it; it does nothing when there are none)."""
    year = year or timezone.localdate().year
    made = []
    for repository in Repository.objects.all():
        records = due_rereviews(repository, year)
        if records:
            made.append(
                create_task(
                    user,
                    name=f"{repository.name} {year} 年延期开放档案复审",
                    records=records,
                    kind="rereview",
                    criteria={"rereview_year": year},
                )  # fmt: skip
            )
    return made


def stage_of(item: ReviewItem) -> str:
    if item.stage == "published":
        return gettext("已发布") if item.published_at else gettext("待发布")
    return stage_label(item.stage)
