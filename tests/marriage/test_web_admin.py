"""The marriage archivist's pages with the Django test client and a real SQLite database: the import
of a civil-affairs export with its row-by-row report (good, bad and hostile files), the rights rules
and their versions, the query log (masked, filtered by date), and the certificate issuer keys
(create, rotate, withdraw, the trust and status lists). Counter clerks may read the rules only."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from lantai.catalog.models import Fonds, Repository
from lantai.certificates.models import IssuerKey
from lantai.core.models import AuditEntry
from lantai.marriage import identity, rules
from lantai.marriage.models import ImportRun, Query, Registration, RulesVersion
from lantai.standards import certificate_lists

from .test_web_counter import (
    CITIZEN,
    OURS,
    citizen_form,
    make_archives,
    resident_id,
    search,
    signed_in,
)

pytestmark = [pytest.mark.django_db, pytest.mark.sqlite_run_only]

HEADER = (
    "登记类别,登记日期,登记机关,行政区划代码,结婚证字号,男方姓名,男方身份证号,女方姓名,女方身份证号"
)
HUSBAND = resident_id("45010219800101123")
WIFE = resident_id("45010219820202234")


def csv_file(
    *rows: str, name: str = "婚姻登记2015.csv", encoding: str = "utf-8"
) -> SimpleUploadedFile:
    text = "\n".join((HEADER, *rows)) + "\n"
    return SimpleUploadedFile(name, text.encode(encoding), content_type="text/csv")


GOOD_ROW = (
    f"结婚,2015-06-01,南宁市兴宁区民政局,450102,J450102-2015-000101,陈一,{HUSBAND},林二,{WIFE}"
)


@pytest.fixture
def archives(settings: Any) -> Repository:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    return make_archives()


@pytest.fixture
def archivist(archives: Repository) -> Client:
    return signed_in("marriage_archivist", "archivist")


@pytest.fixture
def clerk(archives: Repository) -> Client:
    return signed_in("reading_room", "clerk")


def upload(client: Client, file: SimpleUploadedFile, **extra: Any) -> Any:
    fonds = Fonds.objects.get(code="MZ01")
    return client.post(reverse("marriage:import"), {"fonds": fonds.pk, "file": file, **extra})


# --- import ---------------------------------------------------------------------------------------
def test_a_good_export_imports_and_reports(archivist: Client) -> None:
    before = Registration.objects.count()
    uploads = Path(settings.UPLOAD_DIR)
    kept = set(uploads.rglob("*"))
    response = upload(archivist, csv_file(GOOD_ROW, encoding="gb18030"))
    run = ImportRun.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("marriage:import_run", args=[run.pk])
    page = archivist.get(response["Location"]).content.decode()
    assert "婚姻登记2015.csv" in page and "已导入" in page
    assert Registration.objects.count() == before + 1 and run.rows_imported == 1
    assert HUSBAND not in page
    assert upload(archivist, csv_file(GOOD_ROW)).status_code == 302  # again: nothing new
    assert Registration.objects.count() == before + 1
    assert "婚姻登记2015.csv" in archivist.get(reverse("marriage:import")).content.decode()
    # the export holds personal data: only its report and SM3 are kept, not the file
    assert set(uploads.rglob("*")) - kept <= {uploads}


def test_a_bad_file_imports_nothing_and_lists_every_bad_row(archivist: Client) -> None:
    before = Registration.objects.count()
    bad_id = HUSBAND[:-1] + ("0" if HUSBAND[-1] != "0" else "1")
    response = upload(archivist, csv_file(
        GOOD_ROW,
        f"结婚,2015-13-45,南宁市兴宁区民政局,450102,J450102-2015-000102,黄三,{resident_id('45010219850303345')},周四,{resident_id('45010219860404456')}",
        f"结婚,2015-07-01,南宁市兴宁区民政局,450102,J450102-2015-000103,=HYPERLINK(\"http://x\"),{bad_id},吴五,{WIFE}",
    ))  # fmt: skip
    run = ImportRun.objects.get()
    assert run.status == "rejected" and run.rows_rejected == 2
    page = archivist.get(response["Location"]).content.decode()
    assert 'id="errors"' in page and "全部或全不" in page
    rows = {e["row"] for e in run.errors}
    assert rows == {3, 4}
    assert '<td class="num">3</td>' in page and '<td class="num">4</td>' in page
    assert Registration.objects.count() == before
    # with "valid rows only" the good row goes in
    upload(archivist, csv_file(GOOD_ROW, f"结婚,2015-13-45,x,450102,,a,{WIFE},b,{HUSBAND}"),
           valid_rows_only="on")  # fmt: skip
    assert Registration.objects.count() == before + 1


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("export.xls", b"\xd0\xcf\x11\xe0 old excel", "不支持的文件类型"),
        ("../../etc/passwd.txt", b"root:x:0:0", "不支持的文件类型"),
        ("no-header.csv", "姓名,电话\n张三,123\n".encode(), "找不到表头"),
        (
            "few-columns.csv",
            "登记类别,登记日期,登记机关\n结婚,2015-01-01,x\n".encode(),
            "缺少必需的列",
        ),
        ("empty.xlsx", b"PK\x03\x04 not really a workbook", ""),
    ],
)
def test_unreadable_files_are_form_errors(
    archivist: Client, name: str, content: bytes, message: str
) -> None:
    response = upload(archivist, SimpleUploadedFile(name, content))
    assert response.status_code == 200
    page = response.content.decode()
    assert 'class="field-error"' in page and message in page
    assert not ImportRun.objects.exists()


def test_import_needs_the_marriage_archivist(clerk: Client) -> None:
    assert clerk.get(reverse("marriage:import")).status_code == 403
    assert upload(clerk, csv_file(GOOD_ROW)).status_code == 403
    assert not ImportRun.objects.exists()


# --- rules ----------------------------------------------------------------------------------------
def test_the_rules_in_force_and_a_new_version(archivist: Client, clerk: Client) -> None:
    page = clerk.get(reverse("marriage:rules")).content.decode()
    assert "系统版本 0" in page and "婚姻当事人本人" in page and "保存新版本" not in page
    _v, text = rules.current_text()
    assert clerk.post(reverse("marriage:rules"), {"text": text, "note": "x"}).status_code == 403
    broken = text.replace("scope: case_parties", "scope: everything")
    page = archivist.post(
        reverse("marriage:rules"), {"text": broken, "note": "试改"}
    ).content.decode()
    assert 'id="rules-error"' in page and "requester_types.lawyer.scope" in page
    assert not RulesVersion.objects.exists()
    page = archivist.post(
        reverse("marriage:rules"), {"text": "a: [", "note": "坏"}
    ).content.decode()
    assert 'id="rules-error"' in page and "yaml" in page
    edited = text.replace("label_zh: 婚姻当事人本人", "label_zh: 婚姻登记当事人本人")
    response = archivist.post(reverse("marriage:rules"), {"text": edited, "note": "改名称"})
    assert response.status_code == 302
    assert RulesVersion.objects.get().number == 1
    page = clerk.get(reverse("marriage:rules")).content.decode()
    assert "系统版本 1" in page and "婚姻登记当事人本人" in page and "改名称" in page
    assert "婚姻登记当事人本人" in clerk.get(reverse("marriage:counter")).content.decode()
    old = clerk.get(reverse("marriage:rules_version", args=[0])).content.decode()
    assert "label_zh: 婚姻当事人本人" in old
    assert clerk.get(reverse("marriage:rules_version", args=[7])).status_code == 404
    assert AuditEntry.objects.filter(action="marriage_rules").count() == 1


# --- the query log --------------------------------------------------------------------------------
def test_the_query_log_shows_who_asked_as_whom_masked(archivist: Client, clerk: Client) -> None:
    clerk.post(reverse("marriage:counter"), citizen_form())
    search(clerk, id_number=CITIZEN)
    clerk.post(reverse("marriage:counter"), citizen_form(proof_id_document=""))
    search(clerk, id_number=CITIZEN)
    page = archivist.get(reverse("marriage:queries")).content.decode()
    assert page.count("<tr>") >= 3 and "clerk" in page and "婚姻当事人本人" in page
    assert "居民身份证（现场核验）" in page and "本人有效身份证件" in page  # proofs, refusal
    assert identity.mask(CITIZEN) in page and CITIZEN not in page
    assert clerk.get(reverse("marriage:queries")).status_code == 403
    tomorrow = (timezone.localdate() + timedelta(days=1)).isoformat()
    page = archivist.get(reverse("marriage:queries"), {"since": tomorrow}).content.decode()
    assert "没有查询记录" in page
    page = archivist.get(reverse("marriage:queries"), {"since": "not-a-date", "until": tomorrow})
    assert "clerk" in page.content.decode()
    assert Query.objects.count() == 2


# --- issuer keys ----------------------------------------------------------------------------------
def test_keys_create_rotate_withdraw_and_the_lists(
    archivist: Client, clerk: Client, django_capture_on_commit_callbacks: Any
) -> None:
    page = archivist.get(reverse("marriage:keys")).content.decode()
    assert "还没有出证密钥" in page
    with django_capture_on_commit_callbacks(execute=True):
        archivist.post(reverse("marriage:key_create"), {"repository": "440305"})
    first = IssuerKey.objects.get()
    with django_capture_on_commit_callbacks(execute=True):
        archivist.post(reverse("marriage:key_rotate"), {"repository": "440305"})
    second = IssuerKey.objects.exclude(pk=first.pk).get()
    first.refresh_from_db()
    assert first.not_after <= second.not_before
    page = archivist.get(reverse("marriage:keys")).content.decode()
    assert first.key_id in page and second.key_id in page and "仅供核验" in page
    withdraw = reverse("marriage:key_withdraw", args=[first.key_id])
    archivist.post(withdraw, {"reason": ""})
    first.refresh_from_db()
    assert first.withdrawn_at is None
    future = (timezone.localtime() + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")
    page = archivist.post(withdraw, {"reason": "泄露", "compromised_since": future}, follow=True)
    assert "泄露时间不能晚于现在" in page.content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        archivist.post(withdraw, {"reason": "私钥文件误发"})
    first.refresh_from_db()
    assert first.withdrawn_at is not None and first.withdrawal_reason == "私钥文件误发"
    trust = json.loads(archivist.get(reverse("marriage:trust_list")).content)
    _format, body = certificate_lists.peek(trust)
    issuers = {k["key_id"]: k for k in body["issuers"]}
    assert issuers[first.key_id]["withdrawn_at"] and not issuers[second.key_id]["withdrawn_at"]
    status = archivist.get(reverse("marriage:status_list", args=["440305"]))
    assert status.status_code == 200
    assert certificate_lists.peek(json.loads(status.content))[1]["repository_code"] == "440305"
    assert archivist.get(reverse("marriage:status_list", args=["nothing"])).status_code == 404
    assert archivist.post(reverse("marriage:key_withdraw", args=["nothing"]), {"reason": "x"}).status_code == 404  # fmt: skip
    for name in ("marriage:keys", "marriage:trust_list"):
        assert clerk.get(reverse(name)).status_code == 403
    assert clerk.post(reverse("marriage:key_rotate"), {"repository": "440305"}).status_code == 403
    assert IssuerKey.objects.count() == 2
    actions = set(AuditEntry.objects.values_list("action", flat=True))
    assert {"issuer_key_create", "issuer_key_rotate", "issuer_key_withdraw"} <= actions


def test_audit_log_labels_the_new_actions(archivist: Client) -> None:
    from lantai.web import audit_display

    for action in (
        "marriage_query", "marriage_import", "marriage_rules", "marriage_full_id",
        "certificate_issue", "certificate_revoke_request", "certificate_revoke",
        "issuer_key_create", "issuer_key_rotate", "issuer_key_withdraw",
    ):  # fmt: skip
        assert audit_display.action_label(action) != action, action
    for target in (
        "marriage_query",
        "marriage_import",
        "marriage_rules",
        "certificate",
        "issuer_key",
    ):
        assert audit_display.target_label(target) != target, target
    assert OURS  # the archives exist (fixture)


@pytest.mark.parametrize("number", ["99999999999999999999999", str(2**63)])
def test_numbers_past_the_column_are_not_found(archivist: Client, number: str) -> None:
    """A guard: Django already answers an out-of-range integer lookup with no rows here."""
    assert archivist.get(f"/marriage/import/{number}/").status_code == 404
    assert archivist.get(f"/marriage/rules/{number}/").status_code == 404
