"""开放审核 done-when, in real Chromium against a live server (jobs run at once): a batch of due
records goes from the plan to the machine screen, 初审 and 复审 by two reviewers (each in a browser
context of their own), the forming unit's opinion in bulk, 馆审定, publication with a redacted
open copy, and the deferral list; then the public sees only what was opened. Set
LANTAI_UI_SCREENSHOTS=/some/dir to keep screenshots of the pages."""

from __future__ import annotations

import io
import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from .conftest import PASSWORD, Site, make_site
from .test_browser import shot, sign_in

pytestmark = pytest.mark.browser

os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"  # Playwright's sync API runs an event loop here

ID18 = "11010519491231002X"  # a valid 18-digit ID number (check digit X)
SENTENCE = "经研究，给予王建华同志留党察看一年处分。"  # a person with a disciplinary sanction
PRIVATE_TITLE = "中共兰州市档案局党组会议纪要：" + SENTENCE
RULE = "涉及职工身份证号码"
REREVIEW = "2046"


@dataclass
class Walk:
    site: Site
    privacy: Any  # opens in part: the sentence is withheld
    identity: Any  # an ID number: deferred on 第八条（三）
    plain: list[Any]  # nothing found: open
    secret: Any  # 秘密 with its 保密期限 not run out: left out of the plan


def _record(category: Any, n: int, title: str, remarks: str = "", **extra: str) -> Any:
    from lantai.catalog import services

    record, issues = services.save_record(
        category,
        {"title": title, "author": "兰州市档案局", "date": f"19900{n}15", "year": "1990",
         "retention": "Y", "org_code": "BGS", "item_number": str(100 + n), "remarks": remarks,
         **extra},
    )  # fmt: skip
    assert record is not None, issues
    return record


@pytest.fixture
def walk(transactional_db: Any) -> Walk:
    from lantai.core import accounts

    site = make_site(records_per_year=1)
    cat = site.category
    # in 档号 order; the task gives them to reviewer A and B in turn: A gets 1, 3 and 5
    privacy = _record(cat, 1, PRIVATE_TITLE)
    plain_b1 = _record(cat, 2, "兰州市一九九〇年防汛工作总结")
    identity = _record(cat, 3, "关于职工李明户籍信息更正的报告", remarks=f"李明身份证号{ID18}")
    plain_b2 = _record(cat, 4, "关于全市植树造林情况的通报")
    plain_a = _record(cat, 5, "关于档案馆库房维修经费的请示")
    secret = _record(cat, 6, "关于某工程选址的请示", classification="秘密", secrecy_period="50年")

    def user(name: str, role: str, display: str) -> Any:
        return accounts.create_user(
            name, role=role, password=PASSWORD, clearance=4, scope_all=role != "filing_unit",
            display_name=display,
        )  # fmt: skip

    site.users.update(
        senior=user("senior", "senior_reviewer", "赵组长"),
        a=user("reviewer_a", "reviewer", "钱审核"),
        b=user("reviewer_b", "reviewer", "孙审核"),
        unit=user("unit_z109", "filing_unit", "兰州市档案局办公室"),
    )
    site.users["unit"].fonds.add(site.fonds)  # the unit answers for its own fonds only
    return Walk(site, privacy, identity, [plain_b1, plain_b2, plain_a], secret)


@pytest.fixture
def browser_as(chromium: Any, live_server: Any) -> Iterator[Any]:
    """A signed-in page per user, each in a browser context of its own (own cookies)."""
    contexts: list[Any] = []

    def open_as(username: str | None) -> Any:
        context = chromium.new_context(locale="zh-CN", accept_downloads=True)
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(30000)
        if username:
            sign_in(page, live_server.url, username)
        return page

    yield open_as
    for context in contexts:
        context.close()


def _submit(page: Any) -> None:
    with page.expect_navigation():
        page.click("#decide-form button[type=submit]")


