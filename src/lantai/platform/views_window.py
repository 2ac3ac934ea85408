"""全区查档 and 跨馆请求, the staff pages of requests across archives (marriage.query).

The window starts from the requester the marriage counter captured (views_counter, kept sealed
in the session): a region-wide find on the hub's index (window.find; the ID number goes there
only as its regional hash), then a request to the holding archives (remote.send). The request
pages list what this archives sent (受理) and received (协办) with the provincial deadlines
(sla.py), and carry the steps each side takes: the receiving archives downloads the certificate
and marks the requester informed; the holding archives answers a queued (paper-only) request
after scanning, or refuses it with a reason. The services audit; these views only shape input
and turn every refusal into a message on the page."""

from __future__ import annotations

import re
from typing import Any

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from lantai.core.key_files import KeyFileError
from lantai.core.roles import MARRIAGE
from lantai.marriage import finding, labels, rules
from lantai.marriage import views_counter as counter
from lantai.web.views.common import not_found, permission_required

from . import peers, remote, sla, transport, window
from .models import Outbox, RemoteRequest

FOUND_KEY = "platform_window_found"  # locators the last region-wide finds showed (a request
# may only name one of them: every request starts from a logged search)
FOUND_KEPT = 500
LIST_ROWS = 200
ROLES = ("sent", "received")
CHANNELS = {
    "counter": gettext_lazy("窗口"),
    "online": gettext_lazy("网上申请"),
    "cli": gettext_lazy("命令行"),
}


def _actor(request: HttpRequest) -> str:
    user: Any = request.user
    return str(user.get_username())


class WindowFindForm(forms.Form):
    """An ID number, or names (1–2) with a year ± years. The hub has no certificate numbers."""

    MODES = [("id", gettext_lazy("证件号码")), ("names", gettext_lazy("姓名和年份"))]
    mode = forms.ChoiceField(label=gettext_lazy("查找方式"), choices=MODES,
                             widget=forms.RadioSelect, initial="id")  # fmt: skip
    id_number = forms.CharField(
        label=gettext_lazy("当事人证件号码"), max_length=40, required=False,
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )  # fmt: skip
    name1 = forms.CharField(label=gettext_lazy("当事人姓名"), max_length=30, required=False)
    name2 = forms.CharField(label=gettext_lazy("另一方姓名"), max_length=30, required=False)
    year = forms.IntegerField(label=gettext_lazy("登记年份（约）"), min_value=1900,
                              max_value=2100, required=False)  # fmt: skip
    years = forms.IntegerField(label=gettext_lazy("年份误差（±年）"), min_value=0,
                               max_value=finding.MAX_YEARS, initial=2, required=False)  # fmt: skip

    def criteria(self) -> finding.Criteria:
        d = self.cleaned_data
        if d["mode"] == "id":
            return finding.Criteria(id_number=(d.get("id_number") or "").strip())
        names = tuple(n.strip() for n in (d.get("name1") or "", d.get("name2") or "") if n.strip())
        years = d.get("years")
        return finding.Criteria(names=names, year=d.get("year"),
                                years=2 if years is None else years)  # fmt: skip

    def without_id(self) -> WindowFindForm:
        """A fresh form with what was asked, less the ID number (never written back to a page)."""
        data = getattr(self, "cleaned_data", None) or {}
        return WindowFindForm(initial={k: v for k, v in data.items() if k != "id_number"})


FIELD_OF_ERROR = {"id_number": "id_number", "id": "id_number", "names": "name1", "name": "name1",
                  "year": "year", "years": "years"}  # fmt: skip


def _requester(request: HttpRequest) -> dict[str, Any] | None:
    state = request.session.get(counter.SESSION_KEY)
    return state if isinstance(state, dict) else None


def _page(request: HttpRequest, state: dict[str, Any] | None, **context: Any) -> HttpResponse:
    if state is not None:
        _version, ruleset = rules.current()
        context["requester"] = counter._summary(state, ruleset)
        context.setdefault("form", WindowFindForm())
    return render(request, "platform/window.html", context)


