"""The REST API (/api/): authentication, the same permissions as the UI, records, imports."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone

from lantai.catalog import services
from lantai.catalog.models import Category, ImportBatch, Record
from lantai.core import accounts
from lantai.core.api_auth import issue_token
from lantai.core.models import ApiToken, AuditEntry, User
from lantai.core.sm3 import sm3_hex

PASSWORD = "Qx7!mZ9#kLp2"
HEADER = "序号,档号,文号,责任者,题名,日期,密级,页数,备注,保管期限,年度\n"
GOOD_ROWS = [
    "1,Z109-WS·2012-Y-BGS-0001,岭府办发〔2012〕1号,岭南省人民政府办公厅,关于印发工作要点的通知,20120315,公开,4,,永久,2012",
    "3,Z109-WS·2012-Y-BGS-0003,岭府办函〔2012〕7号,岭南省人民政府办公厅,关于同意设立学会的批复,2012年4月2日,公开,1,,永久,2012",
]
BAD_ROW = (
    "2,Z109-WS·2012-Y-BGS-0002,,岭南省人民政府办公厅,日期不存在的文件,20120230,公开,2,,永久,2012"
)


@pytest.fixture(autouse=True)
def _fast_passwords(settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@dataclass
class World:
    repo_a: Any
    repo_b: Any
    ws_a: Category  # Z109-WS in the provincial archives (A)
    ws_b: Category  # C001-WS in a city archives (B)
    public: Record
    secret: Record  # 秘密 (confidential, level 2)
    other: Record  # in repository B
    zhang: User  # cataloguer, repository A, clearance 2
    low: User  # cataloguer, repository A, clearance 0
    li: User  # cataloguer, repository B
    auditor: User  # audit administrator
    reader: User  # reviewer (view only), repository A, clearance 2


def make_user(username: str, role: str, *, clearance: int = 0, repos: list[Any] = ()) -> User:
    user = accounts.create_user(username, role=role, password=PASSWORD, clearance=clearance)
    accounts.grant(user, actor=None, repository_ids=[r.pk for r in repos])
    return User.objects.get(pk=user.pk)


def add_record(cat: Category, number: int, title: str, *, classification: str = "公开") -> Record:
    fonds = cat.fonds.code
    record, issues = services.save_record(
        cat,
        {
            "reference_code": f"{fonds}-WS·2011-Y-BGS-{number:04d}",
            "title": title,
            "author": "岭南省人民政府办公厅",
            "date": f"2011-03-{number % 28 + 1:02d}",
            "year": 2011,
            "retention": "永久",
            "classification": classification,
            "pages": 2,
        },
    )
    assert record is not None, issues
    return record


@pytest.fixture
def world(db: None) -> World:
    repo_a = services.default_repository()
    repo_b = services.create_repository("441900", "岭东市档案馆", level="city")
    ws_a = services.create_category(services.create_fonds("Z109", "岭南省人民政府办公厅"), "WS")
    fonds_b = services.create_fonds("C001", "岭东市人民政府办公室", repository=repo_b)
    ws_b = services.create_category(fonds_b, "WS")
    public = add_record(ws_a, 1, "关于做好春季森林防火工作的通知")
    secret = add_record(ws_a, 2, "关于边境防务工作的报告", classification="限制")
    # 秘密 set directly: the DA/T 46 profile currently rejects the stored code "confidential"
    # (12 characters) against the 10-character limit of M38, so save_record refuses 秘密.
    Record.objects.filter(pk=secret.pk).update(
        classification="confidential", classification_level=2
    )
    secret.refresh_from_db()
    other = add_record(ws_b, 1, "岭东市关于城市规划的请示")
    return World(
        repo_a=repo_a,
        repo_b=repo_b,
        ws_a=ws_a,
        ws_b=ws_b,
        public=public,
        secret=secret,
        other=other,
        zhang=make_user("zhang", "cataloguer", clearance=2, repos=[repo_a]),
        low=make_user("low", "cataloguer", clearance=0, repos=[repo_a]),
        li=make_user("li", "cataloguer", clearance=2, repos=[repo_b]),
        auditor=make_user("auditor", "audit_admin"),
        reader=make_user("reader", "reviewer", clearance=2, repos=[repo_a]),
    )


def client_for(user: User) -> Client:
    return Client(HTTP_AUTHORIZATION=f"Bearer {issue_token(user, 'test')}")


def send_json(client: Client, method: str, url: str, body: dict[str, Any], **extra: Any) -> Any:
    return getattr(client, method)(
        url, data=json.dumps(body), content_type="application/json", **extra
    )


# --- documentation and authentication ------------------------------------------------------------
def test_openapi_lists_the_endpoints_and_docs_page_renders(world: World) -> None:
    client = Client()
    client.force_login(world.zhang)  # the staff API documents itself to staff only
    schema = client.get("/api/openapi.json").json()
    paths = schema["paths"]
    for path, methods in {
        "/api/repositories": {"get"},
        "/api/fonds": {"get", "post"},
        "/api/fonds/{fonds_id}": {"get"},
        "/api/fonds/{fonds_id}/categories": {"get", "post"},
        "/api/categories/{category_id}/years": {"get"},
        "/api/records": {"get", "post"},
        "/api/records/{record_id}": {"get", "patch", "delete"},
        "/api/imports": {"post"},
        "/api/imports/{batch_id}": {"get"},
    }.items():
        assert methods <= set(paths[path]), path
    assert {"bearer"} <= {s.get("scheme") for s in schema["components"]["securitySchemes"].values()}
    docs = client.get("/api/docs")
    assert docs.status_code == 200
    assert b"openapi.json" in docs.content


def test_token_auth_and_anonymous_or_bad_token_get_401(world: World) -> None:
    token = issue_token(world.zhang, "ci")
    stored = ApiToken.objects.get(user=world.zhang, name="ci")
    assert stored.digest == sm3_hex(token.encode()) and token not in stored.digest
    assert AuditEntry.objects.filter(
        action="api_token_issue", target_id=str(world.zhang.pk)
    ).exists()

    ok = Client(HTTP_AUTHORIZATION=f"Bearer {token}").get("/api/fonds")
    assert ok.status_code == 200
    assert [f["code"] for f in ok.json()] == ["Z109"]
    stored.refresh_from_db()
    assert stored.last_used_at is not None

    anonymous = Client().get("/api/fonds")
    assert anonymous.status_code == 401
    assert (
        "未登录" in anonymous.json()["detail"]
        and "Not authenticated" in anonymous.json()["detail_en"]
    )
    assert Client(HTTP_AUTHORIZATION="Bearer lt_not-a-token").get("/api/fonds").status_code == 401
    assert (
        Client().post("/api/records", data={}, content_type="application/json").status_code == 401
    )


def test_token_of_disabled_user_is_refused_but_a_sign_in_lock_leaves_it(world: World) -> None:
    token = issue_token(world.zhang, "ci")
    client = Client(HTTP_AUTHORIZATION=f"Bearer {token}")
    assert client.get("/api/repositories").status_code == 200
    User.objects.filter(pk=world.zhang.pk).update(
        locked_until=timezone.now() + timezone.timedelta(minutes=5)
    )
    assert client.get("/api/repositories").status_code == 200  # the lock is about the login form
    User.objects.filter(pk=world.zhang.pk).update(locked_until=None, is_active=False)
    assert client.get("/api/repositories").status_code == 401


def test_session_auth_needs_csrf_for_writes(world: World) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(world.zhang)
    assert client.get(f"/api/records/{world.public.pk}").status_code == 200
    response = send_json(client, "patch", f"/api/records/{world.public.pk}", {"title": "改题名"})
    assert response.status_code == 403
    assert Record.objects.get(pk=world.public.pk).title == world.public.title
    # With the CSRF cookie and the matching header, as the browser UI sends them, it goes through.
    csrf = "LantaiApiCsrfTestToken0123456789"  # 32 letters and digits, as Django expects
    client.cookies["csrftoken"] = csrf
    response = send_json(
        client,
        "patch",
        f"/api/records/{world.public.pk}",
        {"title": "改题名"},
        HTTP_X_CSRFTOKEN=csrf,
    )
    assert response.status_code == 200, response.content
    assert response.json()["title"] == "改题名"


# --- the same permissions as the UI ---------------------------------------------------------------
def test_user_scoped_to_one_repository_sees_nothing_of_another(world: World) -> None:
    zhang = client_for(world.zhang)
    fonds_b = world.ws_b.fonds
    assert [r["code"] for r in zhang.get("/api/repositories").json()] == [world.repo_a.code]
    assert [f["code"] for f in zhang.get("/api/fonds").json()] == ["Z109"]
    assert zhang.get(f"/api/fonds?repository={world.repo_b.code}").json() == []
    assert zhang.get(f"/api/fonds/{fonds_b.pk}").status_code == 404
    assert zhang.get(f"/api/fonds/{fonds_b.pk}/categories").status_code == 404
    assert zhang.get(f"/api/categories/{world.ws_b.pk}/years").status_code == 404
    assert zhang.get(f"/api/records/{world.other.pk}").status_code == 404
    assert zhang.get(f"/api/records?fonds={fonds_b.pk}").status_code == 404
    codes = [r["reference_code"] for r in zhang.get("/api/records").json()["items"]]
    assert world.other.reference_code not in codes and world.public.reference_code in codes
    # Writes to the other repository are refused the same way, and change nothing.
    assert (
        send_json(zhang, "patch", f"/api/records/{world.other.pk}", {"title": "x"}).status_code
        == 404
    )
    assert zhang.delete(f"/api/records/{world.other.pk}").status_code == 404
    body = {
        "category": world.ws_b.pk,
        "title": "越权新增",
        "reference_code": "C001-WS·2011-Y-BGS-0009",
    }
    assert send_json(zhang, "post", "/api/records", body).status_code == 404
    response = send_json(
        zhang, "post", "/api/fonds", {"code": "C002", "name": "x", "repository": world.repo_b.code}
    )
    assert response.status_code == 403
    assert Record.objects.filter(pk=world.other.pk, title=world.other.title).exists()
    # ...while the city archivist sees exactly the city's records.
    li = client_for(world.li)
    assert [r["reference_code"] for r in li.get("/api/records").json()["items"]] == [
        world.other.reference_code
    ]


def test_clearance_hides_classified_records(world: World) -> None:
    low, zhang = client_for(world.low), client_for(world.zhang)
    assert low.get(f"/api/records/{world.secret.pk}").status_code == 404
    assert world.secret.reference_code not in [
        r["reference_code"] for r in low.get("/api/records").json()["items"]
    ]
    assert low.get("/api/records?title=边境").json()["items"] == []
    seen = zhang.get(f"/api/records/{world.secret.pk}")
    assert seen.status_code == 200 and seen.json()["classification"] == "confidential"


def test_audit_administrator_gets_403_on_records(world: World) -> None:
    auditor = client_for(world.auditor)
    for url in (
        "/api/records",
        f"/api/records/{world.public.pk}",
        "/api/fonds",
        "/api/repositories",
    ):
        response = auditor.get(url)
        assert response.status_code == 403, url
        assert "无此权限" in response.json()["detail"]
    response = send_json(auditor, "post", "/api/records", {"category": world.ws_a.pk, "title": "x"})
    assert response.status_code == 403


def test_view_only_role_cannot_write(world: World) -> None:
    reader = client_for(world.reader)
    assert reader.get(f"/api/records/{world.public.pk}").status_code == 200
    assert (
        send_json(reader, "patch", f"/api/records/{world.public.pk}", {"title": "x"}).status_code
        == 403
    )
    assert reader.delete(f"/api/records/{world.public.pk}").status_code == 403
    assert send_json(reader, "post", "/api/fonds", {"code": "Z200", "name": "x"}).status_code == 403
    assert Record.objects.filter(pk=world.public.pk).exists()


# --- structure -------------------------------------------------------------------------------------
def test_create_fonds_and_category_then_list_years(world: World) -> None:
    zhang = client_for(world.zhang)
    response = send_json(zhang, "post", "/api/fonds", {"code": "z200", "name": "岭南省教育厅"})
    assert response.status_code == 201, response.content
    fonds = response.json()
    assert (fonds["code"], fonds["repository"], fonds["creator"]) == (
        "Z200",
        world.repo_a.code,
        "岭南省教育厅",
    )
    bad = send_json(zhang, "post", "/api/fonds", {"code": "Z-2", "name": "x"})
    assert (
        bad.status_code == 422
        and bad.json()["field"] == "code"
        and "全宗号" in bad.json()["detail"]
    )

    response = send_json(zhang, "post", f"/api/fonds/{fonds['id']}/categories", {"code": "ws"})
    assert response.status_code == 201, response.content
    assert (response.json()["code"], response.json()["name"], response.json()["fonds"]) == (
        "WS",
        "文书",
        "Z200",
    )
    assert [c["code"] for c in zhang.get(f"/api/fonds/{fonds['id']}/categories").json()] == ["WS"]
    unknown = send_json(zhang, "post", f"/api/fonds/{fonds['id']}/categories", {"code": "XX"})
    assert unknown.status_code == 422 and unknown.json()["field"] == "code"

    assert zhang.get(f"/api/categories/{world.ws_a.pk}/years").json() == [
        {"year": 2011, "count": 2}
    ]
    assert AuditEntry.objects.filter(action="create", target_type="fonds", actor="zhang").exists()


# --- records ---------------------------------------------------------------------------------------
def test_create_record_with_bad_code_names_field_and_rule(world: World) -> None:
    zhang = client_for(world.zhang)
    body = {
        "category": world.ws_a.pk,
        "reference_code": "Z109-WS·2011-Q-BGS-0010",  # Q is no retention code
        "title": "关于召开全省档案工作会议的通知",
        "author": "岭南省档案局",
        "date": "2011-06-01",
        "retention": "永久",
    }
    response = send_json(zhang, "post", "/api/records", body)
    assert response.status_code == 422
    issues = response.json()["issues"]
    issue = next(i for i in issues if i["field"] == "reference_code")
    assert issue["rule"] == "code_rule" and issue["value"] == body["reference_code"]
    assert any("\u4e00" <= ch <= "\u9fff" for ch in issue["message"])
    english = send_json(zhang, "post", "/api/records", body, HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9")
    message_en = next(i for i in english.json()["issues"] if i["field"] == "reference_code")[
        "message"
    ]
    assert message_en != issue["message"] and not any(
        "\u4e00" <= ch <= "\u9fff" for ch in message_en
    )
    assert not Record.objects.filter(title=body["title"]).exists()

    body["reference_code"] = "Z109-WS·2011-Y-BGS-0010"
    created = send_json(zhang, "post", "/api/records", body)
    assert created.status_code == 201, created.content
    data = created.json()
    assert (data["fonds"], data["category"], data["retention"], data["year"]) == (
        "Z109",
        "WS",
        "Y",
        2011,
    )
    assert data["open_due_date"] == "2036-06-01"
    entry = AuditEntry.objects.filter(
        action="create", target_type="record", target_id=str(data["id"])
    ).get()
    assert entry.actor == "zhang"


def test_patch_changes_title_and_is_audited_under_the_user(world: World) -> None:
    zhang = client_for(world.zhang)
    url = f"/api/records/{world.public.pk}"
    response = send_json(zhang, "patch", url, {"title": "关于做好森林防火工作的通知（修订）"})
    assert response.status_code == 200, response.content
    assert response.json()["title"] == "关于做好森林防火工作的通知（修订）"
    record = Record.objects.get(pk=world.public.pk)
    # Only the title changed: the other fields went through validation unchanged.
    assert (record.title, record.reference_code, record.retention, record.date, record.pages) == (
        "关于做好森林防火工作的通知（修订）",
        world.public.reference_code,
        world.public.retention,
        world.public.date,
        world.public.pages,
    )
    entry = AuditEntry.objects.filter(
        action="update", target_type="record", target_id=str(record.pk)
    ).get()
    assert entry.actor == "zhang"
    assert entry.detail["changes"] == {"title": [world.public.title, record.title]}
    # An invalid change is refused with the issues and changes nothing.
    bad = send_json(zhang, "patch", url, {"date": "2011-02-30"})
    assert bad.status_code == 422 and bad.json()["issues"][0]["field"] == "date"
    assert Record.objects.get(pk=record.pk).date == world.public.date


def test_delete_record_is_audited(world: World) -> None:
    zhang = client_for(world.zhang)
    assert zhang.delete(f"/api/records/{world.public.pk}").status_code == 204
    assert not Record.objects.filter(pk=world.public.pk).exists()
    assert zhang.get(f"/api/records/{world.public.pk}").status_code == 404
    entry = AuditEntry.objects.filter(
        action="delete", target_type="record", target_id=str(world.public.pk)
    ).get()
    assert entry.actor == "zhang"


def test_keyset_pages_do_not_overlap_and_cover_everything(world: World) -> None:
    for n in range(3, 26):
        add_record(world.ws_a, n, f"批量文件{n}")
    expected = list(
        Record.objects.filter(category=world.ws_a)
        .order_by("reference_code")
        .values_list("reference_code", flat=True)
    )
    zhang = client_for(world.zhang)
    seen: list[str] = []
    url = f"/api/records?category={world.ws_a.pk}&limit=7"
    pages = 0
    while url:
        page = zhang.get(url).json()
        codes = [r["reference_code"] for r in page["items"]]
        assert not set(codes) & set(seen)
        seen += codes
        pages += 1
        nxt = page["next"]
        url = (
            f"/api/records?category={world.ws_a.pk}&limit=7&after_code={nxt['after_code']}&after_id={nxt['after_id']}"
            if nxt
            else ""
        )
    assert seen == expected and len(expected) == 25 and pages == 4
    assert (
        zhang.get(f"/api/records?category={world.ws_a.pk}&title=批量文件1")
        .json()["items"][0]["title"]
        .startswith("批量文件1")
    )
    assert zhang.get("/api/records?limit=0").status_code == 422
    assert zhang.get("/api/records?after_code=x").status_code == 422


# --- imports ---------------------------------------------------------------------------------------
def upload(rows: list[str], name: str = "目录.csv") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, (HEADER + "\n".join(rows) + "\n").encode("utf-8"), "text/csv")


def test_import_with_bad_row_is_rejected_with_report(world: World, settings: Any) -> None:
    zhang = client_for(world.zhang)
    before = Record.objects.count()
    response = zhang.post(
        "/api/imports",
        {"file": upload([GOOD_ROWS[0], BAD_ROW, GOOD_ROWS[1]]), "category": world.ws_a.pk},
    )
    assert response.status_code == 201, response.content
    report = response.json()
    assert (
        report["status"],
        report["rows_total"],
        report["rows_imported"],
        report["rows_rejected"],
    ) == ("rejected", 3, 0, 1)
    error = report["errors"][0]
    assert (error["row"], error["column"], error["rule"], error["value"]) == (
        3,
        "日期",
        "date",
        "20120230",
    )
    assert Record.objects.count() == before
    assert report["file_name"] == "目录.csv" and len(report["file_sm3"]) == 64
    batch = ImportBatch.objects.get(pk=report["id"])
    assert batch.created_by == world.zhang and batch.file_path.startswith(str(settings.UPLOAD_DIR))
    assert "目录" not in batch.file_path  # stored under a random name
    assert zhang.get(f"/api/imports/{batch.pk}").json()["errors"] == report["errors"]
    assert AuditEntry.objects.filter(action="import_rejected", actor="zhang").exists()


def test_import_valid_rows_only_imports_the_good_rows(world: World) -> None:
    zhang = client_for(world.zhang)
    data = {
        "file": upload([GOOD_ROWS[0], BAD_ROW, GOOD_ROWS[1]]),
        "category": world.ws_a.pk,
        "valid_rows_only": "true",
    }
    report = zhang.post("/api/imports", data).json()
    assert (report["status"], report["rows_imported"], report["rows_rejected"]) == (
        "imported",
        2,
        1,
    )
    assert {e["row"] for e in report["errors"]} == {3}
    assert set(Record.objects.filter(year=2012).values_list("reference_code", flat=True)) == {
        "Z109-WS·2012-Y-BGS-0001",
        "Z109-WS·2012-Y-BGS-0003",
    }
    assert AuditEntry.objects.filter(action="import", actor="zhang").exists()


def test_large_import_is_queued_and_reports_progress(world: World, settings: Any) -> None:
    settings.IMPORT_JOB_THRESHOLD_BYTES = 1  # every file goes to the job queue (inline in tests)
    zhang = client_for(world.zhang)
    response = zhang.post("/api/imports", {"file": upload(GOOD_ROWS), "category": world.ws_a.pk})
    assert response.status_code == 202, response.content
    status = zhang.get(f"/api/imports/{response.json()['id']}").json()
    assert (status["status"], status["rows_imported"], status["progress"]) == ("imported", 2, 1.0)
    assert AuditEntry.objects.filter(action="import", actor="zhang").exists()


def test_unreadable_import_is_400_with_chinese_message(world: World) -> None:
    zhang = client_for(world.zhang)
    xls = SimpleUploadedFile("目录.xls", b"\xd0\xcf\x11\xe0 not really", "application/vnd.ms-excel")
    response = zhang.post("/api/imports", {"file": xls, "category": world.ws_a.pk})
    assert response.status_code == 400
    assert ".xls" in response.json()["detail"] and "另存为" in response.json()["detail"]
    no_header = SimpleUploadedFile("目录.csv", "甲,乙\n1,2\n".encode(), "text/csv")
    response = zhang.post("/api/imports", {"file": no_header, "category": world.ws_a.pk})
    assert response.status_code == 400 and "表头" in response.json()["detail"]


def test_import_needs_permission_and_scope(world: World) -> None:
    reader, zhang = client_for(world.reader), client_for(world.zhang)
    assert (
        reader.post(
            "/api/imports", {"file": upload(GOOD_ROWS), "category": world.ws_a.pk}
        ).status_code
        == 403
    )
    assert (
        zhang.post(
            "/api/imports", {"file": upload(GOOD_ROWS), "category": world.ws_b.pk}
        ).status_code
        == 404
    )
    assert not Record.objects.filter(year=2012).exists()
