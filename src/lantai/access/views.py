"""The public portal (公众查档): no sign-in, rate-limited, and nothing but open records.

Every page here is thin: what may be shown is decided by `lantai.access.services` and the search
service called with the public scope (`user=None`)."""

from __future__ import annotations

import re
from collections import Counter
from typing import Any, cast
from urllib.parse import urlencode

from django.conf import settings
from django.core import signing
from django.core.cache import cache
from django.http import FileResponse, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.clickjacking import xframe_options_sameorigin
from django.views.decorators.http import require_GET, require_http_methods, require_safe

from lantai.access import delivery, record_pages, services
from lantai.access.forms import RequestForm, StatusForm, seconds_since, started_token
from lantai.catalog import open_copies, public
from lantai.core.ratelimit import limited
from lantai.search import webquery
from lantai.search.query import PUBLIC_FIELDS
from lantai.search.webquery import safe_snippet
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


# --- home ------------------------------------------------------------------------------------------
def _catalogue() -> list[services.RepositoryEntry]:
    """The open catalogue's counts, cached for a while; a change that narrows what the public
    sees (a record closed, classified or moved) starts a new cache entry at once."""
    from lantai.search import services as search_service

    key = f"{CATALOGUE_CACHE_KEY}:{search_service.withheld_stamp()}"
    cached = cache.get(key)
    if cached is None:
        try:
            cached = services.open_catalogue()
        except search_service.SearchError:  # the index cannot answer (logged): no counts
            return []
        cache.set(key, cached, CATALOGUE_CACHE_SECONDS)
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
def _search_form() -> webquery.Form:
    """What the portal's search offers (read at each request: tests change PAGE_SIZE)."""
    return webquery.Form(
        advanced=tuple(name for name, _label in ADVANCED),
        facets=FACETS,
        page_size=PAGE_SIZE,
        max_page=MAX_PAGE,
    )


def _facet_label(name: str, value: str, fonds_names: dict[str, str], repos: dict[str, str]) -> str:
    if name == "category":
        return f"{value} {labels.category_name(value)}".strip()
    if name == "fonds":
        return fonds_names.get(value, value)
    if name == "repository":
        return repos.get(value, value)
    return value


@require_GET
@limited("search")
def search(request: HttpRequest) -> HttpResponse:
    from lantai.search import services as search_service

    base = reverse("access:search")
    params = webquery.params_of(request.GET)
    refined = webquery.within_params(params)
    if refined is not None:  # 递进检索: the current query joins `w`
        return redirect(webquery.url(base, refined))
    form = _search_form()
    parsed = webquery.parse(request.GET, form)
    query, page = parsed.query, parsed.page
    results = None
    error = ""
    if not webquery.is_empty(query):
        try:
            results = search_service.search(None, query)
        except search_service.SearchError as e:
            error = e.message_zh
    context: dict[str, Any] = {
        "query": query, "params": params, "page": page, "results": results, "error": error,
    }  # fmt: skip
    if results is not None:
        # fonds by key (archives and 全宗号): of the results' fonds only, all holding open records
        keys = {
            *results.facets.get("fonds", {}),
            *(str(h.fields.get("fonds")) for h in results.hits),
        }
        fonds_names = labels.fonds_labels(keys, services.catalog.visible_fonds(None))
        repos = {r.code: r.name for r in services.catalog.visible_repositories(None)}
        facet_labels = {
            "repository": _("档案馆"),
            "fonds": _("全宗"),
            "category": _("门类"),
            "year": _("年度"),
        }
        facets = []
        for name in FACETS:
            values = webquery.facet_values(
                name,
                results.facets.get(name, {}),
                params,
                base,
                lambda n, v: _facet_label(n, v, fonds_names, repos),
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
                    "href": public.record_path(
                        str(fields.get("repository", "")),
                        str(fields.get("reference_code", "")),
                        hit.id,
                    ),
                    "fields": fields,
                    "title": snippets.get("title") or fields.get("title", ""),
                    "snippets": [v for k, v in snippets.items() if k != "title"],
                    "fonds_name": fonds_names.get(str(fields.get("fonds", "")), ""),
                    "category_name": labels.category_name(str(fields.get("category", ""))),
                }
            )
        context.update(
            webquery.pager(params, base, page, results.total, len(hits), form),
            facets=facets,
            hits=hits,
            within_chain=webquery.within_chain(params, base),
        )
    context.update(
        advanced=[(name, label, request.GET.get(name, "")) for name, label in ADVANCED],
        sorts=[("relevance", _("相关度")), ("date", _("日期")), ("reference_code", _("档号"))],
        fonds_choices=_fonds_choices(),
        category_choices=[(c.code, labels.category_name(c.code)) for c in _categories()],
        hidden=webquery.hidden(params),
    )
    return render(request, "access/search.html", context)


