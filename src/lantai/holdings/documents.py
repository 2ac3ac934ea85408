"""Donation certificates (捐赠证书) and thanks letters (感谢信) of accessions, as PDF/A-3b.

A document is issued once per accession and kind, with the next number of its year
("ZS-2026-0001" certificates, "GX-2026-0001" thanks letters). What it says is frozen in
`IssuedDocument.content` when it is issued, so printing it again later (after the donor's name
or the accession was edited) gives the same bytes; its SM3 is kept and checked on every
printing. Documents are printed in Chinese whatever the interface language (official wording).
Fonts come from fontconfig (Noto CJK) and are embedded; nothing is fetched."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import IntegrityError, transaction

from lantai.catalog.models import Repository
from lantai.core.audit import record
from lantai.core.models import User
from lantai.core.roles import EDIT, VIEW
from lantai.core.sm3 import sm3_hex

from .models import Accession, IssuedDocument
from .services import HoldingsError, _actor, _require

PREFIX = {"certificate": "ZS", "thanks": "GX"}
TITLE = {"certificate": "捐赠证书", "thanks": "感谢信"}
TEMPLATE = "holdings/pdf_document.html"


def _fetch(url: str, *args: Any, **kwargs: Any) -> dict[str, Any]:
    raise ValueError(f"accession documents load no resource: {url}")


def issue(
    user: User | None, accession: Accession, kind: str, *, on: dt.date | None = None
) -> tuple[IssuedDocument, bool]:
    """The accession's document of `kind`, issued now when it has none; (document, issued now).
    A certificate is for an accepted donation (捐赠, 已入藏); a thanks letter for any accepted
    accession."""
    if kind not in PREFIX:
        raise HoldingsError(f"文书种类须为 certificate（捐赠证书）或 thanks（感谢信）：{kind}")
    existing = IssuedDocument.objects.filter(accession=accession, kind=kind).first()
    if existing is not None:
        _require(user, VIEW)
        return existing, False
    _require(user, EDIT)
    if accession.status != "accepted":
        raise HoldingsError(
            f"征集登记 {accession.number} 尚未入藏（当前：{accession.get_status_display()}），"
            f"不能出具{TITLE[kind]}"
        )
    if kind == "certificate" and accession.kind != "捐赠":
        raise HoldingsError(
            f"捐赠证书只出具给捐赠（kind 捐赠）：征集登记 {accession.number} 为{accession.kind}"
        )
    day = on or dt.date.today()
    with transaction.atomic():
        # the accession's row first: a second desk issuing the same document waits here and
        # then finds the one issued (numbering is serialised by the repository's row)
        Accession.objects.select_for_update().get(pk=accession.pk)
        existing = IssuedDocument.objects.filter(accession=accession, kind=kind).first()
        if existing is not None:
            return existing, False
        Repository.objects.select_for_update().get(pk=accession.repository_id)
        number = _next_number(kind, day.year)
        content = _content(accession, kind, number, day)
        pdf = render(content)
        try:
            with transaction.atomic():
                doc = IssuedDocument.objects.create(
                    accession=accession, kind=kind, number=number, issued_on=day,
                    issued_by=_actor(user) or "", content=content, sm3=sm3_hex(pdf),
                )  # fmt: skip
        except IntegrityError:
            # issued meanwhile all the same (the unique constraint holds): that one is the one
            existing = IssuedDocument.objects.filter(accession=accession, kind=kind).first()
            if existing is None:
                raise
            return existing, False
        record("holdings.document.issue", "accession", accession.pk,
               {"number": accession.number, "kind": kind, "document": number, "sm3": doc.sm3},
               actor=_actor(user))  # fmt: skip
    return doc, True


def pdf_of(user: User | None, doc: IssuedDocument) -> bytes:
    """The document's PDF, made again from what it said when issued; refused (HoldingsError)
    if it would not be the same bytes as the one issued."""
    _require(user, VIEW)
    pdf = render(doc.content)
    if sm3_hex(pdf) != doc.sm3:
        raise HoldingsError(
            f"{TITLE[doc.kind]} {doc.number} 无法按原样重新生成（SM3 不一致）：请联系系统管理员"
        )
    record("holdings.document.print", "accession", doc.accession_id,
           {"kind": doc.kind, "document": doc.number}, actor=_actor(user))  # fmt: skip
    return pdf


def _next_number(kind: str, year: int) -> str:
    head = f"{PREFIX[kind]}-{year:04d}-"
    used = IssuedDocument.objects.filter(number__startswith=head).values_list("number", flat=True)
    highest = max((int(n[len(head) :]) for n in used if n[len(head) :].isdigit()), default=0)
    return f"{head}{highest + 1:04d}"


def _content(accession: Accession, kind: str, number: str, day: dt.date) -> dict[str, Any]:
    repo = accession.repository
    return {
        "kind": kind,
        "title": TITLE[kind],
        "number": number,
        "issued_on": day.isoformat(),
        "archives": repo.name,
        "accession": accession.number,
        "accession_kind": accession.kind,
        "donor": accession.donor.name,
        "donor_kind": accession.donor.kind,
        "received_on": accession.received_on.isoformat(),
        "items": accession.item_count,
        "description": accession.description[:300],
        "campaign": accession.campaign.name if accession.campaign else "",
        "event": accession.event_name,
    }


def _date_zh(iso: str) -> str:
    d = dt.date.fromisoformat(iso)
    return f"{d.year}年{d.month}月{d.day}日"


def render(content: dict[str, Any]) -> bytes:
    """The document as PDF/A-3b bytes (the same content gives the same bytes)."""
    from django.template.loader import render_to_string
    from django.utils import translation

    with translation.override("zh-hans"):
        html = render_to_string(
            TEMPLATE,
            {
                "c": content,
                "issued": _date_zh(content["issued_on"]),
                "received": _date_zh(content["received_on"]),
                "honorific": "先生/女士" if content.get("donor_kind") == "person" else "",
            },
        )
    import weasyprint
    from PIL import ImageFile

    # importing weasyprint turns on Pillow's process-wide leniency for truncated images; the
    # DA/T 31 checks must see a truncated scan as truncated (see lantai.web.report_pdf)
    ImageFile.LOAD_TRUNCATED_IMAGES = False
    document = weasyprint.HTML(string=html, url_fetcher=_fetch, media_type="print")
    pdf: bytes = document.write_pdf(pdf_variant="pdf/a-3b")
    return pdf
