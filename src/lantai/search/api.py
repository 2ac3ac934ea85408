"""The public JSON API of the open catalogue (公众查档), under /api/public/: no login.

Only open records, and of them only PUBLIC_FIELDS: the search runs with the public scope inside
the backend (totals, facets, snippets and suggestions count open records only), and a record that
is not open answers exactly as one that does not exist (404, same body)."""

from __future__ import annotations

import datetime as dt
import math
from typing import Annotated, Any

from django.http import HttpRequest
from ninja import Field, Router, Schema, Status
from ninja import Path as PathParam
from ninja import Query as QueryParams
from ninja.errors import HttpError
from pydantic import StringConstraints

from lantai.catalog import open_copies
from lantai.search import services
from lantai.search.query import PUBLIC_FIELDS, Query, TextCondition, fonds_key

router = Router(auth=None, tags=["公众查档 public"])


def _throttle(request: HttpRequest, bucket: str) -> None:
    """The portal's per-client token buckets apply to its API as well (429 when exhausted)."""
    from lantai.core.ratelimit import client_ip, take

    wait = take(bucket, client_ip(request))
    if wait:
        raise HttpError(429, f"请求过于频繁，请 {math.ceil(wait)} 秒后再试（too many requests）")


NOT_FOUND = "未找到（not found）"
MAX_PAGE_SIZE = 100
# Every number the public sends is bounded here (a 422 names the parameter), so nothing out of
# range reaches the database or the index.
MAX_YEAR = 9999
MAX_PAGE = services.MAX_OFFSET // MAX_PAGE_SIZE + 1
MAX_RECORD_ID = 2**63 - 1  # the catalogue's ids are 64-bit
MAX_VALUES = 50  # values per filter, earlier queries of 递进检索, facets
MAX_TEXT = 200
PUBLIC_TEXT_FIELDS = ("all", "title", "author", "document_number", "reference_code", "full_text")


class PublicRecordOut(Schema):
    id: int
    reference_code: str = Field(description="档号")
    title: str = Field(description="题名")
    author: str = Field(description="责任者")
    document_number: str = Field(description="文号")
    date: dt.date | None = Field(description="日期")
    year: int | None = Field(description="年度")
    fonds: str = Field(description="全宗: 档案馆代码/全宗号 (e.g. 441900/J014)")
    category: str = Field(description="门类代码")
    repository: str = Field(description="档案馆代码")
    retention: str = Field(description="保管期限")
    open_status: str = Field(description="开放状态: open")


class PublicHitOut(Schema):
    id: int
    score: float
    record: dict[str, Any] = Field(description="PUBLIC_FIELDS of the record")
    snippets: dict[str, str] = Field(description="field -> text with <mark>…</mark>")


class PublicSearchOut(Schema):
    total: int = Field(description="exact number of open records that match")
    page: int
    page_size: int
    hits: list[PublicHitOut]
    facets: dict[str, dict[str, int]]


class ErrorOut(Schema):
    detail: str
    field: str = ""


Values = list[Annotated[str, StringConstraints(max_length=MAX_TEXT)]]  # at most MAX_VALUES
# A year as the index holds it: 1–9999 in ASCII digits (blank: no filter), like year_from
Years = list[Annotated[str, StringConstraints(pattern=r"^([1-9][0-9]{0,3})?$")]]


class SearchParams(Schema):
    q: str = Field(
        "", description="检索词: every blank-separated term must occur (exact substrings)"
    )
    field: str = Field(
        "all",
        max_length=MAX_TEXT,
        description="检索字段: all | title | author | document_number | reference_code | full_text",
    )
    within: Values = Field(
        [],
        max_length=MAX_VALUES,
        description="递进检索: earlier queries the results must also match",
    )
    repository: Values = Field([], max_length=MAX_VALUES, description="档案馆代码")
    fonds: Values = Field(
        [],
        max_length=MAX_VALUES,
        description="全宗: 档案馆代码/全宗号 (e.g. 441900/J014), as the fonds facet lists them",
    )
    category: Values = Field([], max_length=MAX_VALUES, description="门类代码")
    year: Years = Field([], max_length=MAX_VALUES, description="年度 (1–9999)")
    retention: Values = Field([], max_length=MAX_VALUES, description="保管期限")
    year_from: int | None = Field(None, ge=1, le=MAX_YEAR, description="年度自 (1–9999)")
    year_to: int | None = Field(None, ge=1, le=MAX_YEAR, description="年度至 (1–9999)")
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    sort: str = Field(
        "relevance", max_length=MAX_TEXT, description="relevance | date | reference_code"
    )
    facets: Values = Field(
        [],
        max_length=MAX_VALUES,
        description="repository, fonds, category, year, retention, open_status",
    )
    page: int = Field(1, ge=1, le=MAX_PAGE)
    page_size: int = Field(20, ge=1, le=MAX_PAGE_SIZE)
    highlight: bool = True


