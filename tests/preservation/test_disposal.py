"""Removing preserved material only through the two-person disposal path: a cataloguer's delete of
a preserved record is refused with the reason (services, API, web, and the rows themselves); one
officer requests, another approves; a deaccession event in PREMIS names every removed file with
its digests; the new OCFL version leaves the content out of the head state and keeps the earlier
versions."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from lxml import etree

from lantai.catalog import services as catalog
from lantai.catalog.models import Component, Record
from lantai.core import accounts
from lantai.core.api_auth import issue_token
from lantai.core.models import AuditEntry, User
from lantai.preservation import deletion, locations, ocfl, packaging, premis, replication
from lantai.preservation.models import Package
from lantai.preservation.storage import LocalLocation
from tests.preservation.conftest import make_records

pytestmark = pytest.mark.django_db(transaction=True)

PASSWORD = "Lantai#Archive2024"
SCHEMA = (
    Path(__file__).resolve().parents[2].parent / "shared" / "corpora" / "schemas" / "premis.xsd"
)
P = {"p": premis.NS}


@pytest.fixture(autouse=True)
def _roots(settings: Any, tmp_path: Path) -> None:
    settings.PRESERVATION_ROOT = tmp_path / "primary"
    settings.MEDIA_ROOT = tmp_path / "files"


@pytest.fixture
def people(db: None) -> dict[str, User]:
    return {
        "cataloguer": accounts.create_user(
            "zhangsan", role="cataloguer", password=PASSWORD, clearance=4, scope_all=True
        ),
        "alice": accounts.create_user("alice", role="preservation_officer", password=PASSWORD),
        "bob": accounts.create_user("bob", role="preservation_officer", password=PASSWORD),
    }


def _package(tmp_path: Path) -> tuple[Package, list[Record]]:
    locations.add_location("offsite", path=str(tmp_path / "offsite"), required=True)
    category = catalog.create_category(catalog.create_fonds("Z109", "岭南省人民政府办公厅"), "WS")
    records = make_records(category, (1, 2, 3))
    package = packaging.new_package("transfer", "移交 1", None, [r.pk for r in records])
    assert replication.preserve(package.pk) == "preserved"
    package.refresh_from_db()
    return package, records


def _head(package: Package, version: int | None = None) -> dict[str, Any]:
    backend = LocalLocation("local", Path(locations.ensure_primary().path))
    return ocfl.logical_state(ocfl.read_inventory(backend, package.object_id), version)


def _premis(package: Package) -> etree._Element:
    backend = LocalLocation("local", Path(locations.ensure_primary().path))
    return etree.fromstring(ocfl.read_logical(backend, package.object_id, "premis/premis.xml"))


def test_a_cataloguer_cannot_delete_a_preserved_record(
    tmp_path: Path, people: dict[str, User]
) -> None:
    package, records = _package(tmp_path)
    target = records[0]
    # the catalogue service (catalog asks the guard preservation registered)
    with pytest.raises(catalog.ProtectedRecord, match="两|另一名保管员"):
        catalog.delete_record(target, user=people["cataloguer"])
    # the API
    api = Client(HTTP_AUTHORIZATION=f"Bearer {issue_token(people['cataloguer'], 'test')}")
    refused = api.delete(f"/api/records/{target.pk}")
    assert refused.status_code == 400 and "处置流程" in refused.json()["detail"]
    # the web UI: the page explains instead of offering the button, and a POST is refused
    web = Client()
    web.force_login(people["cataloguer"])
    page = web.get(f"/records/{target.pk}/delete/")
    assert page.status_code == 200 and "处置流程" in page.content.decode()
    assert "确定删除" not in page.content.decode()
    post = web.post(f"/records/{target.pk}/delete/")
    assert post.status_code == 400 and "处置流程" in post.content.decode()
    # any other path: the rows themselves (a component, a queryset delete)
    with pytest.raises(catalog.ProtectedRecord):
        Component.objects.filter(record=target).delete()
    with pytest.raises(catalog.ProtectedRecord):
        Record.objects.filter(pk=target.pk).delete()
    assert Record.objects.filter(pk=target.pk).exists()
    assert Component.objects.filter(record=target).count() == 1
    # a record not (yet) in a written package is still the cataloguer's to delete
    loose, _ = catalog.save_record(
        target.category,
        {"reference_code": "Z109-WS·2020-Y-BGS-0009", "title": "误录", "date": "2020-05-06",
         "retention": "永久", "author": "岭南省人民政府办公厅"},
    )  # fmt: skip
    assert loose is not None
    catalog.delete_record(loose, user=people["cataloguer"])


def test_disposal_of_one_record_needs_two_people_and_writes_a_version_without_it(
    tmp_path: Path, people: dict[str, User], django_capture_on_commit_callbacks: Any
) -> None:
    package, records = _package(tmp_path)
    doomed = records[1]
    gone_file = f"records/{doomed.reference_code}/正文2.pdf"
    comp = Component.objects.get(record=doomed)
    req = deletion.request_record_disposal(
        doomed, "鉴定销毁：保管期限10年已满，鉴定委员会决议第3号", user=people["alice"]
    )
    with pytest.raises(deletion.DeletionError, match="另一人"):
        deletion.decide(req, True, user=people["alice"])
    with django_capture_on_commit_callbacks(execute=True):
        deletion.decide(req, True, user=people["bob"])
    replication.preserve(package.pk)
    package.refresh_from_db()
    assert package.status == "preserved" and package.version == 2
    assert not Record.objects.filter(pk=doomed.pk).exists()
    assert Record.objects.filter(package_link__package=package).count() == 2
    head, v1 = _head(package), _head(package, 1)
    assert gone_file not in head and gone_file in v1  # OCFL keeps the earlier version
    assert f"records/{records[0].reference_code}/正文1.pdf" in head
    backend = LocalLocation("local", Path(locations.ensure_primary().path))
    note = json.loads(ocfl.read_logical(backend, package.object_id, "lantai/deaccessions.json"))
    assert note[0]["approved_by"] == "bob" and note[0]["records"] == [doomed.reference_code]
    # PREMIS: the deaccession event names the removed file, which keeps its digests
    doc = _premis(package)
    schema = etree.XMLSchema(etree.parse(str(SCHEMA)))
    assert schema.validate(doc), schema.error_log
    dea = next(
        e for e in doc.findall("p:event", P)
        if e.findtext("p:eventType", namespaces=P) == "deaccession"
    )  # fmt: skip
    assert gone_file in {v.text for v in dea.iterfind(".//p:linkingObjectIdentifierValue", P)}
    removed = next(
        o for o in doc.findall("p:object", P)
        if o.findtext("p:objectIdentifier/p:objectIdentifierValue", namespaces=P) == gone_file
    )  # fmt: skip
    assert comp.sm3 in {d.text for d in removed.iterfind(".//p:messageDigest", P)}
    actions = list(AuditEntry.objects.values_list("action", flat=True))
    assert "package_delete_request" in actions and "package_delete_approve" in actions


def test_disposal_of_the_whole_package_leaves_a_tombstone_listing_what_left(
    tmp_path: Path, people: dict[str, User], django_capture_on_commit_callbacks: Any
) -> None:
    package, records = _package(tmp_path)
    req = deletion.request_deletion(package, "鉴定销毁：整批", user=people["alice"])
    deletion.decide(req, False, user=people["bob"], note="依据不足")
    assert Record.objects.filter(package_link__package=package).count() == 3
    req = deletion.request_deletion(package, "鉴定销毁：整批，决议第4号", user=people["bob"])
    with django_capture_on_commit_callbacks(execute=True):
        deletion.decide(req, True, user=people["alice"])
    replication.preserve(package.pk)
    package.refresh_from_db()
    assert package.status == "deleted"
    head = _head(package)
    assert {"lantai/tombstone.json", "premis/premis.xml"} <= set(head)
    assert not [p for p in head if p.startswith("records/")]  # content left the head state
    assert len([p for p in _head(package, 1) if p.endswith(".pdf")]) == 3
    doc = _premis(package)
    files = [
        o for o in doc.findall("p:object", P)
        if o.get(f"{{{premis.XSI}}}type") == "premis:file"
    ]  # fmt: skip
    assert len(files) == 3  # identifiers and digests outlive the content
    with pytest.raises(deletion.DeletionError, match="已删除"):
        deletion.request_deletion(package, "再删一次", user=people["alice"])


def test_officers_ask_for_part_of_a_package_in_the_web_ui(
    tmp_path: Path, people: dict[str, User], django_capture_on_commit_callbacks: Any
) -> None:
    package, records = _package(tmp_path)
    alice, bob = Client(), Client()
    alice.force_login(people["alice"])
    bob.force_login(people["bob"])
    url = f"/storage/packages/{package.pk}/delete/"
    unknown = alice.post(
        url, {"reason": "鉴定销毁", "codes": "Z109-WS·2020-Y-BGS-0099"}, follow=True
    )
    assert "Z109-WS·2020-Y-BGS-0099 不在信息包" in unknown.content.decode()
    code = records[2].reference_code
    alice.post(url, {"reason": "鉴定销毁：决议第5号", "codes": code})
    req = package.deletions.get(status="requested")
    assert req.records == [records[2].pk] and req.components == []
    page = bob.get(f"/storage/packages/{package.pk}/").content.decode()
    assert f"档案 1 条（{code}）" in page
    with django_capture_on_commit_callbacks(execute=True):
        bob.post(f"/storage/deletions/{req.pk}/decide/", {"decision": "approve"})
    assert list(
        Record.objects.filter(package_link__package=package).values_list("pk", flat=True)
    ) == [records[0].pk, records[1].pk]
