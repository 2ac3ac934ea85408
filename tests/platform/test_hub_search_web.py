"""The hub's public search page and JSON endpoint (views_hub.py), and the hub's answer to a
window's ``marriage_find`` message (hub_search.py)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.utils import timezone

from lantai.platform import hub_index, hub_search, transport
from lantai.platform.models import HarvestState, Member

pytestmark = pytest.mark.django_db


@pytest.fixture
def hub() -> tuple[Member, Member]:
    a = Member.objects.create(
        code="A01", name="甲市档案馆", url="http://a.example", public_key="00"
    )
    b = Member.objects.create(
        code="B02", name="乙县档案馆", url="http://b.example", public_key="00"
    )
    rows_a = [{"identifier": f"oai:a:A01/{i}", "reference_code": f"J001-WS·1998-Y-{i:04d}",
               "title": f"关于水利工程第{i}期的批复", "date": "1998-05-04",
               "url": f"http://a.example/records/{i}", "fonds": "J001 某县人民政府"} for i in range(25)]  # fmt: skip
    hub_index.store_records(a, rows_a)
    hub_index.store_records(b, [{"identifier": "oai:b:B02/1", "reference_code": "J9-1", "title": "水利工程验收报告",
                                 "url": "http://b.example/records/1"}])  # fmt: skip
    HarvestState.objects.create(member=a, feed="catalogue", last_success_at=timezone.make_aware(dt.datetime(2026, 12, 6, 22, 15)))  # fmt: skip
    return a, b


def test_search_page(hub: tuple[Member, Member], client: Client) -> None:
    r = client.get("/platform/search/", {"q": "水利工程"})
    assert r.status_code == 200
    html = r.content.decode()
    assert "全区开放档案检索" in html
    assert "共 26 条结果" in html
    assert "甲市档案馆<span class=\"count\"> (25)" in html and "乙县档案馆<span class=\"count\"> (1)" in html  # fmt: skip
    assert 'href="http://a.example/records/24"' in html  # the archives' own record page
    assert "第 1 / 2 页" in html and "page=2" in html
    assert "已汇集 2 个档案馆" in html and "2026-12-06 22:15" in html and "尚未汇集" in html
    r = client.get("/platform/search/", {"q": "水利工程", "archives": "B02"})
    html = r.content.decode()
    assert "共 1 条结果" in html and "验收报告" in html and "第1期" not in html
    r = client.get("/platform/search/", {"q": "水利", "archives": "ZZZ"})
    assert "平台上没有档案馆" in r.content.decode()
    assert client.get("/platform/search/").status_code == 200


def test_search_api(hub: tuple[Member, Member], client: Client) -> None:
    r = client.get("/platform/api/search", {"q": "水利工程", "page": "2"})
    data = r.json()
    assert r.status_code == 200 and data["ok"] and data["total"] == 26 and data["page"] == 2
    assert len(data["hits"]) == 6 and data["hits"][0]["archives"] in {"A01", "B02"}
    assert [(f["code"], f["count"]) for f in data["facets"]] == [("A01", 25), ("B02", 1)]
    assert [c["code"] for c in data["coverage"]] == ["A01", "B02"]
    data = client.get("/platform/api/search", {"q": "水利", "archives": "A01,B02"}).json()
    assert data["total"] == 26
    bad = client.get("/platform/api/search")
    assert bad.status_code == 400 and bad.json()["error"]["field"] == "q"
    assert client.get("/platform/api/search", {"q": "x", "archives": "NOPE"}).status_code == 400


def test_not_a_hub(client: Client) -> None:
    assert client.get("/platform/search/", {"q": "水利"}).status_code == 404


def test_marriage_find_handler(hub: tuple[Member, Member]) -> None:
    a, _b = hub
    hub_index.store_marriage(a, [{"locator": "A01:HY-1990-1", "kind": "marriage", "date": "1990-03-01",
                                  "office": "某县民政局", "region_code": "450102", "digitized": False,
                                  "stamp": "1", "parties": [{"position": 1, "name": "张伟", "id_hash": "e" * 32},
                                                            {"position": 2, "name": "李娜", "id_hash": ""}]}])  # fmt: skip
    fn = transport._handlers[("marriage_find", True)]  # registered for the hub's inbox
    assert fn is hub_search.answer_marriage_find
    out = fn({"body": {"id_hash": "e" * 32, "names": [], "year": None, "years": 2, "limit": 10}})
    assert [r["locator"] for r in out["results"]] == ["A01:HY-1990-1"]
    assert "e" * 32 not in str(out)
    out = fn({"body": {"id_hash": None, "names": ["张卫"], "year": 1991, "years": 2, "limit": 10}})
    assert out["results"][0]["parties"] == [{"name": "张伟", "position": 1}, {"name": "李娜", "position": 2}]  # fmt: skip
    with pytest.raises(transport.Refused) as refused:
        fn({"body": {"id_hash": None, "names": ["张"], "year": None}})
    assert refused.value.status == 400 and "2 至 30" in refused.value.message_zh
