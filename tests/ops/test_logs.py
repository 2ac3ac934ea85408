"""Structured logs and request ids (issue 20, point 3): JSON lines as a real process writes them
with LANTAI_LOG_FORMAT=json, the request id from a trusted proxy (and never from anyone else),
carried into the records made during the request and into the jobs it queues."""

from __future__ import annotations

import io
import json
import logging
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from django.http import HttpRequest, HttpResponse
from django.test import Client, RequestFactory

from lantai.ops import request_ids
from lantai.ops.logs import JsonLineFormatter, RequestIdFilter

NEW_ID = re.compile(r"[0-9a-f]{32}")


@pytest.fixture
def json_lines() -> Iterator[io.StringIO]:
    """The settings' formatter and filter on a handler of our own."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonLineFormatter())
    handler.addFilter(RequestIdFilter())
    root, requests = logging.getLogger(), logging.getLogger("lantai.request")
    level = requests.level
    requests.setLevel(logging.INFO)  # as with LANTAI_LOG_FORMAT=json, whatever the terminal
    root.addHandler(handler)
    try:
        yield stream
    finally:
        root.removeHandler(handler)
        requests.setLevel(level)


def _records(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]


def test_a_real_process_writes_one_json_line_per_request(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LANTAI_")}
    env.update(LANTAI_DATA_DIR=str(tmp_path), LANTAI_SECRET_KEY="test", LANTAI_LOG_FORMAT="json",
               LANTAI_REQUEST_LOG="1",  # as `lantai serve` sets it
               DJANGO_SETTINGS_MODULE="lantai.settings")  # fmt: skip
    code = (
        "import django; django.setup()\n"
        "from django.test import Client\n"
        "r = Client().get('/healthz?q=张三')\n"
        "print(r['X-Request-ID'])\n"
    )
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                          timeout=120)  # fmt: skip
    assert done.returncode == 0, done.stderr
    request_id = done.stdout.strip().splitlines()[-1]
    lines = [json.loads(line) for line in done.stderr.splitlines() if line.startswith("{")]
    line = next(x for x in lines if x["logger"] == "lantai.request")
    assert list(line)[:4] == ["timestamp", "level", "logger", "message"]
    stamp = datetime.fromisoformat(line["timestamp"])
    assert stamp.tzinfo is not None and stamp.utcoffset() is not None
    assert line["level"] == "INFO" and line["message"] == "GET /healthz 200"
    assert (line["method"], line["path"], line["status"]) == ("GET", "/healthz", 200)
    assert line["request_id"] == request_id and NEW_ID.fullmatch(request_id)
    assert isinstance(line["duration_ms"], float) and line["user"] is None
    assert "张三" not in done.stderr  # the query string is never logged


@pytest.mark.django_db
def test_the_signed_in_user_is_logged_by_id(json_lines: io.StringIO) -> None:
    from lantai.core.models import User

    user = User.objects.create_user("archivist-log", password="Xx-123456789")
    client = Client()
    client.force_login(user)
    client.get("/healthz")
    line = [r for r in _records(json_lines) if r["logger"] == "lantai.request"][-1]
    assert line["user"] == user.pk and "archivist-log" not in json.dumps(line)


def test_request_id_from_a_trusted_proxy_only(settings: Any, json_lines: io.StringIO) -> None:
    settings.TRUSTED_PROXIES = ["10.0.0.0/24"]
    factory = RequestFactory()
    seen: list[str] = []

    def view(request: HttpRequest) -> HttpResponse:
        logging.getLogger("lantai.test").warning("inside the view")
        seen.append(request_ids.current())
        return HttpResponse("ok")

    middleware = request_ids.RequestWatchMiddleware(view)
    proxied = factory.get("/x", HTTP_X_REQUEST_ID="nginx-7f3a", REMOTE_ADDR="10.0.0.5")
    response = middleware(proxied)
    assert response["X-Request-ID"] == "nginx-7f3a" and seen[-1] == "nginx-7f3a"
    inside = [r for r in _records(json_lines) if r["logger"] == "lantai.test"]
    assert inside[-1]["request_id"] == "nginx-7f3a"  # records made during the request carry it

    direct = factory.get("/x", HTTP_X_REQUEST_ID="chosen-by-client", REMOTE_ADDR="203.0.113.5")
    response = middleware(direct)
    assert response["X-Request-ID"] != "chosen-by-client" and NEW_ID.fullmatch(
        response["X-Request-ID"]
    )
    garbled = factory.get("/x", HTTP_X_REQUEST_ID="a b\nc", REMOTE_ADDR="10.0.0.5")
    assert NEW_ID.fullmatch(middleware(garbled)["X-Request-ID"])
    assert request_ids.current() == ""  # gone after the request


@pytest.mark.django_db
def test_a_job_queued_during_a_request_logs_under_its_id(json_lines: io.StringIO) -> None:
    from lantai.jobs import huey
    from lantai.ops import tasks

    huey.immediate = False
    huey.flush()
    try:
        token = request_ids.using("req-42")
        try:
            tasks.deliver_alerts()  # queued, as a view would queue a job
        finally:
            request_ids.reset(token)
        [job] = huey.pending()
        from django.core.cache import cache

        noted = cache.get(tasks._KEY.format(job.id))  # /metrics' wait of the job next in line
        assert noted["request_id"] == "req-42" and noted["at"] > 0
        cache.set(
            tasks._KEY.format(job.id), {**noted, "at": noted["at"] - 600}
        )  # queued 10 min ago
        assert 600 <= tasks.head_wait_seconds() < 3600  # the job next in line, from its note
        tasks._started("executing", job)  # what the worker does as it starts the job
        logging.getLogger("lantai.test").warning("inside the job")
        tasks._ended("complete", job)
    finally:
        huey.flush()
        huey.immediate = True
    inside = [r for r in _records(json_lines) if r["message"] == "inside the job"]
    assert inside[-1]["request_id"] == "req-42"
    assert request_ids.current() == ""
