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
    unit_en: str
    source: str  # catalog | digitization: computed by stats; registry: a same-floor provider
    period: str  # stock: at the end of the year; flow: within the year
    origin: str  # where the figure comes from (the YAML's "from")
    origin_zh: str  # the same in Chinese (the YAML's "from_zh")


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
        values = {k: str(row[k]) for k in Figure.__slots__ if not k.startswith("origin")}
        figure = Figure(
            **values, origin=str(row.get("from", "")), origin_zh=str(row.get("from_zh", ""))
        )
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


@functools.cache
def level_units() -> dict[str, tuple[str, str]]:
    """The counted levels of the holdings (item, volume) → their unit (Chinese, English)."""
    return {
        str(code): (str(row["zh"]), str(row["en"]))
        for code, row in load_data("statistics-report.yaml")["levels"].items()
    }


def level_unit(level: str, english: bool = False) -> str:
    """The unit of a holdings level (件 / items), the level's code where it is not listed."""
    pair = level_units().get(level)
    return pair[int(english)] if pair else level


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


TB = 10**12  # the report's terabyte: 10^12 bytes (decimal, as storage is sold)


def terabytes(size: int | None) -> float | None:
    """`size` bytes as terabytes, three decimals; None stays None."""
    if size is None:
        return None
    return round(size / TB, 3)


# User agents that name themselves robots, crawlers or command-line clients: their requests are
# not visits (an obvious filter, not a bot detector).
ROBOT_MARKERS = (
    "bot", "spider", "crawl", "slurp", "curl", "wget", "python-", "httpclient", "headless",
    "scrapy", "go-http", "java/", "libwww", "okhttp", "monitor", "preview",
)  # fmt: skip


def is_visit(method: str, user_agent: str) -> bool:
    """Whether a request counts as a visit (人次): a GET from a browser-like client."""
    if method.upper() != "GET":
        return False
    agent = user_agent.strip().lower()
    if not agent:
        return False
    return not any(marker in agent for marker in ROBOT_MARKERS)
