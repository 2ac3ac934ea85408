"""`lantai bench marriage`: 查档 over N synthetic marriage registrations (issue 16, "Performance").

For each database (SQLite file, PostgreSQL) a bench database of its own is migrated with the real
tables, then N registrations (each a minimal ``catalog_record``, a ``marriage_registration`` and two
``marriage_party`` rows) are written in bulk with raw INSERT (SQLite) or COPY (PostgreSQL), the
secondary indexes dropped during the load and rebuilt after it (then ``ANALYZE``). The party columns
are the real ones: ``identity.lookup_hash`` of a unique, valid 18-digit 居民身份证 number per party,
``identity.mask``, and ``marriage_names.name_keys`` of a name drawn (Zipf-like) from a fixed pool of
surnames × given names; ``id_sealed`` is one constant value sealed with the real key (said in the
output). The load is resumable: it commits per chunk and records its progress in
``bench_marriage_build``; ``--keep DIR`` keeps the databases for a later run or a resume.

Measured, per database, each query end to end as 查档 runs it (without the rights check and the
query log, which do not depend on N):
  exact ID lookup   finding's path: keyed hash → ``finding._search`` (party ids by ``id_hash``,
                    the rules check on light rows, the full rows of what is shown, ``hit_of``), for a
                    court's query; 90% of the numbers exist, 10% are valid numbers that do not.
                    target p95 ≤ 20 ms.
    peers           "plain indexed SQL": the clear-text number in a copy table
                    ``bench_plain_id(party_id, id_number, registration_id)`` with a plain B-tree index
                    on ``id_number``, then the rows by one raw JOIN; "LIKE scan":
                    ``id_number LIKE '%…%'`` over that table (no index can serve it), fewer queries.
  fuzzy name+year   ``finding._search`` by name (the real ``query_keys``: pinyin, shape, skeleton;
                    year ± 2; ranked by ``similarity``); names drawn from the population,
                    a quarter of them with the middle character left out. target p95 ≤ 300 ms.
    peer            "LIKE scan": ``name LIKE '%…%' AND year BETWEEN`` over ``marriage_party`` then the
                    rows by one raw JOIN, fewer queries. Its hits differ by design (no 同音/形近; but
                    substrings): the output checks that both agree on the registrations whose party
                    has exactly the queried name.
Hits: each query's registration ids are compared across methods (``agreement``).
``--quick``: 20,000 registrations and few queries, for the tests; not the targets' figures.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import shutil
import sqlite3
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402

TARGET_P95_MS = {"exact": 20.0, "fuzzy": 300.0}
DATABASES = ("sqlite", "postgresql")
CHUNK = 50_000  # registrations per committed chunk of the load
SIZES = {
    "full": {"records": 10_000_000, "exact": 1000, "fuzzy": 1000, "like": 20, "budget_s": 900},
    "quick": {"records": 20_000, "exact": 60, "fuzzy": 60, "like": 6, "budget_s": 120},
}
YEARS = (1950, 2025)
SEED = 16

SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏"
    "吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱"
    "单仇"
)
COMPOUND_SURNAMES = ("欧阳", "司马", "诸葛", "上官", "东方", "令狐")
GIVEN = (
    "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超兰霞平刚桂英华玉萍红娥玲芬建国文辉力鹏飞斌宇浩凯"
    "俊峰晨瑞博志刚春梅海燕小红云亮成龙天佳欣怡子轩梓涵雨婷思雪琳婉晓彤淑珍凤琴桂兰翠莲荣"
    "德福喜宝金银永庆家新立群光荣跃进卫东向阳援朝建华国庆学军爱民振兴亚楠诗雅嘉慧"
)
GIVEN_POOL = 4000  # distinct given names (1 or 2 characters)
NAME_POOL = 60_000  # distinct full names in the population

PROVINCES = (11, 12, 13, 14, 15, 21, 22, 23, 31, 32, 33, 34, 35, 36, 37, 41, 42, 43, 44, 45, 46,
             50, 51, 52, 53, 54, 61, 62, 63, 64, 65)  # fmt: skip
_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
BIRTH_BASE = dt.date(1930, 1, 1)
OFFICES = tuple(f"岭南省第{n}民政局婚姻登记处" for n in range(1, 41))
RECORD_COLUMNS = (
    "id", "level", "reference_code", "sequence_prefix", "sequence_number", "year", "retention",
    "retention_legacy", "org_code", "title", "author", "document_number", "date", "classification",
    "classification_level", "secrecy_period", "open_status", "remarks", "metadata", "row_hash",
    "created_at", "updated_at", "category_id", "fonds_id", "repository_id",
)  # fmt: skip
REGISTRATION_COLUMNS = ("record_id", "kind", "date", "office", "region_code", "certificate_number")
PARTY_COLUMNS = (
    "id", "position", "name", "sex", "id_type", "id_hash", "id_masked", "id_sealed", "nationality",
    "birth_date", "year", "name_pinyin", "name_shape", "name_skeleton", "registration_id",
)  # fmt: skip
PLAIN_COLUMNS = ("party_id", "id_number", "registration_id")
TABLES = ("catalog_record", "marriage_registration", "marriage_party", "bench_plain_id")


def log(message: str) -> None:
    print(
        f"[bench marriage {time.strftime('%H:%M:%S', time.gmtime())}] {message}",
        file=sys.stderr,
        flush=True,
    )


# --- the synthetic population (deterministic per registration index) -------------------------------
def id_number(i: int, position: int, *, exists: bool = True) -> str:
    """A valid 18-digit number, unique per (registration i, position): region × seq encode i's
    low digits, the birth date its high ones; the sex digit follows the position (1 男, 2 女).
    ``exists=False`` gives a valid number no party has (born 2001-2005: no party is)."""
    r, rest = i % 500, i // 500
    s, d = rest % 500, rest // 500
    days = (d * 397 + r * 13 + s * 7) % 25_000 if exists else 26_000 + (d + r + s) % 1500
    region, region_sum = _REGIONS[r]
    birth, birth_sum = _BIRTHS[days]
    seq, seq_sum = _SEQUENCES[s * 2 + (1 if position == 1 else 0)]
    return f"{region}{birth}{seq}{'10X98765432'[(region_sum + birth_sum + seq_sum) % 11]}"


def _weighted(text: str, weights: Sequence[int]) -> int:
    return sum(int(c) * w for c, w in zip(text, weights, strict=True))


# the three parts of a number with their share of the GB 11643 check sum, computed once
_REGIONS = [(code, _weighted(code, _WEIGHTS[:6]))
            for code in (f"{PROVINCES[r % 31]}{r // 31 + 1:02d}01" for r in range(500))]  # fmt: skip
_BIRTHS = [(day, _weighted(day, _WEIGHTS[6:14]))
           for day in (f"{BIRTH_BASE + dt.timedelta(days=n):%Y%m%d}" for n in range(27_500))]  # fmt: skip
_SEQUENCES = [(f"{n:03d}", _weighted(f"{n:03d}", _WEIGHTS[14:])) for n in range(1000)]


def birth_date(number: str) -> str:
    return f"{number[6:10]}-{number[10:12]}-{number[12:14]}"


class NamePool:
    """NAME_POOL distinct names (surname × given name) with their search keys computed once, drawn
    with Zipf-like weights (a few names are very common, as 王伟 and 张敏 are)."""

    def __init__(self) -> None:
        from lantai.standards import marriage_names

        rng = random.Random(SEED)
        givens: list[str] = []
        seen: set[str] = set()
        while len(givens) < GIVEN_POOL:
            g = rng.choice(GIVEN) if rng.random() < 0.25 else rng.choice(GIVEN) + rng.choice(GIVEN)
            if g not in seen:
                seen.add(g)
                givens.append(g)
        surnames = list(SURNAMES) + list(COMPOUND_SURNAMES)
        names: list[str] = []
        taken: set[str] = set()
        while len(names) < NAME_POOL:
            name = rng.choice(surnames) + rng.choice(givens)
            if name not in taken:
                taken.add(name)
                names.append(name)
        self.names = names
        self.keys = [marriage_names.name_keys(n) for n in names]
        weights = [1.0 / (rank + 20) for rank in range(len(names))]
        total, acc = sum(weights), 0.0
        self.cumulative = []
        for w in weights:
            acc += w / total
            self.cumulative.append(acc)

    def draw(self, rng: random.Random, k: int) -> list[int]:
        return rng.choices(range(len(self.names)), cum_weights=self.cumulative, k=k)


class _LookupHash:
    """``identity.lookup_hash`` of a valid 18-digit 居民身份证 number with the key read once: the
    real function reads the key file's path and stats it on every call (~90% of its time). The
    first numbers of every chunk are checked against the real function."""

    CHECKED = 4

    def __init__(self) -> None:
        from lantai.marriage import identity

        self.real = identity.lookup_hash
        self.resident = identity.RESIDENT_ID
        self.key = identity._key_pair()[1]
        self.calls = 0

    def __call__(self, number: str) -> str:
        from cryptography.hazmat.primitives import hashes, hmac

        h = hmac.HMAC(self.key, hashes.SM3())
        h.update(f"resident_id:{number}".encode())
        digest = h.finalize()[:16].hex()
        self.calls += 1
        if self.calls <= self.CHECKED and digest != self.real(self.resident, number):
            raise RuntimeError("the bench's hash differs from identity.lookup_hash: update it")
        return digest


class Population:
    """Row tuples for registrations [start, stop), identical on every call (resumable loads)."""

    def __init__(self, category: Any, sealed: str) -> None:
        self.pool = NamePool()
        self.category_id, self.fonds_id = category.pk, category.fonds_id
        self.repository_id = category.fonds.repository_id
        self.fonds_code = category.fonds.code
        self.sealed = sealed
        self.now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M:%S+00:00")

    def chunk(self, start: int, stop: int) -> dict[str, list[tuple[Any, ...]]]:
        from lantai.marriage import identity

        lookup_hash = _LookupHash()
        rng = random.Random(SEED * 1_000_003 + start)
        picks = self.pool.draw(rng, 2 * (stop - start))
        rows: dict[str, list[tuple[Any, ...]]] = {t: [] for t in TABLES}
        for n, i in enumerate(range(start, stop)):
            rid = i + 1
            year = rng.randint(*YEARS)
            date = f"{year}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
            office_n = i % len(OFFICES)
            region = f"44{office_n // 10 + 1:02d}{office_n % 10 + 1:02d}"
            kind, prefix = ("marriage", "J") if rng.random() < 0.8 else ("divorce", "L")
            cert = f"{prefix}{region}-{year}-{i % 1_000_000:06d}"
            names = []
            for position in (1, 2):
                pick = picks[2 * n + position - 1]
                name, keys = self.pool.names[pick], self.pool.keys[pick]
                names.append(name)
                number = id_number(i, position)
                pid = 2 * i + position
                rows["marriage_party"].append((
                    pid, position, name, "男" if position == 1 else "女", identity.RESIDENT_ID,
                    lookup_hash(number), identity.mask(number),
                    self.sealed, "中国", birth_date(number), year, keys.pinyin, keys.shape,
                    keys.skeleton or "", rid,
                ))  # fmt: skip
                rows["bench_plain_id"].append((pid, number, rid))
            code_prefix = f"{self.fonds_code}-HY-{year}-D100"
            rows["catalog_record"].append((
                rid, "item", f"{code_prefix}-{rid:08d}", code_prefix, rid, year, "D100", "", "",
                f"{'、'.join(names)}{'结婚' if kind == 'marriage' else '离婚'}登记",
                OFFICES[office_n], "", date, "public", 0, "", "closed", "", "{}", "", self.now,
                self.now, self.category_id, self.fonds_id, self.repository_id,
            ))  # fmt: skip
            rows["marriage_registration"].append((rid, kind, date, OFFICES[office_n], region, cert))
        return rows


COLUMNS = {
    "catalog_record": RECORD_COLUMNS,
    "marriage_registration": REGISTRATION_COLUMNS,
    "marriage_party": PARTY_COLUMNS,
    "bench_plain_id": PLAIN_COLUMNS,
}


# --- the bench database ---------------------------------------------------------------------------
class Store:
    """Raw access to the bench database beside Django's own connection: bulk load, peers, size."""

    kind: str

    def execute(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        raise NotImplementedError

    def load(self, rows: dict[str, list[tuple[Any, ...]]]) -> None:
        raise NotImplementedError

    def commit(self) -> None:
        raise NotImplementedError

    def size_mb(self) -> float:
        raise NotImplementedError

    def secondary_indexes(self) -> list[tuple[str, str]]:
        raise NotImplementedError

    def param(self) -> str:
        return "?" if self.kind == "sqlite" else "%s"


class SqliteStore(Store):
    kind = "sqlite"

    def __init__(self, path: Path) -> None:
        self.path = path
        self.conn = sqlite3.connect(path, isolation_level=None)
        self.conn.execute("PRAGMA foreign_keys=OFF")  # the load writes parents and children apart
        self.conn.execute("PRAGMA synchronous=OFF")
        self.conn.execute("PRAGMA cache_size=-262144")  # 256 MiB for the index builds
        self.conn.execute("BEGIN")

    def execute(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        return list(self.conn.execute(sql, tuple(params)).fetchall())

    def load(self, rows: dict[str, list[tuple[Any, ...]]]) -> None:
        for table, values in rows.items():
            cols = COLUMNS[table]
            self.conn.executemany(
                f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})",
                values,
            )

    def commit(self) -> None:
        self.conn.execute("COMMIT")
        self.conn.execute("BEGIN")

    def size_mb(self) -> float:
        files = [self.path, Path(f"{self.path}-wal")]
        return round(sum(f.stat().st_size for f in files if f.exists()) / 2**20, 1)

    def secondary_indexes(self) -> list[tuple[str, str]]:
        marks = ", ".join("?" * len(TABLES))
        sql = (f"SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL"
               f" AND tbl_name IN ({marks})")  # fmt: skip
        return [(str(n), str(s)) for n, s in self.execute(sql, TABLES)]

    def close(self) -> None:
        self.conn.execute("COMMIT")
        self.conn.close()


