"""Sign-in (one message for every refusal), the second factor, an expired password, sign-out and
changing one's own password.

Sign-in runs in steps. The password form comes first; then, before the session is signed in at
all (django's login() runs only after the last step), the user whose account has a second factor
types a code from the authenticator or a recovery code; a user who must use one (core.two_factor)
and has none enrolls first; a user whose password has expired sets a new one. The steps in between
are kept in the session under PENDING (the user's id, the step, since when, and the session hash
of the password, so a password changed meanwhile ends them); they lapse after PENDING_MINUTES.
"""

from __future__ import annotations

import time
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login as auth_login
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import AuthenticationForm
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from lantai.core import accounts, password_history, two_factor
from lantai.core.accounts import AccountError
from lantai.core.client_address import client_address
from lantai.core.models import User
from lantai.core.roles import USERS
from lantai.web.forms import NewPasswordForm, PasswordChangeForm
from lantai.web.views.common import not_found, permission_required

# One message for an unknown name, a wrong password, a disabled account and a blocked sign-in:
# the sign-in page never tells whether an account exists or is locked.
SIGN_IN_FAILED = _(
    "登录失败：用户名或密码不正确，或因连续失败已被暂时阻止登录。请稍后再试，或联系系统管理员。"
)
CODE_FAILED = _("验证码不正确，或因连续失败已被暂时阻止登录。请稍后再试，或联系系统管理员。")
PENDING = "lantai_sign_in"
# The Enrollment.token of the unconfirmed second-factor secret this session was shown: only this
# session sees it again or confirms it; any other sign-in that must enroll gets a new secret.
ENROLLING = "lantai_two_factor_enrolling"
PENDING_MINUTES = 15  # time enough to install an authenticator app


class LoginForm(AuthenticationForm):
    error_messages = {"invalid_login": SIGN_IN_FAILED, "inactive": SIGN_IN_FAILED}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["username"].label = _("用户名")
        self.fields["password"].label = _("密码")
        self.fields["username"].widget = forms.TextInput(
            attrs={"autofocus": True, "autocomplete": "username", "autocapitalize": "none"}
        )


class CodeForm(forms.Form):
    code = forms.CharField(
        label=_("验证码"),
        max_length=32,
        widget=forms.TextInput(
            attrs={
                "autofocus": True,
                "autocomplete": "one-time-code",
                "inputmode": "numeric",
                "autocapitalize": "none",
            }
        ),
    )


# --- the steps of signing in ---------------------------------------------------------------------
def _next_step(user: User, *, factor_done: bool) -> str:
    """The step `user` must take next ("" when they may be signed in now)."""
    if not factor_done:
        if two_factor.is_enrolled(user):
            return "verify"
        if two_factor.required_for(user):
            return "enroll"
    if password_history.expired(user):
        return "expired"
    return ""


STEP_URLS = {
    "verify": "web:login_verify",
    "enroll": "web:login_enroll",
    "expired": "web:login_expired",
}


def _pending(request: HttpRequest, step: str) -> User | None:
    """The user half-way through signing in at `step`, or None (then start again)."""
    state = request.session.get(PENDING)
    if not isinstance(state, dict) or state.get("step") != step:
        return None
    if time.time() - float(state.get("since", 0)) > PENDING_MINUTES * 60:
        request.session.pop(PENDING, None)
        return None
    user = User.objects.filter(pk=int(state.get("uid") or 0), is_active=True).first()
    if user is None or user.get_session_auth_hash() != state.get("hash"):
        request.session.pop(PENDING, None)
        return None
    return user


def _advance(request: HttpRequest, user: User, step: str) -> HttpResponse:
    """Go to `step`, or sign in when there is none left."""
    state = request.session.get(PENDING) or {}
    if not step:
        return _finish(request, user, state)
    request.session[PENDING] = {**state, "step": step}
    return redirect(STEP_URLS[step])