def _public_query(p: SearchParams) -> Query:
    if p.field not in PUBLIC_TEXT_FIELDS:
        raise HttpError(422, f"检索字段“{p.field}”无效：应为 {'、'.join(PUBLIC_TEXT_FIELDS)}")
    conditions: tuple[TextCondition, ...] = ()
    text = p.q
    if p.field != "all":
        conditions = tuple(TextCondition(t, p.field) for t in p.q.split())
        text = ""
    filters = {
        name: tuple(v for v in values if v)
        for name, values in (
            ("repository", p.repository),
            ("fonds", p.fonds),
            ("category", p.category),
            ("year", p.year),
            ("retention", p.retention),
        )  # fmt: skip
        if any(values)
    }
    return Query(
        text=text, conditions=conditions, within=tuple(Query(text=w) for w in p.within if w),
        filters=filters, date_from=p.date_from, date_to=p.date_to, year_from=p.year_from,
        year_to=p.year_to, sort=p.sort, facets=tuple(p.facets),
        offset=(p.page - 1) * p.page_size, limit=p.page_size, highlight=p.highlight,
    )  # fmt: skip


@router.get(
    "/search", response={200: PublicSearchOut, 422: ErrorOut}, summary="检索开放档案 search"
)
def public_search(request: HttpRequest, params: QueryParams[SearchParams]) -> Any:
    """Search the open catalogue and the full text of open records."""
    _throttle(request, "search")
    query = _public_query(params)
    try:
        results = services.search(None, query)
    except services.SearchError as e:
        return Status(422, {"detail": e.message_zh, "field": e.field})
    return {
        "total": results.total,
        "page": params.page,
        "page_size": params.page_size,
        "hits": [
            {
                "id": h.id,
                "score": h.score,
                "record": {k: h.fields.get(k) for k in PUBLIC_FIELDS},
                "snippets": h.snippets,
            }
            for h in results.hits
        ],
        "facets": results.facets,
    }


@router.get("/suggest", response=list[str], summary="题名联想 suggest")
def public_suggest(request: HttpRequest, q: str = "", limit: int = 10) -> list[str]:
    """Titles of open records that contain `q` (autocomplete)."""
    _throttle(request, "suggest")
    return services.suggest(None, q, limit=max(1, min(limit, 20)))


@router.get(
    "/records/{record_id}",
    response={200: PublicRecordOut, 404: ErrorOut},
    summary="开放档案 record",
)
def public_record(
    request: HttpRequest, record_id: int = PathParam(..., ge=1, le=MAX_RECORD_ID)
) -> Any:
    """One open record (PUBLIC_FIELDS). A record that is not open answers 404, exactly as one
    that does not exist."""
    _throttle(request, "page")
    row = (
        services.public_records()
        .filter(pk=record_id)
        .values(
            "id",
            "reference_code",
            "title",
            "author",
            "document_number",
            "date",
            "year",
            "retention",
            "open_status",
            "fonds__code",
            "fonds__repository__code",
            "category__code",
            "repository__code",
        )  # fmt: skip
        .first()
    )
    if row is None:
        return Status(404, {"detail": NOT_FOUND, "field": ""})
    copy = open_copies.open_copy_of(row["id"])  # a partly opened record: its redacted fields
    row.update(copy.fields if copy is not None else {})
    return {
        "id": row["id"], "reference_code": row["reference_code"], "title": row["title"],
        "author": row["author"], "document_number": row["document_number"], "date": row["date"],
        "year": row["year"], "category": row["category__code"],
        "fonds": fonds_key(row["fonds__repository__code"], row["fonds__code"]),
        "repository": row["repository__code"], "retention": row["retention"],
        "open_status": row["open_status"],
    }  # fmt: skip
