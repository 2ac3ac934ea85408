"""The whole 移交与接收 check (unpack → read → fixity → formats → virus → metadata → package, with a
real clamd) over the Library of Congress BagIt conformance suite, v0.97 and v1.0, read from
../shared: every valid bag passes, every invalid one fails. Bags made here with the ``bagit``
library (not Lantai's code) cover SHA-384, a bag without Payload-Oxum, and acceptance."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import bagit
import pytest

from lantai.ingest.pipeline import TransferCheck, check_transfer
from lantai.ingest.virus import Scanner

pytestmark = pytest.mark.clamd

SUITE = Path(__file__).resolve().parents[3] / "shared" / "corpora" / "bagit-conformance-suite"
if not SUITE.is_dir():
    SUITE = Path("/work/shared/corpora/bagit-conformance-suite")
VERSIONS = ("v0.97", "v1.0")


def _cases(*kinds: str) -> list[Path]:
    return sorted(
        p for v in VERSIONS for k in kinds for p in (SUITE / v / k).glob("*") if p.is_dir()
    )


def _id(p: Path) -> str:
    return str(p.relative_to(SUITE))


@pytest.fixture(scope="module")
def scanner(clamd_scanner: tuple[Scanner, Any]) -> Scanner:
    return clamd_scanner[0]


def check(bag: Path, tmp_path: Path, scanner: Scanner) -> TransferCheck:
    return check_transfer(bag, tmp_path / "work", scanner=scanner, processes=1)


def failures(report: TransferCheck) -> list[tuple[str, str, Any]]:
    return [(c.content_code, c.object, c.evidence) for c in report.checks if c.status == "fail"]


def test_the_suite_is_there() -> None:
    assert len(_cases("valid")) == 13 and len(_cases("invalid")) == 15


@pytest.mark.parametrize("bag", _cases("valid"), ids=_id)
def test_valid_bag_passes_the_whole_check(bag: Path, tmp_path: Path, scanner: Scanner) -> None:
    report = check(bag, tmp_path, scanner)
    assert report.kind == "bagit"
    assert report.result == "pass", failures(report)
    # bag tag files are package metadata, never "non-transfer files"
    assert [
        c.object for c in report.checks if c.check == "non_transfer_files" and c.status != "pass"
    ] == []
    # the virus scan really ran, on every file of the bag
    virus = [c for c in report.checks if c.content_code == "4-1"]
    assert virus and all(c.status == "pass" and c.evidence.get("signatures") for c in virus)
    # the counts were compared, from Payload-Oxum or, without it, from the manifest
    counted = [
        c for c in report.checks if c.check in ("register_item_count", "register_byte_count")
    ]
    assert counted and all(c.status == "pass" for c in counted), counted
    # 3-1 says what it read: a bag's tag files, not XML
    readable = next(c for c in report.checks if c.check == "metadata_readable")
    assert "bag-info.txt" in readable.evidence["compared"], readable.evidence


@pytest.mark.parametrize("bag", _cases("invalid", "linux-only"), ids=_id)
def test_invalid_bag_fails_the_whole_check(bag: Path, tmp_path: Path, scanner: Scanner) -> None:
    report = check(bag, tmp_path, scanner)
    bag_failures = [f for f in failures(report) if f[0] != "4-1"]
    assert report.result == "fail" and bag_failures, _id(bag)


def test_bag_without_payload_oxum_counts_from_the_manifest(
    tmp_path: Path, scanner: Scanner
) -> None:
    bag = SUITE / "v1.0" / "valid" / "basicBag"
    assert not (bag / "bag-info.txt").exists()  # so no Payload-Oxum either
    report = check(bag, tmp_path, scanner)
    items = next(c for c in report.checks if c.check == "register_item_count")
    assert items.status == "pass" and items.evidence["expected"] == items.evidence["found"] >= 1
    assert "manifest-sha512.txt" in items.object


def test_sha224_manifest_is_compared(tmp_path: Path, scanner: Scanner) -> None:
    report = check(SUITE / "v0.97" / "valid" / "uncommon-metadata-separators", tmp_path, scanner)
    fixity = [c for c in report.checks if c.content_code == "1-1" and c.object == "data/README"]
    assert fixity and all(c.status == "pass" for c in fixity)
    assert "sha224" in str(fixity[0].evidence).lower()


def _make_bag(folder: Path, algorithms: list[str], files: dict[str, bytes], **info: str) -> Path:
    folder.mkdir(parents=True)
    for name, data in files.items():
        (folder / name).write_bytes(data)
    bagit.make_bag(str(folder), dict(info), checksums=algorithms)
    return folder


def test_sha384_bag_passes_and_a_changed_file_fails(tmp_path: Path, scanner: Scanner) -> None:
    bag = _make_bag(tmp_path / "bag", ["sha384"], {"通知.txt": "岭南省通知".encode()})
    assert (bag / "manifest-sha384.txt").is_file()
    report = check(bag, tmp_path / "1", scanner)
    assert report.result == "pass", failures(report)
    (bag / "data" / "通知.txt").write_bytes("岭南省通知（改）".encode())
    report = check(bag, tmp_path / "2", scanner)
    fixity = [f for f in failures(report) if f[0] == "1-1"]
    assert fixity and fixity[0][1] == "data/通知.txt" and fixity[0][2]["algorithm"] == "sha384"


def test_bag_without_oxum_and_a_missing_file_fails(tmp_path: Path, scanner: Scanner) -> None:
    bag = _make_bag(tmp_path / "bag", ["sha256"], {"a.txt": b"a", "b.txt": b"bb"})
    info = bag / "bag-info.txt"
    info.write_text(
        "".join(ln for ln in info.read_text().splitlines(True) if not ln.startswith("Payload-Oxum"))
    )
    bagit.Bag(str(bag)).save(manifests=False)  # the tag manifests follow the edited bag-info
    (bag / "data" / "b.txt").unlink()
    report = check(bag, tmp_path, scanner)
    assert report.result == "fail"
    assert any(f[1] == "data/b.txt" for f in failures(report))


def test_a_payload_file_missing_from_the_manifest_is_named(
    tmp_path: Path, scanner: Scanner
) -> None:
    bag = _make_bag(tmp_path / "bag", ["sha256"], {"a.txt": b"a", "b.txt": b"bb"})
    (bag / "data" / "unlisted.txt").write_bytes(b"not in any manifest")
    report = check(bag, tmp_path, scanner)
    named = {(c.content_code, c.status) for c in report.checks if c.object == "data/unlisted.txt"}
    assert {("2-4", "fail"), ("1-1", "fail")} <= named, named


@pytest.fixture
def accepted_bag(
    tmp_path: Path, scanner: Scanner, settings: Any, django_capture_on_commit_callbacks: Any
) -> Any:
    """Receive, check and accept a bag through the services; returns (transfer, created)."""
    from lantai.ingest import services

    settings.PRESERVATION_ROOT = tmp_path / "preservation"

    def run(bag: Path, unit: str, **accept: Any) -> tuple[Any, int]:
        t = services.receive(bag, unit, title="BagIt 移交")
        report = services.run_check(t.versions.get(), scanner=scanner)
        assert report.result == "pass", failures(report)
        with django_capture_on_commit_callbacks(execute=True):
            created = services.accept(t, reason="格式不在接收范围内的警告已核实", **accept)
        return t, created

    return run


@pytest.mark.django_db
def test_accepting_a_bag_without_a_catalogue_creates_pending_items(accepted_bag: Any) -> None:
    from lantai.catalog import services as catalog
    from lantai.catalog.models import Component, Record

    # the suite's bag-info names Source-Organization: Spengler University
    catalog.create_category(
        catalog.create_fonds("S001", "斯宾格勒大学档案", creator="Spengler University"), "WS"
    )
    _t, created = accepted_bag(SUITE / "v0.97" / "valid" / "bag-with-space", "Spengler University")
    assert created == 5
    records = {r.title: r for r in Record.objects.all()}
    assert set(records) == {"test 1", "test2", "test3", "test4", "test5"}
    one = records["test 1"]
    assert one.metadata["extra"]["著录状态"] == "待著录" and "待著录" in one.remarks
    assert one.metadata["extra"]["bag-info:External-Identifier"] == "spengler_yoshimuri_001"
    assert one.author == "Spengler University" and one.year == 2008  # Bagging-Date 2008-01-15
    assert one.reference_code.startswith("S001-WS·2008-Y-待著录-")
    assert sorted(r.sequence_number for r in records.values()) == [1, 2, 3, 4, 5]
    assert Component.objects.get(record=one).name == "test 1.txt"


@pytest.mark.django_db
def test_a_bag_without_a_catalogue_needs_its_fonds_and_category(accepted_bag: Any) -> None:
    from lantai.catalog import services as catalog
    from lantai.catalog.models import Record
    from lantai.ingest.services import IngestError

    fonds = catalog.create_fonds("Z109", "岭南省人民政府办公厅")
    catalog.create_category(fonds, "WS")
    catalog.create_category(fonds, "ZP")
    bag = SUITE / "v1.0" / "valid" / "basicBag"  # no bag-info: no organisation named
    with pytest.raises(IngestError, match="须指定全宗号和门类代码"):
        accepted_bag(bag, "岭南省人民政府办公厅")
    assert Record.objects.count() == 0
    _t, created = accepted_bag(bag, "岭南省人民政府办公厅", fonds_code="Z109", category_code="WS")
    assert created == Record.objects.count() >= 1
    assert all(r.metadata["extra"]["著录状态"] == "待著录" for r in Record.objects.all())


@pytest.mark.django_db
def test_contact_name_is_a_person_and_half_a_target_is_refused(
    accepted_bag: Any, tmp_path: Path
) -> None:
    """bag-info's Contact-Name names a person, never the fonds' organisation; a fonds without its
    category (or the reverse) is refused, saying that both are needed."""
    from lantai.catalog import services as catalog
    from lantai.catalog.models import Record
    from lantai.ingest.services import IngestError

    catalog.create_category(catalog.create_fonds("Z110", "王五个人档案", creator="王五"), "WS")
    other = catalog.create_fonds("Z111", "岭南省档案局")
    catalog.create_category(other, "WS")
    bag = _make_bag(tmp_path / "bag", ["sha256"], {"a.txt": b"a"}, **{"Contact-Name": "王五"})
    with pytest.raises(IngestError, match="须指定全宗号和门类代码"):
        accepted_bag(bag, "岭南省人民政府办公厅")
    with pytest.raises(IngestError, match="只给出了全宗号“Z111”，未给出门类代码"):
        accepted_bag(bag, "王五", fonds_code="Z111")
    assert Record.objects.count() == 0


def _description(code_parts: str, title: str, file_name: str) -> str:
    """A DA/T 46 description of one record, written by hand as a 文件实体 XML."""
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<文件实体>
  <聚合层次>文件</聚合层次>
  <来源><立档单位名称>岭南省人民政府办公厅</立档单位名称></来源>
  <档号>{code_parts}</档号>
  <内容描述>
    <题名>{title}</题名><责任者>岭南省人民政府办公厅</责任者><日期>20190315</日期><密级>公开</密级>
  </内容描述>
  <形式特征><文件组合类型>单件</文件组合类型></形式特征>
  <文件数据><文档><文档数据><编码><电子属性>
    <计算机文件名>{file_name}</计算机文件名>
  </电子属性></编码></文档数据></文档></文件数据>
</文件实体>
"""


