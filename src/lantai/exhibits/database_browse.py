"""The public side of the 专题数据库: what a visitor sees of a published database, worked out on
every request from `catalog.public.open_records()` (nothing public is stored or cached), so a
record closed a minute ago is gone from the list, the facet counts, the timeline, the map and
its own page at once.

At the scale of a thematic database (hundreds to a few thousand records) the entries are read
once per request and filtered, counted and searched in Python: the search inside is a
case-insensitive substring match on the record's 档号, its public title and the entry's values.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlencode

from django.core.paginator import Page, Paginator
from django.urls import reverse
from django.utils.translation import get_language

from lantai.catalog import open_copies
from lantai.catalog.models import Record
from lantai.catalog.public import open_records
from lantai.catalog.public import record_path as public_record_path
from lantai.exhibits.models import Database, Entry
from lantai.standards import gazetteer
from lantai.standards.exhibit_fields import DATE, MULTI
from lantai.standards.place_map import MapPoint

PAGE_SIZE = 20
MAX_QUERY = 100
MAX_FACET_VALUES = 30  # per facet on the page (the most frequent)
FACET_PREFIX = "f_"  # ?f_period=抗日战争时期
PATH_SAFE = "!$&'()*+,;=~:@-._"  # what Django's reverse() leaves unquoted in a path segment


@dataclass
class Row:
    entry: Entry
    record: Record
    title: str
    author: str
    date: str  # YYYY[-MM[-DD]] from the database's date field, else the record's date or year
    href: str
    values: list[tuple[str, str]] = field(default_factory=list)  # (label, shown value)
    thumb: str = ""  # the IIIF URL of its first page image, for the list (set by the view)


@dataclass
class FacetValue:
    value: str
    count: int
    href: str
    selected: bool


@dataclass
class Facet:
    key: str
    label: str
    values: list[FacetValue]


@dataclass
class Browse:
    page: Page[Row]
    total: int
    facets: list[Facet]
    query: str
    selected: dict[str, list[str]]
    place: str
    page_links: dict[str, str]


def published_databases() -> list[Database]:
    return list(
        Database.objects.filter(status="published")
        .select_related("collection", "repository")
        .order_by("repository__code", "slug")
    )


def public_database(archives_code: str, slug: str) -> Database | None:
    return (
        Database.objects.filter(status="published", repository__code=archives_code, slug=slug)
        .select_related("collection", "repository")
        .first()
    )


def database_url(database: Database, view: str = "database") -> str:
    return reverse(f"public_databases:{view}", args=[database.repository.code, database.slug])


def record_url(database: Database, record: Record) -> str:
    return reverse(
        "public_databases:record",
        args=[database.repository.code, database.slug, record.reference_code],
    )


def stable_record_url(record: Record) -> str:
    """The record's own public page (access: /public/archives/{archives}/{档号}/)."""
    return public_record_path(record.repository.code, record.reference_code, record.pk)


def path_quote(text: str, slashes: bool = False) -> str:
    """A path segment as Django's reverse() and the IIIF URLs of interop quote it."""
    return quote(text, safe=PATH_SAFE + ("/" if slashes else ""))


def public_rows(database: Database) -> list[Row]:
    """The entries whose records the public may see now, by 档号."""
    entries = list(
        Entry.objects.filter(
            database=database,
            record__in=open_records().filter(collections=database.collection),
        )
        .select_related("record", "record__repository")
        .order_by("record__reference_code", "record_id")
    )
    copies = open_copies.open_copies([e.record_id for e in entries])
    fields = database.fields
    date_keys = [f["key"] for f in fields if f.get("type") == "date"]
    rows = []
    for entry in entries:
        record, copy = entry.record, copies.get(entry.record_id)
        own_date = next((str(entry.values[k]) for k in date_keys if entry.values.get(k)), "")
        rows.append(
            Row(
                entry=entry,
                record=record,
                title=str(open_copies.public_value(record, "title", copy) or ""),
                author=str(open_copies.public_value(record, "author", copy) or ""),
                date=own_date or _record_date(record, copy),
                href=record_url(database, record),
                values=shown_values(fields, entry.values),
            )
        )
    return rows


def _record_date(record: Record, copy: Any) -> str:
    """The record's date (or year) as the public sees it (a partly opened record's open copy
    may hold its own value)."""
    for name in ("date", "year"):
        value = open_copies.public_value(record, name, copy)
        if isinstance(value, dt.date):
            return value.isoformat()
        if value not in (None, "") and DATE.match(str(value)):
            return str(value)
    return ""


def shown_values(fields: list[dict[str, Any]], values: dict[str, Any]) -> list[tuple[str, str]]:
    out = []
    for f in fields:
        value = values.get(f["key"])
        if value in (None, "", []):
            continue
        out.append((field_label(f), "、".join(value) if isinstance(value, list) else str(value)))
    return out


def field_label(field: dict[str, Any]) -> str:
    """A field's label in the visitor's language (Chinese unless English is asked for and the
    curator gave one)."""
    if (get_language() or "").startswith("en") and field.get("label_en"):
        return str(field["label_en"])
    return str(field.get("label") or field.get("key") or "")


def _facet_values(field: dict[str, Any], values: dict[str, Any]) -> list[str]:
    value = values.get(field["key"])
    if value in (None, "", []):
        return []
    if field.get("type") in MULTI:
        return [str(v) for v in value] if isinstance(value, list) else [str(value)]
    if field.get("type") == "date":
        match = DATE.match(str(value))
        return [match.group(1)] if match else []
    return [str(value)]


def _matches(row: Row, query: str) -> bool:
    text = " ".join([row.record.reference_code, row.title, *(v for _, v in row.values)])
    return query.casefold() in text.casefold()


