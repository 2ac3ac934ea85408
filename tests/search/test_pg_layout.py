"""The PostgreSQL backend's physical layout after `rebuild` (decision 0015, changed by 0025): rows
of similar titles share heap pages, and the tables the searches plan over have statistics even
where autovacuum is off (this test database's server runs without it)."""

from __future__ import annotations

from typing import Any

import psycopg

from tests.search.conftest import TEST_DSN, make_corpus


def test_a_rebuild_lays_rows_out_by_title(pg_bitmaps: Any) -> None:
    titles = ["乙通知", "甲报告", "乙通知", "ＡＢ批复", "甲报告", "ab批复"]
    base = make_corpus(1)[0]
    docs = [base | {"id": i, "title": t} for i, t in enumerate(titles, start=1)]
    assert pg_bitmaps.rebuild(docs) == len(docs)
    with psycopg.connect(TEST_DSN) as conn:
        heap = [r[0] for r in conn.execute(f"SELECT id FROM {pg_bitmaps.table} ORDER BY ctid")]
    # folded titles in code-point order (ＡＢ folds to ab), then id
    assert heap == [4, 6, 1, 3, 2, 5]


def test_a_rebuild_analyzes_the_tables_it_plans_over(pg_bitmaps: Any) -> None:
    assert pg_bitmaps.rebuild(make_corpus(200)) == 200
    with psycopg.connect(TEST_DSN) as conn:
        rows = conn.execute(
            "SELECT relname, reltuples FROM pg_class WHERE relname = ANY(%s)",
            ([pg_bitmaps.table, f"{pg_bitmaps.table}_bits", f"{pg_bitmaps.table}_ranks"],),
        ).fetchall()
    assert len(rows) == 3
    for name, tuples in rows:
        assert tuples > 0, name  # -1: never analyzed