def _described_bag(folder: Path) -> Path:
    from tests.standards.transfer.eep_by_hand import png

    parts = "<全宗号>Z109</全宗号><目录号>WS</目录号><年度>2019</年度><保管期限>永久</保管期限><机构或问题>BGS</机构或问题><室编件号>{n}</室编件号>"
    files: dict[str, bytes] = {}
    for n, title in ((1, "关于防汛的通知"), (2, "防汛会议纪要")):
        files[f"{n:04d}.png"] = png(str(n))
        files[f"{n:04d}.xml"] = _description(parts.format(n=n), title, f"{n:04d}.png").encode(
            "utf-8"
        )
    return _make_bag(folder, ["sha256"], files, **{"Source-Organization": "岭南省人民政府办公厅"})


def test_bag_with_dat46_descriptions_is_checked_against_them(
    tmp_path: Path, scanner: Scanner
) -> None:
    bag = _described_bag(tmp_path / "bag")
    report = check(bag, tmp_path / "1", scanner)
    assert report.result == "pass", failures(report)
    assert report.items == 2
    described = [c for c in report.checks if c.check == "metadata_completeness"]
    assert described and all(c.status == "pass" for c in described)
    # a payload file that no description names is reported (2-4)
    extra = bag / "data" / "未描述.png"
    shutil.copy(bag / "data" / "0001.png", extra)
    bagit.Bag(str(bag)).save(manifests=True)
    report = check(bag, tmp_path / "2", scanner)
    assert ("2-4", "data/未描述.png") in {(f[0], f[1]) for f in failures(report)}


