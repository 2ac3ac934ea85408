"""Authentication that honours the lockout after repeated failures (等保 level 3), counted per
(account, address) and per address (core.login_guard); a blocked attempt checks no password.
A right password is only the first step for a user with a second factor (web.views.auth)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.backends import ModelBackend
from django.http import HttpRequest

from lantai.core import login_guard, two_factor
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
            # With a second factor the password alone is not a success: failures stay counted
            # until the code is right too (the sign-in view notes the success then), so that
            # typing the right password again cannot reset the count of wrong codes.
            if not two_factor.is_enrolled(user):
                note_login_success(user, address)
            return user
        return None
