"""The catalogue rows of each demo category (门类), generated lazily in 档号 order: 文书 (WS, by
item, DA/T 22, with the red-archives theme and the 革命历史档案 fonds), 会计 (KU), 人事 (RS),
照片 (ZP) and 科技 (KJ). ``GENERATORS`` maps a category code to its generator; the plan
(``generator.CategorySpec.rows``) dispatches through it."""

from __future__ import annotations

import functools
import random
from collections import Counter
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from lantai.demo.words import (
    AS_OF,
    CLASS_LABELS,
    CLOSED,
    FIRST_YEAR,
    LEGACY,
    OPEN,
    OPEN_AFTER_YEARS,
    REMARKS,
    RESTRICTED_USE,
    RETENTIONS,
    T,
    allocate,
    bodies_in,
    days_of,
    draw_table,
    five_year_plan,
    government,
    in_year,
    open_status,
    person_name,
    words,
    year_topics,
)

if TYPE_CHECKING:
    from lantai.demo.generator import CategorySpec

RED = "red"
ROW_FIELDS = (
    "reference_code", "document_number", "author", "title", "date", "classification", "pages",
    "remarks", "retention", "year", "org_code", "open_status",
)  # fmt: skip


# --- rows: 文书 (WS, by item, DA/T 22) --------------------------------------------------------
def _year_weights(start: int, end: int) -> list[float]:
    """More records in later years; fewer in 1967–1970."""
    out = []
    for y in range(start, end + 1):
        wgt = 1.0 + (y - FIRST_YEAR) / 20
        if 1967 <= y <= 1970:
            wgt *= 0.4
        out.append(wgt)
    return out


@functools.cache
def _classification_table(year: int) -> list[str]:
    if year < 1980:
        shares = (0.55, 0.15, 0.2, 0.1)
    elif year < 2000:
        shares = (0.75, 0.1, 0.1, 0.05)
    else:
        shares = (0.9, 0.05, 0.04, 0.01)
    return draw_table(zip(CLASS_LABELS, shares, strict=True))


@functools.cache
def _pages_table() -> tuple[int, ...]:
    rng = random.Random("lantai-demo-pages")
    return tuple(sorted(max(1, min(120, round(rng.lognormvariate(1.3, 0.9)))) for _ in range(T)))


@functools.cache
def _doc_types() -> tuple[tuple[str, tuple[str, ...], tuple[str, ...], float], ...]:
    return tuple(
        (d["name"], tuple(d["templates"]), tuple(d["numbers"]), float(d["weight"]))
        for d in words()["doc_types"]
    )


SELF_AUTHORED = {"请示", "报告", "工作总结", "会议纪要", "简报"}


