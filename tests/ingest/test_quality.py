"""进馆档案质量: a filing unit's self-check runs the 移交与接收 checks of a transfer and registers
nothing; its report says what to fix per check item; the receiving team's figures per unit and
check item (self-checks and real transfers), its visits; the pages and `lantai transfer
self-check`."""

from __future__ import annotations

import json
import re
import shutil
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from lantai.catalog import services as catalog
from lantai.catalog.models import Record
from lantai.cli import main
from lantai.core import accounts
from lantai.core.models import AuditEntry, User
from lantai.demo.transfer import make_transfer
from lantai.ingest import quality, services
from lantai.ingest.models import Transfer, TransferVersion
from lantai.ingest.quality_models import QualityVisit, SelfCheck, SelfCheckItem
from lantai.ingest.virus import Scanner
from lantai.preservation.models import Package
from lantai.standards import transfer_quality as rule
from lantai.standards.dat70 import load_catalogue

PASSWORD = "Lantai#Archive2024"
UNIT = "岭南省人民政府办公厅"
CJK = re.compile(r"[\u3400-\u9fff]")


@pytest.fixture(autouse=True)
def _own_data_dir(settings: Any, tmp_path: Path) -> None:
    settings.DATA_DIR = tmp_path / "data"
    settings.DATA_DIR.mkdir()
    settings.UPLOAD_DIR = tmp_path / "data" / "uploads"
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def world(db: None) -> dict[str, Any]:
    own = catalog.create_fonds("Z109", UNIT)
    other = catalog.create_fonds("J019", "岭南省教育厅")
    catalog.create_category(own, "WS")
    catalog.create_category(other, "WS")
    unit = accounts.create_user("unit_a", role="filing_unit", password=PASSWORD)
    accounts.grant(unit, actor=None, fonds_ids=[own.pk])
    unit_b = accounts.create_user("unit_b", role="filing_unit", password=PASSWORD)
    accounts.grant(unit_b, actor=None, fonds_ids=[other.pk])
    receiver = accounts.create_user(
        "receiver", role="receiving_archivist", password=PASSWORD, clearance=4, scope_all=True
    )
    return {
        "own": own, "other": other, "unit": User.objects.get(pk=unit.pk),
        "unit_b": User.objects.get(pk=unit_b.pk), "receiver": User.objects.get(pk=receiver.pk),
    }  # fmt: skip


def bad_package(dest: Path) -> Path:
    """A package with one catalogued file missing and a stray file on the carrier."""
    source = make_transfer(dest, 3, kinds=("pdf",), unit=UNIT)
    (source / "电子档案" / "2020" / "WS" / "Z109-WS·2020-Y-BGS-0002.pdf").unlink()
    (source / "Thumbs.db").write_bytes(b"\0" * 64)
    return source


def registered() -> tuple[int, int, int, int]:
    return (
        Transfer.objects.count(), TransferVersion.objects.count(), Record.objects.count(),
        Package.objects.count(),
    )  # fmt: skip


def test_guidance_for_every_check_of_the_transfer_stage() -> None:
    yj = [k for k, spec in load_catalogue().checks.items() if spec.stage == "yj"]
    assert sorted(rule.guidance_keys()) == sorted(yj)  # one per check item, none extra
    for key in yj:
        zh, en = rule.guidance(key), rule.guidance(key, english=True)
        assert CJK.search(zh) and en and not CJK.search(en), key
    assert len({rule.guidance(k, english=True) for k in yj}) == len(yj)
    assert rule.guidance("bc_fixity") == ""


def test_a_bad_package_is_reported_with_guidance_and_nothing_registered(
    world: dict[str, Any], tmp_path: Path, settings: Any
) -> None:
    source = bad_package(tmp_path / "pkg")
    before = registered()
    sc = quality.self_check(source, world["own"], user=world["unit"])
    assert registered() == before == (0, 0, 0, 0)
    assert sc.result == "fail" and sc.package_sm3 and sc.checked_at is not None
    report = {i.key: i for i in quality.report(sc)}
    missing = report["content_completeness"]
    assert missing.status == "fail" and missing.guidance == rule.guidance("content_completeness")
    assert any("0002" in f["object"] for f in missing.findings)
    assert report["non_transfer_files"].status in ("fail", "warn")
    assert report["non_transfer_files"].guidance.startswith("删除载体上与移交无关的文件")
    assert report["transfer_process"].status == "na"  # a self-check is not a transfer
    first = quality.report(sc)[0]
    assert first.status == "fail"  # failures first
    # kept per unit, date and check item; the package is not kept, the console's path is left
    items = dict(SelfCheckItem.objects.filter(self_check=sc).values_list("check_key", "status"))
    assert items["content_completeness"] == "fail" and items["fixity"] in ("pass", "fail")
    assert source.is_dir() and not list(
        (Path(settings.DATA_DIR) / "ingest" / "selfcheck").iterdir()
    )
    entry = AuditEntry.objects.get(action="transfer_self_check")
    assert entry.target_type == "fonds" and entry.target_id == str(world["own"].pk)
    assert "content_completeness" in entry.detail["failed_checks"]


