"""An exhibition as the public sees it: a published snapshot (or, for the preview, the draft)
resolved through `lantai.catalog.public` when it is drawn. Items whose record or page image is not
public now are dropped without a word; a block left without its images disappears; links to
records that are no longer open are removed. The same tree feeds the portal pages, the staff
preview and the static export; only the `Linker` (how URLs are written) differs.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from django.urls import NoReverseMatch, reverse
from django.utils.safestring import mark_safe
from django.utils.translation import gettext

from lantai.catalog import open_copies, public
from lantai.catalog.models import Component, Record
from lantai.standards import exhibit_blocks as eb
from lantai.standards import gazetteer, place_map

BOXES = {
    "image": 1200,
    "gallery": 480,
    "compare": 800,
    "deepzoom": 1200,
    "cover": 1200,
    "event": 320,
}
EAGER_IMAGES = 2  # images above the fold on a phone load at once; the rest lazily


@dataclass
class Image:
    component: int
    record: int
    alt: str
    caption: str
    src: str
    srcset: str
    width: int
    height: int
    href: str  # the record's public page
    info: str = ""  # IIIF info.json (deep zoom and comparison)
    lazy: bool = False
    natural: tuple[int, int] = (0, 0)
    tiles: str = ""  # the export's static tiles (key in window.LANTAI_TILES)


@dataclass
class Block:
    kind: str
    heading: str = ""
    body: str = ""
    items: list[Image] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    places: list[dict[str, Any]] = field(default_factory=list)
    media: dict[str, Any] = field(default_factory=dict)
    source: str = ""
    source_href: str = ""
    caption: str = ""
    map_svg: str = ""

    @property
    def viewer(self) -> dict[str, Any]:
        """What web/_iiif_viewer.html takes, for deep zoom and comparison."""
        return {
            "sources": [i.info for i in self.items], "labels": [i.alt for i in self.items],
            "mode": "compare" if self.kind == "compare" else "single",
            "fallback": [i.src for i in self.items], "manifest": "", "search": "",
        }  # fmt: skip

    @property
    def rich_events(self) -> bool:
        return any(e["text"] or e["image"] for e in self.events)

    @property
    def template(self) -> str:
        return f"exhibits/_block_{self.kind}.html"


@dataclass
class Page:
    section: int
    number: int  # 1-based across the exhibition
    slug: str
    title: str
    section_title: str
    href: str
    blocks: list[Block] = field(default_factory=list)


@dataclass
class Rendered:
    slug: str
    title: str
    summary: str
    cover: Image | None
    sections: list[dict[str, Any]]
    pages: list[Page]
    version: int = 0
    href: str = ""

    def page(self, slug: str) -> tuple[Page | None, Page | None, Page | None]:
        for i, page in enumerate(self.pages):
            if page.slug == slug:
                before = self.pages[i - 1] if i else None
                after = self.pages[i + 1] if i + 1 < len(self.pages) else None
                return page, before, after
        return None, None, None


class Linker:
    """URLs of the portal (absolute paths). The export overrides each method."""

    def __init__(self, slug: str, *, preview_pk: int | None = None) -> None:
        self.slug, self.preview_pk = slug, preview_pk

    def cover(self) -> str:
        if self.preview_pk:
            return f"/exhibits/exhibitions/{self.preview_pk}/preview/"
        return f"/public/exhibitions/{self.slug}/"

    def page(self, page_slug: str) -> str:
        return f"{self.cover()}{page_slug}/"

    def image(self, component: int, box: int) -> str:
        return f"/iiif/3/c{component}/full/!{box},{box}/0/default.jpg"

    def info(self, component: int) -> str:
        return f"/iiif/3/c{component}/info.json"

    def record(self, record: int, archives: str = "", code: str = "") -> str:
        """The record's stable public address (archives code and 档号) where it has one."""
        if archives and code:
            try:
                return reverse("access:record_by_code", args=[archives, code])
            except NoReverseMatch:
                pass
        return reverse("access:record", args=[record])

    def media(self, recording: int) -> str:
        return reverse("access:recording_media", args=[recording])

    def poster(self, recording: int) -> str:
        return reverse("access:recording_poster", args=[recording])