def _ws_rows(spec: CategorySpec, rng: random.Random) -> Iterator[dict[str, Any]]:
    fonds = spec.fonds
    years = list(range(fonds.start, fonds.end + 1))
    year_counts = allocate(
        spec.count, [wt * rng.uniform(0.7, 1.3) for wt in _year_weights(fonds.start, fonds.end)]
    )
    org_weights = [3.0 if org == "BGS" else 1.0 for org, _ in fonds.orgs]
    cell_table = draw_table(
        [
            ((ret, org), rw * ow)
            for ret, rw in zip(RETENTIONS, (0.3, 0.4, 0.3), strict=True)
            for (org, _), ow in zip(fonds.orgs, org_weights, strict=True)
        ]
    )
    types = _doc_types()
    type_table = draw_table(((i, t[3]) for i, t in enumerate(types)))
    pages = _pages_table()
    w = words()
    places = [c["name"] for c in w["region"]["cities"]] + list(w["region"]["counties"])
    repo = fonds.repository
    if repo.level == "city":
        places = list(w["region"]["counties"])
    red_w = w["red"]
    early_lo, early_hi = red_w["early_years"]
    quota = spec.red_quota
    red_weights = [
        (n if early_lo <= y <= early_hi else n * 0.02) if quota else 0.0
        for y, n in zip(years, year_counts, strict=True)
    ]
    red_per_year = allocate(quota, red_weights)
    prefix_code = f"{fonds.code}-{spec.code}·"
    creator = fonds.creator
    rand = rng.random
    bits = rng.getrandbits

    for year, n, n_red in zip(years, year_counts, red_per_year, strict=True):
        if not n:
            continue
        dates = days_of(year)
        ndays = len(dates)
        topics = year_topics(fonds.domain, year)
        ntop = len(topics)
        gov = government(repo.place, year)
        ctx = {
            "p": repo.place,
            "body": creator,
            "gov": gov,
            "year": year,
            "next": year + 1,
            "plan": five_year_plan(year),
            "topic": "",
            "place": "",
            "n": 1,
            "person": "",
            "scope": "省" if repo.level == "provincial" else "市",
        }
        others = [b for b in bodies_in(repo.place, repo.level == "city", year) if b != creator]
        cls_table = _classification_table(year)
        old = year + OPEN_AFTER_YEARS < AS_OF.year
        legacy_ok = year < 2006
        gov_abbr = f"{repo.abbr}政"
        old_style = year < 1980
        yy = f"{year % 100:02d}"
        counters: Counter[str] = Counter()
        per_cell = Counter(cell_table[bits(10)] for _ in range(n))
        if max(per_cell.values()) > 9999:
            raise ValueError(
                f"{spec.key}: too many rows for the 4-digit 件号 of rule dat22 in {year}"
            )
        # red items are permanent (Y): the Y cells come first, so pick among the first n_y rows
        n_y = sum(k for (ret, _), k in per_cell.items() if ret == "Y")
        n_red = min(n_red, n_y)
        red_rows = set(rng.sample(range(n_y), n_red)) if n_red else ()
        index = 0
        for (ret, org), k in sorted(
            per_cell.items(), key=lambda kv: (RETENTIONS.index(kv[0][0]), kv[0][1])
        ):
            prefix = f"{prefix_code}{year}-{ret}-{org}-"
            days = sorted(int(rand() * ndays) for _ in range(k))
            legacy = LEGACY.get(ret) if legacy_ok else None
            for i in range(k):
                red = index in red_rows if n_red else False
                index += 1
                cls = cls_table[bits(10)]
                r = rand()
                if red:
                    row = _red_row(rng, year, creator, places, early_lo <= year <= early_hi)
                    row["reference_code"] = f"{prefix}{i + 1:04d}"
                    row["date"] = dates[days[i]]
                    row["retention"] = ret
                    row["org_code"] = org
                    row["open_status"] = OPEN if old else CLOSED
                    yield row
                    continue
                name, templates, numbers, _ = types[type_table[bits(10)]]
                ctx["topic"] = topics[int(rand() * ntop)]
                ctx["place"] = places[int(rand() * len(places))]
                ctx["n"] = 1 + int(r * 24)
                if name == "决定":
                    ctx["person"] = person_name(rng)
                title = templates[int(rand() * len(templates))].format_map(ctx)
                if "管理管理" in title:  # {topic}管理 with a topic ending in 管理
                    title = title.replace("管理管理", "管理")
                if name in SELF_AUTHORED or r < 0.8:
                    author, abbr = creator, fonds.abbr
                elif r < 0.9:
                    author, abbr = gov, gov_abbr
                else:
                    author, abbr = f"{creator}；{others[int(rand() * len(others))]}", fonds.abbr
                kind = numbers[int(rand() * len(numbers))]
                if kind:
                    key = abbr + kind
                    counters[key] += 1
                    if old_style:
                        docno = f"({yy}){key}字第{counters[key]}号"
                    else:
                        docno = f"{key}〔{year}〕{counters[key]}号"
                else:
                    docno = ""
                public = cls == "公开"
                r2 = rand()
                if public and old:
                    status = OPEN if r2 < 0.8 else RESTRICTED_USE if r2 < 0.92 else CLOSED
                else:
                    status = RESTRICTED_USE if public and r2 < 0.03 else CLOSED
                yield {
                    "reference_code": f"{prefix}{i + 1:04d}",
                    "document_number": docno,
                    "author": author,
                    "title": title,
                    "date": dates[days[i]],
                    "classification": cls,
                    "pages": pages[bits(10)],
                    "remarks": REMARKS[int(r * 1000) % len(REMARKS)] if r > 0.98 else "",
                    "retention": legacy if legacy and r < 0.05 else ret,
                    "year": year,
                    "org_code": org,
                    "open_status": status,
                }


def _red_row(
    rng: random.Random, year: int, author: str, places: list[str], early: bool
) -> dict[str, Any]:
    red = words()["red"]
    templates = red["titles"] if early else red["late_titles"]
    n = max(10, round((year - 1936) / 10) * 10)  # 红军长征胜利 N 周年
    title = rng.choice(templates).format(place=rng.choice(places), person=person_name(rng), n=n)
    return {
        "reference_code": "",
        "document_number": "",
        "author": author,
        "title": title,
        "date": "",
        "classification": "公开",
        "pages": 1 + int(rng.random() * 40),
        "remarks": "",
        "retention": "Y",
        "year": year,
        "org_code": "",
        "open_status": "",
        "collection": RED,
    }


