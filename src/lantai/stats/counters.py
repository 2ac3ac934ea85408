"""Incremental counters of the catalogue for the annual statistics, kept by database triggers.

Django signals miss bulk_create, QuerySet.update and raw SQL; triggers do not. On SQLite row
triggers raise or lower one counter row per changed record (an UPSERT); on PostgreSQL statement
triggers with transition tables add one GROUP BY of the changed rows per statement, so a bulk
insert of a million records costs one aggregate, not a million upserts.

stats_recordcount is keyed by (category, level, retention, open status, year of creation in the
archives' time zone), stats_componentcount by the year of creation. The year is computed with the
time zone in force when the triggers were installed (migration stats 0001, or `lantai stats
verify --repair`, which rebuilds the counters and reinstalls the triggers with the current one).
TRUNCATE is not caught: `verify` finds any drift by comparing with the plain aggregate."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Count, Sum
from django.db.models.functions import ExtractYear

RECORD_KEY = ("category_id", "level", "retention", "open_status")
RECORD_KEY_ALL = (*RECORD_KEY, "created_year")
ZONE_NAME = re.compile(r"^[A-Za-z0-9_+\-/]+$")

TRIGGERS_SQLITE = (
    "stats_record_ai", "stats_record_ad", "stats_record_au",
    "stats_component_ai", "stats_component_ad", "stats_component_au",
)  # fmt: skip
TRIGGERS_PG = (
    ("stats_record_ins", "catalog_record"), ("stats_record_del", "catalog_record"),
    ("stats_record_upd", "catalog_record"), ("stats_component_ins", "catalog_component"),
    ("stats_component_del", "catalog_component"), ("stats_component_upd", "catalog_component"),
)  # fmt: skip


def _zone() -> str:
    name = str(settings.TIME_ZONE or "UTC")
    if not ZONE_NAME.match(name):
        raise ValueError(f"TIME_ZONE {name!r}")
    return name


def _sqlite_year(row: str) -> str:
    """The local year of `row`.created_at on SQLite (stored as UTC text): the zone's offset on
    1 January, when the year turns, added as minutes."""
    offset = ZoneInfo(_zone()).utcoffset(dt.datetime(dt.date.today().year, 1, 1))
    minutes = int((offset or dt.timedelta()).total_seconds() // 60)
    return f"CAST(strftime('%Y', {row}.created_at, '{minutes:+d} minutes') AS INTEGER)"


def _pg_year(row: str) -> str:
    return f"CAST(extract(year FROM {row}.created_at AT TIME ZONE '{_zone()}') AS integer)"


def _record_upsert_sqlite(row: str, delta: str) -> str:
    keys = ", ".join(f"{row}.{k}" for k in RECORD_KEY)
    return (
        f"INSERT INTO stats_recordcount ({', '.join(RECORD_KEY_ALL)}, n) "
        f"VALUES ({keys}, {_sqlite_year(row)}, {delta}) "
        f"ON CONFLICT ({', '.join(RECORD_KEY_ALL)}) DO UPDATE SET n = stats_recordcount.n + excluded.n;"
    )


def _component_upsert_sqlite(row: str, sign: str) -> str:
    return (
        "INSERT INTO stats_componentcount (created_year, n, size) "
        f"VALUES ({_sqlite_year(row)}, {sign}1, {sign}{row}.size) "
        "ON CONFLICT (created_year) DO UPDATE SET n = stats_componentcount.n + excluded.n, "
        "size = stats_componentcount.size + excluded.size;"
    )


def sqlite_install() -> list[str]:
    record_changed = " OR ".join(
        [f"OLD.{k} IS NOT NEW.{k}" for k in RECORD_KEY]
        + [f"{_sqlite_year('OLD')} IS NOT {_sqlite_year('NEW')}"]
    )
    component_changed = (
        f"OLD.size IS NOT NEW.size OR {_sqlite_year('OLD')} IS NOT {_sqlite_year('NEW')}"
    )
    return [
        *sqlite_uninstall(),
        "CREATE TRIGGER stats_record_ai AFTER INSERT ON catalog_record BEGIN "
        f"{_record_upsert_sqlite('NEW', '1')} END",
        "CREATE TRIGGER stats_record_ad AFTER DELETE ON catalog_record BEGIN "
        f"{_record_upsert_sqlite('OLD', '-1')} END",
        "CREATE TRIGGER stats_record_au AFTER UPDATE OF "
        f"{', '.join(RECORD_KEY)}, created_at ON catalog_record WHEN {record_changed} BEGIN "
        f"{_record_upsert_sqlite('OLD', '-1')} {_record_upsert_sqlite('NEW', '1')} END",
        "CREATE TRIGGER stats_component_ai AFTER INSERT ON catalog_component BEGIN "
        f"{_component_upsert_sqlite('NEW', '')} END",
        "CREATE TRIGGER stats_component_ad AFTER DELETE ON catalog_component BEGIN "
        f"{_component_upsert_sqlite('OLD', '-')} END",
        "CREATE TRIGGER stats_component_au AFTER UPDATE OF size, created_at ON catalog_component "
        f"WHEN {component_changed} BEGIN "
        f"{_component_upsert_sqlite('OLD', '-')} {_component_upsert_sqlite('NEW', '')} END",
    ]


def sqlite_uninstall() -> list[str]:
    return [f"DROP TRIGGER IF EXISTS {name}" for name in TRIGGERS_SQLITE]


def _pg_record_sql(parts: list[tuple[str, str]]) -> str:
    """One upsert of the changed rows' counts: parts are (transition table, +1 | -1)."""
    keys = ", ".join(RECORD_KEY_ALL)
    union = " UNION ALL ".join(
        f"SELECT {', '.join(f'r.{k}' for k in RECORD_KEY)}, {_pg_year('r')} AS created_year, "
        f"{sign} AS d FROM {table} r"
        for table, sign in parts
    )
    return (
        f"INSERT INTO stats_recordcount ({keys}, n) SELECT {keys}, sum(d) FROM ({union}) c "
        f"GROUP BY {keys} HAVING sum(d) <> 0 ORDER BY {keys} "
        f"ON CONFLICT ({keys}) DO UPDATE SET n = stats_recordcount.n + excluded.n;"
    )


