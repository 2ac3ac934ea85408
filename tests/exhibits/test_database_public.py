# ruff: noqa: F811  (the fixtures of conftest_databases are imported, then requested by name)
"""The public side of a 专题数据库: list, facets, search inside, paging, timeline, map, a record
page with its images and condition, share block and citation; THE LEAK TEST; hostile inputs."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from typing import Any
from urllib.parse import quote

import pytest
from django.test import Client

from lantai.exhibits import databases as service

from .conftest_databases import (  # noqa: F401
    Archive,
    _database_settings,
    archive,
    red_database,
    set_open_status,
)

BASE = "/public/databases/"


def _url(database: Any, tail: str = "") -> str:
    return f"{BASE}{database.repository.code}/{database.slug}/{tail}"


def _page(client: Client, url: str, status: int = 200) -> str:
    response = client.get(url)
    assert response.status_code == status, url
    return response.content.decode()


def _facet_count(html: str, value: str) -> int | None:
    match = re.search(rf">{re.escape(value)}</a> <span class=\"facet-count\">(\d+)</span>", html)
    return int(match.group(1)) if match else None


@pytest.fixture
def red(archive: Archive) -> Any:
    return red_database(archive)


def test_the_list_shows_published_databases_only(archive: Archive, red: Any) -> None:
    draft = service.create_database(
        archive.users["curator"], repository=archive.repository, code="D1", name="草稿数据库",
        slug="draft", kind="event",
    )  # fmt: skip
    html = _page(Client(), BASE)
    assert "红色档案专题数据库" in html and "草稿数据库" not in html
    assert "4 件档案" in html  # the open records only
    _page(Client(), _url(draft), 404)


def test_browse_lists_open_records_with_their_values_and_facets(archive: Archive, red: Any) -> None:
    html = _page(Client(), _url(red))
    for title in ("百色起义宣言", "龙州起义布告", "东兰农民运动讲习所章程", "湘江战役伤亡统计"):
        assert title in html
    assert "秘藏特委会议记录" not in html and "内部密件登记" not in html
    assert "共 4 件档案" in html
    assert _facet_count(html, "土地革命战争时期") == 3
    assert _facet_count(html, "大革命时期") == 1
    assert _facet_count(html, "韦拔群") == 1
    assert "邓小平、张云逸" in html


def test_a_facet_narrows_and_search_inside_matches_titles_and_values(
    archive: Archive, red: Any
) -> None:
    client = Client()
    html = _page(client, _url(red) + "?" + "f_period=" + quote("大革命时期"))
    assert "共 1 件档案" in html and "东兰农民运动讲习所章程" in html and "百色起义宣言" not in html
    html = _page(client, _url(red) + "?q=" + quote("张云逸"))  # a value, not in any title
    assert "共 1 件档案" in html and "百色起义宣言" in html
    html = _page(client, _url(red) + "?q=" + quote("秘藏"))  # the closed record's title
    assert "共 0 件档案" in html and "秘藏特委会议记录" not in html


def test_timeline_orders_events_by_date(archive: Archive, red: Any) -> None:
    html = _page(Client(), _url(red, "timeline/"))
    order = [
        html.index(t)
        for t in ("东兰农民运动讲习所章程", "百色起义宣言", "龙州起义布告", "湘江战役伤亡统计")
    ]
    assert order == sorted(order)
    assert '<time datetime="1929-12-11">' in html
    assert ">1925</h3>" in html and ">1934</h3>" in html


def test_map_draws_resolved_places_and_lists_them(archive: Archive, red: Any) -> None:
    html = _page(Client(), _url(red, "map/"))
    svg = re.search(r"<svg[^>]*class=\"place-map\".*?</svg>", html, re.S)
    assert svg is not None
    root = ET.fromstring(svg.group(0))
    ns = "{http://www.w3.org/2000/svg}"
    labels = {a.get("aria-label") for a in root.iter(f"{ns}a")}
    assert {"百色（1）", "龙州（1）", "东兰（1）", "全州（1）", "兴安（1）", "灌阳（1）"} == labels
    assert "火星基地" not in html  # unknown to the gazetteer: not on the public map
    assert "凭祥" not in html and "宁明" not in html  # places of the closed and classified records
    assert "示意图" in html


def test_the_curator_sees_unresolved_places(archive: Archive, red: Any) -> None:
    client = Client()
    client.force_login(archive.users["curator"])
    html = _page(client, f"/exhibits/databases/{red.pk}/")
    assert "地名词典中找不到的地点" in html and "火星基地（1）" in html


def test_record_page_shows_values_images_condition_and_citation(archive: Archive, red: Any) -> None:
    from lantai.exhibits import conservation

    record = archive.records["baise"]
    conservation.add_condition(archive.users["curator"], record.pk, carrier="纸质", grade="中度破损",
                               damage=["霉变"], note="内部：三号柜", assessed_on="2024-05-01")  # fmt: skip
    html = _page(Client(), _url(red, f"records/{record.reference_code}"))
    assert "百色起义宣言" in html and "土地革命战争时期" in html and "邓小平、张云逸" in html
    assert "中度破损" in html and "内部：三号柜" not in html
    component = archive.images[record.pk]
    assert f"/iiif/3/c{component.pk}/" in html
    assert "[A/OL]" in html and f": {record.reference_code}[" in html
    assert 'class="share-qr"' in html and "mailto:?subject=" in html
    assert f'rel="canonical" href="/public/archives/{archive.repository.code}/' in html


def test_share_block_on_the_database_page_cites_it_as_an_online_resource(
    archive: Archive, red: Any
) -> None:
    html = _page(Client(), _url(red))
    assert f"{archive.repository.name}. 红色档案专题数据库[EB/OL]" in html
    assert "web/share.js" in html and "<script>" not in html


def test_leak_a_closed_record_is_gone_from_everything_at_once(archive: Archive, red: Any) -> None:
    """THE LEAK TEST: close a record of a published database; at once it is gone from the list,
    the facet counts, the timeline, the map and its own page."""
    client = Client()
    record = archive.records["baise"]
    before = _page(client, _url(red))
    assert "百色起义宣言" in before and _facet_count(before, "土地革命战争时期") == 3
    assert "百色（1）" in _page(client, _url(red, "map/"))
    assert "百色起义宣言" in _page(client, _url(red, "timeline/"))
    _page(client, _url(red, f"records/{record.reference_code}"))

    set_open_status(record, "未开放")

    after = _page(client, _url(red))
    assert "百色起义宣言" not in after and "共 3 件档案" in after
    assert _facet_count(after, "土地革命战争时期") == 2
    assert _facet_count(after, "邓小平") is None and _facet_count(after, "百色起义") is None
    assert "百色" not in _page(client, _url(red, "map/"))
    assert "百色起义宣言" not in _page(client, _url(red, "timeline/"))
    gone = _page(client, _url(red, f"records/{record.reference_code}"), 404)
    assert "百色起义宣言" not in gone
    assert "百色起义宣言" not in _page(client, _url(red) + "?q=" + quote("百色"))
    assert "3 件档案" in _page(client, BASE)


def test_unpublished_database_is_gone_from_the_public(archive: Archive, red: Any) -> None:
    service.unpublish(archive.users["curator"], red)
    for tail in ("", "timeline/", "map/", f"records/{archive.records['baise'].reference_code}"):
        _page(Client(), _url(red, tail), 404)
    assert "红色档案专题数据库" not in _page(Client(), BASE)


def test_hostile_facet_values_are_escaped(archive: Archive, red: Any) -> None:
    curator = archive.users["curator"]
    entry = service.entry_for(curator, red, archive.records["longzhou"].pk)
    hostile = '<script>alert("x")</script>\'"&'
    service.describe(curator, entry, {**entry.values, "event": hostile})
    client = Client()
    html = _page(client, _url(red))
    assert "<script>alert" not in html
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in html
    html = _page(client, _url(red) + "?f_event=" + quote(hostile) + "&q=" + quote('"><img src=x>'))
    assert "<img src=x>" not in html and '"><img' not in html


@pytest.mark.parametrize("page", ["999999999999999999999999", "-3", "abc", "0"])
def test_a_huge_or_bad_page_number_still_answers(archive: Archive, red: Any, page: str) -> None:
    html = _page(Client(), _url(red) + f"?page={page}")
    assert "共 4 件档案" in html


@pytest.mark.parametrize(
    "path",
    [
        "000000/red/", "nope/red/", "{code}/unknown/", "{code}/red/records/NO-SUCH-CODE",
        "{code}/red/records/" + "X" * 300, "{code}/" + "a" * 80 + "/",
    ],
)  # fmt: skip
def test_unknown_slug_archives_or_record_is_404(archive: Archive, red: Any, path: str) -> None:
    _page(Client(), BASE + path.format(code=archive.repository.code), 404)


def test_the_closed_and_classified_records_have_no_public_page(archive: Archive, red: Any) -> None:
    for key in ("closed", "classified"):
        _page(Client(), _url(red, f"records/{archive.records[key].reference_code}"), 404)


def test_a_partly_opened_record_shows_its_open_copy_and_no_master_image(
    archive: Archive, red: Any
) -> None:
    """A record opened at information level is read through its redacted open copy: the public
    sees the copy's title, never the master's, and none of the master's page images."""
    from lantai.catalog import open_copies

    record = archive.records["longzhou"]
    open_copies.set_open_copy(record, b"%PDF-1.4 x", "", {"title": "龙州■■布告"}, {})
    client = Client()
    for url in (_url(red), _url(red, "timeline/"), _url(red, f"records/{record.reference_code}")):
        html = _page(client, url)
        assert "龙州■■布告" in html and "龙州起义布告" not in html, url
    html = _page(client, _url(red, f"records/{record.reference_code}"))
    assert f"/iiif/3/c{archive.images[record.pk].pk}/" not in html
    assert "龙州起义布告" not in _page(client, _url(red) + "?q=" + quote("起义布告"))


def test_in_english_the_curators_english_names_are_shown(archive: Archive, red: Any) -> None:
    service.update_database(
        archive.users["curator"], red, name="红色档案专题数据库", name_en="Red Archives Database"
    )
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    html = _page(client, _url(red))
    assert "Red Archives Database" in html and "Historical period" in html
    assert "Red Archives Database" in _page(client, BASE)
    html = _page(Client(HTTP_ACCEPT_LANGUAGE="zh-hans"), _url(red))
    assert "Red Archives Database" not in html and "历史时期" in html
