"""The blocks of an online exhibition (网上展厅) page, as data (data/exhibit-blocks.yaml), and
their validation: pure functions that return every problem found, each naming its place
(section, page, block, field) and the rule broken, in Chinese and in English.

Content is {"sections": [{"title", "title_en", "pages": [{"slug", "title", "title_en",
"blocks": [{"kind": ..., <fields of the kind>}]}]}]}; an item (one page image) is
{"record", "component", "alt", "alt_en", "caption", "caption_en"}.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from lantai.standards._data import load_data

DATA_FILE = "exhibit-blocks.yaml"
SLUG = re.compile(r"[a-z0-9][a-z0-9-]*\Z")
DATE = re.compile(r"(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?\Z")
PlaceResolver = Callable[[str], object | None]


@dataclass(frozen=True)
class Kind:
    code: str
    label: str
    label_en: str
    fields: Mapping[str, Mapping[str, Any]]


@dataclass(frozen=True)
class Problem:
    """One thing wrong, where it is (1-based numbers; None above the level) and the rule."""

    rule: str
    zh: str
    en: str
    section: int | None = None
    page: int | None = None
    block: int | None = None
    field: str = ""

    def __str__(self) -> str:
        return self.zh


def _data() -> dict[str, Any]:
    return load_data(DATA_FILE)


def kinds() -> dict[str, Kind]:
    return {
        code: Kind(code, spec["label"], spec["label_en"], spec["fields"])
        for code, spec in _data()["kinds"].items()
    }


def kind(code: str) -> Kind | None:
    return kinds().get(code)


def limits() -> Mapping[str, int]:
    return _data()["limits"]  # type: ignore[no-any-return]


def _label(name: str, lang: str) -> str:
    base = name.removesuffix("_en")
    labels = _data()["field_labels"].get(base, {"zh": base, "en": base})
    if name.endswith("_en"):
        return str(labels["zh"]) + "（英文）" if lang == "zh" else "English " + str(labels["en"])
    return str(labels[lang])


def _where_zh(s: int | None, p: int | None, b: int | None, kind_code: str) -> str:
    parts = []
    if s is not None:
        parts.append(f"第{s}部分")
    if p is not None:
        parts.append(f"第{p}页")
    if b is not None:
        known = kind(kind_code)
        parts.append(f"第{b}块" + (f"（{known.label}）" if known else ""))
    return "".join(parts)


def _where_en(s: int | None, p: int | None, b: int | None, kind_code: str) -> str:
    parts = []
    if s is not None:
        parts.append(f"section {s}")
    if p is not None:
        parts.append(f"page {p}")
    if b is not None:
        known = kind(kind_code)
        parts.append(f"block {b}" + (f" ({known.label_en.lower()})" if known else ""))
    return ", ".join(parts).capitalize()


class _Collector:
    """Problems of one block (or page, or section), with its place."""

    def __init__(self, s: int | None, p: int | None, b: int | None, kind_code: str = "") -> None:
        self.s, self.p, self.b, self.kind = s, p, b, kind_code
        self.problems: list[Problem] = []

    def add(
        self, rule: str, field: str = "", inner: tuple[str, str] = ("", ""), **values: Any
    ) -> None:
        text = _data()["rules"][rule]
        label_zh = _label(field.rpartition(".")[2], "zh") if field else ""
        label_en = _label(field.rpartition(".")[2], "en") if field else ""
        zh = text["zh"].format(field=label_zh, **values)
        en = text["en"].format(field=label_en, **values)
        place_zh = _where_zh(self.s, self.p, self.b, self.kind) + inner[0]
        place_en = ", ".join(
            x for x in (_where_en(self.s, self.p, self.b, self.kind), inner[1]) if x
        )
        self.problems.append(
            Problem(
                rule,
                f"{place_zh}：{zh}" if place_zh else zh,
                f"{place_en}: {en}" if place_en else en[:1].upper() + en[1:],
                self.s,
                self.p,
                self.b,
                field,
            )
        )


def valid_date(text: str) -> bool:
    match = DATE.match(text)
    if not match:
        return False
    year, month, day = (int(g) if g else None for g in match.groups())
    try:
        dt.date(year or 1, month or 1, day or 1)
    except ValueError:
        return False
    return True


def _check_fields(
    values: Mapping[str, Any],
    spec: Mapping[str, Mapping[str, Any]],
    out: _Collector,
    prefix: str,
    inner: tuple[str, str],
    resolve_place: PlaceResolver | None,
) -> None:
    for name in values:
        if name not in spec and name != "kind":
            out.add("unknown_field", f"{prefix}{name}", inner)
    for name, rule in spec.items():
        value = values.get(name)
        field = f"{prefix}{name}"
        empty = value is None or (isinstance(value, str) and not value.strip())
        if empty:
            if rule.get("required"):
                out.add("alt_required" if name == "alt" else "required", field, inner)
            continue
        kind_of = rule["type"]
        if kind_of == "text":
            if not isinstance(value, str):
                out.add("not_text", field, inner)
            elif len(value) > rule.get("max", 10**6):
                out.add("too_long", field, inner, n=rule["max"])
        elif kind_of == "int":
            if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                out.add("not_int", field, inner)
        elif kind_of == "number":
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
                out.add("not_number", field, inner)
        elif kind_of == "date":
            if not isinstance(value, str) or not valid_date(value):
                out.add("not_date", field, inner, value=value)
        elif kind_of == "item":
            _check_item(value, out, f"{field}.", inner, resolve_place)
        else:  # a list: items, events, places
            _check_list(name, kind_of, value, rule, out, field, inner, resolve_place)


def _check_item(
    value: Any, out: _Collector, prefix: str, inner: tuple[str, str], resolve: PlaceResolver | None
) -> None:
    if not isinstance(value, Mapping):
        out.add("not_mapping", prefix.rstrip("."), inner)
        return
    _check_fields(value, _data()["item_fields"], out, prefix, inner, resolve)


def _check_list(
    name: str,
    kind_of: str,
    value: Any,
    rule: Mapping[str, Any],
    out: _Collector,
    field: str,
    inner: tuple[str, str],
    resolve_place: PlaceResolver | None,
) -> None:
    if not isinstance(value, list):
        out.add("not_list", field, inner)
        return
    if len(value) < rule.get("min", 0):
        out.add("too_few", field, inner, n=rule["min"])
    if len(value) > rule.get("max", 10**6):
        out.add("too_many", field, inner, n=rule["max"])
    nouns = {
        "items": ("幅图", "image"),
        "events": ("个事件", "event"),
        "places": ("个地点", "place"),
    }
    zh_noun, en_noun = nouns[kind_of]
    spec = {"items": "item_fields", "events": "event_fields", "places": "place_fields"}[kind_of]
    for i, entry in enumerate(value, 1):
        here = (f"第{i}{zh_noun}", f"{en_noun} {i}")
        if not isinstance(entry, Mapping):
            out.add("not_mapping", f"{name}.{i}", here)
            continue
        _check_fields(entry, _data()[spec], out, f"{name}.{i}.", here, resolve_place)
        place = str(entry.get("place") or "").strip() if kind_of == "places" else ""
        if place and resolve_place and resolve_place(place) is None:
            out.add("unknown_place", f"{name}.{i}.place", here, value=place)


def validate_block(
    block: Any,
    *,
    section: int | None = None,
    page: int | None = None,
    number: int | None = None,
    resolve_place: PlaceResolver | None = None,
) -> list[Problem]:
    """Every problem of one block; [] when it is valid."""
    kind_code = block.get("kind", "") if isinstance(block, Mapping) else ""
    out = _Collector(section, page, number, kind_code)
    if not isinstance(block, Mapping):
        out.add("not_mapping")
        return out.problems
    known = kind(kind_code)
    if known is None:
        out.add("unknown_kind", value=kind_code)
        return out.problems
    _check_fields(block, known.fields, out, "", ("", ""), resolve_place)
    start, end = block.get("start"), block.get("end")
    if isinstance(start, (int, float)) and isinstance(end, (int, float)) and end <= start:
        out.add("end_before_start", "end")
    return out.problems


def slug_problem(slug: Any) -> str | None:
    """The rule a page slug breaks (slug_invalid, slug_reserved), or None."""
    if not isinstance(slug, str) or not SLUG.match(slug) or len(slug) > limits()["slug_max"]:
        return "slug_invalid"
    if slug in _data()["reserved_slugs"]:
        return "slug_reserved"
    return None


def validate_page(
    page: Any, *, section: int, number: int, resolve_place: PlaceResolver | None = None
) -> list[Problem]:
    """The page's own fields (slug, title) and each of its blocks."""
    out = _Collector(section, number, None)
    if not isinstance(page, Mapping):
        out.add("not_mapping")
        return out.problems
    rule = slug_problem(page.get("slug"))
    if rule:
        out.add(rule, "slug", value=page.get("slug"), n=limits()["slug_max"])
    title = page.get("title")
    if not isinstance(title, str) or not title.strip():
        out.add("required", "title")
    elif len(title) > limits()["title_max"]:
        out.add("too_long", "title", n=limits()["title_max"])
    page_blocks = page.get("blocks", [])
    if not isinstance(page_blocks, list):
        out.add("not_list", "blocks")
        return out.problems
    problems = out.problems
    for b, block in enumerate(page_blocks, 1):
        problems += validate_block(
            block, section=section, page=number, number=b, resolve_place=resolve_place
        )
    return problems


