"""Server-rendered SVG charts of the statistics report: the geometry here, the drawing in the
templates (stats/_bars.html, stats/_columns.html), no script. Every chart has a table beside it
on the page with the same numbers (the accessible alternative)."""

from __future__ import annotations

from dataclasses import dataclass, field

LABEL_W = 150  # room for the category names left of the bars
BAR_H = 14
GAP = 10
VALUE_W = 90


@dataclass
class Bar:
    label: str
    value: int
    previous: int
    y: float = 0.0
    width: float = 0.0
    width_prev: float = 0.0


@dataclass
class BarChart:
    """Horizontal bars, two per row: this year (above) and the previous year (below)."""

    bars: list[Bar]
    width: int
    height: int
    label_w: int = LABEL_W
    bar_h: int = BAR_H
    value_x: float = 0.0
    ticks: list[tuple[float, int]] = field(default_factory=list)


def bar_chart(rows: list[tuple[str, int, int]], width: int = 640) -> BarChart:
    """rows: (label, this year, previous year)."""
    top = max([max(v, p) for _, v, p in rows] + [1])
    span = width - LABEL_W - VALUE_W
    bars = []
    for i, (label, value, previous) in enumerate(rows):
        bars.append(Bar(
            label=label, value=value, previous=previous, y=GAP + i * (2 * BAR_H + GAP),
            width=round(span * value / top, 1), width_prev=round(span * previous / top, 1),
        ))  # fmt: skip
    height = GAP + len(rows) * (2 * BAR_H + GAP)
    ticks = [(round(LABEL_W + span * k / 4, 1), round(top * k / 4)) for k in range(5)]
    return BarChart(bars, width, height + 16, value_x=LABEL_W + span + 4, ticks=ticks)


@dataclass
class Column:
    label: str
    value: int
    x: float
    y: float
    height: float


@dataclass
class ColumnChart:
    """Vertical columns, one per year (the holdings at each year's end)."""

    columns: list[Column]
    width: int
    height: int
    base_y: float
    column_w: float


def column_chart(rows: list[tuple[str, int]], width: int = 640, height: int = 220) -> ColumnChart:
    top = max([v for _, v in rows] + [1])
    plot_h = height - 50
    slot = width / max(len(rows), 1)
    column_w = round(slot * 0.6, 1)
    base_y = 20 + plot_h
    columns = []
    for i, (label, value) in enumerate(rows):
        h = round(plot_h * value / top, 1)
        columns.append(Column(label, value, round(i * slot + (slot - column_w) / 2, 1),
                              round(base_y - h, 1), h))  # fmt: skip
    return ColumnChart(columns, width, height, base_y, column_w)
