"""载体与保护状况: the condition of a record's original carrier and the conservation actions done
on it (terms from standards/data/conservation.yaml; grades after DA/T 64.1-2017).

Curators (exhibits.curate) who may see the record record both; every entry is audited. The
public sees only the latest grade with its carrier and the kinds and dates of the actions
(`public_condition`): no notes, no names of who assessed or did the work.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db import transaction

from lantai.catalog.services import PermissionDenied, require, visible_records
from lantai.core import audit
from lantai.core.models import User
from lantai.core.roles import CURATE
from lantai.exhibits.databases import DatabaseError
from lantai.exhibits.models import CarrierCondition, ConservationAction
from lantai.standards.exhibit_fields import conservation_terms

MAX_NOTE = 4000
MAX_BY = 200


def _values(group: str) -> list[str]:
    return [t.value for t in conservation_terms(group)]


def _check_record(user: User | None, record_id: int) -> None:
    require(user, CURATE)
    if not 0 < record_id < 2**63 or not visible_records(user).filter(pk=record_id).exists():
        raise PermissionDenied("档案不存在，或您无权查阅")


def _day(value: Any, label: str) -> dt.date:
    if isinstance(value, dt.date):
        day = value
    else:
        try:
            day = dt.date.fromisoformat(str(value).strip())
        except ValueError:
            raise DatabaseError(f"“{label}”应写作 年-月-日（如 2024-05-01）", label) from None
    if day > dt.date.today():
        raise DatabaseError(f"“{label}”不能晚于今天", label)
    return day


def add_condition(
    user: User | None,
    record_id: int,
    *,
    carrier: str,
    grade: str,
    damage: list[str] | None = None,
    note: str = "",
    assessed_on: Any,
) -> CarrierCondition:
    _check_record(user, record_id)
    problems = []
    if carrier not in _values("carriers"):
        problems.append(f"“载体”：“{str(carrier)[:40]}”不在可选项中")
    if grade not in _values("grades"):
        problems.append(f"“破损等级”：“{str(grade)[:40]}”不在可选项中（DA/T 64.1-2017）")
    damage = [d for d in dict.fromkeys(damage or []) if d]
    unknown = [d for d in damage if d not in _values("damage")]
    if unknown:
        problems.append(f"“破损类型”：“{'、'.join(u[:40] for u in unknown[:5])}”不在可选项中")
    if len(note or "") > MAX_NOTE:
        problems.append(f"“说明”：不能超过 {MAX_NOTE} 个字符")
    try:
        day = _day(assessed_on, "评估日期")
    except DatabaseError as e:
        problems.append(e.message_zh)
    if problems:
        raise DatabaseError("保护状况有误", "condition", problems)
    with transaction.atomic():
        row = CarrierCondition.objects.create(
            record_id=record_id,
            carrier=carrier,
            grade=grade,
            damage=damage,
            note=(note or "").strip(),
            assessed_on=day,
            assessed_by=user,
        )
        audit.record(
            "carrier_condition_add",
            "record",
            record_id,
            {"carrier": carrier, "grade": grade, "damage": damage, "assessed_on": day.isoformat()},
        )
    return row


def add_action(
    user: User | None,
    record_id: int,
    *,
    kind: str,
    done_on: Any,
    done_by: str,
    note: str = "",
) -> ConservationAction:
    _check_record(user, record_id)
    problems = []
    if kind not in _values("actions"):
        problems.append(f"“保护措施”：“{str(kind)[:40]}”不在可选项中")
    done_by = " ".join((done_by or "").split())
    if not done_by:
        problems.append("“实施单位或人员”：必填")
    elif len(done_by) > MAX_BY:
        problems.append(f"“实施单位或人员”：不能超过 {MAX_BY} 个字符")
    if len(note or "") > MAX_NOTE:
        problems.append(f"“说明”：不能超过 {MAX_NOTE} 个字符")
    try:
        day = _day(done_on, "实施日期")
    except DatabaseError as e:
        problems.append(e.message_zh)
    if problems:
        raise DatabaseError("保护措施有误", "action", problems)
    with transaction.atomic():
        row = ConservationAction.objects.create(
            record_id=record_id,
            kind=kind,
            done_on=day,
            done_by=done_by,
            note=(note or "").strip(),
            recorded_by=user,
        )
        audit.record(
            "conservation_action_add",
            "record",
            record_id,
            {"kind": kind, "done_on": day.isoformat(), "done_by": done_by},
        )
    return row


def history(record_id: int) -> tuple[list[CarrierCondition], list[ConservationAction]]:
    """Every assessment and action of a record, newest first (staff: check the record first)."""
    conditions = list(
        CarrierCondition.objects.filter(record_id=record_id)
        .select_related("assessed_by")
        .order_by("-assessed_on", "-pk")
    )
    actions = list(
        ConservationAction.objects.filter(record_id=record_id).order_by("-done_on", "-pk")
    )
    return conditions, actions


@dataclass(frozen=True)
class PublicCondition:
    carrier: str
    grade: str
    assessed_year: int
    actions: list[tuple[str, int]]  # (kind, year)


def public_condition(record_id: int) -> PublicCondition | None:
    """What the public sees of a record's condition (call only for a record that is public)."""
    latest = (
        CarrierCondition.objects.filter(record_id=record_id).order_by("-assessed_on", "-pk").first()
    )
    actions = [
        (a.kind, a.done_on.year)
        for a in ConservationAction.objects.filter(record_id=record_id).order_by("done_on", "pk")
    ]
    if latest is None and not actions:
        return None
    return PublicCondition(
        carrier=latest.carrier if latest else "",
        grade=latest.grade if latest else "",
        assessed_year=latest.assessed_on.year if latest else 0,
        actions=actions,
    )
