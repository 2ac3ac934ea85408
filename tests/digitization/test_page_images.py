"""Loading page images: every format and frame, and every kind of bad file refused with a
message naming the file and the reason."""

from __future__ import annotations

import io
import struct
import subprocess
import zlib
from pathlib import Path

import pytest
from PIL import Image, ImageFile

from lantai.digitization.page_images import (
    JPEG_SOURCE,
    MAX_PAGE_PIXELS,
    UnreadableImage,
    load_pages,
)


def page(colour: int = 200, size: tuple[int, int] = (120, 80)) -> Image.Image:
    return Image.new("L", size, colour)


def test_png_jpeg_jp2_with_dpi(tmp_path: Path) -> None:
    page().save(tmp_path / "a.png", dpi=(300, 300))
    page().convert("RGB").save(tmp_path / "b.jpg", dpi=(200, 200), quality=90)
    page().save(tmp_path / "c.jp2")
    (a,) = load_pages(tmp_path / "a.png")
    assert (a.label, a.frame, a.image.size) == ("a.png", 1, (120, 80))
    assert a.dpi == pytest.approx((300, 300), abs=0.1)
    (b,) = load_pages(tmp_path / "b.jpg")
    assert b.dpi == (200, 200) and b.image.info[JPEG_SOURCE] == (tmp_path / "b.jpg").read_bytes()
    (c,) = load_pages(tmp_path / "c.jp2")
    assert c.image.size == (120, 80)


def test_multipage_tiff_frames_are_labelled(tmp_path: Path) -> None:
    frames = [page(50), page(100, (60, 40)), page(150)]
    frames[0].save(tmp_path / "卷.tif", save_all=True, append_images=frames[1:], dpi=(400, 400))
    got = list(load_pages(tmp_path / "卷.tif"))
    assert [p.label for p in got] == ["卷.tif#1", "卷.tif#2", "卷.tif#3"]
    assert [p.frame for p in got] == [1, 2, 3]
    assert got[1].image.size == (60, 40) and got[2].image.getpixel((0, 0)) == 150


def test_pdf_scanned_page_keeps_its_pixels_and_ppi_other_pages_are_rasterised(
    tmp_path: Path,
) -> None:
    scan = page(90, (300, 420))
    scan.save(tmp_path / "scan.pdf", resolution=150)
    (p,) = load_pages(tmp_path / "scan.pdf")
    assert p.image.size == (300, 420) and p.dpi == pytest.approx((150, 150), abs=1)
    # a page that is not one full-page image (a small image on a larger page): rasterised at 300
    import pikepdf

    pdf = pikepdf.open(tmp_path / "scan.pdf")
    pdf.pages[0].MediaBox = [0, 0, 288, 288]  # 4 × 4 in
    pdf.pages.append(pikepdf.Page(pdf.pages[0].obj.copy()))
    pdf.save(tmp_path / "two.pdf")
    got = list(load_pages(tmp_path / "two.pdf"))
    assert [x.label for x in got] == ["two.pdf#1", "two.pdf#2"]
    assert got[0].image.size == (1200, 1200) and got[0].dpi == (300.0, 300.0)


def _bomb_png(width: int, height: int) -> bytes:
    """A small real PNG whose header claims `width` × `height` (CRC fixed up)."""
    buf = io.BytesIO()
    page().save(buf, "PNG")
    data = bytearray(buf.getvalue())
    chunk = b"IHDR" + struct.pack(">II", width, height) + bytes(data[24:29])
    data[12:29] = chunk
    data[29:33] = struct.pack(">I", zlib.crc32(chunk))
    return bytes(data)


@pytest.mark.parametrize("kind", ["png", "jpg", "tif"])
def test_truncated_files_are_refused(tmp_path: Path, kind: str) -> None:
    buf = io.BytesIO()
    noisy = Image.effect_noise((300, 300), 60).convert("L")
    noisy.save(buf, {"png": "PNG", "jpg": "JPEG", "tif": "TIFF"}[kind])
    data = buf.getvalue()
    path = tmp_path / f"cut.{kind}"
    path.write_bytes(data[: len(data) * 2 // 3])
    with pytest.raises(UnreadableImage) as e:
        list(load_pages(path))
    assert "cut." + kind in e.value.message_zh and "cut." + kind in e.value.message_en
    assert ImageFile.LOAD_TRUNCATED_IMAGES is False


def test_bad_files_are_refused_with_the_reason(tmp_path: Path) -> None:
    (tmp_path / "empty.png").write_bytes(b"")
    (tmp_path / "notes.png").write_text("这不是图像 not an image\n")
    (tmp_path / "fake.pdf").write_bytes(b"%PDF-1.7\nnothing here at all\n")
    (tmp_path / "other.pdf").write_text("just text named .pdf")
    (tmp_path / "bomb.png").write_bytes(_bomb_png(40000, 40000))
    reasons = {}
    for name in ("empty.png", "notes.png", "fake.pdf", "other.pdf", "bomb.png", "missing.tif"):
        with pytest.raises(UnreadableImage) as e:
            list(load_pages(tmp_path / name))
        assert name in str(e.value)
        reasons[name] = e.value.message_en
    assert "empty" in reasons["empty.png"]
    assert "not a recognised image format" in reasons["notes.png"]
    assert "PDF" in reasons["fake.pdf"]
    assert "decompression bomb" in reasons["bomb.png"]
    assert "no such file" in reasons["missing.tif"]


def test_a0_at_600_dpi_is_within_the_limit() -> None:
    assert 19866 * 28087 <= MAX_PAGE_PIXELS < 40000 * 40000


def test_pdftoppm_is_available() -> None:
    assert subprocess.run(["pdftoppm", "-v"], capture_output=True).returncode == 0
