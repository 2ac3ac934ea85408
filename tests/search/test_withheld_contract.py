"""Every backend leaves a scope's withheld records out (`Scope.withheld`: records whose visibility
the catalogue narrowed before the index caught up): out of totals, facet counts, hits and
suggestions, on the bitmap path of the PostgreSQL backend as on the others (issue 12, point 2)."""

from __future__ import annotations

import dataclasses
from collections import Counter
from typing import Any

from lantai.search.backend import SearchBackend
from lantai.search.query import Query

from .conftest import ADMIN, PUBLIC, expected


def test_withheld_records_are_left_out_of_everything(
    backend: SearchBackend, corpus: list[dict[str, Any]]
) -> None:
    for scope in (PUBLIC, ADMIN):
        for text in ("婚", "婚姻", "档案数字化"):
            query = Query(text=text, facets=("fonds", "year"), limit=1000)
            matching = expected(corpus, query, scope)
            held = frozenset(d["id"] for d in matching[::3])
            assert held
            want = [d for d in matching if d["id"] not in held]
            got = backend.search(query, dataclasses.replace(scope, withheld=held))
            assert got.total == len(want), (scope.public, text)
            assert {h.id for h in got.hits} == {d["id"] for d in want}
            counts = {k: v for k, v in got.facets["fonds"].items() if v}
            assert counts == dict(Counter(str(d["fonds"]) for d in want))


def test_withheld_titles_are_not_suggested(
    backend: SearchBackend, corpus: list[dict[str, Any]]
) -> None:
    public = [d for d in corpus if d["open_status"] == "open" and d["classification_level"] == 0]
    title = public[0]["title"]
    assert title in backend.suggest(title, PUBLIC, 10)
    held = frozenset(d["id"] for d in public if d["title"] == title)
    assert title not in backend.suggest(title, dataclasses.replace(PUBLIC, withheld=held), 10)
