"""异地查档、异地出证: a request made at one archives' window for a marriage record another
archives holds.

The receiving archives (受理馆) checks the requester's identity, type and proof under its rules
and sends a signed request to the holding archives (协办馆), the identity numbers sealed to it
(sealing.py). The holding archives applies its own rules and decides: a digitized record whose
rules are met gets a certificate at once, issued and signed by the holding archives, sent back in
the reply and printed at the receiving window; a paper-only record becomes a task for the holding
archives' staff (scan on demand, then answer). The provincial deadlines are tracked: the holding
archives answers within 4 working days, the receiving one informs the requester within 2 working
days of the answer (sla.py)."""

from __future__ import annotations

import base64
import contextlib
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from lantai.catalog.models import Component
from lantai.certificates import keys, lists, verifying
from lantai.core import audit
from lantai.marriage import certify, finding, identity, rules
from lantai.marriage.models import Registration
from lantai.standards import certificate_lists, marriage_rights
from lantai.standards import platform_messages as pm

from . import peers, sealing, sla, transport
from .models import RemoteRequest

KIND = "request"


class RequestError(Exception):
    def __init__(self, message_zh: str, message_en: str, *, refused: bool = True) -> None:
        super().__init__(message_zh)
        self.message_zh, self.message_en, self.refused = message_zh, message_en, refused


def holder_of(locator: str) -> tuple[str, str]:
    node, sep, code = locator.partition(":")
    if not sep or not node or not code or len(node) > 32 or len(code) > 100:
        raise RequestError(f"档案定位符“{locator}”格式不对：应为“节点代码:档号”",
                           f"the locator {locator!r} is malformed: NODE:REFERENCE", refused=False)  # fmt: skip
    return node, code


# ------------------------------------------------------------------------- receiving archives


def send(
    locator: str, request: marriage_rights.Request, *, actor: str, user: Any = None,
    channel: str = "counter", now: datetime | None = None,
) -> RemoteRequest:  # fmt: skip
    """Check the request here, send it to the holder and keep what comes back."""
    node, _code = holder_of(locator)
    finding.check_request_ids(request)
    _version, ruleset = rules.current()
    problems = marriage_rights.check_request(ruleset, request)
    if problems:
        raise RequestError("；".join(p.message_zh for p in problems), "; ".join(p.message_en for p in problems))  # fmt: skip
    holder = peers.peer(node)
    if holder is None:
        raise RequestError(f"平台成员名单中没有节点 {node}", f"no node {node} on the member list", refused=False)  # fmt: skip
    now = now or timezone.now()
    secret = {"requester_id": request.requester_id, "principal_id": request.principal_id,
              "case_party_ids": list(request.case_party_ids), "proofs": dict(request.proofs),
              "approved_by": request.approved_by}  # fmt: skip
    masked_id = identity.mask(request.requester_id) if request.requester_id else ""
    body = {
        "locator": locator, "channel": channel, "purpose": identity.mask_in_text(request.purpose),
        "requester": {"type": request.requester_type, "name": request.requester_name,
                      "id_masked": masked_id},
        "sealed": sealing.seal(secret, holder.public_key, locator),
    }  # fmt: skip
    message_id = pm.new_id()
    with transaction.atomic():  # kept before it is sent: a reply delivered later finds it
        row = RemoteRequest.objects.create(
            role="sent", message_id=message_id, receiving_node=peers.own_code(),
            holding_node=node, locator=locator, channel=channel,
            requester_type=request.requester_type, requester_name=request.requester_name[:60],
            requester_id_masked=masked_id, purpose=identity.mask_in_text(request.purpose)[:500],
            status="sent", created_at=now, answer_due=sla.answer_due(now),
            handled_by=user if getattr(user, "pk", None) else None,
        )  # fmt: skip
    try:
        sent = transport.send(node, KIND, body, message_id=message_id)
    except transport.Refused as exc:
        RemoteRequest.objects.filter(pk=row.pk).update(status="refused", reason=exc.message_zh[:500], answered_at=timezone.now())  # fmt: skip
        raise
    audit.record("platform_request_sent", "remote_request", row.pk,
                 {"locator": locator, "to": node, "delivered": sent.delivered}, actor=actor)  # fmt: skip
    if sent.reply is not None:
        _take_answer(row, sent.reply)
        row.refresh_from_db()
    return row


