"""全区查档 and 跨馆请求, the staff pages (views_window.py) with the Django test client: the window
refuses without the counter's requester and shows a malformed search as a form error; the request
list shows the deadlines of both roles with overdue rows marked and the SLA counts; the receiving
archives downloads the certificate and marks the requester informed; the holding archives is told
a paper-only record must be scanned first, must give a reason to refuse, and learns that its
answer waits in the outbox while the receiving archives cannot be reached. RemoteRequest rows are
made directly (no hub): the exchanges themselves are tested end to end in test_region.py."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from lantai.core import accounts
from lantai.core.models import AuditEntry
from lantai.marriage.models import Query
from lantai.platform.models import Membership, Outbox, RemoteRequest
from tests.marriage.conftest import HUSBAND

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.platform.staff_site_urls")]

PASSWORD = "Window#Password2026"
CLOSED_PORT_URL = "http://127.0.0.1:9"  # discard port: nothing listens, the connection is refused


def signed_in(role: str, name: str, *, csrf: bool = False) -> Client:
    user = accounts.create_user(name, role=role, password=PASSWORD, clearance=4, scope_all=True)
    client = Client(enforce_csrf_checks=csrf)
    client.force_login(user)
    return client


@pytest.fixture
def clerk(settings: Any) -> Client:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    from lantai.catalog import services

    services.default_repository()
    return signed_in("reading_room", "window-clerk")


@pytest.fixture
def joined() -> Membership:
    """This installation as node A01 of a region whose hub and peer B02 cannot be reached."""
    from lantai.platform import regional

    if not regional.has_key():
        regional.create()
    return Membership.objects.create(
        code="A01", name="甲市档案馆", url="http://a01.example", hub_url=CLOSED_PORT_URL,
        hub_public_key="00", member_list={"members": [
            {"code": "B02", "name": "乙县档案馆", "url": CLOSED_PORT_URL, "public_key": "00"}]},
        member_list_at=timezone.now(),
    )  # fmt: skip


def register_requester(client: Client) -> None:
    """The counter's first step (marriage/views_counter.py): the requester into the session."""
    response = client.post(reverse("marriage:counter"), {
        "step": "requester", "requester_type": "self", "requester_name": HUSBAND.name,
        "id_type": "resident_id", "requester_id": HUSBAND.id_number or "",
        "proof_id_document": "居民身份证（现场核验）", "purpose": "办理房产过户",
    })  # fmt: skip
    assert response.status_code == 302


def remote_request(role: str, **fields: Any) -> RemoteRequest:
    now = timezone.now()
    values: dict[str, Any] = {
        "role": role, "message_id": f"m-{role}-{RemoteRequest.objects.count()}",
        "receiving_node": "A01" if role == "sent" else "B02",
        "holding_node": "B02" if role == "sent" else "A01", "locator": "B02:MZHY-2010-0001",
        "requester_type": "self", "requester_name": "王建华", "requester_id_masked": "450103********1110",
        "purpose": "办理房产过户", "status": "sent", "created_at": now,
        "answer_due": timezone.localdate() + dt.timedelta(days=6),
    }  # fmt: skip
    values.update(fields)
    return RemoteRequest.objects.create(**values)


# ----------------------------------------------------------------------------------- permissions


