"""One case folding in both backends (issue 12, point 3): exact for every script.

`lantai.search.folding.fold` folds each character into one character; both backends fold texts
when they index them and queries when they search, and the brute-force oracle of the contract
suite (tests/search/conftest.py) folds with it too. Here the oracle is run on random strings of
Greek (final sigma), Cyrillic, Latin with ß/ẞ/İ/ı and ligatures, CJK (with a compatibility
ideograph), full-width and half-width forms and tsquery punctuation, against every backend."""

from __future__ import annotations

import random
import unicodedata
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from lantai.search.backend import SearchBackend
from lantai.search.folding import fold, fold_char
from lantai.search.query import Query, TextCondition
from tests.search.conftest import (
    ADMIN,
    BACKEND_NAMES,
    _drop_tables,
    expected,
    make_backend,
    make_corpus,
)

SCRIPTS = {
    "greek": "ΑαΒβΓγΔδΕεΟοΣσςΙιΐΆάΩωΫϋΌό",
    "cyrillic": "АаБбЁёЙйЯяЫыІіЇїЩщ",
    "latin": "aAbBsSßẞiIİıfFﬁéÉǰkK",
    "cjk": "档案婚姻登记馆市豈",  # 豈 U+F900: a compatibility ideograph (NFKC 豈 U+8C48)
    "fullwidth": "ＡａＢｂＳｓ０１２（）：，ｶﾞﾊﾟ",
    "marks": "'\\&|!:*-·〔〕",
}
ALPHABET = "".join(SCRIPTS.values())
# Planted: (text, queries that must find it)
PLANTED = [
    ("ΟΔΟΣ ΣΟΦΙΑΣ", ["οδος", "οδοσ", "ΟΔΟΣ", "ος σο", "σοφιας"]),
    ("ＡＢＣ２０２０号", ["abc2020", "ＡＢＣ", "c20"]),
    ("Straße STRAẞE", ["straße", "STRAßE", "aße s"]),
    ("ЁЛКА и ёлка", ["ёлка", "ЁЛКА", "лка"]),
    ("ﾊﾟﾝ 档案", ["ﾊﾟﾝ", "ハ", "ﾝ"]),  # half-width kana fold to kana (ﾟ to a combining mark)
]


def _fullwidth(text: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text)


def _swap_sigma(text: str) -> str:
    return text.translate(str.maketrans("σς", "ςσ"))


TRANSFORMS = [str.upper, str.lower, str.swapcase, _fullwidth, _swap_sigma, lambda t: t]


def random_text(rnd: random.Random, n: int) -> str:
    scripts = rnd.sample(list(SCRIPTS.values()), k=rnd.randint(1, 3))
    return "".join(rnd.choice(rnd.choice(scripts)) for _ in range(n))


# -- the folding itself ---------------------------------------------------------------------------


def test_one_character_folds_into_one_and_every_path_agrees() -> None:
    rnd = random.Random(7)
    for _ in range(3000):
        text = random_text(rnd, rnd.randint(1, 30))
        folded = fold(text)
        assert folded == "".join(map(fold_char, text)), text
        assert len(folded) == len(text)
        assert fold(folded) == folded
    for text in ("", "Z109-WS·2020", "市人民政府办公室关于婚姻登记工作的通知", "（修订）"):
        assert fold(text) == "".join(map(fold_char, text))


def test_every_character_has_a_stable_fold() -> None:
    for code in range(0x110000):
        if 0xD800 <= code <= 0xDFFF:
            continue
        char = chr(code)
        folded = fold_char(char)
        assert len(folded) == 1 and fold_char(folded) == folded, hex(code)
        assert fold(f"A{char}档") == f"a{folded}档", hex(code)  # fold's shortcuts agree


def test_final_sigma_case_and_width_fold_alike() -> None:
    assert fold("ΟΔΟΣ") == fold("οδος") == fold("οδοσ") == "οδοσ"
    assert fold("ΣΟΦΙΑΣ") == fold("σοφιας")
    assert fold("ЁЛКА") == fold("ёлка")
    assert fold("ＡＢＣ２０２０") == fold("abc2020") == "abc2020"
    assert fold("ẞ") == fold("ß")  # capital sharp s: one character, as ß
    assert fold("ｶﾞ") == "カ\u3099" and fold("ﾊ") == "ハ"
    assert fold("豈") == "豈"  # compatibility ideograph → its unified ideograph
    assert len(fold("İstanbul")) == len("İstanbul")  # İ's full fold is two characters: kept
    assert unicodedata.is_normalized("NFKC", fold("ＡＢＣ"))


