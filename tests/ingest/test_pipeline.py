"""The whole 移交与接收 check on generated packages: good ones pass, each defect fails its check."""

from __future__ import annotations

import shutil
import zipfile
from pathlib import Path
from typing import Any

import pytest

from lantai.demo.transfer import make_transfer
from lantai.ingest import unpack
from lantai.ingest.pipeline import TransferCheck, check_transfer
from lantai.ingest.virus import Scanner
from tests.clamd import eicar_bytes, zipped

pytestmark = pytest.mark.clamd


@pytest.fixture
def scanner(clamd_scanner: tuple[Scanner, Any]) -> Scanner:
    return clamd_scanner[0]


@pytest.fixture
def package(tmp_path: Path) -> Path:
    return make_transfer(tmp_path / "pkg", 6, kinds=("pdf", "jpg", "xml"))


def run(source: Path, tmp_path: Path, scanner: Scanner | None) -> TransferCheck:
    work = tmp_path / "work"
    shutil.rmtree(work, ignore_errors=True)
    return check_transfer(source, work, scanner=scanner, processes=1)


def failed(report: TransferCheck) -> dict[tuple[str, str], list[Any]]:
    out: dict[tuple[str, str], list[Any]] = {}
    for c in report.checks:
        if c.status == "fail":
            out.setdefault((c.property, c.content_code), []).append(c)
    return out


def only_file(package: Path, suffix: str) -> Path:
    return next(p for p in sorted((package / "电子档案").rglob(f"*{suffix}")))


def test_good_package_passes_every_property(
    package: Path, tmp_path: Path, scanner: Scanner
) -> None:
    report = run(package, tmp_path, scanner)
    assert report.result == "pass", [
        (c.content_code, c.object, c.evidence) for c in report.checks if c.status == "fail"
    ]
    assert report.kind == "cn-layout"
    props = {c.property for c in report.checks if c.status == "pass"}
    assert props == {"authenticity", "integrity", "usability", "security"}
    virus = [c for c in report.checks if c.content_code == "4-1"]
    assert virus and all(c.status == "pass" and c.tool == "ClamAV" for c in virus), virus
    out = report.as_json()
    assert out["stage"] == "移交与接收" and out["result"] == "pass"
    assert set(out["summary"]["stage_seconds"]) >= {
        "unpack",
        "fixity",
        "formats",
        "virus",
        "metadata",
        "package",
    }


def test_zipped_package_gives_the_same_verdict(
    package: Path, tmp_path: Path, scanner: Scanner
) -> None:
    archive = shutil.make_archive(str(tmp_path / "pkg"), "zip", package)
    assert run(Path(archive), tmp_path, scanner).result == "pass"


def test_without_a_scanner_the_package_is_not_scanned_and_fails(
    package: Path, tmp_path: Path
) -> None:
    report = run(package, tmp_path, None)
    virus = failed(report)[("security", "4-1")]
    assert "未扫描" in virus[0].evidence["reason"]


def test_changed_file_fails_fixity_with_expected_and_found(
    package: Path, tmp_path: Path, scanner: Scanner
) -> None:
    target = only_file(package, ".xml")
    target.write_bytes(target.read_bytes() + b"<!-- changed -->")
    fixity = failed(run(package, tmp_path, scanner))[("authenticity", "1-1")]
    assert fixity[0].object.endswith(target.name)
    assert fixity[0].evidence["expected"] != fixity[0].evidence["found"]


def _drop_first_digest(package: Path) -> str:
    """Delete the register's first <数字摘要> line; returns the file it named."""
    reg = package / "其他" / "移交登记表.XML"
    lines = reg.read_text(encoding="utf-8").splitlines(True)
    first = next(i for i, line in enumerate(lines) if "<数字摘要" in line)
    rel = lines[first].split('文件="', 1)[1].split('"', 1)[0]
    reg.write_text("".join(lines[:first] + lines[first + 1 :]), encoding="utf-8")
    return rel


def test_a_file_without_a_declared_digest_fails_1_1_by_name(
    package: Path, tmp_path: Path, scanner: Scanner
) -> None:
    rel = _drop_first_digest(package)
    report = run(package, tmp_path, scanner)
    fixity = [c for c in report.checks if c.check == "fixity"]
    named = [c for c in fixity if c.object == rel]
    assert [c.status for c in named] == ["fail"] and "未声明" in named[0].evidence["reason"]
    summary = next(c for c in fixity if c.object == "package")
    assert summary.status == "fail" and summary.evidence["undeclared"] == 1


