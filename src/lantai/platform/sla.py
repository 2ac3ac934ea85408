"""The provincial deadlines of requests across archives (cn-standards.md §6.5): the holding
archives (协办馆) answers within 4 working days of receipt, the receiving archives (受理馆) informs
the requester within 2 working days of the answer. Working days come from the operator's holiday
calendar (LANTAI_PLATFORM_HOLIDAYS); without one only weekends are skipped, and pages say so."""

from __future__ import annotations

import datetime as dt
import functools
from pathlib import Path
from typing import Any

from django.conf import settings
from django.utils import timezone

from lantai.standards import working_days

ANSWER_DAYS = 4
INFORM_DAYS = 2


@functools.lru_cache(maxsize=1)
def _loaded() -> tuple[working_days.Calendar, str]:
    """The operator's calendar, or weekends only with the reason (a broken file must not stop
    requests: the pages and `platform status` say what is wrong)."""
    path = getattr(settings, "PLATFORM_HOLIDAYS", "")
    try:
        return working_days.load(Path(path) if path else None), ""
    except working_days.CalendarError as exc:
        return working_days.Calendar(), exc.message_zh


def calendar() -> working_days.Calendar:
    return _loaded()[0]


def calendar_note() -> str:
    cal, problem = _loaded()
    today = timezone.localdate()
    if problem:
        return f"节假日表有误，期限只扣除周末：{problem}"
    if not cal.years:
        return "未配置法定节假日表（LANTAI_PLATFORM_HOLIDAYS）：期限只扣除周末"
    if not cal.covers(today):
        return f"节假日表只含 {', '.join(map(str, cal.years))} 年：{today.year} 年的期限只扣除周末"
    return ""


def answer_due(received: dt.datetime) -> dt.date:
    return working_days.add(timezone.localdate(received), ANSWER_DAYS, calendar())


def inform_due(answered: dt.datetime) -> dt.date:
    return working_days.add(timezone.localdate(answered), INFORM_DAYS, calendar())


def overdue(row: Any, today: dt.date | None = None) -> str:
    """'' or which deadline has passed: 'answer' (the holder's) or 'inform' (the receiver's)."""
    today = today or timezone.localdate()
    if row.answered_at is None and row.answer_due < today:
        return "answer"
    if row.role == "sent" and row.informed_at is None and row.inform_due and row.inform_due < today:
        return "inform"
    return ""


def dashboard(today: dt.date | None = None) -> dict[str, Any]:
    """Counts for the SLA dashboard: open, due today, overdue, by role."""
    from .models import RemoteRequest

    today = today or timezone.localdate()
    out: dict[str, Any] = {"note": calendar_note()}
    for role in ("sent", "received"):
        rows = list(RemoteRequest.objects.filter(role=role).exclude(status="informed"))
        waiting = [r for r in rows if r.answered_at is None]
        out[role] = {
            "open": len(waiting) if role == "received" else len([r for r in rows if r.informed_at is None]),
            "overdue_answer": sum(1 for r in rows if overdue(r, today) == "answer"),
            "overdue_inform": sum(1 for r in rows if overdue(r, today) == "inform"),
            "due_today": sum(1 for r in waiting if r.answer_due == today),
        }  # fmt: skip
    return out
