"""鉴定 (appraisal), the pure parts: retention schedules (保管期限表) and when a period runs out,
the secrecy periods of classified records (保密期限) and when their classification falls due for
review, and the kinds and outcomes of appraisal. The lists live in
``data/retention-schedules.yaml``; nothing here imports Django."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from datetime import date
from typing import Any

from ._data import load_data

__all__ = [
    "AppraisalRuleError",
    "Kind",
    "Outcome",
    "Period",
    "check_outcome",
    "classification_review_date",
    "expiry_date",
    "is_classification_due",
    "is_due",
    "kind",
    "kinds",
    "last_due_year",
    "legacy_mapping",
    "outcome",
    "outcomes",
    "parse_secrecy_period",
    "period",
    "periods",
    "secrecy_years",
]

DATA = "retention-schedules.yaml"


class AppraisalRuleError(ValueError):
    """A value breaks a rule of appraisal (an unknown period, destroying a permanent record …)."""

    def __init__(self, message_zh: str, message_en: str, field: str = "") -> None:
        super().__init__(message_zh)
        self.message_zh = message_zh
        self.message_en = message_en
        self.field = field


@dataclass(frozen=True, slots=True)
class Period:
    code: str  # Y, D30, D10, D100
    label_zh: str
    label_en: str
    years: int | None  # None: permanent
    destroyable: bool
    meaning_zh: str
    meaning_en: str
    schedule: str

    def longer_than(self, other: Period) -> bool:
        if self.years is None:
            return other.years is not None
        return other.years is not None and self.years > other.years


@dataclass(frozen=True, slots=True)
class Outcome:
    code: str
    label_zh: str
    label_en: str
    needs: str | None  # retention | classification | secrecy_period | None


@dataclass(frozen=True, slots=True)
class Kind:
    code: str
    label_zh: str
    label_en: str
    outcomes: tuple[str, ...]


def _data() -> dict[str, Any]:
    return load_data(DATA)


@functools.cache
def periods() -> dict[str, Period]:
    """Every retention period of every schedule, by code."""
    out: dict[str, Period] = {}
    for schedule in _data()["schedules"]:
        for p in schedule["periods"]:
            out[str(p["code"])] = Period(
                str(p["code"]), p["label_zh"], p["label_en"], p["years"],
                bool(p["destroyable"]), p["meaning_zh"], p["meaning_en"], schedule["code"],
            )  # fmt: skip
    return out


def schedules() -> list[dict[str, Any]]:
    """The schedules as the data file gives them (name, basis, periods, legacy values)."""
    return list(_data()["schedules"])


def legacy_mapping() -> dict[str, str]:
    """Old period names (永久 / 长期 / 短期) → today's codes."""
    out: dict[str, str] = {}
    for schedule in _data()["schedules"]:
        out.update({str(k): str(v) for k, v in (schedule.get("legacy") or {}).items()})
    return out


def period(code: str) -> Period:
    """The period of a code (Y, D30 …) or an old name (长期 → D30)."""
    value = (code or "").strip()
    value = legacy_mapping().get(value, value).upper()
    found = periods().get(value)
    if found is None:
        known = "、".join(periods())
        raise AppraisalRuleError(
            f"保管期限“{code}”不在保管期限表中（应为 {known}）",
            f"Retention period {code!r} is not in the schedules ({known})",
            "retention",
        )
    return found


def expiry_date(
    year: int | None, retention: str, *, reappraised_year: int | None = None
) -> date | None:
    """The last day a record is kept: 31 December of 年度 + period (the period counts from
    1 January after the 年度). A record kept on after an appraisal counts its new period from the
    year of that decision. None for a permanent record or one without a year."""
    p = period(retention)
    base = reappraised_year if reappraised_year is not None else year
    if p.years is None or base is None:
        return None
    return date(base + p.years, 12, 31)


def is_due(
    year: int | None, retention: str, on: date, *, reappraised_year: int | None = None
) -> bool:
    """Whether the record's retention period has run out by `on` (due for 到期鉴定)."""
    end = expiry_date(year, retention, reappraised_year=reappraised_year)
    return end is not None and on > end


def last_due_year(retention: str, on: date) -> int | None:
    """The latest 年度 whose period `retention` has run out by `on` (None: never runs out).
    A query for due records selects 年度 ≤ this year."""
    p = period(retention)
    if p.years is None:
        return None
    return on.year - p.years - 1


# --- 保密期限 -------------------------------------------------------------------------------------
_YEARS = re.compile(r"^(\d{1,3})\s*年?$")


def parse_secrecy_period(text: str) -> tuple[int | None, bool]:
    """(years, open_ended) of a stated 保密期限: "10年" / "10" → (10, False); 长期 → (None, True);
    blank → (None, False) (not stated). Anything else is refused with the forms it may take."""
    value = (text or "").strip().replace("　", "")
    if "★" in value:  # 秘密★10年 (GB/T 9704 mark)
        value = value.split("★", 1)[1]
    if not value:
        return None, False
    if value in _data()["secrecy"]["open_ended"]:
        return None, True
    m = _YEARS.match(value)
    if m and int(m.group(1)) > 0:
        return int(m.group(1)), False
    raise AppraisalRuleError(
        f"保密期限“{text}”无法识别：应写作“10年”“20年”等年数，或“长期”",
        f"Secrecy period {text!r} cannot be read: write a number of years (10年) or 长期",
        "secrecy_period",
    )


