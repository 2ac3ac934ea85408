"""A job whose worker died is run again by another worker (scale-out and single machine alike).

huey hands each queued job to exactly one consumer, which takes it off the queue (Redis BRPOP,
SQLite DELETE) before running it: a consumer killed outright (kill -9, out of memory, a machine
that goes down) loses the jobs it was running, and huey never re-queues them. So:

- When a consumer starts a job it writes a **lease** into huey's own storage, beside the queue
  (``lantai-lease:<task id>`` → the job's serialized message and name, the worker's id, the time); the
  lease goes when the job ends in any way but an interruption (complete, error, retry, cancel,
  lock, revoke, expiry). Periodic jobs get none: their schedule runs them again.
- Every consumer keeps a **liveness key** of its own in the shared state store (Redis in
  scale-out, the machine's SQLite state file otherwise), renewed with the heartbeat and expiring
  after ``lease_seconds`` (deleted at a clean exit).
- With every heartbeat each consumer looks for leases older than ``lease_seconds`` whose worker's
  liveness key is gone, takes each such lease off the store (an atomic pop: of several consumers
  looking at once, one wins) and queues its message again, as it was.

So a job is run at least once: a job that was running when its worker died is run again from the
start (a transfer check replaces its results, an index update re-indexes).

Periodic jobs: every consumer runs huey's scheduler, and each would queue every periodic job, so
with N workers each would run N times. :func:`periodic_once` lets only the first consumer that
claims (job, minute) in the shared state store queue it.

Plain Python and huey; the state store (Django's cache API) is passed in.
"""

from __future__ import annotations

import logging
import os
import pickle
import secrets
import socket
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from huey.api import Huey, PeriodicTask, Task
from huey.constants import EmptyData

__all__ = ["LEASE_PREFIX", "WORKER_ID", "Leases", "hold_for_test", "periodic_once"]

log = logging.getLogger(__name__)

LEASE_PREFIX = "lantai-lease:"
ALIVE_PREFIX = "lantai-jobs-worker-alive:"
PERIODIC_PREFIX = "lantai-periodic:"
# This consumer process: host, pid and a random part (two containers may share host name and pid).
WORKER_ID = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"
# Test-only (tests/scaleout): "POINT:PATH" makes a job wait at POINT while the file PATH exists, so
# that a test can kill its worker mid-job at will. POINT: a task name (held once its lease is
# written) or "check_version/STAGE" (a transfer check, held as STAGE starts: lantai.ingest.tasks).
TEST_HOLD_ENV = "LANTAI_TEST_JOB_HOLD"


class Leases:
    def __init__(self, huey: Huey, cache: Any, lease_seconds: float) -> None:
        self.huey = huey
        self.cache = cache
        self.lease_seconds = lease_seconds

    # --- this worker ---------------------------------------------------------------------------
    def alive(self) -> None:
        """Renew this worker's liveness key (with each heartbeat)."""
        self.cache.set(ALIVE_PREFIX + WORKER_ID, time.time(), int(self.lease_seconds) + 1)

    def gone(self) -> None:
        """This worker stops: its leases (jobs it was interrupted in) are free to be taken."""
        self.cache.delete(ALIVE_PREFIX + WORKER_ID)

    def started(self, task: Task) -> None:
        if self.huey.immediate or isinstance(task, PeriodicTask):
            return
        lease = {
            "worker": WORKER_ID,
            "name": task.name,
            "at": time.time(),
            "message": self.huey.serialize_task(task),
            "priority": task.priority,
        }
        self.huey.storage.put_data(LEASE_PREFIX + task.id, pickle.dumps(lease))
        hold_for_test(task.name)

    def ended(self, task: Task) -> None:
        if self.huey.immediate or isinstance(task, PeriodicTask):
            return
        self.huey.storage.delete_data(LEASE_PREFIX + task.id)

    # --- everyone's ----------------------------------------------------------------------------
    def running(self) -> dict[str, dict[str, Any]]:
        """Task id → lease, of every job some worker has started and not ended."""
        out = {}
        for key, raw in self.huey.storage.result_items().items():
            if key.startswith(LEASE_PREFIX):
                out[key.removeprefix(LEASE_PREFIX)] = pickle.loads(raw)
        return out

    def requeue_orphans(self, now: float | None = None) -> list[str]:
        """Queue again the jobs whose worker is gone; the task ids requeued by this call."""
        now = time.time() if now is None else now
        requeued = []
        for task_id, lease in self.running().items():
            if now - float(lease["at"]) < self.lease_seconds:
                continue  # a worker that has just started may not have beaten yet
            if self.cache.get(ALIVE_PREFIX + lease["worker"]) is not None:
                continue
            raw = self.huey.storage.pop_data(LEASE_PREFIX + task_id)
            if raw is EmptyData:
                continue  # another worker took it first, or the job has just ended
            lease = pickle.loads(raw)
            self.huey.storage.enqueue(lease["message"], priority=lease.get("priority"))
            log.warning("job %s of worker %s (gone) queued again", task_id, lease["worker"])
            requeued.append(task_id)
        return requeued


def periodic_once(huey: Huey, cache: Any) -> None:
    """Make `huey`'s scheduler queue each periodic job once per minute across all consumers."""
    read_periodic = huey.read_periodic

    def claimed(timestamp: datetime | None) -> list[Any]:
        due = read_periodic(timestamp)
        minute = (timestamp or datetime.now()).strftime("%Y%m%d%H%M")
        return [t for t in due if cache.add(f"{PERIODIC_PREFIX}{t.name}:{minute}", WORKER_ID, 3600)]

    huey.read_periodic = claimed


def hold_for_test(point: str) -> None:
    """Test-only: wait here while TEST_HOLD_ENV names `point` and its file exists."""
    spec = os.environ.get(TEST_HOLD_ENV, "")
    name, _, path = spec.partition(":")
    if name != point or not path:
        return
    while Path(path).exists():
        time.sleep(0.1)
