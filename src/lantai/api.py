"""The REST API root (django-ninja); each area adds its router here.

The staff API documents itself at /api/docs and /api/openapi.json for signed-in staff only (a
session or a Bearer token); the public API is a separate API with its own document at
/api/public/docs and /api/public/openapi.json, which lists only the public endpoints.

Every endpoint accepts a logged-in session (CSRF token required for unsafe methods) or
`Authorization: Bearer <token>` (tokens from `lantai user token USERNAME --scope … --days N`).
A token expires (401 with `expired_at`) and carries scopes: `catalog:read` for GET requests,
`catalog:write` for the others (403 with `required_scope` when the token lacks it). Errors are JSON:
401 not authenticated, 403 the role (or the token's scope) lacks the permission, 404 not found or not visible to the user,
400/422 a request the services refused ({"detail": message, "field": name}) and, for records,
422 with {"issues": [{field, rule, value, message}]}.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse, JsonResponse
from ninja import NinjaAPI
from ninja.errors import AuthenticationError
from ninja.renderers import JSONRenderer

from lantai.catalog.api import router as catalog_router
from lantai.catalog.services import CatalogError, PermissionDenied
from lantai.core.api_auth import API_AUTH, UNAUTHENTICATED, TokenRefused, scoped, staff_user
from lantai.search.api import __doc__ as public_router_doc
from lantai.search.api import router as public_router


class Utf8JSONRenderer(JSONRenderer):
    """JSON with Chinese as UTF-8 text rather than \\u escapes (smaller, readable in curl)."""

    json_dumps_params = {"ensure_ascii": False}


def staff_only(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """The staff API's documentation is for signed-in staff: anyone else is sent to the sign-in
    page (the docs page) or gets 401 (the OpenAPI document)."""

    @functools.wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if staff_user(request) is None:
            if request.path.endswith("/openapi.json"):
                return JsonResponse(
                    UNAUTHENTICATED, status=401, json_dumps_params={"ensure_ascii": False}
                )
            return redirect_to_login(request.get_full_path())
        return view(request, *args, **kwargs)

    return wrapped


api = NinjaAPI(
    title="兰台 Lantai API",
    version="1",
    description=__doc__ or "",
    urls_namespace="api",
    auth=API_AUTH,
    renderer=Utf8JSONRenderer(),
    docs_decorator=staff_only,
)
public_api = NinjaAPI(
    title="兰台 Lantai 公众查档 API",
    version="1",
    description=public_router_doc or "",
    urls_namespace="public-api",
    auth=None,
    renderer=Utf8JSONRenderer(),
)


@api.exception_handler(AuthenticationError)
def _unauthenticated(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    return api.create_response(request, UNAUTHENTICATED, status=401)


@api.exception_handler(TokenRefused)
def _token_refused(request: HttpRequest, exc: TokenRefused) -> HttpResponse:
    if exc.status == 403:  # a refused attempt is audited, as a role's refusal is
        from lantai.core import audit
        from lantai.core.client_address import client_address

        path, method = request.get_full_path(), request.method or ""
        audit.denied(path, method, exc.body["detail"], client_address(request), actor=exc.username)
    return api.create_response(request, exc.body, status=exc.status)


@api.exception_handler(PermissionDenied)
def _forbidden(request: HttpRequest, exc: PermissionDenied) -> HttpResponse:
    # every refused attempt is audited; a Bearer request names its user here
    from lantai.core import audit
    from lantai.core.client_address import client_address

    user = getattr(request, "user", None)
    actor = user.get_username() if user is not None and user.is_authenticated else "anonymous"
    path, method = request.get_full_path(), request.method or ""
    audit.denied(path, method, exc.message_zh, client_address(request), actor=actor)
    return api.create_response(request, {"detail": exc.message_zh, "field": exc.field}, status=403)


@api.exception_handler(CatalogError)
def _refused(request: HttpRequest, exc: CatalogError) -> HttpResponse:
    # A rule on a named field → 422 (like a record's validation issues); otherwise 400.
    status = 422 if exc.field else 400
    return api.create_response(
        request, {"detail": exc.message_zh, "field": exc.field}, status=status
    )


api.add_router("/", catalog_router, auth=scoped("catalog"))  # tokens: catalog:read / write
public_api.add_router("/", public_router)  # no login: open records only (urls: /api/public/)
