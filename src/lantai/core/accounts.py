"""Accounts under 三员分立: who may create users, grant roles and read the audit log.

- the system administrator creates, disables and resets users (never their role, clearance or scope);
- the security administrator sets roles, clearance and scopes (never creates users);
- the audit administrator only reads the audit log.
Every change is written to the audit log.

Changes made in the UI to the three administrators' own accounts (password reset, disable/enable,
grants that touch a 三员 role) follow a two-person rule: they wait as an `AccountChange` until an
administrator of another 三员 role, who is neither the proposer nor the account's owner, confirms
them. The operator at the console (`lantai user passwd`, actor None) acts alone, and is logged.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from lantai.core import audit, login_guard
from lantai.core.models import AccountChange, User
from lantai.core.roles import GRANTS, ROLES, USERS, is_administrator


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
        user.password_changed_at = timezone.now()
        user.save()
        audit.record(
            "user_create", "user", user.pk,
            {"username": username, "role": role, "clearance": clearance, "scope_all": scope_all},
            actor=actor.username if actor else None,
        )  # fmt: skip
    return user


def set_active(target: User, active: bool, *, actor: User) -> AccountChange | None:
    """Disable or enable an account. For one of the three administrators' accounts this only
    proposes the change and returns it (a second administrator confirms it); otherwise None."""
    _require(actor, USERS)
    if needs_second_administrator(target, actor):
        return _propose(target, "active", {"active": active}, actor, {"active": active})
    _apply_active(target, active)
    audit.record("user_active", "user", target.pk, {"active": active}, actor=actor.username)
    return None


def _apply_active(target: User, active: bool) -> None:
    """Enable or disable `target`. Disabling ends its sessions and deletes its API tokens for
    good: enabling the account again does not bring them back."""
    target.is_active = active
    fields = ["is_active"]
    if not active:
        from lantai.core.api_auth import revoke_tokens

        target.session_epoch += 1
        fields.append("session_epoch")
        revoke_tokens(target)
    target.save(update_fields=fields)


def reset_password(target: User, password: str, *, actor: User | None) -> AccountChange | None:
    """Set a new password and unlock the account (`actor` None: the operator at the console, who
    acts alone and is logged). For one of the three administrators' accounts in the UI this only
    proposes the reset and returns it (a second administrator confirms it); otherwise None."""
    _require(actor, USERS)
    try:
        validate_password(password, target)
    except ValidationError as e:
        raise AccountError("；".join(e.messages)) from e
    if actor is not None and needs_second_administrator_for_password(target, actor):
        return _propose(target, "password", {"password_hash": make_password(password)}, actor, {})
    _apply_password(target, make_password(password))
    detail = {"role": target.role} if actor else {"role": target.role, "via": "console"}
    audit.record(
        "password_reset", "user", target.pk, detail, actor=actor.username if actor else None
    )
    return None


def _apply_password(target: User, password_hash: str) -> None:
    from lantai.core import password_history

    password_history.remember(target, target.password)
    target.password = password_hash
    target.password_changed_at = timezone.now()
    target.failed_logins, target.locked_until = 0, None
    target.save(update_fields=["password", "password_changed_at", "failed_logins", "locked_until"])


def change_own_password(user: User, old: str, new: str, address: str = "") -> None:
    """A signed-in user changes their own password: the old one must be right (a wrong one counts
    as a failed sign-in from `address` towards the lockout) and the new one must pass the
    password policy."""
    if check_lockout(user, address):
        raise AccountError("连续输错原密码次数过多，请稍后再试")
    if not user.check_password(old):
        note_login_failure(user.username, address)
        audit.record("password_change_failed", "user", user.pk, {}, actor=user.username)
        raise AccountError("原密码不正确", "old_password")
    if new == old:
        raise AccountError("新密码不能与原密码相同", "password")
    set_own_password(user, new)


def set_own_password(user: User, new: str, *, expired: bool = False) -> None:
    """Set the user's own new password once they have proved the old one (the password-change
    page, or the sign-in step that asks for a new password when the old one has expired): the
    password policy and the password history apply."""
    from lantai.core import password_history

    try:
        validate_password(new, user)
    except ValidationError as e:
        raise AccountError("；".join(e.messages), "password") from e
    with transaction.atomic():
        password_history.remember(user, user.password)
        user.set_password(new)
        user.password_changed_at = timezone.now()
        user.save(update_fields=["password", "password_changed_at"])
        detail = {"expired": True} if expired else {}
        audit.record("password_change", "user", user.pk, detail, actor=user.username)


def grant(
    target: User,
    *,
    actor: User | None,
    role: str | None = None,
    clearance: int | None = None,
    scope_all: bool | None = None,
    repository_ids: Iterable[int] | None = None,
    fonds_ids: Iterable[int] | None = None,
) -> AccountChange | None:
    """Change a user's role, clearance or scope (the security administrator's work). A change to
    a 三员 account, or to a 三员 role, is only proposed and returned (see the module doc)."""
    _require(actor, GRANTS)
    if actor is not None and target.pk == actor.pk:
        raise AccountError("不能修改自己的角色或权限")
    if role is not None and role not in ROLES:
        raise AccountError(f"未知角色“{role}”")
    if clearance is not None and not 0 <= clearance <= 4:
        raise AccountError("涉密等级须为 0（公开）到 4（绝密）")
    wanted: dict[str, Any] = {
        "role": role,
        "clearance": clearance,
        "scope_all": scope_all,
        "repositories": None if repository_ids is None else sorted(set(repository_ids)),
        "fonds": None if fonds_ids is None else sorted(set(fonds_ids)),
    }
    if needs_second_administrator(target, actor, role):
        assert actor is not None
        shown = {k: v for k, v in wanted.items() if v is not None}
        return _propose(target, "grant", wanted, actor, shown)
    with transaction.atomic():
        changes = _apply_grant(target, wanted)
        audit.record(
            "permission_change", "user", target.pk, changes, actor=actor.username if actor else None
        )
    return None


def _apply_grant(target: User, wanted: dict[str, Any]) -> dict[str, Any]:
    """Set the grant fields of `wanted` that are not None; returns the changes (old → new)."""
    changes: dict[str, Any] = {}
    for field in ("role", "clearance", "scope_all"):
        value = wanted.get(field)
        if value is not None and getattr(target, field) != value:
            changes[field] = [getattr(target, field), value]
            setattr(target, field, value)
    target.save()
    if wanted.get("repositories") is not None:
        changes["repositories"] = wanted["repositories"]
        target.repositories.set(wanted["repositories"])
    if wanted.get("fonds") is not None:
        changes["fonds"] = wanted["fonds"]
        target.fonds.set(wanted["fonds"])
    return changes


def reset_second_factor(target: User, *, actor: User | None) -> AccountChange | None:
    """Remove the user's authenticator and recovery codes (a lost phone); they enroll again at
    their next sign-in when they must use it. The system administrator's work (`actor` None: the
    operator at the console, who acts alone and is logged); for one of the three administrators'
    accounts in the UI this only proposes the reset (a second administrator confirms it)."""
    from lantai.core import two_factor

    _require(actor, USERS)
    if not two_factor.has_any(target):
        raise AccountError(f"用户 {target.username} 没有绑定双因素设备，无需重置")
    if needs_second_administrator(target, actor):
        assert actor is not None
        return _propose(target, "second_factor", {}, actor, {})
    with transaction.atomic():
        two_factor.remove(target)
        detail = {"role": target.role} if actor else {"role": target.role, "via": "console"}
        audit.record(
            "two_factor_reset", "user", target.pk, detail, actor=actor.username if actor else None
        )
    return None


# --- the three administrators' accounts: two-person rule -------------------------------------------
def needs_second_administrator(target: User, actor: User | None, role: str | None = None) -> bool:
    """A UI change to a 三员 account, or one that makes somebody a 三员 administrator, waits for
    a second administrator; the operator at the console (actor None) acts alone."""
    if actor is None:
        return False
    return is_administrator(target.role) or (role is not None and is_administrator(role))


def needs_second_administrator_for_password(target: User, actor: User | None) -> bool:
    """A password an administrator sets is a way into the account and to the archival content
    it may read (the system administrator may read none): every reset in the UI of somebody
    else's account waits for a second administrator; the console acts alone."""
    return actor is not None and actor.pk != target.pk


