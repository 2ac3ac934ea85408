"""The IIIF viewer in real Chromium: opening a record with many pages asks the image service about
the page shown only (beside the strip's small thumbnails); turning the page opens the next one."""

from __future__ import annotations

import os
import re
from typing import Any

import pytest
from playwright.sync_api import expect

from lantai.catalog.components import attach_component
from tests.web.test_iiif_viewer_browser import openseadragon  # noqa: F401 (a fixture)

from .conftest import Portal, png_bytes

pytestmark = pytest.mark.browser

os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"  # Playwright's sync API runs an event loop here


def test_viewer_fetches_pages_on_demand(
    page: Any,
    live_server: Any,
    live_portal: Portal,
    openseadragon: None,  # noqa: F811
) -> None:
    record = live_portal.open_records[0]
    pages = [live_portal.images[record.pk]]
    for n in range(12):
        pages.append(
            attach_component(
                record, [png_bytes((300, 400), f"#80{n * 20:02x}80")], f"p{n}.png", user=None
            )
        )
    fetched: list[str] = []
    page.on("request", lambda r: fetched.append(r.url) if "/iiif/3/" in r.url else None)
    page.goto(f"{live_server.url}/public/records/{record.pk}/")
    status = page.locator("[data-iiif-viewer] [data-status]")
    expect(status).to_have_text("第 1 / 13 页 · 100%")
    page.wait_for_load_state("networkidle")
    described = [url for url in fetched if url.endswith("/info.json")]
    assert described == [f"{live_server.url}/iiif/3/c{pages[0].pk}/info.json"]  # 13 pages, one
    shown = [url for url in fetched if "/info.json" not in url and "/full/,96/" not in url]
    assert shown and all(f"/iiif/3/c{pages[0].pk}/" in url for url in shown), shown
    second = f"{live_server.url}/iiif/3/c{pages[1].pk}/info.json"
    with page.expect_request(second):
        page.click("button[data-action=next]")
    expect(status).to_have_text(re.compile(r"^第 2 / 13 页"))
    described = [url for url in fetched if url.endswith("/info.json")]
    assert described[1:] == [second]  # the next page, and only that
