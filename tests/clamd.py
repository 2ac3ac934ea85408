"""A real clamd with a test signature database built at test time (ingest and preservation tests).

The EICAR test string is assembled from two halves here and written only into temporary
directories; the repository never holds it whole. The signature database holds:
- the MD5 of the EICAR file (``sigtool --md5`` → ``.hdb``),
- an EICAR body signature (``.ndb``),
- the MD5 of clamav-testfiles' harmless ``clam.exe`` (→ also finds clam.zip, clam.7z, ...).

Tests marked ``clamd`` need Debian's clamav-daemon (/usr/sbin/clamd) and sigtool: without them
they are skipped locally and fail under CI=true, like the browser tests.
"""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from lantai.ingest.virus import Scanner, SignatureInfo

CLAMD = Path("/usr/sbin/clamd")
TESTFILES = Path("/usr/share/clamav-testfiles")

# EICAR, in two halves (never stored whole)
_EICAR_HEAD = r"X5O!P%@AP[4\PZX54(P^)7CC)7}$"
_EICAR_TAIL = "EICAR-STANDARD-ANTIVIRUS-" + "TEST-FILE!$H+H*"
EICAR_BODY_SIG = "Test.EICAR.Body"
EICAR_HASH_SIG = "Test.EICAR.Hash"
CLAM_EXE_SIG = "Test.ClamExe"


def eicar_bytes() -> bytes:
    return (_EICAR_HEAD + _EICAR_TAIL).encode("ascii")


def zipped(name: str, data: bytes) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(name, data)
    return buf.getvalue()


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}


def _clamd_missing() -> str | None:
    if not CLAMD.exists() or shutil.which("sigtool") is None:
        return (
            "needs clamd and sigtool (apt-get install clamav clamav-daemon); run scripts/setup.sh"
        )
    return None


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "clamd: needs Debian's clamd and sigtool (real engine)")


def pytest_runtest_setup(item: pytest.Item) -> None:
    if item.get_closest_marker("clamd"):
        message = _clamd_missing()
        if message:
            if _in_ci():
                pytest.fail(message, pytrace=False)
            pytest.skip(message)


def _sigtool_md5(path: Path, name: str) -> str:
    out = subprocess.run(
        ["sigtool", "--md5", str(path)], capture_output=True, text=True, check=True, timeout=60
    ).stdout.strip()
    md5, size, _ = out.split(":", 2)
    return f"{md5}:{size}:{name}\n"


@pytest.fixture(scope="session")
def signature_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A test signature database built with sigtool (EICAR hash + body, clam.exe hash)."""
    if _clamd_missing():
        pytest.skip("clamd/sigtool missing")  # the marker hook already failed it under CI
    work = tmp_path_factory.mktemp("eicar")
    eicar = work / "eicar.com"
    eicar.write_bytes(eicar_bytes())
    sig = tmp_path_factory.mktemp("sigs")
    hdb = _sigtool_md5(eicar, EICAR_HASH_SIG)
    clam_exe = TESTFILES / "clam.exe"
    if clam_exe.exists():
        hdb += _sigtool_md5(clam_exe, CLAM_EXE_SIG)
    (sig / "lantai-test.hdb").write_text(hdb, encoding="ascii")
    body = b"EICAR-STANDARD-ANTIVIRUS-TEST-FILE".hex()
    (sig / "lantai-test.ndb").write_text(f"{EICAR_BODY_SIG}:0:*:{body}\n", encoding="ascii")
    return sig


@pytest.fixture(scope="session")
def clamd_scanner(
    tmp_path_factory: pytest.TempPathFactory, signature_dir: Path
) -> Iterator[tuple[Scanner, SignatureInfo]]:
    """Lantai's own clamd in a temporary data directory, loaded with the test signatures."""
    scanner = Scanner(tmp_path_factory.mktemp("clamav-data"))
    try:
        info = scanner.import_signatures(signature_dir)
        yield scanner, info
    finally:
        scanner.stop()


@pytest.fixture
def eicar_file(tmp_path: Path) -> Path:
    path = tmp_path / "eicar.com"
    path.write_bytes(eicar_bytes())
    return path
