"""Sign-in (one message for every refusal), sign-out and changing one's own password."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import AuthenticationForm
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from lantai.core import accounts
from lantai.core.accounts import AccountError
from lantai.core.client_address import client_address
from lantai.web.forms import PasswordChangeForm

# One message for an unknown name, a wrong password, a disabled account and a blocked sign-in:
# the sign-in page never tells whether an account exists or is locked.
SIGN_IN_FAILED = _(
    "登录失败：用户名或密码不正确，或因连续失败已被暂时阻止登录。请稍后再试，或联系系统管理员。"
)


class LoginForm(AuthenticationForm):
    error_messages = {"invalid_login": SIGN_IN_FAILED, "inactive": SIGN_IN_FAILED}

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

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["max_failures"] = settings.LOGIN_MAX_FAILURES
        context["lockout_minutes"] = settings.LOGIN_LOCKOUT_MINUTES
        context["session_minutes"] = settings.SESSION_COOKIE_AGE // 60
        return context


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
            accounts.change_own_password(
                user, data["old_password"], data["password"], client_address(request)
            )
        except AccountError as e:
            form.add_error(e.field or None, e.message_zh)
        else:
            update_session_auth_hash(request, user)  # stay signed in on this device
            messages.success(request, gettext("密码已修改。"))
            return redirect("web:home")
    return render(request, "web/password_change.html", {"form": form})
