"""Registering, checking, accepting, returning and resubmitting transfers; the transfer CLI."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from lantai.catalog import services as catalog
from lantai.catalog.models import Component, Record
from lantai.cli import main
from lantai.core.models import AuditEntry
from lantai.demo.transfer import make_transfer
from lantai.ingest import services
from lantai.ingest.models import CheckRecord, Transfer
from lantai.ingest.virus import Scanner
from lantai.preservation import ocfl
from lantai.preservation.models import Package
from lantai.preservation.storage import LocalLocation

pytestmark = [pytest.mark.clamd, pytest.mark.django_db]


@pytest.fixture
def scanner(clamd_scanner: tuple[Scanner, Any]) -> Scanner:
    return clamd_scanner[0]


@pytest.fixture
def ws(db: None) -> None:
    catalog.create_category(catalog.create_fonds("Z109", "岭南省人民政府办公厅"), "WS")


def test_receive_check_accept(
    tmp_path: Path,
    scanner: Scanner,
    ws: None,
    settings: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    settings.PRESERVATION_ROOT = tmp_path / "preservation"
    source = make_transfer(tmp_path / "pkg", 4, kinds=("pdf", "jpg"))
    t = services.receive(
        source, "岭南省人民政府办公厅", title="2020年文书档案移交", opening_opinion="到期开放"
    )
    version = t.versions.get()
    assert (Path(version.original).parts[0], t.status) == ("ingest", "pending")
    report = services.run_check(version, scanner=scanner)
    t.refresh_from_db()
    assert report.result == "pass" and t.status == "passed"
    assert CheckRecord.objects.filter(version=version).count() == len(report.checks)
    with django_capture_on_commit_callbacks(execute=True):
        created = services.accept(t)
    assert created == 4
    t.refresh_from_db()
    assert t.status == "accepted"
    # the accepted transfer is one archival package, written to preservation storage
    package = Package.objects.get(kind="transfer", source_id=t.pk)
    assert package.status == "preserved" and package.members.count() == 4
    backend = LocalLocation("local", settings.PRESERVATION_ROOT)
    state = ocfl.logical_state(ocfl.read_inventory(backend, package.object_id))
    report = json.loads(
        ocfl.read_logical(backend, package.object_id, "reports/detection-report.json")
    )
    assert report["result"] == "pass" and len(report["checks"]) == len(version.checks.all())
    assert sum(p.endswith("/metadata.xml") for p in state) == 4
    record = Record.objects.get(reference_code="Z109-WS·2020-Y-BGS-0001")
    assert Component.objects.filter(record=record).count() == 1
    assert AuditEntry.objects.filter(action="transfer_accept").exists()


def test_accepting_with_warnings_names_the_warned_checks(
    tmp_path: Path, scanner: Scanner, ws: None
) -> None:
    source = make_transfer(tmp_path / "pkg", 2, kinds=("pdf",))
    for i in range(7):  # files outside the transfer layout: 4-2 warnings
        (source / f"Thumbs{i}.db").write_bytes(b"x")
    t = services.receive(source, "岭南省人民政府办公厅", title="2020年文书档案移交")
    assert services.run_check(t.versions.get(), scanner=scanner).result == "pass"
    t.refresh_from_db()
    with pytest.raises(services.IngestError) as e:
        services.accept(t)
    message = e.value.message_zh if hasattr(e.value, "message_zh") else str(e.value)
    assert "4-2 载体内非移交文件检测（Thumbs0.db）" in message, message
    assert "Thumbs4.db" in message and "Thumbs5.db" not in message
    # seven files and the package-level 4-2 result
    assert "等，共 8 项" in message and "接收前须填写接收说明" in message


def test_failed_transfer_is_returned_and_resubmitted(
    tmp_path: Path, scanner: Scanner, ws: None
) -> None:
    source = make_transfer(tmp_path / "pkg", 3, kinds=("xml",))
    broken = next((source / "电子档案").rglob("*.xml"))
    broken.write_bytes(b"changed after the digests were made")
    t = services.receive(source, "岭南省人民政府办公厅")
    assert services.run_check(t.versions.get(), scanner=scanner).result == "fail"
    with pytest.raises(services.IngestError):
        services.accept(t)
    with pytest.raises(services.IngestError):
        services.return_transfer(t, "  ")
    services.return_transfer(t, "数字摘要不符，请重新导出")
    fixed = make_transfer(tmp_path / "fixed", 3, kinds=("xml",))
    version = services.resubmit(t, fixed)
    assert version.number == 2
    assert services.run_check(version, scanner=scanner).result == "pass"
    t.refresh_from_db()
    assert t.status == "passed" and Record.objects.count() == 0


def test_transfer_check_cli_exit_codes(
    tmp_path: Path, signature_dir: Path, ws: None, settings: Any
) -> None:
    settings.DATA_DIR = tmp_path / "data"  # its own clamd and signatures, gone with the test
    settings.DATA_DIR.mkdir()
    runner = CliRunner()
    source = make_transfer(tmp_path / "pkg", 2, kinds=("pdf",))
    result = runner.invoke(main, ["transfer", "check", str(source), "--json"])
    out = json.loads(result.output)
    assert result.exit_code == 1 and out["result"] == "fail"  # no signatures loaded: not scanned
    assert any(c["content_code"] == "4-1" and "未扫描" in str(c["evidence"]) for c in out["checks"])

    imported = runner.invoke(main, ["clamav", "import-signatures", str(signature_dir)])
    assert imported.exit_code == 0 and json.loads(imported.output)["count"] > 0
    try:
        result = runner.invoke(main, ["transfer", "check", str(source), "--json"])
        out = json.loads(result.output)
        assert result.exit_code == 0, [c for c in out["checks"] if c["status"] == "fail"]
        assert {c["property"] for c in out["checks"]} == {
            "authenticity",
            "integrity",
            "usability",
            "security",
        }

        junk = tmp_path / "junk.bin"
        junk.write_bytes(b"\x00" * 10)
        assert runner.invoke(main, ["transfer", "check", str(junk)]).exit_code == 2

        received = runner.invoke(
            main,
            [
                "transfer",
                "receive",
                str(source),
                "--unit",
                "岭南省人民政府办公厅",
                "--accept",
                "--json",
            ],
        )
        assert received.exit_code == 0, received.output
        assert json.loads(received.output)["status"] == "accepted"
        assert Transfer.objects.get().status == "accepted" and Record.objects.count() == 2

        # accepting the same records again is refused: valid JSON naming why, exit 1, and the
        # transfer stays registered and checked for `transfer accept ID`
        again = runner.invoke(
            main,
            ["transfer", "receive", str(source), "--unit", "岭南省人民政府办公厅", "--accept",
             "--json"],
        )  # fmt: skip
        refused = json.loads(again.stdout)
        assert again.exit_code == 1 and refused["status"] == "passed" and refused["error"]
        retry = runner.invoke(main, ["transfer", "accept", str(refused["transfer"]), "--json"])
        assert retry.exit_code == 1 and json.loads(retry.stdout)["error"]
        unknown = runner.invoke(main, ["transfer", "accept", "9999", "--json"])
        assert unknown.exit_code == 2 and "不存在" in json.loads(unknown.stdout)["error"]
        nowhere = runner.invoke(
            main, ["transfer", "receive", str(tmp_path / "nowhere"), "--unit", "某单位", "--json"]
        )
        assert nowhere.exit_code == 2 and json.loads(nowhere.stdout)["status"] == "unreadable"
        assert Record.objects.count() == 2
    finally:
        from django.conf import settings

        Scanner(settings.DATA_DIR).stop()


def test_a_check_interrupted_by_a_dead_worker_is_requeued(
    tmp_path: Path, ws: None, settings: Any
) -> None:
    import time
    from datetime import timedelta

    from django.utils import timezone

    from lantai.ingest import tasks

    settings.DATA_DIR = tmp_path / "data"
    settings.DATA_DIR.mkdir()
    t = services.receive(make_transfer(tmp_path / "pkg", 2, kinds=("xml",)), "岭南省人民政府办公厅")
    old = timezone.now() - timedelta(seconds=tasks.STALE_SECONDS + 60)
    Transfer.objects.filter(pk=t.pk).update(
        status="checking", updated_at=old
    )  # as a killed worker leaves it
    fresh = services.receive(
        make_transfer(tmp_path / "pkg2", 2, kinds=("xml",)), "岭南省人民政府办公厅"
    )
    Transfer.objects.filter(pk=fresh.pk).update(status="checking")  # still running: left alone

    assert tasks.requeue_stale(time.time()) == [t.versions.get().pk]
    t.refresh_from_db()
    fresh.refresh_from_db()
    assert t.status == "failed"  # checked again; no signatures here, so "not scanned" fails it
    assert fresh.status == "checking"
