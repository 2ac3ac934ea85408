"""IIIF Content Search 2.0 inside a record: OCR lines (as people corrected them) become highlights
on the right canvas, in canvas coordinates; bad queries get a clear JSON error."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from tests.interop.test_iiif_manifest import Digitized, get_json, make_digitized
from tests.interop.test_iiif_presentation import assert_iiif


@pytest.fixture
def digitized(db: Any, settings: Any) -> Digitized:
    settings.PUBLIC_SEARCH_RATE = "100000/min"
    return make_digitized()


def search_url(record: Any) -> str:
    return reverse("iiif_presentation:search", args=[record.repository.code, record.reference_code])


def canvas_of(component: Any) -> str:
    return f"http://testserver/iiif/canvas/c{component.pk}"


def targets(doc: dict[str, Any]) -> list[str]:
    return [a["target"] for a in doc["items"]]


def test_a_hit_targets_its_canvas_in_canvas_coordinates(digitized: Digitized) -> None:
    doc = get_json(Client(), search_url(digitized.record), q="婚姻")
    assert_iiif(doc)
    # the OCR page is 400 × 550 px, the canvas (the stored image) 800 × 1100: boxes double
    assert targets(doc) == [f"{canvas_of(digitized.images[0])}#xywh=100,80,600,60"]
    assert doc["items"][0]["motivation"] == "highlighting"
    assert doc["items"][0]["body"] == {
        "type": "TextualBody", "value": "关于婚姻登记工作的通知", "format": "text/plain",
    }  # fmt: skip
    # the manifest has the same canvas
    manifest = get_json(Client(), search_url(digitized.record).replace("/search/", "/manifest/"))
    assert manifest["items"][0]["id"] == canvas_of(digitized.images[0])


def test_no_hit_is_an_empty_valid_page(digitized: Digitized) -> None:
    doc = get_json(Client(), search_url(digitized.record), q="秘藏")
    assert_iiif(doc)
    assert doc["items"] == [] and "partOf" not in doc


def test_case_is_folded_as_search_folds_it_and_simplified_is_not_traditional(
    digitized: Digitized,
) -> None:
    client = Client()
    assert len(get_json(client, search_url(digitized.record), q="MARRIAGE")["items"]) == 1
    assert len(get_json(client, search_url(digitized.record), q="ｍａｒｒｉａｇｅ")["items"]) == 1
    # the catalogue search does not fold 繁/简 either: 登記 is not 登记
    assert get_json(client, search_url(digitized.record), q="登記")["items"] == []


def test_a_term_over_two_lines_marks_both(digitized: Digitized) -> None:
    doc = get_json(Client(), search_url(digitized.record), q="通知各县")
    assert len(doc["items"]) == 2
    assert doc["items"][1]["target"].endswith("#xywh=60,200,340,50")


def test_a_correction_wins_over_what_ocr_read(digitized: Digitized) -> None:
    from lantai.digitization import reading

    reading.correct_line(digitized.page, 1, "各县区婚姻登记处：", user=None)
    client = Client()
    assert get_json(client, search_url(digitized.record), q="民政局")["items"] == []
    doc = get_json(client, search_url(digitized.record), q="登记处")
    assert [a["body"]["value"] for a in doc["items"]] == ["各县区婚姻登记处："]


def test_pages_that_are_on_no_canvas_give_no_highlight(digitized: Digitized) -> None:
    from lantai.digitization import reading
    from lantai.digitization.models import Page

    reading.add_line(digitized.page, "手写批注：同意婚姻登记", user=None)  # no box on the image
    later = Page.objects.get(pk=digitized.page.pk)
    later.pk, later.frame, later.number = None, 2, 2  # the second frame of the same file
    later.ocr_lines = [["婚姻登记第二帧", [10, 10, 100, 30], 0.9]]
    later.save()
    doc = get_json(Client(), search_url(digitized.record), q="婚姻")
    assert [a["body"]["value"] for a in doc["items"]] == ["关于婚姻登记工作的通知"]


def test_many_hits_are_paged(digitized: Digitized, monkeypatch: Any) -> None:
    from lantai.interop import iiif

    monkeypatch.setattr(iiif, "HITS_PAGE", 1)
    client = Client()
    url = search_url(digitized.record)
    first = get_json(client, url, q="婚姻 各县")
    assert_iiif(first)
    assert first["partOf"][0]["total"] == 2 and len(first["items"]) == 1
    assert first["next"]["id"].endswith("page=2") and "prev" not in first
    second = get_json(client, first["next"]["id"].removeprefix("http://testserver"))
    assert_iiif(second)
    assert second["prev"]["id"] == first["id"] and "next" not in second
    assert second["items"][0]["id"] != first["items"][0]["id"]
    get_json(client, url, 404, q="婚姻 各县", page="3")


def test_ignored_parameters_are_named(digitized: Digitized) -> None:
    doc = get_json(Client(), search_url(digitized.record), q="婚姻", motivation="painting")
    assert doc["ignored"] == ["motivation"]
    assert len(doc["items"]) == 1


@pytest.mark.parametrize(
    ("params", "words"),
    [
        ({}, "请填写检索词"),
        ({"q": "   "}, "请填写检索词"),
        ({"q": "-婚姻"}, "请填写检索词"),
        ({"q": "婚" * 201}, "不超过 200"),
        ({"q": "婚姻\x07"}, "控制字符"),
        ({"q": "婚姻\x00"}, "控制字符"),
        ({"q": "婚姻", "page": "abc"}, "page"),
        ({"q": "婚姻", "page": "9" * 40}, "page"),
    ],
)
def test_bad_queries_get_a_clear_json_error(
    digitized: Digitized, params: dict[str, str], words: str
) -> None:
    response = Client().get(search_url(digitized.record), params)
    assert response.status_code == 400
    assert response["Content-Type"].startswith("application/json")
    assert response["Access-Control-Allow-Origin"] == "*"
    body = response.json()
    assert words in body["error"] and body["error_en"]


def test_hostile_records_and_archives_are_404(digitized: Digitized) -> None:
    client = Client()
    code, ref = digitized.record.repository.code, digitized.record.reference_code
    for url in (
        f"/iiif/search/NOSUCH/{ref}",
        f"/iiif/search/{code}/../../../etc/passwd",
        f"/iiif/search/{code}/{ref}%00",
        f"/iiif/search/{code}/{'档' * 3000}",
        search_url(digitized.closed),
        search_url(digitized.partly),
    ):
        get_json(client, url, 404, q="婚姻")


def test_search_is_rate_limited(digitized: Digitized, settings: Any) -> None:
    settings.PUBLIC_SEARCH_RATE = "2/min"
    client = Client()
    for _ in range(2):
        get_json(client, search_url(digitized.record), q="婚姻")
    response = client.get(search_url(digitized.record), {"q": "婚姻"})
    assert response.status_code == 429
    assert int(response["Retry-After"]) >= 1
    assert "请求过于频繁" in response.json()["error"]
