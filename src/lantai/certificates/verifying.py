"""Verifying a certificate from what a verifier holds: the PDF, a photo or scan of its QR code,
or the QR text, against a trust list and status lists (files, or this installation's own).

For a PDF, besides the payload checks (standards/certificate_verify.py): the PAdES signature must
be intact, cover the whole file and chain to a root on the trust list, and the content embedded in
the PDF must be the content whose digest the payload signs — so neither an edited PDF nor a genuine
payload put onto another certificate's PDF verifies."""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from lantai.standards import certificate_lists, certificate_verify

from . import document, qr

PAYLOAD_PREFIX = "LTC1:"


class Unreadable(Exception):
    """The input holds nothing to verify (no file, not a PDF or image, no QR code found)."""


@dataclass(frozen=True)
class Outcome:
    verdict: certificate_verify.Verdict
    source: str  # pdf | image | payload
    pdf: dict[str, Any] | None = None  # the PDF evidence, when a PDF was given

    def as_dict(self) -> dict[str, Any]:
        v = self.verdict
        return {
            "valid": v.valid, "reason": v.reason, "message": v.message_zh,
            "message_en": v.message_en, "number": v.number, "issuer": v.issuer,
            "issued": _iso(v.issued), "expires": _iso(v.expires), "status_list_age_s": v.status_list_age_s,
            "source": self.source, "pdf": self.pdf,
        }  # fmt: skip


def _iso(at: Any) -> Any:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if isinstance(at, datetime) else at


def payload_from_image(image: bytes) -> str:
    try:
        texts = qr.read_qr(image)
    except qr.QrReadError as exc:
        raise Unreadable(f"文件不是可读的图像：{exc}") from exc
    if not texts:
        raise Unreadable("图像中没有找到二维码")
    ours = sorted({t for t in texts if t.startswith(PAYLOAD_PREFIX)})
    if len(ours) > 1:
        raise Unreadable("图像中有多个证明二维码，请每次只拍一份证明的二维码")
    # ours; else the first code found, which the verifier then names as malformed (a re-encoded
    # or foreign code is an invalid certificate, not an unreadable picture)
    return ours[0] if ours else texts[0]


def _fail(verdict: certificate_verify.Verdict, reason: str, zh: str, en: str) -> certificate_verify.Verdict:  # fmt: skip
    return replace(verdict, valid=False, reason=reason, message_zh=zh, message_en=en)


def verify(
    *, pdf: bytes | None = None, ofd: bytes | None = None, image: bytes | None = None,
    payload: str | None = None,
    trust_list: dict[str, Any], status_lists: Sequence[dict[str, Any]],
    roots: frozenset[str], now: datetime,
) -> Outcome:  # fmt: skip
    if pdf is not None:
        return _verify_pdf(pdf, trust_list, status_lists, roots, now)
    if ofd is not None:
        return _verify_ofd(ofd, trust_list, status_lists, roots, now)
    source = "image" if image is not None else "payload"
    text = payload_from_image(image) if image is not None else (payload or "")
    verdict = certificate_verify.verify(text, trust_list=trust_list, status_lists=status_lists, roots=roots, now=now)  # fmt: skip
    return Outcome(verdict, source)


def _pades_roots(trust_list: dict[str, Any], roots: frozenset[str]) -> list[bytes]:
    try:
        body = certificate_lists.open_envelope(trust_list, "lantai-trust-list/1", roots)
    except certificate_lists.ListError:
        return []
    return [p.encode("ascii") for p in body.get("pades_roots", []) if isinstance(p, str)]


def _verify_ofd(
    data: bytes, trust_list: dict[str, Any], status_lists: Sequence[dict[str, Any]],
    roots: frozenset[str], now: datetime,
) -> Outcome:  # fmt: skip
    """An OFD rendition carries no 电子签章: its attached payload must verify and its attached
    content must be the content the payload signs; what its page shows is not signed, so the
    outcome names the verified content for the reader to compare."""
    from . import ofd

    evidence = ofd.read_ofd(data)
    if not evidence.readable or evidence.payload_text is None:
        raise Unreadable(f"OFD 文件无法读取：{evidence.problem}")
    verdict = certificate_verify.verify(
        evidence.payload_text, trust_list=trust_list, status_lists=status_lists, roots=roots,
        now=now, content_bytes=evidence.content_bytes or b"",
    )  # fmt: skip
    facts: dict[str, Any] = {"signed": False, "note": "OFD 版式未签名：请以二维码核验出的内容为准"}
    printed = _printed_payloads(data)
    if verdict.valid and printed and evidence.payload_text not in printed:
        verdict = _fail(verdict, "payload_mismatch", "OFD 页面上的二维码与其附带的证明数据不一致", "the QR code on the OFD page is not the payload attached to it")  # fmt: skip
    if verdict.valid and evidence.content_bytes is not None:
        facts["content"] = json.loads(evidence.content_bytes)
    return Outcome(verdict, "ofd", facts)


