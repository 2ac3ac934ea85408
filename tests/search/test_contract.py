"""The search contract: every backend (tantivy, PostgreSQL) must pass these same tests.

Semantics checked against a brute-force oracle (tests/search/conftest.py) over a generated corpus:
- a text condition matches when the field contains the text as a substring, Latin letters
  case-insensitive; the simple box splits on whitespace and every term must match; field "all"
  means title, author, document number, reference code, full text and (staff only) remarks;
- `total` is exact; facets count the matching records in scope exactly;
- scope is part of the search: the public sees records with open_status "open" only, and only
  PUBLIC_FIELDS; staff see records whose classification_level <= max_classification and whose
  fonds is in fonds_ids or repository in repository_ids (unless all_fonds);
- sort "date": ascending, undated last; "reference_code": ascending by code point;
  "relevance": descending score.
"""

from __future__ import annotations

import re
import threading
from collections import Counter
from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest

from lantai.search.backend import SearchBackend
from lantai.search.query import FACETS, PUBLIC_FIELDS, Query, Scope, TextCondition
from tests.search.conftest import ADMIN, HTML_TITLE, PUBLIC, expected, in_scope, make_corpus

ALL = 100_000  # a limit above the corpus size
SCOPES = {"admin": ADMIN, "public": PUBLIC}
Corpus = list[dict[str, Any]]


def ids(backend: SearchBackend, query: Query, scope: Scope) -> set[int]:
    results = backend.search(Query(**{**query.__dict__, "limit": ALL}), scope)
    assert results.total == len(results.hits)
    return {h.id for h in results.hits}


def check(backend: SearchBackend, corpus: Corpus, query: Query, scope: Scope) -> int:
    """The backend's total and hit set equal the oracle's; returns the count."""
    want = {d["id"] for d in expected(corpus, query, scope)}
    assert backend.search(query, scope).total == len(want)
    assert ids(backend, query, scope) == want
    return len(want)


def facet_counts(docs: Corpus, name: str) -> dict[str, int]:
    return dict(Counter(str(d[name]) for d in docs if d[name] not in (None, "")))


def nonzero(counts: dict[str, int]) -> dict[str, int]:
    return {k: v for k, v in counts.items() if v}


# -- exactness ---------------------------------------------------------------------------------


def test_corpus_is_indexed(backend: SearchBackend, corpus: Corpus) -> None:
    assert backend.count() == len(corpus)


@pytest.mark.parametrize("scope", SCOPES.values(), ids=SCOPES.keys())
@pytest.mark.parametrize("text", ["档", "婚姻"])
def test_one_and_two_characters_are_exact(
    backend: SearchBackend, corpus: Corpus, text: str, scope: Scope
) -> None:
    n = check(backend, corpus, Query(text=text), scope)
    assert 50 < n < len(corpus)  # a real test: many hits, not everything


@pytest.mark.parametrize("scope", SCOPES.values(), ids=SCOPES.keys())
@pytest.mark.parametrize(
    "text",
    [
        "档案馆",
        "婚姻登记工作的",
        "发〔2020〕",
        "z109-ws·2020",
        "abc-2020",
        "统计表 民政",
        "不存在的词",
    ],
)
def test_longer_queries_are_exact(
    backend: SearchBackend, corpus: Corpus, text: str, scope: Scope
) -> None:
    check(backend, corpus, Query(text=text), scope)


def test_characters_must_be_adjacent(backend: SearchBackend, corpus: Corpus) -> None:
    # 姻 and 记 occur together in many records ("婚姻登记"), but "姻记" is in none.
    assert expected(corpus, Query(text="姻 记"), ADMIN)
    assert not expected(corpus, Query(text="姻记"), ADMIN)
    assert backend.search(Query(text="姻记"), ADMIN).total == 0


def test_term_only_in_full_text(backend: SearchBackend, corpus: Corpus) -> None:
    results = backend.search(Query(text="甲骨文拓片"), PUBLIC)
    assert results.total == 3 == len(expected(corpus, Query(text="甲骨文拓片"), PUBLIC))
    for hit in results.hits:
        assert "<mark>甲骨文拓片</mark>" in hit.snippets["full_text"]


@pytest.mark.parametrize(
    "condition",
    [
        TextCondition("婚姻", field="title"),
        TextCondition("民政", field="author"),
        TextCondition("〔2020〕", field="document_number"),
        TextCondition("BGS-00", field="reference_code"),
        TextCondition("婚姻", field="full_text"),
    ],
    ids=lambda c: c.field,
)
def test_field_targeted_conditions(
    backend: SearchBackend, corpus: Corpus, condition: TextCondition
) -> None:
    n = check(backend, corpus, Query(conditions=(condition,)), ADMIN)
    assert n > 0
    if condition.field in ("title", "author", "full_text"):  # the text is in other fields too
        assert n < len(expected(corpus, Query(text=condition.text), ADMIN))


