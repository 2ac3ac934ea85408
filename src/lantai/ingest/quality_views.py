"""/transfers/quality/: 进馆档案质量 and 移交预警 in the staff UI. A filing unit (SUBMIT) sees the
reminders and due years of its units, runs self-checks and reads their reports; the receiving
team (RECEIVE) sees the due list of all units, the quality figures overall and per unit, sends
reminders again and records its visits. The work is done by ``quality`` and ``warning``."""

from __future__ import annotations

import functools
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from lantai.catalog.models import Fonds
from lantai.core.roles import RECEIVE, SUBMIT
from lantai.ingest import quality, uploads, warning, warning_tasks
from lantai.ingest.quality_models import QualityVisit, UnitTransferProfile
from lantai.ingest.services import IngestError, unit_name
from lantai.standards import transfer_quality as rule
from lantai.web.labels import english
from lantai.web.views.common import View, forbidden, not_found, permission_required
from lantai.web.views.transfers import PackageForm, _package_path

STATUS_LABELS = {
    "pass": _("通过"),
    "fail": _("不通过"),
    "warn": _("警告"),
    "na": _("不适用"),
    "": _("检测中"),
}
DUE_LABELS = {
    "overdue": _("逾期未移交"),
    "due": _("到期待移交"),
    "unknown": _("起始年度未知"),
    "clear": _("无到期"),
}


def quality_access(view: View) -> View:
    """Sign-in required; filing units (their own units) and receiving staff enter."""

    @functools.wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        user: Any = request.user
        if not (user.has_perm_code(SUBMIT) or user.has_perm_code(RECEIVE)):
            return forbidden(request, gettext("您的角色没有“移交接收”权限。"))
        return view(request, *args, **kwargs)

    return login_required(wrapped)


def _receiver(request: HttpRequest) -> bool:
    return bool(request.user.has_perm_code(RECEIVE))  # type: ignore[union-attr]


def _unit_label(f: Fonds) -> str:
    return f"{unit_name(f)}（{f.repository.name} · {gettext('全宗')} {f.code}）"