# a later answer never takes a request back: sent < queued < answered | refused < informed
_BEFORE = {"queued": ("sent",), "answered": ("sent", "queued"), "refused": ("sent", "queued")}


def _take_answer(row: RemoteRequest, answer: dict[str, Any]) -> None:
    status = str(answer.get("status", ""))
    if status not in _BEFORE or not RemoteRequest.objects.filter(pk=row.pk, status__in=_BEFORE[status]).exists():  # fmt: skip
        return
    fields: dict[str, Any] = {"reason": str(answer.get("reason", ""))[:500]}
    if status == "answered":
        status_list = answer.get("status_list")
        if isinstance(status_list, dict):  # the holder's newest: its certificate verifies here
            with contextlib.suppress(certificate_lists.ListError):
                lists.adopt_status_list(status_list)
        try:
            pdf = base64.b64decode(str(answer.get("pdf", "")), validate=True)
        except ValueError:
            pdf = b""
        problem = _unverified(pdf)
        fields.update(status="refused" if problem else "answered", reason=problem or fields["reason"],
                      certificate_number=str(answer.get("certificate_number", ""))[:32],
                      certificate_pdf=None if problem else pdf, extract=answer.get("extract") or {},
                      answered_at=timezone.now(), inform_due=sla.inform_due(timezone.now()))  # fmt: skip
    elif status == "refused":
        fields.update(status="refused", answered_at=timezone.now(), inform_due=sla.inform_due(timezone.now()))  # fmt: skip
    else:
        fields.update(status="queued")
    RemoteRequest.objects.filter(pk=row.pk, status__in=_BEFORE[status]).update(**fields)


def _unverified(pdf: bytes) -> str:
    """Why the certificate the holder sent does not verify here ('' when it does): nothing is
    printed at the window that this archives could not verify itself."""
    now = timezone.now()
    trust, statuses = lists.current(now)
    try:
        outcome = verifying.verify(pdf=pdf, trust_list=trust, status_lists=statuses, roots=keys.pinned_roots(), now=now)  # fmt: skip
    except verifying.Unreadable as exc:
        return f"协办馆答复的证明无法读取：{exc}"[:500]
    verdict = outcome.verdict
    return "" if verdict.valid else f"协办馆答复的证明在本馆核验未通过：{verdict.message_zh}"[:500]


def _reply_delivered(reply: dict[str, Any]) -> None:
    """The holder's reply to a request that waited in our outbox."""
    row = RemoteRequest.objects.filter(role="sent", message_id=reply["body"].get("request_id", "")).first()  # fmt: skip
    if row is not None:
        _take_answer(row, reply["body"])


def _answer_arrived(message: dict[str, Any]) -> dict[str, Any]:
    """The holding archives' answer to a request its staff handled (kind ``answer``)."""
    body = message["body"]
    row = RemoteRequest.objects.filter(role="sent", message_id=str(body.get("request_id", "")),
                                       holding_node=message["from"]).first()  # fmt: skip
    if row is None:
        raise transport.Refused("unknown_request", "本馆没有发出过这一请求", "no such request was sent from here", 404)  # fmt: skip
    _take_answer(row, body)
    return {"ok": True}


def mark_informed(row: RemoteRequest, *, actor: str) -> None:
    if row.role != "sent" or row.status not in ("answered", "refused"):
        raise RequestError("只有已答复的请求才能登记“已告知查档人”", "only an answered request can be marked informed", refused=False)  # fmt: skip
    RemoteRequest.objects.filter(pk=row.pk).update(status="informed", informed_at=timezone.now())
    audit.record("platform_request_informed", "remote_request", row.pk, {}, actor=actor)


# --------------------------------------------------------------------------- holding archives


