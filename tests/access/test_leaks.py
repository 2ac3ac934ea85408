"""Nothing that is not open reaches the public: search results, totals, facets, snippets,
suggestions, the open catalogue's counts, record pages, page images and PDFs."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client

from .conftest import SECRET_WORD, Portal

pytestmark = pytest.mark.django_db


def results_part(html: str) -> str:
    facets = re.findall(r'<aside class="facets".*?</aside>', html, re.S)
    hits = re.findall(r'<ol class="hits".*?</ol>', html, re.S)
    summary = re.findall(r'<h2 id="results-title".*?</h2>', html, re.S)
    return "".join(facets + hits + summary)


def body(response: Any) -> str:
    """The page without its per-response CSRF token."""
    html = re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", response.content.decode())
    return re.sub(r'name="next" value="[^"]+"', "", html)  # the language switch's return path


@pytest.mark.parametrize(
    "params",
    [
        {"q": SECRET_WORD},
        {"q": "秘"},
        {"q": "婚姻"},
        {"q": "报告"},
        {"title": SECRET_WORD},
        {"q": "关于", "w": SECRET_WORD},
        {"fonds": "000001/J999"},  # a fonds is its archives' code and its 全宗号
        {"q": "婚姻", "fonds": "000001/Z110"},
        {"year_from": "1900", "year_to": "2100"},
    ],
)
def test_public_search_shows_only_open_records(portal: Portal, params: dict[str, str]) -> None:
    response = Client().get("/public/search/", params)
    assert response.status_code == 200
    html = response.content.decode()
    found = results_part(html)  # facets, totals and hits (the query itself is echoed elsewhere)
    assert SECRET_WORD not in found and "J999" not in found
    assert "秘藏全宗机关" not in html
    shown = {int(i) for i in re.findall(r'href="/public/records/(\d+)/"', html)}
    assert shown <= {r.pk for r in portal.open_records}
    for record in portal.closed_records:
        assert record.reference_code not in html


def test_totals_and_facets_count_open_records_only(portal: Portal) -> None:
    html = Client().get("/public/search/", {"q": "婚姻"}).content.decode()
    assert "共 2 条结果" in html  # two open records mention 婚姻; three closed ones too
    facets = results_part(html)
    assert re.search(r'Z109 兰州市民政局<span class="count"> \(2\)', facets)
    assert "Z110" not in facets  # its only 婚姻 records are closed


def test_suggestions_never_name_a_closed_record(portal: Portal) -> None:
    client = Client()
    for prefix in (SECRET_WORD, "秘", "婚姻", "关于", "档案"):
        data = client.get("/public/suggest.json", {"q": prefix}).json()
        assert all(SECRET_WORD not in s for s in data["suggestions"]), prefix
    assert (
        "关于婚姻登记工作的通知"
        in client.get("/public/suggest.json", {"q": "婚姻"}).json()["suggestions"]
    )


def test_closed_record_page_is_the_same_404_as_a_missing_one(portal: Portal) -> None:
    client = Client()
    missing = client.get("/public/records/999999/")
    assert missing.status_code == 404
    for record in portal.closed_records:
        response = client.get(f"/public/records/{record.pk}/")
        assert response.status_code == 404
        assert body(response) == body(missing)
        assert record.title not in response.content.decode()


def test_content_of_closed_records_is_never_served(portal: Portal) -> None:
    client = Client()
    missing = client.get("/public/content/999999/page.jpg")
    assert missing.status_code == 404
    for record in portal.closed_records:
        for url in (
            f"/public/content/{portal.images[record.pk].pk}/page.jpg",
            f"/public/content/{portal.pdfs[record.pk].pk}/document.pdf",
        ):
            response = client.get(url)
            assert response.status_code == 404, url
            assert body(response) == body(missing)
    # an open record's PDF is not an image, nor its image a PDF
    opened = portal.open_records[0]
    assert client.get(f"/public/content/{portal.pdfs[opened.pk].pk}/page.jpg").status_code == 404
    assert (
        client.get(f"/public/content/{portal.images[opened.pk].pk}/document.pdf").status_code == 404
    )


def test_request_form_does_not_prefill_closed_records(portal: Portal) -> None:
    closed = portal.closed_records[0]
    html = Client().get("/public/request/", {"record": closed.pk}).content.decode()
    assert closed.reference_code not in html and SECRET_WORD not in html


def test_open_catalogue_lists_open_fonds_with_open_counts(portal: Portal) -> None:
    html = Client().get("/public/").content.decode()
    assert "兰州市民政局" in html and "J999" not in html and SECRET_WORD not in html
    counts = dict(
        re.findall(r'<td class="code">(\w+)</td>.*?<td class="num">(\d+)</td>', html, re.S)
    )
    assert counts["Z109"] == "2" and "J999" not in counts


def test_open_status_with_a_classification_is_not_public(portal: Portal) -> None:
    """An 开放 record that still carries a 密级 (classification_level > 0) is not public in the
    catalogue (`visible_records` for anonymous users); counts and facets must agree."""
    classified = portal.closed_records[-1]
    assert classified.open_status == "open" and classified.classification_level > 0
    client = Client()
    assert client.get(f"/public/records/{classified.pk}/").status_code == 404
    html = client.get("/public/search/", {"q": "密件"}).content.decode()
    assert "没有找到符合条件的开放档案" in html
    assert "Z110" not in results_part(html)
    assert client.get("/public/suggest.json", {"q": "密件"}).json()["suggestions"] == []
    home = client.get("/public/").content.decode()
    counts = dict(
        re.findall(r'<td class="code">(\w+)</td>.*?<td class="num">(\d+)</td>', home, re.S)
    )
    assert counts == {"Z109": "2", "Z110": "1"}
