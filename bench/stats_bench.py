"""`lantai bench stats`: the annual statistics report on a repository of RECORDS records must be
computed in ≤ 10 s (issue 19).

Builds RECORDS catalogue records (and one electronic file for every tenth) with INSERT … SELECT
in chunks, the statistics triggers active, so the build also pays for the counters; spread over
8 categories, item/volume, three retention periods, three open statuses and eleven years of
creation. Then times the whole report (stats.services.report) read from the counters, against
its peer: the same report by the plain aggregate queries over the records and components
(report(scan=True)), measured in the same run on the same database, and checks that both give
the same figures. Also times `lantai stats verify` (which runs the plain aggregate itself).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402

LIMIT_S = 10.0
CHUNK = 500_000
CATEGORIES = ("WS", "KJ", "RS", "KU", "ZY", "ZP", "LY", "LX")
YEAR = 2025


def _timed(fn: Any, repeat: int) -> tuple[dict[str, float], Any]:
    times, value = [], None
    for _ in range(repeat):
        t = time.perf_counter()
        value = fn()
        times.append(time.perf_counter() - t)
    return {
        "median_s": round(statistics.median(times), 3),
        "max_s": round(max(times), 3),
        "runs": repeat,
    }, value


def _insert_sql(
    vendor: str, first: int, last: int, category_ids: list[int], repository: int, fonds: int
) -> str:
    """INSERT … SELECT of the records numbered first … last (a generated series)."""
    cats = " ".join(f"WHEN {i} THEN {cid}" for i, cid in enumerate(category_ids))
    n = len(category_ids)
    if vendor == "sqlite":
        series = (
            f"WITH RECURSIVE s(i) AS (SELECT {first} UNION ALL SELECT i + 1 FROM s "
            f"WHERE i < {last}) "
        )
        created = "datetime('2015-01-01', '+' || (i % 4015) || ' days')"
        source = "FROM s"
        meta = "'{}'"
    else:
        series = ""
        created = "timestamptz '2015-01-01 12:00+08' + (i % 4015) * interval '1 day'"
        source = f"FROM generate_series({first}, {last}) AS s(i)"
        meta = "'{}'::jsonb"
    return (
        f"{series}INSERT INTO catalog_record (repository_id, fonds_id, category_id, level, "
        "reference_code, sequence_prefix, sequence_number, year, retention, retention_legacy, "
        "org_code, title, author, document_number, pages, classification, classification_level, "
        "secrecy_period, open_status, remarks, metadata, row_hash, created_at, updated_at) "
        f"SELECT {repository}, {fonds}, CASE i % {n} {cats} END, "
        "CASE WHEN i % 10 = 0 THEN 'volume' ELSE 'item' END, "
        "'B-' || i, 'B-', i, 2000 + i % 25, "
        "CASE i % 3 WHEN 0 THEN 'Y' WHEN 1 THEN 'D30' ELSE 'D10' END, '', '', "
        "'基准测试档案 ' || i, '', '', 10, 'public', 0, '', "
        "CASE i % 4 WHEN 0 THEN 'closed' WHEN 3 THEN 'restricted_use' ELSE 'open' END, '', "
        f"{meta}, '', {created}, {created} {source}"
    )


def _components_sql(vendor: str, first: int, last: int) -> str:
    return (
        "INSERT INTO catalog_component (record_id, name, size, mime_type, sm3, sha256, path, "
        "created_at) SELECT id, 'f.pdf', 100000 + id % 900000, 'application/pdf', '', '', "
        f"'f.pdf', created_at FROM catalog_record WHERE id BETWEEN {first} AND {last} "
        "AND id % 10 = 0"
    )


def build(records: int) -> dict[str, Any]:
    from django.db import connection

    from lantai.catalog import services

    fonds = services.create_fonds("B001", "基准测试全宗")
    category_ids = [services.create_category(fonds, code).pk for code in CATEGORIES]
    vendor = connection.vendor
    started = time.perf_counter()
    with connection.cursor() as cursor:
        for first in range(1, records + 1, CHUNK):
            last = min(first + CHUNK - 1, records)
            sql = _insert_sql(vendor, first, last, category_ids, fonds.repository_id, fonds.pk)
            cursor.execute(sql)
        records_s = time.perf_counter() - started
        cursor.execute("SELECT min(id), max(id) FROM catalog_record")
        low, high = cursor.fetchone()
        for first in range(low, high + 1, CHUNK * 2):
            cursor.execute(_components_sql(vendor, first, first + CHUNK * 2 - 1))
        built_s = time.perf_counter() - started
        cursor.execute("VACUUM ANALYZE" if vendor == "postgresql" else "ANALYZE")
    return {
        "build_records_s": round(records_s, 1),
        "build_records_per_s": round(records / records_s) if records_s else None,
        "build_total_s": round(built_s, 1),
    }


def trigger_overhead(records: int) -> dict[str, Any]:
    """What the triggers cost a bulk insert: K more records with them, K more without (dropped),
    then the repair that reinstalls them and recounts everything (`verify --repair`)."""
    from django.db import connection

    from lantai.catalog.models import Category
    from lantai.stats import counters

    k = max(1, min(records // 5, 200_000))
    ids = list(Category.objects.order_by("pk").values_list("pk", flat=True))
    fonds = Category.objects.select_related("fonds").get(pk=ids[0]).fonds
    vendor = connection.vendor

    def insert(first: int) -> float:
        sql = _insert_sql(vendor, first, first + k - 1, ids, fonds.repository_id, fonds.pk)
        started = time.perf_counter()
        with connection.cursor() as cursor:
            cursor.execute(sql)
        return time.perf_counter() - started

    with_s = insert(records + 1)
    with connection.cursor() as cursor:
        for sql in counters.uninstall_statements(vendor):
            cursor.execute(sql)
    without_s = insert(records + k + 1)
    started = time.perf_counter()
    counters.rebuild()
    rebuild_s = time.perf_counter() - started
    return {
        "rows": k,
        "insert_with_triggers_s": round(with_s, 2),
        "insert_without_triggers_s": round(without_s, 2),
        "ratio": round(with_s / max(without_s, 1e-6), 2),
        "repair_recount_s": round(rebuild_s, 2),
        "honest_after_repair": counters.compare() == [],
    }


def phase(records: int) -> dict[str, Any]:
    from django.db import connection

    from lantai.catalog.models import Component, Record
    from lantai.stats import counters, services
    from lantai.stats.models import ComponentCount, RecordCount

    built = build(records)
    counted, fast = _timed(lambda: services.report(YEAR).as_json(), 5)
    scanned, slow = _timed(lambda: services.report(YEAR, scan=True).as_json(), 3)
    checked, drifts = _timed(counters.compare, 1)
    sizes = {
        "records": Record.objects.count(),
        "components": Component.objects.count(),
        "counter_rows": RecordCount.objects.count() + ComponentCount.objects.count(),
    }
    overhead = trigger_overhead(records)  # adds records: after everything else is measured
    return {
        "database": connection.vendor,
        **sizes,
        **built,
        "report_from_counters": counted,
        "peer_report_by_plain_aggregate": scanned,
        "speedup_median": round(scanned["median_s"] / max(counted["median_s"], 1e-6), 1),
        "same_figures": fast == slow,
        "verify": {**checked, "drifts": len(drifts)},
        "trigger_overhead": overhead,
        "holdings_items": next(
            r["value"] for r in fast["figures"] if r["code"] == "holdings_items"
        ),
        "meets_target": counted["max_s"] <= LIMIT_S,
        "peer_meets_target": scanned["max_s"] <= LIMIT_S,
    }


DB_NAME = f"lantai_bench_stats_{os.getpid()}"  # its own: two runs at once must not share one


def _force_drop() -> None:
    """Drop this run's PostgreSQL database even with a session left on it (WITH FORCE: an
    autovacuum worker after a large build)."""
    import psycopg

    with psycopg.connect(f"{common.PG_URL}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)')


def run(records: int, databases: list[str], out: Path | None = None) -> dict[str, Any]:
    result: dict[str, Any] = {
        "benchmark": "annual statistics report",
        "target_s": LIMIT_S,
        "records": records,
        "year": YEAR,
        "machine": common.machine(),
        "databases": {},
    }
    path = out or common.RESULTS / f"stats-{time.strftime('%Y%m%d-%H%M%S')}.json"
    for kind in databases:
        if kind == "postgresql":
            _force_drop()
        env, data_dir = common.fresh_database(kind, DB_NAME)
        try:
            result["databases"][kind] = common.run_child(
                Path(__file__).resolve(), ["--phase", "--records", str(records)], env
            )
        except RuntimeError as e:  # keep what the other database measured
            result["databases"][kind] = {"error": str(e)[-2000:]}
        finally:
            if kind == "postgresql":
                _force_drop()
            shutil.rmtree(data_dir, ignore_errors=True)  # the SQLite file of 10M records: GBs
        common.save("stats", result, path)  # after each database: a long run keeps its part
    result["meets_target"] = all(d.get("meets_target") for d in result["databases"].values())
    result["saved_to"] = str(common.save("stats", result, path))
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--phase", action="store_true")
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--databases", default="sqlite,postgresql")
    args = parser.parse_args()
    if args.phase:
        common.setup_django()
        print(json.dumps(phase(args.records)))
    else:
        print(
            json.dumps(run(args.records, args.databases.split(",")), ensure_ascii=False, indent=2)
        )


if __name__ == "__main__":
    main()
