"""The staff search page (跨全宗、跨门类检索) on real catalogue records in a real tantivy index:
exact matching for 1- and 2-character queries, the user's scope (fonds, repository, clearance)
in hits, totals, facet counts and suggestions, 递进检索, facets, advanced fields with exclusion,
sorting, snippets, errors, and the 三员 who find nothing. The records and users are those of the
search service tests (`tests.search.test_services.build_world`)."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from lantai.search import services as search_service
from lantai.search import webquery
from tests.search.test_services import PASSWORD, World, build_world

from .test_browser import shot

URL = "/search/"
SUGGEST = "/search/suggest.json"


@pytest.fixture
def index(settings: Any, tmp_path: Path) -> Iterator[None]:
    """A fresh tantivy index of this test's own, used by the search service."""
    settings.SEARCH_BACKEND = "tantivy"
    settings.SEARCH_INDEX_DIR = tmp_path / "index"
    settings.SEARCH_TEXT_CACHE_DIR = tmp_path / "text"
    search_service.reset_backends()
    yield
    search_service.reset_backends()


@pytest.fixture
def world(index: None, db: None, django_capture_on_commit_callbacks: Any) -> World:
    """The catalogue, indexed through the incremental path (the jobs queued on commit)."""
    with django_capture_on_commit_callbacks(execute=True):
        return build_world()


def client_for(world: World, name: str) -> Client:
    client = Client()
    client.force_login(world.users[name])
    return client


def hit_ids(html: str) -> list[int]:
    """The record ids the result list links to, in order."""
    hits = html.split('class="search-hits"', 1)
    if len(hits) < 2:
        return []
    return [
        int(i)
        for i in re.findall(r'class="hit-title"><a href="/records/(\d+)/(?:\?q=[^"]*)?"', hits[1])
    ]


def get(client: Client, **params: Any) -> tuple[Any, str]:
    response = client.get(URL, params)
    assert response.status_code == 200
    return response, response.content.decode()


def suggestions(client: Client, prefix: str) -> list[str]:
    response = client.get(SUGGEST, {"q": prefix})
    assert response.status_code == 200
    return list(response.json()["suggestions"])


# --- exact matching ----------------------------------------------------------------------------------
def test_one_and_two_character_queries_find_exactly_the_records(world: World) -> None:
    low = client_for(world, "all0")  # every fonds, clearance 0
    marriage = {
        world.open.pk, world.closed.pk, world.restricted.pk, world.other_fonds.pk, world.repo_b.pk,
    }  # fmt: skip
    for text in ("婚", "婚姻"):
        response, html = get(low, q=text)
        assert set(hit_ids(html)) == marriage, text
        assert response.context["results"].total == 5
        assert "共 5 条结果" in html
    _, html = get(low, q="登记")
    assert set(hit_ids(html)) == {world.open.pk, world.repo_b.pk}
    _, html = get(low, q="涉外")  # only in the GB18030 text file of one record
    assert hit_ids(html) == [world.open.pk]
    assert "<mark>涉外</mark>" in html  # highlighted snippet of the full text
    # the hit opens the record with the query, so its digitized pages show where it is
    assert f'href="{reverse("web:record", args=[world.open.pk])}?q=%E6%B6%89%E5%A4%96"' in html
    _, html = get(low, q="兰台秘录")  # the text layer of a PDF
    assert hit_ids(html) == [world.pdf.pk]


def test_each_hit_shows_its_catalogue_fields(world: World) -> None:
    _, html = get(client_for(world, "all1"), q="婚姻档案")
    assert hit_ids(html) == [world.secret.pk]
    item = html.split('class="search-hit"', 1)[1].split("</li>", 1)[0]
    for shown in (world.secret.reference_code, "岭南省民政厅", "2011-03-05", "Z109 岭南省民政厅"):
        assert shown in item
    assert "未开放" in item and "限制" in item and "文书" in item  # 开放状态, 密级, 门类 WS


# --- scope ---------------------------------------------------------------------------------------------
def test_records_outside_the_fonds_scope_never_appear(world: World) -> None:
    reader = client_for(world, "j019")  # scope: fonds J019 only
    response, html = get(reader, q="婚")
    assert hit_ids(html) == [world.other_fonds.pk]
    results = response.context["results"]
    assert results.total == 1 and "共 1 条结果" in html
    assert results.facets["fonds"] == {"000001/J019": 1}
    assert sum(results.facets["open_status"].values()) == 1
    assert "Z109" not in html and "C001" not in html and "婚姻纠纷" not in html
    assert suggestions(reader, "婚姻") == ["婚姻法宣传材料"]
    # the other repository's user sees only that repository
    response, html = get(client_for(world, "repo_b"), q="婚姻")
    assert hit_ids(html) == [world.repo_b.pk]
    assert response.context["results"].facets["repository"] == {"441900": 1}


