"""The OCR of millions of pages must not stall the archives' other work: page and recording jobs
go into the queue behind every other job (huey priorities, SQLite and Redis queues alike)."""

from __future__ import annotations

from pathlib import Path

from huey import SqliteHuey

from lantai.digitization import tasks
from lantai.jobs import huey
from lantai.search import tasks as search_tasks


def test_page_jobs_wait_behind_an_index_update_queued_after_them(tmp_path: Path) -> None:
    queue = SqliteHuey("order", filename=str(tmp_path / "jobs.sqlite3"))
    for task in (
        tasks.ocr_page.s(1),
        tasks.make_access_copy.s(2),
        search_tasks.sync_records.s([3]),
    ):
        queue.storage.enqueue(huey.serialize_task(task), priority=task.priority)
    order = [huey.deserialize_task(queue.storage.dequeue()).name for _ in range(3)]
    assert order[0] == "sync_records"
    assert set(order[1:]) == {"ocr_page", "make_access_copy"}
