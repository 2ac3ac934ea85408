"""Staff pages of the appraisal room: tasks (candidates, proposals, decisions, the 鉴定工作报告) and
disposals (the 销毁清册, the 监销人's approval, execution and the 销毁报告). Views only call
`services`; a refused action comes back as a message on the page it was sent from, a missing
permission as a 403 page (audited)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date
from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from lantai.appraisal import disposals, services
from lantai.appraisal.models import AppraisalTask, Disposal, english
from lantai.catalog.services import CatalogError, PermissionDenied
from lantai.core.roles import APPRAISE, PRESERVE
from lantai.standards import appraisal as std
from lantai.standards import vocabularies as vocab
from lantai.web import report_pdf
from lantai.web.views.common import forbidden, permission_required, whole_number


def _user(request: HttpRequest) -> Any:
    return request.user


def _task(request: HttpRequest, pk: int) -> AppraisalTask:
    task = services.visible_tasks(_user(request)).filter(pk=pk).first()
    if task is None:
        raise Http404(_("没有这个鉴定任务。"))
    return task


def _disposal(request: HttpRequest, pk: int) -> Disposal:
    disposal = disposals.visible_disposals(_user(request)).filter(pk=pk).first()
    if disposal is None:
        raise Http404(_("没有这份销毁清册。"))
    return disposal


def _refused(
    request: HttpRequest, error: CatalogError, to: str, pk: int | None = None
) -> HttpResponse:
    if isinstance(error, PermissionDenied):
        return forbidden(request, error.message_zh)
    messages.error(request, error.message_zh)
    return redirect(to, pk=pk) if pk is not None else redirect(to)


def _post_action(
    request: HttpRequest, do: Callable[[], object], done: str, to: str, pk: int
) -> HttpResponse:
    """Run a form's service call `do`: on success show the message `done`, on refusal `_refused`;
    either way back to `to` with `pk`."""
    try:
        do()
    except CatalogError as e:
        return _refused(request, e, to, pk)
    messages.success(request, done)
    return redirect(to, pk=pk)


def _codes(text: str) -> list[str]:
    return [
        line.strip()
        for line in text.replace(",", "\n").replace("，", "\n").splitlines()
        if line.strip()
    ]


def _ids(request: HttpRequest, name: str) -> list[int]:
    return [n for n in (whole_number(v) for v in request.POST.getlist(name)) if n]


def _pdf(html: str, name: str) -> HttpResponse:
    response = HttpResponse(report_pdf.render(html), content_type="application/pdf")
    response["Content-Disposition"] = content_disposition_header(False, name) or "inline"
    return response


def _labelled(terms: Iterable[Any]) -> list[dict[str, str]]:
    """code and label of data-file terms, the label in the page's language."""
    en = english()
    return [{"code": t.code, "label": t.label_en if en else t.label_zh} for t in terms]


def _choices() -> dict[str, Any]:
    return {
        "kinds": _labelled(std.kinds().values()),
        "outcomes": {o["code"]: o for o in _labelled(std.outcomes().values())},
        "periods": _labelled(std.periods().values()),
        "classifications": _labelled(vocab.get_vocabulary("classification").terms),
    }


