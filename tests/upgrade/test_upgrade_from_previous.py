"""Upgrade from the previous release's database (issue 20, point 5).

tests/fixtures/upgrade/0.19.0/ holds the database of `lantai demo --no-serve --records 200` made by
release 0.19.0 (commit 7e5e72f; its README says how): an SQLite file and a PostgreSQL dump. The
test restores the one of the run's engine (SQLite in the SQLite run, PostgreSQL in the PostgreSQL
run) into a fresh data directory or database, upgrades it with this release's `lantai init`, as
docs/upgrading.md tells operators to, and checks in processes of its own that the data survived:
counts, the audit chain with its old head, the demo's passwords, a public record page, no
migration left unapplied and Django's system checks clean.
"""

from __future__ import annotations

import json
import lzma
import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "upgrade" / "0.19.0"
EXPECTED = json.loads((FIXTURES / "expected.json").read_text(encoding="utf-8"))
LANTAI = [sys.executable, "-m", "lantai.cli"]
DEMO_PASSWORD = "Lantai@2024demo"  # lantai.demo's accounts, unchanged since 0.19.0


def _env(data: Path, database_url: str | None) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("LANTAI_DATABASE_URL", "LANTAI_HUEY_URL", "LANTAI_SEARCH_DATABASE_URL")
    }
    env.update(LANTAI_DATA_DIR=str(data), LANTAI_SECRET_KEY="test-secret")
    if database_url:
        env["LANTAI_DATABASE_URL"] = database_url
    return env


def _run(argv: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, env=env, capture_output=True, text=True, timeout=600)


@pytest.fixture
def restored(tmp_path: Path, settings: Any) -> Iterator[tuple[str, dict[str, str]]]:
    """The 0.19.0 database restored for the run's engine: (engine, environment of the upgrade)."""
    data = tmp_path / "lantai-data"
    data.mkdir()
    db = settings.DATABASES["default"]
    if db["ENGINE"] == "django.db.backends.sqlite3":
        with (
            lzma.open(FIXTURES / "lantai.sqlite3.xz") as src,
            open(data / "lantai.sqlite3", "wb") as dst,
        ):
            shutil.copyfileobj(src, dst)
        yield "sqlite", _env(data, None)
        return
    assert db["ENGINE"] == "django.db.backends.postgresql", db["ENGINE"]
    name = f"lantai_test_deploy_upgrade_{uuid.uuid4().hex[:8]}"
    server = [
        "-h", str(db.get("HOST") or "127.0.0.1"), "-p", str(db.get("PORT") or 5432),
        "-U", str(db.get("USER") or "postgres"),
    ]  # fmt: skip
    pg_env = {**os.environ, "PGPASSWORD": str(db.get("PASSWORD") or "")}

    def psql(*args: str, sql: bytes | None = None, database: str = "postgres") -> None:
        done = subprocess.run(
            ["psql", *server, "-d", database, "-v", "ON_ERROR_STOP=1", "-q", *args],
            input=sql, env=pg_env, capture_output=True, timeout=300,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr.decode(errors="replace")

    # as docs/operator-guide.md creates it: UTF-8 with a UTF-8 ctype
    psql("-c", f"CREATE DATABASE {name} ENCODING 'UTF8' TEMPLATE template0 "
               "LC_COLLATE 'C.UTF-8' LC_CTYPE 'C.UTF-8'")  # fmt: skip
    try:
        psql("-f", "-", sql=lzma.decompress((FIXTURES / "postgresql.sql.xz").read_bytes()),
             database=name)  # fmt: skip
        user, password = db.get("USER") or "postgres", db.get("PASSWORD") or ""
        auth = f"{user}:{password}@" if password else f"{user}@"
        url = f"postgresql://{auth}{db.get('HOST') or '127.0.0.1'}:{db.get('PORT') or 5432}/{name}"
        yield "postgresql", _env(data, url)
    finally:
        psql("-c", f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


# What the upgraded database holds, read by this release's code in a process of its own.
FACTS = """
import json, os
os.environ["DJANGO_SETTINGS_MODULE"] = "lantai.settings"
import django
django.setup()
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.test import Client
from lantai.catalog import public
from lantai.catalog.models import Fonds, Record
from lantai.core.models import AuditEntry
from lantai.marriage.models import Registration
pk = int(os.environ["UPGRADE_RECORD"])
record = public.public_record(pk)
page = Client().get(public.record_path(record.repository.code, record.reference_code, pk)) if record else None
users = get_user_model().objects
call_command("migrate", check=True, verbosity=0)  # exits 1 while a migration is unapplied
call_command("check", databases=["default"])  # raises SystemCheckError on an error
signs_in = users.filter(username__in=("admin", "archivist", "auditor"))
print(json.dumps({
    "records": Record.objects.count(),
    "fonds": Fonds.objects.count(),
    "users": users.count(),
    "marriage_registrations": Registration.objects.count(),
    "audit_hash_at_old_head": AuditEntry.objects.get(seq=int(os.environ["UPGRADE_HEAD_SEQ"])).hash,
    "passwords_ok": sorted(u.username for u in signs_in if u.check_password(os.environ["UPGRADE_PW"])),
    "record_status": page.status_code if page else None,
    "record_page_has_title": bool(page) and record.title in page.content.decode(),
}, ensure_ascii=False))
"""


@pytest.mark.django_db  # kept in the PostgreSQL run (LANTAI_TESTS_DATABASE_ONLY): restores there
def test_upgrade_from_0_19_0_keeps_the_data(restored: tuple[str, dict[str, str]]) -> None:
    engine, env = restored
    expected = EXPECTED[engine]

    init = _run([*LANTAI, "init"], env)
    assert init.returncode == 0, init.stderr
    assert "数据目录已就绪" in init.stdout

    # the audit chain still verifies end to end and still starts with 0.19.0's entries
    verify = _run([*LANTAI, "audit", "verify", "--json"], env)
    assert verify.returncode == 0, verify.stdout + verify.stderr
    chain = json.loads(verify.stdout)
    assert chain["ok"] is True
    assert chain["checked"] >= expected["audit_entries"]

    env_facts = {
        **env,
        "UPGRADE_RECORD": str(EXPECTED["open_record"]["pk"]),
        "UPGRADE_HEAD_SEQ": str(expected["audit_entries"]),
        "UPGRADE_PW": DEMO_PASSWORD,
    }
    done = _run([sys.executable, "-c", FACTS], env_facts)
    # it fails on an unapplied migration or a system check error (with the check's message)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "no issues" in done.stdout
    facts = json.loads(done.stdout.strip().splitlines()[-1])
    for key in ("records", "fonds", "users", "marriage_registrations"):
        assert facts[key] == expected[key], (key, facts[key], expected[key])
    assert facts["audit_hash_at_old_head"] == expected["audit_head_hash"]
    # the demo's accounts still sign in with their passwords (hashes carried over)
    assert facts["passwords_ok"] == ["admin", "archivist", "auditor"]
    assert facts["record_status"] == 200
    assert facts["record_page_has_title"], EXPECTED["open_record"]["title"]
