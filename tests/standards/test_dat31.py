"""DA/T 31-2017 check catalogue: codes, thresholds by purpose, the 档号-页号 rule, 抽检 size and
the honesty of findings."""

from __future__ import annotations

import copy
import re
from typing import Any

import pytest

from lantai.standards import dat31
from lantai.standards._data import DataFileError, load_data

CJK = re.compile(r"[\u3400-\u9fff\u3000-\u303f\uff00-\uffef]")
CODE = "0001-WS·2024-Y-BGS-0001"


def test_catalogue_has_the_stable_codes_at_their_levels() -> None:
    catalogue = dat31.load_catalogue()
    assert catalogue.version == "DA/T 31-2017" and catalogue.revision >= 1
    levels = {c.code: c.level for c in catalogue.checks.values()}
    assert levels == {
        "resolution": "page",
        "colour_mode": "page",
        "skew": "page",
        "blank_page": "page",
        "duplicate_page": "item",
        "page_count": "item",
        "naming": "page",
        "catalogue_link": "page",
        "already_digitized": "item",
        "page_sequence": "item",
        "file_integrity": "page",
        "file_format": "page",
        "compression": "page",
        "sample_inspection": "batch",
    }
    assert [c.code for c in catalogue.at_level("batch")] == ["sample_inspection"]


def test_every_check_is_bilingual_and_says_how_sure_it_is() -> None:
    catalogue = dat31.load_catalogue()
    # the official clause numbers are not in our reference: nothing may pretend otherwise
    assert catalogue.clauses_known is False
    for check in catalogue.checks.values():
        assert check.source.clause is None, check.code
        assert check.source.mark in dat31.MARKS and check.source.ref, check.code
        for en in (check.name_en, check.rule_en, *(m[1] for m in check.messages.values())):
            assert en and not CJK.search(en.replace("'{purpose_en}'", "")), (check.code, en)
        assert CJK.search(check.name_zh) and CJK.search(check.rule_zh), check.code
        assert check.name(english=True) == check.name_en
    for p in dat31.purposes():
        assert p.name_en and not CJK.search(p.name_en) and CJK.search(p.name_zh)


@pytest.mark.parametrize(
    ("purpose", "dpi"),
    [("general", 200), ("ocr", 300), ("facsimile", 600), ("drawing", 200), ("photo", 400)],
)
def test_min_dpi_by_purpose(purpose: str, dpi: int) -> None:
    assert dat31.min_dpi(purpose) == dpi


def test_unknown_purpose_and_threshold_are_errors_not_defaults() -> None:
    with pytest.raises(KeyError, match="unknown scanning purpose"):
        dat31.min_dpi("poster")
    with pytest.raises(KeyError, match="no threshold"):
        dat31.threshold("skew", "max_angle")
    assert dat31.threshold("skew", "max_degrees") == 3.0
    assert dat31.purposes()[0].key == "general"


@pytest.mark.parametrize(
    ("purpose", "mode", "result"),
    [
        ("general", "colour", "pass"),
        ("general", "grey", "pass"),
        ("general", "bitonal", "warn"),
        ("ocr", "bitonal", "warn"),
        ("facsimile", "grey", "fail"),
        ("facsimile", "bitonal", "fail"),
        ("facsimile", "colour", "pass"),
        ("photo", "bitonal", "fail"),
        ("drawing", "bitonal", "pass"),
    ],
)
def test_colour_mode_policy(purpose: str, mode: str, result: str) -> None:
    assert dat31.colour_mode_result(purpose, mode) == result


def test_colour_mode_rejects_an_unknown_mode() -> None:
    with pytest.raises(ValueError, match="unknown mode"):
        dat31.colour_mode_result("general", "RGB")


@pytest.mark.parametrize(
    ("items", "ratio", "size"),
    [(100, None, 5), (101, None, 6), (20, None, 1), (3, None, 1), (0, None, 0), (50, 0.1, 5)],
)
def test_sample_size_is_at_least_five_percent_and_one_item(
    items: int, ratio: float | None, size: int
) -> None:
    assert dat31.sample_size(items, ratio) == size


def test_sample_size_rejects_a_nonsense_ratio() -> None:
    with pytest.raises(ValueError):
        dat31.sample_size(10, 0)
    with pytest.raises(ValueError):
        dat31.sample_size(10, 1.5)


def test_sample_is_reproducible_by_seed_and_keeps_order() -> None:
    keys = [f"{CODE[:-4]}{n:04d}" for n in range(1, 201)]
    first = dat31.sample_items(keys, seed="batch-7")
    assert len(first) == 10 and first == dat31.sample_items(keys, seed="batch-7")
    assert first == sorted(first)  # original order
    assert first != dat31.sample_items(keys, seed="batch-8")


