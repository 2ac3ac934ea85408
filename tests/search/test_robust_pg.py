"""PostgreSQL search survives any document (issue 12, point 3).

The real failure: a tsvector holds at most 1 MB of lexemes, and the vector of a long full text
(every distinct character and bigram) exceeds that: PostgreSQL refused the whole batch ("string
is too long for tsvector (1048578 bytes, max 1048575 bytes)", SQLSTATE 54000) and nothing of it
was indexed, the catch-up job raised on it every run and `lantai search reindex` stopped. Now such
a text is kept on the exact fallback path (strpos, pg_query.text_vector), and a document
PostgreSQL refuses for any other reason leaves the index without taking its batch along: it is
recorded (record, error, when, attempts), reported by `lantai search status` and retried by the
catch-up job."""

from __future__ import annotations

import json
import random
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from click.testing import CliRunner
from django.utils import timezone

from lantai.catalog import services as catalog
from lantai.catalog.models import Record
from lantai.cli import main
from lantai.search import services, tasks
from lantai.search.backend import SearchBackend
from lantai.search.backends import open_backend
from lantai.search.failures import DocumentsFailed
from lantai.search.models import PendingChange
from lantai.search.query import Query, TextCondition
from tests.search.conftest import (
    ADMIN,
    PUBLIC,
    TEST_DSN,
    _drop_tables,
    _ensure_database,
    expected,
    make_backend,
    make_corpus,
)

PG_BACKENDS = ["postgresql", "postgresql-bitmaps"]
HAN = [chr(c) for c in range(0x4E00, 0x4E00 + 3000)]


def book(seed: int = 1, n: int = 300_000) -> str:
    """A full text whose vector is over PostgreSQL's limit (~300,000 distinct bigrams)."""
    rnd = random.Random(seed)
    return "".join(rnd.choices(HAN, k=n)) + "馆藏长篇志书结尾"


@pytest.fixture(params=PG_BACKENDS)
def pg(request: pytest.FixtureRequest) -> Iterator[tuple[str, SearchBackend]]:
    """The PostgreSQL backend filled by `index` (one pass) or by `rebuild` (bitmaps of the
    corpus' frequent terms: 档 and 婚姻 take the bitmap path, the book's rare bigrams do not)."""
    _ensure_database()
    prefix = f"t{uuid.uuid4().hex[:10]}_"
    backend = open_backend("postgresql", dsn=TEST_DSN, table_prefix=prefix, bitmap_min_df=0.05)
    yield request.param, backend
    _drop_tables(prefix)


def load(name: str, backend: SearchBackend, docs: list[dict[str, Any]]) -> int:
    return backend.rebuild(docs) if name == "postgresql-bitmaps" else backend.index(docs)


def check(backend: SearchBackend, docs: list[dict[str, Any]], query: Query, scope: Any) -> int:
    want = {d["id"] for d in expected(docs, query, scope)}
    results = backend.search(Query(**{**query.__dict__, "limit": 10_000}), scope)
    assert (results.total, {h.id for h in results.hits}) == (len(want), want), query
    return len(want)


# -- the backend ----------------------------------------------------------------------------------


def test_a_text_over_the_vector_limit_is_indexed_and_found_exactly(
    pg: tuple[str, SearchBackend],
) -> None:
    name, backend = pg
    docs = make_corpus(300)
    big = next(d for d in docs if d["open_status"] == "open" and d["classification_level"] == 0)
    big["full_text"] = book()
    assert load(name, backend, docs) == len(docs)  # before: ProgramLimitExceeded, nothing indexed
    assert backend.count() == len(docs)
    text = big["full_text"]
    for q in [text[1000], text[5000:5002], text[7000:7012], "长篇志书", "档", "婚姻登记", "z109"]:
        for scope in (ADMIN, PUBLIC):
            check(backend, docs, Query(text=q), scope)
        check(backend, docs, Query(conditions=(TextCondition(q, "full_text"),)), ADMIN)
    assert check(backend, docs, Query(text=text[7000:7012]), ADMIN) == 1
    excluded = Query(text="婚姻", conditions=(TextCondition(text[9000:9002], exclude=True),))
    check(backend, docs, excluded, ADMIN)
    hit = backend.search(Query(text="长篇志书"), ADMIN).hits[0]
    assert hit.id == big["id"] and "<mark>长篇志书</mark>" in hit.snippets["full_text"]
    # replaced by a short text, the row takes the vector path again
    backend.index([{**big, "full_text": "短文"}])
    assert backend.search(Query(text="长篇志书"), ADMIN).total == 0
    assert {h.id for h in backend.search(Query(text="短文"), ADMIN).hits} == {big["id"]}


