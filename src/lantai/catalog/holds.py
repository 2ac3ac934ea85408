"""Holds on records (档案法 art 31: a donor's conditions on access, publication and reproduction
of what was donated), in the catalogue so that every room that decides what the public sees asks
the same question: is this record under a hold in force today?

A hold is placed by the room that knows its reason (holdings places the donor's restrictions on
the records described from the accession) with `place`, and lifted with `release`. A hold is in
force from `starts_on` to `until` inclusive (open-ended when `until` is None). Whether a hold is in
force is decided against the clock when the question is asked (`in_force`), so a hold that runs out
stops applying on its date without anyone acting. What the scopes do:

- access: the record is not public at all (catalog.services.records_in_scope for the public,
  hence catalog.public, the portal, OAI-PMH, IIIF, the thematic databases and exhibitions; the
  public search leaves it out inside the backend's query); open review refuses to open it.
- publication: the record stays findable by its description, but its content (page images, PDF,
  recordings, full-text snippets) is not published.
- reproduction: the reading room makes no copies of it (`refusal` gives the message).

Derived copies that remember what is public (the OAI-PMH table, the search index) are told by
`touch`, which stamps the records' updated_at so that their periodic catch-up reads them again;
the nightly `touch_ended` does the same for holds that ran out by date."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from lantai.catalog.models import Record, RecordHold

SCOPES = ("access", "publication", "reproduction")
SCOPE_ZH = {"access": "利用", "publication": "公布", "reproduction": "复制"}
SOURCE_ZH = {"donor": "捐赠者限制"}


def today() -> dt.date:
    return timezone.localdate()


def in_force(scope: str | None = None, on: dt.date | None = None) -> QuerySet[RecordHold]:
    """The holds in force on `on` (today), of `scope` (any)."""
    day = on or today()
    qs = RecordHold.objects.filter(starts_on__lte=day).filter(
        Q(until__isnull=True) | Q(until__gte=day)
    )
    return qs.filter(scope=scope) if scope else qs


def not_held(scope: str = "access", on: dt.date | None = None) -> Any:
    """An expression for a Record queryset: the record is NOT under a hold of `scope` in force
    (use as ``qs.filter(not_held())``)."""
    return ~Exists(in_force(scope, on).filter(record_id=OuterRef("pk")))


def held_ids(
    scope: str = "access", among: Iterable[int] | None = None, on: dt.date | None = None
) -> set[int]:
    """The ids of the records under a hold of `scope` in force (of `among`, when given)."""
    qs = in_force(scope, on)
    if among is not None:
        wanted = sorted({int(i) for i in among})
        if not wanted:
            return set()
        qs = qs.filter(record_id__in=wanted)
    return set(qs.values_list("record_id", flat=True))


def publicly_held_ids(scope: str = "access", on: dt.date | None = None) -> frozenset[int]:
    """The records the public would otherwise see (开放, 密级 公开) that a hold of `scope` in
    force keeps out: the only ones a public search must leave out for a hold."""
    rows = in_force(scope, on).filter(record__open_status="open", record__classification_level=0)
    return frozenset(rows.values_list("record_id", flat=True))


def holds_of(record_ids: Iterable[int], on: dt.date | None = None) -> dict[int, list[RecordHold]]:
    """By record, the holds in force (one query)."""
    wanted = sorted({int(i) for i in record_ids})
    out: dict[int, list[RecordHold]] = {}
    if wanted:
        for hold in in_force(None, on).filter(record_id__in=wanted).order_by("record_id", "pk"):
            out.setdefault(hold.record_id, []).append(hold)
    return out


def describe(hold: RecordHold) -> str:
    """The hold in words (Chinese), naming its source, reference, scope and term."""
    term = f"至 {hold.until.isoformat()}" if hold.until else "未定期限"
    ref = f"（{hold.reference}）" if hold.reference else ""
    source = SOURCE_ZH.get(hold.source, hold.source)
    return f"{source}{ref}：限制{SCOPE_ZH.get(hold.scope, hold.scope)}，{term}：{hold.reason}"


def refusal(record_id: int, scope: str, on: dt.date | None = None) -> str | None:
    """Why `scope` (access, publication, reproduction) of this record is refused today; None when
    no hold of that scope is in force."""
    hold = in_force(scope, on).filter(record_id=record_id).order_by("pk").first()
    if hold is None:
        return None
    code = Record.objects.filter(pk=record_id).values_list("reference_code", flat=True).first()
    return f"档案“{code or record_id}”受{describe(hold)}"


def refusals(record_ids: Iterable[int], scope: str, on: dt.date | None = None) -> dict[int, str]:
    """`refusal` for many records (two queries): record id -> why, for those held."""
    wanted = sorted({int(i) for i in record_ids})
    if not wanted:
        return {}
    first: dict[int, RecordHold] = {}
    for hold in in_force(scope, on).filter(record_id__in=wanted).order_by("record_id", "pk"):
        first.setdefault(hold.record_id, hold)
    codes = dict(Record.objects.filter(pk__in=list(first)).values_list("pk", "reference_code"))
    return {r: f"档案“{codes.get(r) or r}”受{describe(h)}" for r, h in first.items()}


@dataclass(frozen=True)
class Terms:
    """What a hold says, for `place`."""

    source: str
    scope: str
    starts_on: dt.date
    until: dt.date | None
    reason: str
    reference: str = ""


def place(source_key: str, record_ids: Iterable[int], terms: Terms) -> set[int]:
    """Make the holds of `source_key` exactly these records with these terms (added, changed or
    removed as needed); returns the ids of the records whose holds changed (touched)."""
    if terms.scope not in SCOPES:
        raise ValueError(f"unknown hold scope: {terms.scope}")
    wanted = {int(i) for i in record_ids}
    changed: set[int] = set()
    with transaction.atomic():
        existing = {h.record_id: h for h in RecordHold.objects.filter(source_key=source_key)}
        gone = [h.pk for r, h in existing.items() if r not in wanted]
        if gone:
            RecordHold.objects.filter(pk__in=gone).delete()
            changed |= {r for r in existing if r not in wanted}
        values = {
            "source": terms.source, "scope": terms.scope, "starts_on": terms.starts_on,
            "until": terms.until, "reason": terms.reason, "reference": terms.reference[:64],
        }  # fmt: skip
        stale = [
            h for r, h in existing.items()
            if r in wanted and any(getattr(h, k) != v for k, v in values.items())
        ]  # fmt: skip
        for h in stale:
            for k, v in values.items():
                setattr(h, k, v)
        if stale:
            RecordHold.objects.bulk_update(stale, list(values), batch_size=500)
            changed |= {h.record_id for h in stale}
        new = sorted(wanted - existing.keys())
        if new:
            present = set(Record.objects.filter(pk__in=new).values_list("pk", flat=True))
            RecordHold.objects.bulk_create(
                [
                    RecordHold(record_id=r, source_key=source_key, **values)
                    for r in new
                    if r in present
                ],
                batch_size=500,
            )
            changed |= present
        touch(changed)
    return changed


def release(source_key: str) -> set[int]:
    """Lift every hold of `source_key`; returns the records touched."""
    with transaction.atomic():
        ids = set(
            RecordHold.objects.filter(source_key=source_key).values_list("record_id", flat=True)
        )
        RecordHold.objects.filter(source_key=source_key).delete()
        touch(ids)
    return ids


def touch(record_ids: Iterable[int]) -> None:
    """Stamp the records' updated_at: the OAI-PMH sync and the search catch-up read records
    updated since their watermark again, so a hold that starts or ends reaches them."""
    ids = sorted({int(i) for i in record_ids})
    now = timezone.now()
    for start in range(0, len(ids), 1000):
        Record.objects.filter(pk__in=ids[start : start + 1000]).update(updated_at=now)


def touch_ended(since: dt.date, on: dt.date | None = None) -> set[int]:
    """Touch the records whose holds ran out by date after `since` and by `on` (today): the
    nightly job, so that the derived copies show them again without anyone acting (the public
    rule itself already compares with the clock)."""
    day = on or today()
    ids = set(
        RecordHold.objects.filter(until__gte=since, until__lt=day).values_list(
            "record_id", flat=True
        )
    )
    ids |= set(
        RecordHold.objects.filter(starts_on__gt=since, starts_on__lte=day).values_list(
            "record_id", flat=True
        )
    )
    touch(ids)
    return ids
