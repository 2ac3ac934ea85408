"""Services of the appraisal room (鉴定与销毁). Views and the CLI call these, never the tables.

The appraisal group is everyone holding APPRAISE (保管员, 审核员, 审核组长). A task selects its
candidates (records whose 保管期限 has run out, classified records whose 保密期限 has ended, or a
list of 档号); members propose an outcome per record with a reason (many rows at once with one
reason); a *different* member holding APPRAISE decides on each proposal with a reason — nobody
decides their own proposal (decision: APPRAISE, not REVIEW_MANAGE, because the appraisal group of
实施条例 art 24 is the 保管员 and 审核员 together, and 审核组长 already holds APPRAISE). A decision
is applied to the record at once (new 保管期限, 密级 or 保密期限, audited by the catalogue's
change log); "destroy" changes nothing until a disposal removes the record. A task closes with
the 鉴定工作报告, frozen with its SM3.

Disposals (销毁) are in disposals.py."""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from lantai.appraisal.models import (
    AppraisalTask,
    Decision,
    Proposal,
    RetentionMark,
    TaskItem,
)
from lantai.catalog import services as catalog
from lantai.catalog.models import Record
from lantai.catalog.services import CatalogError, require
from lantai.core import audit
from lantai.core.models import User
from lantai.core.roles import APPRAISE
from lantai.core.sm3 import sm3_hex
from lantai.standards import appraisal as std
from lantai.standards import vocabularies as vocab

MAX_CANDIDATES = 20_000  # one task; a larger selection is split by 年度 or 全宗


class AppraisalError(CatalogError):
    """An input a user can correct; the message names the place and the rule in Chinese."""


def _rule(e: std.AppraisalRuleError, where: str = "") -> AppraisalError:
    return AppraisalError(f"{where}{e.message_zh}", e.field)


def _name(user: User | None) -> str:
    if user is None:
        return ""
    return user.get_full_name() or user.get_username()


def retention_label(code: str) -> str:
    try:
        return std.period(code).label_zh
    except std.AppraisalRuleError:
        return code


def classification_label(code: str) -> str:
    return vocab.classification_labels().get(code, code)


def outcome_label(code: str) -> str:
    found = std.outcomes().get(code)
    return found.label_zh if found else code


def kind_label(code: str) -> str:
    found = std.kinds().get(code)
    return found.label_zh if found else code


def classification_level(code: str) -> int:
    for term in vocab.get_vocabulary("classification").terms:
        if term.code == code:
            return term.level or 0
    return 0


def hidden_from(user: User | None, classification: str) -> bool:
    """Whether a row copied from a record of this 密级 is above `user`'s clearance (its title and
    details are not shown to them, as the catalogue hides the record itself)."""
    return user is not None and classification_level(classification) > user.clearance


# --- what is due ---------------------------------------------------------------------------------
def due_records(on: date, user: User | None = None) -> QuerySet[Record]:
    """Records (items and 案卷; 卷内文件 go with their 案卷) whose 保管期限 has run out by `on`: 年度 +
    period before `on`'s year, or, for a record kept on after an appraisal, its new period."""
    by_year = Q(pk__in=[])
    for p in std.periods().values():
        last = std.last_due_year(p.code, on)
        if last is not None:
            by_year |= Q(retention=p.code, year__lte=last)
    for old, code in std.legacy_mapping().items():
        last = std.last_due_year(code, on)
        if last is not None:
            by_year |= Q(retention="", retention_legacy=old, year__lte=last)
    base = catalog.visible_records(user).exclude(level="volume_item")
    unmarked = base.filter(by_year).filter(appraisal_mark__isnull=True)
    marked = base.filter(appraisal_mark__expires_on__lt=on)
    return (unmarked | marked).order_by("reference_code", "pk")


CLASSIFIED = ("confidential", "secret", "top_secret")


