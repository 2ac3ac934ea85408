"""Authentication of the REST API: a Django session (with CSRF) or a Bearer token.

Tokens are random strings shown once when issued; only their SM3 digest is stored (`ApiToken`), so a
copy of the database does not give API access. A token works while its user is active: a sign-in
lock after failed password attempts is about guessing passwords through the login form, and
leaves the account's tokens (and its open sessions) working.
"""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import Any

from django.http import HttpRequest
from django.utils import timezone
from ninja.errors import AuthenticationError, HttpError
from ninja.security import HttpBearer, SessionAuth
from ninja.utils import check_csrf

from lantai.core import audit
from lantai.core.accounts import AccountError
from lantai.core.models import ApiToken, User
from lantai.core.sm3 import sm3_hex

TOKEN_PREFIX = "lt_"
LAST_USED_GRANULARITY = timedelta(minutes=1)

UNAUTHENTICATED = {
    "detail": "未登录或令牌无效：请登录，或在请求头中提供 Authorization: Bearer <令牌>",
    "detail_en": "Not authenticated: log in, or send an 'Authorization: Bearer <token>' header",
}


def issue_token(user: User, name: str) -> str:
    """Create an API token for `user` and return it in plain text; this is the only time the
    plain text exists. The database keeps its SM3 digest. Written to the audit log."""
    name = name.strip()
    if not name:
        raise AccountError("令牌名称不能为空")
    if not user.is_active:
        raise AccountError(f"用户 {user.username} 已停用，不能签发令牌")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = ApiToken.objects.create(user=user, name=name, digest=sm3_hex(token.encode("utf-8")))
    audit.record("api_token_issue", "user", user.pk, {"token_id": row.pk, "name": name})
    return token


def revoke_tokens(user: User, name: str | None = None) -> int:
    """Delete the user's tokens (those called `name`, or all). Returns how many went."""
    qs = ApiToken.objects.filter(user=user)
    if name is not None:
        qs = qs.filter(name=name)
    ids = list(qs.values_list("pk", flat=True))
    if ids:
        ApiToken.objects.filter(pk__in=ids).delete()
        audit.record("api_token_revoke", "user", user.pk, {"token_ids": ids, "name": name})
    return len(ids)


def user_for_token(token: str) -> User | None:
    """The active user holding `token`, or None. Notes the use at most once a minute."""
    token = token.strip()
    if not token:
        return None
    row = (
        ApiToken.objects.select_related("user")
        .filter(digest=sm3_hex(token.encode("utf-8")))
        .first()
    )
    if row is None or not row.user.is_active:
        return None
    now = timezone.now()
    if row.last_used_at is None or now - row.last_used_at >= LAST_USED_GRANULARITY:
        ApiToken.objects.filter(pk=row.pk).update(last_used_at=now)
    return row.user


class TokenAuth(HttpBearer):
    """`Authorization: Bearer <token>`. A header that names a wrong token is refused outright
    (401), rather than falling back to the session."""

    def authenticate(self, request: HttpRequest, token: str) -> User | None:
        user = user_for_token(token)
        if user is None:
            raise AuthenticationError()
        request.user = user  # the rest of the request sees the token's user
        return user


class StaffSessionAuth(SessionAuth):
    """ninja's `django_auth`, with CSRF checked for unsafe methods; the check runs only when a
    session is logged in, so a request with no credentials at all gets 401, not a CSRF 403."""

    def __call__(self, request: HttpRequest) -> Any:
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return None
        exempt = getattr(request, "_ninja_csrf_exempt", False)
        if self.csrf and not exempt and check_csrf(request) is not None:
            raise HttpError(403, "CSRF 校验失败：请刷新页面后重试（CSRF check failed）")
        return user


def staff_user(request: HttpRequest) -> User | None:
    """The signed-in user of `request` (its session, or a valid Bearer token), or None."""
    header = str(request.META.get("HTTP_AUTHORIZATION", ""))
    scheme, _, token = header.partition(" ")
    if scheme.lower() == "bearer":
        return user_for_token(token)
    user = getattr(request, "user", None)
    return user if isinstance(user, User) and user.is_authenticated else None


token_auth = TokenAuth()
session_auth = StaffSessionAuth()
# Token first: a client that sends a token needs no CSRF token (it sends no session cookie).
API_AUTH = [token_auth, session_auth]
