"""The certificate's QR code: written with segno, read back with zxing-cpp, and a PDF page rendered
to PNG (pypdfium2) so that a test or ``certificate verify FILE.pdf`` can read the code from the
page as a phone would.

The payload is upper-case Base45 text (``LTC1:…``), every character of which is in the QR
alphanumeric set, so segno encodes it in alphanumeric mode (5.5 bits a character instead of 8).
Error correction is M, never boosted: the version printed in the reports is the version that a
payload of that length needs at M.
"""

from __future__ import annotations

import functools
import io
from dataclasses import dataclass

__all__ = ["ERROR", "Qr", "QrReadError", "make_qr", "read_qr", "render_page"]

ERROR = "M"
_QUIET_ZONE = 4  # modules, ISO/IEC 18004 §7.3.8
_PNG_SCALE = 8  # pixels a module


class QrReadError(ValueError):
    """The image or PDF page cannot be read at all (not a QR code that was not found)."""


@dataclass(frozen=True)
class Qr:
    svg: str  # a complete <svg> element, black modules on white, quiet zone included
    png: bytes
    version: int


@functools.lru_cache(maxsize=32)  # issuing checks the version, then the layout draws the same code
def make_qr(text: str) -> Qr:
    import segno

    code = segno.make_qr(text, error=ERROR, boost_error=False)
    svg = io.BytesIO()
    # the quiet zone is drawn as white so that a dark page background cannot eat it
    code.save(svg, kind="svg", border=_QUIET_ZONE, scale=1, xmldecl=False, svgns=True,
              unit="mm", light="#fff", dark="#000")  # fmt: skip
    png = io.BytesIO()
    code.save(png, kind="png", border=_QUIET_ZONE, scale=_PNG_SCALE)
    version = code.version
    assert isinstance(version, int)  # a QR code (not Micro QR) has a numeric version
    return Qr(svg=svg.getvalue().decode("utf-8"), png=png.getvalue(), version=version)


MAX_IMAGE_PIXELS = 50_000_000  # a 50-megapixel photo; more is not a phone picture of a page
MAX_PAGE_POINTS = 2384  # the longer side of A2; a certificate is A4 (842 points)


def read_qr(image: bytes) -> list[str]:
    """The texts of the QR codes in a PNG or JPEG image (empty when none is found). A second pass
    on a grey, thresholded copy helps with photos of printouts (uneven light, JPEG noise)."""
    import zxingcpp
    from PIL import Image, ImageFile, ImageOps, UnidentifiedImageError

    ImageFile.LOAD_TRUNCATED_IMAGES = False  # see lantai.web.report_pdf: a cut image is an error
    try:
        with Image.open(io.BytesIO(image)) as opened:
            width, height = opened.size
            if width * height > MAX_IMAGE_PIXELS:  # checked from the header, before decoding
                raise QrReadError(
                    f"图像像素过多（{width}×{height}），请缩小后再核验 — the image has too many "
                    f"pixels ({width}×{height}); use a smaller one"
                )
            opened.load()
            picture = ImageOps.exif_transpose(opened).convert("RGB")
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError) as exc:
        raise QrReadError(
            f"无法读取图像（需为 PNG 或 JPEG）：{exc} — cannot read the image (PNG or JPEG): {exc}"
        ) from exc

    def decode(candidate: Image.Image) -> list[str]:
        found = zxingcpp.read_barcodes(
            candidate,
            formats=zxingcpp.BarcodeFormats(zxingcpp.BarcodeFormat.QRCode),
            text_mode=zxingcpp.TextMode.Plain,
        )
        return [barcode.text for barcode in found if barcode.valid]

    texts = decode(picture)
    if texts:
        return texts
    grey = ImageOps.autocontrast(picture.convert("L"), cutoff=1)
    for threshold in (128, 96, 160):
        texts = decode(grey.point(lambda v, t=threshold: 255 if v > t else 0))
        if texts:
            return texts
    return []


def render_page(pdf: bytes, page: int = 0, dpi: int = 150) -> bytes:
    """One page of a PDF as PNG at ``dpi`` (pypdfium2); QrReadError when the PDF cannot be read."""
    import pypdfium2

    if not 36 <= dpi <= 1200:
        raise ValueError(f"dpi must lie between 36 and 1200, got {dpi}")
    try:
        document = pypdfium2.PdfDocument(pdf)
    except pypdfium2.PdfiumError as exc:
        raise QrReadError(f"无法读取 PDF：{exc} — cannot read the PDF: {exc}") from exc
    try:
        if not 0 <= page < len(document):
            raise QrReadError(
                f"PDF 只有 {len(document)} 页，没有第 {page + 1} 页 — "
                f"the PDF has {len(document)} pages, no page {page + 1}"
            )
        pdf_page = document[page]
        try:
            width, height = pdf_page.get_size()
            if max(width, height) > MAX_PAGE_POINTS:  # a 200-inch page would take gigabytes
                raise QrReadError(
                    f"PDF 页面过大（{width:.0f}×{height:.0f} 点），不是证明的版式 — the PDF page "
                    f"is too large ({width:.0f}×{height:.0f} points) for a certificate"
                )
            bitmap = pdf_page.render(scale=dpi / 72)
            out = io.BytesIO()
            bitmap.to_pil().save(out, format="PNG")
            return out.getvalue()
        finally:
            pdf_page.close()
    finally:
        document.close()
