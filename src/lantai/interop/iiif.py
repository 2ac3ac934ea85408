"""IIIF Presentation 3.0 manifests and collections of open records, and Content Search 2.0 over
their OCR text (the documents themselves: `lantai.standards.iiif_presentation`).

What the public may see is asked of `lantai.catalog.public` on every call, never remembered. Only
page images are canvases (`catalog.public.public_images`, recordings left out as the portal
leaves them out); the closed master of a partly opened record has none (the portal shows its open
copy), and a record without a page image has no manifest (a Manifest needs a Canvas): None.
Fonds collections list the open digitized records by 档号: up to COLLECTION_PAGE manifests, else
sub-collections (`?page=n`) of COLLECTION_PAGE manifests each.

Search: the lines of the record's pages as people corrected them (`digitization.reading.lines`)
that hold a term of the query, text and terms folded as the catalogue search folds them (case,
full-width forms; not 繁/简, which search does not fold), a term split over two lines marking both
(as `reading.hit_lines`). Boxes go from the page's pixels to the canvas (the component's image
size). A later frame of a multi-page file is on no canvas (the image service shows the first), a
line a person added has no box: neither is highlighted.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

from django.conf import settings
from django.db.models import Min, Q, QuerySet
from django.utils.translation import gettext as _

from lantai.catalog import holds, public
from lantai.catalog.models import Component, Fonds, ImageSize, OpenCopy, Record
from lantai.digitization import reading
from lantai.digitization.models import Page, Recording
from lantai.interop import oai
from lantai.search.folding import fold
from lantai.standards import iiif_image, oai_pmh
from lantai.standards import iiif_presentation as iiif
from lantai.standards.metadata_profile import load_profile

COLLECTION_PAGE = 1000  # manifests in one collection (or sub-collection) answer
HITS_PAGE = 100  # annotations in one search answer
MAX_QUERY = 200  # characters of q (the portal's search takes 200 too)
MAX_TERMS = 10
MAX_CODE = 32  # Repository.code
MAX_REFERENCE = 100  # Record.reference_code
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_SPACE = re.compile(r"\s+")
_HAN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_SAFE = "!$&'()*+,;=~:@-._"  # what Django's reverse() leaves unquoted in a path segment


class QueryError(ValueError):
    """A query the service does not take; `message` (translated) and `message_en` name the rule."""

    def __init__(self, message: str, message_en: str) -> None:
        super().__init__(message_en)
        self.message, self.message_en = message, message_en


@dataclass(frozen=True)
class Urls:
    """Absolute URL prefixes of the request's site (each ends with "/"): the IIIF mount (manifest/,
    collection/, search/ and the Image API under 3/), the public portal, and the OAI-PMH
    endpoint (no slash)."""

    iiif: str
    public: str
    oai: str = ""

    def manifest(self, code: str, reference: str) -> str:
        return f"{self.iiif}manifest/{_q(code)}/{_q(reference, path=True)}"

    def search(self, code: str, reference: str) -> str:
        return f"{self.iiif}search/{_q(code)}/{_q(reference, path=True)}"

    def fonds(self, code: str, fonds_code: str) -> str:
        return f"{self.iiif}collection/fonds/{_q(code)}/{_q(fonds_code, path=True)}"

    def image(self, component_id: int) -> str:
        return f"{self.iiif}3/c{component_id}"

    def canvas(self, component_id: int) -> str:
        return f"{self.iiif}canvas/c{component_id}"

    def record_page(self, code: str, reference: str) -> str:
        """The stable public page of a record."""
        return f"{self.public}archives/{_q(code)}/{_q(reference, path=True)}/"


def _q(text: str, *, path: bool = False) -> str:
    return quote(text, safe=_SAFE + ("/" if path else ""))


def image_profile() -> str:
    """The Image API compliance level the image service (`/iiif/3/`) declares."""
    level = str(iiif_image.spec()["implemented"]["level"])
    return level if level in iiif.IMAGE_PROFILES else "level1"


def _played(record_ids: Iterable[int]) -> set[int]:
    """Components that are recordings (shown in a player, never as a page)."""
    rows = Recording.objects.filter(record_id__in=list(record_ids), component__isnull=False)
    return set(rows.values_list("component_id", flat=True))


def _sizes(record: Record, components: list[Component]) -> dict[int, tuple[int, int]]:
    """`catalog.public.image_sizes` of a record's page images: the sizes measured before in one
    query by record (no list of a thousand ids to bind, no model objects), the others measured
    (and kept) by `image_sizes`."""
    known = {
        pk: (w, h, sm3)
        for pk, w, h, sm3 in ImageSize.objects.filter(component__record_id=record.pk).values_list(
            "component_id", "width", "height", "sm3"
        )
    }
    sizes: dict[int, tuple[int, int]] = {}
    unknown = []
    for c in components:
        size = known.get(c.pk)
        if size is not None and size[2] == c.sm3:
            sizes[c.pk] = (size[0], size[1])
        else:
            unknown.append(c)
    if unknown:
        sizes.update(public.image_sizes(unknown))
    return sizes


def page_images(record: Record) -> list[tuple[Component, tuple[int, int]]]:
    """The record's public page images in order with their pixel sizes (unreadable ones left
    out: a canvas needs a size)."""
    shown = public.public_images([record.pk]).get(record.pk, [])
    played = _played([record.pk])
    shown = [c for c in shown if c.pk not in played]
    sizes = _sizes(record, shown)
    return [(c, sizes[c.pk]) for c in shown if sizes[c.pk][0] > 0 and sizes[c.pk][1] > 0]


def _lang_of(value: str) -> iiif.LangMap:
    return iiif.lang(zh=value) if _HAN.search(value) else iiif.lang(none=value)


@functools.cache
def _field_label(field: str) -> iiif.LangMap:
    element = load_profile().by_field(field)
    return iiif.lang(zh=element.name_zh, en=element.name_en)


def _metadata(record: Record) -> list[tuple[iiif.LangMap, iiif.LangMap]]:
    out = [(iiif.lang(zh="全宗", en="fonds"), _lang_of(f"{record.fonds.code} {record.fonds.name}"))]
    values = {
        "reference_code": record.reference_code, "title": record.title, "author": record.author,
        "document_number": record.document_number,
        "date": record.date.isoformat() if record.date else "",
        "year": str(record.year) if record.year else "",
        "pages": str(record.pages) if record.pages else "",
    }  # fmt: skip
    for name, value in values.items():
        if value:
            out.append((_field_label(name), _lang_of(value)))
    return out


def _extra(record: Record, name: str) -> str:
    extra = (record.metadata or {}).get("extra") or {}
    value = extra.get(name) if isinstance(extra, dict) else None
    return value.strip() if isinstance(value, str) else ""


def _provider(record: Record, urls: Urls) -> iiif.Provider:
    name = iiif.lang(zh=record.repository.name)
    home = iiif.Link(urls.public, "Text", name, format="text/html")
    return iiif.Provider(urls.public, name, home)


def _required_statement(record: Record) -> tuple[iiif.LangMap, iiif.LangMap]:
    name = record.repository.name
    return (
        iiif.lang(zh="提供者与使用说明", en="Attribution and use"),
        iiif.lang(
            zh=f"{name}提供。公众获取的图像均带有“{name} 公众查档”水印及复制件编号，"
            "仅供查阅研究，引用请注明出处。",
            en=f"Provided by {name}. Images delivered to the public carry the watermark "
            f"“{name} 公众查档” with a copy number; for reading and research, cite the source.",
        ),
    )


def _see_also(record: Record, urls: Urls) -> list[iiif.Link]:
    if not urls.oai:
        return []
    try:
        space = oai.namespace_identifier()
    except ValueError:  # a misconfigured OAI identifier: the manifest goes without the link
        return []
    identifier = oai_pmh.oai_identifier(space, record.repository.code, record.reference_code)
    query = urlencode({"verb": "GetRecord", "metadataPrefix": "oai_dc", "identifier": identifier})
    return [
        iiif.Link(
            f"{urls.oai}?{query}", "Dataset", iiif.lang(zh="都柏林核心元数据（OAI-PMH）",
            en="Dublin Core metadata (OAI-PMH)"), format="text/xml",
            profile="http://www.openarchives.org/OAI/2.0/oai_dc/",
        )
    ]  # fmt: skip


def _renderings(record: Record, urls: Urls) -> list[iiif.Link]:
    played = _played([record.pk])
    pdfs = [
        c
        for c in Component.objects.filter(record_id=record.pk, mime_type=public.PDF_TYPE)
        if c.pk not in played and public.content_kind(c) == "pdf"
    ]
    return [
        iiif.Link(
            f"{urls.public}content/{c.pk}/document.pdf", "Text",
            iiif.lang(zh=f"PDF 文件：{c.name}", en=f"PDF file: {c.name}"),
            format="application/pdf",
        )
        for c in pdfs
    ]  # fmt: skip


def has_text(record: Record, component_ids: Iterable[int]) -> bool:
    """Whether one of these components of `record` has a page read by OCR."""
    read = Page.objects.filter(component__record_id=record.pk, ocr_status="done")
    return not set(component_ids).isdisjoint(read.values_list("component_id", flat=True))


def _rights() -> str | None:
    rights = str(getattr(settings, "IIIF_RIGHTS", "") or "")
    return rights if iiif.RIGHTS_RE.match(rights) else None


def record_manifest(record: Record, urls: Urls) -> dict[str, Any] | None:
    """The Manifest of an open record's page images; None when it has none (or is not open)."""
    if public.public_record(record.pk) is None:
        return None
    images = page_images(record)
    if not images:
        return None
    code, ref = record.repository.code, record.reference_code
    profile = image_profile()
    canvases = [
        iiif.CanvasImage(urls.canvas(c.pk), iiif.lang(zh=f"第 {n} 页", en=f"Page {n}"), w, h, urls.image(c.pk))
        for n, (c, (w, h)) in enumerate(images, 1)
    ]  # fmt: skip
    searchable = has_text(record, (c.pk for c, _size in images))
    title = record.title
    parallel = _extra(record, "并列题名")
    abstract = _extra(record, "摘要")
    summary = abstract or f"{record.fonds.name}（全宗 {record.fonds.code}）"
    parts = iiif.ManifestParts(
        id=urls.manifest(code, ref),
        label=iiif.lang(zh=title, en=parallel if parallel and not _HAN.search(parallel) else None),
        summary=_lang_of(summary),
        metadata=_metadata(record),
        required_statement=_required_statement(record),
        rights=_rights(),
        homepage=iiif.Link(
            urls.record_page(code, ref), "Text", iiif.lang(zh=title), format="text/html"
        ),
        see_also=_see_also(record, urls),
        rendering=_renderings(record, urls),
        provider=_provider(record, urls),
        canvases=canvases,
        search_service=urls.search(code, ref) if searchable else None,
        image_profile=profile,
        part_of=[(urls.fonds(code, record.fonds.code), iiif.lang(zh=record.fonds.name))],
    )
    return iiif.manifest(parts)


