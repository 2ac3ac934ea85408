"""网上展厅 on the public portal: the hall, an exhibition's cover and contents, and its pages.
Every request asks `exhibitions.public_exhibition` (is it shown now?) and renders the published
snapshot through `exhibition_render` (is each record public now?): nothing is cached."""

from __future__ import annotations

from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

from lantai.exhibits import exhibition_render as er
from lantai.exhibits import exhibitions
from lantai.exhibits import figures as exhibit_figures
from lantai.standards import citation

PUBLIC_BASE = "access/base.html"


def _lang(request: HttpRequest) -> str:
    return getattr(request, "LANGUAGE_CODE", "") or "zh-hans"


def share(
    request: HttpRequest, path: str, title: str, holder: str, updated: Any = None
) -> dict[str, Any]:
    from lantai.core.sharing import share_block

    url = request.build_absolute_uri(path)
    cite = citation.gbt7714(title=title, authors=holder, kind="EB", url=url, updated=updated)
    return share_block(url, title, cite)


def hall(request: HttpRequest) -> HttpResponse:
    current, past = exhibitions.hall()
    lang = _lang(request)
    shown = []
    for exhibition in current:
        data = exhibition.published.snapshot  # type: ignore[union-attr]
        linker = er.Linker(exhibition.slug)
        shown.append(
            {
                "href": linker.cover(),
                "title": er.pick(data, "title", lang),
                "summary": er.pick(data, "summary", lang),
                "publish_at": exhibition.publish_at,
                "withdraw_at": exhibition.withdraw_at,
                "cover": er.cover_image(data.get("cover") or {}, linker, lang),
            }  # fmt: skip
        )
    gone = [
        {
            "title": er.pick(e.published.snapshot, "title", lang),  # type: ignore[union-attr]
            "publish_at": e.publish_at,
            "withdraw_at": e.withdraw_at,
        }  # fmt: skip
        for e in past
    ]
    context = {"base_template": PUBLIC_BASE, "current": shown, "past": gone}
    return render(request, "exhibits/exhibition_hall.html", context)


def _published(request: HttpRequest, slug: str) -> tuple[Any, er.Rendered]:
    exhibition = exhibitions.public_exhibition(slug)
    if exhibition is None or exhibition.published is None:
        raise Http404(_("没有这个展览，或展览尚未开展、已经撤展。"))
    version = exhibition.published
    shown = er.render(version.snapshot, slug, er.Linker(slug), _lang(request), version.number)
    return exhibition, shown


def cover(request: HttpRequest, slug: str) -> HttpResponse:
    exhibition, shown = _published(request, slug)
    exhibit_figures.count_visit(request, exhibition)  # 参观人次 for the annual statistics
    return cover_response(request, exhibition, shown, PUBLIC_BASE)


def page(request: HttpRequest, slug: str, page_slug: str) -> HttpResponse:
    exhibition, shown = _published(request, slug)
    return page_response(request, exhibition, shown, page_slug, PUBLIC_BASE)


def cover_response(
    request: HttpRequest, exhibition: Any, shown: er.Rendered, base: str, preview: bool = False
) -> HttpResponse:
    context = {
        "base_template": base, "exhibition": shown, "preview": preview,
        "preview_back": f"/exhibits/exhibitions/{exhibition.pk}/" if preview else "",
        "share": share(request, er.Linker(exhibition.slug).cover(), shown.title, exhibition.repository.name,
                       exhibition.publish_at.date() if exhibition.publish_at else None),
    }  # fmt: skip
    return render(request, "exhibits/exhibition_cover.html", context)


def page_response(
    request: HttpRequest, exhibition: Any, shown: er.Rendered, page_slug: str, base: str,
    preview: bool = False,
) -> HttpResponse:  # fmt: skip
    current, before, after = shown.page(page_slug)
    if current is None:
        raise Http404(_("展览中没有这一页。"))
    context = {
        "base_template": base, "exhibition": shown, "page": current, "before": before,
        "after": after, "preview": preview,
        "preview_back": f"/exhibits/exhibitions/{exhibition.pk}/" if preview else "",
        "share": share(request, er.Linker(exhibition.slug).page(page_slug), f"{shown.title}：{current.title}",
                       exhibition.repository.name),
    }  # fmt: skip
    return render(request, "exhibits/exhibition_page.html", context)
