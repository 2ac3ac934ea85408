"""Request ids and the one middleware that watches every request.

Each request gets an id: the X-Request-ID header when the peer is a trusted reverse proxy
(settings.TRUSTED_PROXIES, lantai.core.client_address) and the value looks like an id, else a new
one. The id is returned in the X-Request-ID response header, kept in a context variable for the
request's duration (so every log record made meanwhile carries it, lantai.ops.logs), kept on the
request as ``request.request_id`` (for what Django logs after the middleware returned), and handed
to the jobs queued during the request (lantai.ops.tasks). When the response leaves, the
middleware counts it for /metrics (route name, method, status, duration: bounded labels only, an
invented method counts as "other") and writes one access log line (logger ``lantai.request``,
the path with its control characters escaped).
"""

from __future__ import annotations

import contextvars
import logging
import re
import time
import uuid
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from lantai.core import telemetry
from lantai.core.client_address import is_trusted_proxy
from lantai.ops.logs import escape_controls

__all__ = ["RequestWatchMiddleware", "current", "new_id", "using"]

HEADER = "X-Request-ID"
_ACCEPTED = re.compile(r"[A-Za-z0-9._:@+=/-]{1,128}")  # nginx's $request_id, UUIDs, trace ids
_request_id: contextvars.ContextVar[str] = contextvars.ContextVar("lantai_request_id", default="")
access_log = logging.getLogger("lantai.request")


def new_id() -> str:
    return uuid.uuid4().hex


def current() -> str:
    """The id of the request (or job) this code runs for, "" outside any."""
    return _request_id.get()


def using(request_id: str) -> contextvars.Token[str]:
    """Make `request_id` current (a job that runs for a request); reset with the token."""
    return _request_id.set(request_id)


def reset(token: contextvars.Token[str]) -> None:
    _request_id.reset(token)


def from_request(request: HttpRequest) -> str:
    """The proxy's id when a trusted proxy sent a well-formed one, else a new id: a client
    cannot choose the id its requests are logged under."""
    given = request.META.get("HTTP_X_REQUEST_ID", "")
    remote = str(request.META.get("REMOTE_ADDR", "") or "")
    if given and _ACCEPTED.fullmatch(given) and is_trusted_proxy(remote):
        return str(given)
    return new_id()


def _route(request: HttpRequest) -> str:
    """The URL name (bounded label set), never the raw path (ids, query text in paths)."""
    match = getattr(request, "resolver_match", None)
    if match is None:
        return "<unmatched>"
    return match.view_name or match._func_path or "<unnamed>"


# A label value per method a client can invent would be a new series each (in Prometheus and in
# the multiprocess files): the standard methods by name, everything else as "other".
KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def _method_label(request: HttpRequest) -> str:
    method = request.method or ""
    return method if method in KNOWN_METHODS else "other"


def _user_id(request: HttpRequest) -> int | None:
    # Only a user the request already looked up (Django caches it as _cached_user): asking here
    # would load a session for a request that never needed one.
    user = getattr(request, "_cached_user", None)
    return user.pk if user is not None and getattr(user, "is_authenticated", False) else None


PROBES = frozenset({"ops:healthz", "ops:readyz", "ops:metrics"})


def _drop_cookie_vary(response: HttpResponse) -> None:
    """The probes' answers never depend on a cookie and set none; the audit middleware's look
    at the session still adds "Vary: Cookie", which would keep caches and proxies from treating
    them as the same resource."""
    if response.has_header("Set-Cookie") or not response.has_header("Vary"):
        return
    kept = [v.strip() for v in response["Vary"].split(",") if v.strip().lower() != "cookie"]
    if kept:
        response["Vary"] = ", ".join(kept)
    else:
        del response["Vary"]


class RequestWatchMiddleware:
    """First in MIDDLEWARE: it sees every response, 4xx and 429s of the inner ones included."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request_id = from_request(request)
        request.request_id = request_id  # type: ignore[attr-defined]
        token = _request_id.set(request_id)
        started = time.perf_counter()
        status = 500
        try:
            response = self.get_response(request)
            status = response.status_code
            response[HEADER] = request_id
            if _route(request) in PROBES:
                _drop_cookie_vary(response)
            return response
        finally:
            seconds = time.perf_counter() - started
            route, label = _route(request), _method_label(request)
            try:
                telemetry.REQUESTS.labels(view=route, method=label, status=str(status)).inc()
                telemetry.REQUEST_SECONDS.labels(view=route, method=label).observe(seconds)
            except Exception:  # a metrics file that cannot be written never fails a request
                logging.getLogger(__name__).exception("request metrics not recorded")
            # what the client sent, on one line (a %0A in the URL must not start a log line);
            # never the query string: it carries what people search for
            method = escape_controls(request.method or "?")
            path = escape_controls(request.path)
            access_log.info(
                "%s %s %s",
                method,
                path,
                status,
                extra={
                    "method": method,
                    "path": path,
                    "status": status,
                    "duration_ms": round(seconds * 1000, 1),
                    "view": route,
                    "user": _user_id(request),
                },
            )
            _request_id.reset(token)
