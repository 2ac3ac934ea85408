"""The public record page's addresses and its IIIF viewer: the stable URL by archives code and
档号, the IIIF manifest and content-search URLs, and the `viewer` context of web/_iiif_viewer.html.

What the public may see is asked of `lantai.catalog.public` at each request (through
`access.services`); nothing here caches it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.http import HttpRequest
from django.urls import get_script_prefix, reverse
from django.utils.translation import gettext as _

from lantai.catalog import public
from lantai.catalog.models import Component, Record

FALLBACK_SIZE = "!1200,1200"  # the plain image shown without the zoom viewer


def stable_url(record: Record) -> str:
    return public.record_path(record.repository.code, record.reference_code, record.pk)


def _iiif_path(name: str, record: Record) -> str:
    """/iiif/{manifest|search}/{archives code}/{档号}."""
    return reverse(
        f"iiif_presentation:{name}", args=[record.repository.code, record.reference_code]
    )


def manifest_path(record: Record) -> str:
    return _iiif_path("manifest", record)


def search_path(record: Record) -> str:
    return _iiif_path("search", record)


def image_service(component_pk: int, *, staff: bool = False) -> str:
    """The IIIF Image API service of a page image: public (watermarked) or the reading room's."""
    root = "reading-room/iiif/3" if staff else "iiif/3"
    return f"{get_script_prefix()}{root}/c{component_pk}"


@dataclass
class PageImages:
    shown: list[Component] = field(default_factory=list)
    unreadable: list[Component] = field(default_factory=list)  # no pixel size: cannot be shown


def page_images(components: Iterable[Component]) -> PageImages:
    """The page images in order, split by whether their pixel size can be read (a damaged file or
    a decompression bomb has none, and no image service can serve it)."""
    components = list(components)
    sizes = public.image_sizes(components)
    result = PageImages()
    for c in components:
        (result.shown if min(sizes[c.pk]) > 0 else result.unreadable).append(c)
    return result


def has_text(components: Iterable[Component]) -> bool:
    """Whether OCR made text for any of these page images (what content search searches)."""
    from lantai.digitization.models import Page

    ids = [c.pk for c in components]
    return bool(ids) and Page.objects.filter(component_id__in=ids, ocr_status="done").exists()


def viewer_context(
    components: list[Component], labels: list[str], *, staff: bool = False, **extra: Any
) -> dict[str, Any]:
    """The `viewer` of web/_iiif_viewer.html for these page images."""
    services = [image_service(c.pk, staff=staff) for c in components]
    return {
        "sources": [f"{s}/info.json" for s in services],
        "fallback": [f"{s}/full/{FALLBACK_SIZE}/0/default.jpg" for s in services],
        "labels": labels,
        "mode": "single",
        "manifest": "",
        "search": "",
        **extra,
    }


def public_viewer(record: Record, components: list[Component], title: str) -> dict[str, Any]:
    """The viewer of the public record page (manifest and content search when there is text)."""
    if not components:
        return viewer_context([], [])
    total = len(components)
    labels = [
        _("《%(title)s》第 %(n)s 页（共 %(total)s 页），带水印")
        % {"title": title, "n": n, "total": total}
        for n in range(1, total + 1)
    ]
    return viewer_context(
        components,
        labels,
        manifest=manifest_path(record),
        search=search_path(record) if has_text(components) else "",
    )


def record_context(request: HttpRequest, rec: Record) -> dict[str, Any]:
    """What access/record.html shows of an open record: public fields, the viewer of its page
    images, its PDFs, recordings, and its canonical and manifest links."""
    from lantai.access import delivery, services
    from lantai.catalog import open_copies
    from lantai.core import sharing
    from lantai.web import labels as vocab

    contents, others = services.public_contents(rec)
    documents = [c for c in contents if c.kind != "image"]
    states = delivery.prepare_contents(rec, documents)
    pages = page_images(c.component for c in contents if c.kind == "image")
    open_copy = services.public_open_copy(rec.pk)

    def shown_value(field: str) -> Any:
        return open_copies.public_value(rec, field, open_copy)

    title = shown_value("title")
    fields = [
        (_("档号"), rec.reference_code),
        (_("题名"), title),
        (_("责任者"), shown_value("author")),
        (_("文号"), shown_value("document_number")),
        (_("日期"), rec.date.isoformat() if rec.date else ""),
        (_("年度"), rec.year or ""),
        (_("档案馆"), rec.repository.name),
        (_("全宗"), f"{rec.fonds.code} {rec.fonds.name}"),
        (_("门类"), f"{rec.category.code} {vocab.category_name(rec.category.code)}"),
        (_("保管期限"), vocab.vocab_label("retention", rec.retention)),
        (_("开放状态"), vocab.vocab_label("open_status", rec.open_status)),
    ]
    recordings = delivery.public_recordings(rec)
    url = request.build_absolute_uri(stable_url(rec))
    citation = sharing.record_citation(rec, title=title, author=shown_value("author"), url=url)
    return {
        "record": rec,
        "title": title,
        "open_copy": open_copy,
        "fields": [(k, v) for k, v in fields if v not in ("", None)],
        "viewer": public_viewer(rec, pages.shown, title),
        "canonical_url": url,
        "share": sharing.share_block(url, title, citation),
        "manifest_url": request.build_absolute_uri(manifest_path(rec)) if pages.shown else "",
        "pdfs": [c.component for c in documents if states[c.component.pk] != "unavailable"],
        "unavailable": [c.component for c in documents if states[c.component.pk] == "unavailable"]
        + pages.unreadable,
        "recordings": recordings,
        "recordings_preparing": any(r.state == "preparing" for r in recordings),
        "others": others,
    }
