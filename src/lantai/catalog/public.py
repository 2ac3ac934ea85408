"""What the public may see: the one rule that the portal, OAI-PMH, IIIF, the thematic databases
and the exhibitions all apply (open status 开放, 密级 公开, seen through
`catalog.services.visible_records` for an anonymous user; a partly opened record only through its
redacted open copy; a record under a donor's access restriction in force is not public at all,
one under a publication restriction is public by its description only: no page image or PDF of it
is published, see `lantai.catalog.holds`). It lives here, below the rooms that use it, so that
each of them asks the same question the same way and a record closed a minute ago leaves all of
them at once.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

from django.contrib.auth.models import AnonymousUser
from django.db.models import QuerySet

from lantai.catalog import holds, open_copies
from lantai.catalog import services as catalog
from lantai.catalog.models import Component, ImageSize, Record

IMAGE_TYPES = frozenset(
    {"image/jpeg", "image/png", "image/tiff", "image/gif", "image/bmp", "image/webp", "image/jp2"}
)
PDF_TYPE = "application/pdf"
MAX_RECORD_ID = 2**63 - 1
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
# page images whose type the file name's suffix does not tell every system (JPEG 2000 codestreams)
IMAGE_SUFFIXES = frozenset(
    {".jpg", ".jpeg", ".png", ".tif", ".tiff", ".jp2", ".j2k", ".j2c", ".jpx"}
)


def open_records() -> QuerySet[Record]:
    """Every record the public may see (its components only when it has no open copy)."""
    return catalog.visible_records(AnonymousUser()).filter(  # type: ignore[arg-type]
        open_status="open", classification_level=0
    )


def public_record(pk: int) -> Record | None:
    """An open (开放), unclassified record with its fonds, category and repository; None for a
    record the public may not see and for one that does not exist alike."""
    record = catalog.visible_record(AnonymousUser(), pk)  # type: ignore[arg-type]
    if record is None or record.open_status != "open" or record.classification_level != 0:
        return None
    return record


def acceptable_code(text: str, limit: int) -> bool:
    """Whether `text` may be looked up as a code from a URL: 1..limit characters, no control
    characters (anything else cannot be a stored code and is answered "not found")."""
    return 0 < len(text) <= limit and not _CONTROL.search(text)


def public_record_by_code(archives_code: str, reference_code: str) -> Record | None:
    """The open record with this 档号 in the archives with this code (the stable public
    address); None for one that does not exist and one the public may not see alike."""
    if not (acceptable_code(archives_code, 32) and acceptable_code(reference_code, 100)):
        return None
    pk = (
        Record.objects.filter(repository__code=archives_code, reference_code=reference_code)
        .values_list("pk", flat=True)
        .first()
    )
    return public_record(pk) if pk is not None else None


def record_path(archives: str, code: str, pk: int) -> str:
    """The stable public address of a record: /public/archives/{archives code}/{档号}/, or the
    page by id for a code no URL can carry (a line break in the 档号, a "/" in the archives
    code)."""
    from django.urls import NoReverseMatch, reverse

    if archives and code:
        try:
            return reverse("access:record_by_code", args=[archives, code])
        except NoReverseMatch:
            pass
    return reverse("access:record", args=[pk])


def public_records(ids: Iterable[int]) -> list[Record]:
    """The open records among `ids` (others are dropped without a word), by 档号."""
    wanted = {int(i) for i in ids if 0 < int(i) <= MAX_RECORD_ID}  # nothing out of range to SQL
    if not wanted:
        return []
    return list(open_records().filter(pk__in=wanted).order_by("reference_code"))


def content_kind(component: Component) -> str:
    """ "image", "pdf" or "" (a file the portal does not show)."""
    mime = (component.mime_type or "").lower()
    if mime in IMAGE_TYPES or mime == "image/jpx":
        return "image"
    if mime == "application/octet-stream" and Path(component.name).suffix.lower() in IMAGE_SUFFIXES:
        return "image"
    if mime == PDF_TYPE:
        return "pdf"
    return ""


def public_component(pk: int, kind: str) -> Component | None:
    """A component of an open record, of the given kind ("image" or "pdf"); None otherwise."""
    if not 0 < pk <= MAX_RECORD_ID:
        return None
    component = Component.objects.filter(pk=pk).first()
    if component is None or public_record(component.record_id) is None:
        return None
    if open_copies.open_copy_of(component.record_id) is not None:
        return None  # the closed master of a partly opened record
    if not publishable(component.record_id):
        return None
    return component if content_kind(component) == kind else None


def publishable(record_id: int) -> bool:
    """Whether the content of this (public) record may be published: no donor's publication
    restriction is in force on it (its description stays public either way)."""
    return not holds.held_ids("publication", [record_id])


def public_images(record_ids: Iterable[int]) -> dict[int, list[Component]]:
    """By record, the page images the public may see, in order (records that are not open, are
    read through an open copy or are under a publication restriction are left out). Three
    queries for all records."""
    ids = {r.pk for r in public_records(record_ids)}
    if not ids:
        return {}
    copied = set(open_copies.open_copies(list(ids))) | holds.held_ids("publication", ids)
    shown: dict[int, list[Component]] = {}
    for component in Component.objects.filter(record_id__in=ids - copied).order_by(
        "record_id", "id"
    ):
        if content_kind(component) == "image":
            shown.setdefault(component.record_id, []).append(component)
    return shown


def image_size(component: Component) -> tuple[int, int]:
    """Width and height of a page image in pixels (read once from the file's header, kept in
    ImageSize); (0, 0) when the file cannot be read."""
    return image_sizes([component])[component.pk]


def image_sizes(components: Iterable[Component]) -> dict[int, tuple[int, int]]:
    """`image_size` for many components: one query for those measured before, the headers of
    the others read and their sizes kept in one statement."""
    components = list(components)
    known = {
        s.component_id: (s.width, s.height, s.sm3)
        for s in ImageSize.objects.filter(component_id__in=[c.pk for c in components])
    }
    sizes: dict[int, tuple[int, int]] = {}
    measured: list[ImageSize] = []
    for component in components:
        size = known.get(component.pk)
        if size is not None and size[2] == component.sm3:
            sizes[component.pk] = (size[0], size[1])
            continue
        sizes[component.pk] = _read_size(component)
        if sizes[component.pk] != (0, 0):
            width, height = sizes[component.pk]
            measured.append(
                ImageSize(component_id=component.pk, sm3=component.sm3, width=width, height=height)
            )
    if measured:
        ImageSize.objects.bulk_create(
            measured,
            update_conflicts=True,
            unique_fields=["component"],
            update_fields=["sm3", "width", "height"],
        )
    return sizes


def stored_path(component: Component) -> Path | None:
    """The stored file of a component, checked to stay under MEDIA_ROOT; None when absent."""
    from django.conf import settings

    root = Path(settings.MEDIA_ROOT).resolve()
    path = (root / component.path).resolve()
    if not path.is_relative_to(root) or not path.is_file():
        return None
    return path


def _read_size(component: Component) -> tuple[int, int]:
    """The size as shown, read from the file's header; (0, 0) when it cannot be read."""
    from PIL import Image

    path = stored_path(component)
    if path is None:
        return (0, 0)
    try:
        with Image.open(path) as opened:
            size = (int(opened.size[0]), int(opened.size[1]))
            orientation = int(opened.getexif().get(0x0112, 1) or 1)
    except Exception:  # a damaged file: no size, and the viewer says it cannot show it
        return (0, 0)
    return (size[1], size[0]) if orientation in (5, 6, 7, 8) else size  # turned by a quarter
