"""The hub's thin index: every member's open catalogue (harvested over OAI-PMH) for the public
search across all archives, and every member's marriage registrations (names, dates, keyed ID
hashes — never numbers) for the windows.

Catalogue text (``HubRecord.grams``): the title, 档号, 责任者 and remarks, folded
(lantai.search.folding.fold: full/half width, case; 繁体 and 简体 are NOT folded into each other —
the project has no conversion table yet), then written as tokens separated by spaces:

- a run of Han characters gives its overlapping bigrams followed by its last character alone:
  人民政府 → ``人民 民政 政府 府``; a run of one character gives that character;
- a run of other letters and digits gives that word, lower-cased: J001-WS·2024 → ``j001 ws 2024``;
- last, the member's token ``hubm{id}`` (the archives filter is a token of the same query).

A query becomes the same tokens, matched as one phrase, so a hit is an exact substring of a run:
人民政府 does not match 人民，政府 (the tokens never cross a gap between Han characters) and
人民x does not match 人民政府x (a Han run of the query that something follows must end a run of the
text: its last character stands alone). Latin and digit words match as whole words; what separates
them (spaces, hyphens) is not compared. A query that ends with one Han character (or is one) takes
it as a prefix of a token: every character of a run begins one of the run's tokens, so 民 finds
every text that contains 民.

SQLite: an FTS5 table over ``grams`` (external content; migration 0002). Inserts and updates
write it here (store_records), deletes by a trigger: only this module writes HubRecord.
PostgreSQL: a stored tsvector column ``grams_tsv`` = to_tsvector('simple', grams) (migration
0002) with partial GIN indexes by id range (ensure_pg_shards) and a phrase tsquery (``<->``,
``:*``).

Results: up to ``CAP`` matches are read (in index order); the total and the facet counts are exact
below the cap and read "≥ CAP" at it (``total_capped``). Hits are shown newest entry first.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import date as Date
from typing import Any

from django.db import connection, transaction

from lantai.search.folding import fold
from lantai.standards import marriage_names

from .models import HubMarriage, HubParty, HubRecord, Member

CAP = 3_000  # matches read per search: the total is exact below it (measured: bench)
BATCH = 1_000
NAME_CANDIDATES = 500  # per name, before ranking (as marriage/finding.py)
MAX_YEARS = 10
FTS_TABLE = "platform_hubrecord_fts"
_FTS_DELETE = f"INSERT INTO {FTS_TABLE}({FTS_TABLE}, rowid, grams) VALUES ('delete', %s, %s)"

_HAN_CLASS = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f"
_RUNS = re.compile(rf"([{_HAN_CLASS}]+)|((?:(?![{_HAN_CLASS}])[^\W_])+)")
_HEX32 = re.compile(r"^[0-9a-f]{32}$")
_FIELDS = ("datestamp", "reference_code", "title", "fonds", "category", "date", "creator", "url")
_LIMITS = {f.name: f.max_length for f in HubRecord._meta.concrete_fields if f.max_length}  # fmt: skip


class HubSearchError(ValueError):
    """A malformed search (a user's input): the field, the message in Chinese and in English."""

    def __init__(self, field: str, message_zh: str, message_en: str) -> None:
        super().__init__(message_zh)
        self.field, self.message_zh, self.message_en = field, message_zh, message_en


# ---------------------------------------------------------------- tokens


def _runs(text: str) -> Iterable[tuple[bool, str]]:
    """(is Han, run) over the folded text: runs of Han characters and words of other letters."""
    for m in _RUNS.finditer(fold(text)):
        yield (True, m.group(1)) if m.group(1) else (False, m.group(2))


def _han_tokens(run: str, closed: bool) -> list[str]:
    grams = [run[i : i + 2] for i in range(len(run) - 1)]
    if closed or len(run) == 1:
        grams.append(run[-1])
    return grams


def text_tokens(text: str) -> list[str]:
    """The index tokens of a text (see the module's note)."""
    out: list[str] = []
    for han, run in _runs(text):
        out.extend(_han_tokens(run, True) if han else [run])
    return out


def member_token(member_id: int) -> str:
    return f"hubm{member_id}"


def grams_of(texts: Iterable[str], member_id: int) -> str:
    tokens: list[str] = []
    for t in texts:
        if t:
            tokens.extend(text_tokens(t))
    tokens.append(member_token(member_id))
    return " ".join(tokens)


def query_tokens(q: str) -> tuple[list[str], bool]:
    """The phrase of a query and whether its last token is a prefix (a trailing lone Han
    character). A Han run of the query that is not its last run must end a run of the text, so it
    keeps its lone last character; the last run may go on in the text, so it does not."""
    runs = list(_runs(q))
    tokens: list[str] = []
    prefix = False
    for i, (han, run) in enumerate(runs):
        last = i == len(runs) - 1
        if not han:
            tokens.append(run)
        elif last and len(run) == 1:
            tokens.append(run)
            prefix = True
        else:
            tokens.extend(_han_tokens(run, not last))
    return tokens, prefix


# ---------------------------------------------------------------- catalogue


def _year(date: str) -> int | None:
    m = re.match(r"^(\d{4})", date or "")
    return int(m.group(1)) if m and 1 <= int(m.group(1)) <= 9999 else None


def _clip(name: str, value: Any) -> str:
    text = str(value or "")
    limit = _LIMITS.get(name)
    return text[:limit] if limit else text


_UPSERT_COLUMNS = ("member_id", "identifier", "year", "grams", *_FIELDS)
_UPSERT = (
    f"INSERT INTO platform_hubrecord ({', '.join(_UPSERT_COLUMNS)}) "
    f"VALUES ({', '.join('%s' for _ in _UPSERT_COLUMNS)}) ON CONFLICT (identifier) DO UPDATE SET "
    + ", ".join(f"{c} = excluded.{c}" for c in _UPSERT_COLUMNS if c != "identifier")
)  # one statement on SQLite (≥ 3.24) and PostgreSQL; the ORM's bulk_create costs twice as much


def store_records(member: Member, rows: Sequence[dict[str, Any]]) -> int:
    """Insert or update catalogue entries by their OAI identifier. A row: identifier, datestamp,
    reference_code, title, fonds, category, date, creator, url and (for the search text only)
    description. Returns how many rows were written."""
    written = 0
    for start in range(0, len(rows), BATCH):
        params: dict[str, tuple[Any, ...]] = {}
        for row in rows[start : start + BATCH]:
            ident = _clip("identifier", row.get("identifier")).strip()
            if not ident:
                continue
            values = [_clip(f, row.get(f)) for f in _FIELDS]
            title, reference_code, creator = values[2], values[1], values[6]
            grams = grams_of((title, reference_code, creator, str(row.get("description") or "")), member.pk)  # fmt: skip
            params[ident] = (member.pk, ident, _year(values[5]), grams, *values)
        if not params:
            continue
        with transaction.atomic(), connection.cursor() as cur:
            if connection.vendor == "sqlite":
                _upsert_sqlite(cur, params)
            else:
                cur.executemany(_UPSERT, list(params.values()))
                ensure_pg_shards(cur)
        written += len(params)
    return written


def _upsert_sqlite(cur: Any, params: dict[str, tuple[Any, ...]]) -> None:
    """The upsert with its FTS5 entries written here, not by triggers: FTS5 flushes its pending
    terms at every statement a trigger runs in, which makes a segment per row and inserts 5–10
    times slower. Only entries whose text changed are re-indexed. (A DELETE still updates FTS5
    by trigger: deletes are few.)"""
    idents = list(params)
    marks = ", ".join("%s" for _ in idents)
    cur.execute(f"SELECT id, identifier, grams FROM platform_hubrecord WHERE identifier IN ({marks})", idents)  # fmt: skip
    old = {ident: (pk, grams) for pk, ident, grams in cur.fetchall()}
    stale = [old[i] for i in idents if i in old and old[i][1] != params[i][3]]
    fresh = [i for i in idents if i not in old or old[i][1] != params[i][3]]
    cur.executemany(_FTS_DELETE, stale)
    cur.executemany(_UPSERT, list(params.values()))
    if fresh:
        marks = ", ".join("%s" for _ in fresh)
        cur.execute(
            f"SELECT id, grams FROM platform_hubrecord WHERE identifier IN ({marks})", fresh
        )
        cur.executemany(f"INSERT INTO {FTS_TABLE}(rowid, grams) VALUES (%s, %s)", cur.fetchall())


def delete_records(member: Member, identifiers: Iterable[str]) -> int:
    """Remove a member's entries (tombstones); another member's identifiers are left alone."""
    idents = list(identifiers)
    removed = 0
    for start in range(0, len(idents), BATCH):
        removed += HubRecord.objects.filter(member=member, identifier__in=idents[start : start + BATCH]).delete()[0]  # fmt: skip
    return removed


def _match_sqlite(tokens: list[str], prefix: bool, members: list[int] | None) -> str:
    phrase = '"' + " ".join(tokens) + '"' + (" *" if prefix else "")
    if members:
        phrase += " AND (" + " OR ".join(member_token(m) for m in members) + ")"
    return phrase


def _match_pg(tokens: list[str], prefix: bool, members: list[int] | None) -> str:
    terms = [f"'{t}'" for t in tokens]
    if prefix:
        terms[-1] += ":*"
    query = "(" + " <-> ".join(terms) + ")"
    if members:
        query += " & (" + " | ".join(member_token(m) for m in members) + ")"
    return query


def _matches(tokens: list[str], prefix: bool, members: list[int] | None) -> list[tuple[int, int]]:
    """(entry id, member id) of up to CAP + 1 matches, newest entries first."""
    with connection.cursor() as cur:
        if connection.vendor == "postgresql":
            return _matches_pg(cur, _match_pg(tokens, prefix, members))
        cur.execute(
            f"SELECT r.id, r.member_id FROM (SELECT rowid AS id FROM {FTS_TABLE} "
            f"WHERE {FTS_TABLE} MATCH %s ORDER BY rowid DESC LIMIT %s) m "
            "JOIN platform_hubrecord r ON r.id = m.id",
            [_match_sqlite(tokens, prefix, members), CAP + 1],
        )
        return [(int(a), int(b)) for a, b in cur.fetchall()]


# PostgreSQL: a GIN index builds the bitmap of every candidate before a LIMIT can stop it, so
# its cost grows with the table for a common word. The index is therefore split by id range
# (partial GIN indexes of PG_SHARD ids each): a search reads the newest range first and stops
# once it has CAP + 1 matches; a rare word costs one small look-up per range.
PG_SHARD = 250_000
_PG_SHARD_NAME = "platform_hubrec_grams_s"
_pg_shards_known: set[int] = set()


def _pg_shards(cur: Any) -> set[int]:
    cur.execute("SELECT indexname FROM pg_indexes WHERE tablename = 'platform_hubrecord' AND indexname LIKE %s", [_PG_SHARD_NAME + "%"])  # fmt: skip
    return {int(name[len(_PG_SHARD_NAME) :]) for (name,) in cur.fetchall()}


def ensure_pg_shards(cur: Any | None = None) -> list[int]:
    """Create the partial GIN index of every id range up to one range beyond the newest entry
    (an index for a range no row reaches yet is made at once; a later one scans the table)."""
    if connection.vendor != "postgresql":
        return []
    if cur is None:
        with connection.cursor() as own:
            return ensure_pg_shards(own)
    cur.execute("SELECT coalesce(max(id), 0) FROM platform_hubrecord")
    last = int(cur.fetchone()[0]) // PG_SHARD + 1
    if not set(range(last + 1)) <= _pg_shards_known:
        _pg_shards_known.update(_pg_shards(cur))
    for k in range(last + 1):
        if k not in _pg_shards_known:
            # the rows just written leave deferred foreign-key checks pending, and PostgreSQL
            # makes no index on a table with pending trigger events: run the checks now
            cur.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cur.execute(
                f"CREATE INDEX IF NOT EXISTS {_PG_SHARD_NAME}{k} ON platform_hubrecord USING gin (grams_tsv) "
                f"WHERE id >= {k * PG_SHARD} AND id < {(k + 1) * PG_SHARD}"
            )  # fmt: skip
            _pg_shards_known.add(k)
    return sorted(_pg_shards_known)


def _matches_pg(cur: Any, tsquery: str) -> list[tuple[int, int]]:
    cur.execute("SELECT coalesce(max(id), 0) FROM platform_hubrecord")
    top = int(cur.fetchone()[0]) // PG_SHARD
    found: list[tuple[int, int]] = []
    for k in range(top, -1, -1):
        lo, hi = k * PG_SHARD, (k + 1) * PG_SHARD  # literals: the partial index must match them
        cur.execute(
            f"SELECT id, member_id FROM platform_hubrecord WHERE id >= {lo} AND id < {hi} "
            "AND grams_tsv @@ to_tsquery('simple', %s) LIMIT %s",
            [tsquery, CAP + 1 - len(found)],
        )
        found.extend((int(a), int(b)) for a, b in cur.fetchall())
        if len(found) > CAP:
            break
    return found


def _empty(q: str, page: int, per_page: int) -> dict[str, Any]:
    return {"query": q, "total": 0, "total_capped": False, "cap": CAP, "page": page,
            "per_page": per_page, "pages": 0, "facets": [], "hits": []}  # fmt: skip


def search(q: str, *, archives: list[str] | None = None, page: int = 1, per_page: int = 20) -> dict[str, Any]:  # fmt: skip
    """Search every member's open catalogue. ``archives``: member codes to keep. Facets count the
    matches by archives without that filter (so that another can be chosen)."""
    q = (q or "").strip()
    if len(q) > 200:
        raise HubSearchError("q", "检索词不能超过 200 个字", "the query must not exceed 200 characters")  # fmt: skip
    page = max(1, int(page))
    per_page = max(1, min(int(per_page), 100))
    tokens, prefix = query_tokens(q)
    if not tokens:
        return _empty(q, page, per_page)
    members = {m.pk: m for m in Member.objects.all()}
    by_code = {m.code: m.pk for m in members.values()}
    matched = _matches(tokens, prefix, None)
    counts = Counter(member_id for _id, member_id in matched[:CAP])
    facet_capped = len(matched) > CAP
    chosen: list[int] | None = None
    if archives:
        unknown = [c for c in archives if c not in by_code]
        if unknown:
            raise HubSearchError("archives", f"平台上没有档案馆“{'、'.join(unknown)}”", f"no archives {', '.join(unknown)} on the platform")  # fmt: skip
        chosen = sorted({by_code[c] for c in archives})
        if facet_capped:  # the first CAP matches may miss the chosen archives: ask for them
            matched = _matches(tokens, prefix, chosen)
        else:
            matched = [(i, m) for i, m in matched if m in chosen]
    capped = len(matched) > CAP
    ids = sorted((i for i, _m in matched[:CAP]), reverse=True)
    total = len(ids)
    shown = ids[(page - 1) * per_page : page * per_page]
    rows = {r.pk: r for r in HubRecord.objects.filter(pk__in=shown)}
    hits = []
    for pk in shown:
        r = rows[pk]
        m = members[r.member_id]
        hits.append({
            "identifier": r.identifier, "reference_code": r.reference_code, "title": r.title,
            "archives": m.code, "archives_name": m.name, "fonds": r.fonds, "category": r.category,
            "date": r.date, "year": r.year, "creator": r.creator, "url": r.url,
        })  # fmt: skip
    facets = [
        {"code": members[mid].code, "name": members[mid].name, "count": n,
         "selected": chosen is not None and mid in chosen}
        for mid, n in sorted(counts.items(), key=lambda kv: (-kv[1], members[kv[0]].code))
    ]  # fmt: skip
    return {
        "query": q, "total": total, "total_capped": capped, "facets_capped": facet_capped,
        "cap": CAP, "page": page, "per_page": per_page, "pages": -(-total // per_page),
        "facets": facets, "hits": hits,
    }  # fmt: skip


# ---------------------------------------------------------------- marriage


def store_marriage(member: Member, entries: Sequence[dict[str, Any]]) -> dict[str, int]:
    """Insert or replace marriage entries by locator (their parties replaced), remove the deleted
    ones. An entry whose locator is not ``{member.code}:…`` or whose fields are malformed is
    skipped and counted (a node can only write its own entries)."""
    own = f"{member.code}:"
    live: dict[str, dict[str, Any]] = {}
    gone: list[str] = []
    skipped = 0
    for e in entries:
        locator = str(e.get("locator") or "")
        if not locator.startswith(own) or len(locator) > 140:
            skipped += 1
        elif e.get("deleted"):
            gone.append(locator)
            live.pop(locator, None)
        else:
            try:
                Date.fromisoformat(str(e.get("date")))
            except ValueError:
                skipped += 1
                continue
            live[locator] = e
    with transaction.atomic():
        removed = 0
        for start in range(0, len(gone), BATCH):
            chunk = gone[start : start + BATCH]
            HubParty.objects.filter(entry__locator__in=chunk).delete()
            removed += HubMarriage.objects.filter(member=member, locator__in=chunk)._raw_delete(HubMarriage.objects.db)  # fmt: skip
        items = list(live.values())
        for start in range(0, len(items), BATCH):
            _store_marriage_batch(member, items[start : start + BATCH])
    return {"stored": len(live), "removed": removed, "skipped": skipped}


_MARRIAGE_COLUMNS = ("member_id", "locator", "kind", "date", "office", "region_code", "digitized", "stamp")  # fmt: skip
_PARTY_COLUMNS = ("entry_id", "position", "name", "id_hash", "year", "name_pinyin", "name_shape", "name_skeleton")  # fmt: skip


def _store_marriage_batch(member: Member, items: list[dict[str, Any]]) -> None:
    """One upsert of the entries and one insert of their parties, in plain SQL (a harvest stores
    thousands a second; the ORM's per-object work was most of the time)."""
    ops = connection.ops
    rows = [
        (member.pk, str(e["locator"]), str(e.get("kind") or "")[:24],
         ops.adapt_datefield_value(Date.fromisoformat(str(e["date"]))), str(e.get("office") or "")[:200],
         str(e.get("region_code") or "")[:6], bool(e.get("digitized")), str(e.get("stamp") or "")[:32])
        for e in items
    ]  # fmt: skip
    table, parties_table = HubMarriage._meta.db_table, HubParty._meta.db_table
    updates = ", ".join(f"{c} = excluded.{c}" for c in _MARRIAGE_COLUMNS if c != "locator")
    with connection.cursor() as cursor:
        cursor.executemany(
            f"INSERT INTO {table} ({', '.join(_MARRIAGE_COLUMNS)}) VALUES ({', '.join(['%s'] * len(_MARRIAGE_COLUMNS))}) "
            f"ON CONFLICT (locator) DO UPDATE SET {updates}",
            rows,
        )  # fmt: skip
    ids = dict(HubMarriage.objects.filter(locator__in=[r[1] for r in rows]).values_list("locator", "pk"))  # fmt: skip
    HubParty.objects.filter(entry_id__in=list(ids.values()))._raw_delete(HubParty.objects.db)
    parties = []
    for e, row in zip(items, rows, strict=True):
        year = Date.fromisoformat(str(e["date"])).year
        for i, p in enumerate(e.get("parties") or [], start=1):
            name = str(p.get("name") or "").strip()[:60]
            if not name:
                continue
            keys = marriage_names.name_keys(name)
            digest = str(p.get("id_hash") or "").lower()
            parties.append((ids[row[1]], int(p.get("position") or i), name,
                            digest if _HEX32.match(digest) else "", year, keys.pinyin[:120],
                            keys.shape[:60], (keys.skeleton or "")[:40]))  # fmt: skip
    with connection.cursor() as cursor:
        cursor.executemany(
            f"INSERT INTO {parties_table} ({', '.join(_PARTY_COLUMNS)}) VALUES ({', '.join(['%s'] * len(_PARTY_COLUMNS))})",
            parties,
        )  # fmt: skip


def _clean_find(id_hash: str | None, names: Sequence[str], year: int | None, years: int) -> list[str]:  # fmt: skip
    if bool(id_hash) == bool(names):
        raise HubSearchError("criteria", "请只按一种方式查找：证件号码或姓名（可加年份）", "search by exactly one of: an identity number's hash, or names (with a year)")  # fmt: skip
    if id_hash and not _HEX32.match(id_hash.lower()):
        raise HubSearchError("id_hash", "证件号码摘要应为 32 位十六进制数", "the identity number's hash must be 32 hexadecimal digits")  # fmt: skip
    if len(names) > 2:
        raise HubSearchError("names", "最多按两个姓名查找（双方当事人）", "search by at most two names (the two parties)")  # fmt: skip
    clean = [marriage_names.normalise_name(n) for n in names]
    for n in clean:
        if not 1 < len(n) <= 30:
            raise HubSearchError("names", f"姓名“{n}”应为 2 至 30 个字", f"the name {n!r} must have 2 to 30 characters")  # fmt: skip
    if year is not None and not 1900 <= year <= 2100:
        raise HubSearchError("year", f"年份 {year} 不在 1900—2100 之间", f"year {year} is not within 1900–2100")  # fmt: skip
    if not 0 <= years <= MAX_YEARS:
        raise HubSearchError("years", f"年份误差应为 0 至 {MAX_YEARS} 年", f"the year tolerance must be 0 to {MAX_YEARS}")  # fmt: skip
    return clean


def _by_name(name: str, year: int | None, years: int) -> dict[int, float]:
    """entry id -> best similarity of a party's name to ``name`` (exact names read first, so the
    candidate cap drops only fuzzy ones), as marriage.finding._by_name."""
    from django.db.models import Case, Q, Value, When

    where = Q()
    for column, key in marriage_names.query_keys(name):
        where |= Q(**{column: key}) & (~Q(name_skeleton="") if column == "name_skeleton" else Q())
    qs = HubParty.objects.filter(where)
    if year is not None:
        qs = qs.filter(year__gte=year - years, year__lte=year + years)
    exact_first = Case(When(name=name, then=Value(0)), default=Value(1))
    found: dict[int, float] = {}
    for entry_id, candidate in qs.order_by(exact_first, "-year", "pk").values_list("entry_id", "name")[:NAME_CANDIDATES]:  # fmt: skip
        score = marriage_names.similarity(name, candidate)
        if score > found.get(entry_id, 0.0):
            found[entry_id] = score
    return found


def find_marriage(
    *, id_hash: str | None = None, names: Sequence[str] = (), year: int | None = None,
    years: int = 2, limit: int = 50,
) -> list[dict[str, Any]]:  # fmt: skip
    """Marriage entries region-wide: by a party's keyed ID hash (exact), or by one or two names
    (同音, 形近, a left-out middle character; year ± ``years``; both names: the entries that
    have both). No ID hash is returned."""
    clean = _clean_find(id_hash, names, year, years)
    if id_hash:
        scores = {e: 1.0 for e in HubParty.objects.filter(id_hash=id_hash.lower()).values_list("entry_id", flat=True)}  # fmt: skip
    else:
        scored = [_by_name(n, year, years) for n in clean]
        if len(scored) == 1:
            scores = scored[0]
        else:
            scores = {e: (scored[0][e] + scored[1][e]) / 2 for e in scored[0].keys() & scored[1].keys()}  # fmt: skip
    if not scores:
        return []
    entries = {e.pk: e for e in HubMarriage.objects.filter(pk__in=list(scores))}
    ranked = sorted(entries, key=lambda e: (-scores[e], abs((year or entries[e].date.year) - entries[e].date.year), entries[e].date, e))[: max(1, min(limit, 200))]  # fmt: skip
    parties: dict[int, list[dict[str, Any]]] = {}
    for entry_id, name, position in HubParty.objects.filter(entry_id__in=ranked).order_by("entry_id", "position").values_list("entry_id", "name", "position"):  # fmt: skip
        parties.setdefault(entry_id, []).append({"name": name, "position": position})
    members = dict(Member.objects.values_list("pk", "name"))
    out = []
    for pk in ranked:
        e = entries[pk]
        out.append({
            "locator": e.locator, "node": e.locator.partition(":")[0],
            "archives": members.get(e.member_id, ""), "kind": e.kind, "date": e.date.isoformat(),
            "office": e.office, "region_code": e.region_code, "digitized": e.digitized,
            "parties": parties.get(pk, []), "score": round(scores[pk], 3),
        })  # fmt: skip
    return out