def _received(message: dict[str, Any]) -> dict[str, Any]:
    body = message["body"]
    locator = str(body.get("locator", ""))
    sender = peers.peer(message["from"])
    assert sender is not None  # transport checked the sender is a member
    try:
        node, code = holder_of(locator)
        secret = sealing.unseal(str(body.get("sealed", "")), sender.public_key, locator)
    except (RequestError, ValueError) as exc:
        raise transport.Refused("malformed", f"请求无法读取：{exc}", f"the request cannot be read: {exc}", 400) from exc  # fmt: skip
    requester = body.get("requester") or {}
    proofs = secret.get("proofs") or {}
    parties = secret.get("case_party_ids") or []
    if not (isinstance(requester, dict) and isinstance(proofs, dict) and isinstance(parties, list)):
        raise transport.Refused("malformed", "请求的查询人或证明材料格式不对", "the request's requester or proofs are malformed", 400)  # fmt: skip
    request = marriage_rights.Request(
        requester_type=str(requester.get("type", "")), requester_name=str(requester.get("name", "")),
        requester_id=str(secret.get("requester_id", "")),
        proofs={str(k): str(v) for k, v in proofs.items()},
        principal_id=str(secret.get("principal_id", "")),
        case_party_ids=tuple(str(c) for c in parties),
        purpose=str(body.get("purpose", "")), approved_by=str(secret.get("approved_by", "")),
    )  # fmt: skip
    now = timezone.now()
    reg = Registration.objects.filter(record__reference_code=code).select_related("record").first() if node == peers.own_code() else None  # fmt: skip
    row = RemoteRequest(
        role="received", message_id=message["id"], receiving_node=message["from"],
        holding_node=peers.own_code(), locator=locator, record=reg.record if reg else None,
        channel=str(body.get("channel", "counter"))[:16], requester_type=request.requester_type[:24],
        requester_name=request.requester_name[:60], requester_id_masked=str(requester.get("id_masked", ""))[:40],
        purpose=request.purpose[:500], sealed=str(body.get("sealed", "")), created_at=now,
        answer_due=sla.answer_due(now),
    )  # fmt: skip
    if reg is None:
        row.status, row.reason, row.answered_at = "refused", "本馆没有这一婚姻登记档案", now
        row.save()
        return {"request_id": message["id"], "status": "refused", "reason": row.reason}
    if not Component.objects.filter(record_id=reg.pk).exists():
        refusal = _rules_refuse(reg, request, actor=f"platform:{message['from']}")
        if refusal:  # what the rules decide without the file is decided now, not after a scan
            row.status, row.reason, row.answered_at = "refused", refusal[:500], now
            row.save()
            return {"request_id": message["id"], "status": "refused", "reason": refusal}
        row.status, row.reason = "queued", "纸质档案：调卷扫描后答复"
        row.save()
        return {"request_id": message["id"], "status": "queued", "reason": row.reason,
                "answer_due": row.answer_due.isoformat()}  # fmt: skip
    row.save()
    return _decide(row, request, actor=f"platform:{message['from']}", user=None)


def _rules_refuse(reg: Registration, request: marriage_rights.Request, *, actor: str) -> str:
    """Why this archives' rules refuse the requester this registration ('' if they do not); a
    refusal is logged as a query, as the counter logs its refusals."""
    version, ruleset = rules.current()
    problems = marriage_rights.check_request(ruleset, request)
    parties = list(reg.parties.order_by("position").values_list("name", "id_sealed"))
    if problems:
        why = "；".join(p.message_zh for p in problems)
    elif not finding.visible_to(ruleset, request, parties):
        why = f"按查档规则，该查询人无权获得档号 {reg.record.reference_code} 的记录证明"
    else:
        return ""
    finding.log_query(request, {"mode": "certificate", "records": [reg.pk]}, [], version=version,
                      channel="platform", actor=actor, user=None, refused=why)  # fmt: skip
    return why


