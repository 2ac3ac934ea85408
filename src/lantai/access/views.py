"""The public portal (公众查档): no sign-in, rate-limited, and nothing but open records.

Every page here is thin: what may be shown is decided by `lantai.access.services` and the search
service called with the public scope (`user=None`)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.core import signing
from django.core.cache import cache
from django.http import FileResponse, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.clickjacking import xframe_options_sameorigin
from django.views.decorators.http import require_GET, require_http_methods

from lantai.access import services
from lantai.access.forms import RequestForm, StatusForm, seconds_since, started_token
from lantai.access.ratelimit import limited
from lantai.catalog.models import Fonds
from lantai.search.query import PUBLIC_FIELDS, Query, TextCondition
from lantai.web import labels

PAGE_SIZE = 20
MAX_PAGE = 50  # deep paging is for robots; people narrow the search instead
CATALOGUE_CACHE_KEY = "lantai:access:open-catalogue"
CATALOGUE_CACHE_SECONDS = 300
FACETS = ("repository", "fonds", "category", "year")
ADVANCED = (
    ("title", gettext_lazy("题名")),
    ("author", gettext_lazy("责任者")),
    ("reference_code", gettext_lazy("档号")),
    ("document_number", gettext_lazy("文号")),
)
_DONE_SALT = "lantai.access.request-done"


def not_found(request: HttpRequest) -> HttpResponse:
    """The one 404 page for a record that is closed, restricted or missing (no existence leak)."""
    return render(request, "access/404.html", status=404)


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


# --- home ------------------------------------------------------------------------------------------
def _catalogue() -> list[services.RepositoryEntry]:
    cached = cache.get(CATALOGUE_CACHE_KEY)
    if cached is None:
        cached = services.open_catalogue()
        cache.set(CATALOGUE_CACHE_KEY, cached, CATALOGUE_CACHE_SECONDS)
    return list(cached)


@require_GET
@limited("page")
def home(request: HttpRequest) -> HttpResponse:
    catalogue = _catalogue()
    return render(
        request,
        "access/home.html",
        {"catalogue": catalogue, "total": sum(r.count for r in catalogue)},
    )


# --- search ----------------------------------------------------------------------------------------
@dataclass
class FacetValue:
    value: str
    label: str
    count: int
    selected: bool
    url: str


def _date(value: str) -> date | None:
    try:
        return date.fromisoformat(value.strip()) if value.strip() else None
    except ValueError:
        return None


def _year(value: str) -> int | None:
    value = value.strip()
    return int(value) if value.isdigit() and 1 <= int(value) <= 9999 else None


def _query_from(params: Any, *, facets: bool = True) -> tuple[Query, int]:
    text = params.get("q", "").strip()[:200]
    conditions = tuple(
        TextCondition(params.get(name, "").strip()[:200], name)
        for name, _label in ADVANCED
        if params.get(name, "").strip()
    )
    within = tuple(Query(text=w.strip()[:200]) for w in params.getlist("w") if w.strip())[:5]
    filters = {
        name: tuple(v for v in params.getlist(name) if v)[:20]
        for name in FACETS
        if any(params.getlist(name))
    }
    sort = params.get("sort", "relevance")
    page_text = params.get("page", "1")
    page = min(max(int(page_text) if page_text.isdigit() else 1, 1), MAX_PAGE)
    query = Query(
        text=text,
        conditions=conditions,
        within=within,
        filters=filters,
        date_from=_date(params.get("date_from", "")),
        date_to=_date(params.get("date_to", "")),
        year_from=_year(params.get("year_from", "")),
        year_to=_year(params.get("year_to", "")),
        sort=sort if sort in ("relevance", "date", "reference_code") else "relevance",
        facets=FACETS if facets else (),
        offset=(page - 1) * PAGE_SIZE,
        limit=PAGE_SIZE,
    )
    return query, page


def _is_empty(query: Query) -> bool:
    return not (
        query.text
        or query.conditions
        or query.filters
        or query.date_from
        or query.date_to
        or query.year_from
        or query.year_to
    )


def _url(params: dict[str, list[str]]) -> str:
    pairs = [(k, v) for k, values in params.items() for v in values if v]
    return reverse("access:search") + ("?" + urlencode(pairs) if pairs else "")


def _facet_label(name: str, value: str, fonds_names: dict[str, str], repos: dict[str, str]) -> str:
    if name == "category":
        return f"{value} {labels.category_name(value)}".strip()
    if name == "fonds":
        return f"{value} {fonds_names.get(value, '')}".strip()
    if name == "repository":
        return repos.get(value, value)
    return value


@require_GET
@limited("search")
def search(request: HttpRequest) -> HttpResponse:
    from lantai.search import services as search_service

    params = {k: request.GET.getlist(k) for k in request.GET}
    if within_text := request.GET.get("q2", "").strip():  # 递进检索: the current query joins `w`
        current = request.GET.get("q", "").strip()
        params["w"] = params.get("w", []) + ([current] if current else [])
        params["q"] = [within_text]
        params.pop("q2", None)
        params.pop("page", None)
        return redirect(_url(params))
    params.pop("page", None)
    query, page = _query_from(request.GET)
    results = None
    error = ""
    if not _is_empty(query):
        try:
            results = search_service.search(None, query)
        except search_service.SearchError as e:
            error = e.message_zh
    context: dict[str, Any] = {
        "query": query, "params": params, "page": page, "results": results, "error": error,
    }  # fmt: skip
    fonds_codes: dict[str, str] = {}
    if results is not None:
        codes = list(results.facets.get("fonds", {}))
        fonds_codes = dict(
            Fonds.objects.filter(code__in=codes).values_list("code", "name").order_by("-id")
        )
        repos = {r.code: r.name for r in services.catalog.visible_repositories(None)}
        facets = []
        facet_labels = {
            "repository": _("档案馆"),
            "fonds": _("全宗"),
            "category": _("门类"),
            "year": _("年度"),
        }
        for name in FACETS:
            values = []
            selected = set(request.GET.getlist(name))
            counts = results.facets.get(name, {})
            order = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
            if name == "year":
                order = sorted(counts.items(), key=lambda kv: kv[0], reverse=True)
            for value, count in order[:30]:
                if count <= 0:
                    continue
                toggled = dict(params)
                current = list(selected)
                toggled[name] = (
                    [v for v in current if v != value] if value in selected else current + [value]
                )
                values.append(
                    FacetValue(
                        value,
                        _facet_label(name, value, fonds_codes, repos),
                        count,
                        value in selected,
                        _url(toggled),
                    )
                )
            if values:
                facets.append((name, facet_labels[name], values))
        hits = []
        for hit in results.hits:
            fields = {k: v for k, v in hit.fields.items() if k in PUBLIC_FIELDS}
            snippets = {k: safe_snippet(v) for k, v in hit.snippets.items()}
            hits.append(
                {
                    "id": hit.id,
                    "fields": fields,
                    "title": snippets.get("title") or fields.get("title", ""),
                    "snippets": [v for k, v in snippets.items() if k != "title"],
                    "fonds_name": fonds_codes.get(str(fields.get("fonds", "")), ""),
                    "category_name": labels.category_name(str(fields.get("category", ""))),
                }
            )
        pages = min((results.total + PAGE_SIZE - 1) // PAGE_SIZE, MAX_PAGE)
        context.update(
            facets=facets,
            hits=hits,
            pages=pages,
            prev_url=_url({**params, "page": [str(page - 1)]}) if page > 1 else "",
            next_url=_url({**params, "page": [str(page + 1)]}) if page < pages else "",
            first=query.offset + 1,
            last=query.offset + len(hits),
            within_chain=[
                (w, _url({**params, "w": [x for x in params.get("w", []) if x != w]}))
                for w in params.get("w", [])
            ],
        )
    context.update(
        advanced=[(name, label, request.GET.get(name, "")) for name, label in ADVANCED],
        sorts=[("relevance", _("相关度")), ("date", _("日期")), ("reference_code", _("档号"))],
        fonds_choices=[(f.code, f.name) for r in _catalogue() for f in r.fonds],
        category_choices=[(c.code, labels.category_name(c.code)) for c in _categories()],
        hidden=[(k, v) for k, values in params.items() if k not in ("q",) for v in values],
    )
    return render(request, "access/search.html", context)


def _categories() -> list[Any]:
    return services.catalog.standard_categories()


@require_GET
@limited("suggest")
def suggest(request: HttpRequest) -> JsonResponse:
    from lantai.search import services as search_service

    prefix = request.GET.get("q", "").strip()[:50]
    items = search_service.suggest(None, prefix)[:10] if prefix else []
    return JsonResponse({"suggestions": items})


# --- the record page and its content ---------------------------------------------------------------
@require_GET
@limited("page")
def record(request: HttpRequest, pk: int) -> HttpResponse:
    rec = services.public_record(pk)
    if rec is None:
        return not_found(request)
    contents, others = services.public_contents(rec)
    fields = [
        (_("档号"), rec.reference_code),
        (_("题名"), rec.title),
        (_("责任者"), rec.author),
        (_("文号"), rec.document_number),
        (_("日期"), rec.date.isoformat() if rec.date else ""),
        (_("年度"), rec.year or ""),
        (_("档案馆"), rec.repository.name),
        (_("全宗"), f"{rec.fonds.code} {rec.fonds.name}"),
        (_("门类"), f"{rec.category.code} {labels.category_name(rec.category.code)}"),
        (_("保管期限"), labels.vocab_label("retention", rec.retention)),
        (_("开放状态"), labels.vocab_label("open_status", rec.open_status)),
    ]
    images = [c.component for c in contents if c.kind == "image"]
    return render(
        request,
        "access/record.html",
        {
            "record": rec,
            "fields": [(k, v) for k, v in fields if v not in ("", None)],
            "images": images,
            "pdfs": [c.component for c in contents if c.kind == "pdf"],
            "others": others,
            "request_url": reverse("access:request") + f"?record={rec.pk}",
        },
    )


@require_GET
@limited("content")
def image(request: HttpRequest, pk: int) -> HttpResponse:
    component = services.public_component(pk, "image")
    if component is None:
        return not_found(request)
    try:
        path = services.watermarked_image(component)
    except services.AccessError:
        return not_found(request)
    response = FileResponse(path.open("rb"), content_type="image/jpeg")
    response["Cache-Control"] = "private, max-age=3600"
    return response


@require_GET
@limited("content")
@xframe_options_sameorigin
def pdf(request: HttpRequest, pk: int) -> HttpResponse:
    component = services.public_component(pk, "pdf")
    if component is None:
        return not_found(request)
    try:
        path = services.public_pdf_path(component)
    except services.AccessError:
        return not_found(request)
    response = FileResponse(
        path.open("rb"), content_type="application/pdf", filename=component.name
    )
    response["Content-Disposition"] = response["Content-Disposition"].replace(
        "attachment", "inline"
    )
    # shown in an <iframe> of the record page: same origin only
    response["Content-Security-Policy"] = "default-src 'none'; frame-ancestors 'self'"
    response["Cache-Control"] = "private, max-age=3600"
    return response


# --- 查档申请 --------------------------------------------------------------------------------------
def _record_choices(ids: list[str]) -> list[tuple[int, str]]:
    wanted = [int(i) for i in ids if i.isdigit()][:20]
    return [(r.pk, f"{r.reference_code} {r.title}") for r in services.public_records(wanted)]


@require_http_methods(["GET", "POST"])
@limited("form", methods=("POST",))
def request_form(request: HttpRequest) -> HttpResponse:
    problem = ""
    if request.method == "POST":
        choices = _record_choices(request.POST.getlist("records"))
        form = RequestForm(request.POST, record_choices=choices)
        elapsed = seconds_since(request.POST.get("started", ""))
        if request.POST.get("website"):
            problem = _("提交未成功，请刷新页面后重新填写。")
        elif elapsed is None:
            problem = _("表单已过期，请重新提交。")
        elif elapsed < float(settings.PUBLIC_FORM_MIN_SECONDS):
            problem = _("提交过快，请核对填写内容后再提交。")
        elif form.is_valid():
            try:
                req = services.submit_request(form.to_input())
            except services.AccessError as e:
                form.add_error(e.field if e.field in form.fields else None, e.message)
            else:
                token = signing.dumps(req.reference, salt=_DONE_SALT)
                return redirect(reverse("access:request_done") + "?" + urlencode({"t": token}))
        data = request.POST.copy()
        data["started"] = started_token()
        data["website"] = ""
        form = RequestForm(data, record_choices=choices)
        form.is_valid()
        status = 400
    else:
        choices = _record_choices(request.GET.getlist("record"))
        form = RequestForm(
            initial={"records": [pk for pk, _label in choices], "started": started_token()},
            record_choices=choices,
        )
        status = 200
    return render(
        request, "access/request_form.html", {"form": form, "problem": problem}, status=status
    )


@require_GET
@limited("page")
def request_done(request: HttpRequest) -> HttpResponse:
    try:
        reference = signing.loads(request.GET.get("t", ""), salt=_DONE_SALT, max_age=86400)
    except signing.BadSignature:
        return not_found(request)
    return render(request, "access/request_done.html", {"reference": reference})


@require_http_methods(["GET", "POST"])
@limited("search", methods=("POST",))
def status(request: HttpRequest) -> HttpResponse:
    found = None
    looked = False
    if request.method == "POST":
        form = StatusForm(request.POST)
        if form.is_valid():
            looked = True
            found = services.find_request(
                form.cleaned_data["reference"], form.cleaned_data["phone"]
            )
    else:
        form = StatusForm()
    return render(
        request,
        "access/status.html",
        {
            "form": form,
            "found": found,
            "looked": looked,
            "masked_name": services.mask_name(found.applicant_name) if found else "",
        },
    )
