"""Shared view helpers: permission checks that answer 403 in Chinese.

Audit entries written while serving a request name the signed-in user through
`lantai.web.middleware.AuditActorMiddleware`; views need no decorator for it."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from lantai.core import audit, roles
from lantai.core.client_address import client_address
from lantai.web import labels

PERMISSION_LABELS = {
    roles.VIEW: _("查阅档案"),
    roles.EDIT: _("著录编辑"),
    roles.IMPORT: _("导入目录"),
    roles.EXPORT: _("导出目录"),
    roles.STRUCTURE: _("管理全宗和门类"),
    roles.USERS: _("用户管理"),
    roles.SETTINGS: _("系统设置"),
    roles.GRANTS: _("授权管理"),
    roles.AUDIT: _("查阅审计日志"),
    roles.SUBMIT: _("提交移交"),
    roles.RECEIVE: _("接收移交"),
    roles.PRESERVE: _("长期保存"),
    roles.SERVE: _("利用服务"),
    roles.STACKS: _("库房管理"),
    roles.APPRAISE: _("鉴定与销毁"),
}

View = Callable[..., HttpResponse]


def forbidden(request: HttpRequest, message: str) -> HttpResponse:
    """The 403 page; every refusal is written to the audit log (who, from where, what, why)."""
    user: Any = request.user
    audit.denied(
        request.get_full_path(),
        request.method or "",
        str(message),
        client_address(request),
        actor=user.get_username() if user.is_authenticated else "anonymous",
    )
    return render(request, "web/403.html", {"message": message}, status=403)


def not_found(request: HttpRequest, message: str) -> HttpResponse:
    return render(request, "web/404.html", {"message": message}, status=404)


def denied_message(request: HttpRequest, permission: str) -> str:
    user: Any = request.user
    return gettext("您的角色（%(role)s）没有“%(permission)s”权限。") % {
        "role": labels.role_label(user.role),
        "permission": PERMISSION_LABELS.get(permission, permission),
    }


def permission_required(permission: str) -> Callable[[View], View]:
    """Sign-in required; a signed-in user without `permission` gets a 403 page in Chinese."""

    def decorate(view: View) -> View:
        @functools.wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            user: Any = request.user
            if not user.has_perm_code(permission):
                return forbidden(request, denied_message(request, permission))
            return view(request, *args, **kwargs)

        return login_required(wrapped)

    return decorate


def administrator_required(view: View) -> View:
    """Sign-in required; only the three administrators (三员) may open the page (403 otherwise)."""

    @functools.wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        user: Any = request.user
        if not (user.is_active and roles.is_administrator(user.role)):
            return forbidden(request, gettext("只有三员管理员可以查看和确认管理员账号的变更。"))
        return view(request, *args, **kwargs)

    return login_required(wrapped)


def language(request: HttpRequest) -> str:
    return getattr(request, "LANGUAGE_CODE", "") or "zh-hans"


WHOLE_NUMBER = re.compile(r"[0-9]{1,18}")  # ASCII digits only; 18 of them fit a 64-bit column


def whole_number(text: str | None) -> int | None:
    """`text` as a whole number when it is 1 to 18 ASCII digits, else None. Every number a page
    reads from the query string, a form or a header goes through here: str.isdigit() also passes
    "²", which int() refuses, and thousands of digits overflow int() and the database."""
    if text is None or not WHOLE_NUMBER.fullmatch(text):
        return None
    return int(text)


def keyset_cursor(request: HttpRequest) -> tuple[str, int] | None:
    """The (档号, id) of the last row of the previous page, from ?after_code=&after_id=."""
    code, pk = request.GET.get("after_code"), whole_number(request.GET.get("after_id"))
    if code is None or pk is None:
        return None
    return code, pk