def pick(data: Mapping[str, Any], key: str, lang: str) -> str:
    english = str(data.get(f"{key}_en") or "").strip()
    return english if lang == "en" and english else str(data.get(key) or "").strip()


def fit(size: tuple[int, int], box: int) -> tuple[int, int]:
    """The size of an image scaled down (never up) to fit a box×box square."""
    w, h = size
    if w <= 0 or h <= 0:
        return box, box
    scale = min(box / w, box / h, 1.0)
    return max(1, round(w * scale)), max(1, round(h * scale))


class _Resolver:
    """What of a content is public now: one query each for records, images, sizes, recordings."""

    def __init__(
        self, content: Mapping[str, Any], cover: Mapping[str, Any], linker: Linker, lang: str
    ) -> None:
        self.linker, self.lang, self.count = linker, lang, 0
        ids = eb.record_ids(content, cover)
        self.open = {r.pk for r in public.public_records(ids)}
        self.codes: dict[int, tuple[str, str]] = {
            pk: (archives, code)
            for pk, archives, code in Record.objects.filter(pk__in=self.open).values_list(
                "pk", "repository__code", "reference_code"
            )
        }
        self.images: dict[int, Component] = {
            c.pk: c for cs in public.public_images(self.open).values() for c in cs
        }
        self.sizes = public.image_sizes(self.images.values())
        self.recordings = self._recordings(eb.recording_ids(content))

    def _recordings(self, ids: set[int]) -> dict[int, Any]:
        from lantai.digitization.models import Recording

        found = Recording.objects.filter(pk__in=ids, component__isnull=False)
        return {
            r.pk: r for r in found
            if r.record_id in self.open or public.public_record(r.record_id) is not None
            if open_copies.open_copy_of(r.record_id) is None
        }  # fmt: skip

    def closed(self, entry: Mapping[str, Any]) -> bool:
        """Whether a quote, event or place is tied to a record the public may not see now: it
        goes with the record (the curator's text about it often names its title or 档号)."""
        record = entry.get("record")
        return record is not None and record not in self.open

    def record_href(self, record: Any) -> str:
        if record not in self.open:
            return ""
        archives, code = self.codes.get(record, ("", ""))
        return self.linker.record(record, archives, code)

    def image(self, item: Mapping[str, Any], box_kind: str) -> Image | None:
        record, pk = item.get("record"), item.get("component")
        component = self.images.get(pk) if isinstance(pk, int) else None
        if component is None or component.record_id != record or not isinstance(pk, int):
            return None  # closed a minute ago, or never public: dropped silently
        natural = self.sizes.get(component.pk, (0, 0))
        box = BOXES[box_kind]
        width, height = fit(natural, box)
        boxes = sorted({b for b in (box // 2, box, box * 2) if b <= max(natural) or b == box // 2})
        srcset = ", ".join(f"{self.linker.image(pk, b)} {fit(natural, b)[0]}w" for b in boxes)
        self.count += 1
        return Image(
            pk, int(record), pick(item, "alt", self.lang), pick(item, "caption", self.lang),
            self.linker.image(pk, box), srcset, width, height, self.record_href(record),
            info=self.linker.info(pk) if box_kind in ("deepzoom", "compare") else "",
            lazy=self.count > EAGER_IMAGES, natural=natural,
        )  # fmt: skip

    def block(self, data: Mapping[str, Any]) -> Block | None:
        kind = str(data.get("kind", ""))
        if eb.kind(kind) is None:
            return None
        block = Block(kind, heading=pick(data, "heading", self.lang))
        if kind in ("image", "gallery", "deepzoom", "compare"):
            block.items = [
                i for i in (self.image(item, kind) for item in data.get("items") or []) if i
            ]
            if not block.items:
                return None  # every image is gone: so is the block
            if kind == "compare" and len(block.items) < 2:
                block.kind = "image"  # one side closed: the other is shown alone
        elif kind == "text":
            block.body = pick(data, "body", self.lang)
        elif kind == "quote":
            if self.closed(data):
                return None
            block.body, block.source = (
                pick(data, "text", self.lang),
                pick(data, "source", self.lang),
            )
            block.source_href = self.record_href(data.get("record"))
        elif kind == "media":
            recording = self.recordings.get(data.get("recording"))  # type: ignore[arg-type]
            if recording is None:
                return None
            start, end = data.get("start"), data.get("end")
            fragment = ""
            if start is not None or end is not None:
                fragment = f"#t={start or 0}" + (f",{end}" if end is not None else "")
            block.caption = pick(data, "caption", self.lang)
            block.media = {
                "kind": recording.kind, "src": self.linker.media(recording.pk) + fragment,
                "poster": self.linker.poster(recording.pk) if recording.kind == "video" else "",
                "href": self.record_href(recording.record_id),
            }  # fmt: skip
        elif kind == "timeline":
            for event in data.get("events") or []:
                if self.closed(event):
                    continue
                item = event.get("item")
                date = str(event.get("date", ""))
                block.events.append(
                    {
                        "date": date,
                        "year": int(date[:4]) if date[:4].isdigit() else 0,
                        "title": pick(event, "title", self.lang),
                        "text": pick(event, "text", self.lang),
                        "href": self.record_href(event.get("record")),
                        "image": self.image(item, "event") if isinstance(item, Mapping) else None,
                    }  # fmt: skip
                )
            if not block.events:
                return None
            block.events.sort(key=lambda e: e["date"])
        elif kind == "map":
            points = []
            for spot in data.get("places") or []:
                if self.closed(spot):
                    continue
                name = str(spot.get("place", ""))
                label = pick(spot, "label", self.lang) or name
                href = self.record_href(spot.get("record"))
                block.places.append({"place": name, "label": label, "href": href, "count": 1})
                found = gazetteer.resolve(name)
                if found is not None:
                    points.append(place_map.MapPoint(label, found.lon, found.lat, href, 1))
            if not block.places:
                return None
            block.map_svg = mark_safe(
                place_map.svg(points, title=block.heading or gettext("展览地图"))
            )  # noqa: S308
        return block


def render(
    data: Mapping[str, Any], slug: str, linker: Linker, lang: str = "zh-hans", version: int = 0
) -> Rendered:
    """`data` is a snapshot ({"title", "summary", "cover", "content", …}) or the draft's fields."""
    content = data.get("content") or {}
    cover_item = data.get("cover") or {}
    resolver = _Resolver(content, cover_item, linker, lang)
    cover = resolver.image(cover_item, "cover") if cover_item else None
    if cover:
        cover.lazy = False
    sections: list[dict[str, Any]] = []
    pages: list[Page] = []
    for s, section in enumerate(content.get("sections") or [], 1):
        section_title = pick(section, "title", lang)
        listed = []
        for page_data in section.get("pages") or []:
            resolver.count = 0  # each page has its own fold
            page = Page(
                s, len(pages) + 1, str(page_data.get("slug", "")), pick(page_data, "title", lang),
                section_title, linker.page(str(page_data.get("slug", ""))),
            )  # fmt: skip
            page.blocks = [b for b in map(resolver.block, page_data.get("blocks") or []) if b]
            pages.append(page)
            listed.append(page)
        sections.append({"title": section_title, "pages": listed})
    return Rendered(
        slug, pick(data, "title", lang), pick(data, "summary", lang), cover, sections, pages,
        version, linker.cover(),
    )  # fmt: skip


def cover_image(cover: Mapping[str, Any], linker: Linker, lang: str) -> Image | None:
    """The cover of an exhibition in the hall (None when its record is not public now)."""
    if not cover:
        return None
    found = _Resolver({}, cover, linker, lang).image(cover, "cover")
    if found:
        found.lazy = False
    return found


def draft_data(exhibition: Any) -> dict[str, Any]:
    return {
        "title": exhibition.title, "title_en": exhibition.title_en, "summary": exhibition.summary,
        "summary_en": exhibition.summary_en, "cover": exhibition.cover, "content": exhibition.content,
    }  # fmt: skip
