"""Authentication of the REST API: a Django session (with CSRF) or a Bearer token.

Tokens are random strings shown once when issued; only their SM3 digest is stored (`ApiToken`), so a
copy of the database does not give API access. A token works while its user is active: a sign-in
lock after failed password attempts is about guessing passwords through the login form, and
leaves the account's tokens (and its open sessions) working.

Every token expires (`expires_at`, LANTAI_API_TOKEN_DAYS by default, at most
LANTAI_API_TOKEN_MAX_DAYS) and carries scopes (SCOPES): a router of the staff API is mounted with
`scoped(area)`, and a request needs `area:read` (GET, HEAD, OPTIONS) or `area:write` (anything
else; write includes read). An expired token answers 401, a token without the scope 403, both
with a JSON message that says which. A signed-in session is not limited by scopes (its user's
role decides, as for every request). Tokens made before scopes existed (migration 0009) got
every scope and LANTAI_API_TOKEN_DAYS from the migration.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
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


# The areas of the staff API (one per router in lantai.api) and what their scopes allow.
SCOPES: dict[str, str] = {
    "catalog:read": "读取档案馆、全宗、门类、档号规则、档案、导入记录和专题 (read the catalogue)",
    "catalog:write": "新建、修改、删除全宗和档案，导入目录（含读取）(change the catalogue; includes read)",
}
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


@dataclass(frozen=True)
class IssuedToken:
    token: str  # the plain text, shown once
    row: ApiToken


def issue(
    user: User, name: str, *, scopes: list[str] | None = None, days: int | None = None
) -> IssuedToken:
    """Create an API token for `user`: `scopes` (default every scope) for `days` (default
    API_TOKEN_DAYS, at most API_TOKEN_MAX_DAYS). The plain text exists only in the result; the
    database keeps its SM3 digest. Written to the audit log."""
    name = name.strip()
    if not name:
        raise AccountError("令牌名称不能为空")
    if not user.is_active:
        raise AccountError(f"用户 {user.username} 已停用，不能签发令牌")
    chosen = list(SCOPES) if scopes is None else sorted(set(scopes))
    unknown = [s for s in chosen if s not in SCOPES]
    if unknown or not chosen:
        raise AccountError(
            f"未知的令牌权限范围：{', '.join(unknown) or '（空）'}；可选：{', '.join(SCOPES)}",
            "scope",
        )
    days = settings.API_TOKEN_DAYS if days is None else days
    if not 1 <= days <= settings.API_TOKEN_MAX_DAYS:
        raise AccountError(
            f"令牌有效期须为 1 到 {settings.API_TOKEN_MAX_DAYS} 天（LANTAI_API_TOKEN_MAX_DAYS），"
            f"而不是 {days} 天",
            "days",
        )
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = ApiToken.objects.create(
        user=user,
        name=name,
        digest=sm3_hex(token.encode("utf-8")),
        scopes=" ".join(chosen),
        expires_at=timezone.now() + timedelta(days=days),
    )
    detail = {"token_id": row.pk, "name": name, "scopes": chosen, "days": days}
    audit.record("api_token_issue", "user", user.pk, detail)
    return IssuedToken(token, row)


def issue_token(
    user: User, name: str, *, scopes: list[str] | None = None, days: int | None = None
) -> str:
    """`issue`, returning only the plain-text token."""
    return issue(user, name, scopes=scopes, days=days).token


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


class TokenRefused(Exception):
    """A known token that may not be used for this request: expired (401) or without the scope
    the endpoint needs (403). `body` is the JSON answer."""

    def __init__(self, status: int, body: dict[str, Any], username: str) -> None:
        super().__init__(body["detail"])
        self.status, self.body, self.username = status, body, username


def _token_row(token: str) -> ApiToken | None:
    """The token's row when it exists and its user is active (expired or not)."""
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
    return row


def _expired(row: ApiToken, now: datetime) -> bool:
    return row.expires_at is not None and row.expires_at <= now


def _note_use(row: ApiToken, now: datetime) -> None:
    if row.last_used_at is None or now - row.last_used_at >= LAST_USED_GRANULARITY:
        ApiToken.objects.filter(pk=row.pk).update(last_used_at=now)


def user_for_token(token: str) -> User | None:
    """The active user holding `token` when it has not expired, or None. Notes the use at most
    once a minute."""
    row = _token_row(token)
    now = timezone.now()
    if row is None or _expired(row, now):
        return None
    _note_use(row, now)
    return row.user


def required_scope(area: str, method: str) -> str:
    return f"{area}:read" if method.upper() in SAFE_METHODS else f"{area}:write"


def allows(row: ApiToken, scope: str) -> bool:
    granted = row.scope_list
    area, _sep, kind = scope.partition(":")
    return scope in granted or (kind == "read" and f"{area}:write" in granted)


class TokenAuth(HttpBearer):
    """`Authorization: Bearer <token>`. A header that names a wrong token is refused outright
    (401), rather than falling back to the session; so is an expired one (401, saying so), and a
    token without the scope of the area (`area`, None: no scope needed) gets 403."""

    def __init__(self, area: str | None = None) -> None:
        super().__init__()
        self.area = area

    def authenticate(self, request: HttpRequest, token: str) -> User | None:
        row = _token_row(token)
        if row is None:
            raise AuthenticationError()
        now = timezone.now()
        if _expired(row, now):
            assert row.expires_at is not None
            at = timezone.localtime(row.expires_at).isoformat(timespec="seconds")
            raise TokenRefused(
                401,
                {
                    "detail": f"令牌“{row.name}”已于 {at} 过期：请签发新令牌"
                    "（lantai user token 用户名 --name 名称）",
                    "detail_en": f"the token '{row.name}' expired at {at}: issue a new one",
                    "expired_at": at,
                },
                row.user.username,
            )
        if self.area is not None:
            scope = required_scope(self.area, request.method or "GET")
            if not allows(row, scope):
                raise TokenRefused(
                    403,
                    {
                        "detail": f"令牌“{row.name}”没有此接口所需的权限范围 {scope}"
                        f"（已有：{row.scopes or '无'}）",
                        "detail_en": f"the token '{row.name}' lacks the scope {scope} "
                        f"this endpoint needs (it has: {row.scopes or 'none'})",
                        "required_scope": scope,
                        "token_scopes": row.scope_list,
                    },
                    row.user.username,
                )
        _note_use(row, now)
        request.user = row.user  # the rest of the request sees the token's user
        return row.user


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


def scoped(area: str) -> list[Any]:
    """The authentication of a staff API router whose tokens need the scopes `area`:read/write."""
    if f"{area}:read" not in SCOPES:
        raise ValueError(f"no scopes defined for the API area {area!r}")
    return [TokenAuth(area), session_auth]
