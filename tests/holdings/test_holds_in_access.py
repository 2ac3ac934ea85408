"""档案法 art 31 beyond the public rule: the rooms that serve the public honour a hold in force
at the moment they answer. OAI-PMH reports a record under an access hold deleted at once (before
any sync); IIIF collections and the portal's recordings leave out a record under a publication
hold; the reading room makes no copy of a record under a reproduction hold (利用登记 and the
provision of a 查档申请 are refused with the restriction named, nothing written), while reading
on site stays allowed."""

from __future__ import annotations

import datetime as dt
from itertools import count
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from django.test import Client
from lxml import etree

from lantai.access import delivery, services
from lantai.access.models import AccessRequest, Provision
from lantai.catalog import holds
from lantai.catalog.models import Record, RecordHold
from lantai.core.models import AuditEntry
from tests.access.conftest import Portal, _portal_settings, make_portal, resident_id  # noqa: F401
from tests.interop.conftest import NS, Catalogue, _oai_settings, make_catalogue  # noqa: F401
from tests.interop.test_oai import harvest, ident, identifiers  # noqa: F401

TODAY = dt.date.today()
_keys = count(1)


def hold(
    record: Any,
    scope: str,
    *,
    starts_on: dt.date = TODAY,
    until: dt.date | None = None,
    reason: str = "捐赠者生前不得复制",
) -> RecordHold:
    """A donor's hold written straight to the table: nothing else is told (no updated_at stamp,
    no sync), so whatever honours it does so by asking at the time it answers."""
    return RecordHold.objects.create(
        record=record, source="donor", source_key=f"test:{next(_keys)}", scope=scope,
        starts_on=starts_on, until=until, reason=reason, reference="ZJ-2026-007",
    )  # fmt: skip


@pytest.fixture
def portal(db: Any) -> Portal:
    return make_portal()


# --- OAI-PMH ---------------------------------------------------------------------------------------
def test_oai_reports_a_record_under_an_access_hold_deleted_at_once(
    db: Any,
    harvest: Any,  # noqa: F811
    settings: Any,
) -> None:
    catalogue: Catalogue = make_catalogue()
    first, second = catalogue.open_records[:2]
    doc = harvest(verb="ListRecords", metadataPrefix="oai_dc")  # the first sync
    assert ident(first) in identifiers(doc, deleted=False)
    settings.OAI_SYNC_ON_REQUEST = False  # no sync from now on: only the request-time check
    hold(first, "access", reason="捐赠者生前不对外提供利用")
    hold(second, "access", starts_on=TODAY + dt.timedelta(days=1))  # not in force yet

    doc = harvest(verb="ListRecords", metadataPrefix="oai_dc")
    assert identifiers(doc, deleted=True) == [ident(first)]
    assert ident(second) in identifiers(doc, deleted=False)
    text = etree.tostring(doc, encoding="unicode")
    assert first.title not in text and second.title in text
    headers = harvest(verb="ListIdentifiers", metadataPrefix="oai_dc")
    assert identifiers(headers, deleted=True) == [ident(first)]
    got = harvest(verb="GetRecord", identifier=ident(first), metadataPrefix="ead")
    assert got.find(".//oai:header", NS).get("status") == "deleted"
    assert got.find(".//oai:metadata", NS) is None
    # other scopes do not hide the description; a hold that ran out yesterday no longer applies
    RecordHold.objects.filter(record=first).update(scope="publication")
    assert ident(first) in identifiers(
        harvest(verb="ListIdentifiers", metadataPrefix="oai_dc"), deleted=False
    )
    RecordHold.objects.filter(record=first).update(
        scope="access", until=TODAY - dt.timedelta(days=1)
    )
    assert ident(first) in identifiers(
        harvest(verb="ListIdentifiers", metadataPrefix="oai_dc"), deleted=False
    )


def test_oai_asks_about_holds_once_per_page(
    db: Any,
    harvest: Any,  # noqa: F811
    django_assert_max_num_queries: Any,
) -> None:
    catalogue = make_catalogue(n_open=12)
    harvest(verb="Identify")  # the first sync
    for record in catalogue.open_records[::2]:
        hold(record, "access")
    with django_assert_max_num_queries(12):
        doc = harvest(verb="ListRecords", metadataPrefix="oai_dc")
    assert set(identifiers(doc, deleted=True)) >= {ident(r) for r in catalogue.open_records[::2]}