def _pg_component_sql(parts: list[tuple[str, str]]) -> str:
    union = " UNION ALL ".join(
        f"SELECT {_pg_year('c')} AS created_year, {sign} AS d, {sign} * c.size AS s FROM {table} c"
        for table, sign in parts
    )
    return (
        "INSERT INTO stats_componentcount (created_year, n, size) "
        f"SELECT created_year, sum(d), sum(s) FROM ({union}) u GROUP BY created_year "
        "HAVING sum(d) <> 0 OR sum(s) <> 0 ORDER BY created_year "
        "ON CONFLICT (created_year) DO UPDATE SET n = stats_componentcount.n + excluded.n, "
        "size = stats_componentcount.size + excluded.size;"
    )


def _pg_function(name: str, body: str) -> str:
    return (
        f"CREATE OR REPLACE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$ "
        f"BEGIN {body} RETURN NULL; END $$"
    )


def _pg_trigger(name: str, table: str, event: str, referencing: str) -> str:
    return (
        f"CREATE TRIGGER {name} AFTER {event} ON {table} REFERENCING {referencing} "
        f"FOR EACH STATEMENT EXECUTE FUNCTION {name}()"
    )


def pg_install() -> list[str]:
    new, old = ("new_rows", "1"), ("old_rows", "-1")
    return [
        *pg_uninstall(),
        _pg_function("stats_record_ins", _pg_record_sql([new])),
        _pg_function("stats_record_del", _pg_record_sql([old])),
        _pg_function("stats_record_upd", _pg_record_sql([old, new])),
        _pg_function("stats_component_ins", _pg_component_sql([new])),
        _pg_function("stats_component_del", _pg_component_sql([old])),
        _pg_function("stats_component_upd", _pg_component_sql([old, new])),
        _pg_trigger("stats_record_ins", "catalog_record", "INSERT", "NEW TABLE AS new_rows"),
        _pg_trigger("stats_record_del", "catalog_record", "DELETE", "OLD TABLE AS old_rows"),
        _pg_trigger(
            "stats_record_upd",
            "catalog_record",
            "UPDATE",
            "OLD TABLE AS old_rows NEW TABLE AS new_rows",
        ),  # fmt: skip
        _pg_trigger("stats_component_ins", "catalog_component", "INSERT", "NEW TABLE AS new_rows"),
        _pg_trigger("stats_component_del", "catalog_component", "DELETE", "OLD TABLE AS old_rows"),
        _pg_trigger(
            "stats_component_upd",
            "catalog_component",
            "UPDATE",
            "OLD TABLE AS old_rows NEW TABLE AS new_rows",
        ),  # fmt: skip
    ]


def pg_uninstall() -> list[str]:
    return [f"DROP TRIGGER IF EXISTS {name} ON {table}" for name, table in TRIGGERS_PG] + [
        f"DROP FUNCTION IF EXISTS {name}()" for name, _ in TRIGGERS_PG
    ]


def install_statements(vendor: str) -> list[str]:
    return {"sqlite": sqlite_install, "postgresql": pg_install}[vendor]()


def uninstall_statements(vendor: str) -> list[str]:
    return {"sqlite": sqlite_uninstall, "postgresql": pg_uninstall}[vendor]()


def _rebuild_statements(vendor: str) -> list[str]:
    year = _sqlite_year("r") if vendor == "sqlite" else _pg_year("r")
    cyear = _sqlite_year("c") if vendor == "sqlite" else _pg_year("c")
    keys = ", ".join(RECORD_KEY)
    return [
        "DELETE FROM stats_recordcount",
        "DELETE FROM stats_componentcount",
        f"INSERT INTO stats_recordcount ({keys}, created_year, n) "
        f"SELECT {', '.join(f'r.{k}' for k in RECORD_KEY)}, {year}, count(*) "
        f"FROM catalog_record r GROUP BY {', '.join(f'r.{k}' for k in RECORD_KEY)}, {year}",
        "INSERT INTO stats_componentcount (created_year, n, size) "
        f"SELECT {cyear}, count(*), coalesce(sum(c.size), 0) FROM catalog_component c "
        f"GROUP BY {cyear}",
    ]


