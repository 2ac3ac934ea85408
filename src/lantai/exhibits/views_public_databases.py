"""Public pages of the 专题数据库: the list, a database (facets, search inside, paging), its
timeline and map, and a record as described in it, with its images, condition, share block and
citation. Every page asks `catalog.public` (through `database_browse`) when it is drawn."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from lantai.catalog.public import public_images
from lantai.core.sharing import record_citation, share_block
from lantai.exhibits import database_browse as browse
from lantai.exhibits.conservation import public_condition
from lantai.exhibits.models import Database
from lantai.standards.citation import gbt7714
from lantai.standards.place_map import svg

IMAGE_BOX = "!1200,1200"
THUMB = 160  # px: the thumbnail of a record in the list of a database
THUMB_BOX = "!400,400"


def _not_found(request: HttpRequest) -> HttpResponse:
    """One 404 for a database that does not exist, is not published, or a record not public."""
    return render(request, "access/404.html", status=404)


def _database(archives: str, slug: str) -> Database | None:
    if len(archives) > 32 or len(slug) > 64:
        return None
    return browse.public_database(archives, slug)


def _share(request: HttpRequest, title: str, citation: str) -> dict[str, object]:
    # the page as the visitor sees it (a filtered view included); the citation names the database
    return share_block(request.build_absolute_uri(request.get_full_path()), title, citation)


def _database_citation(request: HttpRequest, database: Database) -> str:
    return gbt7714(
        kind="EB",
        title=database.collection.name,
        authors=[database.repository.name],
        url=request.build_absolute_uri(browse.database_url(database)),
        updated=database.published_at.date() if database.published_at else None,
        accessed=browse.accessed_today(),
    )


def _base_context(request: HttpRequest, database: Database, tab: str) -> dict[str, Any]:
    return {
        "database": database,
        "tab": tab,
        "urls": {
            "database": browse.database_url(database),
            "timeline": browse.database_url(database, "timeline"),
            "map": browse.database_url(database, "map"),
        },
    }


@require_GET
def database_list(request: HttpRequest) -> HttpResponse:
    rows = [
        {"database": d, "href": browse.database_url(d), "count": len(browse.public_rows(d))}
        for d in browse.published_databases()
    ]
    return render(request, "exhibits/database_list.html", {"rows": rows})


@require_GET
def database_page(request: HttpRequest, archives: str, slug: str) -> HttpResponse:
    database = _database(archives, slug)
    if database is None:
        return _not_found(request)
    base = browse.database_url(database)
    result = browse.browse(database, request.GET, base)
    pictured = public_images([row.record.pk for row in result.page.object_list])
    for row in result.page.object_list:
        if row.record.pk in pictured:
            row.thumb = (
                f"/iiif/3/c{pictured[row.record.pk][0].pk}/full/!{THUMB},{THUMB}/0/default.jpg"
            )
    context = _base_context(request, database, "browse")
    context.update(
        {
            "result": result,
            "clear_links": browse.clear_links(result, base),
            "has_filters": bool(result.query or result.place or result.selected),
            "share": _share(
                request, database.collection.name, _database_citation(request, database)
            ),
        }
    )
    return render(request, "exhibits/database.html", context)


@require_GET
def database_timeline(request: HttpRequest, archives: str, slug: str) -> HttpResponse:
    database = _database(archives, slug)
    if database is None:
        return _not_found(request)
    context = _base_context(request, database, "timeline")
    context["events"] = browse.timeline(browse.public_rows(database))
    context["share"] = _share(
        request, database.collection.name, _database_citation(request, database)
    )
    return render(request, "exhibits/database_timeline.html", context)


@require_GET
def database_map(request: HttpRequest, archives: str, slug: str) -> HttpResponse:
    database = _database(archives, slug)
    if database is None:
        return _not_found(request)
    base = browse.database_url(database)
    points, places, _unresolved = browse.map_data(database, browse.public_rows(database), base)
    title = _("%(name)s：档案涉及的地点") % {"name": database.collection.name}
    context = _base_context(request, database, "map")
    context.update(
        {
            # place_map escapes every label and link itself
            "map_svg": mark_safe(svg(points, title=title, desc=_map_desc())),  # noqa: S308
            "places": places,
            "share": _share(
                request, database.collection.name, _database_citation(request, database)
            ),
        }
    )
    return render(request, "exhibits/database_map.html", context)


def _map_desc() -> str:
    return _(
        "示意图：按经纬度标出各地点的位置，圆点大小表示档案数量；不含底图，地点位置为近似值，"
        "不作精确定位之用。"
    )


@require_GET
def database_record(request: HttpRequest, archives: str, slug: str, code: str) -> HttpResponse:
    database = _database(archives, slug)
    if database is None or len(code) > 100:
        return _not_found(request)
    row = browse.public_row(database, code)
    if row is None:
        return _not_found(request)
    record = row.record
    images = public_images([record.pk]).get(record.pk, [])
    pictures = [
        {
            "full": f"/iiif/3/c{c.pk}/full/{IMAGE_BOX}/0/default.jpg",
            "thumb": f"/iiif/3/c{c.pk}/full/{THUMB_BOX}/0/default.jpg",
            "info": f"/iiif/3/c{c.pk}/info.json",
            "alt": _("%(title)s 第 %(n)s 页") % {"title": row.title, "n": n},
        }
        for n, c in enumerate(images, 1)
    ]
    viewer = None
    archives_part = browse.path_quote(record.repository.code)
    code_part = browse.path_quote(record.reference_code, slashes=True)
    if pictures:
        viewer = {
            "sources": [p["info"] for p in pictures],
            "manifest": f"/iiif/manifest/{archives_part}/{code_part}",
            "search": "",
            "labels": [p["alt"] for p in pictures],
            "mode": "single",
            "fallback": [p["full"] for p in pictures],
        }
    citation = record_citation(
        record, title=row.title, author=row.author, url=request.build_absolute_uri(request.path)
    )
    context = _base_context(request, database, "record")
    context.update(
        {
            "row": row,
            "record": record,
            "pictures": pictures,
            "viewer": viewer,
            "condition": public_condition(record.pk),
            "stable_url": browse.stable_record_url(record),
            "share": _share(request, row.title, citation),
        }
    )
    return render(request, "exhibits/database_record.html", context)
