"""The DA/T 46-2009 profile: structure of the 88 elements and record validation."""

from __future__ import annotations

from datetime import date

import pytest

from lantai.standards.metadata_profile import Violation, load_profile

TODAY = date(2024, 6, 1)


@pytest.fixture
def record() -> dict[str, object]:
    return {
        "reference_code": "Z109-WS·2011-Y-BGS-0001",
        "title": "关于印发2011年档案工作要点的通知",
        "author": "某某市档案局",
        "document_number": "某档发〔2011〕3号",
        "date": date(2011, 3, 15),
        "year": 2011,
        "retention": "Y",
        "classification": "public",
        "pages": 5,
        "org_code": "BGS",
        "remarks": "",
        "open_status": "closed",
        "not_a_profile_field": object(),
    }


def _rules(violations: list[Violation]) -> list[tuple[str, str, str]]:
    return [(x.field, x.rule, x.severity) for x in violations]


def test_profile_has_88_elements_with_unique_numbers_and_names() -> None:
    p = load_profile()
    assert p.version == "DA/T 46-2009"
    assert p.profile_version == 1
    assert [e.number for e in p.elements] == list(range(1, 89))
    assert len({e.name_zh for e in p.elements}) == 88
    assert len({e.name_en for e in p.elements}) == 88


def test_parents_exist_and_are_containers() -> None:
    p = load_profile()
    for e in p.elements:
        if e.parent is not None:
            assert p.by_number(e.parent).container, e.label
    containers = {e.number for e in p.elements if e.container}
    assert containers == {2, 8, 21, 40, 46, 52, 57, 65, 70}
    assert [e.number for e in p.elements if e.parent == 8] == list(range(9, 21))
    assert [e.number for e in p.elements if e.parent == 21] == list(range(22, 40))
    assert [e.number for e in p.elements if e.parent == 2] == [3, 4, 5, 6]
    assert all(p.by_number(n).parent is None for n in range(75, 89))


def test_entities_and_lookups() -> None:
    p = load_profile()
    assert p.by_number(22).name_zh == "题名"
    assert p.by_name("题名").number == 22
    assert p.by_field("title").label == "M22 题名"
    assert p.by_field("remarks").number == 75
    assert p.by_field("reference_code").number == 8
    assert p.by_number(77).entity == "agent"
    assert p.by_number(80).entity == "business"
    assert p.by_number(88).entity == "relation"
    assert p.by_number(1).entity == "record"
    with pytest.raises(KeyError):
        p.by_number(89)


def test_requiredness_from_the_dat48_schema() -> None:
    p = load_profile()
    mandatory = {e.name_zh for e in p.elements if e.required == "mandatory" and not e.container}
    for name in ("聚合层次", "立档单位名称", "电子文件号", "年度", "保管期限", "题名", "责任者",
                 "密级", "文件组合类型", "计算机文件名", "计算机文件大小"):  # fmt: skip
        assert name in mandatory, name
    # 日期 is mandatory for documents (件, 卷内文件); a 案卷 has the dates of its contents instead
    assert p.by_name("日期").required_in == ("item", "volume_item")
    assert p.by_name("室编件号").required == "conditional"
    assert p.by_name("馆编件号").required == "conditional"
    assert p.by_name("全宗号").required == "optional"
    assert p.by_name("保管期限").vocabulary == "retention"
    assert p.by_name("密级").vocabulary == "classification"


def test_valid_record_has_no_violations(record: dict[str, object]) -> None:
    p = load_profile()
    assert p.validate(record, today=TODAY) == []
    as_typed = dict(record, date="20110315", year="2011", pages="5", retention="永久",
                    classification="", open_status="未开放")  # fmt: skip
    assert p.validate(as_typed, today=TODAY) == []


def test_missing_title(record: dict[str, object]) -> None:
    for blank in (None, "", "   "):
        found = load_profile().validate(dict(record, title=blank), today=TODAY)
        assert _rules(found) == [("title", "required", "error")]
        assert found[0].element == "M22 题名"
        assert "题名" in found[0].message_zh
    del record["title"]
    assert _rules(load_profile().validate(record, today=TODAY)) == [("title", "required", "error")]


def test_too_long_title(record: dict[str, object]) -> None:
    found = load_profile().validate(dict(record, title="很" * 1001), today=TODAY)
    assert _rules(found) == [("title", "max_length", "error")]
    assert "1001" in found[0].message_zh
    assert load_profile().validate(dict(record, title="很" * 1000), today=TODAY) == []


