"""IIIF Image API 3.0 syntax, with no image library and no Django: the parameters of an image
request (`{region}/{size}/{rotation}/{quality}.{format}`) checked against an image's width and
height and the service's limits, the canonical form of a request, and the image information
document (info.json). The names the standard enumerates are in ``data/iiif-image-3.yaml``.

What a request means once parsed (`ImageRequest`): take the region (x, y, w, h) of the full image,
scale it to exactly width × height, mirror it if asked, turn it clockwise by `rotation` (a multiple
of 90°), reduce it to the quality and encode it in the format. Errors are `IIIFError`, carrying
the HTTP status the specification gives them (400 for a request that is wrong, 501 for a valid
one this service does not implement) and a Chinese message naming the parameter and the rule.
"""

from __future__ import annotations

import functools
import math
import re
from dataclasses import dataclass
from typing import Any

from ._data import load_data

MAX_NUMBER_CHARS = 12  # more digits than any image has pixels: refused before arithmetic
_N = MAX_NUMBER_CHARS
_INT = rf"\d{{1,{_N}}}"
_FLOAT = rf"(?:\d{{1,{_N}}}(?:\.\d{{0,{_N}}})?|\.\d{{1,{_N}}})"
_REGION_PX = re.compile(rf"^({_INT}),({_INT}),({_INT}),({_INT})$")
_REGION_PCT = re.compile(rf"^pct:({_FLOAT}),({_FLOAT}),({_FLOAT}),({_FLOAT})$")
_SIZE_PCT = re.compile(rf"^pct:({_FLOAT})$")
_SIZE_WH = re.compile(rf"^(!?)({_INT})?,({_INT})?$")
_ROTATION = re.compile(rf"^(!?)({_FLOAT})$")
_QUALITY_FORMAT = re.compile(r"^([a-z]{1,16})\.([a-z0-9]{1,8})$")


class IIIFError(Exception):
    """A request the service answers with an error: `status` (400, 404, 501 …) and `message`."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True)
class Limits:
    """The service's limits on the returned image (info.json maxWidth, maxHeight, maxArea)."""

    max_width: int
    max_height: int
    max_area: int

    def allows(self, width: int, height: int) -> bool:
        return (
            width <= self.max_width
            and height <= self.max_height
            and (width * height <= self.max_area)
        )


@dataclass(frozen=True)
class ImageRequest:
    x: int  # the region, in pixels of the full image
    y: int
    w: int
    h: int
    width: int  # the returned image before rotation
    height: int
    mirror: bool
    rotation: int  # 0, 90, 180 or 270, clockwise
    quality: str
    format: str
    upscale: bool = False  # the size was asked with ^

    def canonical(self, image_width: int, image_height: int, limits: Limits) -> str:
        """The canonical URI path (§4.7) of this request: region/size/rotation/quality.format."""
        if (self.x, self.y, self.w, self.h) == (0, 0, image_width, image_height):
            region = "full"
        else:
            region = f"{self.x},{self.y},{self.w},{self.h}"
        if (self.width, self.height) == _max_size(self.w, self.h, limits, upscale=False):
            size = "max"
        else:
            size = f"{'^' if self.upscale else ''}{self.width},{self.height}"
        rotation = f"{'!' if self.mirror else ''}{self.rotation}"
        return f"{region}/{size}/{rotation}/{self.quality}.{self.format}"

    @property
    def output_size(self) -> tuple[int, int]:
        """Width and height of the image sent (after rotation)."""
        if self.rotation in (90, 270):
            return self.height, self.width
        return self.width, self.height


@functools.cache
def spec() -> dict[str, Any]:
    return load_data("iiif-image-3.yaml")


def media_type(fmt: str) -> str:
    return str(spec()["formats"][fmt])


def parse(
    region: str,
    size: str,
    rotation: str,
    quality_format: str,
    image_width: int,
    image_height: int,
    limits: Limits,
) -> ImageRequest:
    """The image request of the four path segments, for an image of the given size."""
    if image_width <= 0 or image_height <= 0:
        raise IIIFError(500, "图像尺寸未知，无法处理请求")
    quality, fmt = parse_quality_format(quality_format)
    x, y, w, h = parse_region(region, image_width, image_height)
    width, height, upscale = parse_size(size, w, h, limits)
    mirror, degrees = parse_rotation(rotation)
    return ImageRequest(x, y, w, h, width, height, mirror, degrees, quality, fmt, upscale)


