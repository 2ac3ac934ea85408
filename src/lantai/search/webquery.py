"""What the search pages share: reading a `Query` from GET parameters, 递进检索 (search within
results), the links that toggle a facet value, remove an earlier query or turn a page, and
snippets that are safe to render. Used by the public portal (`lantai.access.views.search`) and
the staff search page (`lantai.web.views.search`); each page says what it offers in a `Form`.

Parameters: `q` (the simple box), one per advanced field (`title`, `author`, …) and, where the
page allows it, `<field>_not` to exclude that text; `w` (repeated: the earlier queries of
递进检索), `q2` (a new query within the results: `q` joins `w`), one per facet (repeated:
values ORed), `date_from`/`date_to` (YYYY-MM-DD), `year_from`/`year_to`, `sort`, `page`."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any
from urllib.parse import urlencode

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

from lantai.search.query import SORTS, Query, TextCondition


@dataclass(frozen=True)
class Form:
    """What a search page offers."""

    advanced: tuple[str, ...]  # text fields with a row of their own (TEXT_FIELDS names)
    facets: tuple[str, ...]  # facets counted and filterable (FACETS names)
    page_size: int = 20
    max_page: int = 50
    max_chars: int = 200  # longer input is cut here (the service refuses above its own limit)
    exclude: bool = False  # advanced rows may be negated with `<field>_not`
    max_within: int = 5  # earlier queries kept for 递进检索
    max_values: int = 20  # values per facet filter


@dataclass
class Parsed:
    query: Query
    page: int
    problems: list[str] = field(default_factory=list)  # input that was ignored, in words


@dataclass
class FacetValue:
    value: str
    label: str
    count: int
    selected: bool
    url: str  # the same search with this value toggled


def params_of(get: Any) -> dict[str, list[str]]:
    """The GET parameters as name -> values, without `page` (links reset paging)."""
    return {k: list(get.getlist(k)) for k in get if k != "page"}


def url(base: str, params: dict[str, list[str]]) -> str:
    pairs = [(k, v) for k, values in params.items() for v in values if v]
    return base + ("?" + urlencode(pairs) if pairs else "")


def within_params(params: dict[str, list[str]]) -> dict[str, list[str]] | None:
    """递进检索: when `q2` is given, the parameters of the new search (the current `q` joins the
    earlier queries `w`, `q2` becomes `q`); None otherwise."""
    new_text = " ".join(params.get("q2", [])).strip()
    if not new_text:
        return None
    current = " ".join(params.get("q", [])).strip()
    out = {k: v for k, v in params.items() if k not in ("q2", "page")}
    out["w"] = params.get("w", []) + ([current] if current else [])
    out["q"] = [new_text]
    return out


# ASCII digits only: str.isdigit() also accepts characters int() refuses ("²"), and their length is
# bounded so that int() never works on a huge number (the page is bounded after).
_DIGITS = re.compile(r"[0-9]{1,9}")


def _date(value: str, label: str, problems: list[str]) -> date | None:
    value = value.strip()
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        problems.append(_("%(label)s“%(value)s”不是有效日期，已忽略（格式：2024-01-31）") % {
            "label": label, "value": value[:40],
        })  # fmt: skip
        return None


def _year(value: str, label: str, problems: list[str]) -> int | None:
    value = value.strip()
    if not value:
        return None
    if _DIGITS.fullmatch(value) and 1 <= int(value) <= 9999:
        return int(value)
    problems.append(_("%(label)s“%(value)s”不是有效年度，已忽略") % {
        "label": label, "value": value[:40],
    })  # fmt: skip
    return None


def parse(get: Any, form: Form) -> Parsed:
    """The query and page the GET parameters ask for, bounded by `form`."""
    cut = form.max_chars
    problems: list[str] = []
    conditions = tuple(
        TextCondition(
            get.get(name, "").strip()[:cut],
            name,
            exclude=form.exclude and get.get(f"{name}_not", "") not in ("", "0"),
        )
        for name in form.advanced
        if get.get(name, "").strip()
    )
    within = tuple(Query(text=w.strip()[:cut]) for w in get.getlist("w") if w.strip())
    filters = {
        name: tuple(v for v in get.getlist(name) if v)[: form.max_values]
        for name in form.facets
        if any(get.getlist(name))
    }
    sort = get.get("sort", "relevance")
    page_text = get.get("page", "1")
    page = min(max(int(page_text) if _DIGITS.fullmatch(page_text) else 1, 1), form.max_page)
    query = Query(
        text=get.get("q", "").strip()[:cut],
        conditions=conditions,
        within=within[: form.max_within],
        filters=filters,
        date_from=_date(get.get("date_from", ""), _("日期自"), problems),
        date_to=_date(get.get("date_to", ""), _("日期至"), problems),
        year_from=_year(get.get("year_from", ""), _("年度自"), problems),
        year_to=_year(get.get("year_to", ""), _("年度至"), problems),
        sort=sort if sort in SORTS else "relevance",
        facets=form.facets,
        offset=(page - 1) * form.page_size,
        limit=form.page_size,
    )
    return Parsed(query, page, problems)


def is_empty(query: Query) -> bool:
    """Nothing asked yet (a bare page): no text, condition, filter or range."""
    return not (
        query.text
        or query.conditions
        or query.within
        or query.filters
        or query.date_from
        or query.date_to
        or query.year_from
        or query.year_to
    )


def facet_values(
    name: str,
    counts: dict[str, int],
    params: dict[str, list[str]],
    base: str,
    label: Any,
    *,
    limit: int = 30,
    keep_selected: bool = False,
) -> list[FacetValue]:
    """The values of one facet, most frequent first (years newest first), each with the link
    that toggles it; `label(name, value)` names a value. With `keep_selected`, selected values
    are listed even when no result has them."""
    selected = [v for v in params.get(name, []) if v]
    order = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    if name == "year":
        order = sorted(counts.items(), key=lambda kv: kv[0], reverse=True)
    shown = [(v, c) for v, c in order if c > 0][:limit]
    if keep_selected:
        shown += [(v, 0) for v in selected if v not in {s for s, _c in shown}]
    values = []
    for value, count in shown:
        toggled = dict(params)
        toggled[name] = (
            [v for v in selected if v != value] if value in selected else [*selected, value]
        )
        values.append(
            FacetValue(value, label(name, value), count, value in selected, url(base, toggled))
        )
    return values


def within_chain(params: dict[str, list[str]], base: str) -> list[tuple[str, str]]:
    """The earlier queries of 递进检索, each with the link that drops it."""
    earlier = params.get("w", [])
    return [(w, url(base, {**params, "w": [x for x in earlier if x != w]})) for w in earlier]


def hidden(
    params: dict[str, list[str]], leave_out: tuple[str, ...] = ("q",)
) -> list[tuple[str, str]]:
    """(name, value) pairs to carry in a form's hidden fields."""
    return [(k, v) for k, values in params.items() if k not in leave_out for v in values]


