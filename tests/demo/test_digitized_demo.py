"""The demo shows digitized archives (issue 14, point 7), on a small demo: a scanning batch of
300 dpi A4 pages brought in by the demo vendor, checked, sampled, accepted and its OCR queued
for the worker; a second batch returned with its failures; an oral-history recording and a
meeting video, each with a described segment. Real files, real checks; a second run adds
nothing."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from lantai.catalog.models import Component
from lantai.demo import digitized
from lantai.demo.generator import build_archive
from lantai.demo.seed import Summary, seed_demo
from lantai.digitization import reading
from lantai.digitization.models import Batch, Finding, Page, Recording, Segment
from lantai.jobs import huey

pytestmark = pytest.mark.django_db(transaction=True)
RECORDS = 600


@pytest.fixture
def queued() -> Iterator[Any]:
    """Jobs wait in the queue, as they do for the worker of `lantai serve`."""
    huey.immediate = False
    huey.flush()
    try:
        yield huey
    finally:
        huey.flush()
        huey.immediate = True


OURS = ("queue_batch_work", "make_access_copy", "ocr_page")


def _run_jobs(queue: Any, limit: int) -> list[str]:
    """Run the digitization jobs in the queue as the worker would (at most `limit`, the others
    of the seeding, such as indexing, are dropped), returning their names."""
    names = []
    while len(names) < limit and (task := queue.dequeue()) is not None:
        if task.name.rsplit(".", 1)[-1] in OURS:
            names.append(task.name.rsplit(".", 1)[-1])
            queue.execute(task)
    return names


def test_the_demo_holds_scanned_pages_and_recordings(queued: Any) -> None:
    summary = seed_demo(records=RECORDS, seed=7, alive=False)  # catalogue and users only
    archive = build_archive(RECORDS, 7)
    digitized.make_digitized(archive, summary)
    assert summary.problems == [], summary.problems
    text = "\n".join(summary.alive)
    assert digitized.BATCH_NAME in text and digitized.RETURNED_NAME in text

    # the accepted batch: brought by the vendor, checked, sample inspected, accepted
    batch = Batch.objects.get(name=digitized.BATCH_NAME)
    assert batch.status == "accepted" and batch.created_by.username == "vendor"
    assert batch.created_by.role == "scanning_vendor"
    assert batch.decided_by.username == "archivist"
    pages = list(Page.objects.filter(batch=batch).select_related("item__record"))
    assert digitized.MIN_PAGES <= len(pages) <= 20  # a handful on the small demo
    assert all(p.component_id for p in pages)
    assert {p.ocr_status for p in pages} == {"pending"}  # queued for the worker, not read yet
    sampled = [p for p in pages if p.item.sampled]
    assert sampled and all(p.inspection == "pass" for p in sampled)
    # page counts agree with 页数; 案卷 and 件; 300 dpi A4; one vertical page; some skewed
    for item in batch.items.select_related("record"):
        assert item.page_count == item.record.pages == item.declared_pages
    assert {i.record.level for i in batch.items.select_related("record")} >= {"item"}
    assert all(round(p.dpi or 0) == 300 and (p.width, p.height) == (2481, 3507) for p in pages)
    assert not Finding.objects.filter(batch=batch, result="fail").exists()
    red = archive_red(archive)
    vertical = [p for p in pages if p.item.record.fonds.code == red]
    assert len(vertical) >= 1

    # the returned batch: 150 dpi, skew beyond 3°, a missing page; nothing attached
    back = Batch.objects.get(name=digitized.RETURNED_NAME)
    assert back.status == "returned" and back.result == "fail"
    failed = set(Finding.objects.filter(batch=back, result="fail").values_list("code", flat=True))
    assert {"resolution", "skew"} <= failed
    assert failed & {"page_sequence", "page_count"}
    assert "150" in back.return_reason and "偏斜" in back.return_reason
    returned_records = [i.record_id for i in back.items.all()]
    assert not Component.objects.filter(record_id__in=returned_records).exists()

    # recordings: audio and video on open records, each with a segment; copies are queued jobs
    recs = list(Recording.objects.filter(batch__isnull=True).select_related("record"))
    assert sorted(r.kind for r in recs) == ["audio", "video"]
    assert all(r.record.open_status == "open" for r in recs)
    audio = next(r for r in recs if r.kind == "audio")
    assert 18 <= audio.info["duration_seconds"] <= 22
    assert Segment.objects.filter(recording__in=recs).count() == 2

    # the worker makes the access copies and reads the pages one job each; a read page's text
    # is its record's searchable text
    names = _run_jobs(queued, 4)
    assert names == ["queue_batch_work", "make_access_copy", "make_access_copy", "ocr_page"]
    assert {r.status for r in Recording.objects.filter(batch__isnull=True)} == {"done"}
    done = Page.objects.filter(batch=batch, ocr_status="done").select_related("item__record")
    assert done.count() == 1
    page = done.get()
    assert len(reading.page_text(page)) > 20
    assert Page.objects.filter(batch=batch, ocr_status="pending").count() == len(pages) - 1

    # a second run makes nothing twice
    counts = (Batch.objects.count(), Page.objects.count(), Component.objects.count(),
              Recording.objects.count(), Segment.objects.count())  # fmt: skip
    again = Summary(RECORDS, 7)
    digitized.make_digitized(archive, again)
    assert again.problems == []
    assert counts == (Batch.objects.count(), Page.objects.count(), Component.objects.count(),
                      Recording.objects.count(), Segment.objects.count())  # fmt: skip


def archive_red(archive: Any) -> str:
    return next(f.code for f in archive.fonds if f.revolutionary)


def test_a_vertical_page_is_read_right_to_left(tmp_path: Path) -> None:
    """The vertical page draws its title in the rightmost column (the first one read)."""
    job = digitized.PageJob(
        str(tmp_path), "Z001-WS·1938-Y-ZZ-0001", "中共岭南特委", "关于开展抗日救亡运动的决定",
        "1938-05-04", "", 1, True, 1, vertical=True,
    )  # fmt: skip
    assert digitized.draw_job(job) == 1
    image = Image.open(tmp_path / "Z001-WS·1938-Y-ZZ-0001-0001.jpg").convert("L")
    assert image.info["dpi"][0] == pytest.approx(300, abs=1)
    width, height = image.size
    # ink in the right third (title, text) and the left of the text block, none in the margins
    right = image.crop((width * 2 // 3, 250, width - 200, height // 2))
    assert right.getextrema()[0] < 100
    assert image.crop((0, 0, 200, height)).getextrema()[0] > 150  # the left margin is clear
