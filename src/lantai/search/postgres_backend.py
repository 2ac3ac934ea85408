"""The PostgreSQL search backend (scale-out): one table of documents with a unigram + bigram
tsvector per text field and GIN indexes, queried with psycopg (not the Django ORM: the index is
derived and may live in another database than the catalogue).

Exactness. Each text field has a position-less vector (`v_*`) of its characters and bigrams and
its normal form (`n_*`, where it differs from the text); a phrase of one or two characters is one
lexeme, longer ones the AND of their bigrams checked with `strpos` (`pg_query`, which turns a
query into SQL). The vectors live out of line (TOAST, `toast_tuple_target` 128): searches never
read them, only their GIN indexes, so the heap stays narrow (~360 bytes a row) and a page of
matches costs few page reads. A rebuild lays the rows out by title (`_title_order`): a phrase found
in many titles reads the pages of those titles, not one page per record.

Access control is part of the WHERE clause (see `scope_where`). A single term of one to three
characters that is frequent (pg_bitmaps) is counted with bitmaps; any other query reads the matches
once (a MATERIALIZED CTE) for the page, the total and the facets (GROUPING SETS), never filtered
afterwards; the page's rows are then fetched by id.

Texts are folded by `lantai.search.folding` (one character into one, the same as tantivy). A text
whose vector PostgreSQL would refuse (a tsvector holds at most 1 MB of lexemes: a long full text
of many distinct characters has more bigrams than that) gets a marker lexeme for a vector and
its row `overflow`; while such rows exist, text conditions take them in through the marker and
`strpos` decides (`pg_query.text_match`). A document PostgreSQL refuses anyway never takes its
batch along: the batch is written again one document at a time, and the refused ones are named
by `DocumentsFailed` at the end (`index`, `rebuild`), for the services to record and retry.

Tables (prefix `lantai_search` by default, settings.SEARCH_TABLE_PREFIX): `search_docs`, `search_docs_bits` and `search_docs_ranks`
(pg_bitmaps). `rebuild` fills `search_docs_build*` and swaps them in by renaming in one
transaction; searches keep reading the old tables until then.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import numpy as np
import psycopg
from psycopg.copy import QueuedLibpqWriter

from lantai.search import pg_bitmaps
from lantai.search.backend import DOCUMENT_FIELDS, IndexOutdated
from lantai.search.failures import DocumentsFailed
from lantai.search.pg_query import (
    FACET_SQL,
    PUBLIC_FACETS,
    VECTOR_FIELDS,
    BitsSql,
    Where,
    bitmap_filters,
    bitmap_scope,
    bitmap_term,
    normal_text,
    normalise,
    positive_terms,
    query_where,
    scope_where,
    text_match,
    text_vector,
)
from lantai.search.query import PUBLIC_FIELDS, Hit, Query, Results, Scope
from lantai.search.snippets import highlight

PLAIN_COLUMNS = tuple(DOCUMENT_FIELDS)  # id, reference_code, ..., level
VECTOR_COLUMNS = tuple(f"{kind}_{name}" for name in VECTOR_FIELDS for kind in ("v", "n"))
# overflow: true where a vector was too big for PostgreSQL (pg_query.text_vector)
COLUMNS = (*PLAIN_COLUMNS, *VECTOR_COLUMNS, "overflow")
# Columns returned with a hit (full_text is only read for snippets).
HIT_COLUMNS = tuple(c for c in PLAIN_COLUMNS if c != "full_text")
STAFF_FIELDS = tuple(c for c in HIT_COLUMNS if c != "id")

# Relevance proxy: a term found in the title weighs most; full text counts through the match
# itself (ts_rank_cd over every matching full text would read each toasted vector). Whole numbers:
# the score is summed in integer arithmetic (numeric costs ~1 µs a row more over 50,000 matches).
SCORE_WEIGHTS = {"title": 4, "reference_code": 2, "document_number": 2, "author": 1}

_PREFIX_RE = re.compile(r"^[a-z_][a-z0-9_]{0,40}$")
TABLE_FORMAT = "lantai-search 5: folded text, overflow rows, unigrams and bigrams out of line"
TOAST_TRIGGER_BYTES = 2048
WORK_MEM = "256MB"  # per search connection (see _conn)
# What each search connection sets (the benchmark reports them beside the server's settings):
# bitmaps of a frequent term's matches stay exact (no lossy pages to recheck) and the match set
# stays in memory; JIT compilation would cost more than it saves here; a sequential scan would
# evaluate the text conditions on every row, detoasting every vector: matches come from the GIN
# indexes (bitmap scans) only.
SESSION_SETTINGS = {"work_mem": WORK_MEM, "jit": "off", "enable_seqscan": "off"}
MAINTENANCE_WORK_MEM = "512MB"  # per index-building connection (three during a rebuild)
COPY_BATCH = 20_000  # documents per COPY of a rebuild, sorted by title (_title_order); a batch
# PostgreSQL refuses is retried one document at a time
# Errors by which PostgreSQL (or psycopg, before sending) refuses one document's values: data
# exceptions, constraint violations, program limits (SQLSTATE classes), malformed input.
_REFUSAL_CLASSES = ("22", "23", "54")


# --- the backend ---------------------------------------------------------------------------


class PostgresBackend:
    name = "postgresql"

    def __init__(
        self, dsn: str, table_prefix: str = "search", bitmap_min_df: float = pg_bitmaps.MIN_DF
    ) -> None:
        if not _PREFIX_RE.match(table_prefix):
            raise ValueError(
                f"table prefix must be a plain lower-case identifier: {table_prefix!r}"
            )
        self.dsn = dsn
        self.prefix = table_prefix
        self.bitmap_min_df = bitmap_min_df
        self.table = table_prefix.rstrip("_") + "_docs"
        self._local = threading.local()
        self._ready = False
        self._stale = False  # the live table predates TABLE_FORMAT (see _create)

    # connections: one per thread, autocommit; writes open explicit transactions

    def _conn(self) -> psycopg.Connection[Any]:
        conn: psycopg.Connection[Any] | None = getattr(self._local, "conn", None)
        if conn is None or conn.closed:
            conn = psycopg.connect(self.dsn, autocommit=True, prepare_threshold=None)
            for name, value in SESSION_SETTINGS.items():
                conn.execute(f"SET {name} = '{value}'")
            self._local.conn = conn
        if not self._ready:
            self._create(conn)
            self._ready = True
        return conn

    def close(self) -> None:
        conn: psycopg.Connection[Any] | None = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

    # schema

    def _create_table_sql(self, table: str) -> list[str]:
        plain = {
            "id": "bigint NOT NULL",
            "date": "date",
            "year": "integer",
            "repository_id": "integer",
            "fonds_id": "integer",
            "category_id": "integer",
            "classification_level": "integer NOT NULL DEFAULT 0",
        }
        # true for rows written by the last rebuild (the bitmaps cover them, pg_bitmaps);
        # NULL for rows written since
        cols = [f"{c} {plain.get(c, 'text')}" for c in PLAIN_COLUMNS] + ["mapped boolean"]
        for name in VECTOR_FIELDS:
            cols += [f"v_{name} tsvector NOT NULL DEFAULT ''", f"n_{name} text"]
        cols.append("overflow boolean")
        # PostgreSQL toasts only rows over 2 kB: this filler makes every new row that long, then
        # compresses to ~30 bytes while the vectors move out of line (toast_tuple_target)
        cols.append(f"toast_trigger text DEFAULT repeat(' ', {TOAST_TRIGGER_BYTES})")
        stmts = [
            f"CREATE TABLE {table} (\n  " + ",\n  ".join(cols) + "\n)"
            # a narrow heap (~360 bytes a row): vectors, full texts and remarks out of line
            # (TOAST), so that reading the matches of a query reads few pages and never them
            " WITH (toast_tuple_target = 128)",
            f"COMMENT ON TABLE {table} IS '{TABLE_FORMAT}'",
            f"CREATE TABLE {table}_bits (kind text, value text, bits varbit NOT NULL,"
            " PRIMARY KEY (kind, value))",
        ]
        for c in PLAIN_COLUMNS:
            if plain.get(c, "text") == "text":
                storage = "EXTERNAL" if c in ("full_text", "remarks") else "MAIN"
                stmts.append(f"ALTER TABLE {table} ALTER COLUMN {c} SET STORAGE {storage}")
        for name in VECTOR_FIELDS:
            # the short fields' normal forms stay inline: `strpos` reads them
            inline = name not in ("full_text", "remarks")
            for column, storage in (("v", "EXTERNAL"), ("n", "MAIN" if inline else "EXTERNAL")):
                stmts.append(
                    f"ALTER TABLE {table} ALTER COLUMN {column}_{name} SET STORAGE {storage}"
                )
        return stmts

    def _index_sql(self, table: str, name_prefix: str) -> list[str]:
        """Primary key, a GIN index per vector and b-trees for the filters and sorts."""
        stmts = [f"ALTER TABLE {table} ADD CONSTRAINT {name_prefix}_pkey PRIMARY KEY (id)"]
        for name in VECTOR_FIELDS:
            stmts.append(f"CREATE INDEX {name_prefix}_v_{name} ON {table} USING gin (v_{name})")
        for cols in (
            "open_status",
            "fonds_id",
            "repository_id",
            "classification_level",
            "fonds",
            "category",
            "year",
            "date, id",
            "reference_code, id",
        ):
            suffix = cols.split(",")[0]
            stmts.append(f"CREATE INDEX {name_prefix}_{suffix} ON {table} ({cols})")
        # the rows the bitmaps do not cover (written since the last rebuild)
        stmts.append(f"CREATE INDEX {name_prefix}_unmapped ON {table} (id) WHERE mapped IS NULL")
        # the rows whose vectors were too big (pg_query.text_vector): see _has_overflow
        stmts.append(f"CREATE INDEX {name_prefix}_overflow ON {table} (id) WHERE overflow")
        return stmts

    def _index_names(self, name_prefix: str) -> list[str]:
        return [s.split()[2] for s in self._index_sql("t", name_prefix)[1:]]

    def _create(self, conn: psycopg.Connection[Any]) -> None:
        encoding = conn.execute("SHOW server_encoding").fetchone()
        if not encoding or encoding[0] != "UTF8":
            raise RuntimeError(f"the search database must be UTF-8, not {encoding}")
        with conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (self.table,))
            exists = conn.execute("SELECT to_regclass(%s)", (self.table,)).fetchone()
            if exists and exists[0] is None:
                for stmt in self._create_table_sql(self.table):
                    conn.execute(stmt)
                for stmt in self._index_sql(self.table, self.table):
                    conn.execute(stmt)
            else:
                row = conn.execute("SELECT obj_description(%s::regclass)", (self.table,)).fetchone()
                self._stale = not row or row[0] != TABLE_FORMAT

    def _current(self) -> psycopg.Connection[Any]:
        """The connection, for reading or updating the live table, which must be of this
        version's format (an index written by an older version needs a rebuild)."""
        conn = self._conn()
        if self._stale:  # another process may have rebuilt it since: look again
            row = conn.execute("SELECT obj_description(to_regclass(%s))", (self.table,)).fetchone()
            self._stale = not row or row[0] != TABLE_FORMAT
        if self._stale:
            raise IndexOutdated(
                f"search table {self.table} is of an older format: run `lantai search reindex`"
            )
        return conn

    def drop(self) -> None:
        """Remove the backend's tables (tests, or retiring an index)."""
        conn = self._conn()
        conn.execute(
            f"DROP TABLE IF EXISTS {self.table}, {self.table}_build,"
            f" {self.table}_bits, {self.table}_build_bits, {self.table}_ranks,"
            f" {self.table}_build_ranks"
        )
        self._ready = self._stale = False

    # writing

    @staticmethod
    def _row(doc: dict[str, Any]) -> list[Any]:
        row: list[Any] = []
        for c in PLAIN_COLUMNS:
            value = doc.get(c)
            if isinstance(value, str):
                value = value.replace("\x00", "")
            row.append(value)
        overflow = None
        for name in VECTOR_FIELDS:
            text = doc.get(name) or ""
            norm = normalise(text)
            vector, too_big = text_vector(norm)
            overflow = overflow or too_big or None
            row += [vector, norm if norm != text.replace("\x00", "") else None]
        row.append(overflow)
        return row

    def _copy(
        self,
        cur: psycopg.Cursor[Any],
        table: str,
        docs: Iterable[dict[str, Any]],
        mapped: bool = False,
    ) -> int:
        """COPY `docs` into `table` (`mapped`: rows of a rebuild, which the bitmaps cover)."""
        n = 0
        columns = [*COLUMNS, "mapped"] if mapped else list(COLUMNS)
        # the writer thread sends while this one formats rows (libpq releases the GIL)
        copy_sql = f"COPY {table} ({', '.join(columns)}) FROM STDIN"
        with cur.copy(copy_sql, writer=QueuedLibpqWriter(cur)) as copy:
            for doc in docs:
                row = self._row(doc)
                if mapped:
                    row.append(True)
                copy.write_row(row)
                n += 1
        return n

    def index(self, docs: Iterable[dict[str, Any]], batch_size: int = 5000) -> int:
        """Add or replace `docs`. A batch PostgreSQL refuses is written again one document at a
        time: the others are indexed, the refused ones leave the index (their old rows would be
        stale) and are named by DocumentsFailed, raised at the end."""
        total = 0
        failures: dict[int, str] = {}
        for batch in _batches(docs, batch_size):
            unique = list({int(d["id"]): d for d in batch}.values())  # last one wins
            try:
                self._upsert(unique)
                total += len(batch)
                continue
            except Exception as e:
                if not _refused(e):
                    raise
            refused: dict[int, str] = {}
            for doc in unique:
                try:
                    self._upsert([doc])
                    total += 1
                except Exception as e:
                    if not _refused(e):
                        raise
                    refused[int(doc["id"])] = _reason(e)
            self.delete(refused)
            failures.update(refused)
        if failures:
            raise DocumentsFailed(failures, total)
        return total

    def _upsert(self, docs: list[dict[str, Any]]) -> None:
        """Write `docs` (distinct ids) in one transaction."""
        conn = self._current()
        updates = ", ".join(f"{c} = EXCLUDED.{c}" for c in COLUMNS if c != "id")
        updates += ", mapped = NULL, toast_trigger = DEFAULT"
        with conn.transaction(), conn.cursor() as cur:
            self._unmap(cur, [int(d["id"]) for d in docs])
            cur.execute(f"CREATE TEMP TABLE search_incoming (LIKE {self.table}) ON COMMIT DROP")
            self._copy(cur, "search_incoming", docs)
            cur.execute(
                f"INSERT INTO {self.table} ({', '.join(COLUMNS)})"
                f" SELECT {', '.join(COLUMNS)} FROM search_incoming"
                f" ON CONFLICT (id) DO UPDATE SET {updates}"
            )

    def delete(self, ids: Iterable[int]) -> None:
        id_list = [int(i) for i in ids]
        if id_list:
            conn = self._conn()
            with conn.transaction(), conn.cursor() as cur:
                self._unmap(cur, id_list)
                cur.execute(f"DELETE FROM {self.table} WHERE id = ANY(%s)", (id_list,))

    def _unmap(self, cur: psycopg.Cursor[Any], ids: list[int]) -> None:
        """Take the documents `ids` out of the bitmaps before they change: their bits leave
        `live` (the row lock on it orders concurrent writers); the rewritten rows are counted
        one by one until the next rebuild (`mapped` NULL)."""
        live = cur.execute(
            f"SELECT substr(varbit_send(bits), 5), length(bits) FROM {self.table}_bits"
            " WHERE kind = 'live' FOR UPDATE"
        ).fetchone()
        if live is None:
            return
        ranks = cur.execute(
            f"SELECT rank FROM {self.table}_ranks WHERE id = ANY(%s)", (ids,)
        ).fetchall()
        if ranks:
            cur.execute(
                f"UPDATE {self.table}_bits SET bits = %s::varbit WHERE kind = 'live'",
                (pg_bitmaps.clear(live[0], live[1], [r for (r,) in ranks]),),
            )

    def rebuild(self, docs: Iterable[dict[str, Any]]) -> int:
        conn = self._conn()
        build = f"{self.table}_build"
        conn.execute(f"DROP TABLE IF EXISTS {build}, {build}_bits, {build}_ranks")
        for stmt in self._create_table_sql(build):
            conn.execute(stmt)
        failures: dict[int, str] = {}
        try:
            n = self._load(conn, build, docs, failures)
            # indexes after the load: one sorted build each instead of n insertions; the
            # full-text GIN index (the longest) and the bitmaps on connections of their own
            # meanwhile (CREATE INDEX statements share their lock; the primary key, which
            # takes the table's exclusive lock, comes after all)
            pkey, *stmts = self._index_sql(build, build)
            slow = [st for st in stmts if f"_v_full_text ON {build}" in st]
            self._run_beside(
                lambda c: self._run(c, [st for st in stmts if st not in slow]),
                lambda c: self._run(c, slow),
                lambda c: self._build_bitmaps(c, build, n),
            )
            conn.execute(pkey)
            conn.execute(f"ANALYZE {build}")
        except BaseException:
            conn.execute(f"DROP TABLE IF EXISTS {build}, {build}_bits, {build}_ranks")
            raise
        # the swap: one short transaction; readers of the old table finish first
        with conn.transaction():
            conn.execute("SET LOCAL lock_timeout = '30s'")
            conn.execute(
                f"DROP TABLE IF EXISTS {self.table}, {self.table}_bits, {self.table}_ranks"
            )
            for suffix in ("", "_bits", "_ranks"):
                conn.execute(f"ALTER TABLE {build}{suffix} RENAME TO {self.table}{suffix}")
            conn.execute(
                f"ALTER TABLE {self.table} RENAME CONSTRAINT {build}_pkey TO {self.table}_pkey"
            )
            renames = [*zip(self._index_names(build), self._index_names(self.table), strict=True)]
            renames += [
                (f"{build}{suffix}", f"{self.table}{suffix}")
                for suffix in ("_bits_pkey", "_ranks_pkey", "_ranks_id")
            ]
            for old, new in renames:
                conn.execute(f"ALTER INDEX {old} RENAME TO {new}")
        self._stale = False
        if failures:
            raise DocumentsFailed(failures, n)
        return n

    def _load(
        self,
        conn: psycopg.Connection[Any],
        build: str,
        docs: Iterable[dict[str, Any]],
        failures: dict[int, str],
    ) -> int:
        """COPY `docs` into the build table in batches (each its own transaction: the table is
        dropped if the rebuild fails); a batch PostgreSQL refuses is copied again one document at
        a time and the refused ones are added to `failures`."""
        n = 0
        for batch in _batches(docs, COPY_BATCH):
            # rows of similar titles on the same heap pages: a phrase found in many titles
            # reads their pages, not one page per record (decision 0015, "Changed by 0025")
            batch.sort(key=_title_order)
            try:
                with conn.transaction(), conn.cursor() as cur:
                    n += self._copy(cur, build, batch, mapped=True)
                continue
            except Exception as e:
                if not _refused(e):
                    raise
            for doc in batch:
                try:
                    with conn.transaction(), conn.cursor() as cur:
                        n += self._copy(cur, build, [doc], mapped=True)
                except Exception as e:
                    if not _refused(e):
                        raise
                    failures[int(doc["id"])] = _reason(e)
        return n

    def _build_bitmaps(self, conn: psycopg.Connection[Any], build: str, n: int) -> None:
        """`{build}_ranks` (each document's bit: newest first, as relevance ties sort) and
        `{build}_bits` (pg_bitmaps), read back from the loaded table: the frequent terms are
        chosen on an even sample of it, so the load order does not bias them."""
        conn.execute(
            f"CREATE TABLE {build}_ranks AS SELECT (row_number() OVER"
            f" (ORDER BY date DESC NULLS LAST, id) - 1)::integer AS rank, id FROM {build}"
        )
        conn.execute(f"ALTER TABLE {build}_ranks ADD PRIMARY KEY (rank)")
        conn.execute(f"CREATE UNIQUE INDEX {build}_ranks_id ON {build}_ranks (id)")
        texts = ", ".join(f"d.{f}" for f in pg_bitmaps.TEXT_FIELDS)
        values = ", ".join(f"d.{k}" for k in pg_bitmaps.VALUE_KINDS)
        source = f"{build} d JOIN {build}_ranks r USING (id)"
        collector = pg_bitmaps.Collector(n, self.bitmap_min_df)
        step = max(1, n // pg_bitmaps.SAMPLE_DOCS)
        sample = conn.execute(f"SELECT {texts} FROM {source} WHERE r.rank %% %s = 0", (step,))
        collector.choose(
            {f: normalise(t) for f, t in zip(pg_bitmaps.TEXT_FIELDS, row, strict=True)}
            for row in sample
        )
        width = len(pg_bitmaps.TEXT_FIELDS)
        with conn.cursor() as cur:
            with cur.copy(
                f"COPY (SELECT r.rank, {texts}, {values} FROM {source}) TO STDOUT"
            ) as copy:
                for row in copy.rows():
                    collector.add(
                        int(row[0]),
                        {
                            f: normalise(t)
                            for f, t in zip(pg_bitmaps.TEXT_FIELDS, row[1:], strict=False)
                        },
                        dict(zip(pg_bitmaps.VALUE_KINDS, row[1 + width :], strict=True)),
                    )
            with cur.copy(f"COPY {build}_bits (kind, value, bits) FROM STDIN") as copy:
                for bitmap in collector.bitmaps():
                    copy.write_row(bitmap)
        # autovacuum may be off (it is not ours to rely on): statistics for the planner, and
        # hint bits and the visibility map set now rather than by the first searches, which
        # would dirty the bitmaps' pages as they read them
        conn.execute(f"VACUUM (ANALYZE) {build}_ranks, {build}_bits")

    @staticmethod
    def _run(conn: psycopg.Connection[Any], stmts: list[str]) -> None:
        for stmt in stmts:
            conn.execute(stmt)

    def _run_beside(self, *jobs: Callable[[psycopg.Connection[Any]], None]) -> None:
        """Run `jobs` at the same time (the first on this thread), each on a connection of
        its own: an index build uses one core."""
        errors: list[BaseException] = []

        def work(job: Callable[[psycopg.Connection[Any]], None]) -> None:
            try:
                with psycopg.connect(self.dsn, autocommit=True) as side:
                    side.execute(f"SET maintenance_work_mem = '{MAINTENANCE_WORK_MEM}'")
                    job(side)
            except BaseException as exc:  # re-raised below
                errors.append(exc)

        threads = [
            threading.Thread(target=work, args=(job,), name="lantai-search-index")
            for job in jobs[1:]
        ]
        for thread in threads:
            thread.start()
        try:
            work(jobs[0])
        finally:
            for thread in threads:
                thread.join()
        if errors:
            raise errors[0]

    def count(self) -> int:
        row = self._conn().execute(f"SELECT count(*) FROM {self.table}").fetchone()
        return int(row[0]) if row else 0

    # reading

    def _where(self, query: Query, scope: Scope, overflow: bool) -> Where:
        where = Where()
        scope_where(where, scope)
        query_where(where, query, scope, overflow)
        return where

    def _has_overflow(self, conn: psycopg.Connection[Any]) -> bool:
        """Whether some rows' vectors were too big (pg_query.text_vector): text conditions then
        take them in (one probe of a partial index that is nearly always empty, so that the
        usual query stays as it is)."""
        row = conn.execute(f"SELECT EXISTS (SELECT 1 FROM {self.table} WHERE overflow)").fetchone()
        return bool(row and row[0])

    def search(self, query: Query, scope: Scope) -> Results:
        if query.sort not in ("relevance", "date", "reference_code"):
            raise ValueError(f"unknown sort: {query.sort}")
        unknown = [f for f in query.facets if f not in FACET_SQL]
        if unknown:
            raise ValueError(f"unknown facet: {unknown[0]}")
        facets = list(dict.fromkeys(query.facets))
        if scope.public:  # the public gets no counts of what it cannot see (classification)
            facets = [f for f in facets if f in PUBLIC_FACETS]
        conn = self._current()
        where = self._where(query, scope, self._has_overflow(conn))
        terms = positive_terms(query, scope)
        term = bitmap_term(query)
        # the bitmaps cannot leave out withheld records (decision 0022): one pass then
        if term is not None and not scope.withheld and self._has_bitmaps(conn, term):
            total, counts, ids, scores = self._search_bitmaps(
                conn, term, query, scope, where, terms, facets
            )
        else:
            total, counts, ids, scores = self._one_pass(conn, query, where, terms, facets)
        facet_counts = {
            f: dict(sorted(c.items(), key=lambda kv: (-kv[1], kv[0]))) for f, c in counts.items()
        }
        for f in query.facets:
            facet_counts.setdefault(f, {})

        # the page's rows, by id
        columns = list(HIT_COLUMNS)
        if query.highlight:
            columns += ["full_text"]
        by_id: dict[int, dict[str, Any]] = {}
        if ids:
            rows = conn.execute(
                f"SELECT {', '.join(columns)} FROM {self.table} WHERE id = ANY(%s)", [ids]
            ).fetchall()
            by_id = {int(r[0]): dict(zip(columns, r, strict=True)) for r in rows}
        hits = [
            self._hit({**by_id[i], "score": score}, terms, scope, query)
            for i, score in zip(ids, scores, strict=True)
            if i in by_id
        ]
        return Results(total=total, hits=hits, facets=facet_counts)

    def _one_pass(
        self,
        conn: psycopg.Connection[Any],
        query: Query,
        where: Where,
        terms: list[tuple[str, tuple[str, ...]]],
        facets: list[str],
    ) -> tuple[int, dict[str, dict[str, int]], list[int], list[float]]:
        """Total, facet counts and the page's (ids, scores) reading every match once: the
        match set (id, score, sort key, facet values) is materialised and feeds both the page
        (top-N) and the total and facet counts."""
        score_sql, score_params = self._score(terms if query.sort == "relevance" else [])
        keys, order = {
            "relevance": (["score", "date"], "score DESC, date DESC NULLS LAST, id"),
            "date": (["date"], "date NULLS LAST, id"),
            "reference_code": (["reference_code"], "reference_code NULLS LAST, id"),
        }[query.sort]
        exprs = [FACET_SQL[f] for f in facets]
        key_cols = ["id", "score"] + [k for k in keys if k != "score"]
        match_cols = ["id", f"{score_sql} AS score"] + key_cols[2:]
        match_cols += [f"{e} AS f{i}" for i, e in enumerate(exprs)]
        fcols = [f"f{i}" for i in range(len(exprs))]
        if fcols:
            grouping = f"GROUPING({', '.join(fcols)})"
            group_by = " GROUP BY GROUPING SETS (" + ", ".join(["()"] + [f"({c})" for c in fcols])
            group_by += ")"
        else:
            grouping, group_by = "0", ""
        sql = (
            f"WITH m AS MATERIALIZED (SELECT {', '.join(match_cols)} FROM {self.table}"
            f" WHERE {where.sql()}),"
            f" page AS (SELECT {', '.join(key_cols)} FROM m ORDER BY {order} LIMIT %s OFFSET %s)"
            f" SELECT {grouping}, {', '.join([*fcols, 'count(*)'])},"
            f" (SELECT array_agg(id ORDER BY {order}) FROM page),"
            f" (SELECT array_agg(score ORDER BY {order}) FROM page)"
            f" FROM m{group_by}"
        )
        params = [*score_params, *where.params, max(query.limit, 0), max(query.offset, 0)]
        total = 0
        counts: dict[str, dict[str, int]] = {f: {} for f in facets}
        all_bits = (1 << len(facets)) - 1
        ids: list[int] = []
        scores: list[float] = []
        for row in conn.execute(sql, params):
            g, values, n = row[0], row[1 : 1 + len(facets)], int(row[1 + len(facets)])
            ids, scores = row[-2] or [], row[-1] or []
            if g == all_bits:
                total = n
                continue
            for i, f in enumerate(facets):
                # GROUPING bit i (from the left) is 0 for the column grouped in this set
                if not g & (1 << (len(facets) - 1 - i)) and values[i] is not None:
                    counts[f][str(values[i])] = n
        return total, counts, ids, scores

    # the bitmap path (pg_bitmaps): one frequent term of one to three characters

    def _has_bitmaps(self, conn: psycopg.Connection[Any], term: str) -> bool:
        row = conn.execute(
            f"SELECT EXISTS (SELECT 1 FROM {self.table}_bits WHERE kind = 'tracked'"
            " AND value = %s)",
            (term,),
        ).fetchone()
        return bool(row and row[0])

    def _search_bitmaps(
        self,
        conn: psycopg.Connection[Any],
        term: str,
        query: Query,
        scope: Scope,
        where: Where,
        terms: list[tuple[str, tuple[str, ...]]],
        facets: list[str],
    ) -> tuple[int, dict[str, dict[str, int]], list[int], list[float]]:
        """Total and facets by popcounts over the bitmaps of the rows mapped at the last
        rebuild, plus a one-pass count of the rows written since (`mapped` NULL). By
        relevance, the page from the matches' bitmap and the ranked fields' bitmaps (bit order
        is newest first, the order of ties); by date or archival code, with the indexes."""
        bits = BitsSql(f"{self.table}_bits")
        result = bits.all_of(
            [
                bits.any_of([(kind, term) for kind in pg_bitmaps.term_kinds(scope.public)]),
                *bitmap_scope(bits, scope),
                *bitmap_filters(bits, query, scope),
                bits.one("live"),
            ]
        )
        relevance = query.sort == "relevance"
        ranked = pg_bitmaps.RANKED_TEXT
        sql = f"WITH f AS MATERIALIZED (SELECT {result} AS b) SELECT 'total', '', bit_count(b), "
        if relevance and query.limit > 0:  # the matches and the ranked fields, as bytes
            fields = [bits.any_of([(f"t:{name}", term)]) for name in ranked]
            sql += "ARRAY[" + ", ".join(f"varbit_send({e})" for e in ["b", *fields]) + "]"
        else:
            sql += "NULL::bytea[]"
        sql += " FROM f"
        if facets:
            sql += (
                f" UNION ALL SELECT k.kind, k.value, bit_count(f.b & k.bits), NULL"
                f" FROM f, {bits.table} k WHERE k.kind = ANY(%s)"
            )
            bits.params.append(facets)
        total = 0
        counts: dict[str, dict[str, int]] = {f: {} for f in facets}
        maps: list[bytes] = []
        for kind, value, n, data in conn.execute(sql, bits.params):
            if kind == "total":
                total, maps = n, data or []
            elif n:
                counts[kind][value] = n

        # rows written since the last rebuild, counted one by one
        unmapped = Where([*where.parts, "mapped IS NULL"], list(where.params))
        has_unmapped = self._has_unmapped(conn)
        if has_unmapped:
            n, more, _, _ = self._one_pass(conn, Query(limit=0), unmapped, [], facets)
            total += n
            for f, values in more.items():
                for value, c in values.items():
                    counts[f][value] = counts[f].get(value, 0) + c
        if not relevance:
            ids, scores = self._page(conn, query, where)
            return total, counts, ids, scores
        if not maps:
            return total, counts, [], []

        # by relevance: score levels of the mapped matches from the bitmaps, newest first
        # within a level (bit order), merged with the best unmapped rows
        want = max(query.offset, 0) + max(query.limit, 0)
        nbits = int.from_bytes(maps[0][:4], "big")
        matches = pg_bitmaps.unpack(maps[0][4:], nbits)
        level = np.zeros(nbits, np.int8)  # the score less 1 (weights are whole numbers)
        for name, field_bits in zip(ranked, maps[1:], strict=True):
            level += np.int8(SCORE_WEIGHTS[name]) * pg_bitmaps.unpack(field_bits[4:], nbits)
        best: list[tuple[float, int]] = []  # (score, rank)
        for value in range(int(sum(SCORE_WEIGHTS[n] for n in ranked)), -1, -1):
            chosen = np.flatnonzero(matches & (level == value))[: want - len(best)]
            best += [(1.0 + value, int(r)) for r in chosen]
            if len(best) >= want:
                break
        rows = conn.execute(
            f"SELECT r.rank, d.id, d.date FROM {self.table}_ranks r JOIN {self.table} d"
            " USING (id) WHERE r.rank = ANY(%s)",
            ([r for _, r in best],),
        ).fetchall()
        found = {rank: (doc_id, day) for rank, doc_id, day in rows}
        page = [(score, *found[rank]) for score, rank in best if rank in found]
        if has_unmapped:
            score_sql, score_params = self._score(terms)
            page += conn.execute(
                f"SELECT {score_sql} AS score, id, date FROM {self.table} WHERE {unmapped.sql()}"
                " ORDER BY score DESC, date DESC NULLS LAST, id LIMIT %s",
                [*score_params, *unmapped.params, want],
            ).fetchall()
        page.sort(key=_relevance_order)
        page = page[max(query.offset, 0) : want]
        return total, counts, [doc_id for _, doc_id, _ in page], [float(s) for s, _, _ in page]

    def unmapped_share(self) -> float:
        """The share of rows written since the last rebuild (not in the bitmaps)."""
        row = (
            self._current()
            .execute(f"SELECT count(*) FILTER (WHERE mapped IS NULL), count(*) FROM {self.table}")
            .fetchone()
        )
        return row[0] / row[1] if row and row[1] else 0.0

    def _has_unmapped(self, conn: psycopg.Connection[Any]) -> bool:
        row = conn.execute(
            f"SELECT EXISTS (SELECT 1 FROM {self.table} WHERE mapped IS NULL)"
        ).fetchone()
        return bool(row and row[0])

    def _page(
        self, conn: psycopg.Connection[Any], query: Query, where: Where
    ) -> tuple[list[int], list[float]]:
        """The page's ids by date or archival code without reading every match: the planner
        walks the sort's index while matches are dense and uses the text indexes otherwise."""
        if query.limit <= 0:
            return [], []
        order = {"date": "date NULLS LAST, id", "reference_code": "reference_code NULLS LAST, id"}
        rows = conn.execute(
            f"SELECT id FROM {self.table} WHERE {where.sql()}"
            f" ORDER BY {order[query.sort]} LIMIT %s OFFSET %s",
            [*where.params, query.limit, max(query.offset, 0)],
        ).fetchall()
        return [r[0] for r in rows], [0.0] * len(rows)

    @staticmethod
    def _score(terms: list[tuple[str, tuple[str, ...]]]) -> tuple[str, list[Any]]:
        """1 + the weights of the ranked fields each term is found in (the same matches as
        the search itself, so the bitmap path's levels are these scores)."""
        parts, params = [], []
        for norm, fields in terms:
            for name in fields:
                weight = SCORE_WEIGHTS.get(name)
                if weight is None:
                    continue
                parts.append(
                    f"(CASE WHEN strpos({normal_text(name)}, %s) > 0 THEN {weight} ELSE 0 END)"
                )
                params.append(norm)
        if not parts:
            return "0.0::float8", []
        return "(1 + " + " + ".join(parts) + ")::float8", params

    def _hit(
        self,
        row: dict[str, Any],
        terms: list[tuple[str, tuple[str, ...]]],
        scope: Scope,
        query: Query,
    ) -> Hit:
        snippets: dict[str, str] = {}
        if query.highlight and terms:
            for name in VECTOR_FIELDS:
                norms = [norm for norm, fields in terms if name in fields]
                snippet = highlight(row.get(name) or "", norms)
                if snippet is not None:
                    snippets[name] = snippet
        visible = PUBLIC_FIELDS if scope.public else STAFF_FIELDS
        fields = {k: row[k] for k in visible}
        return Hit(id=int(row["id"]), score=float(row["score"]), fields=fields, snippets=snippets)

    def suggest(self, prefix: str, scope: Scope, limit: int = 10) -> list[str]:
        norm = normalise(prefix.strip())
        if not norm or limit <= 0:
            return []
        conn = self._current()
        where = Where()
        scope_where(where, scope)
        sql, params = text_match(norm, ("title",), self._has_overflow(conn))
        where.add(sql, *params)
        rows = conn.execute(
            f"SELECT title FROM {self.table} WHERE {where.sql()} GROUP BY title"
            f" ORDER BY bool_or(starts_with({normal_text('title')}, %s)) DESC, length(title), title"
            " LIMIT %s",
            [*where.params, norm, limit],
        ).fetchall()
        return [r[0] for r in rows]


def _refused(error: BaseException) -> bool:
    """Whether `error` is PostgreSQL (or psycopg) refusing a document's values, rather than the
    database being unreachable or failing as a whole."""
    if isinstance(error, psycopg.Error):
        state = error.sqlstate
        if state is None:  # raised by psycopg before sending: a value it cannot send
            return isinstance(error, psycopg.DataError)
        return state[:2] in _REFUSAL_CLASSES
    return isinstance(error, (ValueError, TypeError, OverflowError))


def _reason(error: BaseException) -> str:
    """One line naming why a document was refused."""
    state = getattr(error, "sqlstate", None)
    first = (str(error).strip().splitlines() or [""])[0]
    return f"{type(error).__name__}{f' {state}' if state else ''}: {first}"[:500]


def _relevance_order(hit: tuple[float, int, Any]) -> tuple[float, int, int, int]:
    """(score, id, date) in the order of relevance: score descending, newest first, undated
    last, then id."""
    score, doc_id, day = hit
    return (-score, day is None, -day.toordinal() if day is not None else 0, doc_id)


def _title_order(doc: dict[str, Any]) -> tuple[str, int]:
    """The heap order of a rebuild's rows within a batch: folded title, then id."""
    return normalise(doc.get("title") or ""), int(doc["id"])


def _batches(docs: Iterable[dict[str, Any]], size: int) -> Iterator[list[dict[str, Any]]]:
    batch: list[dict[str, Any]] = []
    for doc in docs:
        batch.append(doc)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch
