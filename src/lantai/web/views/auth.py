"""Sign-in (with the lockout message), sign-out and changing one's own password."""

from __future__ import annotations

import math
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import AuthenticationForm
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from lantai.core import accounts
from lantai.core.accounts import AccountError
from lantai.web.forms import PasswordChangeForm


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


@login_required
def password_change(request: HttpRequest) -> HttpResponse:
    """Every signed-in user may change their own password (old one, new one twice)."""
    user: Any = request.user
    form = PasswordChangeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            accounts.change_own_password(user, data["old_password"], data["password"])
        except AccountError as e:
            form.add_error(e.field or None, e.message_zh)
        else:
            update_session_auth_hash(request, user)  # stay signed in on this device
            messages.success(request, gettext("密码已修改。"))
            return redirect("web:home")
    return render(request, "web/password_change.html", {"form": form})
