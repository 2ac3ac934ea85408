"""Fixity audits next to other writers on the embedded SQLite database (issue 13, audit D1).

Two `lantai storage audit` processes on one data directory both finish: the audit reads the ids
of the due replicas before it writes anything, so no read snapshot stays open across its writes
(SQLite cannot upgrade one to a write once another process has written: "database is locked").
An audit that stops on an error still gives back its leases and finishes its AuditRun."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.db import OperationalError

from lantai.preservation import audit, leases, locations
from lantai.preservation.models import AuditRun, Package, Replica

LANTAI = [sys.executable, "-m", "lantai.cli"]

# More replicas than one fetch of a chunked read (100), each written to (claim, events, alerts).
SEED = """
import django
django.setup()
from lantai.preservation import locations
from lantai.preservation.models import Package, Replica
loc = locations.ensure_primary()
made = Package.objects.bulk_create(
    Package(object_id=f"urn:test:d1-{i}", kind="record", label=f"d1 {i}", version=1, files=1)
    for i in range(150)
)
Replica.objects.bulk_create(Replica(package=p, location=loc, version=1) for p in made)
"""

CHECK = """
import json, django
django.setup()
from lantai.preservation.models import AuditRun, Replica
print(json.dumps({
    "claimed": Replica.objects.exclude(claimed_by="").count(),
    "unfinished": AuditRun.objects.filter(finished_at=None).count(),
    "runs": AuditRun.objects.count(),
}))
"""


def _env(data: Path) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("LANTAI_DATABASE_URL", "LANTAI_HUEY_URL", "LANTAI_JOBS_IMMEDIATE")
    }
    env.update(
        LANTAI_DATA_DIR=str(data),
        LANTAI_SECRET_KEY="test-secret",
        DJANGO_SETTINGS_MODULE="lantai.settings",
    )
    return env


def test_two_audit_processes_on_one_sqlite_database(tmp_path: Path) -> None:
    data = tmp_path / "lantai-data"
    data.mkdir()
    env = _env(data)
    subprocess.run([*LANTAI, "init"], env=env, check=True, capture_output=True)
    subprocess.run([sys.executable, "-c", SEED], env=env, check=True, capture_output=True)
    command = [*LANTAI, "storage", "audit", "--limit", "100000", "--json"]
    procs = [
        subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        for _ in range(2)
    ]
    outputs = [p.communicate(timeout=120) for p in procs]
    for proc, (out, err) in zip(procs, outputs, strict=True):
        # 1: the seeded replicas have no files, so each audit reports them (never 3, an error)
        assert proc.returncode == 1, err.decode()[-2000:]
        report = json.loads(out)
        assert report["result"] == "fail" and report["unrepaired"] > 0
    # between them, every seeded replica was audited once or more
    assert sum(json.loads(out)["replicas"] for out, _ in outputs) >= 150
    state = subprocess.run([sys.executable, "-c", CHECK], env=env, check=True, capture_output=True)
    assert json.loads(state.stdout) == {"claimed": 0, "unfinished": 0, "runs": 2}


@pytest.mark.django_db
def test_failed_audit_gives_back_leases_and_finishes_its_run(
    monkeypatch: Any, settings: Any, tmp_path: Path
) -> None:
    # its own preservation root: one left by another test's database would be another location
    settings.PRESERVATION_ROOT = tmp_path / "preservation"
    loc = locations.ensure_primary()
    assert loc.online, loc.last_error
    for i in range(2):
        package = Package.objects.create(
            object_id=f"urn:test:d1-fail-{i}", kind="record", label="d1", version=1, files=1
        )
        Replica.objects.create(package=package, location=loc, version=1)

    # Fault injection (a mock is unavoidable here: the real lock race is the process test
    # above): the lease release fails the way SQLite failed there.
    def locked(*_args: object) -> None:
        raise OperationalError("database is locked")

    monkeypatch.setattr(leases, "release", locked)
    with pytest.raises(OperationalError):
        audit.run_audit(100)

    assert not Replica.objects.exclude(claimed_by="").exists()
    run = AuditRun.objects.get()
    assert run.finished_at is not None
    assert run.problems == len(run.details) >= 1
    assert run.details[-1]["kind"] == "run_failed"
    assert "database is locked" in run.details[-1]["found"]["error"]
