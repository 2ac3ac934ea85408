"""The annual statistics report computed from the small catalogue of conftest.py."""

from __future__ import annotations

import json

import click
import pytest
from click.testing import CliRunner
from django.utils import timezone

from lantai.catalog.models import Record
from lantai.cli_common import LantaiGroup
from lantai.core import figures
from lantai.stats import services as stats
from lantai.stats.cli import stats as stats_group
from tests.stats.conftest import _figures


def test_figures_of_the_year_beside_the_previous_year(catalogue: dict[str, Record]) -> None:
    rows = _figures(2025)
    pairs = {code: (row["value"], row["previous"]) for code, row in rows.items()}
    assert pairs["holdings_items"] == (5, 3)
    assert pairs["holdings_volumes"] == (0, 0)
    assert pairs["open_records"] == (3, 2)
    assert pairs["open_ratio"] == (60.0, 66.67)
    assert pairs["electronic_files"] == (2, 1)
    assert pairs["electronic_bytes"] == (1500, 1000)
    assert pairs["digitized_pages"] == (0, 0) and pairs["digitization_rate"] == (0.0, 0.0)
    assert rows["holdings_items"]["change"] == 2
    assert rows["holdings_items"]["label_zh"] == "馆藏档案（件）"


def test_holdings_by_category_and_retention(catalogue: dict[str, Record]) -> None:
    breakdowns = stats.report(2025).as_json()["breakdowns"]
    assert breakdowns["holdings_by_category"] == [
        {"category": "WS", "label_zh": "文书", "label_en": "administrative records",
         "level": "item", "value": 5, "previous": 3},
    ]  # fmt: skip
    by_retention = {
        (e["retention"], e["level"]): (e["value"], e["previous"])
        for e in breakdowns["holdings_by_retention"]
    }
    assert sum(v for v, _ in by_retention.values()) == 5
    assert sorted(by_retention.values()) == [(1, 1), (2, 0), (2, 2)]
    # in the order of the retention vocabulary, with its labels
    labels = [(e["retention"], e["label_zh"]) for e in breakdowns["holdings_by_retention"]]
    assert labels == [("Y", "永久"), ("D30", "定期30年"), ("D10", "定期10年")]


def test_a_year_before_anything_counts_nothing(catalogue: dict[str, Record]) -> None:
    rows = _figures(2023)
    assert rows["holdings_items"]["value"] == 0 and rows["electronic_files"]["value"] == 0
    # no holdings: a rate of nothing is not 0 %
    assert rows["open_ratio"]["value"] is None and rows["digitization_rate"]["value"] is None
    assert stats.report(2023).as_json()["breakdowns"]["holdings_by_category"] == []


def test_same_floor_figures_are_not_available_without_a_provider(
    catalogue: dict[str, Record], no_providers: None
) -> None:
    rows = _figures(2025)
    for code in ("access_requests", "access_provisions", "exhibitions_published", "accessions"):
        assert rows[code]["available"] is False and rows[code]["value"] is None
    figures.register("accessions", lambda year, repository_id: {2025: 4, 2024: 0}[year])
    accessions = _figures(2025)["accessions"]
    assert (accessions["available"], accessions["value"], accessions["previous"]) == (True, 4, 0)


def test_access_registers_its_figures(
    catalogue: dict[str, Record], monkeypatch: pytest.MonkeyPatch
) -> None:
    rows = _figures(2025)  # access is installed: its provider answers, 0 requests is a real 0
    assert rows["access_requests"]["available"] is True
    assert rows["access_requests"]["value"] == 0
    assert rows["exhibitions_published"]["available"] is True  # exhibits registers it too
    assert rows["exhibitions_published"]["value"] == 0
    monkeypatch.delitem(figures._providers, "shelving_metres", raising=False)  # no stacks room
    assert _figures(2025)["shelving_metres"]["available"] is False


def _lantai() -> click.Group:
    return LantaiGroup(commands={"stats": stats_group})  # as registered in lantai.cli


def test_cli_prints_the_report_as_json(catalogue: dict[str, Record]) -> None:
    result = CliRunner().invoke(_lantai(), ["stats", "report", "--year", "2025", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["ok"] is True and (data["year"], data["previous_year"]) == (2025, 2024)
    items = next(r for r in data["figures"] if r["code"] == "holdings_items")
    assert (items["value"], items["previous"]) == (5, 3)


def test_cli_errors_are_json_too(db: None) -> None:
    future = timezone.localdate().year + 1
    result = CliRunner().invoke(_lantai(), ["stats", "report", "--year", str(future), "--json"])
    assert result.exit_code == 1
    data = json.loads(result.output)
    assert data["ok"] is False and str(future) in data["error"]
    bad = CliRunner().invoke(_lantai(), ["stats", "report", "--year", "去年", "--json"])
    assert bad.exit_code == 2 and json.loads(bad.output)["ok"] is False


def test_access_users_count_distinct_people_not_visits(catalogue: dict[str, Record]) -> None:
    from lantai.access.models import Provision
    from lantai.core import accounts

    staff = accounts.create_user("stats-reader", role="reading_room", password="Reader#2026pass")
    year = timezone.localdate().year
    for n, (id_type, number) in enumerate(
        [("resident_id", "450101199001011234"), ("resident_id", "450101199001011234"),
         ("passport", "E12345678")]
    ):  # fmt: skip
        Provision.objects.create(
            number=f"LY-{n}", user_name="某某", id_type=id_type, id_number=number,
            purpose="research", method="reading", provided_by=staff,
        )  # fmt: skip
    users = _figures(year)["access_users"]
    assert (users["available"], users["value"], users["previous"]) == (True, 2, 0)
    assert _figures(year)["access_provisions"]["value"] == 3
