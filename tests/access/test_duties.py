"""Separation of duties in the reading room: whoever 受理 a 查档申请 cannot also 审批 it (unless
the archives runs with one person, which the audit log then records for each such approval), and
each 办理意见 keeps its author and time on the staff request page."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client

from lantai.access import services
from lantai.access.models import AccessRequest
from lantai.core.models import AuditEntry

from .conftest import Portal
from .test_staff import make_request

pytestmark = pytest.mark.django_db


def signed_in(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_whoever_accepted_a_request_cannot_approve_it(portal: Portal) -> None:
    req = make_request(portal)
    reader, reader2 = portal.users["reader"], portal.users["reader2"]
    first = signed_in(reader)
    first.post(f"/reading-room/requests/{req.pk}/accept/", {"note": "材料齐全"})
    page = first.get(f"/reading-room/requests/{req.pk}/").content.decode()
    assert f"/reading-room/requests/{req.pk}/approve/" not in page  # not offered to the acceptor
    assert "不能由受理人审批" in page  # and the page says why
    response = first.post(
        f"/reading-room/requests/{req.pk}/approve/", {"note": "同意"}, follow=True
    )
    assert "不能由受理人审批" in response.content.decode()
    assert AccessRequest.objects.get().status == "accepted"
    with pytest.raises(services.AccessError):
        services.approve_request(AccessRequest.objects.get(), reader)
    assert not AuditEntry.objects.filter(action__contains="approve").exists()
    signed_in(reader2).post(f"/reading-room/requests/{req.pk}/approve/", {"note": "同意"})
    approved = AccessRequest.objects.get()
    assert approved.status == "approved" and approved.approved_by == reader2


def test_a_one_person_archives_may_approve_its_own_acceptance_and_it_is_logged(
    portal: Portal, settings: Any
) -> None:
    settings.ACCESS_SINGLE_PERSON = True
    req = make_request(portal)
    reader = portal.users["reader"]
    client = signed_in(reader)
    client.post(f"/reading-room/requests/{req.pk}/accept/")
    client.post(f"/reading-room/requests/{req.pk}/approve/")
    approved = AccessRequest.objects.get()
    assert approved.status == "approved"
    assert approved.accepted_by == approved.approved_by == reader
    entry = AuditEntry.objects.get(target_id=req.reference, action__contains="approve")
    assert entry.action == "access_request_self_approve" and entry.actor == reader.username
    assert entry.detail["accepted_by"] == reader.username
    # with another approver nothing special is logged
    other = make_request(portal)
    client.post(f"/reading-room/requests/{other.pk}/accept/")
    signed_in(portal.users["reader2"]).post(f"/reading-room/requests/{other.pk}/approve/")
    assert AuditEntry.objects.get(target_id=other.reference, action__contains="approve").action == (
        "access_request_approve"
    )


def notes_on_page(html: str) -> list[str]:
    section = re.search(r'<section[^>]*id="notes".*?</section>', html, re.S)
    assert section, "the staff request page has no 办理意见 section"
    items = re.findall(r"<li[^>]*>(.*?)</li>", section.group(0), re.S)
    return [re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", item)).strip() for item in items]


def test_each_note_keeps_its_author_and_time(portal: Portal) -> None:
    req = make_request(portal)
    reader, reader2 = portal.users["reader"], portal.users["reader2"]
    first, second = signed_in(reader), signed_in(reader2)
    first.post(f"/reading-room/requests/{req.pk}/accept/", {"note": "材料齐全"})
    second.post(f"/reading-room/requests/{req.pk}/approve/", {"note": "同意提供复制件"})
    first.post(
        f"/reading-room/requests/{req.pk}/provide/",
        {"method": "copy", "codes": "", "note": "已当面交付"},
    )
    assert AccessRequest.objects.get().status == "provided"
    notes = notes_on_page(first.get(f"/reading-room/requests/{req.pk}/").content.decode())
    assert len(notes) == 3, notes
    for note, text, author, step in (
        (notes[0], "材料齐全", reader.username, "受理"),
        (notes[1], "同意提供复制件", reader2.username, "审批"),
        (notes[2], "已当面交付", reader.username, "提供"),
    ):
        assert text in note and author in note and step in note, note
        assert re.search(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}", note), note


@pytest.mark.django_db(transaction=True)
def test_notes_written_before_the_upgrade_are_kept() -> None:
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    before, after = [("access", "0001_initial")], [("access", "0002_request_notes")]
    executor = MigrationExecutor(connection)
    executor.migrate(before)
    try:
        old = executor.loader.project_state(before).apps.get_model("access", "AccessRequest")
        old.objects.create(
            reference="CD20240101-AAAAAA", applicant_name="李华", id_type="resident_id",
            id_number="620102198503011234", phone="13809311234", purpose="family",
            staff_note="材料齐全\n同意",
        )  # fmt: skip
        executor = MigrationExecutor(connection)
        executor.migrate(after)
        apps = executor.loader.project_state(after).apps
        notes = list(apps.get_model("access", "RequestNote").objects.values("text", "author"))
        assert notes == [{"text": "材料齐全\n同意", "author": None}]
    finally:
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())
