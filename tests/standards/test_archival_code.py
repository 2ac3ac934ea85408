"""档号 rules (DA/T 13-2022, DA/T 22-2015): parse, build, diagnosis, templates, gaps, duplicates."""

from __future__ import annotations

import pytest

from lantai.standards import archival_code as ac
from lantai.standards.categories import load_categories

# Every example quoted in cn-standards.md §4.4, with the rule it belongs to.
STANDARD_EXAMPLES = {
    "Z109-WS·2011-Y-BGS-0001": "dat22",
    "J019-ZY·JC·CC·2019·D30-001-001": "zy-volume-item",
    "J019-KU·01·2017-001-001": "ku-volume-item",
    "X032-KJ·KY·01-003": "kj-project",
    "K021-ZP·2019·D30-025-005": "zp-group",
    "A439-WS·2015·D30·003-005": "dat22-org-same-level",
    "Z008-WS·2019·Y-037": "dat13-item",
    "C015-WY·TZGG·2019·D10-00001": "wy-class",
    "B168-SW·2015·Y-001": "dat13-item",
    "C038-001-002-003": "traditional",
}

DAT22 = "Z109-WS·2011-Y-BGS-0001"


@pytest.mark.parametrize("code,rule_name", STANDARD_EXAMPLES.items())
def test_standard_examples_parse_and_round_trip(code: str, rule_name: str) -> None:
    rule = ac.get_rule(rule_name)
    parsed = rule.parse(code)
    assert parsed.rule == rule_name
    assert parsed.code == code
    assert rule.build(parsed.components) == code
    assert parsed.sequence_prefix + parsed.components[rule.sequence_field] == code
    # parse_any finds the same rule: the built-in order does not let another rule shadow it
    assert ac.parse_any(code).rule == rule_name


def test_every_builtin_rule_example_parses_under_its_rule() -> None:
    rules = ac.load_rules()
    assert list(rules)[0] == "dat22" == ac.default_rule().name
    for name, rule in rules.items():
        assert rule.example, name
        assert rule.label_zh, name
        assert rule.parse(rule.example).rule == name
        assert rule.build(rule.parse(rule.example).components) == rule.example


def test_dat22_components_and_sequence() -> None:
    parsed = ac.get_rule("dat22").parse(DAT22)
    assert parsed.components == {
        "fonds": "Z109",
        "category": "WS",
        "year": "2011",
        "retention": "Y",
        "org": "BGS",
        "item": "0001",
    }
    assert parsed.sequence_prefix == "Z109-WS·2011-Y-BGS-"
    assert parsed.sequence_number == 1
    assert ac.get_rule("dat22").fields == ("fonds", "category", "year", "retention", "org", "item")


def test_build_missing_component() -> None:
    with pytest.raises(ac.CodeError) as info:
        ac.get_rule("dat22").build({"fonds": "Z109", "category": "WS", "year": 2011, "org": "BGS"})
    assert info.value.field == "retention"  # the first missing one, in template order
    assert "缺少“保管期限代码”" in info.value.message_zh


def test_default_rule_builds_from_components() -> None:
    rule = ac.get_rule("dat22")
    components: dict[str, str | int] = {
        "fonds": "Z109", "category": "WS", "year": 2011, "retention": "Y", "org": "BGS"
    }  # fmt: skip
    assert rule.build({**components, "item": 1}) == DAT22
    assert rule.build({**components, "item": "1"}) == DAT22
    assert rule.build({**components, "item": "0001", "title": "ignored"}) == DAT22
    assert rule.build({**components, "item": 123}) == "Z109-WS·2011-Y-BGS-0123"


@pytest.mark.parametrize(
    "changes,field",
    [
        ({"fonds": ""}, "fonds"),
        ({"retention": "Q"}, "retention"),
        ({"year": 1850}, "year"),
        ({"year": "20X1"}, "year"),
        ({"item": 12345}, "item"),
        ({"item": 0}, "item"),
        ({"item": -1}, "item"),
        ({"org": "B-S"}, "org"),
        ({"category": "XX"}, "category"),
    ],
)
def test_build_names_the_bad_component(changes: dict[str, str | int], field: str) -> None:
    good: dict[str, str | int] = {
        "fonds": "Z109", "category": "WS", "year": 2011, "retention": "Y", "org": "BGS", "item": 1
    }  # fmt: skip
    with pytest.raises(ac.CodeError) as info:
        ac.get_rule("dat22").build({**good, **changes})
    assert info.value.field == field
    assert info.value.rule == "dat22"
    label = ac.load_fields()[field].label_zh
    assert label in info.value.message_zh


def _error(code: str, rule: str = "dat22") -> ac.CodeError:
    with pytest.raises(ac.CodeError) as info:
        ac.get_rule(rule).parse(code)
    assert info.value.rule == rule
    return info.value


