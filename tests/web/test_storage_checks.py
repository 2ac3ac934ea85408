"""The 长期保存检测 pages: the list of runs with 立即检测, one run's report in the form of the
ingest report (summary by property, every DA/T 70 长期保存 content, failing objects with their
evidence), and the check of one package from its page. Real packages on two local locations, the
real checks (restore, fixity, catalogue, formats) and a real clamd with test signatures."""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any

import pikepdf
import pytest
from django.test import Client
from django.urls import reverse
from django.utils.timezone import localtime

from lantai.catalog.components import attach_component
from lantai.core import accounts
from lantai.ingest.virus import Scanner
from lantai.preservation import locations, ocfl, packaging, replication
from lantai.preservation.models import Event, LongTermCheck, Package, StorageLocation
from lantai.standards.dat70 import load_catalogue

from .conftest import PASSWORD, Site

pytestmark = [pytest.mark.clamd, pytest.mark.django_db(transaction=True)]

FILE = "纪要1.pdf"


def text(response: Any) -> str:
    return response.content.decode("utf-8")


def as_user(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _pdf(title: str) -> bytes:
    pdf = pikepdf.new()
    pdf.add_blank_page(page_size=(200, 200))
    pdf.docinfo["/Title"] = title
    out = io.BytesIO()
    pdf.save(out)
    return out.getvalue()


@pytest.fixture(autouse=True)
def _storage(settings: Any, tmp_path: Path, clamd_scanner: tuple[Scanner, Any]) -> None:
    settings.PRESERVATION_ROOT = tmp_path / "primary"
    settings.MEDIA_ROOT = tmp_path / "files"
    settings.DATA_DIR = clamd_scanner[0].data_dir  # longterm.run's Scanner is the test clamd


@pytest.fixture
def officer(site: Site) -> Any:
    return accounts.create_user(
        "keeper_a", role="preservation_officer", password=PASSWORD, clearance=4, scope_all=True
    )


def make_package(site: Site, tmp_path: Path, label: str = "移交：会议纪要") -> Package:
    """Two records of the site's category with a PDF each, preserved on the primary and on a
    required second location ("offsite")."""
    ids = []
    for i, record in enumerate(site.records[:2], start=1):
        attach_component(record, [_pdf(f"会议纪要第{i}期")], f"纪要{i}.pdf", user=None)
        ids.append(record.pk)
    if not StorageLocation.objects.filter(name="offsite").exists():
        locations.add_location("offsite", path=str(tmp_path / "offsite"), required=True)
    pkg = packaging.new_package("transfer", label, None, ids)
    assert replication.preserve(pkg.pk) == "preserved"
    pkg.refresh_from_db()
    return pkg


def damage_offsite_copy(pkg: Package, tmp_path: Path) -> str:
    """Flip one byte of the first record's PDF on the offsite replica; returns its logical path."""
    backend = locations.open_location(StorageLocation.objects.get(name="offsite"))
    state = ocfl.logical_state(ocfl.read_inventory(backend, pkg.object_id))
    logical = next(p for p in state if p.endswith(f"/{FILE}"))
    path = tmp_path / "offsite" / ocfl.object_root(pkg.object_id) / state[logical].content_path
    data = bytearray(path.read_bytes())
    data[20] ^= 0x10
    path.write_bytes(bytes(data))
    return logical


def report_id(response: Any) -> int:
    match = re.fullmatch(r"/storage/checks/(\d+)/", response["Location"])
    assert match, response["Location"]
    return int(match.group(1))


def section(html: str, code: str) -> str:
    """The report's drill-down section of one 检测内容."""
    start = html.index(f'id="content-{code}"')
    end = html.find("</section>", start)
    return html[start:end]


def content_row(html: str, code: str) -> str:
    start = html.index(f'id="row-{code}"')
    return html[start : html.index("</tr>", start)]


def test_only_preservation_officers_enter(site: Site, officer: Any, tmp_path: Path) -> None:
    pkg = make_package(site, tmp_path)
    run = LongTermCheck.objects.create(
        started_at=pkg.created_at, finished_at=pkg.created_at, result="pass"
    )
    cataloguer = as_user(site.users["cataloguer"])
    for url in (reverse("web:storage_checks"), reverse("web:storage_check_report", args=[run.pk])):
        assert cataloguer.get(url).status_code == 403, url
    for url in (
        reverse("web:storage_checks_run"),
        reverse("web:storage_package_check", args=[pkg.pk]),
    ):
        assert cataloguer.post(url, {"sample": "1"}).status_code == 403, url
    assert LongTermCheck.objects.count() == 1  # nothing was run
    pkg.refresh_from_db()
    assert pkg.checked_at is None
    # the officer: the pages open; GET does not start a check
    keeper = as_user(officer)
    assert keeper.get(reverse("web:storage_checks")).status_code == 200
    assert keeper.get(reverse("web:storage_check_report", args=[run.pk])).status_code == 200
    assert keeper.get(reverse("web:storage_checks_run")).status_code == 405
    missing = keeper.get(reverse("web:storage_check_report", args=[run.pk + 100]))
    assert missing.status_code == 404


def test_check_from_package_page_reports_and_lists(
    site: Site, officer: Any, tmp_path: Path
) -> None:
    pkg = make_package(site, tmp_path)
    keeper = as_user(officer)
    page = text(keeper.get(reverse("web:storage_package", args=[pkg.pk])))
    assert reverse("web:storage_package_check", args=[pkg.pk]) in page
    assert "尚未检测" in page

    response = keeper.post(reverse("web:storage_package_check", args=[pkg.pk]))
    assert response.status_code == 302
    run = LongTermCheck.objects.get(pk=report_id(response))
    assert run.summary["packages"] == [pkg.object_id]
    assert run.result == "pass", [c for c in run.checks if c["status"] != "pass"]
    pkg.refresh_from_db()
    assert pkg.checked_at is not None
    event = Event.objects.get(package=pkg, event_type="validation")
    assert event.outcome == "success" and "keeper_a" in event.agent

    report = text(keeper.get(response["Location"]))
    assert "电子档案长期保存检测报告" in report
    assert reverse("web:storage_package", args=[pkg.pk]) in report  # the package, linked
    assert "不通过" not in re.sub(r"<th[^>]*>不通过</th>", "", report)  # only as a heading
    # every 长期保存 content of the catalogue; those Lantai does not check are not applicable
    catalogue = load_catalogue()
    unchecked = [c for c in catalogue.contents("bc") if not catalogue.checks_for(c.code, "bc")]
    assert {"3-3", "4-2", "4-3", "4-4"} <= {c.code for c in unchecked}
    for c in catalogue.contents("bc"):
        row = content_row(report, c.code)
        assert c.title_zh in row
        if c.code in ("3-3", "4-2", "4-3", "4-4"):
            assert "check-na" in row and "未检测（需人工检查：载体、环境、系统安全）" in row
        elif c in unchecked:
            assert "check-na" in row and "未检测（系统在长期保存环节不检测此项）" in row
        else:
            assert "check-pass" in row and "未检测" not in row

    # the package page: the last check time and its report
    page = text(keeper.get(reverse("web:storage_package", args=[pkg.pk])))
    assert localtime(pkg.checked_at).strftime("%Y-%m-%d %H:%M") in page
    assert reverse("web:storage_check_report", args=[run.pk]) in page
    # the list and the dashboard
    listing = text(keeper.get(reverse("web:storage_checks")))
    assert reverse("web:storage_check_report", args=[run.pk]) in listing
    assert localtime(run.started_at).strftime("%Y-%m-%d %H:%M") in listing
    dashboard = text(keeper.get(reverse("web:storage")))
    assert reverse("web:storage_checks") in dashboard
    assert reverse("web:storage_check_report", args=[run.pk]) in dashboard


def test_damaged_replica_fails_fixity_naming_the_file(
    site: Site, officer: Any, tmp_path: Path
) -> None:
    pkg = make_package(site, tmp_path)
    logical = damage_offsite_copy(pkg, tmp_path)
    keeper = as_user(officer)
    response = keeper.post(reverse("web:storage_package_check", args=[pkg.pk]))
    run = LongTermCheck.objects.get(pk=report_id(response))
    assert run.result == "fail"
    html = text(keeper.get(response["Location"]))
    assert "check-fail" in content_row(html, "1-1")
    fixity = section(html, "1-1")
    assert logical in fixity and "offsite" in fixity  # the file, on the damaged replica
    assert "check-fail" in fixity and "sm3" in fixity  # the reason: which digest differs
    assert "应为" in fixity and "实际" in fixity  # expected / found
    # restoring from the damaged replica fails too (3-4); the intact copy passes 3-2 and 4-1
    assert logical in section(html, "3-4")
    for code in ("3-2", "4-1"):
        assert "check-pass" in content_row(html, code)
    assert 'id="content-3-2"' not in html
    # the list shows the failing run with its counts
    listing = text(keeper.get(reverse("web:storage_checks")))
    row = listing[listing.index(reverse("web:storage_check_report", args=[run.pk])) :]
    row = row[: row.index("</tr>")]
    assert "check-fail" in row
    fails = sum(n.get("fail", 0) for n in run.summary["by_property"].values())
    assert fails >= 3 and f'cell-fail">{fails}</td>' in row
    # drill-down to all failing objects of one content
    focused = text(keeper.get(response["Location"], {"content": "1-1"}))
    assert logical in focused and "返回完整报告" in focused


def test_check_now_takes_the_packages_checked_longest_ago(
    site: Site, officer: Any, tmp_path: Path
) -> None:
    first = make_package(site, tmp_path, "第一批")
    keeper = as_user(officer)
    keeper.post(reverse("web:storage_package_check", args=[first.pk]))
    second = Package.objects.create(
        kind="transfer", label="未写入", object_id="urn:lantai:unwritten", version=0
    )
    response = keeper.post(reverse("web:storage_checks_run"), {"sample": "1"})
    assert response.status_code == 302
    run = LongTermCheck.objects.get(pk=report_id(response))
    # the only written package: `second` has no version yet and is never checked
    assert run.summary["packages"] == [first.object_id]
    assert LongTermCheck.objects.count() == 2
    listing = text(keeper.get(reverse("web:storage_checks")))
    assert listing.index(f"/storage/checks/{run.pk}/") < listing.index(
        f"/storage/checks/{run.pk - 1}/"
    )  # newest first
    # a package that is not written cannot be checked from its page
    refused = keeper.post(reverse("web:storage_package_check", args=[second.pk]), follow=True)
    assert "无法进行长期保存检测" in text(refused)
    assert LongTermCheck.objects.count() == 2
