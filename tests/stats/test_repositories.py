"""The annual report is that of one archives (填报单位): an installation holding the provincial
archives and a city archives never adds them up — catalogue, digitization, components and the
same-floor providers (accessions, shelving) — and the page, the CLI and the export name it."""

from __future__ import annotations

import datetime as dt
import io
import json
from typing import Any

import pytest
from click.testing import CliRunner
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from lantai.catalog import services
from lantai.catalog.models import Component, Record, Repository
from lantai.core import accounts
from lantai.stats import services as stats
from tests.stats.conftest import _at, _item
from tests.stats.test_report import _lantai

PASSWORD = "Lantai#Stats2024"


@pytest.fixture
def city(catalogue: dict[str, Record]) -> Repository:
    """A city archives beside the default one: 4 items (2 open) and a 7000-byte file, 2024."""
    city = services.create_repository("441900", "岭东市档案馆", level="city")
    ws = services.create_category(
        services.create_fonds("C001", "岭东市民政局", repository=city), "WS"
    )
    made = [_item(ws, n, "永久", "开放" if n <= 2 else "未开放", 2024) for n in (1, 2, 3, 4)]
    component = Component.objects.create(
        record=made[0], name="c.pdf", size=7000, sm3="0" * 64, sha256="0" * 64, path="c.pdf"
    )
    Component.objects.filter(pk=component.pk).update(created_at=_at(2024))
    return city


def _rows(data: dict[str, Any]) -> dict[str, Any]:
    return {row["code"]: row["value"] for row in data["figures"]}


def test_each_archives_reports_its_own_figures(city: Repository) -> None:
    mine = stats.report(2025).as_json()
    theirs = stats.report(2025, repository=city).as_json()
    assert (mine["repository"], theirs["repository"]) == (
        services.default_repository().code, "441900",
    )  # fmt: skip
    assert theirs["repository_name"] == "岭东市档案馆"
    assert _rows(mine)["holdings_items"] == 5 and _rows(theirs)["holdings_items"] == 4
    assert _rows(theirs)["open_ratio"] == 50.0
    assert (_rows(mine)["electronic_bytes"], _rows(theirs)["electronic_bytes"]) == (1500, 7000)
    by_category = theirs["breakdowns"]["holdings_by_category"]
    assert [(e["category"], e["value"]) for e in by_category] == [("WS", 4)]
    scanned = stats.report(2025, repository=city, scan=True).as_json()
    assert _rows(scanned) == _rows(theirs)  # the counters and the plain aggregates agree
    assert stats.holdings_trend(2025, city)[-2:] == [(2024, 4), (2025, 4)]


def test_accessions_count_only_those_taken_in_by_the_archives(city: Repository) -> None:
    from lantai.holdings.models import Accession, Donor

    donor = Donor.objects.create(kind="person", name="某某")
    home = services.default_repository()
    year = 2025
    for n, (repo, status, items) in enumerate(
        [(home, "accepted", 10), (home, "registered", 20), (home, "appraised", 40),
         (home, "returned", 80), (city, "accepted", 160)]
    ):  # fmt: skip
        Accession.objects.create(
            repository=repo, number=f"ZJ-{n}", kind="donation", donor=donor,
            received_on=dt.date(year, 3, 1), item_count=items, status=status,
        )  # fmt: skip
    mine, theirs = (
        _rows(stats.report(year).as_json()),
        _rows(stats.report(year, repository=city).as_json()),
    )
    assert (mine["accessions"], mine["accession_items"]) == (1, 10)
    assert (theirs["accessions"], theirs["accession_items"]) == (1, 160)


def test_shelving_counts_the_boxes_in_the_archives_buildings(city: Repository) -> None:
    from lantai.stacks import services as stacks

    home = services.default_repository()
    for repo, shelf, box, mm in ((home, "A-01", "B-0001", 40), (city, "S-01", "B-0002", 50)):
        building = stacks.create_building(None, repo, f"L-{repo.code}", "库房楼")
        room = stacks.create_room(None, building, f"R-{repo.code}", "一号库房", "paper")
        stacks.create_shelf(None, room, shelf, "10")
        stacks.create_box(None, shelf, box, mm)
    this_year = timezone.localdate().year
    assert stacks.shelving_metres(this_year) == pytest.approx(0.09)  # every archives
    assert stacks.shelving_metres(this_year, home.pk) == pytest.approx(0.04)
    mine = _rows(stats.report(this_year).as_json())["shelving_metres"]
    theirs = _rows(stats.report(this_year, repository=city).as_json())["shelving_metres"]
    assert (mine, theirs) == (pytest.approx(0.04), pytest.approx(0.05))


def test_the_page_offers_the_users_archives_only(city: Repository) -> None:
    everyone = accounts.create_user("u-all", role="cataloguer", password=PASSWORD, scope_all=True)
    client = Client()
    client.force_login(everyone)
    page = client.get(reverse("stats_staff:report"), {"year": "2025", "repository": "441900"})
    assert page.status_code == 200
    assert page.context["repository"] == city
    assert page.context["report"]["repository"] == "441900"
    assert "岭东市档案馆" in page.content.decode()
    unknown = client.get(reverse("stats_staff:report"), {"year": "2025", "repository": "999"})
    assert unknown.status_code == 400 and "999" in unknown.content.decode()

    limited = accounts.create_user("u-city", role="cataloguer", password=PASSWORD)
    limited.repositories.add(city)
    client.force_login(limited)
    page = client.get(reverse("stats_staff:report"), {"year": "2025"})
    assert page.status_code == 200 and page.context["repository"] == city  # first in scope
    assert [r.code for r in page.context["repositories"]] == ["441900"]
    home = services.default_repository().code
    other = client.get(reverse("stats_staff:report"), {"year": "2025", "repository": home})
    assert other.status_code == 400 and other.context["repository"] == city  # not in scope


def test_the_export_names_the_reporting_archives(city: Repository) -> None:
    user = accounts.create_user("u-exp", role="cataloguer", password=PASSWORD, scope_all=True)
    client = Client()
    client.force_login(user)
    response = client.get(reverse("stats_staff:export"), {"year": "2025", "repository": "441900"})
    assert response.status_code == 200, response.content[:300]
    sheet = load_workbook(io.BytesIO(response.content))["统计报表"]
    assert sheet.cell(row=2, column=1).value == "填报单位：岭东市档案馆"
    values = {row[0]: row[2] for row in sheet.iter_rows(min_row=4, values_only=True)}
    assert values["馆藏档案（件）"] == 4


def test_cli_reports_the_archives_named(city: Repository) -> None:
    args = ["stats", "report", "--year", "2025", "--json"]
    default = json.loads(CliRunner().invoke(_lantai(), args).output)
    assert default["repository"] == services.default_repository().code
    assert _rows(default)["holdings_items"] == 5
    result = CliRunner().invoke(_lantai(), [*args, "--repository", "441900"])
    assert result.exit_code == 0, result.output
    assert _rows(json.loads(result.output))["holdings_items"] == 4
    bad = CliRunner().invoke(_lantai(), [*args, "--repository", "nope"])
    assert bad.exit_code == 2
    error = json.loads(bad.output)
    assert error["ok"] is False and "nope" in error["error"] and "441900" in error["error"]
    text = CliRunner().invoke(
        _lantai(), ["stats", "report", "--year", "2025", "--repository", "441900"]
    )
    assert text.exit_code == 0 and "岭东市档案馆（441900）" in text.output
