"""`lantai backup create|verify|restore` (issue 20, point 4), on the lane's own database engine
(SQLite in the SQLite run, PostgreSQL in the PostgreSQL run): a small archives made through the
services is backed up from the test database, then restored by the real command in a child
process into a fresh data directory and a fresh database (for PostgreSQL one made here,
lantai_test_backup_*), and checked."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.db import connection

from lantai.catalog import services as catalog
from lantai.catalog.models import Component, Record
from lantai.core import accounts, audit
from lantai.core.key_files import write_once
from lantai.ops import backup as bk
from lantai.ops.backup_manifest import describe_files, write_manifest

PG = "postgresql://postgres@127.0.0.1:5432"


def lantai(env: dict[str, str], *args: str, timeout: float = 180) -> tuple[int, Any]:
    """Run `lantai ARGS --json` in a child process; its exit code and JSON answer."""
    done = subprocess.run(
        [sys.executable, "-m", "lantai.cli", *args, "--json"],
        env=env, capture_output=True, text=True, timeout=timeout, check=False,
    )  # fmt: skip
    try:
        return done.returncode, json.loads(done.stdout)
    except ValueError:
        raise AssertionError(
            f"not JSON (exit {done.returncode}): {done.stdout}\n{done.stderr}"
        ) from None


def failed_checks(answer: dict[str, Any]) -> Any:
    """What a refused or failed restore said: its error, or the checks that failed, in full."""
    checks = answer.get("checks") or {}
    return answer.get("error") or {k: v for k, v in checks.items() if not v.get("ok")} or answer


def _pg(sql: str, dbname: str = "postgres") -> None:
    import psycopg

    with psycopg.connect(f"{PG}/{dbname}", autocommit=True) as conn:
        conn.execute(sql)


@pytest.fixture
def target(tmp_path: Path) -> Iterator[dict[str, str]]:
    """The environment of a fresh installation: an empty data directory and, on the lane's
    engine, an empty database (PostgreSQL: one made for the test, dropped after)."""
    env = {k: v for k, v in os.environ.items() if k != "LANTAI_DATABASE_URL"}
    data = tmp_path / "restored-data"
    data.mkdir()
    env.update(LANTAI_DATA_DIR=str(data), LANTAI_SECRET_KEY=settings.SECRET_KEY,
               LANTAI_JOBS_IMMEDIATE="1", LANTAI_PRESERVATION_MIN_COPIES="1")  # fmt: skip
    name = ""
    if connection.vendor == "postgresql":
        name = f"lantai_test_backup_{uuid.uuid4().hex[:10]}"
        _pg(f"CREATE DATABASE {name} TEMPLATE template0 ENCODING 'UTF8' LOCALE 'C.UTF-8'")
        env["LANTAI_DATABASE_URL"] = f"{PG}/{name}"
    try:
        yield env
    finally:
        if name:
            _pg(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def small_archives() -> dict[str, Any]:
    """Records with a file, users with grants, audit entries, counters (kept by the triggers)."""
    fonds = catalog.create_fonds("Z901", "备份测试全宗")
    ws = catalog.create_category(fonds, "WS")
    records = []
    for n in range(1, 4):
        record, issues = catalog.save_record(
            ws,
            {
                "title": f"关于备份演练的通知（{n}）", "author": "办公厅", "date": "20110315",
                "year": "2011", "retention": "永久", "org_code": "BGS", "item_number": str(n),
                "classification": "公开", "open_status": "开放",
            },
        )  # fmt: skip
        assert record is not None, issues
        records.append(record)
    Component.objects.create(record=records[0], name="a.pdf", size=1234, sm3="0" * 64,
                             sha256="0" * 64, path="a.pdf")  # fmt: skip
    user = accounts.create_user("backup_reader", role="cataloguer", password="Lt-backup-2026!x")
    user.repositories.add(fonds.repository)
    user.fonds.add(fonds)
    audit.record("backup_test", "record", records[0].pk, {"note": "备份前的最后一条"})
    write_once(Path(settings.DATA_DIR) / "keys" / "backup-test.key", lambda: b"k" * 32)
    return {"records": records, "user": user, "fonds": fonds}


@pytest.mark.django_db(transaction=True)
def test_create_then_restore_into_a_fresh_installation(
    tmp_path: Path, target: dict[str, str]
) -> None:
    made = small_archives()
    dest = tmp_path / "backup"
    result = bk.create(dest)
    head = audit.verify()
    # the chain head of the copy, before the backup's own audit entry was written
    assert result["audit_head"]["seq"] == head.checked - 1
    assert oct(dest.stat().st_mode & 0o777) == "0o700"
    key = dest / "data" / "keys" / "backup-test.key"
    assert oct(key.stat().st_mode & 0o777) == "0o600"
    manifest = json.loads((dest / "manifest.json").read_text())
    assert manifest["database"]["engine"] == connection.vendor
    assert manifest["counts"]["catalog_record"] == Record.objects.count() == 3
    assert manifest["migrations"]["core"] and manifest["lantai_version"]
    listed = {f["path"] for f in manifest["files"]}
    assert "data/keys/backup-test.key" in listed and "users.json" in listed
    assert not any(
        p.startswith(("data/search", "data/static", "data/preservation")) for p in listed
    )
    users = {u["username"]: u for u in json.loads((dest / "users.json").read_text())}
    assert users["backup_reader"]["fonds"] == ["Z901 备份测试全宗"]
    assert "password" not in users["backup_reader"]

    code, answer = lantai(target, "backup", "verify", str(dest))
    assert code == 0 and answer["ok"] and answer["files_checked"] == len(listed)

    code, answer = lantai(target, "backup", "restore", str(dest))
    assert code == 0, failed_checks(answer)
    checks = answer["checks"]
    assert checks["audit"]["checked"] == result["audit_head"]["seq"]
    assert checks["audit"]["head_hash"] == result["audit_head"]["hash"]
    assert checks["counts"]["ok"] and checks["counts"]["tables"] == len(manifest["counts"])
    assert checks["search"]["action"] in {"rebuilt", "restored with the database"}
    restored = Path(target["LANTAI_DATA_DIR"])
    assert (restored / "keys" / "backup-test.key").read_bytes() == b"k" * 32
    assert oct((restored / "keys" / "backup-test.key").stat().st_mode & 0o777) == "0o600"

    # what the restored installation holds, asked through the commands an operator would use
    code, chain = lantai(target, "audit", "verify")
    assert code == 0 and chain["checked"] == result["audit_head"]["seq"] + 1  # + backup_restore
    code, stats = lantai(target, "stats", "verify")
    assert code == 0 and stats["honest"], stats

    # a second restore into what is now a full installation is refused, naming what is there
    code, answer = lantai(target, "backup", "restore", str(dest))
    assert code == 1 and not answer["ok"]
    assert "--force" in answer["error"] and "keys" in answer["target"]["data_dir_entries"]
    assert answer["target"]["users"] >= 1
    assert made["user"].username in json.dumps(users)


@pytest.mark.django_db(transaction=True)
def test_a_tampered_backup_is_named_by_verify_and_refused_by_restore(
    tmp_path: Path, target: dict[str, str]
) -> None:
    small_archives()
    dest = tmp_path / "backup.tar"
    bk.create(dest)
    code, answer = lantai(target, "backup", "verify", str(dest))
    assert code == 0 and answer["ok"]
    # unpack, change one byte of a key file, verify the folder
    import tarfile

    with tarfile.open(dest) as tar:
        tar.extractall(tmp_path / "x", filter="data")
    folder = tmp_path / "x" / "backup"
    key = folder / "data" / "keys" / "backup-test.key"
    key.write_bytes(b"K" + key.read_bytes()[1:])
    (folder / "data" / "planted.txt").write_text("not from the archives")
    code, answer = lantai(target, "backup", "verify", str(folder))
    assert code == 1 and answer["changed"] == ["data/keys/backup-test.key"]
    assert answer["extra"] == ["data/planted.txt"]
    code, answer = lantai(target, "backup", "restore", str(folder))
    assert code == 1 and "data/keys/backup-test.key" in answer["error"]
    # nothing was written: the target is still empty
    assert not (Path(target["LANTAI_DATA_DIR"]) / "keys").exists()
    # a backup from a newer release (a migration this one does not know) is refused up front
    newer = tmp_path / "x" / "newer"
    (tmp_path / "x" / "backup").rename(newer)
    (newer / "data" / "keys" / "backup-test.key").write_bytes(b"k" * 32)  # files as made
    (newer / "data" / "planted.txt").unlink()
    manifest = json.loads((newer / "manifest.json").read_text())
    manifest["migrations"]["core"] = "9999_from_the_future"
    (newer / "manifest.json").write_text(json.dumps(manifest))
    code, answer = lantai(target, "backup", "restore", str(newer))
    assert code == 1 and answer["unknown_migrations"] == ["core.9999_from_the_future"], answer
    assert not (Path(target["LANTAI_DATA_DIR"]) / "keys").exists()


def _forge(folder: Path, sql: list[str]) -> None:
    """Change the backup's SQLite database and rewrite its manifest entry, as someone covering
    their tracks would: the files then match the manifest, only the chain can tell."""
    from lantai.ops.backup_manifest import file_sm3

    db = folder / "database" / "lantai.sqlite3"
    with sqlite3.connect(db) as conn:
        for statement in sql:
            conn.execute(statement)
    conn.close()
    manifest = json.loads((folder / "manifest.json").read_text())
    for row in manifest["files"]:
        if row["path"] == "database/lantai.sqlite3":
            row["size"], row["sm3"] = db.stat().st_size, file_sm3(db)
    (folder / "manifest.json").write_text(json.dumps(manifest))


@pytest.mark.django_db(transaction=True)
def test_a_stray_database_file_in_the_data_directory_never_replaces_the_restored_one(
    tmp_path: Path, target: dict[str, str]
) -> None:
    """A `lantai.sqlite3` in the data directory that is not the database in use (left by a move
    to PostgreSQL; in a test run the database is elsewhere) is not copied as a file, and a backup
    holding one anyway does not overwrite the restored database (found in the full CI run: the
    restore then checked an empty database)."""
    stray = Path(settings.DATA_DIR) / "lantai.sqlite3"
    made_here = not stray.exists()
    if made_here:
        sqlite3.connect(stray).close()
    try:
        small_archives()
        dest = tmp_path / "backup"
        bk.create(dest)
        listed = {f["path"] for f in json.loads((dest / "manifest.json").read_text())["files"]}
        assert "data/lantai.sqlite3" not in listed
        # a backup made before this fix holds the file: it must not reach the database either
        (dest / "data" / "lantai.sqlite3").write_bytes(stray.read_bytes())
        manifest = json.loads((dest / "manifest.json").read_text())
        manifest["files"] = describe_files(dest)
        write_manifest(dest, manifest)
        code, answer = lantai(target, "backup", "restore", str(dest))
        assert code == 0, failed_checks(answer)
        assert answer["checks"]["counts"]["ok"] and answer["checks"]["audit"]["ok"]
    finally:
        if made_here:
            stray.unlink(missing_ok=True)


@pytest.mark.sqlite_run_only  # edits the SQLite copy; the chain check itself is engine-independent
@pytest.mark.django_db(transaction=True)
def test_a_truncated_audit_chain_is_a_failed_restore(
    tmp_path: Path, target: dict[str, str]
) -> None:
    small_archives()
    dest = tmp_path / "backup"
    result = bk.create(dest)
    seq = result["audit_head"]["seq"]
    # the last entry removed and the head moved back: the chain itself verifies, but it no longer
    # reaches the head the manifest recorded
    _forge(dest, [
        f"DELETE FROM core_auditentry WHERE seq = {seq}",
        "UPDATE core_audithead SET seq = seq - 1, hash = (SELECT hash FROM core_auditentry "
        f"WHERE seq = {seq - 1})",
    ])  # fmt: skip
    code, answer = lantai(target, "backup", "restore", str(dest))
    assert code == 1 and not answer["ok"]
    audit_check = answer["checks"]["audit"]
    assert not audit_check["ok"] and audit_check["checked"] == seq - 1
    assert audit_check["expected_seq"] == seq and "备份时链头" in audit_check["reason"]


@pytest.mark.sqlite_run_only  # a file database written by another process: SQLite's case
@pytest.mark.django_db(transaction=True)
def test_backup_while_another_process_writes_is_consistent(
    tmp_path: Path, target: dict[str, str]
) -> None:
    small_archives()
    seed = tmp_path / "seed"
    bk.create(seed)
    code, answer = lantai(target, "backup", "restore", str(seed), "--no-reindex")
    assert code == 0, failed_checks(answer)
    # a writer appends audit entries (each with records of its own) for as long as it runs
    progress = tmp_path / "written"
    writer = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(progress)], env=target,
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        before = _wait_for_writes(progress, writer, above=0)
        code, made = lantai(target, "backup", "create", str(tmp_path / "hot"))
        assert code == 0, made
        _wait_for_writes(progress, writer, above=made["audit_head"]["seq"])  # still writing after
    finally:
        writer.terminate()
        writer.wait(timeout=30)
    assert made["audit_head"]["seq"] >= before  # taken while the writer was at work
    restored = dict(target, LANTAI_DATA_DIR=str(tmp_path / "again"))
    Path(restored["LANTAI_DATA_DIR"]).mkdir()
    code, answer = lantai(restored, "backup", "restore", str(tmp_path / "hot"), "--no-reindex")
    assert code == 0, failed_checks(answer)
    assert answer["checks"]["audit"]["checked"] == made["audit_head"]["seq"]
    assert answer["checks"]["counts"]["ok"]


WRITER = """
import os, sys, django
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "lantai.settings")
django.setup()
from django.db import transaction
from lantai.core import audit
from lantai.core.models import AuditHead
n = 0
while True:
    with transaction.atomic():
        audit.record("backup_writer", "test", n, {"n": n})
        audit.record("backup_writer", "test", n, {"n": n, "second": True})
    n += 1
    seq = AuditHead.objects.get(pk=1).seq
    tmp = sys.argv[1] + ".tmp"
    with open(tmp, "w") as f:
        f.write(str(seq))
    os.replace(tmp, sys.argv[1])