def _finish(request: HttpRequest, user: User, state: dict[str, Any]) -> HttpResponse:
    request.session.pop(PENDING, None)
    accounts.note_login_success(user, client_address(request))
    auth_login(request, user, backend=state.get("backend") or settings.AUTHENTICATION_BACKENDS[0])
    target = str(state.get("next") or "")
    if not url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        target = settings.LOGIN_REDIRECT_URL
    return redirect(target)


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

    def form_valid(self, form: AuthenticationForm) -> HttpResponse:
        user = form.get_user()
        self.request.session.pop(ENROLLING, None)  # a new sign-in enrolls with a new secret
        step = _next_step(user, factor_done=False)
        if not step:
            self.request.session.pop(PENDING, None)
            return super().form_valid(form)  # login() as before
        self.request.session[PENDING] = {
            "uid": user.pk,
            "step": step,
            "since": time.time(),
            "hash": user.get_session_auth_hash(),
            "backend": getattr(user, "backend", ""),
            "next": self.get_success_url(),
        }
        return redirect(STEP_URLS[step])


def login_verify(request: HttpRequest) -> HttpResponse:
    """Step 2: a code from the authenticator app, or a recovery code. A wrong one counts as a
    failed sign-in (per account and address, per address, per account: core.login_guard)."""
    user = _pending(request, "verify")
    if user is None:
        return redirect("web:login")
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            used = _checked_code(request, user, form)
        except two_factor.TwoFactorError as e:  # the key file: the operator's problem
            return _key_problem(request, e)
        if used is not None:
            if used == "recovery":
                left = two_factor.recovery_codes_left(user)
                messages.warning(
                    request,
                    gettext(
                        "已使用一个恢复码，还剩 %(n)d 个。请尽快在“双因素认证”页面生成新的恢复码。"
                    )
                    % {"n": left},
                )
            return _advance(request, user, _next_step(user, factor_done=True))
    return render(request, "web/login_verify.html", {"form": form, "who": user})


def _checked_code(request: HttpRequest, user: User, form: CodeForm) -> str | None:
    """The code of a valid CodeForm checked for `user` ("totp", "recovery"), or None: refused
    without checking while the sign-in is blocked, and a wrong one counts as a failed sign-in
    and is put on the form."""
    address = client_address(request)
    used = None
    if not accounts.check_lockout(user, address):
        used = two_factor.verify(user, form.cleaned_data["code"])
    if used is None:
        if accounts.note_login_failure(user.username, address):
            two_factor.note_failure(user, address)
        form.add_error("code", CODE_FAILED)
    return used


def _key_problem(request: HttpRequest, error: two_factor.TwoFactorError) -> HttpResponse:
    """The second factor cannot be checked (its key file or a stored secret is unusable)."""
    return render(request, "web/two_factor_problem.html", {"message": error.message_zh}, status=500)


def login_enroll(request: HttpRequest) -> HttpResponse:
    """Step 2 for a user who must use a second factor and has none: enroll it first."""
    user = _pending(request, "enroll")
    if user is None or two_factor.is_enrolled(user):  # enrolled meanwhile: sign in with a code
        request.session.pop(PENDING, None)
        return redirect("web:login")
    return _enroll(request, user, signing_in=True)


def _enroll(request: HttpRequest, user: User, *, signing_in: bool) -> HttpResponse:
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            token = str(request.session.get(ENROLLING) or "")
            codes = two_factor.confirm_enrollment(user, form.cleaned_data["code"], token=token)
        except two_factor.TwoFactorError as e:
            form.add_error("code", e.message_zh)
        else:
            request.session.pop(ENROLLING, None)
            if signing_in:
                step = _next_step(user, factor_done=True)
                response = _advance(request, user, step)
                continue_url = response["Location"]
            else:
                continue_url = ""
            return render(
                request,
                "web/two_factor_codes.html",
                {"codes": codes, "continue_url": continue_url, "who": user},
            )
    try:
        # the pending secret only for the session that was shown it; otherwise a new one (which
        # replaces it), so an earlier sign-in (who knew the password then) never sees the
        # secret that the account's owner goes on to confirm
        enrollment = two_factor.pending_enrollment(user)
        if enrollment is None or enrollment.token != request.session.get(ENROLLING):
            enrollment = two_factor.start_enrollment(user)
            request.session[ENROLLING] = enrollment.token
    except two_factor.TwoFactorError as e:
        return _key_problem(request, e)
    context = {
        "form": form,
        "who": user,
        "secret": enrollment.secret,
        "uri": enrollment.uri,
        "qr": two_factor.qr_svg(enrollment.uri),
        "signing_in": signing_in,
        "required": two_factor.required_for(user),
    }
    return render(request, "web/two_factor_enroll.html", context)


