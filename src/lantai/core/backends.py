"""Authentication that honours the lockout after repeated failures (等保 level 3), counted per
(account, address) and per address (core.login_guard); a blocked attempt checks no password."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.backends import ModelBackend
from django.http import HttpRequest

from lantai.core import login_guard
from lantai.core.accounts import check_lockout, note_login_success
from lantai.core.client_address import client_address
from lantai.core.models import User


class LockoutBackend(ModelBackend):
    def authenticate(  # type: ignore[override]
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kw: Any,
    ) -> User | None:
        address = client_address(request)
        candidate = User.objects.filter(username=username).first()
        if candidate is not None:
            locked = check_lockout(candidate, address)
        else:
            locked = login_guard.blocked(username or "", address)
        if locked:
            User().set_password(password)  # the work of a real check: no timing difference
            return None
        user = super().authenticate(request, username=username, password=password, **kw)
        if isinstance(user, User):
            note_login_success(user, address)
            return user
        return None
