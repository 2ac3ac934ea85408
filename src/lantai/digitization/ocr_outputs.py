"""OCR derivatives of a page: ALTO v4 XML (lines, boxes, confidence, tied to the page image's
SM3) and a searchable PDF (each page image drawn full-page, the recognised text laid invisibly
over every line box so that a PDF viewer finds and highlights it, `pdftotext` extracts it)."""

from __future__ import annotations

import io
import zlib
from datetime import UTC, datetime
from typing import Any
from xml.sax.saxutils import escape

from PIL import Image

from .ocr import OcrLine, OcrPage
from .page_images import JPEG_SOURCE

ALTO_NS = "http://www.loc.gov/standards/alto/ns-v4#"
ALTO_SCHEMA = "http://www.loc.gov/standards/alto/v4/alto-4-2.xsd"


def _attr(value: object) -> str:
    return escape(str(value), {'"': "&quot;", "\n": "&#10;"})


def alto_xml(page: OcrPage, *, image_name: str, sm3: str) -> bytes:
    """The page as ALTO v4 (pixel units): one TextBlock, a TextLine per recognised line in reading
    order with one String (CONTENT, WC = the line's confidence)."""
    when = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    name, _, ver = page.engine.partition(" ")
    out = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        f'<alto xmlns="{ALTO_NS}" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"'
        f' xsi:schemaLocation="{ALTO_NS} {ALTO_SCHEMA}">',
        "<Description>",
        "<MeasurementUnit>pixel</MeasurementUnit>",
        "<sourceImageInformation>",
        f"<fileName>{escape(image_name)}</fileName>",
        f'<fileIdentifier fileIdentifierLocation="SM3">{escape(sm3)}</fileIdentifier>',
        "</sourceImageInformation>",
        '<OCRProcessing ID="OCR_1"><ocrProcessingStep>',
        f"<processingDateTime>{when}</processingDateTime>",
        "<processingStepSettings>"
        + escape(f"seconds={page.seconds}; vertical={str(page.vertical).lower()}")
        + "</processingStepSettings>",
        "<processingSoftware>",
        f"<softwareName>{escape(name)}</softwareName>",
        f"<softwareVersion>{escape(ver)}</softwareVersion>",
        "</processingSoftware>",
        "</ocrProcessingStep></OCRProcessing>",
        "</Description>",
        "<Layout>",
        f'<Page ID="P1" PHYSICAL_IMG_NR="1" WIDTH="{page.width}" HEIGHT="{page.height}">',
        f'<PrintSpace HPOS="0" VPOS="0" WIDTH="{page.width}" HEIGHT="{page.height}">',
    ]
    if page.lines:
        x0 = min(ln.box[0] for ln in page.lines)
        y0 = min(ln.box[1] for ln in page.lines)
        x1 = max(ln.box[2] for ln in page.lines)
        y1 = max(ln.box[3] for ln in page.lines)
        out.append(
            f'<TextBlock ID="B1" HPOS="{x0}" VPOS="{y0}" WIDTH="{x1 - x0}" HEIGHT="{y1 - y0}">'
        )
        for i, ln in enumerate(page.lines, 1):
            bx, by, bw, bh = ln.box[0], ln.box[1], ln.box[2] - ln.box[0], ln.box[3] - ln.box[1]
            geom = f'HPOS="{bx}" VPOS="{by}" WIDTH="{bw}" HEIGHT="{bh}"'
            out.append(
                f'<TextLine ID="L{i}" {geom}>'
                f'<String ID="S{i}" {geom} CONTENT="{_attr(ln.text)}" WC="{ln.confidence:.4f}"/>'
                "</TextLine>"
            )
        out.append("</TextBlock>")
    out += ["</PrintSpace>", "</Page>", "</Layout>", "</alto>", ""]
    return "\n".join(out).encode("utf-8")