def validate_content(
    content: Any, *, complete: bool = False, resolve_place: PlaceResolver | None = None
) -> list[Problem]:
    """Every problem of an exhibition's content. `complete` (for review) also asks that there be
    sections, that each have pages and each page blocks."""
    top = _Collector(None, None, None)
    if not isinstance(content, Mapping):
        top.add("not_mapping")
        return top.problems
    sections = content.get("sections", [])
    if not isinstance(sections, list):
        top.add("not_list", "sections")
        return top.problems
    if complete and not sections:
        top.add("no_sections")
    problems = top.problems
    seen: set[str] = set()
    for s, section in enumerate(sections, 1):
        here = _Collector(s, None, None)
        if not isinstance(section, Mapping):
            here.add("not_mapping")
            problems += here.problems
            continue
        title = section.get("title")
        if not isinstance(title, str) or not title.strip():
            here.add("required", "title")
        pages = section.get("pages", [])
        if not isinstance(pages, list):
            here.add("not_list", "pages")
            pages = []
        if complete and not pages:
            here.add("empty_section")
        problems += here.problems
        for p, page in enumerate(pages, 1):
            problems += validate_page(page, section=s, number=p, resolve_place=resolve_place)
            if not isinstance(page, Mapping):
                continue
            slug = page.get("slug")
            if isinstance(slug, str) and slug in seen:
                dup = _Collector(s, p, None)
                dup.add("slug_duplicate", "slug", value=slug)
                problems += dup.problems
            seen.add(slug if isinstance(slug, str) else "")
            if complete and not page.get("blocks"):
                empty = _Collector(s, p, None)
                empty.add("empty_page")
                problems += empty.problems
    return problems