def classification_due(on: date, user: User | None = None) -> list[Record]:
    """Classified records whose 保密期限 has ended by `on` (密级鉴定), in 档号 order. The periods
    are read from free text, so the rows are checked here, not in SQL (one query)."""
    qs = (
        catalog.visible_records(user)
        .exclude(level="volume_item")
        .filter(classification__in=CLASSIFIED)
        .only(
            "pk",
            "reference_code",
            "title",
            "year",
            "date",
            "classification",
            "secrecy_period",
            "retention",
            "pages",
            "level",
        )  # fmt: skip
        .order_by("reference_code", "pk")
    )
    return [
        r
        for r in qs.iterator(chunk_size=2000)
        if std.is_classification_due(r.classification, r.secrecy_period, on, r.date, r.year)
    ]


def expiry_of(record: Record) -> date | None:
    mark = RetentionMark.objects.filter(record=record).first()
    if mark is not None:
        return mark.expires_on
    try:
        return std.expiry_date(record.year, record.retention or record.retention_legacy)
    except std.AppraisalRuleError:
        return None


def due_summary(rows: Iterable[Record], on: date) -> list[dict[str, Any]]:
    """Rows of `lantai appraisal due`: 档号, 题名, 年度, 保管期限 and the day it ran out."""
    rows = list(rows)
    marks = dict(
        RetentionMark.objects.filter(record__in=[r.pk for r in rows]).values_list(
            "record_id", "expires_on"
        )
    )
    out = []
    for r in rows:
        code = r.retention or std.legacy_mapping().get(r.retention_legacy, "")
        expired = marks.get(r.pk) if r.pk in marks else std.expiry_date(r.year, code)
        out.append({
            "id": r.pk, "reference_code": r.reference_code, "title": r.title, "year": r.year,
            "retention": code, "retention_label": retention_label(code),
            "expired_on": expired.isoformat() if expired else None,
        })  # fmt: skip
    return out


# --- tasks ---------------------------------------------------------------------------------------
def _outside_scope(user: User | None) -> Q | None:
    """Rows (task or disposal items) of a 全宗 outside `user`'s scope (the catalogue's rule:
    their repositories and fonds); None where the user sees every 全宗 (scope_all, the console)."""
    if user is None or user.scope_all:
        return None
    return ~Q(fonds_key__in=catalog.visible_fonds(user).values("pk"))


def visible_tasks(user: User | None) -> QuerySet[AppraisalTask]:
    """Tasks whose every candidate lies in `user`'s scope (a task of another archives, or one
    reaching into it, is not theirs)."""
    if user is not None and not user.has_perm_code(APPRAISE):
        return AppraisalTask.objects.none()
    qs = AppraisalTask.objects.select_related("created_by", "closed_by")
    outside = _outside_scope(user)
    if outside is not None:
        qs = qs.exclude(pk__in=TaskItem.objects.filter(outside).values("task_id"))
    return qs


def _copy(record: Record) -> dict[str, Any]:
    return {
        "reference_code": record.reference_code, "title": record.title[:1000],
        "year": record.year, "retention": record.retention or record.retention_legacy,
        "classification": record.classification, "secrecy_period": record.secrecy_period,
        "pages": record.pages, "level": record.level, "fonds_key": record.fonds_id,
    }  # fmt: skip


def _in_open_tasks(record_ids: Iterable[int]) -> set[int]:
    return set(
        TaskItem.objects.filter(record_key__in=list(record_ids), task__status="open")
        .filter(decision__isnull=True)
        .values_list("record_key", flat=True)
    )


def records_by_codes(user: User | None, codes: Sequence[str]) -> list[Record]:
    """Visible records for 档号 typed by a person (one a line); an unknown one is named."""
    wanted = list(dict.fromkeys(c.strip() for c in codes if c.strip()))
    if not wanted:
        raise AppraisalError("请填写档号（每行一个）", "codes")
    found: dict[str, list[Record]] = defaultdict(list)
    for r in catalog.visible_records(user).filter(reference_code__in=wanted):
        found[r.reference_code].append(r)
    missing = [c for c in wanted if c not in found]
    if missing:
        raise AppraisalError(f"档号 {'、'.join(missing[:20])} 不存在或不在您的范围内", "codes")
    twice = [c for c in wanted if len(found[c]) > 1]
    if twice:
        raise AppraisalError(
            f"档号 {'、'.join(twice[:20])} 在多个档案馆中都有：请分别建立鉴定任务", "codes"
        )
    return [found[c][0] for c in wanted]