def revolutionary_rows(spec: CategorySpec, rng: random.Random) -> Iterator[dict[str, Any]]:
    """The 革命历史档案 fonds (1925–1949): every row belongs to the red collection."""
    fonds = spec.fonds
    red = words()["red"]["fonds"]
    places = [c["name"].removesuffix("市") for c in words()["region"]["cities"]]
    places += [c.removesuffix("县").removesuffix("区") for c in words()["region"]["counties"]]
    years = list(range(fonds.start, fonds.end + 1))
    counts = allocate(spec.count, [rng.uniform(0.5, 1.5) * (2 if y >= 1937 else 1) for y in years])
    for year, n in zip(years, counts, strict=True):
        if not n:
            continue
        dates = days_of(year)
        authors = in_year(red["authors"], year)
        titles = in_year(red["titles"], year)
        per_org = Counter(rng.choice(fonds.orgs)[0] for _ in range(n))
        for org, _ in fonds.orgs:
            k = per_org.get(org, 0)
            for i, day in enumerate(sorted(rng.randrange(len(dates)) for _ in range(k))):
                author = rng.choice(authors)
                title = rng.choice(titles).format(
                    author=author, place=rng.choice(places), person=person_name(rng), year=year
                )
                yield {
                    "reference_code": f"{fonds.code}-WS·{year}-Y-{org}-{i + 1:04d}",
                    "document_number": "",
                    "author": author,
                    "title": title,
                    "date": dates[day],
                    "classification": "公开",
                    "pages": 1 + int(rng.random() * 30),
                    "remarks": rng.choice(("", "", "", "抄件", "油印件", "手稿")),
                    "retention": "Y",
                    "year": year,
                    "org_code": org,
                    "open_status": OPEN if rng.random() < 0.9 else RESTRICTED_USE,
                    "collection": RED,
                }


# --- rows: 会计 (KU), 人事 (RS), 照片 (ZP), 科技 (KJ) -----------------------------------------
def _volumes(rng: random.Random, n: int, lo: int, hi: int) -> list[int]:
    """Split n documents into volumes of lo–hi documents."""
    out = []
    while n > 0:
        k = min(n, rng.randint(lo, hi))
        out.append(k)
        n -= k
    return out


def _simple_row(
    code: str,
    title: str,
    author: str,
    day: str,
    cls: str,
    pages: int,
    ret: str,
    year: int,
    org: str,
    status: str,
) -> dict[str, Any]:
    return {
        "reference_code": code,
        "document_number": "",
        "author": author,
        "title": title,
        "date": day,
        "classification": cls,
        "pages": pages,
        "remarks": "",
        "retention": ret,
        "year": year,
        "org_code": org,
        "open_status": status,
    }


def _ku_rows(spec: CategorySpec, rng: random.Random) -> Iterator[dict[str, Any]]:
    """会计 by volume (rule ku-volume): one row per 案卷, numbered per class and year."""
    fonds = spec.fonds
    groups = words()["accounting"]
    org = next((c for c, _ in fonds.orgs if c.startswith("CW")), "")
    years = list(range(fonds.start, fonds.end + 1))
    counts = allocate(spec.count, _year_weights(fonds.start, fonds.end))
    for year, n in zip(years, counts, strict=True):
        if not n:
            continue
        dates = days_of(year)
        for g, m in zip(groups, allocate(n, [0.5, 0.2, 0.1, 0.2]), strict=True):
            days = sorted(rng.randrange(len(dates)) for _ in range(m))
            for volume, day in enumerate(days, start=1):
                d = dates[day]
                title = rng.choice(g["titles"]).format(year=year, month=int(d[5:7]), n=volume)
                cls = "限制" if rng.random() < 0.1 else "公开"
                status = open_status(rng, year, cls != "公开")
                code = f"{fonds.code}-KU·{g['class']}·{year}-{volume:03d}"
                pages = 20 + int(rng.random() * 101)
                yield _simple_row(
                    code, title, fonds.creator, d, cls, pages, g["retention"], year, org, status
                )


