"""Staff pages of 征集 (/holdings/): accessions with filters, an accession's page (status,
appraisal, restrictions, linked records, items received, certificates), donors and campaigns.
Reading needs the catalogue view permission, every form the edit permission; the services check
again and say why in Chinese."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy
from django.views.decorators.http import require_POST

from lantai.catalog import services as catalog
from lantai.core.roles import EDIT, VIEW
from lantai.standards import accessions as std
from lantai.web.views.common import not_found, permission_required, whole_number

from . import documents, donor_restrictions, received
from . import services as hs
from .models import Accession, AccessionItem, Donor, DonorRestriction, IssuedDocument

LIST_LIMIT = 500
SCOPE_LABELS = {
    "access": _lazy("利用"),
    "publication": _lazy("公布"),
    "reproduction": _lazy("复制"),
}


def _user(request: HttpRequest) -> Any:
    return request.user


def _accession(request: HttpRequest, pk: int) -> Accession | None:
    return hs.visible_accession(_user(request), pk)


def _missing(request: HttpRequest) -> HttpResponse:
    return not_found(request, _("征集登记不存在，或不在您的档案馆范围内。"))


def _attempt(request: HttpRequest, action: Callable[[], Any], done: str) -> bool:
    """Run a service call; its refusal becomes an error message on the page."""
    try:
        action()
    except hs.HoldingsError as e:
        messages.error(request, str(e))
        return False
    messages.success(request, done)
    return True


def _on_accession(
    request: HttpRequest, pk: int, do: Callable[[Accession], Any], done: str
) -> HttpResponse:
    """A form on an accession's page: 404 unless the accession is visible, else `do(accession)`
    through `_attempt`; either way back to the accession's page."""
    accession = _accession(request, pk)
    if accession is None:
        return _missing(request)
    _attempt(request, lambda: do(accession), done)
    return redirect("holdings:accession", pk=pk)


def _form(request: HttpRequest, names: tuple[str, ...]) -> dict[str, str]:
    return {n: request.POST.get(n, "").strip() for n in names}


