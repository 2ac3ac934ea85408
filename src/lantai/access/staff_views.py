"""Reading-room pages (利用服务): 查档申请 受理 → 审批 → 提供 / 拒绝, and the 利用登记 register."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from lantai.access import services
from lantai.access.forms import NoteForm, ProvideForm, RefuseForm, RegisterForm
from lantai.access.models import AccessRequest
from lantai.core.roles import MARRIAGE, SERVE
from lantai.web.views.common import not_found, permission_required

LIST_LIMIT = 200


@permission_required(SERVE)
def request_list(request: HttpRequest) -> HttpResponse:
    status = request.GET.get("status", "")
    if status not in dict(AccessRequest.STATUSES):
        status = ""
    user: Any = request.user
    rows = list(services.requests_for_staff(user, status)[:LIST_LIMIT])
    return render(
        request,
        "access/staff_requests.html",
        {
            "rows": rows,
            "status": status,
            "statuses": AccessRequest.STATUSES,
        },
    )


@permission_required(SERVE)
def request_detail(request: HttpRequest, pk: int) -> HttpResponse:
    user: Any = request.user
    req = services.get_request(user, pk)
    if req is None:
        return not_found(request, _("没有这条查档申请"))
    return render(
        request,
        "access/staff_request.html",
        {
            "req": req,
            "records": list(req.records.all()),
            "actions": services.allowed_actions(req, user),
            "approval_problem": services.approval_problem(req, user)
            if req.status == "accepted"
            else "",
            "notes": services.notes_of(req),
            "note_form": NoteForm(),
            "refuse_form": RefuseForm(),
            "provide_form": ProvideForm(),
            "provisions": list(req.provisions.all()),
            "can_marriage": user.has_perm_code(MARRIAGE) and req.status in ("accepted", "approved"),
        },
    )


@permission_required(SERVE)
@require_POST
def request_action(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    user: Any = request.user
    req = services.get_request(user, pk)
    if req is None or action not in services.TRANSITIONS:
        return not_found(request, _("没有这条查档申请"))
    try:
        if action in ("accept", "approve"):
            form = NoteForm(request.POST)
            note = form.cleaned_data["note"] if form.is_valid() else ""
            if action == "accept":
                services.accept_request(req, user, note)
                messages.success(request, _("已受理申请 %s") % req.reference)
            else:
                services.approve_request(req, user, note)
                messages.success(request, _("已审批同意申请 %s") % req.reference)
        elif action == "refuse":
            refuse = RefuseForm(request.POST)
            if not refuse.is_valid():
                raise services.AccessError(_("拒绝申请必须填写理由"), "reason")
            services.refuse_request(req, user, refuse.cleaned_data["reason"])
            messages.success(request, _("已拒绝申请 %s") % req.reference)
        else:
            provide = ProvideForm(request.POST)
            if not provide.is_valid():
                raise services.AccessError(_("请选择提供方式"), "method")
            found, missing = services.resolve_codes(user, provide.cleaned_data["codes"])
            if missing:
                raise services.AccessError(
                    _("以下档号未找到或无权查阅：%s") % "、".join(missing), "codes"
                )
            provision = services.provide_request(
                req,
                user,
                provide.cleaned_data["method"],
                provide.cleaned_data["note"],
                [r.pk for r in found],
            )
            messages.success(
                request,
                _("已提供档案并完成利用登记（登记号 %s）") % provision.number,
            )
    except services.AccessError as e:
        messages.error(request, e.message)
    return redirect("access_staff:request", pk=req.pk)


def _date(value: str) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


@permission_required(SERVE)
def register_list(request: HttpRequest) -> HttpResponse:
    user: Any = request.user
    since, until = _date(request.GET.get("since", "")), _date(request.GET.get("until", ""))
    rows = list(services.provisions_for_staff(user, since, until)[:LIST_LIMIT])
    return render(
        request,
        "access/staff_register.html",
        {
            "rows": rows,
            "since": since.isoformat() if since else "",
            "until": until.isoformat() if until else "",
            "query": request.GET.urlencode(),
        },
    )


@permission_required(SERVE)
def register_csv(request: HttpRequest) -> StreamingHttpResponse:
    user: Any = request.user
    since, until = _date(request.GET.get("since", "")), _date(request.GET.get("until", ""))
    rows = services.provisions_for_staff(user, since, until).iterator(chunk_size=500)
    response = StreamingHttpResponse(
        services.provisions_csv(rows), content_type="text/csv; charset=utf-8"
    )
    stamp = timezone.localdate().strftime("%Y%m%d")
    response["Content-Disposition"] = f'attachment; filename="register-{stamp}.csv"'
    return response


@permission_required(SERVE)
def register_create(request: HttpRequest) -> HttpResponse:
    """利用登记 of a walk-in reader who came without a 查档申请."""
    user: Any = request.user
    form = RegisterForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        found, missing = services.resolve_codes(user, d["codes"])
        if missing:
            form.add_error("codes", _("以下档号未找到或无权查阅：%s") % "、".join(missing))
        else:
            try:
                provision = services.register_provision(
                    user,
                    user_name=d["user_name"],
                    id_type=d["id_type"],
                    id_number=d["id_number"],
                    purpose=d["purpose"],
                    purpose_detail=d["purpose_detail"],
                    records=found,
                    records_text=d["records_text"],
                    method=d["method"],
                    certified_copy=d["certified_copy"],
                    note=d["note"],
                )
            except services.AccessError as e:
                form.add_error(e.field if e.field in form.fields else None, e.message)
            else:
                messages.success(request, _("已登记（登记号 %s）") % provision.number)
                return redirect("access_staff:register")
    return render(request, "access/staff_register_form.html", {"form": form})