def create_task(
    user: User | None,
    *,
    kind: str,
    name: str,
    basis: str = "",
    select: str,
    on: date | None = None,
    codes: Sequence[str] = (),
) -> AppraisalTask:
    """A new task with its candidates: `select` is "due" (保管期限 run out by `on`),
    "classification_due" (保密期限 ended by `on`) or "codes" (the 档号 given)."""
    require(user, APPRAISE)
    try:
        std.kind(kind)
    except std.AppraisalRuleError as e:
        raise _rule(e) from e
    name = name.strip()
    if not name:
        raise AppraisalError("请填写任务名称", "name")
    on = on or timezone.localdate()
    if select == "due":
        records = list(due_records(on, user)[: MAX_CANDIDATES + 1])
    elif select == "classification_due":
        records = classification_due(on, user)[: MAX_CANDIDATES + 1]
    elif select == "codes":
        records = records_by_codes(user, codes)
        busy = _in_open_tasks(r.pk for r in records)
        if busy:
            taken = [r.reference_code for r in records if r.pk in busy]
            raise AppraisalError(
                f"档号 {'、'.join(taken[:20])} 已在进行中的鉴定任务中，尚未决定", "codes"
            )
    else:
        raise AppraisalError(f"选取方式“{select}”无效", "select")
    if len(records) > MAX_CANDIDATES:
        raise AppraisalError(
            f"符合条件的档案超过 {MAX_CANDIDATES} 条：请按档号清单分批建立任务", "select"
        )
    skipped = _in_open_tasks(r.pk for r in records) if select != "codes" else set()
    records = [r for r in records if r.pk not in skipped]
    if not records:
        raise AppraisalError(
            f"{on.isoformat()} 没有符合条件的档案（已在进行中的任务里的档案不再选入）", "select"
        )
    why = {
        "due": f"保管期限已于 {on.isoformat()} 前届满",
        "classification_due": f"保密期限已于 {on.isoformat()} 前届满",
        "codes": "按档号选入",
    }[select]
    selection = {"select": select, "on": on.isoformat(), "count": len(records),
                 "skipped_in_open_tasks": len(skipped)}  # fmt: skip
    with transaction.atomic():
        task = AppraisalTask.objects.create(
            kind=kind, name=name[:200], basis=basis.strip(), selection=selection,
            created_by=user or _console_user(),
        )  # fmt: skip
        TaskItem.objects.bulk_create(
            [TaskItem(task=task, record=r, record_key=r.pk, why=why, **_copy(r)) for r in records],
            batch_size=1000,
        )
        audit.record(
            "appraisal_task_create", "appraisal_task", task.pk,
            {"kind": kind, "name": task.name, "selection": selection},
        )  # fmt: skip
    return task


def _console_user() -> User:
    raise AppraisalError("鉴定须由已登录的鉴定小组成员办理", "user")


def _open(task: AppraisalTask) -> None:
    if task.status != "open":
        raise AppraisalError(f"鉴定任务“{task.name}”已完成，不能再提出意见或作出决定", "task")


def items_by_codes(task: AppraisalTask, codes: Sequence[str]) -> list[int]:
    """Item ids of the task for 档号 typed by a person; a 档号 outside the task is named."""
    wanted = list(dict.fromkeys(c.strip() for c in codes if c.strip()))
    found = dict(task.items.filter(reference_code__in=wanted).values_list("reference_code", "pk"))
    missing = [c for c in wanted if c not in found]
    if missing:
        raise AppraisalError(
            f"档号 {'、'.join(missing[:20])} 不在鉴定任务“{task.name}”的候选档案中", "codes"
        )
    return [found[c] for c in wanted]


def _task_items(task: AppraisalTask, item_ids: Sequence[int]) -> list[TaskItem]:
    ids = list(dict.fromkeys(item_ids))
    if not ids:
        raise AppraisalError("请至少选择一条候选档案", "items")
    items = list(task.items.filter(pk__in=ids).select_related("record"))
    if len(items) != len(ids):
        outside = sorted(set(ids) - {i.pk for i in items})
        raise AppraisalError(
            f"所选条目 {outside[:20]} 不属于鉴定任务“{task.name}”：只能对本任务的候选档案提出意见",
            "items",
        )
    return items


