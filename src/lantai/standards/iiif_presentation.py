"""IIIF Presentation API 3.0 and Content Search API 2.0 documents, as plain dicts (pure: no
Django, no Lantai). Every object built here validates against the presentation-validator's JSON
Schema (shared/corpora/schemas/iiif_3_0.json); tests/interop/test_iiif_presentation.py checks it.

Builders (all absolute URLs are given by the caller; nothing here knows Lantai's URL scheme):
- `lang(zh=…, en=…)` / `lang(none=…)`: a language map {"zh-Hans": [...], "en": [...]}.
- `manifest(ManifestParts)`: a Manifest whose items are Canvases (one per `CanvasImage`, width and
  height from the image's pixel size), each with one AnnotationPage of one painting Annotation
  whose body is the Image with its ImageService3; the search service when the record has text.
- `manifest_ref(id, label, thumbnail_service=…)`, `collection_ref(id, label)`: items of a
  Collection.
- `collection(id, label, items, *, summary=None, thumbnail_service=None, provider=None,
  homepage=None)`: a Collection. The exhibits room builds the collection of a thematic database
  or an exhibition with it:

      collection(url, lang(zh="红色档案专题数据库"),
                 [manifest_ref(m_url, lang(zh=title), thumbnail_service=c_url) for …])

- `search_page(SearchPage)`: a Content Search 2.0 response (an AnnotationPage of `highlighting`
  annotations on `canvas#xywh=…`, each with a TextualBody of the line; `partOf`, `next`, `prev`
  when the hits take more than one page; `ignored` naming the parameters not applied).

Two things the schema and Search 2.0 disagree on, and what is done about them: the schema's
AnnotationPage allows no property it does not list, so Search 2.0's `ignored` (sent only when a
client passed a parameter we do not apply) makes that one response fail the schema; and the
schema's `total` must be > 0, so `partOf` (with its total) is sent only for paged results,
never for an empty one. A Manifest with no canvas is not valid IIIF: `manifest` refuses it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

PRESENTATION_CONTEXT = "http://iiif.io/api/presentation/3/context.json"
SEARCH_CONTEXT = "http://iiif.io/api/search/2/context.json"
IMAGE_SERVICE = "ImageService3"
SEARCH_SERVICE = "SearchService2"
IMAGE_PROFILES = ("level0", "level1", "level2")
THUMBNAIL_WIDTH = 200  # "200," is sizeByW: every level from 1 up answers it
# the rights URIs the Presentation API accepts (Creative Commons, RightsStatements.org)
RIGHTS_RE = re.compile(
    r"^http://(creativecommons\.org/(licenses|publicdomain)/|rightsstatements\.org/vocab/)\S+$"
)
_LANGUAGE_RE = re.compile(r"^[a-zA-Z-]+$")

LangMap = dict[str, list[str]]


class PresentationError(ValueError):
    """A document that would not be valid IIIF (a programming error of the caller)."""


def lang(zh: str | None = None, en: str | None = None, *, none: str | None = None) -> LangMap:
    """A language map: Chinese (zh-Hans) and English values, or a value in no language ("none":
    codes, dates). Empty values are left out; a map with nothing in it gets "none": [""]."""
    out: LangMap = {}
    for key, value in (("zh-Hans", zh), ("en", en), ("none", none)):
        if value:
            out[key] = [value]
    return out or {"none": [""]}


def _check_lang(value: LangMap) -> LangMap:
    if not value:
        raise PresentationError("an empty language map")
    for key, values in value.items():  # plain loops: this runs for every canvas of a manifest
        if type(values) is not list or not _LANGUAGE_RE.match(key):
            raise PresentationError(f"not a language map: {value!r}")
        for text in values:
            if type(text) is not str:
                raise PresentationError(f"not a language map: {value!r}")
    return value


def _http(url: str) -> str:
    if not url.startswith(("http://", "https://")):
        raise PresentationError(f"not an absolute http(s) URL: {url!r}")
    return url


def image_service(service_id: str, profile: str = "level1") -> dict[str, Any]:
    if profile not in IMAGE_PROFILES:
        raise PresentationError(f"unknown Image API profile {profile!r}")
    return {"id": _http(service_id), "type": IMAGE_SERVICE, "profile": profile}


def thumbnail(service_id: str, profile: str = "level1") -> dict[str, Any]:
    """A small JPEG of an image, from its Image API service."""
    return {
        "id": f"{_http(service_id)}/full/{THUMBNAIL_WIDTH},/0/default.jpg",
        "type": "Image",
        "format": "image/jpeg",
        "service": [image_service(service_id, profile)],
    }


@dataclass(frozen=True)
class CanvasImage:
    """One page image: its canvas id, label, pixel size and Image API service."""

    canvas_id: str
    label: LangMap
    width: int
    height: int
    service_id: str  # the ImageService3 id (…/iiif/3/c{pk}): info.json is under it
    format: str = "image/jpeg"  # what the service delivers for full/max/0/default.jpg


@dataclass(frozen=True)
class Link:
    """A linked resource (homepage, seeAlso, rendering, logo)."""

    id: str
    type: str  # Text, Dataset, Image …
    label: LangMap
    format: str = ""
    profile: str = ""

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"id": _http(self.id), "type": self.type}
        out["label"] = _check_lang(self.label)
        if self.format:
            out["format"] = self.format
        if self.profile:
            out["profile"] = self.profile
        return out


@dataclass(frozen=True)
class Provider:
    id: str  # the archives' public home
    label: LangMap
    homepage: Link | None = None

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"id": _http(self.id), "type": "Agent", "label": self.label}
        if self.homepage is not None:
            out["homepage"] = [self.homepage.as_dict()]
        return out


@dataclass
class ManifestParts:
    id: str
    label: LangMap
    canvases: Sequence[CanvasImage]
    required_statement: tuple[LangMap, LangMap]  # (label, value)
    summary: LangMap | None = None
    metadata: list[tuple[LangMap, LangMap]] = field(default_factory=list)
    rights: str | None = None  # only a Creative Commons or RightsStatements.org URI
    homepage: Link | None = None
    see_also: list[Link] = field(default_factory=list)
    rendering: list[Link] = field(default_factory=list)
    provider: Provider | None = None
    search_service: str | None = None  # the Content Search 2.0 service, when there is text
    image_profile: str = "level1"
    part_of: list[tuple[str, LangMap]] = field(default_factory=list)  # collections (id, label)


def _canvas(image: CanvasImage, profile: str) -> dict[str, Any]:
    if image.width <= 0 or image.height <= 0:
        raise PresentationError(f"canvas {image.canvas_id} has no size")
    canvas_id = _http(image.canvas_id)
    return {
        "id": canvas_id,
        "type": "Canvas",
        "label": _check_lang(image.label),
        "width": image.width,
        "height": image.height,
        "items": [
            {
                "id": f"{canvas_id}/page",
                "type": "AnnotationPage",
                "items": [
                    {
                        "id": f"{canvas_id}/page/image",
                        "type": "Annotation",
                        "motivation": "painting",
                        "target": canvas_id,
                        "body": {
                            "id": f"{_http(image.service_id)}/full/max/0/default.jpg",
                            "type": "Image",
                            "format": image.format,
                            "width": image.width,
                            "height": image.height,
                            "service": [image_service(image.service_id, profile)],
                        },
                    }
                ],
            }
        ],
    }


def manifest(parts: ManifestParts) -> dict[str, Any]:
    """The Manifest of a record's page images, in the order given."""
    if not parts.canvases:
        raise PresentationError("a Manifest needs at least one Canvas")
    if parts.rights is not None and not RIGHTS_RE.match(parts.rights):
        raise PresentationError(f"not a rights URI the Presentation API accepts: {parts.rights}")
    label, value = parts.required_statement
    out: dict[str, Any] = {
        "@context": PRESENTATION_CONTEXT,
        "id": _http(parts.id),
        "type": "Manifest",
        "label": _check_lang(parts.label),
    }
    if parts.summary:
        out["summary"] = _check_lang(parts.summary)
    if parts.metadata:
        out["metadata"] = [
            {"label": _check_lang(k), "value": _check_lang(v)} for k, v in parts.metadata
        ]
    out["requiredStatement"] = {"label": _check_lang(label), "value": _check_lang(value)}
    if parts.rights:
        out["rights"] = parts.rights
    if parts.provider is not None:
        out["provider"] = [parts.provider.as_dict()]
    if parts.homepage is not None:
        out["homepage"] = [parts.homepage.as_dict()]
    if parts.see_also:
        out["seeAlso"] = [link.as_dict() for link in parts.see_also]
    if parts.rendering:
        out["rendering"] = [link.as_dict() for link in parts.rendering]
    out["thumbnail"] = [thumbnail(parts.canvases[0].service_id, parts.image_profile)]
    if parts.part_of:
        out["partOf"] = [
            {"id": _http(i), "type": "Collection", "label": _check_lang(lbl)}
            for i, lbl in parts.part_of
        ]
    if parts.search_service:
        out["service"] = [{"id": _http(parts.search_service), "type": SEARCH_SERVICE}]
    out["items"] = [_canvas(c, parts.image_profile) for c in parts.canvases]
    return out