def lines_from_alto(data: bytes) -> list[OcrLine]:
    """The lines of an ALTO file (ours or another's): a line's text is its Strings joined (with a
    space where an SP separates them), its confidence their mean WC (1.0 when absent)."""
    from lxml import etree

    parser = etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False
    )
    root = etree.fromstring(data, parser=parser)
    ns = root.tag.split("}")[0][1:] if root.tag.startswith("{") else ""
    q = (lambda t: f"{{{ns}}}{t}") if ns else (lambda t: t)  # noqa: E731
    lines = []
    for tl in root.iter(q("TextLine")):
        parts: list[str] = []
        confs: list[float] = []
        for child in tl:
            if child.tag == q("String"):
                parts.append(child.get("CONTENT", ""))
                if child.get("WC") is not None:
                    confs.append(float(child.get("WC")))
            elif child.tag == q("SP") and parts:
                parts.append(" ")
        x, y = round(float(tl.get("HPOS", 0))), round(float(tl.get("VPOS", 0)))
        w, h = round(float(tl.get("WIDTH", 0))), round(float(tl.get("HEIGHT", 0)))
        lines.append(
            OcrLine(
                text="".join(parts),
                box=(x, y, x + w, y + h),
                confidence=round(sum(confs) / len(confs), 4) if confs else 1.0,
            )
        )
    return lines


# --- searchable PDF --------------------------------------------------------------------------------


def _utf16(text: str) -> bytes:
    return text.encode("utf-16-be")


def _char_codes(chars: set[str]) -> dict[str, int]:
    """Each character of the document gets a 2-byte code (= its CID under Identity-H), 1, 2, …:
    the glyph is never shown (render mode 3), so which Adobe-GB1 glyph it names does not matter;
    ToUnicode maps the code back to the character for search, selection and extraction.

    Why not UniGB-UTF16-H: a reader needs that CMap's file to split the string into codes, and
    poppler without poppler-data (as here) drops such text entirely; Identity-H is built into
    every reader."""
    return {c: i for i, c in enumerate(sorted(chars), 1)}


def _to_unicode_cmap(codes: dict[str, int]) -> bytes:
    entries = sorted((code, _utf16(c).hex().upper()) for c, code in codes.items())
    body = [
        "/CIDInit /ProcSet findresource begin",
        "12 dict begin",
        "begincmap",
        "/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def",
        "/CMapName /Lantai-OCR-UCS def",
        "/CMapType 2 def",
        "1 begincodespacerange",
        "<0000> <FFFF>",
        "endcodespacerange",
    ]
    for i in range(0, len(entries), 100):
        chunk = entries[i : i + 100]
        body.append(f"{len(chunk)} beginbfchar")
        body += [f"<{code:04X}> <{uni}>" for code, uni in chunk]
        body.append("endbfchar")
    body += ["endcmap", "CMapName currentdict /CMap defineresource pop", "end", "end", ""]
    return "\n".join(body).encode("ascii")


def _pdf_string(data: bytes) -> str:
    return "<" + data.hex().upper() + ">"


def _image_xobject(pdf: Any, image: Image.Image) -> Any:
    import pikepdf

    source = image.info.get(JPEG_SOURCE)
    if isinstance(source, bytes | bytearray) and image.mode in ("L", "RGB"):
        # the scanner's JPEG as it is: no second lossy encoding
        return pikepdf.Stream(
            pdf,
            bytes(source),
            Type=pikepdf.Name.XObject,
            Subtype=pikepdf.Name.Image,
            Width=image.width,
            Height=image.height,
            ColorSpace=pikepdf.Name.DeviceGray if image.mode == "L" else pikepdf.Name.DeviceRGB,
            BitsPerComponent=8,
            Filter=pikepdf.Name.DCTDecode,
        )
    if image.mode == "1":
        raw, space, bits = image.tobytes(), pikepdf.Name.DeviceGray, 1
    elif image.mode == "L":
        raw, space, bits = image.tobytes(), pikepdf.Name.DeviceGray, 8
    elif image.mode in ("I;16", "I;16B", "I;16L", "I", "LA", "RGBA", "P", "PA", "CMYK", "YCbCr"):
        from .ocr import _to_bgr

        rgb = Image.fromarray(_to_bgr(image)[:, :, ::-1])
        raw, space, bits = rgb.tobytes(), pikepdf.Name.DeviceRGB, 8
    else:
        raw, space, bits = image.convert("RGB").tobytes(), pikepdf.Name.DeviceRGB, 8
    return pikepdf.Stream(
        pdf,
        zlib.compress(raw, 6),
        Type=pikepdf.Name.XObject,
        Subtype=pikepdf.Name.Image,
        Width=image.width,
        Height=image.height,
        ColorSpace=space,
        BitsPerComponent=bits,
        Filter=pikepdf.Name.FlateDecode,
    )