def _require_visible(user: User | None, record_ids: list[int], items: Sequence[TaskItem]) -> None:
    seen = set(catalog.visible_records(user).filter(pk__in=record_ids).values_list("pk", flat=True))
    hidden = [i.reference_code for i in items if i.record_id and i.record_key not in seen]
    if hidden:
        raise AppraisalError(
            f"档号 {'、'.join(hidden[:20])} 不在您的范围内或密级高于您的涉密等级：不能提出意见或作出决定",
            "items",
        )


def propose(
    user: User | None,
    task: AppraisalTask,
    item_ids: Sequence[int],
    *,
    outcome: str,
    reason: str,
    new_retention: str = "",
    new_classification: str = "",
    new_secrecy_period: str = "",
) -> list[Proposal]:
    """One member's proposal, with one reason, for each of the chosen candidates. A member's
    earlier open proposal on a row is replaced."""
    require(user, APPRAISE)
    if user is None:
        _console_user()
    _open(task)
    reason = reason.strip()
    if not reason:
        raise AppraisalError("请填写鉴定意见的理由", "reason")
    items = _task_items(task, item_ids)
    _require_visible(user, [i.record_key for i in items if i.record_id], items)
    levels = {t.code: t.level or 0 for t in vocab.get_vocabulary("classification").terms}
    decided = set(Decision.objects.filter(item__in=items).values_list("item_id", flat=True))
    for item in items:
        where = f"档号“{item.reference_code}”："
        if item.pk in decided:
            raise AppraisalError(f"{where}已有鉴定决定，不能再提出意见", "items")
        if item.record is None:
            raise AppraisalError(f"{where}档案已不在目录中", "items")
        r = item.record
        try:
            std.check_outcome(
                task.kind, outcome, retention=r.retention or r.retention_legacy,
                new_retention=new_retention, classification=r.classification,
                new_classification=new_classification, new_secrecy_period=new_secrecy_period,
                classification_levels=levels,
            )  # fmt: skip
        except std.AppraisalRuleError as e:
            raise _rule(e, where) from e
    if (
        new_classification
        and user is not None
        and levels.get(new_classification, 0) > user.clearance
    ):
        raise AppraisalError("新密级高于您的涉密等级：不能提出此意见", "new_classification")
    assert user is not None
    retention_code = std.period(new_retention).code if new_retention else ""
    with transaction.atomic():
        Proposal.objects.filter(item__in=items, proposer=user, status="open").delete()
        made = Proposal.objects.bulk_create([
            Proposal(item=i, proposer=user, outcome=outcome, new_retention=retention_code,
                     new_classification=new_classification,
                     new_secrecy_period=new_secrecy_period.strip(), reason=reason)
            for i in items
        ])  # fmt: skip
        audit.record(
            "appraisal_propose", "appraisal_task", task.pk,
            {"outcome": outcome, "reason": reason, "new_retention": retention_code,
             "new_classification": new_classification,
             "new_secrecy_period": new_secrecy_period.strip(),
             "records": [i.reference_code for i in items]},
        )  # fmt: skip
    return made


