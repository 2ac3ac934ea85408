"""ClamAV scanning with a real clamd (DA/T 70 4-1): found, clean, nested archives, not scanned."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from lantai.ingest.virus import (
    NOT_SCANNED_REASON,
    Scanner,
    SignatureImportError,
    SignatureInfo,
    import_signatures_cli,
)
from tests.clamd import (
    CLAM_EXE_SIG,
    EICAR_BODY_SIG,
    EICAR_HASH_SIG,
    TESTFILES,
    eicar_bytes,
    zipped,
)

EICAR_SIGS = {f"{EICAR_BODY_SIG}.UNOFFICIAL", f"{EICAR_HASH_SIG}.UNOFFICIAL"}


@pytest.mark.clamd
def test_import_counts_signatures(clamd_scanner: tuple[Scanner, SignatureInfo]) -> None:
    scanner, info = clamd_scanner
    expected = 3 if (TESTFILES / "clam.exe").exists() else 2  # 2 hashes + 1 body signature
    assert info.count == expected
    assert scanner.signature_count() == expected
    assert sorted(info.files) == ["lantai-test.hdb", "lantai-test.ndb"]
    assert info.version.startswith("local-")
    assert scanner.engine_version().startswith("ClamAV 1.")


@pytest.mark.clamd
def test_clean_file_passes_with_engine_evidence(
    clamd_scanner: tuple[Scanner, SignatureInfo], tmp_path: Path
) -> None:
    scanner, info = clamd_scanner
    clean = tmp_path / "说明文件.TXT"
    clean.write_text("载体参数：在线移交\n", encoding="utf-8")
    [result] = scanner.scan([clean], objects=["说明文件.TXT"])
    assert (result.property, result.content_code, result.status) == ("security", "4-1", "pass")
    assert result.object == "说明文件.TXT"
    assert result.tool == "ClamAV" and result.tool_version.startswith("1.")
    assert result.evidence["engine"].startswith("ClamAV 1.")
    assert result.evidence["signatures"] == info.count
    assert result.evidence["signature_version"] == info.version


@pytest.mark.clamd
def test_eicar_fails_with_signature_name(
    clamd_scanner: tuple[Scanner, SignatureInfo], eicar_file: Path
) -> None:
    scanner, _ = clamd_scanner
    [result] = scanner.scan([eicar_file])
    assert result.status == "fail"
    assert result.evidence["signature"] in EICAR_SIGS
    assert result.evidence["signature"] in result.evidence["reason"]


@pytest.mark.clamd
def test_eicar_inside_nested_zip_fails(
    clamd_scanner: tuple[Scanner, SignatureInfo], tmp_path: Path
) -> None:
    scanner, _ = clamd_scanner
    nested = tmp_path / "电子档案.zip"
    nested.write_bytes(zipped("inner.zip", zipped("docs/readme.com", eicar_bytes())))
    clean_zip = tmp_path / "clean.zip"
    clean_zip.write_bytes(zipped("inner.zip", zipped("a.txt", b"hello")))
    results = scanner.scan([nested, clean_zip])
    assert [r.status for r in results] == ["fail", "pass"]
    assert results[0].evidence["signature"] in EICAR_SIGS


@pytest.mark.clamd
def test_clamav_testfiles_samples_found(clamd_scanner: tuple[Scanner, SignatureInfo]) -> None:
    scanner, _ = clamd_scanner
    samples = [TESTFILES / n for n in ("clam.exe", "clam.zip", "clam.7z")]
    assert all(p.exists() for p in samples), "clamav-testfiles not installed (scripts/setup.sh)"
    results = scanner.scan(samples)
    assert [r.status for r in results] == ["fail"] * 3
    assert {r.evidence["signature"] for r in results} == {f"{CLAM_EXE_SIG}.UNOFFICIAL"}


@pytest.mark.clamd
def test_many_files_in_order(clamd_scanner: tuple[Scanner, SignatureInfo], tmp_path: Path) -> None:
    scanner, _ = clamd_scanner
    paths = []
    for i in range(20):
        p = tmp_path / f"f{i:02d}.txt"
        p.write_bytes(eicar_bytes() if i == 13 else f"file {i}".encode())
        paths.append(p)
    results = scanner.scan(paths)
    assert [r.object for r in results] == [str(p) for p in paths]
    assert [i for i, r in enumerate(results) if r.status == "fail"] == [13]


@pytest.mark.clamd
def test_second_scanner_reuses_running_clamd(
    clamd_scanner: tuple[Scanner, SignatureInfo], eicar_file: Path
) -> None:
    scanner, _ = clamd_scanner
    again = Scanner(scanner.data_dir)  # e.g. another worker process on the same data directory
    assert again.ping()
    [result] = again.scan([eicar_file])
    assert result.status == "fail"
    external = Scanner(Path("/nonexistent"), socket_path=scanner.socket_path)
    assert external.scan([eicar_file])[0].status == "fail"
    external.stop()  # never stops a clamd it does not own
    assert scanner.ping()


def test_zero_signatures_is_not_scanned_never_clean(tmp_path: Path, eicar_file: Path) -> None:
    scanner = Scanner(tmp_path / "data")
    clean = tmp_path / "clean.txt"
    clean.write_text("nothing here")
    assert scanner.signature_count() == 0
    results = scanner.scan([clean, eicar_file])
    assert [r.status for r in results] == ["fail", "fail"]
    assert all(r.evidence["reason"] == NOT_SCANNED_REASON for r in results)
    assert not scanner.ping()  # nothing was started


@pytest.mark.clamd
def test_import_then_scan_from_zero(tmp_path: Path, signature_dir: Path, eicar_file: Path) -> None:
    data = tmp_path / "data"
    report = import_signatures_cli(signature_dir, data)
    scanner = Scanner(data)
    try:
        assert report["count"] == scanner.signature_count() > 0
        assert report["engine"].startswith("ClamAV")
        assert report["running"] is True
        assert scanner.scan([eicar_file])[0].status == "fail"
        # adding a signature and importing again reloads the running clamd
        extra = tmp_path / "extra"
        extra.mkdir()
        other = tmp_path / "other.bin"
        other.write_bytes(b"LANTAI-ANOTHER-TEST-PATTERN-" + b"0" * 64)
        assert scanner.scan([other])[0].status == "pass"
        (extra / "more.ndb").write_text(
            f"Test.Lantai.Other:0:*:{b'LANTAI-ANOTHER-TEST-PATTERN-'.hex()}\n", encoding="ascii"
        )
        info = scanner.import_signatures(extra)
        assert info.count == report["count"] + 1
        [result] = scanner.scan([other])
        assert (result.status, result.evidence["signature"]) == (
            "fail",
            "Test.Lantai.Other.UNOFFICIAL",
        )
    finally:
        scanner.stop()
    assert not scanner.ping()


@pytest.mark.clamd
def test_bad_cvd_is_refused_and_nothing_imported(tmp_path: Path, signature_dir: Path) -> None:
    src = tmp_path / "src"
    shutil.copytree(signature_dir, src)
    (src / "daily.cvd").write_bytes(b"ClamAV-VDB:not a real database" + b"\0" * 600)
    scanner = Scanner(tmp_path / "data")
    with pytest.raises(SignatureImportError, match="daily.cvd"):
        scanner.import_signatures(src)
    assert scanner.signature_count() == 0


@pytest.mark.clamd
def test_clamd_that_cannot_start_fails_with_reason(
    tmp_path: Path, signature_dir: Path, eicar_file: Path
) -> None:
    db = tmp_path / "data" / "clamav" / "db"
    db.mkdir(parents=True)
    shutil.copy(signature_dir / "lantai-test.hdb", db)
    missing = Scanner(tmp_path / "data", clamd_bin="/nonexistent/clamd")
    [result] = missing.scan([eicar_file])
    assert result.status == "fail" and "clamd" in result.evidence["reason"]
    # a broken signature file: clamd exits at start-up, the report says why
    (db / "broken.ndb").write_text("this is not a signature\n", encoding="ascii")
    broken = Scanner(tmp_path / "data", start_timeout=60)
    [result] = broken.scan([eicar_file])
    assert result.status == "fail"
    assert "clamd 启动失败" in result.evidence["reason"]
