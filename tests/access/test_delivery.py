"""Delivery of page images and PDFs to the public: every copy is a stamped derivative (never the
original), rendered once and cached on disk, rendered by a queued job when the source is large
(the page shows 正在生成… meanwhile), and the record page fetches pages on demand so that it
stays within the content rate limit."""

from __future__ import annotations

import io
import re
import struct
import subprocess
import zlib
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone
from PIL import Image

from lantai.access import delivery
from lantai.catalog.components import attach_component
from lantai.jobs import huey

from .conftest import Portal, png_bytes

pytestmark = pytest.mark.django_db


def pdf_pages(count: int) -> bytes:
    """A real PDF of `count` blank pages, of two sizes (portrait and landscape)."""
    pages = [
        Image.new("RGB", (200, 280) if n % 2 == 0 else (400, 280), "white") for n in range(count)
    ]
    out = io.BytesIO()
    pages[0].save(out, "PDF", save_all=True, append_images=pages[1:])
    return out.getvalue()


def page_texts(data: bytes, tmp_path: Path) -> list[str]:
    """The text of each page, as poppler's pdftotext reads it."""
    source = tmp_path / "delivered.pdf"
    source.write_bytes(data)
    text = subprocess.run(
        ["pdftotext", "-enc", "UTF-8", str(source), "-"], check=True, capture_output=True
    ).stdout.decode()
    return [page for page in text.split("\f") if page.strip()]


def body(response: Any) -> bytes:
    if response.streaming:
        return b"".join(response.streaming_content)
    return bytes(response.content)


@pytest.fixture
def queued() -> Iterator[Any]:
    """Jobs are queued instead of run inline (as with a worker): the test runs them itself."""
    huey.immediate = False
    huey.flush()
    try:
        yield huey
    finally:
        huey.flush()
        huey.immediate = True


def run_queued(queue: Any) -> int:
    done = 0
    while (task := queue.dequeue()) is not None:
        queue.execute(task)
        done += 1
    return done


def test_pdf_is_stamped_with_the_delivery_id_on_every_page(portal: Portal, tmp_path: Path) -> None:
    record = portal.open_records[0]
    original = pdf_pages(5)
    component = attach_component(record, [original], "five-pages.pdf", user=None)
    response = Client().get(f"/public/content/{component.pk}/document.pdf")
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    delivered = body(response)
    assert delivered.startswith(b"%PDF-") and delivered != original
    stamp = delivery.delivery_id(component)
    pages = page_texts(delivered, tmp_path)
    assert len(pages) == 5
    for n, text in enumerate(pages, 1):
        flat = re.sub(r"\s+", "", text)
        assert stamp in flat, f"page {n} lacks the delivery id"
        assert "公众查档" in flat and portal.repository.name in flat, f"page {n}"


def test_stamp_reads_upright_on_pages_shown_turned(portal: Portal, tmp_path: Path) -> None:
    import pikepdf

    source = pikepdf.open(io.BytesIO(pdf_pages(4)))
    for page, turn in zip(source.pages, (0, 90, 180, 270), strict=True):
        page.obj.Rotate = turn
    original = io.BytesIO()
    source.save(original)
    component = attach_component(
        portal.open_records[0], [original.getvalue()], "turned.pdf", user=None
    )
    delivered = tmp_path / "turned.pdf"
    delivered.write_bytes(body(Client().get(f"/public/content/{component.pk}/document.pdf")))
    subprocess.run(
        ["pdftoppm", "-r", "40", "-png", str(delivered), str(tmp_path / "p")], check=True
    )
    shown = sorted(tmp_path.glob("p-*.png"))
    assert len(shown) == 4
    for path in shown:
        page = Image.open(path).convert("L")

        def shade(y: int, page: Any = page) -> float:
            return sum(page.getpixel((x, y)) for x in range(page.width)) / page.width

        # the band with the delivery id lies along the foot of the page as the reader sees it
        foot = sorted(shade(y) for y in range(page.height - 8, page.height))
        assert foot[3] < 130, (path.name, foot)  # at least half of the last rows are dark
        assert min(shade(y) for y in range(4)) > 200, path.name


def test_derivatives_are_rendered_once_not_again_the_next_day(portal: Portal) -> None:
    record = portal.open_records[0]
    image, pdf = portal.images[record.pk], portal.pdfs[record.pk]
    urls = (f"/public/content/{image.pk}/page.jpg", f"/public/content/{pdf.pk}/document.pdf")
    client = Client()
    cache = Path(settings.DATA_DIR) / "delivery"
    before = set(cache.rglob("*.*"))
    today = [body(client.get(url)) for url in urls]
    delivered = set(cache.rglob("*.*")) - before
    stamps = {p: p.stat().st_mtime_ns for p in delivered if p.suffix in (".jpg", ".pdf")}
    assert len(stamps) == 2
    tomorrow = timezone.now() + timedelta(days=1, hours=1)
    with (
        mock.patch("django.utils.timezone.now", return_value=tomorrow),
        mock.patch("django.utils.timezone.localdate", return_value=tomorrow.date()),
    ):
        again = [body(client.get(url)) for url in urls]
    assert again == today  # the same copy, with the same delivery id
    assert {p: p.stat().st_mtime_ns for p in stamps} == stamps  # not rendered again


