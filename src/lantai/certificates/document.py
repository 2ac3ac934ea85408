"""The certificate document (婚姻登记记录证明 / 档案查询证明): rendered to PDF/A-3b, signed
(PAdES-B-B), and read back.

- :func:`render` lays out the content (a Django template, WeasyPrint) with the seal image and the
  QR code of the signed payload, and embeds two associated files (PDF/A-3 allows them): the
  canonical content bytes as ``certificate.json`` (the payload's digest is taken over them) and the
  payload text as ``payload.txt``.
- :func:`sign` adds the archives' PAdES signature as an incremental update, so the PDF/A part
  stays as rendered.
- :func:`inspect` says what a PDF proves: whether it parses, is signed, is unaltered since
  signing, chains to the province's root, and whether anything was appended after the signature;
  and it gives the embedded files *of the signed revision*. It never raises on a damaged file.

A certificate is authentic only when ``intact and trusted and whole_file`` all hold; the files it
returns are those the signature covers, but the caller must still compare them with the QR payload.
"""

from __future__ import annotations

import asyncio
import base64
import concurrent.futures
import datetime as dt
import io
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from lantai.standards import certificate_payload

from .qr import make_qr
from .x509 import Credentials

T = TypeVar("T")

__all__ = [
    "CONTENT_FILE",
    "FIELD_NAME",
    "PAYLOAD_FILE",
    "CertificateContentError",
    "PdfEvidence",
    "canonical_content",
    "inspect",
    "render",
    "sign",
]

TEMPLATE = "certificates/certificate.html"
STYLESHEET = Path(__file__).parent / "static" / "certificates" / "certificate.css"
CONTENT_FILE = "certificate.json"
PAYLOAD_FILE = "payload.txt"
FIELD_NAME = "ArchivesSeal"
REASON = "档案查询证明"
KINDS = {"record": "婚姻登记记录证明", "none_found": "档案查询证明"}
QR_ALPHANUMERIC = frozenset("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:")
QR_SYMBOL_MM = 32.0  # the symbol without its quiet zone; at least 30 mm scans from a phone photo


class CertificateContentError(ValueError):
    """The content given to :func:`render` lacks what the certificate must show."""


def canonical_content(content: dict[str, Any]) -> bytes:
    """The bytes whose digest the QR payload carries (the payload format's one definition)."""
    return certificate_payload.canonical_content(content)


# --- render ---------------------------------------------------------------------------------


def _fetch(url: str, *args: Any, **kwargs: Any) -> dict[str, Any]:
    if url == STYLESHEET.as_uri():
        return {"string": STYLESHEET.read_bytes(), "mime_type": "text/css", "encoding": "utf-8"}
    if url.startswith("data:"):  # the seal and the QR code, inlined by render
        import weasyprint

        result: dict[str, Any] = weasyprint.default_url_fetcher(url)
        return result
    raise ValueError(f"certificate PDFs load no resource but their stylesheet: {url}")


def _require(content: dict[str, Any], path: str) -> Any:
    value: Any = content
    for key in path.split("."):
        if not isinstance(value, dict) or value.get(key) in (None, ""):
            raise CertificateContentError(
                f"证明内容缺少“{path}” — the certificate content lacks '{path}'"
            )
        value = value[key]
    return value


def _date_zh(value: str, field: str) -> str:
    """``2026-12-06`` or ``2026-12-06T10:20:00+08:00`` as ``2026年12月6日``; a date-time with an
    offset is shown on the calendar of the site's time zone (TIME_ZONE, Asia/Shanghai)."""
    try:
        if len(value) > 10:
            moment = dt.datetime.fromisoformat(value)
            if moment.tzinfo is not None:
                from django.utils import timezone

                moment = timezone.localtime(moment)
            day = moment.date()
        else:
            day = dt.date.fromisoformat(value)
    except (TypeError, ValueError) as exc:
        raise CertificateContentError(
            f"证明内容“{field}”不是 ISO 8601 日期：{value!r} — '{field}' is not an ISO 8601 "
            f"date: {value!r}"
        ) from exc
    return f"{day.year}年{day.month}月{day.day}日"


def _data_uri(mime: str, data: bytes) -> str:
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


