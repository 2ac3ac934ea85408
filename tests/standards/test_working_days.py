"""Working days for the provincial deadlines (standards/working_days.py): weekends, public
holidays and make-up working days (调休上班); calendar files with errors name the place; no
calendar means weekends only."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from lantai.standards import working_days as wd

D = dt.date
# 2026 National Day: 10-01..10-08 off; Sunday 09-20 and Saturday 10-10 worked (shape of a
# State Council notice; the dates here are the test's own).
CALENDAR = """
source: 国务院办公厅关于2026年部分节假日安排的通知（测试用）
years:
  2026:
    holidays: [2026-10-01, 2026-10-02, 2026-10-05, 2026-10-06, 2026-10-07, 2026-10-08]
    workdays: [2026-09-20, "2026-10-10"]
"""


@pytest.fixture
def cal(tmp_path: Path) -> wd.Calendar:
    path = tmp_path / "holidays.yaml"
    path.write_text(CALENDAR, encoding="utf-8")
    return wd.load(path)


def test_weekends_only_without_a_calendar() -> None:
    empty = wd.load(None)
    assert empty == wd.Calendar() and empty.years == ()
    friday = D(2026, 12, 4)
    assert wd.add(friday, 1, empty) == D(2026, 12, 7)  # Monday
    assert wd.add(friday, 4, empty) == D(2026, 12, 10)
    assert wd.add(D(2026, 12, 5), 1, empty) == D(2026, 12, 7)  # received on Saturday
    assert wd.add(D(2026, 12, 7), 0, empty) == D(2026, 12, 7)
    assert wd.between(friday, D(2026, 12, 7), empty) == 1
    assert wd.between(friday, D(2026, 12, 6), empty) == 0
    assert wd.between(D(2026, 12, 10), friday, empty) == -4
    assert wd.between(friday, friday, empty) == 0


def test_holidays_are_skipped_and_make_up_days_count(cal: wd.Calendar) -> None:
    assert cal.years == (2026,) and cal.covers(D(2026, 1, 1)) and not cal.covers(D(2027, 1, 1))
    assert "国务院" in cal.source
    assert not cal.is_working(D(2026, 10, 1)) and not cal.is_working(D(2026, 10, 5))  # a Monday off
    assert cal.is_working(D(2026, 9, 20)) and cal.is_working(D(2026, 10, 10))  # Sunday, Saturday
    # Received Wednesday 30 Sep: 4 working days are 9 (Fri), 10 (Sat, worked), 12, 13 October.
    assert wd.add(D(2026, 9, 30), 4, cal) == D(2026, 10, 13)
    assert wd.add(D(2026, 9, 30), 1, cal) == D(2026, 10, 9)
    # Received Friday 18 Sep: Sunday 20 Sep is worked.
    assert wd.add(D(2026, 9, 18), 1, cal) == D(2026, 9, 20)
    assert wd.between(D(2026, 9, 30), D(2026, 10, 13), cal) == 4
    assert wd.between(D(2026, 10, 13), D(2026, 9, 30), cal) == -4
    for start in (D(2026, 9, 25), D(2026, 10, 3), D(2026, 10, 9)):
        for n in range(0, 8):
            assert wd.between(start, wd.add(start, n, cal), cal) == n


@pytest.mark.parametrize(
    ("text", "place"),
    [
        ("years: [1, 2", "holidays.yaml"),  # not YAML
        ("years:\n  2026:\n    holidays: ['2026-02-30']\n", "2026 holidays"),
        ("years:\n  2026:\n    workdays: [someday]\n", "2026 workdays"),
        ("years: [2026]\n", "years"),
    ],
)
def test_calendar_errors_name_the_place(tmp_path: Path, text: str, place: str) -> None:
    path = tmp_path / "holidays.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(wd.CalendarError) as caught:
        wd.load(path)
    assert place in str(caught.value)


def test_a_missing_calendar_file_is_a_calendar_error(tmp_path: Path) -> None:
    with pytest.raises(wd.CalendarError) as caught:
        wd.load(tmp_path / "none.yaml")
    assert "none.yaml" in str(caught.value)


def test_an_empty_calendar_file_is_weekends_only(tmp_path: Path) -> None:
    path = tmp_path / "holidays.yaml"
    path.write_text("", encoding="utf-8")
    cal = wd.load(path)
    assert cal.years == () and wd.add(D(2026, 10, 1), 1, cal) == D(2026, 10, 2)


@pytest.mark.parametrize(
    "text",
    ["years:\n  2026:\n    holidays: [2026-02-30]\n", "- 2026-10-01\n", "years:\n  2026: [2026-10-01]\n", "years:\n  next: {holidays: []}\n",
     "years:\n  2026:\n    holidays: 2026-10-01\n"],
)  # fmt: skip
def test_a_calendar_of_the_wrong_shape_is_a_calendar_error(tmp_path: Path, text: str) -> None:
    path = tmp_path / "holidays.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(wd.CalendarError) as caught:
        wd.load(path)
    assert "holidays.yaml" in str(caught.value)