def test_an_unreadable_package_is_a_failed_self_check(
    world: dict[str, Any], tmp_path: Path
) -> None:
    garbage = tmp_path / "移交包.zip"
    garbage.write_bytes(b"PK\x03\x04 this is not a zip archive")
    sc = quality.self_check(garbage, world["own"], user=world["unit"])
    assert sc.result == "fail" and sc.error
    (item,) = [i for i in quality.report(sc) if i.status == "fail"]
    assert item.key == "package_structure" and item.guidance == rule.guidance("package_structure")
    assert registered() == (0, 0, 0, 0)


def test_a_unit_self_checks_and_reads_only_its_own(world: dict[str, Any], tmp_path: Path) -> None:
    source = bad_package(tmp_path / "pkg")
    with pytest.raises(services.IngestError, match="全宗 J019 不在您的权限范围内"):
        quality.self_check(source, world["other"], user=world["unit"])
    assert not SelfCheck.objects.exists()
    sc = quality.self_check(source, world["own"], user=world["unit"])
    assert quality.visible_self_check(world["unit"], sc.pk) == sc
    assert quality.visible_self_check(world["receiver"], sc.pk) == sc
    assert quality.visible_self_check(world["unit_b"], sc.pk) is None
    other = Client()
    other.force_login(world["unit_b"])
    refused = other.get(f"/transfers/quality/self-check/{sc.pk}/")
    assert refused.status_code == 404 and "无权查阅" in refused.content.decode()
    denied = AuditEntry.objects.filter(action="access_denied", target_type="self_check")
    assert denied.filter(actor="unit_b", target_id=str(sc.pk)).exists()
    assert other.get(f"/transfers/quality/units/{world['own'].pk}/").status_code == 403


def test_the_upload_page_checks_and_keeps_no_package(
    world: dict[str, Any], tmp_path: Path, settings: Any
) -> None:
    source = bad_package(tmp_path / "pkg")
    data = Path(shutil.make_archive(str(tmp_path / "pkg-zip"), "zip", root_dir=source)).read_bytes()
    client = Client()
    client.force_login(world["unit"])
    form = client.get("/transfers/quality/self-check/").content.decode()
    assert f'value="{world["own"].pk}"' in form and f'value="{world["other"].pk}"' not in form

    def post(unit: object) -> Any:
        package = SimpleUploadedFile("自检包.zip", data, content_type="application/zip")
        return client.post("/transfers/quality/self-check/", {"unit": unit, "package": package})

    refused = post(world["other"].pk)
    assert refused.status_code == 200 and "不在您的权限范围内" in refused.content.decode()
    done = post(world["own"].pk)
    assert done.status_code == 302
    sc = SelfCheck.objects.get()
    assert done["Location"].endswith(f"/transfers/quality/self-check/{sc.pk}/")
    assert (
        sc.result == "fail" and sc.package_name == "自检包.zip" and sc.created_by == world["unit"]
    )
    assert registered() == (0, 0, 0, 0)
    assert not any(Path(settings.UPLOAD_DIR).iterdir())  # the upload was removed
    page = client.get(done["Location"]).content.decode()
    assert rule.guidance("content_completeness") in page and "Z109-WS·2020-Y-BGS-0002" in page
    in_english = client.get(done["Location"], headers={"Accept-Language": "en"}).content.decode()
    assert rule.guidance("content_completeness", english=True) in in_english
    home = client.get("/transfers/quality/").content.decode()
    assert f"/transfers/quality/self-check/{sc.pk}/" in home


def test_quality_figures_from_self_checks_and_transfers(
    world: dict[str, Any], tmp_path: Path
) -> None:
    quality.self_check(bad_package(tmp_path / "a"), world["own"], user=world["unit"])
    quality.self_check(bad_package(tmp_path / "b"), world["own"], user=world["unit"])
    good = make_transfer(tmp_path / "good", 2, kinds=("pdf",), unit=UNIT)
    t = services.receive(good, fonds=world["own"], user=world["unit"])
    services.run_check(t.versions.get())  # no virus signatures here: fails "not scanned"
    runs = quality.runs()
    assert sorted(r.source for r in runs) == ["self", "self", "transfer"]
    fig = quality.figures(runs)
    items = {i.key: i for i in fig.items}
    assert (items["content_completeness"].applicable, items["content_completeness"].failed) == (
        3,
        2,
    )
    assert items["content_completeness"].pct == pytest.approx(33.3)
    assert items["virus_scan"].failed == 3
    assert items["transfer_process"].applicable == 1  # na in self-checks: not counted there
    assert fig.common_failures[0].key == "virus_scan"
    year = date.today().year
    assert fig.trend == [{
        "year": year,
        "self": {"runs": 2, "passed": 0, "pass_rate": 0.0},
        "transfer": {"runs": 1, "passed": 0, "pass_rate": 0.0},
    }]  # fmt: skip
    unit = quality.per_unit(runs)[world["own"].pk]
    assert (unit.runs, unit.self_checks, unit.passed) == (3, 2, 0)
    assert quality.runs([world["other"].pk]) == []

    receiver = Client()
    receiver.force_login(world["receiver"])
    board = receiver.get("/transfers/quality/").content.decode()
    assert "各检测项通过率" in board and UNIT in board
    assert load_catalogue().check("virus_scan").title_zh in board
    detail = receiver.get(f"/transfers/quality/units/{world['own'].pk}/").content.decode()
    assert "33.3%" in detail


