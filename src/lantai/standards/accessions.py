"""Accessions (征集/接收登记), the pure parts: the kinds and restriction scopes from
``data/accession-kinds.yaml``, the accession number ("ZJ-2026-0001") and the masking of a donor's
identity document number."""

from __future__ import annotations

import re

from ._data import load_data

NUMBER_PREFIX = "ZJ"
NUMBER_PATTERN = re.compile(r"^ZJ-(\d{4})-(\d{4,})$")


def kinds() -> list[str]:
    return [str(k["value"]) for k in load_data("accession-kinds.yaml")["kinds"]]


def restriction_scopes() -> list[str]:
    return [str(s["value"]) for s in load_data("accession-kinds.yaml")["restriction_scopes"]]


def accession_number(year: int, sequence: int) -> str:
    """The number of the `sequence`-th accession of `year` in a repository."""
    return f"{NUMBER_PREFIX}-{year:04d}-{sequence:04d}"


def number_sequence(number: str) -> tuple[int, int] | None:
    """(year, sequence) of an accession number, None when it is not one."""
    m = NUMBER_PATTERN.match(number)
    return (int(m.group(1)), int(m.group(2))) if m else None


def mask_id_number(value: str) -> str:
    """Keep the first 3 and last 4 characters of an identity document number (fewer for short
    ones), so a list can tell documents apart without showing them."""
    value = value.strip()
    if len(value) <= 4:
        return "*" * len(value)
    keep_head = 3 if len(value) > 10 else 1
    return value[:keep_head] + "*" * (len(value) - keep_head - 4) + value[-4:]
