"""Security headers the project sets on every response, and the size limit of form uploads."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext

CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)


API_DOCS_PATHS = ("/api/docs", "/api/public/docs")


class ContentSecurityPolicyMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        # The API docs pages load their own inline scripts; they are read-only.
        if request.path not in API_DOCS_PATHS:
            response.setdefault("Content-Security-Policy", CSP)
        response.setdefault("Referrer-Policy", "same-origin")
        return response


class AuditActorMiddleware:
    """Attribute every audit entry written while serving a signed-in user's request to that user.

    Register after AuthenticationMiddleware. This is the only attribution the web views need;
    work outside a request (CLI, jobs, seed) uses `lantai.core.audit.acting_as` itself. The
    request's path, method and address are kept for refusals logged by the services
    (`lantai.core.audit.denied_here`)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        from lantai.core.audit import acting_as, serving
        from lantai.core.client_address import client_address

        # refusals found below the views (a hidden record's lookup) name this request
        with serving(request.get_full_path(), request.method or "", client_address(request)):
            user = getattr(request, "user", None)
            if user is not None and user.is_authenticated:
                with acting_as(user.get_username()):
                    return self.get_response(request)
            return self.get_response(request)


class FormUploadLimitMiddleware:
    """Refuse a multipart form post (file uploads through forms and the API) whose body is larger
    than FORM_UPLOAD_MAX_BYTES before a byte of it is read: 413, as JSON for the API and for
    scripts, as a page for the browser. Bigger transfer packages go up in chunks
    (ingest.uploads), whose limits are checked there. Register before any middleware that reads
    the body (CsrfViewMiddleware reads it in process_view, after every __call__)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.content_type == "multipart/form-data":
            try:
                length = int(request.META.get("CONTENT_LENGTH") or 0)
            except ValueError:
                length = 0
            limit = settings.FORM_UPLOAD_MAX_BYTES
            if length > limit:
                return too_large(request, length, limit)
        return self.get_response(request)


def too_large(request: HttpRequest, length: int, limit: int) -> HttpResponse:
    message = gettext(
        "上传内容过大：%(size)s，超过表单上传上限 %(limit)s。大的移交包请使用页面上的分块上传，"
        "或请系统管理员调整上限。"
    ) % {"size": filesizeformat(length), "limit": filesizeformat(limit)}
    wants_json = request.path.startswith("/api/") or "application/json" in request.headers.get(
        "Accept", ""
    )
    if wants_json:
        return JsonResponse({"detail": message, "error": message}, status=413)
    return render(request, "web/error.html", {"message": message}, status=413)
