"""The open catalogue as OAI-PMH publishes it: the `Published` table, kept in step with the
catalogue by `sync` (run before every OAI-PMH response, and by the periodic job).

Public means what the portal shows: `records_in_scope(AnonymousUser())` (开放, no 密级), less the
marriage registration records (门类 HY), which are never public. A record that stops being
public (closed, classified, moved to HY, renumbered, deleted) keeps its row as a tombstone with a
new datestamp, so the next incremental harvest deletes it.

What `sync` reads, each time:
- the records whose (updated_at, id) lies after the watermark — one query on the catalogue's
  updated_at index; nothing for an unchanged catalogue;
- `Dirty`: the records saved or deleted through the ORM (signals, same transaction), so a change
  whose transaction commits after the watermark has moved past its stamp is not lost;
- from `rewind_to` again after a catalogue import commits (its rows are stamped when it began).
Each record read is compared with its rows: only a difference writes, so reading a record twice
is harmless. Datestamps are the time of the sync that saw the change (never earlier than the
harvest that could have missed it)."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.db import transaction
from django.db.models import Q
from django.db.models.signals import post_delete, post_save
from django.utils import timezone

from lantai.catalog.models import Record
from lantai.interop.models import Dirty, Published, SyncState
from lantai.standards import oai_pmh
from lantai.standards.categories import MARRIAGE

log = logging.getLogger(__name__)
STATE_KEY = "oai"
CHUNK = 2000


def public_records() -> Any:
    """The records the public sees, as the portal decides (catalog.services), without HY."""
    from lantai.catalog import services

    return services.records_in_scope(AnonymousUser()).exclude(  # type: ignore[arg-type]
        category__code=MARRIAGE
    )


def fonds_set(repository_code: str, fonds_code: str, default_repository: bool) -> str:
    """``fonds:{全宗号}``; a fonds of another archives sharing the installation is
    ``fonds:{archives code}/{全宗号}`` (escaped), so that equal 全宗号 stay apart."""
    code = fonds_code if default_repository else f"{repository_code}/{fonds_code}"
    return oai_pmh.set_spec("fonds", code)


def category_set(category_code: str) -> str:
    return oai_pmh.set_spec("category", category_code)


# --- signals -------------------------------------------------------------------------------------
def connect_signals() -> None:
    from lantai.core.models import AuditEntry

    post_save.connect(_record_changed, sender=Record, dispatch_uid="interop-record-saved")
    post_delete.connect(_record_changed, sender=Record, dispatch_uid="interop-record-deleted")
    post_save.connect(_audit_written, sender=AuditEntry, dispatch_uid="interop-import-done")


def _record_changed(sender: Any, instance: Any, raw: bool = False, **kw: Any) -> None:
    if raw or kw.get("using", "default") != "default":  # a catalogue rebuild writes elsewhere
        return
    Dirty.objects.bulk_create([Dirty(record_id=instance.pk)], ignore_conflicts=True)


def _audit_written(sender: Any, instance: Any, created: bool = False, **kw: Any) -> None:
    """A catalogue import writes its rows in bulk, stamped when it began, and commits at its end:
    read the catalogue again from the import's start."""
    if not created or instance.action != "import":
        return
    from lantai.catalog.models import ImportBatch

    started = (
        ImportBatch.objects.filter(pk=instance.target_id)
        .values_list("created_at", flat=True)
        .first()
    )
    rewind(started or timezone.now())


def rewind(to: datetime) -> None:
    """Make the next sync read the catalogue again from `to` (an earlier rewind wins)."""
    state, _ = SyncState.objects.get_or_create(key=STATE_KEY)
    if state.rewind_to is None or to < state.rewind_to:
        SyncState.objects.filter(pk=state.pk).update(rewind_to=to)


# --- sync ----------------------------------------------------------------------------------------
@dataclass
class SyncResult:
    read: int = 0
    published: int = 0
    tombstoned: int = 0
    complete: bool = True  # False: the time budget ran out; the next sync goes on from there


_FIELDS = (
    "pk", "updated_at", "reference_code", "repository__code", "repository__is_default",
    "fonds__code", "category__code", "open_status", "classification_level",
)  # fmt: skip


def sync(*, full: bool = False, budget_s: float | None = None) -> SyncResult:
    """Bring `Published` in step with the catalogue (see the module's docstring), one chunk of
    records per transaction. `full` reads every record and every live row again (after a
    catalogue rebuild or restore). With `budget_s` it stops after the chunk that exceeds it (a
    request after a million-row import answers, the rest is read by the next sync)."""
    result = SyncResult()
    if not full and not _pending():
        return result  # an unchanged catalogue: three index probes, no write
    deadline = None if budget_s is None else time.monotonic() + budget_s
    with transaction.atomic():
        state, _ = SyncState.objects.select_for_update().get_or_create(key=STATE_KEY)
        now = timezone.now()
        dirty = list(Dirty.objects.values_list("pk", "record_id"))
        if dirty:
            Dirty.objects.filter(pk__in=[pk for pk, _ in dirty]).delete()
            ids = sorted({r for _, r in dirty})
            for start in range(0, len(ids), CHUNK):
                chunk = ids[start : start + CHUNK]
                rows = list(Record.objects.filter(pk__in=chunk).values(*_FIELDS))
                _apply(rows, chunk, now, result)
        if full:
            state.watermark, state.watermark_id = None, 0
            _tombstone_missing(now, result)
        elif (
            state.rewind_to is not None
            and state.watermark is not None  # None: everything is read anyway
            and state.rewind_to < state.watermark
        ):
            state.watermark, state.watermark_id = state.rewind_to, 0
        state.rewind_to = None
        state.synced_at = now
        state.save()
    qs = Record.objects.order_by("updated_at", "pk").values(*_FIELDS)
    while True:
        with transaction.atomic():
            state = SyncState.objects.select_for_update().get(key=STATE_KEY)
            rows = list(_after(qs, state)[:CHUNK])
            if not rows:
                break
            now = timezone.now()
            _apply(rows, [r["pk"] for r in rows], now, result)
            state.watermark, state.watermark_id = rows[-1]["updated_at"], rows[-1]["pk"]
            state.synced_at = now
            state.save(update_fields=["watermark", "watermark_id", "synced_at"])
        if deadline is not None and time.monotonic() > deadline:
            result.complete = False
            break
    return result


