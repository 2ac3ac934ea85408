"""The one place that knows how jobs are queued: the huey instance (configured in settings.HUEY),
and whether a worker is consuming them.

Every consumer process (``lantai worker``, also the one ``lantai serve`` starts) writes a heartbeat
into the shared state cache (SQLite under the data directory, or Redis when configured, so web
processes on other machines see it too) every HEARTBEAT_SECONDS while it runs, and removes it when
it stops. :func:`worker_status` tells whether a worker was seen within SEEN_SECONDS.

Each consumer also leases the jobs it runs and, with every heartbeat, queues again the jobs of
workers that are gone (killed mid-job), and of several consumers only one queues each periodic
job: :mod:`lantai.job_leases`.
"""

from __future__ import annotations

import contextlib
import os
import socket
import threading
import time
from dataclasses import dataclass

from django.core.cache import cache
from huey import signals
from huey.api import Task
from huey.contrib.djhuey import HUEY as huey

from lantai.job_leases import Leases, periodic_once

__all__ = ["WorkerStatus", "huey", "jobs_worker_seen", "worker_status"]

HEARTBEAT_KEY = "lantai-jobs-worker-heartbeat"
# LANTAI_JOBS_HEARTBEAT_SECONDS: shortened only by the scale-out tests (a killed worker's jobs
# are taken over after LEASE_SECONDS).
HEARTBEAT_SECONDS = float(os.environ.get("LANTAI_JOBS_HEARTBEAT_SECONDS", "15"))
SEEN_SECONDS = 60
LEASE_SECONDS = 4 * HEARTBEAT_SECONDS  # a worker silent this long is gone; its jobs run elsewhere
leases = Leases(huey, cache, LEASE_SECONDS)
periodic_once(huey, cache)  # several workers: each periodic job still runs once per period
START_COMMAND = "lantai worker"

_heartbeat_started = threading.Lock()
_heartbeat_stop = threading.Event()


@dataclass(frozen=True)
class WorkerStatus:
    seen: bool  # a worker beat within SEEN_SECONDS, or jobs run inline (immediate mode)
    last_seen: float | None  # epoch seconds of the last heartbeat
    where: str  # "host:pid" of the worker that beat last
    pending: int  # jobs waiting in the queue
    immediate: bool


def beat() -> None:
    """Record that a worker is alive now."""
    cache.set(
        HEARTBEAT_KEY,
        {"at": time.time(), "where": f"{socket.gethostname()}:{os.getpid()}"},
        24 * 3600,
    )


def _beat_forever() -> None:
    while not _heartbeat_stop.is_set():
        with contextlib.suppress(Exception):  # a locked or unreachable cache: the next beat
            beat()
            leases.alive()
        with contextlib.suppress(Exception):
            leases.requeue_orphans()
        _heartbeat_stop.wait(HEARTBEAT_SECONDS)


def start_heartbeat() -> None:
    """Each worker thread of the consumer calls this; the first starts the heartbeat thread."""
    if _heartbeat_started.acquire(blocking=False):
        threading.Thread(target=_beat_forever, name="lantai-heartbeat", daemon=True).start()


huey.on_startup()(start_heartbeat)  # run by every consumer (`lantai worker`, `run_huey`)


@huey.on_startup()
def adopt_clamd() -> None:
    """A clamd a CLI command started in this data directory becomes the worker's (decision 0024):
    it lives while the worker runs and stops when it stops. A no-op outside `lantai worker`."""
    from django.conf import settings

    from lantai.ingest import virus

    with contextlib.suppress(OSError):
        virus.adopt_clamd(settings.DATA_DIR)


def _job_started(signal: str, task: Task) -> None:
    leases.started(task)


def _job_ended(signal: str, task: Task, *args: object) -> None:
    """Not on SIGNAL_INTERRUPTED (this worker stops mid-job): that lease stays, and the job
    runs again on a worker that is still there once this one's liveness key is gone."""
    leases.ended(task)


huey.signal(signals.SIGNAL_EXECUTING)(_job_started)
huey.signal(
    signals.SIGNAL_COMPLETE, signals.SIGNAL_ERROR, signals.SIGNAL_CANCELED, signals.SIGNAL_LOCKED,
    signals.SIGNAL_TIMEOUT, signals.SIGNAL_RATE_LIMITED,
)(_job_ended)  # fmt: skip


def stop_heartbeat() -> None:
    """The consumer stopped: no worker here any more (others may still beat)."""
    _heartbeat_stop.set()
    with contextlib.suppress(Exception):
        leases.gone()
    entry = cache.get(HEARTBEAT_KEY)
    if entry and entry.get("where") == f"{socket.gethostname()}:{os.getpid()}":
        cache.delete(HEARTBEAT_KEY)


def worker_status() -> WorkerStatus:
    if huey.immediate:
        return WorkerStatus(True, None, "", 0, True)
    entry = cache.get(HEARTBEAT_KEY) or {}
    last = entry.get("at")
    seen = last is not None and time.time() - float(last) <= SEEN_SECONDS
    pending = 0 if seen else huey.pending_count()
    return WorkerStatus(seen, last, entry.get("where", ""), pending, False)


def jobs_worker_seen() -> bool:
    """True when queued jobs will be run: a worker beat within the last minute (or jobs run inline)."""
    return worker_status().seen
