"""Issue 12, points 10, 11 and 18: 三员分立 in the audit log, the two-person rule for the three
administrators' accounts, refused attempts and a readable, exportable log."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from typing import Any

from click.testing import CliRunner
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from lantai.catalog import services
from lantai.core import accounts, audit
from lantai.core.api_auth import issue_token
from lantai.core.models import AuditEntry, User
from tests.web.conftest import PASSWORD, Site

SECRET_TITLE = "关于绝不外传的某项工程选址的请示"
SECRET_AUTHOR = "某某保密办公室"


def text(response: Any) -> str:
    return response.content.decode("utf-8")


def secret_record(site: Site) -> Any:
    raw = {
        "title": SECRET_TITLE,
        "author": SECRET_AUTHOR,
        "date": "20230301",
        "year": "2023",
        "retention": "Y",
        "org_code": "BGS",
        "item_number": "99",
        "classification": "秘密",
    }
    record, issues = services.save_record(site.category, raw)
    assert record is not None, issues
    raw["remarks"] = "机密备注：仅限领导阅"
    updated, issues = services.save_record(site.category, raw, record=record)
    assert updated is not None, issues
    return record


# --- point 10: the auditor sees who did what to which record, not its content --------------------
def test_auditor_sees_the_change_but_not_the_content_of_a_classified_record(
    client: Client, site: Site
) -> None:
    record = secret_record(site)
    client.force_login(site.users["audit_admin"])  # clearance 0, no scope
    body = text(client.get(reverse("web:audit")))
    assert SECRET_TITLE not in body and SECRET_AUTHOR not in body and "仅限领导阅" not in body
    assert f"档案 #{record.pk}" in body  # which object
    assert "题名" in body and "备注" in body  # which fields changed
    assert "已隐去" in body
    export = client.get(reverse("web:audit_export")).getvalue().decode("utf-8-sig")
    assert SECRET_TITLE not in export and "仅限领导阅" not in export
    assert audit.verify().ok  # nothing in the chained entries was changed to hide it
    # an administrator cleared for 秘密 with every repository in scope reads the values
    cleared = accounts.create_user(
        "auditor2", role="audit_admin", password=PASSWORD, clearance=2, scope_all=True
    )
    client.force_login(cleared)
    body = text(client.get(reverse("web:audit")))
    assert SECRET_TITLE in body and "仅限领导阅" in body


# --- point 11: the system administrator cannot take over another administrator's account ---------
NEW = "Takeover#Pass2026"


def test_system_admin_cannot_reset_the_security_admin_alone(client: Client, site: Site) -> None:
    sysadmin, secadmin = site.users["system_admin"], site.users["security_admin"]
    client.force_login(sysadmin)
    client.post(
        reverse("web:user_password", args=[secadmin.pk]), {"password": NEW, "password2": NEW}
    )
    assert not Client().login(username="secadmin", password=NEW)
    change = accounts.pending_changes().get()
    assert (change.target, change.kind, change.proposed_by) == (secadmin, "password", sysadmin)
    # neither the proposer, nor another system administrator, nor the account's owner confirms
    other_sys = accounts.create_user("sysadmin2", role="system_admin", password=PASSWORD)
    for who in (sysadmin, other_sys, secadmin):
        c = Client()
        c.force_login(who)
        c.post(reverse("web:account_change_decide", args=[change.pk]), {"decision": "confirm"})
        assert not Client().login(username="secadmin", password=NEW), who.username
    # the audit administrator (another 三员 role) confirms: now it takes effect, and is logged
    c = Client()
    c.force_login(site.users["audit_admin"])
    page = text(c.get(reverse("web:account_changes")))
    assert "secadmin" in page and "sysadmin" in page
    c.post(reverse("web:account_change_decide", args=[change.pk]), {"decision": "confirm"})
    assert Client().login(username="secadmin", password=NEW)
    actions = list(
        AuditEntry.objects.filter(target_type="user", target_id=str(secadmin.pk))
        .order_by("seq")
        .values_list("action", "actor")
    )
    assert ("account_change_propose", "sysadmin") in actions
    assert ("account_change_confirm", "auditor") in actions


def test_system_admin_cannot_disable_the_audit_admin_alone(client: Client, site: Site) -> None:
    auditor = site.users["audit_admin"]
    client.force_login(site.users["system_admin"])
    client.post(reverse("web:user_active", args=[auditor.pk]), {"active": "0"})
    auditor.refresh_from_db()
    assert auditor.is_active
    change = accounts.pending_changes().get()
    c = Client()
    c.force_login(site.users["security_admin"])
    c.post(reverse("web:account_change_decide", args=[change.pk]), {"decision": "reject"})
    auditor.refresh_from_db()
    assert auditor.is_active
    assert AuditEntry.objects.filter(action="account_change_reject", actor="secadmin").exists()
    # an ordinary account is still reset at once, with no second administrator
    target = site.users["reader"]
    client.post(reverse("web:user_password", args=[target.pk]), {"password": NEW, "password2": NEW})
    target.refresh_from_db()
    assert target.check_password(NEW) and not accounts.pending_changes().exists()


def test_console_reset_of_an_administrator_works_and_is_logged(site: Site) -> None:
    from lantai.cli import main

    result = CliRunner().invoke(main, ["user", "passwd", "secadmin", "--password", NEW])
    assert result.exit_code == 0, result.output
    assert User.objects.get(username="secadmin").check_password(NEW)
    entry = AuditEntry.objects.filter(action="password_reset").latest("seq")
    assert entry.target_id == str(site.users["security_admin"].pk)
    assert entry.detail["via"] == "console" and entry.detail["role"] == "security_admin"


# --- point 18: refused attempts, a readable log, dates, links and a safe CSV ---------------------
def test_refused_attempts_are_logged_from_pages_and_the_api(client: Client, site: Site) -> None:
    auditor = site.users["audit_admin"]
    client.force_login(auditor)
    url = reverse("web:record", args=[site.records[0].pk])
    assert client.get(url).status_code == 403
    entry = AuditEntry.objects.filter(action="access_denied").latest("seq")
    assert entry.actor == "auditor" and entry.detail["path"] == url
    assert entry.detail["method"] == "GET" and entry.detail["reason"]
    token = issue_token(site.users["reader"], "t")  # 利用服务: no right to create a fonds
    fonds_url = "/api/fonds"
    api = Client().post(
        fonds_url,
        {"code": "X1", "name": "x"},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )
    assert api.status_code == 403
    entry = AuditEntry.objects.filter(action="access_denied").latest("seq")
    assert entry.detail["path"] == fonds_url and entry.detail["method"] == "POST"
    assert entry.actor == "wangwu"


def test_the_log_reads_in_chinese_with_links(client: Client, site: Site) -> None:
    client.force_login(site.users["audit_admin"])
    body = text(client.get(reverse("web:audit")))
    assert "新建用户" in body and "用户名" in body and "角色" in body
    assert "{'" not in body and "&#x27;" not in body  # no Python dicts
    reader = site.users["reader"]
    assert f'href="/audit/?target=user%3A{reader.pk}"' in body
    only = text(client.get(reverse("web:audit"), {"target": f"user:{reader.pk}"}))
    assert "wangwu" in only and "sysadmin" not in only.split("<table", 1)[-1]


def test_the_log_filters_by_date(client: Client, site: Site) -> None:
    client.force_login(site.users["audit_admin"])
    today = timezone.localdate()
    yesterday = (today - timedelta(days=1)).isoformat()
    before = text(client.get(reverse("web:audit"), {"to": yesterday}))
    assert "没有符合条件的日志" in before
    since = text(client.get(reverse("web:audit"), {"from": today.isoformat()}))
    assert "新建用户" in since
    bad = text(client.get(reverse("web:audit"), {"from": "2024-13-45"}, follow=True))
    assert "无法识别" in bad


def test_the_csv_export_is_readable_and_runs_no_formula(client: Client, site: Site) -> None:
    audit.record("login_failed", "user", "x", {"ip": "=1+2", "note": "@SUM(A1)"}, actor="=cmd|x")
    client.force_login(site.users["audit_admin"])
    response = client.get(reverse("web:audit_export"), {"action": "login_failed"})
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.getvalue().decode("utf-8-sig"))))
    assert rows[0][:4] == ["序号", "时间", "操作人", "操作"]
    assert len(rows) == 2 and rows[1][3] == "登录失败"
    for cell in (c for row in rows for c in row):
        assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), cell
    assert rows[1][2] == "'=cmd|x" and "地址：=1+2" in rows[1][6]
    assert AuditEntry.objects.filter(action="audit_export", actor="auditor").exists()


def test_granting_an_administrator_role_needs_a_second_administrator(
    client: Client, site: Site
) -> None:
    clerk = site.users["noscope"]
    client.force_login(site.users["security_admin"])
    client.post(
        reverse("web:grant_edit", args=[clerk.pk]), {"role": "audit_admin", "clearance": "0"}
    )
    clerk.refresh_from_db()
    assert clerk.role == "cataloguer"  # not yet: a second administrator has to confirm
    change = accounts.pending_changes().get()
    assert change.kind == "grant" and change.proposed_by == site.users["security_admin"]
    other = Client()
    other.force_login(site.users["system_admin"])
    other.post(reverse("web:account_change_decide", args=[change.pk]), {"decision": "confirm"})
    clerk.refresh_from_db()
    assert clerk.role == "audit_admin"
    other.force_login(site.users["audit_admin"])
    body = text(other.get(reverse("web:audit"), {"action": "account_change_confirm"}))
    assert "整理著录员 → 安全审计员" in body
