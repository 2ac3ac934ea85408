"""The public portal in real Chromium against a live server: search from the home page, open a
record, zoom the page image with the keyboard, submit a 查档申请, and the layout on a phone."""

from __future__ import annotations

import os
from typing import Any

import pytest

from lantai.access.models import AccessRequest

from .conftest import Portal, resident_id

pytestmark = pytest.mark.browser

os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"  # Playwright's sync API runs an event loop here


def test_search_open_record_and_zoom(page: Any, live_server: Any, live_portal: Portal) -> None:
    base = live_server.url
    page.goto(base + "/public/")
    page.fill("#q", "婚姻")
    page.wait_for_selector("#q-suggestions li")  # autocomplete from the public suggestions
    assert "关于婚姻登记工作的通知" in page.inner_text("#q-suggestions")
    page.keyboard.press("Escape")
    page.click("form.searchbox button[type=submit]")
    page.wait_for_selector("ol.hits")
    assert page.locator("ol.hits li").count() == 2
    assert page.locator("ol.hits mark").first.inner_text() == "婚姻"
    page.click("ol.hits >> text=登记工作的通知")
    page.wait_for_selector("h1.record-title")
    assert page.locator("[data-iiif-viewer]").count() == 1  # tests/web/test_iiif_viewer_browser.py


def test_submit_a_request_from_a_record(page: Any, live_server: Any, live_portal: Portal) -> None:
    record = live_portal.open_records[0]
    page.goto(f"{live_server.url}/public/records/{record.pk}/")
    page.click("text=申请查档或出具证明")
    page.wait_for_selector("form.request-form")
    assert page.is_checked(f"input[name=records][value='{record.pk}']")
    page.fill("#id_applicant_name", "李华")
    page.fill("#id_id_number", "110105194912310021")  # wrong check character
    page.fill("#id_phone", "13809311234")
    page.check("input[name=purpose][value=family]")
    page.click("button:has-text('提交申请')")
    page.wait_for_selector(".field-error")
    assert "校验位" in page.inner_text(".has-error")
    page.fill("#id_id_number", resident_id())
    page.click("button:has-text('提交申请')")
    page.wait_for_selector("[data-reference]")
    reference = page.inner_text("[data-reference]")
    assert AccessRequest.objects.get().reference == reference


def test_phone_layout(chromium: Any, live_server: Any, live_portal: Portal) -> None:
    context = chromium.new_context(
        locale="zh-CN", viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True
    )
    try:
        page = context.new_page()
        record = live_portal.open_records[0]
        for path in ("/public/", "/public/search/?q=关于", f"/public/records/{record.pk}/",
                     "/public/request/"):  # fmt: skip
            page.goto(live_server.url + path)
            width = page.evaluate("() => document.documentElement.scrollWidth")
            assert width <= 390, (path, width)
        page.goto(f"{live_server.url}/public/search/?q=关于")
        box = page.locator("#q").bounding_box()
        assert box is not None and box["width"] >= 200  # the search box stays usable
        hits = page.locator("ol.hits").bounding_box()
        facets = page.locator("aside.facets").bounding_box()
        assert hits and facets and facets["y"] > hits["y"]  # results first, facets below
    finally:
        context.close()
