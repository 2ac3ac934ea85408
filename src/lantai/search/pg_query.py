"""A search `Query` and `Scope` as PostgreSQL SQL, for `postgres_backend` (no connection here).

Text is folded per character (`normalise`, `lantai.search.folding`); each text field has a
position-less vector (`v_*`) of its characters and bigrams (`text_vector`) and, where it differs
from the text, its normal form (`n_*`). A phrase of one or two characters is one lexeme of the
vector; a longer one is the AND of its bigrams, checked with `strpos` on the normal form
(`text_match`). A text whose vector PostgreSQL would refuse (over VECTOR_MAX_BYTES of lexemes: a
book-length full text) gets the vector OVERFLOW_LEXEME and its row `overflow`: while any such
row exists, text conditions take them in as candidates and `strpos` decides for them (exact,
slower; `text_match(..., overflow=True)`). `Where`
collects the parts of a WHERE clause: the scope (`scope_where`), every condition of the query
(`query_where`). The bitmap path (pg_bitmaps) gets the same query as expressions over
`<table>_bits` (`BitsSql`, `bitmap_scope`, `bitmap_filters`) when `bitmap_term` says it can.
"""

from __future__ import annotations

import operator
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from lantai.search import pg_bitmaps
from lantai.search.folding import fold
from lantai.search.query import PUBLIC_FIELDS, Query, Scope, TextCondition

# Text fields with a unigram + bigram vector; "all" is all of them, less remarks for the public.
VECTOR_FIELDS = ("title", "author", "document_number", "reference_code", "remarks", "full_text")
STAFF_ALL = VECTOR_FIELDS
PUBLIC_ALL = tuple(f for f in VECTOR_FIELDS if f != "remarks")

# Facet name -> SQL expression of its value (text).
FACET_SQL = {
    "repository": "repository",
    "fonds": "fonds",
    "category": "category",
    "year": "year::text",
    "retention": "retention",
    "classification": "classification",
    "open_status": "open_status",
}
PUBLIC_FACETS = frozenset(f for f in FACET_SQL if f in PUBLIC_FIELDS)

# Lexeme bytes a vector may hold: PostgreSQL's limit is 1,048,575 ("string is too long for
# tsvector"); a margin below it.
VECTOR_MAX_BYTES = 1_000_000
# The vector of a text over that: a lexeme no text has (texts give lexemes of one or two
# characters), so that a search finds the row through the same GIN index and checks it by strpos.
OVERFLOW_LEXEME = "lantai:overflow"

# --- text normalisation and literals -------------------------------------------------------


def normalise(text: str | None) -> str:
    """The folded text (`lantai.search.folding.fold`, the same length), NUL dropped (PostgreSQL
    text cannot hold it)."""
    if not text:
        return ""
    return fold(text.replace("\x00", ""))


def _quote(token: str) -> str:
    return "'" + token.replace("\\", "\\\\").replace("'", "''") + "'"


def _plain_quote(token: str) -> str:  # a token without quote or backslash
    return f"'{token}'"


def gram_vector(norm: str) -> str:
    """The vector of a normalised text: its distinct characters and bigrams, position-less."""
    if not norm:
        return ""
    quote = _quote if ("'" in norm or "\\" in norm) else _plain_quote
    grams = dict.fromkeys(norm)
    grams.update(dict.fromkeys(map(operator.add, norm, norm[1:])))
    return " ".join(map(quote, grams))


def text_vector(norm: str) -> tuple[str, bool]:
    """(the vector literal, False) of a normalised text, or (OVERFLOW_LEXEME, True) when
    PostgreSQL would refuse it: a tsvector holds at most 1 MB of lexemes (MAXSTRPOS), and a long text of many
    distinct characters has more distinct bigrams than that."""
    # each character is in at most one unigram and two bigrams of at most 4 bytes a character:
    # a text of up to a twelfth of the limit in characters fits (nearly every text)
    if len(norm) * 12 <= VECTOR_MAX_BYTES:
        return gram_vector(norm), False
    grams = dict.fromkeys(norm)
    grams.update(dict.fromkeys(map(operator.add, norm, norm[1:])))
    if len("".join(grams).encode()) > VECTOR_MAX_BYTES:
        return _quote(OVERFLOW_LEXEME), True
    return gram_vector(norm), False


