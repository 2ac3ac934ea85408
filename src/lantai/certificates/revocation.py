"""Revoking a certificate issued in error: one person asks, with a reason; another confirms. Only
then is the certificate revoked; the archives' status list is republished with its bit set the
next time it is handed out (certificates/lists.py)."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from lantai.core import audit

from .models import Certificate


class RevocationError(Exception):
    def __init__(self, message_zh: str, message_en: str, *, missing: bool = False) -> None:
        super().__init__(message_zh)
        self.message_zh, self.message_en, self.missing = message_zh, message_en, missing


def _get(number: str) -> Certificate:
    found = Certificate.objects.select_for_update().filter(number=number.strip()).first()
    if found is None:
        raise RevocationError(f"没有编号为“{number}”的证明", f"no certificate {number!r}", missing=True)  # fmt: skip
    return found


def request(number: str, reason: str, *, actor: str) -> Certificate:
    if not reason.strip():
        raise RevocationError("撤销证明须写明原因", "a reason is required to revoke a certificate")
    with transaction.atomic():
        cert = _get(number)
        if cert.revoked_at is not None:
            raise RevocationError(f"证明 {cert.number} 已于 {cert.revoked_at:%Y-%m-%d %H:%M} 撤销", f"certificate {cert.number} is already revoked")  # fmt: skip
        if cert.revoke_requested_at is not None:
            raise RevocationError(
                f"证明 {cert.number} 已由 {cert.revoke_requested_by} 申请撤销，等待另一人确认",
                f"revocation of {cert.number} was already requested by {cert.revoke_requested_by}; "
                "it waits for a second person to confirm",
            )
        cert.revoke_reason = reason.strip()[:500]
        cert.revoke_requested_by = actor
        cert.revoke_requested_at = timezone.now()
        cert.save(update_fields=["revoke_reason", "revoke_requested_by", "revoke_requested_at"])
        audit.record("certificate_revoke_request", "certificate", cert.number,
                     {"reason": cert.revoke_reason}, actor=actor)  # fmt: skip
    return cert


def confirm(number: str, *, actor: str) -> Certificate:
    with transaction.atomic():
        cert = _get(number)
        if cert.revoked_at is not None:
            raise RevocationError(f"证明 {cert.number} 已撤销", f"certificate {cert.number} is already revoked")  # fmt: skip
        if cert.revoke_requested_at is None:
            raise RevocationError(f"证明 {cert.number} 没有待确认的撤销申请", f"no revocation of {cert.number} waits for confirmation")  # fmt: skip
        if cert.revoke_requested_by == actor:
            raise RevocationError(
                "撤销须由两人办理：申请人不能确认自己的申请",
                "revocation takes two people: the one who asked cannot confirm",
            )
        cert.revoked_by = actor
        cert.revoked_at = timezone.now()
        cert.save(update_fields=["revoked_by", "revoked_at"])
        audit.record("certificate_revoke", "certificate", cert.number,
                     {"reason": cert.revoke_reason, "requested_by": cert.revoke_requested_by},
                     actor=actor)  # fmt: skip
    return cert


def pending(number: str) -> bool:
    return Certificate.objects.filter(
        number=number.strip(), revoke_requested_at__isnull=False, revoked_at__isnull=True
    ).exists()


def revoke(number: str, reason: str, *, actor: str) -> tuple[Certificate, bool]:
    """The CLI's single command: asks when nothing is pending, confirms otherwise. Returns the
    certificate and whether it is now revoked."""
    if pending(number):
        return confirm(number, actor=actor), True
    return request(number, reason, actor=actor), False
