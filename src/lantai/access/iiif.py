"""Page images served by the IIIF Image API 3.0 (`lantai.standards.iiif_image`): a pyramid per
page image, built once, and every answered request kept on disk.

Pyramids. For each (source SM3, variant) a tiled pyramidal TIFF (JPEG tiles of 512 px, each
level half the one above) is built once with libvips and kept under DATA_DIR/delivery/image/,
named like the other delivered copies (`derivatives.cache_path`, with the same `.queued` claim and
`.failed` markers). Variant "public" carries the watermark (`delivery.watermark_text`), drawn over
the full-resolution page before the pyramid is made, as `derivatives._render_image` draws it: the
text tiled at 30° in faint red, and a band at the foot. It is drawn without holding the page in
Python: a small tile of the text pattern is rendered with Pillow, repeated, turned and laid over
the page by libvips, which streams the page through in strips. Variant "staff" has no watermark.
The EXIF orientation is applied; decompression bombs and damaged files are refused (RenderError).

When a request finds no pyramid: a source of at most PUBLIC_DELIVERY_INLINE_PIXELS is built inside
the request (a few seconds); a larger one is queued (`tasks.build_pyramid`) and the request is
answered 503 with Retry-After (`NotReady`). The `.queued` claim keeps a job from being queued
twice; the build itself holds an exclusive lock (flock on `<pyramid>.lock`), so that of two
requests, processes or jobs asking for the same pyramid at once one builds it and the others wait
for it (a request at most WAIT_FOR_BUILD_SECONDS, then 503).

Responses. Each answered image is written under DATA_DIR/delivery/iiif/<pyramid>/ keyed by the
request's canonical form, so a tile asked again is sent as a file. Nothing here decides who may
see what: the views check that on every request, cached or not.
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import hashlib
import logging
import math
import os
import secrets
import time
from pathlib import Path
from typing import Any

from django.conf import settings

from lantai.access import derivatives
from lantai.access.derivatives import RenderError
from lantai.catalog.models import Component
from lantai.catalog.public import stored_path
from lantai.standards import iiif_image
from lantai.standards.iiif_image import ImageRequest, Limits

log = logging.getLogger(__name__)
TILE = 512
PYRAMID_VERSION = 2  # raise when the pyramid's making changes: every pyramid is built again
MAX_SIDE = 4096  # the largest image one request returns (deep zoom goes through tiles)
WAIT_FOR_BUILD_SECONDS = 30  # a request waits this long for a build another request runs
QUEUED_WAIT_SECONDS = 3600  # a job waits this long for a build another job runs
RETRY_AFTER_SECONDS = 30
VARIANTS = ("public", "staff")
_WATERMARK_RGB = (160, 30, 20)
_WATERMARK_ALPHA = 80
_BAND_RGB = (35, 64, 90)
_BAND_ALPHA = 217  # of 255: the band over the foot of the page is 85 % opaque
_PATTERN_MAX_PX = 1536  # the Pillow-drawn watermark tile is at most this big; libvips scales it


class NotReady(Exception):
    """The pyramid is being built by a queued job; ask again after `retry_after` seconds."""

    def __init__(self, retry_after: int = RETRY_AFTER_SECONDS) -> None:
        super().__init__("pyramid not built yet")
        self.retry_after = retry_after


def limits() -> Limits:
    side = int(getattr(settings, "IIIF_MAX_SIDE", MAX_SIDE))
    return Limits(side, side, side * side)


def pyramid_path(component: Component, stamp: str, variant: str) -> Path:
    """Where the pyramid of `component` in `variant` lives (stamp "" for the staff variant)."""
    params = f"iiif-pyramid-v{PYRAMID_VERSION}-{TILE}-{variant}"
    return derivatives.cache_path("image", component.sm3, stamp, params).with_suffix(".tif")


def ensure_pyramid(component: Component, stamp: str, variant: str) -> Path:
    """The pyramid of `component`, built now if it is small enough, else queued (NotReady).
    RenderError (with the reason) for a source that cannot be shown."""
    target = pyramid_path(component, stamp, variant)
    if target.is_file():
        return target
    if problem := derivatives.failure(target):
        raise RenderError(problem)
    source = stored_path(component)
    if source is None:
        raise RenderError("页面图像的存储文件缺失，无法在线显示")
    pixels = derivatives.source_pixels(source)  # RenderError for a bomb or an unreadable header
    if pixels > int(settings.PUBLIC_DELIVERY_INLINE_PIXELS):
        if derivatives.claim(target):
            from lantai.access import tasks

            tasks.build_pyramid(component.pk, variant)  # with inline jobs, done on return
        if target.is_file():
            return target
        if problem := derivatives.failure(target):
            raise RenderError(problem)
        raise NotReady()
    build_once(source, stamp, target, wait=WAIT_FOR_BUILD_SECONDS)
    return target


def build_once(source: Path, stamp: str, target: Path, *, wait: float) -> None:
    """Build the pyramid unless it is there, holding an exclusive lock on `target`.lock, so that
    of two requests (or processes, or jobs) asking at once one builds and the other waits for
    it (NotReady after `wait` seconds; RenderError when the build failed)."""
    lock = target.with_name(f"{target.name}.lock")
    lock.parent.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + wait
    with lock.open("a") as handle:
        while True:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise NotReady() from None
                time.sleep(0.05)
        try:
            if target.is_file():
                return  # built by whoever held the lock before
            if problem := derivatives.failure(target):
                raise RenderError(problem)
            build_pyramid(source, stamp, target)
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def build_queued(component_id: int, variant: str) -> None:
    """The queued job's work: build one pyramid (skipped when the component is gone, or is no
    longer public for the public variant; a failure is kept in the `.failed` marker)."""
    from lantai.access import delivery
    from lantai.catalog.public import public_component

    component = Component.objects.filter(pk=component_id).first()
    if component is None or variant not in VARIANTS:
        return
    stamp = delivery.watermark_text(component) if variant == "public" else ""
    target = pyramid_path(component, stamp, variant)
    source = stored_path(component)
    gone = variant == "public" and public_component(component.pk, "image") is None
    if gone or source is None or target.is_file():
        derivatives.unclaim(target)
        return
    with contextlib.suppress(RenderError):  # kept in the failure marker, shown to the next request
        build_once(source, stamp, target, wait=QUEUED_WAIT_SECONDS)


def build_pyramid(source: Path, stamp: str, target: Path) -> None:
    """Build the pyramid of the image at `source` (with the watermark `stamp` unless "") into
    `target`, atomically; RenderError, kept in the `.failed` marker, when it cannot be done. The
    `.queued` claim is released either way."""
    import pyvips

    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{secrets.token_hex(8)}.tmp.tif")
    failed = derivatives.marker(target, "failed")
    try:
        try:
            image = _load(source)
            if stamp:
                image = _watermarked(image, stamp)
            image.tiffsave(
                str(tmp), tile=True, tile_width=TILE, tile_height=TILE, pyramid=True,
                compression="jpeg", Q=90, strip=True,
            )  # fmt: skip
        except RenderError:
            raise
        except MemoryError as e:
            raise RenderError("页面图像过大，无法生成在线查阅的图像金字塔") from e
        except pyvips.Error as e:
            log.warning("IIIF pyramid of %s failed: %s", source.name, str(e)[:500])
            raise RenderError("页面图像已损坏或格式不受支持，无法在线显示") from e
        os.replace(tmp, target)
        failed.unlink(missing_ok=True)
    except RenderError as e:
        failed.write_text(e.message, encoding="utf-8")
        raise
    finally:
        tmp.unlink(missing_ok=True)
        derivatives.unclaim(target)


def _load(source: Path) -> Any:
    """The page as an 8-bit sRGB or grey libvips image, upright, alpha flattened on white."""
    import pyvips

    derivatives.source_pixels(source)  # refuses bombs and unreadable headers (Pillow)
    with derivatives.open_image(source) as opened:
        is_jpeg2000 = opened.format == "JPEG2000"
    if is_jpeg2000:  # this libvips has no JPEG 2000 loader: decode with Pillow, hand it over
        image = _from_pillow(source)
    else:
        image = pyvips.Image.new_from_file(str(source), access="sequential", fail_on="error")
        if "orientation" in image.get_fields() and image.get("orientation") not in (0, 1):
            # turning needs the rows out of order: decoded once to memory or a temporary file
            image = pyvips.Image.new_from_file(str(source), fail_on="error").autorot()
    if image.hasalpha():
        image = image.flatten(background=[255] * (image.bands - 1))
    if image.bands == 1 or image.interpretation in ("b-w", "grey16"):
        image = image.colourspace("b-w")
    else:
        image = image.colourspace("srgb")
    if image.format != "uchar":
        image = image.cast("uchar")
    return image


def _from_pillow(source: Path) -> Any:
    import pyvips
    from PIL import ImageOps

    try:
        with derivatives.open_image(source) as opened:
            upright = ImageOps.exif_transpose(opened)
            page = upright.convert("L" if upright.mode in ("1", "L", "I;16") else "RGB")
    except (OSError, ValueError, EOFError) as e:
        raise RenderError("页面图像已损坏或格式不受支持，无法在线显示") from e
    bands = 1 if page.mode == "L" else 3
    return pyvips.Image.new_from_memory(page.tobytes(), page.width, page.height, bands, "uchar")


def watermark_geometry(width: int, height: int) -> tuple[int, int]:
    """(font size, height of the band at the foot) as `derivatives._render_image` uses them."""
    size = max(14, min(width, height) // 22)
    return size, max(size + size // 2, 20)


def _watermarked(page: Any, text: str) -> Any:
    """`page` with `text` tiled across it at 30° and written in a band over its foot."""
    import pyvips
    from PIL import Image, ImageDraw

    if page.bands == 1:
        page = page.colourspace("srgb")
    width, height = page.width, page.height
    size, band = watermark_geometry(width, height)
    # One period of the pattern (two rows, the second shifted by half a step), drawn small.
    probe = ImageDraw.Draw(Image.new("L", (1, 1)))
    left, top, right, bottom = probe.textbbox((0, 0), text, font=derivatives.font(size))
    step_x, step_y = int(right - left) + size * 3, int(bottom - top) + size * 4
    shrink = max(1, math.ceil(max(step_x, 2 * step_y) / _PATTERN_MAX_PX))
    face = derivatives.font(max(1, size // shrink))
    tile_w, tile_h = max(1, step_x // shrink), max(1, 2 * step_y // shrink)
    pattern = Image.new("L", (tile_w, tile_h), 0)
    draw = ImageDraw.Draw(pattern)
    for row in (0, 1):
        offset = row * tile_w // 2
        for x in (offset - tile_w, offset):  # the copy to the left wraps round the edge
            draw.text((x, row * tile_h // 2), text, font=face, fill=_WATERMARK_ALPHA)
    mask = pyvips.Image.new_from_memory(pattern.tobytes(), tile_w, tile_h, 1, "uchar")
    if shrink > 1:
        mask = mask.resize(shrink, kernel="linear")
    side = int(math.hypot(width, height)) + size * 4
    mask = mask.replicate(side // mask.width + 1, side // mask.height + 1)
    mask = mask.rotate(-30, background=[0])  # Pillow's rotate(30) is anticlockwise
    mask = mask.crop((mask.width - width) // 2, (mask.height - height) // 2, width, height)
    alpha = mask / 255.0
    colour = pyvips.Image.black(width, height).new_from_image(list(_WATERMARK_RGB))
    page = (page * (1 - alpha) + colour * alpha).cast("uchar").copy(interpretation="srgb")
    # The band at the foot: the same text, plain, readable whatever the page looks like. It is
    # laid over the foot of the page (mostly opaque, so the page shows through faintly), not
    # added below it: the served image keeps the page's size, which the IIIF manifest's canvas
    # and the Content Search boxes are measured in.
    band = min(band, height)
    strip = Image.new("RGB", (width, band), _BAND_RGB)
    cover = Image.new("L", (width, band), _BAND_ALPHA)
    for layer, fill in ((strip, (255, 255, 255)), (cover, 255)):
        ImageDraw.Draw(layer).text(
            (size // 2, (band - size) // 2 - 2), text, font=derivatives.font(size * 3 // 4 or 1),
            fill=fill,
        )  # fmt: skip
    foot = pyvips.Image.new_from_memory(strip.tobytes(), width, band, 3, "uchar")
    opacity = pyvips.Image.new_from_memory(cover.tobytes(), width, band, 1, "uchar") / 255.0
    under = page.crop(0, height - band, width, band)
    blended = (under * (1 - opacity) + foot * opacity).cast("uchar").copy(interpretation="srgb")
    return page.insert(blended, 0, height - band)


def pyramid_size(pyramid: Path) -> tuple[int, int]:
    """Width and height of the full level (read once per process: a pyramid never changes, its
    name is made from what it is made of)."""
    return _pyramid_size(str(pyramid))


@functools.lru_cache(maxsize=4096)
def _pyramid_size(pyramid: str) -> tuple[int, int]:
    import pyvips

    head = pyvips.Image.new_from_file(pyramid)
    return int(head.width), int(head.height)


# --- answering an image request --------------------------------------------------------------
def response_path(pyramid: Path, canonical: str) -> Path:
    """Where the answer to the request of canonical form `canonical` is kept."""
    key = hashlib.sha256(canonical.encode()).hexdigest()[:40]
    fmt = canonical.rsplit(".", 1)[1]
    root = Path(settings.DATA_DIR) / "delivery" / "iiif" / pyramid.stem
    return root / key[:2] / f"{key}.{fmt}"


def answer(pyramid: Path, request: ImageRequest, canonical: str) -> Path:
    """The file holding the answer to `request` on `pyramid`, made now if not made before."""
    out = response_path(pyramid, canonical)
    if out.is_file():
        return out
    data = render(pyramid, request)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{secrets.token_hex(8)}.tmp")
    try:
        tmp.write_bytes(data)
        os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)
    return out


def render(pyramid: Path, req: ImageRequest) -> bytes:
    """The encoded image `req` asks for, read from the pyramid level nearest above its scale."""
    import pyvips

    base = pyvips.Image.new_from_file(str(pyramid))
    full_w, full_h = base.width, base.height
    levels = int(base.get("n-pages")) if "n-pages" in base.get_fields() else 1
    level = 0  # the smallest level that still has as many pixels as the answer (edge tiles too)
    while level + 1 < levels and (
        math.ceil(req.w / 2 ** (level + 1)) >= req.width
        and math.ceil(req.h / 2 ** (level + 1)) >= req.height
    ):
        level += 1
    image = pyvips.Image.new_from_file(str(pyramid), page=level) if level else base
    # each axis by its own ratio: a level's sides are rounded separately (2481 × 3507 halves to
    # 1241 × 1754), and a region at the far corner must stay inside the level
    rx, ry = image.width / full_w, image.height / full_h
    left = min(image.width - 1, math.floor(req.x * rx))
    top = min(image.height - 1, math.floor(req.y * ry))
    right = min(image.width, max(left + 1, math.ceil((req.x + req.w) * rx)))
    bottom = min(image.height, max(top + 1, math.ceil((req.y + req.h) * ry)))
    image = image.crop(left, top, right - left, bottom - top)
    if (image.width, image.height) != (req.width, req.height):
        image = image.resize(req.width / image.width, vscale=req.height / image.height)
        if (image.width, image.height) != (req.width, req.height):  # a pixel lost to rounding
            image = image.embed(0, 0, req.width, req.height, extend="copy")
    if req.mirror:
        image = image.fliphor()
    if req.rotation:
        image = image.rot(f"d{req.rotation}")
    if req.quality in ("gray", "bitonal") and image.bands > 1:
        image = image.colourspace("b-w")
    if req.quality == "bitonal":
        image = (image >= 128).ifthenelse(255, 0).cast("uchar")
    options = {"jpg": ".jpg[Q=85,strip]", "png": ".png[compression=6,strip]",
               "webp": ".webp[Q=80,strip]"}[req.format]  # fmt: skip
    return bytes(image.write_to_buffer(options))


def parse(
    pyramid: Path, region: str, size: str, rotation: str, quality_format: str
) -> tuple[ImageRequest, str, tuple[int, int]]:
    """The request for `pyramid`, its canonical form and the full image's size."""
    width, height = pyramid_size(pyramid)
    bounds = limits()
    request = iiif_image.parse(region, size, rotation, quality_format, width, height, bounds)
    return request, request.canonical(width, height, bounds), (width, height)
