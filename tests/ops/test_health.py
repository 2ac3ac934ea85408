"""/healthz and /readyz (issue 20, point 3): real checks against the test database, a real
storage location whose disk is "unmounted" (its folder empty, no identity marker), a real
unreachable database in a child process, and a worker that is not running."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from lantai import jobs
from lantai.jobs import huey


@pytest.fixture(autouse=True)
def _own_preservation_root(settings: Any, tmp_path: Path) -> None:
    settings.PRESERVATION_ROOT = tmp_path / "preservation"  # each test's primary its own marker


def _ready(client: Client) -> tuple[int, dict[str, Any]]:
    response = client.get("/readyz")
    return response.status_code, json.loads(response.content)


def _check(body: dict[str, Any], name: str) -> dict[str, Any]:
    return next(c for c in body["checks"] if c["name"] == name)


def test_healthz_answers_without_touching_the_database() -> None:
    # no django_db mark: any query here would fail the test
    response = Client().get("/healthz")
    assert response.status_code == 200
    assert json.loads(response.content) == {"status": "ok"}
    assert "Set-Cookie" not in response.headers and "Cookie" not in response.get("Vary", "")


@pytest.mark.django_db
def test_readyz_ready_names_what_it_examined(
    settings: Any, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    from lantai.preservation import locations
    from lantai.search import services as search

    settings.SEARCH_INDEX_DIR = (
        tmp_path / "index"
    )  # an index of its own: the session's has documents
    search.reset_backends()
    request.addfinalizer(search.reset_backends)  # the next test opens the session's index again

    primary = locations.ensure_primary()
    status, body = _ready(Client())
    assert status == 200, body
    clamd = _check(body, "clamd")
    # the test data directory has no virus signatures: said, as degraded, never as fine
    assert clamd["evidence"]["signatures"] == 0 and clamd["state"] == "degraded"
    assert body["status"] == "degraded" and body["failed"] == ["clamd"]
    assert _check(body, "database")["evidence"]["migrations"] > 10
    storage = _check(body, "storage")["evidence"]
    assert storage["required_locations"] == 1
    assert storage["locations"][0] == {**storage["locations"][0], "name": primary.name,
                                       "marker": True, "writable": True, "ok": True}  # fmt: skip
    assert storage["locations"][0]["free_bytes"] > 0
    assert _check(body, "search")["evidence"]["documents"] == 0
    assert clamd["required"] is False and "running" in clamd["evidence"]
    assert primary.path not in json.dumps(body)  # names, not paths


@pytest.mark.django_db
def test_readyz_unmounted_storage_location_is_503_naming_it(tmp_path: Path) -> None:
    from lantai.preservation import locations
    from lantai.preservation.models import StorageLocation

    locations.ensure_primary()
    mount_point = tmp_path / "nas"
    mount_point.mkdir()  # what an unmounted disk's mount point looks like: an empty folder
    StorageLocation.objects.create(name="nas", kind="local", path=str(mount_point), required=True)
    status, body = _ready(Client())
    assert status == 503
    assert body["status"] == "fail" and body["failed"] == ["storage", "clamd"]
    storage = _check(body, "storage")
    assert storage["ok"] is False and storage["state"] == "fail"
    assert "nas" in storage["error"] and "lantai-location.json" in storage["error"]
    assert [e["ok"] for e in storage["evidence"]["locations"]] == [True, False]
    assert not list(mount_point.iterdir())  # the probe wrote nothing onto the wrong disk


@pytest.mark.django_db
def test_readyz_without_a_worker_is_degraded_but_serving(settings: Any) -> None:
    from lantai.preservation import locations

    locations.ensure_primary()
    huey.immediate = False  # as in production: jobs wait for a worker
    try:
        status, body = _ready(Client())
        assert status == 200, body
        assert body["status"] == "degraded" and body["failed"] == ["worker", "clamd"]
        worker = _check(body, "worker")
        assert worker["state"] == "degraded" and "not running" in worker["error"]
        assert worker["evidence"]["running"] is False
        jobs.beat()  # a worker's heartbeat
        status, body = _ready(Client())
        assert status == 200 and body["failed"] == ["clamd"]
        assert _check(body, "worker")["evidence"]["heartbeat_age_s"] < 60
    finally:
        huey.immediate = True


def test_readyz_with_an_unreachable_database_is_503(tmp_path: Path) -> None:
    """A real process whose LANTAI_DATABASE_URL names a server that is not there: /healthz
    still answers, /readyz says 503 and names the database, and shows no password."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LANTAI_")}
    env.update(
        LANTAI_DATA_DIR=str(tmp_path / "data"),
        LANTAI_SECRET_KEY="test",
        LANTAI_DATABASE_URL="postgresql://lantai:s3cret-pw@127.0.0.1:1/lantai",
        DJANGO_SETTINGS_MODULE="lantai.settings",
        LANTAI_LOG_FORMAT="text",
    )
    code = (
        "import django, json; django.setup()\n"
        "from django.test import Client\n"
        "c = Client()\n"
        "h = c.get('/healthz'); r = c.get('/readyz')\n"
        "print(json.dumps({'health': h.status_code, 'ready': r.status_code, "
        "'body': r.content.decode()}))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                          timeout=120)  # fmt: skip
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert out["health"] == 200 and out["ready"] == 503
    body = json.loads(out["body"])
    assert "database" in body["failed"]
    database = _check(body, "database")
    assert database["required"] and "database query failed" in database["error"]
    assert "s3cret-pw" not in out["body"]
