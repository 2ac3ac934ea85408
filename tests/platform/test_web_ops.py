"""平台运行, the operations page (views_ops.py), for the system administrator: an installation that
has not joined says how to join; a node shows its membership, the outbox backlog with the last
errors and its log head, and 校验消息日志 finds an altered message; the hub adds every member's
health and the alerts."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from lantai.core import accounts
from lantai.platform import log
from lantai.platform.models import HarvestState, JoinToken, LogEntry, Member, Membership, Outbox

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.platform.staff_site_urls")]

PASSWORD = "Ops#Password2026"


def signed_in(role: str, *, csrf: bool = False) -> Client:
    user = accounts.create_user(f"ops-{role}", role=role, password=PASSWORD, clearance=4, scope_all=True)  # fmt: skip
    client = Client(enforce_csrf_checks=csrf)
    client.force_login(user)
    return client


@pytest.fixture
def admin(settings: Any) -> Client:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    return signed_in("system_admin")


def joined(**extra: Any) -> Membership:
    return Membership.objects.create(
        code="A01", name="甲市档案馆", url="http://a01.example", hub_url="http://hub.example",
        hub_public_key="00", member_list={"members": [{"code": "A01"}, {"code": "B02"}]},
        member_list_at=timezone.now() - dt.timedelta(hours=3), **extra,
    )  # fmt: skip


def test_only_the_system_administrator(settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    for role in ("reading_room", "marriage_archivist", "audit_admin"):
        client = signed_in(role)
        assert client.get(reverse("platform_staff:ops")).status_code == 403, role
        assert client.post(reverse("platform_staff:ops_verify")).status_code == 403, role
    assert Client().get(reverse("platform_staff:ops")).status_code == 302  # to sign in


def test_not_joined_says_how(admin: Client) -> None:
    page = admin.get(reverse("platform_staff:ops")).content.decode()
    assert 'id="not-joined"' in page
    assert "lantai platform token --node-code" in page and "lantai platform join" in page
    assert 'id="members"' not in page  # not a hub


def test_a_node_with_its_backlog_and_log(admin: Client) -> None:
    joined()
    now = timezone.now()
    Outbox.objects.create(message_id="m1", peer="B02", url="http://b02.example/platform/inbox",
                          kind="request", envelope="{}", status="queued", attempts=3,
                          last_error="ConnectionError: refused", next_attempt_at=now)  # fmt: skip
    Outbox.objects.create(message_id="m2", peer="B02", url="http://b02.example/platform/inbox",
                          kind="answer", envelope="{}", status="delivered", next_attempt_at=now)  # fmt: skip
    for i in range(3):
        log.append("out", "B02", "request", f"msg-{i}", f'{{"n":{i}}}')
    page = admin.get(reverse("platform_staff:ops")).content.decode()
    assert 'id="not-joined"' not in page and "A01" in page and "http://hub.example" in page
    assert "2 个成员" in page and "（3\xa0小时前）" in page  # the member list's age
    backlog = page.split('id="backlog"')[1].split("</table>")[0]
    assert "ConnectionError: refused" in backlog and backlog.count("<tr>") == 2  # head + 1 row
    assert "第 3 条" in page

    page = admin.post(reverse("platform_staff:ops_verify")).content.decode()
    assert 'id="verify-ok"' in page and "共 3 条" in page
    LogEntry.objects.filter(seq=2).update(envelope='{"n":99}')  # altered behind the log's back
    page = admin.post(reverse("platform_staff:ops_verify")).content.decode()
    assert 'id="verify-problems"' in page and "altered" in page
    assert "发现 1 处问题" in page and "the message differs from its digest" in page


def test_verify_needs_the_csrf_token(settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    client = signed_in("system_admin", csrf=True)
    assert client.post(reverse("platform_staff:ops_verify")).status_code == 403


def test_the_hub_shows_every_member_and_the_alerts(admin: Client) -> None:
    JoinToken.objects.create(node_code="B02", digest="1" * 64, created_by="test",
                             expires_at=timezone.now(), used_at=timezone.now())  # fmt: skip
    now = timezone.now()
    a = Member.objects.create(code="A01", name="甲市档案馆", url="http://a", public_key="00",
                              last_contact_at=now, chain_head={"seq": 42, "hash": "ab" * 32, "time": now.isoformat()})  # fmt: skip
    Member.objects.create(code="B02", name="乙县档案馆", url="http://b", public_key="00")
    Member.objects.create(
        code="C03", name="丙县档案馆", url="http://c", public_key="00", left_at=now
    )
    for feed, records in (("catalogue", 1200), ("marriage", 345)):
        HarvestState.objects.create(member=a, feed=feed, last_success_at=now, records=records)
    b = Member.objects.get(code="B02")
    HarvestState.objects.create(member=b, feed="catalogue", error="HTTP 503")
    page = admin.get(reverse("platform_staff:ops")).content.decode()
    assert 'id="members"' in page and "本安装同时运行平台中心" in page
    row_a = page.split('id="member-A01"')[1].split("</tr>")[0]
    assert "1200 条" in row_a and "345 条" in row_a and "第 42 条" in row_a
    row_b = page.split('id="member-B02"')[1].split("</tr>")[0]
    assert "HTTP 503" in row_b and "尚未收割" in row_b
    assert 'id="member-C03"' not in page  # left the platform
    alerts = page.split('id="alerts"')[1].split("</section>")[0]
    assert (
        "节点 B02 的开放目录未按时收割" in alerts and "节点 B02 的婚姻档案索引未按时收割" in alerts
    )
    assert "A01" not in alerts