# --- IIIF and recordings: publication holds --------------------------------------------------------
def test_iiif_collection_leaves_out_a_record_under_a_publication_hold(portal: Portal) -> None:
    from lantai.interop import iiif

    first, second = portal.open_records[:2]  # both of fonds Z109, both with a page image
    assert list(iiif.digitized_open_records(portal.open_fonds)) == [first, second]
    hold(first, "publication", reason="不得公布原件")
    hold(second, "reproduction")  # does not stop publication
    assert list(iiif.digitized_open_records(portal.open_fonds)) == [second]
    url = f"/iiif/collection/fonds/{portal.repository.code}/{portal.open_fonds.code}"
    collection = Client().get(url)
    assert collection.status_code == 200
    manifests = [item["id"] for item in collection.json()["items"]]
    assert len(manifests) == 1 and manifests[0].endswith(quote(second.reference_code))
    hold(second, "publication", starts_on=TODAY - dt.timedelta(days=9), until=TODAY)
    assert list(iiif.digitized_open_records(portal.open_fonds)) == []
    RecordHold.objects.filter(scope="publication").update(until=TODAY - dt.timedelta(days=1))
    assert list(iiif.digitized_open_records(portal.open_fonds)) == [first, second]


def test_public_contents_keep_everything_back_under_a_publication_hold(portal: Portal) -> None:
    record = portal.open_records[0]
    shown, others = services.public_contents(record)
    assert {c.kind for c in shown} == {"image", "pdf"} and others == 0
    hold(record, "publication")
    shown, others = services.public_contents(record)
    assert shown == [] and others == 2  # offered through a 查档申请 only
    page = Client().get(f"/public/records/{record.pk}/").content.decode()
    assert f"/public/content/{portal.pdfs[record.pk].pk}/document.pdf" not in page
    hold(record, "publication")  # a second hold: still one answer
    RecordHold.objects.all().delete()
    page = Client().get(f"/public/records/{record.pk}/").content.decode()
    assert f"/public/content/{portal.pdfs[record.pk].pk}/document.pdf" in page


@pytest.mark.django_db(transaction=True)
def test_no_recording_is_played_of_a_record_under_a_publication_hold(
    tmp_path: Path, settings: Any
) -> None:
    from tests.access.test_public_recordings import add

    settings.DATA_DIR = tmp_path / "data"
    portal = make_portal()
    record = portal.open_records[0]
    recording = add(record, tmp_path, "audio", seconds=2)
    assert [r.recording.pk for r in delivery.public_recordings(record)] == [recording.pk]
    assert delivery.public_recording(recording.pk) is not None
    client = Client()
    assert client.get(f"/public/recordings/{recording.pk}/media").status_code == 200

    hold(record, "publication", reason="录音不得公布")
    assert delivery.public_recordings(record) == []
    assert delivery.public_recording(recording.pk) is None
    assert client.get(f"/public/recordings/{recording.pk}/media").status_code == 404
    with pytest.raises(services.AccessError):
        delivery.recording_media(recording)
    assert client.get(f"/public/records/{record.pk}/").status_code == 200  # described still


@pytest.mark.django_db(transaction=True)
def test_an_exhibition_check_refuses_a_recording_under_a_publication_hold(
    tmp_path: Path, settings: Any
) -> None:
    from lantai.exhibits.exhibition_checks import _public_recording_ids
    from tests.access.test_public_recordings import add

    settings.DATA_DIR = tmp_path / "data"
    record = make_portal().open_records[0]
    recording = add(record, tmp_path, "audio", seconds=2)
    assert _public_recording_ids({recording.pk}) == {recording.pk}
    hold(record, "publication", reason="录音不得公布")
    assert _public_recording_ids({recording.pk}) == set()


# --- the reading room: reproduction holds ----------------------------------------------------------
def provision(portal: Portal, records: list[Any], method: str, **more: Any) -> Provision:
    return services.register_provision(
        portal.users["reader"], user_name="王强", id_type="resident_id", id_number=resident_id(),
        purpose="research", method=method, records=records, **more,
    )  # fmt: skip


def provisions_audited() -> int:
    return AuditEntry.objects.filter(action="access_provision").count()


