"""IIIF Image API 3.0 request syntax and info.json (lantai.standards.iiif_image), no Django."""

from __future__ import annotations

import pytest

from lantai.standards import iiif_image as iiif
from lantai.standards.iiif_image import IIIFError, Limits

W, H = 3000, 4000
LIMITS = Limits(4096, 4096, 4096 * 4096)


def req(region: str = "full", size: str = "max", rotation: str = "0", qf: str = "default.jpg"):
    return iiif.parse(region, size, rotation, qf, W, H, LIMITS)


def status_of(*args: str) -> int:
    with pytest.raises(IIIFError) as caught:
        req(*args)
    assert caught.value.message  # every refusal says why
    return caught.value.status


# --- region ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("region", "expected"),
    [
        ("full", (0, 0, W, H)),
        ("square", (0, 500, 3000, 3000)),
        ("10,20,300,400", (10, 20, 300, 400)),
        ("2900,3900,500,500", (2900, 3900, 100, 100)),  # cut to the image
        ("pct:10,25,50,50", (300, 1000, 1500, 2000)),
        ("pct:0,0,100,100", (0, 0, W, H)),
        ("pct:99.5,0,10,10", (2985, 0, 15, 400)),
        ("pct:0,0,0.001,0.001", (0, 0, 1, 1)),  # a tiny share is still a pixel
    ],
)
def test_region(region: str, expected: tuple[int, int, int, int]) -> None:
    r = req(region, "max")
    assert (r.x, r.y, r.w, r.h) == expected


@pytest.mark.parametrize(
    "region",
    [
        "0,0,0,10",  # zero width
        "0,0,10,0",
        "3000,0,10,10",  # entirely outside
        "0,4000,10,10",
        "-1,0,10,10",  # negative
        "pct:100,0,10,10",
        "pct:0,0,0,10",
        "pct:-5,0,10,10",
        "1,2,3",
        "a,b,c,d",
        "FULL",
        "full ",
        "1e3,0,10,10",
        "9999999999999,0,10,10",  # more digits than allowed
        "0,0,10,10,10",
        "../../etc/passwd",
        "",
    ],
)
def test_bad_regions_are_400(region: str) -> None:
    assert status_of(region, "max") == 400


def test_square_of_a_wide_image() -> None:
    r = iiif.parse("square", "max", "0", "default.jpg", 500, 300, LIMITS)
    assert (r.x, r.y, r.w, r.h) == (100, 0, 300, 300)


# --- size -----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("region", "size", "expected"),
    [
        ("0,0,1024,1024", "512,", (512, 512)),
        ("0,0,1000,500", ",250", (500, 250)),
        ("0,0,1000,500", "500,", (500, 250)),
        ("0,0,1000,500", "pct:50", (500, 250)),
        ("0,0,1000,500", "300,400", (300, 400)),  # distorted, as asked
        ("0,0,1000,500", "!300,300", (300, 150)),
        ("0,0,1000,500", "!2000,100", (200, 100)),
        ("0,0,1000,500", "!5000,5000", (1000, 500)),  # never above the region without ^
        ("0,0,1000,500", "max", (1000, 500)),
        ("0,0,1000,500", "^max", (4096, 2048)),  # up to the limits
        ("0,0,1000,500", "^2000,", (2000, 1000)),
        ("0,0,1000,500", "^,1000", (2000, 1000)),
        ("0,0,1000,500", "^pct:150", (1500, 750)),
        ("0,0,1000,500", "^!3000,3000", (3000, 1500)),
        ("0,0,1000,500", "^1500,600", (1500, 600)),
        ("full", "max", (3000, 4000)),
        ("full", "^max", (3072, 4096)),
        ("2900,3900,500,500", "max", (100, 100)),
    ],
)
def test_size(region: str, size: str, expected: tuple[int, int]) -> None:
    r = req(region, size)
    assert (r.width, r.height) == expected


def test_max_respects_the_limits() -> None:
    small = Limits(1000, 1000, 500_000)
    r = iiif.parse("full", "max", "0", "default.jpg", W, H, small)
    assert r.width <= 1000 and r.height <= 1000 and r.width * r.height <= 500_000
    assert abs(r.width / r.height - W / H) < 0.01


@pytest.mark.parametrize(
    "size",
    [
        "1001,",  # upscaling without ^
        ",501",
        "pct:101",
        "1001,500",
        "0,",
        ",0",
        "0,0",
        "pct:0",
        "!0,10",
        "!,10",
        "!10,",
        ",",
        "full",  # Image API 2 syntax, gone in 3.0
        "^",
        "max,",
        "-10,",
        "pct:",
        "pct:-1",
        "^5000,",  # above maxWidth
        "^pct:1000",
        "10.5,",
        "abc",
        "99999999999999,",
    ],
)
def test_bad_sizes_are_400(size: str) -> None:
    assert status_of("0,0,1000,500", size) == 400


def test_a_tiny_result_is_400_not_an_empty_image() -> None:
    assert status_of("0,0,10,10", "pct:1") == 400


