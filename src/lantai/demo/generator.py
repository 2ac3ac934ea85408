"""A deterministic generator of a plausible regional archives for demos, tests and benchmarks.

The region is the fictional 岭南省: a provincial archives and four city archives, the fonds of
government bodies (人民政府办公厅, 教育厅, 财政局 …), their categories (门类) and catalogue rows of
the 归档文件目录. Everything comes from one seed: the same seed gives the same archives, row for
row, on any machine (``random.Random`` seeded with strings, never ``hash()``).

Scale and speed: ``build_archive`` plans the structure up front (a few hundred small objects at
most, whatever the size) and every category yields its rows lazily, so memory stays flat from
1,000 to 10,000,000 records. The per-row path is table look-ups, ``random()`` calls and f-strings.

Rows are dicts keyed by the import field names of ``catalog/data/catalogue_columns.yaml``:
reference_code, document_number, author, title, date (ISO text), classification (密级 label),
pages, remarks, retention (Y/D30/D10, or a legacy 长期/短期), year, org_code, open_status
(开放/未开放/控制使用). Rows of the red-archives theme also carry ``"collection": "red"``, which
``write_csv`` ignores.
"""

from __future__ import annotations

import csv
import functools
import math
import random
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from operator import itemgetter
from pathlib import Path
from typing import Any

import yaml

DATA = Path(__file__).parent / "data" / "words.yaml"
FIRST_YEAR = 1950
LAST_YEAR = 2024
AS_OF = date(2025, 1, 1)  # "today" of the generated data: fixed, so rows do not depend on the clock
OPEN_AFTER_YEARS = 25
RED = "red"
ROW_FIELDS = (
    "reference_code", "document_number", "author", "title", "date", "classification", "pages",
    "remarks", "retention", "year", "org_code", "open_status",
)  # fmt: skip

# 门类 used by the demo: arrangement and 档号 rule (names from standards/data/code_rules.yaml).
CATEGORY_RULES: dict[str, tuple[str, str]] = {
    "WS": ("item", "dat22"),  # Z109-WS·2011-Y-BGS-0001
    "KU": ("volume", "ku-volume"),  # Z109-KU·01·2017-001 (案卷)
    "RS": ("volume", "volume-ws"),  # Z109-RS·2011-Y-001 (案卷)
    "ZP": ("item", "zp-group"),  # Z109-ZP·2019·D30-025-005
    "KJ": ("volume", "kj-project"),  # Z109-KJ·JJ·003-001 (案卷)
}
# Share of a fonds' records per extra category (WS takes the rest).
CATEGORY_SHARE = {"KU": 0.08, "RS": 0.06, "ZP": 0.05, "KJ": 0.04}
MIN_CATEGORY_ROWS = 12  # smaller extra categories are folded into WS

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


def _topics(domain: str, year: int) -> list[str]:
    return list(_topics_cached(domain, year))


@functools.cache
def _topics_cached(domain: str, year: int) -> tuple[str, ...]:
    topics = words()["topics"]
    return tuple(_in_year([*topics.get(domain, ()), *topics["generic"]], year))


def _in_year(entries: Iterable[Any], year: int) -> list[str]:
    """The entries (text, or {t, from, to}) that fit ``year``."""
    out = []
    for e in entries:
        if isinstance(e, str):
            out.append(e)
        elif e.get("from", 0) <= year <= e.get("to", 9999):
            out.append(str(e["t"]))
    return out


def _government(place: str, year: int) -> str:
    for era in words()["governments"]:
        if year <= era["to"]:
            return str(era["name"]).format(p=place)
    raise ValueError(year)


def _plan(year: int) -> str:
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
def _bodies_in(place: str, city: bool, year: int) -> tuple[str, ...]:
    """Full names of the bodies of a province or city that existed in ``year`` (co-issuers)."""
    return tuple(
        f"{place}{b.get('city_name', b['name']) if city else b['name']}"
        for b in words()["bodies"]
        if b.get("from", FIRST_YEAR) <= year <= b.get("to", LAST_YEAR)
    )


@functools.cache
def _dates(year: int) -> tuple[str, ...]:
    """ISO dates of every day of ``year``."""
    first = date(year, 1, 1)
    days = (date(year + 1, 1, 1) - first).days
    return tuple((first + timedelta(d)).isoformat() for d in range(days))


def _table(pairs: Iterable[tuple[Any, float]]) -> list[Any]:
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


def _person(rng: random.Random) -> str:
    w = words()
    s, g = w["surnames"], w["given_chars"]
    name = str(s[int(rng.random() * len(s))]) + str(g[int(rng.random() * len(g))])
    if rng.random() < 0.7:
        name += g[int(rng.random() * len(g))]
    return name


