"""The word lists and draws of the demo generator, shared by the plan (``generator``) and the
rows (``rows``): the fixed years and value labels, the cached look-ups into ``data/words.yaml``
(topics, governments, five-year plans, bodies, dates) and the weighted draws."""

from __future__ import annotations

import functools
import random
from collections.abc import Iterable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import yaml

DATA = Path(__file__).parent / "data" / "words.yaml"
FIRST_YEAR = 1950
LAST_YEAR = 2024
AS_OF = date(2025, 1, 1)  # "today" of the generated data: fixed, so rows do not depend on the clock
OPEN_AFTER_YEARS = 25

CLASS_LABELS = ("公开", "限制", "秘密", "机密")
RETENTIONS = ("Y", "D30", "D10")
LEGACY = {"D30": "长期", "D10": "短期"}
OPEN, CLOSED, RESTRICTED_USE = "开放", "未开放", "控制使用"
REMARKS = (
    "原件破损，已修裱",
    "附件另存",
    "复印件",
    "有领导批示",
    "含附件3份",
    "电子版与纸质版一致",
)
T = 1024  # size of the look-up tables for categorical draws (index with getrandbits(10))


# --- the word lists ---------------------------------------------------------------------------
@functools.cache
def words() -> dict[str, Any]:
    with DATA.open(encoding="utf-8") as f:
        return dict(yaml.safe_load(f))


def year_topics(domain: str, year: int) -> list[str]:
    return list(_topics_cached(domain, year))


@functools.cache
def _topics_cached(domain: str, year: int) -> tuple[str, ...]:
    topics = words()["topics"]
    return tuple(in_year([*topics.get(domain, ()), *topics["generic"]], year))


def in_year(entries: Iterable[Any], year: int) -> list[str]:
    """The entries (text, or {t, from, to}) that fit ``year``."""
    out = []
    for e in entries:
        if isinstance(e, str):
            out.append(e)
        elif e.get("from", 0) <= year <= e.get("to", 9999):
            out.append(str(e["t"]))
    return out


def government(place: str, year: int) -> str:
    for era in words()["governments"]:
        if year <= era["to"]:
            return str(era["name"]).format(p=place)
    raise ValueError(year)


def five_year_plan(year: int) -> str:
    """The five-year plan a document of ``year`` is about: the current one, or the next one in
    the last year of a plan (一五 1953–1957, 二五 1958–1962, 三五 from 1966 after the 1963–1965
    readjustment, then every five years)."""
    plans = words()["plans"]
    if year < 1958:
        index, last = 0, year == 1957
    elif year < 1966:
        index, last = 1, year >= 1962
    else:
        index, last = (year - 1966) // 5 + 2, (year - 1966) % 5 == 4
    index = max(0, min(len(plans) - 1, index + last))
    return f"“{plans[index]}”"


@functools.cache
def bodies_in(place: str, city: bool, year: int) -> tuple[str, ...]:
    """Full names of the bodies of a province or city that existed in ``year`` (co-issuers)."""
    return tuple(
        f"{place}{b.get('city_name', b['name']) if city else b['name']}"
        for b in words()["bodies"]
        if b.get("from", FIRST_YEAR) <= year <= b.get("to", LAST_YEAR)
    )


@functools.cache
def days_of(year: int) -> tuple[str, ...]:
    """ISO dates of every day of ``year``."""
    first = date(year, 1, 1)
    days = (date(year + 1, 1, 1) - first).days
    return tuple((first + timedelta(d)).isoformat() for d in range(days))


def draw_table(pairs: Iterable[tuple[Any, float]]) -> list[Any]:
    """A T-entry look-up table: drawing a uniform index gives each value with its weight."""
    pairs = list(pairs)
    total = sum(w for _, w in pairs)
    out: list[Any] = []
    acc = 0.0
    for value, w in pairs:
        acc += w
        out.extend([value] * (round(acc / total * T) - len(out)))
    out.extend([pairs[-1][0]] * (T - len(out)))
    return out


def allocate(total: int, weights: list[float]) -> list[int]:
    """Split ``total`` into integers proportional to ``weights`` (largest remainder)."""
    s = sum(weights)
    if total <= 0 or s <= 0:
        return [0] * len(weights)
    exact = [total * w / s for w in weights]
    counts = [int(x) for x in exact]
    rest = total - sum(counts)
    order = sorted(range(len(weights)), key=lambda i: (counts[i] - exact[i], i))
    for i in order[:rest]:
        counts[i] += 1
    return counts


def person_name(rng: random.Random) -> str:
    w = words()
    s, g = w["surnames"], w["given_chars"]
    name = str(s[int(rng.random() * len(s))]) + str(g[int(rng.random() * len(g))])
    if rng.random() < 0.7:
        name += g[int(rng.random() * len(g))]
    return name


def open_status(rng: random.Random, year: int, classified: bool, as_of: date = AS_OF) -> str:
    """开放 for old unclassified records (formed more than 25 years ago), else 未开放; a few 控制使用."""
    r = rng.random()
    if not classified and year + OPEN_AFTER_YEARS < as_of.year:
        return OPEN if r < 0.80 else RESTRICTED_USE if r < 0.92 else CLOSED
    return RESTRICTED_USE if not classified and r < 0.03 else CLOSED