# -- both backends against the oracle --------------------------------------------------------------


def multiscript_corpus(n: int = 150, seed: int = 12) -> list[dict[str, Any]]:
    rnd = random.Random(seed)
    docs = make_corpus(n, seed=seed)
    for doc in docs:
        doc["title"] = random_text(rnd, rnd.randint(3, 25))
        doc["author"] = random_text(rnd, rnd.randint(0, 8))
        doc["full_text"] = random_text(rnd, rnd.randint(0, 60))
        doc["remarks"] = random_text(rnd, rnd.randint(0, 10))
        doc["classification_level"] = 0
    for doc, (text, _) in zip(docs, PLANTED, strict=False):
        doc["title"] = text
    return docs


def multiscript_queries(docs: list[dict[str, Any]], seed: int = 13) -> list[str]:
    rnd = random.Random(seed)
    queries = [q for _, qs in PLANTED for q in qs]
    while len(queries) < 250:
        if rnd.random() < 0.2:
            queries.append(random_text(rnd, rnd.randint(1, 3)))
            continue
        doc = rnd.choice(docs)
        text = doc[rnd.choice(["title", "author", "full_text", "remarks"])] or doc["title"]
        start = rnd.randrange(len(text))
        piece = text[start : start + rnd.randint(1, 7)]
        queries.append(rnd.choice(TRANSFORMS)(piece))
    return [q for q in queries if q.strip() and not any(c.isspace() for c in q)]


@pytest.fixture(scope="module", params=BACKEND_NAMES)
def multiscript(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[SearchBackend, list[dict[str, Any]]]]:
    docs = multiscript_corpus()
    backend, prefix = make_backend(request.param, tmp_path_factory.mktemp(request.param))
    load = backend.rebuild if request.param == "postgresql-bitmaps" else backend.index
    assert load(docs) == len(docs)
    yield backend, docs
    if prefix:
        _drop_tables(prefix)


def test_random_strings_of_every_script_match_the_oracle(
    multiscript: tuple[SearchBackend, list[dict[str, Any]]],
) -> None:
    backend, docs = multiscript
    wrong = []
    for text in multiscript_queries(docs):
        for query in (Query(text=text), Query(conditions=(TextCondition(text, "title"),))):
            want = {d["id"] for d in expected(docs, query, ADMIN)}
            results = backend.search(Query(**{**query.__dict__, "limit": 1000}), ADMIN)
            got = {h.id for h in results.hits}
            if got != want or results.total != len(want):
                wrong.append((text, query.conditions[:1], len(want), results.total))
    assert not wrong, wrong[:10]


def test_planted_words_are_found_and_marked_in_any_case_or_width(
    multiscript: tuple[SearchBackend, list[dict[str, Any]]],
) -> None:
    backend, docs = multiscript
    for (text, queries), doc in zip(PLANTED, docs, strict=False):
        for q in queries:
            results = backend.search(Query(text=q, limit=1000), ADMIN)
            hit = next((h for h in results.hits if h.id == doc["id"]), None)
            assert hit is not None, (text, q)
            assert "<mark>" in hit.snippets.get("title", ""), (text, q, hit.snippets)
    title = backend.search(Query(text="οδοσ", limit=1000), ADMIN).hits
    marked = [h.snippets["title"] for h in title if h.id == docs[0]["id"]]
    assert marked == ["<mark>ΟΔΟΣ</mark> ΣΟΦΙΑΣ"]


def test_fresh_tantivy_index_folds_queries_like_texts(tmp_path: Path) -> None:
    """The tantivy analyzers keep characters as they come (no lowercasing of bigrams, which
    would turn a final Σ into ς): a two-character query of a word's last letters is found."""
    backend, _ = make_backend("tantivy", tmp_path)
    doc = {**make_corpus(1)[0], "title": "ΟΔΟΣ", "full_text": "", "remarks": ""}
    backend.index([doc])
    for q in ("ΟΣ", "ος", "οσ", "Σ", "ς"):
        assert backend.search(Query(text=q), ADMIN).total == 1, q
