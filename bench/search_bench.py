"""`lantai bench search`: Chinese full-text search at scale, our two backends against the peers a
developer would otherwise pick, on the same data in the same run.

Target (search issue, Performance): 1,000,000 catalogue records plus the full text of 200,000 of
them (~300 Chinese characters each, Zipf-like word frequencies); a fixed query mix (1, 2, 3 and 7
characters, frequent and rare terms, with and without facets and filters, public and staff);
p95 latency ≤ 50 ms with tantivy and ≤ 200 ms with PostgreSQL, indexing ≥ 5,000 records/s, hit
counts equal to a brute-force substring count on a 10,000-record sample. Peers: SQLite FTS5 with
the trigram tokenizer (LIKE '%x%' on the same table for 1–2 character terms, which a trigram index
cannot match) and PostgreSQL pg_trgm (GIN gin_trgm_ops, ILIKE '%x%'). Also wrk against the public
search page (/public/search/) of a seeded 100,000-record data directory served by gunicorn.

Data: the records are the demo generator's catalogue rows (titles, 责任者, 文号, 档号, dates, 密级,
开放状态 of a regional archives, `lantai.demo`), generated once into a JSON-lines file that every
contender reads (so they index the same bytes). Full text: the record's title, then words drawn
with Zipf weights (rank^-1) from a vocabulary made of the demo word lists cut by rjieba with
common official-document words at the top, person names and dates mixed in as the rare tail,
punctuated like prose. The sample is 10,000 record ids drawn at random (seeded) from the full set.

Queries go to the backends directly (`open_backend`), not through Django: the benchmark measures
the search engines. Each query asks what a results page needs: the exact total, the first 20 hits
(our backends also build highlighted snippets) and, in the facet variants, facet counts. Peers do
the cheapest reasonable thing for the same answer: hits ORDER BY id (no ranking), total and facets
in one statement over a materialised match set. Every query runs once untimed (warm-up; these
totals are compared between contenders on the full set), then `rounds` times timed.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import random
import re
import shutil
import sqlite3
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Iterable
from pathlib import Path
from typing import Any, NamedTuple

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402
from search_corpus import SEED, generate, read_docs  # noqa: E402
from search_wrk import WRK_P99_MS, run_wrk  # noqa: E402

LENGTHS = (1, 2, 3, 7)
TERMS_PER_CLASS = 2
HITS = 20
PUBLIC_FACETS = ("repository", "fonds", "category", "year", "open_status")
STAFF_FACETS = ("fonds", "category", "year", "retention", "classification", "open_status")
PUBLIC_TEXT = ("title", "author", "document_number", "reference_code", "full_text")
STAFF_TEXT = ("title", "author", "document_number", "reference_code", "remarks", "full_text")
VARIANTS = ("public", "public+facets", "staff", "staff+filters+facets")
YEARS = (1980, 2000)  # the year filter of the staff variant
CATEGORY_FILTER = "WS"
TARGET_P95_MS = {"tantivy": 50.0, "postgresql": 200.0}
TARGET_RECORDS_PER_S = 5000
CONTENDERS = ("tantivy", "postgresql", "sqlite_fts5_trigram", "postgresql_pg_trgm")

# --- the query mix -----------------------------------------------------------------------------


class Spec(NamedTuple):  # (not a dataclass: `lantai bench` loads this file by path)
    term: str
    length: int
    freq: str  # frequent | rare
    variant: str  # one of VARIANTS
    sample_df: int  # documents of the sample containing the term

    @property
    def cls(self) -> str:
        return f"{self.length}char-{self.freq}"

    @property
    def public(self) -> bool:
        return self.variant.startswith("public")

    @property
    def facets(self) -> tuple[str, ...]:
        if "facets" not in self.variant:
            return ()
        return PUBLIC_FACETS if self.public else STAFF_FACETS

    @property
    def filtered(self) -> bool:
        return "filters" in self.variant


class Staff(NamedTuple):
    """The two staff scopes: everything up to 机密 (the plain staff variant) and a clerk with
    half the fonds, up to 秘密 (the filtered variant)."""

    fonds_ids: frozenset[int]
    max_all: int = 3
    max_limited: int = 2


def pick_terms(sample: list[dict[str, Any]]) -> list[tuple[str, int, str, int]]:
    """(term, length, frequent|rare, sample df) for each length: the most frequent terms of the
    sample's public text and, as rare terms, ones found in 2–5 sample documents (about 200–500 of
    1,000,000), drawn with a seeded draw. Terms are what a user types: a character; a 2- or
    3-character word (rjieba); 7 characters of a title that start and end at word boundaries."""
    import rjieba

    rng = random.Random(f"lantai-bench-search-terms:{SEED}")
    han = re.compile(r"[\u4e00-\u9fff]+")
    df: dict[int, Counter[str]] = {n: Counter() for n in LENGTHS}
    words: dict[int, set[str]] = {n: set() for n in LENGTHS}
    for doc in sample:
        grams: dict[int, set[str]] = {n: set() for n in LENGTHS}
        for name in PUBLIC_TEXT:
            for run in han.findall(doc[name] or ""):
                for n in LENGTHS:
                    grams[n].update(run[i : i + n] for i in range(len(run) - n + 1))
                cut = rjieba.cut(run)
                for w in cut:
                    if len(w) in (1, 2, 3):
                        words[len(w)].add(w)
                if name == "title":
                    ends = set(itertools.accumulate(len(w) for w in cut))
                    starts = {0} | ends
                    words[7].update(run[i : i + 7] for i in starts if i + 7 in ends)
        for n in LENGTHS:
            df[n].update(grams[n])
    out = []
    for n in LENGTHS:
        pool = df[n] if n == 1 else [t for t in words[n] if t in df[n]]
        ranked = sorted(pool, key=lambda t: (-df[n][t], t))
        frequent = ranked[:TERMS_PER_CLASS]
        # found in 2–5 sample documents; else in one; else the least frequent (a sample where
        # every character recurs must still give the class its terms)
        rare_pool = (
            [t for t in ranked if 2 <= df[n][t] <= 5]
            or [t for t in ranked if df[n][t] == 1]
            or ranked[-5 * TERMS_PER_CLASS :]
        )
        rare = rng.sample(sorted(rare_pool), min(TERMS_PER_CLASS, len(rare_pool)))
        out += [(t, n, "frequent", df[n][t]) for t in frequent]
        out += [(t, n, "rare", df[n][t]) for t in rare]
    return out


def query_mix(terms: list[tuple[str, int, str, int]]) -> list[Spec]:
    return [Spec(t, n, f, v, df) for t, n, f, df in terms for v in VARIANTS]


# --- the oracle: brute-force substring counts --------------------------------------------------


def _in_scope(doc: dict[str, Any], spec: Spec, staff: Staff) -> bool:
    if spec.public:
        return bool(doc["open_status"] == "open")
    if spec.filtered:
        return (
            doc["classification_level"] <= staff.max_limited
            and doc["fonds_id"] in staff.fonds_ids
            and doc["category"] == CATEGORY_FILTER
            and doc["year"] is not None
            and YEARS[0] <= doc["year"] <= YEARS[1]
        )
    return bool(doc["classification_level"] <= staff.max_all)


def oracle(
    sample: list[dict[str, Any]], spec: Spec, staff: Staff
) -> tuple[int, dict[str, dict[str, int]]]:
    fields = PUBLIC_TEXT if spec.public else STAFF_TEXT
    needle = spec.term.lower()
    total = 0
    facets: dict[str, Counter[str]] = {f: Counter() for f in spec.facets}
    for doc in sample:
        if not _in_scope(doc, spec, staff):
            continue
        if not any(needle in (doc[name] or "").lower() for name in fields):
            continue
        total += 1
        for f in spec.facets:
            if doc[f] not in (None, ""):
                facets[f][str(doc[f])] += 1
    return total, {f: dict(c) for f, c in facets.items()}


# --- contenders --------------------------------------------------------------------------------


class Contender:
    name = ""
    kind = ""  # ours | peer
    needs = ""

    def build(self, docs: Iterable[dict[str, Any]]) -> int:
        raise NotImplementedError

    def search(self, spec: Spec, staff: Staff) -> tuple[int, dict[str, dict[str, int]], int]:
        """(total, facets, hits on the page)"""
        raise NotImplementedError

    def size_mb(self) -> float | None:
        return None

    def close(self) -> None:
        pass


class Ours(Contender):
    kind = "ours"

    def __init__(self, name: str, **options: Any) -> None:
        from lantai.search.backends import open_backend

        self.name, self.options = name, options
        self.writer = open_backend(name, **options)
        self.reader: Any = None

    def build(self, docs: Iterable[dict[str, Any]]) -> int:
        n = self.writer.rebuild(docs)
        if self.name == "tantivy":  # a web process: its own read-only handle on the index
            from lantai.search.backends import open_backend

            self.reader = open_backend("tantivy", **{**self.options, "read_only": True})
        else:
            self.reader = self.writer
        return n

    def search(self, spec: Spec, staff: Staff) -> tuple[int, dict[str, dict[str, int]], int]:
        from lantai.search.query import Query, Scope

        if spec.public:
            scope = Scope.public_scope()
            query = Query(text=spec.term, facets=spec.facets, limit=HITS)
        elif spec.filtered:
            scope = Scope(public=False, fonds_ids=staff.fonds_ids,
                          max_classification=staff.max_limited)  # fmt: skip
            query = Query(text=spec.term, facets=spec.facets, limit=HITS,
                          filters={"category": (CATEGORY_FILTER,)},
                          year_from=YEARS[0], year_to=YEARS[1])  # fmt: skip
        else:
            scope = Scope(public=False, all_fonds=True, max_classification=staff.max_all)
            query = Query(text=spec.term, facets=spec.facets, limit=HITS)
        r = self.reader.search(query, scope)
        return (
            r.total,
            {f: {k: v for k, v in c.items() if v} for f, c in r.facets.items()},
            len(r.hits),
        )

    def size_mb(self) -> float | None:
        if self.name == "tantivy":
            path = Path(self.options["path"])
            return round(sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 1e6, 1)
        conn = self.writer._conn()  # type: ignore[attr-defined]
        row = conn.execute("SELECT pg_total_relation_size(%s)", (self.writer.table,)).fetchone()  # type: ignore[attr-defined]
        return round(row[0] / 1e6, 1)

    def close(self) -> None:
        if self.name == "postgresql":
            self.writer.close()  # type: ignore[attr-defined]


def _like(term: str) -> str:
    return "%" + term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


class SqliteFts5(Contender):
    """One FTS5 table (trigram tokenizer) holding the text columns and, UNINDEXED, the
    metadata; 1–2 character terms fall back to LIKE on the same table (a full scan)."""

    name = "sqlite_fts5_trigram"
    kind = "peer"
    needs = (
        "FTS5 MATCH with a column filter for terms of 3+ characters (the trigram index); "
        "LIKE '%x%' over every text column for 1–2 characters (trigrams cannot match them: a "
        "full table scan)"
    )
    META = ("repository", "fonds", "category", "year", "retention", "classification",
            "classification_level", "open_status", "fonds_id")  # fmt: skip

    def __init__(self, path: Path) -> None:
        self.path = path
        self.conn = sqlite3.connect(path, isolation_level=None)
        self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.execute("PRAGMA synchronous=NORMAL")
        cols = ", ".join([*STAFF_TEXT, *(f"{c} UNINDEXED" for c in self.META)])
        self.conn.execute(f"CREATE VIRTUAL TABLE docs USING fts5({cols}, tokenize='trigram')")

    def build(self, docs: Iterable[dict[str, Any]]) -> int:
        cols = ["rowid", *STAFF_TEXT, *self.META]
        sql = f"INSERT INTO docs ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})"
        n = 0
        it = iter(docs)
        while batch := list(itertools.islice(it, 10_000)):
            self.conn.execute("BEGIN")
            self.conn.executemany(
                sql,
                [
                    (d["id"], *(d[c] or "" for c in STAFF_TEXT), *(d[c] for c in self.META))
                    for d in batch
                ],  # fmt: skip
            )
            self.conn.execute("COMMIT")
            n += len(batch)
        self.conn.execute("INSERT INTO docs(docs) VALUES ('optimize')")
        return n

    def _where(self, spec: Spec, staff: Staff) -> tuple[str, list[Any]]:
        fields = PUBLIC_TEXT if spec.public else STAFF_TEXT
        if len(spec.term) >= 3:
            parts = ["docs MATCH ?"]
            params: list[Any] = [
                "{" + " ".join(fields) + '} : "' + spec.term.replace('"', '""') + '"'
            ]
        else:
            parts = ["(" + " OR ".join(f"{c} LIKE ? ESCAPE '\\'" for c in fields) + ")"]
            params = [_like(spec.term)] * len(fields)
        if spec.public:
            parts.append("open_status = 'open'")
        elif spec.filtered:
            ids = ",".join(str(i) for i in sorted(staff.fonds_ids))
            parts += [f"classification_level <= {staff.max_limited}", f"fonds_id IN ({ids})",
                      "category = ?", "year BETWEEN ? AND ?"]  # fmt: skip
            params += [CATEGORY_FILTER, *YEARS]
        else:
            parts.append(f"classification_level <= {staff.max_all}")
        return " AND ".join(parts), params

    def search(self, spec: Spec, staff: Staff) -> tuple[int, dict[str, dict[str, int]], int]:
        where, params = self._where(spec, staff)
        hits = self.conn.execute(
            f"SELECT rowid, title, reference_code FROM docs WHERE {where} ORDER BY rowid LIMIT {HITS}",
            params,
        ).fetchall()
        if not spec.facets:
            (total,) = self.conn.execute(
                f"SELECT count(*) FROM docs WHERE {where}", params
            ).fetchone()
            return int(total), {}, len(hits)
        union = " UNION ALL ".join(
            ["SELECT NULL, NULL, count(*) FROM m"]
            + [f"SELECT '{f}', {f}, count(*) FROM m GROUP BY {f}" for f in spec.facets]
        )
        sql = (
            f"WITH m AS MATERIALIZED (SELECT {', '.join(spec.facets)} FROM docs WHERE {where}) "
            + union
        )
        total, facets = 0, {f: {} for f in spec.facets}  # type: dict[str, dict[str, int]]
        for name, value, n in self.conn.execute(sql, params):
            if name is None:
                total = int(n)
            elif value not in (None, ""):
                facets[name][str(value)] = int(n)
        return total, facets, len(hits)

    def size_mb(self) -> float | None:
        self.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return round(self.path.stat().st_size / 1e6, 1)

    def close(self) -> None:
        self.conn.close()


class PgTrgm(Contender):
    """A plain table with the public text concatenated (title, 责任者, 文号, 档号, full text) and
    the remarks apart, a GIN gin_trgm_ops index on each, ILIKE '%x%'."""

    name = "postgresql_pg_trgm"
    kind = "peer"
    needs = (
        "GIN (gin_trgm_ops) on the concatenated text, ILIKE '%x%'; for 1–2 characters no trigram "
        "can be extracted, so PostgreSQL reads every row (sequential or full-index scan) and "
        "rechecks; a database with a UTF-8, non-C LC_CTYPE (C.UTF-8 here) for Han characters"
    )
    META = ("repository", "fonds", "category", "year", "retention", "classification",
            "classification_level", "open_status", "fonds_id")  # fmt: skip

    def __init__(self, dsn: str, table: str) -> None:
        import psycopg

        self.table = table
        self.conn = psycopg.connect(dsn, autocommit=True, prepare_threshold=None)
        self.conn.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        self.conn.execute(f"DROP TABLE IF EXISTS {table}")
        self.conn.execute(
            f"CREATE TABLE {table} (id bigint PRIMARY KEY, title text, reference_code text, "
            "body text, remarks text, repository text, fonds text, category text, year integer, "
            "retention text, classification text, classification_level integer, "
            "open_status text, fonds_id integer)"
        )

    def build(self, docs: Iterable[dict[str, Any]]) -> int:
        cols = ["id", "title", "reference_code", "body", "remarks", *self.META]
        n = 0
        with (
            self.conn.cursor() as cur,
            cur.copy(f"COPY {self.table} ({', '.join(cols)}) FROM STDIN") as copy,
        ):
            for d in docs:
                body = "\n".join(d[c] or "" for c in PUBLIC_TEXT)
                copy.write_row((d["id"], d["title"], d["reference_code"], body,
                                d["remarks"] or "", *(d[c] for c in self.META)))  # fmt: skip
                n += 1
        self.conn.execute("SET maintenance_work_mem = '256MB'")
        for col in ("body", "remarks"):
            self.conn.execute(
                f"CREATE INDEX {self.table}_{col}_trgm ON {self.table} USING gin ({col} gin_trgm_ops)"
            )
        self.conn.execute("RESET maintenance_work_mem")
        self.conn.execute(f"ANALYZE {self.table}")
        return n

    def _where(self, spec: Spec, staff: Staff) -> tuple[str, list[Any]]:
        pattern = _like(spec.term)
        if spec.public:
            parts, params = ["body ILIKE %s", "open_status = 'open'"], [pattern]
        else:
            parts, params = ["(body ILIKE %s OR remarks ILIKE %s)"], [pattern, pattern]
            if spec.filtered:
                parts += ["classification_level <= %s", "fonds_id = ANY(%s)", "category = %s",
                          "year BETWEEN %s AND %s"]  # fmt: skip
                params += [staff.max_limited, sorted(staff.fonds_ids), CATEGORY_FILTER, *YEARS]
            else:
                parts.append("classification_level <= %s")
                params.append(staff.max_all)
        return " AND ".join(parts), params

    def search(self, spec: Spec, staff: Staff) -> tuple[int, dict[str, dict[str, int]], int]:
        where, params = self._where(spec, staff)
        hits = self.conn.execute(
            f"SELECT id, title, reference_code FROM {self.table} WHERE {where} ORDER BY id "
            f"LIMIT {HITS}",
            params,
        ).fetchall()
        if not spec.facets:
            row = self.conn.execute(f"SELECT count(*) FROM {self.table} WHERE {where}", params)
            return int(row.fetchone()[0]), {}, len(hits)  # type: ignore[index]
        exprs = [f"{f}::text" for f in spec.facets]
        sets = ", ".join(["()"] + [f"({e})" for e in exprs])
        sql = (
            f"SELECT GROUPING({', '.join(exprs)}), {', '.join(exprs)}, count(*) FROM {self.table}"
            f" WHERE {where} GROUP BY GROUPING SETS ({sets})"
        )
        total, facets = 0, {f: {} for f in spec.facets}  # type: dict[str, dict[str, int]]
        every = (1 << len(spec.facets)) - 1
        for row in self.conn.execute(sql, params):
            g, values, n = row[0], row[1:-1], int(row[-1])
            if g == every:
                total = n
                continue
            for i, f in enumerate(spec.facets):
                if not g & (1 << (len(spec.facets) - 1 - i)) and values[i] not in (None, ""):
                    facets[f][str(values[i])] = n
        return total, facets, len(hits)

    def size_mb(self) -> float | None:
        row = self.conn.execute("SELECT pg_total_relation_size(%s)", (self.table,)).fetchone()
        return round(row[0] / 1e6, 1)  # type: ignore[index]

    def close(self) -> None:
        self.conn.close()


# --- measuring ---------------------------------------------------------------------------------


def pct(values: list[float], p: float) -> float:
    """Nearest-rank percentile, milliseconds rounded to 0.1."""
    if not values:
        return float("nan")
    s = sorted(values)
    return round(s[min(len(s) - 1, max(0, -(-len(s) * p // 100) - 1))] * 1000, 1)  # type: ignore[call-overload]


def summary(values: list[float]) -> dict[str, Any]:
    return {"n": len(values), "p50_ms": pct(values, 50), "p95_ms": pct(values, 95),
            "p99_ms": pct(values, 99), "max_ms": pct(values, 100)}  # fmt: skip


def timed_build(contender: Contender, path: Path) -> dict[str, Any]:
    started = time.perf_counter()
    n = contender.build(read_docs(path))
    seconds = time.perf_counter() - started
    return {"records": n, "seconds": round(seconds, 1), "records_per_s": round(n / seconds),
            "size_mb": contender.size_mb(), "rss_mib_after": round(common.rss_mib())}  # fmt: skip


def check_sample(
    contender: Contender, specs: list[Spec], sample: list[dict[str, Any]], staff: Staff
) -> dict[str, Any]:
    mismatches = []
    facet_mismatches = 0
    for spec in specs:
        want_total, want_facets = oracle(sample, spec, staff)
        total, facets, _ = contender.search(spec, staff)
        if total != want_total:
            mismatches.append({"term": spec.term, "variant": spec.variant,
                               "oracle": want_total, "got": total})  # fmt: skip
        if spec.facets and facets != want_facets:
            facet_mismatches += 1
    return {
        "queries": len(specs),
        "counts_equal": not mismatches,
        "count_mismatches": len(mismatches),
        "first_mismatches": mismatches[:5],
        "facet_counts_equal": facet_mismatches == 0,
        "facet_mismatches": facet_mismatches,
    }


def time_queries(
    contender: Contender, specs: list[Spec], staff: Staff, rounds: int, budget_s: float
) -> dict[str, Any]:
    """One untimed warm-up pass (its totals are returned), then up to `rounds` timed passes; a
    slow contender gets fewer timed passes so it fits `budget_s` (at least one)."""
    started = time.perf_counter()
    totals = [contender.search(s, staff)[0] for s in specs]
    warm_s = time.perf_counter() - started
    planned = max(1, min(rounds, int(budget_s // max(warm_s, 1e-9))))
    times: dict[Spec, list[float]] = defaultdict(list)
    for _ in range(planned):
        for spec in specs:
            t = time.perf_counter()
            contender.search(spec, staff)
            times[spec].append(time.perf_counter() - t)
    every = [t for ts in times.values() for t in ts]
    by_class: dict[str, list[float]] = defaultdict(list)
    by_variant: dict[str, list[float]] = defaultdict(list)
    for spec, ts in times.items():
        by_class[spec.cls] += ts
        by_variant[spec.variant] += ts
    return {
        "rounds": planned,
        "warmup_seconds": round(warm_s, 1),
        "all": summary(every),
        "by_class": {k: summary(v) for k, v in by_class.items()},
        "by_variant": {k: summary(v) for k, v in by_variant.items()},
        "per_query_median_ms": {f"{s.term} [{s.variant}]": pct(ts, 50) for s, ts in times.items()},
        "_totals": totals,
    }


def _ratio(a: float, b: float) -> float | None:
    return round(a / b, 1) if b and b == b and a == a else None


# --- the run -----------------------------------------------------------------------------------


def run(
    records: int = 1_000_000,
    fulltext: int = 200_000,
    out: Path | None = None,
    *,
    sample: int = 10_000,
    rounds: int = 2,
    peer_budget_s: float = 180.0,
    contenders: tuple[str, ...] = CONTENDERS,
    wrk: bool = True,
    wrk_records: int = 100_000,
    wrk_seconds: int = 20,
    work_dir: Path | None = None,
) -> dict[str, Any]:
    unknown = [c for c in contenders if c not in CONTENDERS]
    if unknown or not contenders:
        raise ValueError(f"unknown contender {unknown}: choose from {', '.join(CONTENDERS)}")
    started = time.perf_counter()
    folder = Path(tempfile.mkdtemp(prefix="lantai-bench-search-", dir=work_dir))
    pg_db = f"lantai_bench_search_{os.getpid()}"
    uses_pg = any(c.startswith("postgresql") for c in contenders)
    result: dict[str, Any] = {
        "benchmark": "Chinese full-text search: our backends vs SQLite FTS5 trigram and "
        "PostgreSQL pg_trgm, same data, same run",
        "targets": {
            "p95_ms": TARGET_P95_MS,
            "indexing_records_per_s": TARGET_RECORDS_PER_S,
            "counts": "equal to a brute-force substring count on the sample",
            "wrk": f"requests/s at p99 <= {WRK_P99_MS:.0f} ms",
        },  # fmt: skip
    }
    # the server's settings, read before anything runs (the target holds at PostgreSQL's
    # defaults: shared_buffers 128 MB)
    settings = pg_settings() if uses_pg else {}
    if uses_pg:
        result["postgresql_settings"] = settings
    try:
        if uses_pg:
            shutil.rmtree(common.fresh_database("postgresql", pg_db)[1], ignore_errors=True)
        dsn = f"{common.PG_URL}/{pg_db}"
        result["data"] = generate(records, fulltext, sample, folder)
        t = time.perf_counter()
        sum(1 for _ in read_docs(folder / "docs.jsonl"))
        result["data"]["read_jsonl_seconds (included in every build)"] = round(
            time.perf_counter() - t, 1
        )
        sample_docs = list(read_docs(folder / "sample.jsonl"))
        fonds = sorted({d["fonds_id"] for d in sample_docs})
        staff = Staff(frozenset(fonds[::2]))
        terms = pick_terms(sample_docs)
        specs = query_mix(terms)
        result["queries"] = {
            "terms": [
                {
                    "term": t,
                    "length": n,
                    "freq": f,
                    "sample_df": df,
                    "expected_full_df": round(df * records / max(len(sample_docs), 1)),
                }
                for t, n, f, df in terms
            ],  # fmt: skip
            "variants": {
                "public": "public scope (开放 only), total + 20 hits",
                "public+facets": f"public, + facet counts {list(PUBLIC_FACETS)}",
                "staff": "staff, all fonds, up to 机密 (level 3), total + 20 hits",
                "staff+filters+facets": f"staff with half the fonds up to 秘密, 门类={CATEGORY_FILTER}, "
                f"年度 {YEARS[0]}–{YEARS[1]}, + facet counts {list(STAFF_FACETS)}",
            },
            "per_round": len(specs),
        }

        def make(name: str, tag: str) -> Contender:
            if name in ("tantivy",):
                return Ours("tantivy", path=folder / f"tantivy-{tag}")
            if name == "postgresql":
                return Ours("postgresql", dsn=dsn, table_prefix=f"bench_{tag}")
            if name == "sqlite_fts5_trigram":
                return SqliteFts5(folder / f"fts5-{tag}.sqlite3")
            if name == "postgresql_pg_trgm":
                return PgTrgm(dsn, f"trgm_{tag}")
            raise ValueError(name)

        report: dict[str, Any] = {}
        totals: dict[str, list[int]] = {}
        for name in contenders:
            entry: dict[str, Any] = {}
            c = make(name, "sample")
            try:
                c.build(read_docs(folder / "sample.jsonl"))
                entry["sample_check"] = check_sample(c, specs, sample_docs, staff)
            finally:
                c.close()
            c = make(name, "full")
            try:
                entry["kind"] = c.kind
                if c.needs:
                    entry["needs"] = c.needs
                entry["index"] = timed_build(c, folder / "docs.jsonl")
                budget = peer_budget_s if c.kind == "peer" else 10 * peer_budget_s
                q = time_queries(c, specs, staff, rounds, budget)
                totals[name] = q.pop("_totals")
                entry["queries"] = q
            finally:
                c.close()
                if name == "tantivy":
                    shutil.rmtree(folder / "tantivy-full", ignore_errors=True)
                (folder / "fts5-full.sqlite3").unlink(missing_ok=True)
            report[name] = entry
        result["contenders"] = report

        # counts on the full set, against the first contender
        if totals:
            ref = next(iter(totals))
            result["full_set_counts"] = {"reference": ref}
            for name, ts in totals.items():
                diff = [
                    {"term": s.term, "variant": s.variant, ref: a, name: b}
                    for s, a, b in zip(specs, totals[ref], ts, strict=True)
                    if a != b
                ]
                result["full_set_counts"][name] = {"agree": len(specs) - len(diff),
                                                   "of": len(specs), "first_differences": diff[:5]}  # fmt: skip
            result["full_set_counts"]["totals_per_query"] = {
                f"{s.term} [{s.variant}]": {n: totals[n][i] for n in totals}
                for i, s in enumerate(specs)
            }

        # ratios: peer p95 / ours p95 (overall and per query class)
        ours = [n for n in contenders if report[n]["kind"] == "ours"]
        peers = [n for n in contenders if report[n]["kind"] == "peer"]
        ratios: dict[str, Any] = {}
        for p in peers:
            for o in ours:
                pq, oq = report[p]["queries"], report[o]["queries"]
                ratios[f"{p} / {o}"] = {
                    "p95_all": _ratio(pq["all"]["p95_ms"], oq["all"]["p95_ms"]),
                    "p95_by_class": {
                        k: _ratio(v["p95_ms"], oq["by_class"][k]["p95_ms"])
                        for k, v in pq["by_class"].items()
                    },  # fmt: skip
                    "index_seconds": _ratio(
                        report[p]["index"]["seconds"], report[o]["index"]["seconds"]
                    ),  # fmt: skip
                }
        result["ratios (peer p95 / ours p95; index time peer / ours)"] = ratios

        if wrk:
            public_terms = [t for t, _n, _f, _df in terms]
            result["wrk_public_search"] = run_wrk(public_terms, wrk_records, wrk_seconds)
        else:
            result["wrk_public_search"] = {"available": False, "reason": "skipped (wrk=False)"}

        meets: dict[str, Any] = {}
        for o in ours:
            meets[f"{o}_p95_le_{TARGET_P95_MS[o]:.0f}ms"] = (
                report[o]["queries"]["all"]["p95_ms"] <= TARGET_P95_MS[o]
            )
            meets[f"{o}_indexing_ge_{TARGET_RECORDS_PER_S}_per_s"] = (
                report[o]["index"]["records_per_s"] >= TARGET_RECORDS_PER_S
            )
            meets[f"{o}_sample_counts_exact"] = report[o]["sample_check"]["counts_equal"]
        w = result["wrk_public_search"]
        meets["wrk_some_level_within_p99_300ms"] = (
            (w.get("best_within_p99") is not None) if w.get("available") else None
        )
        result["meets_target"] = meets
    finally:
        if uses_pg:
            common.drop_database("postgresql", pg_db)
        shutil.rmtree(folder, ignore_errors=True)
    result["machine"] = {**common.machine(), "sqlite": sqlite3.sqlite_version,
                         "postgresql": _pg_version(settings) if uses_pg else None}  # fmt: skip
    result["seconds"] = round(time.perf_counter() - started, 1)
    result["saved_to"] = str(common.save("search", result, out))
    print(text_summary(result), file=sys.stderr)  # stdout stays one JSON object
    return result


# Server settings the benchmark reports (the search connections set work_mem, jit and
# enable_seqscan themselves: postgres_backend._conn).
PG_SETTINGS = ("server_version", "shared_buffers", "effective_cache_size", "work_mem",
               "maintenance_work_mem", "random_page_cost", "effective_io_concurrency",
               "max_parallel_workers_per_gather", "jit", "autovacuum")  # fmt: skip


def pg_settings() -> dict[str, Any]:
    """The PostgreSQL server's settings this run measured under, and what the search backend
    sets on its own connections."""
    import psycopg

    from lantai.search import postgres_backend

    try:
        with psycopg.connect(f"{common.PG_URL}/postgres") as conn:
            server = {name: str(conn.execute(f"SHOW {name}").fetchone()[0])  # type: ignore[index]
                      for name in PG_SETTINGS}  # fmt: skip
    except Exception as e:  # the report is still useful without it
        return {"error": f"{type(e).__name__}: {e}"}
    return {
        "server": server,
        "search_connections_set": dict(postgres_backend.SESSION_SETTINGS),
    }


def _pg_version(settings: dict[str, Any]) -> str:
    """One line: the server's version and memory settings."""
    server = settings.get("server")
    if not server:
        return f"unknown ({settings.get('error')})"
    search_mem = settings["search_connections_set"]["work_mem"]
    return (f"{server['server_version']}; shared_buffers {server['shared_buffers']}, "
            f"effective_cache_size {server['effective_cache_size']}, work_mem "
            f"{server['work_mem']} (search sets {search_mem}), "
            f"autovacuum {server['autovacuum']}")  # fmt: skip