# --- reading content ----------------------------------------------------------------------------
def block_items(block: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    """The image items of a block (its items, and the images of its timeline events)."""
    for item in block.get("items") or []:
        if isinstance(item, Mapping):
            yield item
    for event in block.get("events") or []:
        if isinstance(event, Mapping) and isinstance(event.get("item"), Mapping):
            yield event["item"]


def blocks(content: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    for section in content.get("sections") or []:
        for page in section.get("pages") or []:
            yield from page.get("blocks") or []


def record_ids(content: Mapping[str, Any], cover: Mapping[str, Any] | None = None) -> set[int]:
    """Every record a content refers to (items, events, places, quotes; and the cover)."""
    ids: set[int] = set()

    def take(value: Any) -> None:
        if isinstance(value, int) and not isinstance(value, bool) and value > 0:
            ids.add(value)

    if cover:
        take(cover.get("record"))
    for block in blocks(content):
        take(block.get("record"))
        for item in block_items(block):
            take(item.get("record"))
        for entry in [*(block.get("events") or []), *(block.get("places") or [])]:
            if isinstance(entry, Mapping):
                take(entry.get("record"))
    return ids


def recording_ids(content: Mapping[str, Any]) -> set[int]:
    return {
        b["recording"]
        for b in blocks(content)
        if b.get("kind") == "media" and isinstance(b.get("recording"), int)
    }
