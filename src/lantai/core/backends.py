"""Authentication that honours the lockout after repeated failures (等保 level 3)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.backends import ModelBackend
from django.http import HttpRequest

from lantai.core.accounts import check_lockout, note_login_success
from lantai.core.models import User


class LockoutBackend(ModelBackend):
    def authenticate(  # type: ignore[override]
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kw: Any,
    ) -> User | None:
        candidate = User.objects.filter(username=username).first()
        if candidate is not None and check_lockout(candidate):
            if request is not None:
                request.lantai_locked = True  # type: ignore[attr-defined]
            return None
        user = super().authenticate(request, username=username, password=password, **kw)
        if isinstance(user, User):
            note_login_success(user)
            return user
        return None
