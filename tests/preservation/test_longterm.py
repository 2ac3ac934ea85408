"""The DA/T 70 长期保存 checks on stored packages: restore from every replica, verify in place,
compare with the catalogue, re-validate formats and re-scan for viruses with a real clamd."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pikepdf
import pytest
from click.testing import CliRunner

from lantai.catalog import services as catalog
from lantai.catalog.components import attach_component
from lantai.catalog.models import Record
from lantai.cli import main
from lantai.ingest.virus import Scanner
from lantai.preservation import locations, longterm, ocfl, packaging, replication
from lantai.preservation.models import Event, LongTermCheck, Package, Replica, StorageLocation
from tests.clamd import eicar_bytes

pytestmark = [pytest.mark.clamd, pytest.mark.django_db(transaction=True)]


def _pdf(text: str = "") -> bytes:
    """A small valid PDF, made with pikepdf (the validator's own library is not the judge of
    this file: qpdf checks the structure pikepdf writes)."""
    pdf = pikepdf.new()
    pdf.add_blank_page(page_size=(200, 200))
    pdf.docinfo["/Title"] = text or "会议纪要"
    out = io.BytesIO()
    pdf.save(out)
    return out.getvalue()


@pytest.fixture(autouse=True)
def _roots(settings: Any, tmp_path: Path) -> None:
    settings.PRESERVATION_ROOT = tmp_path / "primary"
    settings.MEDIA_ROOT = tmp_path / "files"


@pytest.fixture
def scanner(clamd_scanner: tuple[Scanner, Any]) -> Scanner:
    return clamd_scanner[0]


def _package(tmp_path: Path, files: dict[str, bytes]) -> Package:
    category = catalog.create_category(catalog.create_fonds("Z109", "岭南省人民政府办公厅"), "WS")
    ids = []
    for i, (name, data) in enumerate(files.items(), start=1):
        record, issues = catalog.save_record(
            category,
            {
                "reference_code": f"Z109-WS·2021-Y-BGS-{i:04d}",
                "title": f"会议纪要第{i}期",
                "date": "2021-03-04",
                "retention": "永久",
                "author": "岭南省人民政府办公厅",
            },
        )
        assert record is not None, issues
        attach_component(record, [data], name, user=None)
        ids.append(record.pk)
    locations.add_location("offsite", path=str(tmp_path / "offsite"), required=True)
    pkg = packaging.new_package("transfer", "移交：会议纪要", None, ids)
    assert replication.preserve(pkg.pk) == "preserved"
    pkg.refresh_from_db()
    return pkg


def _failed(report: longterm.Report) -> dict[str, list[Any]]:
    """The failed results about single objects (not the package-level summaries), by title."""
    out: dict[str, list[Any]] = {}
    for c in report.checks:
        if c.status == "fail" and c.object not in report.packages:
            out.setdefault(c.title, []).append(c)
    return out


def test_intact_package_passes_every_long_term_check(tmp_path: Path, scanner: Scanner) -> None:
    pkg = _package(tmp_path, {"纪要1.pdf": _pdf(), "纪要2.pdf": _pdf("第二期")})
    report, stored = longterm.run([pkg], scanner=scanner)
    assert report.result == "pass", _failed(report)
    codes = {(c.property, c.content_code) for c in report.checks}
    assert codes == {
        ("authenticity", "1-1"), ("authenticity", "1-5"), ("integrity", "2-1"),
        ("integrity", "2-2"), ("integrity", "2-4"), ("usability", "3-2"), ("usability", "3-4"),
        ("security", "4-1"),
    }  # fmt: skip
    assert report.as_json()["stage"] == "长期保存"
    assert stored.result == "pass" and LongTermCheck.objects.count() == 1
    pkg.refresh_from_db()
    assert pkg.checked_at is not None
    assert Event.objects.filter(package=pkg, event_type="validation", outcome="success").exists()
    assert not list(Path(tmp_path).rglob("scratch/*"))  # the restore area is cleaned up


def test_every_long_term_pass_names_what_it_examined(tmp_path: Path, scanner: Scanner) -> None:
    pkg = _package(tmp_path, {"纪要1.pdf": _pdf(), "纪要2.pdf": _pdf("第二期")})
    report, stored = longterm.run([pkg], scanner=scanner)
    passes = [c for c in report.checks if c.status == "pass"]
    assert {c.check for c in passes} == {
        "bc_fixity", "bc_package_authenticity", "bc_totals", "bc_metadata_consistency",
        "bc_package_completeness", "bc_format_usable", "bc_backup_recoverable", "bc_virus_scan",
    }  # fmt: skip
    for c in passes:
        assert c.evidence.get("compared") and c.evidence["checked"] >= 1, c
    by_key = {c.check: c.evidence for c in passes}
    assert by_key["bc_backup_recoverable"]["checked"] == 2  # primary and offsite
    assert by_key["bc_format_usable"]["checked"] == 2 and by_key["bc_virus_scan"]["checked"] == 2
    assert all(c["check"] and c["catalogue_revision"] >= 2 for c in stored.checks)


def test_without_replicas_nothing_passes_that_needs_one(tmp_path: Path, scanner: Scanner) -> None:
    pkg = _package(tmp_path, {"纪要1.pdf": _pdf()})
    Replica.objects.filter(package=pkg).delete()
    report, _ = longterm.run([pkg], scanner=scanner)
    status = {c.check: c.status for c in report.checks if c.object == pkg.object_id}
    for key in ("bc_fixity", "bc_package_authenticity", "bc_package_completeness",
                "bc_backup_recoverable", "bc_format_usable", "bc_virus_scan"):  # fmt: skip
        assert status[key] == "fail", (key, status)
    assert report.result == "fail"


def test_a_stored_format_outside_the_policy_warns_with_its_pronom_id(
    tmp_path: Path, scanner: Scanner, settings: Any
) -> None:
    pkg = _package(tmp_path, {"纪要1.pdf": _pdf()})
    own = tmp_path / "formats.yaml"
    own.write_text(
        "name: 只收 OFD\nformats:\n  - {name: OFD, extensions: [.ofd]}\n", encoding="utf-8"
    )
    settings.ACCEPTED_FORMATS = str(own)
    report, _ = longterm.run([pkg], scanner=scanner)
    warned = [c for c in report.checks if c.check == "bc_format_usable" and c.status == "warn"]
    assert any(c.object.endswith("纪要1.pdf") and c.evidence["puid"] in c.evidence["reason"]
               for c in warned), warned  # fmt: skip


def test_damaged_replica_fails_fixity_and_recoverability(tmp_path: Path, scanner: Scanner) -> None:
    pkg = _package(tmp_path, {"纪要1.pdf": _pdf()})
    backend = locations.open_location(StorageLocation.objects.get(name="offsite"))
    inv = ocfl.read_inventory(backend, pkg.object_id)
    content = ocfl.logical_state(inv)["records/Z109-WS·2021-Y-BGS-0001/纪要1.pdf"]
    path = tmp_path / "offsite" / ocfl.object_root(pkg.object_id) / content.content_path
    data = bytearray(path.read_bytes())
    data[20] ^= 0x10
    path.write_bytes(bytes(data))
    report, _ = longterm.run([pkg], scanner=scanner)
    failed = _failed(report)
    fixity = failed["保存文件固化信息检测（SM3、SHA-256 与入库时比对）"]
    assert {c.evidence["reason"].split()[1] for c in fixity} == {"sha256", "sm3"}
    assert all("offsite" in c.object for c in fixity)
    assert "备份数据可恢复性检测（从各副本恢复并比对）" in failed
    # the primary copy is fine: formats and virus checks ran on it and passed
    assert "内容数据可正常打开、格式仍可用检测" not in failed


def test_catalogue_drift_and_unusable_format_and_virus_are_found(
    tmp_path: Path, scanner: Scanner
) -> None:
    pkg = _package(
        tmp_path,
        {"纪要1.pdf": _pdf(), "损坏.pdf": _pdf()[:60], "附件.com": eicar_bytes()},
    )
    # a change that bypassed the catalogue services (no signal, no new version)
    Record.objects.filter(reference_code="Z109-WS·2021-Y-BGS-0001").update(title="被改动的题名")
    report, stored = longterm.run([pkg], scanner=scanner)
    failed = _failed(report)
    drift = failed["保存的元数据与目录数据库一致性检测"]
    assert drift[0].object.endswith("Z109-WS·2021-Y-BGS-0001/metadata.xml")
    assert "title" in drift[0].evidence["fields"]
    unusable = failed["内容数据可正常打开、格式仍可用检测"]
    assert [c.object for c in unusable] == ["records/Z109-WS·2021-Y-BGS-0002/损坏.pdf"]
    virus = failed["保存信息包病毒检测（以当前病毒库重新扫描）"]
    assert [c.object for c in virus] == ["records/Z109-WS·2021-Y-BGS-0003/附件.com"]
    assert stored.result == "fail"


def test_no_signatures_is_not_scanned_and_fails(tmp_path: Path) -> None:
    pkg = _package(tmp_path, {"纪要1.pdf": _pdf()})
    bare = Scanner(tmp_path / "no-signatures")
    try:
        report, _ = longterm.run([pkg], scanner=bare)
    finally:
        bare.stop()
    virus = _failed(report)["保存信息包病毒检测（以当前病毒库重新扫描）"]
    assert "未" in json.dumps(virus[0].evidence, ensure_ascii=False)
    assert not [c for c in report.checks if c.check == "bc_virus_scan" and c.status == "pass"]


def test_storage_check_cli(tmp_path: Path, scanner: Scanner, settings: Any) -> None:
    settings.DATA_DIR = scanner.data_dir  # the CLI's own clamd is the running test clamd
    pkg = _package(tmp_path, {"纪要1.pdf": _pdf()})
    ok = CliRunner().invoke(main, ["storage", "check", "--package", pkg.object_id, "--json"])
    assert ok.exit_code == 0, ok.output
    assert json.loads(ok.output)["result"] == "pass"
    Record.objects.update(title="改")
    bad = CliRunner().invoke(main, ["storage", "check", "--package", str(pkg.pk)])
    assert bad.exit_code == 1 and "保存的元数据与目录数据库一致性检测" in bad.output
    missing = CliRunner().invoke(main, ["storage", "check", "--package", "nope"])
    assert missing.exit_code != 0 and "没有信息包" in missing.output