def test_a_file_without_a_declared_digest_warns_under_the_policy(
    package: Path, tmp_path: Path, scanner: Scanner
) -> None:
    from lantai.ingest.summaries import CheckPolicy

    rel = _drop_first_digest(package)
    work = tmp_path / "work"
    report = check_transfer(package, work, scanner=scanner, processes=1,
                            policy=CheckPolicy(no_fixity="warn"))  # fmt: skip
    named = [c for c in report.checks if c.check == "fixity" and c.object == rel]
    assert [c.status for c in named] == ["warn"]
    assert (
        next(c for c in report.checks if c.check == "fixity" and c.object == "package").status
        == "warn"
    )


def test_missing_and_extra_files(package: Path, tmp_path: Path, scanner: Scanner) -> None:
    gone = only_file(package, ".pdf")
    gone.unlink()
    (gone.parent / "未登记的文件.txt").write_text("多余", encoding="utf-8")
    f = failed(run(package, tmp_path, scanner))
    assert any(c.object.endswith(gone.name) for c in f[("authenticity", "1-4")])  # metadata → file
    assert any(
        c.object.endswith("未登记的文件.txt") for c in f[("integrity", "2-4")]
    )  # file → metadata
    assert ("integrity", "2-1") in f  # bytes no longer match the register


def test_wrong_register_count(package: Path, tmp_path: Path, scanner: Scanner) -> None:
    reg = package / "其他" / "移交登记表.XML"
    text = reg.read_text(encoding="utf-8")
    reg.write_text(text.replace("<移交电子档案数量>6", "<移交电子档案数量>7"), encoding="utf-8")
    counts = failed(run(package, tmp_path, scanner))[("integrity", "2-1")]
    assert (counts[0].evidence["expected"], counts[0].evidence["found"]) == (7, 6)
    assert counts[0].evidence["reason"] == "登记 7 件，实际 6 件（目录条目）"


def test_wrong_register_bytes_say_why(package: Path, tmp_path: Path, scanner: Scanner) -> None:
    pdf = only_file(package, ".pdf")
    pdf.write_bytes(pdf.read_bytes() + b"%" * 113)
    counts = failed(run(package, tmp_path, scanner))[("integrity", "2-1")]
    reason = next(c.evidence["reason"] for c in counts if c.check == "register_byte_count")
    declared = next(c.evidence["expected"] for c in counts if c.check == "register_byte_count")
    assert reason.startswith(f"登记 {declared} 字节，实际 {declared + 113} 字节"), reason


def _edit_catalogue(package: Path, old: str, new: str, count: int = 1) -> None:
    cat = package / "文件目录.XML"
    text = cat.read_text(encoding="utf-8")
    assert old in text
    cat.write_text(text.replace(old, new, count), encoding="utf-8")


def test_bad_code_duplicate_code_and_gap(package: Path, tmp_path: Path, scanner: Scanner) -> None:
    _edit_catalogue(
        package, "Z109-WS·2020-Y-BGS-0002<", "Z109-WS·2020-Q-BGS-0002<"
    )  # breaks the rule
    _edit_catalogue(package, "Z109-WS·2020-Y-BGS-0004<", "Z109-WS·2020-Y-BGS-0003<")  # repeats 0003
    report = run(package, tmp_path, scanner)
    titles = {c.item_code or c.title for c in report.checks if c.status == "fail"}
    f = failed(report)
    rule = [c for c in f[("authenticity", "1-2")] if "保管期限" in str(c.evidence)]
    assert rule, titles
    assert any("重复" in str(c.evidence) for c in f[("authenticity", "1-2")])
    assert any(
        "0002" in str(c.evidence) or "0004" in str(c.evidence) for c in f[("integrity", "2-2")]
    )


def test_future_and_impossible_dates(package: Path, tmp_path: Path, scanner: Scanner) -> None:
    cat = (package / "文件目录.XML").read_text(encoding="utf-8")
    dates = [line for line in cat.splitlines() if "<日期>" in line]
    _edit_catalogue(package, dates[0].strip(), "<日期>20990101</日期>")
    _edit_catalogue(package, dates[1].strip(), "<日期>20200230</日期>")
    evidence = [
        str(c.evidence) for c in failed(run(package, tmp_path, scanner))[("authenticity", "1-2")]
    ]
    assert any("2099" in e for e in evidence) and any("20200230" in e for e in evidence)


