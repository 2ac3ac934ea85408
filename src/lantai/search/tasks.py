"""Queued and periodic jobs that keep the search index in step with the catalogue.

Every committed change of a record or of its components queues `sync_records` with the ids the
transaction touched (one job per transaction, not per row). Bulk paths that write rows directly
are covered by `catch_up`: queued when a catalogue import commits, and run periodically, it
indexes every record updated since its watermark and retries the records whose update failed.

A change that narrows a record's visibility (closed, 密级 raised, moved to another fonds or
archives, deleted) is also written to `Withheld` in the transaction that makes it (searches leave
the record out until the index shows the change), and applied to the index when the transaction
commits, in the same request or job (`services.apply_now`); only when another writer holds the
index does it wait for the queued job.

A failing index never blocks the catalogue, ingest or preservation: nothing here raises into the
code that saved the record; failures are logged and the ids remembered for the catch-up job."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models.signals import post_delete, post_save, pre_delete, pre_save
from huey import crontab
from huey.exceptions import TaskLockedException

from lantai.jobs import huey

log = logging.getLogger(__name__)

_local = threading.local()  # record ids changed (and narrowed) in this thread's open transaction
# What a record's visibility depends on (lantai.catalog.services.visible_records).
VISIBILITY_FIELDS = ("open_status", "classification_level", "fonds_id", "repository_id")


def connect_signals() -> None:
    from lantai.catalog.models import Component, ComponentText, Record
    from lantai.core.models import AuditEntry

    pre_save.connect(_record_saving, sender=Record, dispatch_uid="search-record-narrowing")
    pre_delete.connect(_record_deleting, sender=Record, dispatch_uid="search-record-deleting")
    post_save.connect(_record_changed, sender=Record, dispatch_uid="search-record-saved")
    post_delete.connect(_record_changed, sender=Record, dispatch_uid="search-record-deleted")
    post_save.connect(_component_changed, sender=Component, dispatch_uid="search-component-saved")
    post_delete.connect(
        _component_changed, sender=Component, dispatch_uid="search-component-deleted"
    )
    post_save.connect(_component_text_changed, sender=ComponentText, dispatch_uid="search-text")
    post_delete.connect(
        _component_text_changed, sender=ComponentText, dispatch_uid="search-text-deleted"
    )
    post_save.connect(_audit_written, sender=AuditEntry, dispatch_uid="search-import-done")


def narrows(old: dict[str, Any], new: dict[str, Any]) -> bool:
    """Whether a record changed from `old` to `new` (VISIBILITY_FIELDS) may be seen by fewer:
    no longer public, a higher 密级, or another fonds or archives (other staff scopes)."""

    def public(r: dict[str, Any]) -> bool:
        return r["open_status"] == "open" and not r["classification_level"]

    return (
        (public(old) and not public(new))
        or (new["classification_level"] or 0) > (old["classification_level"] or 0)
        or old["fonds_id"] != new["fonds_id"]
        or old["repository_id"] != new["repository_id"]
    )


def _record_saving(sender: Any, instance: Any, raw: bool = False, **kw: Any) -> None:
    """Before a record is saved over its old row: withhold it if the change narrows it."""
    fields = kw.get("update_fields")
    if raw or instance.pk is None or kw.get("using", "default") != "default":
        return
    if fields is not None and not {f.removesuffix("_id") for f in fields} & {
        f.removesuffix("_id") for f in VISIBILITY_FIELDS
    }:
        return
    old = sender.objects.filter(pk=instance.pk).values(*VISIBILITY_FIELDS).first()
    new = {f: getattr(instance, f) for f in VISIBILITY_FIELDS}
    if old is not None and narrows(old, new):
        _withhold(instance.pk)


def _record_deleting(sender: Any, instance: Any, **kw: Any) -> None:
    if kw.get("using", "default") == "default":
        _withhold(instance.pk)


def _withhold(record_id: int) -> None:
    """In the narrowing change's transaction (a failure here fails the change: nothing leaks)."""
    from lantai.search import services

    services.withhold([record_id])
    narrowed: set[int] | None = getattr(_local, "narrowed", None)
    if narrowed is None:
        narrowed = _local.narrowed = set()
    narrowed.add(int(record_id))


def _record_changed(sender: Any, instance: Any, **kw: Any) -> None:
    if kw.get("using", "default") == "default":  # a catalogue rebuild writes elsewhere
        queue_sync([instance.pk])


