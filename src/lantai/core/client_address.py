"""The client's address, in one place: the audit log, the sign-in lockout and the rate limiter
all ask here.

REMOTE_ADDR is the address that connected. Only when it is one of the reverse proxies listed in
settings.TRUSTED_PROXIES are the forwarding headers believed: X-Forwarded-For is read from the
right (each proxy appends the address it saw) and the first address that is not itself a listed
proxy is the client; without that header, X-Real-IP. A client that sends these headers itself,
directly or through an unlisted hop, cannot choose its address.
"""

from __future__ import annotations

import ipaddress
from functools import lru_cache
from typing import Any

from django.conf import settings

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@lru_cache(maxsize=8)
def _networks(proxies: tuple[str, ...]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(p, strict=False) for p in proxies)


def _valid(text: str) -> str:
    """`text` as a normalised IP address, or "" when it is none."""
    try:
        return str(ipaddress.ip_address(text.strip()))
    except ValueError:
        return ""


def is_trusted_proxy(address: str) -> bool:
    networks = _networks(tuple(settings.TRUSTED_PROXIES))
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in net for net in networks)


def client_address(request: Any) -> str:
    """The address of the client that sent `request` ("" when there is no request)."""
    if request is None:
        return ""
    meta = request.META
    remote = _valid(str(meta.get("REMOTE_ADDR", "") or ""))
    if not remote or not is_trusted_proxy(remote):
        return remote or "unknown"
    forwarded = [a.strip() for a in str(meta.get("HTTP_X_FORWARDED_FOR", "")).split(",")]
    hop = remote
    for entry in reversed([a for a in forwarded if a]):
        address = _valid(entry)
        if not address:
            return hop  # a malformed entry: the last hop we can vouch for
        if not is_trusted_proxy(address):
            return address
        hop = address
    if hop == remote and (real := _valid(str(meta.get("HTTP_X_REAL_IP", "")))):
        return real
    return hop
