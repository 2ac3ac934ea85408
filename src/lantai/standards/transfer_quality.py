"""移交预警 and 进馆档案质量, the pure parts (``data/transfer-quality.yaml``): the transfer age of
an archives level (实施条例 art 20: 20 years, 10 for a county archives), which years of records are
due or overdue on a date, and the guidance a filing unit gets per DA/T 70 check."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

from ._data import DataFileError, load_data

DATA_FILE = "transfer-quality.yaml"
LEVELS = ("provincial", "city", "county")


def _data() -> dict[str, Any]:
    return load_data(DATA_FILE)


def transfer_age(level: str) -> int:
    """Years after which records of an archives of `level` are transferred (实施条例 art 20)."""
    ages = _data()["transfer_age"]
    if level not in ages:
        raise DataFileError(f"{DATA_FILE}: no transfer age for archives level {level!r}")
    return int(ages[level])


def grace_years() -> int:
    return int(_data()["grace_years"])


def remind_every_days() -> int:
    return int(_data()["remind_every_days"])


def last_due_year(level: str, today: date) -> int:
    """The latest year whose records are due on `today`: year Y is due from 1 January Y + age."""
    return today.year - transfer_age(level)


def last_overdue_year(level: str, today: date) -> int:
    """The latest year whose records are overdue on `today` (due since more than grace_years)."""
    return last_due_year(level, today) - grace_years()


@dataclass(frozen=True)
class DueYears:
    """The years of a unit's records that are due and not transferred, on one date."""

    age: int
    due: tuple[int, ...]  # every untransferred year up to the last due year (overdue included)
    overdue: tuple[int, ...]  # those due for longer than the grace period

    @property
    def is_due(self) -> bool:
        return bool(self.due)


def due_years(
    level: str,
    today: date,
    *,
    first_year: int,
    last_year: int | None = None,
    transferred: Iterable[int] = (),
    exempt: Iterable[int] = (),
) -> DueYears:
    """The years from `first_year` (the first year the unit formed records) to the last due year
    (and to `last_year`, the last year it formed records, for a unit that closed) that are neither
    `transferred` nor `exempt` (延期移交 approved, or no records formed that year)."""
    age = transfer_age(level)
    end = last_due_year(level, today)
    if last_year is not None:
        end = min(end, last_year)
    skip = set(transferred) | set(exempt)
    due = tuple(y for y in range(first_year, end + 1) if y not in skip)
    overdue_end = last_overdue_year(level, today)
    return DueYears(age=age, due=due, overdue=tuple(y for y in due if y <= overdue_end))


def year_ranges(years: Iterable[int]) -> str:
    """2001, 2002, 2003, 2005 → "2001–2003、2005" (for reminders and lists)."""
    runs: list[list[int]] = []
    for y in sorted(set(years)):
        if runs and y == runs[-1][1] + 1:
            runs[-1][1] = y
        else:
            runs.append([y, y])
    return "、".join(str(a) if a == b else f"{a}–{b}" for a, b in runs)


def guidance(check_key: str, english: bool = False) -> str:
    """What a filing unit does to fix a failure of the DA/T 70 check `check_key`; "" for a key
    without guidance (a 长期保存 check)."""
    entry = _data()["guidance"].get(check_key)
    if not entry:
        return ""
    return str(entry["en" if english else "zh"]).strip()


def guidance_keys() -> list[str]:
    return [str(k) for k in _data()["guidance"]]