def decide(
    user: User | None,
    task: AppraisalTask,
    proposal_ids: Sequence[int],
    *,
    reason: str,
    adopt: bool = True,
) -> list[Decision]:
    """Decide on members' proposals (one reason for all): adopt them (the decision is applied to
    the record at once) or not (the row stays open for another proposal). Nobody decides on their
    own proposal."""
    require(user, APPRAISE)
    if user is None:
        _console_user()
    assert user is not None
    _open(task)
    reason = reason.strip()
    if not reason:
        raise AppraisalError("请填写决定理由", "reason")
    ids = list(dict.fromkeys(proposal_ids))
    if not ids:
        raise AppraisalError("请至少选择一条鉴定意见", "proposals")
    proposals = list(
        Proposal.objects.filter(pk__in=ids, item__task=task).select_related("item", "item__record", "proposer")
    )  # fmt: skip
    if len(proposals) != len(ids):
        raise AppraisalError("所选意见不属于本鉴定任务", "proposals")
    seen: set[int] = set()
    for p in proposals:
        where = f"档号“{p.item.reference_code}”："
        if p.proposer_id == user.pk:
            raise AppraisalError(
                f"{where}不能决定本人提出的意见：须由鉴定小组的另一名成员决定", "proposals"
            )
        if p.status != "open":
            raise AppraisalError(f"{where}该意见已处理", "proposals")
        if p.item_id in seen:
            raise AppraisalError(f"{where}一次只能就一条意见作出决定", "proposals")
        seen.add(p.item_id)
        if adopt and p.item.record is None:
            raise AppraisalError(f"{where}档案已不在目录中", "proposals")
    items = [p.item for p in proposals]
    _require_visible(user, [i.record_key for i in items if i.record_id], items)
    if adopt and Decision.objects.filter(item_id__in=seen).exists():
        raise AppraisalError("所选档案中已有作出决定的", "proposals")
    made: list[Decision] = []
    with transaction.atomic():
        if not adopt:
            Proposal.objects.filter(pk__in=ids).update(status="rejected")
        else:
            today = timezone.localdate()
            for p in proposals:
                decision = Decision.objects.create(
                    item=p.item, proposal=p, outcome=p.outcome, new_retention=p.new_retention,
                    new_classification=p.new_classification,
                    new_secrecy_period=p.new_secrecy_period, reason=reason, decided_by=user,
                )  # fmt: skip
                decision.applied = _apply(p.item.record, decision, today)  # type: ignore[arg-type]
                decision.save(update_fields=["applied"])
                made.append(decision)
            Proposal.objects.filter(pk__in=ids).update(status="adopted")
            Proposal.objects.filter(item_id__in=seen, status="open").update(status="rejected")
        audit.record(
            "appraisal_decide", "appraisal_task", task.pk,
            {"adopt": adopt, "reason": reason, "proposals": ids,
             "records": {p.item.reference_code: p.outcome for p in proposals}},
        )  # fmt: skip
    return made


def _apply(record: Record, decision: Decision, today: date) -> dict[str, Any]:
    """Write the decision into the record (the catalogue's change log audits the update) and, for
    a record kept on, the new period counted from this year (实施条例 art 24: 重新划定期限并标注)."""
    changes: dict[str, Any] = {}
    o = decision.outcome
    if o in ("keep", "raise_retention", "lower_retention"):
        changes["retention"] = decision.new_retention
        changes["retention_legacy"] = ""
    elif o == "declassify":
        changes.update(classification="public", classification_level=0, secrecy_period="")
    elif o == "reclassify":
        c = vocab.normalize_classification(decision.new_classification)
        changes.update(classification=c.code, classification_level=c.level)
        if decision.new_secrecy_period:
            changes["secrecy_period"] = decision.new_secrecy_period
    elif o == "keep_classification":
        changes["secrecy_period"] = decision.new_secrecy_period
    applied: dict[str, Any] = {
        f: [getattr(record, f), v] for f, v in changes.items() if getattr(record, f) != v
    }
    if applied:
        for f, (_old, new) in applied.items():
            setattr(record, f, new)
        record.save(update_fields=[*applied, "updated_at"])
    if o == "keep":
        RetentionMark.objects.update_or_create(
            record=record,
            defaults={
                "retention": decision.new_retention, "counted_from_year": today.year,
                "expires_on": std.expiry_date(None, decision.new_retention, reappraised_year=today.year),
                "decision": decision,
            },
        )  # fmt: skip
        applied["counted_from_year"] = today.year
    elif o in ("raise_retention", "lower_retention"):
        RetentionMark.objects.filter(record=record).delete()
    return applied


def decide_own_check(user: User, proposal: Proposal) -> bool:
    """Whether `user` may decide on `proposal` (not their own, still open)."""
    return proposal.proposer_id != user.pk and proposal.status == "open"


@dataclass
class Row:
    item: TaskItem
    proposals: list[Proposal]
    decision: Decision | None


def task_rows(task: AppraisalTask) -> list[Row]:
    """The candidates with their proposals and decision (three queries)."""
    items = list(task.items.all())
    proposals: dict[int, list[Proposal]] = defaultdict(list)
    for p in Proposal.objects.filter(item__task=task).select_related("proposer"):
        proposals[p.item_id].append(p)
    decisions = {
        d.item_id: d for d in Decision.objects.filter(item__task=task).select_related("decided_by")
    }
    return [Row(i, proposals[i.pk], decisions.get(i.pk)) for i in items]