class PostgresStore(Store):
    kind = "postgresql"

    def __init__(self, dsn: str) -> None:
        import psycopg

        self.conn = psycopg.connect(dsn)
        self.conn.execute("SET session_replication_role = replica")  # no FK triggers in the load
        self.conn.execute("SET maintenance_work_mem = '512MB'")

    def execute(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        cur = self.conn.execute(sql.replace("?", "%s"), tuple(params))
        return list(cur.fetchall()) if cur.description else []

    def load(self, rows: dict[str, list[tuple[Any, ...]]]) -> None:
        with self.conn.cursor() as cur:
            for table, values in rows.items():
                with cur.copy(f"COPY {table} ({', '.join(COLUMNS[table])}) FROM STDIN") as copy:
                    for row in values:
                        copy.write_row(row)

    def commit(self) -> None:
        self.conn.commit()

    def size_mb(self) -> float:
        (size,) = self.execute("SELECT pg_database_size(current_database())")[0]
        return round(int(size) / 2**20, 1)

    def secondary_indexes(self) -> list[tuple[str, str]]:
        # constraint indexes (primary keys, unique) stay: only plain CREATE INDEX ones are dropped
        sql = ("SELECT i.indexname, i.indexdef FROM pg_indexes i WHERE i.tablename = ANY(%s)"
               " AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)")  # fmt: skip
        return [(str(n), str(s)) for n, s in self.execute(sql, [list(TABLES)])]

    def close(self) -> None:
        self.conn.commit()
        self.conn.close()


def _prepare(store: Store) -> tuple[int, int, list[tuple[str, str]]]:
    """(registrations done, wanted, index definitions to rebuild) from the progress tables."""
    store.execute(
        "CREATE TABLE IF NOT EXISTS bench_plain_id (party_id BIGINT PRIMARY KEY,"
        " id_number VARCHAR(18) NOT NULL, registration_id BIGINT NOT NULL)"
    )
    store.execute(
        "CREATE TABLE IF NOT EXISTS bench_marriage_build (done BIGINT NOT NULL, wanted BIGINT NOT NULL,"
        " load_seconds DOUBLE PRECISION NOT NULL, index_seconds DOUBLE PRECISION NOT NULL)"
    )
    store.execute(
        "CREATE TABLE IF NOT EXISTS bench_marriage_index (name VARCHAR(200), definition TEXT)"
    )
    if not store.execute("SELECT 1 FROM bench_marriage_index"):
        for name, definition in store.secondary_indexes():
            store.execute("INSERT INTO bench_marriage_index VALUES (?, ?)", (name, definition))
        store.execute(
            "INSERT INTO bench_marriage_index VALUES (?, ?)",
            ("bench_plain_number", "CREATE INDEX bench_plain_number ON bench_plain_id (id_number)"),
        )
    if not store.execute("SELECT 1 FROM bench_marriage_build"):
        store.execute("INSERT INTO bench_marriage_build VALUES (0, 0, 0, 0)")
    done, wanted = store.execute("SELECT done, wanted FROM bench_marriage_build")[0]
    indexes = [(str(n), str(d)) for n, d in store.execute("SELECT name, definition FROM bench_marriage_index")]  # fmt: skip
    store.commit()
    return int(done), int(wanted), indexes


def build(store: Store, population: Population, records: int) -> dict[str, Any]:
    done, wanted, indexes = _prepare(store)
    if done > records or (wanted and wanted != records):
        raise SystemExit(f"the kept database holds {done} of {wanted} registrations, not {records}")
    store.execute("UPDATE bench_marriage_build SET wanted = ?", (records,))
    if done < records:
        for name, _definition in indexes:
            store.execute(f"DROP INDEX IF EXISTS {name}")
        store.commit()
    started = time.perf_counter()
    while done < records:
        stop = min(done + CHUNK, records)
        store.load(population.chunk(done, stop))
        took = time.perf_counter() - started
        store.execute("UPDATE bench_marriage_build SET done = ?, load_seconds = load_seconds + ?",
                      (stop, took))  # fmt: skip
        store.commit()
        started = time.perf_counter()
        if stop // CHUNK % 10 == 0 or stop == records:
            log(f"{store.kind}: {stop:,} / {records:,} registrations written")
        done = stop
    started = time.perf_counter()
    created = 0
    for name, definition in indexes:
        if store.kind == "sqlite":
            exists = store.execute("SELECT 1 FROM sqlite_master WHERE name = ?", (name,))
        else:
            exists = store.execute("SELECT 1 FROM pg_indexes WHERE indexname = ?", (name,))
        if not exists:
            log(f"{store.kind}: building index {name}")
            store.execute(definition)
            store.commit()
            created += 1
    if created:
        store.execute("PRAGMA analysis_limit=1000" if store.kind == "sqlite" else "SELECT 1")
        store.execute("ANALYZE")
        store.execute("UPDATE bench_marriage_build SET index_seconds = ?",
                      (time.perf_counter() - started,))  # fmt: skip
        store.commit()
    load_s, index_s = store.execute("SELECT load_seconds, index_seconds FROM bench_marriage_build")[
        0
    ]
    return {
        "registrations": records,
        "parties": 2 * records,
        "load_seconds": round(float(load_s), 1),
        "index_and_analyze_seconds": round(float(index_s), 1),
        "build_seconds": round(float(load_s) + float(index_s), 1),
        "database_mb": store.size_mb(),
        "rebuilt_indexes": [n for n, _ in indexes],
    }


# --- the queries ----------------------------------------------------------------------------------
def _found(criteria: Any) -> list[int]:
    """``finding._search`` itself (candidates, rank, the rules check on light rows, the full rows
    of what is shown) for a court's query, which may see every record: the registration ids in
    rank order, all of them (limit = the candidate cap) so that the peers can be compared."""
    from lantai.marriage import finding
    from lantai.standards import marriage_rights

    rules = marriage_rights.load_rules(None)
    court = marriage_rights.Request(requester_type="court", requester_name="法官",
                                    requester_id="", proofs={"unit_letter": "函", "work_id": "证"})  # fmt: skip
    outcome = finding.Outcome(query_id=0, rules_version=0)
    finding._search(criteria, court, rules, None, finding.NAME_CANDIDATES, outcome)
    return [h.record_id for h in outcome.hits]


def ours_exact(number: str) -> list[int]:
    from lantai.marriage import finding

    return _found(finding.Criteria(id_number=number))


def ours_fuzzy(name: str, year: int) -> list[int]:
    from lantai.marriage import finding

    return _found(finding.Criteria(names=(name,), year=year, years=2))


def guarded_fuzzy(store: Store, name: str, year: int) -> tuple[list[int], int]:
    """``_by_name``'s candidate query in raw SQL with the skeleton term written as the partial
    index's condition requires (``name_skeleton = ? AND NOT name_skeleton = ''``), so SQLite can
    use ``marriage_party_skeleton``; then the rows by one JOIN. A variant, not a peer.
    (registration ids, candidate party rows: at NAME_CANDIDATES the LIMIT cut them)."""
    from lantai.marriage import finding
    from lantai.standards import marriage_names

    terms, params = [], []
    for column, key in marriage_names.query_keys(name):
        guard = " AND NOT name_skeleton = ''" if column == "name_skeleton" else ""
        terms.append(f"({column} = ?{guard})")
        params.append(key)
    found = store.execute(
        f"SELECT registration_id FROM marriage_party WHERE ({' OR '.join(terms)})"
        " AND year >= ? AND year <= ?"
        " ORDER BY CASE WHEN name = ? THEN 0 ELSE 1 END, year DESC, id"  # as _by_name orders
        f" LIMIT {finding.NAME_CANDIDATES}",
        [*params, year - 2, year + 2, name],
    )
    return _rows_raw(store, sorted({int(r) for (r,) in found})), len(found)


_ROWS_SQL = (
    "SELECT r.record_id, r.kind, r.date, r.office, r.region_code, r.certificate_number,"
    " c.reference_code, p.position, p.name, p.sex, p.id_masked"
    " FROM marriage_registration r JOIN catalog_record c ON c.id = r.record_id"
    " JOIN marriage_party p ON p.registration_id = r.record_id"
    " WHERE r.record_id IN ({}) ORDER BY r.record_id, p.position"
)


def _rows_raw(store: Store, ids: Sequence[int]) -> list[int]:
    if not ids:
        return []
    rows = store.execute(_ROWS_SQL.format(", ".join("?" * len(ids))), list(ids))
    return sorted({int(r[0]) for r in rows})


def plain_exact(store: Store, number: str) -> list[int]:
    ids = [int(r[0]) for r in store.execute(
        "SELECT registration_id FROM bench_plain_id WHERE id_number = ?", (number,))]  # fmt: skip
    return _rows_raw(store, ids)


def like_exact(store: Store, number: str) -> list[int]:
    ids = [int(r[0]) for r in store.execute(
        "SELECT registration_id FROM bench_plain_id WHERE id_number LIKE ?", (f"%{number}%",))]  # fmt: skip
    return _rows_raw(store, ids)


def like_pattern(name: str) -> str:
    return f"%{name}%"


def like_fuzzy(store: Store, name: str, year: int) -> tuple[list[int], set[int]]:
    """(registration ids, those whose party has exactly ``name``)."""
    found = store.execute(
        "SELECT registration_id, name FROM marriage_party WHERE name LIKE ? AND year BETWEEN ? AND ?",
        (like_pattern(name), year - 2, year + 2),
    )
    return _rows_raw(store, sorted({int(r) for r, _ in found})), {
        int(r) for r, n in found if n == name
    }


def timed(fn: Callable[..., Any], *args: Any) -> tuple[float, Any]:
    t = time.perf_counter()
    value = fn(*args)
    return (time.perf_counter() - t) * 1000, value


def pct(values: Sequence[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered) + 0.5) - 1))]


