"""Certificates (list, detail, PDF, two-person revocation) and the page of one marriage record
(its registration and parties, masked; the full numbers only for MARRIAGE_MANAGE, audited)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from lantai.catalog.services import records_in_scope, visible_repositories
from lantai.certificates import issuing, revocation
from lantai.certificates.models import Certificate
from lantai.core import audit
from lantai.core.roles import MARRIAGE, MARRIAGE_MANAGE
from lantai.web.views.common import not_found, permission_required, whole_number

from . import identity, labels, rules
from .forms import RevokeRequestForm
from .models import Party, Registration
from .views_counter import SESSION_KEY

LIST_LIMIT = 200


def _certificates(request: HttpRequest) -> QuerySet[Certificate]:
    user: Any = request.user
    return Certificate.objects.filter(repository__in=visible_repositories(user)).select_related(
        "repository", "issuer_key"
    )


def _certificate(request: HttpRequest, number: str) -> Certificate | None:
    return _certificates(request).filter(number=number.strip()[:32]).first()


@permission_required(MARRIAGE)
def certificate_list(request: HttpRequest) -> HttpResponse:
    q = request.GET.get("q", "").strip()[:64]
    state = request.GET.get("state", "")
    rows = _certificates(request)
    if q:
        rows = rows.filter(number__icontains=q)
    if state == "pending":
        rows = rows.filter(revoke_requested_at__isnull=False, revoked_at__isnull=True)
    elif state == "revoked":
        rows = rows.filter(revoked_at__isnull=False)
    return render(
        request,
        "marriage/certificates.html",
        {"rows": list(rows[:LIST_LIMIT]), "q": q, "state": state, "limit": LIST_LIMIT},
    )


def _shown_content(content: dict[str, Any]) -> dict[str, Any]:
    """The certificate's content for the staff page, its labels in the interface language (the
    content keeps the Chinese ones the document was printed with)."""
    if not labels.english():
        return content
    _v, ruleset = rules.current()
    shown = dict(content)
    requester = dict(content.get("requester") or {})
    if requester.get("type") in ruleset.requester_types:
        requester["type_label"] = labels.labelled(ruleset.requester_types, requester["type"])
    shown["requester"] = requester
    shown["records"] = [
        {**r, "kind_label": labels.kind_label(str(r.get("kind_label", "")))}
        for r in content.get("records") or []
    ]
    return shown


@permission_required(MARRIAGE)
def certificate_detail(request: HttpRequest, number: str) -> HttpResponse:
    cert = _certificate(request, number)
    if cert is None:
        return not_found(request, _("没有这份证明"))
    user: Any = request.user
    return render(
        request,
        "marriage/certificate.html",
        {
            "cert": cert,
            "content": _shown_content(cert.content),
            "records": list(cert.records.all()),
            "revoke_form": RevokeRequestForm(),
            "can_confirm": user.has_perm_code(MARRIAGE_MANAGE)
            and cert.revoke_requested_at is not None
            and cert.revoked_at is None,
            "own_request": cert.revoke_requested_by == user.get_username(),
            "payload_length": len(cert.payload),
        },
    )


@permission_required(MARRIAGE)
def certificate_pdf(request: HttpRequest, number: str) -> HttpResponse:
    cert = _certificate(request, number)
    if cert is None:
        return not_found(request, _("没有这份证明"))
    try:
        pdf = issuing.pdf_bytes(cert)
    except FileNotFoundError:
        return not_found(request, _("证明的 PDF 文件缺失，请联系系统管理员"))
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{cert.number}.pdf"'
    response["X-Content-Type-Options"] = "nosniff"
    return response


@permission_required(MARRIAGE)
def certificate_ofd(request: HttpRequest, number: str) -> HttpResponse:
    cert = _certificate(request, number)
    if cert is None:
        return not_found(request, _("没有这份证明"))
    response = HttpResponse(issuing.ofd_bytes(cert), content_type="application/ofd")
    response["Content-Disposition"] = f'attachment; filename="{cert.number}.ofd"'
    response["X-Content-Type-Options"] = "nosniff"
    return response


def _revocation(request: HttpRequest, number: str, confirm: bool) -> HttpResponse:
    cert = _certificate(request, number)
    if cert is None:
        return not_found(request, _("没有这份证明"))
    user: Any = request.user
    try:
        if confirm:
            revocation.confirm(cert.number, actor=user.get_username())
            messages.success(request, _("证明 %s 已撤销，状态列表已更新") % cert.number)
        else:
            form = RevokeRequestForm(request.POST)
            reason = form.cleaned_data["reason"] if form.is_valid() else ""
            revocation.request(cert.number, reason, actor=user.get_username())
            messages.success(
                request, _("已申请撤销证明 %s，须由另一位婚姻档案管理员确认") % cert.number
            )
    except revocation.RevocationError as e:
        messages.error(request, e.message_zh)
    return redirect("marriage:certificate", number=cert.number)


@permission_required(MARRIAGE)
@require_POST
def certificate_revoke(request: HttpRequest, number: str) -> HttpResponse:
    return _revocation(request, number, confirm=False)


@permission_required(MARRIAGE_MANAGE)
@require_POST
def certificate_confirm(request: HttpRequest, number: str) -> HttpResponse:
    return _revocation(request, number, confirm=True)


def _registration(request: HttpRequest, pk: int) -> Registration | None:
    user: Any = request.user
    if whole_number(str(pk)) is None:  # <int:pk> takes any length; the column is 64-bit
        return None
    return (
        Registration.objects.filter(pk=pk, record__in=records_in_scope(user))
        .select_related("record", "record__repository", "record__fonds")
        .first()
    )


def _record_page(
    request: HttpRequest, reg: Registration, full_ids: dict[int, str] | None = None
) -> HttpResponse:
    user: Any = request.user
    parties = list(Party.objects.filter(registration=reg).order_by("position"))
    kind_label = labels.kind_label(reg.kind)
    certificates = list(reg.record.certificates.order_by("-issued_at")[:50])
    return render(
        request,
        "marriage/record.html",
        {
            "reg": reg,
            "record": reg.record,
            "kind_label": kind_label,
            "parties": [{"p": p, "full_id": (full_ids or {}).get(p.pk, "")} for p in parties],
            "full_shown": full_ids is not None,
            "can_manage": user.has_perm_code(MARRIAGE_MANAGE),
            "certificates": certificates,
        },
    )


def _may_open(request: HttpRequest, reg: Registration) -> bool:
    """A counter clerk opens a record shown to the requester in hand, or one on a certificate;
    browsing others by id would go round the rights rules and the query log."""
    user: Any = request.user
    if user.has_perm_code(MARRIAGE_MANAGE):
        return True
    state = request.session.get(SESSION_KEY) or {}
    return reg.pk in state.get("shown", []) or reg.record.certificates.exists()


@permission_required(MARRIAGE)
def record_detail(request: HttpRequest, pk: int) -> HttpResponse:
    reg = _registration(request, pk)
    if reg is None or not _may_open(request, reg):
        return not_found(request, _("没有这条婚姻登记档案"))
    return _record_page(request, reg)


@permission_required(MARRIAGE_MANAGE)
@require_POST
def record_full_id(request: HttpRequest, pk: int) -> HttpResponse:
    user: Any = request.user
    reg = _registration(request, pk)
    if reg is None:
        return not_found(request, _("没有这条婚姻登记档案"))
    full: dict[int, str] = {}
    for p in Party.objects.filter(registration=reg):
        try:
            full[p.pk] = identity.unseal(p.id_sealed)
        except ValueError:
            full[p.pk] = _("（无法解密）")
    audit.record(
        "marriage_full_id", "record", reg.pk,
        {"reference_code": reg.record.reference_code, "parties": len(full)},
        actor=user.get_username(),
    )  # fmt: skip
    response = _record_page(request, reg, full)
    response["Cache-Control"] = "no-store"
    return response
