"""跨全宗、跨门类检索 for staff: the simple box, advanced fields (each may be excluded), date and
year ranges, facet checkboxes with counts, 递进检索, sorting, paging and highlighted snippets.

What the user finds is decided by the search service with the user's own scope (repositories,
fonds, clearance): hits, totals, facet counts and suggestions never include what the catalogue
would not show them. The 三员 administrators and other roles without 查阅档案 find nothing, and
the page says so. Reading the parameters, the links and the snippets are shared with the public
portal (`lantai.search.webquery`)."""

from __future__ import annotations

import dataclasses
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET

from lantai.catalog import services as catalog
from lantai.search import services as search_service
from lantai.search import webquery
from lantai.search.query import Query, Scope
from lantai.web import labels

PAGE_SIZE = 20
ADVANCED = (
    ("title", gettext_lazy("题名")),
    ("author", gettext_lazy("责任者")),
    ("reference_code", gettext_lazy("档号")),
    ("document_number", gettext_lazy("文号")),
    ("full_text", gettext_lazy("全文")),
)
FACETS = ("repository", "fonds", "category", "year", "retention", "classification", "open_status")
FACET_LABELS = {
    "repository": gettext_lazy("档案馆"),
    "fonds": gettext_lazy("全宗"),
    "category": gettext_lazy("门类"),
    "year": gettext_lazy("年度"),
    "retention": gettext_lazy("保管期限"),
    "classification": gettext_lazy("密级"),
    "open_status": gettext_lazy("开放状态"),
}
SNIPPET_LABELS = {
    "author": gettext_lazy("责任者"),
    "document_number": gettext_lazy("文号"),
    "reference_code": gettext_lazy("档号"),
    "remarks": gettext_lazy("备注"),
    "full_text": gettext_lazy("全文"),
}
FORM = webquery.Form(
    advanced=tuple(name for name, _label in ADVANCED),
    facets=FACETS,
    page_size=PAGE_SIZE,
    max_page=search_service.MAX_OFFSET // PAGE_SIZE,
    max_chars=1000,  # the service refuses long queries with its own message
    exclude=True,
    max_within=10,
    max_values=50,
)


class _Labels:
    """Names of facet values: codes with the names of fonds (by key: archives and 全宗号),
    categories and repositories, and the labels of the controlled vocabularies. Only fonds and
    archives the user may see are named."""

    def __init__(
        self, facets: dict[str, dict[str, int]], params: dict[str, list[str]], user: Any, hits: Any
    ) -> None:
        fonds = {*facets.get("fonds", {}), *params.get("fonds", [])}
        fonds |= {str(h.fields.get("fonds", "")) for h in hits}
        repos = {*facets.get("repository", {}), *params.get("repository", [])}
        self.fonds = labels.fonds_labels(fonds, catalog.visible_fonds(user))
        self.repos = dict(
            catalog.visible_repositories(user).filter(code__in=repos).values_list("code", "name")
        )

    def __call__(self, name: str, value: str) -> str:
        if name == "fonds":
            return self.fonds.get(value, value)
        if name == "category":
            return f"{value} {labels.category_name(value)}".strip()
        if name == "repository":
            return self.repos.get(value, value)
        if name in ("retention", "classification", "open_status"):
            return labels.vocab_label(name, value) or value
        return value


def _hit(hit: Any, names: _Labels) -> dict[str, Any]:
    fields = hit.fields
    snippets = {k: webquery.safe_snippet(v) for k, v in hit.snippets.items()}
    date = fields.get("date")
    return {
        "id": hit.id,
        "title": snippets.get("title") or fields.get("title") or _("（无题名）"),
        "reference_code": snippets.get("reference_code") or fields.get("reference_code", ""),
        "author": snippets.get("author") or fields.get("author", ""),
        "document_number": fields.get("document_number", ""),
        "date": date.isoformat() if hasattr(date, "isoformat") else (fields.get("year") or ""),
        "fonds": names("fonds", str(fields.get("fonds", ""))),
        "category": names("category", str(fields.get("category", ""))),
        "open_status_code": fields.get("open_status", ""),
        "open_status": names("open_status", str(fields.get("open_status", ""))),
        "classification_code": fields.get("classification", ""),
        "classification": names("classification", str(fields.get("classification", ""))),
        "snippets": [
            (SNIPPET_LABELS[k], v)
            for k, v in snippets.items()
            if k in SNIPPET_LABELS and k not in ("author", "reference_code")
        ],
    }


def _own_filter_counts(request: HttpRequest, query: Query, scope: Scope) -> dict[str, Any]:
    """For each facet with values selected, its counts without its own filter (the other filters
    and the text still apply), so more values of it can be ticked (ORed): one count-only search
    per such facet, in the same scope."""
    out: dict[str, Any] = {}
    for name in query.filters:
        others = dataclasses.replace(
            query,
            filters={k: v for k, v in query.filters.items() if k != name},
            facets=(name,),
            offset=0,
            limit=0,
            highlight=False,
        )
        out[name] = search_service.search(request.user, others, scope=scope).facets.get(name, {})
    return out


@login_required
@require_GET
def search(request: HttpRequest) -> HttpResponse:
    base = reverse("web:search")
    params = webquery.params_of(request.GET)
    refined = webquery.within_params(params)
    if refined is not None:  # 递进检索: the current query joins the earlier ones
        return redirect(webquery.url(base, refined))
    parsed = webquery.parse(request.GET, FORM)
    query, page = parsed.query, parsed.page
    scope = search_service.scope_for(request.user)
    context: dict[str, Any] = {
        "query": query,
        "page": page,
        "results": None,
        "errors": list(parsed.problems),
        "sees_nothing": search_service.sees_nothing(scope),
        "advanced": [
            (name, label, request.GET.get(name, ""), bool(request.GET.get(f"{name}_not")))
            for name, label in ADVANCED
        ],
        "advanced_open": bool(
            query.conditions or query.date_from or query.date_to or query.year_from or query.year_to
        ),
        "sorts": [("relevance", _("相关度")), ("date", _("日期")), ("reference_code", _("档号"))],
        "within_chain": webquery.within_chain(params, base),
        "hidden": webquery.hidden(params),
        "clear_url": base,
    }
    if context["sees_nothing"] or webquery.is_empty(query):
        return render(request, "web/search.html", context)
    try:
        results = search_service.search(request.user, query, scope=scope)
    except search_service.SearchError as e:
        context["errors"].append(e.message_zh)
        return render(request, "web/search.html", context)
    counts = {**results.facets, **_own_filter_counts(request, query, scope)}
    names = _Labels(counts, params, request.user, results.hits)
    facets = []
    for name in FACETS:
        values = webquery.facet_values(
            name, counts.get(name, {}), params, base, names, keep_selected=True
        )
        if values:
            facets.append((name, FACET_LABELS[name], values))
    hits = [_hit(h, names) for h in results.hits]
    context.update(
        webquery.pager(params, base, page, results.total, len(hits), FORM),
        results=results,
        facets=facets,
        hits=hits,
        facet_hidden=webquery.hidden(params, leave_out=FACETS),
    )
    return render(request, "web/search.html", context)


@login_required
@require_GET
def suggest(request: HttpRequest) -> JsonResponse:
    """Titles for the search box's autocomplete, within the user's scope."""
    prefix = request.GET.get("q", "").strip()[:50]
    items = search_service.suggest(request.user, prefix)[:10] if prefix else []
    return JsonResponse({"suggestions": items})
