"""The hub's public pages: 全区开放档案检索 across every member's open catalogue (HTML and JSON).
No sign-in; rate-limited as the public portal; results link to each archives' own record page."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.dateparse import parse_datetime
from django.views.decorators.http import require_GET

from lantai.core.ratelimit import limited

from . import hub_index, hub_search, peers
from .models import Member


def _hub_only() -> None:
    if not peers.is_hub() and not Member.objects.exists():
        raise Http404("not a hub")


def _params(request: HttpRequest) -> tuple[str, list[str], int]:
    q = request.GET.get("q", "").strip()
    archives = [a for v in request.GET.getlist("archives") for a in v.split(",") if a.strip()]
    try:
        page = max(1, min(int(request.GET.get("page", "1")), 10_000))
    except ValueError:
        page = 1
    return q, [a.strip() for a in archives], page


def _url(q: str, archives: list[str], page: int = 1) -> str:
    params: list[tuple[str, Any]] = [("q", q)] + [("archives", a) for a in archives]
    if page > 1:
        params.append(("page", page))
    return "?" + urlencode(params)


@require_GET
@limited("search")
def search_page(request: HttpRequest) -> HttpResponse:
    _hub_only()
    q, archives, page = _params(request)
    covered = hub_search.coverage()
    for c in covered:
        c["last_harvest_at"] = parse_datetime(c["last_harvest"]) if c["last_harvest"] else None
    context: dict[str, Any] = {"q": q, "archives": archives, "coverage": covered, "result": None}
    if q:
        try:
            result = hub_index.search(q, archives=archives or None, page=page)
        except hub_index.HubSearchError as exc:
            context["error"] = exc.message_zh
        else:
            for f in result["facets"]:
                chosen = [a for a in archives if a != f["code"]] if f["selected"] else [*archives, f["code"]]  # fmt: skip
                f["url"] = _url(q, chosen)
            context.update(
                result=result, first=(page - 1) * result["per_page"] + 1,
                last=(page - 1) * result["per_page"] + len(result["hits"]),
                prev_url=_url(q, archives, page - 1) if page > 1 else "",
                next_url=_url(q, archives, page + 1) if page < result["pages"] else "",
                clear_url=_url(q, []) if archives else "",
            )  # fmt: skip
    return render(request, "platform/hub_search.html", context)


@require_GET
@limited("search")
def search_api(request: HttpRequest) -> JsonResponse:
    """GET /platform/api/search?q=&archives=A01,B02&page= (what `lantai platform search` reads)."""
    _hub_only()
    q, archives, page = _params(request)
    if not q:
        return JsonResponse({"ok": False, "error": {"field": "q", "message": "请输入检索词", "message_en": "give a query (q)"}}, status=400)  # fmt: skip
    try:
        result = hub_index.search(q, archives=archives or None, page=page)
    except hub_index.HubSearchError as exc:
        return JsonResponse({"ok": False, "error": {"field": exc.field, "message": exc.message_zh, "message_en": exc.message_en}}, status=400)  # fmt: skip
    return JsonResponse({"ok": True, **result, "coverage": hub_search.coverage()}, json_dumps_params={"ensure_ascii": False})  # fmt: skip
