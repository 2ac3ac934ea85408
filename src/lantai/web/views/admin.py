"""The three administrators' work areas: audit log (audit admin), users (system admin), grants
(security admin)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext
from django.views.decorators.http import require_POST

from lantai.catalog import services
from lantai.core import accounts, audit
from lantai.core.accounts import AccountError
from lantai.core.roles import AUDIT, GRANTS, USERS
from lantai.web import labels
from lantai.web.forms import GrantForm, PasswordResetForm, UserCreateForm
from lantai.web.views.common import not_found, permission_required


# --- audit log ------------------------------------------------------------------------------------
@permission_required(AUDIT)
def audit_log(request: HttpRequest, verify_result: Any = None) -> HttpResponse:
    action = request.GET.get("action", "").strip()
    actor = request.GET.get("actor", "").strip()
    before_raw = request.GET.get("before", "")
    before = int(before_raw) if before_raw.isdigit() else None
    entries, next_before = audit.page(before=before, action=action, actor=actor)
    base = {k: v for k, v in (("action", action), ("actor", actor)) if v}
    return render(
        request,
        "web/audit.html",
        {
            "entries": entries,
            "action": action,
            "actor": actor,
            "actions": audit.actions(),
            "first_query": urlencode(base),
            "next_query": urlencode({**base, "before": next_before}) if next_before else "",
            "is_first_page": before is None,
            "verify": verify_result,
        },
    )


@require_POST
@permission_required(AUDIT)
def audit_verify(request: HttpRequest) -> HttpResponse:
    result = audit.verify()
    audit.record("audit_verify", "audit_log", "", {"ok": result.ok, "checked": result.checked})
    return audit_log(request, verify_result=result)


# --- users (system administrator) ------------------------------------------------------------------
@permission_required(USERS)
def users(request: HttpRequest) -> HttpResponse:
    q = request.GET.get("q", "").strip()
    rows = [
        {
            "user": u,
            "role": labels.role_label(u.role),
            "clearance": labels.clearance_label(u.clearance),
        }
        for u in accounts.users(q)[:500]
    ]
    return render(request, "web/users.html", {"rows": rows, "q": q, "now_": timezone.now()})


@permission_required(USERS)
def user_create(request: HttpRequest) -> HttpResponse:
    form = UserCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            user = accounts.create_user(
                data["username"],
                role="public",
                password=data["password"],
                actor=request.user,  # type: ignore[arg-type]
                display_name=data["display_name"],
            )
        except AccountError as e:
            form.add_error(None, e.message_zh)
        else:
            messages.success(
                request,
                gettext("已创建用户 %(name)s（角色：公众）。请安全保密管理员为其授予角色和范围。")
                % {"name": user.username},
            )
            return redirect("web:users")
    return render(request, "web/user_form.html", {"form": form})


@require_POST
@permission_required(USERS)
def user_active(request: HttpRequest, pk: int) -> HttpResponse:
    target = accounts.user_by_pk(pk)
    if target is None:
        return not_found(request, gettext("用户不存在。"))
    active = request.POST.get("active") == "1"
    if target.pk == request.user.pk and not active:
        messages.error(request, gettext("不能停用自己的账号。"))
        return redirect("web:users")
    try:
        accounts.set_active(target, active, actor=request.user)  # type: ignore[arg-type]
    except AccountError as e:
        messages.error(request, e.message_zh)
    else:
        msg = gettext("已启用用户 %(name)s。") if active else gettext("已停用用户 %(name)s。")
        messages.success(request, msg % {"name": target.username})
    return redirect("web:users")


@permission_required(USERS)
def user_password(request: HttpRequest, pk: int) -> HttpResponse:
    target = accounts.user_by_pk(pk)
    if target is None:
        return not_found(request, gettext("用户不存在。"))
    form = PasswordResetForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            accounts.reset_password(target, form.cleaned_data["password"], actor=request.user)  # type: ignore[arg-type]
        except AccountError as e:
            form.add_error("password", e.message_zh)
        else:
            messages.success(
                request,
                gettext("已重置用户 %(name)s 的密码，并解除锁定。") % {"name": target.username},
            )
            return redirect("web:users")
    return render(request, "web/user_password.html", {"form": form, "target": target})


# --- grants (security administrator) ---------------------------------------------------------------
@permission_required(GRANTS)
def grants(request: HttpRequest) -> HttpResponse:
    q = request.GET.get("q", "").strip()
    rows = [
        {
            "user": u,
            "role": labels.role_label(u.role),
            "clearance": labels.clearance_label(u.clearance),
            "repositories": list(u.repositories.all()),
            "fonds": list(u.fonds.all()),
        }
        for u in accounts.users(q)[:500]
    ]
    return render(request, "web/grants.html", {"rows": rows, "q": q})


@permission_required(GRANTS)
def grant_edit(request: HttpRequest, pk: int) -> HttpResponse:
    target = accounts.user_by_pk(pk)
    if target is None:
        return not_found(request, gettext("用户不存在。"))
    repositories = list(services.visible_repositories(None).order_by("code"))
    fonds = list(services.visible_fonds(None).order_by("repository__code", "code"))
    initial = {
        "role": target.role,
        "clearance": target.clearance,
        "scope_all": target.scope_all,
        "repositories": [str(pk) for pk in target.repositories.values_list("pk", flat=True)],
        "fonds": [str(pk) for pk in target.fonds.values_list("pk", flat=True)],
    }
    form = GrantForm(request.POST or None, initial=initial, repositories=repositories, fonds=fonds)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            accounts.grant(
                target,
                actor=request.user,  # type: ignore[arg-type]
                role=data["role"],
                clearance=data["clearance"],
                scope_all=data["scope_all"],
                repository_ids=[int(x) for x in data["repositories"]],
                fonds_ids=[int(x) for x in data["fonds"]],
            )
        except AccountError as e:
            form.add_error(None, e.message_zh)
        else:
            messages.success(
                request, gettext("已更新用户 %(name)s 的授权。") % {"name": target.username}
            )
            return redirect("web:grants")
    return render(
        request,
        "web/grant_form.html",
        {"form": form, "target": target, "role": labels.role_label(target.role)},
    )
