"""Jobs of the operations room, and what it notes about every job.

- When a job is queued (huey's SIGNAL_ENQUEUED, in the queuing process) the time and the current
  request id are kept in the state cache under the job's id: /metrics reads the wait of the job
  next in line from it, and the worker carries the request id into the job's log records.
- `deliver_alerts` runs every minute: new alerts (and their resolution) go out by mail and
  webhook once each (lantai.ops.alerts).
"""

from __future__ import annotations

import contextlib
import contextvars
import time

from django.core.cache import cache
from huey import crontab, signals
from huey.api import Task

from lantai.core.audit import acting_as
from lantai.jobs import huey
from lantai.ops import request_ids

_KEY = "lantai-job-queued:{}"
_KEEP_SECONDS = 7 * 24 * 3600
_HEAD_KEY = "lantai-job-head"
_tokens: dict[str, contextvars.Token[str]] = {}


@huey.signal(signals.SIGNAL_ENQUEUED)  # type: ignore[untyped-decorator]
def _queued(signal: str, task: Task) -> None:
    if huey.immediate:
        return  # runs now, in this request: nothing waits
    with contextlib.suppress(Exception):  # the job is queued whatever the cache says
        cache.set(
            _KEY.format(task.id),
            {"at": time.time(), "request_id": request_ids.current()},
            _KEEP_SECONDS,
        )


@huey.signal(signals.SIGNAL_EXECUTING)  # type: ignore[untyped-decorator]
def _started(signal: str, task: Task) -> None:
    entry: dict[str, object] = {}
    with contextlib.suppress(Exception):
        entry = cache.get(_KEY.format(task.id)) or {}
        cache.delete(_KEY.format(task.id))
    request_id = str(entry.get("request_id") or "") or f"job-{task.id}"
    _tokens[task.id] = request_ids.using(request_id)


@huey.signal(
    signals.SIGNAL_COMPLETE, signals.SIGNAL_ERROR, signals.SIGNAL_CANCELED, signals.SIGNAL_LOCKED,
    signals.SIGNAL_TIMEOUT, signals.SIGNAL_RATE_LIMITED, signals.SIGNAL_INTERRUPTED,
)  # type: ignore[untyped-decorator]  # fmt: skip
def _ended(signal: str, task: Task, *args: object) -> None:
    token = _tokens.pop(task.id, None)
    if token is not None:
        with contextlib.suppress(ValueError):  # set in another context: nothing to undo here
            request_ids.reset(token)


def head_wait_seconds() -> float:
    """Seconds the job next in line has waited since it was queued; 0 with an empty queue. A job
    queued before this was recorded counts from when a scrape first saw it at the head."""
    if huey.immediate:
        return 0.0
    head = huey.pending(limit=1)
    if not head:
        return 0.0
    task_id, now = head[0].id, time.time()
    entry = cache.get(_KEY.format(task_id))
    if entry and entry.get("at"):
        return max(0.0, now - float(entry["at"]))
    seen = cache.get(_HEAD_KEY) or {}
    if seen.get("id") != task_id:
        seen = {"id": task_id, "at": now}
        cache.set(_HEAD_KEY, seen, _KEEP_SECONDS)
    return max(0.0, now - float(seen["at"]))


@huey.periodic_task(crontab(minute="*"))  # type: ignore[untyped-decorator]
def deliver_alerts() -> None:
    from lantai.ops import alerts

    with acting_as("system:alerts"):
        alerts.deliver()