def _place_names(database: Database, row: Row) -> set[str]:
    keys = [f["key"] for f in database.fields if f.get("type") == "place"]
    names = set()
    for key in keys:
        for value in row.entry.values.get(key) or []:
            place = gazetteer.resolve(str(value))
            if place is not None:
                names.add(place.name)
    return names


def browse(database: Database, params: Any, base: str) -> Browse:
    """One page of the database as a visitor asked for it: `params` is request.GET (q, page,
    f_<key> facet values, place)."""
    rows = public_rows(database)
    query = " ".join(str(params.get("q", "")).split())[:MAX_QUERY]
    place = str(params.get("place", ""))[:MAX_QUERY]
    facet_fields = [f for f in database.fields if f.get("facet")]
    selected = {
        f["key"]: [v[:MAX_QUERY] for v in params.getlist(FACET_PREFIX + f["key"]) if v][:20]
        for f in facet_fields
    }
    selected = {k: v for k, v in selected.items() if v}
    if query:
        rows = [r for r in rows if _matches(r, query)]
    if place:
        rows = [r for r in rows if place in _place_names(database, r)]
    for key, wanted in selected.items():
        f = next(f for f in facet_fields if f["key"] == key)
        rows = [r for r in rows if set(_facet_values(f, r.entry.values)) & set(wanted)]
    state = {"q": query, "place": place, "selected": selected}
    facets = []
    for f in facet_fields:
        counts: Counter[str] = Counter()
        for row in rows:
            counts.update(set(_facet_values(f, row.entry.values)))
        ordered = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:MAX_FACET_VALUES]
        if f.get("type") == "date":
            ordered.sort(key=lambda kv: kv[0])
        chosen = selected.get(f["key"], [])
        facets.append(
            Facet(
                f["key"],
                field_label(f),
                [
                    FacetValue(v, n, base + _toggle(state, f["key"], v), v in chosen)
                    for v, n in ordered
                ],
            )
        )
    page = Paginator(rows, PAGE_SIZE).get_page(params.get("page"))
    links = {}
    if page.has_previous():
        links["previous"] = base + _query(state, page.previous_page_number())
    if page.has_next():
        links["next"] = base + _query(state, page.next_page_number())
    return Browse(page, len(rows), facets, query, selected, place, links)


def _query(state: dict[str, Any], page: int | None = None) -> str:
    pairs: list[tuple[str, str]] = []
    if state["q"]:
        pairs.append(("q", state["q"]))
    if state["place"]:
        pairs.append(("place", state["place"]))
    for key, values in state["selected"].items():
        pairs.extend((FACET_PREFIX + key, v) for v in values)
    if page and page > 1:
        pairs.append(("page", str(page)))
    return "?" + urlencode(pairs) if pairs else ""


def _toggle(state: dict[str, Any], key: str, value: str) -> str:
    selected = {k: list(v) for k, v in state["selected"].items()}
    values = selected.setdefault(key, [])
    if value in values:
        values.remove(value)
    else:
        values.append(value)
    return _query({**state, "selected": {k: v for k, v in selected.items() if v}})


def clear_links(b: Browse, base: str) -> list[tuple[str, str]]:
    """(what, link without it) for each active filter: the visitor's way back."""
    state = {"q": b.query, "place": b.place, "selected": b.selected}
    out = []
    if b.query:
        out.append((b.query, base + _query({**state, "q": ""})))
    if b.place:
        out.append((b.place, base + _query({**state, "place": ""})))
    for key, values in b.selected.items():
        for value in values:
            out.append((value, base + _toggle(state, key, value)))
    return out


def timeline(rows: list[Row]) -> list[dict[str, Any]]:
    """Events for exhibits/_timeline.html: every row with a date, by date."""
    events = []
    for row in rows:
        match = DATE.match(row.date)
        if match:
            events.append(
                {
                    "year": int(match.group(1)),
                    "date": row.date,
                    "title": row.title,
                    "href": row.href,
                }
            )
    events.sort(key=lambda e: (e["date"], e["title"]))
    return events


def map_data(
    database: Database, rows: list[Row], base: str
) -> tuple[list[MapPoint], list[dict[str, Any]], dict[str, int]]:
    """Map points (one per resolved place, counting records), the places as a text list, and
    the place values the gazetteer does not know (with how many records name them)."""
    keys = [f["key"] for f in database.fields if f.get("type") == "place"]
    counts: Counter[str] = Counter()
    unresolved: Counter[str] = Counter()
    known: dict[str, gazetteer.Place] = {}
    for row in rows:
        here: set[str] = set()
        for key in keys:
            for value in row.entry.values.get(key) or []:
                place = gazetteer.resolve(str(value))
                if place is None:
                    unresolved[str(value)] += 1
                else:
                    known[place.name] = place
                    here.add(place.name)
        counts.update(here)
    ordered = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    points = []
    places = []
    for name, n in ordered:
        href = base + "?" + urlencode({"place": name})
        place = known[name]
        points.append(MapPoint(name, place.lon, place.lat, href, n))
        places.append({"label": name, "count": n, "href": href})
    return points, places, dict(sorted(unresolved.items(), key=lambda kv: (-kv[1], kv[0])))


def public_row(database: Database, reference_code: str) -> Row | None:
    """The row of a record in the database by its 档号, if the public may see it now (a record
    of the database's own 档案馆 first where 档号 repeat across archives)."""
    found = [r for r in public_rows(database) if r.record.reference_code == reference_code]
    found.sort(key=lambda r: (r.record.repository_id != database.repository_id, r.record.pk))
    return found[0] if found else None


def accessed_today() -> dt.date:
    return dt.date.today()
