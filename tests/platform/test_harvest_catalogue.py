"""The hub's incremental OAI-PMH harvest of a member's open catalogue (harvest_catalogue.py),
against a live responder on a loopback port: resumption tokens, an interrupted harvest resumed
from its saved token without duplicates, tombstones, expired tokens, OAI errors, a node down."""

from __future__ import annotations

import json

import pytest

from lantai.platform import harvest_catalogue, hub_index
from lantai.platform.models import HarvestState, HubRecord, Member

from .oai_responder import Feed, Item, Responder

pytestmark = pytest.mark.django_db


def _feed(n: int = 8, **kw: object) -> Feed:
    items = [Item(ref=f"J001-WS·1998-Y-{i:04d}", title=f"关于第{i}号水利工程的批复", description="人民公社") for i in range(n)]  # fmt: skip
    return Feed(items=items, **kw)  # type: ignore[arg-type]


def _member(url: str) -> Member:
    return Member.objects.create(code="A01", name="甲市档案馆", url=url, public_key="00")


def _state(m: Member) -> HarvestState:
    return HarvestState.objects.get(member=m, feed="catalogue")


def test_harvest_across_tokens_then_incremental() -> None:
    feed = _feed(8)
    with Responder(feed) as url:
        m = _member(url)
        out = harvest_catalogue.harvest(m)
        assert out["ok"] and out["records"] == 8 and out["pages"] == 3 and out["error"] == ""
        state = _state(m)
        assert (
            state.cursor == "2026-12-07T03:00:00Z" and state.resumption == "" and state.records == 8
        )
        assert state.last_success_at is not None and state.error == ""
        rec = HubRecord.objects.get(identifier="oai:test.example:A01/J001-WS·1998-Y-0003")
        assert (
            rec.title == "关于第3号水利工程的批复" and rec.reference_code == "J001-WS·1998-Y-0003"
        )
        assert rec.url == f"{url}/records/J001-WS·1998-Y-0003" and rec.date == "1998-05-04" and rec.year == 1998  # fmt: skip
        assert rec.fonds == "J001 某县人民政府" and rec.category == "文书档案"
        assert rec.creator == "某县人民政府办公室"
        assert hub_index.search("第3号水利")["total"] == 1
        assert hub_index.search("人民公社")["total"] == 8  # the description is searched
        # the next harvest asks from the cursor; a tombstone removes the entry
        feed.items[2] = Item(ref=feed.items[2].ref, title="", datestamp="2026-12-08T00:00:00Z", deleted=True)  # fmt: skip
        feed.items.append(Item(ref="J001-WS·1999-Y-0001", title="新开放的档案", datestamp="2026-12-08T00:00:00Z"))  # fmt: skip
        feed.response_date = "2026-12-08T05:00:00Z"
        out = harvest_catalogue.harvest(m)
        assert feed.requests[-1]["from"] == "2026-12-07T03:00:00Z"
        assert out["ok"] and out["records"] == 1 and out["deleted"] == 1
        assert hub_index.search("第2号水利")["total"] == 0
        assert hub_index.search("新开放")["total"] == 1
        assert HubRecord.objects.filter(member=m).count() == 8
        assert _state(m).cursor == "2026-12-08T05:00:00Z"
        # nothing new: noRecordsMatch is a normal, empty harvest
        feed.items = [i for i in feed.items if i.datestamp < "2026-12-08"]
        out = harvest_catalogue.harvest(m)
        assert out["ok"] and out["records"] == 0 and out["error"] == ""


def test_interrupted_then_resumed_from_the_saved_token() -> None:
    feed = _feed(10, fail_on_page=3, fail_times=1)
    with Responder(feed) as url:
        m = _member(url)
        out = harvest_catalogue.harvest(m)
        assert not out["ok"] and "HTTP 500" in out["error"] and out["records"] == 6
        state = _state(m)
        saved = json.loads(state.resumption)
        assert saved == {"token": "6|", "until": "2026-12-07T03:00:00Z"}
        assert state.cursor == "" and "HTTP 500" in state.error
        feed.response_date = "2026-12-07T09:00:00Z"
        out = harvest_catalogue.harvest(m)
        assert out["ok"] and out["resumed"] and out["records"] == 4
        assert feed.requests[-2] == {"verb": "ListRecords", "resumptionToken": "6|"}
        assert HubRecord.objects.filter(member=m).count() == 10
        # the cursor is the first request's responseDate of the interrupted run
        assert _state(m).cursor == "2026-12-07T03:00:00Z" and _state(m).error == ""