# --- collections ---------------------------------------------------------------------------------
def _image_components() -> QuerySet[Component]:
    """Components that `catalog.public.content_kind` calls images, as a query (recordings out)."""
    suffixes = "|".join(re.escape(s) for s in sorted(public.IMAGE_SUFFIXES))
    kinds = Q(mime_type__in=sorted(public.IMAGE_TYPES | {"image/jpx"})) | Q(
        mime_type="application/octet-stream", name__iregex=rf"({suffixes})$"
    )
    recordings = Recording.objects.filter(component__isnull=False).values("component_id")
    return Component.objects.filter(kinds).exclude(pk__in=recordings)


def digitized_open_records(fonds: Fonds) -> QuerySet[Record]:
    """The open records of `fonds` that have a page image the public may see, by 档号 (those
    under a publication hold in force are left out: their images are not published)."""
    return (
        public.open_records()
        .filter(holds.not_held("publication"))
        .filter(fonds=fonds, pk__in=_image_components().values("record_id"))
        .exclude(pk__in=OpenCopy.objects.values("record_id"))
        .order_by("reference_code", "pk")
    )


def manifest_refs(records: list[Record], urls: Urls) -> list[dict[str, Any]]:
    """Collection items for open records (a thumbnail of each one's first page image): two
    queries for any number of records. Records with no public page image are left out."""
    ids = [r.pk for r in records]
    first = dict(
        _image_components()
        .filter(record_id__in=ids)
        .values("record_id")
        .annotate(first=Min("id"))
        .values_list("record_id", "first")
    )
    profile = image_profile()
    return [
        iiif.manifest_ref(
            urls.manifest(r.repository.code, r.reference_code),
            iiif.lang(zh=r.title) if _HAN.search(r.title) else iiif.lang(none=r.title),
            thumbnail_service=urls.image(first[r.pk]),
            image_profile=profile,
        )
        for r in records
        if r.pk in first
    ]