@pytest.mark.clamd
def test_a_good_package_passes_its_self_check(
    world: dict[str, Any], tmp_path: Path, clamd_scanner: tuple[Scanner, Any]
) -> None:
    good = make_transfer(tmp_path / "good", 2, kinds=("pdf",), unit=UNIT)
    sc = quality.self_check(good, world["own"], user=world["unit"], scanner=clamd_scanner[0])
    assert sc.result == "pass" and registered() == (0, 0, 0, 0)
    assert not [i for i in quality.report(sc) if i.status == "fail"]
    fig = quality.figures(quality.runs([world["own"].pk]))
    assert fig.pct == 100.0


def test_visits_and_advice(world: dict[str, Any]) -> None:
    today = date.today()
    with pytest.raises(catalog.PermissionDenied):
        quality.add_visit(
            world["own"], visited_on=today, visitors="张三", advice="整改", user=world["unit"]
        )
    with pytest.raises(services.IngestError, match="须填写指导意见"):
        quality.add_visit(
            world["own"], visited_on=today, visitors="张三", advice=" ", user=world["receiver"]
        )
    with pytest.raises(services.IngestError, match="晚于今天"):
        quality.add_visit(
            world["own"], visited_on=today + timedelta(days=3), visitors="张三",
            advice="整改", user=world["receiver"],
        )  # fmt: skip
    client = Client()
    client.force_login(world["receiver"])
    posted = client.post(
        f"/transfers/quality/units/{world['own'].pk}/visits/",
        {"visited_on": today.isoformat(), "visitors": "张三、李四",
         "advice": "目录 XML 编码须为 UTF-8；补齐漏号", "follow_up": "两周后复查"},
    )  # fmt: skip
    assert posted.status_code == 302
    visit = QualityVisit.objects.get()
    assert (visit.visitors, visit.follow_up, visit.created_by) == (
        "张三、李四",
        "两周后复查",
        world["receiver"],
    )
    done = client.post(
        f"/transfers/quality/visits/{visit.pk}/follow-up/", {"follow_up": "已复查", "done": "1"}
    )
    assert done.status_code == 302
    visit.refresh_from_db()
    assert visit.follow_up_done and visit.follow_up == "已复查"
    assert "目录 XML 编码须为 UTF-8" in client.get("/transfers/quality/visits/").content.decode()
    actions = set(AuditEntry.objects.values_list("action", flat=True))
    assert {"quality_visit_record", "quality_visit_follow_up"} <= actions
    unit = Client()
    unit.force_login(world["unit"])
    assert unit.get("/transfers/quality/visits/").status_code == 403


def test_cli_self_check_json_on_success_and_errors(world: dict[str, Any], tmp_path: Path) -> None:
    runner = CliRunner()
    missing = runner.invoke(
        main, ["transfer", "self-check", str(tmp_path / "nowhere"), "--unit", "Z109", "--json"]
    )
    assert missing.exit_code == 2
    assert json.loads(missing.output) == {
        "ok": False, "error": f"“{tmp_path / 'nowhere'}”不存在", "result": "unreadable"
    }  # fmt: skip
    source = bad_package(tmp_path / "pkg")
    unknown = runner.invoke(main, ["transfer", "self-check", str(source), "--unit", "无此单位",
                                   "--json"])  # fmt: skip
    assert unknown.exit_code == 2 and json.loads(unknown.output)["ok"] is False
    result = runner.invoke(
        main, ["transfer", "self-check", str(source), "--unit", "Z109", "--json"]
    )
    assert result.exit_code == 1, result.output
    data = json.loads(result.output)
    assert data["result"] == "fail" and data["registered"] is False and data["fonds"] == "Z109"
    failed = {i["check"]: i for i in data["items"] if i["status"] == "fail"}
    assert failed["content_completeness"]["guidance"] == rule.guidance("content_completeness")
    assert registered() == (0, 0, 0, 0)
    text = runner.invoke(main, ["transfer", "self-check", str(source), "--unit", UNIT])
    assert text.exit_code == 1 and "改进：" in text.output and "未登记移交" in text.output
