"""GB/T 7714-2015 citations of archival records ([A], [A/OL]) and online resources ([EB/OL])."""

from __future__ import annotations

from datetime import date

import pytest

from lantai.standards.citation import gbt7714, split_authors


def test_an_archival_record() -> None:
    assert gbt7714(
        title="关于土地改革的指示", authors="广西省人民政府", place="南宁", holder="广西壮族自治区档案馆",
        year=1951, reference_code="X001-WS-1951-0001",
    ) == "广西省人民政府. 关于土地改革的指示[A]. 南宁: 广西壮族自治区档案馆, 1951: X001-WS-1951-0001."  # fmt: skip


def test_an_archival_record_read_online() -> None:
    text = gbt7714(
        title="百色起义宣言", authors="中共广西特委", place="南宁", holder="广西壮族自治区档案馆",
        year=1929, reference_code="G045-WS-1929-0001", url="https://archives.example/r/1",
        accessed=date(2026, 12, 7),
    )  # fmt: skip
    assert text == (
        "中共广西特委. 百色起义宣言[A/OL]. 南宁: 广西壮族自治区档案馆, 1929: G045-WS-1929-0001"
        "[2026-12-07]. https://archives.example/r/1."
    )


def test_an_online_database_with_update_and_access_dates() -> None:
    text = gbt7714(
        kind="EB", title="红色档案专题数据库", authors=["广西壮族自治区档案馆"],
        url="https://archives.example/db/", updated=date(2026, 12, 1), accessed=date(2026, 12, 7),
    )  # fmt: skip
    assert (
        text
        == "广西壮族自治区档案馆. 红色档案专题数据库[EB/OL]. (2026-12-01)[2026-12-07]. https://archives.example/db/."
    )


def test_no_author_is_anonymous_and_more_than_three_are_cut() -> None:
    assert gbt7714(title="布告", holder="馆", place="南宁").startswith("佚名. 布告[A]")
    assert gbt7714(title="t", authors="甲、乙；丙,丁", holder="馆", place="南宁").startswith(
        "甲, 乙, 丙, 等. t[A]"
    )


def test_unknown_place_and_holder_are_marked_as_the_standard_asks() -> None:
    assert gbt7714(title="t", authors="甲") == "甲. t[A]. [出版地不详]: [出版者不详]."


def test_whitespace_and_trailing_full_stops_are_tidied() -> None:
    assert (
        gbt7714(title=" 关于\n 报告。", authors="甲", holder="馆", place="南宁")
        == "甲. 关于 报告[A]. 南宁: 馆."
    )


def test_split_authors() -> None:
    assert split_authors("中共广西特委、红七军前委；右江苏维埃政府") == [
        "中共广西特委",
        "红七军前委",
        "右江苏维埃政府",
    ]
    assert split_authors("") == []


def test_unknown_kind_is_a_programming_error() -> None:
    with pytest.raises(ValueError):
        gbt7714(title="t", kind="M")