def summary(times: Sequence[float]) -> dict[str, Any]:
    if not times:
        return {"queries": 0}
    return {
        "queries": len(times),
        "p50_ms": round(statistics.median(times), 2),
        "p95_ms": round(pct(times, 95), 2),
        "max_ms": round(max(times), 2),
        "mean_ms": round(statistics.fmean(times), 2),
    }


def exact_queries(store: Store, records: int, count: int, rng: random.Random) -> list[str]:
    numbers = []
    for _ in range(count):
        i, position = rng.randrange(records), rng.choice((1, 2))
        numbers.append(id_number(i, position, exists=rng.random() >= 0.1))
    return numbers


def fuzzy_queries(
    store: Store, records: int, count: int, rng: random.Random
) -> list[tuple[str, int]]:
    picks = [2 * rng.randrange(records) + rng.choice((1, 2)) for _ in range(count)]
    out = []
    for pid in picks:
        name, year = store.execute("SELECT name, year FROM marriage_party WHERE id = ?", (pid,))[0]
        name = str(name)
        if len(name) == 3 and rng.random() < 0.25:
            name = name[0] + name[2]  # the asker forgot the middle character
        out.append((name, int(year) + rng.randint(-2, 2)))
    return out


def measure(store: Store, records: int, sizes: dict[str, Any]) -> dict[str, Any]:
    from lantai.marriage import finding

    rng = random.Random(SEED + 1)
    numbers = exact_queries(store, records, sizes["exact"], rng)
    names = fuzzy_queries(store, records, sizes["fuzzy"], rng)
    ours_exact(numbers[0])  # warm the ORM and the key
    times: dict[str, list[float]] = {k: [] for k in ("ours_exact", "plain_exact", "like_exact",
                                                      "ours_fuzzy", "like_fuzzy")}  # fmt: skip
    exact_agree = exact_like_agree = exact_hits = 0
    for n, number in enumerate(numbers):
        t_ours, ours = timed(ours_exact, number)
        t_plain, plain = timed(plain_exact, store, number)
        times["ours_exact"].append(t_ours)
        times["plain_exact"].append(t_plain)
        exact_agree += sorted(ours) == plain
        exact_hits += bool(ours)
        if n < sizes["like"]:
            t_like, like = timed(like_exact, store, number)
            times["like_exact"].append(t_like)
            exact_like_agree += sorted(ours) == like
    fuzzy_hits, capped, fuzzy_agree, fuzzy_compared, fuzzy_hit_count = 0, 0, 0, 0, []
    by_length: dict[str, list[float]] = {"two_characters": [], "three_or_more": []}
    guarded, guarded_agree, guarded_compared = [], 0, 0
    fuzzy_started, stopped_at = time.perf_counter(), None
    for n, (name, year) in enumerate(names):
        if time.perf_counter() - fuzzy_started > sizes["budget_s"]:
            stopped_at = n  # the slow queries would outlast the run: say where it stopped
            break
        t_ours, ours = timed(ours_fuzzy, name, year)
        times["ours_fuzzy"].append(t_ours)
        by_length["two_characters" if len(name) == 2 else "three_or_more"].append(t_ours)
        t_guarded, (variant, candidate_rows) = timed(guarded_fuzzy, store, name, year)
        guarded.append(t_guarded)
        # at the cap, which candidates an unordered LIMIT keeps depends on the plan: compare below
        complete = candidate_rows < finding.NAME_CANDIDATES
        guarded_compared += 1  # both order the candidates before the cap: the same ones
        guarded_agree += sorted(ours) == variant
        capped += not complete
        fuzzy_hits += bool(ours)
        fuzzy_hit_count.append(len(ours))
        if n < sizes["like"]:
            t_like, (_like, exact_named) = timed(like_fuzzy, store, name, year)
            times["like_fuzzy"].append(t_like)
            if complete:  # else ours kept an arbitrary NAME_CANDIDATES of the candidates
                fuzzy_compared += 1
                fuzzy_agree += exact_named == _named(ours, name)
    return {
        "exact": {
            "ours": summary(times["ours_exact"]),
            "plain_indexed_sql": summary(times["plain_exact"]),
            "like_scan": summary(times["like_exact"]),
            "queries_with_hits": exact_hits,
            "agreement": {
                "ours_vs_plain_same_hits": f"{exact_agree}/{len(numbers)}",
                "ours_vs_like_same_hits": f"{exact_like_agree}/{len(times['like_exact'])}",
            },
        },  # fmt: skip
        "fuzzy": {
            "ours": summary(times["ours_fuzzy"]),
            "ours_by_query_length": {k: summary(v) for k, v in by_length.items()},
            "like_scan": summary(times["like_fuzzy"]),
            "variant_skeleton_guard_raw_sql": {
                **summary(guarded),
                "same_hits_as_ours": f"{guarded_agree}/{guarded_compared}",
                "what": "the candidate query with NOT name_skeleton = '' beside the skeleton "
                "term (the partial index's condition), raw SQL, rows by JOIN",
            },
            "stopped_after_budget": None
            if stopped_at is None
            else {"queries_done": stopped_at, "budget_s": sizes["budget_s"]},
            "queries_with_hits": fuzzy_hits,
            "hits_per_query_median": statistics.median(fuzzy_hit_count),
            "queries_at_candidate_cap": capped,
            "agreement": {
                "exact_name_registrations_same": f"{fuzzy_agree}/{fuzzy_compared}",
                "note": "LIKE finds substrings, ours 同音/形近/missing middle: compared on the "
                "registrations with a party of exactly the queried name, on the queries whose "
                "candidates stay under the cap (NAME_CANDIDATES party rows)",
            },
        },
    }


