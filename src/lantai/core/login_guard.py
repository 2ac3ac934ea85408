"""Sign-in failures counted per (account, address) and per address, so that nobody can lock a
colleague out by typing the colleague's name.

- LOGIN_MAX_FAILURES failed passwords for one account from one address within
  LOGIN_LOCKOUT_MINUTES block that account from that address for LOGIN_LOCKOUT_MINUTES; the
  owner, at their own desk, signs in as usual.
- LOGIN_ADDRESS_MAX_FAILURES failures from one address, whatever the names (known or not), block
  that address from every account for LOGIN_LOCKOUT_MINUTES (guessing across many accounts).
- The account itself is locked for everyone (User.locked_until, shown to the system administrator)
  only after LOGIN_ACCOUNT_MAX_FAILURES failures without a success in between, which takes many
  addresses (guessing from a botnet); 0 turns this off. That part lives in core.accounts.

An attempt refused by a block checks no password and counts nothing. Failures are rows in the
database (LoginFailure), so every web process and machine sees the same counts; rows older than
the window are deleted as new failures arrive. A sign-in that succeeds clears the failures of its
(account, address).

An IPv6 address counts as its /64 network (one subscriber, one LAN: whoever holds one address
holds the 2^64 around it, so counting addresses one by one would give unlimited fresh tries);
an IPv4 address, and an IPv4 address mapped into IPv6, counts as itself.
"""

from __future__ import annotations

import ipaddress
from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

from lantai.core import audit
from lantai.core.models import LoginFailure


def _since() -> datetime:
    return timezone.now() - timedelta(minutes=settings.LOGIN_LOCKOUT_MINUTES)


IPV6_PREFIX = 64


def counted_as(address: str) -> str:
    """What failures from `address` count against: the address itself, or for IPv6 its /64
    network ("2001:db8:1:2::/64"). Text that is no IP address ("", "unknown") stays as it is."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((ip, IPV6_PREFIX), strict=False))
    return str(ip)


def blocked(username: str, address: str) -> bool:
    """True when sign-in to `username` from `address` is blocked after repeated failures."""
    address = counted_as(address)
    recent = LoginFailure.objects.filter(at__gte=_since())
    if recent.filter(username=username, address=address, blocks="account").exists():
        return True
    return bool(address) and recent.filter(address=address, blocks="address").exists()


def note_failure(username: str, address: str) -> None:
    """Count a failed password for `username` from `address`; block when a limit is reached."""
    ip, address = address, counted_as(address)
    since = _since()
    LoginFailure.objects.filter(at__lt=since).delete()
    row = LoginFailure.objects.create(at=timezone.now(), username=username, address=address)
    recent = LoginFailure.objects.filter(at__gte=since)
    minutes = settings.LOGIN_LOCKOUT_MINUTES
    actor = username or "anonymous"
    if recent.filter(username=username, address=address).count() >= settings.LOGIN_MAX_FAILURES:
        LoginFailure.objects.filter(pk=row.pk).update(blocks="account")
        detail = _detail(ip, address, minutes)
        audit.record("login_blocked", "user", username, detail, actor=actor)
        return
    limit = settings.LOGIN_ADDRESS_MAX_FAILURES
    if address and limit and recent.filter(address=address).count() >= limit:
        LoginFailure.objects.filter(pk=row.pk).update(blocks="address")
        detail = _detail(ip, address, minutes)
        audit.record("login_blocked", "address", address, detail, actor=actor)


def note_success(username: str, address: str) -> None:
    """A right password from `address` clears that account's failures from there."""
    address = counted_as(address)
    LoginFailure.objects.filter(username=username, address=address).delete()


def _detail(ip: str, counted: str, minutes: int) -> dict[str, object]:
    """The audit detail of a block: the address that failed last, and the network it counted
    against when that is not the address itself (IPv6)."""
    detail: dict[str, object] = {"ip": ip, "minutes": minutes}
    if counted != ip:
        detail["network"] = counted
    return detail
