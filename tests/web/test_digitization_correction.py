"""The OCR correction screen after the audit (issue 14, point 4): a page stays on 待校对 until its
low-confidence lines are corrected or confirmed, lines OCR missed are added, and queued pages say
排队中 — and that no job worker runs — instead of 识别中."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.core.cache import cache
from django.urls import reverse

from lantai import jobs
from lantai.digitization.models import Correction, Page

from .conftest import Site
from .test_digitization_views import client_for, make_batch, text

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _own_dirs(settings: Any, tmp_path: Path) -> None:
    settings.MEDIA_ROOT = tmp_path / "files"
    settings.DERIVATIVES_DIR = tmp_path / "derivatives"
    settings.DIGITIZATION_INBOX = tmp_path / "inbox"
    settings.DIGITIZATION_INBOX.mkdir()


def test_a_page_stays_to_be_corrected_until_its_low_lines_are_confirmed(
    site: Site, tmp_path: Path
) -> None:
    """make_batch's pages: line 1 read at 0.97, line 2 at 0.6 (below OCR_LOW_CONFIDENCE)."""
    batch = make_batch(site, site.users["cataloguer"], tmp_path, status="accepted", attach=True)
    page, other = (batch.pages.get(item__record=r) for r in site.records[:2])
    manager = client_for(site.users["cataloguer"])
    listing_url = reverse("web:digitization_corrections", args=[batch.pk])
    url = reverse("web:digitization_correct", args=[page.pk])

    response = manager.post(
        url, {"line": "0", "text": "关于档案工作的通知（补正）", "action": "save"}
    )
    assert response.status_code == 302
    page.refresh_from_db()
    assert page.needs_correction  # the low line has not been looked at
    assert url in text(manager.get(listing_url))
    screen = text(manager.get(url))
    assert screen.count('name="action" value="confirm"') == 1  # only the low, unreviewed line
    assert 'id="finish-page"' in screen

    # 确认无误 with the text as it is: kept with who and when, the page leaves 待校对
    response = manager.post(url, {"line": "1", "text": "兰州市档案局办公室", "action": "confirm"})
    assert response.status_code == 302
    page.refresh_from_db()
    assert not page.needs_correction
    confirmed = Correction.objects.get(page=page, line=1)
    assert confirmed.original == confirmed.text == "兰州市档案局办公室"
    assert confirmed.user == site.users["cataloguer"]
    listing = text(manager.get(listing_url))
    assert url not in listing and reverse("web:digitization_correct", args=[other.pk]) in listing
    screen = text(manager.get(url))
    assert 'value="confirm"' not in screen and "已确认无误" in screen and "zhangsan" in screen
    again = manager.post(url, {"line": "1", "text": "兰州市档案局办公室", "action": "confirm"})
    assert again.status_code == 400 and "已经校对过" in text(again)

    # 确认无误 after editing the box saves the edit; 校对完成 confirms what is left
    other_url = reverse("web:digitization_correct", args=[other.pk])
    manager.post(other_url, {"line": "0", "text": "年度工作总结", "action": "confirm"})
    assert Correction.objects.get(page=other, line=0).text == "年度工作总结"
    other.refresh_from_db()
    assert other.needs_correction
    done = manager.post(other_url, {"action": "finish"}, follow=True)
    assert "已确认其余 1 行无误" in text(done)
    other.refresh_from_db()
    assert not other.needs_correction and Correction.objects.filter(page=other).count() == 2
    assert "没有待校对的页面" in text(manager.get(listing_url))
    reader = client_for(site.users["reader"])
    assert reader.post(url, {"action": "finish"}).status_code == 403


def test_a_page_ocr_read_as_nothing_gets_its_lines_typed_in(site: Site, tmp_path: Path) -> None:
    batch = make_batch(site, site.users["cataloguer"], tmp_path, status="accepted", attach=True)
    page = batch.pages.get(item__record=site.records[0])
    Page.objects.filter(pk=page.pk).update(ocr_lines=[], needs_correction=False)  # handwriting
    record = site.records[0]
    manager = client_for(site.users["cataloguer"])
    viewer_url = reverse("web:record_pages", args=[record.pk])
    url = reverse("web:digitization_correct", args=[page.pk])
    assert url in text(manager.get(viewer_url))  # the way to type the lines in

    screen = text(manager.get(url))
    assert 'id="add-line"' in screen and "添加一行" in screen
    for bad, why in (("   ", "请填写"), ("同意\r\n归档", "换行"), ("档" * 2001, "2000")):
        response = manager.post(url, {"action": "add", "text": bad})
        assert response.status_code == 400 and why in text(response)
    assert not Correction.objects.exists()
    response = manager.post(url, {"action": "add", "text": "手写批注：同意归档"})
    assert response.status_code == 302 and response["Location"].endswith("#line-0")
    manager.post(url, {"action": "add", "text": "馆长签字"})
    assert list(Correction.objects.order_by("line").values_list("line", "original")) == [
        (0, ""),
        (1, ""),
    ]

    viewer = text(manager.get(viewer_url + "?q=同意归档"))
    assert "手写批注：同意归档" in viewer and "人工补录" in viewer
    assert "出现在 1 页" in viewer and 'class="ocr-line hit" tabindex="0"' in viewer
    assert "hit-box" not in viewer  # an added line has no box on the image
    screen = text(manager.get(url))
    assert 'value="手写批注：同意归档"' in screen and "（新增行）" in screen
    reader = client_for(site.users["reader"])
    assert reader.post(url, {"action": "add", "text": "改"}).status_code == 403


@pytest.fixture
def no_worker(settings: Any, tmp_path: Path) -> Iterator[None]:
    """Jobs wait in the queue as they would with no worker (as in test_worker_status)."""
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


def test_queued_pages_say_queued_and_that_no_worker_runs(
    site: Site, tmp_path: Path, no_worker: None
) -> None:
    batch = make_batch(site, site.users["cataloguer"], tmp_path, status="accepted", attach=True)
    Page.objects.filter(batch=batch).update(ocr_status="pending", ocr_lines=[])
    record = site.records[0]
    reader = client_for(site.users["reader"])
    detail = text(reader.get(reverse("web:record", args=[record.pk])))
    section = detail.split('id="digitized-pages"')[1].split("</section>")[0]
    assert "排队中" in section and "识别中" not in section
    assert 'id="ocr-worker-down"' in section and "后台任务未运行" in section
    assert "lantai worker" in section
    viewer = text(reader.get(reverse("web:record_pages", args=[record.pk])))
    assert "排队中" in viewer and 'id="ocr-worker-down"' in viewer

    jobs.beat()  # a worker runs: the pages are only queued
    detail = text(reader.get(reverse("web:record", args=[record.pk])))
    section = detail.split('id="digitized-pages"')[1].split("</section>")[0]
    assert "排队中" in section and 'id="ocr-worker-down"' not in section
    assert "正在排队识别" in text(reader.get(reverse("web:record_pages", args=[record.pk])))