def _named(reg_ids: Sequence[int], name: str) -> set[int]:
    from lantai.marriage.models import Party

    if not reg_ids:
        return set()
    return set(Party.objects.filter(registration_id__in=list(reg_ids), name=name)
               .values_list("registration_id", flat=True))  # fmt: skip


# --- one database, in its own process -------------------------------------------------------------
def _category() -> Any:
    from lantai.catalog import services
    from lantai.catalog.models import Category, Fonds
    from lantai.marriage import records as marriage_records

    fonds = Fonds.objects.filter(code="BHY").first() or services.create_fonds("BHY", "岭南省民政厅")
    found = Category.objects.filter(fonds=fonds, code=marriage_records.CATEGORY).first()
    return found or marriage_records.category_of(fonds)


def phase(kind: str, records: int, sizes: dict[str, Any]) -> dict[str, Any]:
    common.setup_django()
    from django.conf import settings

    from lantai.marriage import identity

    category = _category()
    sealed = identity.seal("110101199003070000")
    store: Store
    if kind == "sqlite":
        store = SqliteStore(Path(settings.DATABASES["default"]["NAME"]))
    else:
        store = PostgresStore(os.environ["LANTAI_DATABASE_URL"])
    population = Population(category, sealed)
    built = build(store, population, records)
    store.commit()
    if kind == "postgresql":
        store.execute("SET session_replication_role = origin")
        store.commit()
    measured = {} if sizes.get("build_only") else measure(store, records, sizes)
    server = f"SQLite {sqlite3.sqlite_version}" if kind == "sqlite" else _pg_version(store)
    result = {"database": kind, "server": server, "build": built, **measured}
    store.close()
    return result