def test_exclude(backend: SearchBackend, corpus: Corpus) -> None:
    query = Query(text="档案", conditions=(TextCondition("通知", exclude=True),))
    n = check(backend, corpus, query, ADMIN)
    assert 0 < n < len(expected(corpus, Query(text="档案"), ADMIN))


def test_filters(backend: SearchBackend, corpus: Corpus) -> None:
    query = Query(text="档", filters={"fonds": ("Z109", "J001"), "retention": ("Y",)})
    assert check(backend, corpus, query, ADMIN) > 0
    check(backend, corpus, Query(filters={"category": ("KJ",)}), PUBLIC)


def test_date_and_year_ranges(backend: SearchBackend, corpus: Corpus) -> None:
    span = Query(text="婚姻", date_from=date(1980, 3, 15), date_to=date(1999, 12, 31))
    assert check(backend, corpus, span, ADMIN) > 0
    check(backend, corpus, Query(date_from=date(2020, 1, 1)), ADMIN)
    check(backend, corpus, Query(date_to=date(1960, 6, 30)), PUBLIC)
    assert check(backend, corpus, Query(year_from=1990, year_to=1995), ADMIN) > 0
    check(backend, corpus, Query(text="档", year_to=1970), PUBLIC)


@pytest.mark.parametrize("scope", SCOPES.values(), ids=SCOPES.keys())
def test_facets_are_exact(backend: SearchBackend, corpus: Corpus, scope: Scope) -> None:
    query = Query(text="档", facets=FACETS)
    results = backend.search(query, scope)
    matching = expected(corpus, query, scope)
    assert set(results.facets) == set(FACETS)
    for name in FACETS:
        if scope.public and name not in PUBLIC_FIELDS:  # no counts of what the public can't see
            assert not nonzero(results.facets[name]), name
        else:
            assert nonzero(results.facets[name]) == facet_counts(matching, name), name


def test_public_cannot_filter_on_hidden_fields(backend: SearchBackend, corpus: Corpus) -> None:
    # A filter on classification is ignored for the public (it would probe hidden values).
    hidden = backend.search(Query(text="档", filters={"classification": ("JM",)}), PUBLIC)
    assert hidden.total == backend.search(Query(text="档"), PUBLIC).total


def test_facets_with_filters(backend: SearchBackend, corpus: Corpus) -> None:
    query = Query(text="婚姻", filters={"repository": ("R01",)}, facets=("fonds", "year"))
    results = backend.search(query, ADMIN)
    matching = expected(corpus, query, ADMIN)
    assert nonzero(results.facets["fonds"]) == facet_counts(matching, "fonds")
    assert set(results.facets["fonds"]) <= {"Z109", "Z110"}
    assert nonzero(results.facets["year"]) == facet_counts(matching, "year")


# -- sorting, paging, search within results ---------------------------------------------------


def test_sort_by_date(backend: SearchBackend, corpus: Corpus) -> None:
    results = backend.search(Query(text="婚姻", sort="date", limit=ALL), ADMIN)
    dates = [h.fields["date"] for h in results.hits]
    dated = [d for d in dates if d is not None]
    assert dated == sorted(dated)  # type: ignore[type-var]
    assert dates[: len(dated)] == dated  # undated last
    assert len(dated) < len(dates)


def test_sort_by_reference_code(backend: SearchBackend, corpus: Corpus) -> None:
    results = backend.search(Query(text="档", sort="reference_code", limit=ALL), ADMIN)
    codes = [str(h.fields["reference_code"]) for h in results.hits]
    assert codes == sorted(codes)
    assert len(codes) == results.total


def test_sort_by_relevance(backend: SearchBackend) -> None:
    results = backend.search(Query(text="婚姻登记", limit=50), ADMIN)
    scores = [h.score for h in results.hits]
    assert scores == sorted(scores, reverse=True)
    assert "婚姻登记" in str(results.hits[0].fields["title"])


def test_paging(backend: SearchBackend) -> None:
    query = Query(text="档", sort="reference_code")
    everything = backend.search(Query(text="档", sort="reference_code", limit=ALL), ADMIN)
    pages, offset = [], 0
    while offset < everything.total:
        page = backend.search(Query(**{**query.__dict__, "offset": offset, "limit": 97}), ADMIN)
        assert page.total == everything.total
        assert len(page.hits) == min(97, everything.total - offset)
        pages += [h.id for h in page.hits]
        offset += 97
    assert pages == [h.id for h in everything.hits]
    beyond = backend.search(Query(text="档", offset=everything.total + 5), ADMIN)
    assert beyond.total == everything.total and beyond.hits == []
    counts_only = backend.search(Query(text="档", limit=0, facets=("fonds",)), ADMIN)
    assert counts_only.total == everything.total and counts_only.hits == []
    assert sum(counts_only.facets["fonds"].values()) == everything.total