def test_records_above_the_clearance_never_appear(world: World) -> None:
    low, high = client_for(world, "all0"), client_for(world, "all1")
    response, html = get(low, q="婚姻")
    assert world.secret.pk not in hit_ids(html)
    facets = response.context["results"].facets
    assert sum(facets["classification"].values()) == 5
    assert sum(facets["open_status"].values()) == 5 and facets["open_status"]["closed"] == 1
    assert "婚姻档案专项检查报告" not in html
    assert "婚姻档案专项检查报告" not in suggestions(low, "婚姻")
    _, html = get(low, q="档")  # only in the title of the classified record
    assert hit_ids(html) == [] and "没有找到符合条件的档案" in html
    # with clearance 1 it is found
    response, html = get(high, q="婚姻")
    assert world.secret.pk in hit_ids(html) and response.context["results"].total == 6
    assert response.context["results"].facets["open_status"]["closed"] == 2
    assert "婚姻档案专项检查报告" in suggestions(high, "婚姻")
    assert get(high, q="档")[1].count('class="search-hit"') == 1


def test_the_admin_triad_finds_nothing_and_is_told(world: World) -> None:
    admin = client_for(world, "sysadmin")  # 系统管理员 with scope_all and clearance 4
    response, html = get(admin, q="婚姻")
    assert response.context["results"] is None and hit_ids(html) == []
    assert 'id="search-nothing"' in html and "不能查阅档案" in html
    assert 'href="/search/"' not in html  # no 检索 in the navigation, no header search box
    assert suggestions(admin, "婚姻") == []


def test_anonymous_visitors_are_sent_to_sign_in(world: World) -> None:
    for url in (URL + "?q=婚姻", SUGGEST + "?q=婚姻"):
        response = Client().get(url)
        assert response.status_code == 302
        assert response["Location"].startswith("/login/")


def test_navigation_and_header_search_box(world: World) -> None:
    html = client_for(world, "all0").get("/").content.decode()
    assert 'href="/search/"' in html and 'class="topbar-search"' in html


# --- 递进检索, facets, advanced fields, sorting ---------------------------------------------------
def test_search_within_results_narrows_and_chips_remove(world: World) -> None:
    low = client_for(world, "all0")
    response = low.get(URL, {"q": "婚姻", "q2": "统计"})
    assert response.status_code == 302
    location = response["Location"]
    assert "w=%E5%A9%9A%E5%A7%BB" in location  # 婚姻 is now an earlier query
    response = low.get(location)
    html = response.content.decode()
    assert hit_ids(html) == [world.repo_b.pk]
    assert response.context["query"].within[0].text == "婚姻"
    assert 'class="chip">婚姻' in html
    # a third step carries both earlier queries as hidden fields
    form = html.split('id="within-form"', 1)[1].split("</form>", 1)[0]
    assert '<input type="hidden" name="w" value="婚姻">' in form
    assert '<input type="hidden" name="q" value="统计">' in form
    response = low.get(URL, {"q": "统计", "w": "婚姻", "q2": "岭南"})
    narrowed = low.get(response["Location"])
    assert [w.text for w in narrowed.context["query"].within] == ["婚姻", "统计"]
    assert hit_ids(narrowed.content.decode()) == [world.repo_b.pk]
    # removing the chip drops that earlier query
    chip = re.search(r'class="chip">婚姻 <a href="([^"]+)"', html)
    assert chip is not None
    wider = low.get(chip.group(1).replace("&amp;", "&"))
    assert wider.context["query"].within == ()


def test_facets_filter_and_show_counts(world: World) -> None:
    low = client_for(world, "all0")
    _, html = get(low, q="婚姻")
    assert re.search(r'name="fonds" value="000001/Z109"\s*data-autosubmit> Z109 岭南省民政厅 <span class="count">\(3\)', html)  # fmt: skip
    assert re.search(r'name="open_status" value="open"\s*data-autosubmit> 开放 <span class="count">\(3\)', html)  # fmt: skip
    _, html = get(low, q="婚姻", fonds="000001/Z109")
    assert set(hit_ids(html)) == {world.open.pk, world.closed.pk, world.restricted.pk}
    assert 'name="fonds" value="000001/Z109" checked' in html
    # the other fonds can still be ticked: counted without the fonds filter
    assert re.search(r'name="fonds" value="000001/J019"\s*data-autosubmit> J019 岭南省教育厅 <span class="count">\(1\)', html)  # fmt: skip
    assert re.search(r'name="open_status" value="open"\s*data-autosubmit> 开放 <span class="count">\(1\)', html)  # fmt: skip
    _, html = get(low, q="婚姻", open_status="open")
    assert set(hit_ids(html)) == {world.open.pk, world.other_fonds.pk, world.repo_b.pk}
    _, html = get(low, q="婚姻", open_status="open", fonds=["000001/Z109", "000001/J019"])
    assert set(hit_ids(html)) == {world.open.pk, world.other_fonds.pk}
    # the facet form keeps the query and the other filters, but not its own facets
    form = html.split('id="facet-form"', 1)[1].split("</form>", 1)[0]
    assert '<input type="hidden" name="q" value="婚姻">' in form
    assert 'type="hidden" name="fonds"' not in form