# --- collections ---------------------------------------------------------------------------------
def manifest_ref(
    manifest_id: str,
    label: LangMap,
    *,
    thumbnail_service: str | None = None,
    image_profile: str = "level1",
) -> dict[str, Any]:
    """A Manifest as an item of a Collection: id, label and (from the first page's Image API
    service) a thumbnail."""
    out: dict[str, Any] = {
        "id": _http(manifest_id),
        "type": "Manifest",
        "label": _check_lang(label),
    }
    if thumbnail_service:
        out["thumbnail"] = [thumbnail(thumbnail_service, image_profile)]
    return out


def collection_ref(
    collection_id: str, label: LangMap, *, thumbnail_service: str | None = None
) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": _http(collection_id),
        "type": "Collection",
        "label": _check_lang(label),
    }
    if thumbnail_service:
        out["thumbnail"] = [thumbnail(thumbnail_service)]
    return out


def collection(
    collection_id: str,
    label: LangMap,
    items: Iterable[dict[str, Any]],
    *,
    summary: LangMap | None = None,
    thumbnail_service: str | None = None,
    provider: Provider | None = None,
    homepage: Link | None = None,
    part_of: list[tuple[str, LangMap]] | None = None,
) -> dict[str, Any]:
    """A Collection of Manifest and Collection references (`manifest_ref`, `collection_ref`);
    an empty one is valid (a database whose records are all closed now)."""
    listed = list(items)
    for item in listed:
        if item.get("type") not in ("Manifest", "Collection") or "items" in item:
            raise PresentationError("a Collection lists Manifest or Collection references only")
    out: dict[str, Any] = {
        "@context": PRESENTATION_CONTEXT,
        "id": _http(collection_id),
        "type": "Collection",
        "label": _check_lang(label),
    }
    if summary:
        out["summary"] = _check_lang(summary)
    if thumbnail_service:
        out["thumbnail"] = [thumbnail(thumbnail_service)]
    if provider is not None:
        out["provider"] = [provider.as_dict()]
    if homepage is not None:
        out["homepage"] = [homepage.as_dict()]
    if part_of:
        out["partOf"] = [
            {"id": _http(i), "type": "Collection", "label": _check_lang(lbl)} for i, lbl in part_of
        ]
    out["items"] = listed
    return out


