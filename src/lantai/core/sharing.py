"""The share block of a public page (web/_share.html): its stable URL, a QR code drawn on
the server (segno, an SVG with no script and no style attribute), and its GB/T 7714 citation.

    share = share_block(request.build_absolute_uri(path), title, citation)
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

from lantai.standards.citation import gbt7714


def qr_svg(url: str) -> SafeString:
    """An inline SVG QR code of `url` (segno's output holds no text from the URL)."""
    import segno

    code = segno.make(url, error="m")
    drawn = code.svg_inline(
        scale=4, title=_("本页网址的二维码"), svgclass="share-qr", lineclass="share-qr-path"
    )
    return mark_safe(drawn.replace("<svg ", '<svg role="img" ', 1))  # noqa: S308 - segno's own SVG


def share_block(url: str, title: str, citation: str) -> dict[str, object]:
    """What `web/_share.html` takes as `share`."""
    return {"url": url, "title": title, "citation": citation, "qr_svg": qr_svg(url)}


def archives_place(region: str) -> str:
    """The 保存地 of a citation: an archives' 行政区划 (a name, or a GB/T 2260 code)."""
    from lantai.standards.regions import region_name

    region = (region or "").strip()
    if region.isdigit():
        return region_name(region) or ""
    return region


def record_citation(record: Any, *, title: str, author: str, url: str) -> str:
    """The GB/T 7714 citation of a public record ([A/OL]) with the title and author the public
    sees (those of the open copy for a partly opened record)."""
    return gbt7714(
        kind="A",
        title=title,
        authors=author,
        place=archives_place(record.repository.region),
        holder=record.repository.name,
        year=record.year,
        reference_code=record.reference_code,
        url=url,
        accessed=dt.date.today(),
    )