def _bigrams(norm: str) -> list[str]:
    return [norm[i : i + 2] for i in range(len(norm) - 1)]


def index_query(norm: str) -> str:
    """One character or bigram: that lexeme (exact); longer: the AND of its bigrams (the
    candidates, which `strpos` then checks)."""
    if len(norm) <= 2:
        return _quote(norm)
    return " & ".join(map(_quote, dict.fromkeys(_bigrams(norm))))


# --- SQL building --------------------------------------------------------------------------


@dataclass
class Where:
    parts: list[str] = field(default_factory=list)
    params: list[Any] = field(default_factory=list)

    def add(self, sql: str, *params: Any) -> None:
        self.parts.append(sql)
        self.params.extend(params)

    def sql(self) -> str:
        return " AND ".join(self.parts) if self.parts else "TRUE"


def normal_text(name: str) -> str:
    """SQL of a field's normalised text (inline for the short fields)."""
    return f"coalesce(n_{name}, {name})"


def _fields_for(cond_field: str, scope: Scope) -> tuple[str, ...]:
    if cond_field == "all":
        return PUBLIC_ALL if scope.public else STAFF_ALL
    if cond_field not in VECTOR_FIELDS:
        raise ValueError(f"unknown text field: {cond_field}")
    if scope.public and cond_field not in PUBLIC_ALL:
        return ()
    return (cond_field,)


def text_match(norm: str, fields: Sequence[str], overflow: bool = False) -> tuple[str, list[Any]]:
    """SQL (and params) true when one of `fields` contains the normalised phrase `norm`. The
    vector part alone is the index condition (exact up to two characters); longer phrases add
    `strpos` on the inline texts, evaluated only on the candidates (the vectors are not read).
    `overflow`: some rows carry OVERFLOW_LEXEME instead of a vector (`text_vector`); the
    vector part takes them in as candidates, and `strpos` decides for them."""
    if not fields:
        return "FALSE", []
    q = index_query(norm)
    if overflow:
        q = f"({q}) | {_quote(OVERFLOW_LEXEME)}"
    sql = "(" + " OR ".join(f"v_{name} @@ %s::tsquery" for name in fields) + ")"
    params: list[Any] = [q] * len(fields)
    exact = " OR ".join(f"strpos({normal_text(name)}, %s) > 0" for name in fields)
    if len(norm) > 2:
        sql = f"({sql} AND ({exact}))"
        params += [norm] * len(fields)
    elif overflow:
        sql = f"({sql} AND (overflow IS NULL OR {exact}))"
        params += [norm] * len(fields)
    return sql, params


def _conditions(query: Query) -> list[TextCondition]:
    conds = [TextCondition(term) for term in query.text.split()]
    conds.extend(query.conditions)
    return conds


def scope_where(where: Where, scope: Scope) -> None:
    if scope.withheld:  # narrowed in the catalogue, not yet re-indexed (decision 0022)
        where.add("NOT (id = ANY(%s))", sorted(scope.withheld))
    if scope.public:
        # open and unclassified: an open record still marked with a 密级 stays hidden
        where.add("open_status = 'open' AND classification_level = 0")
        return
    where.add("classification_level <= %s", scope.max_classification)
    if not scope.all_fonds:
        where.add(
            "(fonds_id = ANY(%s) OR repository_id = ANY(%s))",
            sorted(scope.fonds_ids),
            sorted(scope.repository_ids),
        )


def query_where(where: Where, query: Query, scope: Scope, overflow: bool = False) -> None:
    """Everything `query` asks (text, conditions, filters, ranges, earlier queries) as WHERE
    parts (`overflow`: some rows have no vectors, see `text_match`)."""
    for cond in _conditions(query):
        norm = normalise(cond.text.strip())
        if not norm:
            continue
        sql, params = text_match(norm, _fields_for(cond.field, scope), overflow)
        # n_* is NULL where the text is its own normal form: a negated match must not be NULL
        where.add(f"NOT coalesce({sql}, false)" if cond.exclude else sql, *params)
    for facet, values in query.filters.items():
        if facet not in FACET_SQL:
            raise ValueError(f"unknown filter: {facet}")
        if scope.public and facet not in PUBLIC_FACETS:
            continue  # the public cannot filter on what it cannot see
        where.add(f"{FACET_SQL[facet]} = ANY(%s)", [str(v) for v in values])
    if query.date_from is not None:
        where.add("date >= %s", query.date_from)
    if query.date_to is not None:
        where.add("date <= %s", query.date_to)
    if query.year_from is not None:
        where.add("year >= %s", query.year_from)
    if query.year_to is not None:
        where.add("year <= %s", query.year_to)
    for earlier in query.within:
        query_where(where, earlier, scope, overflow)