"""


def _wait_for_writes(progress: Path, writer: subprocess.Popen[str], above: int) -> int:
    """The writer's last committed head seq, once it is past `above` (it must be writing)."""
    for _ in range(600):
        if writer.poll() is not None:
            raise AssertionError(
                f"the writer ended: {writer.stderr.read() if writer.stderr else ''}"
            )
        if progress.exists() and (seq := int(progress.read_text() or 0)) > above:
            return seq
        time.sleep(0.05)
    raise AssertionError("the writer made no progress")


@pytest.mark.sqlite_run_only  # the check of the storage is engine-independent
@pytest.mark.django_db(transaction=True)
def test_a_preserved_package_missing_from_storage_fails_the_restore(
    tmp_path: Path, target: dict[str, str], settings: Any
) -> None:
    from lantai.preservation import locations
    from lantai.preservation.models import Package, Replica

    # a primary root and a location of this test's own: the session's primary root may carry the
    # marker of an earlier test's location (flushed since), which adding a location refuses
    settings.PRESERVATION_ROOT = tmp_path / "primary"
    small_archives()
    store = locations.add_location("backup-test", path=str(tmp_path / "store"), required=True)
    package = Package.objects.create(object_id="urn:lantai:backup-test-missing", kind="record",
                                     label="不在存储上的信息包", status="preserved", version=1)  # fmt: skip
    Replica.objects.create(package=package, location=store, version=1)
    dest = tmp_path / "backup"
    bk.create(dest)
    code, answer = lantai(target, "backup", "restore", str(dest), "--no-reindex")
    assert code == 1
    packages = answer["checks"]["packages"]
    assert packages["preserved_packages"] == 1 and packages["missing"] == 1
    assert packages["missing_examples"] == ["backup-test:urn:lantai:backup-test-missing"]
    assert answer["checks"]["audit"]["ok"] and answer["checks"]["counts"]["ok"]


