"""Display labels for codes (presentational only): vocabularies, categories, roles, clearances.

Codes are stored; the UI shows the Chinese label, or the English one when the UI is in English.
"""

from __future__ import annotations

import functools

from django.utils.translation import get_language

from lantai.core.roles import ROLES
from lantai.standards import categories as std_categories
from lantai.standards import vocabularies as vocab


def english() -> bool:
    return (get_language() or "").startswith("en")


@functools.cache
def _terms(name: str) -> tuple[vocab.Term, ...]:
    return vocab.get_vocabulary(name).terms


def vocab_label(name: str, code: object) -> str:
    if code in (None, ""):
        return ""
    for term in _terms(name):
        if term.code == code:
            return term.label_en if english() else term.label_zh
    return str(code)


def vocab_choices(name: str) -> list[tuple[str, str]]:
    return [(t.code, t.label_en if english() else t.label_zh) for t in _terms(name)]


def clearance_choices() -> list[tuple[int, str]]:
    terms = sorted(
        (t for t in _terms("classification") if t.level is not None), key=lambda t: t.level or 0
    )
    return [(int(t.level or 0), t.label_en if english() else t.label_zh) for t in terms]


def clearance_label(level: int) -> str:
    return dict(clearance_choices()).get(level, str(level))


def category_name(code: str) -> str:
    try:
        cat = std_categories.get_category(code)
    except KeyError:
        return ""
    return cat.name_en if english() else cat.name_zh


def role_label(code: str) -> str:
    role = ROLES.get(code)
    if role is None:
        return code
    return role.label_en if english() else role.label_zh


def role_choices() -> list[tuple[str, str]]:
    return [(code, role_label(code)) for code in ROLES]