def _fonds_choices() -> list[tuple[str, str]]:
    """The advanced search's fonds list: each fonds holding open records, by its key, named with
    its 全宗号 and name, and its archives' name where the 全宗号 repeats."""
    entries = [(r, f) for r in _catalogue() for f in r.fonds]
    repeated = Counter(f.code for _r, f in entries)
    return [
        (f.key, f"{f.code} {f.name}" + (f"（{r.name}）" if repeated[f.code] > 1 else ""))
        for r, f in entries
    ]


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
PREPARING_REFRESH_SECONDS = 10  # how often a page waiting for a rendered copy reloads itself


@require_GET
@limited("page")
def record(request: HttpRequest, pk: int) -> HttpResponse:
    rec = services.public_record(pk)
    if rec is None:
        return not_found(request)
    return _record_page(request, rec)


@require_GET
@limited("page")
def record_by_code(request: HttpRequest, archives: str, code: str) -> HttpResponse:
    """The record's stable page: by its archives' code and its 档号 (the same page as by id)."""
    rec = public.public_record_by_code(archives, code)
    if rec is None:
        return not_found(request)
    return _record_page(request, rec)


def _record_page(request: HttpRequest, rec: Any) -> HttpResponse:
    context = record_pages.record_context(request, rec)
    context.update(
        refresh_seconds=PREPARING_REFRESH_SECONDS,
        request_url=reverse("access:request") + f"?record={rec.pk}",
    )
    return render(request, "access/record.html", context)


@require_GET
@xframe_options_sameorigin
@limited("content")
def open_copy(request: HttpRequest, pk: int) -> HttpResponse:
    """The redacted open copy of a partly opened record (the closed passages are not in it)."""
    copy = services.public_open_copy(pk)
    if copy is None:
        return not_found(request)
    path = open_copies.open_copy_path(copy)
    if not path.is_file():
        return not_found(request)
    response = FileResponse(
        path.open("rb"), content_type="application/pdf", filename=f"open-copy-{pk}.pdf"
    )
    # shown in the record page's frame (the default policy forbids every frame)
    response["Content-Security-Policy"] = "default-src 'none'; frame-ancestors 'self'"
    return response


def _preparing(request: HttpRequest, kind: str) -> HttpResponse:
    """202 while a queued job renders the copy: a placeholder page image, or (for a PDF, shown in
    a frame or a window of its own) a page that reloads itself until the PDF is there."""
    if kind == "image":
        body = delivery.preparing_image(_("正在生成…"))
        response = HttpResponse(body, content_type="image/png", status=202)
    else:
        response = render(
            request,
            "access/preparing.html",
            {"refresh_seconds": PREPARING_REFRESH_SECONDS},
            status=202,
        )
        response["Content-Security-Policy"] = "default-src 'none'; frame-ancestors 'self'"
    response["Cache-Control"] = "no-store"
    response["Retry-After"] = str(PREPARING_REFRESH_SECONDS)
    return response


