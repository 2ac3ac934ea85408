"""Real Chromium against a live server: a curator builds an exhibition in the staff editor, a
second curator publishes it, and the public visits it on a phone (390×844) with the keyboard;
the exported package opens from file:// with its images (and deep zoom when installed)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from lantai.exhibits import exhibitions as ex

from .exhibition_fixtures import PASSWORD, Hall, build, item, publish

pytestmark = pytest.mark.browser

os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"  # Playwright's sync API runs an event loop here


def shot(page: Any, name: str) -> None:
    target = os.environ.get("LANTAI_UI_SCREENSHOTS")
    if target:
        page.screenshot(path=str(Path(target) / f"ui-exhibition-{name}.png"), full_page=True)


def sign_in(chromium: Any, base: str, username: str) -> Any:
    context = chromium.new_context(locale="zh-CN")
    page = context.new_page()
    page.goto(base + "/exhibits/exhibitions/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button:has-text('登录')")
    page.wait_for_url(lambda url: "/login/" not in url)
    return page


def tab_to(page: Any, selector: str, limit: int = 60) -> None:
    """Press Tab until the element matching `selector` has the focus (keyboard only)."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate(
            "s => document.activeElement && document.activeElement.matches(s)", selector
        ):
            return
    raise AssertionError(f"{selector} never received the keyboard focus")


def test_curator_builds_publisher_publishes_public_visits_on_a_phone(
    chromium: Any, live_server: Any, live_hall: Hall
) -> None:
    base = live_server.url
    curator = sign_in(chromium, base, "liqing")
    curator.goto(base + "/exhibits/exhibitions/")
    curator.fill("#ex-title", "红色广西——革命历史档案史料展")
    curator.fill("#ex-slug", "red-guangxi")
    curator.click("button:has-text('新建展览')")
    curator.wait_for_selector("h1:has-text('红色广西')")
    curator.fill("#new-section", "解放")
    curator.click("button:has-text('添加部分')")
    curator.fill("#np-1", "解放布告")
    curator.fill("#nps-1", "proclamation")
    curator.click("button:has-text('添加页面')")
    curator.select_option("#nb-1-1", "text")
    curator.click("#page-1-1 button:has-text('添加')")
    curator.fill("#f-heading", "序")
    curator.fill("#f-body", "1949年12月，广西全境解放。")
    curator.click("button:has-text('保存内容块')")
    curator.wait_for_selector("text=内容块已保存")
    curator.select_option("#nb-1-1", "image")
    curator.click("#page-1-1 button:has-text('添加')")
    curator.fill("#i0-record", live_hall.open_record.reference_code)
    curator.click("button:has-text('查找页面图像')")
    second = live_hall.images[live_hall.open_record.pk][1].pk
    curator.check(f"input[name='items-0-component'][value='{second}']")
    curator.click("button:has-text('保存内容块')")  # no alt text: refused, nothing lost
    assert "缺少替代文字" in curator.inner_text("#problems")
    assert curator.is_checked(f"input[name='items-0-component'][value='{second}']")
    curator.fill("#i0-alt", "广西解放布告原件第二页")
    curator.click("button:has-text('保存内容块')")
    curator.wait_for_selector("text=内容块已保存")
    shot(curator, "editor")
    curator.click("button:has-text('提交审核')")
    curator.wait_for_selector("text=已提交审核")
    assert curator.locator("button:has-text('批准发布')").count() == 0  # not one's own
    curator.context.close()

    publisher = sign_in(chromium, base, "zhouyun")
    assert ex.public_exhibition("red-guangxi") is None  # not public before approval
    pk = ex.staff_exhibitions(live_hall.users["publisher"]).get(slug="red-guangxi").pk
    publisher.goto(f"{base}/exhibits/exhibitions/{pk}/")
    publisher.click("button:has-text('批准发布')")
    publisher.wait_for_selector("text=已批准发布")
    publisher.context.close()

    phone = chromium.new_context(locale="zh-CN", viewport={"width": 390, "height": 844},
                                 is_mobile=True, has_touch=True)  # fmt: skip
    try:
        page = phone.new_page()
        blocked: list[str] = []
        page.on(
            "console",
            lambda m: blocked.append(m.text) if "Content Security Policy" in m.text else None,
        )
        page.goto(base + "/public/exhibitions/")
        shot(page, "hall-phone")
        tab_to(page, "a.hall-link")
        page.keyboard.press("Enter")
        page.wait_for_selector("h1:has-text('红色广西')")
        tab_to(page, "a.start-link")
        page.keyboard.press("Enter")
        page.wait_for_selector("h1:has-text('解放布告')")
        image = page.locator(".block-image img")
        assert image.get_attribute("alt") == "广西解放布告原件第二页"
        page.wait_for_function("() => document.querySelector('.block-image img').naturalWidth > 0")
        width = page.evaluate("() => document.documentElement.scrollWidth")
        assert width <= 390, f"the page scrolls sideways on a phone ({width}px)"
        box = image.bounding_box()
        assert box and box["width"] <= 390
        assert "1949年12月，广西全境解放。" in page.inner_text("main")
        shot(page, "page-phone")
        assert blocked == []  # nothing inline that the CSP refuses
        page.emulate_media(media="print")  # the print stylesheet drops navigation, keeps content
        assert not page.locator(".exhibition-pager").is_visible()
        assert page.locator(".block-image img").is_visible()
    finally:
        phone.close()


def test_the_exported_package_opens_from_a_file(
    chromium: Any, live_hall: Hall, tmp_path: Path
) -> None:
    from lantai.exhibits import export

    exhibition = build(live_hall)
    ex.add_block(live_hall.users["curator"], exhibition, 0, 1,
                 {"kind": "deepzoom", "items": [item(live_hall, alt="布告高清")]})  # fmt: skip
    publish(live_hall, exhibition)
    summary = export.export("red-guangxi", tmp_path / "usb")
    context = chromium.new_context(locale="zh-CN", viewport={"width": 390, "height": 844})
    try:
        page = context.new_page()
        remote: list[str] = []
        page.on(
            "request", lambda r: remote.append(r.url) if not r.url.startswith("file:") else None
        )
        page.goto((tmp_path / "usb" / "index.html").as_uri())
        page.click("a.start-link")
        page.wait_for_selector("h1:has-text('解放布告')")
        page.goto((tmp_path / "usb" / "notices.html").as_uri())
        page.wait_for_function("() => [...document.images].every(i => i.complete)")
        broken = page.evaluate(
            "() => [...document.images].filter(i => i.offsetParent && !i.naturalWidth).map(i => i.src)"
        )
        assert broken == []
        if summary["deep_zoom"]:  # OpenSeadragon installed: the tiles open from file://
            page.wait_for_selector(".export-zoom .openseadragon-canvas canvas", timeout=10000)
        assert remote == []
    finally:
        context.close()
