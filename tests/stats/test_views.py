"""The report page under /stats/ (VIEW) with its SVG charts and table alternatives, and the Excel
export (EXPORT), read back with openpyxl; `lantai stats report --xlsx`."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from lantai.catalog.models import Record
from lantai.core import accounts
from lantai.core.models import AuditEntry
from tests.stats.test_report import _lantai

PASSWORD = "Lantai#Stats2024"


def _client(role: str) -> Client:
    user = accounts.create_user(f"u-{role}", role=role, password=PASSWORD, scope_all=True)
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def cataloguer(catalogue: dict[str, Record]) -> Client:
    return _client("cataloguer")


def test_report_page_with_charts_and_tables(cataloguer: Client) -> None:
    response = cataloguer.get(reverse("stats_staff:report"), {"year": "2025"})
    assert response.status_code == 200
    html = response.content.decode()
    assert "2025 年度档案统计" in html
    assert html.count('role="img"') == 3  # trend, by category, by retention
    assert html.count("<caption>") == 3  # each chart has its data table
    assert "文书（件）" in html  # the category bar and its table row
    assert '<td class="num">5</td><td class="num">3</td>' in html  # 2025 beside 2024
    assert "+2" in html  # the change of the holdings
    assert reverse("stats_staff:export") + "?year=2025" in html  # EXPORT: the link is shown
    assert "<style" not in html and "style=" not in html  # CSP: no inline styles


@pytest.mark.parametrize(
    ("year", "message"),
    [("去年", "不是年份"), ("99999999999999999999", "不是年份"), ("1800", "1800")],
)
def test_a_bad_year_is_refused_with_a_message(cataloguer: Client, year: str, message: str) -> None:
    response = cataloguer.get(reverse("stats_staff:report"), {"year": year})
    assert response.status_code == 400
    assert message in response.content.decode()


def test_a_future_year_is_refused(cataloguer: Client) -> None:
    future = str(timezone.localdate().year + 1)
    response = cataloguer.get(reverse("stats_staff:report"), {"year": future})
    assert response.status_code == 400 and "不能统计未来的年度" in response.content.decode()
    export = cataloguer.get(reverse("stats_staff:export"), {"year": future})
    assert export.status_code == 400


def test_permissions(catalogue: dict[str, Record]) -> None:
    anonymous = Client().get(reverse("stats_staff:report"))
    assert anonymous.status_code == 302 and "login" in anonymous["Location"]
    vendor = _client("scanning_vendor")  # no VIEW
    assert vendor.get(reverse("stats_staff:report")).status_code == 403
    keeper = _client("preservation_officer")  # VIEW, not EXPORT
    page = keeper.get(reverse("stats_staff:report"), {"year": "2025"})
    assert page.status_code == 200
    assert reverse("stats_staff:export") not in page.content.decode()
    assert keeper.get(reverse("stats_staff:export"), {"year": "2025"}).status_code == 403
    assert not AuditEntry.objects.filter(action="stats_export").exists()


def _rows(sheet: Any) -> list[tuple[Any, ...]]:
    return [tuple(row) for row in sheet.iter_rows(values_only=True)]


def _check_workbook(content: bytes) -> None:
    book = load_workbook(io.BytesIO(content))
    assert book.sheetnames == ["统计报表", "馆藏档案（按门类）", "馆藏档案（按保管期限）"]
    main = _rows(book["统计报表"])
    assert main[0][0] == "2025 年度档案统计报表"
    assert main[2] == ("指标", "计量单位", "2025 年", "2024 年", "增减", "数据来源")
    figures = {row[0]: row for row in main[3:]}
    assert figures["馆藏档案（件）"][1:5] == ("件", 5, 3, 2)
    assert figures["档案开放率"][1:5] == ("%", 60, 66.67, -6.67)
    assert figures["电子档案容量（TB）"][1] == "TB"
    assert "统计计数器" in figures["馆藏档案（件）"][5]  # the Chinese source (from_zh)
    by_category = _rows(book["馆藏档案（按门类）"])
    assert by_category[2] == ("门类", "计量单位", "2025 年", "2024 年", "增减")
    assert by_category[3] == ("文书（WS）", "件", 5, 3, 2)
    by_retention = _rows(book["馆藏档案（按保管期限）"])
    assert sum(row[2] for row in by_retention[3:]) == 5
    assert by_retention[3] == ("永久（Y）", "件", 2, 2, 0)


def test_excel_export_in_the_reports_layout(cataloguer: Client) -> None:
    response = cataloguer.get(reverse("stats_staff:export"), {"year": "2025"})
    assert response.status_code == 200
    assert response["Content-Disposition"].endswith('-2025.xlsx"')
    _check_workbook(response.content)
    entry = AuditEntry.objects.filter(action="stats_export").get()
    assert (entry.target_type, entry.target_id, entry.detail["format"]) == (
        "stats_report", "2025", "xlsx",
    )  # fmt: skip


def test_cli_writes_the_workbook(catalogue: dict[str, Record], tmp_path: Path) -> None:
    out = tmp_path / "report.xlsx"
    args = ["stats", "report", "--year", "2025", "--json", "--xlsx", str(out)]
    result = CliRunner().invoke(_lantai(), args)
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["xlsx"] == str(out)
    _check_workbook(out.read_bytes())
    bad = tmp_path / "missing" / "report.xlsx"
    args = ["stats", "report", "--year", "2025", "--json", "--xlsx", str(bad)]
    refused = CliRunner().invoke(_lantai(), args)
    assert refused.exit_code == 1
    assert "无法写入 Excel 文件" in json.loads(refused.output)["error"]
    exports = AuditEntry.objects.filter(action="stats_export")
    assert [e.detail["file"] for e in exports] == [str(out)]  # the refused one not audited


@pytest.mark.parametrize(
    ("value", "shown", "with_sign"),
    [
        (1234567, "1,234,567", "+1,234,567"), (0, "0", "0"), (-1200, "-1,200", "-1,200"),
        (66.67, "66.67", "+66.67"), (60.0, "60.0", "+60.0"), (1.5, "1.5", "+1.5"),
        (-6.67, "-6.67", "-6.67"), (None, "—", "—"),
    ],
)  # fmt: skip
def test_how_figures_are_written(value: object, shown: str, with_sign: str) -> None:
    from lantai.stats.templatetags.stats_numbers import figure, signed

    assert figure(value) == shown and signed(value) == with_sign


def test_the_default_year_is_last_year_only_when_the_holdings_reach_back_to_it(
    catalogue: dict[str, Record],
) -> None:
    from lantai.stats.models import RecordCount

    client = _client("cataloguer")
    this_year = timezone.localdate().year
    assert client.get(reverse("stats_staff:report")).context["year"] == this_year - 1
    # holdings made only this year (a new installation, the demo): this year, not a page of zeros
    RecordCount.objects.filter(created_year__lt=this_year).update(n=0)
    assert client.get(reverse("stats_staff:report")).context["year"] == this_year
