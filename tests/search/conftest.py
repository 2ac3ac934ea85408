"""Fixtures of the search contract suite: every backend behind `lantai.search.backends.open_backend`,
a generated corpus of realistic Chinese catalogue records, and a brute-force oracle.

`backend` is one backend (per parameter) holding the whole corpus, shared by the read-only tests;
`fresh_backend` is an empty one per test, for tests that write. The PostgreSQL backend uses its own
tables (a unique prefix per fixture, dropped afterwards) in the database at TEST_DSN, created here
when missing (UTF-8, template0, C.UTF-8: pg_trgm and unigram parsing drop CJK under the C locale).
"""

from __future__ import annotations

import contextlib
import random
import uuid
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from lantai.search.backend import SearchBackend
from lantai.search.backends import open_backend
from lantai.search.folding import fold
from lantai.search.query import PUBLIC_FIELDS, Query, Scope, TextCondition

TEST_DSN = "postgresql://postgres@127.0.0.1:5432/lantai_search_test"
# "postgresql-bitmaps": the PostgreSQL backend filled by `rebuild` with a bitmap for every term of
# one to three characters (pg_bitmaps), so that single-term searches take the bitmap path; plain
# "postgresql" is filled by `index` and has no bitmaps (every search takes the one-pass path).
BACKEND_NAMES = ["tantivy", "postgresql", "postgresql-bitmaps"]
CORPUS_SIZE = 3000

# Who asks, for the oracle and the tests.
ADMIN = Scope(public=False, all_fonds=True, max_classification=9)
PUBLIC = Scope.public_scope()

# 全宗: (code, id, repository code, repository id)
FONDS = [
    ("Z109", 1, "R01", 1),
    ("Z110", 2, "R01", 1),
    ("J001", 3, "R02", 2),
    ("J002", 4, "R02", 2),
    ("X015", 5, "R03", 3),
]
CATEGORIES = [("WS", 1), ("KJ", 2), ("ZP", 3)]
RETENTIONS = ["Y", "D30", "D10"]
DEPTS = ["BGS", "RSK", "CWK", "MZK"]
CLASSIFICATIONS = [("FM", 0), ("MM", 1), ("JM", 2)]  # 非密 / 秘密 / 机密
ORGS = [
    ("省民政厅", "民"),
    ("市民政局", "民"),
    ("县档案馆", "档"),
    ("市人民政府办公室", "府办"),
    ("省教育厅", "教"),
    ("市公安局", "公"),
    ("县自然资源局", "自然资"),
    ("市卫生健康委员会", "卫"),
]
MATTERS = [
    "婚姻登记工作",
    "农村土地承包经营权确权",
    "档案数字化",
    "城乡居民最低生活保障",
    "防汛抗旱",
    "义务教育均衡发展",
    "户籍管理",
    "第七次人口普查",
    "国有企业改革",
    "文物保护",
    "档案馆建设",
    "收养登记",
]
DOCTYPES = ["通知", "报告", "请示", "批复", "决定", "意见", "会议纪要", "函"]
SENTENCES = [
    "根据有关规定，现将有关事项通知如下。",
    "各单位要高度重视，认真组织实施。",
    "请结合实际认真贯彻执行。",
    "婚姻家庭关系和谐稳定，离婚登记数量有所下降。",
    "全年共办理结婚登记一千二百余对。",
    "档案管理工作取得新进展，馆藏档案数字化率达到百分之九十。",
    "特此报告。",
    "经研究，同意你单位的请示。",
    "进一步规范档案的收集、整理和移交。",
    "各县区民政部门要做好统计上报工作，编号ABC-2020。",
    "会议听取了各部门工作汇报，研究部署下一阶段工作。",
    "确保资金专款专用，不得挤占挪用。",
    "加强基础设施建设，改善办学条件。",
    "本年度共接收进馆档案三万余卷。",
]
HTML_TITLE = '<script>alert("档")</script> 婚姻 & <b>登记</b>'


def _reference_code(fonds: str, category: str, year: int | None, retention: str, seq: int) -> str:
    return f"{fonds}-{category}·{year or 0}-{retention}-{DEPTS[seq % len(DEPTS)]}-{seq:04d}"


