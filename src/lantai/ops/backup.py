"""`lantai backup create`: one folder (or tar) holding a consistent copy of the database, the data
directory's parts that are not preserved elsewhere, a readable summary of users and grants, and a
manifest (backup_manifest) with each file's SM3 and the audit chain head of the copied database.

Consistency: SQLite is copied with the online backup API (`sqlite3.Connection.backup`) from the
live database, writers go on meanwhile; the chain head, row counts and migrations are then read
from the copy. PostgreSQL is dumped with `pg_dump -Fc --snapshot` of a REPEATABLE READ transaction
in which the head, counts and migrations are read, so all describe the same instant.

Not in the backup (decision in the report / docs): preserved packages (OCFL storage locations,
kept by replicas and fixity audits), the search index and extracted-text cache (derived: rebuilt on
restore), derivatives (rebuildable from stored files), collected static files, the shared state
stores (sessions, progress, rate-limit buckets: users sign in again), ClamAV's runtime directory
(re-import the signatures), generated exports."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import shutil
import socket
import sqlite3
import subprocess
import tarfile
import tempfile
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import connection, transaction

from lantai.core.sm3 import sm3_hex
from lantai.ops.backup_manifest import FORMAT, BackupError, describe_files, write_manifest

DB_DIR = "database"
DATA_SUBDIR = "data"
SQLITE_NAME = "lantai.sqlite3"
PG_DUMP_NAME = "lantai.pgdump"
JOBS_NAME = "jobs.sqlite3"
USERS_NAME = "users.json"
# Names under the data directory never copied, with the reason the manifest gives.
EXCLUDED_NAMES = {
    "static": "derived: collected static files",
    "state": "sessions, job progress, rate-limit buckets (users sign in again)",
    "clamav": "virus scanner runtime and signatures: re-import with `lantai clamav import-signatures`",
    "delivery": "derived: watermarked public copies and image tiles, rendered again on demand",
    "metrics": "runtime: Prometheus counters of the running web processes",
    "exports": "generated downloads",
    "search": "derived: search index and text cache, rebuilt on restore",
    "derivatives": "derived: rebuildable from the stored files",
    "tests": "test run working files",
}
RUNTIME_SUFFIXES = (".sock", ".pid", ".lock", "-wal", "-shm", "-journal")


# --- database -----------------------------------------------------------------------------------


def model_tables() -> list[str]:
    """Every table of a Django model (auto-created many-to-many tables included), sorted."""
    from django.apps import apps

    return sorted(
        {
            m._meta.db_table
            for m in apps.get_models(include_auto_created=True)
            if m._meta.managed and not m._meta.proxy
        }
    )


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def snapshot_facts(cursor: Any, present: set[str]) -> dict[str, Any]:
    """Audit chain head, row counts of every model table and the latest migration per app, read
    through `cursor` (the copy, or the dump's snapshot)."""
    counts: dict[str, int] = {}
    for table in model_tables():
        if table in present:
            cursor.execute(f"SELECT count(*) FROM {_quote(table)}")
            counts[table] = int(cursor.fetchone()[0])
    head = {"seq": 0, "hash": ""}
    if "core_audithead" in present:
        cursor.execute("SELECT seq, hash FROM core_audithead WHERE id = 1")
        row = cursor.fetchone()
        if row:
            head = {"seq": int(row[0]), "hash": str(row[1])}
    migrations: dict[str, str] = {}
    applied = 0
    if "django_migrations" in present:
        cursor.execute("SELECT app, name FROM django_migrations ORDER BY app, name")
        for app, name in cursor.fetchall():
            migrations[app] = max(migrations.get(app, ""), name)
            applied += 1
    return {
        "counts": counts, "audit_head": head, "migrations": migrations, "applied": applied,
        "users": users_summary(cursor, present),
    }  # fmt: skip


def _sqlite_tables(conn: sqlite3.Connection) -> set[str]:
    return {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}


def sqlite_copy(src: sqlite3.Connection, dest: Path) -> None:
    """Copy a live SQLite database page by page (other connections may write meanwhile: SQLite
    restarts the copy when the source changes under it, the result is one consistent state)."""
    dst = sqlite3.connect(dest)
    try:
        src.backup(dst)
        # a self-contained file: read-only readers of the backup never add -wal/-shm beside it
        dst.execute("PRAGMA journal_mode=DELETE")
    finally:
        dst.close()


def _backup_sqlite(db_dir: Path) -> dict[str, Any]:
    connection.ensure_connection()
    raw = connection.connection
    dest = db_dir / SQLITE_NAME
    sqlite_copy(raw, dest)
    os.chmod(dest, 0o600)
    copy = sqlite3.connect(dest)
    try:
        check = copy.execute("PRAGMA integrity_check").fetchone()[0]
        if check != "ok":
            raise BackupError(
                f"数据库副本完整性检查失败 the database copy fails integrity_check: {check}"
            )
        facts = snapshot_facts(copy.cursor(), _sqlite_tables(copy))
    finally:
        copy.close()
    facts["database"] = {"engine": "sqlite", "file": f"{DB_DIR}/{SQLITE_NAME}"}
    return facts


def pg_params(db: Mapping[str, Any]) -> tuple[list[str], dict[str, str]]:
    """libpq connection arguments and environment (the password through PGPASSWORD, never the
    command line) for pg_dump / pg_restore."""
    args = ["--dbname", str(db["NAME"])]
    if db.get("HOST"):
        args += ["--host", str(db["HOST"])]
    if db.get("PORT"):
        args += ["--port", str(db["PORT"])]
    if db.get("USER"):
        args += ["--username", str(db["USER"])]
    env = dict(os.environ)
    if db.get("PASSWORD"):
        env["PGPASSWORD"] = str(db["PASSWORD"])
    if (db.get("OPTIONS") or {}).get("sslmode"):
        env["PGSSLMODE"] = str(db["OPTIONS"]["sslmode"])
    return args, env


def pg_tool(name: str, server_major: int) -> tuple[str, int]:
    """The path and major version of pg_dump / pg_restore; BackupError when it is missing or older
    than the server (it would refuse, or miss what the server has)."""
    path = shutil.which(name)
    if path is None:
        raise BackupError(
            f"找不到 {name}：请安装 Debian 的 postgresql-client（主版本不低于服务器的 {server_major}）"
            f" — {name} not found: install Debian's postgresql-client (major version at least the"
            f" server's, {server_major})",
            2,
        )
    out = subprocess.run([path, "--version"], capture_output=True, text=True, check=False).stdout
    m = re.search(r"(\d+)(?:\.\d+)?", out)
    major = int(m.group(1)) if m else 0
    if major < server_major:
        raise BackupError(
            f"{name} 版本 {major} 低于数据库服务器的 {server_major}：请安装 postgresql-client-"
            f"{server_major} — {name} {major} is older than the server ({server_major}): install"
            f" postgresql-client-{server_major}",
            2,
        )
    return path, major


def server_major(cursor: Any) -> int:
    cursor.execute("SHOW server_version_num")
    return int(cursor.fetchone()[0]) // 10000


def _backup_pg(db_dir: Path) -> dict[str, Any]:
    dest = db_dir / PG_DUMP_NAME
    args, env = pg_params(connection.settings_dict)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        major = server_major(cursor)
        tool, tool_major = pg_tool("pg_dump", major)
        cursor.execute("SELECT pg_export_snapshot()")
        snapshot = cursor.fetchone()[0]
        cmd = [tool, "-Fc", "--no-owner", "--no-privileges", f"--snapshot={snapshot}", "--file",
               str(dest), *args]  # fmt: skip
        done = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise BackupError(
                f"pg_dump 失败 pg_dump failed (exit {done.returncode}): {done.stderr.strip()[-2000:]}"
            )
        present = set(connection.introspection.table_names(cursor))
        facts = snapshot_facts(cursor, present)
    os.chmod(dest, 0o600)
    facts["database"] = {
        "engine": "postgresql", "file": f"{DB_DIR}/{PG_DUMP_NAME}",
        "server_major": major, "pg_dump_major": tool_major,
    }  # fmt: skip
    return facts


# --- the data directory -------------------------------------------------------------------------


def _storage_roots() -> list[Path]:
    """Local storage locations (preserved packages): never copied."""
    from lantai.preservation.models import StorageLocation

    roots = [Path(settings.PRESERVATION_ROOT)]
    roots += [
        Path(p)
        for p in StorageLocation.objects.filter(kind="local").values_list("path", flat=True)
        if p
    ]
    return [r.resolve() for r in roots]


def excluded_paths() -> dict[Path, str]:
    """Absolute paths under the data directory left out of the backup, with the reason."""
    data = Path(settings.DATA_DIR).resolve()
    out = {data / name: why for name, why in EXCLUDED_NAMES.items()}
    for path, why in (
        (Path(settings.SEARCH_INDEX_DIR), EXCLUDED_NAMES["search"]),
        (Path(settings.SEARCH_TEXT_CACHE_DIR), EXCLUDED_NAMES["search"]),
        (Path(settings.DERIVATIVES_DIR), EXCLUDED_NAMES["derivatives"]),
        (Path(settings.STATIC_ROOT), EXCLUDED_NAMES["static"]),
    ):
        out[path.resolve()] = why
    for root in _storage_roots():
        out[root] = "preserved packages: kept by replicas and fixity audits, not by the backup"
    # The embedded database's file, whatever the configured NAME says (a test run renames it, a
    # moved installation leaves the old one): a database is backed up as one, never as a file.
    out[data / SQLITE_NAME] = f"the SQLite database: copied by the online backup API into {DB_DIR}/"
    db = settings.DATABASES["default"]
    if db["ENGINE"].endswith("sqlite3"):
        out[Path(str(db["NAME"])).resolve()] = f"copied by the online backup API into {DB_DIR}/"
    huey_file = _huey_file()
    if huey_file is not None:
        out[huey_file] = f"job queue, copied by the online backup API into {DB_DIR}/"
    return out


def _huey_file() -> Path | None:
    name = settings.HUEY.get("filename")
    return Path(str(name)).resolve() if name else None


def kept_files(excluded: dict[Path, str]) -> Iterator[Path]:
    """Files of the data directory to copy (absolute), in a stable order."""
    data = Path(settings.DATA_DIR).resolve()
    for dirpath, dirnames, filenames in os.walk(data):
        here = Path(dirpath)
        dirnames[:] = sorted(d for d in dirnames if (here / d).resolve() not in excluded)
        for name in sorted(filenames):
            path = here / name
            if path.resolve() in excluded or name.endswith(RUNTIME_SUFFIXES):
                continue
            if path.is_symlink() or not path.is_file():
                continue
            yield path


def _copy_private(src: Path, dest: Path) -> None:
    """Copy a file keeping its mode; directories made 0700 (key files stay 0600)."""
    dest.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    shutil.copy2(src, dest)


# --- users --------------------------------------------------------------------------------------


USER_COLUMNS = (
    "id",
    "username",
    "first_name",
    "last_name",
    "email",
    "role",
    "clearance",
    "scope_all",
    "is_active",
    "is_staff",
    "is_superuser",
    "last_login",
)
GRANTS = {  # list in users.json: (link table, its column, joined table, the label)
    "repositories": ("core_user_repositories", "repository_id", "catalog_repository",
                     "t.code || ' ' || t.name"),
    "fonds": ("core_user_fonds", "fonds_id", "catalog_fonds", "t.code || ' ' || t.name"),
    "groups": ("core_user_groups", "group_id", "auth_group", "t.name"),
}  # fmt: skip


def users_summary(cursor: Any, present: set[str]) -> list[dict[str, Any]]:
    """Users and their grants, readable, from the copy or snapshot (no password hashes; the
    database holds them in full)."""
    if "core_user" not in present:
        return []
    cursor.execute(f"SELECT {', '.join(USER_COLUMNS)} FROM core_user ORDER BY username")
    users = {row[0]: dict(zip(USER_COLUMNS, row, strict=True)) for row in cursor.fetchall()}
    for key, (link, column, table, label) in GRANTS.items():
        for u in users.values():
            u[key] = []
        if {link, table} <= present:
            cursor.execute(
                f"SELECT l.user_id, {label} FROM {link} l JOIN {table} t ON t.id = l.{column} "
                "ORDER BY 2"
            )
            for user_id, text in cursor.fetchall():
                if user_id in users:
                    users[user_id][key].append(text)
    out = []
    for u in users.values():
        u.pop("id")
        for flag in ("scope_all", "is_active", "is_staff", "is_superuser"):
            u[flag] = bool(u[flag])
        u["last_login"] = str(u["last_login"]) if u["last_login"] else None
        out.append(u)
    return out


# --- create -------------------------------------------------------------------------------------


def secret_key_facts() -> dict[str, Any]:
    source = "environment" if os.environ.get("LANTAI_SECRET_KEY") else "file"
    return {"source": source, "fingerprint_sm3": sm3_hex(settings.SECRET_KEY.encode())}


def _check_destination(dest: Path) -> None:
    data = Path(settings.DATA_DIR).resolve()
    target = dest.resolve()
    if target == data or data in target.parents:
        raise BackupError(
            f"备份目标不能在数据目录内 the backup may not be written inside the data directory: {dest}"
        )
    if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
        raise BackupError(
            f"备份目标已存在且非空 the backup destination exists and is not empty: {dest}"
        )
    if not target.parent.is_dir():
        raise BackupError(
            f"备份目标的上级目录不存在 the destination's parent folder does not exist: {target.parent}",
            2,
        )


@contextmanager
def _building(dest: Path, as_tar: bool) -> Iterator[Path]:
    """The folder to fill: `dest` itself, or for a tar a private folder beside it."""
    if not as_tar:
        dest.mkdir(mode=0o700, exist_ok=True)
        os.chmod(dest, 0o700)
        try:
            yield dest
        except BaseException:  # no half-written backup left to be taken for a good one
            shutil.rmtree(dest, ignore_errors=True)
            raise
        return
    with tempfile.TemporaryDirectory(prefix=".lantai-backup-", dir=dest.parent) as tmp:
        root = Path(tmp) / dest.name.removesuffix(".tar")
        root.mkdir(mode=0o700)
        yield root


def create(dest: Path, progress: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Write a backup to `dest` (a folder, or a file ending in .tar) and return its summary."""
    import lantai

    say = progress or (lambda _m: None)
    as_tar = dest.name.endswith(".tar")
    _check_destination(dest)
    started = dt.datetime.now(dt.UTC)
    with _building(dest, as_tar) as root:
        db_dir = root / DB_DIR
        db_dir.mkdir(mode=0o700)
        say("数据库 database")
        engine = connection.vendor
        facts = _backup_sqlite(db_dir) if engine == "sqlite" else _backup_pg(db_dir)
        huey_file = _huey_file()
        queue = "not included: the job queue is in Redis"
        if huey_file is not None and huey_file.exists():
            src = sqlite3.connect(huey_file)
            try:
                sqlite_copy(src, db_dir / JOBS_NAME)
            finally:
                src.close()
            os.chmod(db_dir / JOBS_NAME, 0o600)
            queue = f"{DB_DIR}/{JOBS_NAME}"
        say("数据目录 data directory")
        excluded = excluded_paths()
        data = Path(settings.DATA_DIR).resolve()
        copied = 0
        for path in kept_files(excluded):
            _copy_private(path, root / DATA_SUBDIR / path.relative_to(data))
            copied += 1
        users = facts["users"]
        fd = os.open(root / USERS_NAME, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(users, f, ensure_ascii=False, indent=2)
        say("清单 manifest")
        files = describe_files(root)
        manifest = {
            "format": FORMAT,
            "lantai_version": lantai.__version__,
            "created_at": started.isoformat(),
            "host": socket.gethostname(),
            "data_dir": str(data),
            "database": facts["database"],
            "migrations": facts["migrations"],
            "migrations_applied": facts["applied"],
            "audit_head": facts["audit_head"],
            "counts": facts["counts"],
            "users": len(users),
            "secret_key": secret_key_facts(),
            "job_queue": queue,
            "search": {
                "backend": settings.SEARCH_BACKEND,
                "index": "in the database dump"
                if settings.SEARCH_BACKEND == "postgresql"
                else "excluded (derived): rebuilt on restore",
            },  # fmt: skip
            "excluded": sorted(
                {
                    str(p.relative_to(data)) if p.is_relative_to(data) else str(p): why
                    for p, why in excluded.items()
                }.items()
            ),  # fmt: skip
            "files": files,
        }
        manifest_sm3 = write_manifest(root, manifest)
        if as_tar:
            with tarfile.open(dest, "x") as tar:
                tar.add(root, arcname=root.name)
            os.chmod(dest, 0o600)
    from lantai.core import audit

    audit.record(
        "backup_create", "backup", dest.name[:64],
        {"path": str(dest), "manifest_sm3": manifest_sm3, "audit_head": facts["audit_head"], "files": len(files)},
    )  # fmt: skip
    return {
        "ok": True,
        "backup": str(dest),
        "manifest_sm3": manifest_sm3,
        "database": facts["database"],
        "audit_head": facts["audit_head"],
        "files": len(files),
        "data_files": copied,
        "bytes": sum(int(f["size"]) for f in files),
        "users": len(users),
        "counts": facts["counts"],
        "job_queue": queue,
        "search": manifest["search"],
    }