# --- tasks ---------------------------------------------------------------------------------------
@permission_required(APPRAISE)
def task_list(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    values: dict[str, str] = {
        "kind": "expiry",
        "select": "due",
        "on": timezone.localdate().isoformat(),
    }
    if request.method == "POST":
        values = {
            k: request.POST.get(k, "") for k in ("kind", "name", "basis", "select", "on", "codes")
        }
        try:
            on = date.fromisoformat(values["on"]) if values["on"] else None
        except ValueError:
            messages.error(request, _("截至日期应写作 YYYY-MM-DD"))
            on = None
        else:
            try:
                task = services.create_task(
                    user, kind=values["kind"], name=values["name"], basis=values["basis"],
                    select=values["select"], on=on, codes=_codes(values["codes"]),
                )  # fmt: skip
            except CatalogError as e:
                if isinstance(e, PermissionDenied):
                    return forbidden(request, e.message_zh)
                messages.error(request, e.message_zh)
            else:
                messages.success(
                    request, _("已建立鉴定任务，候选档案 %(n)d 条。") % {"n": task.items.count()}
                )
                return redirect("appraisal:task", pk=task.pk)
    today = timezone.localdate()
    context = {
        "tasks": services.visible_tasks(user)[:200],
        "values": values,
        "due_count": services.due_records(today, user).count(),
        "today": today,
        **_choices(),
    }
    return render(request, "appraisal/task_list.html", context)


@permission_required(APPRAISE)
def task_detail(request: HttpRequest, pk: int) -> HttpResponse:
    task = _task(request, pk)
    user = _user(request)
    rows = services.task_rows(task)
    hidden = {r.item.pk for r in rows if services.hidden_from(user, r.item.classification)}
    decidable = [
        (row, p) for row in rows if row.decision is None and row.item.pk not in hidden
        for p in row.proposals if p.status == "open"
    ]  # fmt: skip
    allowed = std.kind(task.kind).outcomes
    context = {
        "task": task,
        "rows": rows,
        "hidden": hidden,
        "decidable": decidable,
        "undecided": sum(1 for r in rows if r.decision is None),
        "task_outcomes": _labelled(std.outcome(c) for c in allowed),
        "user_pk": user.pk,
        **_choices(),
    }
    return render(request, "appraisal/task_detail.html", context)


@require_POST
@permission_required(APPRAISE)
def propose(request: HttpRequest, pk: int) -> HttpResponse:
    task = _task(request, pk)
    post = request.POST
    try:
        ids = _ids(request, "items")
        codes = _codes(post.get("codes", ""))
        if codes:
            ids += services.items_by_codes(task, codes)
        made = services.propose(
            _user(request), task, ids, outcome=post.get("outcome", ""), reason=post.get("reason", ""),
            new_retention=post.get("new_retention", ""),
            new_classification=post.get("new_classification", ""),
            new_secrecy_period=post.get("new_secrecy_period", ""),
        )  # fmt: skip
    except CatalogError as e:
        return _refused(request, e, "appraisal:task", task.pk)
    messages.success(request, _("已就 %(n)d 条档案提出鉴定意见。") % {"n": len(made)})
    return redirect("appraisal:task", pk=task.pk)


@require_POST
@permission_required(APPRAISE)
def decide(request: HttpRequest, pk: int) -> HttpResponse:
    task = _task(request, pk)
    adopt = request.POST.get("decision") != "reject"
    try:
        made = services.decide(
            _user(request), task, _ids(request, "proposals"), reason=request.POST.get("reason", ""),
            adopt=adopt,
        )  # fmt: skip
    except CatalogError as e:
        return _refused(request, e, "appraisal:task", task.pk)
    if adopt:
        messages.success(request, _("已作出 %(n)d 项鉴定决定。") % {"n": len(made)})
    else:
        messages.success(request, _("所选意见未被采纳。"))
    return redirect("appraisal:task", pk=task.pk)


@require_POST
@permission_required(APPRAISE)
def close(request: HttpRequest, pk: int) -> HttpResponse:
    task = _task(request, pk)
    try:
        services.close_task(_user(request), task, conclusion=request.POST.get("conclusion", ""))
    except CatalogError as e:
        return _refused(request, e, "appraisal:task", task.pk)
    messages.success(request, _("鉴定任务已完成，鉴定工作报告已形成。"))
    return redirect("appraisal:report", pk=task.pk)


def _report(request: HttpRequest, task: AppraisalTask) -> dict[str, Any]:
    data = dict(services.report_data(task))
    data["rows"] = disposals.shown_rows(_user(request), data["rows"])
    return data


@permission_required(APPRAISE)
def report(request: HttpRequest, pk: int) -> HttpResponse:
    task = _task(request, pk)
    return render(
        request, "appraisal/report.html", {"task": task, "report": _report(request, task)}
    )


@permission_required(APPRAISE)
def report_pdf_view(request: HttpRequest, pk: int) -> HttpResponse:
    task = _task(request, pk)
    html = render_to_string(
        "appraisal/report_pdf.html", {"task": task, "report": _report(request, task)}, request
    )
    return _pdf(html, f"{_('鉴定工作报告')}-{task.pk}.pdf")


# --- disposals -----------------------------------------------------------------------------------
@permission_required(APPRAISE)
def disposal_list(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    values = {"reason": "", "codes": ""}
    if request.method == "POST":
        values = {k: request.POST.get(k, "") for k in ("reason", "codes")}
        codes = request.POST.getlist("record_codes") + _codes(values["codes"])
        try:
            disposal = disposals.prepare_disposal(user, codes, reason=values["reason"])
        except CatalogError as e:
            if isinstance(e, PermissionDenied):
                return forbidden(request, e.message_zh)
            messages.error(request, e.message_zh)
        else:
            messages.success(
                request,
                _("已编制销毁清册 %(n)s，请另一名鉴定小组成员作为监销人审批。")
                % {"n": disposal.number},
            )
            return redirect("appraisal:disposal", pk=disposal.pk)
    context = {
        "disposals": disposals.visible_disposals(user)[:200],
        "candidates": disposals.destroy_decisions(user)[:2000],
        "values": values,
    }
    return render(request, "appraisal/disposal_list.html", context)


@permission_required(APPRAISE)
def disposal_detail(request: HttpRequest, pk: int) -> HttpResponse:
    disposal = disposals.sync_disposal(_disposal(request, pk))
    user = _user(request)
    items = list(
        disposal.items.select_related("deletion_request", "deletion_request__package").order_by(
            "number"
        )
    )
    context = {
        **disposals.report_context(disposal, user),
        "list_items": items,
        "hidden": {i.pk for i in items if services.hidden_from(user, i.classification)},
        "own": disposal.prepared_by_id == user.pk,
        "can_preserve": user.has_perm_code(PRESERVE),
        "today": timezone.localdate(),
        "waiting": [i for i in items if i.state == "deaccession_requested"],
        "rejected": [i for i in items if i.state == "deaccession_rejected"],
    }
    return render(request, "appraisal/disposal_detail.html", context)


@require_POST
@permission_required(APPRAISE)
def disposal_approve(request: HttpRequest, pk: int) -> HttpResponse:
    disposal = _disposal(request, pk)
    return _post_action(
        request,
        lambda: disposals.approve_disposal(_user(request), disposal, note=request.POST.get("note", "")),
        _("监销人已批准，销毁清册已冻结。"), "appraisal:disposal", disposal.pk,
    )  # fmt: skip


@require_POST
@permission_required(APPRAISE)
def disposal_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    disposal = _disposal(request, pk)
    return _post_action(
        request,
        lambda: disposals.cancel_disposal(_user(request), disposal, note=request.POST.get("note", "")),
        _("销毁清册已撤销。"), "appraisal:disposal", disposal.pk,
    )  # fmt: skip


@require_POST
@permission_required(APPRAISE)
def disposal_execute(request: HttpRequest, pk: int) -> HttpResponse:
    disposal = _disposal(request, pk)
    post = request.POST
    try:
        on = date.fromisoformat(post.get("executed_on", ""))
    except ValueError:
        messages.error(request, _("销毁日期应写作 YYYY-MM-DD"))
        return redirect("appraisal:disposal", pk=disposal.pk)
    try:
        done = disposals.execute_disposal(
            _user(request), disposal, executed_on=on, method=post.get("method", ""),
            place=post.get("place", ""), executors=post.get("executors", ""),
        )  # fmt: skip
    except CatalogError as e:
        return _refused(request, e, "appraisal:disposal", disposal.pk)
    if done.status == "completed":
        messages.success(request, _("销毁已执行完毕。"))
    else:
        messages.info(
            request,
            _(
                "纸质档案已销毁；已进入长期保存的档案已提出注销申请，须另一名保管员审批后销毁才完成。"
            ),
        )
    return redirect("appraisal:disposal", pk=disposal.pk)


@require_POST
@permission_required(APPRAISE)
def disposal_request_again(request: HttpRequest, pk: int) -> HttpResponse:
    disposal = _disposal(request, pk)
    try:
        disposals.request_again(_user(request), disposal)
    except CatalogError as e:
        return _refused(request, e, "appraisal:disposal", disposal.pk)
    messages.info(request, _("已再次提出注销申请。"))
    return redirect("appraisal:disposal", pk=disposal.pk)


@permission_required(APPRAISE)
def disposal_list_pdf(request: HttpRequest, pk: int) -> HttpResponse:
    disposal = _disposal(request, pk)
    html = render_to_string(
        "appraisal/disposal_list_pdf.html",
        disposals.report_context(disposal, _user(request)),
        request,
    )
    return _pdf(html, f"{_('销毁清册')}-{disposal.number}.pdf")


@permission_required(APPRAISE)
def disposal_report_pdf(request: HttpRequest, pk: int) -> HttpResponse:
    disposal = disposals.sync_disposal(_disposal(request, pk))
    if disposal.status not in ("executing", "completed"):
        messages.error(request, _("销毁执行后才有销毁报告。"))
        return redirect("appraisal:disposal", pk=disposal.pk)
    html = render_to_string(
        "appraisal/disposal_report_pdf.html",
        disposals.report_context(disposal, _user(request)),
        request,
    )
    return _pdf(html, f"{_('销毁报告')}-{disposal.number}.pdf")