@permission_required(MARRIAGE)
def find_page(request: HttpRequest) -> HttpResponse:
    state = _requester(request)
    if request.method != "POST":
        return _page(request, state)
    if state is None:
        messages.error(request, _("请先在查档窗口登记查询人，再做全区查档"))
        return _page(request, None)
    form = WindowFindForm(request.POST)
    if not form.is_valid():
        return _page(request, state, form=form)
    if peers.membership() is None:  # the hub is found through the membership
        return _page(request, state, form=form.without_id(), error=str(peers.NotJoined()))
    try:
        out = window.find(form.criteria(), counter.requester_of(state), actor=_actor(request),
                          user=request.user)  # fmt: skip
    except finding.FindError as e:
        data = request.POST.copy()
        data["id_number"] = ""  # the number is not written back into the page
        shown = WindowFindForm(data)
        shown.is_valid()
        shown.add_error(FIELD_OF_ERROR.get(e.field), e.message_zh)
        return _page(request, state, form=shown)
    except (peers.NotJoined, KeyFileError) as e:
        return _page(request, state, form=form.without_id(), error=str(e))
    except transport.Unreachable as e:
        return _page(request, state, form=form.without_id(),
                     error=_("无法连接平台中心：%(e)s。本馆的查档窗口不受影响，可稍后再试全区查档。") % {"e": e})  # fmt: skip
    except transport.Refused as e:
        return _page(request, state, form=form.without_id(),
                     error=_("平台中心拒绝了查询：%(m)s") % {"m": e.message_zh})  # fmt: skip
    results = out["results"]
    for r in results:
        r["kind_label"] = labels.kind_label(str(r.get("kind", "")))
        r["names"] = "、".join(str(p.get("name", "")) for p in r.get("parties") or [])
    found = [str(r.get("locator")) for r in results if r.get("locator")]
    kept = request.session.get(FOUND_KEY, [])
    request.session[FOUND_KEY] = (kept + [x for x in found if x not in kept])[-FOUND_KEPT:]
    return _page(request, state, form=form.without_id(), outcome=out, searched=True)


@permission_required(MARRIAGE)
@require_POST
def send_request(request: HttpRequest) -> HttpResponse:
    state = _requester(request)
    if state is None:
        messages.error(request, _("请先在查档窗口登记查询人，再向协办馆申请出证"))
        return redirect("platform_staff:window")
    locator = request.POST.get("locator", "").strip()
    if locator not in request.session.get(FOUND_KEY, []):
        messages.error(request, _("档案 %(l)s 不在本次全区查档的结果中：请先查到该档案，再申请出证") % {"l": locator or "—"})  # fmt: skip
        return redirect("platform_staff:window")
    try:
        row = remote.send(locator, counter.requester_of(state), actor=_actor(request),
                          user=request.user, channel=str(state.get("channel") or "counter"))  # fmt: skip
    except (remote.RequestError, finding.FindError) as e:
        messages.error(request, _("未能发出请求：%(m)s") % {"m": e.message_zh})
        return redirect("platform_staff:window")
    except (peers.NotJoined, KeyFileError) as e:
        messages.error(request, str(e))
        return redirect("platform_staff:window")
    except transport.Refused as e:
        messages.error(request, _("协办馆拒收了请求：%(m)s") % {"m": e.message_zh})
        return redirect("platform_staff:window")
    except transport.Unreachable:
        messages.warning(request, _("协办馆暂时无法连接：请求已排队，恢复后自动送达"))
        return redirect("platform_staff:requests")
    _say_status(request, row)
    return redirect("platform_staff:request", pk=row.pk)


def _say_status(request: HttpRequest, row: RemoteRequest) -> None:
    if row.status == "answered":
        messages.success(request, _("协办馆 %(n)s 已出证 %(c)s：下载证明打印后交查档人") % {"n": row.holding_node, "c": row.certificate_number})  # fmt: skip
    elif row.status == "queued":
        messages.info(request, _("协办馆已受理，待其工作人员调卷扫描后答复（应于 %(d)s 前答复）") % {"d": row.answer_due})  # fmt: skip
    elif row.status == "refused":
        messages.warning(request, _("协办馆不予出证：%(r)s") % {"r": row.reason or "—"})
    else:
        messages.warning(request, _("协办馆 %(n)s 暂时无法连接：请求已排队，恢复后自动送达") % {"n": row.holding_node})  # fmt: skip


# ------------------------------------------------------------------------ requests and the SLA


def _row(r: RemoteRequest, type_labels: dict[str, str]) -> dict[str, Any]:
    return {"obj": r, "overdue": sla.overdue(r), "type_label": type_labels.get(r.requester_type, r.requester_type)}  # fmt: skip


def _type_labels() -> dict[str, str]:
    _version, ruleset = rules.current()
    return {code: labels.label(t) for code, t in ruleset.requester_types.items()}


@permission_required(MARRIAGE)
def request_list(request: HttpRequest) -> HttpResponse:
    role = request.GET.get("role", "sent")
    role = role if role in ROLES else "sent"
    only_open = request.GET.get("open") == "1"
    rows = RemoteRequest.objects.filter(role=role).defer("certificate_pdf", "sealed", "extract")
    if only_open:
        rows = rows.exclude(status__in=["informed"] if role == "sent" else ["answered", "refused", "informed"])  # fmt: skip
    total = rows.count()
    names = _type_labels()
    board = sla.dashboard()
    return render(request, "platform/requests.html", {
        "role": role, "only_open": only_open, "rows": [_row(r, names) for r in rows[:LIST_ROWS]],
        "total": total, "shown": min(total, LIST_ROWS), "board": board,
        "note": board["note"], "answer_days": sla.ANSWER_DAYS,
        "inform_days": sla.INFORM_DAYS,
    })  # fmt: skip


