"""The archives' sensitive-term lists: the shipped lists (standards/data/review-lexicons.yaml) are
version 1; every edit makes a new version, and every finding names the version it came from."""

from __future__ import annotations

import functools

from django.db import transaction

from lantai.catalog import services as catalog
from lantai.core import audit
from lantai.core.models import User
from lantai.core.roles import REVIEW_MANAGE
from lantai.review.models import Lexicon, LexiconVersion
from lantai.standards import review_lexicons as std
from lantai.standards.sensitivity import category_ground


class LexiconError(Exception):
    def __init__(self, message_zh: str, message_en: str) -> None:
        super().__init__(message_zh)
        self.message_zh, self.message_en = message_zh, message_en


def ensure_defaults() -> None:
    """Create the shipped lists as version 1 of each lexicon the archives does not have yet."""
    known = set(Lexicon.objects.values_list("code", flat=True))
    for lex in std.default_lexicons():
        if lex.code in known:
            continue
        with transaction.atomic():
            row = Lexicon.objects.create(code=lex.code, category=lex.category, label=lex.code)
            LexiconVersion.objects.create(
                lexicon=row, number=1, terms=list(lex.terms), note="随系统发布的词表"
            )


def _kind(category: str) -> str:
    return "privacy" if category == "personal_privacy" else "lexicon"


def current() -> list[std.Lexicon]:
    """The latest version of every lexicon, as the matcher takes them."""
    ensure_defaults()
    out = []
    for row in Lexicon.objects.prefetch_related("versions"):
        latest = max(row.versions.all(), key=lambda v: v.number)
        out.append(
            std.Lexicon(
                code=row.code, category=row.category, ground=category_ground(row.category),
                version=f"{row.code}@{latest.number}", terms=tuple(latest.terms),
                kind=_kind(row.category),
            )
        )  # fmt: skip
    return out


def matcher() -> std.LexiconMatcher:
    """A matcher of the current lists (built once per set of versions in this process)."""
    lexicons = current()
    return _matcher(tuple(lexicons))


@functools.lru_cache(maxsize=4)
def _matcher(lexicons: tuple[std.Lexicon, ...]) -> std.LexiconMatcher:
    return std.LexiconMatcher(lexicons)


def save_terms(code: str, terms: list[str], *, user: User | None, note: str = "") -> LexiconVersion:
    """A new version of lexicon `code` with `terms` (cleaned); the old versions stay."""
    catalog.require(user, REVIEW_MANAGE)
    row = Lexicon.objects.filter(code=code).first()
    if row is None:
        raise LexiconError(f"词表“{code}”不存在", f"Lexicon {code!r} does not exist")
    try:
        cleaned = std.validate_terms(terms)
    except ValueError as e:
        raise LexiconError(str(e), str(e)) from e
    with transaction.atomic():
        latest = row.versions.select_for_update().order_by("-number").first()
        number = (latest.number if latest else 0) + 1
        before = set(latest.terms) if latest else set()
        if set(cleaned) == before:
            raise LexiconError(
                f"词表“{code}”没有变化，未保存新版本", "Nothing changed: no new version"
            )
        if not cleaned and not note.strip():
            raise LexiconError(
                f"清空词表“{code}”后这一类内容将不再被机审发现：请在说明中写明理由",
                "Emptying a lexicon stops the screen finding its category: give the reason",
            )
        version = LexiconVersion.objects.create(
            lexicon=row, number=number, terms=cleaned, note=note, created_by=user
        )
        audit.record("review_lexicon_change", "review_lexicon", row.code, {
            "version": number, "added": sorted(set(cleaned) - before),
            "removed": sorted(before - set(cleaned)), "note": note,
        })  # fmt: skip
    return version
