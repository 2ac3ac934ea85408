"""The climate of each room: readings typed in or imported (importing.py), checked against the
room's limits (JGJ 25 by room kind, standards/stacks.py, or the room's own) and daily swings, with
alerts opened and resolved. Changing needs STACKS (保管员); every change is audited."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import Count, Max, Min, QuerySet
from django.db.models.functions import TruncDate
from django.utils import timezone

from lantai.core import audit
from lantai.core.models import User
from lantai.core.roles import STACKS
from lantai.standards import stacks as std

from .models import (
    ClimateAlert,
    ClimateReading,
    Room,
)
from .services import (
    StacksError,
    _actor,
    _all_stacks,
    _in_scope,
    _name,
    _require,
    _who,
    room_limits,
    rooms_for,
)

EARLIEST_READING = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)  # before it: no sensor, a typo


class TimeProblem(StacksError):
    """A refused time; `rule` is the import report's rule (required, not_iso8601, implausible,
    future)."""

    def __init__(self, message_zh: str, rule: str) -> None:
        super().__init__(message_zh)
        self.rule = rule


def parse_time(value: Any, field_name: str | None = "taken_at") -> dt.datetime:
    """An ISO 8601 time; one without an offset is local time (TIME_ZONE). A time before 1970
    (no climate sensor; a year 1 time would also overflow on conversion) or more than 10 minutes
    ahead is refused. `field_name` None: the message names just “时间” (the import report names
    its column itself)."""
    where = "时间" if field_name is None else f"时间（{field_name}）"
    if isinstance(value, dt.datetime):
        moment = value
    else:
        text = str(value or "").strip()
        if not text:
            raise TimeProblem(f"{where}必填", "required")
        try:
            moment = dt.datetime.fromisoformat(text)
        except ValueError:
            raise TimeProblem(
                f"{where}须为 ISO 8601 格式，如 2026-03-01T08:00:00+08:00：{text}", "not_iso8601"
            ) from None
    # by the year first: comparing a time of year 1 or 9999 with an offset overflows
    if moment.year < EARLIEST_READING.year:
        raise TimeProblem(
            f"{where}不可能为 {moment.isoformat()}：须不早于 1970-01-01（录入或传感器错误）",
            "implausible",
        )
    if moment.year > timezone.now().year + 1:
        raise TimeProblem(f"{where}晚于当前时间：{moment.isoformat()}", "future")
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment)
    if moment > timezone.now() + dt.timedelta(minutes=10):
        raise TimeProblem(f"{where}晚于当前时间：{moment.isoformat()}", "future")
    return moment


def enter_reading(
    user: User | None, room: Room, taken_at: Any, temperature: Any, humidity: Any
) -> tuple[ClimateReading, list[ClimateAlert]]:
    """Record a reading typed by a person; alerts open (or extend) for every limit it breaks."""
    _require(user, STACKS)
    _in_scope(user, Room.objects.values_list("building__repository_id", flat=True).get(pk=room.pk),
              "库房")  # fmt: skip
    moment = parse_time(taken_at)
    try:
        temp = std.parse_value("temperature", temperature)
        rh = std.parse_value("humidity", humidity)
    except std.ValueProblem as e:
        raise StacksError(e.message_zh) from None
    with transaction.atomic():
        if ClimateReading.objects.filter(room=room, taken_at=moment, sensor="").exists():
            raise StacksError(
                f"库房“{room.code}”在 {timezone.localtime(moment):%Y-%m-%d %H:%M} 已有人工录入的读数"
            )
        reading = ClimateReading.objects.create(room=room, taken_at=moment, temperature=temp, humidity=rh,
                                                source="entered", entered_by=_who(user))  # fmt: skip
        audit.record("stacks.reading.enter", "stacks_room", room.pk,
                     {"room": room.code, "taken_at": moment.isoformat(), "temperature": str(temp),
                      "humidity": str(rh)}, actor=_actor(user))  # fmt: skip
        alerts = evaluate(room, [reading], user)
    return reading, alerts


def evaluate(
    room: Room, readings: Sequence[ClimateReading], user: User | None = None
) -> list[ClimateAlert]:
    """Open or extend the alerts of `room` for the new `readings` (limits and daily fluctuation).
    Returns the alerts opened."""
    limits = room_limits(room)
    open_alerts = {
        a.kind: a
        for a in ClimateAlert.objects.filter(room=room, resolved_at__isnull=True, day__isnull=True)
    }
    touched: dict[str, ClimateAlert] = {}
    opened: list[ClimateAlert] = []
    for r in sorted(readings, key=lambda x: x.taken_at):
        for b in std.breaches(limits, Decimal(r.temperature), Decimal(r.humidity)):
            alert = open_alerts.get(b.kind)
            if alert is None:
                alert = ClimateAlert(room=room, kind=b.kind, limit=b.limit, worst=b.value,
                                     first_at=r.taken_at, last_at=r.taken_at, readings=0)  # fmt: skip
                open_alerts[b.kind] = alert
                opened.append(alert)
            alert.readings += 1
            alert.first_at = min(alert.first_at, r.taken_at)
            alert.last_at = max(alert.last_at, r.taken_at)
            worse = b.value > alert.worst if b.kind.endswith("_high") else b.value < alert.worst
            if worse:
                alert.worst = b.value
            touched[b.kind] = alert
    for alert in touched.values():
        alert.save()
    opened += _evaluate_days(room, {timezone.localtime(r.taken_at).date() for r in readings})
    for alert in opened:
        audit.record("stacks.alert.open", "stacks_room", room.pk,
                     {"room": room.code, "alert": alert.pk, "kind": alert.kind, "value": str(alert.worst),
                      "limit": str(alert.limit), "at": alert.first_at.isoformat()}, actor=_actor(user))  # fmt: skip
    return opened


def _evaluate_days(room: Room, days: set[dt.date]) -> list[ClimateAlert]:
    if not days:
        return []
    tz = timezone.get_current_timezone()
    start = timezone.make_aware(dt.datetime.combine(min(days), dt.time()), tz)
    end = timezone.make_aware(dt.datetime.combine(max(days) + dt.timedelta(days=1), dt.time()), tz)
    rows = (
        ClimateReading.objects.filter(room=room, taken_at__gte=start, taken_at__lt=end)
        .annotate(day=TruncDate("taken_at", tzinfo=tz)).values("day")
        .annotate(tmin=Min("temperature"), tmax=Max("temperature"), hmin=Min("humidity"),
                  hmax=Max("humidity"), first=Min("taken_at"), last=Max("taken_at"), n=Count("pk"))
    )  # fmt: skip
    existing = {(a.day, a.kind): a for a in ClimateAlert.objects.filter(room=room, day__in=days)}
    opened = []
    for row in rows:
        if row["day"] not in days:
            continue
        for quantity, low, high in (
            ("temperature", row["tmin"], row["tmax"]),
            ("humidity", row["hmin"], row["hmax"]),
        ):
            b = std.fluctuation_breach(quantity, [Decimal(low), Decimal(high)])
            if b is None:
                continue
            alert = existing.get((row["day"], b.kind))
            if alert is None:
                alert = ClimateAlert.objects.create(
                    room=room,
                    kind=b.kind,
                    limit=b.limit,
                    worst=b.value,
                    first_at=row["first"],
                    last_at=row["last"],
                    readings=row["n"],
                    day=row["day"],
                )
                opened.append(alert)
            elif b.value > alert.worst:
                ClimateAlert.objects.filter(pk=alert.pk).update(
                    worst=b.value, last_at=row["last"], readings=row["n"]
                )
    return opened


def open_alerts(room: Room | None = None, user: User | None = None) -> QuerySet[ClimateAlert]:
    """The open alerts (of `room`; of the rooms in `user`'s scope)."""
    qs = ClimateAlert.objects.filter(resolved_at__isnull=True).select_related("room")
    if not _all_stacks(user):
        qs = qs.filter(room_id__in=rooms_for(user).values("pk"))
    return qs.filter(room=room) if room is not None else qs


def resolve_alert(user: User | None, alert: ClimateAlert, note: str) -> ClimateAlert:
    """Acknowledge an alert with a note (what was done: dehumidifier on, sensor checked …)."""
    _require(user, STACKS)
    _in_scope(user, Room.objects.values_list("building__repository_id", flat=True)
              .get(pk=alert.room_id), "库房")  # fmt: skip
    note = _name(note, "处理说明", "note", 2000)
    if alert.resolved_at is not None:
        raise StacksError("该告警已处理")
    alert.resolved_at, alert.resolved_by, alert.note = timezone.now(), _who(user), note
    alert.save(update_fields=["resolved_at", "resolved_by", "note"])
    audit.record("stacks.alert.resolve", "stacks_room", alert.room_id,
                 {"alert": alert.pk, "kind": alert.kind, "note": note}, actor=_actor(user))  # fmt: skip
    return alert


def readings_between(room: Room, start: dt.datetime, end: dt.datetime) -> list[ClimateReading]:
    return list(
        ClimateReading.objects.filter(room=room, taken_at__gte=start, taken_at__lt=end).order_by(
            "taken_at"
        )
    )