def _component_changed(sender: Any, instance: Any, **kw: Any) -> None:
    if kw.get("using", "default") == "default":
        queue_sync([instance.record_id])


def _component_text_changed(sender: Any, instance: Any, **kw: Any) -> None:
    if kw.get("using", "default") == "default":
        queue_sync([instance.component.record_id])


def _audit_written(sender: Any, instance: Any, created: bool = False, **kw: Any) -> None:
    """A catalogue import writes its rows in bulk (no signals per row) and records one audit
    entry when its transaction is about to commit: catch up once it has."""
    if not created or instance.action != "import":
        return
    batch_id = instance.target_id
    try:
        transaction.on_commit(lambda: _queue_catch_up(batch_id))
    except Exception:
        log.exception("search: could not queue the catch-up after import %s", batch_id)


def queue_sync(ids: Iterable[int]) -> None:
    """Queue an index update of these records for when the current transaction commits (now,
    outside a transaction). Ids gathered within one transaction go out as one job; a rolled-back
    transaction's ids go out with the next one (re-indexing a record is always harmless)."""
    try:
        pending: set[int] | None = getattr(_local, "ids", None)
        if pending is None:
            pending = _local.ids = set()
        pending.update(int(i) for i in ids if i is not None)
        transaction.on_commit(_flush)
    except Exception:
        log.exception("search: could not queue an index update of %s", ids)


def _flush() -> None:
    ids: set[int] | None = getattr(_local, "ids", None)
    if not ids:
        return
    _local.ids = set()
    narrowed = ids & (getattr(_local, "narrowed", None) or set())
    _local.narrowed = set()
    if narrowed:  # applied here and now, unless another writer holds the index
        from lantai.search import services

        if services.apply_now(sorted(narrowed)):
            ids = ids - narrowed
    if not ids:
        return
    try:
        sync_records(sorted(ids))
    except Exception as e:  # the queue itself failed: the catch-up job retries
        log.exception("search: could not queue the index update of %d records", len(ids))
        from lantai.search import services

        services.mark_pending(ids, f"queue: {e}")


@huey.task()
def sync_records(ids: list[int]) -> None:
    """Index these records as they are now (removing those that no longer exist)."""
    from lantai.search import services

    try:
        services.index_records(ids)
    except Exception as e:
        log.exception("search: indexing %d records failed; the catch-up job will retry", len(ids))
        services.mark_pending(ids, str(e))


def _queue_catch_up(batch_id: str) -> None:
    try:
        catch_up_after_import(batch_id)
    except Exception:
        log.exception("search: could not queue the catch-up after import %s", batch_id)


@huey.task()
def catch_up_after_import(batch_id: str) -> None:
    """Index what an import wrote: every record updated since the import started (its rows were
    stamped as they were written, before they were committed, so the watermark may be past
    them)."""
    from lantai.catalog.models import ImportBatch

    started = ImportBatch.objects.filter(pk=batch_id).values_list("created_at", flat=True).first()
    _catch_up(since=started)


@huey.periodic_task(crontab(minute=f"*/{settings.SEARCH_CATCH_UP_MINUTES}"))
def catch_up_tick() -> None:
    """Retry failed index updates and index every record changed since the last run."""
    _catch_up(since=None)


def _catch_up(since: Any) -> None:
    from lantai.search import services

    try:
        with huey.lock_task("search-catch-up"):
            services.catch_up(since=since)
    except TaskLockedException:
        log.info("search: a catch-up is already running")
    except Exception:
        log.exception("search: catch-up failed; the next run retries")


@huey.periodic_task(crontab(hour="3", minute="15"))
def refresh_bitmaps_nightly() -> None:
    """The PostgreSQL backend counts the rows changed since its last rebuild one by one (its
    bitmaps cover the others): rebuild at night once they are a noticeable share."""
    from lantai.search import services

    stale = getattr(services.backend(), "unmapped_share", None)
    if stale is None or stale() < settings.SEARCH_REBUILD_UNMAPPED_SHARE:
        return
    try:
        with huey.lock_task("search-reindex"):
            services.reindex()
    except TaskLockedException:
        log.info("search: a rebuild is already running")
    except Exception:
        log.exception("search: the nightly rebuild failed; searches stay exact, only slower")
