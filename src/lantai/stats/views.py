"""Staff pages of the statistics room: the annual report with charts (VIEW) and its Excel
export (EXPORT: figures leave the system). Views only call services and charts."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _

from lantai.core.roles import EXPORT, VIEW
from lantai.standards import statistics as std
from lantai.web.views.common import permission_required, whole_number

from . import charts, services

LEVELS = {"item": "件", "volume": "卷"}


def _year(request: HttpRequest) -> tuple[int, str]:
    """The year asked for (?year=), else last year (the last complete one) when the holdings
    reach back to it, else this year; with an error message for a bad one."""
    last = timezone.localdate().year - 1
    default = last if last in services.years_with_data() else last + 1
    raw = request.GET.get("year", "").strip()
    if not raw:
        return default, ""
    year = whole_number(raw)
    if year is None:
        return default, _("统计年度“%(raw)s”不是年份：请填写四位数字，如 %(year)s") % {
            "raw": raw[:20], "year": default,
        }  # fmt: skip
    try:
        services.check_year(year)
    except services.StatsError as e:
        return default, str(e)
    return year, ""


@permission_required(VIEW)
def report(request: HttpRequest) -> HttpResponse:
    year, error = _year(request)
    data = services.report(year).as_json()
    breakdowns = data["breakdowns"]
    by_category = [
        (f"{e['label_zh']}（{LEVELS.get(e['level'], e['level'])}）", e["value"], e["previous"])
        for e in breakdowns["holdings_by_category"]
    ]
    by_retention = [
        (f"{e['label_zh']}（{LEVELS.get(e['level'], e['level'])}）", e["value"], e["previous"])
        for e in breakdowns["holdings_by_retention"]
    ]
    trend = services.holdings_trend(year)
    names = {b.code: b for b in std.report_breakdowns()}
    context: dict[str, Any] = {
        "year": year, "previous_year": year - 1, "error": error, "report": data,
        "years": services.years_with_data(),
        "category_chart": charts.bar_chart(by_category),
        "retention_chart": charts.bar_chart(by_retention),
        "category_table": [(*row, row[1] - row[2]) for row in by_category],
        "retention_table": [(*row, row[1] - row[2]) for row in by_retention],
        "trend_chart": charts.column_chart([(str(y), n) for y, n in trend]),
        "trend": trend,
        "category_title": names["holdings_by_category"].label_zh,
        "retention_title": names["holdings_by_retention"].label_zh,
        "can_export": request.user.has_perm_code(EXPORT),  # type: ignore[union-attr]
    }  # fmt: skip
    return render(request, "stats/report.html", context, status=400 if error else 200)


@permission_required(EXPORT)
def export_xlsx(request: HttpRequest) -> HttpResponse:
    year, error = _year(request)
    if error:
        return render(request, "stats/report_error.html", {"error": error}, status=400)
    content = services.export_workbook(year)  # audited as the signed-in user (middleware)
    response = HttpResponse(
        content,
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
    response["Content-Disposition"] = f'attachment; filename="lantai-statistics-{year}.xlsx"'
    return response
