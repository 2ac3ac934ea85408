"""The annual statistics report (统计) computed from the data.

Figures of the rooms below stats (catalog, digitization) are computed here, each table read by one
aggregate query (GROUP BY / filtered COUNT and SUM in the database, both years in the same query);
figures of the rooms on stats' own floor (access, exhibits, holdings …) come from the providers
they register in lantai.core.figures, and are "not available" where none is registered.

Stock figures count what existed at the end of the year (created before 1 January of the next
year, in the archives' time zone); flow figures count the events within the year. The open status
is the one recorded now: the catalogue keeps no history of it, so the previous year's open count
is that of the records that existed then and are open now."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count, F, FloatField, Q, Sum
from django.db.models.fields.json import KT
from django.db.models.functions import Cast
from django.utils import timezone

from lantai.catalog.models import Component, Record
from lantai.core import figures as figure_registry
from lantai.digitization.models import Item, Page, Recording
from lantai.standards import statistics as std
from lantai.standards.categories import load_categories

UNITS = ("item", "volume")  # the counted levels: 件 and 案卷 (documents inside a volume are not)
FIRST_YEAR = 1900


class StatsError(ValueError):
    """A report that cannot be made as asked (a user error): the message is in Chinese."""


@dataclass
class YearPair:
    value: float | int | None
    previous: float | int | None


@dataclass
class Report:
    year: int
    figures: dict[str, YearPair] = field(default_factory=dict)
    breakdowns: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        rows = []
        for figure in std.report_figures():
            pair = self.figures[figure.code]
            rows.append({
                "code": figure.code, "label_zh": figure.label_zh, "label_en": figure.label_en,
                "unit": figure.unit, "source": figure.source, "period": figure.period,
                "available": pair.value is not None or figure.source != "registry",
                "value": pair.value, "previous": pair.previous,
                "change": std.change(pair.value, pair.previous),
            })  # fmt: skip
        return {
            "ok": True,
            "year": self.year,
            "previous_year": self.year - 1,
            "figures": rows,
            "breakdowns": self.breakdowns,
        }


def year_end(year: int) -> dt.datetime:
    """The first instant after `year` in the archives' time zone."""
    return timezone.make_aware(dt.datetime(year + 1, 1, 1))


def check_year(year: int, today: dt.date | None = None) -> None:
    today = today or timezone.localdate()
    if not FIRST_YEAR <= year <= today.year:
        raise StatsError(
            f"统计年度 {year} 不在 {FIRST_YEAR}–{today.year} 之内（不能统计未来的年度）"
        )


def report(year: int) -> Report:
    """The report for `year` with the figures of `year - 1` beside each."""
    check_year(year)
    end, end_prev = year_end(year), year_end(year - 1)
    result = Report(year)
    _holdings(result, end, end_prev)
    _digitization(result, end, end_prev)
    _components(result, end, end_prev)
    _registered(result, year)
    return result


def _holdings(result: Report, end: dt.datetime, end_prev: dt.datetime) -> None:
    """One GROUP BY query on the records: holdings by category, level and retention, open ones."""
    now, prev = Q(created_at__lt=end), Q(created_at__lt=end_prev)
    is_open = Q(open_status="open")
    rows = (
        Record.objects.filter(now, level__in=UNITS)
        .values("category__code", "level", "retention")
        .annotate(
            n=Count("id"),
            n_prev=Count("id", filter=prev),
            open=Count("id", filter=is_open),
            open_prev=Count("id", filter=is_open & prev),
        )
        .order_by()
    )
    totals: dict[str, int] = dict.fromkeys(("item", "volume", "item_prev", "volume_prev"), 0)
    opened = [0, 0]
    by_category: dict[tuple[str, str], list[int]] = {}
    by_retention: dict[tuple[str, str], list[int]] = {}
    for row in rows:  # one row per (category, level, retention): a handful, not per record
        level = row["level"]
        totals[level] += row["n"]
        totals[f"{level}_prev"] += row["n_prev"]
        opened[0] += row["open"]
        opened[1] += row["open_prev"]
        for bucket, key in ((by_category, row["category__code"]), (by_retention, row["retention"])):
            pair = bucket.setdefault((key, level), [0, 0])
            pair[0] += row["n"]
            pair[1] += row["n_prev"]
    units, units_prev = (
        totals["item"] + totals["volume"],
        totals["item_prev"] + totals["volume_prev"],
    )
    result.figures["holdings_items"] = YearPair(totals["item"], totals["item_prev"])
    result.figures["holdings_volumes"] = YearPair(totals["volume"], totals["volume_prev"])
    result.figures["open_records"] = YearPair(opened[0], opened[1])
    result.figures["open_ratio"] = YearPair(
        std.percent(opened[0], units), std.percent(opened[1], units_prev)
    )
    result.figures["_units"] = YearPair(units, units_prev)  # the whole for the rates below
    categories = load_categories()
    result.breakdowns["holdings_by_category"] = [
        {
            "category": code,
            "label_zh": categories[code].name_zh if code in categories else code,
            "label_en": categories[code].name_en if code in categories else code,
            "level": level,
            "value": pair[0],
            "previous": pair[1],
        }  # fmt: skip
        for (code, level), pair in sorted(by_category.items(), key=_category_order)
    ]
    result.breakdowns["holdings_by_retention"] = [
        {"retention": code, "level": level, "value": pair[0], "previous": pair[1]}
        for (code, level), pair in sorted(by_retention.items())
    ]


