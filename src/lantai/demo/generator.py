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

Layout: this module is the plan (repositories, fonds and categories, ``build_archive``,
``category_rows``) and the public entry point; the rows come from ``lantai.demo.rows``, the word
lists and draws from ``lantai.demo.words``, the CSV/XLSX writers from ``lantai.demo.writers``.
"""

from __future__ import annotations

import functools
import math
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from lantai.demo.rows import GENERATORS, RED, ROW_FIELDS, revolutionary_rows
from lantai.demo.words import AS_OF, FIRST_YEAR, LAST_YEAR, allocate, words
from lantai.demo.writers import export_columns, write_csv, write_xlsx

__all__ = [
    "AS_OF",
    "CATEGORY_RULES",
    "FIRST_YEAR",
    "LAST_YEAR",
    "RED",
    "ROW_FIELDS",
    "CategorySpec",
    "DemoArchive",
    "FondsSpec",
    "RepositorySpec",
    "allocate",
    "build_archive",
    "category_rows",
    "export_columns",
    "repositories",
    "write_csv",
    "write_xlsx",
]

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
            return revolutionary_rows(self, rng)
        return GENERATORS[self.code](self, rng)


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
    if category not in GENERATORS:
        raise ValueError(f"category must be one of {', '.join(GENERATORS)}")
    fonds = _fonds(repositories()[0], _bodies_by_name()[body], fonds_code)
    arrangement, rule = CATEGORY_RULES[category]
    return CategorySpec(fonds, category, arrangement, rule, count, seed).rows()