def _rs_rows(spec: CategorySpec, rng: random.Random) -> Iterator[dict[str, Any]]:
    """人事 by volume (rule volume-ws): one row per 案卷, numbered per year and retention."""
    fonds = spec.fonds
    groups = words()["personnel"]
    org = next((c for c, _ in fonds.orgs if c.startswith("RS")), "")
    years = list(range(fonds.start, fonds.end + 1))
    counts = allocate(spec.count, _year_weights(fonds.start, fonds.end))
    for year, n in zip(years, counts, strict=True):
        if not n:
            continue
        dates = days_of(year)
        for g, m in zip(groups, allocate(n, [0.5, 0.35, 0.15]), strict=True):
            days = sorted(rng.randrange(len(dates)) for _ in range(m))
            for volume, day in enumerate(days, start=1):
                title = rng.choice(g["titles"]).format(
                    year=year, person=person_name(rng), n=rng.randint(2, 9)
                )
                r = rng.random()
                cls = "公开" if r < 0.3 else "限制" if r < 0.8 else "秘密"
                # personal data: never opened wholesale, at most 控制使用
                status = RESTRICTED_USE if cls == "公开" and rng.random() < 0.2 else CLOSED
                code = f"{fonds.code}-RS·{year}-{g['retention']}-{volume:03d}"
                pages = 5 + int(rng.random() * 96)
                yield _simple_row(
                    code,
                    title,
                    fonds.creator,
                    dates[day],
                    cls,
                    pages,
                    g["retention"],
                    year,
                    org,
                    status,
                )


def _zp_rows(spec: CategorySpec, rng: random.Random) -> Iterator[dict[str, Any]]:
    fonds = spec.fonds
    captions = words()["photos"]
    places = list(words()["region"]["counties"])
    years = list(range(fonds.start, fonds.end + 1))
    org = "BGS"
    for year, n in zip(
        years, allocate(spec.count, _year_weights(fonds.start, fonds.end)), strict=True
    ):
        if not n:
            continue
        dates = days_of(year)
        topics = year_topics(fonds.domain, year)
        for ret, m in zip(("Y", "D30"), allocate(n, [0.4, 0.6]), strict=True):
            groups = _volumes(rng, m, 2, 12)
            days = sorted(rng.randrange(len(dates)) for _ in groups)
            for group, (k, day) in enumerate(zip(groups, days, strict=True), start=1):
                d = dates[day]
                caption = rng.choice(captions).format(
                    year=year,
                    month=int(d[5:7]),
                    body=fonds.creator,
                    topic=rng.choice(topics),
                    place=rng.choice(places),
                )
                status = open_status(rng, year, False)
                for item in range(1, k + 1):
                    code = f"{fonds.code}-ZP·{year}·{ret}-{group:03d}-{item:03d}"
                    yield _simple_row(
                        code,
                        f"{caption}（{item}）",
                        fonds.creator,
                        d,
                        "公开",
                        1,
                        ret,
                        year,
                        org,
                        status,
                    )


def _kj_rows(spec: CategorySpec, rng: random.Random) -> Iterator[dict[str, Any]]:
    fonds = spec.fonds
    classes = [c for c, _ in words()["projects"]["classes"]]
    titles = words()["projects"]["titles"]
    places = list(words()["region"]["counties"])
    start = max(fonds.start, 1953)
    years = list(range(start, fonds.end + 1))
    projects = _volumes(rng, spec.count, 3, 25)  # volumes per project
    project_years = sorted(rng.choice(years) for _ in projects)
    numbers: Counter[str] = Counter()
    for k, year in zip(projects, project_years, strict=True):
        cls = classes[0] if rng.random() < 0.7 else rng.choice(classes[1:])
        numbers[cls] += 1
        project = f"{numbers[cls]:03d}"
        dates = days_of(year)
        base = rng.choice(titles).format(
            place=rng.choice(places),
            topic=rng.choice(year_topics(fonds.domain, year)),
            body=fonds.creator,
        )
        ret = "Y" if rng.random() < 0.6 else "D30"
        status = open_status(rng, year, False)
        for volume, day in enumerate(sorted(rng.randrange(len(dates)) for _ in range(k)), start=1):
            code = f"{fonds.code}-KJ·{cls}·{project}-{volume:03d}"
            pages = 10 + int(rng.random() * 110)
            yield _simple_row(
                code,
                f"{base}（第{volume}卷）",
                fonds.creator,
                dates[day],
                "公开",
                pages,
                ret,
                year,
                "",
                status,
            )


GENERATORS: dict[str, Callable[[CategorySpec, random.Random], Iterator[dict[str, Any]]]] = {
    "WS": _ws_rows,
    "KU": _ku_rows,
    "RS": _rs_rows,
    "ZP": _zp_rows,
    "KJ": _kj_rows,
}
