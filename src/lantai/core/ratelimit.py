"""Per-client token buckets for the public pages (portal, OAI-PMH, IIIF, exhibitions), kept in the
shared state store.

Each bucket ("page", "search", "suggest", "content", "form") holds up to N tokens and refills at
N per period (settings PUBLIC_*_RATE, e.g. "60/min"); a request takes one token or gets 429 with
Retry-After. Buckets live in the default cache, which is a store that never evicts at random
(Redis, or a SQLite file shared by every process of the machine: settings CACHES), so a flood from
many addresses cannot reset anyone's bucket. The client is `lantai.core.client_address` (listed
proxies only). The read-modify-write is not atomic across processes: under a burst from one client
a few requests more than N may pass, which is acceptable for bot protection (it is not billing).
"""

from __future__ import annotations

import functools
import math
import re
import time
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from lantai.core.client_address import client_address as client_ip  # the one source of addresses

BUCKETS = {
    "page": "PUBLIC_RATE",
    "search": "PUBLIC_SEARCH_RATE",
    "suggest": "PUBLIC_SUGGEST_RATE",
    "content": "PUBLIC_CONTENT_RATE",
    "tile": "PUBLIC_TILE_RATE",
    "form": "PUBLIC_FORM_RATE",
    "oai": "PUBLIC_OAI_RATE",
}
_UNITS = {"s": 1, "sec": 1, "min": 60, "m": 60, "h": 3600, "hour": 3600, "d": 86400, "day": 86400}
_RATE_RE = re.compile(r"^\s*(\d+)\s*/\s*(\d*)\s*([a-z]+)\s*$")


def parse_rate(text: str) -> tuple[int, float]:
    """'60/min' -> (60, 60.0): capacity and the seconds over which it refills completely."""
    m = _RATE_RE.match(text.lower())
    if not m or m.group(3) not in _UNITS:
        raise ValueError(f"rate {text!r} is not N/period (period: s, min, h, d, e.g. 60/min)")
    return int(m.group(1)), float(int(m.group(2) or 1) * _UNITS[m.group(3)])


def take(bucket: str, ip: str, now: float | None = None) -> float:
    """Take one token from `ip`'s bucket: 0 when allowed, else the seconds until one is free."""
    capacity, period = parse_rate(getattr(settings, BUCKETS[bucket]))
    if capacity <= 0:
        return period
    now = time.time() if now is None else now
    key = f"lantai:rate:{bucket}:{ip}"
    tokens, stamp = cache.get(key) or (float(capacity), now)
    tokens = min(float(capacity), tokens + (now - stamp) * capacity / period)
    if tokens >= 1:
        cache.set(key, (tokens - 1, now), timeout=int(period) + 60)
        return 0.0
    cache.set(key, (tokens, now), timeout=int(period) + 60)
    return (1 - tokens) * period / capacity


def too_many(request: HttpRequest, wait: float) -> HttpResponse:
    seconds = max(1, math.ceil(wait))
    response = render(request, "access/429.html", {"seconds": seconds}, status=429)
    response["Retry-After"] = str(seconds)
    return response


View = Callable[..., HttpResponse]


def limited(bucket: str, methods: tuple[str, ...] = ()) -> Callable[[View], View]:
    """Decorate a public view: each request (or each request with one of `methods`) takes a
    token from the client's `bucket`; page views always take one from "page" as well."""

    def decorate(view: View) -> View:
        @functools.wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            ip = client_ip(request)
            buckets = [bucket] if bucket != "page" else []
            if bucket not in ("content", "suggest", "tile"):
                buckets.insert(0, "page")
            for name in buckets:
                if name != "page" and methods and request.method not in methods:
                    continue
                wait = take(name, ip)
                if wait:
                    return too_many(request, wait)
            return view(request, *args, **kwargs)

        return wrapped

    return decorate
