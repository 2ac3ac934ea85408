"""查档窗口 (the counter): the requester first, then the search within what the rights rules let
that requester see, then the certificate. The requester stays in the session between steps;
every search and every certificate is logged by the services (finding.find, certify.*).

Full identity numbers never go into a page here: the requester's is shown masked once captured,
the searched one is kept in the session (for a no-record certificate) and the form comes back
empty, and a prefilled 查档申请's number is used from the session when its field is left blank."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from lantai.access import services as access_services
from lantai.access.models import AccessRequest
from lantai.certificates.issuing import IssueError
from lantai.core.roles import MARRIAGE, SERVE
from lantai.standards import marriage_rights
from lantai.web.views.common import permission_required, whole_number

from . import certify, finding, identity, labels, rules
from .forms import NoneFoundForm, RequesterForm, SearchForm, proof_fields

SESSION_KEY = "marriage_counter"
PREFILL_KEY = "marriage_counter_prefill"
SCOPE_LABELS = {
    "own": gettext_lazy("本人为当事人的记录"),
    "principal": gettext_lazy("委托人为当事人的记录"),
    "any": gettext_lazy("全部记录（核实当事人婚姻关系）"),
    "case_parties": gettext_lazy("法院证明所列案件当事人的记录"),
    "approved": gettext_lazy("全部记录（须经领导审核）"),
}


def _actor(request: HttpRequest) -> str:
    user: Any = request.user
    return str(user.get_username())


def _sealed(value: str) -> str:
    """Identity numbers are kept in the session sealed (SM4, marriage/identity.py), never in clear."""
    return identity.seal(value) if value else ""


def _opened(value: str) -> str:
    return identity.unseal(value) if value else ""


def requester_of(state: dict[str, Any]) -> marriage_rights.Request:
    return marriage_rights.Request(
        requester_type=state["type"], requester_name=state["name"],
        requester_id=_opened(state["id"]), proofs=dict(state["proofs"]),
        principal_id=_opened(state["principal_id"]),
        case_party_ids=tuple(_opened(x) for x in state["case_party_ids"]), purpose=state["purpose"],
        approved_by=state["approved_by"],
    )  # fmt: skip


def _summary(state: dict[str, Any], ruleset: marriage_rights.Rules) -> dict[str, Any]:
    """What the page may show of the requester: the ID numbers masked."""
    return {
        "type_label": labels.labelled(ruleset.requester_types, state["type"]),
        "name": state["name"],
        "id_masked": identity.mask(_opened(state["id"])) if state["id"] else "",
        "principal_masked": identity.mask(_opened(state["principal_id"]))
        if state["principal_id"]
        else "",
        "case_parties": [
            identity.mask(x) if any(c.isdigit() for c in x) else x
            for x in (_opened(y) for y in state["case_party_ids"])
        ],  # fmt: skip
        "proofs": [
            (labels.labelled(ruleset.proof_kinds, c), ref) for c, ref in state["proofs"].items()
        ],  # fmt: skip
        "purpose": state["purpose"],
        "approved_by": state["approved_by"],
        "channel": state["channel"],
        "access_reference": state.get("access_reference", ""),
    }


def _type_table(ruleset: marriage_rights.Rules) -> list[dict[str, Any]]:
    return [
        {
            "code": t.code,
            "label": labels.label(t),
            "proofs": [labels.labelled(ruleset.proof_kinds, p) for p in t.proofs],
            "scope": str(SCOPE_LABELS.get(t.scope, t.scope)),
        }
        for t in ruleset.requester_types.values()
    ]


def _proof_types(ruleset: marriage_rights.Rules) -> dict[str, str]:
    """proof code -> the requester types needing it, space separated (for data-types)."""
    return {
        k.code: " ".join(t.code for t in ruleset.requester_types.values() if k.code in t.proofs)
        for k in proof_fields(ruleset)
    }


def _prefill(request: HttpRequest) -> dict[str, Any] | None:
    """A 查档申请 to serve (?request=pk), kept in the session: its applicant is the requester."""
    user: Any = request.user
    pk = whole_number(request.GET.get("request"))
    if pk is None or not user.has_perm_code(SERVE):
        return None
    from lantai.access import services as access_services

    req = access_services.get_request(user, pk)
    if req is None:
        return None
    prefill = {
        "request": req.pk, "reference": req.reference, "name": req.applicant_name,
        "id_type": req.id_type, "id": _sealed(req.id_number),
        "purpose": (req.get_purpose_display() + (f"：{req.purpose_detail}" if req.purpose_detail else ""))[:500],
    }  # fmt: skip
    request.session[PREFILL_KEY] = prefill
    request.session.pop(SESSION_KEY, None)
    return prefill


def _page(request: HttpRequest, **context: Any) -> HttpResponse:
    version, ruleset = rules.current()
    state = request.session.get(SESSION_KEY)
    prefill = request.session.get(PREFILL_KEY)
    if state is None and "requester_form" not in context:
        initial: dict[str, Any] = {}
        if prefill:
            initial = {"requester_type": "self", "requester_name": prefill["name"],
                       "id_type": prefill["id_type"], "purpose": prefill["purpose"]}  # fmt: skip
        context["requester_form"] = RequesterForm(
            initial=initial, ruleset=ruleset,
            prefilled_id=identity.mask(_opened(prefill["id"])) if prefill else "",
        )  # fmt: skip
    if state is not None:
        context.setdefault("search_form", SearchForm())
        context["requester"] = _summary(state, ruleset)
        if state.get("type") == "self":
            context.setdefault("none_form", NoneFoundForm(initial={"subject_name": state["name"]}))
        else:
            context.setdefault("none_form", NoneFoundForm())
    context.update(
        rules_version=version, rules_label=ruleset.version_label, types=_type_table(ruleset),
        proof_types=_proof_types(ruleset), prefill_reference=prefill["reference"] if prefill else "",
    )  # fmt: skip
    return render(request, "marriage/counter.html", context)


@permission_required(MARRIAGE)
def counter(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        step = request.POST.get("step")
        if step == "requester":
            return _take_requester(request)
        if step == "search":
            return _search(request)
        if step == "reset":
            request.session.pop(SESSION_KEY, None)
            request.session.pop(PREFILL_KEY, None)
            return redirect("marriage:counter")
        return redirect("marriage:counter")
    if "request" in request.GET:
        _prefill(request)
    elif request.GET.get("change") == "1":
        # another requester: the 查档申请 being served ends with the one who made it
        request.session.pop(SESSION_KEY, None)
        request.session.pop(PREFILL_KEY, None)
    return _page(request)


def _is_applicant(id_type: str, sealed_id: str, prefill: dict[str, Any]) -> bool:
    """Whether the registered requester is the 查档申请's applicant (same identity number): only
    then is the service, and any certificate, part of that request."""
    if not sealed_id or not prefill.get("id"):
        return False
    given = identity.normalise(id_type, _opened(sealed_id))
    return given == identity.normalise(prefill["id_type"], _opened(prefill["id"]))


def _take_requester(request: HttpRequest) -> HttpResponse:
    _version, ruleset = rules.current()
    prefill = request.session.get(PREFILL_KEY)
    form = RequesterForm(
        request.POST,
        ruleset=ruleset,
        prefilled_id=identity.mask(_opened(prefill["id"])) if prefill else "",
    )
    if not form.is_valid():
        return _page(request, requester_form=form)
    d = form.cleaned_data
    given_id = d["requester_id"].strip()
    sealed_id = _sealed(given_id) if given_id else (prefill["id"] if prefill else "")
    served = prefill if prefill and _is_applicant(d["id_type"], sealed_id, prefill) else None
    if prefill and served is None:
        messages.warning(request, _(
            "查询人的证件号码与查档申请 %(ref)s 的申请人不同：按窗口查档办理，所出证明不归入该申请"
        ) % {"ref": prefill["reference"]})  # fmt: skip
    state = {
        "type": d["requester_type"], "name": d["requester_name"].strip(), "id_type": d["id_type"],
        "id": sealed_id,
        "proofs": form.proofs(), "principal_id": _sealed(d["principal_id"].strip()),
        "case_party_ids": [_sealed(x) for x in form.case_parties()],
        "purpose": d["purpose"].strip(), "approved_by": d["approved_by"].strip(),
        "channel": "online" if served else "counter",
        "access_request": served["request"] if served else None,
        "access_reference": served["reference"] if served else "",
    }  # fmt: skip
    try:
        finding.check_request_ids(requester_of(state))
    except finding.FindError as e:
        form.add_error(None, e.message_zh)
        return _page(request, requester_form=form)
    request.session[SESSION_KEY] = state
    return redirect("marriage:counter")


def _search(request: HttpRequest) -> HttpResponse:
    state = request.session.get(SESSION_KEY)
    if state is None:
        messages.error(request, _("请先登记查询人"))
        return redirect("marriage:counter")
    form = SearchForm(request.POST)
    if not form.is_valid():
        return _page(request, search_form=form)
    criteria = form.criteria()
    try:
        outcome = finding.find(
            criteria, requester_of(state), channel=state["channel"], actor=_actor(request),
            user=request.user,
        )  # fmt: skip
    except finding.FindError as e:
        fresh = SearchForm(initial={k: v for k, v in form.cleaned_data.items() if k != "id_number"})
        return _page(request, search_form=fresh, search_error=e.message_zh)
    searched_id = ""
    if criteria.id_number and not outcome.refused:
        state["last_id"] = _sealed(criteria.id_number)
        searched_id = identity.mask(criteria.id_number)
    else:
        state.pop("last_id", None)
    for hit in outcome.hits:
        hit.kind_label = labels.kind_label(hit.kind)
    shown = [h.record_id for h in outcome.hits]
    state["shown"] = (
        state.get("shown", []) + [r for r in shown if r not in state.get("shown", [])]
    )[-500:]
    request.session[SESSION_KEY] = state
    fresh = SearchForm(initial={k: v for k, v in form.cleaned_data.items() if k != "id_number"})
    return _page(
        request, search_form=fresh, outcome=outcome, searched=True, searched_id=searched_id,
        offer_none=bool(searched_id) and not outcome.hits,
    )  # fmt: skip


def _after_issue(request: HttpRequest, state: dict[str, Any], number: str) -> HttpResponse:
    pk = state.get("access_request")
    if pk:
        req = AccessRequest.objects.filter(pk=pk).first()
        if req is not None:
            access_services.note_certificate(req, request.user, number)
    messages.success(request, _("已出具证明 %s") % number)
    return redirect("marriage:certificate", number=number)


@permission_required(MARRIAGE)
@require_POST
def certify_records(request: HttpRequest) -> HttpResponse:
    state = request.session.get(SESSION_KEY)
    if state is None:
        messages.error(request, _("请先登记查询人"))
        return redirect("marriage:counter")
    ids = [n for n in (whole_number(x) for x in request.POST.getlist("record")) if n is not None]
    try:
        certificate = certify.certify_records(
            ids, requester_of(state), purpose=state["purpose"], actor=_actor(request),
            user=request.user, channel=state["channel"],
            access_request_id=state.get("access_request"),
        )  # fmt: skip
    except (certify.CertifyError, IssueError, finding.FindError) as e:
        messages.error(request, e.message_zh)
        return redirect("marriage:counter")
    return _after_issue(request, state, certificate.number)


@permission_required(MARRIAGE)
@require_POST
def certify_none(request: HttpRequest) -> HttpResponse:
    state = request.session.get(SESSION_KEY)
    if state is None or not state.get("last_id"):
        messages.error(request, _("无记录证明须先按证件号码查找，且未查到记录"))
        return redirect("marriage:counter")
    form = NoneFoundForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("无记录证明须写明当事人姓名"))
        return redirect("marriage:counter")
    try:
        certificate = certify.certify_none_found(
            requester_of(state), subject_name=form.cleaned_data["subject_name"],
            subject_id=_opened(state["last_id"]), purpose=state["purpose"], actor=_actor(request),
            user=request.user, channel=state["channel"],
            access_request_id=state.get("access_request"),
        )  # fmt: skip
    except (certify.CertifyError, IssueError, finding.FindError) as e:
        messages.error(request, e.message_zh)
        return redirect("marriage:counter")
    return _after_issue(request, state, certificate.number)
