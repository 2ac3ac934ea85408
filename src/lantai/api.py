"""The REST API root (django-ninja); each area adds its router here. OpenAPI at /api/docs.

Every endpoint accepts a logged-in session (CSRF token required for unsafe methods) or
`Authorization: Bearer <token>` (tokens from `lantai user token USERNAME`). Errors are JSON:
401 not authenticated, 403 the role lacks the permission, 404 not found or not visible to the user,
400/422 a request the services refused ({"detail": message, "field": name}) and, for records,
422 with {"issues": [{field, rule, value, message}]}.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from ninja import NinjaAPI
from ninja.errors import AuthenticationError
from ninja.renderers import JSONRenderer

from lantai.catalog.api import router as catalog_router
from lantai.catalog.services import CatalogError, PermissionDenied
from lantai.core.api_auth import API_AUTH, UNAUTHENTICATED
from lantai.search.api import router as public_router


class Utf8JSONRenderer(JSONRenderer):
    """JSON with Chinese as UTF-8 text rather than \\u escapes (smaller, readable in curl)."""

    json_dumps_params = {"ensure_ascii": False}


api = NinjaAPI(
    title="兰台 Lantai API",
    version="1",
    description=__doc__ or "",
    urls_namespace="api",
    auth=API_AUTH,
    renderer=Utf8JSONRenderer(),
)


@api.exception_handler(AuthenticationError)
def _unauthenticated(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    return api.create_response(request, UNAUTHENTICATED, status=401)


@api.exception_handler(PermissionDenied)
def _forbidden(request: HttpRequest, exc: PermissionDenied) -> HttpResponse:
    return api.create_response(request, {"detail": exc.message_zh, "field": exc.field}, status=403)


@api.exception_handler(CatalogError)
def _refused(request: HttpRequest, exc: CatalogError) -> HttpResponse:
    # A rule on a named field → 422 (like a record's validation issues); otherwise 400.
    status = 422 if exc.field else 400
    return api.create_response(
        request, {"detail": exc.message_zh, "field": exc.field}, status=status
    )


api.add_router("/", catalog_router)
api.add_router("/public/", public_router)  # no login: open records only
