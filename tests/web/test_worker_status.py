"""A page that waits on a job says plainly when no job worker runs (issue 13, point 1): no endless
排队等待. Jobs are queued for real here (not inline), in the session's SQLite queue."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.core.cache import cache
from django.urls import reverse

from lantai import jobs
from lantai.catalog import services as catalog
from lantai.demo.transfer import make_transfer
from lantai.ingest import services, tasks

from .test_transfers import UNIT, as_user, text, users  # noqa: F401

pytestmark = pytest.mark.django_db

BANNER = "后台任务未运行"
SHOWN = 'id="worker-status" role="alert">'  # without `hidden` (a polling page keeps it, hidden)


@jobs.huey.task()
def _noop() -> None:
    pass


@pytest.fixture(autouse=True)
def _queued_jobs(settings: Any, tmp_path: Path) -> Iterator[None]:
    """Jobs wait in the queue as they would with no worker; each test gets its own data dir."""
    settings.DATA_DIR = tmp_path / "data"
    settings.DATA_DIR.mkdir()
    cache.delete(jobs.HEARTBEAT_KEY)
    jobs.huey.immediate = False
    jobs.huey.flush()
    try:
        yield
    finally:
        jobs.huey.flush()
        jobs.huey.immediate = True
        cache.delete(jobs.HEARTBEAT_KEY)


def test_an_uploaded_transfer_waiting_for_no_worker_says_so(
    tmp_path: Path,
    users: dict[str, Any],  # noqa: F811
) -> None:
    """Registered and queued for its check as the upload page does (ingest services + job)."""
    receiver = as_user(users["receiver"])
    assert BANNER not in text(receiver.get(reverse("web:transfers")))  # nothing waits yet
    fonds = catalog.create_fonds("Z109", UNIT)
    transfer = services.receive(make_transfer(tmp_path / "pkg", 2, kinds=("xml",)), fonds=fonds)
    tasks.check_version(transfer.versions.get().pk)
    assert jobs.huey.pending_count() == 1 and not jobs.jobs_worker_seen()

    page = text(receiver.get(reverse("web:transfer", args=[transfer.pk])))
    assert BANNER in page and "lantai worker" in page and "已有 1 项任务在排队" in page
    # the same on any staff page while the job waits
    assert BANNER in text(receiver.get(reverse("web:transfers")))

    jobs.beat()  # a worker is alive: the page shows the check's own progress, no banner
    assert jobs.jobs_worker_seen()
    page = text(receiver.get(reverse("web:transfer", args=[transfer.pk])))
    assert SHOWN not in page and 'role="alert" hidden>' in page  # there for lantai.js, hidden


def test_a_polling_page_learns_that_the_worker_stopped(
    tmp_path: Path,
    users: dict[str, Any],  # noqa: F811
) -> None:
    """The progress JSON a waiting page polls says whether a worker runs (lantai.js shows or hides
    the banner from it): a worker that stops while the page is open is noticed without a reload."""
    receiver = as_user(users["receiver"])
    fonds = catalog.create_fonds("Z110", UNIT)
    transfer = services.receive(make_transfer(tmp_path / "pkg", 2, kinds=("xml",)), fonds=fonds)
    tasks.check_version(transfer.versions.get().pk)
    progress = reverse("web:transfer_progress", args=[transfer.pk])
    jobs.beat()
    assert receiver.get(progress).json()["worker_down"] is False
    cache.set(jobs.HEARTBEAT_KEY, {"at": 0.0, "where": "gone:1"})  # its last beat, long ago
    assert receiver.get(progress).json()["worker_down"] is True


def test_a_worker_not_seen_for_a_minute_counts_as_not_running(
    users: dict[str, Any],  # noqa: F811
) -> None:
    _noop()  # queued, not run
    cache.set(jobs.HEARTBEAT_KEY, {"at": 0.0, "where": "old:1"})
    status = jobs.worker_status()
    assert not status.seen and status.pending == 1 and status.where == "old:1"
    assert BANNER in text(as_user(users["receiver"]).get(reverse("web:transfers")))
