"""保管期限, 密级, 开放状态, dates and the 25-year open date."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from lantai.standards import vocabularies as v
from lantai.standards.categories import get_category, load_categories


@pytest.mark.parametrize(
    "value,code",
    [
        ("Y", "Y"),
        ("永久", "Y"),
        ("D30", "D30"),
        ("定期30年", "D30"),
        ("30年", "D30"),
        (" 定期 30 年 ", "D30"),
        ("定期３０年", "D30"),  # full-width digits
        ("d10", "D10"),
        ("定期10年", "D10"),
        ("10年", "D10"),
    ],
)
def test_retention_inputs(value: str, code: str) -> None:
    r = v.normalize_retention(value)
    assert r.code == code
    assert r.legacy is None
    assert (
        r.label_zh == {"Y": "永久", "D100": "定期100年", "D30": "定期30年", "D10": "定期10年"}[code]
    )


def test_retention_legacy_values_are_mapped_and_recorded() -> None:
    r = v.normalize_retention("长期")
    assert (r.code, r.label_zh, r.legacy, r.years) == ("D30", "定期30年", "长期", 30)
    r = v.normalize_retention("短期")
    assert (r.code, r.legacy) == ("D10", "短期")


@pytest.mark.parametrize("value", ["Q", "", None, "D20", "永远", 30])
def test_retention_unknown_values(value: object) -> None:
    with pytest.raises(v.VocabularyError) as info:
        v.normalize_retention(value)
    assert info.value.vocabulary == "retention"
    assert "永久、定期100年、定期30年、定期10年" in info.value.message_zh


@pytest.mark.parametrize(
    "value,code,level",
    [
        ("公开", "public", 0),
        ("", "public", 0),
        (None, "public", 0),
        ("无", "public", 0),
        ("非密", "public", 0),
        ("public", "public", 0),
        ("限制", "restricted", 1),
        ("秘密", "confidential", 2),
        ("confidential", "confidential", 2),
        ("机密", "secret", 3),
        ("绝密", "top_secret", 4),
        ("Top Secret", "top_secret", 4),
        ("top_secret", "top_secret", 4),
    ],
)
def test_classification_variants(value: str | None, code: str, level: int) -> None:
    c = v.normalize_classification(value)
    assert (c.code, c.level) == (code, level)


def test_classification_labels_and_unknown() -> None:
    c = v.normalize_classification("机密")
    assert (c.label_zh, c.label_en) == ("机密", "secret")
    with pytest.raises(v.VocabularyError):
        v.normalize_classification("内部资料")
    assert v.classification_labels()["top_secret"] == "绝密"
    assert v.retention_labels() == {
        "Y": "永久",
        "D100": "定期100年",
        "D30": "定期30年",
        "D10": "定期10年",
    }


def test_open_status() -> None:
    assert v.normalize_open_status("开放").code == "open"
    assert v.normalize_open_status("未开放").code == "closed"
    assert v.normalize_open_status("控制使用").code == "restricted_use"
    assert v.normalize_open_status("restricted_use").label_zh == "控制使用"
    with pytest.raises(v.VocabularyError):
        v.normalize_open_status("半开放")


def test_every_vocabulary_has_terms() -> None:
    for name in v.vocabulary_names():
        assert v.get_vocabulary(name).terms, name
    assert {"retention", "classification", "open_status"} <= set(v.vocabulary_names())


def test_open_due_date() -> None:
    assert v.open_due_date(date(2011, 3, 15), 2011) == date(2036, 3, 15)
    assert v.open_due_date(date(2000, 2, 29), None) == date(2025, 2, 28)  # leap day
    assert v.open_due_date(date(2004, 2, 29), None) == date(2029, 2, 28)
    assert v.open_due_date(datetime(2011, 3, 15, 9, 30), None) == date(2036, 3, 15)
    assert v.open_due_date(None, 2011) == date(2036, 12, 31)  # year only: conservative
    assert v.open_due_date(None, None) is None


@pytest.mark.parametrize(
    "value",
    [
        "20110315",
        "2011-03-15",
        "2011/3/15",
        "2011.03.15",
        "2011年3月15日",
        "2011年03月15日",
        "2011-3-15",
        " 20110315 ",
        "２０１１０３１５",
        "2011-03-15 00:00:00",
        date(2011, 3, 15),
        datetime(2011, 3, 15, 10, 0),
    ],
)
def test_parse_date_good(value: object) -> None:
    assert v.parse_date(value) == date(2011, 3, 15)


@pytest.mark.parametrize(
    "value,needle",
    [
        ("20110230", "2011年2月没有30日"),
        ("2011-13-01", "没有13月"),
        ("2011/02/29", "2011年2月没有29日"),
        ("201103", "不是完整日期"),
        ("2011", "不是完整日期"),
        ("2011年3月", "不是完整日期"),
        ("2011-03", "不是完整日期"),
        ("15/03/2011", "无法识别"),
        ("2011-03/15", "无法识别"),  # mixed separators
        ("昨天", "无法识别"),
        ("", "日期为空"),
        (20110315, "不是日期"),
        (None, "不是日期"),
    ],
)
def test_parse_date_bad(value: object, needle: str) -> None:
    with pytest.raises(v.DateError) as info:
        v.parse_date(value)
    assert needle in info.value.message_zh
    assert info.value.message_en
    assert info.value.value == value


def test_leap_day_parses() -> None:
    assert v.parse_date("20120229") == date(2012, 2, 29)


def test_categories() -> None:
    cats = load_categories()
    assert list(cats) == [
        "WS", "KJ", "RS", "KU", "ZY", "ZP", "LY", "LX", "SJ", "YJ", "WY", "MT", "SW", "HY"
    ]  # fmt: skip
    assert get_category("KU").name_zh == "会计"
    assert get_category("WS").arrangement == "item"
    assert get_category("WS").code_rule == "dat22"
    from lantai.standards.archival_code import load_rules

    rules = load_rules()
    for cat in cats.values():
        assert cat.code_rule in rules, cat.code
        assert rules[cat.code_rule].arrangement == cat.arrangement, cat.code
        if cat.arrangement == "volume":
            assert cat.volume_item_rule in rules, cat.code
            # a document in a volume carries the volume's code plus its own number
            volume_rule, item_rule = rules[cat.code_rule], rules[cat.volume_item_rule]
            assert item_rule.fields == (*volume_rule.fields, "item"), cat.code
        else:
            assert cat.volume_item_rule is None
