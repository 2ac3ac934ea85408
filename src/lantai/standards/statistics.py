"""The figures of the annual statistics report, loaded from ``data/statistics-report.yaml``, and
the pure arithmetic of the report (ratios, year-on-year change)."""

from __future__ import annotations

import functools
from dataclasses import dataclass

from ._data import DataFileError, load_data

SOURCES = ("catalog", "digitization", "registry")
PERIODS = ("stock", "flow")


@dataclass(frozen=True, slots=True)
class Figure:
    code: str
    label_zh: str
    label_en: str
    unit: str
    source: str  # catalog | digitization: computed by stats; registry: a same-floor provider
    period: str  # stock: at the end of the year; flow: within the year


@dataclass(frozen=True, slots=True)
class Breakdown:
    code: str
    label_zh: str
    label_en: str
    by: str  # category | retention


@functools.cache
def report_figures() -> tuple[Figure, ...]:
    """The report's figures in the order of the report."""
    figures: list[Figure] = []
    for row in load_data("statistics-report.yaml")["figures"]:
        figure = Figure(**{k: str(row[k]) for k in Figure.__slots__})
        if figure.source not in SOURCES or figure.period not in PERIODS:
            raise DataFileError(f"statistics-report.yaml: {figure.code}: bad source or period")
        figures.append(figure)
    if len({f.code for f in figures}) != len(figures):
        raise DataFileError("statistics-report.yaml: duplicate figure code")
    return tuple(figures)


@functools.cache
def report_breakdowns() -> tuple[Breakdown, ...]:
    return tuple(
        Breakdown(**{k: str(row[k]) for k in Breakdown.__slots__})
        for row in load_data("statistics-report.yaml")["breakdowns"]
    )


def percent(part: int, whole: int) -> float | None:
    """`part` as a percentage of `whole`, two decimals; None where there is no whole (no
    holdings: a rate of nothing is not 0 %)."""
    if whole <= 0:
        return None
    return round(100.0 * part / whole, 2)


def change(value: float | None, previous: float | None) -> float | None:
    """The year-on-year difference; None where either year is not available."""
    if value is None or previous is None:
        return None
    return round(value - previous, 2)