def test_advanced_fields_exclusion_ranges_and_sort(world: World) -> None:
    low = client_for(world, "all0")
    _, html = get(low, title="婚姻登记")
    assert set(hit_ids(html)) == {world.open.pk, world.repo_b.pk}
    _, html = get(low, q="婚姻", title="登记", title_not="1")
    assert set(hit_ids(html)) == {world.closed.pk, world.restricted.pk, world.other_fonds.pk}
    _, html = get(low, full_text="婚姻")  # the title is not the full text
    assert hit_ids(html) == [world.open.pk]
    _, html = get(low, reference_code="J019")
    assert hit_ids(html) == [world.other_fonds.pk]
    _, html = get(low, q="婚姻", date_from="2011-03-04", date_to="2011-03-06")
    assert set(hit_ids(html)) == {world.restricted.pk, world.other_fonds.pk}
    _, html = get(low, q="婚姻", year_from="2012")
    assert hit_ids(html) == []
    response, html = get(low, q="婚姻", sort="reference_code")
    codes = [h["reference_code"] for h in response.context["hits"]]
    assert codes == sorted(codes) and len(codes) == 5
    response, _ = get(low, q="婚姻", sort="date")
    assert [h["date"] for h in response.context["hits"]] == sorted(
        h["date"] for h in response.context["hits"]
    )


def test_errors_are_shown_on_the_form(world: World) -> None:
    low = client_for(world, "all0")
    _, html = get(low, q="婚" * 300)
    assert 'id="search-errors"' in html and "检索词过长" in html
    _, html = get(low, q="婚姻", date_from="2011-02-30")
    assert "不是有效日期" in html and len(hit_ids(html)) == 5


def test_the_page_in_english(world: World) -> None:
    low = client_for(world, "all0")
    low.post("/i18n/setlang/", {"language": "en", "next": "/"})
    _, html = get(low, q="婚姻")
    assert "Advanced search" in html and "Search within results" in html
    assert "Full text" in html and "Exclude" in html
    assert "Open" in html  # 开放 as its English label


def test_pager_links() -> None:
    form = webquery.Form(advanced=(), facets=(), page_size=2, max_page=10)
    params = {"q": ["婚姻"]}
    first = webquery.pager(params, URL, 1, 5, 2, form)
    assert (first["pages"], first["first"], first["last"], first["prev_url"]) == (3, 1, 2, "")
    assert first["next_url"] == URL + "?q=%E5%A9%9A%E5%A7%BB&page=2"
    last = webquery.pager(params, URL, 3, 5, 1, form)
    assert last["next_url"] == "" and last["prev_url"].endswith("page=2")


# --- in a browser ------------------------------------------------------------------------------------
@pytest.fixture
def live_world(index: None, transactional_db: None) -> World:
    return build_world()  # committed: the index jobs run on commit


@pytest.mark.browser
def test_typing_a_query_and_refining_it(page: Any, live_server: Any, live_world: World) -> None:
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"  # Playwright's sync API runs an event loop
    base = live_server.url
    page.goto(base + "/search/")
    assert "/login/" in page.url
    page.fill("input[name=username]", "low")
    page.fill("input[name=password]", PASSWORD)
    page.click("button:has-text('登录')")
    page.wait_for_url("**/search/")

    page.fill("#q", "婚姻")
    page.wait_for_selector("#q-suggestions li")  # autocomplete within the user's scope
    titles = page.locator("#q-suggestions li").all_inner_texts()
    assert "婚姻纠纷调解记录" in titles and "婚姻档案专项检查报告" not in titles
    page.keyboard.press("Escape")
    page.press("#q", "Enter")
    page.wait_for_selector(".results-summary:has-text('共 5 条结果')")
    assert page.locator(".search-hit").count() == 5
    shot(page, "search")

    page.fill("#q2", "统计")
    page.click("#within-form button")
    page.wait_for_selector(".results-summary:has-text('共 1 条结果')")
    assert "婚姻登记统计表" in page.inner_text(".search-hits")
    assert "婚姻" in page.inner_text(".within-chain")
    shot(page, "search-within")

    page.click(".within-chain a")  # drop 婚姻: 统计 alone
    page.wait_for_selector(".within-chain", state="detached")
    page.fill("#q", "婚姻")
    page.press("#q", "Enter")
    page.wait_for_selector(".results-summary:has-text('共 5 条结果')")
    page.check("input[name=fonds][value='000001/Z109']")  # a facet applies itself
    page.wait_for_selector(".results-summary:has-text('共 3 条结果')")
    shot(page, "search-facet")
    page.click(".search-hit .hit-title a >> nth=0")
    page.wait_for_selector("h1.record-title")