def positive_terms(query: Query, scope: Scope) -> list[tuple[str, tuple[str, ...]]]:
    """(normalised phrase, fields) of every positive text condition, earlier queries included."""
    terms = []
    for cond in _conditions(query):
        norm = normalise(cond.text.strip())
        if norm and not cond.exclude:
            terms.append((norm, _fields_for(cond.field, scope)))
    for earlier in query.within:
        terms.extend(positive_terms(earlier, scope))
    return terms


# --- the bitmap path ---------------------------------------------------------------------------


def _all_conditions(query: Query) -> list[TextCondition]:
    conds = [c for c in _conditions(query) if normalise(c.text.strip())]
    for earlier in query.within:
        conds += _all_conditions(earlier)
    return conds


def _has_dates(query: Query) -> bool:
    return (
        query.date_from is not None
        or query.date_to is not None
        or any(_has_dates(q) for q in query.within)
    )


def bitmap_term(query: Query) -> str | None:
    """The normalised term when the bitmaps can answer `query`: one positive condition on all
    text fields, of one to three characters, no date range (years and facets are bitmaps)."""
    conds = _all_conditions(query)
    if len(conds) != 1 or _has_dates(query):
        return None
    cond = conds[0]
    norm = normalise(cond.text.strip())
    if cond.exclude or cond.field != "all" or len(norm) > pg_bitmaps.MAX_GRAM:
        return None
    return norm


class BitsSql:
    """SQL expressions over the rows of a bitmap table; parameters collect in order."""

    def __init__(self, table: str) -> None:
        self.table = table
        self.params: list[Any] = []

    def one(self, kind: str) -> str:
        return f"(SELECT bits FROM {self.table} WHERE kind = '{kind}')"

    def any_of(self, keys: Sequence[tuple[str, str]]) -> str:
        """The OR of the bitmaps of `keys` (kind, value); all zeros when none exists."""
        self.params += [[k for k, _ in keys], [v for _, v in keys]]
        return (
            f"(SELECT bit_or(bits) FROM {self.table} WHERE kind = 'zero' OR (kind, value)"
            " IN (SELECT * FROM unnest(%s::text[], %s::text[])))"
        )

    def years(self, low: int | None, high: int | None) -> str:
        self.params += [low, high]
        return (
            f"(SELECT bit_or(bits) FROM {self.table} WHERE kind = 'zero' OR"
            " (CASE WHEN kind = 'year' THEN value::integer END"
            " BETWEEN coalesce(%s::integer, -32768) AND coalesce(%s::integer, 32767)))"
        )

    @staticmethod
    def all_of(parts: Sequence[str]) -> str:
        return "(" + " & ".join(parts) + ")"


def bitmap_scope(bits: BitsSql, scope: Scope) -> list[str]:
    """`scope_where` as bitmaps."""
    if scope.public:
        return [
            bits.any_of([("open_status", "open")]),
            bits.any_of([("classification_level", "0")]),
        ]
    levels = [("classification_level", str(i)) for i in range(scope.max_classification + 1)]
    parts = [bits.any_of(levels)]
    if not scope.all_fonds:
        keys = [("fonds_id", str(i)) for i in sorted(scope.fonds_ids)]
        keys += [("repository_id", str(i)) for i in sorted(scope.repository_ids)]
        parts.append(bits.any_of(keys))
    return parts


def bitmap_filters(bits: BitsSql, query: Query, scope: Scope) -> list[str]:
    """`query_where`'s filters and year ranges (earlier queries included) as bitmaps."""
    parts = []
    for facet, values in query.filters.items():
        if facet not in FACET_SQL:
            raise ValueError(f"unknown filter: {facet}")
        if scope.public and facet not in PUBLIC_FACETS:
            continue
        parts.append(bits.any_of([(facet, str(v)) for v in values]))
    if query.year_from is not None or query.year_to is not None:
        parts.append(bits.years(query.year_from, query.year_to))
    for earlier in query.within:
        parts += bitmap_filters(bits, earlier, scope)
    return parts
