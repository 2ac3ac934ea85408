"""lantai.job_leases on huey's in-memory storage, without services: a job whose worker is gone
is queued again exactly once, a job that ended or whose worker lives is left alone, and of
several workers only one queues each periodic job. The real thing, with kill -9 and Redis, is in
test_scaleout.py."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from huey import MemoryHuey, crontab

from lantai.job_leases import Leases, periodic_once


class DictCache:
    """The state store's get/set/delete (a real one in test_scaleout.py)."""

    def __init__(self) -> None:
        self.data: dict[str, Any] = {}

    def get(self, key: str) -> Any:
        return self.data.get(key)

    def set(self, key: str, value: Any, timeout: int | None = None) -> None:
        self.data[key] = value

    def delete(self, key: str) -> None:
        self.data.pop(key, None)

    def add(self, key: str, value: Any, timeout: int | None = None) -> bool:
        if key in self.data:
            return False
        self.data[key] = value
        return True


def setup() -> tuple[MemoryHuey, Leases, Any]:
    huey = MemoryHuey("leases-test", immediate=False)

    @huey.task()
    def check(n: int) -> int:
        return n

    leases = Leases(huey, DictCache(), lease_seconds=60)
    leases.alive()
    check(7)
    task = huey.dequeue()  # a worker takes the job off the queue ...
    leases.started(task)  # ... and starts it
    return huey, leases, task


def test_the_job_of_a_worker_that_is_gone_is_queued_again_once() -> None:
    huey, leases, task = setup()
    assert huey.pending_count() == 0 and list(leases.running()) == [task.id]
    leases.gone()  # the worker's liveness key expired (killed) or was removed (stopped)
    start = leases.running()[task.id]["at"]
    assert leases.requeue_orphans(now=start + 59) == []  # not before the lease is old enough
    assert leases.requeue_orphans(now=start + 61) == [task.id]
    assert leases.requeue_orphans(now=start + 62) == []  # taken once, by one worker
    again = huey.dequeue()
    assert (again.id, again.args) == (task.id, (7,)) and leases.running() == {}
    assert huey.execute(again) == 7


def test_a_job_that_ended_or_whose_worker_lives_stays_put() -> None:
    huey, leases, task = setup()
    start = leases.running()[task.id]["at"]
    assert leases.requeue_orphans(now=start + 600) == []  # its worker is alive
    leases.ended(task)
    leases.gone()
    assert leases.running() == {} and leases.requeue_orphans(now=start + 600) == []
    assert huey.pending_count() == 0


def test_several_workers_queue_a_periodic_job_once() -> None:
    huey = MemoryHuey("periodic-test", immediate=False)

    @huey.periodic_task(crontab(minute="*/5"))
    def tick() -> None:
        pass

    cache = DictCache()
    periodic_once(huey, cache)
    at = datetime(2026, 12, 6, 10, 5, 3)
    assert [t.name for t in huey.read_periodic(at)] == ["tick"]  # the first worker to look
    assert huey.read_periodic(at.replace(second=40)) == []  # the second, the same minute
    assert huey.read_periodic(at.replace(minute=6)) == []  # not due
    assert [t.name for t in huey.read_periodic(at.replace(minute=10))] == ["tick"]
