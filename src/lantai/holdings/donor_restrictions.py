"""Donor restrictions (档案法 art 31) and the records they reach: each restriction becomes a
catalog.RecordHold on the accession's linked records, asked against the clock at query time (a
restriction ends on its date with nobody acting). Linking and unlinking records to an accession."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

from django.db import transaction
from django.db.models import Count, Q

from lantai.catalog import holds
from lantai.catalog import services as catalog
from lantai.catalog.models import Record
from lantai.core.audit import record
from lantai.core.models import User
from lantai.core.roles import EDIT

from .models import (
    Accession,
    AccessionRecord,
    DonorRestriction,
)
from .services import (
    HoldingsError,
    _actor,
    _date,
    _require,
    _restrictions,
)

# --- restrictions and the records they reach -------------------------------------------------------
HOLD_SOURCE = "donor"
MAX_LINK = 20000


def _hold_key(restriction: DonorRestriction) -> str:
    return f"donor-restriction:{restriction.pk}"


def covered_records(accession: Accession) -> set[int]:
    """The records the accession's restrictions reach: those linked to it and its items'."""
    ids = set(accession.record_links.values_list("record_id", flat=True))
    ids |= set(accession.received_items.exclude(record=None).values_list("record_id", flat=True))
    return ids


def restriction_until(r: DonorRestriction) -> dt.date | None:
    """The last day the restriction applies (None: open-ended, a donor's lifetime)."""
    days = [d for d in (r.until, r.ended_on) if d is not None]
    return min(days) if days else None


def restriction_in_force(r: DonorRestriction, on: dt.date | None = None) -> bool:
    day = on or dt.date.today()
    starts = r.starts_on or r.accession.received_on
    until = restriction_until(r)
    return starts <= day and (until is None or day <= until)


def sync_holds(accession: Accession) -> set[int]:
    """Place the accession's restrictions as holds on the records they reach (and lift those of
    restrictions removed); the records whose holds changed are re-indexed and, when a hold now
    applies, withheld from public search at once. Returns those records."""
    ids = covered_records(accession)
    changed: set[int] = set()
    narrowed: set[int] = set()
    with transaction.atomic():
        # from the table, not a list prefetched with the accession before a restriction was added
        for r in DonorRestriction.objects.filter(accession=accession).select_related("accession"):
            terms = holds.Terms(
                source=HOLD_SOURCE, scope=r.scope,
                starts_on=r.starts_on or accession.received_on, until=restriction_until(r),
                reason=r.text, reference=accession.number,
            )  # fmt: skip
            touched = holds.place(_hold_key(r), ids, terms)
            changed |= touched
            if r.scope == "access" and restriction_in_force(r):
                narrowed |= touched & ids
        if narrowed:
            from lantai.search import services as search

            search.narrowed_by_rule(narrowed)  # the portal's cached counts start again
    if changed:
        _reindex(changed)
    return changed


def _reindex(ids: set[int]) -> None:
    from lantai.search import tasks as search_tasks

    search_tasks.queue_sync(sorted(ids))


def add_restriction(
    user: User | None, accession: Accession, row: Mapping[str, Any]
) -> DonorRestriction:
    """Add a donor's restriction to an accession; it applies to the linked records at once."""
    _require(user, EDIT)
    (restriction,) = _restrictions([row], accession.received_on)
    restriction.starts_on = _date(row.get("starts_on"), "starts_on", "限制起始日期")
    if restriction.starts_on and restriction.until and restriction.until < restriction.starts_on:
        raise HoldingsError(
            f"限制的截止日期（until）{restriction.until.isoformat()} 早于起始日期（starts_on）"
            f"{restriction.starts_on.isoformat()}"
        )
    restriction.accession = accession
    with transaction.atomic():
        Accession.objects.select_for_update().get(pk=accession.pk)  # one desk at a time
        same = DonorRestriction.objects.filter(
            accession=accession, scope=restriction.scope, until=restriction.until,
            donor_lifetime=restriction.donor_lifetime, text=restriction.text,
            starts_on=restriction.starts_on, ended_on=None,
        )  # fmt: skip
        if same.exists():
            raise HoldingsError(f"征集登记 {accession.number} 已有相同的限制：{restriction.text}")
        restriction.save()
        record("holdings.restriction.add", "accession", accession.pk,
               {"number": accession.number, "restriction": restriction.pk, "scope": restriction.scope,
                "until": restriction.until, "donor_lifetime": restriction.donor_lifetime,
                "text": restriction.text}, actor=_actor(user))  # fmt: skip
        sync_holds(accession)
    return restriction


def end_restriction(
    user: User | None, restriction: DonorRestriction, ended_on: Any, reason: str
) -> DonorRestriction:
    """Lift a restriction (the donor's death ends a lifetime one; a donor may waive one): it
    applies through `ended_on` and no longer after."""
    _require(user, EDIT)
    day = _date(ended_on, "ended_on", "解除日期")
    if day is None:
        raise HoldingsError("解除日期（ended_on）必填")
    reason = reason.strip()
    if not reason:
        raise HoldingsError("解除原因（end_reason）必填：如捐赠者去世、捐赠者书面放弃")
    if restriction.ended_on is not None:
        raise HoldingsError(f"该限制已于 {restriction.ended_on.isoformat()} 解除")
    restriction.ended_on, restriction.end_reason = day, reason[:300]
    accession = restriction.accession
    with transaction.atomic():
        restriction.save()
        record("holdings.restriction.end", "accession", accession.pk,
               {"number": accession.number, "restriction": restriction.pk, "scope": restriction.scope,
                "ended_on": day, "reason": restriction.end_reason}, actor=_actor(user))  # fmt: skip
        sync_holds(accession)
    return restriction


def link_records(user: User | None, accession: Accession, selection: Iterable[str]) -> int:
    """Link the catalogue records described from the accession, chosen by 档号: each line an
    exact 档号, or a 档号 prefix ending in * (all records whose 档号 begins with it). Records of
    another archives or outside the user's scope are not found. Returns how many were added;
    the accession's restrictions reach them at once."""
    _require(user, EDIT)
    exact, prefixes = [], []
    for line in selection:
        code = line.strip()
        if not code:
            continue
        if code.endswith("*"):
            if len(code.rstrip("*")) < 2:
                raise HoldingsError(f"档号前缀过短（至少2个字符）：{code}")
            prefixes.append(code.rstrip("*"))
        else:
            exact.append(code)
    if not exact and not prefixes:
        raise HoldingsError("请填写档号（每行一个；以 * 结尾表示档号前缀）")
    qs = catalog.visible_records(user).filter(repository_id=accession.repository_id)
    query = Q(reference_code__in=exact) if exact else Q()
    for p in prefixes:
        query |= Q(reference_code__startswith=p)
    found = dict(qs.filter(query).values_list("reference_code", "pk")[: MAX_LINK + 1])
    if len(found) > MAX_LINK:
        raise HoldingsError(f"一次最多关联 {MAX_LINK} 件档案：请缩小档号范围")
    missing = [c for c in exact if c not in found]
    if missing:
        shown = "、".join(missing[:10]) + ("……" if len(missing) > 10 else "")
        raise HoldingsError(f"本馆没有这些档号的档案（或不在本人范围内）：{shown}")
    for p in prefixes:
        if not any(code.startswith(p) for code in found):
            raise HoldingsError(f"没有档号以“{p}”开头的档案")
    have = set(accession.record_links.values_list("record_id", flat=True))
    new = sorted(set(found.values()) - have)
    with transaction.atomic():
        AccessionRecord.objects.bulk_create(
            [AccessionRecord(accession=accession, record_id=pk) for pk in new], batch_size=1000
        )
        record("holdings.accession.link", "accession", accession.pk,
               {"number": accession.number, "added": len(new), "selection": exact[:50] + [p + "*" for p in prefixes]},
               actor=_actor(user))  # fmt: skip
        sync_holds(accession)
    return len(new)


def unlink_records(user: User | None, accession: Accession, record_ids: Iterable[int]) -> int:
    _require(user, EDIT)
    ids = sorted({int(i) for i in record_ids})
    with transaction.atomic():
        n, _ = AccessionRecord.objects.filter(accession=accession, record_id__in=ids).delete()
        record("holdings.accession.unlink", "accession", accession.pk,
               {"number": accession.number, "removed": n}, actor=_actor(user))  # fmt: skip
        sync_holds(accession)
    return n


def linked_records(
    user: User | None, accession: Accession, limit: int = 200
) -> tuple[list[Record], int]:
    """The linked records the user may see in the catalogue (its clearance and scope: the
    first `limit` by 档号), and how many others are linked that the user may not see (counted,
    never named)."""
    ids = covered_records(accession)
    seen = catalog.visible_records(user).filter(pk__in=ids)
    hidden = len(ids) - seen.count()
    return list(seen.order_by("reference_code")[:limit]), hidden


def record_holds(accession: Accession) -> dict[int, list[Any]]:
    """By linked record, the holds in force on it today (any source)."""
    return holds.holds_of(covered_records(accession))


def restrictions_in_force(on: dt.date | None = None) -> list[dict[str, Any]]:
    """The donor restrictions in force on `on` (today), with how many records each holds."""
    day = on or dt.date.today()
    rows = []
    restrictions = DonorRestriction.objects.select_related("accession").order_by(
        "accession__number", "pk"
    )
    counts = dict(
        holds.in_force(None, day)
        .filter(source=HOLD_SOURCE)
        .values("source_key")
        .annotate(n=Count("pk"))
        .values_list("source_key", "n")
    )
    for r in restrictions:
        if not restriction_in_force(r, day):
            continue
        until = restriction_until(r)
        rows.append({
            "accession": r.accession.number, "scope": r.scope,
            "until": until.isoformat() if until else None, "donor_lifetime": r.donor_lifetime,
            "text": r.text, "records": counts.get(_hold_key(r), 0),
        })  # fmt: skip
    return rows