@pytest.mark.django_db
def test_accepting_a_described_bag_uses_its_descriptions(accepted_bag: Any, tmp_path: Path) -> None:
    from lantai.catalog import services as catalog
    from lantai.catalog.models import Component, Record

    catalog.create_category(catalog.create_fonds("Z109", "岭南省人民政府办公厅"), "WS")
    _t, created = accepted_bag(_described_bag(tmp_path / "bag"), "岭南省人民政府办公厅")
    assert created == 2
    record = Record.objects.get(reference_code="Z109-WS·2019-Y-BGS-0002")
    assert record.title == "防汛会议纪要" and "著录状态" not in record.metadata.get("extra", {})
    assert Component.objects.get(record=record).name == "0002.png"


@pytest.mark.django_db
def test_accepting_a_bag_carrying_the_chinese_layout_uses_its_catalogue(
    accepted_bag: Any, tmp_path: Path
) -> None:
    from lantai.catalog import services as catalog
    from lantai.catalog.models import Record
    from lantai.demo.transfer import make_transfer

    catalog.create_category(catalog.create_fonds("Z109", "岭南省人民政府办公厅"), "WS")
    folder = make_transfer(tmp_path / "bag", 3, kinds=("xml",))
    bagit.make_bag(
        str(folder), {"Source-Organization": "岭南省人民政府办公厅"}, checksums=["sha512"]
    )
    _t, created = accepted_bag(folder, "岭南省人民政府办公厅")
    assert created == 3
    assert not any("著录状态" in r.metadata.get("extra", {}) for r in Record.objects.all())


