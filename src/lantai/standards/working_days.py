"""Working days (工作日) for the deadlines of requests across archives: Monday to Friday, less the
public holidays, plus the make-up working days (调休上班) — both from a calendar the operator keeps
(the State Council publishes each year's in November or December). Without a calendar only the
weekends are skipped, and the callers say so."""

from __future__ import annotations

import datetime as dt
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
    def __init__(self, message_zh: str, message_en: str) -> None:
        super().__init__(f"{message_zh} — {message_en}")
        self.message_zh, self.message_en = message_zh, message_en


def _dates(values: Any, where: str) -> frozenset[dt.date]:
    if values is None:
        return frozenset()
    if not isinstance(values, list):
        raise CalendarError(f"{where}：应为日期列表", f"{where}: must be a list of dates")
    out: set[dt.date] = set()
    for v in values:
        try:
            out.add(v if isinstance(v, dt.date) else dt.date.fromisoformat(str(v)))
        except ValueError as exc:
            raise CalendarError(f"{where}：{v!r} 不是 YYYY-MM-DD 日期", f"{where}: {v!r} is not a YYYY-MM-DD date") from exc  # fmt: skip
    return frozenset(out)


def load(path: Path | None) -> Calendar:
    """A calendar file: ``{years: {2027: {holidays: [...], workdays: [...]}}, source: "…"}``."""
    if path is None:
        return Calendar()
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    except (
        OSError,
        UnicodeError,
        ValueError,
        yaml.YAMLError,
    ) as exc:  # PyYAML: 2026-02-30 is a ValueError
        raise CalendarError(f"节假日文件 {path} 无法读取：{exc}", f"the holiday file {path} cannot be read: {exc}") from exc  # fmt: skip
    if data == {}:
        return Calendar()  # an empty file: weekends only, as without one
    years = data.get("years") if isinstance(data, dict) else None
    if not isinstance(years, dict):
        raise CalendarError(f"节假日文件 {path}：应有 years: {{年份: {{holidays: [...], workdays: [...]}}}}", f"the holiday file {path} must have years: {{YEAR: {{holidays: [...], workdays: [...]}}}}")  # fmt: skip
    holidays: set[dt.date] = set()
    workdays: set[dt.date] = set()
    numbers: list[int] = []
    for year, entry in years.items():
        try:
            numbers.append(int(year))
        except (TypeError, ValueError) as exc:
            raise CalendarError(f"节假日文件 {path}：{year!r} 不是年份", f"the holiday file {path}: {year!r} is not a year") from exc  # fmt: skip
        entry = entry or {}
        if not isinstance(entry, dict):
            raise CalendarError(f"节假日文件 {path} {year}：应为 {{holidays, workdays}}", f"the holiday file {path} {year}: must be {{holidays, workdays}}")  # fmt: skip
        holidays |= _dates(entry.get("holidays"), f"{path} {year} holidays")
        workdays |= _dates(entry.get("workdays"), f"{path} {year} workdays")
    return Calendar(frozenset(holidays), frozenset(workdays), tuple(sorted(numbers)), str(data.get("source", "")))  # fmt: skip


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