def test_expired_token_restarts_from_the_cursor() -> None:
    feed = _feed(7, fail_on_page=2, fail_times=1)
    with Responder(feed) as url:
        m = _member(url)
        assert not harvest_catalogue.harvest(m)["ok"]
        feed.valid_tokens.clear()  # the node restarted: its tokens are gone
        out = harvest_catalogue.harvest(m)
        assert out["ok"] and out["records"] == 7
        assert {"verb": "ListRecords", "metadataPrefix": "oai_dc"} in feed.requests[-4:]
        assert HubRecord.objects.filter(member=m).count() == 7


@pytest.mark.parametrize("case", ["down", "garbage", "oai_error"])
def test_failures_are_recorded_not_raised(case: str) -> None:
    feed = _feed(5, garbage_on_page=1 if case == "garbage" else None)
    with Responder(feed) as url:
        m = _member(url if case != "down" else "http://127.0.0.1:9")
        if case == "oai_error":
            HarvestState.objects.create(member=m, feed="catalogue", cursor="not-a-date")
            feed.items = []  # noRecordsMatch would be fine: make it a real error
            feed.answer = lambda params, base: (200, '<?xml version="1.0"?><OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/"><responseDate>2026-12-07T00:00:00Z</responseDate><request>x</request><error code="badArgument">from is malformed</error></OAI-PMH>')  # type: ignore[method-assign]  # fmt: skip
        out = harvest_catalogue.harvest(m)
    assert not out["ok"]
    expected = {"down": "[unreachable]", "garbage": "[xml]", "oai_error": "[badArgument]"}[case]
    assert out["error"].startswith(expected)
    assert _state(m).error.startswith(expected) and _state(m).last_success_at is None


def test_day_granularity_and_full_harvest() -> None:
    feed = _feed(4, granularity="YYYY-MM-DD")
    with Responder(feed) as url:
        m = _member(url)
        assert harvest_catalogue.harvest(m)["ok"]
        harvest_catalogue.harvest(m)
        assert feed.requests[-1]["from"] == "2026-12-07"
        # a full harvest removes what the node no longer lists (a tombstone lost in between)
        feed.items = feed.items[:3]
        out = harvest_catalogue.harvest(m, full=True)
        assert out["ok"] and out["deleted"] == 1 and "from" not in feed.requests[-1]
        assert HubRecord.objects.filter(member=m).count() == 3


def test_harvest_of_a_real_node(live_server: object, settings: object) -> None:
    """The node's own provider (interop/oai.py) over HTTP, two records a page."""
    from django.core.cache import cache

    from tests.interop.conftest import make_catalogue

    for name in ("PUBLIC_RATE", "PUBLIC_CONTENT_RATE", "PUBLIC_OAI_RATE"):
        setattr(settings, name, "100000/min")
    settings.OAI_REPOSITORY_IDENTIFIER = "archives.example.cn"  # type: ignore[attr-defined]
    settings.OAI_PAGE_SIZE = 2  # type: ignore[attr-defined]
    cache.clear()
    cat = make_catalogue(5)
    from lantai.interop import publishing

    publishing.sync(full=True)  # the provider syncs at most once a second per process
    m = _member(str(live_server.url))  # type: ignore[attr-defined]
    out = harvest_catalogue.harvest(m)
    assert out["ok"], out["error"]
    assert out["records"] == len(cat.open_records) == 6 and out["pages"] == 3
    first = cat.open_records[0]
    rec = HubRecord.objects.get(member=m, reference_code=first.reference_code)
    assert rec.title == first.title and rec.url.startswith("http") and rec.year == 1985
    assert rec.identifier.startswith("oai:archives.example.cn:")
    assert hub_index.search("婚姻登记工作")["total"] == 5
    assert hub_index.search("秘藏")["total"] == 0  # nothing but the open catalogue
    assert _state(m).cursor  # the node's responseDate
    again = harvest_catalogue.harvest(m)
    assert again["ok"] and HubRecord.objects.filter(member=m).count() == 6
