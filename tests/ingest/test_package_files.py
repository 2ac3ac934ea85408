"""What a package holds is checked as it is: an archive that is itself a declared electronic
record stays a file (only the package container is unpacked), and a FIFO or socket in a folder
package is a clear 4-2 failure in the report, through the whole check and through receiving,
never a traceback (real FIFOs and unix sockets, a real clamd)."""

from __future__ import annotations

import io
import os
import shutil
import socket
import stat
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import bagit
import pytest

from lantai.demo.transfer import make_transfer
from lantai.ingest.pipeline import TransferCheck, check_transfer
from lantai.ingest.virus import Scanner

pytestmark = pytest.mark.clamd


@pytest.fixture
def scanner(clamd_scanner: tuple[Scanner, Any]) -> Scanner:
    return clamd_scanner[0]


def check(source: Path, tmp_path: Path, scanner: Scanner) -> TransferCheck:
    work = tmp_path / "work"
    shutil.rmtree(work, ignore_errors=True)
    return check_transfer(source, work, scanner=scanner, processes=1)


def failures(report: TransferCheck) -> list[tuple[str, str, Any]]:
    return [(c.content_code, c.object, c.evidence) for c in report.checks if c.status == "fail"]


def _zip_record() -> bytes:
    """A zip that is an electronic record in its own right (a filing unit's export, say)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("内/通知.txt", "岭南省人民政府办公厅通知".encode())
        zf.writestr("内/inner.zip", b"PK\x05\x06" + bytes(18))  # an empty zip inside it
    return buf.getvalue()


@pytest.mark.parametrize("container", ["folder", "zip"])
def test_a_declared_zip_record_is_checked_as_a_file(
    tmp_path: Path, scanner: Scanner, container: str
) -> None:
    payload = tmp_path / "bag"
    payload.mkdir()
    record = _zip_record()
    (payload / "2019年通知汇编.zip").write_bytes(record)
    (payload / "说明.txt").write_text("两件电子文件", encoding="utf-8")
    bagit.make_bag(
        str(payload), {"Source-Organization": "岭南省人民政府办公厅"}, checksums=["sha256"]
    )
    source = payload
    if container == "zip":
        source = Path(shutil.make_archive(str(tmp_path / "package"), "zip", payload))
    report = check(source, tmp_path, scanner)
    assert report.result == "pass", failures(report)
    unpacked = tmp_path / "work" / "content" / "data" / "2019年通知汇编.zip"
    assert unpacked.is_file() and unpacked.read_bytes() == record  # not expanded
    fixity = [
        c
        for c in report.checks
        if c.object == "data/2019年通知汇编.zip" and c.content_code == "1-1"
    ]
    assert fixity and all(c.status == "pass" for c in fixity)


@pytest.fixture
def special_package(tmp_path: Path) -> Iterator[Path]:
    """A good Chinese-layout package plus a FIFO in 电子档案/ and a unix socket at the top."""
    package = make_transfer(tmp_path / "pkg", 2, kinds=("xml",))
    os.mkfifo(package / "电子档案" / "pipe")
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(str(package / "sock"))
    assert stat.S_ISSOCK(os.lstat(package / "sock").st_mode)
    try:
        yield package
    finally:
        server.close()


def _assert_special_files_reported(results: list[tuple[str, str, Any]]) -> None:
    by_object = {obj: (code, ev) for code, obj, ev in results}
    assert (
        by_object["电子档案/pipe"][0] == "4-2"
        and "命名管道" in by_object["电子档案/pipe"][1]["reason"]
    )
    assert by_object["sock"][0] == "4-2" and "套接字" in by_object["sock"][1]["reason"]


def test_fifo_and_socket_fail_the_whole_check(
    special_package: Path, tmp_path: Path, scanner: Scanner
) -> None:
    report = check(special_package, tmp_path, scanner)
    assert report.result == "fail"
    _assert_special_files_reported(failures(report))


def test_special_files_are_named_in_words_and_summarised(
    special_package: Path, tmp_path: Path, scanner: Scanner
) -> None:
    report = check(special_package, tmp_path, scanner)
    pipe = next(c for c in report.checks if c.object == "电子档案/pipe")
    assert pipe.evidence["found"] == "命名管道 FIFO", pipe.evidence
    summary = [c for c in report.checks if c.check == "safe_unpack" and c.object == "package"]
    assert [c.status for c in summary] == ["fail"]
    assert summary[0].evidence["failed"] == 2 and summary[0].evidence["checked"] >= 2


@pytest.mark.django_db
def test_fifo_and_socket_received_and_reported(special_package: Path, scanner: Scanner) -> None:
    from lantai.ingest import services
    from lantai.ingest.models import CheckRecord

    t = services.receive(special_package, "岭南省人民政府办公厅")
    report = services.run_check(t.versions.get(), scanner=scanner)
    t.refresh_from_db()
    assert report.result == "fail" and t.status == "failed"
    stored = CheckRecord.objects.filter(version__transfer=t, status="fail")
    _assert_special_files_reported([(r.content_code, r.object, r.evidence) for r in stored])