def test_one_refused_document_never_fails_its_batch(tmp_path: Path) -> None:
    backend, prefix = make_backend("postgresql", tmp_path)
    try:
        docs = make_corpus(50)
        backend.index(docs)
        table: str = backend.table  # type: ignore[attr-defined]
        with psycopg.connect(TEST_DSN, autocommit=True) as conn:  # PostgreSQL refuses id 7 now
            conn.execute(f"ALTER TABLE {table} ADD CONSTRAINT refuse_7 CHECK (id <> 7) NOT VALID")
        changed = [{**d, "title": f"{d['title']}（修订）"} for d in docs]
        with pytest.raises(DocumentsFailed) as failed:
            backend.index(changed)
        assert set(failed.value.failures) == {7}
        assert "refuse_7" in failed.value.failures[7]
        assert failed.value.done == len(docs) - 1
        assert backend.count() == len(docs) - 1  # the refused one's stale row is gone too
        found = backend.search(Query(text="（修订）", limit=100), ADMIN)
        assert {h.id for h in found.hits} == {d["id"] for d in docs} - {7}
    finally:
        _drop_tables(prefix)


def test_rebuild_goes_on_past_a_refused_document(tmp_path: Path) -> None:
    backend, prefix = make_backend("postgresql", tmp_path)
    try:
        docs = make_corpus(40)
        docs[5]["year"] = 2**31  # PostgreSQL's integer cannot hold it
        docs[6]["full_text"] = book(2)
        with pytest.raises(DocumentsFailed) as failed:
            backend.rebuild(docs)
        assert set(failed.value.failures) == {docs[5]["id"]}
        assert "out of range" in failed.value.failures[docs[5]["id"]]
        assert backend.count() == failed.value.done == len(docs) - 1  # swapped in all the same
        assert backend.search(Query(text="长篇志书"), ADMIN).total == 1
    finally:
        _drop_tables(prefix)


# -- the services: recorded, reported, retried, never stalling -------------------------------------


@pytest.fixture
def pg_index(settings: Any) -> Iterator[SearchBackend]:
    """The services on the PostgreSQL backend (its own tables in the test search database),
    whichever database holds the catalogue."""
    _ensure_database()
    settings.SEARCH_BACKEND = "postgresql"
    settings.SEARCH_DATABASE_URL = TEST_DSN
    settings.SEARCH_TABLE_PREFIX = f"r{uuid.uuid4().hex[:12]}"
    services.reset_backends()
    yield services.backend()
    prefix = settings.SEARCH_TABLE_PREFIX
    services.reset_backends()
    _drop_tables(prefix)


def refuse(backend: SearchBackend, record_id: int | None) -> None:
    """Make PostgreSQL refuse the document of `record_id` (None: accept all again)."""
    table: str = backend.table  # type: ignore[attr-defined]
    with psycopg.connect(TEST_DSN, autocommit=True) as conn:
        conn.execute(f"ALTER TABLE {table} DROP CONSTRAINT IF EXISTS refuse_one")
        if record_id is not None:
            conn.execute(
                f"ALTER TABLE {table} ADD CONSTRAINT refuse_one"
                f" CHECK (id <> {int(record_id)}) NOT VALID"
            )


def records(n: int) -> list[Record]:
    cat = catalog.create_category(catalog.create_fonds("Z109", "岭南省民政厅"), "WS")
    out = []
    for i in range(1, n + 1):
        record, issues = catalog.save_record(
            cat,
            {
                "reference_code": f"Z109-WS·2011-Y-BGS-{i:04d}", "title": f"第{i}件婚姻登记档案",
                "author": "岭南省民政厅", "date": f"2011-03-{i:02d}", "year": 2011,
                "retention": "永久", "classification": "公开", "open_status": "开放",
            },
        )  # fmt: skip
        assert record is not None, issues
        out.append(record)
    return out