def login_expired(request: HttpRequest) -> HttpResponse:
    """The last step when the password is older than PASSWORD_MAX_AGE_DAYS: a new one first."""
    user = _pending(request, "expired")
    if user is None:
        return redirect("web:login")
    form = NewPasswordForm(request.POST or None)
    form.fields["password"].widget.attrs["autofocus"] = True
    if request.method == "POST" and form.is_valid():
        new = form.cleaned_data["password"]
        try:
            if user.check_password(new):
                raise AccountError(gettext("新密码不能与原密码相同"), "password")
            accounts.set_own_password(user, new, expired=True)
        except AccountError as e:
            form.add_error(e.field or None, e.message_zh)
        else:
            messages.success(request, gettext("密码已修改。"))
            return _finish(request, user, request.session.get(PENDING) or {})
    context = {"form": form, "who": user, "days": settings.PASSWORD_MAX_AGE_DAYS}
    return render(request, "web/login_password_expired.html", context)


class LogoutView(auth_views.LogoutView):
    next_page = "web:login"


# --- signed in: one's own password and second factor ---------------------------------------------
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


@login_required
def two_factor_page(request: HttpRequest) -> HttpResponse:
    """One's own second factor: enroll (voluntarily, or because one must), see how many recovery
    codes are left, make new ones (with a current code)."""
    user: Any = request.user
    if not two_factor.is_enrolled(user):
        return _enroll(request, user, signing_in=False)
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            used = _checked_code(request, user, form)
        except two_factor.TwoFactorError as e:
            return _key_problem(request, e)
        if used is not None:
            codes = two_factor.regenerate_recovery_codes(user)
            return render(
                request,
                "web/two_factor_codes.html",
                {"codes": codes, "continue_url": "", "who": user},
            )
    device = two_factor.device(user)
    context = {
        "form": form,
        "device": device,
        "left": two_factor.recovery_codes_left(user),
        "required": two_factor.required_for(user),
    }
    return render(request, "web/two_factor.html", context)


# --- the system administrator: reset somebody's second factor -------------------------------------
@permission_required(USERS)
def user_two_factor(request: HttpRequest, pk: int) -> HttpResponse:
    """Reset a user's second factor (a lost phone). For one of the three administrators it waits
    for a second administrator (core.accounts.reset_second_factor)."""
    target = accounts.user_by_pk(pk)
    if target is None:
        return not_found(request, gettext("用户不存在。"))
    if request.method == "POST":
        try:
            pending = accounts.reset_second_factor(target, actor=request.user)  # type: ignore[arg-type]
        except AccountError as e:
            messages.error(request, e.message_zh)
        else:
            if pending is not None:
                messages.info(
                    request,
                    gettext(
                        "%(name)s 是三员管理员，重置双因素认证须由另一角色的管理员确认后才生效。"
                    )
                    % {"name": target.username},
                )
                return redirect("web:account_changes")
            messages.success(
                request,
                gettext("已重置 %(name)s 的双因素认证；其下次登录时须重新绑定（如必须使用）。")
                % {"name": target.username},
            )
            return redirect("web:users")
    context = {
        "target": target,
        "device": two_factor.device(target),
        "left": two_factor.recovery_codes_left(target),
        "required": two_factor.required_for(target),
    }
    return render(request, "web/user_two_factor.html", context)
