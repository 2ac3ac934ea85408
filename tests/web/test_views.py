"""The staff web UI through Django's test client: permissions, editing, paging, language, import,
export, the audit log and sign-in lockout."""

from __future__ import annotations

import csv
import io
import re
from typing import Any
from urllib.parse import unquote

import pytest
from django.test import Client
from django.urls import reverse

from lantai.catalog import services
from lantai.catalog.models import ImportBatch, Record
from lantai.core import accounts
from lantai.core.models import AuditEntry, User

from .conftest import PASSWORD, Site

pytestmark = pytest.mark.django_db


def login(client: Client, user: Any) -> Client:
    client.force_login(user)
    return client


def text(response: Any) -> str:
    return response.content.decode("utf-8")


# --- permissions ----------------------------------------------------------------------------------
def test_anonymous_is_sent_to_sign_in(client: Client, site: Site) -> None:
    response = client.get(reverse("web:browse"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("web:login"))


def test_archivist_without_scope_sees_no_fonds(client: Client, site: Site) -> None:
    login(client, site.users["noscope"])
    home = text(client.get(reverse("web:home")))
    assert "Z109" not in home
    assert "没有可查阅的全宗" in home
    assert client.get(reverse("web:fonds", args=[site.fonds.pk])).status_code == 404
    assert client.get(reverse("web:records", args=[site.category.pk])).status_code == 404
    assert client.get(reverse("web:record", args=[site.records[0].pk])).status_code == 404


def test_archivist_with_scope_sees_the_fonds_tree_with_counts(client: Client, site: Site) -> None:
    login(client, site.users["cataloguer"])
    home = text(client.get(reverse("web:home")))
    assert "Z109" in home and "兰州市档案局" in home and "J019" in home
    row = re.search(r"Z109</a></td>.*?<td class=\"num\">(\d+)</td>", home, re.S)
    assert row and row.group(1) == "6"
    years = text(client.get(reverse("web:category", args=[site.category.pk])))
    assert "2022" in years and "2023" in years


def test_audit_admin_reads_the_audit_log_but_not_the_archives(client: Client, site: Site) -> None:
    login(client, site.users["audit_admin"])
    browse = client.get(reverse("web:browse"))
    assert browse.status_code == 403
    assert "没有“查阅档案”权限" in text(browse)
    assert client.get(reverse("web:records", args=[site.category.pk])).status_code == 403
    log = client.get(reverse("web:audit"))
    assert log.status_code == 200
    assert "user_create" in text(log)
    # the home page is the audit administrator's work area
    assert client.get(reverse("web:home"))["Location"] == reverse("web:audit")


def test_cataloguer_cannot_read_the_audit_log_or_manage_users(client: Client, site: Site) -> None:
    login(client, site.users["cataloguer"])
    for name in ("web:audit", "web:users", "web:grants", "web:user_create"):
        response = client.get(reverse(name))
        assert response.status_code == 403, name
        assert "权限" in text(response)
    assert client.post(reverse("web:audit_verify")).status_code == 403


def test_system_admin_cannot_grant(client: Client, site: Site) -> None:
    target = site.users["noscope"]
    login(client, site.users["system_admin"])
    assert client.get(reverse("web:grants")).status_code == 403
    response = client.post(
        reverse("web:grant_edit", args=[target.pk]),
        {"role": "system_admin", "clearance": "4", "scope_all": "on"},
    )
    assert response.status_code == 403
    target.refresh_from_db()
    assert (target.role, target.clearance, target.scope_all) == ("cataloguer", 0, False)


def test_security_admin_cannot_create_users(client: Client, site: Site) -> None:
    login(client, site.users["security_admin"])
    assert client.get(reverse("web:users")).status_code == 403
    response = client.post(
        reverse("web:user_create"),
        {"username": "zhaoliu", "password": PASSWORD, "password2": PASSWORD},
    )
    assert response.status_code == 403
    assert not User.objects.filter(username="zhaoliu").exists()


def test_system_admin_creates_a_public_user_and_security_admin_grants_a_fonds(
    client: Client, site: Site
) -> None:
    login(client, site.users["system_admin"])
    response = client.post(
        reverse("web:user_create"),
        {
            "username": "zhaoliu",
            "display_name": "赵六",
            "password": PASSWORD,
            "password2": PASSWORD,
        },
    )
    assert response.status_code == 302
    new = User.objects.get(username="zhaoliu")
    assert new.role == "public"
    entry = AuditEntry.objects.filter(action="user_create").order_by("-seq").first()
    assert entry is not None and entry.actor == "sysadmin"

    weak = client.post(
        reverse("web:user_create"), {"username": "weak", "password": "123", "password2": "123"}
    )
    assert weak.status_code == 200 and not User.objects.filter(username="weak").exists()

    sec = login(Client(), site.users["security_admin"])
    response = sec.post(
        reverse("web:grant_edit", args=[new.pk]),
        {"role": "reading_room", "clearance": "1", "fonds": [str(site.fonds.pk)]},
    )
    assert response.status_code == 302
    new.refresh_from_db()
    assert (new.role, new.clearance) == ("reading_room", 1)
    assert list(new.fonds.values_list("code", flat=True)) == ["Z109"]
    home = text(login(Client(), new).get(reverse("web:home")))
    assert "Z109" in home and "J019" not in home


def test_security_admin_cannot_grant_themselves(client: Client, site: Site) -> None:
    me = site.users["security_admin"]
    login(client, me)
    response = client.post(
        reverse("web:grant_edit", args=[me.pk]), {"role": "cataloguer", "clearance": "0"}
    )
    assert response.status_code == 200
    assert "不能修改自己的角色或权限" in text(response)
    me.refresh_from_db()
    assert me.role == "security_admin"


def test_system_admin_disables_and_resets(client: Client, site: Site) -> None:
    target = site.users["reader"]
    login(client, site.users["system_admin"])
    client.post(reverse("web:user_active", args=[target.pk]), {"active": "0"})
    target.refresh_from_db()
    assert not target.is_active
    client.post(
        reverse("web:user_password", args=[target.pk]),
        {"password": "New#Password2025", "password2": "New#Password2025"},
    )
    target.refresh_from_db()
    assert not target.check_password("New#Password2025")  # proposed: a second administrator
    assert accounts.pending_changes().get().target == target  # confirms it (decision 0023)


# --- records ---------------------------------------------------------------------------------------
def _form_of(record: Record, **changes: str) -> dict[str, str]:
    data = {
        "reference_code": record.reference_code,
        "title": record.title,
        "author": record.author,
        "document_number": record.document_number,
        "date": record.date.isoformat() if record.date else "",
        "year": str(record.year or ""),
        "retention": record.retention,
        "classification": record.classification,
        "open_status": record.open_status,
        "org_code": record.org_code,
        "pages": "",
        "remarks": "",
        "secrecy_period": "",
        "keywords": "",
    }
    data.update(changes)
    return data


def test_edit_with_a_bad_date_shows_the_chinese_message_and_saves_nothing(
    client: Client, site: Site
) -> None:
    record = site.records[0]
    before = (record.title, record.date)
    login(client, site.users["cataloguer"])
    response = client.post(
        reverse("web:record_edit", args=[record.pk]),
        _form_of(record, title="改过的题名", date="2022-02-30"),
    )
    assert response.status_code == 400
    body = text(response)
    assert "不是存在的日期" in body and "2月没有30日" in body
    assert "未保存" in body
    record.refresh_from_db()
    assert (record.title, record.date) == before


def test_edit_in_english_shows_the_english_message(client: Client, site: Site) -> None:
    record = site.records[0]
    login(client, site.users["cataloguer"])
    client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    response = client.post(
        reverse("web:record_edit", args=[record.pk]), _form_of(record, year="22")
    )
    assert response.status_code == 400
    assert "Year must be 4 digits" in text(response)


def test_edit_saves_and_is_audited_as_the_user(client: Client, site: Site) -> None:
    record = site.records[0]
    login(client, site.users["cataloguer"])
    response = client.post(
        reverse("web:record_edit", args=[record.pk]), _form_of(record, title="关于档案工作的新通知")
    )
    assert response.status_code == 302 and response["Location"] == reverse(
        "web:record", args=[record.pk]
    )
    record.refresh_from_db()
    assert record.title == "关于档案工作的新通知"
    entry = (
        AuditEntry.objects.filter(action="update", target_type="record").order_by("-seq").first()
    )
    assert entry is not None and entry.actor == "zhangsan"
    detail = text(client.get(response["Location"]))
    assert "已保存档案" in detail and "关于档案工作的新通知" in detail
    assert "到期开放日期" in detail and "2047-01-15" in detail


def test_only_editors_see_the_edit_button(client: Client, site: Site) -> None:
    record = site.records[0]
    url = reverse("web:record", args=[record.pk])
    edit = reverse("web:record_edit", args=[record.pk])
    assert edit in text(login(client, site.users["cataloguer"]).get(url))
    reader = login(Client(), site.users["reader"])
    assert edit not in text(reader.get(url))
    assert reader.get(edit).status_code == 403


def test_create_a_record_in_a_category(client: Client, site: Site) -> None:
    login(client, site.users["cataloguer"])
    response = client.post(
        reverse("web:record_create", args=[site.category.pk]),
        {
            "title": "新建的档案",
            "author": "兰州市档案局",
            "date": "2023年5月6日",
            "year": "2023",
            "retention": "D30",
            "classification": "public",
            "open_status": "closed",
            "org_code": "BGS",
            "item_number": "9",
        },
    )
    assert response.status_code == 302, text(response)
    record = Record.objects.get(title="新建的档案")
    assert record.reference_code == "Z109-WS·2023-D30-BGS-0009"


def test_keyset_pagination_returns_the_next_page_without_overlap(
    client: Client, site: Site
) -> None:
    for n in range(1, 56):
        record, issues = services.save_record(
            site.category,
            {"title": f"第{n}件", "author": "某局", "year": "2024", "date": "20240102", "retention": "D10",
             "org_code": "BGS", "item_number": str(n)},
        )  # fmt: skip
        assert record is not None, issues
    login(client, site.users["cataloguer"])
    url = reverse("web:records", args=[site.category.pk])
    codes = re.compile(r'<td class="code"><a href="/records/\d+/">([^<]+)</a>')
    first = text(client.get(url, {"year": "2024"}))
    page1 = codes.findall(first)
    assert len(page1) == 50 and "下一页" in first and "第一页" not in first
    next_href = re.search(r'href="\?([^"]+)" rel="next"', first)
    assert next_href
    second = text(client.get(url + "?" + next_href.group(1).replace("&amp;", "&")))
    page2 = codes.findall(second)
    assert len(page2) == 5 and "下一页" not in second and "第一页" in second
    assert not set(page1) & set(page2)
    assert sorted(page1 + page2) == page1 + page2
    assert len(set(page1 + page2)) == 55


def test_filters_narrow_the_list(client: Client, site: Site) -> None:
    login(client, site.users["cataloguer"])
    url = reverse("web:records", args=[site.category.pk])
    body = text(client.get(url, {"document_number": "〔2023〕2号"}))
    assert "兰档发〔2023〕2号" in body and "兰档发〔2022〕2号" not in body


# --- language, security headers, sign-in --------------------------------------------------------
def test_language_switch_to_english(client: Client, site: Site) -> None:
    login(client, site.users["cataloguer"])
    assert "浏览档案" in text(client.get(reverse("web:home")))
    response = client.post("/i18n/setlang/", {"language": "en", "next": reverse("web:home")})
    assert response.status_code == 302
    body = text(client.get(reverse("web:home")))
    assert "Browse records" in body and "Sign out" in body
    assert "浏览档案" not in body
    client.post("/i18n/setlang/", {"language": "zh-hans", "next": "/"})
    assert "浏览档案" in text(client.get(reverse("web:home")))


def test_csp_header_on_pages(client: Client, site: Site) -> None:
    for response in (
        client.get(reverse("web:login")),
        login(client, site.users["cataloguer"]).get("/"),
    ):
        csp = response["Content-Security-Policy"]
        assert "script-src 'self'" in csp and "style-src 'self'" in csp
    body = text(client.get("/"))
    assert "<script>" not in body and "style=" not in body


def test_sign_in_and_out(client: Client, site: Site) -> None:
    response = client.post(reverse("web:login"), {"username": "zhangsan", "password": PASSWORD})
    assert response.status_code == 302 and response["Location"] == reverse("web:home")
    assert "张三" in text(client.get("/"))
    assert client.post(reverse("web:logout")).status_code == 302
    assert client.get("/").status_code == 302


def test_login_lockout_after_five_failures(client: Client, site: Site) -> None:
    url = reverse("web:login")
    for _ in range(5):
        response = client.post(url, {"username": "zhangsan", "password": "wrong-password"})
        assert response.status_code == 200
        assert "用户名或密码不正确" in text(response)
    response = client.post(url, {"username": "zhangsan", "password": PASSWORD})
    assert response.status_code == 200
    # the same answer as a wrong password: the page does not tell that the account is blocked
    assert "用户名或密码不正确" in text(response)
    assert client.get("/").status_code == 302  # not signed in
    assert AuditEntry.objects.filter(action="login_blocked").exists()


# --- import wizard --------------------------------------------------------------------------------
CSV_ROWS = [
    ["序号", "题名", "责任者", "文号", "日期", "年度", "保管期限", "机构（问题）", "件号", "密级"],
    ["1", "关于开展档案安全检查的通知", "兰州市档案局", "兰档发〔2021〕1号", "20210301", "2021", "永久", "BGS", "1", "公开"],
    ["2", "关于印发工作要点的通知", "兰州市档案局", "兰档发〔2021〕2号", "2021-13-05", "2021", "永久", "BGS", "2", "公开"],
    ["3", "年度工作总结", "兰州市档案局", "", "20211220", "2021", "定期30年", "BGS", "3", ""],
]  # fmt: skip


def csv_bytes(rows: list[list[str]], encoding: str) -> bytes:
    buf = io.StringIO()
    csv.writer(buf).writerows(rows)
    return buf.getvalue().encode(encoding)


def upload(client: Client, site: Site, data: bytes, name: str) -> str:
    from django.core.files.uploadedfile import SimpleUploadedFile

    response = client.post(
        reverse("web:import_upload"),
        {"category": str(site.category.pk), "file": SimpleUploadedFile(name, data)},
    )
    assert response.status_code == 302, text(response)
    match = re.search(r"/import/([0-9a-f]{32})/mapping/", response["Location"])
    assert match
    return match.group(1)


def map_columns(client: Client, token: str) -> str:
    page = text(client.get(reverse("web:import_mapping", args=[token])))
    # pre-filled from the headers: the 题名 column is mapped to title
    assert re.search(r'<option value="title" selected>', page)
    selected = dict(re.findall(r'name="(col_\d+)".*?<option value="(\w*)" selected', page, re.S))
    # row 3 has a blank 密级: the archivist chooses 公开 for such rows of this file
    selected["default_classification"] = "public"
    response = client.post(reverse("web:import_mapping", args=[token]), selected)
    assert response.status_code == 302, text(response)
    return text(client.get(response["Location"]))


@pytest.mark.parametrize("encoding", ["utf-8", "gb18030"])
def test_import_with_one_bad_row_reports_it_and_imports_nothing(
    client: Client, site: Site, encoding: str
) -> None:
    login(client, site.users["cataloguer"])
    before = Record.objects.count()
    token = upload(client, site, csv_bytes(CSV_ROWS, encoding), f"目录-{encoding}.csv")
    preview = map_columns(client, token)
    assert "关于开展档案安全检查的通知" in preview  # GB18030 decoded correctly
    assert "row-bad" in preview and "2021-13-05" in preview and "没有13月" in preview
    response = client.post(reverse("web:import_run", args=[token]))
    assert response.status_code == 302
    result = text(client.get(response["Location"]))
    assert "已拒绝" in result and "未导入任何行" in result
    assert re.search(r'<td class="num">3</td><td>日期</td>', result)
    assert "没有13月" in result
    assert Record.objects.count() == before
    batch = ImportBatch.objects.get()
    assert (batch.status, batch.rows_total, batch.rows_rejected) == ("rejected", 3, 1)
    assert batch.file_name == f"目录-{encoding}.csv"
    report = client.get(reverse("web:import_errors", args=[batch.pk]))
    rows = list(csv.reader(io.StringIO(report.content.decode("utf-8-sig"))))
    assert rows[0] == ["行", "列", "规则", "值", "说明"] and rows[1][:2] == ["3", "日期"]
    assert "filename*=utf-8''" in report["Content-Disposition"]


def test_import_valid_rows_only(client: Client, site: Site) -> None:
    login(client, site.users["cataloguer"])
    token = upload(client, site, csv_bytes(CSV_ROWS, "utf-8"), "目录.csv")
    map_columns(client, token)
    response = client.post(reverse("web:import_run", args=[token]), {"valid_rows_only": "on"})
    result = text(client.get(response["Location"]))
    assert "已导入" in result
    assert Record.objects.filter(year=2021).count() == 2
    assert Record.objects.filter(reference_code="Z109-WS·2021-Y-BGS-0001").exists()
    entry = AuditEntry.objects.filter(action="import").order_by("-seq").first()
    assert entry is not None and entry.actor == "zhangsan"
    assert "目录.csv" in text(client.get(reverse("web:imports")))


def test_large_import_runs_as_a_job_with_progress(
    client: Client, site: Site, settings: Any
) -> None:
    settings.IMPORT_JOB_THRESHOLD_BYTES = 10
    good = [r for i, r in enumerate(CSV_ROWS) if i != 2]
    login(client, site.users["cataloguer"])
    token = upload(client, site, csv_bytes(good, "utf-8"), "大目录.csv")
    assert "后台任务" in map_columns(client, token)
    response = client.post(reverse("web:import_run", args=[token]))
    batch = ImportBatch.objects.get()
    assert response["Location"] == reverse("web:import_result", args=[batch.pk])
    progress = client.get(reverse("web:import_progress", args=[batch.pk])).json()
    assert progress["status"] == "imported" and progress["done"] is True and progress["rows"] == 2
    assert Record.objects.filter(year=2021).count() == 2


def test_upload_of_an_unreadable_file_says_why(client: Client, site: Site) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    login(client, site.users["cataloguer"])
    for name, data, message in (
        ("old.xls", b"\xd0\xcf\x11\xe0", "另存为 .xlsx"),
        ("notes.pdf", b"%PDF", "不支持的文件类型"),
        ("empty.csv", "甲,乙\n1,2\n".encode(), "找不到表头"),
    ):
        response = client.post(
            reverse("web:import_upload"),
            {"category": str(site.category.pk), "file": SimpleUploadedFile(name, data)},
        )
        assert response.status_code == 200
        assert message in text(response), name


def test_mapping_requires_a_title_column(client: Client, site: Site) -> None:
    login(client, site.users["cataloguer"])
    token = upload(client, site, csv_bytes(CSV_ROWS, "utf-8"), "目录.csv")
    response = client.post(reverse("web:import_mapping", args=[token]), {"col_0": "sequence"})
    assert response.status_code == 200
    assert "必须有一列映射到“题名”" in text(response)


def test_reader_cannot_import(client: Client, site: Site) -> None:
    login(client, site.users["reader"])
    assert client.get(reverse("web:import_upload")).status_code == 403


# --- export ---------------------------------------------------------------------------------------
def test_export_xlsx_and_gb18030_csv(client: Client, site: Site) -> None:
    import openpyxl

    login(client, site.users["cataloguer"])
    url = reverse("web:export", args=[site.category.pk])
    response = client.get(url, {"format": "xlsx", "year": "2023"})
    assert response.status_code == 200
    disposition = unquote(response["Content-Disposition"])
    assert "Z109-WS-2023-归档文件目录.xlsx" in disposition
    wb = openpyxl.load_workbook(io.BytesIO(b"".join(response.streaming_content)))
    rows = list(wb.worksheets[0].iter_rows(values_only=True))
    assert rows[0][1] == "档号" and len(rows) == 4

    response = client.get(url, {"format": "csv-gb18030", "title": "第2号"})
    data = b"".join(response.streaming_content).decode("gb18030")
    lines = list(csv.reader(io.StringIO(data)))
    assert len(lines) == 3 and all("第2号" in line[4] for line in lines[1:])


def test_export_needs_the_export_permission(client: Client, site: Site) -> None:
    login(client, site.users["noscope"])
    assert client.get(reverse("web:export", args=[site.category.pk])).status_code == 404
    login(client, site.users["audit_admin"])
    assert client.get(reverse("web:export", args=[site.category.pk])).status_code == 403


# --- audit log ------------------------------------------------------------------------------------
def test_audit_log_filters_pages_and_verifies(client: Client, site: Site) -> None:
    login(client, site.users["audit_admin"])
    body = text(client.get(reverse("web:audit"), {"action": "user_create"}))
    assert body.count('data-action="user_create"') == 6
    assert 'data-action="create"' not in body
    verified = text(client.post(reverse("web:audit_verify")))
    assert "审计链完整" in verified
    AuditEntry.objects.filter(seq=2).update(actor="someone-else")
    broken = text(client.post(reverse("web:audit_verify")))
    assert "审计链已损坏" in broken and "第 2 条" in broken


def test_audit_log_keyset_pages(client: Client, site: Site) -> None:
    from lantai.core import audit

    for n in range(60):
        audit.record("test_event", "thing", n, {"n": n}, actor="tester")
    login(client, site.users["audit_admin"])
    seqs = re.compile(r'<tr>\s*<td class="num">(\d+)</td>')
    first = text(client.get(reverse("web:audit")))
    page1 = [int(s) for s in seqs.findall(first)]
    assert page1 == sorted(page1, reverse=True) and len(page1) == 50
    nxt = re.search(r'href="\?([^"]+)" rel="next"', first)
    assert nxt
    page2 = [
        int(s) for s in seqs.findall(text(client.get(reverse("web:audit") + "?" + nxt.group(1))))
    ]
    assert page2 and max(page2) < min(page1)