@require_GET
@limited("content")
def image(request: HttpRequest, pk: int) -> HttpResponse:
    component = services.public_component(pk, "image")
    if component is None:
        return not_found(request)
    try:
        path = delivery.watermarked_image(component)
    except services.AccessError:
        return not_found(request)
    if path is None:
        return _preparing(request, "image")
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
        path = delivery.watermarked_pdf(component)
    except services.AccessError:
        return not_found(request)
    if path is None:
        return _preparing(request, "pdf")
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


@require_safe
@limited("content")
def recording_media(request: HttpRequest, pk: int) -> HttpResponse:
    """The recording played on the record page, with Range (the player seeks): a video's
    watermarked copy, an audio's access copy; never the stored original, never as a download."""
    from lantai.web.ranged_files import ranged_file_response

    recording = delivery.public_recording(pk)
    if recording is None:
        return not_found(request)
    try:
        found = delivery.recording_media(recording)
    except services.AccessError:
        return not_found(request)
    if found is None:
        response = HttpResponse(
            _("正在生成…"), content_type="text/plain; charset=utf-8", status=202
        )
        response["Cache-Control"] = "no-store"
        response["Retry-After"] = str(PREPARING_REFRESH_SECONDS)
        return response
    path, content_type = found
    ranged = ranged_file_response(request, path, content_type)
    ranged["Cache-Control"] = "private, max-age=3600"
    ranged["Content-Disposition"] = "inline"
    return cast(HttpResponse, ranged)  # a StreamingHttpResponse for a range, as FileResponse is


@require_GET
@limited("content")
def recording_poster(request: HttpRequest, pk: int) -> HttpResponse:
    recording = delivery.public_recording(pk)
    if recording is None or recording.kind != "video":
        return not_found(request)
    try:
        path = delivery.recording_poster(recording)
    except services.AccessError:
        return not_found(request)
    if path is None:
        return _preparing(request, "image")
    response = FileResponse(path.open("rb"), content_type="image/jpeg")
    response["Cache-Control"] = "private, max-age=3600"
    return response


# --- 查档申请 --------------------------------------------------------------------------------------
def _record_choices(ids: list[str]) -> list[tuple[int, str]]:
    wanted = [int(i) for i in ids if re.fullmatch(r"[0-9]{1,18}", i)][:20]
    records = services.public_records(wanted)
    copies = open_copies.open_copies([r.pk for r in records])
    return [
        (r.pk, f"{r.reference_code} {open_copies.public_value(r, 'title', copies.get(r.pk))}")
        for r in records
    ]


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
    certificates = certificates_of(found) if found is not None else []
    wanted = request.POST.get("certificate", "") if found is not None else ""
    if wanted:
        chosen = next((c for c in certificates if c.number == wanted), None)
        if chosen is not None:
            return _certificate_pdf(request, chosen)
    return render(
        request,
        "access/status.html",
        {
            "form": form,
            "found": found,
            "looked": looked,
            "masked_name": services.mask_name(found.applicant_name) if found else "",
            "certificates": certificates,
        },
    )


def certificates_of(req: Any) -> list[Any]:
    """Certificates the marriage counter issued for ``req`` that still verify: not revoked, and
    signed by a key neither withdrawn since nor compromised at the time of signing."""
    from django.db.models import F, Q

    from lantai.certificates.models import Certificate

    return list(
        Certificate.objects.filter(access_request_id=req.pk, revoked_at__isnull=True)
        .filter(issuer_key__withdrawn_at__isnull=True)
        .exclude(Q(issuer_key__compromised_since__lte=F("issued_at")))
    )


def _certificate_pdf(request: HttpRequest, certificate: Any) -> HttpResponse:
    from lantai.certificates import issuing

    try:
        pdf = issuing.pdf_bytes(certificate)
    except FileNotFoundError:
        return not_found(request)
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{certificate.number}.pdf"'
    response["Cache-Control"] = "no-store"
    return response