def _text_ops(page: OcrPage, scale: float, page_h: float, codes: dict[str, int]) -> list[str]:
    """Invisible text (render mode 3) in each line box, stretched (Tz) to the box: a horizontal
    line runs left to right along its box's bottom; a vertical one runs downward its column."""
    ops = ["BT", "3 Tr"]
    for ln in page.lines:
        text = ln.text
        n = len(text)
        if not n:
            continue
        x0, y0, x1, y1 = (v * scale for v in ln.box)
        w, h = max(x1 - x0, 0.1), max(y1 - y0, 0.1)
        code = _pdf_string(b"".join(codes[c].to_bytes(2, "big") for c in text))
        if h >= 1.5 * w and (n > 1 or page.vertical):
            size = w
            stretch = h / (n * size) * 100
            # text direction turned to point down the page, glyph tops to the right
            ops.append(
                f"/F1 {size:.2f} Tf {stretch:.2f} Tz 0 -1 1 0 {x0 + 0.12 * w:.2f} {page_h - y0:.2f} Tm {code} Tj"
            )
        else:
            size = h
            stretch = w / (n * size) * 100
            ops.append(
                f"/F1 {size:.2f} Tf {stretch:.2f} Tz 1 0 0 1 {x0:.2f} {page_h - y1 + 0.12 * h:.2f} Tm {code} Tj"
            )
    ops.append("ET")
    return ops


def searchable_pdf(pages: list[tuple[Image.Image, OcrPage, float]]) -> bytes:
    """A PDF of (image, OCR of it, its dpi) pages: the image fills the page (size from the dpi),
    the text is invisible and selectable. The font is Adobe's STSong-Light (Adobe-GB1, not
    embedded) under Identity-H with a ToUnicode map for exact extraction (see `_char_codes`)."""
    import pikepdf

    pdf = pikepdf.new()
    codes = _char_codes({c for _, page, _ in pages for ln in page.lines for c in ln.text})
    if len(codes) > 30000:  # more distinct characters than Adobe-GB1 has CIDs: never in practice
        raise ValueError("too many distinct characters for one PDF")
    to_unicode = pikepdf.Stream(pdf, _to_unicode_cmap(codes))
    descendant = pdf.make_indirect(
        pikepdf.Dictionary(
            Type=pikepdf.Name.Font,
            Subtype=pikepdf.Name.CIDFontType0,
            BaseFont=pikepdf.Name("/STSong-Light"),
            CIDSystemInfo=pikepdf.Dictionary(
                Registry=pikepdf.String("Adobe"), Ordering=pikepdf.String("GB1"), Supplement=4
            ),
            FontDescriptor=pdf.make_indirect(
                pikepdf.Dictionary(
                    Type=pikepdf.Name.FontDescriptor,
                    FontName=pikepdf.Name("/STSong-Light"),
                    Flags=6,
                    FontBBox=[-25, -254, 1000, 880],
                    ItalicAngle=0,
                    Ascent=880,
                    Descent=-120,
                    CapHeight=880,
                    StemV=93,
                )
            ),
            DW=1000,
        )
    )
    font = pdf.make_indirect(
        pikepdf.Dictionary(
            Type=pikepdf.Name.Font,
            Subtype=pikepdf.Name.Type0,
            BaseFont=pikepdf.Name("/STSong-Light-Identity-H"),
            Encoding=pikepdf.Name("/Identity-H"),
            DescendantFonts=[descendant],
            ToUnicode=pdf.make_indirect(to_unicode),
        )
    )
    for image, page, dpi in pages:
        dpi = dpi if dpi and dpi > 0 else 300.0
        scale = 72.0 / dpi
        pw, ph = image.width * scale, image.height * scale
        # boxes are in the pixels the OCR saw: rescale if the image given is another size
        box_scale = scale * (image.width / page.width if page.width else 1.0)
        ops = [f"q {pw:.3f} 0 0 {ph:.3f} 0 0 cm /Im1 Do Q", *_text_ops(page, box_scale, ph, codes)]
        content = pikepdf.Stream(pdf, zlib.compress("\n".join(ops).encode("ascii")))
        content.Filter = pikepdf.Name.FlateDecode
        pdf_page = pikepdf.Page(
            pikepdf.Dictionary(
                Type=pikepdf.Name.Page,
                MediaBox=[0, 0, round(pw, 3), round(ph, 3)],
                Resources=pikepdf.Dictionary(
                    XObject=pikepdf.Dictionary(Im1=_image_xobject(pdf, image)),
                    Font=pikepdf.Dictionary(F1=font),
                ),
                Contents=pdf.make_indirect(content),
            )
        )
        pdf.pages.append(pdf_page)
    buf = io.BytesIO()
    pdf.save(buf)
    return buf.getvalue()
