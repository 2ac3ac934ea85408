"""The share block of a public page (exhibits/_share.html): its stable URL, a QR code drawn on
the server (segno, an SVG with no script and no style attribute), and its GB/T 7714 citation.

    share = share_block(request.build_absolute_uri(path), title, citation)
"""

from __future__ import annotations

from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _


def qr_svg(url: str) -> SafeString:
    """An inline SVG QR code of `url` (segno's output holds no text from the URL)."""
    import segno

    code = segno.make(url, error="m")
    drawn = code.svg_inline(
        scale=4, title=_("本页网址的二维码"), svgclass="share-qr", lineclass="share-qr-path"
    )
    return mark_safe(drawn.replace("<svg ", '<svg role="img" ', 1))  # noqa: S308 - segno's own SVG


def share_block(url: str, title: str, citation: str) -> dict[str, object]:
    """What `exhibits/_share.html` takes as `share`."""
    return {"url": url, "title": title, "citation": citation, "qr_svg": qr_svg(url)}
