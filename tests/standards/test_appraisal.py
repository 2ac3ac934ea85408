"""Retention schedules and appraisal rules as data: codes Y / D30 / D10 (国家档案局令第8号) and the
old 永久 / 长期 / 短期, the expiry of a period (年度 + period), 保密期限 by 密级 (保密法 art 20) and
the outcomes each kind of appraisal allows."""

from __future__ import annotations

import re
from datetime import date

import pytest

from lantai.standards import appraisal as std

CJK = re.compile(r"[\u3400-\u9fff\u3000-\u303f\uff00-\uffef]")


def test_periods_of_order_8_and_the_old_names() -> None:
    periods = std.periods()
    assert {"Y", "D30", "D10"} <= set(periods)
    assert periods["Y"].years is None and not periods["Y"].destroyable
    assert (periods["D30"].years, periods["D10"].years) == (30, 10)
    assert std.legacy_mapping() == {"永久": "Y", "长期": "D30", "短期": "D10"}
    assert std.period("长期").code == "D30" and std.period("d10").code == "D10"
    with pytest.raises(std.AppraisalRuleError, match="不在保管期限表中"):
        std.period("D15")
    for p in periods.values():  # both languages, the English without Chinese
        assert p.meaning_zh and p.meaning_en and not CJK.search(p.meaning_en + p.label_en)


def test_expiry_is_year_plus_period() -> None:
    assert std.expiry_date(2010, "D10") == date(2020, 12, 31)
    assert std.expiry_date(2010, "短期") == date(2020, 12, 31)
    assert std.expiry_date(1990, "D30") == date(2020, 12, 31)
    assert std.expiry_date(1950, "Y") is None and std.expiry_date(None, "D10") is None
    assert not std.is_due(2010, "D10", date(2020, 12, 31))
    assert std.is_due(2010, "D10", date(2021, 1, 1))
    assert not std.is_due(1950, "Y", date(2999, 1, 1))
    # kept on in 2026 for another 10 years: counted from the decision
    assert std.expiry_date(2010, "D10", reappraised_year=2026) == date(2036, 12, 31)
    assert not std.is_due(2010, "D10", date(2027, 1, 1), reappraised_year=2026)
    assert std.last_due_year("D10", date(2026, 12, 7)) == 2015
    assert std.last_due_year("Y", date(2026, 12, 7)) is None


def test_secrecy_periods_by_classification() -> None:
    assert std.secrecy_years("top_secret") == 30
    assert std.secrecy_years("secret") == 20
    assert std.secrecy_years("confidential") == 10
    assert std.secrecy_years("confidential", "5年") == 5
    assert std.secrecy_years("secret", "长期") is None
    assert std.secrecy_years("restricted") is None and std.secrecy_years("public") is None
    assert std.parse_secrecy_period("秘密★10年") == (10, False)
    with pytest.raises(std.AppraisalRuleError, match="保密期限“很久”无法识别"):
        std.parse_secrecy_period("很久")
    assert std.classification_review_date("confidential", "", date(2010, 5, 6)) == date(2020, 5, 6)
    assert std.classification_review_date("secret", "", None, 2000) == date(2020, 12, 31)
    assert std.classification_review_date("confidential", "", date(2012, 2, 29)) == date(
        2022, 2, 28
    )
    assert std.is_classification_due("confidential", "", date(2020, 5, 6), date(2010, 5, 6))
    assert not std.is_classification_due("confidential", "", date(2020, 5, 5), date(2010, 5, 6))
    assert std.is_classification_due("confidential", "很久", date(2000, 1, 1), date(2010, 5, 6))


def test_outcomes_each_kind_allows() -> None:
    levels = {"public": 0, "confidential": 2, "secret": 3}
    std.check_outcome("expiry", "destroy", retention="D10")
    with pytest.raises(std.AppraisalRuleError, match="“永久”的档案不得销毁"):
        std.check_outcome("expiry", "destroy", retention="Y")
    with pytest.raises(std.AppraisalRuleError, match="须填写新的保管期限"):
        std.check_outcome("expiry", "keep", retention="D10")
    std.check_outcome("expiry", "keep", retention="D10", new_retention="D30")
    with pytest.raises(std.AppraisalRuleError, match="价值鉴定不能提出“销毁”"):
        std.check_outcome("value", "destroy", retention="D10")
    with pytest.raises(std.AppraisalRuleError, match="须短于原期限"):
        std.check_outcome("value", "lower_retention", retention="D10", new_retention="D30")
    std.check_outcome("value", "raise_retention", retention="D10", new_retention="Y")
    std.check_outcome("classification", "reclassify", retention="D30", classification="secret",
                      new_classification="confidential", classification_levels=levels)  # fmt: skip
    with pytest.raises(std.AppraisalRuleError, match="与原密级相同"):
        std.check_outcome("classification", "reclassify", retention="D30", classification="secret",
                          new_classification="secret", classification_levels=levels)  # fmt: skip
    with pytest.raises(std.AppraisalRuleError, match="新的保密期限"):
        std.check_outcome("classification", "keep_classification", retention="D30")
    with pytest.raises(std.AppraisalRuleError, match="鉴定类型"):
        std.kind("open")
    assert all(std.outcome(o) for k in std.kinds().values() for o in k.outcomes)
