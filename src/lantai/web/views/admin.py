"""The three administrators' work areas: audit log (audit admin), users (system admin), grants
(security admin)."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from datetime import date, datetime, time, timedelta
from typing import Any, cast
from urllib.parse import urlencode

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext
from django.views.decorators.http import require_POST

from lantai.catalog import services
from lantai.core import accounts, audit
from lantai.core.accounts import AccountError
from lantai.core.roles import AUDIT, GRANTS, USERS, is_administrator
from lantai.core.spreadsheet_cells import formula_safe
from lantai.web import audit_display, labels
from lantai.web.forms import GrantForm, PasswordResetForm, UserCreateForm
from lantai.web.views.common import (
    administrator_required,
    not_found,
    permission_required,
    whole_number,
)

# --- audit log ------------------------------------------------------------------------------------
FILTER_KEYS = ("action", "actor", "from", "to", "target")


def _day(raw: str) -> date | None:
    try:
        return date.fromisoformat(raw)
    except ValueError:
        return None


def _filters(request: HttpRequest) -> tuple[audit.Filters, dict[str, str], str]:
    """The log filters from the query string, the raw values to show again, and an error about
    a date that could not be read ('' when there is none)."""
    raw = {k: request.GET.get(k, "").strip() for k in FILTER_KEYS}
    error = ""
    since = until = None
    tz = timezone.get_current_timezone()
    if raw["from"]:
        if (day := _day(raw["from"])) is None:
            error = gettext("起始日期“%(v)s”无法识别，请用 年-月-日 格式。") % {"v": raw["from"]}
        else:
            since = datetime.combine(day, time.min, tzinfo=tz)
    if raw["to"]:
        if (day := _day(raw["to"])) is None:
            error = gettext("截止日期“%(v)s”无法识别，请用 年-月-日 格式。") % {"v": raw["to"]}
        else:
            until = datetime.combine(day + timedelta(days=1), time.min, tzinfo=tz)
    target_type, _, target_id = raw["target"].partition(":")
    filters = audit.Filters(
        action=raw["action"],
        actor=raw["actor"],
        target_type=target_type,
        target_id=target_id,
        since=since,
        until=until,
    )
    return filters, {k: v for k, v in raw.items() if v}, error


@permission_required(AUDIT)
def audit_log(request: HttpRequest, verify_result: Any = None) -> HttpResponse:
    filters, raw, error = _filters(request)
    if error:
        messages.error(request, error)
    before = whole_number(request.GET.get("before"))
    entries, next_before = audit.page(filters, before=before)
    return render(
        request,
        "web/audit.html",
        {
            "rows": audit_display.rows(request.user, entries),
            "filters": raw,
            "target_label": audit_display.target_label(filters.target_type),
            "actions": [(a, audit_display.action_label(a)) for a in audit.actions()],
            "first_query": urlencode(raw),
            "export_query": urlencode(raw),
            "next_query": urlencode({**raw, "before": next_before}) if next_before else "",
            "is_first_page": before is None,
            "verify": verify_result,
        },
    )


class _Echo:
    def write(self, value: str) -> str:
        return value


EXPORT_CHUNK = 500


@permission_required(AUDIT)
def audit_export(request: HttpRequest) -> HttpResponse:
    """The filtered log as CSV (UTF-8 with BOM for Excel), details as text, cells formula-safe,
    archival content sealed exactly as on the page."""
    filters, raw, error = _filters(request)
    if error:
        messages.error(request, error)
        return redirect(reverse("web:audit") + "?" + urlencode(raw))
    audit.record("audit_export", "audit_log", "", {"filters": raw})
    viewer = request.user
    header = [
        gettext("序号"), gettext("时间"), gettext("操作人"), gettext("操作"), gettext("操作代码"),
        gettext("对象"), gettext("详情"), gettext("哈希"),
    ]  # fmt: skip

    def lines() -> Iterator[str]:
        writer = csv.writer(_Echo())
        yield "\ufeff" + writer.writerow(header)
        chunk: list[Any] = []
        for entry in audit.entries(filters):
            chunk.append(entry)
            if len(chunk) == EXPORT_CHUNK:
                yield from _csv_rows(writer, viewer, chunk)
                chunk = []
        yield from _csv_rows(writer, viewer, chunk)

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M%S")
    response["Content-Disposition"] = f'attachment; filename="audit-{stamp}.csv"'
    return cast(HttpResponse, response)  # streamed: the decorators only pass it through


def _csv_rows(writer: Any, viewer: Any, chunk: list[Any]) -> Iterator[str]:
    for row in audit_display.rows(viewer, chunk):
        e = row.entry
        cells = [
            e.seq, timezone.localtime(e.at).strftime("%Y-%m-%d %H:%M:%S"), e.actor, row.action,
            e.action, row.target, row.details_text(), e.hash,
        ]  # fmt: skip
        yield writer.writerow([formula_safe(c) for c in cells])


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
        pending = accounts.set_active(target, active, actor=request.user)  # type: ignore[arg-type]
    except AccountError as e:
        messages.error(request, e.message_zh)
    else:
        if pending is not None:
            _proposed(request, target)
            return redirect("web:account_changes")
        msg = gettext("已启用用户 %(name)s。") if active else gettext("已停用用户 %(name)s。")
        messages.success(request, msg % {"name": target.username})
    return redirect("web:users")


def _proposed(request: HttpRequest, target: Any, *, password: bool = False) -> None:
    if password:
        text = gettext(
            "管理员设置的密码可以登录 %(name)s 的账号：重置须由另一角色的管理员确认后才生效。"
        )
    else:
        text = gettext(
            "%(name)s 是三员管理员，此变更须由另一角色的管理员（安全保密管理员或安全审计员）"
            "确认后才生效。"
        )
    messages.info(request, text % {"name": target.username})


@permission_required(USERS)
def user_password(request: HttpRequest, pk: int) -> HttpResponse:
    target = accounts.user_by_pk(pk)
    if target is None:
        return not_found(request, gettext("用户不存在。"))
    form = PasswordResetForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            pending = accounts.reset_password(
                target,
                form.cleaned_data["password"],
                actor=request.user,  # type: ignore[arg-type]
            )
        except AccountError as e:
            form.add_error("password", e.message_zh)
        else:
            if pending is not None:
                _proposed(request, target, password=True)
                return redirect("web:account_changes")
            messages.success(
                request,
                gettext("已重置用户 %(name)s 的密码，并解除锁定。") % {"name": target.username},
            )
            return redirect("web:users")
    return render(
        request,
        "web/user_password.html",
        {"form": form, "target": target, "needs_second": is_administrator(target.role)},
    )


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
            pending = accounts.grant(
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
            if pending is not None:
                messages.info(
                    request,
                    gettext("涉及三员管理员的授权变更须由系统管理员或安全审计员确认后才生效。"),
                )
                return redirect("web:account_changes")
            messages.success(
                request, gettext("已更新用户 %(name)s 的授权。") % {"name": target.username}
            )
            return redirect("web:grants")
    return render(
        request,
        "web/grant_form.html",
        {"form": form, "target": target, "role": labels.role_label(target.role)},
    )


# --- the three administrators' accounts: changes confirmed by a second administrator -------------
@administrator_required
def account_changes(request: HttpRequest) -> HttpResponse:
    me: Any = request.user
    rows = [
        {
            "change": c,
            "kind": c.get_kind_display(),
            "target_role": labels.role_label(c.target.role),
            "summary": _change_summary(c),
            "refusal": accounts.confirm_refusal(c, me),
            "mine": c.proposed_by_id == me.pk,
        }
        for c in accounts.pending_changes()[:200]
    ]
    return render(request, "web/account_changes.html", {"rows": rows})


def _change_summary(change: Any) -> str:
    if change.kind == "password":
        return gettext("设置新密码并解除锁定")
    if change.kind == "active":
        return gettext("启用账号") if change.payload.get("active") else gettext("停用账号")
    if change.kind == "second_factor":
        return gettext("删除认证器绑定和恢复码")
    shown = {k: v for k, v in change.payload.items() if v is not None}
    return "；".join(
        f"{audit_display.key_label(k)}：{audit_display.value_text(k, v)}" for k, v in shown.items()
    )


@require_POST
@administrator_required
def account_change_decide(request: HttpRequest, pk: int) -> HttpResponse:
    change = accounts.change_by_pk(pk)
    if change is None:
        return not_found(request, gettext("没有这项变更。"))
    me: Any = request.user
    confirm = request.POST.get("decision") == "confirm"
    try:
        if confirm:
            accounts.confirm_change(change, me)
        else:
            accounts.reject_change(change, me)
    except AccountError as e:
        messages.error(request, e.message_zh)
    else:
        msg = gettext("已确认，变更已生效。") if confirm else gettext("已驳回该变更。")
        messages.success(request, msg)
    return redirect("web:account_changes")
