"""Display labels for codes (presentational only): vocabularies, categories, roles, clearances.

Codes are stored; the UI shows the Chinese label, or the English one when the UI is in English.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import Any

from django.utils.translation import get_language, gettext

from lantai.catalog import services
from lantai.core.roles import ROLES
from lantai.search.query import fonds_key, split_fonds_key


def english() -> bool:
    return (get_language() or "").startswith("en")


def vocab_label(name: str, code: object) -> str:
    if code in (None, ""):
        return ""
    for term in services.vocabulary_choices(name):
        if term.code == code:
            return term.label_en if english() else term.label_zh
    return str(code)


def vocab_choices(name: str) -> list[tuple[str, str]]:
    return [
        (t.code, t.label_en if english() else t.label_zh) for t in services.vocabulary_choices(name)
    ]


def clearance_choices() -> list[tuple[int, str]]:
    terms = sorted(
        (t for t in services.vocabulary_choices("classification") if t.level is not None),
        key=lambda t: t.level or 0,
    )
    return [(int(t.level or 0), t.label_en if english() else t.label_zh) for t in terms]


def clearance_label(level: int) -> str:
    return dict(clearance_choices()).get(level, str(level))


def category_name(code: str) -> str:
    cat = services.standard_category(code)
    if cat is None:
        return ""
    return cat.name_en if english() else cat.name_zh


def fonds_labels(keys: Iterable[str], fonds: Any) -> dict[str, str]:
    """Names of fonds keys (`lantai.search.query.fonds_key`: archives code and 全宗号) among the
    fonds of the queryset `fonds` (those the reader may see): "J014 名称", with the archives'
    name added where the same 全宗号 is listed from more than one archives. A key of no such
    fonds is named by its bare 全宗号."""
    pairs = {k: p for k in set(keys) if (p := split_fonds_key(k)) is not None}
    if not pairs:
        return {}
    rows = fonds.filter(
        repository__code__in={r for r, _c in pairs.values()},
        code__in={c for _r, c in pairs.values()},
    ).values_list("repository__code", "code", "name", "repository__name")
    found = {fonds_key(r, c): (c, name, repo) for r, c, name, repo in rows}
    per_code = Counter(code for _r, code in pairs.values())
    out = {}
    for key, (_repo, code) in pairs.items():
        _code, name, repo = found.get(key, (code, "", ""))
        label = f"{code} {name}".strip()
        out[key] = f"{label}（{repo}）" if per_code[code] > 1 and repo else label
    return out


def standard_category_label(cat: object) -> str:
    """The name of a DA/T 13 category (as services.standard_categories() lists them)."""
    return str(getattr(cat, "name_en" if english() else "name_zh", ""))


def level_label(level: str) -> str:
    """件 / 案卷 / 卷内文件."""
    return {
        "item": gettext("件"),
        "volume": gettext("案卷"),
        "volume_item": gettext("卷内文件"),
    }.get(level, level)


def arrangement_label(arrangement: str) -> str:
    return {"item": gettext("按件"), "volume": gettext("按卷")}.get(arrangement, arrangement)


def repository_level_label(level: str) -> str:
    return dict(services.repository_levels()).get(level, level)


def role_label(code: str) -> str:
    role = ROLES.get(code)
    if role is None:
        return code
    return role.label_en if english() else role.label_zh


def role_choices() -> list[tuple[str, str]]:
    return [(code, role_label(code)) for code in ROLES]


def record_rows(rows: Iterable[Any]) -> list[dict[str, Any]]:
    """Records with the display labels of their coded values, for the record tables."""
    return [
        {
            "record": r,
            "classification": vocab_label("classification", r.classification),
            "retention": vocab_label("retention", r.retention),
            "open_status": vocab_label("open_status", r.open_status),
        }
        for r in rows
    ]
