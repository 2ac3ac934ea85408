"""Issue 11, points 1-5 and 15: no pass without evidence, honest 1-1 / 3-3 / 4-3 / 3-2, every result
names its catalogue key, accept re-verifies what was checked, and the floor rule of the house."""

from __future__ import annotations

import ast
import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from lantai.catalog import services as catalog
from lantai.catalog.models import Record
from lantai.cli import main
from lantai.core.models import AuditEntry
from lantai.demo.transfer import make_eep_transfer, make_transfer
from lantai.formats.policy import load_policy
from lantai.ingest import services
from lantai.ingest.models import CheckRecord
from lantai.ingest.pipeline import TransferCheck, check_transfer
from lantai.ingest.summaries import CheckPolicy
from lantai.ingest.virus import Scanner
from lantai.standards.dat70 import CheckResult, EvidenceError, load_catalogue

SRC = Path(__file__).resolve().parents[2] / "src" / "lantai"


@pytest.fixture
def scanner(clamd_scanner: tuple[Scanner, Any]) -> Scanner:
    return clamd_scanner[0]


@pytest.fixture
def package(tmp_path: Path) -> Path:
    return make_transfer(tmp_path / "pkg", 4, kinds=("pdf", "jpg", "xml"))


def run(source: Path, tmp_path: Path, scanner: Scanner | None, **kw: Any) -> TransferCheck:
    work = tmp_path / "work"
    shutil.rmtree(work, ignore_errors=True)
    return check_transfer(source, work, scanner=scanner, processes=1, **kw)


def summary(report: TransferCheck, key: str) -> CheckResult:
    (found,) = [c for c in report.checks if c.check == key and c.object == "package"]
    return found


# --- 1. no pass without evidence ---------------------------------------------------------------


def test_a_pass_must_say_what_it_examined() -> None:
    with pytest.raises(EvidenceError):
        CheckResult.from_spec("fixity", "pass")  # the old "stage was silent" pass
    with pytest.raises(EvidenceError):
        CheckResult.from_spec("fixity", "pass", evidence={"compared": "x"})  # no count
    with pytest.raises(EvidenceError):
        CheckResult.from_spec("environment", "na")  # na without a reason
    ok = CheckResult.from_spec("fixity", "pass", evidence={"checked": 3, "compared": "摘要"})
    assert ok.evidence["checked"] == 3


@pytest.mark.clamd
def test_every_pass_of_a_good_package_names_its_count(
    package: Path, tmp_path: Path, scanner: Scanner
) -> None:
    report = run(package, tmp_path, scanner)
    assert report.result == "pass"
    passes = [c for c in report.checks if c.status == "pass"]
    assert passes
    for c in passes:
        assert c.evidence, c
        assert isinstance(c.evidence.get("checked"), int) and c.evidence["checked"] >= 1, c
        if c.object == "package":
            assert c.evidence.get("compared"), c
    # the checks that used to pass silently now say what they examined
    for key, n in [("fixity", 4), ("storage_location", 4), ("content_completeness", 4),
                   ("package_completeness", 4), ("non_transfer_files", 7)]:  # fmt: skip
        assert summary(report, key).status == "pass"
        assert summary(report, key).evidence["checked"] == n, key
    assert summary(report, "content_attributes").status == "na"  # no sizes declared
    out = report.as_json()
    assert all(c["evidence"] for c in out["checks"] if c["status"] == "pass")
    # every result, unpack and format ones included, names its catalogue check
    assert all(c.check and c.catalogue_revision == load_catalogue().revision for c in report.checks)


# --- 2. 1-1 without fixity information, 3-3 declared fields -------------------------------------


def _strip_digests(package: Path) -> None:
    reg = package / "其他" / "移交登记表.XML"
    text = reg.read_text(encoding="utf-8")
    reg.write_text(re.sub(r"\s*<数字摘要 [^>]*>[0-9a-f]+</数字摘要>", "", text), encoding="utf-8")


def test_a_register_without_digests_fails_1_1(package: Path, tmp_path: Path) -> None:
    _strip_digests(package)
    report = run(package, tmp_path, None)
    fixity = summary(report, "fixity")
    assert fixity.status == "fail" and "未声明数字摘要" in fixity.evidence["reason"]
    warned = run(package, tmp_path, None, policy=CheckPolicy(no_fixity="warn", formats=None))
    assert summary(warned, "fixity").status == "warn"


