"""The staff block form: one plain HTML form per block kind, built from exhibit-blocks.yaml, and
its reading back into a block dict. Records are named by 档号 (or id); an item's page image is
picked among the record's public page images. Nothing typed is lost: the form is redrawn from
what was posted whenever it is refused."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from lantai.catalog import public
from lantai.catalog import services as catalog
from lantai.core.models import User
from lantai.standards import exhibit_blocks as eb
from lantai.web.views.common import whole_number

ITEM_TEXT = ("alt", "alt_en", "caption", "caption_en")
LIST_FIELDS = ("items", "events", "places")


@dataclass
class ItemRow:
    index: int
    record_code: str = ""  # what the curator typed (档号 or id)
    record: int | None = None
    component: int | None = None
    texts: dict[str, str] = field(default_factory=dict)
    choices: list[dict[str, Any]] = field(default_factory=list)  # the record's public images
    error: str = ""


@dataclass
class BlockForm:
    kind: str
    label: str
    texts: list[dict[str, Any]]  # [{"name", "label_key", "value", "long"}]
    rows: list[ItemRow]
    max_items: int
    lines: str = ""  # events or places, one per line
    lines_kind: str = ""
    numbers: dict[str, str] = field(default_factory=dict)  # recording, start, end, record
    errors: list[str] = field(default_factory=list)


def find_record(user: User, text: str) -> Any | None:
    """A record the user may see, by 档号 or by id."""
    text = text.strip()
    if not text:
        return None
    qs = catalog.visible_records(user)
    found = qs.filter(reference_code=text).first()
    if found is None and text.isascii() and text.isdigit() and len(text) < 19:
        found = qs.filter(pk=int(text)).first()
    return found


def search_records(user: User, q: str, limit: int = 20) -> list[Any]:
    """Records the user may see whose 档号 starts with, or title holds, `q`."""
    q = q.strip()[:100]
    if not q:
        return []
    from django.db.models import Q

    qs = catalog.visible_records(user).filter(
        Q(reference_code__startswith=q) | Q(title__contains=q)
    )
    return list(qs.order_by("reference_code")[:limit])


def image_choices(record_ids: list[int]) -> dict[int, list[dict[str, Any]]]:
    shown = public.public_images(record_ids)
    return {
        rid: [
            {"pk": c.pk, "name": c.name, "thumb": f"/iiif/3/c{c.pk}/full/!160,160/0/default.jpg"}
            for c in cs
        ]
        for rid, cs in shown.items()
    }


def _codes(ids: set[int]) -> dict[int, str]:
    from lantai.catalog.models import Record

    return dict(Record.objects.filter(pk__in=ids).values_list("pk", "reference_code"))


def _number(text: str) -> int | float | str | None:
    text = text.strip()
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        return text  # validation names it
    return int(value) if value.is_integer() else value


def _int(text: str) -> int | str | None:
    value = _number(text)
    return value if not isinstance(value, float) else text


def blank_form(kind_code: str, block: Mapping[str, Any] | None = None) -> BlockForm:
    """The form of a kind, filled from an existing block."""
    kind = eb.kind(kind_code)
    assert kind is not None
    block = block or {}
    texts = [
        {"name": n, "value": block.get(n, "") or "", "long": n.startswith(("body", "text"))}
        for n, spec in kind.fields.items() if spec["type"] == "text"
    ]  # fmt: skip
    record_code = _codes({block["record"]}) if isinstance(block.get("record"), int) else {}
    numbers = {
        n: record_code.get(block[n], str(block[n])) if n == "record" and block.get(n) else
        "" if block.get(n) is None else str(block.get(n))
        for n, spec in kind.fields.items() if spec["type"] in ("int", "number")
    }  # fmt: skip
    items_spec = kind.fields.get("items")
    rows: list[ItemRow] = []
    if items_spec:
        items = list(block.get("items") or [])
        codes = _codes({i.get("record") for i in items if isinstance(i.get("record"), int)})
        for n, item in enumerate(items):
            rows.append(
                ItemRow(n, codes.get(item.get("record"), str(item.get("record") or "")),
                        item.get("record"), item.get("component"),
                        {t: item.get(t, "") or "" for t in ITEM_TEXT})
            )  # fmt: skip
        want = max(
            items_spec.get("min", 1), len(rows) + (1 if items_spec["max"] > len(rows) else 0)
        )
        while len(rows) < min(want, items_spec["max"]):
            rows.append(ItemRow(len(rows)))
    form = BlockForm(
        kind_code, kind.label, texts, rows, items_spec["max"] if items_spec else 0, numbers=numbers
    )
    entries = [*(block.get("events") or []), *(block.get("places") or [])]
    line_codes = _codes({e["record"] for e in entries if isinstance(e.get("record"), int)})
    if "events" in kind.fields:
        form.lines_kind = "events"
        form.lines = "\n".join(
            " | ".join([str(e.get("date", "")), str(e.get("title", "")), str(e.get("text", "")),
                        line_codes.get(e.get("record"), str(e.get("record") or ""))]).rstrip(" |")
            for e in block.get("events") or []
        )  # fmt: skip
    if "places" in kind.fields:
        form.lines_kind = "places"
        form.lines = "\n".join(
            " | ".join([str(p.get("place", "")), str(p.get("label", "")), line_codes.get(p.get("record"), str(p.get("record") or ""))]).rstrip(" |")
            for p in block.get("places") or []
        )  # fmt: skip
    _fill_choices(form)
    return form


def pick_record(user: User, form: BlockForm, code: str) -> None:
    """Put a record chosen from the search results into the first empty image row."""
    found = find_record(user, code) if code else None
    row = next((r for r in form.rows if not r.record_code), None)
    if found is None or row is None:
        return
    row.record_code, row.record = found.reference_code, found.pk
    _fill_choices(form)


def _fill_choices(form: BlockForm) -> None:
    ids = [r.record for r in form.rows if r.record]
    choices = image_choices(ids)
    for row in form.rows:
        row.choices = choices.get(row.record or 0, [])


def read_form(
    user: User, kind_code: str, post: Mapping[str, Any]
) -> tuple[dict[str, Any], BlockForm]:
    """The block the form describes, and the form redrawn from the post (with lookup errors)."""
    kind = eb.kind(kind_code)
    assert kind is not None
    block: dict[str, Any] = {"kind": kind_code}
    form = blank_form(kind_code)
    for text in form.texts:
        text["value"] = str(post.get(text["name"], ""))
        if text["value"].strip():
            block[text["name"]] = text["value"].strip()
    for name in form.numbers:
        form.numbers[name] = str(post.get(name, ""))
        spec_type = kind.fields[name]["type"]
        value = (_int if spec_type == "int" else _number)(form.numbers[name])
        if name in ("record",) and isinstance(value, str | int) and form.numbers[name].strip():
            found = find_record(user, form.numbers[name])
            value = found.pk if found else form.numbers[name]
            if found is None:
                form.errors.append(
                    f"找不到档号或编号为“{form.numbers[name].strip()}”的档案（或不在您的查阅范围内）"
                )
        if value is not None:
            block[name] = value
    if form.max_items:
        form.rows = []
        for n in range(form.max_items):
            if f"items-{n}-record" not in post:
                break
            row = ItemRow(n, str(post.get(f"items-{n}-record", "")).strip())
            row.texts = {t: str(post.get(f"items-{n}-{t}", "")) for t in ITEM_TEXT}
            picked = str(post.get(f"items-{n}-component", "")).strip()
            row.component = whole_number(picked)
            if row.record_code:
                found = find_record(user, row.record_code)
                if found is None:
                    row.error = (
                        f"找不到档号或编号为“{row.record_code}”的档案（或不在您的查阅范围内）"
                    )
                    form.errors.append(f"第{n + 1}幅图：{row.error}")
                else:
                    row.record = found.pk
            form.rows.append(row)
        _fill_choices(form)
        items = []
        for row in form.rows:
            if not row.record_code and not any(v.strip() for v in row.texts.values()):
                continue  # an untouched blank row
            if row.record and row.component is None and len(row.choices) == 1:
                row.component = row.choices[0]["pk"]
            item: dict[str, Any] = {
                "record": row.record or row.record_code or None,
                "component": row.component,
            }
            item.update({t: v.strip() for t, v in row.texts.items() if v.strip()})
            items.append({k: v for k, v in item.items() if v is not None})
        block["items"] = items
        if len(form.rows) < form.max_items and all(r.record_code for r in form.rows):
            form.rows.append(ItemRow(len(form.rows)))
    if form.lines_kind:
        form.lines = str(post.get("lines", ""))
        block[form.lines_kind] = _read_lines(user, form, form.lines)
    return block, form


def _read_lines(user: User, form: BlockForm, text: str) -> list[dict[str, Any]]:
    out = []
    for n, line in enumerate(text.splitlines(), 1):
        parts = [p.strip() for p in line.split("|")]
        if not any(parts):
            continue
        names: tuple[str, ...] = ("place", "label", "record")
        if form.lines_kind == "events":
            names = ("date", "title", "text", "record")
        entry: dict[str, Any] = {k: v for k, v in zip(names, parts, strict=False) if v}
        if "record" in entry:
            found = find_record(user, entry["record"])
            if found is None:
                form.errors.append(f"第{n}行：找不到档号或编号为“{entry['record']}”的档案")
                entry["record"] = entry["record"]
            else:
                entry["record"] = found.pk
        out.append(entry)
    return out
