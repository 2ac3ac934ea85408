"""The IIIF Image API 3.0 over HTTP (/iiif/3/ public, /reading-room/iiif/3/ staff): the answers are
compared pixel by pixel with a direct Pillow crop/resize of the page, the public answers carry the
watermark, and what the public may not see is 404 on every request, cached tiles included."""

from __future__ import annotations

import io
import json
from typing import Any

import numpy as np
import pytest
from django.test import Client
from PIL import Image, ImageDraw

from tests.access.conftest import PASSWORD, Portal

W, H = 1500, 1100


def page_image(size: tuple[int, int] = (W, H)) -> Image.Image:
    """A scanned-page-like test image: a paper tone gradient, blocks of 'text', a coloured seal."""
    width, height = size
    x = np.linspace(0, 1, width)[None, :, None]
    y = np.linspace(0, 1, height)[:, None, None]
    paper = np.concatenate(
        [235 + 15 * x + 0 * y, 225 + 20 * y + 0 * x, 200 + 30 * x * y], axis=2
    ).astype(np.uint8)
    image = Image.fromarray(paper, "RGB")
    draw = ImageDraw.Draw(image)
    for row in range(60, height - 120, 48):
        for col in range(80, width - 200, 90):
            draw.rectangle((col, row, col + 60 + (row * col) % 25, row + 22), fill=(40, 38, 35))
    draw.ellipse((width - 420, height - 420, width - 120, height - 120), outline=(200, 30, 30),
                 width=18)  # fmt: skip
    return image


