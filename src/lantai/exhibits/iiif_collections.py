"""IIIF Presentation 3.0 Collections of a published thematic database and of an exhibition shown
now: a Manifest reference for each record in it that the public may see at this moment and that
has page images (the manifests themselves are served by `lantai.interop`). Asked at each request,
like every public page."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.http import require_GET

from lantai.catalog import public
from lantai.catalog.models import Record
from lantai.core.ratelimit import limited
from lantai.exhibits import database_browse as browse
from lantai.exhibits import exhibitions
from lantai.exhibits.exhibition_render import Linker
from lantai.standards import exhibit_blocks
from lantai.standards import iiif_presentation as iiif

PRESENTATION_TYPE = 'application/ld+json;profile="http://iiif.io/api/presentation/3/context.json"'


def _respond(document: dict[str, Any], status: int = 200) -> HttpResponse:
    response = JsonResponse(document, status=status, json_dumps_params={"ensure_ascii": False})
    if status == 200:
        response["Content-Type"] = PRESENTATION_TYPE
    response["Access-Control-Allow-Origin"] = "*"
    response["Cache-Control"] = "no-cache"  # a record closed later must not stay in a cache
    return response


def _not_found() -> HttpResponse:
    return _respond({"error": "没有这个公开的专题数据库或展览", "error_en": "not found"}, 404)


def _manifests(request: HttpRequest, rows: Iterable[tuple[Record, str]]) -> list[dict[str, Any]]:
    """Manifest references of the records (with their public titles) that have page images."""
    rows = list(rows)
    images = public.public_images([record.pk for record, _ in rows])
    absolute = request.build_absolute_uri
    items = []
    for record, title in rows:
        pages = images.get(record.pk)
        if not pages:
            continue
        code = browse.path_quote(record.repository.code)
        ref = browse.path_quote(record.reference_code, slashes=True)
        items.append(
            iiif.manifest_ref(
                absolute(f"/iiif/manifest/{code}/{ref}"),
                iiif.lang(zh=title or record.reference_code),
                thumbnail_service=absolute(f"/iiif/3/c{pages[0].pk}"),
            )
        )
    return items


@require_GET
@limited("content")
def database(request: HttpRequest, archives: str, slug: str) -> HttpResponse:
    found = browse.public_database(archives, slug) if len(archives) <= 32 else None
    if found is None:
        return _not_found()
    rows = [(row.record, row.title) for row in browse.public_rows(found)]
    name, summary = found.collection.name, found.collection.description
    document = iiif.collection(
        request.build_absolute_uri(request.path),
        iiif.lang(zh=name, en=found.name_en or None),
        _manifests(request, rows),
        summary=iiif.lang(zh=summary, en=found.description_en or None) if summary else None,
        homepage=iiif.Link(
            request.build_absolute_uri(browse.database_url(found)),
            "Text",
            iiif.lang(zh=name),
            format="text/html",
        ),
    )
    return _respond(document)


@require_GET
@limited("content")
def exhibition(request: HttpRequest, slug: str) -> HttpResponse:
    shown = exhibitions.public_exhibition(slug) if len(slug) <= 64 else None
    if shown is None or shown.published is None:
        return _not_found()
    snapshot = shown.published.snapshot
    ids = exhibit_blocks.record_ids(snapshot.get("content") or {}, snapshot.get("cover") or {})
    rows = [(record, record.title) for record in public.public_records(ids)]
    title, summary = snapshot.get("title") or shown.title, snapshot.get("summary") or ""
    document = iiif.collection(
        request.build_absolute_uri(request.path),
        iiif.lang(zh=title, en=snapshot.get("title_en") or None),
        _manifests(request, rows),
        summary=iiif.lang(zh=summary, en=snapshot.get("summary_en") or None) if summary else None,
        homepage=iiif.Link(
            request.build_absolute_uri(Linker(shown.slug).cover()),
            "Text",
            iiif.lang(zh=title),
            format="text/html",
        ),
    )
    return _respond(document)
