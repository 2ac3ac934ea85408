"""The reading room: 查档申请 受理 → 审批 → 提供 / 拒绝 with who and when, the audit log, 利用登记
(list, walk-in registration, CSV export), and staff pages closed to anonymous visitors."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from django.test import Client
from django.urls import URLPattern, reverse

from lantai.access import services, staff_urls
from lantai.access.models import AccessRequest, Provision
from lantai.core.models import AuditEntry

from .conftest import Portal, resident_id

pytestmark = pytest.mark.django_db


def make_request(portal: Portal, **changes: Any) -> AccessRequest:
    data = {
        "applicant_name": "李华",
        "id_type": "resident_id",
        "id_number": resident_id(),
        "phone": "13809311234",
        "purpose": "family",
        "record_ids": (portal.open_records[0].pk,),
        "records_text": '=HYPERLINK("http://x")',
        "certified_copy": True,
    }
    data.update(changes)
    return services.submit_request(services.RequestInput(**data))


def staff_urls_with_args() -> list[tuple[str, str]]:
    out = []
    for pattern in staff_urls.urlpatterns:
        assert isinstance(pattern, URLPattern)
        kwargs = {k: ("accept" if k == "action" else 1) for k in pattern.pattern.converters}
        out.append((str(pattern.name), reverse(f"access_staff:{pattern.name}", kwargs=kwargs)))
    return out


@pytest.mark.parametrize(("name", "url"), staff_urls_with_args())
def test_every_staff_url_needs_a_sign_in(portal: Portal, name: str, url: str) -> None:
    make_request(portal)
    client = Client()
    for response in (client.get(url), client.post(url, {"note": "x", "reason": "y"})):
        assert response.status_code == 302, name
        assert response["Location"].startswith("/login/"), name
    assert AccessRequest.objects.get().status == "submitted"
    assert not Provision.objects.exists()


def test_staff_without_the_permission_get_403(portal: Portal) -> None:
    req = make_request(portal)
    client = Client()
    client.force_login(portal.users["cataloguer"])
    assert client.get("/reading-room/").status_code == 403
    response = client.post(f"/reading-room/requests/{req.pk}/accept/")
    assert response.status_code == 403
    assert AccessRequest.objects.get().status == "submitted"


def test_workflow_accept_approve_provide_registers_the_use(portal: Portal) -> None:
    req = make_request(portal)
    reader, reader2 = portal.users["reader"], portal.users["reader2"]
    first, second = Client(), Client()
    first.force_login(reader)
    second.force_login(reader2)
    listing = first.get("/reading-room/").content.decode()
    assert req.reference in listing and req.id_number not in listing  # masked in lists
    detail = first.get(f"/reading-room/requests/{req.pk}/").content.decode()
    assert req.id_number in detail and "受理" in detail
    # 审批 before 受理 is refused
    first.post(f"/reading-room/requests/{req.pk}/approve/")
    assert AccessRequest.objects.get().status == "submitted"
    first.post(f"/reading-room/requests/{req.pk}/accept/", {"note": "材料齐全"})
    second.post(f"/reading-room/requests/{req.pk}/approve/", {"note": "同意"})
    response = first.post(
        f"/reading-room/requests/{req.pk}/provide/",
        {"method": "certificate", "codes": portal.open_records[1].reference_code, "note": ""},
    )
    assert response.status_code == 302
    done = AccessRequest.objects.get()
    assert done.status == "provided"
    assert (done.accepted_by, done.approved_by, done.closed_by) == (reader, reader2, reader)
    assert done.accepted_at and done.approved_at and done.closed_at
    notes = [(n.text, n.author) for n in done.notes.all()]
    assert notes == [("材料齐全", reader), ("同意", reader2)]
    provision = Provision.objects.get()
    assert provision.request == done and provision.method == "certificate"
    assert provision.provided_by == reader and provision.user_name == "李华"
    assert set(provision.records.all()) == set(portal.open_records[:2])
    actions = list(
        AuditEntry.objects.filter(action__startswith="access_").values_list("action", "actor")
    )
    assert actions == [
        ("access_request_submit", "public"),
        ("access_request_accept", "wangwu"),
        ("access_request_approve", "zhaoliu"),
        ("access_request_provide", "wangwu"),
        ("access_provision", "wangwu"),
    ]
    # the applicant sees the outcome
    status = Client().post("/public/status/", {"reference": done.reference, "phone": done.phone})
    assert "已提供" in status.content.decode()


def test_refusal_needs_a_reason_and_is_shown_to_the_applicant(portal: Portal) -> None:
    req = make_request(portal)
    client = Client()
    client.force_login(portal.users["reader"])
    client.post(f"/reading-room/requests/{req.pk}/refuse/", {"reason": "  "})
    assert AccessRequest.objects.get().status == "submitted"
    client.post(f"/reading-room/requests/{req.pk}/refuse/", {"reason": "所需档案未满开放期限"})
    refused = AccessRequest.objects.get()
    assert refused.status == "refused" and refused.closed_by == portal.users["reader"]
    assert AuditEntry.objects.filter(action="access_request_refuse").count() == 1
    # a closed request takes no further step
    client.post(f"/reading-room/requests/{req.pk}/accept/")
    assert AccessRequest.objects.get().status == "refused"
    page = Client().post("/public/status/", {"reference": req.reference, "phone": req.phone})
    assert "所需档案未满开放期限" in page.content.decode()


def test_walk_in_registration_and_csv_export(portal: Portal) -> None:
    client = Client()
    client.force_login(portal.users["reader"])
    record = portal.closed_records[0]  # staff may provide records that are not open
    bad = client.post(
        "/reading-room/register/new/",
        {"user_name": "王强", "id_type": "resident_id", "id_number": resident_id(),
         "purpose": "research", "codes": "NO-SUCH-CODE", "method": "reading"},
    )  # fmt: skip
    assert "NO-SUCH-CODE" in bad.content.decode() and not Provision.objects.exists()
    response = client.post(
        "/reading-room/register/new/",
        {"user_name": "王强", "id_type": "resident_id", "id_number": resident_id(),
         "purpose": "research", "codes": record.reference_code, "method": "reading",
         "note": "@SUM(1)"},
    )  # fmt: skip
    assert response.status_code == 302
    provide_req = make_request(portal)
    reader = portal.users["reader"]
    services.accept_request(provide_req, reader)
    services.approve_request(provide_req, portal.users["reader2"])  # not the one who accepted
    services.provide_request(provide_req, reader, "copy")
    listing = client.get("/reading-room/register/").content.decode()
    assert "王强" in listing and record.reference_code in listing
    response = client.get("/reading-room/register.csv")
    assert response["Content-Type"].startswith("text/csv")
    text = b"".join(response.streaming_content).decode("utf-8")
    assert text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    assert rows[0][:3] == ["登记号", "利用时间", "利用者"]
    assert len(rows) == 3
    flat = "\n".join(",".join(r) for r in rows)
    assert resident_id() not in flat and "6201**********" in flat  # identity numbers masked
    assert "'=HYPERLINK" in flat and "'@SUM(1)" in flat  # no formulas for spreadsheets
    assert record.reference_code in flat and "阅览" in flat and "复制（纸质）" in flat


def test_services_refuse_users_without_the_permission(portal: Portal) -> None:
    req = make_request(portal)
    with pytest.raises(services.AccessDenied):
        services.accept_request(req, portal.users["cataloguer"])