def report_data(task: AppraisalTask) -> dict[str, Any]:
    """The 鉴定工作报告 (实施条例 art 24): the task, the group, the counts by decision and every
    record with its proposal and decision. A closed task's report is the frozen one."""
    if task.status == "closed" and task.report:
        frozen: dict[str, Any] = task.report
        return frozen
    rows = task_rows(task)
    members: dict[str, str] = {}
    out_rows = []
    counts: Counter[str] = Counter()
    for n, row in enumerate(rows, 1):
        d = row.decision
        adopted = d.proposal if d else None
        if adopted is not None:
            adopted = next((p for p in row.proposals if p.pk == adopted.pk), adopted)
        for p in row.proposals:
            members[p.proposer.get_username()] = _name(p.proposer)
        if d:
            members[d.decided_by.get_username()] = _name(d.decided_by)
        counts[outcome_label(d.outcome) if d else "未决定"] += 1
        new = ""
        if d and d.new_retention:
            new = retention_label(d.new_retention)
        elif d and d.outcome == "declassify":
            new = classification_label("public")
        elif d and d.new_classification:
            new = classification_label(d.new_classification)
        if d and d.new_secrecy_period:
            new = f"{new} 保密期限{d.new_secrecy_period}".strip()
        out_rows.append({
            "number": n, "reference_code": row.item.reference_code, "title": row.item.title,
            "year": row.item.year, "retention": retention_label(row.item.retention),
            "classification": classification_label(row.item.classification),
            "classification_code": row.item.classification,
            "proposal": outcome_label(adopted.outcome) if adopted else "",
            "proposal_reason": adopted.reason if adopted else "",
            "proposer": _name(adopted.proposer) if adopted else "",
            "decision": outcome_label(d.outcome) if d else "未决定",
            "new_value": new, "decision_reason": d.reason if d else "",
            "decided_by": _name(d.decided_by) if d else "",
            "decided_at": timezone.localtime(d.decided_at).strftime("%Y-%m-%d") if d else "",
        })  # fmt: skip
    return {
        "task": {
            "id": task.pk, "name": task.name, "kind": kind_label(task.kind), "basis": task.basis,
            "created_by": _name(task.created_by),
            "created_at": timezone.localtime(task.created_at).strftime("%Y-%m-%d"),
            "closed_by": _name(task.closed_by),
            "closed_at": timezone.localtime(task.closed_at).strftime("%Y-%m-%d") if task.closed_at else "",
            "selection": task.selection,
        },
        "members": sorted(members.values()),
        "counts": dict(sorted(counts.items())),
        "total": len(rows),
        "rows": out_rows,
        "conclusion": task.conclusion,
        "final": task.status == "closed",
    }  # fmt: skip


def _digest(data: Any) -> str:
    body = json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str)
    return sm3_hex(body.encode("utf-8"))


def close_task(user: User | None, task: AppraisalTask, *, conclusion: str) -> AppraisalTask:
    """Finish the task: every candidate decided; the report is frozen with its SM3."""
    require(user, APPRAISE)
    if user is None:
        _console_user()
    _open(task)
    conclusion = conclusion.strip()
    if not conclusion:
        raise AppraisalError("请填写鉴定结论（写入鉴定工作报告）", "conclusion")
    open_rows = task.items.filter(decision__isnull=True).count()
    if open_rows:
        raise AppraisalError(
            f"还有 {open_rows} 条候选档案未作出鉴定决定：全部决定后才能完成任务并形成鉴定工作报告",
            "items",
        )
    with transaction.atomic():
        task.status, task.closed_by, task.closed_at = "closed", user, timezone.now()
        task.conclusion = conclusion
        task.report = {}
        task.report = report_data(task)
        task.report["final"] = True
        task.report_sm3 = _digest(task.report)
        task.save()
        audit.record(
            "appraisal_task_close", "appraisal_task", task.pk,
            {"report_sm3": task.report_sm3, "counts": task.report["counts"]},
        )  # fmt: skip
    return task
