"""The one place that knows how jobs are queued: the huey instance (configured in settings.HUEY),
and whether a worker is consuming them.

Every consumer process (``lantai worker``, also the one ``lantai serve`` starts) writes a heartbeat
into the shared state cache (SQLite under the data directory, or Redis when configured, so web
processes on other machines see it too) every HEARTBEAT_SECONDS while it runs, and removes it when
it stops. :func:`worker_status` tells whether a worker was seen within SEEN_SECONDS.
"""

from __future__ import annotations

import contextlib
import os
import socket
import threading
import time
from dataclasses import dataclass

from django.core.cache import cache
from huey.contrib.djhuey import HUEY as huey

__all__ = ["WorkerStatus", "huey", "jobs_worker_seen", "worker_status"]

HEARTBEAT_KEY = "lantai-jobs-worker-heartbeat"
HEARTBEAT_SECONDS = 15
SEEN_SECONDS = 60
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
        _heartbeat_stop.wait(HEARTBEAT_SECONDS)


def start_heartbeat() -> None:
    """Each worker thread of the consumer calls this; the first starts the heartbeat thread."""
    if _heartbeat_started.acquire(blocking=False):
        threading.Thread(target=_beat_forever, name="lantai-heartbeat", daemon=True).start()


huey.on_startup()(start_heartbeat)  # run by every consumer (`lantai worker`, `run_huey`)


def stop_heartbeat() -> None:
    """The consumer stopped: no worker here any more (others may still beat)."""
    _heartbeat_stop.set()
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
