"""Working days (工作日) for the deadlines of requests across archives: Monday to Friday, less the
public holidays, plus the make-up working days (调休上班) — both from a calendar the operator keeps
(the State Council publishes each year's in November or December). Without a calendar only the
weekends are skipped, and the callers say so."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml


@dataclass(frozen=True)
class Calendar:
    holidays: frozenset[dt.date] = field(default_factory=frozenset)
    workdays: frozenset[dt.date] = field(default_factory=frozenset)  # weekend days worked
    years: tuple[int, ...] = ()  # the years the calendar covers
    source: str = ""

    def is_working(self, day: dt.date) -> bool:
        if day in self.workdays:
            return True
        return day.weekday() < 5 and day not in self.holidays

    def covers(self, day: dt.date) -> bool:
        return day.year in self.years


class CalendarError(ValueError):
    pass


def _dates(values: Iterable[Any] | None, where: str) -> frozenset[dt.date]:
    out: set[dt.date] = set()
    for v in values or []:
        try:
            out.add(v if isinstance(v, dt.date) else dt.date.fromisoformat(str(v)))
        except ValueError as exc:
            raise CalendarError(f"{where}: {v!r} 不是 YYYY-MM-DD 日期") from exc
    return frozenset(out)


def load(path: Path | None) -> Calendar:
    """A calendar file: ``{years: {2026: {holidays: [...], workdays: [...]}}, source: "…"}``."""
    if path is None:
        return Calendar()
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise CalendarError(f"节假日文件 {path} 无法读取：{exc}") from exc
    holidays: set[dt.date] = set()
    workdays: set[dt.date] = set()
    years = data.get("years") or {}
    if not isinstance(years, dict):
        raise CalendarError(f"节假日文件 {path}: years 应为“年份: {{holidays, workdays}}”")
    for year, entry in years.items():
        entry = entry or {}
        holidays |= _dates(entry.get("holidays"), f"{path} {year} holidays")
        workdays |= _dates(entry.get("workdays"), f"{path} {year} workdays")
    return Calendar(frozenset(holidays), frozenset(workdays), tuple(sorted(int(y) for y in years)), str(data.get("source", "")))  # fmt: skip


def add(start: dt.date, days: int, calendar: Calendar) -> dt.date:
    """The date ``days`` working days after ``start`` (the day of receipt does not count)."""
    day, left = start, days
    while left > 0:
        day += dt.timedelta(days=1)
        if calendar.is_working(day):
            left -= 1
    return day


def between(start: dt.date, end: dt.date, calendar: Calendar) -> int:
    """Working days after ``start`` up to and including ``end`` (negative when end < start)."""
    if end < start:
        return -between(end, start, calendar)
    n, day = 0, start
    while day < end:
        day += dt.timedelta(days=1)
        n += calendar.is_working(day)
    return n