def _fake_tool(folder: Path, name: str, version: str) -> None:
    """A stand-in for Debian's client (the only way to have an old one here): answers --version."""
    tool = folder / name
    tool.write_text(f"#!/bin/sh\necho '{name} (PostgreSQL) {version}'\n")
    tool.chmod(0o755)


def test_pg_dump_missing_or_older_than_the_server_is_named(
    tmp_path: Path, monkeypatch: Any
) -> None:
    from lantai.ops.backup_manifest import BackupError

    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(BackupError) as missing:
        bk.pg_tool("pg_dump", 15)
    assert missing.value.code == 2 and "postgresql-client" in missing.value.message
    _fake_tool(tmp_path, "pg_dump", "13.4")
    with pytest.raises(BackupError) as old:
        bk.pg_tool("pg_dump", 15)
    assert "13" in old.value.message and "postgresql-client-15" in old.value.message
    _fake_tool(tmp_path, "pg_dump", "16.2")
    assert bk.pg_tool("pg_dump", 15) == (str(tmp_path / "pg_dump"), 16)


def _wait_for_lock_holder(lock: Path, proc: subprocess.Popen[str]) -> None:
    """Until `proc` holds the run lock (seen in /proc/locks); it must not end meanwhile."""
    from lantai.ops.run_lock import holders

    for _ in range(1200):
        if proc.poll() is not None:
            raise AssertionError(f"the worker ended: {proc.stderr.read() if proc.stderr else ''}")
        if lock.exists() and proc.pid in holders(lock):
            return
        time.sleep(0.05)
    raise AssertionError("the worker never took the run lock")


