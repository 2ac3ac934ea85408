"""The annual statistics report (统计) computed from the data.

Figures of the rooms below stats (catalog, digitization) are computed here: the catalogue's from
the counters its triggers keep (counters.py: a few hundred rows for millions of records), the
digitization room's by one aggregate query per table (filtered COUNT and SUM, both years at once);
figures of the rooms on stats' own floor (access, exhibits, holdings …) come from the providers
they register in lantai.core.figures, and are "not available" where none is registered.

Stock figures count what existed at the end of the year (created before 1 January of the next
year, in the archives' time zone); flow figures count the events within the year. The open status
is the one recorded now: the catalogue keeps no history of it, so the previous year's open count
is that of the records that existed then and are open now.

The report is that of one archives (catalog Repository, the 填报单位): an installation may hold
the provincial archives beside city and county ones, and their figures are never added up. The
counters are keyed by category, so the archives' categories select its counter rows."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.db import transaction
from django.db.models import Count, F, FloatField, Q, Sum
from django.db.models.fields.json import KT
from django.db.models.functions import Cast
from django.utils import timezone

from lantai.catalog.models import Category, Component, Record, Repository
from lantai.core import audit
from lantai.core import figures as figure_registry
from lantai.digitization.models import Item, Page, Recording
from lantai.standards import statistics as std
from lantai.standards.categories import load_categories
from lantai.standards.vocabularies import get_vocabulary

from . import counters
from .models import ComponentCount, RecordCount

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
    repository: Repository
    figures: dict[str, YearPair] = field(default_factory=dict)
    breakdowns: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        rows = []
        for figure in std.report_figures():
            pair = self.figures[figure.code]
            rows.append({
                "code": figure.code, "label_zh": figure.label_zh, "label_en": figure.label_en,
                "unit": figure.unit, "unit_en": figure.unit_en, "source": figure.source,
                "period": figure.period, "from": figure.origin, "from_zh": figure.origin_zh,
                "available": pair.value is not None or figure.source != "registry",
                "value": pair.value, "previous": pair.previous,
                "change": std.change(pair.value, pair.previous),
            })  # fmt: skip
        return {
            "ok": True,
            "year": self.year,
            "previous_year": self.year - 1,
            "repository": self.repository.code,
            "repository_name": self.repository.name,
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


def get_repository(code: str | None) -> Repository:
    """The archives named by `code` (its 档案馆代码), else the default one."""
    from lantai.catalog import services as catalog

    if not code:
        return catalog.default_repository()
    repo = Repository.objects.filter(code=code).first()
    if repo is None:
        codes = "、".join(Repository.objects.order_by("code").values_list("code", flat=True))
        raise StatsError(f"档案馆代码“{code}”不存在：可选 {codes}")
    return repo


def report(year: int, *, repository: Repository | None = None, scan: bool = False) -> Report:
    """The report of `repository` (default: the default archives) for `year` with the figures of
    `year - 1` beside each. `scan`: compute the catalogue's figures by the plain aggregates
    instead of the counters (the benchmark's peer)."""
    check_year(year)
    end, end_prev = year_end(year), year_end(year - 1)
    result = Report(year, repository or get_repository(None))
    (holdings_by_scan if scan else _holdings)(result, end, end_prev)
    _digitization(result, end, end_prev)
    (components_by_scan if scan else _components)(result, end, end_prev)
    _registered(result, year)
    return result


def _category_ids(repository: Repository) -> list[int]:
    """The categories of `repository` (category → fonds → repository): they pick its rows of the
    counters, which are keyed by category."""
    return list(Category.objects.filter(fonds__repository=repository).values_list("id", flat=True))


def _holdings(result: Report, end: dt.datetime, end_prev: dt.datetime) -> None:
    """Holdings by category, level and retention, and the open ones, from the counters the
    triggers keep (stats_recordcount: a few hundred rows however many records there are)."""
    year = result.year
    prev = Q(created_year__lte=year - 1)
    is_open = Q(open_status="open")
    ids = _category_ids(result.repository)
    rows = (
        RecordCount.objects.filter(level__in=UNITS, created_year__lte=year, category_id__in=ids)
        .values("category_id", "level", "retention")
        .annotate(
            units=Sum("n"),
            units_prev=Sum("n", filter=prev),
            open=Sum("n", filter=is_open),
            open_prev=Sum("n", filter=is_open & prev),
        )
        .order_by()
    )
    codes = dict(Category.objects.filter(id__in=ids).values_list("id", "code"))
    _holdings_from(result, [
        {"category__code": codes.get(row["category_id"], str(row["category_id"])),
         "level": row["level"], "retention": row["retention"],
         "n": int(row["units"] or 0), "n_prev": int(row["units_prev"] or 0),
         "open": int(row["open"] or 0), "open_prev": int(row["open_prev"] or 0)}
        for row in rows
    ])  # fmt: skip


def holdings_by_scan(result: Report, end: dt.datetime, end_prev: dt.datetime) -> None:
    """The same figures by the plain aggregate over the records (one GROUP BY scanning them all):
    the peer of the counters in `lantai bench stats`, and their check in the tests."""
    now, prev = Q(created_at__lt=end), Q(created_at__lt=end_prev)
    is_open = Q(open_status="open")
    rows = (
        Record.objects.filter(now, level__in=UNITS, repository=result.repository)
        .values("category__code", "level", "retention")
        .annotate(
            n=Count("id"),
            n_prev=Count("id", filter=prev),
            open=Count("id", filter=is_open),
            open_prev=Count("id", filter=is_open & prev),
        )
        .order_by()
    )
    _holdings_from(result, list(rows))


def _holdings_from(result: Report, rows: list[dict[str, Any]]) -> None:
    totals: dict[str, int] = dict.fromkeys(("item", "volume", "item_prev", "volume_prev"), 0)
    opened = [0, 0]
    by_category: dict[tuple[str, str], list[int]] = {}
    by_retention: dict[tuple[str, str], list[int]] = {}
    for row in rows:  # one row per (category, level, retention): a handful, not per record
        if not row["n"]:
            continue
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
    terms = {t.code: t for t in get_vocabulary("retention").terms}
    order = {code: i for i, code in enumerate(terms)}
    result.breakdowns["holdings_by_retention"] = [
        {
            "retention": code,
            "label_zh": terms[code].label_zh if code in terms else code,
            "label_en": terms[code].label_en if code in terms else code,
            "level": level,
            "value": pair[0],
            "previous": pair[1],
        }  # fmt: skip
        for (code, level), pair in sorted(
            by_retention.items(), key=lambda e: (order.get(e[0][0], len(order)), e[0])
        )
    ]


def _category_order(entry: tuple[tuple[str, str], list[int]]) -> tuple[int, str, str]:
    order = {code: i for i, code in enumerate(load_categories())}
    (code, level), _ = entry
    return (order.get(code, len(order)), code, level)


def _digitization(result: Report, end: dt.datetime, end_prev: dt.datetime) -> None:
    """Pages and units of accepted scanning batches (accepted before the year's end) and the hours
    of the recordings attached to records; one aggregate query per table."""
    accepted = Q(batch__status="accepted", item__record__repository=result.repository)
    pages = Page.objects.filter(accepted, batch__decided_at__lt=end).aggregate(
        n=Count("id"), n_prev=Count("id", filter=Q(batch__decided_at__lt=end_prev))
    )
    units = Item.objects.filter(
        Q(batch__status="accepted", record__repository=result.repository),
        batch__decided_at__lt=end,
        record__level__in=UNITS,
    ).aggregate(
        n=Count("record", distinct=True),
        n_prev=Count("record", distinct=True, filter=Q(batch__decided_at__lt=end_prev)),
    )
    seconds = Cast(KT("info__duration_seconds"), FloatField())
    recordings = Recording.objects.filter(
        component__created_at__lt=end, record__repository=result.repository
    ).aggregate(s=Sum(seconds), s_prev=Sum(seconds, filter=Q(component__created_at__lt=end_prev)))
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
    """Electronic files (catalog components) and their bytes, from the counters by year. The
    counters are not kept per archives: with several archives, the aggregate over the archives'
    components is made instead."""
    if Repository.objects.exclude(pk=result.repository.pk).exists():
        components_by_scan(result, end, end_prev)
        return
    prev = Q(created_year__lte=result.year - 1)
    row = ComponentCount.objects.filter(created_year__lte=result.year).aggregate(
        files=Sum("n"), files_prev=Sum("n", filter=prev),
        total=Sum("size"), total_prev=Sum("size", filter=prev),
    )  # fmt: skip
    total, total_prev = int(row["total"] or 0), int(row["total_prev"] or 0)
    files = (int(row["files"] or 0), int(row["files_prev"] or 0))
    result.figures["electronic_files"] = YearPair(*files)
    result.figures["electronic_bytes"] = YearPair(total, total_prev)
    result.figures["electronic_tb"] = YearPair(std.terabytes(total), std.terabytes(total_prev))


def components_by_scan(result: Report, end: dt.datetime, end_prev: dt.datetime) -> None:
    """The same by the plain aggregate over the components (the peer in the benchmark)."""
    prev = Q(created_at__lt=end_prev)
    row = Component.objects.filter(
        created_at__lt=end, record__repository=result.repository
    ).aggregate(
        n=Count("id"), n_prev=Count("id", filter=prev),
        total=Sum(F("size")), total_prev=Sum(F("size"), filter=prev),
    )  # fmt: skip
    result.figures["electronic_files"] = YearPair(row["n"], row["n_prev"])
    result.figures["electronic_bytes"] = YearPair(row["total"] or 0, row["total_prev"] or 0)
    result.figures["electronic_tb"] = YearPair(
        std.terabytes(row["total"] or 0), std.terabytes(row["total_prev"] or 0)
    )


def _registered(result: Report, year: int) -> None:
    """Figures of the same-floor rooms: their registered providers, else not available (None)."""
    providers: Mapping[str, figure_registry.Provider] = figure_registry.provided()
    repo = result.repository.pk
    for figure in std.report_figures():
        if figure.source != "registry":
            continue
        fn = providers.get(figure.code)
        result.figures[figure.code] = (
            YearPair(fn(year, repo), fn(year - 1, repo)) if fn is not None else YearPair(None, None)
        )


def verify() -> dict[str, Any]:
    """Compare the counters with the plain aggregates over the catalogue (counters.compare)."""
    drifts = counters.compare()
    missing = counters.missing_triggers()
    return {
        "ok": True, "honest": not drifts and not missing,
        "drifts": [d.as_json() for d in drifts], "missing_triggers": missing,
    }  # fmt: skip


def repair(actor: str | None = None) -> dict[str, Any]:
    """Recount the counters from the catalogue and reinstall the triggers; audited with what
    was wrong before. Returns the check made afterwards."""
    with transaction.atomic():
        before = counters.compare()
        counters.rebuild()
        audit.record(
            "stats_counters_repair", "stats_counters", "catalog",
            {"drifts": len(before), "examples": [d.as_json() for d in before[:20]]},
            actor=actor,
        )  # fmt: skip
    after = verify()
    after["repaired"] = len(before)
    return after


def repositories(user: Any) -> list[Repository]:
    """The archives whose report `user` may see (those in the user's scope), the default first."""
    from lantai.catalog import services as catalog

    return list(catalog.visible_repositories(user).order_by("-is_default", "code"))


def holdings_trend(
    year: int, repository: Repository | None = None, years: int = 6
) -> list[tuple[int, int]]:
    """The holdings (items and volumes) of `repository` at the end of each of the `years` years
    up to `year`, from the counters: one GROUP BY over a few hundred rows."""
    first = year - years + 1
    ids = _category_ids(repository or get_repository(None))
    by_year = dict(
        RecordCount.objects.filter(level__in=UNITS, created_year__lte=year, category_id__in=ids)
        .values("created_year")
        .annotate(units=Sum("n"))
        .order_by()
        .values_list("created_year", "units")
    )
    before = sum(int(n or 0) for y, n in by_year.items() if y < first)
    trend = []
    for y in range(first, year + 1):
        before += int(by_year.get(y) or 0)
        trend.append((y, before))
    return trend


def years_with_data() -> list[int]:
    """The years a report can be asked for: from the first record's year to this year."""
    this_year = timezone.localdate().year
    first = (
        RecordCount.objects.exclude(n=0)
        .order_by("created_year")
        .values_list("created_year", flat=True)
        .first()
    )
    start = max(FIRST_YEAR, min(first or this_year, this_year))
    return list(range(this_year, start - 1, -1))


def export_workbook(
    year: int,
    actor: str | None = None,
    destination: Path | None = None,
    repository: Repository | None = None,
) -> bytes:
    """The report of `repository` (default: the default archives) for `year` as an .xlsx
    workbook (export.py) naming it as 填报单位, written to `destination` when given (an OSError
    leaves nothing audited); the export is audited."""
    from . import export

    data = report(year, repository=repository).as_json()
    content = export.workbook(data, data["repository_name"])
    detail: dict[str, Any] = {
        "format": "xlsx", "bytes": len(content), "repository": data["repository"],
    }  # fmt: skip
    if destination is not None:
        destination.write_bytes(content)
        detail["file"] = str(destination)
    audit.record("stats_export", "stats_report", year, detail, actor=actor)
    return content