def fonds_collection(
    archives_code: str, fonds_code: str, urls: Urls, page: int | None = None
) -> dict[str, Any] | None:
    """The Collection of a fonds' open digitized records (or page `page` of it, when it has more
    than COLLECTION_PAGE); None for a fonds with none, an unknown one, or a page out of range."""
    if not (
        public.acceptable_code(archives_code, MAX_CODE) and public.acceptable_code(fonds_code, 16)
    ):
        return None
    fonds = (
        Fonds.objects.filter(repository__code=archives_code, code=fonds_code)
        .select_related("repository")
        .first()
    )
    if fonds is None:
        return None
    records = digitized_open_records(fonds).select_related("repository")
    total = records.count()
    if total == 0:
        return None  # nothing of it is public: not even its name is shown
    pages = -(-total // COLLECTION_PAGE)
    whole_id = urls.fonds(archives_code, fonds_code)
    label = iiif.lang(zh=f"{fonds.name}（全宗 {fonds.code}）", en=f"Fonds {fonds.code}")
    provider = iiif.Provider(urls.public, iiif.lang(zh=fonds.repository.name))
    summary = iiif.lang(zh=f"已数字化的开放档案 {total} 件", en=f"{total} open digitized records")
    if page is None and pages == 1:
        items = manifest_refs(list(records), urls)
        return iiif.collection(whole_id, label, items, summary=summary, provider=provider)
    if page is None:
        bounds = list(records.values_list("reference_code", flat=True)[::COLLECTION_PAGE])
        items = [
            iiif.collection_ref(
                f"{whole_id}?page={n}",
                iiif.lang(zh=f"第 {n} 组（自 {start} 起）", en=f"Part {n} (from {start})"),
            )
            for n, start in enumerate(bounds, 1)
        ]
        return iiif.collection(whole_id, label, items, summary=summary, provider=provider)
    if not 1 <= page <= pages:
        return None
    chunk = list(records[(page - 1) * COLLECTION_PAGE : page * COLLECTION_PAGE])
    return iiif.collection(
        f"{whole_id}?page={page}",
        iiif.lang(zh=f"{fonds.name} 第 {page} 组", en=f"Fonds {fonds.code}, part {page}"),
        manifest_refs(chunk, urls),
        provider=provider,
        part_of=[(whole_id, label)],
    )


# --- Content Search 2.0 --------------------------------------------------------------------------
def query_terms(q: str) -> list[str]:
    """The folded terms of a query; QueryError for a missing, overlong or malformed one."""
    missing = QueryError(_("请填写检索词（参数 q）"), "Enter a search term (parameter q)")
    if not q.strip():
        raise missing
    if len(q) > MAX_QUERY:
        raise QueryError(
            _("检索词过长：参数 q 不超过 %(n)d 个字符") % {"n": MAX_QUERY},
            f"The query is too long: q takes at most {MAX_QUERY} characters",
        )
    if _CONTROL.search(q.replace("\t", " ")):
        raise QueryError(
            _("检索词含有控制字符（参数 q）"), "The query contains control characters (q)"
        )
    terms = [fold(t) for t in _SPACE.split(q.strip()) if t and not t.startswith("-")]
    if not terms:
        raise missing
    return list(dict.fromkeys(terms))[:MAX_TERMS]


def _hit_lines(shown: list[reading.Line], terms: list[str]) -> list[reading.Line]:
    """`reading.hit_lines` with text and terms folded as search folds them."""
    folded = [fold(_SPACE.sub("", line.text)) for line in shown]
    found: dict[int, reading.Line] = {}
    for i, line in enumerate(shown):
        here, after = folded[i], folded[i + 1] if i + 1 < len(shown) else ""
        for term in terms:
            if term in here:
                found.setdefault(line.index, line)
                break
            at = (here + after).find(term)
            if 0 <= at < len(here) < at + len(term):  # starts here, ends on the next line
                found.setdefault(line.index, line)
                found.setdefault(shown[i + 1].index, shown[i + 1])
                break
    return sorted(found.values(), key=lambda line: line.index)


def _on_canvas(
    box: tuple[int, int, int, int], page: Page, size: tuple[int, int]
) -> tuple[int, int, int, int] | None:
    """A box in the page's pixels as x, y, w, h on the canvas (clipped); None when empty."""
    cw, ch = size
    sx = cw / page.width if page.width else 1.0
    sy = ch / page.height if page.height else 1.0
    x0, y0, x1, y1 = box
    left, top = max(0, round(min(x0, x1) * sx)), max(0, round(min(y0, y1) * sy))
    right, bottom = min(cw, round(max(x0, x1) * sx)), min(ch, round(max(y0, y1) * sy))
    if right <= left or bottom <= top:
        return None
    return left, top, right - left, bottom - top


def search_hits(
    images: list[tuple[Component, tuple[int, int]]], terms: list[str], urls: Urls
) -> list[iiif.Hit]:
    """Every hit in these page images (`page_images`), in canvas order then line order."""
    order = {c.pk: n for n, (c, _size) in enumerate(images)}
    sizes = {c.pk: size for c, size in images}
    read = Page.objects.filter(component_id__in=list(order), ocr_status="done", frame__lte=1)
    pages = [p for p in read if p.component_id is not None]
    pages.sort(key=lambda p: (order[p.component_id or 0], p.number, p.pk))
    hits: list[iiif.Hit] = []
    for page in pages:
        assert page.component_id is not None
        canvas = urls.canvas(page.component_id)
        for line in _hit_lines(reading.lines(page), terms):
            if line.box is None:
                continue  # a line a person added: no place on the image
            region = _on_canvas(line.box, page, sizes[page.component_id])
            if region is not None:
                hits.append(
                    iiif.Hit(f"{canvas}/hit/p{page.pk}-l{line.index}", canvas, region, line.text)
                )
    return hits


SEARCH_PARAMETERS = ("motivation", "date", "user")  # Search 2.0 parameters not applied here


def search(
    record: Record, q: str, urls: Urls, *, page: int = 1, ignored: Iterable[str] = ()
) -> dict[str, Any] | None:
    """The Content Search 2.0 answer for `q` inside an open record (page `page` of it); None when
    the record is not public now, has no public page image (no manifest to search in) or the
    page is out of range. QueryError for a bad query."""
    terms = query_terms(q)
    if public.public_record(record.pk) is None:
        return None
    images = page_images(record)
    if not images:
        return None
    hits = search_hits(images, terms, urls)
    pages = max(1, -(-len(hits) // HITS_PAGE))
    if not 1 <= page <= pages:
        return None
    base = urls.search(record.repository.code, record.reference_code)

    def at(n: int | None) -> str:
        return f"{base}?{urlencode({'q': q} | ({'page': n} if n else {}))}"

    shown = hits[(page - 1) * HITS_PAGE : page * HITS_PAGE]
    paged = pages > 1
    return iiif.search_page(iiif.SearchPage(
        id=at(page if paged else None), hits=shown, total=len(hits), collection_id=at(None),
        first=at(1) if paged else "", last=at(pages) if paged else "",
        next=at(page + 1) if page < pages else "", prev=at(page - 1) if page > 1 else "",
        ignored=[p for p in ignored if p in SEARCH_PARAMETERS],
    ))  # fmt: skip
