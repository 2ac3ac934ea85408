"""`lantai database move --to postgresql://…`: the configured SQLite catalogue into an empty
PostgreSQL database.

The target is migrated by this release's migrations (so its schema, indexes, generated columns and
the statistics triggers are PostgreSQL's own), emptied of what the migrations wrote, then every
table of every Django model (auto-created many-to-many tables included) is copied with COPY in
batches, primary keys kept. Without a superuser `session_replication_role` is not available, so
while copying the foreign keys are dropped (re-added afterwards: PostgreSQL then checks every row
once) and the statistics counter triggers are removed (the counter tables are copied as they are,
so nothing is counted twice; the triggers are reinstalled afterwards). Sequences are reset past
the highest key. Checks: row counts per table, `lantai audit verify` on the target reaching the
source's head, `lantai stats verify` honest — both run as the commands an operator would run,
with LANTAI_DATABASE_URL pointing at the target.

Not in the catalogue database and so not moved: the job queue (huey's own SQLite file in the data
directory stays where it is: queued jobs run after the switch against the new database, the keys
they name being kept), the shared state stores (sessions live in PostgreSQL after the switch:
every user signs in again), files of the data directory (they stay)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

import dj_database_url
from django.apps import apps
from django.conf import settings
from django.core.management import call_command
from django.core.management.color import no_style
from django.db import connection, connections, models, transaction
from django.db.migrations.executor import MigrationExecutor

from lantai.ops import run_lock
from lantai.ops.backup import _quote, model_tables
from lantai.ops.backup_manifest import BackupError
from lantai.ops.restore import in_use_error
from lantai.stats import counters

ALIAS = "lantai_move_target"


def _parse(url: str) -> dict[str, Any]:
    """The URL's settings, or a BackupError naming the rule (not a traceback)."""
    if not url.startswith(("postgresql://", "postgres://")):
        raise BackupError(
            "目标须为 PostgreSQL 地址（postgresql://用户@主机:端口/库名）"
            f"the target must be a PostgreSQL URL (postgresql://user@host:port/db): {url.split('@')[-1]}",
            2,
        )
    try:
        return dict(dj_database_url.parse(url))
    except Exception as e:
        raise BackupError(f"目标数据库地址无效 invalid target database URL: {e}", 2) from e


def _masked(url: str) -> str:
    cfg = _parse(url)
    if not cfg.get("PASSWORD"):
        return url
    return url.replace(f":{cfg['PASSWORD']}@", ":***@", 1)


def _open_target(url: str) -> Any:
    cfg = _parse(url)
    if cfg.get("ENGINE") != "django.db.backends.postgresql":
        raise BackupError(
            f"目标须为 PostgreSQL（postgresql://…）the target must be a PostgreSQL URL: {_masked(url)}",
            2,
        )
    configured = connections.configure_settings({**connections.settings, ALIAS: cfg})
    connections.settings[ALIAS] = configured[ALIAS]
    target = connections[ALIAS]
    try:
        target.ensure_connection()
    except Exception as e:
        raise BackupError(
            f"无法连接目标数据库 cannot connect to the target database {_masked(url)}: {e}", 2
        ) from e
    return target


def _models() -> list[type[models.Model]]:
    return [
        m for m in apps.get_models(include_auto_created=True)
        if m._meta.managed and not m._meta.proxy
    ]  # fmt: skip


def _count(conn: Any, table: str) -> int:
    with conn.cursor() as c:
        c.execute(f"SELECT count(*) FROM {_quote(table)}")
        return int(c.fetchone()[0])


def _rows(model: type[models.Model], batch: int) -> Any:
    """The model's rows as values PostgreSQL's COPY takes (JSON wrapped as jsonb)."""
    from psycopg.types.json import Jsonb

    fields = list(model._meta.concrete_fields)
    json_at = [(i, f.null) for i, f in enumerate(fields) if isinstance(f, models.JSONField)]
    qs = model._base_manager.using("default").order_by().values_list(*[f.attname for f in fields])
    for row in qs.iterator(chunk_size=batch):
        if json_at:
            values = list(row)
            for i, nullable in json_at:
                if not (values[i] is None and nullable):
                    values[i] = Jsonb(values[i])
            yield values
        else:
            yield row