def _propose(
    target: User, kind: str, payload: dict[str, Any], actor: User, shown: dict[str, Any]
) -> AccountChange:
    with transaction.atomic():
        if AccountChange.objects.filter(target=target, kind=kind, status="pending").exists():
            raise AccountError(
                f"用户 {target.username} 已有一项同类变更等待另一位管理员确认，请先确认或驳回"
            )
        change = AccountChange.objects.create(
            target=target, kind=kind, payload=payload, proposed_by=actor
        )
        audit.record(
            "account_change_propose",
            "user",
            target.pk,
            {"change": change.pk, "kind": kind, "target_role": target.role, **shown},
            actor=actor.username,
        )
    return change


def pending_changes() -> QuerySet[AccountChange]:
    return AccountChange.objects.filter(status="pending").select_related("target", "proposed_by")


def change_by_pk(pk: int) -> AccountChange | None:
    return AccountChange.objects.select_related("target", "proposed_by").filter(pk=pk).first()


def confirm_refusal(change: AccountChange, actor: User) -> str:
    """Why `actor` may not confirm `change` ('' when they may): the confirmer is an active
    administrator of another 三员 role than the proposer, and neither the proposer nor the owner."""
    if change.status != "pending":
        return "该变更已处理"
    if not (actor.is_active and is_administrator(actor.role)):
        return "只有三员管理员可以确认管理员账号的变更"
    if actor.pk in (change.proposed_by_id, change.target_id):
        return "提出变更的管理员和账号本人都不能确认该变更"
    if actor.role == change.proposed_by.role:
        return "须由与提出人不同角色的管理员确认（三员分立）"
    return ""


