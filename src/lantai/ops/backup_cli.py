"""`lantai backup create|verify|restore` and `lantai database move` (lantai.ops.backup, lantai.ops.move).

Exit codes: 0 done and every check passed; 1 refused (a non-empty target, a backup that does not
match its manifest, a check that failed after a restore or move); 2 could not start (no such
backup, pg_dump/pg_restore missing or older than the server, an unreachable target database);
3 an unexpected error."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from lantai.cli_common import django_setup, echo_json, fail


def _err(message: str) -> None:
    click.echo(message, err=True)


def _run(as_json: bool, fn: Any, *args: Any, **kwargs: Any) -> dict[str, Any]:
    from lantai.ops.backup_manifest import BackupError

    try:
        result: dict[str, Any] = fn(*args, **kwargs)
        return result
    except BackupError as e:
        fail(e.message, e.code, as_json, **e.fields)


@click.group()
def backup() -> None:
    """备份与恢复 (back up and restore the database, keys, configuration and the audit chain)."""


@backup.command("create")
@click.argument("dest", type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True)
def backup_create(dest: Path, as_json: bool) -> None:
    """Write a backup to DEST (a new folder, or a file ending in .tar).

    Exit 0 written; 1 refused (DEST not empty or inside the data directory); 2 pg_dump missing
    or older than the server."""
    django_setup()
    from lantai.cli_common import cli_actor
    from lantai.core.audit import acting_as
    from lantai.ops.backup import create

    with acting_as(cli_actor()):
        r = _run(as_json, create, dest, progress=None if as_json else _err)
    if as_json:
        echo_json(r)
        return
    head = r["audit_head"]
    click.echo(f"备份已写入 backup written: {r['backup']}")
    click.echo(f"  数据库 database: {r['database']['engine']} → {r['database']['file']}")
    click.echo(
        f"  文件 files: {r['files']} ({r['bytes']} bytes; {r['data_files']} from the data directory)"
    )
    click.echo(f"  用户 users: {r['users']}; 审计链头 audit head: #{head['seq']} {head['hash']}")
    click.echo(f"  清单 SM3 manifest SM3: {r['manifest_sm3']} (copy it off the machine)")


@backup.command("verify")
@click.argument("src", type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True)
def backup_verify(src: Path, as_json: bool) -> None:
    """Re-hash every file of the backup SRC against its manifest (SM3 and size).

    Exit 0 every file matches; 1 a file changed, missing or not listed (named); 2 SRC unreadable
    (missing, not a backup, a .tar cut short or holding an unsafe member)."""
    django_setup(database=False)  # no database needed, but the error path reads the settings
    from lantai.ops.restore import verify

    r = _run(as_json, verify, src)
    if as_json:
        echo_json(r)
    elif r["ok"]:
        click.echo(f"备份完好 backup intact: {r['files_checked']} 个文件 files, {r['bytes_checked']} bytes "
                   f"re-hashed (SM3); audit head #{r['audit_head']['seq']}")  # fmt: skip
    else:
        for label in ("changed", "missing", "extra"):
            for name in r[label]:
                click.echo(f"  {label}: {name}")
        click.echo("备份与清单不符 the backup does not match its manifest", err=True)
    sys.exit(0 if r["ok"] else 1)


@backup.command("restore")
@click.argument("src", type=click.Path(path_type=Path))
@click.option(
    "--force", is_flag=True, help="overwrite a database and data directory that are not empty"
)
@click.option(
    "--no-reindex", is_flag=True, help="leave the search index for `lantai search reindex`"
)
@click.option(
    "--force-connections",
    is_flag=True,
    help="PostgreSQL: restore although other sessions are connected to the database",
)
@click.option("--json", "as_json", is_flag=True)
def backup_restore(
    src: Path, force: bool, no_reindex: bool, force_connections: bool, as_json: bool
) -> None:
    """Restore the backup SRC into the configured database and data directory, then check it.

    Stop `lantai serve` and `lantai worker` first. On this machine restore refuses while one runs
    on the data directory (the lock DATA_DIR/lantai.lock). With PostgreSQL, web servers and
    workers on other machines cannot be seen from here: stop them too; restore refuses while
    other sessions are connected to the database, unless --force-connections.

    Exit 0 restored and every check passed; 1 refused (target not empty, backup altered, other
    engine) or restored but a check failed (named); 2 SRC unreadable, pg_restore missing, Lantai
    running on this data directory or other sessions on the PostgreSQL database."""
    django_setup(database=False)
    from lantai.cli_common import cli_actor
    from lantai.core.audit import acting_as
    from lantai.ops.restore import restore

    with acting_as(cli_actor()):
        r = _run(as_json, restore, src, force=force, reindex=not no_reindex,
                 force_connections=force_connections,
                 progress=None if as_json else _err)  # fmt: skip
    if as_json:
        echo_json(r)
    else:
        _print_restore(r)
    sys.exit(0 if r["ok"] else 1)


def _mark(ok: bool) -> str:
    return "通过 ok" if ok else "失败 FAILED"


def _print_restore(r: dict[str, Any]) -> None:
    c = r["checks"]
    click.echo(f"已从 {r['backup']}（{r['created_at']}，兰台 {r['lantai_version']}）恢复 "
               f"restored {r['database']} + {r['data_files']} files")  # fmt: skip
    if r["migrations"]["migrated"]:
        click.echo(f"  迁移 migrated: {len(r['migrations']['applied_now'])} migrations applied")
    click.echo(
        f"  备份文件 backup files: {c['files']['files_checked']} re-hashed — {_mark(c['files']['ok'])}"
    )
    click.echo(f"  行数 row counts: {c['counts']['tables']} tables, {c['counts']['rows']} rows — "
               f"{_mark(c['counts']['ok'])} {c['counts']['differ'] or ''}")  # fmt: skip
    a = c["audit"]
    click.echo(f"  审计链 audit chain: {a['checked']} entries verified, head #{a['expected_seq']} "
               f"{'reached' if a['ok'] else 'NOT reached'} — {_mark(a['ok'])} {a['reason']}")  # fmt: skip
    click.echo(
        f"  密钥 secret key ({c['secret_key']['source']}): {_mark(c['secret_key']['ok'])} {c['secret_key']['reason']}"
    )
    p = c["packages"]
    click.echo(f"  保存的信息包 preserved packages: {p['preserved_packages']}; replicas found {p['found']}, "
               f"missing {p['missing']} — {_mark(p['ok'])}")  # fmt: skip
    for name, row in p["locations"].items():
        click.echo(
            f"    {name}: found {row['found']} missing {row['missing']} unreachable {row['unreachable']} {row['error']}"
        )
    click.echo(
        f"  检索 search ({c['search']['backend']}): {c['search']['action']} {c['search'].get('indexed', '')}"
    )
    click.echo(f"  作业队列 job queue: {r['job_queue']}")
    click.echo(
        "恢复完成且检查通过 restore verified"
        if r["ok"]
        else "恢复后检查未通过 restore FAILED its checks"
    )


@click.group()
def database() -> None:
    """数据库 (move from SQLite to PostgreSQL)."""


@database.command("move")
@click.option(
    "--to", "target", required=True, help="postgresql://user:pass@host:5432/name (empty database)"
)
@click.option("--batch", default=2000, show_default=True, help="rows per batch")
@click.option("--json", "as_json", is_flag=True)
def database_move(target: str, batch: int, as_json: bool) -> None:
    """Copy every table of the configured SQLite database into an empty PostgreSQL database.

    Stop `lantai serve` and `lantai worker` first. Exit 0 moved and verified (row counts, audit
    chain head, statistics counters); 1 refused (target not empty, source not SQLite) or a
    check failed; 2 target unreachable."""
    django_setup()
    from lantai.cli_common import cli_actor
    from lantai.core.audit import acting_as
    from lantai.ops.move import move

    with acting_as(cli_actor()):
        r = _run(as_json, move, target, batch=batch, progress=None if as_json else _err)
    if as_json:
        echo_json(r)
    else:
        click.echo(f"已复制 copied {r['tables']} tables, {r['rows']} rows in {r['seconds']:.1f} s "
                   f"({r['rows_per_s']:.0f} rows/s)")  # fmt: skip
        for name, chk in r["checks"].items():
            click.echo(f"  {name}: {_mark(chk['ok'])} {chk.get('summary', '')}")
        if r["ok"]:
            click.echo("设置 then set: LANTAI_DATABASE_URL=" + r["database_url"])
            for line in r["next_steps"]:
                click.echo(f"  - {line}")
        else:
            click.echo("迁移后检查未通过 the move FAILED its checks", err=True)
    sys.exit(0 if r["ok"] else 1)
