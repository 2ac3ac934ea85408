"""The IIIF Image API 3.0 over HTTP: public (/iiif/3/, watermarked, open records only, checked on
every request, cached tiles included) and staff (/reading-room/iiif/3/, signed in, any page image
of a record the user may see, no watermark).

Identifiers are `c{component pk}`. Errors are plain text in Chinese with the status the
specification gives (400 bad request, 404 no such image for this reader, 501 not implemented,
503 with Retry-After while a large page's pyramid is being built), and 422 with the reason for a
page that cannot be shown at all (a damaged file, a decompression bomb).

Browser caching: public answers may be kept by the browser that fetched them for PUBLIC_MAX_AGE
seconds, never by a shared cache (`private`: a proxy or CDN in front of the portal must not hand a
tile of a record closed meanwhile to anyone else). A record closed now is refused at once to every
new request (the access check runs before the disk cache is looked at); the max-age only bounds how
long a browser that already holds a tile may show it again. Staff answers are private too.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from django.contrib.auth.decorators import login_required
from django.http import FileResponse, HttpRequest, HttpResponse, HttpResponseRedirect
from django.http.response import HttpResponseBase
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_safe

from lantai.access import delivery, derivatives, iiif
from lantai.catalog import services as catalog
from lantai.catalog.models import Component
from lantai.catalog.public import content_kind, public_component
from lantai.core import audit, ratelimit
from lantai.core.client_address import client_address
from lantai.core.roles import VIEW
from lantai.standards import iiif_image
from lantai.standards.iiif_image import IIIFError

_Response = TypeVar("_Response", bound=HttpResponseBase)
PUBLIC_MAX_AGE = 300
STAFF_MAX_AGE = 600
MAX_COMPONENT_ID = 2**63 - 1
STAMP_SECONDS = 300
_stamps: dict[tuple[int, str, int], tuple[str, float]] = {}
# tiles come by the dozen per view: their own bucket once the lead adds it (settings
# PUBLIC_TILE_RATE), else the portal's "content" bucket that page images use


def _component_id(identifier: str) -> int | None:
    """`c123` → 123; anything else (another prefix, leading zeros, signs, dots) → None."""
    digits = identifier[1:]
    if not identifier.startswith("c") or not digits.isascii() or not digits.isdigit():
        return None
    if digits.startswith("0") or len(digits) > 19 or int(digits) > MAX_COMPONENT_ID:
        return None
    return int(digits)


def _missing() -> IIIFError:
    return IIIFError(404, _("没有这个图像，或该图像不对您提供"))


def _text(status: int, message: str) -> HttpResponse:
    response = HttpResponse(message, content_type="text/plain; charset=utf-8", status=status)
    response["Cache-Control"] = "no-store"
    return response


@dataclass(frozen=True)
class _Access:
    """Which component, variant ("public" or "staff") and watermark a request is for."""

    component: Component
    variant: str
    stamp: str


def _stamp(component: Component) -> str:
    """The watermark text, remembered for STAMP_SECONDS per (component, file, record): a tile
    is asked for dozens of times a minute and the text changes only when the repository is
    renamed (then, for a few minutes more, the pyramid with the old name is served). The verdict
    whether the public may see the component is never remembered."""
    key = (component.pk, component.sm3, component.record_id)
    now = time.monotonic()
    known = _stamps.get(key)
    if known is not None and known[1] > now:
        return known[0]
    if len(_stamps) > 10_000:
        _stamps.clear()
    stamp = delivery.watermark_text(component)
    _stamps[key] = (stamp, now + STAMP_SECONDS)
    return stamp


def _public(request: HttpRequest, pk: int) -> _Access | None:
    component = public_component(pk, "image")  # asked anew on every request
    if component is None:
        return None
    return _Access(component, "public", _stamp(component))


def _staff(request: HttpRequest, pk: int) -> _Access | None:
    component = Component.objects.filter(pk=pk).first()
    if component is None or content_kind(component) != "image":
        return None
    if catalog.visible_record(request.user, component.record_id) is None:  # type: ignore[arg-type]
        return None
    return _Access(component, "staff", "")


def _headers(response: _Response, public: bool) -> _Response:
    if public:
        response["Access-Control-Allow-Origin"] = "*"
        response["Cache-Control"] = f"private, max-age={PUBLIC_MAX_AGE}"
    else:
        response["Cache-Control"] = f"private, max-age={STAFF_MAX_AGE}"
    return response


def _pyramid(access: _Access) -> Any:
    return iiif.ensure_pyramid(access.component, access.stamp, access.variant)


def _failure(error: Exception, public: bool) -> HttpResponse:
    if isinstance(error, IIIFError):
        response = _text(error.status, error.message)
    elif isinstance(error, iiif.NotReady):
        response = _text(503, _("该页图像正在生成可缩放的版本，请稍后再试"))
        response["Retry-After"] = str(error.retry_after)
    else:  # RenderError: the page cannot be shown (damaged file, decompression bomb)
        response = _text(422, str(getattr(error, "message", error)))
    if public:
        response["Access-Control-Allow-Origin"] = "*"
    return response


def _service_id(request: HttpRequest, public: bool, identifier: str) -> str:
    name = "iiif_image:base" if public else "iiif_image_staff:base"
    return request.build_absolute_uri(reverse(name, args=[identifier]))


def _base(find: Callable[[HttpRequest, int], _Access | None], public: bool) -> Any:
    @require_safe
    def view(request: HttpRequest, identifier: str) -> HttpResponse:
        pk = _component_id(identifier)
        if pk is None or find(request, pk) is None:
            return _failure(_missing(), public)
        response = HttpResponseRedirect(_service_id(request, public, identifier) + "/info.json")
        response.status_code = 303
        return _headers(response, public)

    return view


def _info(find: Callable[[HttpRequest, int], _Access | None], public: bool) -> Any:
    @require_safe
    def view(request: HttpRequest, identifier: str) -> HttpResponse:
        pk = _component_id(identifier)
        access = find(request, pk) if pk is not None else None
        if access is None:
            return _failure(_missing(), public)
        try:
            width, height = iiif.pyramid_size(_pyramid(access))
        except (iiif.NotReady, derivatives.RenderError) as e:
            return _failure(e, public)
        document = iiif_image.info(
            _service_id(request, public, identifier), width, height, iiif.limits(), tile=iiif.TILE
        )
        accept = request.headers.get("Accept", "")
        plain_json = "application/json" in accept and "application/ld+json" not in accept
        response = HttpResponse(
            json.dumps(document, ensure_ascii=False),
            content_type="application/json" if plain_json else iiif_image.info_media_type(),
        )
        response["Link"] = iiif_image.profile_link()
        response["Vary"] = "Accept"
        if not public:
            audit.record(
                "component_view", "component", pk, {"record_id": access.component.record_id}
            )
        return _headers(response, public)

    return view


def _image(find: Callable[[HttpRequest, int], _Access | None], public: bool) -> Any:
    @require_safe
    def view(
        request: HttpRequest,
        identifier: str,
        region: str,
        size: str,
        rotation: str,
        quality_format: str,
    ) -> HttpResponseBase:
        pk = _component_id(identifier)
        access = find(request, pk) if pk is not None else None
        if access is None:
            return _failure(_missing(), public)
        try:
            pyramid = _pyramid(access)
            parsed, canonical, _size = iiif.parse(pyramid, region, size, rotation, quality_format)
            path = iiif.answer(pyramid, parsed, canonical)
        except (IIIFError, iiif.NotReady, derivatives.RenderError) as e:
            return _failure(e, public)
        response = FileResponse(path.open("rb"), content_type=iiif_image.media_type(parsed.format))
        base = _service_id(request, public, identifier)
        response["Link"] = f'<{base}/{canonical}>;rel="canonical", {iiif_image.profile_link()}'
        return _headers(response, public)

    return view


def _staff_only(view: Any) -> Any:
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        user: Any = request.user
        if not user.has_perm_code(VIEW):
            message = _("您的角色没有“查阅档案”权限")
            audit.denied(
                request.get_full_path(), request.method or "", message, client_address(request),
                actor=user.get_username(),
            )  # fmt: skip
            return _text(403, message)
        return view(request, *args, **kwargs)  # type: ignore[no-any-return]

    return login_required(wrapped)


def _cors_preflight(view: Any) -> Any:
    """Answer a browser's CORS preflight (viewers on other sites ask info.json with the IIIF
    profile in Accept) before anything else; other methods go on to the view."""

    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if request.method == "OPTIONS":
            response = HttpResponse(status=204)
            response["Access-Control-Allow-Origin"] = "*"
            response["Access-Control-Allow-Methods"] = "GET, HEAD, OPTIONS"
            response["Access-Control-Allow-Headers"] = "Accept"
            response["Access-Control-Max-Age"] = "86400"
            return response
        return view(request, *args, **kwargs)  # type: ignore[no-any-return]

    return wrapped


public_base = _cors_preflight(ratelimit.limited("content")(_base(_public, True)))
public_info = _cors_preflight(ratelimit.limited("content")(_info(_public, True)))
public_image = _cors_preflight(ratelimit.limited("tile")(_image(_public, True)))
staff_base = _staff_only(_base(_staff, False))
staff_info = _staff_only(_info(_staff, False))
staff_image = _staff_only(_image(_staff, False))