def _open_status(rng: random.Random, year: int, classified: bool, as_of: date = AS_OF) -> str:
    """开放 for old unclassified records (formed more than 25 years ago), else 未开放; a few 控制使用."""
    r = rng.random()
    if not classified and year + OPEN_AFTER_YEARS < as_of.year:
        return OPEN if r < 0.80 else RESTRICTED_USE if r < 0.92 else CLOSED
    return RESTRICTED_USE if not classified and r < 0.03 else CLOSED


# --- the plan ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class RepositorySpec:
    code: str  # 档案馆代码
    name: str
    level: str  # provincial | city
    region: str  # 行政区划
    place: str  # 岭南省 / 南州市, used in titles
    abbr: str  # 岭 / 南, used in 文号


@dataclass(frozen=True)
class FondsSpec:
    repository: RepositorySpec
    code: str  # 全宗号
    name: str  # 全宗名称
    creator: str  # 立档单位
    description: str
    start: int
    end: int
    abbr: str  # 文号 prefix, e.g. 岭教
    domain: str
    orgs: tuple[tuple[str, str], ...]  # 机构（问题）code, name
    red: bool = False  # early records include red-archives items
    revolutionary: bool = False  # the 革命历史档案 fonds: all of it is red
    body: str = ""  # the entry of words.yaml `bodies` it was made from


@dataclass(frozen=True)
class CategorySpec:
    fonds: FondsSpec
    code: str  # 门类代码
    arrangement: str
    code_rule: str
    count: int  # rows it yields
    seed: int
    red_quota: int = 0  # red-themed rows among them (WS of the `red` bodies)

    @property
    def key(self) -> str:
        return f"{self.fonds.repository.code}-{self.fonds.code}-{self.code}"

    def rows(self) -> Iterator[dict[str, Any]]:
        """The category's catalogue rows in 档号 order (deterministic)."""
        rng = random.Random(f"lantai-demo:{self.seed}:{self.key}")
        if self.fonds.revolutionary:
            return _revolutionary_rows(self, rng)
        return _GENERATORS[self.code](self, rng)


@dataclass
class DemoArchive:
    seed: int
    records: int
    repositories: list[RepositorySpec] = field(default_factory=list)
    fonds: list[FondsSpec] = field(default_factory=list)
    categories: list[CategorySpec] = field(default_factory=list)

    def rows(self) -> Iterator[dict[str, Any]]:
        """Every row of every category (the categories one after another)."""
        for c in self.categories:
            yield from c.rows()

    @property
    def collection(self) -> dict[str, str]:
        return {
            "code": "HSDA",
            "name": "红色档案专题数据库",
            "description": "汇集岭南革命历史档案，以及新中国成立初期革命烈士褒扬、抗美援朝、土地改革、"
            "革命老区建设和红军长征纪念设施等方面的档案。",
        }


def repositories() -> list[RepositorySpec]:
    """The provincial archives first, then the city archives of the region."""
    region = words()["region"]
    province = region["province"]
    repos = [
        RepositorySpec(
            region["archives"]["code"],
            region["archives"]["name"],
            "provincial",
            province,
            province,
            region["abbr"],
        )
    ]
    for city in region["cities"]:
        repos.append(
            RepositorySpec(
                city["archives_code"],
                f"{city['name']}档案馆",
                "city",
                f"{province}{city['name']}",
                city["name"],
                city["abbr"],
            )
        )
    return repos


