"""Real S3 servers for the storage tests, over HTTP on loopback.

- moto_server (PyPI `moto[server]`, a test extra): started as `python -m moto.server`.
- s3rver (npm 3.7.1, installed by scripts/setup.sh with `npm ci` in scripts/s3rver): started with
  Debian's node. A second, independent S3 implementation, to catch moto-isms.

Each server runs once per test session as a subprocess on a free port, is waited for until it
answers S3 requests, and is stopped at the end (and dies with pytest if pytest is killed). A server
that cannot start fails the tests; only s3rver on a machine without node is skipped, and never
under CI=true.
"""

from __future__ import annotations

import ctypes
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config

from lantai.preservation.s3 import S3Location
from tests.preservation.faults import FaultProxy

ROOT = Path(__file__).resolve().parents[2]
S3RVER_DIR = ROOT / "scripts" / "s3rver"
S3RVER_JS = S3RVER_DIR / "node_modules" / "s3rver" / "bin" / "s3rver.js"
START_TIMEOUT = 60.0


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _die_with_parent() -> None:  # pragma: no cover - runs in the child between fork and exec
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except OSError:
        pass


@dataclass
class S3Server:
    kind: str
    endpoint: str
    access_key: str
    secret_key: str
    process: subprocess.Popen[bytes]
    log_path: Path

    def client(self) -> object:
        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            aws_access_key_id=self.access_key,
            aws_secret_access_key=self.secret_key,
            region_name="us-east-1",
            config=Config(
                s3={"addressing_style": "path"},
                connect_timeout=2,
                read_timeout=10,
                retries={"total_max_attempts": 1},
            ),
        )

    def location(self, bucket: str, endpoint: str | None = None, **options: object) -> S3Location:
        return S3Location(
            f"{self.kind}-{bucket}",
            endpoint or self.endpoint,
            bucket,
            self.access_key,
            self.secret_key,
            **options,  # type: ignore[arg-type]
        )

    def new_bucket(self, **options: object) -> S3Location:
        loc = self.location(f"t-{uuid.uuid4().hex[:16]}", **options)
        assert loc.ensure_bucket() is True
        return loc


def _log_tail(path: Path) -> str:
    try:
        return path.read_text(errors="replace")[-3000:]
    except OSError:
        return ""


def _start(
    kind: str,
    argv: list[str],
    port: int,
    access_key: str,
    secret_key: str,
    log_path: Path,
    cwd: Path | None = None,
) -> S3Server:
    with open(log_path, "wb") as log:
        try:
            process = subprocess.Popen(
                argv,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                cwd=cwd,
                preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None,
            )
        except OSError as e:
            pytest.fail(f"{kind} could not start: {argv[0]}: {e}", pytrace=False)
    server = S3Server(kind, f"http://127.0.0.1:{port}", access_key, secret_key, process, log_path)
    deadline = time.monotonic() + START_TIMEOUT
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(
                f"{kind} exited with {process.returncode} while starting "
                f"({' '.join(argv)}):\n{_log_tail(log_path)}",
                pytrace=False,
            )
        try:
            server.client().list_buckets()  # type: ignore[attr-defined]
            return server
        except Exception as e:  # not listening yet
            last_error = e
            time.sleep(0.2)
    _stop(server)
    pytest.fail(
        f"{kind} did not answer on {server.endpoint} within {START_TIMEOUT:g}s "
        f"({last_error}):\n{_log_tail(log_path)}",
        pytrace=False,
    )


def _stop(server: S3Server) -> None:
    if server.process.poll() is None:
        server.process.terminate()
        try:
            server.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.process.kill()
            server.process.wait(timeout=10)


@pytest.fixture(scope="session")
def moto_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    port = free_port()
    log_path = tmp_path_factory.mktemp("moto") / "moto_server.log"
    argv = [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)]
    server = _start("moto_server", argv, port, "lantai-test", "lantai-test-secret", log_path)
    try:
        yield server
    finally:
        _stop(server)


@pytest.fixture(scope="session")
def s3rver(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    node = shutil.which("node")
    if node is None:
        message = "s3rver needs node (apt-get install nodejs npm); run scripts/setup.sh"
        if _in_ci():
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    if not S3RVER_JS.is_file():
        pytest.fail(
            f"s3rver is not installed ({S3RVER_JS} missing): run scripts/setup.sh "
            f"(npm ci in {S3RVER_DIR.relative_to(ROOT)})",
            pytrace=False,
        )
    port = free_port()
    base = tmp_path_factory.mktemp("s3rver")
    data = base / "data"
    data.mkdir()
    # s3rver signs ListObjectsV2 continuation tokens with DES, which OpenSSL 3 keeps in its
    # legacy provider: without it every listing past 1000 keys fails with a 500.
    argv = [
        node,
        "--openssl-legacy-provider",
        str(S3RVER_JS),
        "-d",
        str(data),
        "-a",
        "127.0.0.1",
        "-p",
        str(port),
        "-s",
    ]
    server = _start("s3rver", argv, port, "S3RVER", "S3RVER", base / "s3rver.log", cwd=S3RVER_DIR)
    try:
        yield server
    finally:
        _stop(server)


@pytest.fixture
def moto_location(moto_server: S3Server) -> S3Location:
    """An S3Location on a fresh, empty moto_server bucket."""
    return moto_server.new_bucket()


@pytest.fixture
def s3rver_location(s3rver: S3Server) -> S3Location:
    """An S3Location on a fresh, empty s3rver bucket."""
    return s3rver.new_bucket()


@pytest.fixture
def fault_proxy(moto_server: S3Server) -> Iterator[FaultProxy]:
    """A FaultProxy in front of moto_server, stopped after the test."""
    proxy = FaultProxy(moto_server.endpoint)
    try:
        yield proxy
    finally:
        proxy.stop()


@pytest.fixture
def make_bucket(moto_server: S3Server) -> Callable[..., S3Location]:
    """Create a fresh moto bucket and return a location on it with the given options (e.g. an
    endpoint through the fault proxy, short timeouts)."""

    def make(endpoint: str | None = None, **options: object) -> S3Location:
        name = f"t-{uuid.uuid4().hex[:16]}"
        moto_server.location(name).ensure_bucket()
        return moto_server.location(name, endpoint=endpoint, **options)

    return make


# --- catalogue records for the preservation tests ------------------------------------------------


def make_records(
    category: Any,
    numbers: Iterable[int],
    *,
    year: int = 2020,
    repeat: int = 200,
    content: bytes | None = None,
) -> list[Any]:
    """Records Z109-WS·<year>-Y-BGS-<n> of `category`, each with one file 正文<n>.pdf attached
    (`content`, or a text unique to the record)."""
    from lantai.catalog import services as catalog
    from lantai.catalog.components import attach_component

    out = []
    for i in numbers:
        record, issues = catalog.save_record(
            category,
            {
                "reference_code": f"Z109-WS·{year}-Y-BGS-{i:04d}",
                "title": f"关于档案数字化工作的通知（第{i}号）",
                "date": f"{year}-05-06",
                "retention": "永久",
                "author": "岭南省人民政府办公厅",
            },
        )
        assert record is not None, issues
        body = content if content is not None else f"正文 {i} ".encode() * repeat
        attach_component(record, [body], f"正文{i}.pdf", user=None)
        out.append(record)
    return out