def test_bad_vocabulary(record: dict[str, object]) -> None:
    found = load_profile().validate(dict(record, retention="Q", classification="甲等"), today=TODAY)
    assert _rules(found) == [
        ("retention", "vocabulary", "error"),
        ("classification", "vocabulary", "error"),
    ]
    legacy = load_profile().validate(dict(record, retention="长期"), today=TODAY)
    assert _rules(legacy) == [("retention", "vocabulary", "warning")]


def test_replacement_character_and_control_characters(record: dict[str, object]) -> None:
    found = load_profile().validate(dict(record, title="关于\ufffd\ufffd的通知"), today=TODAY)
    assert _rules(found) == [("title", "special_chars", "error")]
    assert "U+FFFD" in found[0].message_zh
    found = load_profile().validate(dict(record, author="某\x07局"), today=TODAY)
    assert _rules(found) == [("author", "special_chars", "error")]
    assert "U+0007" in found[0].message_zh


def test_whitespace_and_line_breaks_warn(record: dict[str, object]) -> None:
    p = load_profile()
    assert _rules(p.validate(dict(record, title=" 通知"), today=TODAY)) == [
        ("title", "special_chars", "warning")
    ]
    assert _rules(p.validate(dict(record, title="通知\n附件"), today=TODAY)) == [
        ("title", "special_chars", "warning")
    ]
    assert p.validate(dict(record, remarks="第一行\n第二行", title="通知\t附件"), today=TODAY) == []


def test_future_date(record: dict[str, object]) -> None:
    found = load_profile().validate(dict(record, date=date(2024, 6, 2)), today=TODAY)
    assert _rules(found) == [("date", "future_date", "error")]
    assert load_profile().validate(dict(record, date=TODAY), today=TODAY) == []
    found = load_profile().validate(dict(record, year=2025), today=TODAY)
    assert _rules(found) == [("year", "future_date", "error")]


def test_bad_dates(record: dict[str, object]) -> None:
    found = load_profile().validate(dict(record, date="20110230"), today=TODAY)
    assert _rules(found) == [("date", "datatype", "error")]
    assert "2月没有30日" in found[0].message_zh


def test_bad_page_count(record: dict[str, object]) -> None:
    p = load_profile()
    for bad in (-1, "五", "5页", 2.5, True):
        assert _rules(p.validate(dict(record, pages=bad), today=TODAY)) == [
            ("pages", "datatype", "error")
        ], bad
    assert p.validate(dict(record, pages=0), today=TODAY) == []
    assert p.validate(dict(record, pages=12.0), today=TODAY) == []


def test_year_range(record: dict[str, object]) -> None:
    p = load_profile()
    assert _rules(p.validate(dict(record, year=1850), today=TODAY)) == [("year", "range", "error")]
    assert _rules(p.validate(dict(record, year="11"), today=TODAY)) == [
        ("year", "datatype", "error")
    ]
    assert p.validate(dict(record, year=1850), today=TODAY, year_range=(1800, 2100)) == []
    found = p.validate(dict(record, year=1950), today=TODAY, year_range=(1949 + 10, 2100))
    assert _rules(found) == [("year", "range", "error")]


def test_context_makes_item_or_volume_number_required(record: dict[str, object]) -> None:
    p = load_profile()
    no_code = dict(record, reference_code="")
    assert _rules(p.validate(no_code, context="item", today=TODAY)) == [
        ("reference_code", "required", "error"),
        ("item_number", "required", "error"),
    ]
    assert _rules(p.validate(dict(no_code, item_number="1"), today=TODAY)) == [
        ("reference_code", "required", "error")
    ]
    volume = _rules(p.validate(no_code, context="volume", today=TODAY))
    assert ("volume_number", "required", "error") in volume
    assert ("item_number", "required", "error") not in volume
    with pytest.raises(ValueError):
        p.validate(record, context="box")


def test_blank_classification_means_public(record: dict[str, object]) -> None:
    assert load_profile().validate(dict(record, classification=""), today=TODAY) == []
    assert load_profile().validate(dict(record, classification=None), today=TODAY) == []


def test_several_problems_at_once(record: dict[str, object]) -> None:
    row = dict(record, title="", author="某\ufffd局", pages="x", date="2030-01-01")
    assert sorted(_rules(load_profile().validate(row, today=TODAY))) == [
        ("author", "special_chars", "error"),
        ("date", "future_date", "error"),
        ("pages", "datatype", "error"),
        ("title", "required", "error"),
    ]
