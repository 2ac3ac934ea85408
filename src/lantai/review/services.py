"""开放审核 as the 国家档案馆档案开放办法 lays it out: 计划 (plan a task of due records) → 组织 (assign
reviewers; the machine screens) → 审核 (初审, 复审, a senior's 抽查) → 确认 (会同审核 with the forming
unit, 馆审定) → 公布 (publish: open at once, partly open through a redacted copy, or defer with a
ground and a re-review year). People decide every item; every step is in the audit log."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.db import transaction
from django.db.models import Count, Q, QuerySet
from django.utils import timezone, translation

from lantai.catalog import holds
from lantai.catalog import services as catalog
from lantai.catalog.models import Category, Fonds, Record, Repository
from lantai.core import audit, sm3
from lantai.core.models import User
from lantai.core.roles import REVIEW, REVIEW_MANAGE, UNIT_REVIEW
from lantai.review.models import ReviewDecision, ReviewItem, ReviewTask, UnitOpinion
from lantai.standards import vocabularies as vocab
from lantai.standards.categories import MARRIAGE as MARRIAGE_CATEGORY
from lantai.standards.sensitivity import grounds, review_data

CHUNK = 500  # items created, and screened by one job, at a time
STAGES = tuple(s["code"] for s in review_data()["stages"])
OPTIONAL_STAGES = frozenset(s["code"] for s in review_data()["stages"] if s.get("optional"))
DECISIONS = {d["code"]: d for d in review_data()["decisions"]}
EARLY_SUBJECTS = {c["code"]: c for c in review_data()["early_open_categories"]}
REVIEWING_STAGES = ("first", "second", "sample")
MAX_SECONDS = 4 * 3600  # longer on one item is a page left open, not review time


class ReviewError(Exception):
    """A request the review cannot carry out; the messages name the place and the rule."""

    def __init__(self, message_zh: str, message_en: str) -> None:
        super().__init__(message_zh)
        self.message_zh, self.message_en = message_zh, message_en


def stage_label(code: str) -> str:
    """The stage's name in the page's language (the labels are data: open-review.yaml)."""
    key = "label_en" if (translation.get_language() or "").startswith("en") else "label_zh"
    for s in review_data()["stages"]:
        if s["code"] == code:
            return str(s[key])
    return code


# --- 计划: which records are due ----------------------------------------------------------------
@dataclass(frozen=True)
class Excluded:
    record: Record
    reason: str


@dataclass(frozen=True)
class Plan:
    records: list[Record]
    excluded: list[Excluded]


_YEARS = re.compile(r"(?<!\d)(\d{1,3})\s*年")  # a period: “10年”, “★20年”
_UNTIL_YEAR = re.compile(r"(?<!\d)(\d{4})\s*年")  # a 解密时间 given as a year: “至2030年”


def secrecy_until(record: Record) -> date | None:
    """When the 保密期限 of a classified record (秘密 and above) runs out: its 解密时间 written as a
    date, or its period (“10年”, “★20年”) — when blank, the longest period of its 密级 (保守国家秘密法
    art 20) — from its formation date. date.max (never by itself) for “长期”, for a record without
    a date and for a period Lantai cannot read. None: not a state secret."""
    levels = review_data()["secrecy_default_years"]
    if record.classification not in levels:
        return None
    period = (record.secrecy_period or "").strip()
    try:
        return vocab.parse_date(period)
    except vocab.DateError:
        pass
    if until_year := _UNTIL_YEAR.search(period):
        return date(int(until_year.group(1)), 12, 31)
    found = _YEARS.search(period)
    if "长期" in period or "永久" in period or (period and not found):
        return date.max
    years = int(found.group(1)) if found else int(levels[record.classification])
    formed = record.date or (date(record.year, 12, 31) if record.year else None)
    if formed is None:
        return date.max
    try:
        return formed.replace(year=formed.year + years)
    except ValueError:
        return formed.replace(year=formed.year + years, day=28)


def _due(record: Record, as_of: date) -> bool:
    due = record.open_due_date or vocab.open_due_date(record.date, record.year)
    return due is not None and due <= as_of


def plan_records(
    repository: Repository,
    *,
    as_of: date,
    fonds: Sequence[Fonds] = (),
    early_categories: Sequence[Category] = (),
    user: User | None = None,
) -> Plan:
    """The records of `repository` to put into a review task: not open, not in a task still
    under way, and due (formation + 25 years) — or, for the 门类 the archivist chose as early-open
    (经济/教育/科技/文化, 办法 art 7), not yet due; less those whose 保密期限 has not run out."""
    qs = catalog.visible_records(user).filter(repository=repository, level__in=("item", "volume"))
    qs = qs.exclude(category__code=MARRIAGE_CATEGORY)  # never opened (婚姻登记档案: personal)
    # what the selection reads: a plan of a million records holds a million of these
    qs = qs.only(
        "repository_id", "fonds_id", "category_id", "reference_code", "title", "date", "year",
        "open_due_date", "classification", "secrecy_period", "open_status",
    )  # fmt: skip
    qs = qs.exclude(open_status="open").exclude(pk__in=under_review())
    # decided already: deferred until a later re-review year, or 控制使用 (asked for, it can be
    # reviewed again on its own: 利用即时审)
    decided = ReviewItem.objects.filter(published_at__isnull=False).filter(
        Q(decision="deferred", rereview_year__gt=as_of.year) | Q(decision="restricted_use")
    )
    qs = qs.exclude(pk__in=decided.values("record_id"))
    if fonds:
        qs = qs.filter(fonds__in=list(fonds))
    early_ids = {c.pk for c in early_categories}
    chosen, excluded = [], []
    for record in qs.order_by("reference_code").iterator(chunk_size=2000):
        if not _due(record, as_of) and record.category_id not in early_ids:
            continue
        until = secrecy_until(record)
        if until is not None and until > as_of:
            shown = "长期" if until == date.max else until.isoformat()
            excluded.append(Excluded(record, f"保密期限未满（至 {shown}）"))
            continue
        chosen.append(record)
    return Plan(chosen, excluded)


def under_review() -> QuerySet[ReviewItem, Any]:
    return ReviewItem.objects.filter(task__status="active", published_at__isnull=True).values(
        "record_id"
    )


def _stages(chosen: Iterable[str]) -> list[str]:
    wanted = set(chosen) | (set(STAGES) - OPTIONAL_STAGES)
    unknown = wanted - set(STAGES)
    if unknown:
        raise ReviewError(
            f"未知的审核环节：{'、'.join(sorted(unknown))}", f"Unknown stages: {sorted(unknown)}"
        )
    return [s for s in STAGES if s in wanted]


def _drawn(purpose: str, task_id: int, record_id: int, rate: float) -> bool:
    """A reproducible draw: the same task and record are always drawn alike (the audit entry of
    the task names the rate, so the sample can be recomputed)."""
    digest = hashlib.sha256(f"review-{purpose}:{task_id}:{record_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 < rate


def create_task(
    user: User | None,
    *,
    name: str,
    records: Sequence[Record],
    kind: str = "due",
    criteria: dict[str, Any] | None = None,
    stages: Iterable[str] = ("second", "sample", "unit"),
    sample_rate: float | None = None,
    reviewers: Sequence[User] = (),
    unit_deadline: date | None = None,
    unassisted_rate: float = 0.0,
) -> ReviewTask:
    """A review task over `records`; items are assigned to `reviewers` in turn and queued for the
    machine pre-screen. A share `unassisted_rate` of the items, drawn at random, is shown without
    the machine's findings, so that the archives can measure what assistance is worth."""
    catalog.require(user, REVIEW_MANAGE)
    if not name.strip():
        raise ReviewError("任务名称不能为空", "The task needs a name")
    if not records:
        raise ReviewError("没有可审核的档案：计划未选中任何档案", "The plan selected no records")
    rate = review_data()["sample_rate"] if sample_rate is None else float(sample_rate)
    if not 0 <= rate <= 1 or not 0 <= unassisted_rate <= 0.5:
        raise ReviewError(
            "抽查比例须在 0 到 1 之间，无辅助对照比例须在 0 到 0.5 之间",
            "The sample rate must be within 0..1 and the unassisted share within 0..0.5",
        )
    for reviewer in reviewers:
        if not reviewer.has_perm_code(REVIEW):
            raise ReviewError(
                f"用户“{reviewer.get_username()}”不是审核员", f"{reviewer} is not a reviewer"
            )
    reviewing = set(under_review().values_list("record_id", flat=True))
    busy = sorted(r.reference_code for r in records if r.pk in reviewing)[:6]
    if busy:
        raise ReviewError(
            f"档案 {'、'.join(busy)} 已在审核中（在进行中的审核任务里），不能重复审核",
            f"Already under review in a task under way: {', '.join(busy)}",
        )
    repositories = {r.repository_id for r in records}
    if len(repositories) != 1:
        raise ReviewError("一个任务只能审核一个档案馆的档案", "One task reviews one archives")
    order = _stages(stages)
    with transaction.atomic():
        task = ReviewTask.objects.create(
            repository_id=repositories.pop(), name=name.strip(), kind=kind,
            criteria=criteria or {}, stages=order, sample_rate=rate,
            unit_deadline=unit_deadline, created_by=user,
        )  # fmt: skip
        task.reviewers.set(reviewers)
        people = list(reviewers)
        for start in range(0, len(records), CHUNK):  # a million items are made CHUNK at a time
            ReviewItem.objects.bulk_create(
                ReviewItem(
                    task=task,
                    record_id=r.pk,
                    stage="machine",
                    first_reviewer=people[i % len(people)] if people else None,
                    sampled="sample" in order and _drawn("sample", task.pk, r.pk, rate),
                    assisted=not _drawn("unassisted", task.pk, r.pk, unassisted_rate),
                )  # fmt: skip
                for i, r in enumerate(records[start : start + CHUNK], start)
            )
        audit.record("review_task_create", "review_task", task.pk, {
            "name": task.name, "kind": kind, "records": len(records), "stages": order,
            "sample_rate": rate, "unassisted_rate": unassisted_rate, "reviewers": [u.get_username() for u in people],
            "criteria": criteria or {},
        })  # fmt: skip
        transaction.on_commit(lambda: queue_screening(task.pk))
    return task


