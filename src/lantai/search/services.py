"""Services of search (用): the configured backend, who sees what, searching, and keeping the
derived index in step with the catalogue.

Views, the API, the CLI and jobs call these. The backend is chosen by settings
(LANTAI_SEARCH_BACKEND): tantivy (an index directory, the embedded default) or postgresql.

Who sees what mirrors the catalogue (`lantai.catalog.services.visible_records`): the public (and
users of the `public` role) see open records only, through PUBLIC_FIELDS; staff with the view
permission see the records of their repositories and fonds (or all, for `scope_all`) up to their
clearance; everyone else (the 三员 administrators, inactive accounts) sees nothing. The scope is
part of the backend's query, so totals, facets, snippets and suggestions never count what the
user may not see. A record under a donor's access restriction in force today
(`lantai.catalog.holds`) is left out of the public's scope inside the backend's query like a
withheld one (the clock is read at query time, so a restriction that runs out needs no re-index);
one under a publication restriction is found by its description, without full-text snippets.

Keeping the index current: `index_records(ids)` re-reads records from the catalogue and indexes
them (ids that no longer exist are removed); the queued jobs in `lantai.search.tasks` call it
after every committed change. Whatever fails there is remembered (`PendingChange`) and retried by
`catch_up()`, which also indexes every record updated since its watermark, so bulk paths that
write rows directly (the catalogue import) are covered too. `reindex()` rebuilds the whole index
aside and swaps it in.

The index lagging the catalogue never leaks: a change that narrows a record's visibility
(closes it, raises its 密级, moves it to another fonds or archives, deletes it) writes the record
to `Withheld` in its own transaction (`withhold`, from the signals in `lantai.search.tasks`), and
every search but the operator's leaves withheld records out, inside the backend's query, until
the index update for that change has been applied (`index_records` marks it). The update itself
is applied at once when the change commits (`apply_now`), unless another writer holds the index,
and then by the queued job. Hits and suggestions are re-checked against the catalogue anyway.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import threading
import time
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import Any, cast

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.db import connections
from django.db.models import F, Q, QuerySet
from django.utils import timezone

from lantai.catalog import holds, open_copies
from lantai.catalog.models import Record
from lantai.catalog.services import visible_records
from lantai.core import telemetry
from lantai.core.models import User
from lantai.core.roles import PUBLIC, VIEW
from lantai.search.backend import IndexOutdated, SearchBackend
from lantai.search.documents import BATCH, build_documents, indexed_records, iter_documents
from lantai.search.failures import DocumentsFailed
from lantai.search.folding import fold
from lantai.search.models import IndexState, PendingChange, Withheld
from lantai.search.query import (
    FACETS,
    PUBLIC_FIELDS,
    SORTS,
    TEXT_FIELDS,
    Query,
    Results,
    Scope,
    TextCondition,
)

log = logging.getLogger(__name__)

MAX_LIMIT = 1000  # hits per page
MAX_OFFSET = 100_000  # deep paging: narrow the search instead
MAX_QUERY_CHARS = 200
PUBLIC_FACETS = tuple(f for f in FACETS if f in PUBLIC_FIELDS)
NOTHING = Scope(public=False)  # staff scope with no fonds, repositories or all_fonds: no records
EVERYTHING = Scope(public=False, all_fonds=True, max_classification=32767)  # operators, jobs
# How long a withheld record stays out after its index update was applied: readers in other
# processes reload the index within a second (tantivy) or see it at once (PostgreSQL).
WITHHELD_GRACE_SECONDS = 10
WITHHELD_KEEP_SECONDS = 3600  # applied rows are removed after this (the newest one is kept)

_backends: dict[tuple[str, str], SearchBackend] = {}
_backends_lock = threading.Lock()
# One writer per index: index updates from the worker's threads (and inline jobs) take turns.
_write_lock = threading.RLock()


class SearchError(Exception):
    """A search the service refuses (bad field, sort, facet or paging), with a Chinese message."""

    def __init__(self, message_zh: str, field: str = "") -> None:
        super().__init__(message_zh)
        self.message_zh = message_zh
        self.field = field


# --- the backend ---------------------------------------------------------------------------------
def _search(query: Query, scope: Scope) -> Results:
    try:
        return backend().search(query, scope)
    except IndexOutdated as e:  # an upgrade without the rebuild: say so, not a server error
        log.error("search: %s", e)
        raise SearchError(
            "检索索引由旧版本建立，需要重建：请管理员运行 lantai search reindex"
        ) from e


def backend_config() -> tuple[str, dict[str, Any]]:
    """(name, options) of the configured backend, as `open_backend` takes them."""
    name = settings.SEARCH_BACKEND
    if name in ("postgresql", "postgres", "pg"):
        return "postgresql", {"dsn": _postgres_dsn(), "table_prefix": settings.SEARCH_TABLE_PREFIX}
    if name == "tantivy":
        return "tantivy", {"path": settings.SEARCH_INDEX_DIR}
    raise ValueError(f"LANTAI_SEARCH_BACKEND={name!r}: use tantivy or postgresql")


def _postgres_dsn() -> str:
    if settings.SEARCH_DATABASE_URL:
        return str(settings.SEARCH_DATABASE_URL)
    conn = connections["default"]
    if conn.vendor != "postgresql":
        raise ValueError(
            "LANTAI_SEARCH_BACKEND=postgresql needs LANTAI_SEARCH_DATABASE_URL, or a catalogue "
            "database on PostgreSQL (LANTAI_DATABASE_URL)"
        )
    from psycopg.conninfo import make_conninfo

    s = conn.settings_dict  # the live settings: under tests, the test database
    params = {
        "dbname": s.get("NAME"), "user": s.get("USER"), "password": s.get("PASSWORD"),
        "host": s.get("HOST"), "port": str(s.get("PORT") or ""),
    }  # fmt: skip
    return make_conninfo(**{k: v for k, v in params.items() if v})


def index_key() -> str:
    """Names the configured index (backend and where it lives) for its bookkeeping row."""
    name, options = backend_config()
    where = str(options.get("path") or f"{options.get('table_prefix')}@{options.get('dsn')}")
    return f"{name}:{where}"[:300]


def backend() -> SearchBackend:
    """The configured backend, opened once per process (and per configuration)."""
    name, options = backend_config()
    key = (name, repr(sorted((k, str(v)) for k, v in options.items())))
    with _backends_lock:
        found = _backends.get(key)
        if found is None:
            from lantai.search.backends import open_backend

            found = _backends[key] = open_backend(name, **options)
        return found


def reset_backends() -> None:
    """Forget the opened backends (closing those that can be closed): after a settings change."""
    with _backends_lock:
        for b in _backends.values():
            close = getattr(b, "close", None)
            if callable(close):
                try:
                    close()
                except Exception as e:  # closing is best effort
                    log.info("search backend close failed: %s", e)
        _backends.clear()


# --- who sees what -------------------------------------------------------------------------------
def scope_for(user: User | AnonymousUser | None) -> Scope:
    """The search scope of `user`; None and anonymous visitors are the public."""
    if user is None or not user.is_authenticated or not isinstance(user, User):
        return Scope.public_scope()
    if not user.is_active:
        return NOTHING
    if user.has_perm_code(VIEW):
        if user.scope_all:
            return Scope(public=False, all_fonds=True, max_classification=user.clearance)
        return Scope(
            public=False,
            fonds_ids=frozenset(user.fonds.values_list("pk", flat=True)),
            repository_ids=frozenset(user.repositories.values_list("pk", flat=True)),
            max_classification=user.clearance,
        )
    if user.has_perm_code(PUBLIC):
        return Scope.public_scope()
    return NOTHING  # 三员 and other roles that may not read archival data


def sees_nothing(scope: Scope) -> bool:
    return (
        not scope.public
        and not scope.all_fonds
        and not scope.fonds_ids
        and not scope.repository_ids
    )


def public_records() -> QuerySet[Record]:
    """The records the catalogue shows the public (an anonymous visitor)."""
    return visible_records(cast(User, AnonymousUser()))


def _catalogue_view(scope: Scope, user: User | AnonymousUser | None) -> QuerySet[Record]:
    """The records the catalogue itself lets the scope see."""
    if scope.public:
        return public_records()
    if scope == EVERYTHING:
        return Record.objects.all()
    return visible_records(user if isinstance(user, User) else None)


def _visible_ids(scope: Scope, user: User | AnonymousUser | None, ids: list[int]) -> set[int]:
    """Which of `ids` the catalogue itself lets the scope see (a check of a page of hits)."""
    qs = _catalogue_view(scope, user).filter(pk__in=ids)
    return set(qs.values_list("pk", flat=True))


# --- the index lagging the catalogue --------------------------------------------------------------
def withhold(ids: Iterable[int]) -> None:
    """Leave these records out of every search (but the operator's) until their index update has
    been applied: called in the transaction that narrows their visibility."""
    Withheld.objects.bulk_create([Withheld(record_id=int(i)) for i in sorted(set(ids))])


def narrowed_by_rule(ids: Iterable[int]) -> None:
    """The public sees less of these records for a reason every public search applies in its
    own query (a donor's access restriction, `lantai.catalog.holds`): nothing to withhold, but
    caches keyed by `withheld_stamp` (the portal's counts) must start again."""
    wanted = sorted({int(i) for i in ids})
    if wanted:  # one row, already applied (withholds nothing), is a new stamp
        past = timezone.now() - timedelta(seconds=WITHHELD_GRACE_SECONDS + 1)
        Withheld.objects.create(record_id=wanted[0], applied_at=past)


def withheld_ids(grace: int = WITHHELD_GRACE_SECONDS) -> frozenset[int]:
    """The records searches leave out now: those whose index update is pending, and those
    applied less than `grace` seconds ago."""
    recent = timezone.now() - timedelta(seconds=grace)
    rows = Withheld.objects.filter(Q(applied_at__isnull=True) | Q(applied_at__gt=recent))
    return frozenset(rows.values_list("record_id", flat=True))


def withheld_stamp() -> int:
    """Changes with every narrowing (the newest Withheld row's id): caches of what the public
    sees (the portal's counts) are keyed by it."""
    return Withheld.objects.order_by("-pk").values_list("pk", flat=True).first() or 0


def _open_holds(ids: list[int]) -> dict[int, int]:
    """Withheld row id -> record id, of these records' pending rows."""
    rows = Withheld.objects.filter(record_id__in=ids, applied_at__isnull=True)
    return dict(rows.values_list("pk", "record_id"))


def _applied(holds: dict[int, int], failed: Iterable[int] = ()) -> None:
    """The index now shows the changes these rows withheld (read before the update began), but
    for the records whose update `failed` (they stay withheld)."""
    failed = set(failed)
    done = [pk for pk, record_id in holds.items() if record_id not in failed]
    if not done:
        return
    now = timezone.now()
    Withheld.objects.filter(pk__in=done).update(applied_at=now)
    old = now - timedelta(seconds=WITHHELD_KEEP_SECONDS)
    Withheld.objects.filter(applied_at__lt=old).exclude(pk=withheld_stamp()).delete()


def _with_withheld(scope: Scope) -> Scope:
    """The scope less the withheld records: for the public also during the grace after their
    update (other processes' readers reloading); for staff only while it is pending, so that a
    record its editor still sees does not vanish from their searches (the operator: never)."""
    if scope == EVERYTHING or sees_nothing(scope):
        return scope
    held = withheld_ids() if scope.public else withheld_ids(grace=0)
    if scope.public:  # records a donor's access restriction keeps from the public, as of today
        held = held | holds.publicly_held_ids("access")
    return dataclasses.replace(scope, withheld=held) if held else scope


def apply_now(ids: Iterable[int]) -> bool:
    """Apply the index update of these records in this request or job, without waiting for
    another writer of the index: False when one holds it (or the update failed); the queued job
    and the catch-up job do it then, and `Withheld` keeps the records out meanwhile."""
    try:
        no_wait = getattr(backend(), "without_waiting", None)
        with no_wait() if callable(no_wait) else contextlib.nullcontext():
            index_records(ids)
    except BlockingIOError:
        return False
    except Exception:
        log.exception("search: applying a narrowing change to the index failed; the job retries")
        return False
    return True


# --- searching -----------------------------------------------------------------------------------
def clean_query(query: Query, scope: Scope) -> Query:
    """Check a query against the vocabulary (a SearchError names what is wrong) and bound it;
    for the public, drop facets and filters on what the public may not see."""
    if query.sort not in SORTS:
        raise SearchError(f"排序方式“{query.sort}”无效：应为 {'、'.join(SORTS)}", "sort")
    for cond in query.conditions:
        if cond.field not in TEXT_FIELDS:
            raise SearchError(f"检索字段“{cond.field}”无效：应为 {'、'.join(TEXT_FIELDS)}", "field")
    for name in (*query.facets, *query.filters):
        if name not in FACETS:
            raise SearchError(f"分面“{name}”无效：应为 {'、'.join(FACETS)}", "facet")
    if query.offset < 0 or query.limit < 0:
        raise SearchError("分页参数不能为负数", "offset")
    if query.offset > MAX_OFFSET:
        raise SearchError(f"翻页过深（超过第 {MAX_OFFSET} 条）：请缩小检索范围", "offset")
    texts = [query.text, *(c.text for c in query.conditions)]
    if any(len(t) > MAX_QUERY_CHARS for t in texts):
        raise SearchError(f"检索词过长：不超过 {MAX_QUERY_CHARS} 个字符", "q")
    changes: dict[str, Any] = {"limit": min(query.limit, MAX_LIMIT)}
    if scope.public:
        changes["facets"] = tuple(f for f in query.facets if f in PUBLIC_FACETS)
        changes["filters"] = {k: v for k, v in query.filters.items() if k in PUBLIC_FACETS}
    changes["within"] = tuple(clean_query(q, scope) for q in query.within)
    return dataclasses.replace(query, **changes)


def search(
    user: User | AnonymousUser | None, query: Query, *, scope: Scope | None = None
) -> Results:
    """What `user` finds for `query` (`scope` overrides the user's, e.g. EVERYTHING for an
    operator at the console). The hits of the page are checked against the catalogue too: a hit
    the index still holds but the catalogue no longer shows the user (an update not yet
    indexed) is left out and queued for re-indexing."""
    scope = scope_for(user) if scope is None else scope
    query = clean_query(query, scope)
    if sees_nothing(scope):
        return Results(total=0, hits=[], facets={f: {} for f in query.facets})
    started = time.perf_counter()
    try:
        return _search_visible(user, query, scope)
    finally:  # the search latency histogram of /metrics
        telemetry.observe_search("search", scope.public, time.perf_counter() - started)


def _search_visible(user: User | AnonymousUser | None, query: Query, scope: Scope) -> Results:
    results = _search(query, _with_withheld(scope))
    ids = [h.id for h in results.hits]
    if not ids:
        return results
    seen = _visible_ids(scope, user, ids)
    stale = [i for i in ids if i not in seen]
    hits = results.hits
    if stale:
        log.warning("search: %d stale hits dropped and queued for re-indexing", len(stale))
        _requeue(stale)
        hits = [h for h in hits if h.id in seen]
    if scope.public:  # only what the public may see, whatever the backend returned
        # a record whose content a donor's restriction keeps unpublished shows no full text
        unpublished = holds.held_ids("publication", [h.id for h in hits])
        hits = [
            dataclasses.replace(
                h,
                fields={k: v for k, v in h.fields.items() if k in PUBLIC_FIELDS},
                snippets={
                    k: v
                    for k, v in h.snippets.items()
                    if k in PUBLIC_FIELDS or (k == "full_text" and h.id not in unpublished)
                },
            )
            for h in hits
        ]
    return Results(total=max(results.total - len(stale), 0), hits=hits, facets=results.facets)


def suggest(user: User | AnonymousUser | None, prefix: str, limit: int = 10) -> list[str]:
    """Titles the user may see that contain `prefix` (autocomplete): of the records the index
    finds in the user's scope, those the catalogue shows the user, with their titles as the
    catalogue holds them; titles that begin with `prefix` first, then shorter ones."""
    prefix = prefix.strip()[:MAX_QUERY_CHARS]
    limit = max(0, min(limit, 50))
    scope = scope_for(user)
    if not prefix or not limit or sees_nothing(scope):
        return []
    query = Query(conditions=(TextCondition(prefix, "title"),), limit=limit * 5, highlight=False)
    started = time.perf_counter()
    ids = [h.id for h in _search(query, _with_withheld(scope)).hits]
    telemetry.observe_search("suggest", scope.public, time.perf_counter() - started)
    current = dict(_catalogue_view(scope, user).filter(pk__in=ids).values_list("pk", "title"))
    for pk, copy in open_copies.open_copies(list(current)).items():  # 信息级开放: as indexed
        current[pk] = copy.fields.get("title", current[pk])
    folded = fold(prefix)
    titles = [current[i] for i in ids if i in current and folded in fold(current[i])]
    titles.sort(key=lambda t: (not fold(t).startswith(folded), len(t)))
    return list(dict.fromkeys(titles))[:limit]


# --- keeping the index current --------------------------------------------------------------------
def index_records(ids: Iterable[int]) -> int:
    """Index these records as the catalogue holds them now; ids that no longer exist are removed
    from the index. Raises when the backend fails (the jobs catch it and remember the ids)."""
    wanted = sorted({int(i) for i in ids})
    done = 0
    for start in range(0, len(wanted), BATCH):
        chunk = wanted[start : start + BATCH]
        holds = _open_holds(chunk)  # before reading the records: later changes stay withheld
        failed: set[int] = set()
        docs = build_documents(chunk)
        gone = set(chunk) - {d["id"] for d in docs}
        with _write_lock:
            if docs:
                try:
                    done += backend().index(docs)
                except DocumentsFailed as e:  # the others were indexed
                    done += e.done
                    failed = set(e.failures)
                    for record_id, why in e.failures.items():
                        mark_pending([record_id], why)
            if gone:
                backend().delete(sorted(gone))
        _applied(holds, failed)
    return done


def remove_records(ids: Iterable[int]) -> None:
    """Remove these ids from the index (whether or not the records still exist)."""
    ids = sorted({int(i) for i in ids})
    if ids:
        holds = _open_holds(ids)
        with _write_lock:
            backend().delete(ids)
        _applied(holds)


def mark_pending(ids: Iterable[int], error: str = "") -> None:
    """Remember records whose index update failed (why, when, how many times), for the catch-up
    job and `lantai search status`. Never raises."""
    try:
        wanted = sorted({int(i) for i in ids})
        now = timezone.now()
        for start in range(0, len(wanted), BATCH):
            chunk = wanted[start : start + BATCH]
            known = set(
                PendingChange.objects.filter(record_id__in=chunk).values_list(
                    "record_id", flat=True
                )
            )
            PendingChange.objects.filter(record_id__in=known).update(
                attempts=F("attempts") + 1, error=error[:2000], failed_at=now
            )
            PendingChange.objects.bulk_create(
                [
                    PendingChange(record_id=i, error=error[:2000], attempts=1, failed_at=now)
                    for i in chunk
                    if i not in known
                ],
                ignore_conflicts=True,
            )
    except Exception:  # the catalogue must not fail because the index's bookkeeping did
        log.exception("search: could not remember %s for re-indexing", ids)


@dataclasses.dataclass(frozen=True)
class IndexFailure:
    """A record the index is missing or behind on, as `lantai search status` reports it."""

    record_id: int
    reference_code: str  # "" when the record no longer exists
    error: str
    attempts: int
    first_failed_at: datetime
    last_failed_at: datetime | None


def index_failures(limit: int = 20) -> list[IndexFailure]:
    """The records whose index update failed and waits for the catch-up job, latest first."""
    rows = list(PendingChange.objects.order_by(F("failed_at").desc(nulls_last=True), "-pk")[:limit])
    codes = dict(
        Record.objects.filter(pk__in=[r.record_id for r in rows]).values_list(
            "pk", "reference_code"
        )
    )
    return [
        IndexFailure(
            record_id=r.record_id,
            reference_code=codes.get(r.record_id, ""),
            error=r.error,
            attempts=r.attempts,
            first_failed_at=r.created_at,
            last_failed_at=r.failed_at,
        )
        for r in rows
    ]


def _requeue(ids: list[int]) -> None:
    from lantai.search import tasks

    tasks.queue_sync(ids)


def _state() -> IndexState:
    state, _ = IndexState.objects.get_or_create(key=index_key())
    return state


def _advance(state: IndexState, mark: datetime) -> None:
    """Move the watermark forward to `mark` (never back, whoever else runs)."""
    IndexState.objects.filter(pk=state.pk).filter(
        Q(watermark__isnull=True) | Q(watermark__lt=mark)
    ).update(watermark=mark)


def catch_up(since: datetime | None = None) -> int:
    """Index what the incremental jobs missed: the records remembered as pending, then every
    record updated at or after the watermark (or `since`, for a run after a bulk import whose
    rows were stamped before they were committed). Returns how many records were indexed.
    A record that cannot be indexed is remembered again (`mark_pending`) and the run goes on
    past it (`_index_each`); it raises only when the backend itself fails, and the pending rows
    and the watermark then keep what is left."""
    state = _state()
    started = timezone.now()
    done = 0
    try:
        # those that failed longest ago first: a record failing again goes to the back
        oldest_first = F("failed_at").asc(nulls_first=True)
        pending = list(
            PendingChange.objects.order_by(oldest_first, "pk").values_list("pk", "record_id")[
                : BATCH * 50
            ]
        )
        for start in range(0, len(pending), BATCH):
            chunk = pending[start : start + BATCH]
            done += _index_each([r for _, r in chunk])
            # rows marked again in this run (failed again) stay
            PendingChange.objects.filter(pk__in=[pk for pk, _ in chunk]).filter(
                Q(failed_at__isnull=True) | Q(failed_at__lt=started)
            ).delete()
        qs = Record.objects.all()
        if since is not None:
            qs = qs.filter(updated_at__gte=since)
        elif state.watermark is not None:
            qs = qs.filter(updated_at__gt=state.watermark)
        # One batch read at a time, each read ended before its writes: a cursor left open across
        # writes makes SQLite refuse them at once ("database is locked") beside another writer.
        rows = qs.order_by("updated_at", "pk").values_list("pk", "updated_at")
        after: tuple[datetime, int] | None = None
        while True:
            page = rows
            if after is not None:
                page = rows.filter(
                    Q(updated_at__gt=after[0]) | Q(updated_at=after[0], pk__gt=after[1])
                )
            batch = list(page[:BATCH])
            if not batch:
                break
            done += _index_each([pk for pk, _ in batch])
            after = (batch[-1][1], batch[-1][0])
            _advance(state, after[0])
    except Exception as e:
        IndexState.objects.filter(pk=state.pk).update(last_error=str(e)[:2000])
        raise
    IndexState.objects.filter(pk=state.pk).update(last_run_at=timezone.now(), last_error="")
    return done


def _index_each(ids: list[int]) -> int:
    """`index_records(ids)`; when that fails and the backend still answers, each record on its
    own: those that fail are remembered with their error (`mark_pending`), the others indexed."""
    try:
        return index_records(ids)
    except Exception:
        backend().count()  # the backend itself failing raises here: the caller stops
    done = 0
    for record_id in ids:
        try:
            done += index_records([record_id])
        except Exception as e:
            log.warning("search: record %s cannot be indexed: %s", record_id, e)
            mark_pending([record_id], str(e) or type(e).__name__)
    return done


def reindex(progress: Callable[[int, int], None] | None = None) -> int:
    """Rebuild the whole index from the catalogue aside, then swap it in (searches go on against
    the old one meanwhile). `progress(done, total)` follows the records read. Changes made while
    it runs are caught up afterwards (the watermark is set to its start)."""
    started = timezone.now()
    holds = dict(Withheld.objects.filter(applied_at__isnull=True).values_list("pk", "record_id"))
    total = indexed_records().count()
    tell: Callable[[int], None] | None = None
    if progress is not None:
        report = progress

        def tell(done: int) -> None:
            report(done, total)

    failed: dict[int, str] = {}
    with _write_lock:
        try:
            n = backend().rebuild(iter_documents(progress=tell))
        except DocumentsFailed as e:  # rebuilt without these: the catch-up retries them
            n, failed = e.done, e.failures
    state = _state()
    IndexState.objects.filter(pk=state.pk).update(
        watermark=started, last_rebuild_at=timezone.now(), last_error=""
    )
    PendingChange.objects.filter(created_at__lt=started).exclude(record_id__in=failed).delete()
    for record_id, why in failed.items():
        mark_pending([record_id], why)
    _applied(holds)
    return n


@dataclasses.dataclass(frozen=True)
class IndexStatus:
    backend: str
    key: str
    documents: int
    records: int
    pending: int
    watermark: datetime | None
    last_run_at: datetime | None
    last_rebuild_at: datetime | None
    last_error: str


def status() -> IndexStatus:
    """How the index stands against the catalogue (for the CLI and the operator)."""
    state = _state()
    name, _ = backend_config()
    return IndexStatus(
        backend=name, key=state.key, documents=backend().count(), records=indexed_records().count(),
        pending=PendingChange.objects.count(), watermark=state.watermark,
        last_run_at=state.last_run_at, last_rebuild_at=state.last_rebuild_at,
        last_error=state.last_error,
    )  # fmt: skip