@pytest.mark.parametrize(
    ("stem", "expected"),
    [
        (f"{CODE}-0003", (CODE, 3)),
        (f"{CODE}-3", (CODE, 3)),
        (f"{CODE}-12", (CODE, 12)),
        (f"{CODE}－0012", (CODE, 12)),  # full-width hyphen-minus
        (f"{CODE}–7", (CODE, 7)),  # en dash
        (f"{CODE}-０００９", (CODE, 9)),  # full-width digits
        ("Z109-WS·2011-Y-BGS-0001-0100", ("Z109-WS·2011-Y-BGS-0001", 100)),
        (" 0001-WS·2024-Y-BGS-0002-0001 ", ("0001-WS·2024-Y-BGS-0002", 1)),
    ],
)
def test_page_name_splits_at_the_last_dash(stem: str, expected: tuple[str, int]) -> None:
    assert dat31.parse_page_name(stem) == expected
    assert dat31.page_name_error(stem) is None


@pytest.mark.parametrize(
    ("stem", "reason"),
    [
        ("", "为空"),
        ("scan001", "缺少“-页号”"),
        (f"{CODE}-00001", "超过 4 位"),
        (f"{CODE}-0000", "从 1 开始"),
        (f"{CODE}-p3", "不是数字"),
        (f"{CODE}_0003", "不是数字"),
        (f"{CODE}-", "页号为空"),
        ("-0003", "缺少档号"),
        ("0001--WS-0003", "空段"),
    ],
)
def test_bad_page_names_are_rejected_with_a_reason(stem: str, reason: str) -> None:
    assert dat31.parse_page_name(stem) is None
    problem = dat31.page_name_error(stem)
    assert (
        problem is not None and reason in problem[0] and problem[1] and not CJK.search(problem[1])
    )


def test_reference_code_resolves_the_ambiguous_name() -> None:
    # without the catalogue's 档号, "…-0001" alone looks like page 1 of "…-BGS"
    assert dat31.parse_page_name(CODE) == ("0001-WS·2024-Y-BGS", 1)
    assert dat31.parse_page_name(CODE, CODE) is None
    assert "缺少" in (dat31.page_name_error(CODE, CODE) or ("",))[0]
    assert dat31.parse_page_name(f"{CODE}－0002", CODE) == (CODE, 2)
    wrong = dat31.page_name_error("0001-WS·2024-Y-BGS-0009-0002", CODE)
    assert wrong is not None and "不符" in wrong[0]


def test_a_finding_must_show_what_it_examined() -> None:
    ok = dat31.make_finding(
        "skew", "pass", {"examined": "profile", "degrees": 1.0, "max_degrees": 3}
    )
    assert ok.message_zh.startswith("偏斜 1.0°") and "3°" in ok.message_en
    with pytest.raises(dat31.EvidenceError, match="examined"):
        dat31.Finding("skew", "pass", {"degrees": 1.0}, "x", "x")
    with pytest.raises(dat31.EvidenceError, match="reason"):
        dat31.Finding("skew", "na", {}, "x", "x")
    with pytest.raises(dat31.EvidenceError, match="evidence"):
        dat31.Finding("skew", "fail", {}, "x", "x")
    with pytest.raises(KeyError, match="unknown DA/T 31 check"):
        dat31.Finding("deskew", "warn", {"a": 1}, "x", "x")
    with pytest.raises(ValueError, match="unknown result"):
        dat31.Finding("skew", "ok", {"examined": 1}, "x", "x")


def _broken(monkeypatch: pytest.MonkeyPatch, edit: Any) -> None:
    data = copy.deepcopy(load_data(dat31.CATALOGUE_FILE))
    edit(data)
    monkeypatch.setattr(dat31, "load_data", lambda name: data)
    dat31.load_catalogue.cache_clear()


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda d: d["checks"]["skew"].update(level="pixel"), "level"),
        (lambda d: d["checks"]["skew"].pop("clause"), "clause"),
        (lambda d: d["checks"]["skew"]["source"].update(mark="X"), "source"),
        (lambda d: d["checks"]["skew"].update(name_en=""), "name_en"),
        (lambda d: d["purposes"]["ocr"].update(min_dpi="300"), "min_dpi"),
        (lambda d: d["checks"]["colour_mode"]["thresholds"]["policy"].pop("photo"), "policy"),
        (
            lambda d: d["checks"]["resolution"]["thresholds"].update(missing_dpi_result="pass"),
            "missing_dpi_result",
        ),
    ],
)
def test_a_malformed_catalogue_is_refused(
    monkeypatch: pytest.MonkeyPatch, edit: Any, message: str
) -> None:
    try:
        _broken(monkeypatch, edit)
        with pytest.raises(DataFileError, match=message):
            dat31.load_catalogue()
    finally:
        monkeypatch.undo()
        dat31.load_catalogue.cache_clear()