# --- Content Search 2.0 --------------------------------------------------------------------------
@dataclass(frozen=True)
class Hit:
    """A line of text that holds the query, on a canvas, in canvas coordinates."""

    id: str
    canvas_id: str
    xywh: tuple[int, int, int, int]
    text: str


@dataclass
class SearchPage:
    id: str  # this page's URL (with q, and page when paged)
    hits: Sequence[Hit]  # the hits of this page only
    total: int  # hits over all pages
    collection_id: str = ""  # the URL of the whole result (q, no page): partOf, when paged
    first: str = ""
    last: str = ""
    next: str = ""
    prev: str = ""
    ignored: Sequence[str] = ()  # query parameters not applied (Search 2.0 §4.3)


def _annotation(hit: Hit) -> dict[str, Any]:
    x, y, w, h = hit.xywh
    if w <= 0 or h <= 0 or x < 0 or y < 0:
        raise PresentationError(f"an empty or negative region: {hit.xywh}")
    return {
        "id": _http(hit.id),
        "type": "Annotation",
        "motivation": "highlighting",
        "body": {"type": "TextualBody", "value": hit.text, "format": "text/plain"},
        "target": f"{_http(hit.canvas_id)}#xywh={x},{y},{w},{h}",
    }


def search_page(page: SearchPage) -> dict[str, Any]:
    """A Content Search 2.0 response page."""
    out: dict[str, Any] = {
        "@context": [SEARCH_CONTEXT],
        "id": _http(page.id),
        "type": "AnnotationPage",
    }
    paged = page.total > len(page.hits) or bool(page.next or page.prev)
    if paged and page.total > 0:
        whole: dict[str, Any] = {
            "id": _http(page.collection_id),
            "type": "AnnotationCollection",
            "total": page.total,
        }
        if page.first:
            whole["first"] = {"id": _http(page.first), "type": "AnnotationPage"}
        if page.last:
            whole["last"] = {"id": _http(page.last), "type": "AnnotationPage"}
        out["partOf"] = [whole]
        if page.next:
            out["next"] = {"id": _http(page.next), "type": "AnnotationPage"}
        if page.prev:
            out["prev"] = {"id": _http(page.prev), "type": "AnnotationPage"}
    if page.ignored:
        out["ignored"] = sorted(set(page.ignored))
    out["items"] = [_annotation(h) for h in page.hits]
    return out
