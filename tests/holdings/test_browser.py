"""The accession desk in real Chromium against a live server, keyboard only: the new accession
form opens with the donor list focused and sensible defaults (today, 捐赠, one item), Enter
registers it; the campaign page shows its progress bar; nothing breaks the
Content-Security-Policy (no inline style or script)."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.browser
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"  # Playwright's sync API runs an event loop here
PASSWORD = "Pw-12345678x"


def shot(page: Any, name: str) -> None:
    target = os.environ.get("LANTAI_UI_SCREENSHOTS")
    if target:
        page.screenshot(path=str(Path(target) / f"ui-holdings-{name}.png"), full_page=True)


def test_an_archivist_registers_an_accession_with_the_keyboard(
    chromium: Any, live_server: Any, transactional_db: Any
) -> None:
    from lantai.catalog import services as catalog
    from lantai.core import accounts
    from lantai.holdings import services as hs
    from lantai.holdings.models import Accession

    repo = catalog.default_repository()
    clerk = accounts.create_user(
        "liming", role="receiving_archivist", password=PASSWORD, scope_all=True
    )
    hs.create_donor(clerk, {"kind": "person", "name": "韦国清家属"})
    campaign = hs.create_campaign(clerk, repo, {"name": "红色档案征集", "target_items": 40})
    problems: list[str] = []
    context = chromium.new_context(locale="zh-CN")
    page = context.new_page()
    page.on(
        "console",
        lambda m: (
            problems.append(m.text)
            if m.type == "error" and not m.text.startswith("Failed to load resource")
            else None
        ),
    )
    page.on(
        "response",
        lambda r: (
            problems.append(f"{r.status} {r.url}")
            if r.status >= 400 and not r.url.endswith("/favicon.ico")
            else None
        ),
    )
    page.on("pageerror", lambda e: problems.append(str(e)))
    try:
        page.goto(f"{live_server.url}/holdings/accessions/new/?campaign={campaign.pk}")
        page.fill("input[name=username]", "liming")
        page.fill("input[name=password]", PASSWORD)
        page.click("button:has-text('登录')")
        page.wait_for_url(lambda url: "/login/" not in url)
        assert page.input_value("#f-received") == dt.date.today().isoformat()
        assert page.input_value("#f-items") == "1"
        assert page.input_value("#f-kind") == "捐赠"
        assert page.evaluate("document.activeElement.id") == "f-donor"
        page.keyboard.press("ArrowDown")  # the first donor
        page.keyboard.press("Tab")  # the link to register a new donor
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.id") == "f-items"
        page.keyboard.press("Control+A")
        page.keyboard.type("10")
        page.keyboard.press("Enter")
        page.wait_for_url(lambda url: "/accessions/new/" not in url)
        shot(page, "accession")
        a = Accession.objects.get()
        assert (a.item_count, a.campaign_id, a.kind) == (10, campaign.pk, "捐赠")
        assert "ZJ-" in page.locator("h1").inner_text()
        page.goto(f"{live_server.url}/holdings/campaigns/{campaign.pk}/")
        assert page.locator("progress.holdings-progress").get_attribute("value") == "25"
        shot(page, "campaign")
        assert problems == []
    finally:
        context.close()