def test_pages_need_the_marriage_permission(settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    row = remote_request("sent")
    cataloguer = signed_in("cataloguer", "no-marriage")
    for url in (reverse("platform_staff:window"), reverse("platform_staff:requests"),
                reverse("platform_staff:request", args=[row.pk]),
                reverse("platform_staff:request_pdf", args=[row.pk])):  # fmt: skip
        assert cataloguer.get(url).status_code == 403, url
    for url in (reverse("platform_staff:window_request"),
                reverse("platform_staff:request_informed", args=[row.pk]),
                reverse("platform_staff:request_answer", args=[row.pk])):  # fmt: skip
        assert cataloguer.post(url).status_code == 403, url
    assert AuditEntry.objects.filter(action="access_denied").count() == 7
    assert Client().get(reverse("platform_staff:window")).status_code == 302  # to sign in


# ------------------------------------------------------------------------------------ the window


def test_the_window_refuses_without_a_requester(clerk: Client, joined: Membership) -> None:
    page = clerk.get(reverse("platform_staff:window")).content.decode()
    assert 'id="no-requester"' in page and reverse("marriage:counter") in page
    assert 'name="mode"' not in page  # no search form
    response = clerk.post(reverse("platform_staff:window"), {"mode": "names", "name1": "王建华"})
    page = response.content.decode()
    assert response.status_code == 200 and "请先在查档窗口登记查询人" in page
    assert Query.objects.count() == 0  # nothing searched, nothing logged
    response = clerk.post(reverse("platform_staff:window_request"), {"locator": "B02:X-1"})
    assert response.status_code == 302 and RemoteRequest.objects.count() == 0


def test_a_malformed_search_is_a_form_error(clerk: Client, joined: Membership) -> None:
    register_requester(clerk)
    page = clerk.get(reverse("platform_staff:window")).content.decode()
    assert "王建华" in page and (HUSBAND.id_number or "") not in page and 'name="mode"' in page
    # names mode without a name: the service's FindError, shown on the form
    page = clerk.post(reverse("platform_staff:window"), {"mode": "names", "years": "2"}).content.decode()  # fmt: skip
    assert 'id="form-errors"' in page and "请只按一种方式查找" in page
    # an ID number that is not one: the error at the ID field, the number not echoed back
    bad = "45010319840301119"  # 17 characters
    response = clerk.post(reverse("platform_staff:window"), {"mode": "id", "id_number": bad})
    page = response.content.decode()
    assert response.status_code == 200 and 'class="field-error"' in page
    assert f'value="{bad}"' not in page and 'id="results"' not in page
    assert RemoteRequest.objects.count() == 0


def test_the_window_says_when_this_archives_has_not_joined(clerk: Client) -> None:
    register_requester(clerk)
    page = clerk.post(reverse("platform_staff:window"), {"mode": "names", "name1": "王建华"}).content.decode()  # fmt: skip
    assert 'id="find-error"' in page and "本馆尚未加入全区平台" in page


def test_the_hub_unreachable_is_a_message(clerk: Client, joined: Membership) -> None:
    register_requester(clerk)
    page = clerk.post(reverse("platform_staff:window"), {"mode": "names", "name1": "王建华", "year": "2010"}).content.decode()  # fmt: skip
    assert 'id="find-error"' in page and "无法连接平台中心" in page
    assert Outbox.objects.get(kind="marriage_find").last_error  # tried once, not retried later


def test_a_request_needs_a_locator_the_find_showed(clerk: Client, joined: Membership) -> None:
    register_requester(clerk)
    response = clerk.post(reverse("platform_staff:window_request"), {"locator": "B02:MZHY-2010-0001"}, follow=True)  # fmt: skip
    assert "不在本次全区查档的结果中" in response.content.decode()
    assert RemoteRequest.objects.count() == 0


# --------------------------------------------------------------------------- requests and the SLA


def test_the_list_shows_deadlines_and_marks_the_overdue(clerk: Client) -> None:
    today = timezone.localdate()
    late = remote_request("received", status="queued", locator="A01:LATE-1",
                          answer_due=today - dt.timedelta(days=1))  # fmt: skip
    remote_request("received", status="queued", locator="A01:TODAY-1", answer_due=today)
    remote_request("sent", status="answered", locator="B02:UNTOLD-1",
                   answered_at=timezone.now() - dt.timedelta(days=5),
                   inform_due=today - dt.timedelta(days=2))  # fmt: skip
    remote_request("sent", locator="B02:FRESH-1")
    page = clerk.get(reverse("platform_staff:requests")).content.decode()
    assert "B02:UNTOLD-1" in page and "B02:FRESH-1" in page and "A01:LATE-1" not in page
    assert page.count('data-overdue="inform"') == 1 and page.count('data-overdue=""') == 1
    assert "已告知查档人" not in page  # no informed row
    # the counts: sent 2 open, 1 past informing; received 2 open, 1 past answering, 1 due today
    sent_row = page.split('id="sla-sent"')[1].split("</tr>")[0]
    received_row = page.split('id="sla-received"')[1].split("</tr>")[0]
    assert [c.split(">")[-1] for c in sent_row.split("</td>")[:4]] == ["2", "0", "0", "1"]
    assert [c.split(">")[-1] for c in received_row.split("</td>")[:3]] == ["2", "1", "1"]
    page = clerk.get(reverse("platform_staff:requests"), {"role": "received"}).content.decode()
    assert "A01:LATE-1" in page and "B02:FRESH-1" not in page
    assert page.count('data-overdue="answer"') == 1
    assert f'href="{reverse("platform_staff:request", args=[late.pk])}"' in page
    assert "未配置法定节假日表" in page  # no holiday calendar in tests: the page says so


def test_the_receiving_archives_downloads_and_informs(clerk: Client) -> None:
    row = remote_request(
        "sent", status="answered", certificate_number="HYZ-B02-2026-000007",
        certificate_pdf=b"%PDF-1.7 test", answered_at=timezone.now(),
        inform_due=timezone.localdate() + dt.timedelta(days=2),
    )  # fmt: skip
    page = clerk.get(reverse("platform_staff:request", args=[row.pk])).content.decode()
    assert 'id="download"' in page and 'id="informed"' in page and 'id="answer"' not in page
    response = clerk.get(reverse("platform_staff:request_pdf", args=[row.pk]))
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == 'attachment; filename="HYZ-B02-2026-000007.pdf"'
    assert response.content == b"%PDF-1.7 test"
    response = clerk.post(reverse("platform_staff:request_informed", args=[row.pk]), follow=True)
    row.refresh_from_db()
    assert row.status == "informed" and row.informed_at is not None
    assert "已登记：已告知查档人" in response.content.decode()
    # a second time: the service's refusal as a message, no traceback
    response = clerk.post(reverse("platform_staff:request_informed", args=[row.pk]), follow=True)
    assert "只有已答复的请求才能登记" in response.content.decode()
    assert AuditEntry.objects.filter(action="platform_request_informed").count() == 1


def test_no_pdf_for_a_request_without_one(clerk: Client) -> None:
    row = remote_request("sent", status="queued")
    assert clerk.get(reverse("platform_staff:request_pdf", args=[row.pk])).status_code == 404
    assert clerk.get(reverse("platform_staff:request", args=[987654])).status_code == 404


def test_posts_need_the_csrf_token(settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    row = remote_request("sent", status="answered", answered_at=timezone.now())
    client = signed_in("reading_room", "csrf-clerk", csrf=True)
    assert client.post(reverse("platform_staff:request_informed", args=[row.pk])).status_code == 403  # fmt: skip
    row.refresh_from_db()
    assert row.status == "answered"


def test_the_holding_archives_answers_a_queued_request(clerk: Client, joined: Membership) -> None:
    row = remote_request("received", status="queued", reason="纸质档案：调卷扫描后答复")
    url = reverse("platform_staff:request", args=[row.pk])
    page = clerk.get(url).content.decode()
    assert 'id="answer"' in page and 'id="refuse"' in page and 'id="download"' not in page
    answer = reverse("platform_staff:request_answer", args=[row.pk])
    # no scans attached (the record is not even here): the service says what to do first
    page = clerk.post(answer, {"action": "answer"}, follow=True).content.decode()
    assert "该档案尚未扫描" in page
    row.refresh_from_db()
    assert row.status == "queued"
    # refusing needs a reason
    page = clerk.post(answer, {"action": "refuse", "reason": "  "}, follow=True).content.decode()
    assert "不予出证须写明理由" in page
    row.refresh_from_db()
    assert row.status == "queued"
    # with one: refused, and the answer waits in the outbox while B02 cannot be reached
    page = clerk.post(answer, {"action": "refuse", "reason": "查询人与当事人关系证明不足"}, follow=True).content.decode()  # fmt: skip
    row.refresh_from_db()
    assert row.status == "refused" and row.reason == "查询人与当事人关系证明不足"
    assert "答复在发件箱中等待" in page and 'id="waiting"' in page
    waiting = Outbox.objects.get(kind="answer")
    assert waiting.peer == "B02" and waiting.status == "queued" and waiting.last_error
    assert 'id="answer"' not in page  # answered once only


# ------------------------------------------------- the walk, with this installation as the hub


@pytest.fixture
def region_here(live_server: Any, clerk: Client) -> Iterator[dict[str, str]]:
    """This installation as the hub and as its node A01, over real HTTP on the live server; the
    hub's index lists two registrations held by B02, which cannot be reached."""
    from lantai.core import signing
    from lantai.platform import hub_index, peers, regional, transport
    from lantai.platform.models import JoinToken, Member
    from tests.marriage.conftest import OTHER, OTHER_WIFE, WIFE

    url, key = str(live_server.url), peers.own_key().public_key_hex
    JoinToken.objects.create(node_code="B02", digest="0" * 64, created_by="test",
                             expires_at=timezone.now(), used_at=timezone.now())  # fmt: skip
    Member.objects.create(code="A01", name="甲市档案馆", url=url, public_key=key)
    b02 = Member.objects.create(code="B02", name="乙县档案馆", url=CLOSED_PORT_URL,
                                public_key=signing.SigningKey.generate().public_key_hex)  # fmt: skip
    Membership.objects.create(code="A01", name="甲市档案馆", url=url, hub_url=url, hub_public_key=key,
                              member_list_at=timezone.now())  # fmt: skip
    paper, scanned = "B02:MZHY-2010-0123", "B02:MZHY-2012-0321"
    if not regional.has_key():
        regional.create()
    husband = regional.id_hash("居民身份证", str(HUSBAND.id_number))  # the rules: his own only
    hub_index.store_marriage(b02, [
        {"locator": paper, "kind": "marriage", "date": "2010-05-20", "office": "乙县民政局婚姻登记处",
         "region_code": "490102", "digitized": False, "stamp": "1",
         "parties": [{"name": HUSBAND.name, "position": 1, "id_hash": husband}, {"name": WIFE.name, "position": 2}]},
        {"locator": scanned, "kind": "marriage", "date": "2012-10-01", "office": "乙县民政局婚姻登记处",
         "region_code": "490102", "digitized": True, "stamp": "2",
         "parties": [{"name": OTHER.name, "position": 1}, {"name": OTHER_WIFE.name, "position": 2}]},
    ])  # fmt: skip
    yield {"paper": paper, "scanned": scanned}
    transport.http().close()  # no kept-alive connection left to the live server's thread


@pytest.mark.sqlite_run_only
def test_find_region_wide_then_request(clerk: Client, region_here: dict[str, str]) -> None:
    register_requester(clerk)
    page = clerk.post(reverse("platform_staff:window"), {"mode": "names", "name1": HUSBAND.name, "year": "2010", "years": "1"}).content.decode()  # fmt: skip
    assert 'id="results"' in page, page[-3000:]
    assert region_here["paper"] in page and region_here["scanned"] not in page
    assert "乙县档案馆" in page and "纸质" in page and "乙县民政局婚姻登记处" in page
    assert f"{HUSBAND.name}、" in page and "向协办馆申请出证" in page
    assert Query.objects.filter(channel="platform").count() == 1  # logged here, 全区平台
    # the holder B02 is down: the request waits in the outbox, and the page says so
    response = clerk.post(reverse("platform_staff:window_request"), {"locator": region_here["paper"]})  # fmt: skip
    sent = RemoteRequest.objects.get(role="sent")
    assert response["Location"] == reverse("platform_staff:request", args=[sent.pk])
    assert sent.status == "sent" and sent.holding_node == "B02" and sent.channel == "counter"
    page = clerk.get(response["Location"]).content.decode()
    assert "暂时无法连接：请求已排队" in page and 'id="waiting"' in page
    assert Outbox.objects.get(kind="request").status == "queued"
    # a locator the finds did not show is refused before anything is sent
    page = clerk.post(reverse("platform_staff:window_request"), {"locator": region_here["scanned"]}, follow=True).content.decode()  # fmt: skip
    assert "不在本次全区查档的结果中" in page and RemoteRequest.objects.count() == 1