def rebuild(conn: BaseDatabaseWrapper | None = None) -> None:
    """Recount everything from the catalogue and reinstall the triggers (with the current time
    zone), in one transaction; on PostgreSQL writers of the catalogue wait meanwhile."""
    conn = conn or connection
    with transaction.atomic(using=conn.alias), conn.cursor() as cursor:
        if conn.vendor == "postgresql":
            cursor.execute("LOCK TABLE catalog_record, catalog_component IN SHARE MODE")
        for sql in [*install_statements(conn.vendor), *_rebuild_statements(conn.vendor)]:
            cursor.execute(sql)


@dataclass
class Drift:
    table: str  # records | components
    key: dict[str, Any]
    counted: dict[str, int]  # what the counter says
    actual: dict[str, int]  # what the plain aggregate says

    def as_json(self) -> dict[str, Any]:
        return {"table": self.table, "key": self.key, "counted": self.counted,
                "actual": self.actual}  # fmt: skip


def compare() -> list[Drift]:
    """Every counter that differs from the plain aggregate over the catalogue (GROUP BY with the
    year of creation in the current time zone): [] when the counters are honest."""
    from lantai.catalog.models import Component, Record

    from .models import ComponentCount, RecordCount

    drifts: list[Drift] = []
    actual = {
        tuple(row[k] for k in RECORD_KEY_ALL): row["n"]
        for row in Record.objects.annotate(created_year=ExtractYear("created_at"))
        .values(*RECORD_KEY_ALL)
        .annotate(n=Count("id"))
        .order_by()
    }
    counted = {
        tuple(row[k] for k in RECORD_KEY_ALL): row["n"]
        for row in RecordCount.objects.exclude(n=0).values(*RECORD_KEY_ALL, "n")
    }
    for key in sorted(set(actual) | set(counted), key=repr):
        if actual.get(key, 0) != counted.get(key, 0):
            drifts.append(
                Drift("records", dict(zip(RECORD_KEY_ALL, key, strict=True)),
                      {"n": counted.get(key, 0)}, {"n": actual.get(key, 0)})
            )  # fmt: skip
    actual_c = {
        row["created_year"]: (row["n"], row["size"] or 0)
        for row in Component.objects.annotate(created_year=ExtractYear("created_at"))
        .values("created_year")
        .annotate(n=Count("id"), size=Sum("size"))
        .order_by()
    }
    counted_c = {
        row["created_year"]: (row["n"], row["size"])
        for row in ComponentCount.objects.exclude(n=0, size=0).values("created_year", "n", "size")
    }
    for year in sorted(set(actual_c) | set(counted_c)):
        have, want = counted_c.get(year, (0, 0)), actual_c.get(year, (0, 0))
        if have != want:
            drifts.append(
                Drift("components", {"created_year": year},
                      {"n": have[0], "size": have[1]}, {"n": want[0], "size": want[1]})
            )  # fmt: skip
    return drifts


def missing_triggers(conn: BaseDatabaseWrapper | None = None) -> list[str]:
    """The counters' triggers that are not in the database (on SQLite a migration that rebuilds
    catalog_record — Django copies the table for many ALTERs — drops them with the old table)."""
    conn = conn or connection
    names = TRIGGERS_SQLITE if conn.vendor == "sqlite" else tuple(n for n, _ in TRIGGERS_PG)
    with conn.cursor() as cursor:
        if conn.vendor == "sqlite":
            cursor.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")
        else:
            cursor.execute("SELECT tgname FROM pg_trigger WHERE NOT tgisinternal")
        present = {row[0] for row in cursor.fetchall()}
    return [name for name in names if name not in present]


def ensure_installed(conn: BaseDatabaseWrapper | None = None) -> bool:
    """Reinstall the triggers and recount when any is missing, or when a counter is below zero
    (on SQLite `flush` empties the tables with DELETE: when stats' tables go first, the record
    triggers then leave negative counts). Run after every `migrate` and `flush` (apps.py: both
    send post_migrate). True when it had to."""
    conn = conn or connection
    if conn.vendor not in ("sqlite", "postgresql"):
        return False
    tables = set(conn.introspection.table_names())
    if not {"stats_recordcount", "stats_componentcount", "catalog_record"} <= tables:
        return False  # the stats migrations have not run (yet)
    with conn.cursor() as cursor:
        cursor.execute(
            "SELECT (SELECT count(*) FROM stats_recordcount WHERE n < 0) + (SELECT count(*) "
            "FROM stats_componentcount WHERE n < 0 OR size < 0)"
        )
        negative = cursor.fetchone()[0]
    if not negative and not missing_triggers(conn):
        return False
    rebuild(conn)
    return True