def test_an_eep_without_a_signature_block_does_not_pass_1_1(tmp_path: Path) -> None:
    eeps = make_eep_transfer(tmp_path / "eep", 1)
    assert "<电子签名" not in next(eeps.glob("*.xml")).read_text(encoding="utf-8")
    fixity = summary(run(eeps, tmp_path, None), "fixity")
    assert fixity.status == "fail" and "电子签名" in fixity.evidence["reason"]
    policy = CheckPolicy(no_fixity="warn", formats=None)
    assert summary(run(eeps, tmp_path, None, policy=policy), "fixity").status == "warn"


def test_the_word_environment_is_not_a_declared_environment(package: Path, tmp_path: Path) -> None:
    readme = package / "说明文件.TXT"
    text = readme.read_text(encoding="utf-8")
    readme.write_text(
        re.sub(r"软硬件环境：.*\n", "本批档案对环境无特殊要求。\n", text), encoding="utf-8"
    )
    assert summary(run(package, tmp_path, None), "environment").status == "na"
    readme.write_text(text + "操作系统：麒麟 V10\n", encoding="utf-8")
    env = summary(run(package, tmp_path, None), "environment")
    assert env.status == "pass" and env.evidence["fields"]["操作系统"] == "麒麟 V10"


# --- 3. accepted formats and 4-3 ----------------------------------------------------------------


def test_a_format_outside_the_archives_policy_warns_with_its_pronom_id(
    package: Path, tmp_path: Path
) -> None:
    own = tmp_path / "our-formats.yaml"
    own.write_text(
        "name: 本馆接收格式\nrevision: 3\nformats:\n"
        "  - {name: PDF, puids: [fmt/14, fmt/15, fmt/16, fmt/17, fmt/18, fmt/19, fmt/20]}\n"
        "  - {name: XML, puids: [fmt/101]}\n",
        encoding="utf-8",
    )
    policy = CheckPolicy(formats=load_policy(own))
    report = run(package, tmp_path, None, policy=policy)
    outside = [
        c for c in report.checks if c.check == "format_identification" and c.object != "package"
    ]
    assert outside and all(c.status == "warn" and c.object.endswith(".jpg") for c in outside)
    assert all(c.evidence["puid"].startswith(("fmt/", "x-fmt/")) for c in outside)
    assert outside[0].evidence["puid"] in outside[0].evidence["reason"]
    assert summary(report, "format_identification").status == "warn"
    # the bundled GB/T 18894 policy accepts JPEG
    assert summary(run(package, tmp_path, None), "format_identification").status == "pass"


def test_an_unusable_policy_file_fails_3_2_with_a_clear_reason(
    package: Path, tmp_path: Path, settings: Any
) -> None:
    settings.ACCEPTED_FORMATS = str(tmp_path / "missing.yaml")
    report = run(package, tmp_path, None)
    failed = [c for c in report.checks if c.check == "format_identification" and c.status == "fail"]
    assert failed and "接收格式策略" in failed[0].evidence["reason"]
    assert "missing.yaml" in failed[0].evidence["reason"]


def test_an_unregistered_check_cannot_claim_a_secure_transfer(
    package: Path, tmp_path: Path
) -> None:
    assert summary(run(package, tmp_path, None), "transfer_process").status == "na"


# --- 4, 5. stored results name their check; accept re-verifies --------------------------------


@pytest.fixture
def ws(db: None) -> None:
    catalog.create_category(catalog.create_fonds("Z109", "岭南省人民政府办公厅"), "WS")


@pytest.mark.clamd
def test_stored_results_carry_key_and_revision_and_4_3_is_evaluated(
    package: Path, scanner: Scanner, ws: None
) -> None:
    t = services.receive(package, "岭南省人民政府办公厅")
    version = t.versions.get()
    services.run_check(version, scanner=scanner)
    revision = load_catalogue().revision
    assert revision >= 2
    keys = set(load_catalogue().checks)
    rows = list(CheckRecord.objects.filter(version=version))
    assert rows and all(r.check_key in keys and r.catalogue_revision == revision for r in rows)
    assert {"safe_unpack", "format_validation"} <= {r.check_key for r in rows}
    process = CheckRecord.objects.get(version=version, check_key="transfer_process")
    assert process.status == "pass"
    assert process.evidence["original_sm3"] == version.original_sm3
    # a record of the original that no longer matches its receipt in the audit log fails 4-3
    version.original_sm3 = "0" * 64
    version.save()
    services.run_check(version, scanner=scanner)
    assert CheckRecord.objects.get(version=version, check_key="transfer_process").status == "fail"