# --- forms ---------------------------------------------------------------------------------------
class SelfCheckForm(PackageForm):
    unit = forms.TypedChoiceField(
        label=_("立档单位"),
        coerce=int,
        error_messages={
            "required": _("请选择立档单位。"),
            "invalid_choice": _("所选立档单位不在您的权限范围内。"),
        },
    )
    field_order = ["unit", "package"]

    def __init__(self, *args: Any, units: list[Fonds], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.units = {f.pk: f for f in units}
        self.fields["package"].label = _("自检的移交包")
        choice = self.fields["unit"]
        assert isinstance(choice, forms.ChoiceField)
        choice.choices = [("", "—")] + [(f.pk, _unit_label(f)) for f in units]
        if len(units) == 1:
            self.fields["unit"].initial = units[0].pk


class VisitForm(forms.Form):
    visited_on = forms.DateField(
        label=_("指导日期"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )
    visitors = forms.CharField(label=_("指导人员"), max_length=200)
    advice = forms.CharField(label=_("指导意见"), widget=forms.Textarea(attrs={"rows": 3}))
    follow_up = forms.CharField(
        label=_("整改跟进"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )


class ProfileForm(forms.Form):
    first_year = forms.IntegerField(label=_("形成档案起始年度"), required=False)
    last_year = forms.IntegerField(
        label=_("形成档案终止年度"),
        required=False,
        help_text=_("单位撤销的，填最后形成档案的年度。"),
    )
    exempt_years = forms.CharField(
        label=_("不予提醒的年度"),
        required=False,
        help_text=_("经同意延期移交或未形成档案的年度，如 2001-2003、2005。"),
    )
    note = forms.CharField(
        label=_("说明"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )


# --- pages ---------------------------------------------------------------------------------------
@quality_access
def home(request: HttpRequest) -> HttpResponse:
    """The receiving team's quality dashboard, or a filing unit's own page."""
    user: Any = request.user
    if _receiver(request):
        return _dashboard(request)
    units = warning.compute(warning.units_for(user))
    return render(
        request,
        "ingest/quality_unit_home.html",
        {
            "units": units,
            "due_units": [u for u in units if u.due],
            "reminders": warning.reminders_for(user),
            "self_checks": list(quality.visible_self_checks(user)[:30]),
            "form": SelfCheckForm(units=list(quality.self_check_units(user))),
            "status_labels": STATUS_LABELS,
        },
    )


def _dashboard(request: HttpRequest) -> HttpResponse:
    user: Any = request.user
    units = list(warning.units_for(user))
    runs = quality.runs(None if quality.scope_fonds(user) is None else [f.pk for f in units])
    eng = english()
    fig = quality.figures(runs, eng)
    per_unit = quality.per_unit(runs, eng)
    due = warning.compute(units)

    def failed_runs(u: warning.UnitDue) -> int:
        q = per_unit.get(u.fonds.pk)
        return q.runs - q.passed if q else 0

    # the units that fail most first (where to help), then the due list's order (overdue first)
    rows = [
        {"due": u, "q": per_unit.get(u.fonds.pk)}
        for u in sorted(due, key=failed_runs, reverse=True)
    ]
    return render(
        request,
        "ingest/quality_dashboard.html",
        {
            "fig": fig,
            "rows": rows,
            "due_counts": warning.counts(due),
            "due_units": [u for u in due if u.status in ("overdue", "due")][:10],
            "visits": quality.visits(limit=10, user=user),
            "due_labels": DUE_LABELS,
        },
    )


@quality_access
def self_check_new(request: HttpRequest) -> HttpResponse:
    user: Any = request.user
    units = list(quality.self_check_units(user))
    form = SelfCheckForm(request.POST or None, request.FILES or None, units=units)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            path = _package_path(request, data)
        except uploads.UploadError as e:
            form.add_error(None, e.message_zh)
        else:
            name = data["package"].name if data.get("package") else path.name
            try:
                sc = quality.start(name, form.units[data["unit"]], user)
            except IngestError as e:
                path.unlink(missing_ok=True)
                form.add_error(None, e.message_zh)
            else:
                warning_tasks.run_self_check(sc.pk, str(path), user.username)
                messages.success(request, gettext("移交包已收到，正在自检（不登记移交）。"))
                return redirect("transfer_quality:self_check", pk=sc.pk)
    return render(request, "ingest/quality_self_check_form.html", {"form": form})


@quality_access
def self_check_detail(request: HttpRequest, pk: int) -> HttpResponse:
    sc = quality.visible_self_check(request.user, pk)  # type: ignore[arg-type]
    if sc is None:
        return not_found(request, gettext("自检记录不存在，或您无权查阅。"))
    return render(
        request,
        "ingest/quality_self_check.html",
        {
            "sc": sc,
            "items": quality.report(sc, english()) if sc.result else [],
            "status_labels": STATUS_LABELS,
            "unit": unit_name(sc.fonds),
        },
    )


@quality_access
def due_list(request: HttpRequest) -> HttpResponse:
    user: Any = request.user
    include_clear = request.GET.get("all") == "1"
    units = warning.due_list(user, include_clear=include_clear)
    return render(
        request,
        "ingest/quality_due.html",
        {
            "units": units,
            "counts": warning.counts(units),
            "include_clear": include_clear,
            "today": timezone.localdate(),
            "due_labels": DUE_LABELS,
            "receiver": _receiver(request),
        },
    )


def _fonds_or_404(request: HttpRequest, pk: int) -> Fonds | None:
    return warning.units_for(request.user).filter(pk=pk).first()  # type: ignore[arg-type]


@permission_required(RECEIVE)
def unit_detail(request: HttpRequest, pk: int) -> HttpResponse:
    fonds = _fonds_or_404(request, pk)
    if fonds is None:
        return not_found(request, gettext("立档单位不存在。"))
    runs = quality.runs([fonds.pk])
    eng = english()
    due = warning.unit_due(fonds)
    saved = UnitTransferProfile.objects.filter(fonds=fonds).first()
    initial = (
        {
            "first_year": saved.first_year,
            "last_year": saved.last_year,
            "exempt_years": rule.year_ranges(saved.exempt_years),
            "note": saved.note,
        }  # fmt: skip
        if saved
        else {}
    )
    return render(
        request,
        "ingest/quality_unit.html",
        {
            "fonds": fonds,
            "unit": unit_name(fonds),
            "due": due,
            "fig": quality.figures(runs, eng),
            "self_checks": list(quality.visible_self_checks(None).filter(fonds=fonds)[:30]),
            "visits": quality.visits(fonds),
            "reminders": warning.reminder_history(fonds),
            "visit_form": VisitForm(initial={"visited_on": timezone.localdate()}),
            "profile_form": ProfileForm(initial=initial),
            "status_labels": STATUS_LABELS,
            "due_labels": DUE_LABELS,
        },
    )


@require_POST
@permission_required(RECEIVE)
def remind(request: HttpRequest, pk: int) -> HttpResponse:
    fonds = _fonds_or_404(request, pk)
    if fonds is None:
        return not_found(request, gettext("立档单位不存在。"))
    try:
        warning.remind(warning.unit_due(fonds), user=request.user, kind="manual")  # type: ignore[arg-type]
    except IngestError as e:
        messages.error(request, e.message_zh)
    else:
        messages.success(request, gettext("已再次提醒该立档单位。"))
    if request.POST.get("back") == "due":
        return redirect("transfer_quality:due")
    return redirect("transfer_quality:unit", pk=fonds.pk)


@require_POST
@permission_required(RECEIVE)
def visit_add(request: HttpRequest, pk: int) -> HttpResponse:
    fonds = _fonds_or_404(request, pk)
    if fonds is None:
        return not_found(request, gettext("立档单位不存在。"))
    form = VisitForm(request.POST)
    if form.is_valid():
        d = form.cleaned_data
        try:
            quality.add_visit(
                fonds, visited_on=d["visited_on"], visitors=d["visitors"], advice=d["advice"],
                follow_up=d["follow_up"], user=request.user,  # type: ignore[arg-type]
            )  # fmt: skip
        except IngestError as e:
            messages.error(request, e.message_zh)
        else:
            messages.success(request, gettext("已登记指导记录。"))
    else:
        for field, errors in form.errors.items():
            label = form.fields[field].label if field in form.fields else ""
            messages.error(request, f"{label}：{'；'.join(str(e) for e in errors)}")
    return redirect("transfer_quality:unit", pk=fonds.pk)


@require_POST
@permission_required(RECEIVE)
def visit_follow_up(request: HttpRequest, pk: int) -> HttpResponse:
    visit = QualityVisit.objects.filter(pk=pk).first()
    if visit is None or not _fonds_or_404(request, visit.fonds_id):
        return not_found(request, gettext("指导记录不存在。"))
    quality.update_follow_up(
        visit, follow_up=request.POST.get("follow_up", ""),
        done=request.POST.get("done") == "1", user=request.user,  # type: ignore[arg-type]
    )  # fmt: skip
    messages.success(request, gettext("已更新整改跟进。"))
    return redirect("transfer_quality:unit", pk=visit.fonds_id)


@require_POST
@permission_required(RECEIVE)
def profile(request: HttpRequest, pk: int) -> HttpResponse:
    fonds = _fonds_or_404(request, pk)
    if fonds is None:
        return not_found(request, gettext("立档单位不存在。"))
    form = ProfileForm(request.POST)
    if form.is_valid():
        d = form.cleaned_data
        try:
            warning.set_profile(
                fonds, first_year=d["first_year"], last_year=d["last_year"],
                exempt_years=warning.parse_years(d["exempt_years"]), note=d["note"],
                user=request.user,  # type: ignore[arg-type]
            )  # fmt: skip
        except IngestError as e:
            messages.error(request, e.message_zh)
        else:
            messages.success(request, gettext("已保存立档单位的移交年度设置。"))
    else:
        messages.error(request, gettext("年度须为整数。"))
    return redirect("transfer_quality:unit", pk=fonds.pk)


@permission_required(RECEIVE)
def visit_list(request: HttpRequest) -> HttpResponse:
    user: Any = request.user
    return render(
        request, "ingest/quality_visits.html", {"visits": quality.visits(limit=500, user=user)}
    )