def pager(
    params: dict[str, list[str]], base: str, page: int, total: int, shown: int, form: Form
) -> dict[str, Any]:
    """pages, prev_url, next_url, first, last: for the results summary and the pager."""
    pages = min((total + form.page_size - 1) // form.page_size, form.max_page)
    offset = (page - 1) * form.page_size
    return {
        "pages": pages,
        "prev_url": url(base, {**params, "page": [str(page - 1)]}) if page > 1 else "",
        "next_url": url(base, {**params, "page": [str(page + 1)]}) if page < pages else "",
        "first": offset + 1,
        "last": offset + shown,
    }


# --- snippets --------------------------------------------------------------------------------------
_MARK = re.compile(r"</?mark>")
_ENTITY = re.compile(r"&(?!(?:amp|lt|gt|quot|#x27|#39|#34);)")


def safe_snippet(snippet: str) -> SafeString:
    """A snippet from the search service marked safe only when it is escaped text with nothing
    but balanced <mark>…</mark> tags; anything else is escaped whole (tags shown as text)."""
    rest = _MARK.sub("", snippet)
    balanced = snippet.count("<mark>") == snippet.count("</mark>")
    nested = re.search(r"<mark>[^<]*<mark>", snippet) is not None
    if balanced and not nested and "<" not in rest and ">" not in rest and not _ENTITY.search(rest):
        return mark_safe(snippet)  # noqa: S308 - checked above
    return escape(snippet)
