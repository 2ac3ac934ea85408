"""The PostgreSQL backend's bitmap path (lantai.search.pg_bitmaps): single terms of one to three
characters are counted with bitmaps built at `rebuild`. Checked against the brute-force oracle and
against the one-pass path of the same backend, before and after incremental writes (rows that the
bitmaps no longer cover are counted one by one)."""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest

from lantai.search import pg_bitmaps
from lantai.search.query import Query, Scope
from tests.search.conftest import ADMIN, PUBLIC, expected, make_corpus

STAFF = Scope(public=False, fonds_ids=frozenset({1, 3}), repository_ids=frozenset({3}),
              max_classification=1)  # fmt: skip
TERMS = ("档", "市", "婚姻", "关于", "档案馆", "ABC", "abc", "-", "甲骨文", "内控复")
Corpus = list[dict[str, Any]]


def _queries(term: str) -> Iterator[tuple[Query, Scope]]:
    yield Query(text=term, facets=("fonds", "category", "year", "open_status")), PUBLIC
    yield Query(text=term, facets=("classification", "retention", "repository")), ADMIN
    yield Query(text=term, filters={"category": ("WS", "KJ")}, year_from=1960, year_to=1990,
                facets=("year",)), STAFF  # fmt: skip
    yield Query(text=term, sort="date", offset=3, limit=7), STAFF
    yield Query(text=term, sort="reference_code", limit=5), PUBLIC
    yield Query(text="", within=(Query(text=term, year_to=1980),), offset=11, limit=9), ADMIN


def _facets(docs: Corpus, name: str) -> dict[str, int]:
    return dict(Counter(str(d[name]) for d in docs if d[name] not in (None, "")))


def _check(backend: Any, corpus: Corpus, taken: list[str]) -> None:
    for term in TERMS:
        for query, scope in _queries(term):
            got = backend.search(query, scope)
            want = expected(corpus, query, scope)
            assert got.total == len(want), (term, query)
            for name in query.facets:
                if scope.public and name not in ("fonds", "category", "year", "open_status",
                                                 "repository", "retention"):  # fmt: skip
                    continue
                assert {k: v for k, v in got.facets[name].items() if v} == _facets(want, name)
            # the same page as the one-pass path: the term asked twice is not a bitmap query,
            # and doubles every score, which keeps the order
            twice = Query(**{**query.__dict__, "within": (*query.within, Query(text=term))})
            other = backend.search(twice, scope)
            assert other.total == got.total
            assert [h.id for h in got.hits] == [h.id for h in other.hits], (term, query)
            assert len(got.hits) == min(max(got.total - query.offset, 0), query.limit)
    assert taken, "no search took the bitmap path"


@pytest.fixture()
def spy(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Records each search that takes the bitmap path (the path itself runs unchanged)."""
    from lantai.search.postgres_backend import PostgresBackend

    taken: list[str] = []
    original = PostgresBackend._search_bitmaps

    def recording(self: Any, conn: Any, term: str, *args: Any) -> Any:
        taken.append(term)
        return original(self, conn, term, *args)

    monkeypatch.setattr(PostgresBackend, "_search_bitmaps", recording)
    return taken


def test_bitmap_counts_and_pages_equal_the_oracle_and_the_one_pass_path(
    pg_bitmaps: Any, spy: list[str]
) -> None:
    corpus = make_corpus(1200)
    pg_bitmaps.rebuild(corpus)
    _check(pg_bitmaps, corpus, spy)
    assert set(spy) >= {t.lower() for t in TERMS}  # every test term has bitmaps (min_df 0)


def test_writes_after_a_rebuild_stay_exact(pg_bitmaps: Any, spy: list[str]) -> None:
    corpus = make_corpus(1200)
    pg_bitmaps.rebuild(corpus)
    rnd = random.Random(7)
    changed = []
    for doc in rnd.sample(corpus, 150):  # retitle, reopen, close, re-date
        doc["title"] = rnd.choice(["市档案馆关于婚姻登记的通知", "新题名", doc["title"] + "ABC"])
        doc["open_status"] = rnd.choice(["open", "closed"])
        doc["year"], doc["date"] = 1975, date(1975, 5, 5)
        changed.append(doc)
    new = [d | {"id": 100_000 + i, "title": f"新增档案{i}号"} for i, d in enumerate(corpus[:40])]
    pg_bitmaps.index(changed + new)
    gone = {d["id"] for d in rnd.sample(corpus, 60)}
    pg_bitmaps.delete(sorted(gone))
    corpus = [d for d in corpus + new if d["id"] not in gone]
    _check(pg_bitmaps, corpus, spy)
    # a rebuild maps every row again
    pg_bitmaps.rebuild(corpus)
    assert not pg_bitmaps._has_unmapped(pg_bitmaps._conn())
    _check(pg_bitmaps, corpus, spy)


def test_only_frequent_terms_of_the_sample_get_bitmaps() -> None:
    titles = ["档案" if i % 10 == 0 else "市" for i in range(100)]
    collector = pg_bitmaps.Collector(len(titles), min_df=0.5)
    collector.choose({"title": t} for t in titles[::2])
    for rank, title in enumerate(titles):
        collector.add(rank, {"title": title}, {})
    tracked = {v for k, v, _ in collector.bitmaps() if k == "tracked"}
    assert tracked == {"市"}  # 档, 案 and 档案 are in 10% of the documents


def test_bitmap_literals_hold_the_documents_bits() -> None:
    titles = ["甲乙", "乙丙丁", "", "甲", "丁甲乙"]
    collector = pg_bitmaps.Collector(len(titles), min_df=0.0)
    collector.choose({"title": t} for t in titles[:4])  # 丁甲 is not in the sample
    for rank in (4, 2, 0, 3, 1):  # any order: the rank is the bit
        collector.add(rank, {"title": titles[rank]}, {"year": 1990 + rank % 2})
    rows = {(k, v): lit for k, v, lit in collector.bitmaps()}

    def members(literal: str) -> list[int]:
        width = 4 * (len(literal) - 1)
        bits = int(literal[1:], 16)
        return [i for i in range(len(titles)) if bits >> (width - 1 - i) & 1]

    for term in ("甲", "乙", "甲乙", "乙丙丁"):
        assert members(rows[("t:title", term)]) == [i for i, t in enumerate(titles) if term in t]
    assert ("tracked", "丁甲") not in rows and ("tracked", "丁甲乙") not in rows
    assert members(rows[("year", "1991")]) == [1, 3]
    assert rows[("live", "")] == "Xf8"  # five documents: 11111000 (whole hex digits)
    assert pg_bitmaps.clear(bytes([0xF8]), 8, [1, 3]) == "Xa8"