def test_wrong_retention_names_field_and_position() -> None:
    e = _error("Z109-WS·2011-Q-BGS-0001")
    assert (e.field, e.position, e.value) == ("retention", 13, "Q")
    assert e.message_zh == (
        "档号“Z109-WS·2011-Q-BGS-0001”第14个字符处的“保管期限代码”应为 Y 或 D+年限（如 D30），"
        "实际为“Q”（规则 dat22：全宗号-门类代码·年度-保管期限代码-机构(问题)代码-件号）"
    )
    assert "retention code" in e.message_en


def test_bad_year() -> None:
    e = _error("Z109-WS·1850-Y-BGS-0001")
    assert (e.field, e.position, e.value) == ("year", 8, "1850")
    assert "1900–2100" in e.message_zh
    e = _error("Z109-WS·20X1-Y-BGS-0001")
    assert (e.field, e.position) == ("year", 8)


def test_missing_item() -> None:
    e = _error("Z109-WS·2011-Y-BGS")
    assert (e.field, e.position) == ("item", 18)
    assert "缺少“件号”" in e.message_zh


def test_non_numeric_and_short_item() -> None:
    e = _error("Z109-WS·2011-Y-BGS-00A1")
    assert (e.field, e.position, e.value) == ("item", 19, "00A1")
    e = _error("Z109-WS·2011-Y-BGS-001")
    assert (e.field, e.value) == ("item", "001")
    assert "4 位数字" in e.message_zh


def test_item_zero_is_rejected() -> None:
    e = _error("Z109-WS·2011-Y-BGS-0000")
    assert (e.field, e.position) == ("item", 19)


def test_wrong_category_code() -> None:
    e = _error("Z109-XX·2011-Y-BGS-0001")
    assert (e.field, e.position, e.value) == ("category", 5, "XX")
    assert "WS、KJ" in e.message_zh


def test_extra_segment() -> None:
    e = _error("Z109-WS·2011-Y-BGS-0001-002")
    assert e.field is None
    assert e.position == 23
    assert e.value == "-002"


def test_wrong_separator_between_levels() -> None:
    e = _error("Z109-WS-2011-Y-BGS-0001")
    assert (e.field, e.position) == ("year", 7)
    assert "间隔号“·”" in e.message_zh


def test_empty_code() -> None:
    e = _error("")
    assert (e.field, e.position) == (None, 0)
    assert "档号为空" in e.message_zh
    with pytest.raises(ac.CodeError):
        ac.parse_any("   ")


def test_lower_case_is_reported_not_fixed() -> None:
    e = _error("z109-WS·2011-Y-BGS-0001")
    assert (e.field, e.position) == ("fonds", 0)
    assert "大写" in e.message_zh


def test_han_characters_in_org_are_accepted() -> None:
    parsed = ac.get_rule("dat22").parse("Z109-WS·2011-Y-办公室-0001")
    assert parsed.components["org"] == "办公室"
    assert parsed.sequence_prefix == "Z109-WS·2011-Y-办公室-"


@pytest.mark.parametrize(
    "typed",
    [
        "Z109-WS\u30fb2011-Y-BGS-0001",  # katakana middle dot
        "Z109-WS\uff652011-Y-BGS-0001",  # half-width katakana middle dot
        "Z109-WS\u20222011-Y-BGS-0001",  # bullet
        "Z109-WS\u20272011-Y-BGS-0001",  # hyphenation point
        "Z109-WS\u22192011-Y-BGS-0001",  # bullet operator
        "Z109\uff0dWS·2011\u2010Y\u2011BGS\u20130001",  # full-width hyphen, hyphens, en dash
        "Ｚ１０９-ＷＳ·２０１１-Ｙ-ＢＧＳ-０００１",  # full-width letters and digits
        " Z109-WS· 2011-Y-BGS-0001\u3000",  # spaces, ideographic space
        "\ufeffZ109-WS·2011-Y-BGS-0001",  # BOM from a CSV file
    ],
)
def test_look_alike_separators_are_normalized(typed: str) -> None:
    assert ac.normalize_code(typed) == DAT22
    assert ac.get_rule("dat22").parse(typed).code == DAT22
    assert ac.parse_any(typed).code == DAT22


def test_plain_full_stop_is_not_a_middle_dot() -> None:
    assert ac.normalize_code("Z109-WS.2011-Y-BGS-0001") == "Z109-WS.2011-Y-BGS-0001"
    e = _error("Z109-WS.2011-Y-BGS-0001")
    assert (e.field, e.position, e.value) == ("category", 7, ".")
    assert "间隔号“·”" in e.message_zh
    with pytest.raises(ac.CodeError) as info:
        ac.parse_any("Z109-WS.2011-Y-BGS-0001")
    assert info.value.position == 7


def test_parse_any_reports_the_rule_followed_furthest() -> None:
    with pytest.raises(ac.CodeError) as info:
        ac.parse_any("Z109-WS·2011-Q-BGS-0001")
    assert (info.value.rule, info.value.field, info.value.position) == ("dat22", "retention", 13)


