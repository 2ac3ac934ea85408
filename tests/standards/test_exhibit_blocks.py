"""The exhibition blocks as data and their validation: bad inputs give problems that name the
place and the rule in Chinese and English; good inputs give none."""

from __future__ import annotations

from typing import Any

import pytest

from lantai.standards import exhibit_blocks as eb


def item(**over: Any) -> dict[str, Any]:
    return {"record": 1, "component": 2, "alt": "1949年布告原件", **over}


def content(*blocks: dict[str, Any], slug: str = "intro") -> dict[str, Any]:
    return {
        "sections": [
            {"title": "序章", "pages": [{"slug": slug, "title": "序", "blocks": list(blocks)}]}
        ]
    }


def test_every_kind_the_issue_names_is_in_the_data_file() -> None:
    assert set(eb.kinds()) == {
        "text", "image", "gallery", "deepzoom", "compare", "media", "timeline", "map", "quote"
    }  # fmt: skip
    assert eb.kind("compare").label == "对比"  # type: ignore[union-attr]


def test_a_valid_exhibition_has_no_problems() -> None:
    good = content(
        {"kind": "text", "heading": "序言", "body": "正文", "body_en": "Body"},
        {"kind": "image", "items": [item(caption="布告")]},
        {"kind": "gallery", "items": [item(), item(component=3)]},
        {"kind": "deepzoom", "items": [item()]},
        {"kind": "compare", "items": [item(), item(component=3)]},
        {"kind": "media", "recording": 5, "start": 1.5, "end": 20, "caption": "讲话录音"},
        {"kind": "timeline", "events": [{"date": "1949-10-01", "title": "开国大典", "record": 1}]},
        {"kind": "map", "places": [{"place": "南宁市", "label": "南宁"}]},
        {"kind": "quote", "text": "为人民服务", "source": "毛泽东", "record": 1},
    )
    assert eb.validate_content(good, complete=True, resolve_place=lambda name: object()) == []


def test_missing_alt_text_names_section_page_block_and_rule() -> None:
    bad = content({"kind": "text", "body": "x"}, {"kind": "text", "body": "y"},
                  {"kind": "image", "items": [item(alt="  ")]})  # fmt: skip
    bad["sections"].insert(0, {"title": "第一部分", "pages": []})
    [problem] = eb.validate_content(bad)
    assert problem.zh == (
        "第2部分第1页第3块（图片）第1幅图：缺少替代文字（无障碍要求每幅图片都有替代文字）"
    )
    assert problem.en.startswith("Section 2, page 1, block 3 (image), image 1: alt text missing")
    assert (problem.section, problem.page, problem.block, problem.field) == (2, 1, 3, "items.1.alt")


@pytest.mark.parametrize(
    ("block", "rule", "words"),
    [
        ({"kind": "poster"}, "unknown_kind", "未知的内容块类型“poster”"),
        ({"kind": "image", "items": []}, "too_few", "图片至少需要1项"),
        ({"kind": "compare", "items": [item()]}, "too_few", "图片至少需要2项"),
        ({"kind": "image", "items": [item(), item()]}, "too_many", "图片最多1项"),
        ({"kind": "image", "items": [item(record="abc")]}, "not_int", "档案应为正整数"),
        ({"kind": "image", "items": [{"alt": "x", "component": 2}]}, "required", "缺少档案"),
        ({"kind": "text", "body": "x" * 20001}, "too_long", "正文过长（最多20000个字）"),
        ({"kind": "text", "body": "x", "colour": "red"}, "unknown_field", "不认识的字段"),
        ({"kind": "media", "recording": 1, "start": 30, "end": 10}, "end_before_start", "结束时间"),
        ({"kind": "media", "recording": 1, "start": -1}, "not_number", "开始时间"),
        ({"kind": "media"}, "required", "缺少音视频"),
        ({"kind": "timeline", "events": [{"date": "1949-13-01", "title": "x"}]}, "not_date",
         "第1个事件：日期“1949-13-01”不是有效日期"),
        ({"kind": "timeline", "events": [{"date": "1949"}]}, "required", "缺少标题"),
        ({"kind": "timeline", "events": "1949"}, "not_list", "事件应为列表"),
        ({"kind": "quote", "source": "x"}, "required", "缺少文字"),
        ({"kind": "timeline", "events": [{"date": "1950", "title": "x", "item": {"record": 1}}]},
         "alt_required", "替代文字"),
    ],
)  # fmt: skip
def test_bad_blocks(block: dict[str, Any], rule: str, words: str) -> None:
    problems = eb.validate_block(block, section=1, page=2, number=3)
    assert rule in {p.rule for p in problems}
    assert any(words in p.zh and p.zh.startswith("第1部分第2页第3块") for p in problems), problems
    assert all(p.en.startswith("Section 1, page 2, block 3") for p in problems)


def test_place_names_are_resolved_by_the_given_gazetteer() -> None:
    block = {"kind": "map", "places": [{"place": "南宁市"}, {"place": "火星城"}]}
    known = {"南宁市"}
    [problem] = eb.validate_block(block, resolve_place=lambda n: n if n in known else None)
    assert problem.rule == "unknown_place"
    assert "第2个地点：地名“火星城”在地名表中找不到" in problem.zh


@pytest.mark.parametrize("slug", ["", "Intro", "第一页", "a b", "-x", "a/b", "x" * 65, "preview"])
def test_page_slugs_must_be_url_safe(slug: str) -> None:
    problems = eb.validate_content(content({"kind": "text", "body": "x"}, slug=slug))
    assert [p.rule for p in problems] in (["slug_invalid"], ["slug_reserved"])
    assert "网址名" in problems[0].zh


def test_page_slugs_must_be_unique() -> None:
    page = {"slug": "one", "title": "一", "blocks": [{"kind": "text", "body": "x"}]}
    doubled = {"sections": [{"title": "甲", "pages": [page]}, {"title": "乙", "pages": [page]}]}
    [problem] = eb.validate_content(doubled)
    assert problem.rule == "slug_duplicate" and problem.zh.startswith("第2部分第1页")


def test_complete_content_needs_sections_pages_and_blocks() -> None:
    assert [p.rule for p in eb.validate_content({"sections": []}, complete=True)] == ["no_sections"]
    empty = {"sections": [{"title": "甲", "pages": []}]}
    assert [p.rule for p in eb.validate_content(empty, complete=True)] == ["empty_section"]
    assert eb.validate_content(empty) == []  # a draft may be unfinished


def test_malformed_content_is_a_problem_not_an_exception() -> None:
    for bad in (None, [], {"sections": "x"}, {"sections": [3]}, {"sections": [{"title": "a", "pages": [7]}]}):  # fmt: skip
        assert eb.validate_content(bad)


def test_record_ids_reach_items_events_places_quotes_and_cover() -> None:
    c = content(
        {"kind": "image", "items": [item(record=11)]},
        {"kind": "timeline", "events": [{"date": "1950", "title": "x", "record": 12,
                                         "item": item(record=13)}]},
        {"kind": "map", "places": [{"place": "南宁市", "record": 14}]},
        {"kind": "quote", "text": "x", "record": 15},
    )  # fmt: skip
    assert eb.record_ids(c, cover=item(record=16)) == {11, 12, 13, 14, 15, 16}