def _decide(row: RemoteRequest, request: marriage_rights.Request, *, actor: str, user: Any) -> dict[str, Any]:  # fmt: skip
    assert row.record is not None
    try:
        cert = certify.certify_records([row.record.pk], request, purpose=request.purpose, actor=actor,
                                       user=user, channel="platform")  # fmt: skip
    except certify.CertifyError as exc:
        RemoteRequest.objects.filter(pk=row.pk).update(status="refused", reason=exc.message_zh[:500], answered_at=timezone.now())  # fmt: skip
        return {"request_id": row.message_id, "status": "refused", "reason": exc.message_zh}
    from lantai.certificates import issuing

    pdf = issuing.pdf_bytes(cert)
    extract = {"certificate_number": cert.number, "holding_archives": cert.repository.name,
               "records": cert.content.get("records", []) if isinstance(cert.content, dict) else []}  # fmt: skip
    RemoteRequest.objects.filter(pk=row.pk).update(
        status="answered",
        certificate_number=cert.number,
        answered_at=timezone.now(),
        extract=extract,
    )
    return {"request_id": row.message_id, "status": "answered", "certificate_number": cert.number,
            "pdf": base64.b64encode(pdf).decode("ascii"), "extract": extract,
            "status_list": lists.status_list(cert.repository)}  # fmt: skip


def answer_queued(row: RemoteRequest, *, actor: str, user: Any = None, refuse_reason: str = "") -> dict[str, Any]:  # fmt: skip
    """Staff of the holding archives answer a queued request (after scanning the file, or with a
    refusal and its reason); the answer goes to the receiving archives as a message."""
    if row.role != "received" or row.status != "queued":
        raise RequestError("只有待办理的请求可以答复", "only a queued request can be answered", refused=False)  # fmt: skip
    sender = peers.peer(row.receiving_node)
    if sender is None:
        raise RequestError(f"受理馆 {row.receiving_node} 已不在平台成员名单上", f"the receiving archives {row.receiving_node} left the platform", refused=False)  # fmt: skip
    if refuse_reason:
        RemoteRequest.objects.filter(pk=row.pk).update(status="refused", reason=refuse_reason[:500], answered_at=timezone.now(), handled_by=user)  # fmt: skip
        answer = {"request_id": row.message_id, "status": "refused", "reason": refuse_reason}
    else:
        if row.record is None or not Component.objects.filter(record_id=row.record.pk).exists():
            raise RequestError("该档案尚未扫描：先把扫描件挂接到档案，再答复", "the file is not scanned yet: attach the scans to the record first", refused=False)  # fmt: skip
        secret = sealing.unseal(row.sealed, sender.public_key, row.locator)
        request = marriage_rights.Request(
            requester_type=row.requester_type, requester_name=row.requester_name,
            requester_id=str(secret.get("requester_id", "")), proofs=dict(secret.get("proofs") or {}),
            principal_id=str(secret.get("principal_id", "")),
            case_party_ids=tuple(secret.get("case_party_ids") or ()), purpose=row.purpose,
            approved_by=str(secret.get("approved_by", "")),
        )  # fmt: skip
        answer = _decide(row, request, actor=actor, user=user)
        RemoteRequest.objects.filter(pk=row.pk).update(handled_by=user)
    audit.record("platform_request_answered", "remote_request", row.pk, {"status": answer["status"]}, actor=actor)  # fmt: skip
    transport.send(row.receiving_node, "answer", answer)  # queued in the outbox if it is down
    return answer


def as_dict(row: RemoteRequest) -> dict[str, Any]:
    return {
        "id": row.pk, "role": row.role, "message_id": row.message_id, "locator": row.locator,
        "receiving_node": row.receiving_node, "holding_node": row.holding_node,
        "status": row.status, "reason": row.reason, "certificate_number": row.certificate_number,
        "requester": {"type": row.requester_type, "name": row.requester_name, "id_masked": row.requester_id_masked},
        "created_at": row.created_at.isoformat(), "answer_due": row.answer_due.isoformat(),
        "answered_at": row.answered_at.isoformat() if row.answered_at else None,
        "inform_due": row.inform_due.isoformat() if row.inform_due else None,
        "informed_at": row.informed_at.isoformat() if row.informed_at else None,
        "overdue": sla.overdue(row),
    }  # fmt: skip


transport.handles(KIND)(_received)
transport.handles("answer")(_answer_arrived)
transport.on_reply(KIND)(_reply_delivered)
