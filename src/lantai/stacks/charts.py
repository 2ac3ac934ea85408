"""Server-rendered SVG charts of a room's temperature or humidity over a period: the line of the
readings, the band between the limits and the readings outside it as marked points. No script:
the SVG carries a title and a description (role img), and the page shows the same readings as a
table. Colours come from stacks.css classes (the CSP forbids inline styles)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from html import escape

from django.utils import timezone

from lantai.standards import stacks as std

WIDTH, HEIGHT = 720, 240
LEFT, RIGHT, TOP, BOTTOM = 48, 12, 12, 32
MAX_LINE_POINTS = 600  # more readings are averaged into this many buckets for the line
MAX_MARKS = 300  # points outside the limits marked (the worst first)


@dataclass(frozen=True)
class Point:
    at: dt.datetime
    value: Decimal


def _fmt(x: float) -> str:
    return f"{x:.1f}"


def svg(
    *,
    quantity: str,
    points: Sequence[Point],
    limits: std.Limits,
    start: dt.datetime,
    end: dt.datetime,
    title: str,
    description: str,
    unit: str,
    ident: str,
) -> str:
    """The chart as an SVG element (a string safe to put in HTML)."""
    low, high = limits.band(quantity)
    values = [float(p.value) for p in points]
    y_min = min([float(low), *values]) - 2
    y_max = max([float(high), *values]) + 2
    span = max((end - start).total_seconds(), 1.0)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def x(at: dt.datetime) -> float:
        return LEFT + plot_w * max(0.0, min(1.0, (at - start).total_seconds() / span))

    def y(v: float) -> float:
        return TOP + plot_h * (1 - (v - y_min) / (y_max - y_min))

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="climate-chart" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'role="img" aria-labelledby="{ident}-title {ident}-desc">',
        f'<title id="{ident}-title">{escape(title)}</title>',
        f'<desc id="{ident}-desc">{escape(description)}</desc>',
        f'<rect class="chart-frame" x="{LEFT}" y="{TOP}" width="{plot_w}" height="{plot_h}"/>',
        f'<rect class="chart-band" x="{LEFT}" y="{_fmt(y(float(high)))}" width="{plot_w}" '
        f'height="{_fmt(y(float(low)) - y(float(high)))}"/>',
    ]
    for v, cls in ((float(low), "chart-limit"), (float(high), "chart-limit")):
        parts.append(
            f'<line class="{cls}" x1="{LEFT}" x2="{LEFT + plot_w}" y1="{_fmt(y(v))}" y2="{_fmt(y(v))}"/>'
        )
        parts.append(f'<text class="chart-limit-label" x="{LEFT + plot_w - 4}" y="{_fmt(y(v) - 3)}" '
                     f'text-anchor="end">{escape(f"{v:g}{unit}")}</text>')  # fmt: skip
    for i in range(5):  # value axis
        v = y_min + (y_max - y_min) * i / 4
        parts.append(
            f'<text class="chart-axis" x="{LEFT - 6}" y="{_fmt(y(v) + 4)}" text-anchor="end">{v:.0f}</text>'
        )
    days = max(1, round(span / 86400))
    step = max(1, days // 7)
    tz = timezone.get_current_timezone()
    tick = timezone.localtime(start, tz).replace(hour=0, minute=0, second=0, microsecond=0)
    while tick <= end:  # time axis: one label a day (or every few days)
        if tick >= start:
            parts.append(
                f'<line class="chart-grid" x1="{_fmt(x(tick))}" x2="{_fmt(x(tick))}" y1="{TOP}" y2="{TOP + plot_h}"/>'
            )
            parts.append(f'<text class="chart-axis" x="{_fmt(x(tick))}" y="{HEIGHT - 12}" '
                         f'text-anchor="middle">{tick:%m-%d}</text>')  # fmt: skip
        tick = (tick + dt.timedelta(days=step)).astimezone(tz)
    line = _line(points, start, span)
    if line:
        coords = " ".join(f"{_fmt(x(at))},{_fmt(y(v))}" for at, v in line)
        parts.append(f'<polyline class="chart-line" points="{coords}"/>')
    marks = [p for p in points if p.value < low or p.value > high]
    marks.sort(
        key=lambda p: abs(float(p.value) - (float(high) if p.value > high else float(low))),
        reverse=True,
    )
    for p in marks[:MAX_MARKS]:
        label = f"{timezone.localtime(p.at):%Y-%m-%d %H:%M} {p.value}{unit}"
        parts.append(f'<circle class="chart-breach" cx="{_fmt(x(p.at))}" cy="{_fmt(y(float(p.value)))}" r="3.5">'
                     f"<title>{escape(label)}</title></circle>")  # fmt: skip
    parts.append("</svg>")
    return "".join(parts)


def _line(
    points: Sequence[Point], start: dt.datetime, span: float
) -> list[tuple[dt.datetime, float]]:
    if len(points) <= MAX_LINE_POINTS:
        return [(p.at, float(p.value)) for p in points]
    buckets: dict[int, list[Point]] = {}
    for p in points:
        i = min(MAX_LINE_POINTS - 1, int((p.at - start).total_seconds() / span * MAX_LINE_POINTS))
        buckets.setdefault(i, []).append(p)
    out = []
    for i in sorted(buckets):
        group = buckets[i]
        mean = sum(float(p.value) for p in group) / len(group)
        out.append((group[len(group) // 2].at, mean))
    return out
