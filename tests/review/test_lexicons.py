"""The archives' term lists: each edit a version, a save that changes nothing or empties a list
without a reason refused, and every finding naming the version it came from — the relational
rule's too."""

from __future__ import annotations

import pytest
from django.utils import translation

from lantai.review import lexicons, screening, services
from lantai.review.lexicons import LexiconError
from tests.review.conftest import Archive


def test_an_edit_is_a_new_version_that_findings_name(archive: Archive) -> None:
    senior = archive.users["senior"]
    lexicons.ensure_defaults()
    terms = [t for lex in lexicons.current() if lex.code == "personal-privacy" for t in lex.terms]
    version = lexicons.save_terms(
        "personal-privacy", [*terms, "蓝鲸行动"], user=senior, note="新增"
    )
    assert version.number == 2
    spans = screening.screen_text("经查，张伟参与蓝鲸行动一事另案处理。", lexicons.matcher())
    term = next(s for s in spans if s.kind == "privacy" and s.rule == "lexicon:personal-privacy")
    related = next(s for s in spans if s.rule.startswith("relation:"))
    assert term.version == "personal-privacy@2"
    assert related.version.endswith("+personal-privacy@2")  # the list the term came from


def test_an_unchanged_save_and_an_unexplained_emptying_are_refused(archive: Archive) -> None:
    senior = archive.users["senior"]
    lexicons.ensure_defaults()
    terms = [t for lex in lexicons.current() if lex.code == "other-law" for t in lex.terms]
    with pytest.raises(LexiconError, match="没有变化"):
        lexicons.save_terms("other-law", terms, user=senior)
    with pytest.raises(LexiconError, match="理由"):
        lexicons.save_terms("other-law", [], user=senior)
    emptied = lexicons.save_terms("other-law", [], user=senior, note="本馆不再按此类筛查")
    assert emptied.number == 2 and emptied.terms == []


def test_stage_names_follow_the_page_language() -> None:
    with translation.override("en"):
        assert services.stage_label("second") == "second review"
    with translation.override("zh-hans"):
        assert services.stage_label("second") == "复审"