def text_summary(result: dict[str, Any]) -> str:
    """A few lines for a human: the settings, and per contender p95 overall and by class."""
    lines = [f"lantai bench search: {result.get('data', {}).get('records')} records, "
             f"{result.get('data', {}).get('with_full_text')} full texts"]  # fmt: skip
    if result["machine"].get("postgresql"):
        lines.append(f"PostgreSQL {result['machine']['postgresql']}")
    for name, entry in result.get("contenders", {}).items():
        q = entry.get("queries", {})
        if not q:
            continue
        target = TARGET_P95_MS.get(name)
        lines.append(
            f"{name}: p50/p95/p99 {q['all']['p50_ms']}/{q['all']['p95_ms']}/{q['all']['p99_ms']} ms"
            + (f" (target p95 <= {target:.0f})" if target else "")
            + f"; index {entry['index']['records_per_s']} records/s"
        )
        by_class = ", ".join(f"{k} {v['p95_ms']}" for k, v in sorted(q["by_class"].items()))
        lines.append(f"  p95 by class (ms): {by_class}")
    lines.append(f"meets target: {json.dumps(result.get('meets_target', {}))}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--fulltext", type=int, default=200_000)
    parser.add_argument("--sample", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--no-wrk", action="store_true")
    parser.add_argument("--out", type=Path)
    parser.add_argument("--contenders", default=",".join(CONTENDERS),
                        help="comma-separated, of: " + ", ".join(CONTENDERS))  # fmt: skip
    args = parser.parse_args()
    result = run(args.records, args.fulltext, args.out, sample=args.sample, rounds=args.rounds,
                 wrk=not args.no_wrk, contenders=tuple(args.contenders.split(",")))  # fmt: skip
    print(json.dumps(result, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