def test_eicar_and_eicar_in_a_nested_zip_fail_the_virus_check(
    package: Path, tmp_path: Path, scanner: Scanner
) -> None:
    folder = only_file(package, ".pdf").parent
    (folder / "eicar.com").write_bytes(eicar_bytes())
    (folder / "nested.zip").write_bytes(zipped("inner.zip", zipped("eicar.txt", eicar_bytes())))
    virus = failed(run(package, tmp_path, scanner))[("security", "4-1")]
    found = {c.object.rsplit("/", 1)[-1] for c in virus}
    assert "eicar.com" in found
    assert any("nested" in c.object or "inner" in c.object for c in virus)


@pytest.mark.skipif(shutil.which("zip") is None, reason="needs Info-ZIP's zip (zip -P)")
def test_encrypted_zip_record_fails_3_4_and_is_not_scanned_clean(
    package: Path, tmp_path: Path, scanner: Scanner
) -> None:
    """A password-protected zip (made by Info-ZIP, not by Lantai) hides what it holds: 3-4 fails
    naming it, and 4-1 does not say the content nobody could read was clean."""
    import subprocess

    folder = only_file(package, ".pdf").parent
    (tmp_path / "eicar.txt").write_bytes(eicar_bytes())
    subprocess.run(["zip", "-q", "-P", "secret", str(folder / "enc.zip"), "eicar.txt"],
                   cwd=tmp_path, check=True)  # fmt: skip
    report = run(package, tmp_path, scanner)
    mine = [c for c in report.checks if c.object.endswith("/enc.zip")]
    usability = [c for c in mine if c.content_code == "3-4"]
    assert usability and usability[0].status == "fail", mine
    assert (
        "加密" in usability[0].evidence["reason"] and "eicar.txt" in usability[0].evidence["reason"]
    )
    virus = [c for c in mine if c.content_code == "4-1"]
    assert (
        virus
        and virus[0].status == "fail"
        and "Heuristics.Encrypted" in virus[0].evidence["signature"]
    )
    summary = {c.check: c for c in report.checks if c.object == "package"}
    assert summary["compression_encryption"].status == "fail"
    assert summary["compression_encryption"].evidence["failed"] == 1
    assert "未扫描" in summary["virus_scan"].evidence["reason"]


def test_encryption_summary_says_what_it_examined(
    package: Path, tmp_path: Path, scanner: Scanner
) -> None:
    pdfs = len(list((package / "电子档案").rglob("*.pdf")))
    report = run(package, tmp_path, scanner)
    summary = [
        c for c in report.checks if c.check == "compression_encryption" and c.object == "package"
    ]
    assert [c.status for c in summary] == ["pass"]
    assert summary[0].evidence["checked"] == pdfs and "PDF" in summary[0].evidence["compared"]


def test_truncated_pdf_fails_usability(package: Path, tmp_path: Path, scanner: Scanner) -> None:
    pdf = only_file(package, ".pdf")
    pdf.write_bytes(pdf.read_bytes()[:40])
    usability = failed(run(package, tmp_path, scanner))[("usability", "3-2")]
    assert any(c.object.endswith(pdf.name) for c in usability)


def test_hostile_zip_fails_without_touching_anything_outside(
    package: Path, tmp_path: Path, scanner: Scanner
) -> None:
    archive = tmp_path / "evil.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for p in sorted(package.rglob("*")):
            if p.is_file():
                zf.write(p, p.relative_to(package).as_posix())
        zf.writestr("../../escaped.txt", "x")
    report = run(archive, tmp_path, scanner)
    assert report.result == "fail"
    assert ("security", "4-2") in failed(report)
    assert (
        not (tmp_path / "escaped.txt").exists() and not (tmp_path.parent / "escaped.txt").exists()
    )


def test_unreadable_input_raises(tmp_path: Path, scanner: Scanner) -> None:
    junk = tmp_path / "junk.bin"
    junk.write_bytes(b"not a package")
    with pytest.raises(unpack.UnreadableSource):
        run(junk, tmp_path, scanner)