def context(content: dict[str, Any], payload_text: str, seal: bytes) -> dict[str, Any]:
    kind = _require(content, "kind")
    if kind not in KINDS:
        raise CertificateContentError(
            f"证明种类“{kind}”无效，应为 record 或 none_found — the certificate kind {kind!r} "
            "is not 'record' or 'none_found'"
        )
    for path in ("number", "issuer.name", "requester.name", "basis", "purpose", "issued"):
        _require(content, path)
    records = content.get("records") or []
    if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
        raise CertificateContentError(
            "证明内容“records”须为记录（对象）的列表 — 'records' must be a list of objects"
        )
    if kind == "record" and not records:
        raise CertificateContentError(
            "婚姻登记记录证明须至少列出一条记录 — a record certificate lists at least one record"
        )
    if kind == "none_found":
        _require(content, "criteria")
    rows = []
    for i, record in enumerate(records):
        date = record.get("date") or ""
        rows.append(
            {**record, "date_display": _date_zh(date, f"records[{i}].date") if date else ""}
        )
    if not payload_text or not set(payload_text) <= QR_ALPHANUMERIC:
        raise CertificateContentError(
            "二维码载荷须为非空的 QR 字母数字字符（大写 Base45）— the QR payload must be non-empty "
            "QR alphanumeric text (upper-case Base45)"
        )
    if not seal.startswith(b"\x89PNG\r\n\x1a\n"):
        raise CertificateContentError("印章图像须为 PNG — the seal image must be a PNG")
    qr = make_qr(payload_text)
    modules = 17 + 4 * qr.version
    return {
        "c": content,
        "title": content.get("title") or KINDS[kind],
        "none_found": kind == "none_found",
        "records": rows,
        "issued_display": _date_zh(content["issued"], "issued"),
        "expires_display": _date_zh(content["expires"], "expires")
        if content.get("expires")
        else "长期",
        "seal_uri": _data_uri("image/png", seal),
        "qr_uri": _data_uri("image/svg+xml", qr.svg.encode("utf-8")),
        "qr_width_mm": f"{QR_SYMBOL_MM * (modules + 8) / modules:.1f}",
    }


def render(content: dict[str, Any], payload_text: str, *, seal: bytes) -> bytes:
    """The certificate as PDF/A-3b bytes, with ``certificate.json`` (the canonical content) and
    ``payload.txt`` embedded as associated files."""
    from django.template.loader import render_to_string

    html = render_to_string(TEMPLATE, context(content, payload_text, seal))

    import weasyprint
    from PIL import ImageFile

    # importing weasyprint turns on Pillow's process-wide leniency for truncated images; the
    # DA/T 31 checks must see a truncated scan as truncated (see lantai.web.report_pdf)
    ImageFile.LOAD_TRUNCATED_IMAGES = False

    attachments = [
        weasyprint.Attachment(
            file_obj=io.BytesIO(canonical_content(content)),
            name=CONTENT_FILE,
            description="证明内容（规范化 JSON，二维码摘要的原文）",
            relationship="Data",
        ),
        weasyprint.Attachment(
            file_obj=io.BytesIO(payload_text.encode("ascii")),
            name=PAYLOAD_FILE,
            description="二维码载荷（SM2 签名）",
            relationship="Supplement",
        ),
    ]
    document = weasyprint.HTML(string=html, base_url=STYLESHEET.parent.as_uri() + "/",
                               url_fetcher=_fetch, media_type="print")  # fmt: skip
    pdf: bytes = document.write_pdf(pdf_variant="pdf/a-3b", attachments=attachments)
    return pdf


# --- sign -----------------------------------------------------------------------------------


