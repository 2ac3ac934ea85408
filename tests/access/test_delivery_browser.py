"""The page-image viewer in real Chromium: opening a record with many pages fetches only the page
shown (and the PDF in view), turning the page fetches the next one then."""

from __future__ import annotations

import os
from typing import Any

import pytest

from lantai.catalog.components import attach_component

from .conftest import Portal, png_bytes

pytestmark = pytest.mark.browser

os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"  # Playwright's sync API runs an event loop here


def test_viewer_fetches_pages_on_demand(page: Any, live_server: Any, live_portal: Portal) -> None:
    record = live_portal.open_records[0]
    for n in range(12):
        attach_component(
            record, [png_bytes((300, 400), f"#80{n * 20:02x}80")], f"p{n}.png", user=None
        )
    fetched: list[str] = []
    page.on("request", lambda r: fetched.append(r.url) if "/public/content/" in r.url else None)
    page.goto(f"{live_server.url}/public/records/{record.pk}/")
    page.wait_for_function(
        "() => { const i = document.querySelector('#viewer-stage img'); return i && i.naturalWidth > 0 }"
    )
    page.wait_for_load_state("networkidle")
    images = [url for url in fetched if url.endswith("/page.jpg")]
    assert len(images) == 1, images  # 13 pages, one fetched
    assert len(set(fetched)) <= 2, fetched  # and the PDF in view (Chromium's viewer asks twice)
    page.click("button[data-action=next]")
    page.wait_for_function(
        "() => { const i = document.querySelector('#viewer-stage img[data-index=\"1\"]');"
        " return i && !i.hidden && i.naturalWidth > 0 }"
    )
    assert len([url for url in fetched if url.endswith("/page.jpg")]) == 2
    assert "第 2 / 13 页" in page.inner_text(".viewer-status")