def _after(qs: Any, state: SyncState) -> Any:
    if state.watermark is None:
        return qs
    # the range condition alone first, so that the (updated_at, id) index is used
    return qs.filter(updated_at__gte=state.watermark).filter(
        Q(updated_at__gt=state.watermark) | Q(pk__gt=state.watermark_id)
    )


def _pending() -> bool:
    """Whether a sync has anything to read (read-only)."""
    state = SyncState.objects.filter(key=STATE_KEY).first()
    if state is None or state.rewind_to is not None or Dirty.objects.exists():
        return True
    return bool(_after(Record.objects.all(), state).exists())


def _apply(rows: list[dict[str, Any]], ids: list[int], now: datetime, result: SyncResult) -> None:
    """Compare the records `ids` (their current `rows`; a missing one was deleted) with their
    Published rows and write the differences."""
    result.read += len(rows)
    # only the rows that look public are confirmed by the portal's own query (an import of
    # closed records, marriage registrations, costs no second query)
    maybe = [
        r["pk"]
        for r in rows
        if r["open_status"] == "open"
        and r["classification_level"] == 0
        and r["category__code"] != MARRIAGE
    ]
    public = (
        set(public_records().filter(pk__in=maybe).values_list("pk", flat=True)) if maybe else set()
    )
    wanted: dict[tuple[str, str], tuple[int, str, str]] = {}
    for r in rows:
        if r["pk"] in public:
            key = (r["repository__code"], r["reference_code"])
            sets = (
                fonds_set(r["repository__code"], r["fonds__code"], r["repository__is_default"]),
                category_set(r["category__code"]),
            )
            wanted[key] = (r["pk"], *sets)
    mine = Q(record_id__in=ids)
    if wanted:  # a row of the same identifier left by another (deleted, renumbered) record
        mine |= Q(
            repository_code__in={k[0] for k in wanted},
            reference_code__in={k[1] for k in wanted},
        )
    existing = {(p.repository_code, p.reference_code): p for p in Published.objects.filter(mine)}
    changed: list[Published] = []
    created: list[Published] = []
    read = set(ids)
    for key, row in existing.items():
        if key not in wanted and row.record_id in read and not row.deleted:
            row.deleted, row.datestamp = True, now
            changed.append(row)
            result.tombstoned += 1
    for key, (pk, fset, cset) in wanted.items():
        found = existing.get(key)
        if found is None:
            created.append(
                Published(
                    record_id=pk, repository_code=key[0], reference_code=key[1],
                    fonds_set=fset, category_set=cset, datestamp=now,
                )
            )  # fmt: skip
        else:
            found.record_id, found.fonds_set, found.category_set = pk, fset, cset
            found.deleted, found.datestamp = False, now  # read again: it changed
            changed.append(found)
        result.published += 1
    if changed:
        Published.objects.bulk_update(
            changed, ["record_id", "fonds_set", "category_set", "deleted", "datestamp"],
            batch_size=500,
        )  # fmt: skip
    if created:
        Published.objects.bulk_create(created, batch_size=500)


def _tombstone_missing(now: datetime, result: SyncResult) -> None:
    """Live rows whose record is gone (a full sync: deletions no signal saw)."""
    live = Published.objects.filter(deleted=False)
    gone = live.exclude(record_id__in=Record.objects.values("pk"))
    result.tombstoned += gone.update(deleted=True, datestamp=now)


_last_sync = [float("-inf")]  # when this process last synced (time.monotonic)


def sync_quietly() -> None:
    """`sync` for a request, at most once per LANTAI_OAI_SYNC_INTERVAL seconds per process (default
    1: a harvest's pages do not each probe the catalogue). A failure is logged and the request
    answers from the table as it is (never a 500 to a harvester because a writer held the
    database). Neither can publish what is no longer public: the list requests check each
    record's status as they read it (a record closed since the sync reads as deleted), and a
    change's datestamp is the time of the sync that sees it, later than any earlier response."""
    if not getattr(settings, "OAI_SYNC_ON_REQUEST", True):
        return
    now = time.monotonic()
    if now - _last_sync[0] < float(getattr(settings, "OAI_SYNC_INTERVAL", 1.0)):
        return
    _last_sync[0] = now
    try:
        sync(budget_s=float(getattr(settings, "OAI_SYNC_BUDGET", 2.0)))
    except Exception:
        log.exception("interop: OAI-PMH sync failed; answering from the table as it is")


def earliest_datestamp() -> datetime | None:
    first: datetime | None = (
        Published.objects.order_by("datestamp").values_list("datestamp", flat=True).first()
    )
    return first