def secrecy_years(classification: str, secrecy_period: str = "") -> int | None:
    """Years a classified record stays classified: the stated period, else the law's maximum for
    its 密级 (绝密 30, 机密 20, 秘密 10). None: not a state secret, or an open-ended period."""
    defaults: dict[str, int] = _data()["secrecy"]["default_years"]
    if classification not in defaults:
        return None
    years, open_ended = parse_secrecy_period(secrecy_period)
    if open_ended:
        return None
    return years if years is not None else int(defaults[classification])


def _add_years(start: date, years: int) -> date:
    try:
        return start.replace(year=start.year + years)
    except ValueError:  # 29 February into a common year
        return start.replace(year=start.year + years, day=28)


def classification_review_date(
    classification: str,
    secrecy_period: str = "",
    record_date: date | None = None,
    year: int | None = None,
) -> date | None:
    """The day a classified record's secrecy period ends (密级鉴定 falls due): its date + the
    period; with only a 年度, 31 December of it (the latest it can have been classified)."""
    years = secrecy_years(classification, secrecy_period)
    if years is None:
        return None
    if record_date is not None:
        return _add_years(record_date, years)
    if year is not None:
        return date(year + years, 12, 31)
    return None


def is_classification_due(
    classification: str,
    secrecy_period: str,
    on: date,
    record_date: date | None = None,
    year: int | None = None,
) -> bool:
    """Whether the record's classification is due for review on `on`. A stated period that cannot
    be read is due: a person must look at it."""
    try:
        end = classification_review_date(classification, secrecy_period, record_date, year)
    except AppraisalRuleError:
        return True
    return end is not None and on >= end


# --- kinds and outcomes ----------------------------------------------------------------------------
@functools.cache
def kinds() -> dict[str, Kind]:
    return {
        k["code"]: Kind(k["code"], k["label_zh"], k["label_en"], tuple(k["outcomes"]))
        for k in _data()["kinds"]
    }


@functools.cache
def outcomes() -> dict[str, Outcome]:
    return {
        o["code"]: Outcome(o["code"], o["label_zh"], o["label_en"], o.get("needs"))
        for o in _data()["outcomes"]
    }


def kind(code: str) -> Kind:
    found = kinds().get(code)
    if found is None:
        raise AppraisalRuleError(
            f"鉴定类型“{code}”无效：应为到期鉴定、密级鉴定或价值鉴定",
            f"Unknown appraisal kind {code!r}",
            "kind",
        )
    return found


def outcome(code: str) -> Outcome:
    found = outcomes().get(code)
    if found is None:
        raise AppraisalRuleError(
            f"鉴定意见“{code}”无效", f"Unknown appraisal outcome {code!r}", "outcome"
        )
    return found


def check_outcome(
    kind_code: str,
    outcome_code: str,
    *,
    retention: str,
    new_retention: str = "",
    classification: str = "public",
    new_classification: str = "",
    new_secrecy_period: str = "",
    classification_levels: dict[str, int] | None = None,
) -> None:
    """Refuse an outcome the kind does not allow or the record cannot take: destroying a
    permanent (Y) record, keeping on without a new period, raising to a shorter period …"""
    k, o = kind(kind_code), outcome(outcome_code)
    if o.code not in k.outcomes:
        allowed = "、".join(outcomes()[c].label_zh for c in k.outcomes)
        raise AppraisalRuleError(
            f"{k.label_zh}不能提出“{o.label_zh}”的意见（可选：{allowed}）",
            f"A {k.label_en} cannot propose {o.label_en!r}",
            "outcome",
        )
    current = period(retention) if retention else None
    if o.code == "destroy" and (current is None or not current.destroyable):
        label = current.label_zh if current else "未填"
        raise AppraisalRuleError(
            f"保管期限为“{label}”的档案不得销毁：只有定期保存且期满的档案经鉴定后才能销毁",
            f"A record kept {current.label_en if current else 'without a period'} may not "
            "be destroyed: only fixed-term records whose period has run out",
            "outcome",
        )
    if o.needs == "retention":
        if not new_retention:
            raise AppraisalRuleError(
                f"“{o.label_zh}”须填写新的保管期限", f"{o.label_en} needs a new retention period",
                "new_retention",
            )  # fmt: skip
        new = period(new_retention)
        if current is not None and o.code == "raise_retention" and not new.longer_than(current):
            raise AppraisalRuleError(
                f"提高保管期限：新期限“{new.label_zh}”须长于原期限“{current.label_zh}”",
                "A raised retention period must be longer than the current one",
                "new_retention",
            )
        if current is not None and o.code == "lower_retention" and not current.longer_than(new):
            raise AppraisalRuleError(
                f"降低保管期限：新期限“{new.label_zh}”须短于原期限“{current.label_zh}”",
                "A lowered retention period must be shorter than the current one",
                "new_retention",
            )
    if o.needs == "classification":
        levels = classification_levels or {}
        if new_classification not in levels:
            raise AppraisalRuleError(
                "“变更密级”须选择新的密级", "Changing the classification needs a new one",
                "new_classification",
            )  # fmt: skip
        if new_classification == classification:
            raise AppraisalRuleError(
                "“变更密级”的新密级与原密级相同：如不变更请选“维持密级”",
                "The new classification equals the current one",
                "new_classification",
            )
    if o.needs == "secrecy_period":
        years, open_ended = parse_secrecy_period(new_secrecy_period)
        if years is None and not open_ended:
            raise AppraisalRuleError(
                "“维持密级”须填写新的保密期限（如“10年”）",
                "Keeping the classification needs a new secrecy period",
                "new_secrecy_period",
            )
