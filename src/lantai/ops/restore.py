"""`lantai backup restore`: a backup (backup.py) into the configured, empty database and data
directory, then the checks that say whether the restored archives is the one backed up: the
backup's files against its manifest (before anything is written), the audit chain end to end and
its head equal to the recorded one, row counts equal to the manifest's, the preserved packages the
catalogue names found on their storage locations, the search index rebuilt."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import DatabaseError, connection, connections

from lantai.ops import backup as bk
from lantai.ops import run_lock
from lantai.ops.backup_manifest import BackupError, Opened, read_manifest, verify_files

# What a fresh data directory holds before anything was restored: made by the settings at start
# (static/, a new secret_key, the job queue's file) or by `lantai init`.
FRESH_NAMES = {"static", "secret_key", "jobs.sqlite3", "state", "files", "uploads", "exports"}


def _nonempty_dirs(data: Path) -> list[str]:
    found = []
    for entry in sorted(data.iterdir()):
        name = entry.name
        if name.startswith(("lantai.sqlite3", "jobs.sqlite3")) or name.endswith(
            bk.RUNTIME_SUFFIXES
        ):
            continue
        if name in FRESH_NAMES and (not entry.is_dir() or not any(entry.iterdir())):
            continue
        if name == "secret_key":
            continue
        found.append(name)
    return found


def target_contents() -> dict[str, Any]:
    """What the configured database and data directory already hold (empty lists: nothing)."""
    tables = [t for t in connection.introspection.table_names() if t != "django_migrations"]
    rows = 0
    if "core_user" in tables:
        with connection.cursor() as c:
            c.execute("SELECT count(*) FROM core_user")
            rows = int(c.fetchone()[0])
    return {
        "database_tables": len(tables),
        "users": rows,
        "data_dir_entries": _nonempty_dirs(Path(settings.DATA_DIR)),
    }


def _refuse_nonempty(found: dict[str, Any]) -> None:
    what = []
    if found["database_tables"]:
        what.append(f"数据库已有 {found['database_tables']} 张表、{found['users']} 个用户 database has "
                    f"{found['database_tables']} tables, {found['users']} users")  # fmt: skip
    if found["data_dir_entries"]:
        what.append(
            "数据目录已有 data directory holds: " + ", ".join(found["data_dir_entries"][:12])
        )
    raise BackupError(
        f"恢复目标非空，拒绝覆盖（确认要覆盖请加 --force） the restore target is not empty "
        f"(add --force to overwrite): {settings.DATA_DIR}: " + "; ".join(what),
        1,
        target=found,
    )


def _refuse_other_sessions(force_connections: bool) -> int:
    """PostgreSQL: the client sessions of other backends on the target database (the web servers
    and workers of other machines, a psql left open). Restore refuses while there are any, unless
    `force_connections`; returns their number."""
    if connection.vendor != "postgresql":
        return 0
    with connection.cursor() as c:
        c.execute(
            "SELECT pid, coalesce(application_name, ''), coalesce(host(client_addr), 'local') "
            "FROM pg_stat_activity WHERE datname = current_database() "
            "AND pid <> pg_backend_pid() AND backend_type = 'client backend' ORDER BY pid"
        )
        rows = c.fetchall()
    if rows and not force_connections:
        seen = "; ".join(
            f"pid {pid} {app} {addr}".replace("  ", " ") for pid, app, addr in rows[:5]
        )
        db = connection.settings_dict["NAME"]
        raise BackupError(
            f"数据库 {db} 上还有 {len(rows)} 个其他会话：先停止所有机器上的 `lantai serve` 与 `lantai worker`"
            f"（恢复看不到其他机器），确认后可加 --force-connections — {len(rows)} other sessions are "
            f"connected to the database {db}: stop `lantai serve` and `lantai worker` on every "
            f"machine first (restore cannot see other machines), or add --force-connections: {seen}",
            2,
            sessions=[{"pid": p, "application": a, "client": h} for p, a, h in rows],
        )
    return len(rows)


# --- database -----------------------------------------------------------------------------------


def _restore_sqlite(root: Path) -> None:
    src_path = root / bk.DB_DIR / bk.SQLITE_NAME
    target = Path(str(settings.DATABASES["default"]["NAME"]))
    connections.close_all()
    src = sqlite3.connect(f"file:{src_path}?mode=ro&immutable=1", uri=True)
    try:
        dst = sqlite3.connect(target)
        try:
            src.backup(dst)
            dst.execute("PRAGMA journal_mode=WAL")
        finally:
            dst.close()
    finally:
        src.close()
    os.chmod(target, 0o600)


def _restore_pg(root: Path, force: bool) -> None:
    dump = root / bk.DB_DIR / bk.PG_DUMP_NAME
    with connection.cursor() as cursor:
        major = bk.server_major(cursor)
        if force:  # everything in the schema goes: the dump brings all of Lantai's objects back
            cursor.execute("DROP SCHEMA public CASCADE")
            cursor.execute("CREATE SCHEMA public")
    tool, _ = bk.pg_tool("pg_restore", major)
    connections.close_all()
    args, env = bk.pg_params(settings.DATABASES["default"])
    cmd = [tool, "--no-owner", "--no-privileges", "--single-transaction", "--exit-on-error",
           *args, str(dump)]  # fmt: skip
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise BackupError(
            f"pg_restore 失败 pg_restore failed (exit {done.returncode}): "
            f"{done.stderr.strip()[-2000:]}"
        )


def _restore_queue(root: Path) -> str:
    src_path = root / bk.DB_DIR / bk.JOBS_NAME
    target = bk._huey_file()
    if not src_path.exists():
        return "none in the backup"
    if target is None:
        return "not restored: the job queue is now in Redis (queued jobs of the backup are dropped)"
    src = sqlite3.connect(f"file:{src_path}?mode=ro&immutable=1", uri=True)
    try:
        dst = sqlite3.connect(target)
        try:
            src.backup(dst)
        finally:
            dst.close()
    finally:
        src.close()
    return str(target)


def _database_files() -> list[Path]:
    """The restored SQLite database and job queue, with their journals."""
    data = Path(settings.DATA_DIR).resolve()
    names = [data / bk.SQLITE_NAME]
    db = settings.DATABASES["default"]
    if db["ENGINE"].endswith("sqlite3"):
        names.append(Path(str(db["NAME"])).resolve())
    if (queue := bk._huey_file()) is not None:
        names.append(queue)
    return [Path(f"{p}{suffix}") for p in names for suffix in ("", "-wal", "-shm", "-journal")]


def _restore_files(root: Path) -> int:
    data = Path(settings.DATA_DIR)
    base = root / bk.DATA_SUBDIR
    n = 0
    if not base.is_dir():
        return 0
    databases = set(_database_files())
    for dirpath, _dirs, files in os.walk(base):
        for name in files:
            src = Path(dirpath) / name
            dest = data / src.relative_to(base)
            if dest.resolve() in databases:  # restored as databases, never overwritten by a file
                continue
            dest.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            shutil.copy2(src, dest)
            n += 1
    # the key directory as key_files makes it, whatever the backup's umask
    keys = data / "keys"
    if keys.is_dir():
        for dirpath, _dirs, files in os.walk(keys):
            os.chmod(dirpath, 0o700)
            for name in files:
                os.chmod(Path(dirpath) / name, 0o600)
    return n


# --- migrations ---------------------------------------------------------------------------------


def _newer_release(unknown: list[str]) -> BackupError:
    return BackupError(
        f"备份来自更新的版本（本版本没有迁移 {', '.join(unknown[:5])}）：请用备份时的版本恢复"
        f" — the backup comes from a newer release (migrations unknown here:"
        f" {', '.join(unknown[:5])}): restore with the release that made it",
        1,
        unknown_migrations=unknown,
    )


def refuse_newer(manifest: dict[str, Any]) -> None:
    """Before anything is written: the latest migration of each app in the backup must be one
    this release knows."""
    from django.db.migrations.loader import MigrationLoader

    disk = set(MigrationLoader(None, ignore_no_migrations=True).disk_migrations)
    unknown = sorted(
        f"{a}.{n}" for a, n in manifest.get("migrations", {}).items() if (a, n) not in disk
    )
    if unknown:
        raise _newer_release(unknown)


def migrate_if_older() -> dict[str, Any]:
    """Run `migrate` when the restored database is behind this release; refuse one ahead."""
    from django.core.management import call_command
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connection)
    applied = set(executor.loader.applied_migrations)
    unknown = sorted(f"{a}.{n}" for a, n in applied - set(executor.loader.disk_migrations))
    if unknown:
        raise _newer_release(unknown)
    plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    if plan:
        call_command("migrate", interactive=False, verbosity=0)
    return {"migrated": bool(plan), "applied_now": [f"{m.app_label}.{m.name}" for m, _ in plan]}


# --- checks -------------------------------------------------------------------------------------


def check_counts(manifest: dict[str, Any]) -> dict[str, Any]:
    present = set(connection.introspection.table_names())
    with connection.cursor() as cursor:
        facts = bk.snapshot_facts(cursor, present)
    want: dict[str, int] = manifest.get("counts", {})
    differ = {
        t: {"backup": n, "restored": facts["counts"].get(t)}
        for t, n in want.items()
        if facts["counts"].get(t) != n
    }
    return {"ok": not differ, "tables": len(want), "rows": sum(want.values()), "differ": differ}


def check_audit(manifest: dict[str, Any]) -> dict[str, Any]:
    from lantai.core.audit import verify

    r = verify()
    head = manifest.get("audit_head", {})
    reached = (
        r.ok and r.checked == head.get("seq") and (r.head_hash or "") == (head.get("hash") or "")
    )
    reason = r.reason
    if r.ok and not reached:
        reason = (f"审计链止于第 {r.checked} 条，备份时链头为第 {head.get('seq')} 条 the chain ends at "
                  f"{r.checked}, the backup's head was {head.get('seq')}")  # fmt: skip
    return {
        "ok": bool(reached), "checked": r.checked, "head_hash": r.head_hash,
        "expected_seq": head.get("seq"), "expected_hash": head.get("hash"),
        "broken_seq": r.broken_seq, "reason": reason,
    }  # fmt: skip


def check_packages() -> dict[str, Any]:
    """Each verified replica of each preserved package: its OCFL root inventory is found on its
    location (found / missing per location; a location that cannot be opened counts apart)."""
    from lantai.preservation import ocfl
    from lantai.preservation.locations import open_location
    from lantai.preservation.models import Package, Replica, StorageLocation

    per: dict[str, dict[str, Any]] = {}
    missing_examples: list[str] = []
    for loc in StorageLocation.objects.all():
        row: dict[str, Any] = {"found": 0, "missing": 0, "unreachable": 0, "error": ""}
        per[loc.name] = row
        replicas = Replica.objects.filter(
            location=loc, package__status="preserved", version__gt=0
        ).values_list("package__object_id", flat=True)
        try:
            backend = open_location(loc)
        except Exception as e:  # offline, marker mismatch, S3 down
            row["unreachable"] = replicas.count()
            row["error"] = str(e)[:300]
            continue
        for object_id in replicas.iterator(2000):
            key = f"{ocfl.object_path(backend, object_id)}/{ocfl.INVENTORY}"
            if backend.size(key) is not None:
                row["found"] += 1
            else:
                row["missing"] += 1
                if len(missing_examples) < 10:
                    missing_examples.append(f"{loc.name}:{object_id}")
    preserved = Package.objects.filter(status="preserved").count()
    missing = sum(r["missing"] + r["unreachable"] for r in per.values())
    return {
        "ok": missing == 0, "preserved_packages": preserved, "locations": per,
        "found": sum(r["found"] for r in per.values()), "missing": missing,
        "missing_examples": missing_examples,
    }  # fmt: skip


def check_secret_key(manifest: dict[str, Any]) -> dict[str, Any]:
    want = manifest.get("secret_key", {}).get("fingerprint_sm3")
    from lantai.core.sm3 import sm3_hex

    key = (
        os.environ.get("LANTAI_SECRET_KEY")
        or (Path(settings.DATA_DIR) / "secret_key").read_text().strip()
    )
    ok = sm3_hex(key.encode()) == want
    return {
        "ok": ok, "source": manifest.get("secret_key", {}).get("source"),
        "reason": "" if ok else "配置的 SECRET_KEY 与备份时不同：加密的存储位置密钥无法解密 the configured "
        "secret key differs from the backup's: encrypted storage credentials cannot be read",
    }  # fmt: skip


def rebuild_search(reindex: bool) -> dict[str, Any]:
    from lantai.search import services as search

    if settings.SEARCH_BACKEND == "postgresql":
        return {"ok": True, "backend": "postgresql", "action": "restored with the database"}
    if not reindex:
        return {
            "ok": True,
            "backend": settings.SEARCH_BACKEND,
            "action": "not rebuilt: run `lantai search reindex`",
        }
    search.reset_backends()
    n = search.reindex()
    return {"ok": True, "backend": settings.SEARCH_BACKEND, "action": "rebuilt", "indexed": n}


# --- restore ------------------------------------------------------------------------------------


def verify(src: Path) -> dict[str, Any]:
    """Re-hash a backup against its manifest."""
    with Opened(src) as opened:
        manifest = read_manifest(opened.root)
        files = verify_files(opened.root, manifest)
    return {
        "backup": str(src), "created_at": manifest.get("created_at"),
        "lantai_version": manifest.get("lantai_version"), "audit_head": manifest.get("audit_head"),
        **files.as_json(),
    }  # fmt: skip


def restore(
    src: Path, *, force: bool = False, reindex: bool = True, force_connections: bool = False,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:  # fmt: skip
    """Restore under the data directory's exclusive run lock: refused (exit 2) while `lantai
    serve` or `lantai worker` runs on it here; no server or worker starts until it is done."""
    try:
        with run_lock.exclusive(settings.DATA_DIR):
            return _restore(src, force=force, reindex=reindex,
                            force_connections=force_connections, progress=progress)  # fmt: skip
    except run_lock.DataDirInUse as e:
        raise in_use_error(e) from None


def in_use_error(e: run_lock.DataDirInUse) -> BackupError:
    """The refusal (exit 2) of work that needs the data directory to itself (restore, move)."""
    return BackupError(
        f"兰台正在运行 Lantai is running on this data directory (pid {e.pid_text}): stop "
        f"`lantai serve` and `lantai worker` first — 先停止 `lantai serve` 与 `lantai worker`: "
        f"{settings.DATA_DIR}",
        2,
        pids=e.pids,
        lock=str(e.path),
    )


def _restore(
    src: Path, *, force: bool, reindex: bool, force_connections: bool,
    progress: Callable[[str], None] | None,
) -> dict[str, Any]:  # fmt: skip
    say = progress or (lambda _m: None)
    with Opened(src) as opened:
        root = opened.root
        manifest = read_manifest(root)
        say("校验备份文件 checking the backup's files")
        files = verify_files(root, manifest)
        if not files.ok:
            raise BackupError(
                "备份文件与清单不符，拒绝恢复 the backup does not match its manifest, not restored: "
                + "; ".join(
                    f"{label}: {', '.join(names[:10])}"
                    for label, names in (
                        ("changed", files.changed),
                        ("missing", files.missing),
                        ("extra", files.extra),
                    )
                    if names
                ),  # fmt: skip
                1,
                files=files.as_json(),
            )
        engine = manifest["database"]["engine"]
        if engine != connection.vendor:
            raise BackupError(
                f"备份的数据库为 {engine}，当前配置为 {connection.vendor}：先恢复到同类数据库，再用 "
                f"`lantai database move` 迁移 — the backup's database is {engine}, the configured one"
                f" is {connection.vendor}: restore into the same engine, then `lantai database move`",
                1,
            )
        refuse_newer(manifest)
        try:
            found = target_contents()
        except DatabaseError as e:  # no server, no such database, no rights
            raise BackupError(
                f"无法使用恢复目标数据库 cannot use the target database: {e}".strip(), 2
            ) from e
        if (found["database_tables"] or found["data_dir_entries"]) and not force:
            _refuse_nonempty(found)
        _refuse_other_sessions(force_connections)
        say("恢复数据库 restoring the database")
        if engine == "sqlite":
            _restore_sqlite(root)
        else:
            _restore_pg(root, force)
        queue = _restore_queue(root)
        say("恢复文件 restoring files")
        restored_files = _restore_files(root)
    say("检查 checking")
    counts = check_counts(manifest)  # before migrate: the manifest describes the old schema
    migrated = migrate_if_older()
    checks = {
        "files": files.as_json(),
        "counts": counts,
        "audit": check_audit(manifest),
        "secret_key": check_secret_key(manifest),
        "packages": check_packages(),
    }
    checks["search"] = rebuild_search(reindex)
    ok = all(c["ok"] for c in checks.values())
    if ok:
        from lantai.core import audit

        audit.record(
            "backup_restore", "backup", src.name[:64],
            {"path": str(src), "audit_head": manifest["audit_head"], "created_at": manifest.get("created_at"),
             "migrated": migrated["migrated"]},
        )  # fmt: skip
    return {
        "ok": ok, "backup": str(src), "created_at": manifest.get("created_at"),
        "lantai_version": manifest.get("lantai_version"), "database": engine,
        "data_files": restored_files, "job_queue": queue, "migrations": migrated,
        "overwrote": found if force else None, "checks": checks,
    }  # fmt: skip
