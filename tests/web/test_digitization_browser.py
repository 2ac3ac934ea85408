"""数字化 done-when, in real Chromium against a live server: a scanning batch goes from files to
checked, inspected, accepted, read (real rapidocr), searchable and viewable with the hit boxed on
the page image. Set LANTAI_UI_SCREENSHOTS=/some/dir to keep screenshots of the pages."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
from PIL import Image, ImageDraw, ImageFont

from lantai.digitization.models import Batch, Page

from .conftest import Site
from .test_browser import shot, sign_in

pytestmark = pytest.mark.browser

os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"  # Playwright's sync API runs an event loop here
FONT = "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"
# two pages that look different (so the near-duplicate check does not pair them) and hold a
# phrase that is in no catalogue field: search can find it only through the OCR text
PAGES = (
    ["兰州市档案局", "关于黄河铁桥修缮档案", "移交工作的通知"],
    ["", "", "", "", "二〇二二年度工作总结", "数字化扫描进度良好", "全年完成十万页"],
)
PHRASE = "黄河铁桥"


def make_page(path: Path, lines: list[str]) -> Path:
    """A small A4-shaped greyscale page at 300 dpi (what DA/T 31 wants for OCR)."""
    image = Image.new("L", (800, 1100), 255)
    draw = ImageDraw.Draw(image)
    font = ImageFont.truetype(FONT, 48)
    for i, line in enumerate(lines):
        draw.text((90, 120 + i * 120), line, font=font, fill=0)
    image.save(path, dpi=(300, 300))
    return path


def test_batch_from_files_to_highlighted_hit(
    page: Any, live_server: Any, live_site: Site, tmp_path: Path, settings: Any
) -> None:
    settings.DIGITIZATION_INBOX = tmp_path / "inbox"
    base = live_server.url
    records = live_site.records[:2]
    files = [
        make_page(tmp_path / f"{r.reference_code}-1.png", lines)
        for r, lines in zip(records, PAGES, strict=True)
    ]
    sign_in(page, base)

    # register: upload the pages of the scanning run
    page.goto(base + "/digitization/new/")
    page.set_input_files("#id_files", [str(f) for f in files])
    page.fill("#id_name", "二〇二二年文书档案扫描")
    page.select_option("#id_purpose", "ocr")
    shot(page, "digitization-new")
    page.click("button:has-text('上传并检测')")
    page.wait_for_selector("#batch-result", timeout=30000)
    shot(page, "digitization-batch")
    batch = Batch.objects.get()
    assert batch.status == "checked", (batch.status, batch.error)

    # the report: a pass, every page placed
    page.click("a:has-text('质量检测报告')")
    page.wait_for_selector("#report-result")
    assert page.inner_text("#report-result") == "通过", page.inner_text("main")
    assert page.inner_text("#summary-row").split() == ["2", "2", "2", "0", "0", "0"]
    assert "扫描分辨率" in page.inner_text("table.checks")
    shot(page, "digitization-report")

    # 抽检: pass each sampled page, then accept
    page.click("a.btn:has-text('抽检')")
    page.wait_for_selector("#inspect-image")
    assert "300 dpi" in page.inner_text("#page-facts")
    inspected = 0
    while "/inspect/" in page.url:
        shot(page, f"digitization-inspect-{inspected}")
        page.click("button:has-text('合格')")
        page.wait_for_load_state()
        inspected += 1
        assert inspected <= 2
    assert inspected == Page.objects.filter(item__sampled=True).count() >= 1
    page.wait_for_selector("text=可以验收")
    page.fill("#accept-reason", "抽检合格")
    page.click("button:has-text('验收')")
    page.wait_for_selector("#ocr-progress", timeout=60000)
    shot(page, "digitization-accepted")
    read = Page.objects.filter(ocr_status="done").count()
    assert read == 2, list(Page.objects.values_list("ocr_status", "ocr_error"))

    # search for a phrase that is only on a page, open the record, see the hit on the image
    page.goto(base + "/search/?q=" + PHRASE)
    page.wait_for_selector(".hit-title")
    shot(page, "digitization-search")
    page.click(f".hit-title a[href*='/records/{records[0].pk}/']")
    page.wait_for_selector("#digitized-pages")
    shot(page, "digitization-record")
    page.fill("#pages-q", PHRASE)
    page.click("#digitized-pages button:has-text('查找')")
    page.wait_for_selector(".page-overlay.boxes-drawn")
    box = page.locator(".hit-box").first
    assert box.is_visible()
    image = page.locator("#viewer-image").bounding_box()
    drawn = box.bounding_box()
    assert drawn is not None and image is not None
    assert drawn["width"] > 20 and drawn["height"] > 5
    assert (
        image["x"] <= drawn["x"] and drawn["x"] + drawn["width"] <= image["x"] + image["width"] + 1
    )
    assert image["y"] <= drawn["y"] <= image["y"] + image["height"] / 2  # the phrase's line is high
    assert PHRASE in page.inner_text(".ocr-line.hit")
    shot(page, "digitization-viewer")

    # a recording of the record: played from its access copy, a described segment jumps to its
    # moment (static JS sets currentTime; the access copy is served with HTTP Range)
    from lantai.digitization import recordings

    tone = tmp_path / "讲话录音.wav"
    subprocess.run(
        ["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "sine=frequency=440:duration=4", str(tone)],
        check=True,
    )
    recording = recordings.add_recording(records[0], tone, user=None)
    recording.refresh_from_db()
    assert recording.status == "done", recording.error
    recordings.add_segment(recording, "00:00:02", "00:00:03", "局长讲话", user=None)
    page.goto(base + f"/records/{records[0].pk}/")
    page.wait_for_selector(f"#player-{recording.pk}")
    page.click("a[data-seek]:has-text('00:00:02')")
    page.wait_for_function(f"document.getElementById('player-{recording.pk}').currentTime >= 1.9")
    shot(page, "digitization-recording")