def _select_chars(page: Any, section: str, start: int, end: int) -> None:
    """Select characters start..end of a section's text with the mouse: press on the left edge of
    the first character, drag to the right edge of the last one, release."""
    edges = page.evaluate(
        """([section, start, end]) => {
          const box = document.querySelector(`.review-text[data-section="${section}"]`);
          const walker = document.createTreeWalker(box, NodeFilter.SHOW_TEXT);
          const nodes = [];
          for (let n = walker.nextNode(), at = 0; n; n = walker.nextNode()) {
            nodes.push([n, at]); at += n.textContent.length;
          }
          function rect(i) {  // the box of character i (BMP text: one code unit each)
            const [node, at] = nodes.filter(([n, a]) => a <= i).pop();
            const r = document.createRange();
            r.setStart(node, i - at); r.setEnd(node, i - at + 1);
            return r.getBoundingClientRect();
          }
          const a = rect(start), b = rect(end - 1);
          return [a.left + 1, (a.top + a.bottom) / 2, b.right - 1, (b.top + b.bottom) / 2];
        }""",
        [section, start, end],
    )
    x0, y0, x1, y1 = edges
    page.mouse.move(x0, y0)
    page.mouse.down()
    page.mouse.move(x1, y1, steps=8)
    page.mouse.up()


def _queue_codes(page: Any) -> list[str]:
    return [str(t) for t in page.locator("table.review-queue tbody td.code").all_inner_texts()]


