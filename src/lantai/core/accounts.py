"""Accounts under 三员分立: who may create users, grant roles and read the audit log.

- the system administrator creates, disables and resets users (never their role, clearance or scope);
- the security administrator sets roles, clearance and scopes (never creates users);
- the audit administrator only reads the audit log.
Every change is written to the audit log.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from lantai.core import audit
from lantai.core.models import User
from lantai.core.roles import GRANTS, ROLES, USERS


class AccountError(Exception):
    def __init__(self, message_zh: str, field: str = "") -> None:
        super().__init__(message_zh)
        self.message_zh = message_zh
        self.field = field  # the form field the message is about, when there is one


def _require(actor: User | None, permission: str) -> None:
    """`actor` None means the operator at the console (bootstrap via the CLI)."""
    if actor is not None and not actor.has_perm_code(permission):
        raise AccountError(f"用户 {actor.username}（{actor.role_label}）无权执行此操作")


# --- lookups --------------------------------------------------------------------------------------
def users(search: str = "") -> QuerySet[User]:
    """Users by username, with their repository and fonds scopes loaded; `search` narrows to those
    whose username or display name contains it (case-insensitive)."""
    qs = User.objects.order_by("username").prefetch_related("repositories", "fonds")
    if search:
        qs = qs.filter(Q(username__icontains=search) | Q(first_name__icontains=search))
    return qs


def user_by_pk(pk: int) -> User | None:
    return User.objects.filter(pk=pk).first()


def user_by_name(username: str) -> User | None:
    return User.objects.filter(username=username).first()


# --- changes --------------------------------------------------------------------------------------
def create_user(
    username: str,
    *,
    role: str,
    password: str,
    clearance: int = 0,
    scope_all: bool = False,
    actor: User | None = None,
    display_name: str = "",
) -> User:
    """Create a user. Through the UI the system administrator creates users with the least
    privileged role; only the CLI (operator bootstrap) sets a role at creation."""
    _require(actor, USERS)
    if role not in ROLES:
        raise AccountError(f"未知角色“{role}”，可选：{', '.join(ROLES)}")
    if actor is not None and (role != "public" or clearance or scope_all):
        raise AccountError("系统管理员创建的用户须由安全保密管理员授予角色、涉密等级和范围")
    if User.objects.filter(username=username).exists():
        raise AccountError(f"用户名“{username}”已存在")
    try:
        validate_password(password, User(username=username))
    except ValidationError as e:
        raise AccountError("；".join(e.messages)) from e
    with transaction.atomic():
        user = User(username=username, role=role, clearance=clearance, scope_all=scope_all)
        user.first_name = display_name
        user.set_password(password)
        user.save()
        audit.record(
            "user_create", "user", user.pk,
            {"username": username, "role": role, "clearance": clearance, "scope_all": scope_all},
            actor=actor.username if actor else None,
        )  # fmt: skip
    return user


def set_active(target: User, active: bool, *, actor: User) -> None:
    _require(actor, USERS)
    target.is_active = active
    target.save(update_fields=["is_active"])
    audit.record("user_active", "user", target.pk, {"active": active}, actor=actor.username)


def reset_password(target: User, password: str, *, actor: User | None) -> None:
    """Set a new password and unlock the account (`actor` None: the operator at the console)."""
    _require(actor, USERS)
    try:
        validate_password(password, target)
    except ValidationError as e:
        raise AccountError("；".join(e.messages)) from e
    target.set_password(password)
    target.failed_logins, target.locked_until = 0, None
    target.save()
    audit.record("password_reset", "user", target.pk, {}, actor=actor.username if actor else None)


def change_own_password(user: User, old: str, new: str) -> None:
    """A signed-in user changes their own password: the old one must be right (a wrong one counts
    as a failed sign-in towards the lockout) and the new one must pass the password policy."""
    if check_lockout(user):
        raise AccountError("账号已锁定，请稍后再试")
    if not user.check_password(old):
        note_login_failure(user.username)
        audit.record("password_change_failed", "user", user.pk, {}, actor=user.username)
        raise AccountError("原密码不正确", "old_password")
    if new == old:
        raise AccountError("新密码不能与原密码相同", "password")
    try:
        validate_password(new, user)
    except ValidationError as e:
        raise AccountError("；".join(e.messages), "password") from e
    with transaction.atomic():
        user.set_password(new)
        user.save(update_fields=["password"])
        audit.record("password_change", "user", user.pk, {}, actor=user.username)


def grant(
    target: User,
    *,
    actor: User | None,
    role: str | None = None,
    clearance: int | None = None,
    scope_all: bool | None = None,
    repository_ids: Iterable[int] | None = None,
    fonds_ids: Iterable[int] | None = None,
) -> None:
    """Change a user's role, clearance or scope (the security administrator's work)."""
    _require(actor, GRANTS)
    if actor is not None and target.pk == actor.pk:
        raise AccountError("不能修改自己的角色或权限")
    if role is not None and role not in ROLES:
        raise AccountError(f"未知角色“{role}”")
    if clearance is not None and not 0 <= clearance <= 4:
        raise AccountError("涉密等级须为 0（公开）到 4（绝密）")
    changes: dict[str, Any] = {}
    with transaction.atomic():
        for field, value in (("role", role), ("clearance", clearance), ("scope_all", scope_all)):
            if value is not None and getattr(target, field) != value:
                changes[field] = [getattr(target, field), value]
                setattr(target, field, value)
        target.save()
        if repository_ids is not None:
            ids = sorted(set(repository_ids))
            changes["repositories"] = ids
            target.repositories.set(ids)
        if fonds_ids is not None:
            ids = sorted(set(fonds_ids))
            changes["fonds"] = ids
            target.fonds.set(ids)
        audit.record(
            "permission_change", "user", target.pk, changes, actor=actor.username if actor else None
        )


def check_lockout(user: User) -> bool:
    """True when the account is locked after repeated failures."""
    return bool(user.locked_until and user.locked_until > timezone.now())


def note_login_failure(username: str) -> None:
    user = user_by_name(username)
    if user is None:
        return
    user.failed_logins += 1
    if user.failed_logins >= settings.LOGIN_MAX_FAILURES:
        user.locked_until = timezone.now() + timedelta(minutes=settings.LOGIN_LOCKOUT_MINUTES)
        user.failed_logins = 0
        audit.record("account_locked", "user", user.pk, {"minutes": settings.LOGIN_LOCKOUT_MINUTES})
    user.save(update_fields=["failed_logins", "locked_until"])


def note_login_success(user: User) -> None:
    if user.failed_logins or user.locked_until:
        user.failed_logins, user.locked_until = 0, None
        user.save(update_fields=["failed_logins", "locked_until"])
