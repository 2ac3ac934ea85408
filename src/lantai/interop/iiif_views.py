"""Public IIIF Presentation 3.0 and Content Search 2.0 endpoints (no sign-in), mounted at /iiif/
beside the Image API: manifest/{archives code}/{档号}, collection/fonds/{archives code}/{全宗号},
search/{archives code}/{档号}?q=…

JSON-LD for any origin (Access-Control-Allow-Origin: *, as IIIF viewers on other sites read it),
404 for everything the public may not see (asked at each request: nothing public is cached here,
and clients are told to revalidate), a JSON error naming the rule for a bad query.

Flow control: a per-client token bucket in the shared cache, one token a request, refilled at
LANTAI_PUBLIC_CONTENT_RATE (manifests, collections) and LANTAI_PUBLIC_SEARCH_RATE (search), the
portal's rates and buckets (`lantai.core.ratelimit`).
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.urls import get_script_prefix, reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from lantai.catalog import public
from lantai.core import ratelimit
from lantai.core.client_address import client_address
from lantai.interop import iiif

PRESENTATION_TYPE = 'application/ld+json;profile="http://iiif.io/api/presentation/3/context.json"'
SEARCH_TYPE = 'application/ld+json;profile="http://iiif.io/api/search/2/context.json"'
_WHOLE = re.compile(r"^[0-9]{1,9}$")


def _cors(response: HttpResponse) -> HttpResponse:
    response["Access-Control-Allow-Origin"] = "*"
    response["Cache-Control"] = "no-cache"  # a record closed later must not be served from a cache
    response["X-Content-Type-Options"] = "nosniff"
    return response


def _json(doc: dict[str, Any], content_type: str, status: int = 200) -> HttpResponse:
    body = json.dumps(doc, ensure_ascii=False, separators=(",", ":"))
    return _cors(HttpResponse(body.encode("utf-8"), content_type=content_type, status=status))


def _error(status: int, message: str, message_en: str, **extra: str) -> HttpResponse:
    doc = {"error": message, "error_en": message_en, **extra}
    return _json(doc, "application/json; charset=utf-8", status)


def _not_found() -> HttpResponse:
    return _error(
        404,
        _("没有这份公开的 IIIF 资源：档案不存在、未开放，或没有可公开的页面图像。"),
        "No such public IIIF resource: unknown, not open, or without public page images.",
    )


def _limited(request: HttpRequest, bucket: str) -> HttpResponse | None:
    wait = ratelimit.take(bucket, client_address(request))
    if not wait:
        return None
    seconds = max(1, math.ceil(wait))
    response = _error(
        429,
        _("请求过于频繁，请 %(s)d 秒后再试") % {"s": seconds},
        f"Too many requests: try again in {seconds} s",
    )
    response["Retry-After"] = str(seconds)
    return response


def _urls(request: HttpRequest) -> iiif.Urls:
    root = request.build_absolute_uri(get_script_prefix())
    return iiif.Urls(
        iiif=root + "iiif/",  # the mount the contract fixes (/iiif/3/ is the Image API)
        public=request.build_absolute_uri(reverse("access:home")),
        oai=request.build_absolute_uri(reverse("interop:oai")),
    )


def _preflight() -> HttpResponse:
    response = _cors(HttpResponse(status=204))
    response["Access-Control-Allow-Methods"] = "GET, HEAD, OPTIONS"
    response["Access-Control-Max-Age"] = "86400"
    return response


def _page(request: HttpRequest) -> int | None:
    """?page=n (1 when absent); None for anything but a whole number."""
    text = request.GET.get("page")
    if text is None:
        return 1
    return int(text) if _WHOLE.fullmatch(text) else None


@require_http_methods(["GET", "HEAD", "OPTIONS"])
def manifest(request: HttpRequest, archives_code: str, reference_code: str) -> HttpResponse:
    if request.method == "OPTIONS":
        return _preflight()
    limited = _limited(request, "content")
    if limited is not None:
        return limited
    record = public.public_record_by_code(archives_code, reference_code)
    doc = iiif.record_manifest(record, _urls(request)) if record is not None else None
    return _not_found() if doc is None else _json(doc, PRESENTATION_TYPE)


@require_http_methods(["GET", "HEAD", "OPTIONS"])
def fonds_collection(request: HttpRequest, archives_code: str, fonds_code: str) -> HttpResponse:
    if request.method == "OPTIONS":
        return _preflight()
    limited = _limited(request, "content")
    if limited is not None:
        return limited
    page = _page(request) if "page" in request.GET else None
    if "page" in request.GET and page is None:
        return _not_found()
    doc = iiif.fonds_collection(archives_code, fonds_code, _urls(request), page)
    return _not_found() if doc is None else _json(doc, PRESENTATION_TYPE)


@require_http_methods(["GET", "HEAD", "OPTIONS"])
def search(request: HttpRequest, archives_code: str, reference_code: str) -> HttpResponse:
    if request.method == "OPTIONS":
        return _preflight()
    limited = _limited(request, "search")
    if limited is not None:
        return limited
    record = public.public_record_by_code(archives_code, reference_code)
    if record is None:
        return _not_found()
    page = _page(request)
    if page is None:
        return _error(400, _("参数 page 应为正整数"), "page must be a whole number from 1")
    ignored = [p for p in iiif.SEARCH_PARAMETERS if p in request.GET]
    try:
        doc = iiif.search(
            record, request.GET.get("q", ""), _urls(request), page=page, ignored=ignored
        )
    except iiif.QueryError as e:
        return _error(400, e.message, e.message_en, parameter="q")
    return _not_found() if doc is None else _json(doc, SEARCH_TYPE)
