"""The columns of a civil-affairs export of marriage registrations: which header (登记类别,
男方姓名, 当事人1身份证号 …, or Lantai's own field names) is which field, from the aliases in
``data/marriage-profile.yaml``; and the usual header of a field, to name a missing column."""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from ._data import load_data

__all__ = ["HeaderMap", "map_headers", "missing_columns", "usual_header"]


def _columns() -> dict[str, Any]:
    return load_data("marriage-profile.yaml")["columns"]  # type: ignore[no-any-return]


@dataclass(frozen=True)
class HeaderMap(Mapping[int, str]):
    """How the headers of an export map to fields. As a mapping: column index → header as given,
    for the recognised columns only (build each row as ``{header: cell}`` from it and pass that
    to validate_row). ``fields`` header → field (``date``, ``party1_name`` …), ``implied_sex``
    party number → sex for 男方/女方 columns, ``unknown`` headers that map to nothing,
    ``duplicates`` headers that map to an already mapped field."""

    columns: Mapping[int, str]
    fields: Mapping[str, str]
    implied_sex: Mapping[int, str]
    unknown: tuple[str, ...]
    duplicates: tuple[str, ...]

    def __getitem__(self, index: int) -> str:
        return self.columns[index]

    def __iter__(self) -> Iterator[int]:
        return iter(self.columns)

    def __len__(self) -> int:
        return len(self.columns)


_HEADER_PUNCT = re.compile(r"[\s_\-():：（）]+")


def _header_key(header: str) -> str:
    return _HEADER_PUNCT.sub("", unicodedata.normalize("NFKC", header)).casefold()


@functools.cache
def _header_index() -> dict[str, tuple[str, str | None]]:
    """normalised header → (field, implied sex)."""
    cols = _columns()
    index: dict[str, tuple[str, str | None]] = {}
    for field, names in cols["fields"].items():
        for name in names:
            index[_header_key(str(name))] = (str(field), None)
    for group in cols["party_prefixes"]:
        party = int(group["party"])
        sex = str(group["sex"]) if group.get("sex") else None
        for prefix in group["prefixes"]:
            for field, names in cols["party_fields"].items():
                for name in (*names, field):
                    key = _header_key(f"{prefix}{name}")
                    index.setdefault(key, (f"party{party}_{field}", sex))
    for party in (1, 2):
        for field in cols["party_fields"]:
            index[_header_key(f"party{party}_{field}")] = (f"party{party}_{field}", None)
    return index


@functools.lru_cache(maxsize=64)
def _map_headers(headers: tuple[str, ...]) -> HeaderMap:
    index = _header_index()
    columns: dict[int, str] = {}
    fields: dict[str, str] = {}
    implied: dict[int, str] = {}
    unknown: list[str] = []
    duplicates: list[str] = []
    taken: set[str] = set()
    for i, header in enumerate(headers):
        hit = index.get(_header_key(header))
        if hit is None:
            if header.strip():
                unknown.append(header)
            continue
        field, sex = hit
        if field in taken:
            duplicates.append(header)
        taken.add(field)
        columns[i] = header
        fields[header] = field
        if sex is not None:
            implied[int(field[5])] = sex
    return HeaderMap(columns, fields, implied, tuple(unknown), tuple(duplicates))


def map_headers(headers: Iterable[object]) -> HeaderMap:
    """Map the column headers of a civil-affairs export (登记类别, 男方姓名, 当事人1身份证号 …)
    or Lantai's own field names to fields. Empty cells (None) count as empty headers."""
    return _map_headers(tuple("" if h is None else str(h) for h in headers))


# Columns without which no row can be valid (sex may come from 男方/女方 or the ID number).
_REQUIRED_FIELDS = ("kind", "date", "office", "region_code", "party1_name", "party2_name")


def missing_columns(headers: HeaderMap) -> list[str]:
    """The required columns no header maps to, named by their usual header (登记日期, 男方姓名 …),
    so an importer can refuse the file before reading its rows."""
    present = set(headers.fields.values())
    return [usual_header(f) for f in _REQUIRED_FIELDS if f not in present]


@functools.cache
def usual_header(field: str) -> str:
    cols = _columns()
    if field in cols["fields"]:
        return str(cols["fields"][field][0])
    party, _, name = field.partition("_")
    group = next(g for g in cols["party_prefixes"] if f"party{g['party']}" == party)
    return f"{group['prefixes'][0]}{cols['party_fields'][name][0]}"