# --- accessions ----------------------------------------------------------------------------------
@permission_required(VIEW)
def accession_list(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    q = request.GET
    year = whole_number(q.get("year"))
    campaign = whole_number(q.get("campaign"))
    donor = whole_number(q.get("donor"))
    kind = q.get("kind", "") if q.get("kind", "") in std.kinds() else ""
    status = q.get("status", "") if q.get("status", "") in hs.STATUS_ZH else ""
    qs = hs.accessions(user, year=year, kind=kind, campaign=campaign, status=status, donor=donor)
    rows = list(qs.order_by("-received_on", "-number")[:LIST_LIMIT])
    return render(request, "holdings/accession_list.html", {
        "rows": rows, "total": qs.count(), "limit": LIST_LIMIT,
        "years": hs.years(user), "kinds": hs.kind_labels().items(), "statuses": hs.STATUS_ZH,
        "campaigns": hs.visible_campaigns(user),
        "f": {"year": year, "kind": kind, "campaign": campaign, "status": status, "donor": donor},
        "can_edit": user.has_perm_code(EDIT),
    })  # fmt: skip


ACCESSION_FIELDS = (
    "repository", "donor", "kind", "received_on", "item_count", "campaign", "description",
    "appraised_value", "condition", "deed_terms", "event_name", "event_starts_on",
    "event_ends_on", "forming_bodies",
)  # fmt: skip


def _accession_data(request: HttpRequest, form: dict[str, str]) -> dict[str, Any]:
    user = _user(request)
    data: dict[str, Any] = {k: v for k, v in form.items() if v}
    data["campaign"] = None
    pk = whole_number(form.get("campaign"))
    if pk is not None:
        data["campaign"] = hs.visible_campaign(user, pk)
    donor_pk = whole_number(form.get("donor"))
    data["donor"] = hs.visible_donor(user, donor_pk)
    return data


@permission_required(EDIT)
def accession_new(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    repositories = list(catalog.visible_repositories(user))
    donors = hs.list_donors(user)
    if request.method == "POST":
        form = _form(request, ACCESSION_FIELDS)
        data = _accession_data(request, form)
        repo = next((r for r in repositories if str(r.pk) == form["repository"]), None)
        if repo is None:
            messages.error(request, _("请选择档案馆（repository）"))
        elif data["donor"] is None:
            messages.error(request, _("请选择捐赠者（donor），或先登记新的捐赠者"))
        else:
            try:
                made = hs.create_accession(user, repo, data["donor"], data)
            except hs.HoldingsError as e:
                messages.error(request, str(e))
            else:
                messages.success(request, _("已登记 %(number)s") % {"number": made.number})
                return redirect("holdings:accession", pk=made.pk)
    else:
        default = catalog.default_repository()
        form = {
            "repository": str(default.pk), "kind": "捐赠",
            "received_on": dt.date.today().isoformat(), "item_count": "1",
            "donor": request.GET.get("donor", ""), "campaign": request.GET.get("campaign", ""),
        }  # fmt: skip
    return render(request, "holdings/accession_form.html", {
        "form": form, "repositories": repositories, "donors": donors, "kinds": hs.kind_labels().items(),
        "campaigns": hs.visible_campaigns(user), "new": True,
    })  # fmt: skip


@permission_required(EDIT)
def accession_edit(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    accession = _accession(request, pk)
    if accession is None:
        return _missing(request)
    if request.method == "POST":
        form = _form(request, ACCESSION_FIELDS)
        data = _accession_data(request, form)
        if data["donor"] is None:
            data.pop("donor")
        current = accession
        if _attempt(request, lambda: hs.update_accession(user, current, data), _("已保存")):
            return redirect("holdings:accession", pk=pk)
        accession = _accession(request, pk) or current
    else:
        form = {
            "donor": str(accession.donor_id), "item_count": str(accession.item_count),
            "campaign": str(accession.campaign_id or ""), "description": accession.description,
            "appraised_value": str(accession.appraised_value or ""), "condition": accession.condition,
            "deed_terms": accession.deed_terms, "event_name": accession.event_name,
            "event_starts_on": accession.event_starts_on.isoformat() if accession.event_starts_on else "",
            "event_ends_on": accession.event_ends_on.isoformat() if accession.event_ends_on else "",
            "forming_bodies": accession.forming_bodies, "kind": accession.kind,
        }  # fmt: skip
    return render(request, "holdings/accession_form.html", {
        "form": form, "accession": accession, "donors": hs.list_donors(user),
        "kinds": hs.kind_labels().items(), "campaigns": hs.visible_campaigns(user), "new": False,
    })  # fmt: skip


@permission_required(VIEW)
def accession_detail(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    accession = _accession(request, pk)
    if accession is None:
        return _missing(request)
    records, hidden = donor_restrictions.linked_records(user, accession)
    holds_by_record = donor_restrictions.record_holds(accession)
    docs = {d.kind: d for d in accession.documents.all()}
    today = dt.date.today()
    restrictions = [
        {
            "r": r,
            "until": donor_restrictions.restriction_until(r),
            "in_force": donor_restrictions.restriction_in_force(r, today),
            "scope_label": SCOPE_LABELS.get(r.scope, r.scope),
        }
        for r in accession.restrictions.all()
    ]
    return render(request, "holdings/accession_detail.html", {
        "a": accession, "restrictions": restrictions, "scopes": std.restriction_scopes(),
        "records": [(r, holds_by_record.get(r.pk, [])) for r in records],
        "record_total": len(donor_restrictions.covered_records(accession)), "record_hidden": hidden,
        "items": received.items_with_digitization(accession, user), "digitization": AccessionItem.DIGITIZATION,
        "docs": docs, "next": hs.TRANSITIONS[accession.status],
        "can_edit": user.has_perm_code(EDIT), "today": today.isoformat(),
        "forming_bodies": accession.forming_bodies.splitlines(),
    })  # fmt: skip


@require_POST
@permission_required(EDIT)
def accession_status(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    accession = _accession(request, pk)
    if accession is None:
        return _missing(request)
    target = request.POST.get("to", "")
    if target == "appraised":
        form = _form(request, ("condition", "appraised_value"))
        _attempt(request, lambda: hs.appraise(user, accession, form), _("已记录鉴定结果"))
    elif target == "accepted":
        _attempt(request, lambda: hs.accept(user, accession), _("已入藏"))
    elif target == "returned":
        reason = request.POST.get("reason", "")
        _attempt(request, lambda: hs.return_accession(user, accession, reason), _("已退还"))
    else:
        messages.error(request, _("未知的状态变更"))
    return redirect("holdings:accession", pk=pk)


@require_POST
@permission_required(EDIT)
def restriction_add(request: HttpRequest, pk: int) -> HttpResponse:
    row: dict[str, Any] = _form(request, ("scope", "until", "starts_on", "text"))
    row["donor_lifetime"] = request.POST.get("term") == "lifetime"
    if row["donor_lifetime"]:
        row["until"] = ""
    return _on_accession(
        request, pk, lambda a: donor_restrictions.add_restriction(_user(request), a, row),
        _("已添加限制，关联档案即时生效"),
    )  # fmt: skip


@require_POST
@permission_required(EDIT)
def restriction_end(request: HttpRequest, pk: int, rpk: int) -> HttpResponse:
    restriction = DonorRestriction.objects.filter(pk=rpk, accession_id=pk).first()
    if restriction is None:
        return _missing(request)
    form = _form(request, ("ended_on", "end_reason"))
    return _on_accession(
        request, pk,
        lambda _a: donor_restrictions.end_restriction(_user(request), restriction, form["ended_on"], form["end_reason"]),
        _("已解除限制"),
    )  # fmt: skip


@require_POST
@permission_required(EDIT)
def records_link(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    accession = _accession(request, pk)
    if accession is None:
        return _missing(request)
    lines = request.POST.get("codes", "").splitlines()[:5000]
    try:
        n = donor_restrictions.link_records(user, accession, lines)
    except hs.HoldingsError as e:
        messages.error(request, str(e))
    else:
        messages.success(request, _("已关联 %(n)d 件档案") % {"n": n})
    return redirect("holdings:accession", pk=pk)


@require_POST
@permission_required(EDIT)
def records_unlink(request: HttpRequest, pk: int) -> HttpResponse:
    ids = [i for i in (whole_number(v) for v in request.POST.getlist("record")) if i is not None]
    return _on_accession(
        request,
        pk,
        lambda a: donor_restrictions.unlink_records(_user(request), a, ids),
        _("已取消关联"),
    )


ITEM_FIELDS = ("description", "count", "reference_code", "digitization")


@require_POST
@permission_required(EDIT)
def item_add(request: HttpRequest, pk: int) -> HttpResponse:
    form = _form(request, ITEM_FIELDS)
    return _on_accession(
        request, pk, lambda a: received.add_item(_user(request), a, form), _("已登记接收实物")
    )


@require_POST
@permission_required(EDIT)
def item_edit(request: HttpRequest, pk: int, ipk: int) -> HttpResponse:
    item = AccessionItem.objects.filter(pk=ipk, accession_id=pk).first()
    if item is None:
        return _missing(request)
    form = _form(request, ITEM_FIELDS)
    return _on_accession(
        request,
        pk,
        lambda _a: received.update_item(_user(request), item, form),
        _("已保存实物信息"),
    )


@require_POST
@permission_required(EDIT)
def document_issue(request: HttpRequest, pk: int) -> HttpResponse:
    kind = request.POST.get("kind", "")
    return _on_accession(
        request, pk, lambda a: documents.issue(_user(request), a, kind), _("已出具")
    )


@permission_required(VIEW)
def document_pdf(request: HttpRequest, pk: int, kind: str) -> HttpResponse:
    user = _user(request)
    accession = _accession(request, pk)
    doc = IssuedDocument.objects.filter(accession_id=pk, kind=kind).first()
    if accession is None or doc is None:
        return _missing(request)
    try:
        pdf = documents.pdf_of(user, doc)
    except hs.HoldingsError as e:
        messages.error(request, str(e))
        return redirect("holdings:accession", pk=pk)
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{doc.number}.pdf"'
    return response


# --- donors --------------------------------------------------------------------------------------
DONOR_FORM = ("kind", "name", "contact", "address", "id_document")


@permission_required(VIEW)
def donor_list(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    return render(request, "holdings/donor_list.html", {
        "donors": hs.list_donors(user), "can_edit": user.has_perm_code(EDIT),
    })  # fmt: skip


@permission_required(EDIT)
def donor_new(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    form = _form(request, DONOR_FORM) if request.method == "POST" else {"kind": "person"}
    if request.method == "POST":
        try:
            donor = hs.create_donor(user, form)
        except hs.HoldingsError as e:
            messages.error(request, str(e))
        else:
            messages.success(request, _("已登记捐赠者 %(name)s") % {"name": donor.name})
            if request.POST.get("then") == "accession":
                return redirect(f"{reverse('holdings:accession_new')}?donor={donor.pk}")
            return redirect("holdings:donor", pk=donor.pk)
    return render(request, "holdings/donor_form.html", {
        "form": form, "kinds": Donor.KINDS, "new": True,
    })  # fmt: skip


@permission_required(EDIT)
def donor_edit(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    donor = hs.visible_donor(user, pk)
    if donor is None:
        return not_found(request, _("捐赠者不存在。"))
    if request.method == "POST":
        form = _form(request, DONOR_FORM)
        if _attempt(request, lambda: hs.update_donor(user, donor, form), _("已保存")):
            return redirect("holdings:donor", pk=pk)
    else:
        form = {"kind": donor.kind, "name": donor.name, "contact": donor.contact,
                "address": donor.address}  # fmt: skip
    return render(request, "holdings/donor_form.html", {
        "form": form, "kinds": Donor.KINDS, "donor": donor, "new": False,
    })  # fmt: skip


@permission_required(VIEW)
def donor_detail(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    donor = hs.visible_donor(user, pk)
    if donor is None:
        return not_found(request, _("捐赠者不存在。"))
    rows = list(hs.accessions(user, donor=pk).order_by("-received_on"))
    return render(request, "holdings/donor_detail.html", {
        "donor": donor, "rows": rows, "items": sum(a.item_count for a in rows),
        "can_edit": user.has_perm_code(EDIT),
    })  # fmt: skip


# --- campaigns -----------------------------------------------------------------------------------
CAMPAIGN_FORM = ("repository", "name", "theme", "starts_on", "ends_on", "target_items")


@permission_required(VIEW)
def campaign_list(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    campaigns = hs.visible_campaigns(user)
    progress = hs.campaigns_progress(campaigns)
    return render(request, "holdings/campaign_list.html", {
        "rows": [(c, progress[c.pk]) for c in campaigns], "can_edit": user.has_perm_code(EDIT),
    })  # fmt: skip


@permission_required(EDIT)
def campaign_new(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    repositories = list(catalog.visible_repositories(user))
    if request.method == "POST":
        form = _form(request, CAMPAIGN_FORM)
        repo = next((r for r in repositories if str(r.pk) == form["repository"]), None)
        if repo is None:
            messages.error(request, _("请选择档案馆（repository）"))
        else:
            try:
                made = hs.create_campaign(user, repo, form)
            except hs.HoldingsError as e:
                messages.error(request, str(e))
            else:
                messages.success(request, _("已建立征集活动"))
                return redirect("holdings:campaign", pk=made.pk)
    else:
        year = dt.date.today().year
        form = {"repository": str(catalog.default_repository().pk), "target_items": "0",
                "starts_on": f"{year}-01-01", "ends_on": f"{year}-12-31"}  # fmt: skip
    return render(request, "holdings/campaign_form.html", {
        "form": form, "repositories": repositories, "new": True,
    })  # fmt: skip


@permission_required(EDIT)
def campaign_edit(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    campaign = hs.visible_campaign(user, pk)
    if campaign is None:
        return not_found(request, _("征集活动不存在，或不在您的档案馆范围内。"))
    if request.method == "POST":
        form = _form(request, CAMPAIGN_FORM)
        if _attempt(request, lambda: hs.update_campaign(user, campaign, form), _("已保存")):
            return redirect("holdings:campaign", pk=pk)
    else:
        form = {
            "name": campaign.name, "theme": campaign.theme,
            "starts_on": campaign.starts_on.isoformat() if campaign.starts_on else "",
            "ends_on": campaign.ends_on.isoformat() if campaign.ends_on else "",
            "target_items": str(campaign.target_items),
        }  # fmt: skip
    return render(request, "holdings/campaign_form.html", {
        "form": form, "campaign": campaign, "new": False,
    })  # fmt: skip


@permission_required(VIEW)
def campaign_detail(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    campaign = hs.visible_campaign(user, pk)
    if campaign is None:
        return not_found(request, _("征集活动不存在，或不在您的档案馆范围内。"))
    rows = list(hs.accessions(user, campaign=pk).order_by("-received_on"))
    return render(request, "holdings/campaign_detail.html", {
        "c": campaign, "p": hs.campaigns_progress([campaign])[campaign.pk], "rows": rows,
        "can_edit": user.has_perm_code(EDIT),
    })  # fmt: skip
