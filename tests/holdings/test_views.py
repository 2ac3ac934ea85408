"""The staff pages under /holdings/: lists with filters, forms that register, edit and move an
accession, restrictions, linked records, items and documents; who may see and who may change."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from lantai.holdings import services as hs
from lantai.holdings.models import Accession, Campaign, Donor

from .conftest import Desk


def signed_in(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def clerk(desk: Desk) -> Client:
    return signed_in(desk.archivist)


def test_register_a_donor_then_an_accession_with_the_forms(desk: Desk, clerk: Client) -> None:
    page = clerk.get("/holdings/accessions/new/")
    assert page.status_code == 200 and 'name="received_on"' in page.content.decode()
    made = clerk.post(
        "/holdings/donors/new/", {"kind": "person", "name": "韦国清家属", "then": "accession"}
    )
    donor = Donor.objects.get()
    assert made.status_code == 302 and made["Location"].endswith(
        f"/holdings/accessions/new/?donor={donor.pk}"
    )
    assert f'value="{donor.pk}" selected' in clerk.get(made["Location"]).content.decode()
    bad = clerk.post("/holdings/accessions/new/", {
        "repository": desk.repo.pk, "donor": donor.pk, "kind": "捐赠", "received_on": "2026-03-05", "item_count": "0"})  # fmt: skip
    assert bad.status_code == 200 and "件数（item_count）不得小于1：0" in bad.content.decode()
    ok = clerk.post("/holdings/accessions/new/", {
        "repository": desk.repo.pk, "donor": donor.pk, "kind": "捐赠", "received_on": "2026-03-05",
        "item_count": "12", "description": "红色家书"})  # fmt: skip
    a = Accession.objects.get()
    assert ok.status_code == 302 and ok["Location"] == f"/holdings/accessions/{a.pk}/"
    detail = clerk.get(ok["Location"]).content.decode()
    assert "ZJ-2026-0001" in detail and "红色家书" in detail and "记录鉴定" in detail


def test_list_filters_by_year_kind_campaign_and_status(desk: Desk, clerk: Client) -> None:
    d = hs.create_donor(desk.archivist, {"kind": "organisation", "name": "乡村振兴工作队"})
    c = hs.create_campaign(desk.archivist, desk.repo, {"name": "红色档案征集", "target_items": 100})
    hs.create_accession(
        desk.archivist,
        desk.repo,
        d,
        {"kind": "捐赠", "received_on": "2026-02-01", "item_count": 40, "campaign": c},
    )
    hs.create_accession(
        desk.archivist, desk.repo, d, {"kind": "征购", "received_on": "2025-02-01", "item_count": 2}
    )

    def numbers(query: str) -> list[str]:
        body = clerk.get(f"/holdings/?{query}").content.decode()
        return [n for n in ("ZJ-2026-0001", "ZJ-2025-0001") if n in body]

    assert numbers("") == ["ZJ-2026-0001", "ZJ-2025-0001"]
    assert numbers("year=2025") == ["ZJ-2025-0001"]
    assert numbers("kind=捐赠") == ["ZJ-2026-0001"]
    assert numbers(f"campaign={c.pk}") == ["ZJ-2026-0001"]
    assert numbers("status=accepted") == []
    assert numbers("year=二〇二五&kind=x&status=y") == ["ZJ-2026-0001", "ZJ-2025-0001"]  # ignored
    page = clerk.get(f"/holdings/campaigns/{c.pk}/").content.decode()
    assert 'value="40"' in page and "40.0%" in page


def test_the_accession_page_moves_restricts_links_and_certifies(desk: Desk, clerk: Client) -> None:
    from lantai.catalog import services as catalog
    from tests.search.test_services import add

    cat = catalog.create_category(catalog.create_fonds("Z201", "韦氏家族"), "WS")
    record = add(cat, 1, "红色家书", "开放")
    d = hs.create_donor(desk.archivist, {"kind": "person", "name": "韦国清家属"})
    a = hs.create_accession(
        desk.archivist,
        desk.repo,
        d,
        {"kind": "捐赠", "received_on": "2026-02-01", "item_count": 1, "deed_terms": "无偿"},
    )
    base = f"/holdings/accessions/{a.pk}"
    clerk.post(f"{base}/records/", {"codes": record.reference_code})
    clerk.post(
        f"{base}/restrictions/", {"scope": "access", "term": "lifetime", "text": "生前不公开"}
    )
    page = clerk.get(f"{base}/").content.decode()
    assert "生前不公开" in page and "生效中" in page and record.reference_code in page
    assert Client().get(f"/public/records/{record.pk}/").status_code == 404
    refused = clerk.post(f"{base}/status/", {"to": "accepted"}, follow=True).content.decode()
    assert "不能改为“已入藏”" in refused
    clerk.post(f"{base}/status/", {"to": "appraised", "condition": "完好"})
    clerk.post(f"{base}/status/", {"to": "accepted"})
    clerk.post(
        f"{base}/items/",
        {"description": "家书原件", "count": "1", "reference_code": record.reference_code},
    )
    clerk.post(f"{base}/documents/", {"kind": "certificate"})
    a.refresh_from_db()
    assert a.status == "accepted" and a.received_items.count() == 1
    pdf = clerk.get(f"{base}/documents/certificate.pdf")
    assert (
        pdf.status_code == 200
        and pdf["Content-Type"] == "application/pdf"
        and pdf.content.startswith(b"%PDF-")
    )
    r = a.restrictions.get()
    clerk.post(
        f"{base}/restrictions/{r.pk}/end/",
        {"ended_on": "2026-01-01", "end_reason": "捐赠者书面放弃"},
    )
    assert Client().get(f"/public/records/{record.pk}/").status_code == 200


def test_viewers_read_and_only_editors_write(desk: Desk) -> None:
    d = hs.create_donor(desk.archivist, {"kind": "person", "name": "某人"})
    a = hs.create_accession(
        desk.archivist, desk.repo, d, {"kind": "捐赠", "received_on": "2026-02-01", "item_count": 1}
    )
    keeper = signed_in(desk.keeper)
    assert keeper.get(f"/holdings/accessions/{a.pk}/").status_code == 200
    assert "记录鉴定" not in keeper.get(f"/holdings/accessions/{a.pk}/").content.decode()
    assert keeper.get("/holdings/accessions/new/").status_code == 403
    assert (
        keeper.post(
            f"/holdings/accessions/{a.pk}/status/", {"to": "returned", "reason": "x"}
        ).status_code
        == 403
    )
    assert Accession.objects.get().status == "registered"
    admin = signed_in(desk.sysadmin)
    assert admin.get("/holdings/").status_code == 403
    assert Client().get("/holdings/").status_code == 302  # to sign in
    assert signed_in(desk.archivist).get("/holdings/accessions/999999/").status_code == 404


def test_campaign_and_donor_forms_edit_and_refuse(desk: Desk, clerk: Client) -> None:
    made = clerk.post("/holdings/campaigns/new/", {"repository": desk.repo.pk, "name": "非遗档案征集", "target_items": "50",
                                                   "starts_on": "2026-01-01", "ends_on": "2026-12-31"})  # fmt: skip
    c = Campaign.objects.get()
    assert made["Location"] == f"/holdings/campaigns/{c.pk}/"
    bad = clerk.post(
        f"/holdings/campaigns/{c.pk}/edit/",
        {"name": "x", "starts_on": "2026-05-01", "ends_on": "2026-01-01", "target_items": "5"},
    )
    assert "结束日期（ends_on）不得早于开始日期" in bad.content.decode()
    clerk.post(f"/holdings/campaigns/{c.pk}/edit/", {"name": "非遗档案征集", "target_items": "80"})
    assert Campaign.objects.get().target_items == 80
    d = hs.create_donor(desk.archivist, {"kind": "person", "name": "侗族大歌传承人"})
    clerk.post(
        f"/holdings/donors/{d.pk}/edit/",
        {"kind": "person", "name": "侗族大歌传承人", "contact": "0771-1234567"},
    )
    assert "0771-1234567" in clerk.get(f"/holdings/donors/{d.pk}/").content.decode()
