"""The one search interface. Backends: `tantivy_backend.TantivyBackend` (embedded default, an
index directory under the data directory) and `postgres_backend.PostgresBackend` (scale-out).

Documents are plain dicts (see DOCUMENT_FIELDS), built from the catalogue by
`lantai.search.documents`; backends know nothing of Django models."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Protocol

from lantai.search.query import Query, Results, Scope

# Every document carries exactly these keys (None where unknown).
DOCUMENT_FIELDS = {
    "id": int,
    "reference_code": str,  # 档号
    "title": str,  # 题名
    "author": str,  # 责任者
    "document_number": str,  # 文号
    "remarks": str,  # 备注 (staff only)
    "full_text": str,  # text of the electronic files (PDF text layer, OFD, XML, text; OCR later)
    "date": "date | None",
    "year": "int | None",
    "repository": str,  # repository code
    "fonds": str,  # fonds key 档案馆代码/全宗号 (query.fonds_key)
    "category": str,  # category code (门类)
    "repository_id": int,
    "fonds_id": int,
    "category_id": int,
    "retention": str,  # 保管期限 code
    "classification": str,  # 密级 code
    "classification_level": int,
    "open_status": str,  # open | closed | restricted_use
    "level": str,  # item | volume | volume_item
}


class IndexOutdated(RuntimeError):
    """The index was written by an older version of Lantai and must be rebuilt
    (`lantai search reindex`) before it can answer."""


class SearchBackend(Protocol):
    name: str

    def index(self, docs: Iterable[dict[str, Any]]) -> int:
        """Add or replace documents (by id); returns how many."""

    def delete(self, ids: Iterable[int]) -> None:
        """Remove documents; unknown ids are ignored."""

    def search(self, query: Query, scope: Scope) -> Results:
        """Matching documents within `scope`; `total` exact; facets and snippets in scope only."""

    def suggest(self, prefix: str, scope: Scope, limit: int = 10) -> list[str]:
        """Titles within `scope` that contain `prefix`, for autocomplete."""

    def rebuild(self, docs: Iterable[dict[str, Any]]) -> int:
        """Build a new index aside from `docs` and swap it in (searches keep working meanwhile)."""

    def count(self) -> int:
        """Documents in the index."""