def _get(pk: int) -> RemoteRequest | None:
    return RemoteRequest.objects.filter(pk=pk).first()


@permission_required(MARRIAGE)
def request_detail(request: HttpRequest, pk: int) -> HttpResponse:
    row = _get(pk)
    if row is None:
        return not_found(request, _("没有这一跨馆请求。"))
    return render(request, "platform/request.html", {
        "row": row, "item": _row(row, _type_labels()), "note": sla.calendar_note(),
        "channel_label": CHANNELS.get(row.channel, row.channel),
        "has_pdf": bool(row.certificate_pdf), "waiting": _answer_waiting(row),
        "can_inform": row.role == "sent" and row.status in ("answered", "refused"),
        "can_answer": row.role == "received" and row.status == "queued",
    })  # fmt: skip


_UNSAFE_NAME = re.compile(r"[^\w.-]+")


@permission_required(MARRIAGE)
def request_pdf(request: HttpRequest, pk: int) -> HttpResponse:
    row = _get(pk)
    if row is None or row.role != "sent" or not row.certificate_pdf:
        return not_found(request, _("这一请求没有可下载的证明。"))
    name = _UNSAFE_NAME.sub("-", row.certificate_number).strip("-.") or f"certificate-{row.pk}"
    response = HttpResponse(bytes(row.certificate_pdf), content_type="application/pdf")
    response["Content-Disposition"] = (
        content_disposition_header(True, f"{name}.pdf") or "attachment"
    )
    return response


@permission_required(MARRIAGE)
@require_POST
def request_informed(request: HttpRequest, pk: int) -> HttpResponse:
    row = _get(pk)
    if row is None:
        return not_found(request, _("没有这一跨馆请求。"))
    try:
        remote.mark_informed(row, actor=_actor(request))
    except remote.RequestError as e:
        messages.error(request, e.message_zh)
    else:
        messages.success(request, _("已登记：已告知查档人"))
    return redirect("platform_staff:request", pk=row.pk)


def _answer_waiting(row: RemoteRequest) -> bool:
    """Whether this archives' answer to a received request still waits in the outbox."""
    if row.role != "received":
        return False
    return (
        Outbox.objects.filter(peer=row.receiving_node, kind="answer", envelope__contains=row.message_id)
        .exclude(status="delivered")
        .exists()
    )  # fmt: skip


@permission_required(MARRIAGE)
@require_POST
def request_answer(request: HttpRequest, pk: int) -> HttpResponse:
    row = _get(pk)
    if row is None:
        return not_found(request, _("没有这一跨馆请求。"))
    action = request.POST.get("action", "")
    reason = request.POST.get("reason", "").strip()
    if action not in ("answer", "refuse"):
        messages.error(request, _("请选择“已扫描，答复”或“不予出证”"))
        return redirect("platform_staff:request", pk=row.pk)
    if action == "refuse" and not reason:
        messages.error(request, _("不予出证须写明理由（理由将告知受理馆和查档人）"))
        return redirect("platform_staff:request", pk=row.pk)
    if len(reason) > 500:
        messages.error(request, _("不予出证的理由最多 500 字"))
        return redirect("platform_staff:request", pk=row.pk)
    try:
        answer = remote.answer_queued(row, actor=_actor(request), user=request.user,
                                      refuse_reason=reason if action == "refuse" else "")  # fmt: skip
    except remote.RequestError as e:
        messages.error(request, e.message_zh)
        return redirect("platform_staff:request", pk=row.pk)
    except transport.Unreachable:
        messages.warning(request, _("答复已保存；受理馆 %(n)s 暂时无法连接，答复在发件箱中等待，恢复后自动送达") % {"n": row.receiving_node})  # fmt: skip
        return redirect("platform_staff:request", pk=row.pk)
    except transport.Refused as e:
        messages.error(request, _("受理馆拒收了答复：%(m)s") % {"m": e.message_zh})
        return redirect("platform_staff:request", pk=row.pk)
    except (KeyFileError, ValueError) as e:  # the sealed numbers cannot be opened here
        messages.error(request, _("无法读取请求中的证件号码：%(e)s") % {"e": e})
        return redirect("platform_staff:request", pk=row.pk)
    status = answer.get("status")
    if status == "answered":
        messages.success(request, _("已出证 %(c)s 并答复受理馆") % {"c": answer.get("certificate_number", "")})  # fmt: skip
    else:
        messages.warning(request, _("已答复受理馆：不予出证（%(r)s）") % {"r": answer.get("reason", "")})  # fmt: skip
    row.refresh_from_db()
    if _answer_waiting(row):
        messages.warning(request, _("受理馆 %(n)s 暂时无法连接：答复在发件箱中等待，恢复后自动送达") % {"n": row.receiving_node})  # fmt: skip
    return redirect("platform_staff:request", pk=row.pk)