def _pg_version(store: Store) -> str:
    version, buffers, work_mem = store.execute(
        "SELECT current_setting('server_version'), current_setting('shared_buffers'),"
        " current_setting('work_mem')"
    )[0]
    return f"PostgreSQL {version} (shared_buffers {buffers}, work_mem {work_mem})"


# --- the orchestration ----------------------------------------------------------------------------
def _environment(kind: str, records: int, keep: Path | None) -> tuple[dict[str, str], Path, str]:
    name = f"lantai_bench_marriage_{records}"
    if keep is None:
        env, data_dir = common.fresh_database(kind, name)
        return env, data_dir, name
    data_dir = keep / kind
    data_dir.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "LANTAI_DATA_DIR": str(data_dir), "LANTAI_SECRET_KEY": "bench",
           "LANTAI_DATABASE_URL": ""}  # fmt: skip
    if kind == "postgresql":
        import psycopg

        with psycopg.connect(f"{common.PG_URL}/postgres", autocommit=True) as conn:
            if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
                conn.execute(f"CREATE DATABASE \"{name}\" ENCODING 'UTF8' TEMPLATE template0"
                             " LC_COLLATE 'C.UTF-8' LC_CTYPE 'C.UTF-8'")  # fmt: skip
        env["LANTAI_DATABASE_URL"] = f"{common.PG_URL}/{name}"
    return env, data_dir, name


