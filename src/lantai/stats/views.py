"""Staff pages of the statistics room: the annual report with charts (VIEW) and its Excel
export (EXPORT: figures leave the system). Views only call services and charts."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from lantai.catalog.models import Repository
from lantai.core.roles import EXPORT, VIEW
from lantai.standards import statistics as std
from lantai.web.views.common import permission_required, whole_number

from . import charts, services


def _repository(request: HttpRequest) -> tuple[Repository | None, list[Repository], str]:
    """The archives asked for (?repository=CODE) among the user's (default: the first in scope,
    the default archives first), the user's archives, and an error message for a bad code."""
    choices = services.repositories(request.user)
    if not choices:
        return None, choices, _("您的权限范围内没有档案馆，无法查看统计报表")
    raw = request.GET.get("repository", "").strip()
    if not raw:
        return choices[0], choices, ""
    for repo in choices:
        if repo.code == raw:
            return repo, choices, ""
    return choices[0], choices, _("档案馆“%(code)s”不存在或不在您的权限范围内") % {
        "code": raw[:32],
    }  # fmt: skip


def _rows(entries: list[dict[str, Any]], english: bool) -> list[tuple[str, Any, Any]]:
    label = "label_en" if english else "label_zh"
    return [
        (f"{e[label]} ({std.level_unit(e['level'], True)})" if english
         else f"{e[label]}（{std.level_unit(e['level'])}）", e["value"], e["previous"])
        for e in entries
    ]  # fmt: skip


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
    repository, choices, repo_error = _repository(request)
    if repository is None:
        return render(request, "stats/report_error.html", {"error": repo_error}, status=403)
    error = error or repo_error
    english = (get_language() or "").startswith("en")
    data = services.report(year, repository=repository).as_json()
    breakdowns = data["breakdowns"]
    by_category = _rows(breakdowns["holdings_by_category"], english)
    by_retention = _rows(breakdowns["holdings_by_retention"], english)
    trend = services.holdings_trend(year, repository)
    names = {b.code: b for b in std.report_breakdowns()}
    title = "label_en" if english else "label_zh"
    context: dict[str, Any] = {
        "year": year, "previous_year": year - 1, "error": error, "report": data,
        "repository": repository, "repositories": choices,
        "years": services.years_with_data(),
        "category_chart": charts.bar_chart(by_category),
        "retention_chart": charts.bar_chart(by_retention),
        "category_table": [(*row, row[1] - row[2]) for row in by_category],
        "retention_table": [(*row, row[1] - row[2]) for row in by_retention],
        "trend_chart": charts.column_chart([(str(y), n) for y, n in trend]),
        "trend": trend,
        "category_title": getattr(names["holdings_by_category"], title),
        "retention_title": getattr(names["holdings_by_retention"], title),
        "can_export": request.user.has_perm_code(EXPORT),  # type: ignore[union-attr]
    }  # fmt: skip
    return render(request, "stats/report.html", context, status=400 if error else 200)


@permission_required(EXPORT)
def export_xlsx(request: HttpRequest) -> HttpResponse:
    year, error = _year(request)
    repository, _choices, repo_error = _repository(request)
    if repository is None:
        return render(request, "stats/report_error.html", {"error": repo_error}, status=403)
    if error or repo_error:
        return render(
            request, "stats/report_error.html", {"error": error or repo_error}, status=400
        )
    # audited as the signed-in user (middleware)
    content = services.export_workbook(year, repository=repository)
    response = HttpResponse(
        content,
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
    response["Content-Disposition"] = (
        f'attachment; filename="lantai-statistics-{repository.code}-{year}.xlsx"'
    )
    return response
