"""The IIIF viewer (OpenSeadragon from npm, web/_iiif_viewer.html) in real Chromium against a live
server and the real IIIF Image API: tiles come from /iiif/3/, the keyboard turns pages and goes
full page, nothing breaks the Content-Security-Policy, content search highlights its hit; and
without OpenSeadragon (a setting naming a static file that is not there, as on a machine where
scripts/setup.sh has not run) or without JavaScript the page shows plain images.

OpenSeadragon is copied into web/static/vendor/ by scripts/setup.sh; without it the tests that
need it are skipped here and fail under CI=true (like the browser itself)."""

from __future__ import annotations

import os
import re
from typing import Any
from urllib.parse import quote

import pytest
from playwright.sync_api import expect

from tests.access.conftest import PASSWORD, Portal, make_portal, png_bytes
from tests.access.test_stable_urls import make_ocr_page

pytestmark = pytest.mark.browser

os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"  # Playwright's sync API runs an event loop here


@pytest.fixture
def live_portal(transactional_db: Any, settings: Any, tmp_path: Any) -> Portal:
    from lantai.search import services as search

    for name in ("PUBLIC_RATE", "PUBLIC_SEARCH_RATE", "PUBLIC_CONTENT_RATE", "PUBLIC_TILE_RATE"):
        setattr(settings, name, "100000/min")
    settings.SEARCH_INDEX_DIR = tmp_path / "index"
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    search.reset_backends()
    return make_portal()


@pytest.fixture
def openseadragon() -> None:
    from django.contrib.staticfiles import finders

    from lantai.web.templatetags.lantai_viewer import DEFAULT_VENDOR_SCRIPT

    if not finders.find(DEFAULT_VENDOR_SCRIPT):
        message = "OpenSeadragon is not installed in web/static/vendor/: run scripts/setup.sh"
        if os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}:
            pytest.fail(message, pytrace=False)
        pytest.skip(message)


def two_page_record(portal: Portal) -> tuple[Any, list[Any]]:
    from lantai.catalog.components import attach_component

    record = portal.open_records[0]
    second = attach_component(
        record, [png_bytes((900, 1200), "#dfe8f0")], "page-0002.png", user=None
    )
    return record, [portal.images[record.pk], second]


def stable(record: Any) -> str:
    return f"/public/archives/{quote(record.repository.code)}/{quote(record.reference_code)}/"


def watch(page: Any) -> tuple[list[tuple[str, int]], list[str]]:
    """Responses (url, status) and console errors / page errors as the page runs."""
    responses: list[tuple[str, int]] = []
    errors: list[str] = []
    page.on("response", lambda r: responses.append((r.url, r.status)))

    def console(message: Any) -> None:
        if message.type == "error" and "favicon.ico" not in str(message.location):
            errors.append(f"{message.text} @ {message.location}")

    page.on("console", console)
    page.on("pageerror", lambda e: errors.append(str(e)))
    return responses, errors


def tiles(responses: list[tuple[str, int]], component: Any) -> list[int]:
    prefix = f"/iiif/3/c{component.pk}/"
    return [
        status
        for url, status in responses
        if prefix in url and not url.endswith("/info.json") and "/full/,96/" not in url
    ]


def wait_for_tile(page: Any, component: Any) -> None:
    """Until the browser has fetched a tile (not info.json, not a strip thumbnail) of `component`."""
    page.wait_for_function(
        "n => performance.getEntriesByType('resource').some(e =>"
        " e.name.includes('/iiif/3/c' + n + '/') && e.name.endsWith('/default.jpg')"
        " && !e.name.includes('/full/,96/'))",
        arg=component.pk,
    )


def test_viewer_loads_tiles_turns_pages_and_keeps_the_csp(
    page: Any, live_server: Any, live_portal: Portal, openseadragon: None
) -> None:
    record, images = two_page_record(live_portal)
    responses, errors = watch(page)
    page.goto(live_server.url + stable(record))
    status = page.locator("[data-iiif-viewer] [data-status]")
    page.wait_for_function(
        "() => document.querySelectorAll('.iiif-viewer-pane canvas, .iiif-viewer-pane img').length"
    )
    wait_for_tile(page, images[0])
    first = tiles(responses, images[0])
    assert first and set(first) == {200}, first
    expect(status).to_have_text("第 1 / 2 页 · 100%")  # the whole page in view
    assert page.locator("noscript + .iiif-viewer-fallback, [data-viewer-missing]").count() == 0

    canvas = page.locator("[data-iiif-viewer] .openseadragon-canvas").first
    canvas.focus()
    outline = page.evaluate("() => getComputedStyle(document.activeElement).outlineStyle")
    assert outline == "solid"  # visible focus
    page.keyboard.press("ArrowRight")
    wait_for_tile(page, images[1])
    assert status.inner_text().startswith("第 2 / 2 页")
    assert set(tiles(responses, images[1])) == {200}
    current = page.locator("[data-strip] [aria-current=page]")
    assert current.count() == 1 and current.get_attribute("data-page") == "1"
    page.keyboard.press("ArrowLeft")
    expect(status).to_have_text("第 1 / 2 页 · 100%")

    page.keyboard.press("f")  # full page, and Esc back
    root = page.locator("[data-iiif-viewer]")
    assert "iiif-viewer-full" in (root.get_attribute("class") or "")
    box = page.locator(".iiif-viewer-stage").bounding_box()
    assert box and box["height"] > page.viewport_size["height"] * 0.6
    page.keyboard.press("Escape")
    assert "iiif-viewer-full" not in (root.get_attribute("class") or "")

    page.click("[data-action=compare]")  # two pages side by side
    panes = page.locator(".iiif-viewer-pane")
    assert panes.nth(0).is_visible() and panes.nth(1).is_visible()
    assert status.inner_text().startswith("第 1 页与第 2 页对比")
    expect(panes.nth(1)).to_have_attribute("data-zoom", re.compile(r"\d+"))  # page 2 open
    before = [int(panes.nth(n).get_attribute("data-zoom") or 0) for n in (0, 1)]
    page.keyboard.press("+")  # zoom follows on the other side
    page.keyboard.press("+")
    page.wait_for_function(
        "before => [...document.querySelectorAll('.iiif-viewer-pane')].every("
        "(p, n) => Number(p.getAttribute('data-zoom')) >= before[n] * 1.5)",
        arg=before,
    )
    after = int(panes.nth(0).get_attribute("data-zoom") or 0)
    expect(status).to_have_text(f"第 1 页与第 2 页对比 · {after}%")

    violations = [e for e in errors if "Content Security Policy" in e]
    assert not violations, violations
    assert not errors, errors


