"""Spreadsheet headers ↔ record fields (data: data/catalogue_columns.yaml)."""

from __future__ import annotations

import hashlib
import json
from functools import cache
from pathlib import Path
from typing import Any

import yaml

DATA = Path(__file__).parent / "data" / "catalogue_columns.yaml"


@cache
def _spec() -> dict[str, Any]:
    with DATA.open(encoding="utf-8") as f:
        return dict(yaml.safe_load(f))


@cache
def synonyms() -> dict[str, str]:
    """Normalised header text -> field name."""
    out: dict[str, str] = {}
    for field, names in _spec()["fields"].items():
        for name in names:
            out[normalise_header(str(name))] = field
    return out


def field_names() -> list[str]:
    return list(_spec()["fields"])


def required_fields() -> list[str]:
    return list(_spec()["required"])


def export_columns() -> list[tuple[str, str]]:
    return [(h, f) for h, f in _spec()["export"]]


def field_label(field: str) -> str:
    """The Chinese header for a field (its first synonym)."""
    names = _spec()["fields"].get(field)
    return str(names[0]) if names else field


def normalise_header(text: str) -> str:
    return "".join(str(text).split()).replace("(", "（").replace(")", "）").lower()


def auto_mapping(headers: list[str]) -> dict[str, str]:
    """Header -> field for the headers we recognise ("" for the others, kept as extra metadata)."""
    known = synonyms()
    mapping: dict[str, str] = {}
    used: set[str] = set()
    for h in headers:
        field = known.get(normalise_header(h), "")
        if field in used:
            field = ""  # a second column for the same field stays as extra data
        if field:
            used.add(field)
        mapping[h] = field
    return mapping


def recognised_count(cells: list[str]) -> int:
    known = synonyms()
    return sum(1 for c in cells if normalise_header(c) in known)


def signature(headers: list[str]) -> str:
    norm = [normalise_header(h) for h in headers]
    return hashlib.sha256(json.dumps(norm, ensure_ascii=False).encode()).hexdigest()