def _category_order(entry: tuple[tuple[str, str], list[int]]) -> tuple[int, str, str]:
    order = {code: i for i, code in enumerate(load_categories())}
    (code, level), _ = entry
    return (order.get(code, len(order)), code, level)


def _digitization(result: Report, end: dt.datetime, end_prev: dt.datetime) -> None:
    """Pages and units of accepted scanning batches (accepted before the year's end) and the hours
    of the recordings attached to records; one aggregate query per table."""
    accepted = Q(batch__status="accepted")
    pages = Page.objects.filter(accepted, batch__decided_at__lt=end).aggregate(
        n=Count("id"), n_prev=Count("id", filter=Q(batch__decided_at__lt=end_prev))
    )
    units = Item.objects.filter(
        accepted, batch__decided_at__lt=end, record__level__in=UNITS
    ).aggregate(
        n=Count("record", distinct=True),
        n_prev=Count("record", distinct=True, filter=Q(batch__decided_at__lt=end_prev)),
    )
    seconds = Cast(KT("info__duration_seconds"), FloatField())
    recordings = Recording.objects.filter(component__created_at__lt=end).aggregate(
        s=Sum(seconds), s_prev=Sum(seconds, filter=Q(component__created_at__lt=end_prev))
    )
    whole = result.figures.pop("_units")
    result.figures["digitized_pages"] = YearPair(pages["n"], pages["n_prev"])
    result.figures["digitized_units"] = YearPair(units["n"], units["n_prev"])
    result.figures["digitization_rate"] = YearPair(
        std.percent(units["n"], int(whole.value or 0)),
        std.percent(units["n_prev"], int(whole.previous or 0)),
    )
    result.figures["recording_hours"] = YearPair(
        _hours(recordings["s"]), _hours(recordings["s_prev"])
    )


def _hours(seconds: float | None) -> float:
    return round((seconds or 0.0) / 3600.0, 2)


def _components(result: Report, end: dt.datetime, end_prev: dt.datetime) -> None:
    """Electronic files (catalog components) and their bytes, one aggregate query."""
    prev = Q(created_at__lt=end_prev)
    row = Component.objects.filter(created_at__lt=end).aggregate(
        n=Count("id"), n_prev=Count("id", filter=prev),
        total=Sum(F("size")), total_prev=Sum(F("size"), filter=prev),
    )  # fmt: skip
    result.figures["electronic_files"] = YearPair(row["n"], row["n_prev"])
    result.figures["electronic_bytes"] = YearPair(row["total"] or 0, row["total_prev"] or 0)


def _registered(result: Report, year: int) -> None:
    """Figures of the same-floor rooms: their registered providers, else not available (None)."""
    providers: Mapping[str, figure_registry.Provider] = figure_registry.provided()
    for figure in std.report_figures():
        if figure.source != "registry":
            continue
        fn = providers.get(figure.code)
        result.figures[figure.code] = (
            YearPair(fn(year), fn(year - 1)) if fn is not None else YearPair(None, None)
        )