@pytest.mark.clamd
def test_the_same_original_received_twice_warns_under_4_3(
    package: Path, scanner: Scanner, ws: None
) -> None:
    first = services.receive(package, "岭南省人民政府办公厅")
    assert services.run_check(first.versions.get(), scanner=scanner).result == "pass"
    services.accept(first, reason="")
    again = services.receive(package, "岭南省人民政府办公厅")
    services.run_check(again.versions.get(), scanner=scanner)
    process = CheckRecord.objects.get(version=again.versions.get(), check_key="transfer_process")
    assert process.status == "warn" and process.evidence["same_original"] == [first.pk]
    assert f"移交 {first.pk}（已接收）" in process.evidence["reason"]
    with pytest.raises(services.IngestError, match="4-3"):  # accepting it needs a written reason
        services.accept(again, reason="")


@pytest.mark.clamd
def test_transfer_check_json_names_key_and_revision(package: Path, scanner: Scanner) -> None:
    result = CliRunner().invoke(main, ["transfer", "check", str(package), "--json"])
    out = json.loads(result.output)
    revision = load_catalogue().revision
    assert all(c["check"] and c["catalogue_revision"] == revision for c in out["checks"])


@pytest.mark.clamd
def test_accept_refuses_a_working_file_changed_after_the_check(
    package: Path, scanner: Scanner, ws: None, settings: Any
) -> None:
    t = services.receive(package, "岭南省人民政府办公厅")
    version = t.versions.get()
    assert services.run_check(version, scanner=scanner).result == "pass"
    work = Path(settings.DATA_DIR, "ingest", "work", str(version.pk))
    target = next((work / "content").rglob("*.pdf"))
    target.write_bytes(target.read_bytes().replace(b"%%EOF", b"%%EOF\n% altered"))
    with pytest.raises(services.IngestError, match="检测后被改动"):
        services.accept(t)
    assert Record.objects.count() == 0
    assert AuditEntry.objects.filter(action="transfer_accept_refused").exists()


@pytest.mark.clamd
def test_accept_refuses_an_original_changed_in_quarantine(
    package: Path, scanner: Scanner, ws: None, settings: Any
) -> None:
    t = services.receive(package, "岭南省人民政府办公厅")
    version = t.versions.get()
    assert services.run_check(version, scanner=scanner).result == "pass"
    original = Path(settings.DATA_DIR, version.original)
    (original / "说明文件.TXT").write_text("替换过的说明", encoding="utf-8")
    with pytest.raises(services.IngestError, match="隔离区原始包"):
        services.accept(t)
    assert Record.objects.count() == 0


@pytest.mark.clamd
def test_a_warning_policy_for_missing_digests_needs_a_written_reason(
    package: Path, scanner: Scanner, ws: None, settings: Any
) -> None:
    _strip_digests(package)
    settings.TRANSFER_NO_FIXITY = "warn"
    t = services.receive(package, "岭南省人民政府办公厅")
    report = services.run_check(t.versions.get(), scanner=scanner)
    assert report.result == "pass" and summary(report, "fixity").status == "warn"
    t.refresh_from_db()
    with pytest.raises(services.IngestError, match="接收说明"):
        services.accept(t)
    assert services.accept(t, reason="移交单位系统不能生成摘要，已现场核对") == 4


# --- 15. the floor rule ---------------------------------------------------------------------------


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module)
    return names


def test_ingest_never_imports_preservation_and_formats_stay_below_both() -> None:
    for path in sorted((SRC / "ingest").rglob("*.py")):
        bad = {m for m in _imports(path) if m.startswith("lantai.preservation")}
        assert not bad, f"{path.name} imports {bad}: a lower room must signal, not import"
    formats = sorted((SRC / "formats").glob("*.py"))
    assert {p.name for p in formats} >= {"identify.py", "checks.py", "stage.py", "policy.py"}
    for path in formats:
        bad = {
            m for m in _imports(path)
            if m.split(".")[0] == "django"
            or (m.startswith("lantai.") and not m.startswith(("lantai.formats", "lantai.standards")))
        }  # fmt: skip
        assert not bad, f"formats/{path.name} imports {bad}"
    assert not (SRC / "ingest" / "format_checks.py").exists()