@pytest.mark.parametrize("method", ["copy", "electronic", "certificate"])
def test_no_copy_of_a_record_under_a_reproduction_hold(portal: Portal, method: str) -> None:
    held, free = portal.open_records[:2]
    hold(held, "reproduction")
    with pytest.raises(services.AccessError) as e:
        provision(portal, [free, held], method)
    assert e.value.field == "method"
    message = e.value.message
    assert held.reference_code in message and free.reference_code not in message
    assert "捐赠者限制" in message and "ZJ-2026-007" in message and "捐赠者生前不得复制" in message
    assert "限制复制" in message and "阅览" in message
    assert not Provision.objects.exists() and provisions_audited() == 0
    # the records without a hold are copied as before
    assert provision(portal, [free], method).method == method


def test_reading_and_excerpts_stay_allowed_but_a_certified_copy_does_not(portal: Portal) -> None:
    held = portal.closed_records[0]  # staff provide records that are not open too
    hold(held, "reproduction")
    hold(held, "access")  # an access hold concerns the public, not the reading room
    assert provision(portal, [held], "reading").method == "reading"
    assert provision(portal, [held], "excerpt").method == "excerpt"
    with pytest.raises(services.AccessError, match="出具证明"):
        provision(portal, [held], "reading", certified_copy=True)
    assert Provision.objects.count() == 2 and provisions_audited() == 2


def test_a_hold_not_in_force_does_not_stop_a_copy(portal: Portal) -> None:
    later, ended = portal.open_records[:2]
    hold(later, "reproduction", starts_on=TODAY + dt.timedelta(days=1))
    hold(
        ended,
        "reproduction",
        starts_on=TODAY - dt.timedelta(days=30),
        until=TODAY - dt.timedelta(days=1),
    )
    assert provision(portal, [later, ended], "copy").records.count() == 2
    assert holds.refusals([later.pk, ended.pk], "reproduction") == {}


def approved_request(portal: Portal, record: Any, certified_copy: bool = False) -> AccessRequest:
    req = services.submit_request(
        services.RequestInput(
            applicant_name="李华", id_type="resident_id", id_number=resident_id(),
            phone="13809311234", purpose="family", record_ids=(record.pk,), records_text="",
            certified_copy=certified_copy,
        )
    )  # fmt: skip
    services.accept_request(req, portal.users["reader"])
    return services.approve_request(req, portal.users["reader2"])


def test_providing_a_request_by_copy_is_refused_and_nothing_is_written(portal: Portal) -> None:
    held, extra = portal.open_records[:2]
    req = approved_request(portal, held, certified_copy=True)
    hold(held, "reproduction")
    before = AuditEntry.objects.count()
    with pytest.raises(services.AccessError, match=held.reference_code):
        services.provide_request(req, portal.users["reader"], "copy", "复印两份", [extra.pk])
    req.refresh_from_db()
    assert (
        req.status == "approved" and req.closed_by is None and not req.notes.filter(step="provide")
    )
    assert not Provision.objects.exists() and AuditEntry.objects.count() == before
    # the same request read on site: provided, without the stamped copy it asked for
    done = services.provide_request(req, portal.users["reader"], "reading", "阅览原件")
    assert done.method == "reading" and not done.certified_copy
    assert AccessRequest.objects.get(pk=req.pk).status == "provided"


def test_a_request_for_a_certified_copy_of_a_free_record_keeps_it(portal: Portal) -> None:
    req = approved_request(portal, portal.open_records[2], certified_copy=True)
    hold(portal.open_records[0], "reproduction")  # another record's hold changes nothing
    assert services.provide_request(req, portal.users["reader"], "reading").certified_copy


def test_the_walk_in_form_names_the_restriction(portal: Portal) -> None:
    held = portal.open_records[0]
    hold(held, "reproduction")
    client = Client()
    client.force_login(portal.users["reader"])
    response = client.post(
        "/reading-room/register/new/",
        {"user_name": "王强", "id_type": "resident_id", "id_number": resident_id(),
         "purpose": "research", "codes": held.reference_code, "method": "electronic"},
    )  # fmt: skip
    assert response.status_code == 200
    page = response.content.decode()
    assert "捐赠者生前不得复制" in page and "ZJ-2026-007" in page
    assert not Provision.objects.exists()
    assert Record.objects.filter(pk=held.pk).exists()