@pytest.mark.django_db(transaction=True)
def test_restore_refuses_while_a_worker_runs_on_the_data_directory(
    tmp_path: Path, target: dict[str, str]
) -> None:
    """AUDIT20-9: `restore --force` overwrote the database and keys under a running worker."""
    small_archives()
    dest = tmp_path / "backup"
    bk.create(dest)
    code, answer = lantai(target, "backup", "restore", str(dest), "--no-reindex")
    assert code == 0, failed_checks(answer)
    data = Path(target["LANTAI_DATA_DIR"])
    key = data / "keys" / "backup-test.key"
    key.write_bytes(b"changed since the backup")
    worker_env = {k: v for k, v in target.items() if k != "LANTAI_JOBS_IMMEDIATE"}
    worker = subprocess.Popen(
        [sys.executable, "-m", "lantai.cli", "worker"], env=worker_env,
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        _wait_for_lock_holder(data / "lantai.lock", worker)
        code, answer = lantai(target, "backup", "restore", str(dest), "--force", "--no-reindex")
        assert code == 2 and not answer["ok"], answer
        assert "Lantai is running" in answer["error"] and answer["pids"] == [worker.pid]
        assert key.read_bytes() == b"changed since the backup"  # nothing was written
    finally:
        worker.terminate()
        worker.wait(timeout=60)
    if connection.vendor == "postgresql":  # a web server or worker of another machine
        import psycopg

        with psycopg.connect(target["LANTAI_DATABASE_URL"], autocommit=True) as other:
            other.execute("SELECT 1")
            code, answer = lantai(target, "backup", "restore", str(dest), "--force", "--no-reindex")
            assert code == 2 and len(answer["sessions"]) == 1, answer
            assert "--force-connections" in answer["error"]
            assert key.read_bytes() == b"changed since the backup"
            code, answer = lantai(target, "backup", "restore", str(dest), "--force",
                                  "--force-connections", "--no-reindex")  # fmt: skip
            assert code == 0, failed_checks(answer)
    else:
        code, answer = lantai(target, "backup", "restore", str(dest), "--force", "--no-reindex")
        assert code == 0, failed_checks(answer)
    assert key.read_bytes() == b"k" * 32
    assert answer["checks"]["audit"]["ok"]
