"""Issuing a certificate: number it, sign its QR payload with the archives' issuer key, lay it out
as PDF/A with the seal and the QR, sign the PDF (PAdES) and keep it.

The content (what the PDF shows) is given by the room that found the records (marriage/certify.py);
its canonical bytes are embedded in the PDF and their SM3 digest is in the signed payload, so the
payload of one certificate does not verify against another's PDF."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from lantai.catalog.models import Record, Repository
from lantai.core import audit, telemetry
from lantai.core.key_files import keys_dir
from lantai.core.sm3 import sm3_hex
from lantai.standards import certificate_payload as cp

from . import document, keys, lists, qr, seal, x509
from .models import Certificate

MAX_QR_VERSION = 12
NUMBER_PREFIX = "ZM"  # 证明
SEAL_PX = 480  # about 300 dpi at the seal's 40 mm


class IssueError(Exception):
    def __init__(self, message_zh: str, message_en: str) -> None:
        super().__init__(message_zh)
        self.message_zh, self.message_en = message_zh, message_en


@dataclass
class Draft:
    """What a room hands over to be certified."""

    repository: Repository
    kind: str  # record | none_found
    content: dict[str, Any]  # number, dates, key id and status index are added here
    names: Sequence[str]  # masked party names for the payload
    events: Sequence[tuple[str, date]]  # (J/L/CX/BJ/BL, date) for the payload
    requester_type: str
    requester_name: str
    purpose: str
    records: Sequence[Record] = field(default_factory=list)
    query_id: int | None = None
    access_request_id: int | None = None


def _iso(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _number(repository: Repository, year: int) -> str:
    if len(repository.code) > 20:
        raise IssueError(
            f"档案馆代码“{repository.code}”过长（最多 20 个字符），无法编制证明编号",
            f"the archives code {repository.code!r} is too long for a certificate number",
        )
    prefix = f"{NUMBER_PREFIX}{repository.code}-{year}-"
    count = Certificate.objects.filter(repository=repository, number__startswith=prefix).count()
    return f"{prefix}{count + 1:06d}"


def _free_index(repository: Repository) -> int:
    """A random unused status-list index: sequential ones would tell how many were issued."""
    used = Certificate.objects.filter(repository=repository).count()
    space = max(lists.MIN_STATUS_BITS, 2 * (used + 1))
    while True:
        index = secrets.randbelow(space)
        if not Certificate.objects.filter(repository=repository, status_index=index).exists():
            return index


def issue(draft: Draft, *, actor: str, now: datetime | None = None) -> Certificate:
    outcome = "failed"  # counted for /metrics (lantai.core.telemetry), whatever ends the issue
    try:
        for _attempt in range(5):  # two counters numbering at once: the second renumbers
            try:
                certificate = _issue(draft, actor, now or timezone.now().replace(microsecond=0))
            except IntegrityError:
                continue
            outcome = "issued"
            return certificate
        raise IssueError("证明编号分配冲突，请重试", "certificate numbering clashed; try again")
    finally:
        telemetry.count_certificate(draft.kind, outcome)


def _issue(draft: Draft, actor: str, now: datetime) -> Certificate:
    repository = draft.repository
    issuer = keys.signing_key(repository, now)
    signer = keys.private_key(issuer)
    expires = now + keys.validity()
    number = _number(repository, now.year)
    index = _free_index(repository)
    content = {
        **draft.content, "number": number, "kind": draft.kind, "issued": _iso(now),
        "expires": _iso(expires), "status_index": index, "issuer_key_id": issuer.key_id,
    }  # fmt: skip
    content_bytes = cp.canonical_content(content)
    payload = cp.Payload(
        number=number, issuer_key_id=issuer.key_id, content_digest=cp.content_digest(content_bytes),
        status_index=index, kind=draft.kind, names=tuple(draft.names),
        events=tuple(cp.Event(kind, day) for kind, day in draft.events),
        issued=now, expires=expires,
    )  # fmt: skip
    text = cp.encode(payload, signer.sign)
    code = qr.make_qr(text)
    if code.version > MAX_QR_VERSION:
        raise IssueError(
            f"二维码版本 {code.version} 超过 {MAX_QR_VERSION}（记录过多），请分开出证",
            f"the QR code would need version {code.version} (> {MAX_QR_VERSION}); certify fewer "
            "records at a time",
        )
    try:
        credentials = x509.signing_credentials(keys_dir(), repository.code, repository.name)
    except ValueError as exc:  # a code or name X.509 cannot carry
        raise IssueError(
            f"档案馆代码或名称无法用于签名证书：{exc}",
            f"the archives code or name cannot go into a signing certificate: {exc}",
        ) from exc
    pdf = document.render(content, text, seal=seal.seal_png(repository.name, size_px=SEAL_PX))
    pdf = document.sign(pdf, credentials)
    relative = Path("certificates") / str(now.year) / f"{number}.pdf"
    with transaction.atomic():
        certificate = Certificate.objects.create(
            number=number, repository=repository, issuer_key=issuer, kind=draft.kind,
            status_index=index, query_id=draft.query_id, access_request_id=draft.access_request_id,
            content=content,
            content_digest=payload.content_digest.hex(), payload=text, qr_version=code.version,
            pdf_path=str(relative), pdf_sm3=sm3_hex(pdf), requester_type=draft.requester_type,
            requester_name=draft.requester_name[:60], purpose=draft.purpose[:500],
            issued_at=now, expires_at=expires, issued_by=actor,
        )  # fmt: skip
        certificate.records.set(draft.records)
        _store(relative, pdf)
        audit.record(
            "certificate_issue", "certificate", number,
            {"kind": draft.kind, "records": [r.pk for r in draft.records],
             "requester_type": draft.requester_type, "query": draft.query_id,
             "issuer_key": issuer.key_id, "pdf_sm3": certificate.pdf_sm3},
            actor=actor,
        )  # fmt: skip
    return certificate


def _store(relative: Path, pdf: bytes) -> None:
    path = Path(settings.MEDIA_ROOT) / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".part")
    tmp.write_bytes(pdf)
    tmp.replace(path)


def pdf_bytes(certificate: Certificate) -> bytes:
    return (Path(settings.MEDIA_ROOT) / certificate.pdf_path).read_bytes()


def ofd_bytes(certificate: Certificate) -> bytes:
    """The OFD rendition (GB/T 33190) of a certificate, made on first request and kept beside
    the PDF: it is the same for the same certificate, and issuing stays as fast as the PDF alone.
    It carries no 电子签章: its signed QR payload and embedded content are what verify."""
    from . import ofd

    path = (Path(settings.MEDIA_ROOT) / certificate.pdf_path).with_suffix(".ofd")
    if path.exists():
        return path.read_bytes()
    data = ofd.render_ofd(
        certificate.content, certificate.payload,
        seal_png=seal.seal_png(certificate.repository.name, size_px=SEAL_PX),
        qr_png=qr.make_qr(certificate.payload).png,
    )  # fmt: skip
    _store(path.relative_to(Path(settings.MEDIA_ROOT)), data)
    return data