def test_large_image_is_rendered_by_a_job_behind_a_placeholder(
    portal: Portal, queued: Any, settings: Any
) -> None:
    settings.PUBLIC_DELIVERY_INLINE_PIXELS = 1_000_000
    record = portal.open_records[1]
    large = attach_component(record, [png_bytes((1200, 1000))], "large.png", user=None)
    client = Client()
    response = client.get(f"/public/content/{large.pk}/page.jpg")
    assert response.status_code == 202 and response["Content-Type"] == "image/png"
    assert "no-store" in response["Cache-Control"] and response["Retry-After"]
    assert len(queue_names := [t.name for t in queued.pending()]) == 1, queue_names
    client.get(f"/public/content/{large.pk}/page.jpg")  # asking again does not queue it again
    assert len(queued.pending()) == 1
    assert run_queued(queued) == 1
    ready = client.get(f"/public/content/{large.pk}/page.jpg")
    assert ready.status_code == 200 and ready["Content-Type"] == "image/jpeg"
    assert Image.open(io.BytesIO(body(ready))).width == 1200


def test_large_pdf_is_rendered_by_a_job_behind_a_placeholder(
    portal: Portal, queued: Any, settings: Any, tmp_path: Path
) -> None:
    settings.PUBLIC_DELIVERY_INLINE_BYTES = 1000
    record = portal.open_records[1]
    component = attach_component(record, [pdf_pages(3)], "large.pdf", user=None)
    client = Client()
    waiting = client.get(f"/public/content/{component.pk}/document.pdf")
    assert waiting.status_code == 202 and waiting["Content-Type"].startswith("text/html")
    text = waiting.content.decode()
    assert "正在生成" in text and 'http-equiv="refresh"' in text
    assert run_queued(queued) >= 1
    ready = client.get(f"/public/content/{component.pk}/document.pdf")
    assert ready.status_code == 200 and ready["Content-Type"] == "application/pdf"
    pages = page_texts(body(ready), tmp_path)
    assert len(pages) == 3 and all(delivery.delivery_id(component) in p for p in pages)


def test_300_megapixel_tiff_is_never_rendered_in_the_request(portal: Portal, queued: Any) -> None:
    record = portal.open_records[2]
    out = io.BytesIO()
    Image.new("1", (20000, 15000), 1).save(out, "TIFF", compression="group4")
    scan = attach_component(record, [out.getvalue()], "A0-scan.tif", user=None)
    response = Client().get(f"/public/content/{scan.pk}/page.jpg")
    assert response.status_code == 202  # a placeholder now, the rendering is a queued job
    assert [t.args[0] for t in queued.pending()] == [scan.pk]


def bomb_png(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims `width` x `height` pixels."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    rows = zlib.compress(b"\x00" * (1 + width // 8) * 64)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", rows) + chunk(b"IEND", b"")
    )


def test_decompression_bomb_is_a_clear_message_not_an_error(portal: Portal) -> None:
    record = portal.open_records[2]
    bomb = attach_component(record, [bomb_png(60000, 60000)], "bomb.png", user=None)
    client = Client(raise_request_exception=False)
    page = client.get(f"/public/records/{record.pk}/")
    assert page.status_code == 200
    assert "无法在线显示" in page.content.decode()
    response = client.get(f"/public/content/{bomb.pk}/page.jpg")
    assert response.status_code == 404  # like any page the public cannot have; never a 500


def test_record_page_fetches_pages_on_demand_within_the_content_limit(
    portal: Portal, settings: Any
) -> None:
    record = portal.open_records[0]
    for n in range(30):
        colour = f"#{(n * 8) % 256:02x}{(n * 5) % 256:02x}80"
        attach_component(record, [png_bytes((120, 160), colour)], f"p{n:04d}.png", user=None)
    for n in range(6):
        attach_component(record, [pdf_pages(1 + n)], f"doc{n}.pdf", user=None)
    settings.PUBLIC_CONTENT_RATE = "5/min"
    client = Client()
    html = client.get(f"/public/records/{record.pk}/").content.decode()
    images = re.findall(r"<img [^>]*>", html)  # page strip thumbnails and no-JS page images
    assert len(images) == 62 and all('loading="lazy"' in tag for tag in images)
    fired = re.findall(r'<(?:img|iframe) [^>]*\ssrc="(/public/content/[^"]+)"', html)
    assert len(fired) == 1, fired  # the first PDF (the pages come from the IIIF image service)
    assert len(re.findall(r'data-info="/iiif/3/c\d+/info\.json"', html)) == 31
    for url in fired:
        assert client.get(url).status_code == 200, url  # the page itself never hits 429
