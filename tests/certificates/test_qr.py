"""The certificate QR code: written with segno at error level M, read back with zxing-cpp; PDF
pages rendered with pypdfium2. Reading a QR code from a rendered certificate page (and from a
photo-like copy of it) is tested in test_document.py, on the module's one rendered PDF."""

from __future__ import annotations

import io
import secrets

import pytest
from PIL import Image

from lantai.certificates.qr import QrReadError, make_qr, read_qr, render_page
from lantai.standards.certificate_payload import PREFIX, b45encode


def payload_of(length: int) -> str:
    """Upper-case Base45 text of about ``length`` characters, as the payload format writes."""
    text = PREFIX + b45encode(secrets.token_bytes((length - len(PREFIX)) * 2 // 3))
    assert text == text.upper()
    return text


def test_a_300_character_payload_fits_version_10_at_level_m() -> None:
    text = payload_of(300)
    assert 295 <= len(text) <= 305
    qr = make_qr(text)
    # alphanumeric mode: 300 characters need version 10 at M; in byte mode they would need 13,
    # past the limit of 12
    assert qr.version == 10
    assert qr.svg.startswith("<svg") and 'viewBox="0 0 65 65"' in qr.svg
    assert qr.png.startswith(b"\x89PNG")


def test_lower_case_text_falls_out_of_alphanumeric_mode() -> None:
    # the reason the payload is upper case: the same length in byte mode needs a larger version
    text = payload_of(300)
    assert make_qr(text.lower()).version > make_qr(text).version


def test_written_code_reads_back() -> None:
    text = payload_of(300)
    assert read_qr(make_qr(text).png) == [text]


def test_read_from_jpeg() -> None:
    text = payload_of(120)
    image = Image.open(io.BytesIO(make_qr(text).png)).convert("RGB")
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=60)
    assert read_qr(out.getvalue()) == [text]


def test_a_faint_print_reads_through_the_grey_thresholded_pass() -> None:
    import zxingcpp

    text = payload_of(200)
    code = Image.open(io.BytesIO(make_qr(text).png)).convert("L")
    faint = code.point(lambda v: 215 if v > 128 else 200)  # toner running out, grey paper
    # the first pass alone (zxing-cpp on the picture as it is) does not see it
    assert zxingcpp.read_barcodes(faint.convert("RGB")) == []
    out = io.BytesIO()
    faint.save(out, format="PNG")
    assert read_qr(out.getvalue()) == [text]


def test_an_image_without_a_code_reads_as_nothing() -> None:
    out = io.BytesIO()
    Image.new("RGB", (300, 300), "white").save(out, format="PNG")
    assert read_qr(out.getvalue()) == []


@pytest.mark.parametrize("data", [b"", b"not an image", b"%PDF-1.7\n"])
def test_bytes_that_are_no_image_are_an_error(data: bytes) -> None:
    with pytest.raises(QrReadError, match="无法读取图像"):
        read_qr(data)


def test_a_truncated_image_is_an_error_not_a_guess() -> None:
    png = make_qr(payload_of(100)).png
    with pytest.raises(QrReadError):
        read_qr(png[: len(png) // 2])


@pytest.mark.parametrize("data", [b"", b"%PDF-1.7\n%%EOF", b"\x89PNG\r\n\x1a\n"])
def test_render_page_refuses_what_is_no_pdf(data: bytes) -> None:
    with pytest.raises(QrReadError, match="无法读取 PDF"):
        render_page(data)


def test_render_page_refuses_a_page_that_is_not_there() -> None:
    import pypdfium2

    document = pypdfium2.PdfDocument.new()
    document.new_page(595, 842)
    out = io.BytesIO()
    document.save(out)
    document.close()
    pdf = out.getvalue()
    assert Image.open(io.BytesIO(render_page(pdf, 0, dpi=72))).size == (595, 842)
    with pytest.raises(QrReadError, match="第 2 页"):
        render_page(pdf, 1)
    with pytest.raises(ValueError, match="dpi"):
        render_page(pdf, 0, dpi=5000)
