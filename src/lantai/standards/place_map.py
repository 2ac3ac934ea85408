"""A schematic place map as an accessible inline SVG: no base-map tiles, no network.

``svg(points, title=...)`` draws each point (a place with a count of records) as a link, on a
longitude/latitude graticule fitted to the points with padding, in an equirectangular
projection scaled by the cosine of the middle latitude. The SVG names itself a schematic map in
its <desc>; the page that shows it also lists the places as text (the accessible alternative).
It uses presentation attributes and classes only (no style attributes: the CSP allows
stylesheets from the site only).
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from dataclasses import dataclass
from xml.sax.saxutils import escape, quoteattr

__all__ = ["MapPoint", "svg"]

WIDTH = 480
MARGIN = 40  # pixels around the plot for the graticule labels
MIN_SPAN = 1.0  # degrees: one point (or points at one place) still gets a readable frame
PAD = 0.15  # of the span, on every side
STEPS = (0.1, 0.2, 0.25, 0.5, 1.0, 2.0, 2.5, 5.0, 10.0, 20.0, 30.0, 45.0)
DEFAULT_DESC = (
    "示意图：按经纬度标出各地点的位置，圆点大小表示档案数量；不含底图，不作精确定位之用。"
)
LINE = 18.0  # label line height (font size 16)
LABEL_EM = 15.0  # a label character's width, roughly (CJK and the count alike)
EMPTY_TEXT = "没有可在地图上标出的地点"


@dataclass(frozen=True)
class MapPoint:
    label: str
    lon: float
    lat: float
    href: str
    count: int = 1


def svg(points: Sequence[MapPoint], *, title: str, desc: str = DEFAULT_DESC) -> str:
    usable = [p for p in points if _valid(p)]
    # ids unique per map, so that two maps on one page keep their own title and description
    key = "|".join([title, *(f"{p.label}{p.lon}{p.lat}" for p in usable)])
    uid = "pm-" + hashlib.sha256(key.encode("utf-8")).hexdigest()[:8]
    if not usable:
        return _empty(title, desc, uid)
    west, east, south, north = _frame(usable)
    mid = math.radians((south + north) / 2)
    x_scale = math.cos(mid)
    plot_w = WIDTH - 2 * MARGIN
    plot_h = max(120.0, min(900.0, plot_w * (north - south) / max((east - west) * x_scale, 1e-9)))
    height = plot_h + 2 * MARGIN

    def x(lon: float) -> float:
        return MARGIN + (lon - west) / (east - west) * plot_w

    def y(lat: float) -> float:
        return MARGIN + (north - lat) / (north - south) * plot_h

    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="place-map" role="img" '
        f'viewBox="0 0 {WIDTH} {height:.0f}" width="100%" aria-labelledby="{uid}-t {uid}-d">',
        f'<title id="{uid}-t">{escape(title)}</title>',
        f'<desc id="{uid}-d">{escape(desc)}</desc>',
        f'<rect class="pm-frame" x="{MARGIN}" y="{MARGIN}" width="{plot_w}" '
        f'height="{plot_h:.1f}" fill="#f7f4ec" stroke="#b9ae95"/>',
        '<g class="pm-grid" stroke="#d8cfbb" stroke-width="1" fill="#6b604c" font-size="13">',
    ]
    for lon in _ticks(west, east):
        px = x(lon)
        out.append(
            f'<line x1="{px:.1f}" y1="{MARGIN}" x2="{px:.1f}" y2="{MARGIN + plot_h:.1f}"/>'
            f'<text x="{px:.1f}" y="{MARGIN - 8}" text-anchor="middle" stroke="none">'
            f"{_degrees(lon, 'E', 'W')}</text>"
        )
    for lat in _ticks(south, north):
        py = y(lat)
        out.append(
            f'<line x1="{MARGIN}" y1="{py:.1f}" x2="{MARGIN + plot_w}" y2="{py:.1f}"/>'
            f'<text x="{MARGIN - 4}" y="{py + 4:.1f}" text-anchor="end" stroke="none">'
            f"{_degrees(lat, 'N', 'S')}</text>"
        )
    out.append("</g>")
    biggest = max(max(p.count, 1) for p in usable)
    placed: dict[tuple[int, int], int] = {}
    taken: list[Box] = []  # the label boxes drawn so far
    out.append('<g class="pm-points" font-size="16">')
    for point in sorted(usable, key=lambda p: (-p.count, p.label)):
        px, py = x(point.lon), y(point.lat)
        spot = (round(px), round(py))
        nth = placed.get(spot, 0)
        placed[spot] = nth + 1
        if nth:  # another point at the same place: set it around the first one
            angle = nth * 2 * math.pi / 8
            px += 20 * math.cos(angle) * (1 + nth // 8)
            py += 20 * math.sin(angle) * (1 + nth // 8)
        radius = 6 + 8 * math.sqrt(max(point.count, 1) / biggest)
        label = f"{point.label}（{point.count}）"
        out.append(
            f'<a class="pm-point" href={quoteattr(_safe_href(point.href))} aria-label={quoteattr(label)}>'
            f"<title>{escape(label)}</title>"
            f'<circle cx="{px:.1f}" cy="{py:.1f}" r="{radius:.1f}" fill="#b3261e" '
            f'fill-opacity="0.75" stroke="#ffffff" stroke-width="1.5"/>'
            f"{_label(px, py, radius, label, taken)}"
            "</a>"
        )
    out.append("</g></svg>")
    return "".join(out)


Box = tuple[float, float, float, float]  # left, right, top, bottom


def _label(px: float, py: float, radius: float, label: str, taken: list[Box]) -> str:
    """The point's label beside it (to its left in the east of the map, so it stays inside),
    moved down or up a line where it would cover a label drawn before."""
    width = LABEL_EM * len(label)
    if px > WIDTH * 0.65:
        x, anchor, left = px - radius - 4, "end", px - radius - 4 - width
    else:
        x, anchor, left = px + radius + 4, "start", px + radius + 4
    shift = 0.0
    for shift in (0.0, LINE, -LINE, 2 * LINE, -2 * LINE):
        box = (left, left + width, py + shift - LINE / 2, py + shift + LINE / 2)
        if not any(_overlap(box, other) for other in taken):
            break
    taken.append((left, left + width, py + shift - LINE / 2, py + shift + LINE / 2))
    return (
        f'<text x="{x:.1f}" y="{py + 5 + shift:.1f}" text-anchor="{anchor}" fill="#1f1a14" '
        f'stroke="#ffffff" stroke-width="3" paint-order="stroke">{escape(label)}</text>'
    )


def _overlap(a: Box, b: Box) -> bool:
    return a[0] < b[1] and b[0] < a[1] and a[2] < b[3] and b[2] < a[3]


def _valid(point: MapPoint) -> bool:
    try:
        lon, lat = float(point.lon), float(point.lat)
    except (TypeError, ValueError):
        return False
    return math.isfinite(lon) and math.isfinite(lat) and -180 <= lon <= 180 and -90 <= lat <= 90


def _frame(points: Sequence[MapPoint]) -> tuple[float, float, float, float]:
    """west, east, south, north: the points' bounding box, at least MIN_SPAN wide and high,
    padded on every side, kept inside the globe."""
    lons = [p.lon for p in points]
    lats = [p.lat for p in points]
    west, east, south, north = min(lons), max(lons), min(lats), max(lats)
    if east - west < MIN_SPAN:
        mid = (east + west) / 2
        west, east = mid - MIN_SPAN / 2, mid + MIN_SPAN / 2
    if north - south < MIN_SPAN:
        mid = (north + south) / 2
        south, north = mid - MIN_SPAN / 2, mid + MIN_SPAN / 2
    pad_x, pad_y = (east - west) * PAD, (north - south) * PAD
    return (
        max(west - pad_x, -180.0),
        min(east + pad_x, 180.0),
        max(south - pad_y, -90.0),
        min(north + pad_y, 90.0),
    )


def _ticks(low: float, high: float) -> list[float]:
    """Round graticule values inside (low, high): 2 to about 8 of them."""
    span = high - low
    step = next((s for s in STEPS if span / s <= 8), STEPS[-1])
    first = math.ceil(low / step) * step
    ticks: list[float] = []
    value = first
    while value < high and len(ticks) < 50:
        if value > low:
            ticks.append(round(value, 6))
        value += step
    return ticks


def _degrees(value: float, positive: str, negative: str) -> str:
    text = f"{abs(value):.2f}".rstrip("0").rstrip(".")
    hemisphere = positive if value > 0 else negative if value < 0 else ""
    return f"{text}°{hemisphere}"


def _safe_href(href: str) -> str:
    """A relative or http(s) link; anything else (javascript:, data:) becomes "#"."""
    href = str(href or "").strip()
    lower = href.lower()
    if lower.startswith(("http://", "https://", "/", "#", "?")) or (
        ":" not in lower.split("/", 1)[0]
    ):
        return href or "#"
    return "#"


def _empty(title: str, desc: str, uid: str) -> str:
    return (
        '<svg xmlns="http://www.w3.org/2000/svg" class="place-map place-map-empty" role="img" '
        f'viewBox="0 0 {WIDTH} 80" width="100%" aria-labelledby="{uid}-t {uid}-d">'
        f'<title id="{uid}-t">{escape(title)}</title>'
        f'<desc id="{uid}-d">{escape(desc)} {EMPTY_TEXT}</desc>'
        f'<text x="{WIDTH // 2}" y="44" text-anchor="middle" font-size="14" fill="#6b604c">'
        f"{EMPTY_TEXT}</text></svg>"
    )