def test_search_within_results(backend: SearchBackend, corpus: Corpus) -> None:
    first = Query(text="婚姻")
    second = Query(text="通知", within=(first,))
    third = Query(conditions=(TextCondition("市", field="author"),), within=(first, second))
    n1 = check(backend, corpus, first, ADMIN)
    n2 = check(backend, corpus, second, ADMIN)
    n3 = check(backend, corpus, third, ADMIN)
    assert n1 > n2 > n3 > 0


# -- snippets ----------------------------------------------------------------------------------


def test_highlight(backend: SearchBackend) -> None:
    results = backend.search(Query(text="婚姻", limit=50), ADMIN)
    assert results.hits
    for hit in results.hits:
        assert hit.snippets, hit.id
        for snippet in hit.snippets.values():
            marked = re.findall(r"<mark>(.*?)</mark>", snippet)
            assert marked and set(marked) == {"婚姻"}


def test_highlight_is_case_insensitive(backend: SearchBackend) -> None:
    hit = backend.search(Query(text="abc-2020"), ADMIN).hits[0]
    assert "<mark>ABC-2020</mark>" in hit.snippets["full_text"]


def test_html_in_documents_is_escaped(backend: SearchBackend) -> None:
    results = backend.search(Query(text="script"), PUBLIC)
    assert results.total == 1
    (hit,) = results.hits
    assert hit.fields["title"] == HTML_TITLE  # fields are data; the template escapes them
    title = hit.snippets["title"]
    assert "<script" not in title and "<b>" not in title
    assert "&lt;<mark>script</mark>&gt;" in title and "&amp;" in title
    body = backend.search(Query(text="婚姻 家庭", conditions=(TextCondition("正文"),)), PUBLIC)
    assert "&lt;img" in body.hits[0].snippets["full_text"]
    assert "<img" not in body.hits[0].snippets["full_text"]


# -- access control: nothing outside the scope leaks -------------------------------------------


def test_public_never_sees_closed_records(backend: SearchBackend, corpus: Corpus) -> None:
    closed = {d["id"] for d in corpus if not in_scope(d, PUBLIC)}
    assert any(d["open_status"] == "open" for d in corpus if d["id"] in closed)  # classified ones
    results = backend.search(Query(text="档", limit=ALL, facets=FACETS), PUBLIC)
    assert results.hits and not {h.id for h in results.hits} & closed
    assert nonzero(results.facets["open_status"]) == {"open": results.total}
    everything = backend.search(Query(limit=ALL), PUBLIC)
    assert everything.total == len(corpus) - len(closed)
    assert not {h.id for h in everything.hits} & closed


def test_query_matching_only_closed_records_reveals_nothing(
    backend: SearchBackend, corpus: Corpus
) -> None:
    assert len(expected(corpus, Query(text="涉密专项"), ADMIN)) > 20  # they exist …
    for query in [
        Query(text="涉密专项", facets=FACETS),
        Query(conditions=(TextCondition("涉密", field="title"),), facets=FACETS),
        Query(text="涉密专项", filters={"open_status": ("closed", "restricted_use")}),
        Query(filters={"open_status": ("closed",)}, facets=FACETS),
    ]:
        results = backend.search(query, PUBLIC)  # … but not for the public
        assert results.total == 0 and results.hits == []
        assert all(not nonzero(counts) for counts in results.facets.values())
    assert backend.suggest("涉密", PUBLIC) == []
    assert backend.suggest("涉密专项", ADMIN)


def test_public_hits_carry_only_public_fields(backend: SearchBackend) -> None:
    results = backend.search(Query(text="档", limit=200), PUBLIC)
    assert results.hits
    for hit in results.hits:
        assert set(hit.fields) <= set(PUBLIC_FIELDS)
        assert hit.fields["open_status"] == "open"
        assert "remarks" not in hit.fields and "remarks" not in hit.snippets
    staff = backend.search(Query(text="档", limit=200), ADMIN)
    assert any("remarks" in h.fields for h in staff.hits)


def test_remarks_are_staff_only(backend: SearchBackend, corpus: Corpus) -> None:
    staff = check(backend, corpus, Query(text="内控复核"), ADMIN)
    assert staff > 0
    assert backend.search(Query(text="内控复核", facets=FACETS), PUBLIC).total == 0
    hit = backend.search(Query(text="内控复核"), ADMIN).hits[0]
    assert "<mark>内控复核</mark>" in hit.snippets["remarks"]