def parse_region(text: str, width: int, height: int) -> tuple[int, int, int, int]:
    """full | square | x,y,w,h | pct:x,y,w,h → (x, y, w, h) in pixels, cut to the image."""
    if text == "full":
        return 0, 0, width, height
    if text == "square":
        side = min(width, height)
        return (width - side) // 2, (height - side) // 2, side, side
    if m := _REGION_PX.match(text):
        x, y, w, h = (int(v) for v in m.groups())
    elif m := _REGION_PCT.match(text):
        px, py, pw, ph = (float(v) for v in m.groups())
        if pw <= 0 or ph <= 0:
            raise IIIFError(400, f"区域参数“{text}”的宽和高必须大于 0")
        x, y = round(px * width / 100), round(py * height / 100)
        # at least one pixel: a tiny percentage still names a place on the page
        w = max(1, round((px + pw) * width / 100) - x)
        h = max(1, round((py + ph) * height / 100) - y)
    else:
        raise IIIFError(
            400, f"区域参数“{text}”不合法：应为 full、square、x,y,w,h 或 pct:x,y,w,h（非负数）"
        )
    if w <= 0 or h <= 0:
        raise IIIFError(400, f"区域参数“{text}”的宽和高必须大于 0")
    if x >= width or y >= height:
        raise IIIFError(400, f"区域参数“{text}”完全在图像之外（图像为 {width}×{height} 像素）")
    return x, y, min(w, width - x), min(h, height - y)


def _max_size(w: int, h: int, limits: Limits, *, upscale: bool) -> tuple[int, int]:
    """The largest size of a w × h region within the limits (no larger than it unless `upscale`)."""
    scale = min(limits.max_width / w, limits.max_height / h, math.sqrt(limits.max_area / (w * h)))
    if not upscale:
        scale = min(scale, 1.0)
    if scale == 1.0:
        return w, h
    return max(1, math.floor(w * scale)), max(1, math.floor(h * scale))


def parse_size(text: str, w: int, h: int, limits: Limits) -> tuple[int, int, bool]:
    """The size parameter for a w × h region → (width, height, upscaling asked)."""
    upscale = text.startswith("^")
    body = text[1:] if upscale else text
    if body == "max":
        out_w, out_h = _max_size(w, h, limits, upscale=upscale)
        return out_w, out_h, upscale
    if m := _SIZE_PCT.match(body):
        n = float(m.group(1))
        if n > 100 and not upscale:
            raise IIIFError(400, f"尺寸参数“{text}”超过 100%：放大须写作 ^pct:n")
        out_w, out_h = round(w * n / 100), round(h * n / 100)
    elif m := _SIZE_WH.match(body):
        confined, sw, sh = m.group(1) == "!", m.group(2), m.group(3)
        if (sw is None and sh is None) or (confined and (sw is None or sh is None)):
            raise IIIFError(400, f"尺寸参数“{text}”不合法：应为 max、w,、,h、w,h、!w,h 或 pct:n")
        if confined:
            bw, bh = int(sw), int(sh)
            if bw <= 0 or bh <= 0:
                raise IIIFError(400, f"尺寸参数“{text}”的宽和高必须大于 0")
            scale = min(bw / w, bh / h)
            largest = _max_size(w, h, limits, upscale=True)
            scale = min(scale, largest[0] / w, largest[1] / h)
            if not upscale:
                scale = min(scale, 1.0)
            out_w = min(bw, max(1, round(w * scale)))
            out_h = min(bh, max(1, round(h * scale)))
            return out_w, out_h, upscale
        if sw is not None and sh is not None:
            out_w, out_h = int(sw), int(sh)
        elif sw is not None:
            out_w = int(sw)
            out_h = max(1, round(h * out_w / w)) if out_w > 0 else 0
        else:
            out_h = int(sh)
            out_w = max(1, round(w * out_h / h)) if out_h > 0 else 0
    else:
        raise IIIFError(400, f"尺寸参数“{text}”不合法：应为 max、w,、,h、w,h、!w,h 或 pct:n")
    if out_w <= 0 or out_h <= 0:
        raise IIIFError(400, f"尺寸参数“{text}”得到的图像宽或高为 0")
    if not upscale and (out_w > w or out_h > h):
        raise IIIFError(400, f"尺寸参数“{text}”大于所取区域（{w}×{h} 像素）：放大须在尺寸前加 ^")
    if not limits.allows(out_w, out_h):
        raise IIIFError(
            400,
            f"尺寸参数“{text}”得到 {out_w}×{out_h} 像素，超过本服务的上限"
            f"（宽 {limits.max_width}、高 {limits.max_height}、面积 {limits.max_area} 像素）",
        )
    return out_w, out_h, upscale