def status_json() -> dict[str, Any]:
    result = CliRunner().invoke(main, ["search", "status", "--json"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    data: dict[str, Any] = json.loads(result.output)
    return data


def titles(text: str) -> set[int]:
    return {h.id for h in services.search(None, Query(text=text, limit=100)).hits}


def retitle(record: Record, title: str) -> None:
    """A change written without signals (as a bulk path does): only the catch-up sees it."""
    Record.objects.filter(pk=record.pk).update(title=title, updated_at=timezone.now())


@pytest.mark.django_db(transaction=True)
def test_a_refused_record_is_recorded_reported_retried_and_never_stalls_catch_up(
    pg_index: SearchBackend,
) -> None:
    a, b, c = records(3)
    services.catch_up()
    assert titles("婚姻登记档案") == {a.pk, b.pk, c.pk}
    refuse(pg_index, b.pk)

    # one batch of the sync job: the others are indexed, b is remembered
    retitle(a, "甲件改题")
    retitle(b, "乙件改题")
    assert services.index_records([a.pk, b.pk]) == 1
    assert titles("改题") == {a.pk}

    # the catch-up goes on past b, and the watermark with it
    retitle(c, "丙件改题")
    assert services.catch_up() == 2  # a (and b, refused again) from the watermark, then c
    assert titles("改题") == {a.pk, c.pk}
    state = status_json()
    assert state["pending"] == 1 and state["last_error"] == ""
    (failure,) = state["failures"]
    assert failure["record_id"] == b.pk
    assert failure["reference_code"] == "Z109-WS·2011-Y-BGS-0002"
    assert "refuse_one" in failure["error"]
    assert failure["attempts"] >= 2 and failure["last_failed_at"] and failure["first_failed_at"]
    text = CliRunner().invoke(main, ["search", "status"], catch_exceptions=False).output
    assert "Z109-WS·2011-Y-BGS-0002" in text and "refuse_one" in text

    attempts = failure["attempts"]
    retitle(c, "丙件再改")
    tasks.catch_up_tick()  # still refused: counted, later changes still indexed
    assert titles("丙件再改") == {c.pk}
    assert status_json()["failures"][0]["attempts"] == attempts + 1

    refuse(pg_index, None)
    tasks.catch_up_tick()  # retried and indexed
    assert titles("乙件改题") == {b.pk}
    assert status_json()["failures"] == [] and not PendingChange.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_reindex_goes_on_past_a_refused_record(pg_index: SearchBackend) -> None:
    from django.db import connection

    if connection.vendor == "postgresql":
        pytest.skip("the catalogue on PostgreSQL cannot hold the year PostgreSQL refuses")
    a, b, c = records(3)
    Record.objects.filter(pk=b.pk).update(year=2**31)
    result = CliRunner().invoke(main, ["search", "reindex"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "1 条档案未能索引" in result.output
    assert titles("婚姻登记档案") == {a.pk, c.pk}
    (failure,) = status_json()["failures"]
    assert failure["record_id"] == b.pk and "out of range" in failure["error"]
    Record.objects.filter(pk=b.pk).update(year=2011)
    services.catch_up()
    assert titles("婚姻登记档案") == {a.pk, b.pk, c.pk}
    assert status_json()["failures"] == []


def test_an_index_of_an_older_version_says_so_until_another_process_rebuilds_it(
    pg: tuple[str, SearchBackend],
) -> None:
    """After an upgrade without `lantai search reindex` the index refuses to answer with a
    message naming the command (not a server error), and a web process that saw the old table
    answers again once another process (the reindex) has rebuilt it, without a restart."""
    from lantai.search.backend import IndexOutdated
    from lantai.search.postgres_backend import TABLE_FORMAT

    name, backend = pg
    docs = make_corpus(50)
    load(name, backend, docs)
    table = backend.table  # type: ignore[attr-defined]
    with psycopg.connect(TEST_DSN, autocommit=True) as conn:
        conn.execute(f"COMMENT ON TABLE {table} IS 'lantai-search 4'")
    old = open_backend("postgresql", dsn=TEST_DSN, table_prefix=backend.prefix)  # type: ignore[attr-defined]
    with pytest.raises(IndexOutdated, match="lantai search reindex"):
        old.search(Query(text="档"), ADMIN)
    with psycopg.connect(TEST_DSN, autocommit=True) as conn:  # the rebuild, elsewhere
        conn.execute(f"COMMENT ON TABLE {table} IS '{TABLE_FORMAT}'")
    check(old, docs, Query(text="档"), ADMIN)