def _child(args: list[str], env: dict[str, str]) -> dict[str, Any]:
    """One database's phase in its own process; its progress lines go straight to stderr."""
    proc = subprocess.run([sys.executable, __file__, *args], env=env, stdout=subprocess.PIPE,
                          text=True)  # fmt: skip
    if proc.returncode != 0:
        raise RuntimeError(f"marriage_bench {' '.join(args)} failed (exit {proc.returncode})")
    return dict(json.loads(proc.stdout.strip().splitlines()[-1]))


def run(
    records: int | None = None,
    databases: Sequence[str] = DATABASES,
    out: Path | None = None,
    *,
    quick: bool = False,
    queries: int | None = None,
    like_queries: int | None = None,
    keep: Path | None = None,
    budget_s: float | None = None,
    build_only: bool = False,
) -> dict[str, Any]:
    sizes: dict[str, Any] = dict(SIZES["quick" if quick else "full"])
    records = records or sizes["records"]
    if queries:
        sizes["exact"] = sizes["fuzzy"] = queries
    if like_queries:
        sizes["like"] = like_queries
    if budget_s:
        sizes["budget_s"] = budget_s
    if build_only:
        if keep is None:
            raise ValueError("--build-only needs --keep: the databases would be dropped")
        sizes["build_only"] = True
    started = time.perf_counter()
    results: dict[str, Any] = {}
    for kind in databases:
        if kind not in DATABASES:
            raise ValueError(f"unknown database {kind!r}: one of {', '.join(DATABASES)}")
        env, data_dir, name = _environment(kind, records, keep)
        try:
            args = ["--phase", kind, "--records", str(records), "--sizes", json.dumps(sizes)]
            results[kind] = _child(args, env)
        finally:
            if keep is None:
                common.drop_database(kind, name)
                shutil.rmtree(data_dir, ignore_errors=True)
    targets = {}
    for kind, r in results.items():
        for what in ("exact", "fuzzy") if not build_only else ():
            p95 = r[what]["ours"]["p95_ms"]
            targets[f"{what}_p95_ms_{kind}"] = {
                "value": p95, "target": f"<= {TARGET_P95_MS[what]}",
                "met": p95 <= TARGET_P95_MS[what],
            }  # fmt: skip
    result: dict[str, Any] = {
        "benchmark": "marriage",
        "quick": quick,
        "machine": {**common.machine(), "load_average_at_start": os.getloadavg()},
        "population": {
            "registrations": records,
            "parties": 2 * records,
            "distinct_names": NAME_POOL,
            "name_draw": "Zipf-like over surname × given-name pool (weight 1/(rank+20))",
            "years": list(YEARS),
            "id_sealed": "one constant value sealed with the real key (identity.seal), for speed",
            "id_hash": "identity.lookup_hash of a unique valid 18-digit number per party (the "
            "same HMAC-SM3 with the key read once, checked against lookup_hash in every chunk)",
            "load": "raw INSERT (SQLite, foreign keys off) / COPY (PostgreSQL, FK triggers off); "
            "secondary indexes dropped during the load and rebuilt after it; then ANALYZE",
            "cache": "queries run right after the build on the same machine (warm page cache)",
        },  # fmt: skip
        "peers": {
            "plain_indexed_sql": "clear-text id_number in bench_plain_id with a B-tree index on "
            "id_number; then the rows by one raw JOIN",
            "like_scan_exact": "bench_plain_id.id_number LIKE '%number%' (unindexable); rows by JOIN",
            "like_scan_fuzzy": "marriage_party.name LIKE '%name%' AND year BETWEEN y-2 AND y+2; "
            "rows by JOIN",
        },
        "query_counts": sizes,
        "targets": targets,
        "databases": results,
        "seconds": round(time.perf_counter() - started, 1),
    }
    result["all_met"] = bool(targets) and all(t["met"] for t in targets.values())
    result["saved_to"] = str(common.save("marriage", result, out))
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=None)
    parser.add_argument("--databases", default=",".join(DATABASES))
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--queries", type=int, default=None)
    parser.add_argument("--like-queries", type=int, default=None)
    parser.add_argument("--budget-s", type=float, default=None, help="time limit of the fuzzy loop")
    parser.add_argument("--build-only", action="store_true", help="build (with --keep) and stop")
    parser.add_argument("--keep", type=Path, default=None, help="keep (and resume) databases here")
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--phase", choices=DATABASES, help=argparse.SUPPRESS)
    parser.add_argument("--sizes", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.phase:
        print(
            json.dumps(phase(args.phase, args.records, json.loads(args.sizes)), ensure_ascii=False)
        )
        return
    result = run(args.records, args.databases.split(","), args.out, quick=args.quick,
                 queries=args.queries, like_queries=args.like_queries, keep=args.keep,
                 budget_s=args.budget_s, build_only=args.build_only)  # fmt: skip
    print(json.dumps(result, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
