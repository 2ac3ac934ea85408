"""Security headers the project sets on every response."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)


class ContentSecurityPolicyMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        # The API docs page loads its own inline scripts; it is staff-only and read-only.
        if not request.path.startswith("/api/docs"):
            response.setdefault("Content-Security-Policy", CSP)
        response.setdefault("Referrer-Policy", "same-origin")
        return response


class AuditActorMiddleware:
    """Attribute every audit entry written while serving a signed-in user's request to that user.

    Register after AuthenticationMiddleware. This is the only attribution the web views need;
    work outside a request (CLI, jobs, seed) uses `lantai.core.audit.acting_as` itself."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        from lantai.core.audit import acting_as

        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            with acting_as(user.get_username()):
                return self.get_response(request)
        return self.get_response(request)
