"""HTML → PDF/A-3b with WeasyPrint for printable reports. Fonts come from fontconfig (Noto CJK on
Debian) and are embedded; the only resource a page may load is the staff stylesheet: nothing is
fetched from the network or from the rest of the disk."""

from __future__ import annotations

from pathlib import Path
from typing import Any

STYLESHEET = Path(__file__).parent / "static" / "lantai" / "lantai.css"


def _fetch(url: str, *args: Any, **kwargs: Any) -> dict[str, Any]:
    if url.endswith("/lantai/lantai.css") or url == STYLESHEET.as_uri():
        return {"string": STYLESHEET.read_bytes(), "mime_type": "text/css", "encoding": "utf-8"}
    raise ValueError(f"report PDFs load no resource but the stylesheet: {url}")


def render(html: str) -> bytes:
    import weasyprint
    from PIL import ImageFile

    # importing weasyprint turns on Pillow's process-wide leniency for truncated images; the
    # DA/T 31 checks must see a truncated scan as truncated (digitization.image_checks)
    ImageFile.LOAD_TRUNCATED_IMAGES = False

    document = weasyprint.HTML(string=html, base_url=STYLESHEET.parent.as_uri() + "/",
                               url_fetcher=_fetch, media_type="print")  # fmt: skip
    pdf: bytes = document.write_pdf(pdf_variant="pdf/a-3b")
    return pdf
