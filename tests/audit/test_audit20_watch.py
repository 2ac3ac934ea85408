"""Audit of issue 20 (watch it: /readyz, /metrics, logs with request ids): defects found from
outside, each written as a failing test before it was fixed and kept as a regression test."""

from __future__ import annotations

import io
import logging
import os
import re
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.test import Client

from lantai.ops.logs import RequestIdFilter, TextFormatter


@pytest.fixture
def captured() -> Iterator[tuple[io.StringIO, logging.Handler]]:
    """A handler of our own on the root logger, with the settings' request-id filter and the
    lantai.request logger at INFO (as with LANTAI_REQUEST_LOG=1)."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RequestIdFilter())
    root, requests = logging.getLogger(), logging.getLogger("lantai.request")
    level = requests.level
    requests.setLevel(logging.INFO)
    root.addHandler(handler)
    try:
        yield stream, handler
    finally:
        root.removeHandler(handler)
        requests.setLevel(level)


@pytest.mark.django_db
def test_an_invented_http_method_does_not_become_a_metrics_label() -> None:
    """AUDIT20-3 (fixed): an invented HTTP method counts as method="other" (ops/request_ids.py
    KNOWN_METHODS); before, each became a label value of lantai_http_requests_total and
    lantai_http_request_duration_seconds: unbounded series in Prometheus and the multiprocess
    files."""
    client = Client()
    for n in range(3):
        client.generic(f"AUDITX{n}", "/no/such/page/")
    text = client.get("/metrics").content.decode()
    assert 'method="AUDITX' not in text
    assert 'method="other"' in text


@pytest.mark.django_db
def test_the_not_found_log_line_carries_the_request_id(
    captured: tuple[io.StringIO, logging.Handler],
) -> None:
    """AUDIT20-4 (fixed): Django logs 4xx answers (django.request 'Not Found: …', 405, 400) after
    the middleware chain returned, when the current id is reset; RequestIdFilter now takes the id
    from record.request.request_id (before, those lines carried request_id '')."""
    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    keep = Keep()
    keep.addFilter(RequestIdFilter())
    logging.getLogger().addHandler(keep)
    try:
        response = Client().get("/no/such/page/")
    finally:
        logging.getLogger().removeHandler(keep)
    assert response.status_code == 404
    not_found = [r for r in records if r.name == "django.request"]
    assert not_found, "Django logged no 'Not Found' line"
    assert [r.request_id for r in not_found] == [response["X-Request-ID"]]  # type: ignore[attr-defined]


@pytest.mark.django_db
def test_a_newline_in_the_url_cannot_forge_a_text_log_line(
    captured: tuple[io.StringIO, logging.Handler],
) -> None:
    """AUDIT20-5 (fixed): the request log escapes control characters in the path and the text
    formatter those in every message (lantai.ops.logs.escape_controls); before, a %0A in the URL
    forged a whole text log line (Lantai's request line and Django's 'Not Found: …')."""
    stream, handler = captured
    handler.setFormatter(TextFormatter())
    forged = "2026-01-01T00:00:00.000+08:00 INFO lantai.request [forged] POST /users/1/ 200"
    Client().get("/x%0A" + forged.replace(" ", "%20"))
    starts = re.compile(r"^\d{4}-\d\d-\d\dT")
    lines = [ln for ln in stream.getvalue().splitlines() if ln.strip()]
    assert not any(ln.startswith(forged[:30]) for ln in lines), lines
    assert all(starts.match(ln) for ln in lines)


def test_the_readiness_database_check_fails_when_postgresql_does_not_answer(tmp_path: Path) -> None:
    """AUDIT20-6 (fixed): PostgreSQL connections get connect_timeout (settings.py DATABASES,
    LANTAI_DATABASE_CONNECT_TIMEOUT, default 5 s) and the readiness query a transaction-local
    statement_timeout; before, a server that accepted the connection and never answered hung
    /readyz's database check (and every request)."""
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)  # the kernel completes the handshake; nobody ever answers
    port = silent.getsockname()[1]
    env = {
        **os.environ,
        "LANTAI_DATA_DIR": str(tmp_path),
        "LANTAI_SECRET_KEY": "audit20",
        "LANTAI_DATABASE_URL": f"postgresql://postgres@127.0.0.1:{port}/lantai_test_audit20_x",
        "DJANGO_SETTINGS_MODULE": "lantai.settings",
    }
    code = (
        "import django; django.setup()\n"
        "from lantai.ops.health import check_database\n"
        "c = check_database(); print('OK' if c.ok else 'FAILED', c.error)\n"
    )
    try:
        # a probe's own limit (a load balancer gives up after a few seconds); 15 s is generous
        done = subprocess.run(
            [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=15
        )
    except subprocess.TimeoutExpired:
        pytest.fail("check_database() still waiting for PostgreSQL after 15 s")
    finally:
        silent.close()
    assert done.stdout.startswith("FAILED"), done.stdout + done.stderr


@pytest.mark.django_db
def test_readyz_names_an_unusable_location_without_its_path(tmp_path: Path) -> None:
    """AUDIT20-8 (fixed): /readyz names an unusable location with the error's type and reason,
    its path, URL and bucket left out (the full text is logged); before, it quoted the location's
    filesystem path although ops/health.py promises 'location names, not their paths'."""
    from lantai.preservation import locations
    from lantai.preservation.models import StorageLocation

    locations.ensure_primary()
    hidden = tmp_path / "secret-mount-point-audit20"
    StorageLocation.objects.create(name="nas", kind="local", path=str(hidden), required=True)
    response = Client().get("/readyz")
    assert response.status_code == 503
    text = response.content.decode()
    assert "nas" in text
    assert "secret-mount-point-audit20" not in text