def png(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


@pytest.fixture(autouse=True)
def _own_data_dir(settings: Any, tmp_path: Any) -> None:
    """Pyramids and cached answers of this test only (they are keyed by content, which repeats)."""
    settings.DATA_DIR = tmp_path / "data"
    settings.MEDIA_ROOT = tmp_path / "data" / "files"


@pytest.fixture
def page(portal: Portal) -> dict[str, Any]:
    from lantai.catalog.components import attach_component

    image = page_image()
    record = portal.open_records[0]
    component = attach_component(record, [png(image)], "page-0001.png", user=None)
    return {"image": image, "component": component, "record": record, "portal": portal}


def staff_client(portal: Portal) -> Client:
    client = Client()
    client.force_login(portal.users["reader"])
    return client


def decoded(response: Any) -> Image.Image:
    body = b"".join(response.streaming_content) if response.streaming else response.content
    return Image.open(io.BytesIO(body))


def reference(
    source: Image.Image,
    box: tuple[int, int, int, int],
    size: tuple[int, int],
    rotation: int = 0,
    mirror: bool = False,
    quality: str = "default",
) -> Image.Image:
    x, y, w, h = box
    image = source.crop((x, y, x + w, y + h)).resize(size, Image.Resampling.LANCZOS)
    if mirror:
        image = image.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    if rotation:
        image = image.rotate(-rotation, expand=True)  # IIIF turns clockwise
    if quality in ("gray", "bitonal"):
        image = image.convert("L")
    if quality == "bitonal":
        image = image.point(lambda v: 255 if v >= 128 else 0)
    return image


def mean_difference(a: Image.Image, b: Image.Image) -> float:
    assert a.size == b.size, (a.size, b.size)
    mode = "L" if "L" in (a.mode, b.mode) or "1" in (a.mode, b.mode) else "RGB"
    return float(
        np.abs(
            np.asarray(a.convert(mode), dtype=np.int16)
            - np.asarray(b.convert(mode), dtype=np.int16)
        ).mean()
    )


REGIONS = {
    "full": (0, 0, W, H),
    "square": ((W - H) // 2, 0, H, H),
    "100,200,700,500": (100, 200, 700, 500),
    "pct:10,20,50,40": (150, 220, 750, 440),
    "1024,512,1024,1024": (1024, 512, W - 1024, H - 512),  # an edge tile, cut to the page
}
SIZES = {  # size → the (width, height) it gives for a w × h region
    "max": lambda w, h: (w, h),
    "300,": lambda w, h: (300, round(h * 300 / w)),
    ",200": lambda w, h: (round(w * 200 / h), 200),
    "pct:50": lambda w, h: (round(w / 2), round(h / 2)),
    "250,180": lambda w, h: (250, 180),
    "!400,400": lambda w, h: (400, round(h * 400 / w)) if w >= h else (round(w * 400 / h), 400),
}


@pytest.mark.parametrize("region", list(REGIONS))
@pytest.mark.parametrize("size", list(SIZES))
def test_staff_region_and_size_match_pillow(page: dict[str, Any], region: str, size: str) -> None:
    client = staff_client(page["portal"])
    pk = page["component"].pk
    response = client.get(f"/reading-room/iiif/3/c{pk}/{region}/{size}/0/default.png")
    assert response.status_code == 200, response.content[:300]
    assert response["Content-Type"] == "image/png"
    box = REGIONS[region]
    expected = reference(page["image"], box, SIZES[size](box[2], box[3]))
    got = decoded(response)
    assert mean_difference(got, expected) < 4.0  # the pyramid is JPEG (q 90): a few levels


@pytest.mark.parametrize("rotation", ["90", "180", "270", "!0", "!90", "!270"])
def test_staff_rotation_and_mirroring_match_pillow(page: dict[str, Any], rotation: str) -> None:
    client = staff_client(page["portal"])
    pk = page["component"].pk
    response = client.get(f"/reading-room/iiif/3/c{pk}/100,200,700,500/350,/{rotation}/default.png")
    assert response.status_code == 200
    mirror, degrees = rotation.startswith("!"), int(rotation.lstrip("!"))
    expected = reference(page["image"], (100, 200, 700, 500), (350, 250), degrees, mirror)
    got = decoded(response)
    assert got.size == ((250, 350) if degrees in (90, 270) else (350, 250))
    assert mean_difference(got, expected) < 4.0
    plain = reference(page["image"], (100, 200, 700, 500), (350, 250))
    if degrees == 0:  # a mirrored page is not the page
        assert mean_difference(got, plain) > 10


@pytest.mark.parametrize("fmt", ["jpg", "png", "webp"])
@pytest.mark.parametrize("quality", ["default", "color", "gray", "bitonal"])
def test_staff_quality_and_format(page: dict[str, Any], quality: str, fmt: str) -> None:
    client = staff_client(page["portal"])
    pk = page["component"].pk
    response = client.get(f"/reading-room/iiif/3/c{pk}/0,0,1024,1024/512,/0/{quality}.{fmt}")
    assert response.status_code == 200
    got = decoded(response)
    assert got.format == {"jpg": "JPEG", "png": "PNG", "webp": "WEBP"}[fmt]
    expected = reference(page["image"], (0, 0, 1024, 1024), (512, 512), quality=quality)
    if quality == "bitonal":
        values = np.asarray(got.convert("L"))
        if fmt == "png":  # lossless: nothing but black and white
            assert set(np.unique(values)) <= {0, 255}
        differing = (np.abs(values.astype(int) - np.asarray(expected, dtype=int)) > 127).mean()
        assert differing < 0.03
    else:
        if quality == "gray":  # WebP has no grey mode: its channels are equal instead
            rgb = np.asarray(got.convert("RGB"), dtype=int)
            assert got.mode == "L" or np.abs(rgb[..., 0] - rgb[..., 2]).mean() < 2
        limit = 6.0 if fmt != "png" else 4.0  # jpg/webp of a jpg tile: a few levels more
        assert mean_difference(got, expected) < limit


def test_upscaling_needs_the_caret(page: dict[str, Any]) -> None:
    client = staff_client(page["portal"])
    base = f"/reading-room/iiif/3/c{page['component'].pk}"
    refused = client.get(f"{base}/0,0,200,100/400,/0/default.jpg")
    assert refused.status_code == 400
    assert "^" in refused.content.decode()
    response = client.get(f"{base}/0,0,200,100/^400,/0/default.png")
    assert response.status_code == 200
    got = decoded(response)
    expected = reference(page["image"], (0, 0, 200, 100), (400, 200))
    assert got.size == (400, 200) and mean_difference(got, expected) < 5.0


def test_info_json(page: dict[str, Any]) -> None:

    pk = page["component"].pk
    staff = staff_client(page["portal"]).get(f"/reading-room/iiif/3/c{pk}/info.json")
    assert staff.status_code == 200
    assert staff["Content-Type"] == (
        'application/ld+json;profile="http://iiif.io/api/image/3/context.json"'
    )
    doc = json.loads(staff.content)
    assert doc["id"] == f"http://testserver/reading-room/iiif/3/c{pk}"
    assert (doc["width"], doc["height"]) == (W, H)
    assert doc["profile"] == "level2" and doc["type"] == "ImageService3"
    assert doc["tiles"][0]["scaleFactors"] == [1, 2, 4]
    assert 'level2.json>;rel="profile"' in staff["Link"]
    assert "private" in staff["Cache-Control"]
    public = Client().get(f"/iiif/3/c{pk}/info.json")
    assert public.status_code == 200
    assert public["Access-Control-Allow-Origin"] == "*"
    doc = json.loads(public.content)
    assert doc["id"] == f"http://testserver/iiif/3/c{pk}"
    assert (doc["width"], doc["height"]) == (W, H)  # the band lies over the foot: same size
    asked = Client().get(f"/iiif/3/c{pk}/info.json", HTTP_ACCEPT="application/json")
    assert asked["Content-Type"] == "application/json"


def test_base_uri_redirects_to_info_json(page: dict[str, Any]) -> None:
    pk = page["component"].pk
    response = Client().get(f"/iiif/3/c{pk}")
    assert response.status_code == 303
    assert response["Location"] == f"http://testserver/iiif/3/c{pk}/info.json"
    assert response["Access-Control-Allow-Origin"] == "*"


def test_public_tiles_carry_the_watermark(page: dict[str, Any]) -> None:
    from lantai.access import iiif

    pk = page["component"].pk
    band = iiif.watermark_geometry(W, H)[1]
    client = Client()
    whole = client.get(f"/iiif/3/c{pk}/full/max/0/default.png")
    assert whole.status_code == 200
    assert whole["Access-Control-Allow-Origin"] == "*"
    assert whole["Cache-Control"] == "private, max-age=300"  # no shared cache keeps it
    got = decoded(whole).convert("RGB")
    assert got.size == (W, H)  # the manifest's canvas size: the band lies over the foot
    foot = np.asarray(got.crop((0, H - band + 2, W, H - 2)), dtype=int)
    under = np.asarray(page["image"].convert("RGB").crop((0, H - band + 2, W, H - 2)), dtype=int)
    # the band: 85 % the dark blue of the portal's watermark band over the page, white text on it
    expected = 0.85 * np.array([35, 64, 90]) + 0.15 * np.median(under.reshape(-1, 3), axis=0)
    assert np.abs(np.median(foot.reshape(-1, 3), axis=0) - expected).max() < 12
    assert (foot.min(axis=2) > 200).mean() > 0.005
    # across the page: faint red text over the paper, so the page differs from the plain crop
    above = got.crop((0, 0, W, H - band))
    assert mean_difference(above, page["image"].convert("RGB").crop((0, 0, W, H - band))) > 1
    reds = np.asarray(above, dtype=int)
    paper = np.asarray(page["image"].convert("RGB").crop((0, 0, W, H - band)), dtype=int)
    redder = (reds[..., 0] - reds[..., 1]) - (paper[..., 0] - paper[..., 1])
    assert (redder > 25).mean() > 0.03
    # a tile: the same pixels as that part of the whole watermarked page
    tile = decoded(client.get(f"/iiif/3/c{pk}/512,512,512,512/256,/0/default.png"))
    expected = got.crop((512, 512, 1024, 1024)).resize((256, 256), Image.Resampling.LANCZOS)
    assert mean_difference(tile, expected) < 4.0


def test_canonical_link_and_cached_tile(page: dict[str, Any]) -> None:
    from lantai.access import delivery, iiif

    component = page["component"]
    client = Client()
    url = f"/iiif/3/c{component.pk}/pct:0,0,50,50/!300,300/360/default.jpg"
    first = client.get(url)
    assert first.status_code == 200 and first["Content-Type"] == "image/jpeg"
    half = round(H / 2)
    canonical = f"0,0,750,{half}/300,{round(half * 300 / 750)}/0/default.jpg"
    assert first["Link"].startswith(f"<http://testserver/iiif/3/c{component.pk}/{canonical}>;")
    pyramid = iiif.pyramid_path(component, delivery.watermark_text(component), "public")
    cached = iiif.response_path(pyramid, canonical)
    assert cached.is_file()
    again = client.get(f"/iiif/3/c{component.pk}/{canonical}")
    assert again.status_code == 200
    assert b"".join(again.streaming_content) == cached.read_bytes()


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("0,0,0,10/max/0/default.jpg", 400),
        ("5000,0,10,10/max/0/default.jpg", 400),  # outside the page
        ("-5,0,10,10/max/0/default.jpg", 400),
        ("full/99999999999999,/0/default.jpg", 400),
        ("full/^5000,/0/default.jpg", 400),  # above maxWidth
        ("full/max/45/default.jpg", 501),
        ("full/max/0/default.tif", 501),
        ("full/max/0/native.jpg", 400),
        ("full/max/0/default", 400),
        ("<script>/max/0/default.jpg", 400),
    ],
)
def test_bad_requests_say_why(page: dict[str, Any], path: str, status: int) -> None:
    response = Client().get(f"/iiif/3/c{page['component'].pk}/{path}")
    assert response.status_code == status
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    assert response["Access-Control-Allow-Origin"] == "*"
    body = response.content.decode()
    assert body and "Traceback" not in body


