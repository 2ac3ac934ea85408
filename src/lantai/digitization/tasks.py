"""Queued jobs of 数字化: a batch's check, one job per page for OCR, one per recording for its
access copy. Every job is idempotent (a page already read is skipped by its SM3), so a job run
again after its worker died (job_leases) does no harm. Progress is read from the rows."""

from __future__ import annotations

import time
from typing import Any

from django.core.cache import cache
from huey import crontab

from lantai.core.audit import acting_as
from lantai.digitization import reading, recordings, services
from lantai.digitization.models import Page, Recording
from lantai.jobs import huey

PROGRESS_SECONDS = 6 * 3600
# Pages and recordings of an accepted batch are background work that may take weeks at the scale
# of the archives: every other job (checks, index updates, portal copies) goes before them.
BACKGROUND = -10


def progress_key(batch_id: int) -> str:
    return f"digitization-check-progress:{batch_id}"


def read_progress(batch_id: int) -> dict[str, Any]:
    return cache.get(progress_key(batch_id)) or {}


@huey.task()
def check_batch(batch_id: int, actor: str = "system") -> None:
    key = progress_key(batch_id)
    last = [0.0]

    def progress(done: int, total: int) -> None:
        if time.monotonic() - last[0] > 1 or done == total:
            last[0] = time.monotonic()
            cache.set(key, {"done": done, "total": total, "at": time.time()}, PROGRESS_SECONDS)

    with acting_as(actor):
        services.check_batch(batch_id, progress)
    cache.delete(key)


@huey.task(priority=BACKGROUND)
def queue_batch_work(batch_id: int) -> None:
    """Queue the OCR of every page of an accepted batch not read yet, and its recordings'
    access copies (run again, it queues only what is still to do)."""
    pending = Page.objects.filter(batch_id=batch_id, ocr_status="pending")
    for pk in pending.values_list("pk", flat=True).iterator(chunk_size=2000):
        ocr_page(pk)
    for pk in Recording.objects.filter(batch_id=batch_id, status="pending").values_list(
        "pk", flat=True
    ):
        make_access_copy(pk)


@huey.task(retries=2, retry_delay=60, priority=BACKGROUND)
def ocr_page(page_id: int) -> str:
    return reading.ocr_page(page_id)


@huey.task(retries=1, retry_delay=60, priority=BACKGROUND)
def make_access_copy(recording_id: int) -> str:
    return recordings.make_access_copy(recording_id)


@huey.periodic_task(crontab(minute="*/30"))
def resume_batch_work() -> list[int]:
    """Pages and recordings still waiting when the queue is empty were never queued (the
    process that accepted or attached them died before it queued them): queue them now. A job lost with
    its worker is queued again by its lease (job_leases), so this does not run while the queue
    still holds work."""
    if huey.pending_count():
        return []
    batches = sorted(
        set(Page.objects.filter(ocr_status="pending").values_list("batch_id", flat=True))
        | set(Recording.objects.filter(status="pending").values_list("batch_id", flat=True))
    )
    for batch_id in batches:
        if batch_id is not None:
            queue_batch_work(batch_id)
    # recordings attached outside a batch (uploaded, added by hand)
    loose = Recording.objects.filter(status="pending", batch__isnull=True)
    for pk in loose.values_list("pk", flat=True):
        make_access_copy(pk)
    return batches