def test_content_search_highlights_the_hit_on_its_page(
    page: Any, live_server: Any, live_portal: Portal, openseadragon: None
) -> None:
    record, images = two_page_record(live_portal)
    make_ocr_page(record, images[1], [["关于婚姻登记工作的通知", [100, 200, 600, 60], 0.97]])
    responses, errors = watch(page)
    page.goto(live_server.url + stable(record))
    page.wait_for_selector("[data-search-form]:not([hidden])")
    page.fill("[data-search-form] input[name=q]", "婚姻")
    page.press("[data-search-form] input[name=q]", "Enter")
    page.wait_for_selector(".iiif-viewer-hit")  # the overlay on the page
    assert page.inner_text("[data-hit-count]") == "找到 1 处"
    assert page.get_attribute("[data-hit-count]", "aria-live") == "polite"
    assert page.inner_text("[data-status]").startswith("第 2 / 2 页")  # gone to the hit's page
    assert "婚姻" in page.inner_text("[data-hits] mark, [data-hits]")
    overlay = page.locator(".iiif-viewer-hit").first.bounding_box()
    assert overlay and overlay["width"] > overlay["height"] > 0  # a line, drawn to scale
    assert not [e for e in errors if "Content Security Policy" in e], errors


def test_staff_record_page_zooms_from_the_reading_room_image_service(
    page: Any, live_server: Any, live_portal: Portal, openseadragon: None
) -> None:
    closed = live_portal.closed_records[0]  # 未开放: never public, but the reading room sees it
    image = live_portal.images[closed.pk]
    responses, errors = watch(page)
    page.goto(live_server.url + "/")
    page.fill("input[name=username]", "wangwu")
    page.fill("input[name=password]", PASSWORD)
    page.click("button:has-text('登录')")
    page.wait_for_url(lambda url: "/login/" not in url)
    page.goto(f"{live_server.url}/records/{closed.pk}/")
    expect(page.locator("[data-iiif-viewer] [data-status]")).to_have_text("第 1 / 1 页 · 100%")
    prefix = f"/reading-room/iiif/3/c{image.pk}/"
    page.wait_for_function(
        "prefix => performance.getEntriesByType('resource').some(e =>"
        " e.name.includes(prefix) && e.name.endsWith('/default.jpg'))",
        arg=prefix,
    )
    served = [status for url, status in responses if prefix in url]
    assert served and set(served) == {200}, served
    assert not [url for url, _status in responses if "/iiif/3/" in url and prefix not in url]
    assert not errors, errors


def test_without_openseadragon_plain_images_and_a_note(
    page: Any, live_server: Any, live_portal: Portal, settings: Any
) -> None:
    settings.IIIF_VIEWER_SCRIPT = "vendor/absent/openseadragon.min.js"
    record, images = two_page_record(live_portal)
    responses, errors = watch(page)
    page.goto(live_server.url + stable(record))
    note = page.locator("[data-viewer-missing]")
    assert note.is_visible() and "缩放查看器未安装" in note.inner_text()
    first = page.locator(".iiif-viewer-fallback img").first
    first.wait_for()
    page.wait_for_function(
        "() => { const i = document.querySelector('.iiif-viewer-fallback img');"
        " return i && i.complete && i.naturalWidth > 0 }"
    )
    assert first.get_attribute("src") == f"/iiif/3/c{images[0].pk}/full/!1200,1200/0/default.jpg"
    assert page.locator("[data-toolbar]").count() == 0
    assert not errors, errors


def test_without_javascript_plain_images(
    chromium: Any, live_server: Any, live_portal: Portal, openseadragon: None
) -> None:
    record, images = two_page_record(live_portal)
    context = chromium.new_context(locale="zh-CN", java_script_enabled=False)
    try:
        page = context.new_page()
        page.goto(live_server.url + stable(record))
        shown = page.locator(".iiif-viewer-fallback img")
        assert shown.count() == 2
        shown.first.scroll_into_view_if_needed()
        page.wait_for_function(
            "() => { const i = document.querySelector('.iiif-viewer-fallback img');"
            " return i && i.complete && i.naturalWidth > 0 }"
        )
    finally:
        context.close()