def make_corpus(n: int = CORPUS_SIZE, seed: int = 20240501) -> list[dict[str, Any]]:
    """`n` catalogue records, deterministic. Planted terms: 甲骨文拓片 only in the full text of three
    open records; 涉密专项 only in records that are not open; 内控复核 only in remarks."""
    rnd = random.Random(seed)
    docs = []
    for i in range(1, n + 1):
        fonds, fonds_id, repo, repo_id = rnd.choice(FONDS)
        category, category_id = rnd.choice(CATEGORIES)
        org, abbr = rnd.choice(ORGS)
        matter = rnd.choice(MATTERS)
        doctype = rnd.choice(DOCTYPES)
        day: date | None = date(1950, 1, 1) + timedelta(days=rnd.randrange(74 * 365))
        year: int | None = day.year if day else None
        if rnd.random() < 0.05:
            day = None
            year = None if rnd.random() < 0.5 else rnd.randrange(1950, 2024)
        status = rnd.choices(["open", "closed", "restricted_use"], [6, 3, 1])[0]
        classification, level = (
            CLASSIFICATIONS[0] if status == "open" else rnd.choice(CLASSIFICATIONS)
        )
        if status == "open" and i % 50 == 0:  # inconsistent data: open yet still classified
            classification, level = CLASSIFICATIONS[-1]
        title = rnd.choice(
            [
                f"{org}关于{matter}的{doctype}",
                f"关于做好{matter}的{doctype}",
                f"{year or ''}年度{matter}情况统计表",
                f"{org}{matter}工作总结",
            ]
        )
        full_text = ""
        if rnd.random() < 0.5:
            full_text = "".join(rnd.choices(SENTENCES, k=rnd.randrange(3, 12)))
        remarks = rnd.choice(["", "", "原件破损，已修裱。", "复印件", "附件缺页"])
        if status != "open" and i % 7 == 0:
            title = f"关于涉密专项{matter}的{doctype}"
            full_text += "涉密专项经费使用情况。"
        if i % 97 == 0:
            remarks = "内控复核：待定"
        retention = rnd.choice(RETENTIONS)
        docs.append(
            {
                "id": i,
                "reference_code": _reference_code(fonds, category, year, retention, i),
                "title": title,
                "author": org,
                "document_number": f"{abbr}发〔{year}〕{rnd.randrange(1, 300)}号" if year else "",
                "remarks": remarks,
                "full_text": full_text,
                "date": day,
                "year": year,
                "repository": repo,
                "fonds": fonds,
                "category": category,
                "repository_id": repo_id,
                "fonds_id": fonds_id,
                "category_id": category_id,
                "retention": retention,
                "classification": classification,
                "classification_level": level,
                "open_status": status,
                "level": "item",
            }
        )
    # Three open records with a term found only in their full text.
    for doc in [d for d in docs if d["open_status"] == "open"][10:13]:
        doc["full_text"] += "馆藏甲骨文拓片的整理与研究。"
    # One open record whose title and full text hold HTML.
    for html_doc in [d for d in docs if d["open_status"] == "open" and d["id"] > 500][:1]:
        html_doc["title"] = HTML_TITLE
        html_doc["full_text"] = "正文<img src=x onerror=alert(1)>婚姻 & 家庭"
    return docs


# -- the oracle --------------------------------------------------------------------------------

STAFF_TEXT = ("title", "author", "document_number", "reference_code", "remarks", "full_text")
PUBLIC_TEXT = ("title", "author", "document_number", "reference_code", "full_text")


def in_scope(doc: dict[str, Any], scope: Scope) -> bool:
    if scope.public:  # open and unclassified: an open record still marked 密级 stays hidden
        return bool(doc["open_status"] == "open" and doc["classification_level"] == 0)
    if doc["classification_level"] > scope.max_classification:
        return False
    return (
        scope.all_fonds
        or doc["fonds_id"] in scope.fonds_ids
        or doc["repository_id"] in scope.repository_ids
    )


def _has(doc: dict[str, Any], cond: TextCondition, scope: Scope) -> bool:
    fields = (PUBLIC_TEXT if scope.public else STAFF_TEXT) if cond.field == "all" else (cond.field,)
    needle = fold(cond.text.strip())
    return any(needle in fold(doc[f] or "") for f in fields)