def test_records_the_public_may_not_see_are_404(page: dict[str, Any]) -> None:
    from lantai.catalog import open_copies

    portal = page["portal"]
    client = Client()
    for record in portal.closed_records:  # 未开放, 控制使用, closed fonds, 密级 秘密
        pk = portal.images[record.pk].pk
        for url in (f"/iiif/3/c{pk}/info.json", f"/iiif/3/c{pk}/full/max/0/default.jpg",
                    f"/iiif/3/c{pk}"):  # fmt: skip
            assert client.get(url).status_code == 404, url
        # the staff endpoint shows them to the reading room (clearance allowing)
    partly = portal.open_records[1]
    pk = portal.images[partly.pk].pk
    assert client.get(f"/iiif/3/c{pk}/info.json").status_code == 200
    open_copies.set_open_copy(partly, b"%PDF-1.4", "", {"title": "关于■■的通知"}, {})
    assert client.get(f"/iiif/3/c{pk}/info.json").status_code == 404
    assert client.get(f"/iiif/3/c{pk}/full/max/0/default.jpg").status_code == 404
    pdf = portal.pdfs[portal.open_records[2].pk].pk  # not an image
    assert client.get(f"/iiif/3/c{pdf}/info.json").status_code == 404


def test_a_record_closed_after_its_tiles_were_cached_is_404_at_once(page: dict[str, Any]) -> None:
    from lantai.catalog import services

    client = Client()
    pk = page["component"].pk
    tile = f"/iiif/3/c{pk}/0,0,512,512/256,/0/default.jpg"
    assert client.get(tile).status_code == 200
    assert client.get(tile).status_code == 200  # now from the cache
    record = page["record"]
    values = services.record_as_input(record)
    values["open_status"] = "未开放"
    saved, issues = services.save_record(record.category, values, record=record)
    assert saved is not None, issues
    assert client.get(tile).status_code == 404
    assert client.get(f"/iiif/3/c{pk}/info.json").status_code == 404
    # the reading room still has it, without the watermark
    staff = staff_client(page["portal"])
    assert (
        staff.get(f"/reading-room/iiif/3/c{pk}/0,0,512,512/256,/0/default.jpg").status_code == 200
    )


