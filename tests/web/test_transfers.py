"""收 in the staff UI: upload a transfer, watch it checked, read the 四性检测报告, accept, return and
resubmit; who may see and decide what.

The checks run for real (jobs run inline in tests). No virus signatures are loaded in the test data
directory, so the virus check reports every file as not scanned: a failure, never "clean"."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from lantai.catalog import services as catalog
from lantai.catalog.models import Fonds
from lantai.core import accounts
from lantai.demo.transfer import make_transfer
from lantai.ingest import tasks
from lantai.ingest.models import CheckRecord, Transfer
from lantai.standards.dat70 import load_catalogue

from .conftest import PASSWORD

pytestmark = pytest.mark.django_db

UNIT = "岭南省人民政府办公厅"
FONDS = "Z109"  # the unit's own fonds (立档单位 UNIT): the package's 档号 name it
FIRST_FILE = "电子档案/2020/WS/Z109-WS·2020-Y-BGS-0001.pdf"


def text(response: Any) -> str:
    return response.content.decode("utf-8")


@pytest.fixture(autouse=True)
def _own_data_dir(settings: Any, tmp_path: Path) -> None:
    """A data directory of this test's own: quarantine, work areas and the scanner's signature
    database (empty: other tests import signatures into the session's shared data directory)."""
    settings.DATA_DIR = tmp_path / "data"
    settings.DATA_DIR.mkdir()


def own_fonds(user: Any) -> Fonds:
    """The unit's fonds, in `user`'s scope: a transfer's 移交单位 is chosen from the submitter's
    scope, not typed."""
    fonds = catalog.create_fonds(FONDS, UNIT)
    accounts.grant(user, actor=None, fonds_ids=[fonds.pk])
    return fonds


def unit_choice() -> str:
    """The 移交单位 as the form posts it: the unit's fonds."""
    return str(Fonds.objects.get(code=FONDS).pk)


@pytest.fixture
def users(db: None) -> dict[str, Any]:
    return {
        "unit": accounts.create_user("unit_a", role="filing_unit", password=PASSWORD),
        "other_unit": accounts.create_user("unit_b", role="filing_unit", password=PASSWORD),
        "receiver": accounts.create_user(
            "receiver", role="receiving_archivist", password=PASSWORD, scope_all=True
        ),
        "reader": accounts.create_user(
            "reader", role="reading_room", password=PASSWORD, scope_all=True
        ),
    }


@pytest.fixture
def fonds(users: dict[str, Any]) -> Fonds:
    return own_fonds(users["unit"])


def as_user(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def package_zip(tmp_path: Path, items: int = 2, name: str = "pkg") -> bytes:
    source = make_transfer(tmp_path / name, items, kinds=("pdf",), unit=UNIT)
    archive = shutil.make_archive(str(tmp_path / f"{name}-zip"), "zip", root_dir=source)
    return Path(archive).read_bytes()


def upload(client: Client, data: bytes, name: str = "移交包.zip", **fields: str) -> Any:
    form = {
        "unit": unit_choice(),
        "title": "2020年文书档案移交",
        "opening_opinion": "到期全部开放",
        "disclosure_status": "已主动公开3件",
        "classification_changes": "无密级变更",
        **fields,
        "package": SimpleUploadedFile(name, data, content_type="application/zip"),
    }
    return client.post(reverse("web:transfer_create"), form)


@pytest.fixture
def submitted(tmp_path: Path, users: dict[str, Any], fonds: Fonds) -> Transfer:
    response = upload(as_user(users["unit"]), package_zip(tmp_path))
    assert response.status_code == 302, text(response)
    transfer = Transfer.objects.get()
    assert response["Location"] == reverse("web:transfer", args=[transfer.pk])
    return transfer


def report_url(transfer: Transfer, number: int = 1) -> str:
    return reverse("web:transfer_report", args=[transfer.pk, number])


# --- upload, check, report -----------------------------------------------------------------------
def test_upload_is_checked_and_fails_security_as_not_scanned(
    submitted: Transfer, users: dict[str, Any]
) -> None:
    unit = as_user(users["unit"])
    submitted.refresh_from_db()
    assert submitted.status == "failed" and submitted.created_by == users["unit"]
    assert submitted.opening_opinion == "到期全部开放"
    version = submitted.versions.get()
    assert version.result == "fail" and version.checked_at is not None
    # no stage was left behind: the stored progress names every stage and the final result
    assert tasks.read_progress(version.pk)["status"] == "fail"
    progress = unit.get(reverse("web:transfer_progress", args=[submitted.pk])).json()
    assert progress["done"] is True and progress["status"] == "failed"

    detail = text(unit.get(reverse("web:transfer", args=[submitted.pk])))
    assert "不通过" in detail and "已主动公开3件" in detail and "无密级变更" in detail
    assert report_url(submitted) in detail

    report = text(unit.get(report_url(submitted)))
    for name in ("真实性", "完整性", "可用性", "安全性"):
        assert name in report
    # the security row counts one failure per file (2 PDFs plus the package's XML files)
    virus = CheckRecord.objects.filter(version=version, property="security", status="fail")
    assert virus.count() >= 2
    assert all("未扫描" in r.evidence["reason"] for r in virus)
    assert "未加载病毒特征库，未扫描" in report
    assert FIRST_FILE in report
    # every DA/T 70 移交与接收 content is listed with its status
    for content in load_catalogue().contents("yj"):
        assert content.title_zh in report
    assert "各阶段用时" in report and "病毒扫描" in report


def test_report_in_english(submitted: Transfer, users: dict[str, Any]) -> None:
    unit = as_user(users["unit"])
    unit.post("/i18n/setlang/", {"language": "en", "next": "/"})
    report = text(unit.get(report_url(submitted)))
    assert "Four-properties check report" in report
    for name in ("Authenticity", "Integrity", "Usability", "Security", "Not applicable"):
        assert name in report
    assert "Time per stage" in report and "Transfers" in report


def test_report_as_pdf_a_with_embedded_cjk_fonts(
    submitted: Transfer, users: dict[str, Any]
) -> None:
    import io

    import pikepdf

    unit = as_user(users["unit"])
    url = reverse("web:transfer_report_pdf", args=[submitted.pk, 1])
    assert url in text(unit.get(report_url(submitted)))
    response = unit.get(url)
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert "inline" in response["Content-Disposition"]
    with pikepdf.open(io.BytesIO(response.content)) as pdf:
        assert len(pdf.pages) >= 1
        with pdf.open_metadata() as meta:
            assert meta.pdfa_status == "3B"
        fonts = [
            f
            for page in pdf.pages
            for f in page.Resources.get("/Font", {}).values()
            if "CJK" in str(f.get("/BaseFont", ""))
        ]
        assert fonts, "the report's Chinese text needs a CJK font"
        for font in fonts:
            descendant = font.DescendantFonts[0] if "/DescendantFonts" in font else font
            descriptor = descendant.FontDescriptor
            assert any(k in descriptor for k in ("/FontFile", "/FontFile2", "/FontFile3"))
    other = as_user(users["other_unit"])
    assert other.get(url).status_code == 404


def test_upload_refuses_other_file_types(
    tmp_path: Path, users: dict[str, Any], fonds: Fonds
) -> None:
    response = upload(as_user(users["unit"]), b"Rar!\x1a\x07\x00", name="移交包.rar")
    assert response.status_code == 200
    assert "不支持的文件类型“.rar”" in text(response)
    assert not Transfer.objects.exists()


def test_unreadable_package_fails_with_the_error_never_stuck(
    users: dict[str, Any], fonds: Fonds
) -> None:
    unit = as_user(users["unit"])
    response = upload(unit, b"PK\x03\x04 this is not really a zip archive", name="坏包.zip")
    assert response.status_code == 302
    transfer = Transfer.objects.get()
    assert transfer.status == "failed"
    version = transfer.versions.get()
    record = CheckRecord.objects.get(version=version)
    assert record.status == "fail" and record.evidence["reason"]
    report = text(unit.get(report_url(transfer)))
    assert "检测未能完成" in report and record.evidence["reason"] in report


def test_long_failure_lists_are_capped_and_paginated(
    tmp_path: Path, users: dict[str, Any], fonds: Fonds
) -> None:
    unit = as_user(users["unit"])
    assert upload(unit, package_zip(tmp_path, items=25)).status_code == 302
    transfer = Transfer.objects.get()
    code = load_catalogue().check("virus_scan").content_code
    failing = CheckRecord.objects.filter(
        version__transfer=transfer, content_code=code, status="fail"
    ).count()
    assert failing > 25
    report = text(unit.get(report_url(transfer)))
    assert f"查看全部 {failing} 条" in report
    assert "Z109-WS·2020-Y-BGS-0025.pdf" not in report  # beyond the cap on the full report
    full = text(unit.get(report_url(transfer), {"content": code}))
    assert "Z109-WS·2020-Y-BGS-0025.pdf" in full


# --- decisions ---------------------------------------------------------------------------------
def test_failed_transfer_cannot_be_accepted(submitted: Transfer, users: dict[str, Any]) -> None:
    receiver = as_user(users["receiver"])
    response = receiver.post(
        reverse("web:transfer_accept", args=[submitted.pk]), {"reason": "同意"}, follow=True
    )
    assert "只有检测通过的移交才能接收" in text(response)
    submitted.refresh_from_db()
    assert submitted.status == "failed"


def test_return_with_reason_is_visible_to_the_unit_who_resubmits(
    tmp_path: Path, submitted: Transfer, users: dict[str, Any]
) -> None:
    receiver, unit = as_user(users["receiver"]), as_user(users["unit"])
    url = reverse("web:transfer_return", args=[submitted.pk])
    refused = text(receiver.post(url, {"reason": "  "}, follow=True))
    assert "退回须填写理由" in refused
    receiver.post(url, {"reason": "病毒扫描未完成，请补充第0001件的签章", "report": "1"})
    submitted.refresh_from_db()
    assert submitted.status == "returned"

    detail = text(unit.get(reverse("web:transfer", args=[submitted.pk])))
    assert "已退回" in detail and "病毒扫描未完成，请补充第0001件的签章" in detail
    assert reverse("web:transfer_resubmit", args=[submitted.pk]) in detail

    data = package_zip(tmp_path, name="fixed")
    response = unit.post(
        reverse("web:transfer_resubmit", args=[submitted.pk]),
        {"package": SimpleUploadedFile("改正后.zip", data)},
    )
    assert response.status_code == 302
    submitted.refresh_from_db()
    assert [v.number for v in submitted.versions.all()] == [1, 2]
    assert submitted.status == "failed" and submitted.return_reason == ""
    assert submitted.versions.get(number=2).checked_at is not None
    assert unit.get(report_url(submitted, 2)).status_code == 200
    assert unit.get(report_url(submitted, 1)).status_code == 200  # the old report stays
    assert unit.get(report_url(submitted, 3)).status_code == 404


def test_only_returned_or_failed_transfers_take_a_new_version(
    tmp_path: Path, submitted: Transfer, users: dict[str, Any]
) -> None:
    Transfer.objects.filter(pk=submitted.pk).update(status="accepted")
    response = as_user(users["unit"]).post(
        reverse("web:transfer_resubmit", args=[submitted.pk]),
        {"package": SimpleUploadedFile("again.zip", package_zip(tmp_path, name="again"))},
    )
    assert response.status_code == 200
    assert "只有已退回或检测不通过的移交才能重新提交" in text(response)
    assert submitted.versions.count() == 1


# --- who sees what ------------------------------------------------------------------------------
def test_units_see_only_their_own_transfers(submitted: Transfer, users: dict[str, Any]) -> None:
    other = as_user(users["other_unit"])
    for name, args in (
        ("web:transfer", [submitted.pk]),
        ("web:transfer_report", [submitted.pk, 1]),
        ("web:transfer_progress", [submitted.pk]),
        ("web:transfer_resubmit", [submitted.pk]),
    ):
        assert other.get(reverse(name, args=args)).status_code == 404, name
    assert "2020年文书档案移交" not in text(other.get(reverse("web:transfers")))
    assert "2020年文书档案移交" in text(as_user(users["unit"]).get(reverse("web:transfers")))
    assert "2020年文书档案移交" in text(as_user(users["receiver"]).get(reverse("web:transfers")))


def test_units_cannot_decide_and_other_roles_cannot_enter(
    submitted: Transfer, users: dict[str, Any]
) -> None:
    unit = as_user(users["unit"])
    for name in ("web:transfer_accept", "web:transfer_return"):
        response = unit.post(reverse(name, args=[submitted.pk]), {"reason": "自己接收"})
        assert response.status_code == 403, name
        assert "接收移交" in text(response)
    submitted.refresh_from_db()
    assert submitted.status == "failed"
    report = text(unit.get(report_url(submitted)))
    assert reverse("web:transfer_accept", args=[submitted.pk]) not in report
    assert reverse("web:transfer_return", args=[submitted.pk]) in text(
        as_user(users["receiver"]).get(report_url(submitted))
    )

    reader = as_user(users["reader"])
    assert reader.get(reverse("web:transfers")).status_code == 403
    assert reader.get(reverse("web:transfer", args=[submitted.pk])).status_code == 403
    assert reverse("web:transfers") not in text(reader.get(reverse("web:home")))
    assert reverse("web:transfers") in text(unit.get(reverse("web:home")))


# --- in a real browser --------------------------------------------------------------------------
@pytest.mark.browser
def test_upload_and_print_the_report_in_chromium(
    page: Any, live_server: Any, transactional_db: None, tmp_path: Path
) -> None:
    import os

    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    fonds = own_fonds(accounts.create_user("unit_a", role="filing_unit", password=PASSWORD))
    archive = tmp_path / "移交包.zip"
    archive.write_bytes(package_zip(tmp_path, items=3))
    page.goto(live_server.url + "/")
    page.fill("input[name=username]", "unit_a")
    page.fill("input[name=password]", PASSWORD)
    page.click("button:has-text('登录')")
    page.wait_for_url(lambda url: "/login/" not in url)

    page.click("nav.sidenav >> text=新建移交")
    page.select_option("select[name=unit]", str(fonds.pk))
    page.fill("input[name=title]", "2020年文书档案移交")
    page.fill("textarea[name=opening_opinion]", "到期全部开放")
    page.set_input_files("input[name=package]", str(archive))
    page.click("button:has-text('上传并检测')")
    page.wait_for_selector("#transfer-status:has-text('不通过')")  # the job ran inline
    page.click(".title-row >> text=四性检测报告")
    page.wait_for_selector("table.summary")
    security = page.locator("table.summary tbody tr", has_text="安全性")
    assert security.locator("td.cell-fail").count() == 1
    assert "未加载病毒特征库，未扫描" in page.inner_text("table.drill")
    target = os.environ.get("LANTAI_UI_SCREENSHOTS")
    if target:
        page.screenshot(path=str(Path(target) / "ui-transfer-report.png"), full_page=True)

    page.emulate_media(media="print")
    assert not page.locator("nav.sidenav").is_visible()
    assert not page.locator("button[data-print]").is_visible()
    assert page.locator("table.summary").is_visible()
    if target:
        page.screenshot(path=str(Path(target) / "ui-transfer-report-print.png"), full_page=True)


@pytest.mark.browser
def test_detail_page_follows_the_check_live(
    page: Any, live_server: Any, transactional_db: None, tmp_path: Path
) -> None:
    import os

    from lantai.ingest import services

    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    unit = accounts.create_user("unit_a", role="filing_unit", password=PASSWORD)
    fonds = own_fonds(unit)
    source = make_transfer(tmp_path / "pkg", 2, kinds=("pdf",), unit=UNIT)
    # registered, not checked yet
    transfer = services.receive(source, fonds=fonds, title="排队中的移交", user=unit)
    page.goto(live_server.url + "/")
    page.fill("input[name=username]", "unit_a")
    page.fill("input[name=password]", PASSWORD)
    page.click("button:has-text('登录')")
    page.wait_for_url(lambda url: "/login/" not in url)
    page.goto(live_server.url + reverse("web:transfer", args=[transfer.pk]))
    assert page.locator(".progress-box").is_visible()
    assert page.inner_text("#transfer-status") == "待检测"

    tasks.check_version(transfer.versions.get().pk, "unit_a")  # what the worker would run
    # the page polls the progress endpoint and reloads itself when the check is done
    page.wait_for_selector("#transfer-status:has-text('不通过')", timeout=15000)
    assert page.locator(".progress-box").count() == 0
    assert page.locator("a:has-text('检测报告')").count() >= 1


def test_register_form_pdf_is_filled_in_from_the_package_and_checks(
    submitted: Transfer, users: dict[str, Any], tmp_path: Path
) -> None:
    import subprocess

    unit = as_user(users["unit"])
    url = reverse("web:transfer_register_pdf", args=[submitted.pk, 1])
    assert url in text(unit.get(report_url(submitted)))
    response = unit.get(url)
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    pdf = tmp_path / "register.pdf"
    pdf.write_bytes(response.content)
    words = subprocess.run(
        ["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout
    version = submitted.versions.get()
    assert "电子档案移交与接收登记表" in words
    assert version.original_sm3[:16] in words.replace(" ", "").replace("\n", "")
    assert "在线" in words and submitted.unit in words
    # no signatures were loaded in this data directory: 安全性 is 不通过 (not scanned)
    security = next(line for line in words.splitlines() if "安全性检验" in line)
    assert "不通过" in security


def test_receiving_staff_register_a_package_from_the_server_inbox(
    users: dict[str, Any], fonds: Fonds, tmp_path: Path, settings: Any
) -> None:
    settings.TRANSFER_INBOX = tmp_path / "inbox"
    settings.TRANSFER_INBOX.mkdir()
    make_transfer(settings.TRANSFER_INBOX / "2020年文书档案", 2, kinds=("pdf",), unit=UNIT)
    (tmp_path / "secret.zip").write_bytes(b"PK")  # outside the inbox
    url = reverse("web:transfer_inbox")
    staff = as_user(users["receiver"])
    page = text(staff.get(url))
    assert "2020年文书档案" in page and "secret.zip" not in page
    fields = {
        "unit": str(fonds.pk),
        "title": "2020年文书档案移交",
        "opening_opinion": "",
        "disclosure_status": "",
        "classification_changes": "",
    }
    refused = staff.post(url, {**fields, "entry": "../secret.zip"})
    assert refused.status_code == 200 and Transfer.objects.count() == 0
    response = staff.post(url, {**fields, "entry": "2020年文书档案"})
    assert response.status_code == 302
    transfer = Transfer.objects.get()
    assert transfer.versions.get().result in ("pass", "fail")  # checked (inline in tests)
    assert (
        settings.TRANSFER_INBOX / "2020年文书档案" / "文件目录.XML"
    ).exists()  # inbox copy untouched
    assert as_user(users["unit"]).get(url).status_code == 403