@pytest.mark.django_db
def test_the_accept_form_places_a_bag_without_a_catalogue(
    tmp_path: Path, scanner: Scanner, settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    """The web accept form carries the fonds and category of the 待著录 items."""
    from django.test import Client
    from django.urls import reverse

    from lantai.catalog import services as catalog
    from lantai.catalog.models import Record
    from lantai.core import accounts
    from lantai.ingest import services

    settings.PRESERVATION_ROOT = tmp_path / "preservation"
    fonds = catalog.create_fonds("Z109", "岭南省人民政府办公厅")
    catalog.create_category(fonds, "WS")
    catalog.create_category(fonds, "ZP")
    t = services.receive(
        SUITE / "v1.0" / "valid" / "basicBag", "岭南省人民政府办公厅", title="BagIt"
    )
    assert services.run_check(t.versions.get(), scanner=scanner).result == "pass"
    client = Client()
    client.force_login(
        accounts.create_user(
            "receiver", role="receiving_archivist", password="Lantai-Test-2026!", scope_all=True
        )
    )
    url = reverse("web:transfer_accept", args=[t.pk])
    page = client.post(url, {"reason": "已核实"}, follow=True).content.decode()
    assert "须指定全宗号和门类代码" in page and Record.objects.count() == 0
    with django_capture_on_commit_callbacks(execute=True):
        client.post(url, {"reason": "已核实", "fonds": "Z109", "category": "WS"}, follow=True)
    assert Record.objects.count() >= 1
    assert {r.category.code for r in Record.objects.all()} == {"WS"}