def build_archive(records: int = 20000, seed: int = 2024) -> DemoArchive:
    """Plan a regional archives holding exactly ``records`` catalogue rows."""
    if records < 100:
        raise ValueError("records must be at least 100")
    w = words()
    rng = random.Random(f"lantai-demo-plan:{seed}")
    repos = repositories()
    archive = DemoArchive(seed, records, repos)

    # Which fonds: about sqrt(records)/4 of them, 40 % in the provincial archives; the first four
    # bodies of the list (the government office, education, finance, civil affairs) always.
    bodies = w["bodies"]
    n_fonds = max(8, min(len(bodies) * len(repos), round(math.sqrt(records) / 4)))
    n_prov = min(len(bodies), max(5, round(n_fonds * 0.4)))
    per_city = allocate(n_fonds - n_prov, [1.0] * (len(repos) - 1))
    core = [b for b in bodies if b["name"] in ("人民政府办公厅", "教育厅", "财政厅", "民政厅")]
    rest = [b for b in bodies if b not in core]

    def pick(n: int) -> list[dict[str, Any]]:
        chosen = core[:n] + rng.sample(rest, max(0, min(len(rest), n - len(core))))
        return sorted(chosen, key=lambda b: (b.get("from", FIRST_YEAR), bodies.index(b)))

    weights: list[float] = []
    for repo, n in zip(repos, [n_prov, *per_city], strict=True):
        number = rng.randint(1, 12)
        prefix = "Z" if repo.level == "provincial" else "J"
        for body in pick(min(n, len(bodies))):
            fonds = _fonds(repo, body, f"{prefix}{number:03d}")
            number += rng.randint(1, 7)
            archive.fonds.append(fonds)
            span = (fonds.end - fonds.start + 1) / (LAST_YEAR - FIRST_YEAR + 1)
            weights.append(
                rng.uniform(0.6, 1.6) * (0.3 + span) * (1.3 if repo.level == "provincial" else 1)
            )

    red_total = max(10, min(400, records // 50))
    red_fonds = _revolutionary_fonds(repos[0])
    red_fonds_rows = max(4, round(red_total * 0.4))
    red_bodies = [i for i, f in enumerate(archive.fonds) if f.red and f.start <= 1979]
    red_quotas = allocate(red_total - red_fonds_rows, [weights[i] for i in red_bodies])

    for i, (fonds, count) in enumerate(
        zip(archive.fonds, allocate(records - red_fonds_rows, weights), strict=True)
    ):
        body = _bodies_by_name()[fonds.body]
        extras = [c for c in body.get("categories", ()) if c in CATEGORY_SHARE]
        sizes = {c: round(count * CATEGORY_SHARE[c] * rng.uniform(0.7, 1.3)) for c in extras}
        sizes = {c: n for c, n in sizes.items() if n >= MIN_CATEGORY_ROWS}
        ws = count - sum(sizes.values())
        quota = red_quotas[red_bodies.index(i)] if i in red_bodies else 0
        for code, n in [("WS", ws), *sorted(sizes.items())]:
            arrangement, rule = CATEGORY_RULES[code]
            q = quota if code == "WS" else 0
            archive.categories.append(CategorySpec(fonds, code, arrangement, rule, n, seed, q))
    archive.fonds.insert(0, red_fonds)
    archive.categories.insert(
        0, CategorySpec(red_fonds, "WS", "item", "dat22", red_fonds_rows, seed)
    )
    assert sum(c.count for c in archive.categories) == records
    return archive


@functools.cache
def _bodies_by_name() -> dict[str, dict[str, Any]]:
    return {b["name"]: b for b in words()["bodies"]}


def _fonds(repo: RepositorySpec, body: dict[str, Any], code: str) -> FondsSpec:
    city = repo.level == "city"
    name = body.get("city_name", body["name"]) if city else body["name"]
    creator = f"{repo.place}{name}"
    start = max(FIRST_YEAR, int(body.get("from", FIRST_YEAR)))
    end = min(LAST_YEAR, int(body.get("to", LAST_YEAR)))
    orgs = [tuple(o) for o in words()["common_orgs"]] + [tuple(o) for o in body.get("orgs", ())]
    if city:  # 处 → 科
        orgs = [
            (c[:-1] + "K", n[:-1] + "科") if c.endswith("C") and n.endswith("处") else (c, n)
            for c, n in orgs
        ]
    seen: dict[str, tuple[str, str]] = {}
    for c, n in orgs:
        seen.setdefault(c, (c, n))
    desc = f"{creator}（{start}—{'' if end == LAST_YEAR else end}）形成的文书、会计等档案。"
    return FondsSpec(
        repo,
        code,
        creator,
        creator,
        desc,
        start,
        end,
        f"{repo.abbr}{body['abbr']}",
        body["domain"],
        tuple(seen.values()),
        bool(body.get("red")),
        False,
        body["name"],
    )


def _revolutionary_fonds(repo: RepositorySpec) -> FondsSpec:
    spec = words()["red"]["fonds"]
    return FondsSpec(
        repo,
        spec["code"],
        spec["name"],
        spec["creator"],
        spec["description"],
        spec["from"],
        spec["to"],
        "",
        "revolutionary",
        tuple(tuple(o) for o in spec["orgs"]),
        True,
        True,
    )


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
    return _table(zip(CLASS_LABELS, shares, strict=True))


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
    cell_table = _table(
        [
            ((ret, org), rw * ow)
            for ret, rw in zip(RETENTIONS, (0.3, 0.4, 0.3), strict=True)
            for (org, _), ow in zip(fonds.orgs, org_weights, strict=True)
        ]
    )
    types = _doc_types()
    type_table = _table(((i, t[3]) for i, t in enumerate(types)))
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
        dates = _dates(year)
        ndays = len(dates)
        topics = _topics(fonds.domain, year)
        ntop = len(topics)
        gov = _government(repo.place, year)
        ctx = {
            "p": repo.place,
            "body": creator,
            "gov": gov,
            "year": year,
            "next": year + 1,
            "plan": _plan(year),
            "topic": "",
            "place": "",
            "n": 1,
            "person": "",
            "scope": "省" if repo.level == "provincial" else "市",
        }
        others = [b for b in _bodies_in(repo.place, repo.level == "city", year) if b != creator]
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
                    ctx["person"] = _person(rng)
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
    title = rng.choice(templates).format(place=rng.choice(places), person=_person(rng), n=n)
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


def _revolutionary_rows(spec: CategorySpec, rng: random.Random) -> Iterator[dict[str, Any]]:
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
        dates = _dates(year)
        authors = _in_year(red["authors"], year)
        titles = _in_year(red["titles"], year)
        per_org = Counter(rng.choice(fonds.orgs)[0] for _ in range(n))
        for org, _ in fonds.orgs:
            k = per_org.get(org, 0)
            for i, day in enumerate(sorted(rng.randrange(len(dates)) for _ in range(k))):
                author = rng.choice(authors)
                title = rng.choice(titles).format(
                    author=author, place=rng.choice(places), person=_person(rng), year=year
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
        dates = _dates(year)
        for g, m in zip(groups, allocate(n, [0.5, 0.2, 0.1, 0.2]), strict=True):
            days = sorted(rng.randrange(len(dates)) for _ in range(m))
            for volume, day in enumerate(days, start=1):
                d = dates[day]
                title = rng.choice(g["titles"]).format(year=year, month=int(d[5:7]), n=volume)
                cls = "限制" if rng.random() < 0.1 else "公开"
                status = _open_status(rng, year, cls != "公开")
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
        dates = _dates(year)
        for g, m in zip(groups, allocate(n, [0.5, 0.35, 0.15]), strict=True):
            days = sorted(rng.randrange(len(dates)) for _ in range(m))
            for volume, day in enumerate(days, start=1):
                title = rng.choice(g["titles"]).format(
                    year=year, person=_person(rng), n=rng.randint(2, 9)
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
        dates = _dates(year)
        topics = _topics(fonds.domain, year)
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
                status = _open_status(rng, year, False)
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
        dates = _dates(year)
        base = rng.choice(titles).format(
            place=rng.choice(places),
            topic=rng.choice(_topics(fonds.domain, year)),
            body=fonds.creator,
        )
        ret = "Y" if rng.random() < 0.6 else "D30"
        status = _open_status(rng, year, False)
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


_GENERATORS: dict[str, Callable[[CategorySpec, random.Random], Iterator[dict[str, Any]]]] = {
    "WS": _ws_rows,
    "KU": _ku_rows,
    "RS": _rs_rows,
    "ZP": _zp_rows,
    "KJ": _kj_rows,
}


def category_rows(
    count: int,
    seed: int = 2024,
    *,
    fonds_code: str = "Z109",
    category: str = "WS",
    body: str = "教育厅",
) -> Iterator[dict[str, Any]]:
    """``count`` rows of one category of one provincial fonds (1950–2024), e.g. for an import
    benchmark: ``write_csv(path, category_rows(1_000_000))`` then import into fonds Z109, WS."""
    if category not in _GENERATORS:
        raise ValueError(f"category must be one of {', '.join(_GENERATORS)}")
    fonds = _fonds(repositories()[0], _bodies_by_name()[body], fonds_code)
    arrangement, rule = CATEGORY_RULES[category]
    return CategorySpec(fonds, category, arrangement, rule, count, seed).rows()


# --- files ------------------------------------------------------------------------------------
def export_columns() -> list[tuple[str, str]]:
    """(Chinese header, field) of the 归档文件目录, in the export order of catalogue_columns.yaml."""
    from lantai.catalog.columns import export_columns as columns

    return columns()


def write_csv(path: Path | str, rows: Iterable[dict[str, Any]], encoding: str = "utf-8") -> int:
    """Write a 归档文件目录 CSV (Chinese headers, 序号 numbered from 1); returns the row count."""
    cols = export_columns()
    fields = [f for _, f in cols if f != "sequence"]
    get = itemgetter(*fields)
    n = 0
    with Path(path).open("w", encoding=encoding, newline="") as f:
        writer = csv.writer(f)
        writer.writerow([h for h, _ in cols])
        write = writer.writerow
        if cols[0][1] == "sequence":
            for n, row in enumerate(rows, start=1):  # noqa: B007
                write((n, *get(row)))
        else:
            for n, row in enumerate(rows, start=1):  # noqa: B007
                write(get(row))
    return n


def write_xlsx(path: Path | str, rows: Iterable[dict[str, Any]]) -> int:
    """Write a 归档文件目录 .xlsx (small files: tests, samples); returns the row count."""
    import openpyxl

    cols = export_columns()
    wb = openpyxl.Workbook(write_only=True)
    ws = wb.create_sheet("归档文件目录")
    ws.append([h for h, _ in cols])
    n = 0
    for n, row in enumerate(rows, start=1):  # noqa: B007
        ws.append([n if f == "sequence" else row.get(f, "") for _, f in cols])
    wb.save(str(path))
    return n
