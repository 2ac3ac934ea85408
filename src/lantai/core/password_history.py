"""Password history and expiry (等保 level 3): settings PASSWORD_HISTORY and PASSWORD_MAX_AGE_DAYS.

A new password may not equal the current one or the ones before it, PASSWORD_HISTORY in all
(checked by `PasswordHistoryValidator`, one of AUTH_PASSWORD_VALIDATORS, so every path that
validates a password — changing one's own, a reset in the UI or at the console — applies it). The
hashes of replaced passwords are kept in PasswordHistory (`remember`), only as many as needed.
A password older than PASSWORD_MAX_AGE_DAYS has to be changed right after signing in.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.hashers import check_password
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _

from lantai.core.models import PasswordHistory, User


def _recent_hashes(user: User) -> list[str]:
    """The current password's hash and the hashes before it, PASSWORD_HISTORY in all."""
    n = settings.PASSWORD_HISTORY
    if n <= 0 or not user.pk:
        return []
    current = User.objects.filter(pk=user.pk).values_list("password", flat=True).first()
    hashes = [current] if current else []
    older = PasswordHistory.objects.filter(user_id=user.pk).values_list("password", flat=True)
    hashes += list(older[: max(n - len(hashes), 0)])
    return hashes


def reused(user: User, password: str) -> bool:
    """Does `password` equal the user's current password or one of the ones before it?"""
    return any(check_password(password, h) for h in _recent_hashes(user) if h)


def remember(user: User, replaced_hash: str) -> None:
    """Keep the hash of the password being replaced; drop the ones beyond the history's length."""
    n = settings.PASSWORD_HISTORY
    if n <= 1 or not replaced_hash:  # 1: only the current password counts, which is in User
        PasswordHistory.objects.filter(user=user).delete()
        return
    PasswordHistory.objects.create(user=user, password=replaced_hash, replaced_at=timezone.now())
    keep = list(PasswordHistory.objects.filter(user=user).values_list("pk", flat=True)[: n - 1])
    PasswordHistory.objects.filter(user=user).exclude(pk__in=keep).delete()


def expired(user: User) -> bool:
    """Has the user's password passed PASSWORD_MAX_AGE_DAYS (0: passwords never expire)?"""
    days = settings.PASSWORD_MAX_AGE_DAYS
    if days <= 0 or user.password_changed_at is None:
        return False
    return timezone.now() - user.password_changed_at >= timedelta(days=days)


def _REUSED() -> str:  # noqa: N802 (a message, looked up in the active language)
    return _("新密码不能与最近使用过的 %(n)d 个密码（含当前密码）相同。")


class PasswordHistoryValidator:
    """Refuses a password equal to one of the user's last PASSWORD_HISTORY passwords."""

    def validate(self, password: str, user: Any = None) -> None:
        if isinstance(user, User) and reused(user, password):
            n = settings.PASSWORD_HISTORY
            raise ValidationError(_REUSED() % {"n": n}, code="password_reused")

    def get_help_text(self) -> str:
        n = settings.PASSWORD_HISTORY
        if n <= 0:
            return ""
        return _REUSED() % {"n": n}