STAFF_SCOPES = {
    "one-fonds-secret": Scope(public=False, fonds_ids=frozenset({1}), max_classification=1),
    "two-fonds-nonsecret": Scope(public=False, fonds_ids=frozenset({2, 5}), max_classification=0),
    "repository": Scope(public=False, repository_ids=frozenset({2}), max_classification=2),
    "all-fonds-secret": Scope(public=False, all_fonds=True, max_classification=1),
    "nothing": Scope(public=False, max_classification=2),
}


@pytest.mark.parametrize("scope", STAFF_SCOPES.values(), ids=STAFF_SCOPES.keys())
def test_staff_scope(backend: SearchBackend, corpus: Corpus, scope: Scope) -> None:
    for query in [Query(text="档"), Query(text="涉密专项"), Query()]:
        check(backend, corpus, query, scope)
    results = backend.search(Query(text="档", facets=FACETS, limit=ALL), scope)
    matching = expected(corpus, Query(text="档"), scope)
    for name in FACETS:
        assert nonzero(results.facets[name]) == facet_counts(matching, name), name
    for hit in results.hits:
        assert int(hit.fields["classification_level"]) <= scope.max_classification  # type: ignore[call-overload]
    visible = {d["title"] for d in expected(corpus, Query(), scope)}
    assert set(backend.suggest("涉密", scope, limit=50)) <= visible


def test_suggest(backend: SearchBackend, corpus: Corpus) -> None:
    suggestions = backend.suggest("婚姻", PUBLIC, limit=5)
    assert 0 < len(suggestions) <= 5 and len(set(suggestions)) == len(suggestions)
    open_titles = {d["title"] for d in corpus if d["open_status"] == "open"}
    for title in suggestions:
        assert "婚姻" in title and title in open_titles
    assert backend.suggest("", PUBLIC) == []


# -- writing: updates, deletes, rebuild --------------------------------------------------------


def test_update_replaces_and_delete_removes(fresh_backend: SearchBackend) -> None:
    doc = make_corpus(1)[0] | {"open_status": "open", "classification_level": 0}
    assert fresh_backend.index([doc | {"title": "旧题名甲乙"}]) == 1
    fresh_backend.index([doc | {"title": "新题名丙丁"}])
    assert fresh_backend.count() == 1
    assert fresh_backend.search(Query(text="甲乙"), ADMIN).total == 0
    assert [h.id for h in fresh_backend.search(Query(text="丙丁"), PUBLIC).hits] == [doc["id"]]
    # Closing a record takes it out of the public search at once.
    fresh_backend.index([doc | {"title": "新题名丙丁", "open_status": "closed"}])
    assert fresh_backend.search(Query(text="丙丁"), PUBLIC).total == 0
    assert fresh_backend.search(Query(text="丙丁"), ADMIN).total == 1
    fresh_backend.delete([doc["id"], 987654])
    assert fresh_backend.count() == 0
    assert fresh_backend.search(Query(text="丙丁"), ADMIN).total == 0


def test_rebuild_swaps_while_searching(fresh_backend: SearchBackend) -> None:
    old, new = make_corpus(600, seed=1), make_corpus(900, seed=2)
    fresh_backend.index(old)
    query = Query(text="档")
    totals = {len(expected(old, query, ADMIN)), len(expected(new, query, ADMIN))}
    seen: list[int] = []
    errors: list[BaseException] = []
    stop = threading.Event()

    def search_loop() -> None:
        while not stop.is_set():
            try:
                seen.append(fresh_backend.search(query, ADMIN).total)
            except BaseException as exc:  # noqa: BLE001 - reported below
                errors.append(exc)
                return

    reader = threading.Thread(target=search_loop)
    reader.start()
    try:
        assert fresh_backend.rebuild(new) == len(new)
    finally:
        stop.set()
        reader.join()
    assert not errors
    assert seen and set(seen) <= totals  # every search saw one whole index, old or new
    assert fresh_backend.count() == len(new)
    assert fresh_backend.search(query, ADMIN).total == len(expected(new, query, ADMIN))
    fresh_backend.index([new[0] | {"title": "重建后更新"}])  # incremental updates go to the new one
    assert fresh_backend.search(Query(text="重建后更新"), ADMIN).total == 1


def test_failed_rebuild_keeps_the_old_index(fresh_backend: SearchBackend) -> None:
    old = make_corpus(200, seed=3)
    fresh_backend.index(old)

    def broken() -> Iterator[dict[str, Any]]:
        yield from make_corpus(50, seed=4)
        raise RuntimeError("the catalogue went away")

    with pytest.raises(RuntimeError):
        fresh_backend.rebuild(broken())
    assert fresh_backend.count() == len(old)
    query = Query(text="婚姻")
    assert fresh_backend.search(query, ADMIN).total == len(expected(old, query, ADMIN))
