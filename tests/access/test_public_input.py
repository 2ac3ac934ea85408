"""No number from the public reaches the database or the index unchecked (issue 12, point 14): on
the public API an out-of-range number is a 422 that names the parameter, never a 500; the portal's
search form ignores it with a word and the request form drops it."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from .conftest import Portal

pytestmark = pytest.mark.django_db

HUGE = "99999999999999999999999"


def client() -> Client:
    return Client(raise_request_exception=False)


@pytest.mark.parametrize(
    "params",
    [
        {"q": "婚姻", "year_from": HUGE},
        {"q": "婚姻", "year_to": HUGE},
        {"q": "婚姻", "year_from": "-" + HUGE},
        {"q": "婚姻", "year_to": "0"},
        {"q": "婚姻", "page": HUGE},
        {"q": "婚姻", "year": HUGE},
        {"q": "婚姻", "year": "-5"},
        {"q": "婚姻", "year": "１９６４"},  # full-width digits: not a year the index holds
        {"q": "婚姻", "fonds": ["x"] * 51},
        {"q": "婚姻", "within": ["婚"] * 51},
    ],
)
def test_public_api_refuses_out_of_range_numbers_with_422(
    portal: Portal, params: dict[str, Any]
) -> None:
    response = client().get("/api/public/search", params)
    assert response.status_code == 422, response.content
    name = next(k for k in params if k != "q")
    assert name in response.content.decode()


def test_public_api_year_filter_takes_years(portal: Portal) -> None:
    found = client().get("/api/public/search", {"q": "婚姻", "year": ["1985", ""]})
    assert found.status_code == 200 and found.json()["total"] > 0
    assert client().get("/api/public/search", {"q": "婚姻", "year": "1986"}).json()["total"] == 0


def test_public_api_record_id_out_of_range_is_422(portal: Portal) -> None:
    assert client().get(f"/api/public/records/{HUGE}").status_code == 422
    assert client().get("/api/public/records/999999").status_code == 404


@pytest.mark.parametrize(
    "params",
    [
        {"q": "婚姻", "page": "²"},  # a digit to str.isdigit(), not to int()
        {"q": "婚姻", "year_from": "²"},
    ],
)
def test_portal_search_form_survives_any_number(portal: Portal, params: dict[str, str]) -> None:
    response = client().get("/public/search/", params)
    assert response.status_code == 200
    assert "共 " in response.content.decode() or "没有找到" in response.content.decode()


def test_request_form_drops_record_ids_out_of_range(portal: Portal) -> None:
    opened = portal.open_records[0]
    response = client().get("/public/request/", {"record": [HUGE, str(opened.pk)]})
    assert response.status_code == 200
    assert opened.reference_code in response.content.decode()
