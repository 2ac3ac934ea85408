"""A DA/T 48 EEP transfer end to end, with EEPs built by hand (tests/standards/transfer/
eep_by_hand.py, not Lantai's writer): the whole check with a real clamd verifies its signatures
(RSA and SM2) in 1-1, a change after signing fails 1-1, and accepting creates the records under
the 档号 assembled from the parts of <档号>, with the embedded files attached."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from lantai.ingest.pipeline import TransferCheck, check_transfer
from lantai.ingest.virus import Scanner
from tests.standards.transfer import eep_by_hand as hand

pytestmark = pytest.mark.clamd


@pytest.fixture
def scanner(clamd_scanner: tuple[Scanner, Any]) -> Scanner:
    return clamd_scanner[0]


def entities() -> list[hand.Entity]:
    return [
        hand.Entity(title="关于2019年防汛工作的通知", item=1, files=[("通知.png", hand.png("1"))]),
        hand.Entity(
            title="防汛工作会议纪要",
            item=2,
            files=[("纪要.png", hand.png("2")), ("附件.png", hand.png("2a"))],
        ),
    ]


def check(folder: Path, tmp_path: Path, scanner: Scanner) -> TransferCheck:
    return check_transfer(folder, tmp_path / "work", scanner=scanner, processes=1)


def failures(report: TransferCheck) -> list[tuple[str, str, Any]]:
    return [(c.content_code, c.object, c.evidence) for c in report.checks if c.status == "fail"]


def test_signed_eep_passes_the_whole_check(tmp_path: Path, scanner: Scanner) -> None:
    root = hand.build(entities())
    hand.sign_rsa(root, hand.rsa_identity())
    hand.write(root, tmp_path / "pkg" / "防汛.xml")
    report = check(tmp_path / "pkg", tmp_path, scanner)
    assert report.kind == "eep" and report.items == 2
    assert report.result == "pass", failures(report)
    [signature] = [c for c in report.checks if c.check == "signature"]
    assert signature.status == "pass" and signature.object == "防汛.xml"


def test_eep_changed_after_signing_fails_1_1(tmp_path: Path, scanner: Scanner) -> None:
    root = hand.build(entities())
    hand.sign_sm2(root, hand.sm2_identity(tmp_path / "keys"))
    next(root.iter(hand.q("封装包创建单位"))).text = "另一单位"
    hand.write(root, tmp_path / "pkg" / "防汛.xml")
    report = check(tmp_path / "pkg", tmp_path, scanner)
    assert report.result == "fail"
    assert {f[0] for f in failures(report)} == {"1-1"}
    [signature] = [c for c in report.checks if c.check == "signature"]
    assert signature.status == "fail" and "内容不符" in signature.evidence["reason"]


@pytest.mark.django_db
def test_signed_eep_is_accepted_under_the_assembled_codes(
    tmp_path: Path, scanner: Scanner, settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    from lantai.catalog import services as catalog
    from lantai.catalog.models import Component, Record
    from lantai.ingest import services

    settings.PRESERVATION_ROOT = tmp_path / "preservation"
    catalog.create_category(catalog.create_fonds("Z109", "岭南省人民政府办公厅"), "WS")
    root = hand.build(entities())
    hand.sign_sm2(root, hand.sm2_identity(tmp_path / "keys"))
    hand.write(root, tmp_path / "pkg" / "防汛.xml")
    t = services.receive(tmp_path / "pkg", "岭南省人民政府办公厅", title="2019年防汛文件")
    report = services.run_check(t.versions.get(), scanner=scanner)
    assert report.result == "pass", failures(report)
    with django_capture_on_commit_callbacks(execute=True):
        created = services.accept(t, reason="已核对警告项")
    assert created == 2
    second = Record.objects.get(reference_code="Z109-WS·2019-Y-BGS-0002")
    assert second.title == "防汛工作会议纪要" and second.year == 2019 and second.retention == "Y"
    names = set(Component.objects.filter(record=second).values_list("name", flat=True))
    assert names == {"纪要.png", "附件.png"}
    assert Record.objects.filter(reference_code="Z109-WS·2019-Y-BGS-0001").exists()