def test_get_rule_unknown_name() -> None:
    with pytest.raises(ac.CodeRuleError) as info:
        ac.get_rule("no-such-rule")
    assert isinstance(info.value, KeyError)
    assert "no-such-rule" in str(info.value)
    assert "dat22" in info.value.message_en


def test_user_defined_rule() -> None:
    rule = ac.CodeRule.from_template("mine", "{fonds}-{category}·{year}-{item:5}", "我的规则")
    assert rule.fields == ("fonds", "category", "year", "item")
    assert rule.label_zh == "我的规则"
    code = rule.build({"fonds": "J001", "category": "KJ", "year": 2020, "item": 7})
    assert code == "J001-KJ·2020-00007"
    assert rule.parse(code).sequence_number == 7
    # look-alike separators in the template are normalised too
    assert ac.CodeRule.from_template("x", "{fonds}－{category}・{year}-{item}").template == (
        "{fonds}-{category}·{year}-{item}"
    )


@pytest.mark.parametrize(
    "template,needle",
    [
        ("{fonds}-{nosuch}-{item}", "nosuch"),
        ("{fonds}-{category}{item}", "缺少“-”或“·”"),
        ("{fonds}--{item}", "前缺少字段"),
        ("-{fonds}-{item}", "前缺少字段"),
        ("{fonds}-{item}-", "结尾"),
        ("{fonds}-{item:4", "无法识别"),
        ("{fonds}/{item}", "无法识别"),
        ("{fonds:4}-{item}", "不是数字字段"),
        ("{fonds}-{item:0}", "1–9"),
        ("{fonds}-{item:x}", "1–9"),
        ("{fonds}-{item}-{item}", "重复"),
        ("{fonds}-{category}", "顺序号结尾"),
        ("", "为空"),
    ],
)
def test_bad_templates(template: str, needle: str) -> None:
    with pytest.raises(ac.CodeRuleError) as info:
        ac.CodeRule.from_template("bad", template)
    assert needle in info.value.message_zh
    assert info.value.message_en


def test_bad_rule_name_and_arrangement() -> None:
    with pytest.raises(ac.CodeRuleError):
        ac.CodeRule.from_template("", "{fonds}-{item}")
    with pytest.raises(ac.CodeRuleError):
        ac.CodeRule.from_template("x", "{fonds}-{item}", arrangement="box")


def test_category_field_uses_all_categories() -> None:
    rule = ac.CodeRule.from_template("c", "{category}-{item}")
    for code in load_categories():
        assert rule.parse(f"{code}-1").components["category"] == code
    assert len(load_categories()) == 14


def test_find_gaps_reports_missing_numbers() -> None:
    rule = ac.get_rule("dat22")
    codes = [f"Z109-WS·2011-Y-BGS-{n:04d}" for n in (1, 2, 5)]
    codes += [f"Z109-WS·2011-Y-CWK-{n:04d}" for n in (1, 2, 3)]  # complete
    codes += [f"Z109-WS·2012-Y-BGS-{n:04d}" for n in (3, 4, 9, 10)]  # does not start at 1
    gaps = ac.find_gaps(codes, rule)
    assert [g.prefix for g in gaps] == ["Z109-WS·2011-Y-BGS-", "Z109-WS·2012-Y-BGS-"]
    first, second = gaps
    assert first.missing == [3, 4]
    assert first.missing_display() == "0003–0004"
    assert first.starts_at_one
    assert second.missing == [1, 2, 5, 6, 7, 8]
    assert second.ranges() == [(1, 2), (5, 8)]
    assert second.missing_display() == "0001–0002, 0005–0008"
    assert (second.first, second.last, second.starts_at_one) == (3, 10, False)


def test_find_gaps_complete_run_and_bad_codes() -> None:
    rule = ac.get_rule("dat22")
    codes = [f"Z109-WS·2011-Y-BGS-{n:04d}" for n in range(1, 101)] + ["Z109-WS·2011-Y-BGS-0050"]
    errors: list[ac.CodeError] = []
    assert ac.find_gaps([*codes, "nonsense", "Z109-WS·2011-Y-BGS-0102"], rule, errors=errors) == [
        ac.Gap("Z109-WS·2011-Y-BGS-", [101], 1, 102, 4)
    ]
    assert ac.find_gaps(codes, rule) == []
    assert [e.value for e in errors] == ["nonsense"]


def test_find_gaps_single_number_display() -> None:
    gaps = ac.find_gaps(["C038-001-002-001", "C038-001-002-003"], ac.get_rule("traditional"))
    assert gaps[0].missing_display() == "002"


def test_find_duplicates() -> None:
    codes = [DAT22, "Z109-WS·2011-Y-BGS-0002", DAT22, "Z109－WS・2011-Y-BGS-0001", "X-1"]
    assert ac.find_duplicates(codes) == {DAT22: 3}
    assert ac.find_duplicates(["A", "B"]) == {}