def matches(doc: dict[str, Any], query: Query, scope: Scope) -> bool:
    """Brute force: the record is in scope and satisfies every part of the query."""
    if not in_scope(doc, scope):
        return False
    conds = [TextCondition(t) for t in query.text.split()] + list(query.conditions)
    if any(_has(doc, c, scope) == c.exclude for c in conds):
        return False
    for name, values in query.filters.items():
        if str(doc[name]) not in values:
            return False
    if query.date_from or query.date_to:
        if doc["date"] is None:
            return False
        if query.date_from and doc["date"] < query.date_from:
            return False
        if query.date_to and doc["date"] > query.date_to:
            return False
    if query.year_from is not None or query.year_to is not None:
        if doc["year"] is None:
            return False
        if query.year_from is not None and doc["year"] < query.year_from:
            return False
        if query.year_to is not None and doc["year"] > query.year_to:
            return False
    return all(matches(doc, earlier, scope) for earlier in query.within)


def expected(corpus: list[dict[str, Any]], query: Query, scope: Scope) -> list[dict[str, Any]]:
    return [d for d in corpus if matches(d, query, scope)]


# -- backends ----------------------------------------------------------------------------------


def _ensure_database() -> None:
    import psycopg

    name = TEST_DSN.rsplit("/", 1)[1]
    admin = TEST_DSN.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            return
        # another pytest run (two at once: scripts/test.sh) may make it at the same moment
        with contextlib.suppress(psycopg.errors.DuplicateDatabase, psycopg.errors.UniqueViolation):
            conn.execute(
                f"CREATE DATABASE {name} ENCODING 'UTF8' TEMPLATE template0 "
                "LC_COLLATE 'C.UTF-8' LC_CTYPE 'C.UTF-8'"
            )


def _drop_tables(prefix: str) -> None:
    import psycopg
    from psycopg import sql

    with psycopg.connect(TEST_DSN, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() "
            "AND starts_with(tablename, %s)",
            [prefix],
        ).fetchall()
        for (table,) in rows:
            conn.execute(sql.SQL("DROP TABLE IF EXISTS {} CASCADE").format(sql.Identifier(table)))


def make_backend(name: str, tmp: Path) -> tuple[SearchBackend, str]:
    """A fresh empty backend; returns it and the table prefix (PostgreSQL) to drop afterwards."""
    if name == "tantivy":
        return open_backend("tantivy", path=tmp / "index"), ""
    prefix = f"t{uuid.uuid4().hex[:10]}_"
    _ensure_database()
    options: dict[str, Any] = {"bitmap_min_df": 0.0} if name == "postgresql-bitmaps" else {}
    return open_backend("postgresql", dsn=TEST_DSN, table_prefix=prefix, **options), prefix


@pytest.fixture(scope="session")
def corpus() -> list[dict[str, Any]]:
    return make_corpus()


@pytest.fixture(scope="session", params=BACKEND_NAMES)
def backend(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    corpus: list[dict[str, Any]],
) -> Iterator[SearchBackend]:
    """A backend holding the whole corpus (read-only tests)."""
    b, prefix = make_backend(request.param, tmp_path_factory.mktemp(request.param))
    load = b.rebuild if request.param == "postgresql-bitmaps" else b.index
    assert load(corpus) == len(corpus)
    yield b
    if prefix:
        _drop_tables(prefix)


@pytest.fixture(params=BACKEND_NAMES)
def fresh_backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SearchBackend]:
    """An empty backend of its own (tests that write)."""
    b, prefix = make_backend(request.param, tmp_path)
    yield b
    if prefix:
        _drop_tables(prefix)


__all__ = ["ADMIN", "PUBLIC", "PUBLIC_FIELDS", "expected", "make_corpus", "matches"]


@pytest.fixture()
def pg_bitmaps(tmp_path: Path) -> Iterator[SearchBackend]:
    """A PostgreSQL backend with bitmaps for every term (dropped afterwards)."""
    backend, prefix = make_backend("postgresql-bitmaps", tmp_path)
    yield backend
    backend.close()
    _drop_tables(prefix)
