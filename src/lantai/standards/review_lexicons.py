"""Versioned sensitive-term lexicons of the open-review pre-screen (built-in lists in
``data/review-lexicons.yaml``), matched with Aho-Corasick, and the relational rule: a person named
in the same sentence as a personal-privacy term (illness, sentence, divorce, sanction, …)."""

from __future__ import annotations

import bisect
import functools
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import ahocorasick

from ._data import DataFileError, load_data
from .sensitivity import Span, category_ground

__all__ = [
    "LEXICON_SCORE",
    "RELATIONS_VERSION",
    "TERM_MAX_CHARS",
    "Lexicon",
    "LexiconMatcher",
    "LexiconTermError",
    "default_lexicons",
    "relational_spans",
    "validate_terms",
]

LEXICON_SCORE = 0.6
RELATION_SCORE = 0.9
RELATIONS_VERSION = "2025.1"
TERM_MAX_CHARS = 50
_PRIVACY_CATEGORY = "personal_privacy"
_SENTENCE_END = re.compile(r"[。！？；!?;\n\r]")


@dataclass(frozen=True)
class Lexicon:
    code: str  # e.g. "personal-privacy"
    category: str  # a category code of open-review.yaml
    ground: str  # the 第八条 ground of that category
    version: str
    terms: tuple[str, ...]
    kind: str  # "privacy" for personal_privacy terms, else "lexicon"
    label_zh: str = ""
    label_en: str = ""


def _kind_of(category: str) -> str:
    return "privacy" if category == _PRIVACY_CATEGORY else "lexicon"


@functools.cache
def _builtin() -> tuple[Lexicon, ...]:
    result = []
    for row in load_data("review-lexicons.yaml")["lexicons"]:
        category = str(row["category"])
        try:
            ground = category_ground(category)
        except KeyError as exc:
            raise DataFileError(f"review-lexicons.yaml: {row['code']}: unknown category") from exc
        result.append(
            Lexicon(
                code=str(row["code"]),
                category=category,
                ground=ground,
                version=str(row["version"]),
                terms=tuple(validate_terms(str(t) for t in row["terms"])),
                kind=_kind_of(category),
                label_zh=str(row.get("label_zh", "")),
                label_en=str(row.get("label_en", "")),
            )
        )
    return tuple(result)


def default_lexicons() -> list[Lexicon]:
    """The built-in lexicons, one per category (a new list; the lexicons themselves are frozen)."""
    return list(_builtin())


class LexiconTermError(ValueError):
    """An edited term list has terms that cannot be used; ``problems`` lists (line, term, reason)."""

    def __init__(self, problems: list[tuple[int, str, str]]) -> None:
        self.problems = problems
        self.message_zh = "词表有不能使用的词条：" + "；".join(
            f"第{line}行“{term}”{reason}" for line, term, reason in problems
        )
        self.message_en = "the term list has unusable terms: " + "; ".join(
            f"line {line} {term!r}: {_REASON_EN[reason]}" for line, term, reason in problems
        )
        super().__init__(self.message_en)


_TOO_SHORT = "只有一个字符，会匹配过多文字，至少需要两个字符"
_TOO_LONG = f"超过{TERM_MAX_CHARS}个字符"
_CONTROL = "含有换行或控制字符"
_REASON_EN = {
    _TOO_SHORT: "a single character matches far too much; use 2 or more",
    _TOO_LONG: f"longer than {TERM_MAX_CHARS} characters",
    _CONTROL: "contains a line break or control character",
}


def validate_terms(terms: Iterable[str]) -> list[str]:
    """Clean an edited term list: strip spaces, drop empty lines and repeats (first one kept).
    Raises LexiconTermError naming every term (by line, from 1) that is one character long, longer
    than 50 characters or holds a line break or control character."""
    seen: set[str] = set()
    cleaned: list[str] = []
    problems: list[tuple[int, str, str]] = []
    for line, raw in enumerate(terms, start=1):
        term = raw.strip()
        if not term or term in seen:
            continue
        if len(term) == 1:
            problems.append((line, term, _TOO_SHORT))
        elif len(term) > TERM_MAX_CHARS:
            problems.append((line, term[:20] + "…", _TOO_LONG))
        elif any(not c.isprintable() for c in term):
            problems.append((line, term, _CONTROL))
        seen.add(term)
        cleaned.append(term)
    if problems:
        raise LexiconTermError(problems)
    return cleaned


class LexiconMatcher:
    """All occurrences of the terms of some lexicons in a text, overlapping ones included.
    The automaton is built once; a term shared by two lexicons gives one span per lexicon."""

    def __init__(self, lexicons: Iterable[Lexicon]) -> None:
        self.lexicons = tuple(lexicons)
        owners: dict[str, list[int]] = {}
        for i, lex in enumerate(self.lexicons):
            for term in lex.terms:
                owners.setdefault(term, []).append(i)
        self._automaton: ahocorasick.Automaton | None = None
        if owners:
            automaton = ahocorasick.Automaton()
            for term, idxs in owners.items():
                automaton.add_word(term, (len(term), tuple(dict.fromkeys(idxs))))
            automaton.make_automaton()
            self._automaton = automaton

    def spans(self, text: str) -> list[Span]:
        """Spans ordered by position; ``text[span.start:span.end] == span.text``."""
        if self._automaton is None or not text:
            return []
        out: list[Span] = []
        lexicons = self.lexicons
        for last, (length, idxs) in self._automaton.iter(text):
            start = last + 1 - length
            term = text[start : last + 1]
            for i in idxs:
                lex = lexicons[i]
                out.append(
                    Span(
                        start=start,
                        end=last + 1,
                        text=term,
                        category=lex.category,
                        kind=lex.kind,
                        ground=lex.ground,
                        rule=f"lexicon:{lex.code}",
                        version=lex.version,
                        score=LEXICON_SCORE,
                    )
                )
        out.sort(key=lambda s: (s.start, s.end))
        return out


def relational_spans(text: str, persons: Sequence[Span], privacy: Sequence[Span]) -> list[Span]:
    """A person named in the same sentence (split at 。！？；!?; and line breaks) as a personal-privacy
    term becomes a personal_privacy span over the name, one per distinct term of that sentence; the
    term is in the rule id. ``privacy`` spans of another kind than "privacy" are ignored."""
    terms = [s for s in privacy if s.kind == "privacy"]
    if not persons or not terms:
        return []
    ends = [m.start() for m in _SENTENCE_END.finditer(text)]
    by_sentence: dict[int, list[Span]] = {}
    for t in sorted(terms, key=lambda s: s.start):
        by_sentence.setdefault(bisect.bisect_right(ends, t.start), []).append(t)
    ground = category_ground(_PRIVACY_CATEGORY)
    out: list[Span] = []
    for person in persons:
        done: set[str] = set()
        for t in by_sentence.get(bisect.bisect_right(ends, person.start), ()):
            if t.text in done or (t.start < person.end and person.start < t.end):
                continue
            done.add(t.text)
            out.append(
                Span(
                    start=person.start,
                    end=person.end,
                    text=person.text,
                    category=_PRIVACY_CATEGORY,
                    kind="privacy",
                    ground=ground,
                    rule=f"relation:person+privacy-term:{t.text}",
                    version=f"{RELATIONS_VERSION}+{t.version}",  # the rule's and the list's
                    score=RELATION_SCORE,
                )
            )
    out.sort(key=lambda s: (s.start, s.end))
    return out
