"""Sensitive-term lexicons (Aho-Corasick), the person + privacy-term rule and the term editor's check."""

from __future__ import annotations

import pytest

from lantai.standards.review_lexicons import (
    LEXICON_SCORE,
    Lexicon,
    LexiconMatcher,
    LexiconTermError,
    default_lexicons,
    relational_spans,
    validate_terms,
)
from lantai.standards.sensitivity import Span, category_ground, review_data


def _lexicon(code: str, category: str, terms: tuple[str, ...], version: str = "t1") -> Lexicon:
    kind = "privacy" if category == "personal_privacy" else "lexicon"
    return Lexicon(code, category, category_ground(category), version, terms, kind)


def _person(text: str, name: str, nth: int = 0) -> Span:
    start = -1
    for _ in range(nth + 1):
        start = text.index(name, start + 1)
    return Span(start, start + len(name), name, "entity", "person", "", "ner:test", "0", 0.9)


def test_default_lexicons_cover_every_ground() -> None:
    lexicons = default_lexicons()
    categories = {lex.category for lex in lexicons}
    assert categories == {
        "state_secret",
        "personal_privacy",
        "commercial_secret",
        "ethnic_religious",
        "foreign_affairs",
        "national_security",
        "other_law",
    }
    assert {lex.ground for lex in lexicons} == {g["code"] for g in review_data()["grounds"]}
    for lex in lexicons:
        assert len(lex.terms) >= 25, lex.code
        assert lex.ground == category_ground(lex.category)
        assert lex.kind == ("privacy" if lex.category == "personal_privacy" else "lexicon")
        assert lex.version
    privacy = next(lex for lex in lexicons if lex.category == "personal_privacy")
    for term in ("精神病", "艾滋病", "判处有期徒刑", "劳动教养", "离婚", "开除党籍", "收容审查"):
        assert term in privacy.terms


def test_default_matcher_finds_terms_of_several_grounds() -> None:
    text = "内部资料 注意保密。该厂配方属商业秘密。群众越级上访。"
    spans = LexiconMatcher(default_lexicons()).spans(text)
    found = {(s.text, s.category) for s in spans}
    assert {
        ("内部资料", "state_secret"),
        ("注意保密", "state_secret"),
        ("配方", "commercial_secret"),
        ("商业秘密", "commercial_secret"),
        ("越级上访", "national_security"),
        ("上访", "national_security"),
    } <= found


def test_overlapping_and_shared_terms() -> None:
    matcher = LexiconMatcher(
        [
            _lexicon("privacy", "personal_privacy", ("判处有期徒刑", "有期徒刑", "徒刑")),
            _lexicon("other", "other_law", ("有期徒刑",), version="o7"),
        ]
    )
    text = "被告人判处有期徒刑三年。"
    spans = matcher.spans(text)
    for s in spans:
        assert text[s.start : s.end] == s.text
        assert s.score == LEXICON_SCORE
    assert [(s.text, s.rule, s.kind, s.version) for s in spans] == [
        ("判处有期徒刑", "lexicon:privacy", "privacy", "t1"),
        ("有期徒刑", "lexicon:privacy", "privacy", "t1"),
        ("有期徒刑", "lexicon:other", "lexicon", "o7"),
        ("徒刑", "lexicon:privacy", "privacy", "t1"),
    ]
    assert {s.ground for s in spans} == {"art8-3", "art8-4"}


def test_every_occurrence_is_reported() -> None:
    matcher = LexiconMatcher([_lexicon("p", "personal_privacy", ("离婚",))])
    assert [s.start for s in matcher.spans("离婚离婚，又离婚")] == [0, 2, 6]


def test_empty_lexicons_and_text() -> None:
    assert LexiconMatcher([]).spans("离婚") == []
    assert LexiconMatcher([_lexicon("p", "personal_privacy", ())]).spans("离婚") == []
    assert LexiconMatcher(default_lexicons()).spans("") == []


def test_relational_rule_same_sentence() -> None:
    text = "张三因患精神病住院，后与李四离婚。王五同志工作积极。"
    privacy = LexiconMatcher(default_lexicons()).spans(text)
    persons = [_person(text, "张三"), _person(text, "李四"), _person(text, "王五")]
    spans = relational_spans(text, persons, privacy)
    assert [(s.text, s.rule) for s in spans] == [
        ("张三", "relation:person+privacy-term:精神病"),
        ("张三", "relation:person+privacy-term:离婚"),
        ("李四", "relation:person+privacy-term:精神病"),
        ("李四", "relation:person+privacy-term:离婚"),
    ]
    for s in spans:
        assert text[s.start : s.end] == s.text
        assert (s.category, s.kind, s.ground, s.score) == (
            "personal_privacy",
            "privacy",
            "art8-3",
            0.9,
        )


@pytest.mark.parametrize("separator", ["。", "！", "？", "；", "!", "?", ";", "\n"])
def test_relational_rule_other_sentence(separator: str) -> None:
    text = f"张三同志调任县粮食局工作{separator}全县离婚登记工作规范有序。"
    privacy = LexiconMatcher(default_lexicons()).spans(text)
    assert any(s.text == "离婚" for s in privacy)
    assert relational_spans(text, [_person(text, "张三")], privacy) == []
    joined = text.replace(separator, "，")
    assert len(relational_spans(joined, [_person(joined, "张三")], privacy)) == 1


def test_relational_rule_uses_only_privacy_terms() -> None:
    text = "张三持有内部资料。"
    spans = LexiconMatcher(default_lexicons()).spans(text)
    assert spans and all(s.kind == "lexicon" for s in spans)
    assert relational_spans(text, [_person(text, "张三")], spans) == []
    assert relational_spans(text, [], spans) == []


def test_relational_rule_repeated_term_once_per_person() -> None:
    text = "张三离婚后再次离婚。"
    privacy = LexiconMatcher(default_lexicons()).spans(text)
    assert len(relational_spans(text, [_person(text, "张三")], privacy)) == 1


def test_validate_terms_cleans() -> None:
    assert validate_terms([" 精神病 ", "", "精神病", "离婚", "  ", "离婚\t", "a" * 50]) == [
        "精神病",
        "离婚",
        "a" * 50,
    ]


def test_validate_terms_refuses_with_place_and_rule() -> None:
    with pytest.raises(LexiconTermError) as err:
        validate_terms(["离婚", "病", "x" * 51, "劳动\n教养"])
    e = err.value
    assert [(line, reason[:4]) for line, _, reason in e.problems] == [
        (2, "只有一个"),
        (3, "超过50"),
        (4, "含有换行"),
    ]
    assert "第2行“病”" in e.message_zh and "至少需要两个字符" in e.message_zh
    assert "line 3" in e.message_en
