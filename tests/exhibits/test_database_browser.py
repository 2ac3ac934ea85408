# ruff: noqa: F401, F811  (the fixtures of conftest_databases are imported, then requested by name)
"""A published 专题数据库 in real Chromium on a phone viewport against a live server: the page
fits the screen, a facet narrows the list, the map's points are links, the copy buttons copy the
URL and the citation (share.js, no inline script), nothing breaks the Content-Security-Policy."""

from __future__ import annotations

import os
from typing import Any

import pytest
from playwright.sync_api import expect

from .conftest_databases import Archive, _database_settings, make_archive, red_database

pytestmark = pytest.mark.browser

os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"  # Playwright's sync API runs an event loop here
PHONE = {"width": 390, "height": 844}


@pytest.fixture
def live_archive(transactional_db: Any) -> Archive:
    return make_archive()


def _watch(page: Any) -> list[str]:
    """Console errors (a CSP refusal among them), page errors and failed requests (the browser's
    own favicon.ico request aside: the portal has none)."""
    problems: list[str] = []

    def console(message: Any) -> None:
        if message.type == "error" and not message.text.startswith("Failed to load resource"):
            problems.append(message.text)

    def response(answer: Any) -> None:
        if answer.status >= 400 and not answer.url.endswith("/favicon.ico"):
            problems.append(f"{answer.status} {answer.url}")

    page.on("console", console)
    page.on("response", response)
    page.on("pageerror", lambda e: problems.append(str(e)))
    return problems


def test_a_visitor_on_a_phone_browses_filters_maps_and_copies(
    chromium: Any, live_server: Any, live_archive: Archive
) -> None:
    database = red_database(live_archive)
    context = chromium.new_context(locale="zh-CN", viewport=PHONE, is_mobile=True, has_touch=True)
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server.url)
    page = context.new_page()
    problems = _watch(page)
    try:
        base = f"{live_server.url}/public/databases/{database.repository.code}/{database.slug}/"
        page.goto(base)
        assert page.locator(".db-results h2").inner_text() == "共 4 件档案"
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 1, "the page is wider than the phone's screen"
        page.get_by_role("link", name="大革命时期").click()
        page.wait_for_url("**f_period=*")
        assert page.locator(".db-results h2").inner_text() == "共 1 件档案"
        assert page.locator(".db-row h3").all_inner_texts() == ["东兰农民运动讲习所章程"]

        copy_url = page.get_by_role("button", name="复制网址")
        assert copy_url.is_visible()  # share.js shows the buttons
        copy_url.click()
        expect(page.locator(".share-status")).to_have_text("已复制")
        assert page.evaluate("navigator.clipboard.readText()") == page.url
        page.get_by_role("button", name="复制引用").click()
        copied = page.evaluate("navigator.clipboard.readText()")
        assert "红色档案专题数据库[EB/OL]" in copied

        page.goto(base + "map/")
        points = page.locator("svg.place-map a")
        assert points.count() == 6
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 1
        page.locator("svg.place-map a[aria-label='百色（1）']").click()
        page.wait_for_url("**place=*")
        assert page.locator(".db-row h3").all_inner_texts() == ["百色起义宣言"]
        assert not problems, problems
    finally:
        context.close()


def test_without_javascript_the_share_block_is_plain_text(
    chromium: Any, live_server: Any, live_archive: Archive
) -> None:
    database = red_database(live_archive)
    context = chromium.new_context(locale="zh-CN", viewport=PHONE, java_script_enabled=False)
    page = context.new_page()
    try:
        page.goto(f"{live_server.url}/public/databases/{database.repository.code}/{database.slug}/")
        assert not page.get_by_role("button", name="复制网址").is_visible()
        assert "[EB/OL]" in page.locator("#share-citation-text").inner_text()
        assert page.locator("#share-url").input_value().endswith(f"/{database.slug}/")
    finally:
        context.close()


def test_printing_shows_the_address_and_citation_once_and_no_navigation(
    chromium: Any, live_server: Any, live_archive: Archive
) -> None:
    database = red_database(live_archive)
    context = chromium.new_context(locale="zh-CN")
    page = context.new_page()
    try:
        page.goto(f"{live_server.url}/public/databases/{database.repository.code}/{database.slug}/")
        assert not page.locator(".print-cite").is_visible()  # on screen: the share block only
        page.emulate_media(media="print")
        assert page.locator(".print-cite").is_visible()
        assert "[EB/OL]" in page.locator(".print-cite").inner_text()
        assert not page.locator("#share-citation-text").is_visible()
        assert not page.locator(".portal-nav").is_visible()
        assert not page.locator(".facets").is_visible()
        assert not page.locator(".db-tabs").is_visible()
    finally:
        context.close()
