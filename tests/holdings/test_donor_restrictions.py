"""档案法 art 31: a donor's restriction on access, honoured automatically. A restricted open
record is not found by a public search (tantivy and, on PostgreSQL, the PostgreSQL backend), its
portal page is a 404, OAI-PMH reports it deleted, open review refuses to open it; when the
restriction ends (lifted, or its date passes without anyone acting) it is public again."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.test import Client

from lantai.catalog import holds, public
from lantai.catalog import services as catalog
from lantai.catalog.models import RecordHold
from lantai.core.models import AuditEntry
from lantai.holdings import donor_restrictions
from lantai.holdings import services as hs
from lantai.search import services as search
from lantai.search.query import Query
from tests.search.test_services import add, index  # noqa: F401 - fixtures

from .conftest import Desk

TODAY = dt.date.today()


@pytest.fixture
def donated(desk: Desk, index: str, django_capture_on_commit_callbacks: Any) -> Any:  # noqa: F811
    """Two open records described from a donation (红色家书), one open record of another fonds,
    all indexed."""
    with django_capture_on_commit_callbacks(execute=True):
        cat = catalog.create_category(catalog.create_fonds("Z201", "韦氏家族"), "WS")
        letters = [add(cat, n, f"红色家书第{n}封", "开放") for n in (1, 2)]
        other = add(cat, 10, "红色标语拓片", "开放")
        donor = hs.create_donor(desk.archivist, {"kind": "person", "name": "韦国清家属"})
        acc = hs.create_accession(
            desk.archivist, desk.repo, donor,
            {"kind": "捐赠", "received_on": "2026-01-05", "item_count": 2},
        )  # fmt: skip
        donor_restrictions.link_records(desk.archivist, acc, ["Z201-WS·2011-Y-BGS-000*"])
    search.index_records([r.pk for r in (*letters, other)])
    return acc, letters, other


def public_hits(text: str) -> set[int]:
    return {h.id for h in search.search(None, Query(text=text, limit=50)).hits}


def public_total(text: str) -> int:
    return search.search(None, Query(text=text, limit=50)).total


def oai_deleted(client: Client, record: Any) -> bool:
    from urllib.parse import quote

    from lantai.interop.oai import namespace_identifier

    code = quote(record.reference_code, safe="-_.!~*()'")
    ident = f"oai:{namespace_identifier()}:{record.repository.code}/{code}"
    body = client.get(
        "/oai", {"verb": "GetRecord", "identifier": ident, "metadataPrefix": "oai_dc"}
    ).content.decode()
    assert "<GetRecord>" in body or "idDoesNotExist" in body, body[:500]
    return 'status="deleted"' in body or "idDoesNotExist" in body


def test_a_donor_restriction_violated_by_a_search_is_prevented(
    desk: Desk, donated: Any, django_capture_on_commit_callbacks: Any, settings: Any
) -> None:
    settings.OAI_SYNC_INTERVAL = 0  # every OAI-PMH request syncs first (default: once a second)
    acc, (first, second), other = donated
    client = Client()
    assert public_hits("红色家书") == {first.pk, second.pk}
    assert client.get(f"/public/records/{first.pk}/").status_code == 200
    assert not oai_deleted(client, first)

    with django_capture_on_commit_callbacks(execute=True):
        restriction = donor_restrictions.add_restriction(
            desk.archivist, acc,
            {"scope": "access", "donor_lifetime": True, "text": "捐赠者生前不对外提供利用"},
        )  # fmt: skip
    # search (hits and totals, both backends), portal, OAI, the public rule: all at once
    assert public_hits("红色") == {other.pk}
    assert public_total("红色家书") == 0
    assert search.suggest(None, "红色家书") == []
    assert client.get(f"/public/records/{first.pk}/").status_code == 404
    assert public.public_record(first.pk) is None
    assert set(public.open_records().filter(fonds__code="Z201").values_list("pk", flat=True)) == {
        other.pk
    }
    assert oai_deleted(client, first) and not oai_deleted(client, other)
    assert client.get(f"/api/public/records/{first.pk}").status_code == 404
    api = client.get("/api/public/search", {"q": "红色"}).json()
    assert [h["id"] for h in api["hits"]] == [other.pk] and api["total"] == 1
    # staff still find it
    staff = {h.id for h in search.search(desk.archivist, Query(text="红色家书")).hits}
    assert staff == {first.pk, second.pk}

    with django_capture_on_commit_callbacks(execute=True):
        donor_restrictions.end_restriction(
            desk.archivist, restriction, TODAY - dt.timedelta(days=1), "捐赠者去世"
        )
    assert public_hits("红色家书") == {first.pk, second.pk}
    assert client.get(f"/public/records/{first.pk}/").status_code == 200
    assert client.get(f"/api/public/records/{first.pk}").status_code == 200
    assert not oai_deleted(client, first)
    actions = list(
        AuditEntry.objects.filter(action__startswith="holdings.restriction").values_list(
            "action", flat=True
        )
    )
    assert actions == ["holdings.restriction.add", "holdings.restriction.end"]


def test_a_restriction_runs_out_on_its_date_without_anyone_acting(desk: Desk, donated: Any) -> None:
    acc, (first, second), _ = donated
    donor_restrictions.add_restriction(
        desk.archivist, acc, {"scope": "access", "until": TODAY.isoformat(), "text": "至今日止"}
    )
    assert public_hits("红色家书") == set()
    assert holds.held_ids("access", [first.pk], on=TODAY + dt.timedelta(days=1)) == set()
    # the calendar moves on: no job, no edit — only the day
    RecordHold.objects.update(until=TODAY - dt.timedelta(days=1))
    assert public_hits("红色家书") == {first.pk, second.pk}
    assert public.public_record(first.pk) is not None


def test_a_restriction_that_starts_later_applies_from_its_date(desk: Desk, donated: Any) -> None:
    acc, (first, _), _ = donated
    donor_restrictions.add_restriction(
        desk.archivist, acc,
        {"scope": "access", "starts_on": (TODAY + dt.timedelta(days=3)).isoformat(),
         "until": "2099-12-31", "text": "三日后起限制"},
    )  # fmt: skip
    assert public.public_record(first.pk) is not None
    assert holds.held_ids("access", [first.pk], on=TODAY + dt.timedelta(days=3)) == {first.pk}


def test_publication_restriction_keeps_the_record_findable_but_unpublished(
    desk: Desk, donated: Any
) -> None:
    from lantai.catalog.components import attach_component

    acc, (first, _), _ = donated
    attach_component(first, [b"\x89PNG\r\n\x1a\n" + b"0" * 64], "page1.png", user=None)
    component = first.components.get()
    assert public.public_component(component.pk, "image") is not None
    donor_restrictions.add_restriction(
        desk.archivist, acc, {"scope": "publication", "until": "2099-12-31", "text": "不得公布原件"}
    )
    assert public.public_record(first.pk) is not None  # its description stays public
    assert public.public_component(component.pk, "image") is None
    assert public.public_images([first.pk]) == {}
    assert not public.publishable(first.pk)


def test_open_review_refuses_to_open_a_restricted_record(desk: Desk, donated: Any) -> None:
    from lantai.review import services as review
    from lantai.review.models import ReviewItem

    acc, (first, second), _ = donated
    donor_restrictions.add_restriction(
        desk.archivist, acc, {"scope": "access", "until": "2099-12-31", "text": "仅供家属查阅"}
    )
    item = ReviewItem(record=first)
    with pytest.raises(review.ReviewError) as e:
        review.check_proposal(review.Proposal(decision="open"), item)
    message = str(e.value)
    assert "捐赠者限制" in message and acc.number in message and "仅供家属查阅" in message
    assert "2099-12-31" in message
    # a reproduction restriction does not stop opening; the refusal names it for the reading room
    RecordHold.objects.update(scope="reproduction")
    review.check_proposal(review.Proposal(decision="open"), item)
    assert acc.number in (holds.refusal(first.pk, "reproduction") or "")
    assert set(holds.refusals([first.pk, second.pk, 999], "reproduction")) == {first.pk, second.pk}
    assert holds.refusals([first.pk], "access") == {} and holds.refusal(first.pk, "access") is None


def test_unlinking_a_record_lifts_its_holds(desk: Desk, donated: Any) -> None:
    acc, (first, second), _ = donated
    donor_restrictions.add_restriction(
        desk.archivist, acc, {"scope": "access", "until": "2099-12-31", "text": "x"}
    )
    assert holds.held_ids("access", [first.pk, second.pk]) == {first.pk, second.pk}
    donor_restrictions.unlink_records(desk.archivist, acc, [first.pk])
    assert holds.held_ids("access", [first.pk, second.pk]) == {second.pk}


def test_linking_refuses_unknown_codes_and_other_archives(desk: Desk, donated: Any) -> None:
    acc, _, _ = donated
    with pytest.raises(hs.HoldingsError, match="本馆没有这些档号的档案.*Z201-无此档号"):
        donor_restrictions.link_records(desk.archivist, acc, ["Z201-无此档号"])
    with pytest.raises(hs.HoldingsError, match="没有档号以“Q9”开头的档案"):
        donor_restrictions.link_records(desk.archivist, acc, ["Q9*"])
    with pytest.raises(hs.HoldingsError, match="请填写档号"):
        donor_restrictions.link_records(desk.archivist, acc, [" "])
    with pytest.raises(hs.HoldingsError, match="无权登记征集"):
        donor_restrictions.link_records(desk.keeper, acc, ["Z201-WS·2011-Y-BGS-0010"])
    with pytest.raises(hs.HoldingsError, match="解除原因"):
        r = donor_restrictions.add_restriction(
            desk.archivist, acc, {"scope": "access", "donor_lifetime": True, "text": "x"}
        )
        donor_restrictions.end_restriction(desk.archivist, r, TODAY, " ")


def test_the_nightly_job_touches_records_whose_restriction_ran_out(
    desk: Desk, donated: Any
) -> None:
    from lantai.catalog.models import Record
    from lantai.holdings.tasks import touch_ended_holds

    acc, (first, second), other = donated
    donor_restrictions.add_restriction(
        desk.archivist, acc, {"scope": "access", "until": "2099-12-31", "text": "x"}
    )
    Record.objects.update(updated_at=dt.datetime(2020, 1, 1, tzinfo=dt.UTC))
    assert touch_ended_holds.call_local() == 0  # nothing ran out
    RecordHold.objects.update(until=TODAY - dt.timedelta(days=1))
    assert touch_ended_holds.call_local() == 2
    stamps = dict(Record.objects.values_list("pk", "updated_at"))
    assert stamps[first.pk].year == stamps[second.pk].year == TODAY.year
    assert stamps[other.pk].year == 2020


def test_a_publication_restriction_hides_full_text_snippets_from_the_public(
    desk: Desk,
    index: str,  # noqa: F811
    django_capture_on_commit_callbacks: Any,
) -> None:
    from lantai.catalog.components import attach_component

    with django_capture_on_commit_callbacks(execute=True):
        cat = catalog.create_category(catalog.create_fonds("Z202", "某家族"), "WS")
        record = add(cat, 1, "家书", "开放")
        attach_component(record, ["信中写道：兰台秘藏的往事".encode()], "信.txt", user=None)
        donor = hs.create_donor(desk.archivist, {"kind": "person", "name": "某人"})
        acc = hs.create_accession(
            desk.archivist, desk.repo, donor,
            {"kind": "捐赠", "received_on": "2026-01-05", "item_count": 1},
        )  # fmt: skip
        donor_restrictions.link_records(desk.archivist, acc, [record.reference_code])
    search.index_records([record.pk])
    hit = search.search(None, Query(text="兰台秘藏")).hits[0]
    assert "full_text" in hit.snippets
    donor_restrictions.add_restriction(
        desk.archivist, acc, {"scope": "publication", "until": "2099-12-31", "text": "不得公布"}
    )
    hit = search.search(None, Query(text="兰台秘藏")).hits[0]
    assert hit.id == record.pk and "full_text" not in hit.snippets