def outside_event_loop(function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Call ``function`` — pyHanko's sign and validate, which run ``asyncio.run`` inside — in
    a worker thread when this thread already runs an event loop (an async view, a test beside
    Playwright), where ``asyncio.run`` would refuse."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return function(*args, **kwargs)
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(function, *args, **kwargs).result()


def sign(pdf: bytes, credentials: Credentials) -> bytes:
    """``pdf`` with the archives' PAdES-B-B signature (SHA-256, ECDSA) appended as an incremental
    update in the invisible field ``ArchivesSeal``."""
    from pyhanko.keys import load_certs_from_pemder_data, load_private_key_from_pemder_data
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import fields, signers
    from pyhanko_certvalidator.registry import SimpleCertificateStore

    (certificate,) = load_certs_from_pemder_data(credentials.certificate_pem)
    chain = list(load_certs_from_pemder_data(credentials.chain_pem))
    signer = signers.SimpleSigner(
        signing_cert=certificate,
        signing_key=load_private_key_from_pemder_data(credentials.key_pem, passphrase=None),
        cert_registry=SimpleCertificateStore.from_certs(chain),  # type: ignore[no-untyped-call]
    )
    metadata = signers.PdfSignatureMetadata(
        field_name=FIELD_NAME,
        reason=REASON,
        location=credentials.signer,
        subfilter=fields.SigSeedSubFilter.PADES,
        md_algorithm="sha256",
    )
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
    _align_producer(writer)
    out = io.BytesIO()
    outside_event_loop(signers.sign_pdf, writer, metadata, signer=signer, output=out)
    return out.getvalue()


def _align_producer(writer: Any) -> None:
    """PDF/A wants the Info dictionary and the XMP metadata to agree. pyHanko sets XMP
    pdf:Producer to its own name but appends that name to the Info /Producer; giving Info the
    same name first keeps the two equal after signing."""
    from pyhanko.pdf_utils import generic
    from pyhanko.pdf_utils.metadata.model import VENDOR

    reference = writer.trailer.raw_get("/Info") if "/Info" in writer.trailer else None
    if isinstance(reference, generic.IndirectObject):
        info = reference.get_object()  # type: ignore[no-untyped-call]
        info[generic.NameObject("/Producer")] = generic.TextStringObject(VENDOR)
        writer.mark_update(reference)


# --- inspect --------------------------------------------------------------------------------


@dataclass(frozen=True)
class PdfEvidence:
    readable: bool
    signed: bool
    intact: bool  # the signed bytes are unchanged and the signature is mathematically valid
    trusted: bool  # the signer's certificate chains to the given root
    whole_file: bool  # the signature covers the entire file: nothing appended after signing
    signer: str
    content_bytes: bytes | None  # certificate.json of the signed revision, when intact
    payload_text: str | None  # payload.txt of the signed revision, when intact
    problem: str | None  # the first thing wrong, Chinese — English; None when all holds
    signer_code: str = ""  # the leaf's O: the repository code of the archives that signed

    @property
    def authentic(self) -> bool:
        return self.readable and self.signed and self.intact and self.trusted and self.whole_file


def _unreadable(problem: str) -> PdfEvidence:
    return PdfEvidence(False, False, False, False, False, "", None, None, problem)


def _embedded_files(pdf: bytes) -> dict[str, bytes]:
    import pikepdf

    with pikepdf.open(io.BytesIO(pdf)) as document:
        return {name: spec.get_file().read_bytes() for name, spec in document.attachments.items()}


def inspect(pdf: bytes, root_pem: bytes) -> PdfEvidence:
    """What the PDF proves against the root certificate ``root_pem``; never raises on bad input."""
    from pyhanko.keys import load_certs_from_pemder_data
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko.sign.validation.status import SignatureCoverageLevel
    from pyhanko_certvalidator import ValidationContext

    try:
        reader = PdfFileReader(io.BytesIO(pdf), strict=False)
        signatures = list(reader.embedded_signatures)
    except Exception as exc:  # any parser failure on hostile bytes means: not a readable PDF
        return _unreadable(f"PDF 文件无法解析：{exc} — the PDF cannot be parsed: {exc}")
    ours = [s for s in signatures if s.field_name == FIELD_NAME]
    if not ours:
        try:
            files = _embedded_files(pdf)
        except Exception as exc:
            return _unreadable(f"PDF 文件无法解析：{exc} — the PDF cannot be parsed: {exc}")
        return PdfEvidence(
            True, False, False, False, False, "",
            files.get(CONTENT_FILE), _text(files.get(PAYLOAD_FILE)),
            f"PDF 未签名（无“{FIELD_NAME}”签名） — the PDF has no '{FIELD_NAME}' signature",
        )  # fmt: skip
    signature = ours[-1]
    try:
        roots = list(load_certs_from_pemder_data(root_pem))
    except Exception:  # an unusable root trusts nothing; the answer is "not trusted", not a crash
        roots = []
    context = ValidationContext(trust_roots=roots, allow_fetching=False)
    try:
        status = outside_event_loop(validate_pdf_signature, signature, context, skip_diff=True)
        intact = bool(status.intact and status.valid)
        trusted = bool(status.trusted)
        coverage = status.coverage
        subject = status.signing_cert.subject.native
        signer = str(subject.get("common_name", ""))
        signer_code = str(subject.get("organization_name", ""))
    except Exception as exc:  # a damaged signature dictionary or CMS blob can fail anywhere
        return PdfEvidence(
            True, True, False, False, False, "", None, None,
            f"签名无法验证：{exc} — the signature cannot be validated: {exc}",
        )  # fmt: skip
    whole_file = coverage == SignatureCoverageLevel.ENTIRE_FILE
    content = payload = None
    covered = (SignatureCoverageLevel.ENTIRE_FILE, SignatureCoverageLevel.ENTIRE_REVISION)
    if intact and coverage in covered:
        _, _, start, length = (int(n) for n in signature.byte_range)
        try:  # the files as signed, whatever a later revision may have put in their place
            files = _embedded_files(pdf[: start + length])
            content, payload = files.get(CONTENT_FILE), _text(files.get(PAYLOAD_FILE))
        except Exception:
            content = payload = None
    problem = None
    if not intact:
        problem = "签名与文件内容不符：签名后文件被改动 — the file was altered after signing"
    elif not trusted and not roots:
        problem = "没有可用的根证书，无法判断签名是否可信 — no usable root certificate was given"
    elif not trusted:
        problem = (
            f"签名证书（{signer}）不属于本省证明签发根证书 — the signing certificate ({signer}) "
            "does not chain to the province's certificate root"
        )
    elif not whole_file:
        problem = (
            "签名之后文件被追加了修改（增量更新） — something was appended to the file after it "
            "was signed (an incremental update)"
        )
    elif content is None:
        problem = f"PDF 未嵌入 {CONTENT_FILE} — the PDF does not embed {CONTENT_FILE}"
    return PdfEvidence(
        True, True, intact, trusted, whole_file, signer, content, payload, problem, signer_code
    )


def _text(data: bytes | None) -> str | None:
    if data is None:
        return None
    try:
        return data.decode("ascii")
    except UnicodeDecodeError:
        return None
