"""IIIF pyramids (lantai.access.iiif): built once per page and variant, even when requests race;
large pages queued (503 with Retry-After until done); damaged files and decompression bombs
answered with a clear message, never a 500; EXIF orientation and JPEG 2000 sources."""

from __future__ import annotations

import io
import struct
import threading
import zlib
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from django.test import Client
from PIL import Image

from tests.access.conftest import Portal
from tests.access.test_iiif_image import (
    _own_data_dir,
    decoded,
    mean_difference,
    page_image,
    png,
    staff_client,
)

__all__ = ["_own_data_dir"]  # the same fixture: pyramids and answers of each test only


def attach(portal: Portal, data: bytes, name: str, record_index: int = 0) -> Any:
    from lantai.catalog.components import attach_component

    return attach_component(portal.open_records[record_index], [data], name, user=None)


def bomb_png(width: int = 30_000, height: int = 30_000) -> bytes:
    """A PNG whose header claims 900 million pixels (a few hundred bytes on disk)."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
        )

    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + chunk(b"IEND", b"")
    )  # fmt: skip


def test_a_decompression_bomb_is_refused_with_a_message(portal: Portal) -> None:
    component = attach(portal, bomb_png(), "bomb.png")
    for url in (f"/iiif/3/c{component.pk}/info.json",
                f"/iiif/3/c{component.pk}/full/max/0/default.jpg"):  # fmt: skip
        response = Client().get(url)
        assert response.status_code == 422
        assert "过大" in response.content.decode()


def test_a_damaged_page_is_refused_with_a_message(portal: Portal) -> None:
    whole = io.BytesIO()
    page_image((1200, 900)).save(whole, "JPEG", quality=90)
    component = attach(portal, whole.getvalue()[: len(whole.getvalue()) // 3], "torn.jpg")
    client = staff_client(portal)
    response = client.get(f"/reading-room/iiif/3/c{component.pk}/info.json")
    assert response.status_code == 422
    assert "损坏" in response.content.decode()
    # remembered: the next request says so at once (no second attempt within the day)
    again = client.get(f"/reading-room/iiif/3/c{component.pk}/0,0,512,512/256,/0/default.jpg")
    assert again.status_code == 422 and "损坏" in again.content.decode()
    garbage = attach(portal, b"\xff\xd8\xff\xe0 not really a jpeg" * 10, "garbage.jpg")
    response = client.get(f"/reading-room/iiif/3/c{garbage.pk}/info.json")
    assert response.status_code in (404, 422) and "Traceback" not in response.content.decode()


def test_exif_orientation_is_applied(portal: Portal) -> None:
    upright = page_image((600, 900))
    stored = upright.transpose(Image.Transpose.ROTATE_90)  # as a camera held sideways stores it
    exif = Image.Exif()
    exif[0x0112] = 6  # "turn 90° clockwise to show"
    out = io.BytesIO()
    stored.save(out, "JPEG", quality=95, exif=exif.tobytes())
    component = attach(portal, out.getvalue(), "sideways.jpg")
    client = staff_client(portal)
    info = client.get(f"/reading-room/iiif/3/c{component.pk}/info.json").json()
    assert (info["width"], info["height"]) == (600, 900)
    got = decoded(client.get(f"/reading-room/iiif/3/c{component.pk}/full/max/0/default.png"))
    assert mean_difference(got, upright) < 5


def test_jpeg2000_pages_are_served(portal: Portal) -> None:
    image = page_image((1100, 800))
    out = io.BytesIO()
    image.save(out, "JPEG2000", irreversible=False)
    component = attach(portal, out.getvalue(), "page.jp2")
    client = staff_client(portal)
    response = client.get(
        f"/reading-room/iiif/3/c{component.pk}/100,100,600,400/300,/0/default.png"
    )
    assert response.status_code == 200
    expected = image.crop((100, 100, 700, 500)).resize((300, 200), Image.Resampling.LANCZOS)
    assert mean_difference(decoded(response), expected) < 4


def test_racing_requests_build_the_pyramid_once(portal: Portal, monkeypatch: Any) -> None:
    from lantai.access import iiif

    builds: list[Path] = []
    real_build = iiif.build_pyramid

    def counted(source: Path, stamp: str, target: Path) -> None:  # a spy: the real build runs
        builds.append(target)
        real_build(source, stamp, target)

    monkeypatch.setattr(iiif, "build_pyramid", counted)
    for n, size in enumerate([(1400, 1000), (900, 1300), (600, 600)]):  # three races
        component = attach(portal, png(page_image(size)), f"race-{n}.png")
        results: list[Any] = []
        start = threading.Barrier(6)

        def ask(
            component: Any = component,
            results: list[Any] = results,
            start: threading.Barrier = start,
        ) -> None:
            start.wait()
            results.append(iiif.ensure_pyramid(component, "兰台 公众查档 测试", "public"))

        threads = [threading.Thread(target=ask) for _ in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert len(results) == 6 and len(set(results)) == 1 and results[0].is_file()
    assert len(builds) == 3 and len(set(builds)) == 3


def test_a_large_page_is_queued_and_answered_503_until_built(portal: Portal, settings: Any) -> None:
    from lantai.access import delivery, derivatives, iiif

    settings.PUBLIC_DELIVERY_INLINE_PIXELS = 100_000  # this page is "large"
    component = attach(portal, png(page_image((1000, 800))), "large.png")
    target = iiif.pyramid_path(component, delivery.watermark_text(component), "public")
    assert derivatives.claim(target)  # a worker has the job queued and is not done yet
    client = Client()
    waiting = client.get(f"/iiif/3/c{component.pk}/info.json")
    assert waiting.status_code == 503
    assert waiting["Retry-After"] == str(iiif.RETRY_AFTER_SECONDS)
    assert "正在生成" in waiting.content.decode()
    assert client.get(f"/iiif/3/c{component.pk}/full/max/0/default.jpg").status_code == 503
    iiif.build_queued(component.pk, "public")  # the worker's job
    assert not target.with_name(target.name + ".queued").exists()
    assert client.get(f"/iiif/3/c{component.pk}/info.json").status_code == 200
    # unclaimed, the job is queued by the request itself (inline jobs here: done on return)
    other = attach(portal, png(page_image((900, 700))), "large2.png", record_index=1)
    assert client.get(f"/iiif/3/c{other.pk}/info.json").status_code == 200


def test_pyramid_levels_are_used_for_small_sizes(portal: Portal) -> None:
    """A thumbnail of the whole page comes from a small level (and matches Pillow's)."""
    import pyvips

    from lantai.access import iiif

    image = page_image((2000, 1500))
    component = attach(portal, png(image), "levels.png")
    pyramid = iiif.ensure_pyramid(component, "", "staff")
    pages = pyvips.Image.new_from_file(str(pyramid)).get("n-pages")
    assert pages == 3  # 2000 → 1000 → 500 (≤ one 512 px tile)
    client = staff_client(portal)
    got = decoded(client.get(f"/reading-room/iiif/3/c{component.pk}/full/200,/0/default.png"))
    expected = image.resize((200, 150), Image.Resampling.LANCZOS)
    assert mean_difference(got, expected) < 4
    assert np.asarray(got).std() > 10  # a page, not a blank


@pytest.mark.parametrize("variant", ["public", "staff"])
def test_pyramids_are_kept_per_variant(portal: Portal, variant: str) -> None:
    from lantai.access import delivery, iiif

    component = attach(portal, png(page_image((700, 500))), "variant.png")
    stamp = delivery.watermark_text(component) if variant == "public" else ""
    prefix = "/iiif/3" if variant == "public" else "/reading-room/iiif/3"
    client = Client() if variant == "public" else staff_client(portal)
    assert client.get(f"{prefix}/c{component.pk}/info.json").status_code == 200
    assert iiif.pyramid_path(component, stamp, variant).is_file()
    other = "staff" if variant == "public" else "public"
    other_stamp = delivery.watermark_text(component) if other == "public" else ""
    assert not iiif.pyramid_path(component, other_stamp, other).exists()


def test_the_watermark_of_a_large_page(portal: Portal) -> None:
    """On a large page the text pattern is drawn small with Pillow and scaled up by libvips: the
    public answer still shows the faint red text across the page and the band at its foot."""
    from lantai.access import iiif

    width, height = 3300, 4600
    out = io.BytesIO()
    page_image((width, height)).save(out, "JPEG", quality=90)
    component = attach(portal, out.getvalue(), "large-page.jpg")
    client = Client()
    info = client.get(f"/iiif/3/c{component.pk}/info.json").json()
    size, band = iiif.watermark_geometry(width, height)
    assert size * 20 > 1536  # the pattern is drawn at a fraction of its size
    assert (info["width"], info["height"]) == (width, height)  # the band lies over the foot
    shown = decoded(client.get(f"/iiif/3/c{component.pk}/full/!1000,1000/0/default.png"))
    pixels = np.asarray(shown.convert("RGB"), dtype=int)
    scale = shown.height / height
    foot = pixels[int((height - band + 4) * scale) : int((height - 4) * scale)]
    assert (np.median(foot.reshape(-1, 3), axis=0) < [100, 120, 140]).all()  # the dark band
    page = pixels[: int((height - band) * scale)]
    plain = np.asarray(
        page_image((width, height)).resize((page.shape[1], page.shape[0])), dtype=int
    )
    redder = (page[..., 0] - page[..., 1]) - (plain[..., 0] - plain[..., 1])
    assert (redder > 25).mean() > 0.03


@pytest.mark.parametrize(
    ("mode", "fmt"),
    [("L", "PNG"), ("1", "PNG"), ("P", "PNG"), ("RGBA", "PNG"), ("CMYK", "JPEG"),
     ("I;16", "PNG"), ("RGB", "TIFF")],
)  # fmt: skip
def test_pages_of_every_common_pixel_mode(portal: Portal, mode: str, fmt: str) -> None:
    """Grey, bilevel, palette, transparent, CMYK and 16-bit pages are shown as they look."""
    original = page_image((700, 500))
    if mode == "I;16":
        stored = Image.fromarray(np.asarray(original.convert("L"), dtype=np.uint16) * 257)
    elif mode == "RGBA":
        stored = original.convert("RGBA")
    else:
        stored = original.convert(mode)
    out = io.BytesIO()
    stored.save(out, fmt)
    suffix = {"PNG": "png", "JPEG": "jpg", "TIFF": "tif"}[fmt]
    component = attach(portal, out.getvalue(), f"mode.{suffix}")
    client = staff_client(portal)
    response = client.get(f"/reading-room/iiif/3/c{component.pk}/full/max/0/default.png")
    assert response.status_code == 200, response.content[:200]
    got = decoded(response)
    if mode == "CMYK":  # libvips converts through a CMYK profile, Pillow by formula: same page
        a, b = (np.asarray(i.convert("L"), dtype=float).ravel() for i in (got, original))
        assert np.corrcoef(a, b)[0, 1] > 0.98
        return
    if mode == "I;16":
        expected = original.convert("L")
    else:
        expected = stored.convert("RGB") if mode != "1" else stored.convert("L")
    assert mean_difference(got, expected) < 6