def request_task(user: User | None, record: Record, reason: str) -> ReviewTask:
    """利用即时审: a task for one record a citizen asked for."""
    if record.open_status == "open":
        raise ReviewError(f"档案“{record.reference_code}”已开放", "The record is open already")
    return create_task(
        user, name=f"利用即时审：{record.reference_code}", records=[record], kind="request",
        criteria={"reason": reason}, stages=("second",),
        reviewers=[user] if user is not None and user.has_perm_code(REVIEW) else [],
    )  # fmt: skip


def queue_screening(task_id: int) -> None:
    from lantai.review import tasks

    ids = list(
        ReviewItem.objects.filter(task_id=task_id, stage="machine")
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    for i in range(0, len(ids), tasks.SCREEN_BATCH):
        tasks.screen_items(ids[i : i + tasks.SCREEN_BATCH])


# --- 机审 --------------------------------------------------------------------------------------
def screen_item(item: ReviewItem) -> ReviewItem:
    """Run the pre-screen on an item and, if it was waiting for it, pass it on to 初审."""
    from lantai.review import screening, texts

    try:
        result = screening.screen_sections(texts.sections(item.record))
    except Exception as e:  # a file that cannot be read must not stop the task: say so
        item.screen_error = f"{type(e).__name__}: {e}"[:2000]
        result = {"spans": [], "sections": [], "versions": {}, "classifier": None, "risk": 0.0}
    else:
        item.screen_error = ""
    item.screening, item.risk, item.screened_at = result, result["risk"], timezone.now()
    if item.stage == "machine":
        item.stage = "first"
    item.save()
    return item


# --- the queue and progress ----------------------------------------------------------------------
def visible_tasks(user: User | None) -> QuerySet[ReviewTask]:
    """The tasks a user sees (every task for the console, user None)."""
    if user is None:
        return ReviewTask.objects.all()
    if user.has_perm_code(REVIEW_MANAGE):
        return ReviewTask.objects.filter(repository__in=catalog.visible_repositories(user))
    if user.has_perm_code(REVIEW):
        return ReviewTask.objects.filter(reviewers=user)
    return ReviewTask.objects.none()


def visible_items(user: User | None) -> QuerySet[ReviewItem]:
    """Items of the tasks the user sees, on records the user may see (scope and clearance)."""
    if user is None:
        return ReviewItem.objects.all()
    return ReviewItem.objects.filter(
        task__in=visible_tasks(user), record__in=catalog.visible_records(user)
    )


def queue(user: User, task: ReviewTask | None = None, stage: str = "") -> QuerySet[ReviewItem]:
    """What waits for `user`, riskiest first: their 初审, 复审 of others' 初审, and for a senior
    the 抽查, the disputes with units and the 馆审定."""
    qs = visible_items(user).select_related("record", "task")
    if task is not None:
        qs = qs.filter(task=task)
    mine = Q(stage="first") & (Q(first_reviewer=user) | Q(first_reviewer__isnull=True))
    mine |= Q(stage="second") & ~Q(decisions__stage="first", decisions__reviewer=user)
    if user.has_perm_code(REVIEW_MANAGE):
        mine |= Q(stage__in=("sample", "approval")) | Q(stage="unit", unit_state="disputed")
    qs = qs.filter(mine)
    if stage:
        qs = qs.filter(stage=stage)
    return qs.distinct().order_by("-risk", "record__reference_code")


def progress(task: ReviewTask) -> dict[str, Any]:
    """Items per stage, per fonds and per first reviewer (decided / all)."""
    items = task.items.all()
    by_stage = dict(items.values_list("stage").annotate(n=Count("pk")).values_list("stage", "n"))
    published = items.filter(published_at__isnull=False).count()
    done_first = Q(stage__in=[s for s in STAGES if s not in ("machine", "first")])
    by_fonds = [
        {"fonds": f"{row['record__fonds__code']} {row['record__fonds__name']}", **_n(row)}
        for row in items.values("record__fonds__code", "record__fonds__name")
        .annotate(total=Count("pk"), done=Count("pk", filter=done_first))
        .order_by("record__fonds__code")
    ]
    by_reviewer = [
        {"reviewer": row["first_reviewer__username"] or "—", **_n(row)}
        for row in items.values("first_reviewer__username")
        .annotate(total=Count("pk"), done=Count("pk", filter=done_first))
        .order_by("first_reviewer__username")
    ]
    return {
        "total": items.count(),
        "stages": [(s, stage_label(s), by_stage.get(s, 0)) for s in task.stages],
        "published": published,
        "doubts": items.filter(doubt=True).count(),
        "by_fonds": by_fonds,
        "by_reviewer": by_reviewer,
    }


def _n(row: dict[str, Any]) -> dict[str, int]:
    return {"total": row["total"], "done": row["done"]}


# --- 审核: decisions ----------------------------------------------------------------------------
@dataclass(frozen=True)
class Proposal:
    decision: str
    ground: str = ""
    rule: str = ""
    rereview_year: int | None = None
    passages: tuple[dict[str, Any], ...] = ()
    note: str = ""


def check_proposal(p: Proposal, item: ReviewItem) -> list[dict[str, Any]]:
    """The proposal's problems raise ReviewError; returns the passages with their text."""
    if p.decision not in DECISIONS:
        raise ReviewError(
            f"审核结论“{p.decision}”无效：应为开放、延期开放或控制使用",
            f"Unknown decision {p.decision!r}: open, deferred or restricted_use",
        )
    if p.decision != "open":
        if p.ground not in grounds():
            raise ReviewError(
                "延期开放或控制使用须选择《国家档案馆档案开放办法》第八条的依据",
                "Deferring or restricting needs a ground of art. 8 of the opening measures",
            )
        if not p.rule.strip():
            raise ReviewError("须填写具体规则（延期开放的具体标准条目）", "Name the specific rule")
    if p.decision == "deferred":
        this_year = timezone.localdate().year
        if p.rereview_year is None or not this_year < p.rereview_year <= this_year + 50:
            raise ReviewError(
                f"延期开放须填写复审年度（{this_year + 1}–{this_year + 50}）",
                f"Deferring needs a re-review year ({this_year + 1}–{this_year + 50})",
            )
    if p.decision == "open":
        held = holds.refusal(item.record_id, "access")
        if held is not None:  # 档案法 art 31: the donor's condition is honoured
            raise ReviewError(
                f"{held}；限制期内不能作出“开放”结论，可作控制使用或延期开放",
                "A donor's access restriction is in force on this record: it cannot be opened",
            )
    if p.passages and p.decision != "open":
        raise ReviewError(
            "只有“开放”的档案才能标记不开放的段落（部分开放）",
            "Only an open decision can mark passages to withhold (partial opening)",
        )
    if p.decision != "deferred":
        until = secrecy_until(item.record)
        if until is not None and until > timezone.localdate():
            shown = "长期" if until == date.max else f"至 {until.isoformat()}"
            raise ReviewError(
                f"档案“{item.record.reference_code}”的保密期限未满（{shown}），须先解密，"
                "不能开放或控制使用；可作延期开放（第八条（一））",
                "The record is a state secret whose period has not run out: it can only be deferred",
            )
    return _passages(item, p.passages)


def _passages(item: ReviewItem, marked: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    if not marked:
        return []
    from lantai.review import redaction, texts

    listed = texts.sections(item.record)
    sections = {s.key: s for s in listed}
    out: list[dict[str, Any]] = []
    wanted: list[redaction.Passage] = []
    for n, p in enumerate(marked, 1):
        section = sections.get(str(p.get("section", "")))
        try:
            start, end = int(p["start"]), int(p["end"])
        except (KeyError, TypeError, ValueError):
            start = end = -1
        if section is None or not 0 <= start < end <= len(section.text):
            raise ReviewError(
                f"第 {n} 个不开放段落的位置无效（{p.get('section')} {p.get('start')}–{p.get('end')}）",
                f"Passage {n} has an invalid place",
            )
        out.append({
            "section": section.key, "start": start, "end": end,
            "text": section.text[start:end], "category": str(p.get("category", "")),
        })  # fmt: skip
        if texts.is_public(section):  # what an open copy will carry
            wanted.append(redaction.Passage(section.key, start, end))
    try:  # the same words left unmarked elsewhere would be published: refused now, not later
        redaction.check_passages([s for s in listed if texts.is_public(s)], wanted)
    except redaction.RedactionError as e:
        raise ReviewError(e.message_zh, e.message_en) from e
    return out


def _next_stage(item: ReviewItem, after: str) -> str:
    order = [str(s) for s in item.task.stages]
    for stage in order[order.index(after) + 1 :]:
        if stage == "sample" and not item.sampled:
            continue
        return stage
    return "published"


def _previous_reviewers(item: ReviewItem, stages: Iterable[str]) -> set[int]:
    return set(item.decisions.filter(stage__in=list(stages)).values_list("reviewer_id", flat=True))


def decide(
    item: ReviewItem,
    user: User,
    proposal: Proposal,
    *,
    seconds: float | None = None,
) -> ReviewDecision:
    """A reviewer's decision at the item's stage (初审, 复审, 抽查 or 馆审定); the item moves on."""
    stage = item.stage
    if stage not in (*REVIEWING_STAGES, "approval"):
        raise ReviewError(
            f"档案“{item.record.reference_code}”处于“{stage_label(stage)}”环节，不能在此作出审核结论",
            f"The item is at stage {stage!r}: no decision can be taken there",
        )
    needed = REVIEW_MANAGE if stage in ("sample", "approval") else REVIEW
    catalog.require(user, needed)
    if not visible_items(user).filter(pk=item.pk).exists():
        raise ReviewError("无权审核该档案（不在本人的任务或权限范围内）", "Not your item")
    if stage == "first" and item.first_reviewer_id not in (None, user.pk):
        raise ReviewError("该档案已分配给其他审核员初审", "Assigned to another reviewer")
    if stage == "second" and user.pk in _previous_reviewers(item, ("first",)):
        raise ReviewError(
            "不能复审本人初审的档案：复审须由另一名审核员进行",
            "You cannot give the second review of your own first review",
        )
    if stage in ("sample", "approval") and user.pk in _previous_reviewers(
        item, ("first", "second")
    ):
        raise ReviewError(
            f"{stage_label(stage)}须由未参与该档案初审、复审的人员进行",
            f"The {stage} needs someone who took neither the first nor the second review",
        )
    passages = check_proposal(proposal, item)
    if seconds is not None and not 0 < seconds <= MAX_SECONDS:
        seconds = None  # as the page measured it: an implausible figure is not kept
    shown = {
        "risk": item.risk,
        "versions": item.screening.get("versions", {}),
        "assisted": item.assisted,
    }
    with transaction.atomic():
        made = ReviewDecision.objects.create(
            item=item, stage=stage, reviewer=user, decision=proposal.decision,
            ground=proposal.ground if proposal.decision != "open" else "",
            rule=proposal.rule.strip(), rereview_year=proposal.rereview_year
            if proposal.decision == "deferred" else None,
            passages=passages, note=proposal.note.strip(), seconds=seconds,
            assisted=item.assisted, shown=shown,
        )  # fmt: skip
        _apply(item, made)
        if stage == "first" and item.first_reviewer_id is None:
            item.first_reviewer = user
        item.stage = "published" if stage == "approval" else _next_stage(item, stage)
        if item.stage == "unit":
            item.unit_state = "pending"
        item.doubt = item.doubt and stage != "approval"
        item.save()
        audit.record("review_decide", "review_item", item.pk, {
            "record": item.record.reference_code, "record_id": item.record_id, "stage": stage, "decision": made.decision,
            "ground": made.ground, "rule": made.rule, "rereview_year": made.rereview_year,
            "passages": [_passage_trace(p) for p in passages], "seconds": seconds,
            "shown": shown, "findings": _findings_trace(item),
        })  # fmt: skip
    return made


def _apply(item: ReviewItem, d: ReviewDecision | UnitOpinion) -> None:
    item.decision, item.ground = d.decision, d.ground
    if isinstance(d, ReviewDecision):
        item.rule, item.rereview_year, item.passages = d.rule, d.rereview_year, d.passages


def _passage_trace(p: dict[str, Any]) -> dict[str, Any]:
    """A passage in the audit log: where it is and the SM3 of its text, never the text."""
    return {
        "section": p["section"], "start": p["start"], "end": p["end"],
        "sm3": sm3.sm3_hex(str(p.get("text", "")).encode()), "category": p.get("category", ""),
    }  # fmt: skip


def _findings_trace(item: ReviewItem) -> list[dict[str, Any]]:
    """What the machine showed, for the audit log: each span's place, kind, rule, version and
    score, and the SM3 of its text (a found ID number must not be copied into the log)."""
    return [
        {
            "section": s["section"],
            "start": s["start"],
            "end": s["end"],
            "kind": s["kind"],
            "rule": s["rule"],
            "version": s["version"],
            "score": s["score"],
            "sm3": sm3.sm3_hex(str(s["text"]).encode()),
        }  # fmt: skip
        for s in item.screening.get("spans", [])
        if s["kind"] not in ("place", "org")
    ]


def mark_doubt(item: ReviewItem, user: User, note: str) -> None:
    """Put an item on the doubt list (存疑清单) for the review meeting, or take it off (no note)."""
    catalog.require(user, REVIEW)
    if not visible_items(user).filter(pk=item.pk).exists():
        raise ReviewError("无权操作该档案", "Not your item")
    item.doubt, item.doubt_note = bool(note.strip()), note.strip()
    item.save(update_fields=["doubt", "doubt_note", "updated_at"])
    audit.record(
        "review_doubt",
        "review_item",
        item.pk,
        {"record_id": item.record_id, "note": item.doubt_note},
    )


def doubts(user: User) -> QuerySet[ReviewItem]:
    return visible_items(user).filter(doubt=True).select_related("record", "task")


# --- 会同审核 with the forming unit --------------------------------------------------------------
def _unit_fonds(user: User) -> QuerySet[Fonds]:
    """The fonds a forming unit's account speaks for: those in its scope (never all)."""
    return user.fonds.all()


def unit_items(user: User) -> QuerySet[ReviewItem]:
    """Items waiting for the unit's opinion, on the unit's own records only."""
    if not user.has_perm_code(UNIT_REVIEW):
        return ReviewItem.objects.none()
    return (
        ReviewItem.objects.filter(stage="unit", unit_state="pending")
        .filter(record__fonds__in=_unit_fonds(user))
        .select_related("record", "task")
        .order_by("task__unit_deadline", "record__reference_code")
    )


def unit_opinion(
    items: Sequence[ReviewItem],
    user: User,
    *,
    agrees: bool,
    decision: str = "",
    ground: str = "",
    note: str = "",
) -> int:
    """The unit's opinion on one item or many (in bulk): agreeing settles the result (协商一致)
    and passes it to 馆审定; disagreeing sends it back to the archives with the unit's proposal."""
    catalog.require(user, UNIT_REVIEW)
    own = set(_unit_fonds(user).values_list("pk", flat=True))
    for item in items:
        if item.record.fonds_id not in own:  # named by the id the unit sent, not its 档号
            raise ReviewError(
                f"审核事项 {item.pk} 不是本单位的档案，不能提出意见；未保存任何意见",
                f"Review item {item.pk} is not a record of your unit; nothing was saved",
            )
        if item.stage != "unit" or item.unit_state != "pending":
            raise ReviewError(
                f"档案“{item.record.reference_code}”不在等待本单位意见的环节；未保存任何意见",
                f"{item.record.reference_code} is not waiting for your opinion; nothing was saved",
            )
    if not agrees:
        if decision not in DECISIONS:
            raise ReviewError("不同意时须提出本单位的审核意见（开放、延期开放或控制使用）",
                              "Disagreeing needs the unit's own proposal")  # fmt: skip
        if decision != "open" and ground not in grounds():
            raise ReviewError("建议延期开放或控制使用须选择第八条的依据", "Name the ground")
        if not note.strip():
            raise ReviewError("不同意时须说明理由", "Disagreeing needs a reason")
    with transaction.atomic():
        for item in items:
            opinion = UnitOpinion.objects.create(
                item=item, author=user, side="unit", agrees=agrees,
                decision="" if agrees else decision, ground="" if agrees else ground,
                note=note.strip(),
            )  # fmt: skip
            if agrees:
                item.unit_state, item.stage = "agreed", _next_stage(item, "unit")
            else:
                item.unit_state = "disputed"
            item.save()
            audit.record("review_unit_opinion", "review_item", item.pk, {
                "record": item.record.reference_code, "record_id": item.record_id, "agrees": agrees,
                "decision": opinion.decision, "ground": opinion.ground, "note": opinion.note,
            })  # fmt: skip
    return len(items)


def answer_dispute(
    item: ReviewItem, user: User, *, accept: bool, proposal: Proposal | None = None
) -> None:
    """The archives' answer to a unit's disagreement: take the unit's proposal (agreed, 协商一致)
    or keep / revise its own and send it back to the unit."""
    catalog.require(user, REVIEW_MANAGE)
    if item.stage != "unit" or item.unit_state != "disputed":
        raise ReviewError("该档案没有待处理的形成单位异议", "No disagreement to answer")
    unit = item.opinions.filter(side="unit").last()
    assert unit is not None
    with transaction.atomic():
        if accept:
            taken = Proposal(unit.decision, unit.ground, rule=f"形成单位意见：{unit.note}"[:200],
                             rereview_year=timezone.localdate().year + 5
                             if unit.decision == "deferred" else None)  # fmt: skip
            check_proposal(taken, item)
            _record_archives(item, user, taken, agrees=True)
            item.unit_state, item.stage = "agreed", _next_stage(item, "unit")
        else:
            revised = proposal or Proposal(item.decision, item.ground, item.rule,
                                           item.rereview_year, tuple(item.passages))  # fmt: skip
            _record_archives(item, user, revised, agrees=False)
            item.unit_state = "pending"
        item.save()


def _record_archives(item: ReviewItem, user: User, p: Proposal, *, agrees: bool) -> None:
    passages = check_proposal(p, item)
    made = ReviewDecision.objects.create(
        item=item, stage="unit", reviewer=user, decision=p.decision, ground=p.ground,
        rule=p.rule, rereview_year=p.rereview_year, passages=passages, note=p.note,
    )  # fmt: skip
    _apply(item, made)
    UnitOpinion.objects.create(
        item=item, author=user, side="archives", agrees=agrees, decision=p.decision,
        ground=p.ground, note=p.note,
    )  # fmt: skip
    audit.record("review_unit_answer", "review_item", item.pk, {
        "record": item.record.reference_code, "record_id": item.record_id, "accepts_unit": agrees,
        "decision": p.decision, "ground": p.ground,
    })  # fmt: skip


def transfer_opinions(record: Record) -> list[dict[str, str]]:
    """What the unit said when it transferred the record (实施条例 art 30): 到期开放意见,
    政府信息公开情况, 密级变更情况, from the transfers whose packages hold the record."""
    from lantai.ingest.models import Transfer
    from lantai.preservation.models import PackageRecord

    ids = PackageRecord.objects.filter(record=record, package__kind="transfer").values_list(
        "package__source_id", flat=True
    )
    return [
        {
            "transfer": str(t.pk),
            "unit": t.unit,
            "opening_opinion": t.opening_opinion,
            "disclosure_status": t.disclosure_status,
            "classification_changes": t.classification_changes,
        }  # fmt: skip
        for t in Transfer.objects.filter(pk__in=list(ids)).order_by("pk")
        if t.opening_opinion or t.disclosure_status or t.classification_changes
    ]


def suggested_decision(opinions: Sequence[dict[str, str]]) -> str:
    """The decision a unit's 到期开放意见 suggests ("" when it says neither)."""
    text = " ".join(o["opening_opinion"] for o in opinions)
    if any(w in text for w in ("不宜开放", "延期开放", "不予开放", "暂不开放", "控制使用")):
        return "deferred"
    if "开放" in text:
        return "open"
    return ""
