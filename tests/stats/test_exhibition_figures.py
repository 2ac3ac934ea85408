"""The exhibits room's figures: exhibitions first published in the year, and visits (人次) to
the public exhibition pages, counted in one row per exhibition per day; HEAD requests, robots
and previews are not visits."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from lantai.exhibits.models import ExhibitionVersion, ExhibitionVisit
from lantai.standards import statistics as std
from lantai.stats import services as stats
from tests.exhibits import exhibition_fixtures as fx

_exhibition_settings = fx._exhibition_settings  # autouse: public rates, fast password hashing

BROWSER = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/120.0 Safari/537.36"


def _figures(year: int) -> dict[str, Any]:
    return {row["code"]: row for row in stats.report(year).as_json()["figures"]}


@pytest.fixture
def hall(db: None) -> fx.Hall:
    return fx.make_hall()


@pytest.fixture
def shown(hall: fx.Hall) -> Any:
    exhibition = fx.build(hall)
    fx.publish(hall, exhibition)
    return exhibition


def test_visits_are_counted_per_day_without_heads_and_robots(shown: Any) -> None:
    client = Client()
    url = f"/public/exhibitions/{shown.slug}/"
    for _ in range(3):
        assert client.get(url, HTTP_USER_AGENT=BROWSER).status_code == 200
    assert client.head(url, HTTP_USER_AGENT=BROWSER).status_code == 200
    for robot in ("Mozilla/5.0 (compatible; Baiduspider/2.0)", "curl/8.4.0", ""):
        assert client.get(url, HTTP_USER_AGENT=robot).status_code == 200
    assert client.get(f"{url}proclamation/", HTTP_USER_AGENT=BROWSER).status_code == 200
    row = ExhibitionVisit.objects.get()  # one row for the day
    assert (row.exhibition_id, row.day, row.count) == (shown.pk, timezone.localdate(), 3)
    year = timezone.localdate().year
    visits = _figures(year)["exhibition_visits"]
    assert (visits["available"], visits["value"], visits["previous"]) == (True, 3, 0)


def test_a_missing_or_unpublished_exhibition_counts_nothing(hall: fx.Hall) -> None:
    draft = fx.build(hall, slug="draft-only")
    response = Client().get(f"/public/exhibitions/{draft.slug}/", HTTP_USER_AGENT=BROWSER)
    assert response.status_code == 404
    assert Client().get("/public/exhibitions/nothing/", HTTP_USER_AGENT=BROWSER).status_code == 404
    assert not ExhibitionVisit.objects.exists()


def test_visits_by_year_and_exhibitions_by_year_of_first_publication(shown: Any) -> None:
    ExhibitionVisit.objects.create(exhibition=shown, day=dt.date(2024, 12, 31), count=40)
    ExhibitionVisit.objects.create(exhibition=shown, day=dt.date(2025, 1, 1), count=2)
    ExhibitionVersion.objects.filter(exhibition=shown).update(
        created_at=timezone.make_aware(dt.datetime(2024, 5, 1))
    )
    rows = _figures(2025)
    assert (rows["exhibition_visits"]["value"], rows["exhibition_visits"]["previous"]) == (2, 40)
    published = rows["exhibitions_published"]
    assert (published["value"], published["previous"], published["change"]) == (0, 1, -1)


@pytest.mark.parametrize(
    ("method", "agent", "counted"),
    [
        ("GET", BROWSER, True),
        ("get", BROWSER, True),
        ("HEAD", BROWSER, False),
        ("POST", BROWSER, False),
        ("GET", "", False),
        ("GET", "Googlebot/2.1 (+http://www.google.com/bot.html)", False),
        ("GET", "python-requests/2.31", False),
        ("GET", "Wget/1.21", False),
        ("GET", "Mozilla/5.0 HeadlessChrome/120.0", False),
    ],
)
def test_what_is_a_visit(method: str, agent: str, counted: bool) -> None:
    assert std.is_visit(method, agent) is counted
