"""Writing marriage files: for each registration a catalogue record (category HY, 档号 by the
category's rule, closed: personal information is never opened with the catalogue) and its
registration and parties. Used by the import and by the demo; rows go in bulk (thousands per
statement), so a whole civil-affairs export is written in one transaction in seconds."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from lantai.catalog.models import Category, Fonds, Record
from lantai.catalog.services import adjust_year_counts, create_category
from lantai.core.sm3 import sm3_hex
from lantai.standards import marriage_names, marriage_profile
from lantai.standards.archival_code import get_rule

from . import identity
from .models import Party, Registration

CATEGORY = "HY"
CHUNK = 2000


def category_of(fonds: Fonds) -> Category:
    """The fonds' 婚姻登记 category, made on first use."""
    found = Category.objects.filter(fonds=fonds, code=CATEGORY).first()
    return found or create_category(fonds, CATEGORY)


def row_key(reg: marriage_profile.Registration) -> str:
    """SM3 of what identifies a registration (re-importing the same export changes nothing)."""
    people = "|".join(
        (identity.lookup_hash(p.id_type or "", p.id_number) if p.id_number else "") + p.name
        for p in reg.parties
    )
    return sm3_hex(
        f"{reg.kind}|{reg.date.isoformat()}|{reg.region_code}|{reg.certificate_number or ''}|{people}".encode()
    )


def title_of(reg: marriage_profile.Registration) -> str:
    names = "、".join(p.name for p in reg.parties)
    return f"{names}{marriage_profile.kind(reg.kind).label_zh}登记"


@dataclass
class Written:
    created: list[int]  # record ids
    unchanged: int


class _Numbers:
    """The next item number under each 档号 prefix of the category."""

    def __init__(self, category: Category) -> None:
        self.category = category
        self.rule = get_rule(category.code_rule)
        self.next: dict[str, int] = {}

    def code(self, year: int, retention: str) -> tuple[str, str, int]:
        parts: dict[str, str | int] = {"fonds": self.category.fonds.code, "category": CATEGORY, "year": year,
                 "retention": retention}  # fmt: skip
        prefix = self.rule.build({**parts, "item": 1}).rsplit("-", 1)[0]
        if prefix not in self.next:
            top = Record.objects.filter(category=self.category, sequence_prefix=prefix).aggregate(
                m=Max("sequence_number")
            )["m"]
            self.next[prefix] = (top or 0) + 1
        n = self.next[prefix]
        self.next[prefix] = n + 1
        return self.rule.build({**parts, "item": n}), prefix, n


def write(
    fonds: Fonds,
    registrations: Sequence[marriage_profile.Registration],
    *,
    run_id: int | None = None,
) -> Written:
    """Write the registrations not already in the fonds (by row_key); all in one transaction."""
    category = category_of(fonds)
    numbers = _Numbers(category)
    keyed = [(row_key(r), r) for r in registrations]
    existing: set[str] = set()
    for start in range(0, len(keyed), CHUNK):
        keys = [k for k, _ in keyed[start : start + CHUNK]]
        existing.update(
            Record.objects.filter(category=category, row_hash__in=keys).values_list(
                "row_hash", flat=True
            )
        )
    fresh: dict[str, marriage_profile.Registration] = {}
    for key, reg in keyed:
        if key not in existing:
            fresh.setdefault(key, reg)  # the same row twice in one file is written once
    created: list[int] = []
    years: dict[int | None, int] = {}
    now = timezone.now()
    items = list(fresh.items())
    with transaction.atomic():
        for start in range(0, len(items), CHUNK):
            chunk = items[start : start + CHUNK]
            records = []
            for key, reg in chunk:
                code, prefix, n = numbers.code(reg.date.year, reg.retention)
                records.append(
                    Record(
                        repository_id=fonds.repository_id, fonds=fonds, category=category,
                        level="item", reference_code=code, sequence_prefix=prefix,
                        sequence_number=n, year=reg.date.year, retention=reg.retention,
                        title=title_of(reg), author=reg.office, date=reg.date,
                        classification="public", open_status="closed", row_hash=key,
                        metadata={"marriage": {"kind": reg.kind,
                                               "certificate_number": reg.certificate_number}},
                        created_at=now, updated_at=now,
                    )
                )  # fmt: skip
                years[reg.date.year] = years.get(reg.date.year, 0) + 1
            Record.objects.bulk_create(records)
            Registration.objects.bulk_create(
                Registration(
                    record=rec,
                    kind=reg.kind,
                    date=reg.date,
                    office=reg.office,
                    region_code=reg.region_code,
                    certificate_number=reg.certificate_number or "",
                    import_run_id=run_id,
                )  # fmt: skip
                for rec, (_key, reg) in zip(records, chunk, strict=True)
            )
            Party.objects.bulk_create(
                party_row(rec.pk, position, p, reg.date.year)
                for rec, (_key, reg) in zip(records, chunk, strict=True)
                for position, p in enumerate(reg.parties, start=1)
            )
            created.extend(r.pk for r in records)
        if years:
            adjust_year_counts(category.pk, years)
    return Written(created, len(keyed) - len(fresh))


def party_row(registration_id: int, position: int, p: marriage_profile.Party, year: int) -> Party:
    keys = marriage_names.name_keys(p.name)
    number = p.id_number or ""  # old files may carry no identity document
    return Party(
        registration_id=registration_id, position=position, name=p.name, sex=p.sex,
        id_type=p.id_type or "", id_hash=identity.lookup_hash(p.id_type or "", number) if number else "",
        id_masked=identity.mask(number) if number else "", id_sealed=identity.seal(number) if number else "",
        nationality=p.nationality, birth_date=p.birth_date, year=year,
        name_pinyin=keys.pinyin, name_shape=keys.shape, name_skeleton=keys.skeleton or "",
    )  # fmt: skip