def _printed_payloads(data: bytes) -> set[str]:
    """The certificate payloads of the QR images inside an OFD package (read_ofd has checked
    the package's names and sizes)."""
    found: set[str] = set()
    with zipfile.ZipFile(io.BytesIO(data)) as package:
        for name in package.namelist():
            if name.lower().endswith(".png"):
                try:
                    found.update(
                        t for t in qr.read_qr(package.read(name)) if t.startswith(PAYLOAD_PREFIX)
                    )
                except qr.QrReadError:
                    continue
    return found


def _issuer_repository(
    trust_list: dict[str, Any], roots: frozenset[str], verdict: certificate_verify.Verdict
) -> str | None:
    """The archives code the trust list gives the payload's issuer key."""
    if verdict.payload is None:
        return None
    try:
        body = certificate_lists.open_envelope(trust_list, "lantai-trust-list/1", roots)
    except certificate_lists.ListError:
        return None
    for issuer in body.get("issuers", []):
        if issuer.get("key_id") == verdict.payload.issuer_key_id:
            return str(issuer.get("repository_code"))
    return None


def _verify_pdf(
    pdf: bytes, trust_list: dict[str, Any], status_lists: Sequence[dict[str, Any]],
    roots: frozenset[str], now: datetime,
) -> Outcome:  # fmt: skip
    if not pdf.startswith(b"%PDF-"):
        raise Unreadable("文件不是 PDF")
    pades_roots = _pades_roots(trust_list, roots)
    evidence = None
    for root in pades_roots or [b""]:
        evidence = document.inspect(pdf, root)
        if evidence.trusted:
            break
    assert evidence is not None
    if not evidence.readable:
        raise Unreadable(f"PDF 无法读取：{evidence.problem}")
    facts = {
        "signed": evidence.signed, "intact": evidence.intact, "trusted": evidence.trusted,
        "whole_file": evidence.whole_file, "signer": evidence.signer, "problem": evidence.problem,
    }  # fmt: skip
    try:
        text = payload_from_image(qr.render_page(pdf))
    except (Unreadable, qr.QrReadError) as exc:
        if evidence.signed and not (evidence.intact and evidence.whole_file):
            # an altered PDF is invalid whether or not its QR still reads
            nothing = certificate_verify.verify("", trust_list=trust_list, status_lists=status_lists, roots=roots, now=now)  # fmt: skip
            return Outcome(_fail(nothing, "pdf_altered", "PDF 的电子签名不完整或已被改动", "the PDF's signature is missing or the PDF was altered"), "pdf", facts)  # fmt: skip
        raise Unreadable(f"PDF 上没有可读的证明二维码：{exc}") from exc
    verdict = certificate_verify.verify(
        text, trust_list=trust_list, status_lists=status_lists, roots=roots, now=now,
        content_bytes=evidence.content_bytes if evidence.content_bytes is not None else b"",
    )  # fmt: skip
    if not verdict.valid and verdict.reason != "digest_mismatch":
        return Outcome(verdict, "pdf", facts)
    if not (evidence.signed and evidence.intact):
        verdict = _fail(verdict, "pdf_altered", "PDF 的电子签名不完整或已被改动", "the PDF's signature is missing or the PDF was altered")  # fmt: skip
    elif not evidence.whole_file:
        verdict = _fail(verdict, "pdf_altered", "PDF 在签名后被追加修改", "the PDF was changed after it was signed")  # fmt: skip
    elif not evidence.trusted:
        verdict = _fail(verdict, "pdf_untrusted", "PDF 的签名证书不属于信任列表中的出证机构", "the PDF was signed by a certificate outside the trust list")  # fmt: skip
    elif evidence.signer_code != _issuer_repository(trust_list, roots, verdict):
        verdict = _fail(verdict, "pdf_wrong_signer", "PDF 由另一档案馆签名，与二维码中的出证机构不符", "the PDF was signed by another archives than the QR code's issuer")  # fmt: skip
    elif evidence.payload_text is not None and evidence.payload_text != text:
        verdict = _fail(verdict, "payload_mismatch", "PDF 上的二维码与 PDF 内嵌的证明数据不一致", "the QR code on the PDF is not the one embedded in it")  # fmt: skip
    return Outcome(verdict, "pdf", facts)