# --- rotation, quality, format ------------------------------------------------------------------
@pytest.mark.parametrize(
    ("rotation", "mirror", "degrees"),
    [("0", False, 0), ("90", False, 90), ("180", False, 180), ("270", False, 270),
     ("!0", True, 0), ("!90", True, 90), ("360", False, 0), ("90.0", False, 90)],
)  # fmt: skip
def test_rotation(rotation: str, mirror: bool, degrees: int) -> None:
    r = req("0,0,100,200", "max", rotation)
    assert (r.mirror, r.rotation) == (mirror, degrees)
    assert r.output_size == ((200, 100) if degrees in (90, 270) else (100, 200))


@pytest.mark.parametrize("rotation", ["-90", "361", "90!", "!!90", "abc", "", "1e2", "9" * 13])
def test_bad_rotation_is_400(rotation: str) -> None:
    assert status_of("full", "max", rotation) == 400


@pytest.mark.parametrize("rotation", ["45", "22.5", "!30"])
def test_arbitrary_rotation_is_not_implemented(rotation: str) -> None:
    assert status_of("full", "max", rotation) == 501


@pytest.mark.parametrize("qf", ["default.jpg", "color.png", "gray.webp", "bitonal.jpg"])
def test_quality_and_format(qf: str) -> None:
    r = req("full", "max", "0", qf)
    assert f"{r.quality}.{r.format}" == qf


@pytest.mark.parametrize("qf", ["native.jpg", "grey.jpg", "default", "default.", ".jpg",
                                "default.exe", "default.jpg.png", "Default.jpg", "default.JPG"])  # fmt: skip
def test_bad_quality_or_format_is_400(qf: str) -> None:
    assert status_of("full", "max", "0", qf) == 400


@pytest.mark.parametrize("qf", ["default.tif", "default.gif", "default.jp2", "default.pdf"])
def test_formats_of_the_standard_not_served_are_501(qf: str) -> None:
    assert status_of("full", "max", "0", qf) == 501


# --- canonical form ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("args", "canonical"),
    [
        (("full", "max", "0", "default.jpg"), "full/max/0/default.jpg"),
        (("pct:0,0,100,100", "3000,", "360", "default.jpg"), "full/max/0/default.jpg"),
        (("square", "!512,512", "!90", "gray.png"), "0,500,3000,3000/512,512/!90/gray.png"),
        (("0,0,1024,1024", "512,", "0", "color.jpg"), "0,0,1024,1024/512,512/0/color.jpg"),
        (("0,0,100,100", "^200,", "0", "default.jpg"), "0,0,100,100/^200,200/0/default.jpg"),
    ],
)
def test_canonical(args: tuple[str, str, str, str], canonical: str) -> None:
    assert req(*args).canonical(W, H, LIMITS) == canonical


# --- info.json ----------------------------------------------------------------------------------
def test_info_document() -> None:
    doc = iiif.info("https://example.org/iiif/3/c7", 10000, 7000, LIMITS, tile=512)
    assert doc["@context"] == "http://iiif.io/api/image/3/context.json"
    assert doc["id"] == "https://example.org/iiif/3/c7"
    assert doc["type"] == "ImageService3"
    assert doc["protocol"] == "http://iiif.io/api/image"
    assert doc["profile"] == "level2"
    assert (doc["width"], doc["height"]) == (10000, 7000)
    assert doc["tiles"] == [{"width": 512, "height": 512, "scaleFactors": [1, 2, 4, 8, 16, 32]}]
    assert (doc["maxWidth"], doc["maxHeight"], doc["maxArea"]) == (4096, 4096, 4096 * 4096)
    # every listed size can be asked for as full/w,h and is within the limits
    for size in doc["sizes"]:
        r = iiif.parse("full", f"{size['width']},{size['height']}", "0", "default.jpg", 10000,
                       7000, LIMITS)  # fmt: skip
        assert (r.width, r.height) == (size["width"], size["height"])
    assert doc["sizes"][0] == {"width": 313, "height": 219}
    assert set(doc["extraQualities"]) == {"color", "gray", "bitonal"}
    assert doc["extraFormats"] == ["webp"]
    assert {"mirroring", "sizeUpscaling", "canonicalLinkHeader"} <= set(doc["extraFeatures"])
    assert "rotationArbitrary" not in doc["extraFeatures"]  # claimed only what is implemented


def test_every_tile_of_every_level_parses() -> None:
    """The requests a tiled viewer makes from info.json are all accepted (edge tiles included)."""
    width, height = 2100, 1300
    doc = iiif.info("x", width, height, LIMITS)
    tile = doc["tiles"][0]["width"]
    for factor in doc["tiles"][0]["scaleFactors"]:
        step = tile * factor
        for y in range(0, height, step):
            for x in range(0, width, step):
                w, h = min(step, width - x), min(step, height - y)
                size = f"{-(-w // factor)},{-(-h // factor)}"
                r = iiif.parse(f"{x},{y},{w},{h}", size, "0", "default.jpg", width, height, LIMITS)
                assert (r.w, r.h) == (w, h)


def test_headers_values() -> None:
    assert iiif.profile_link() == '<http://iiif.io/api/image/3/level2.json>;rel="profile"'
    assert iiif.info_media_type() == (
        'application/ld+json;profile="http://iiif.io/api/image/3/context.json"'
    )
    assert iiif.media_type("webp") == "image/webp"
