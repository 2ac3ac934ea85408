"""The hub's thin index (issue 17, "Performance"): public cross-archive search over the open
catalogue entries, and region-wide marriage finding (exact by keyed ID hash, fuzzy by name and
year), at a given size, on SQLite or PostgreSQL; and the catalogue harvest's records/s against a
live OAI-PMH endpoint, beside a plain OAI-PMH client (sickle, if installed) on the same feed.

``run(catalogue, marriage, database_url)``: a fresh bench database (SQLite under a temporary data
directory when ``database_url`` is None; else a new database ``lantai_bench_platform`` on the
PostgreSQL server of that URL), migrated with the real tables, then loaded in bulk with raw
INSERT (SQLite) or COPY (PostgreSQL), the secondary indexes (and on SQLite the FTS5 triggers)
dropped during the load and rebuilt after it, then ANALYZE. The rows are what the harvest stores:
catalogue entries from the demo generator's catalogue rows (titles, 责任者, 档号) spread over 125
members, their ``grams`` made by hub_index itself; marriage entries from marriage_bench's
Zipf-like name pool with hub_index's name keys, 32-hex ID hashes (random: the hub never sees
numbers), years 1950–2025.

Measured, each through the real function:
  exact ID        hub_index.find_marriage(id_hash=…): 90% existing hashes, 10% absent. ≤ 50 ms p95
  fuzzy name+year hub_index.find_marriage(names=[…], year=Y): names from the population, a quarter
                  with the middle character left out, a fifth with both parties. ≤ 500 ms p95
  public search   hub_index.search(q, archives=…): substrings of 2–4 characters of real titles
                  (so common words come often), 10% one character, 5% 档号 fragments, 20% with an
                  archives filter, 10% page 2. ≤ 200 ms p95
  harvest         harvest_catalogue.harvest over HTTP from a loopback OAI-PMH responder serving
                  prepared pages of 1,000 oai_dc records (tests/platform/oai_responder.py's format)
                  vs sickle's ListRecords iteration of the same feed (records/s). ≥ 5,000 /s
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse
from xml.sax.saxutils import escape

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402

TARGET_P95_MS = {"exact": 50.0, "fuzzy": 500.0, "search": 200.0}
TARGET_HARVEST_PER_S = 5000
MEMBERS = 125
POOL = 100_000  # distinct demo catalogue rows, reused across members with their own 档号
CHUNK = 50_000
SEED = 17
DB_NAME = "lantai_bench_platform"
HARVEST_RECORDS = 20_000
HARVEST_PAGE = 1000


def log(message: str) -> None:
    print(f"[bench platform {time.strftime('%H:%M:%S', time.gmtime())}] {message}", file=sys.stderr, flush=True)  # fmt: skip


# --- the bench database ---------------------------------------------------------------------------
class Store:
    """Bulk loads beside Django: indexes off during the load, back on after it."""

    def __init__(self) -> None:
        from django.db import connection

        connection.ensure_connection()
        self.conn = connection
        self.vendor = connection.vendor
        self.saved: list[str] = []

    def execute(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with self.conn.cursor() as cur:
            cur.execute(sql, params)
            return list(cur.fetchall()) if cur.description else []

    def drop_indexes(self, tables: Sequence[str]) -> None:
        """Drop the secondary indexes (and the FTS5 triggers) of ``tables``; keep their SQL."""
        if self.vendor == "sqlite":
            for name, sql in self.execute(
                "SELECT name, sql FROM sqlite_master WHERE type IN ('index', 'trigger') AND sql IS NOT NULL "
                f"AND tbl_name IN ({','.join('%s' for _ in tables)})", list(tables),
            ):  # fmt: skip
                self.saved.append(sql)
                kind = "TRIGGER" if sql.upper().startswith("CREATE TRIGGER") else "INDEX"
                self.execute(f'DROP {kind} "{name}"')
        else:
            for name, sql in self.execute(
                "SELECT i.indexname, i.indexdef FROM pg_indexes i WHERE i.tablename = ANY(%s) "
                "AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)",
                [list(tables)],
            ):
                self.saved.append(sql)
                self.execute(f'DROP INDEX "{name}"')

    def restore_indexes(self) -> None:
        if self.vendor == "postgresql":
            self.execute("SET maintenance_work_mem = '512MB'")
        for sql in self.saved:
            self.execute(sql)
        self.saved = []
        if self.vendor == "sqlite":
            self.execute(
                "INSERT INTO platform_hubrecord_fts(platform_hubrecord_fts) VALUES ('rebuild')"
            )
        else:
            from lantai.platform import hub_index

            hub_index.ensure_pg_shards()  # the GIN indexes of the id ranges the load reached
        self.execute("ANALYZE")

    def load(self, table: str, columns: Sequence[str], rows: list[tuple[Any, ...]]) -> None:
        from django.db import transaction

        with transaction.atomic():
            self._load(table, columns, rows)

    def _load(self, table: str, columns: Sequence[str], rows: list[tuple[Any, ...]]) -> None:
        if self.vendor == "postgresql":
            with self.conn.cursor() as cur:
                raw = cur.cursor  # psycopg 3
                with raw.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
        else:
            marks = ", ".join("?" for _ in columns)
            self.conn.connection.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", rows)  # fmt: skip

    def size_mib(self) -> float:
        if self.vendor == "postgresql":
            return round(
                self.execute("SELECT pg_database_size(current_database())")[0][0] / 2**20, 1
            )
        from django.conf import settings

        return round(Path(settings.DATABASES["default"]["NAME"]).stat().st_size / 2**20, 1)


# --- the synthetic hub ----------------------------------------------------------------------------
def make_members() -> list[Any]:
    from lantai.platform.models import Member

    return [Member.objects.create(code=f"N{i:03d}", name=f"岭南省第{i}档案馆", url=f"http://n{i:03d}.example",
                                  public_key="00") for i in range(1, MEMBERS + 1)]  # fmt: skip


def catalogue_pool(size: int) -> list[dict[str, Any]]:
    import search_corpus

    return list(search_corpus.demo_documents(size, 0))


def load_catalogue(
    store: Store, members: list[Any], pool: list[dict[str, Any]], total: int
) -> float:
    from lantai.platform import hub_index

    started = time.monotonic()
    base_grams = [" ".join(hub_index.text_tokens(f"{d['title']} {d['author']} {d['remarks']}")) for d in pool]  # fmt: skip
    cols = ("id", "member_id", "identifier", "datestamp", "reference_code", "title", "fonds", "category",
            "date", "year", "creator", "url", "grams")  # fmt: skip
    store.drop_indexes(["platform_hubrecord"])
    for start in range(0, total, CHUNK):
        rows = []
        for i in range(start, min(total, start + CHUNK)):
            d = pool[i % len(pool)]
            m = members[(i * 7919) % len(members)]
            ref = (
                f"{d['reference_code']}-{i // len(pool)}" if i >= len(pool) else d["reference_code"]
            )
            grams = f"{base_grams[i % len(pool)]} {' '.join(hub_index.text_tokens(ref))} {hub_index.member_token(m.pk)}"  # fmt: skip
            rows.append((i + 1, m.pk, f"oai:{m.code.lower()}.example:{m.code}/{i + 1}", "2026-12-01T00:00:00Z", ref,
                         d["title"][:1000], f"{d['fonds']} 全宗", d["category"], d["date"] or "", d["year"],
                         d["author"][:500], f"{m.url}/records/{i + 1}", grams))  # fmt: skip
        store.load("platform_hubrecord", cols, rows)
        log(f"catalogue {min(total, start + CHUNK):,} / {total:,}")
    if store.vendor == "postgresql":
        store.execute(
            "SELECT setval(pg_get_serial_sequence('platform_hubrecord', 'id'), %s)", [total + 1]
        )
    return time.monotonic() - started


def id_hash(i: int, position: int) -> str:
    return hashlib.blake2b(f"{i}:{position}".encode(), digest_size=16).hexdigest()


def load_marriage(store: Store, members: list[Any], total: int) -> tuple[float, Any]:
    import marriage_bench

    started = time.monotonic()
    pool = marriage_bench.NamePool()
    store.drop_indexes(["platform_hubmarriage", "platform_hubparty"])
    rng = random.Random(SEED)
    for start in range(0, total, CHUNK):
        entries, parties = [], []
        picks = pool.draw(rng, 2 * CHUNK)
        for n, i in enumerate(range(start, min(total, start + CHUNK))):
            m = members[i % len(members)]
            year = 1950 + (i * 37) % 76
            date = f"{year}-{(i % 12) + 1:02d}-{(i % 28) + 1:02d}"
            entries.append((i + 1, m.pk, f"{m.code}:HY-{year}-{i:08d}", "marriage" if i % 5 else "divorce", date,
                            f"岭南省第{i % 40 + 1}民政局婚姻登记处", f"44{i % 90 + 10:02d}01", i % 3 != 0, f"s{i}"))  # fmt: skip
            for position in (1, 2):
                pick = picks[2 * n + position - 1]
                keys = pool.keys[pick]
                parties.append((2 * i + position, i + 1, position, pool.names[pick], id_hash(i, position), year,
                                keys.pinyin, keys.shape, keys.skeleton or ""))  # fmt: skip
        store.load("platform_hubmarriage", ("id", "member_id", "locator", "kind", "date", "office", "region_code",
                                            "digitized", "stamp"), entries)  # fmt: skip
        store.load("platform_hubparty", ("id", "entry_id", "position", "name", "id_hash", "year", "name_pinyin",
                                         "name_shape", "name_skeleton"), parties)  # fmt: skip
        log(f"marriage {min(total, start + CHUNK):,} / {total:,}")
    return time.monotonic() - started, pool


# --- queries --------------------------------------------------------------------------------------
def timed(fn: Callable[..., Any], *args: Any, **kw: Any) -> tuple[float, Any]:
    t = time.perf_counter()
    out = fn(*args, **kw)
    return (time.perf_counter() - t) * 1000, out


def summary(times: Sequence[float]) -> dict[str, Any]:
    ordered = sorted(times)

    def pct(p: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(p * len(ordered)))], 2)

    return {"n": len(ordered), "p50_ms": pct(0.5), "p95_ms": pct(0.95), "max_ms": round(ordered[-1], 2),
            "mean_ms": round(statistics.fmean(ordered), 2)}  # fmt: skip


def search_queries(pool: list[dict[str, Any]], members: list[Any], count: int, rng: random.Random) -> list[dict[str, Any]]:  # fmt: skip
    import re

    out = []
    while len(out) < count:
        d = pool[rng.randrange(len(pool))]
        roll = rng.random()
        if roll < 0.05:
            q = "-".join(d["reference_code"].split("-")[:2])
        else:
            runs = [r for r in re.findall(r"[\u4e00-\u9fff]+", d["title"]) if len(r) >= 2]
            if not runs:
                continue
            run = rng.choice(runs)
            n = 1 if roll < 0.15 else min(len(run), rng.choice((2, 2, 3, 4)))
            at = rng.randrange(len(run) - n + 1)
            q = run[at : at + n]
        query: dict[str, Any] = {"q": q}
        if rng.random() < 0.2:
            query["archives"] = [m.code for m in rng.sample(members, rng.choice((1, 1, 3)))]
        if rng.random() < 0.1:
            query["page"] = 2
        out.append(query)
    return out


def measure(store: Store, pool: list[dict[str, Any]], names: Any, members: list[Any], catalogue: int,
            marriage: int, count: int) -> dict[str, Any]:  # fmt: skip
    from lantai.platform import hub_index

    rng = random.Random(SEED + 1)
    out: dict[str, Any] = {}
    if marriage:
        hashes = [id_hash(rng.randrange(marriage), rng.choice((1, 2))) if rng.random() >= 0.1
                  else hashlib.blake2b(f"absent{rng.random()}".encode(), digest_size=16).hexdigest()
                  for _ in range(count)]  # fmt: skip
        hub_index.find_marriage(id_hash=hashes[0])
        times, found = [], 0
        for h in hashes:
            ms, rows = timed(hub_index.find_marriage, id_hash=h)
            times.append(ms)
            found += bool(rows)
        out["exact"] = {**summary(times), "found": found, "target_p95_ms": TARGET_P95_MS["exact"]}
        times, hits = [], []
        for _ in range(count):
            i = rng.randrange(marriage)
            rows = store.execute("SELECT name, year FROM platform_hubparty WHERE entry_id = %s ORDER BY position", [i + 1])  # fmt: skip
            qnames = [str(r[0]) for r in rows]
            if rng.random() >= 0.2:
                qnames = [rng.choice(qnames)]
            qnames = [n[0] + n[2] if len(n) == 3 and rng.random() < 0.25 else n for n in qnames]
            year = int(rows[0][1]) + rng.randint(-2, 2)
            ms, found_rows = timed(hub_index.find_marriage, names=qnames, year=year)
            times.append(ms)
            hits.append(len(found_rows))
        out["fuzzy"] = {**summary(times), "mean_hits": round(statistics.fmean(hits), 1),
                        "target_p95_ms": TARGET_P95_MS["fuzzy"]}  # fmt: skip
    if catalogue:
        queries = search_queries(pool, members, count, rng)
        hub_index.search(queries[0]["q"])
        times, totals, capped, by_kind = [], [], 0, {"one_char": [], "filtered": [], "plain": []}
        for query in queries:
            ms, r = timed(
                hub_index.search,
                query["q"],
                archives=query.get("archives"),
                page=query.get("page", 1),
            )
            times.append(ms)
            totals.append(r["total"])
            capped += r["total_capped"]
            kind = (
                "one_char"
                if len(query["q"]) == 1
                else "filtered"
                if query.get("archives")
                else "plain"
            )
            by_kind[kind].append(ms)
        out["search"] = {**summary(times), "median_total": statistics.median(totals), "capped": capped,
                         "by_kind": {k: summary(v) for k, v in by_kind.items() if v},
                         "cap": hub_index.CAP, "target_p95_ms": TARGET_P95_MS["search"]}  # fmt: skip
    return out


# --- harvest over HTTP ----------------------------------------------------------------------------
def _oai_pages(pool: list[dict[str, Any]], records: int) -> dict[str, bytes]:
    """Prepared ListRecords pages (oai_dc, as the node's provider writes them), keyed by token."""
    head = ('<?xml version="1.0" encoding="UTF-8"?>\n<OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/" '
            'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><responseDate>2026-12-07T00:00:00Z</responseDate>'
            '<request verb="ListRecords">http://127.0.0.1/oai</request><ListRecords>')  # fmt: skip
    pages: dict[str, bytes] = {}
    for start in range(0, records, HARVEST_PAGE):
        parts = [head]
        for i in range(start, min(records, start + HARVEST_PAGE)):
            d = pool[i % len(pool)]
            ref = escape(f"{d['reference_code']}-{i}")
            parts.append(
                f"<record><header><identifier>oai:bench.example:N001/{ref}</identifier><datestamp>2026-12-01T00:00:00Z"
                f"</datestamp><setSpec>fonds:{escape(d['fonds'].split('/')[-1])}</setSpec><setSpec>category:{d['category']}</setSpec>"
                '</header><metadata><oai_dc:dc xmlns:oai_dc="http://www.openarchives.org/OAI/2.0/oai_dc/" '
                f'xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:title>{escape(d["title"])}</dc:title>'
                f"<dc:identifier>{ref}</dc:identifier><dc:identifier>http://n001.example/records/{i}</dc:identifier>"
                f"<dc:date>{d['date'] or d['year'] or ''}</dc:date><dc:type>文书档案</dc:type><dc:creator>{escape(d['author'])}</dc:creator>"
                f"<dc:publisher>岭南省档案馆</dc:publisher><dc:source>{escape(d['fonds'])} 全宗</dc:source>"
                f"<dc:relation>fonds:{escape(d['fonds'])}</dc:relation></oai_dc:dc></metadata></record>"
            )  # fmt: skip
        nxt = start + HARVEST_PAGE
        if nxt < records:
            parts.append(
                f'<resumptionToken completeListSize="{records}" cursor="{start}">t{nxt}</resumptionToken>'
            )
        parts.append("</ListRecords></OAI-PMH>")
        pages["" if start == 0 else f"t{start}"] = "".join(parts).encode()
    return pages


def _serve(pages: dict[str, bytes]) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:  # noqa: N802
            params = {k: v[0] for k, v in parse_qs(urlparse(self.path).query).items()}
            data = pages.get(params.get("resumptionToken", ""), b"")
            self.send_response(200 if data else 404)
            self.send_header("Content-Type", "text/xml; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def measure_harvest(pool: list[dict[str, Any]]) -> dict[str, Any]:
    from lantai.platform import harvest_catalogue
    from lantai.platform.models import Member

    pages = _oai_pages(pool, HARVEST_RECORDS)
    server = _serve(pages)
    url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        member = Member.objects.create(code="H001", name="采集测试馆", url=url, public_key="00")
        ours = harvest_catalogue.harvest(member, full=True)
        result: dict[str, Any] = {
            "records": HARVEST_RECORDS, "page": HARVEST_PAGE,
            "ours": {"ok": ours["ok"], "seconds": ours["seconds"], "records_per_s": ours["records_per_s"],
                     "error": ours["error"]},
            "target_per_s": TARGET_HARVEST_PER_S,
        }  # fmt: skip
        try:
            from sickle import Sickle  # type: ignore[import-not-found]
        except ImportError:
            result["sickle"] = "not installed (pip install sickle==0.7.0)"
        else:
            t = time.perf_counter()
            n = sum(1 for _ in Sickle(f"{url}/oai").ListRecords(metadataPrefix="oai_dc"))
            s = time.perf_counter() - t
            result["sickle"] = {"records": n, "seconds": round(s, 3), "records_per_s": round(n / s, 1),
                                "note": "fetch and parse only (stores nothing)"}  # fmt: skip
        return result
    finally:
        server.shutdown()
        server.server_close()


# --- phases ---------------------------------------------------------------------------------------
def phase(catalogue: int, marriage: int, queries: int) -> dict[str, Any]:
    common.setup_django()
    store = Store()
    members = make_members()
    result: dict[str, Any] = {
        "database": store.vendor,
        "catalogue": catalogue,
        "marriage": marriage,
    }
    pool = catalogue_pool(min(POOL, max(catalogue, 2000)))
    log(f"{len(pool):,} demo catalogue rows")
    names = None
    if catalogue:
        result["load_catalogue_s"] = round(load_catalogue(store, members, pool, catalogue), 1)
    if marriage:
        seconds, names = load_marriage(store, members, marriage)
        result["load_marriage_s"] = round(seconds, 1)
    t = time.monotonic()
    store.restore_indexes()
    result["index_s"] = round(time.monotonic() - t, 1)
    result["size_mib"] = store.size_mib()
    log("measuring")
    result.update(measure(store, pool, names, members, catalogue, marriage, queries))
    result["harvest"] = measure_harvest(pool)
    result["peak_rss_mib"] = round(common.peak_rss_mib(), 1)
    return result


def run(catalogue: int, marriage: int, database_url: str | None, *, queries: int = 300,
        keep: bool = False) -> dict[str, Any]:  # fmt: skip
    """Build both indexes at the given sizes on a fresh database and measure them (see the module's
    note). ``database_url``: None for SQLite, else a PostgreSQL server URL (a new database
    ``lantai_bench_platform`` is made there and dropped after, unless ``keep``)."""
    kind = "postgresql" if database_url else "sqlite"
    if database_url:
        os.environ["LANTAI_BENCH_PG"] = database_url.rstrip("/").rsplit("/", 1)[0] if database_url.count("/") > 2 else database_url  # fmt: skip
        common.PG_URL = os.environ["LANTAI_BENCH_PG"]
    env, data_dir = common.fresh_database(kind, DB_NAME)
    try:
        proc = subprocess.run([sys.executable, __file__, "--phase", str(catalogue), str(marriage), str(queries)],
                              env=env, stdout=subprocess.PIPE, text=True)  # fmt: skip
        if proc.returncode != 0:
            raise RuntimeError(f"platform_index_bench phase failed (exit {proc.returncode})")
        result = dict(json.loads(proc.stdout.strip().splitlines()[-1]))
    finally:
        if not keep:
            common.drop_database(kind, DB_NAME)
            import shutil

            shutil.rmtree(data_dir, ignore_errors=True)
    result["machine"] = common.machine()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--catalogue", type=int, default=1_000_000)
    parser.add_argument("--marriage", type=int, default=1_000_000)
    parser.add_argument(
        "--database-url", default=None, help="a PostgreSQL server URL (default: SQLite)"
    )
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--phase", nargs=3, type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.phase:
        print(json.dumps(phase(*args.phase), ensure_ascii=False))
        return
    result = run(args.catalogue, args.marriage, args.database_url, queries=args.queries)
    path = common.save("platform_index", result, args.out)
    print(json.dumps(result, ensure_ascii=False, indent=2))
    log(f"saved {path}")


if __name__ == "__main__":
    main()