def parse_rotation(text: str) -> tuple[bool, int]:
    """n | !n (0–360, clockwise; ! mirrors first) → (mirror, degrees in 0, 90, 180, 270)."""
    m = _ROTATION.match(text)
    if not m:
        raise IIIFError(400, f"旋转参数“{text}”不合法：应为 0 到 360 之间的数，可加前缀 !")
    degrees = float(m.group(2))
    if degrees > 360:
        raise IIIFError(400, f"旋转参数“{text}”超过 360")
    if degrees % 90:
        raise IIIFError(501, f"旋转参数“{text}”：本服务只支持 90 的倍数")
    return m.group(1) == "!", int(degrees) % 360


def parse_quality_format(text: str) -> tuple[str, str]:
    """quality.format → (quality, format), both implemented by this service."""
    m = _QUALITY_FORMAT.match(text)
    if not m:
        raise IIIFError(400, f"“{text}”不合法：应为 质量.格式，例如 default.jpg")
    quality, fmt = m.groups()
    implemented = spec()["implemented"]
    if quality not in spec()["qualities"]:
        raise IIIFError(400, f"质量参数“{quality}”不合法：应为 default、color、gray 或 bitonal")
    if fmt not in spec()["formats"]:
        raise IIIFError(400, f"格式“{fmt}”不是 IIIF 图像格式")
    if quality not in implemented["qualities"] or fmt not in implemented["formats"]:
        supported = "、".join(implemented["formats"])
        raise IIIFError(501, f"本服务不提供“{quality}.{fmt}”：支持的格式为 {supported}")
    return quality, fmt


def scale_factors(width: int, height: int, tile: int) -> list[int]:
    """1, 2, 4 … until the whole image fits in one tile."""
    factors = [1]
    while math.ceil(max(width, height) / factors[-1]) > tile:
        factors.append(factors[-1] * 2)
    return factors


def info(
    service_id: str, width: int, height: int, limits: Limits, *, tile: int = 512
) -> dict[str, Any]:
    """The image information document (§5) of a `width` × `height` image served at
    `service_id` (its base URI): the level this service implements, its tiles (one tile size,
    scale factors by powers of two), the whole-image sizes it serves fastest (the pyramid's
    levels) and its limits."""
    data = spec()
    implemented = data["implemented"]
    level = data["levels"][implemented["level"]]
    factors = scale_factors(width, height, tile)
    sizes = []
    for factor in reversed(factors):
        size = (math.ceil(width / factor), math.ceil(height / factor))
        if limits.allows(*size):
            sizes.append({"width": size[0], "height": size[1]})
    return {
        "@context": data["context"],
        "id": service_id,
        "type": data["type"],
        "protocol": data["protocol"],
        "profile": implemented["level"],
        "width": width,
        "height": height,
        "maxWidth": limits.max_width,
        "maxHeight": limits.max_height,
        "maxArea": limits.max_area,
        "sizes": sizes,
        "tiles": [{"width": tile, "height": tile, "scaleFactors": factors}],
        "preferredFormats": ["jpg"],
        "extraQualities": [q for q in implemented["qualities"] if q != "default"],
        "extraFormats": [f for f in implemented["formats"] if f not in level["formats"]],
        "extraFeatures": [f for f in implemented["features"] if f not in level["features"]],
    }


def profile_link() -> str:
    """The Link header value naming the compliance level (profileLinkHeader)."""
    level = spec()["implemented"]["level"]
    return f'<{spec()["level_uri"].format(level=level)}>;rel="profile"'


def info_media_type() -> str:
    return f'{spec()["media_type"]};profile="{spec()["profile_uri"]}"'