def test_batch_from_plan_to_publication_and_deferral_list(
    walk: Walk, browser_as: Any, live_server: Any, tmp_path: Path
) -> None:
    from lantai.catalog.models import Record
    from lantai.review.models import ReviewItem, ReviewTask

    base = live_server.url
    site, users = walk.site, walk.site.users
    due = [walk.privacy, walk.identity, *walk.plain]

    # --- 计划: the senior previews the plan, sees what is left out and why, creates the task
    senior = browser_as("senior")
    senior.goto(base + "/review/plan/")
    senior.fill("#id_name", "1990年到期档案开放审核")
    senior.select_option("#id_fonds", str(site.fonds.pk))
    senior.click("button[value=preview]")
    senior.wait_for_selector("#plan-preview")
    assert senior.inner_text("#plan-selected") == "5"
    assert senior.inner_text("#plan-excluded") == "1"
    excluded = senior.inner_text("#plan-preview table.grid >> nth=0")
    assert walk.secret.reference_code in excluded and "保密期限未满" in excluded
    listed = senior.inner_text("#plan-preview table.grid >> nth=1")
    assert all(r.reference_code in listed for r in due)
    assert walk.secret.reference_code not in listed
    shot(senior, "review-plan")
    for who in ("a", "b"):
        senior.check(f"input[name=reviewers][value='{users[who].pk}']")
    senior.uncheck("input[name=stages][value=sample]")  # no random sample: the walk is fixed
    senior.check("input[name=stages][value=second]")
    senior.check("input[name=stages][value=unit]")
    senior.fill("#id_sample_percent", "0")
    senior.click("button[value=create]")
    senior.wait_for_selector("#progress")
    assert "审核任务已建立：5 件档案" in senior.inner_text(".messages")
    task = ReviewTask.objects.get()
    assert task.stages == ["machine", "first", "second", "unit", "approval", "published"]
    # the machine screen ran (a queued job, run at once here): every item waits for 初审
    assert set(task.items.values_list("stage", flat=True)) == {"first"}
    shot(senior, "review-task")

    # --- 初审 by reviewer A: the riskiest item first, findings highlighted
    a = browser_as("reviewer_a")
    a.goto(base + f"/review/queue/?task={task.pk}")
    a.wait_for_selector("table.review-queue")
    assert _queue_codes(a) == [
        walk.identity.reference_code,
        walk.privacy.reference_code,
        walk.plain[2].reference_code,
    ]  # ID number 0.99, the person with a sanction 0.9, nothing found
    shot(a, "review-queue")
    a.click("table.review-queue tbody tr >> nth=0 >> td.code a")
    mark = a.locator("mark[data-kind=id18]")
    mark.wait_for()
    assert mark.inner_text() == ID18
    assert "18位身份证号" in a.inner_text("#reasons")
    # 延期开放 without a ground: refused, the input kept
    a.check("input[name=decision][value=deferred]")
    a.fill("#id_rule", RULE)
    a.fill("#id_rereview_year", REREVIEW)
    _submit(a)
    assert "第八条的依据" in a.inner_text("#decide-error")
    assert a.input_value("#id_rule") == RULE
    assert a.is_checked("input[name=decision][value=deferred]")
    shot(a, "review-deferral-error")
    a.select_option("#id_ground", "art8-3")
    _submit(a)
    assert "已记录对档案" in a.inner_text(".messages")

    # the next in A's queue: the sanction; the name is highlighted, the sentence withheld
    assert a.inner_text("h1.record-title") == PRIVATE_TITLE
    name = a.locator(".review-text[data-section='field:title'] mark", has_text="王建华")
    assert name.get_attribute("data-kind") == "privacy"
    start = PRIVATE_TITLE.index(SENTENCE)
    _select_chars(a, "field:title", start, start + len(SENTENCE))
    a.click("#add-selection")
    assert a.inner_text("#passages q") == SENTENCE
    assert a.is_checked("input[name=decision][value=open]")  # a passage means partial opening
    shot(a, "review-passage")
    _submit(a)

    # the last of A's: nothing found, open (key 1); then A's queue is empty
    assert a.inner_text("h1.record-title") == walk.plain[2].title
    a.keyboard.press("1")
    assert a.is_checked("input[name=decision][value=open]")
    _submit(a)
    assert "/review/queue/" in a.url and "没有等待您审核的档案" in a.inner_text("main")
    privacy_item = task.items.get(record=walk.privacy)
    assert privacy_item.stage == "second"
    assert [(p["section"], p["text"]) for p in privacy_item.passages] == [("field:title", SENTENCE)]

    # A cannot give the second review of A's own 初审: not in A's queue (empty above), and
    # refused on the page
    own = task.items.get(record=walk.plain[2])
    a.goto(base + f"/review/items/{own.pk}/")
    a.check("input[name=decision][value=open]")
    _submit(a)
    assert "不能复审本人初审的档案" in a.inner_text("#decide-error")
    shot(a, "review-own-second")

    # --- reviewer B: first review of B's two, second review of A's three (agrees with each)
    b = browser_as("reviewer_b")
    b.goto(base + f"/review/queue/?task={task.pk}")
    b.wait_for_selector("table.review-queue")
    assert sorted(_queue_codes(b)) == sorted(r.reference_code for r in due)
    b.click("table.review-queue tbody tr >> nth=0 >> td.code a")
    decided = 0
    while "/review/items/" in b.url:
        b.wait_for_selector("#decide-form")
        if not b.locator("input[name=decision]:checked").count():
            b.check("input[name=decision][value=open]")  # B's own 初审
        if b.inner_text("h1.record-title") == PRIVATE_TITLE:
            assert b.inner_text("#passages q") == SENTENCE  # A's passage, shown to agree with
            assert "王建华" in b.inner_text("mark[data-kind=privacy] >> nth=0")
        _submit(b)
        decided += 1
        assert decided <= 5
    assert decided == 5

    # ... and A gives the second review of B's two
    a.goto(base + f"/review/queue/?task={task.pk}")
    a.wait_for_selector("table.review-queue")
    assert sorted(_queue_codes(a)) == sorted(r.reference_code for r in walk.plain[:2])
    a.click("table.review-queue tbody tr >> nth=0 >> td.code a")
    for _ in range(2):
        assert a.is_checked("input[name=decision][value=open]")  # B's decision, kept
        _submit(a)
    assert "/review/queue/" in a.url
    assert set(task.items.values_list("stage", "unit_state")) == {("unit", "pending")}

    # --- 会同审核: the forming unit agrees with all five in bulk
    unit = browser_as("unit_z109")
    unit.goto(base + "/review/unit/")
    boxes = unit.locator("input[name=item][form=bulk]")
    assert boxes.count() == 5
    listed = unit.inner_text("table.review-unit")
    assert "延期开放" in listed and "1 段不开放" in listed
    for i in range(5):
        boxes.nth(i).check()
    shot(unit, "review-unit")
    with unit.expect_navigation():
        unit.click("#bulk button[type=submit]")
    assert "已同意 5 件" in unit.inner_text(".messages")
    assert "没有等待本单位提出意见的档案" in unit.inner_text("main")

    # --- 馆审定 by the senior, each item, then publish
    senior.goto(base + f"/review/queue/?task={task.pk}&stage=approval")
    senior.click("table.review-queue tbody tr >> nth=0 >> td.code a")
    approved = 0
    while "/review/items/" in senior.url:
        senior.wait_for_selector("#decide-form")
        _submit(senior)
        approved += 1
        assert approved <= 5
    assert approved == 5
    senior.goto(base + f"/review/tasks/{task.pk}/")
    senior.once("dialog", lambda dialog: dialog.accept())  # 确定发布？
    with senior.expect_navigation():
        senior.click("#task-actions button[type=submit]")
    message = senior.inner_text(".messages")
    assert "已发布 5 件" in message and "部分开放 1 件" in message and "延期开放 1 件" in message
    assert senior.inner_text("#published-count") == "5"
    shot(senior, "review-published")
    states = dict(
        Record.objects.filter(pk__in=[r.pk for r in due]).values_list("pk", "open_status")
    )
    assert states == {**{r.pk: "open" for r in due}, walk.identity.pk: "closed"}
    assert not ReviewItem.objects.filter(task=task, published_at__isnull=True).exists()

    # the deferral list for the authority: the deferred record with its ground, rule and year
    with senior.expect_download() as download:
        senior.click("a:has-text('延期开放目录 Excel')")
    sheet = openpyxl.load_workbook(io.BytesIO(Path(download.value.path()).read_bytes())).active
    rows = [
        [str(c) if c is not None else "" for c in row] for row in sheet.iter_rows(values_only=True)
    ]
    head, body = rows[0], rows[1:]
    assert [r[head.index("档号")] for r in body] == [walk.identity.reference_code]
    row = dict(zip(head, body[0], strict=True))
    assert row["延期开放依据"] == "第八条（三）知识产权、个人信息"
    assert (row["具体规则"], row["复审年度"], row["形成单位意见"]) == (RULE, REREVIEW, "同意")

    # --- the public (no sign-in): the redacted title, a copy without the sentence, search
    public = browser_as(None)
    public.goto(base + f"/public/records/{walk.privacy.pk}/")
    title = public.inner_text("#record-title")
    assert title == "中共兰州市档案局党组会议纪要：■■■"
    page_text = public.inner_text("body")
    assert "王建华" not in page_text and "留党察看" not in page_text
    frame = public.locator("iframe.pdf-frame")
    frame.scroll_into_view_if_needed()  # it loads lazily
    shown = frame.element_handle().content_frame()
    shown.wait_for_load_state()
    assert shown.url == base + f"/public/records/{walk.privacy.pk}/open-copy.pdf", shown.url
    shot(public, "review-public-record")
    response = public.request.get(base + f"/public/records/{walk.privacy.pk}/open-copy.pdf")
    assert response.ok and response.body().startswith(b"%PDF")
    pdf = tmp_path / "open-copy.pdf"
    pdf.write_bytes(response.body())
    text = subprocess.run(
        ["pdftotext", "-enc", "UTF-8", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout
    flat = "".join(text.split())
    assert "党组会议纪要" in flat and "王建华" not in flat and "留党察看" not in flat

    def public_hits(q: str) -> str:
        public.goto(base + "/public/search/?q=" + q)
        public.wait_for_selector("#results-title")
        return str(public.inner_text("section.results"))

    for record in walk.plain:
        assert record.reference_code in public_hits(record.title[-6:])
    assert walk.privacy.reference_code in public_hits("党组会议纪要")
    for closed in ("王建华", "户籍信息", ID18):
        assert "没有找到符合条件的开放档案" in public_hits(closed), closed
    assert public.goto(base + f"/public/records/{walk.identity.pk}/").status == 404
