"""Bitmaps of frequent terms and of facet values for the PostgreSQL search backend.

Why. An exact total and exact facet counts need every matching row: for a term found in most of
a million records (市, 关于) PostgreSQL reads ~800,000 rows and groups them once per facet, which
takes seconds whatever the indexes. Counting set bits does not: with one bitmap (one bit per
document) for each frequent term and one for each facet value, the total is the popcount of
term ∧ scope ∧ filters and each facet count that of the result ∧ value, a few hundred AND +
popcount operations over 125 kB strings in PostgreSQL's own `bit varying` type (tens of ms).

What. At `rebuild` every document gets a rank (its bit: relevance tie order, newest first; table
`<table>_ranks`) and the collector builds, in numpy, the bitmaps of
- every facet and scope value (repository, fonds, category, year, ..., fonds_id, classification
  level): kind = the field, value = the value as text;
- every frequent term of one to three characters (a character, bigram or trigram found in at
  least MIN_DF of an even sample of SAMPLE_DOCS documents): kind `t:all` (any public text field),
  `t:remarks`, and one per ranked field (`t:title`, ...) for the relevance levels; kind `tracked`
  lists the terms that have bitmaps;
- `live`: the bits that are current. A document changed or deleted after the rebuild leaves
  `live` and its row gets `mapped` NULL: the backend counts those rows one by one and adds them,
  so results stay exact between rebuilds and only get slower as such rows accumulate.

Terms are the normalised text's substrings (`pg_query.normalise`), so a bitmap answers a
query of one to three characters exactly, like the vectors. Bitmaps are rows of `<table>_bits`
(kind, value, bits varbit), all of the same length.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

MAX_GRAM = 3
SAMPLE_DOCS = 20_000  # candidates are chosen on an even sample of this many documents
MIN_DF = 0.10  # a term gets bitmaps when found in at least this share of the sample
BATCH = 20_000  # documents per vectorised step

PUBLIC_TEXT = ("title", "author", "document_number", "reference_code", "full_text")
RANKED_TEXT = ("title", "author", "document_number", "reference_code")
TEXT_FIELDS = (*PUBLIC_TEXT, "remarks")
# bitmap kind -> the fields whose union it is
TEXT_KINDS = {
    "t:all": PUBLIC_TEXT,
    "t:remarks": ("remarks",),
    **{f"t:{f}": (f,) for f in RANKED_TEXT},
}
# Values with a bitmap: the facets (text values as the backend reports them) and the scope.
VALUE_KINDS = ("repository", "fonds", "category", "year", "retention", "classification",
               "open_status", "classification_level", "fonds_id", "repository_id")  # fmt: skip

_SHIFT = np.uint64(21)  # code points fit 21 bits: a trigram's code fits 63


def term_kinds(public: bool) -> tuple[str, ...]:
    """The bitmap kinds whose union is "found in any text field the scope may search"."""
    return ("t:all",) if public else ("t:all", "t:remarks")


def _codes(texts: Sequence[str]) -> tuple[npt.NDArray[np.uint64], npt.NDArray[np.int64]]:
    """Every 1-, 2- and 3-character substring of each text as an integer (distinct lengths
    never collide: a longer gram's code is >= 2**21 times its first character), and the index
    of the text it comes from. Texts never hold NUL (normalise drops it): NUL separates them."""
    joined = "\0".join(texts) + "\0"
    c = np.frombuffer(joined.encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)
    sep = c == 0
    doc = np.cumsum(sep) - sep  # separators before each position = its text's index
    ok1 = ~sep
    codes = [c[ok1]]
    docs = [doc[ok1]]
    ok2 = ok1[:-1] & ok1[1:]
    big = (c[:-1] << _SHIFT) | c[1:]
    codes.append(big[ok2])
    docs.append(doc[:-1][ok2])
    ok3 = ok2[:-1] & ok1[2:]
    codes.append(((big[:-1] << _SHIFT) | c[2:])[ok3])
    docs.append(doc[:-2][ok3])
    return np.concatenate(codes), np.concatenate(docs).astype(np.int64)


def _distinct(a: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """Sorted distinct values (sorting beats numpy's hashing `unique` here)."""
    a = np.sort(a)
    return a[np.r_[True, a[1:] != a[:-1]]] if len(a) else a


def decode(code: int) -> str:
    chars = []
    mask = (1 << 21) - 1
    while code:
        chars.append(chr(code & mask))
        code >>= 21
    return "".join(reversed(chars))


def bits_literal(bits: npt.NDArray[np.uint8], nbits: int) -> str:
    """A `bit varying` input literal (hexadecimal) of the first `nbits` bits."""
    return "X" + bits.tobytes().hex()[: (nbits + 3) // 4]


class Collector:
    """The bitmaps of one rebuild of `n` documents: `choose()` the frequent terms on an even
    sample of the documents, `add()` every document with its rank (its bit), then `bitmaps()`
    yields (kind, value, literal) rows for `<table>_bits`."""

    def __init__(self, n: int, min_df: float = MIN_DF) -> None:
        self.n, self.min_df = n, min_df
        self.nbytes = (n + 7) // 8
        self._candidates: npt.NDArray[np.uint64] = np.empty(0, np.uint64)  # sorted codes
        self._rows: dict[str, npt.NDArray[np.uint8]] = {}  # kind -> (candidates x bytes)
        self._texts: dict[str, list[str]] = {f: [] for f in TEXT_FIELDS}
        self._ranks: list[int] = []  # of the documents in _texts
        self._all_ranks: list[int] = []
        self._values: dict[str, list[str]] = {k: [] for k in VALUE_KINDS}  # "" = none

    def choose(self, sample: Iterable[dict[str, str]]) -> None:
        """Terms found in at least `min_df` of the sample documents (normalised text fields)
        get bitmaps."""
        texts: dict[str, list[str]] = {f: [] for f in TEXT_FIELDS}
        size = 0
        for norms in sample:
            size += 1
            for name, values in texts.items():
                values.append(norms.get(name) or "")
        codes = [_codes(values) for values in texts.values() if any(values)]
        if codes:  # document frequency over all text fields together
            code = np.concatenate([c for c, _ in codes])
            doc = np.concatenate([d for _, d in codes])
            order = np.lexsort((doc, code))
            code, doc = code[order], doc[order]
            first = np.ones(len(code), bool)  # the first of each distinct (term, document)
            first[1:] = (code[1:] != code[:-1]) | (doc[1:] != doc[:-1])
            terms, df = np.unique(code[first], return_counts=True)
            self._candidates = terms[df >= max(1, int(np.ceil(self.min_df * size)))]
        self._rows = {
            kind: np.zeros((len(self._candidates), self.nbytes), np.uint8) for kind in TEXT_KINDS
        }

    def add(self, rank: int, norms: dict[str, str], values: dict[str, Any]) -> None:
        """One document: its rank (0 <= rank < n), normalised text fields and values."""
        for name, texts in self._texts.items():
            texts.append(norms.get(name) or "")
        for kind, column in self._values.items():
            value = values.get(kind)
            column.append("" if value is None else str(value))
        self._ranks.append(rank)
        self._all_ranks.append(rank)
        if len(self._ranks) >= BATCH:
            self._flush()

    def _flush(self) -> None:
        if not self._ranks or not len(self._candidates):
            self._texts = {f: [] for f in TEXT_FIELDS}
            self._ranks = []
            return
        ranks = np.asarray(self._ranks, np.int64)
        found = {name: self._hits(texts) for name, texts in self._texts.items()}
        for kind, fields in TEXT_KINDS.items():
            cand = np.concatenate([found[f][0] for f in fields])
            doc = np.concatenate([found[f][1] for f in fields])
            self._set(kind, cand, ranks[doc])
        self._texts = {f: [] for f in TEXT_FIELDS}
        self._ranks = []

    def _hits(self, texts: list[str]) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
        """(candidate index, document index in the batch) of each candidate term found."""
        codes, doc = _codes(texts)
        idx = np.searchsorted(self._candidates, codes)
        idx[idx == len(self._candidates)] = 0
        hit = self._candidates[idx] == codes
        return idx[hit].astype(np.int64), doc[hit]

    def _set(self, kind: str, cand: npt.NDArray[np.int64], ranks: npt.NDArray[np.int64]) -> None:
        if not len(cand):
            return
        # distinct (term, document) pairs, sorted: the bits of one byte are then adjacent and
        # distinct, so their sum is their OR
        key = _distinct(cand * (1 << 40) + ranks)
        cand, ranks = key >> 40, key & ((1 << 40) - 1)
        byte = cand * self.nbytes + (ranks >> 3)
        masks = (0x80 >> (ranks & 7)).astype(np.int64)
        starts = np.flatnonzero(np.r_[True, byte[1:] != byte[:-1]])
        flat = self._rows[kind].reshape(-1)
        flat[byte[starts]] |= np.add.reduceat(masks, starts).astype(np.uint8)

    def bitmaps(self) -> Iterator[tuple[str, str, str]]:
        """(kind, value, bit-string literal) of every bitmap, after the last document."""
        self._flush()
        n = self.n
        if n == 0:
            return
        yield "zero", "", bits_literal(np.zeros(self.nbytes, np.uint8), n)
        ranks = np.asarray(self._all_ranks, np.int64)
        live = np.zeros(n, bool)
        live[ranks] = True
        yield "live", "", bits_literal(np.packbits(live), n)
        for kind, values in self._values.items():
            names, inverse = np.unique(np.array(values), return_inverse=True)
            order = np.argsort(inverse, kind="stable")
            bounds = np.searchsorted(inverse[order], np.arange(len(names) + 1))
            for j, name in enumerate(names.tolist()):
                if name == "":
                    continue
                column = np.zeros(n, bool)
                column[ranks[order[bounds[j] : bounds[j + 1]]]] = True
                yield kind, name, bits_literal(np.packbits(column), n)
        for i, code in enumerate(self._candidates.tolist()):
            term = decode(code)
            yield "tracked", term, "X"
            for kind, rows in self._rows.items():
                if rows[i].any():
                    yield kind, term, bits_literal(rows[i], n)


def unpack(bits: bytes, nbits: int) -> npt.NDArray[np.bool_]:
    """A varbit's bytes (`varbit_send` without its length word) as one bool per bit."""
    return np.unpackbits(np.frombuffer(bits, np.uint8), count=nbits).view(np.bool_)


def clear(bits: bytes, nbits: int, ords: Sequence[int]) -> str:
    """The literal of `bits` (a varbit's bytes) with the bits of `ords` cleared."""
    array = np.frombuffer(bits, np.uint8).copy()
    o = np.asarray(ords, np.int64)
    o = o[(o >= 0) & (o < nbits)]
    np.bitwise_and.at(array, o >> 3, (~(0x80 >> (o & 7))).astype(np.uint8))
    return bits_literal(array, nbits)
