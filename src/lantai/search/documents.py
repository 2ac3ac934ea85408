"""Search documents (plain dicts with exactly the keys of DOCUMENT_FIELDS) built from the
catalogue in batches: one query for a batch of records (with their repository, fonds and
category codes) and one for their components; never a query per record.

A record's "fonds" is the key of its fonds (`lantai.search.query.fonds_key`: archives code and
全宗号), never the bare 全宗号, which repeats across archives.

The full text of a record is the text of its electronic files (`lantai.search.text`), in the
order they were attached; of a partly opened record, the text of its open copy."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from django.conf import settings

from lantai.catalog.models import Component, ComponentText, Record
from lantai.search.backend import DOCUMENT_FIELDS
from lantai.search.query import fonds_key
from lantai.search.text import extract_text
from lantai.standards.categories import MARRIAGE

BATCH = 1000
_VALUES = (
    "id", "reference_code", "title", "author", "document_number", "remarks", "date", "year",
    "repository_id", "fonds_id", "category_id", "retention", "classification",
    "classification_level", "open_status", "level",
    "repository__code", "fonds__code", "fonds__repository__code", "category__code",
    "open_copy__id", "open_copy__text", "open_copy__fields",  # 信息级开放 (a join, no query)
)  # fmt: skip


def indexed_records() -> Any:
    """Every record but the marriage registrations: those are found only at the marriage counter
    (by identity number, names and years, under the rights rules), never by full-text search."""
    return Record.objects.exclude(category__code=MARRIAGE)


def build_documents(ids: Iterable[int]) -> list[dict[str, Any]]:
    """Documents of the records with these ids that exist (missing ids are left out), in id
    order, built BATCH records at a time."""
    wanted = sorted({int(i) for i in ids})
    out: list[dict[str, Any]] = []
    for start in range(0, len(wanted), BATCH):
        chunk = wanted[start : start + BATCH]
        rows = list(indexed_records().filter(pk__in=chunk).order_by("pk").values(*_VALUES))
        out.extend(_documents(rows))
    return out


def iter_documents(
    batch_size: int = BATCH, progress: Callable[[int], None] | None = None
) -> Iterator[dict[str, Any]]:
    """Every record's document in id order (keyset pages, so a catalogue of millions streams in
    constant memory). `progress(n)` is told after each batch how many were produced so far."""
    last, done = 0, 0
    while True:
        rows = list(
            indexed_records().filter(pk__gt=last).order_by("pk").values(*_VALUES)[:batch_size]
        )
        if not rows:
            return
        yield from _documents(rows)
        last = rows[-1]["id"]
        done += len(rows)
        if progress is not None:
            progress(done)


def _documents(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    # a partly opened record (信息级开放) is indexed as the public may read it: its open copy's
    # text and redacted fields, so that no search finds a passage that was closed
    texts = _full_texts([r["id"] for r in rows if r["open_copy__id"] is None])
    return [
        to_document(r, texts.get(r["id"], ""))
        if r["open_copy__id"] is None
        else to_document({**r, **r["open_copy__fields"]}, r["open_copy__text"])
        for r in rows
    ]


def to_document(row: dict[str, Any], full_text: str = "") -> dict[str, Any]:
    """One document from a row of `Record.objects.values(*_VALUES)`."""
    doc: dict[str, Any] = {
        "id": row["id"],
        "reference_code": row["reference_code"] or "",
        "title": row["title"] or "",
        "author": row["author"] or "",
        "document_number": row["document_number"] or "",
        "remarks": row["remarks"] or "",
        "full_text": full_text,
        "date": row["date"],
        "year": row["year"],
        "repository": row["repository__code"] or "",
        "fonds": fonds_key(row["fonds__repository__code"] or "", row["fonds__code"] or ""),
        "category": row["category__code"] or "",
        "repository_id": row["repository_id"],
        "fonds_id": row["fonds_id"],
        "category_id": row["category_id"],
        "retention": row["retention"] or "",
        "classification": row["classification"] or "",
        "classification_level": row["classification_level"] or 0,
        "open_status": row["open_status"] or "closed",
        "level": row["level"] or "item",
    }
    assert doc.keys() == DOCUMENT_FIELDS.keys()
    return doc


def _full_texts(record_ids: list[int]) -> dict[int, str]:
    """record id -> the text of its components (one query for the whole batch)."""
    parts: dict[int, list[str]] = defaultdict(list)
    root = Path(settings.MEDIA_ROOT).resolve()
    cap = settings.SEARCH_TEXT_MAX_CHARS
    used: dict[int, int] = defaultdict(int)
    components = (
        Component.objects.filter(record_id__in=record_ids)
        .order_by("record_id", "pk")
        .values_list("record_id", "pk", "name", "path", "sm3")
    )
    # text another room made of a component (OCR of a page, described segments of a recording)
    made = dict(
        ComponentText.objects.filter(component__record_id__in=record_ids).values_list(
            "component_id", "text"
        )
    )
    for record_id, pk, name, rel, sm3 in components:
        if used[record_id] >= cap:
            continue
        if pk in made:
            text = made[pk]
        else:
            path = (root / rel).resolve()
            if not path.is_relative_to(root) or not path.is_file():
                continue  # a missing file is the preservation audit's business, not the index's
            text = extract_text(path, name, sm3=sm3)
        if text:
            parts[record_id].append(text[: cap - used[record_id]])
            used[record_id] += len(text) + 2
    return {k: "\n\n".join(v) for k, v in parts.items()}