def _check_source() -> None:
    if connection.vendor != "sqlite":
        raise BackupError(
            f"当前数据库已是 {connection.vendor}，只能从 SQLite 迁出 the configured database is "
            f"{connection.vendor}: only a SQLite catalogue can be moved",
        )
    executor = MigrationExecutor(connection)
    if executor.migration_plan(executor.loader.graph.leaf_nodes()):
        raise BackupError(
            "源数据库还有未执行的迁移：先运行 `lantai init` — the SQLite database has unapplied "
            "migrations: run `lantai init` first"
        )


def _child_check(url: str, *args: str) -> dict[str, Any]:
    """A `lantai` command's JSON answer, run against the target database."""
    env = {**os.environ, "LANTAI_DATABASE_URL": url}
    done = subprocess.run(
        [sys.executable, "-m", "lantai.cli", *args, "--json"],
        env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    try:
        answer: dict[str, Any] = json.loads(done.stdout)
    except ValueError:
        answer = {"ok": False, "error": (done.stdout + done.stderr)[-1000:]}
    answer["exit"] = done.returncode
    return answer


def move(
    target_url: str, *, batch: int = 2000, progress: Callable[[str], None] | None = None
) -> dict[str, Any]:
    """Move under the data directory's exclusive run lock: refused (exit 2) while `lantai serve` or
    `lantai worker` runs on it (a write during the copy would be lost), and neither starts meanwhile."""
    try:
        with run_lock.exclusive(settings.DATA_DIR):
            return _move(target_url, batch=batch, progress=progress)
    except run_lock.DataDirInUse as e:
        raise in_use_error(e) from None


def _move(target_url: str, *, batch: int, progress: Callable[[str], None] | None) -> dict[str, Any]:
    say = progress or (lambda _m: None)
    _check_source()
    target = _open_target(target_url)
    existing = target.introspection.table_names()
    if existing:
        raise BackupError(
            f"目标数据库非空（已有 {len(existing)} 张表，如 {', '.join(sorted(existing)[:5])}），拒绝写入："
            f"请指向新建的空数据库 — the target database is not empty ({len(existing)} tables, e.g. "
            f"{', '.join(sorted(existing)[:5])}): point --to at a new, empty database",
            1,
            tables=len(existing),
        )
    say("迁移目标库 migrating the target")
    call_command("migrate", database=ALIAS, interactive=False, verbosity=0)
    source_tables = set(connection.introspection.table_names())
    model_list = [m for m in _models() if m._meta.db_table in source_tables]
    tables = [m._meta.db_table for m in model_list]
    not_copied = sorted(
        t for t in source_tables - set(model_tables())
        if not t.startswith(("sqlite_", "django_migrations")) and "_fts" not in t
    )  # fmt: skip
    started = time.monotonic()
    with target.cursor() as c:
        c.execute(
            "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE contype = 'f' AND connamespace = 'public'::regnamespace"
        )
        fks = c.fetchall()
        for table, name, _ in fks:
            c.execute(f"ALTER TABLE {table} DROP CONSTRAINT {_quote(name)}")
        for sql in counters.uninstall_statements("postgresql"):
            c.execute(sql)
        # what the migrations and their signals wrote (content types, permissions, defaults)
        # is in the source too: the copy brings it back with the source's keys
        c.execute("TRUNCATE " + ", ".join(_quote(t) for t in tables))
    rows = 0
    per_table: dict[str, dict[str, int]] = {}
    for model in model_list:
        table = model._meta.db_table
        cols = ", ".join(_quote(f.column) for f in model._meta.concrete_fields)
        say(f"复制 copying {table}")
        n = 0
        copy_sql = f"COPY {_quote(table)} ({cols}) FROM STDIN"
        with transaction.atomic(using=ALIAS), target.cursor() as c, c.cursor.copy(copy_sql) as cp:
            for row in _rows(model, batch):
                cp.write_row(row)
                n += 1
        rows += n
        per_table[table] = {"source": _count(connection, table), "target": _count(target, table)}
    copied_s = time.monotonic() - started
    say("外键与触发器 foreign keys and triggers")
    fk_error = ""
    with target.cursor() as c:
        try:
            with transaction.atomic(using=ALIAS):
                for table, name, definition in fks:
                    c.execute(f"ALTER TABLE {table} ADD CONSTRAINT {_quote(name)} {definition}")
        except Exception as e:  # a row whose referenced row is missing: named by PostgreSQL
            fk_error = str(e)[:1000]
        for sql in counters.install_statements("postgresql"):
            c.execute(sql)
        for sql in target.ops.sequence_reset_sql(no_style(), model_list):
            c.execute(sql)
        c.execute("ANALYZE")
    differ = {t: v for t, v in per_table.items() if v["source"] != v["target"]}
    with connection.cursor() as c:
        c.execute("SELECT seq, hash FROM core_audithead WHERE id = 1")
        head_row = c.fetchone()
    head = {"seq": int(head_row[0]), "hash": head_row[1]} if head_row else {"seq": 0, "hash": ""}
    say("检查 checking")
    audit_answer = _child_check(target_url, "audit", "verify")
    stats_answer = _child_check(target_url, "stats", "verify")
    audit_ok = (
        bool(audit_answer.get("ok"))
        and audit_answer.get("checked") == head["seq"]
        and (audit_answer.get("head_hash") or "") == head["hash"]
    )
    checks = {
        "row_counts": {"ok": not differ, "tables": len(per_table), "differ": differ,
                       "summary": f"{len(per_table)} tables, {rows} rows equal" if not differ
                       else f"{len(differ)} tables differ"},
        "foreign_keys": {"ok": not fk_error, "constraints": len(fks), "error": fk_error,
                         "summary": f"{len(fks)} constraints re-added and checked"},
        "audit_chain": {"ok": audit_ok, "checked": audit_answer.get("checked"),
                        "head_hash": audit_answer.get("head_hash"), "expected": head,
                        "reason": audit_answer.get("reason") or audit_answer.get("error", ""),
                        "summary": f"{audit_answer.get('checked')} entries verified on the target, "
                                   f"head #{head['seq']} {'reached' if audit_ok else 'NOT reached'}"},
        "stats_counters": {"ok": bool(stats_answer.get("honest")),
                           "drifts": stats_answer.get("drifts"),
                           "missing_triggers": stats_answer.get("missing_triggers"),
                           "summary": "counters equal the plain aggregates"
                           if stats_answer.get("honest") else "counters drift"},
    }  # fmt: skip
    ok = all(chk["ok"] for chk in checks.values())
    target.close()
    return {
        "ok": ok,
        "source": str(settings.DATABASES["default"]["NAME"]),
        "target": _masked(target_url),
        "database_url": target_url,
        "tables": len(per_table),
        "rows": rows,
        "seconds": round(copied_s, 3),
        "rows_per_s": rows / copied_s if copied_s else 0.0,
        "not_copied": not_copied,
        "checks": checks,
        "next_steps": [
            "停止 stop `lantai serve` / `lantai worker`（迁移前就应停止 they should be stopped before the move）",
            "在 /etc/lantai/lantai.env 设置 set LANTAI_DATABASE_URL (above), then restart serve and worker",
            "检索后端仍为 tantivy（索引不变）；改用 PostgreSQL 检索：LANTAI_SEARCH_BACKEND=postgresql 后运行 "
            "`lantai search reindex` — the search backend stays tantivy (its index stays valid)",
            "作业队列仍在 jobs.sqlite3：排队的作业切换后照常执行；改用 Redis（LANTAI_HUEY_URL）前先让队列清空"
            " — queued jobs stay in jobs.sqlite3 and run after the switch; drain it before moving to Redis",
            "会话改存 PostgreSQL：所有用户需重新登录 — sessions move to PostgreSQL: users sign in again",
            "备份改用 pg_dump：`lantai backup create` 自动选择 — backups now use pg_dump automatically",
            "保留 SQLite 文件直至确认无误 keep the SQLite file until the new database is confirmed",
        ],
    }