def confirm_change(change: AccountChange, actor: User) -> None:
    """A second administrator confirms a proposed change: it takes effect now."""
    with transaction.atomic():
        change = AccountChange.objects.select_for_update().get(pk=change.pk)
        if refusal := confirm_refusal(change, actor):
            raise AccountError(refusal)
        target = change.target
        detail: dict[str, Any] = {"change": change.pk, "kind": change.kind}
        if change.kind == "password":
            _apply_password(target, change.payload["password_hash"])
        elif change.kind == "active":
            _apply_active(target, bool(change.payload["active"]))
            detail["active"] = bool(change.payload["active"])
        elif change.kind == "second_factor":
            from lantai.core import two_factor

            two_factor.remove(target)
            audit.record("two_factor_reset", "user", target.pk, {"role": target.role, "change": change.pk}, actor=actor.username)  # fmt: skip
        else:
            detail["changes"] = _apply_grant(target, change.payload)
        change.status, change.decided_by, change.decided_at = "confirmed", actor, timezone.now()
        change.save(update_fields=["status", "decided_by", "decided_at"])
        detail["proposed_by"] = change.proposed_by.username
        audit.record("account_change_confirm", "user", target.pk, detail, actor=actor.username)


def reject_change(change: AccountChange, actor: User) -> None:
    """Turn a proposal down: whoever may confirm it, or the proposer withdrawing it."""
    with transaction.atomic():
        change = AccountChange.objects.select_for_update().get(pk=change.pk)
        refusal = confirm_refusal(change, actor)
        if refusal and not (change.status == "pending" and actor.pk == change.proposed_by_id):
            raise AccountError(refusal)
        change.status, change.decided_by, change.decided_at = "rejected", actor, timezone.now()
        change.save(update_fields=["status", "decided_by", "decided_at"])
        audit.record(
            "account_change_reject",
            "user",
            change.target_id,
            {"change": change.pk, "kind": change.kind, "proposed_by": change.proposed_by.username},
            actor=actor.username,
        )


def check_lockout(user: User, address: str = "") -> bool:
    """True when `user` may not sign in from `address` now: the account is locked for everyone
    (failures from many addresses), or this address is blocked (core.login_guard)."""
    if user.locked_until and user.locked_until > timezone.now():
        return True
    return login_guard.blocked(user.username, address)


def note_login_failure(username: str, address: str = "") -> bool:
    """A failed sign-in to `username` from `address`. Unless a block refused it (no password was
    checked: nothing is counted, False), it counts per (account, address) and per address
    (core.login_guard), and the account itself is locked after LOGIN_ACCOUNT_MAX_FAILURES
    failures without a success in between (0: never)."""
    user = user_by_name(username)
    if check_lockout(user, address) if user else login_guard.blocked(username, address):
        return False
    login_guard.note_failure(username, address)
    if user is None:
        return True
    user.failed_logins = min(user.failed_logins + 1, 32767)
    limit = settings.LOGIN_ACCOUNT_MAX_FAILURES
    if limit and user.failed_logins >= limit:
        user.locked_until = timezone.now() + timedelta(minutes=settings.LOGIN_LOCKOUT_MINUTES)
        user.failed_logins = 0
        audit.record("account_locked", "user", user.pk, {"minutes": settings.LOGIN_LOCKOUT_MINUTES})
    user.save(update_fields=["failed_logins", "locked_until"])
    return True


def note_login_success(user: User, address: str = "") -> None:
    login_guard.note_success(user.username, address)
    if user.failed_logins or user.locked_until:
        user.failed_logins, user.locked_until = 0, None
        user.save(update_fields=["failed_logins", "locked_until"])
