"""/metrics (issue 20, point 3): who may read it, what it says, and counters that are right
across two real gunicorn workers (`lantai serve --workers 2`, prometheus_client multiprocess)."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from prometheus_client.parser import text_string_to_metric_families

LANTAI = [sys.executable, "-m", "lantai.cli"]


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    out = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def _value(text: str, name: str, **labels: str) -> float | None:
    want = set(labels.items())
    for (n, lab), v in _samples(text).items():
        if n == name and want <= set(lab):
            return v
    return None


@pytest.mark.django_db
def test_metrics_only_for_loopback_listed_networks_or_the_token(settings: Any) -> None:
    settings.METRICS_TOKEN = "scrape-token-1"
    assert Client().get("/metrics").status_code == 200  # the test client is 127.0.0.1
    outsider = Client(REMOTE_ADDR="203.0.113.5")
    refused = outsider.get("/metrics")
    assert refused.status_code == 403 and "LANTAI_METRICS_ALLOWED" in refused.content.decode()
    assert outsider.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 403
    ok = outsider.get("/metrics", HTTP_AUTHORIZATION="Bearer scrape-token-1")
    assert ok.status_code == 200 and b"lantai_http_requests_total" in ok.content
    settings.METRICS_ALLOWED = ["203.0.113.0/24"]
    assert outsider.get("/metrics").status_code == 200
    # an nginx on this machine that Lantai does not trust: loopback says nothing about the client
    forwarded = Client().get("/metrics", HTTP_X_FORWARDED_FOR="198.51.100.7")
    assert forwarded.status_code == 403
    settings.TRUSTED_PROXIES = ["127.0.0.1"]
    assert Client().get("/metrics", HTTP_X_FORWARDED_FOR="198.51.100.7").status_code == 403
    assert Client().get("/metrics", HTTP_X_FORWARDED_FOR="203.0.113.9").status_code == 200


@pytest.mark.django_db
def test_metrics_report_requests_storage_fixity_jobs_and_search(
    settings: Any, tmp_path: Path
) -> None:
    from lantai.preservation import locations
    from lantai.search import services as search
    from lantai.search.query import Query

    settings.PRESERVATION_ROOT = tmp_path / "preservation"
    client = Client()
    before = _value(client.get("/metrics").content.decode(), "lantai_http_requests_total",
                    view="ops:healthz", status="200") or 0.0  # fmt: skip
    for _ in range(3):
        client.get("/healthz")
    client.get("/no-such-page-here")
    primary = locations.ensure_primary()
    assert locations.check_health(primary)
    search.search(None, Query(text="档案"))
    text = client.get("/metrics").content.decode()
    assert _value(text, "lantai_http_requests_total", view="ops:healthz", method="GET",
                  status="200") == before + 3  # fmt: skip
    assert _value(text, "lantai_http_requests_total", status="404") is not None
    assert (
        _value(text, "lantai_http_request_duration_seconds_count", view="ops:healthz") or 0
    ) >= 3
    free = _value(text, "lantai_storage_free_bytes", location=primary.name)
    assert free is not None and free > 0
    assert _value(text, "lantai_storage_online", location=primary.name, required="true") == 1
    assert _value(text, "lantai_fixity_files") == 0
    assert _value(text, "lantai_fixity_files_verified_cycle") == 0
    assert _value(text, "lantai_fixity_last_damage_timestamp_seconds") == 0
    assert _value(text, "lantai_jobs_queue_depth") == 0
    assert _value(text, "lantai_worker_up") == 1  # jobs run inline in the tests
    assert (_value(text, "lantai_search_duration_seconds_count", kind="search", scope="public")
            or 0) >= 1  # fmt: skip
    for part in ("jobs", "fixity", "storage", "certificates", "alerts"):
        assert _value(text, "lantai_scrape_error", part=part) == 0, part


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _get(url: str) -> str:
    request = urllib.request.Request(url, headers={"Connection": "close"})
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 (loopback)
        return response.read().decode()


def test_counters_are_summed_across_two_gunicorn_workers(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    env = {k: v for k, v in os.environ.items()
           if k not in ("LANTAI_DATABASE_URL", "LANTAI_HUEY_URL", "PROMETHEUS_MULTIPROC_DIR")}  # fmt: skip
    env.update(LANTAI_DATA_DIR=str(data), LANTAI_SECRET_KEY="test-secret", LANTAI_LOG_FORMAT="json",
               LANTAI_JOBS_IMMEDIATE="1")  # fmt: skip
    subprocess.run([*LANTAI, "init"], env=env, check=True, capture_output=True, timeout=300)
    stale = data / "metrics"
    stale.mkdir()
    (stale / "counter_999999.db").write_bytes(b"stale")  # an earlier run's file: removed at start
    port = _free_port()
    serve = subprocess.Popen([*LANTAI, "serve", "--bind", f"127.0.0.1:{port}", "--workers", "2"],
                             env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                             start_new_session=True)  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                _get(f"{base}/metrics")  # up (its own route: the count below stays exact)
                break
            except OSError:
                assert serve.poll() is None and time.monotonic() < deadline, "serve did not start"
                time.sleep(0.3)
        n = 40
        for _ in range(n):
            _get(f"{base}/healthz")
        files = sorted(p.name for p in (data / "metrics").glob("counter_*.db"))
        assert "counter_999999.db" not in files
        assert len(files) == 2, files  # both workers answered some of the requests
        totals = set()
        for _ in range(6):  # whichever worker answers the scrape says the same
            text = _get(f"{base}/metrics")
            totals.add(_value(text, "lantai_http_requests_total", view="ops:healthz", status="200"))
        assert totals == {float(n)}
    finally:
        os.killpg(serve.pid, signal.SIGTERM)
        out, _ = serve.communicate(timeout=60)
    lines = [
        line for line in out.decode("utf-8", "replace").splitlines() if '"lantai.request"' in line
    ]
    assert len(lines) >= n and re.search(r'"request_id": "[0-9a-f]{32}"', lines[0])