def test_staff_endpoint_needs_sign_in_and_scope(page: dict[str, Any]) -> None:
    from lantai.core import accounts

    portal = page["portal"]
    pk = page["component"].pk
    url = f"/reading-room/iiif/3/c{pk}/info.json"
    anonymous = Client().get(url)
    assert anonymous.status_code == 302 and "login" in anonymous["Location"]
    outsider = accounts.create_user("lisi", role="reading_room", password=PASSWORD, scope_all=False)
    client = Client()
    client.force_login(outsider)
    assert client.get(url).status_code == 404
    assert client.get(f"/reading-room/iiif/3/c{pk}/full/max/0/default.jpg").status_code == 404
    vendor = accounts.create_user(
        "vendor", role="scanning_vendor", password=PASSWORD, scope_all=True
    )  # digitizes, does not read the archives
    client.force_login(vendor)
    refused = client.get(url)
    assert refused.status_code == 403 and "查阅档案" in refused.content.decode()
    from lantai.core.models import AuditEntry

    assert AuditEntry.objects.filter(action="access_denied", actor="vendor").exists()
    # a record above the reader's clearance (密级 秘密) is not shown to the reading room either
    secret = portal.closed_records[3]
    assert secret.classification_level > 0
    reader = staff_client(portal)
    secret_url = f"/reading-room/iiif/3/c{portal.images[secret.pk].pk}/info.json"
    assert reader.get(secret_url).status_code == 404
    closed = portal.closed_records[0]  # 未开放 but within the reader's scope: shown to staff
    assert (
        reader.get(f"/reading-room/iiif/3/c{portal.images[closed.pk].pk}/info.json").status_code
        == 200
    )
    assert "Access-Control-Allow-Origin" not in reader.get(url)  # signed-in answers stay home


