"""Beyond the audit's own regression tests (tests/audit/test_audit19_*.py): the edges of the
fixes. Donors are seen within the archives of their accessions; the accession page counts the
linked records a viewer may not see without naming them; restrictions that could never apply,
or that repeat one in force, are refused; counts have an upper bound; the kinds are named in
the interface language; an access hold stops every copy, naming the restriction."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.test import Client

from lantai.access import services as access
from lantai.catalog import services as catalog
from lantai.catalog.models import RecordHold
from lantai.core import accounts
from lantai.holdings import donor_restrictions, received
from lantai.holdings import services as hs
from lantai.holdings.models import Accession, DonorRestriction
from tests.access.conftest import Portal, _portal_settings, make_portal, resident_id  # noqa: F401
from tests.search.test_services import add

from .conftest import Desk

PW = "Pw-12345678x"
GIFT = {"kind": "捐赠", "received_on": "2026-01-05", "item_count": 2, "deed_terms": "无偿捐赠"}


def signed_in(user: Any, **headers: Any) -> Client:
    client = Client(**headers)
    client.force_login(user)
    return client


def donation(desk: Desk, repo: Any = None, name: str = "韦国清家属") -> Accession:
    donor = hs.create_donor(desk.archivist, {"kind": "person", "name": name,
                                             "contact": "0771-5551234"})  # fmt: skip
    return hs.create_accession(desk.archivist, repo or desk.repo, donor, GIFT)


# --- donors ----------------------------------------------------------------------------------------
def test_donors_are_seen_within_the_archives_of_their_accessions(desk: Desk) -> None:
    here = donation(desk)
    city = catalog.create_repository("441900", "岭东市档案馆", level="city")
    there = donation(desk, city, name="岭东捐赠人")
    fresh = hs.create_donor(desk.archivist, {"kind": "person", "name": "新登记捐赠人"})
    local = accounts.create_user("local", role="receiving_archivist", password=PW)
    local.repositories.add(desk.repo)
    reader = accounts.create_user("reader9", role="reading_room", password=PW)
    reader.repositories.add(desk.repo)
    unit = accounts.create_user("unit9", role="filing_unit", password=PW, scope_all=True)
    names = {u.username: {d.name for d in hs.list_donors(u)} for u in (local, reader, unit)}
    # one who registers accessions also sees a donor with no accession yet, to register one
    assert names["local"] == {here.donor.name, fresh.name}
    assert names["reader9"] == {here.donor.name}
    assert names["unit9"] == set()
    assert {d.name for d in hs.list_donors(desk.archivist)} >= {there.donor.name, fresh.name}
    assert hs.visible_donor(local, there.donor_id) is None
    assert hs.visible_donor(local, here.donor_id) == here.donor
    # the forms do not reach another archives' donor either
    client = signed_in(local)
    assert client.get(f"/holdings/donors/{there.donor_id}/edit/").status_code == 404
    before = Accession.objects.count()
    refused = client.post("/holdings/accessions/new/", {**GIFT, "repository": desk.repo.pk,
                                                        "donor": there.donor_id})  # fmt: skip
    assert Accession.objects.count() == before
    assert "请选择捐赠者" in refused.content.decode()
    assert signed_in(unit).get(f"/holdings/donors/{here.donor_id}/").status_code in (403, 404)


# --- linked records on the accession page ---------------------------------------------------------
def test_the_accession_page_counts_the_records_it_does_not_name(desk: Desk) -> None:
    cat = catalog.create_category(catalog.create_fonds("Z201", "韦氏家族"), "WS")
    secret = add(cat, 1, "韦氏家族地下交通线联络名单", "未开放", classification="机密")
    letter = add(cat, 2, "韦国清致家人书", "开放")
    cleared = accounts.create_user("cleared", role="receiving_archivist", password=PW,
                                   scope_all=True, clearance=4)  # fmt: skip
    acc = donation(desk)
    donor_restrictions.link_records(cleared, acc, [secret.reference_code, letter.reference_code])
    received.add_item(
        cleared, acc, {"description": "联络名单原件", "reference_code": secret.reference_code}
    )
    records, hidden = donor_restrictions.linked_records(desk.keeper, acc)
    assert [r.pk for r in records] == [letter.pk] and hidden == 1
    records, hidden = donor_restrictions.linked_records(cleared, acc)
    assert {r.pk for r in records} == {letter.pk, secret.pk} and hidden == 0
    body = signed_in(desk.keeper).get(f"/holdings/accessions/{acc.pk}/").content.decode()
    assert letter.title in body and secret.title not in body
    assert secret.reference_code not in body and "联络名单原件" in body
    assert "另有 1 件关联档案超出本人的密级或范围" in body
    body = signed_in(cleared).get(f"/holdings/accessions/{acc.pk}/").content.decode()
    assert secret.title in body and "超出本人的密级或范围" not in body
    assert f'name="reference_code" value="{secret.reference_code}"' in body


# --- restrictions ----------------------------------------------------------------------------------
def test_restrictions_that_could_never_apply_or_repeat_are_refused(desk: Desk) -> None:
    acc = donation(desk)  # received 2026-01-05
    row = {"scope": "access", "until": "2030-01-01", "text": "捐赠者生前不公开"}
    with pytest.raises(hs.HoldingsError, match="早于起始日期（starts_on）"):
        donor_restrictions.add_restriction(desk.archivist, acc, {**row, "starts_on": "2031-01-01"})
    with pytest.raises(hs.HoldingsError, match="早于接收日期 2026-01-05"):
        donor_restrictions.add_restriction(desk.archivist, acc, {**row, "until": "2026-01-04"})
    # ending on the day received is the shortest that applies
    donor_restrictions.add_restriction(
        desk.archivist, acc, {**row, "until": "2026-01-05", "text": "一日"}
    )
    donor_restrictions.add_restriction(desk.archivist, acc, row)
    with pytest.raises(hs.HoldingsError, match="已有相同的限制"):
        donor_restrictions.add_restriction(desk.archivist, acc, row)  # the form submitted twice
    donor_restrictions.add_restriction(desk.archivist, acc, {**row, "scope": "publication"})
    assert DonorRestriction.objects.filter(accession=acc).count() == 3
    donor = hs.create_donor(desk.archivist, {"kind": "person", "name": "韦国清家属"})
    with pytest.raises(hs.HoldingsError, match="第1条限制的截止日期（until）2025-12-31 早于"):
        hs.create_accession(desk.archivist, desk.repo, donor,
                            {**GIFT, "restrictions": [{**row, "until": "2025-12-31"}]})  # fmt: skip


def test_the_closed_accession_refusal_names_its_status_once(desk: Desk) -> None:
    acc = donation(desk)
    hs.return_accession(desk.archivist, acc, "重复")
    with pytest.raises(hs.HoldingsError, match=r"已退还，不能再修改：item_count$"):
        hs.update_accession(desk.archivist, acc, {"item_count": "5"})


# --- counts ----------------------------------------------------------------------------------------
def test_counts_stop_at_one_hundred_million(desk: Desk) -> None:
    donor = hs.create_donor(desk.archivist, {"kind": "person", "name": "韦国清家属"})
    top = hs.create_accession(desk.archivist, desk.repo, donor,
                              {**GIFT, "item_count": str(hs.MAX_COUNT)})  # fmt: skip
    assert top.item_count == 100_000_000
    with pytest.raises(hs.HoldingsError, match=r"件数（item_count）不得大于100000000：100000001"):
        hs.create_accession(desk.archivist, desk.repo, donor, {**GIFT, "item_count": "100000001"})
    with pytest.raises(hs.HoldingsError, match=r"目标件数（target_items）不得大于100000000"):
        hs.create_campaign(desk.archivist, desk.repo, {"name": "征集", "target_items": "9" * 400})
    with pytest.raises(hs.HoldingsError, match=r"数量（count）不得大于"):
        received.add_item(desk.archivist, top, {"description": "家书", "count": "2147483648"})


# --- the kinds in the interface language -----------------------------------------------------------
def test_the_accession_page_and_form_name_the_kinds_in_the_interface_language(desk: Desk) -> None:
    acc = donation(desk)
    english = signed_in(desk.archivist, HTTP_ACCEPT_LANGUAGE="en")
    body = english.get(f"/holdings/accessions/{acc.pk}/").content.decode()
    assert "<dd>Donation</dd>" in body
    form = english.get("/holdings/accessions/new/").content.decode()
    assert 'value="移交"' in form and "Transfer of major-event archives" in form
    chinese = signed_in(desk.archivist, HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert "<dd>捐赠</dd>" in chinese.get(f"/holdings/accessions/{acc.pk}/").content.decode()


# --- the reading room: an access hold stops copies ------------------------------------------------
@pytest.fixture
def portal(db: Any) -> Portal:
    return make_portal()


def test_an_access_hold_stops_every_copy_and_is_named(portal: Portal) -> None:
    held, free = portal.open_records[:2]
    RecordHold.objects.create(
        record=held, source="donor", source_key="t:1", scope="access", starts_on=dt.date.today(),
        until=None, reason="捐赠者生前不对外公开", reference="ZJ-2026-0001",
    )  # fmt: skip
    problem = access.reproduction_problem("certificate", False, [free.pk, held.pk])
    assert held.reference_code in problem and free.reference_code not in problem
    assert "限制利用" in problem and "捐赠者生前不对外公开" in problem
    assert access.reproduction_problem("reading", False, [held.pk]) == ""
    with pytest.raises(access.AccessError, match="出具证明"):
        access.register_provision(
            portal.users["reader"], user_name="王强", id_type="resident_id",
            id_number=resident_id(), purpose="research", method="reading", records=[held],
            certified_copy=True,
        )  # fmt: skip
