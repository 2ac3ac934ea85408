"""`lantai database move` (issue 20, point 4): a small archives (records with a file, users with
grants, audit entries, statistics counters, a key file) in a SQLite installation moved by the real
command into a PostgreSQL database made here, then compared with the source table by table."""

from __future__ import annotations

import sqlite3
import uuid
from pathlib import Path

import psycopg
import pytest

from lantai.ops import backup as bk
from tests.ops import test_backup as tb
from tests.ops.test_backup import PG, _pg, lantai, small_archives

target = tb.target  # the fresh installation fixture, shared with the backup tests


@pytest.mark.sqlite_run_only  # the source is a SQLite installation; PostgreSQL is the target
@pytest.mark.django_db(transaction=True)
def test_move_from_sqlite_to_postgresql_keeps_every_row(
    tmp_path: Path, target: dict[str, str]
) -> None:
    small_archives()
    bk.create(tmp_path / "seed")
    # the SQLite installation to move: the test database restored into a data directory of its own
    code, answer = lantai(target, "backup", "restore", str(tmp_path / "seed"), "--no-reindex")
    assert code == 0, answer
    name = f"lantai_test_backup_move_{uuid.uuid4().hex[:8]}"
    _pg(f"CREATE DATABASE {name} TEMPLATE template0 ENCODING 'UTF8' LOCALE 'C.UTF-8'")
    try:
        url = f"{PG}/{name}"
        code, moved = lantai(target, "database", "move", "--to", url, timeout=300)
        assert code == 0, moved
        assert moved["database_url"] == url and moved["checks"]["stats_counters"]["ok"]
        assert moved["checks"]["audit_chain"]["ok"] and moved["checks"]["foreign_keys"]["ok"]
        source = sqlite3.connect(Path(target["LANTAI_DATA_DIR"]) / "lantai.sqlite3")
        with psycopg.connect(url) as dest:
            _compare(source, dest, moved["tables"])
        # a second move into the now full database is refused, naming what is there
        code, again = lantai(target, "database", "move", "--to", url)
        assert code == 1 and "not empty" in again["error"] and again["tables"] > 100
        # the moved installation works: a new audit entry continues the chain (sequences reset)
        env = dict(target, LANTAI_DATABASE_URL=url)
        code, chain = lantai(env, "audit", "verify")
        assert code == 0 and chain["checked"] == moved["checks"]["audit_chain"]["checked"]
    finally:
        _pg(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def _compare(source: sqlite3.Connection, dest: psycopg.Connection, tables: int) -> None:
    from django.apps import apps

    compared = 0
    for model in apps.get_models(include_auto_created=True):
        if not model._meta.managed or model._meta.proxy:
            continue
        table, pk = model._meta.db_table, model._meta.pk.column
        src_keys = [r[0] for r in source.execute(f'SELECT "{pk}" FROM "{table}" ORDER BY 1')]
        dst_keys = [r[0] for r in dest.execute(f'SELECT "{pk}" FROM "{table}" ORDER BY 1')]
        assert [str(k) for k in src_keys] == [str(k) for k in dst_keys], table
        compared += 1
    assert compared == tables
    for sql in (
        "SELECT seq, hash, prev_hash FROM core_auditentry ORDER BY seq",
        "SELECT seq, hash FROM core_audithead",
        "SELECT username, role, clearance FROM core_user ORDER BY username",
        "SELECT user_id, fonds_id FROM core_user_fonds ORDER BY 1, 2",
        "SELECT user_id, repository_id FROM core_user_repositories ORDER BY 1, 2",
        "SELECT id, title, retention, open_status FROM catalog_record ORDER BY id",
        "SELECT category_id, level, retention, open_status, created_year, n FROM stats_recordcount "
        "WHERE n <> 0 ORDER BY 1, 2, 3, 4, 5",
        "SELECT created_year, n, size FROM stats_componentcount ORDER BY 1",
    ):
        assert list(source.execute(sql)) == [tuple(r) for r in dest.execute(sql)], sql
    assert [r for r in dest.execute("SELECT count(*) FROM stats_recordcount WHERE n <> 0")][0][
        0
    ] > 0
