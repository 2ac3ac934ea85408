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
    # an ordinary account is disabled at once (disabling protects, it opens nothing)
    target = site.users["reader"]
    client.post(reverse("web:user_active", args=[target.pk]), {"active": "0"})
    target.refresh_from_db()
    assert not target.is_active and not accounts.pending_changes().exists()


def test_system_admin_cannot_take_over_an_archivist_by_resetting_the_password(
    client: Client, site: Site
) -> None:
    """The system administrator may read no records; a password they set alone would let them
    sign in as a cleared archivist and read what the archivist reads."""
    target = site.users["reader"]
    client.force_login(site.users["system_admin"])
    client.post(reverse("web:user_password", args=[target.pk]), {"password": NEW, "password2": NEW})
    target.refresh_from_db()
    assert not target.check_password(NEW)
    change = accounts.pending_changes().get()
    c = Client()
    c.force_login(site.users["security_admin"])
    c.post(reverse("web:account_change_decide", args=[change.pk]), {"decision": "confirm"})
    target.refresh_from_db()
    assert target.check_password(NEW)


def test_disabling_ends_sessions_and_tokens_for_good(client: Client, site: Site) -> None:
    from lantai.core.api_auth import issue_token

    target = site.users["reader"]
    session = Client()
    session.force_login(target)
    token = issue_token(target, "script")
    bearer = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    assert session.get(reverse("web:home")).status_code == 200
    assert Client().get("/api/repositories", **bearer).status_code == 200
    client.force_login(site.users["system_admin"])
    client.post(reverse("web:user_active", args=[target.pk]), {"active": "0"})
    client.post(reverse("web:user_active", args=[target.pk]), {"active": "1"})
    target.refresh_from_db()
    assert target.is_active
    assert session.get(reverse("web:home")).status_code == 302  # signed out for good
    assert Client().get("/api/repositories", **bearer).status_code == 401


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


# --- points 10 and 18: an import's created 档号 are archival content -----------------------------
def _import_with_a_secret_row(tmp_path: Any, site: Site) -> Any:
    """53 records in 53 runs (odd serial numbers), the first one 秘密, imported at the console."""
    from lantai.catalog import importing

    header = "档号,责任者,题名,日期,密级,保管期限,年度\n"
    lines = [
        f"Z109-WS·2011-Y-BGS-{n:04d},某某办公室,关于第{n}项工作的通知,20110315,"
        f"{'秘密' if n == 1 else '公开'},永久,2011"
        for n in range(1, 107, 2)
    ]
    path = tmp_path / "目录.csv"
    path.write_text(header + "\n".join(lines) + "\n", encoding="utf-8")
    result = importing.import_file(path, site.category)
    assert result.rows_imported == 53, result.as_dict()
    return result


def _audit_page_and_csv(client: Client) -> tuple[str, str]:
    page = text(client.get(reverse("web:audit"), {"action": "import"}))
    export = client.get(reverse("web:audit_export"), {"action": "import"})
    return page, export.getvalue().decode("utf-8-sig")


def test_an_import_shows_its_created_codes_only_to_a_viewer_cleared_for_the_batch(
    client: Client, site: Site, tmp_path: Any
) -> None:
    _import_with_a_secret_row(tmp_path, site)
    # the auditor (clearance 公开, no scope): the count of runs, not the 档号
    client.force_login(site.users["audit_admin"])
    for body in _audit_page_and_csv(client):
        assert "Z109-WS·2011" not in body
        assert "已隐去" in body and "新建档号段数：53" in body.replace("</b>", "")
    # a viewer whose scope holds the archives but whose clearance stops below 秘密: still sealed
    scoped = accounts.create_user("auditor3", role="audit_admin", password=PASSWORD, clearance=1)
    scoped.repositories.set([site.repository])
    client.force_login(scoped)
    for body in _audit_page_and_csv(client):
        assert "Z109-WS·2011" not in body
    # cleared for 秘密 with the archives in scope: the runs, at most 50, and how many are left out
    scoped.clearance = 2
    scoped.save(update_fields=["clearance"])
    client.force_login(scoped)
    for body in _audit_page_and_csv(client):
        assert "Z109-WS·2011-Y-BGS-0001" in body and "Z109-WS·2011-Y-BGS-0099" in body
        assert "Z109-WS·2011-Y-BGS-0101" not in body  # run 51 is beyond the 50 in the entry
        assert "……另有 3 段" in body
    # cleared for every level with every repository in scope
    top = accounts.create_user(
        "auditor4", role="audit_admin", password=PASSWORD, clearance=4, scope_all=True
    )
    client.force_login(top)
    page, export = _audit_page_and_csv(client)
    assert "Z109-WS·2011-Y-BGS-0001" in page and "Z109-WS·2011-Y-BGS-0001" in export
    assert audit.verify().ok


def test_import_and_other_entries_read_in_chinese(
    client: Client, site: Site, tmp_path: Any
) -> None:
    _import_with_a_secret_row(tmp_path, site)
    audit.record("transfer_accept_refused", "transfer", "7", {
        "version": 1, "rule": "fonds_outside_submitter_scope", "submitter": "zhangsan",
        "codes": ["J099-WS·2011-Y-BGS-0001"],
    })  # fmt: skip
    audit.record(
        "access_request_accept", "access_request", "CD1", {"from": "submitted", "to": "accepted"}
    )
    audit.record(
        "access_request_submit", "access_request", "CD1", {"purpose": "research", "records": [1]}
    )
    audit.record(
        "create", "repository", "9", {"code": "620000", "name": "某省档案馆", "level": "provincial"}
    )
    client.force_login(site.users["audit_admin"])
    body = text(client.get(reverse("web:audit")))
    for raw in (
        "rows_total", "imported", "valid_rows_only", "created_sm3", "created_runs", "provincial",
        "repository_id", "fonds_outside_submitter_scope", "submitter", "research", "submitted",
        "default_classification",
    ):  # fmt: skip
        assert raw not in body, raw
    assert "J099-WS" not in body  # a refused transfer's 档号: archival content, sealed
    for label in ("总行数", "新建档号段数", "省级", "学术研究", "已提交", "移交人"):
        assert label in body, label
