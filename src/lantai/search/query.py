"""What a search asks and what it returns: the one vocabulary shared by the service, both backends,
the CLI, the staff UI and the public portal. Pure Python, no Django.

Exactness: text conditions match as exact substrings (unigram phrase queries), so a query of one or
two characters such as 档 or 婚姻 finds every record containing it, no more and no fewer; `total` is
always the exact count of matching records the caller may see.

Access control is part of the query (`Scope`), applied inside the backend's search, never after it:
counts, facets, snippets and suggestions only ever see records in scope.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

# Fields a text condition can target (advanced search); "all" = title, author, document number,
# archival code, remarks and full text together.
TEXT_FIELDS = ("all", "title", "author", "document_number", "reference_code", "full_text")
# Exact-value filters (facets are computed over the same names).
FACETS = ("repository", "fonds", "category", "year", "retention", "classification", "open_status")
SORTS = ("relevance", "date", "reference_code")
OPEN_STATUSES = ("open", "closed", "restricted_use")  # 开放 / 未开放 / 控制使用
# A fonds is its repository's code and its own (全宗号 repeat across archives: J014 in several):
# the "fonds" facet, its filter values and the document's "fonds" hold this key, e.g. "441900/J014".
FONDS_KEY_SEPARATOR = "/"  # neither an archives code nor a 全宗号 may contain it
# Fields the public may see of an open record (no internal remarks, no classification details).
PUBLIC_FIELDS = ("reference_code", "title", "author", "document_number", "date", "year",
                 "fonds", "category", "repository", "retention", "open_status")  # fmt: skip


def fonds_key(repository_code: str, fonds_code: str) -> str:
    """The key of a fonds: its repository's code and its 全宗号 ("441900/J014")."""
    return f"{repository_code}{FONDS_KEY_SEPARATOR}{fonds_code}"


def split_fonds_key(key: str) -> tuple[str, str] | None:
    """(repository code, 全宗号) of a fonds key; None when `key` is not one."""
    repository, sep, code = str(key).partition(FONDS_KEY_SEPARATOR)
    if not sep or not repository or not code or FONDS_KEY_SEPARATOR in code:
        return None
    return repository, code


@dataclass(frozen=True)
class TextCondition:
    text: str  # matched as an exact substring (case-insensitive for Latin letters)
    field: str = "all"  # one of TEXT_FIELDS
    exclude: bool = False  # NOT


@dataclass(frozen=True)
class Scope:
    """Who is asking. The public sees only open records and PUBLIC_FIELDS; staff see the records
    of their repositories/fonds up to their clearance (密级 level)."""

    public: bool = True
    all_fonds: bool = False  # staff with scope over every fonds
    fonds_ids: frozenset[int] = frozenset()
    repository_ids: frozenset[int] = frozenset()
    max_classification: int = 0  # highest classification_level visible (0 = public only)
    # records withheld whatever the index says: their visibility was narrowed in the catalogue
    # and the index has not caught up yet (never counted, faceted, shown or suggested)
    withheld: frozenset[int] = frozenset()

    @classmethod
    def public_scope(cls) -> Scope:
        return cls(public=True)


@dataclass(frozen=True)
class Query:
    text: str = ""  # the simple search box: every whitespace-separated term must match ("all")
    conditions: tuple[TextCondition, ...] = ()  # advanced search; ANDed with `text`
    within: tuple[Query, ...] = ()  # 递进检索: earlier queries the results must also match
    filters: dict[str, tuple[str, ...]] = field(default_factory=dict)  # facet name -> values (OR)
    date_from: date | None = None
    date_to: date | None = None
    year_from: int | None = None
    year_to: int | None = None
    sort: str = "relevance"  # one of SORTS
    facets: tuple[str, ...] = ()  # which facet counts to compute
    offset: int = 0
    limit: int = 20
    highlight: bool = True


@dataclass(frozen=True)
class Hit:
    id: int
    score: float
    fields: dict[str, object]  # stored fields the scope may see
    snippets: dict[str, str] = field(default_factory=dict)  # field -> text with <mark>…</mark>


@dataclass(frozen=True)
class Results:
    total: int  # exact
    hits: list[Hit]
    facets: dict[str, dict[str, int]] = field(default_factory=dict)  # facet -> value -> count