@pytest.mark.parametrize(
    "identifier",
    ["..%2Fc1", "c1%2F..%2F..", "c01", "c-1", "c1.0", "C1", "c", "c99999999999999999999",
     "%2e%2e", "c1%00", "c\u0661"],
)  # fmt: skip
def test_identifiers_other_than_c_pk_are_404(page: dict[str, Any], identifier: str) -> None:
    client = Client()
    for url in (f"/iiif/3/{identifier}/info.json", f"/iiif/3/{identifier}/full/max/0/default.jpg"):
        assert client.get(url).status_code == 404, url


def test_over_real_http(live_server: Any, live_portal: Portal) -> None:
    """A IIIF client's walk over HTTP: base URI → 303 → info.json → a tile, with the headers a
    browser on another site needs (CORS) and the canonical link."""
    import urllib.error
    import urllib.request

    from lantai.catalog.components import attach_component

    record = live_portal.open_records[0]
    component = attach_component(record, [png(page_image())], "page-0001.png", user=None)
    base = f"{live_server.url}/iiif/3/c{component.pk}"

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args: Any, **kwargs: Any) -> None:
            return None

    with pytest.raises(urllib.error.HTTPError) as redirect:
        urllib.request.build_opener(NoRedirect).open(base)
    assert redirect.value.code == 303
    assert redirect.value.headers["Location"] == f"{base}/info.json"
    with urllib.request.urlopen(f"{base}/info.json") as response:
        assert response.headers["Access-Control-Allow-Origin"] == "*"
        assert response.headers["Content-Type"].startswith("application/ld+json")
        info = json.loads(response.read())
    assert info["id"] == base
    tile = f"{base}/0,0,512,512/256,/0/default.jpg"
    with urllib.request.urlopen(tile) as response:
        assert response.headers["Content-Type"] == "image/jpeg"
        assert f"<{base}/0,0,512,512/256,256/0/default.jpg>" in response.headers["Link"]
        assert Image.open(io.BytesIO(response.read())).size == (256, 256)
    with pytest.raises(urllib.error.HTTPError) as bad:
        urllib.request.urlopen(f"{base}/0,0,512,512/256,/45/default.jpg")
    assert bad.value.code == 501 and "90" in bad.value.read().decode()
