"""Snippets: one module (`lantai.search.snippets`) for every backend, its window's edges pinned.

The window cases are asked of each backend (tantivy, PostgreSQL, PostgreSQL with bitmaps) through
a real search of indexed documents, and must give these exact strings."""

from __future__ import annotations

from typing import Any

import pytest

from lantai.search.backend import SearchBackend
from lantai.search.folding import fold
from lantai.search.query import Query
from lantai.search.snippets import LEAD, SNIPPET_CHARS, highlight

from .conftest import ADMIN, make_corpus

FILL = "档案工作"  # filler: 4 distinct characters, none of the phrases below
N = SNIPPET_CHARS


def _fill(n: int) -> str:
    return (FILL * (n // len(FILL) + 1))[:n]


# (query, full text, expected snippet of the full text)
CASES = {
    # a match at the very start: the window starts there, the rest is cut
    "start": ("婚姻登记", "婚姻登记" + _fill(300), "<mark>婚姻登记</mark>" + _fill(N - 4) + "…"),
    # a match at the very end: the window moves back to hold SNIPPET_CHARS characters
    "end": (
        "婚姻登记",
        _fill(300) + "婚姻登记",
        "…" + _fill(300)[-(N - 4) :] + "<mark>婚姻登记</mark>",
    ),
    # a match longer than the window: shown whole, the window grows to its end
    "long": (
        "婚姻" + _fill(200) + "登记",
        "前言" * 30 + "婚姻" + _fill(200) + "登记" + "结语" * 30,
        "…" + "前言" * 20 + "<mark>婚姻" + _fill(200) + "登记</mark>…",
    ),
    # folded characters (full-width Latin, Greek capitals and final sigma): marked as written
    "folded": ("abcοδοσ", "前ＡＢＣΟΔΟΣ后", "前<mark>ＡＢＣΟΔΟΣ</mark>后"),
}


def _crossing() -> tuple[str, str]:
    """A later match crossing the window's end: the window ends before it, never cuts a mark.
    The first match is at 50, the window [10, 170); the second match is at [169, 171)."""
    text = _fill(50) + "婚姻" + _fill(169 - 52) + "婚姻" + _fill(200)
    lo = 50 - LEAD
    return text, "…" + text[lo:50] + "<mark>婚姻</mark>" + text[52:169] + "…"


CASES["crossing"] = ("婚姻", *_crossing())


@pytest.mark.parametrize("case", sorted(CASES))
def test_window_edges(case: str) -> None:
    query, text, want = CASES[case]
    assert highlight(text, [fold(query)]) == want


def test_no_match_and_short_texts() -> None:
    assert highlight("档案", ["婚姻"]) is None
    assert highlight("", ["婚姻"]) is None
    short = _fill(N - 2) + "婚姻"
    assert highlight(short, ["婚姻"]) == _fill(N - 2) + "<mark>婚姻</mark>"
    # overlapping and touching occurrences are one mark; the rest is escaped
    assert highlight("<b>啊啊啊</b>", ["啊啊"]) == "&lt;b&gt;<mark>啊啊啊</mark>&lt;/b&gt;"


def test_every_backend_gives_the_same_window(fresh_backend: SearchBackend) -> None:
    base = make_corpus(1)[0] | {"open_status": "open", "classification_level": 0}
    docs: list[dict[str, Any]] = []
    for i, case in enumerate(sorted(CASES), start=1):
        docs.append(base | {"id": i, "title": f"题{i}", "full_text": CASES[case][1]})
    assert fresh_backend.rebuild(docs) == len(docs)
    for i, case in enumerate(sorted(CASES), start=1):
        query, _, want = CASES[case]
        results = fresh_backend.search(Query(text=query, limit=10), ADMIN)
        (hit,) = [h for h in results.hits if h.id == i]
        assert hit.snippets["full_text"] == want, case
