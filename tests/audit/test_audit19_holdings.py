"""Audit of issue 19 (accessions and donor restrictions): defects found from outside, each written
as a failing test before it was fixed and kept as a regression test."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.test import Client

from lantai.catalog import services as catalog
from lantai.core import accounts
from lantai.holdings import documents, donor_restrictions
from lantai.holdings import services as hs
from lantai.holdings.models import IssuedDocument
from tests.holdings.conftest import Desk, desk  # noqa: F401 - fixture
from tests.search.test_services import add

PW = "Pw-12345678x"


def signed_in(user: Any, **headers: Any) -> Client:
    client = Client(**headers)
    client.force_login(user)
    return client


def accepted_donation(desk: Desk) -> Any:  # noqa: F811
    donor = hs.create_donor(desk.archivist, {"kind": "person", "name": "韦国清家属",
                                             "contact": "0771-5551234", "address": "邕州市民族大道1号"})  # fmt: skip
    acc = hs.create_accession(desk.archivist, desk.repo, donor, {
        "kind": "捐赠", "received_on": "2026-01-05", "item_count": 2, "deed_terms": "无偿捐赠"})  # fmt: skip
    hs.appraise(desk.archivist, acc, {"condition": "良好"})
    hs.accept(desk.archivist, acc)
    return acc


def test_a_certificate_issued_from_two_desks_at_once_is_issued_once(
    desk: Desk,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """documents.issue looks for an existing document before it takes the lock; a second desk
    that issued meanwhile (simulated while this one renders its PDF) must not make it crash."""
    from django.db import IntegrityError

    from lantai.core.sm3 import sm3_hex

    acc = accepted_donation(desk)
    real = documents.render

    def other_desk_meanwhile(content: dict[str, Any]) -> bytes:
        pdf = real(content)
        if not IssuedDocument.objects.filter(accession=acc, kind="certificate").exists():
            IssuedDocument.objects.create(
                accession=acc, kind="certificate", number="ZS-2026-0099",
                issued_on=dt.date.today(), issued_by="other", content=content, sm3=sm3_hex(pdf),
            )  # fmt: skip
        return pdf

    monkeypatch.setattr(documents, "render", other_desk_meanwhile)
    try:
        doc, _new = documents.issue(desk.archivist, acc, "certificate")
    except IntegrityError as e:
        pytest.fail(f"IntegrityError instead of the existing certificate or a clear refusal: {e}")
    except hs.HoldingsError:
        doc = None  # a clear refusal is acceptable
    assert IssuedDocument.objects.filter(accession=acc, kind="certificate").count() == 1
    if doc is not None:
        assert doc.number == "ZS-2026-0099"


def test_a_clerk_of_another_archives_does_not_see_this_archives_donors(desk: Desk) -> None:  # noqa: F811
    acc = accepted_donation(desk)
    city = catalog.create_repository("441900", "岭东市档案馆", level="city")
    clerk = accounts.create_user("counter2", role="reading_room", password=PW)
    clerk.repositories.add(city)
    client = signed_in(clerk)
    listing = client.get("/holdings/donors/")
    assert listing.status_code in (200, 403)
    assert "0771-5551234" not in listing.content.decode()
    assert "邕州市民族大道1号" not in listing.content.decode()
    detail = client.get(f"/holdings/donors/{acc.donor_id}/")
    assert detail.status_code in (403, 404), detail.status_code
    assert "0771-5551234" not in detail.content.decode()


def test_the_accession_page_hides_linked_records_above_the_viewers_clearance(desk: Desk) -> None:  # noqa: F811
    cat = catalog.create_category(catalog.create_fonds("Z201", "韦氏家族"), "WS")
    secret = add(cat, 1, "韦氏家族地下交通线联络名单", "未开放", classification="机密")
    assert secret.classification_level > 0
    linker = accounts.create_user("linker", role="receiving_archivist", password=PW,
                                  scope_all=True, clearance=4)  # fmt: skip
    donor = hs.create_donor(linker, {"kind": "person", "name": "韦国清家属"})
    acc = hs.create_accession(linker, desk.repo, donor,
                              {"kind": "捐赠", "received_on": "2026-01-05", "item_count": 1})  # fmt: skip
    assert donor_restrictions.link_records(linker, acc, [secret.reference_code]) == 1
    viewer = desk.keeper  # VIEW, clearance 0: the catalogue does not show them this record
    assert not catalog.visible_records(viewer).filter(pk=secret.pk).exists()
    page = signed_in(viewer).get(f"/holdings/accessions/{acc.pk}/")
    assert page.status_code == 200
    body = page.content.decode()
    assert "韦氏家族地下交通线联络名单" not in body
    assert secret.reference_code not in body


def test_a_restriction_ending_before_it_starts_is_refused(desk: Desk) -> None:  # noqa: F811
    acc = accepted_donation(desk)  # received 2026-01-05: restrictions start then
    with pytest.raises(hs.HoldingsError):
        donor_restrictions.add_restriction(desk.archivist, acc, {"scope": "access", "until": "2020-01-01",
                                                  "text": "捐赠者生前不公开"})  # fmt: skip


def test_the_refusal_to_edit_a_closed_accession_reads_well(desk: Desk) -> None:  # noqa: F811
    acc = accepted_donation(desk)
    with pytest.raises(hs.HoldingsError) as refused:
        hs.update_accession(desk.archivist, acc, {"item_count": "5"})
    assert "已已" not in str(refused.value), str(refused.value)


def test_the_english_accession_list_names_the_kinds_in_english(desk: Desk) -> None:  # noqa: F811
    accepted_donation(desk)
    page = signed_in(desk.archivist, HTTP_ACCEPT_LANGUAGE="en").get("/holdings/")
    body = page.content.decode()
    assert page.status_code == 200 and 'lang="en"' in body
    assert "Donation" in body and "Purchase" in body
    assert ">征购<" not in body and ">代存<" not in body


@pytest.mark.parametrize("number", ["99999999999999999999999", str(2**31)])
def test_a_huge_count_is_refused_clearly(desk: Desk, number: str) -> None:  # noqa: F811
    with pytest.raises(hs.HoldingsError):
        hs.create_campaign(
            desk.archivist, desk.repo, {"name": "红色档案征集", "target_items": number}
        )
    donor = hs.create_donor(desk.archivist, {"kind": "person", "name": "韦国清家属"})
    with pytest.raises(hs.HoldingsError):
        hs.create_accession(desk.archivist, desk.repo, donor,
                            {"kind": "捐赠", "received_on": "2026-01-05", "item_count": number})  # fmt: skip


def test_a_publication_restriction_withholds_the_open_copy_pdf(
    desk: Desk,  # noqa: F811
    settings: Any,
    tmp_path: Any,
) -> None:
    from lantai.catalog import open_copies, public

    settings.MEDIA_ROOT = str(tmp_path)
    cat = catalog.create_category(catalog.create_fonds("Z201", "韦氏家族"), "WS")
    letter = add(cat, 1, "韦国清致家人书", "开放")
    open_copies.set_open_copy(letter, b"%PDF-1.4 redacted", "", {"title": "韦■■致家人书"}, {})
    anonymous = Client()
    assert anonymous.get(f"/public/records/{letter.pk}/open-copy.pdf").status_code == 200
    donor = hs.create_donor(desk.archivist, {"kind": "person", "name": "韦国清家属"})
    acc = hs.create_accession(desk.archivist, desk.repo, donor,
                              {"kind": "捐赠", "received_on": "2026-01-05", "item_count": 1})  # fmt: skip
    donor_restrictions.link_records(desk.archivist, acc, [letter.reference_code])
    donor_restrictions.add_restriction(desk.archivist, acc, {"scope": "publication", "until": "2099-12-31",
                                              "text": "书信内容生前不得公布"})  # fmt: skip
    assert not public.publishable(letter.pk)
    assert anonymous.get(f"/public/records/{letter.pk}/open-copy.pdf").status_code == 404
