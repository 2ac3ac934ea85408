"""Sign-in (with the lockout message) and sign-out."""

from __future__ import annotations

import math
from typing import Any

from django import forms
from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import AuthenticationForm
from django.http import HttpResponse
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from lantai.core import accounts


class LoginForm(AuthenticationForm):
    error_messages = {
        "invalid_login": _("用户名或密码不正确。连续失败多次后账号将被临时锁定。"),
        "inactive": _("该账号已停用，请联系系统管理员。"),
    }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["username"].label = _("用户名")
        self.fields["password"].label = _("密码")
        self.fields["username"].widget = forms.TextInput(
            attrs={"autofocus": True, "autocomplete": "username", "autocapitalize": "none"}
        )


class LoginView(auth_views.LoginView):
    template_name = "web/login.html"
    authentication_form = LoginForm
    redirect_authenticated_user = True

    def form_invalid(self, form: Any) -> HttpResponse:
        if getattr(self.request, "lantai_locked", False):
            form.errors.clear()
            form.add_error(None, lockout_message(form.data.get("username", "")))
        return super().form_invalid(form)


def lockout_message(username: str) -> str:
    user = accounts.user_by_name(username)
    minutes = 1
    if user is not None and user.locked_until:
        minutes = max(1, math.ceil((user.locked_until - timezone.now()).total_seconds() / 60))
    return gettext("账号已锁定，请 %(minutes)s 分钟后再试") % {"minutes": minutes}


class LogoutView(auth_views.LogoutView):
    next_page = "web:login"
