"""移交预警 (transfer early warning, 《档案法实施条例》 art 20): which years of a filing unit's
records have reached the transfer age and are not yet in the archives, reminders to the unit.

Definitions (the rule's numbers are data: ``standards/data/transfer-quality.yaml``):

* A filing unit is a fonds (its 立档单位); its archives is the fonds' repository, whose ``level``
  (provincial / city / county) gives the transfer age: 20 years, 10 for a county archives.
* The years a unit formed records run from its *first year* to its *last year*: the first year is
  the one set on its profile (:class:`UnitTransferProfile`), else the earliest 年度 the catalogue
  holds for the fonds; a unit with neither is listed as "起始年度未知" and never reminded. The last
  year is set for a unit that closed (no end otherwise).
* A year counts as **transferred** when the catalogue holds at least one record (any level, any
  门类) of the fonds with that 年度 (the per-year counters ``catalog.YearCount`` > 0) — records of
  an accepted transfer, of an imported catalogue of paper holdings or entered by hand alike. A
  transfer registered but not yet accepted does not count (it is shown beside the years).
* Year Y is **due** from 1 January Y + age, **overdue** from 1 January Y + age + grace_years.
  Years on the profile's exempt list (延期移交 approved, no records formed) are neither.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from django.db import transaction
from django.db.models import Count, Max, Min, QuerySet
from django.utils import timezone

from lantai.catalog import services as catalog
from lantai.catalog.models import Fonds, YearCount
from lantai.core import audit
from lantai.core.models import User
from lantai.core.roles import RECEIVE, ROLES, SUBMIT
from lantai.ingest.models import Transfer
from lantai.ingest.quality_models import TransferReminder, UnitTransferProfile
from lantai.ingest.services import IngestError, submitting_units, unit_name
from lantai.standards import transfer_quality as rule

OPEN_STATUSES = ("pending", "checking", "passed", "failed", "returned")


@dataclass
class UnitDue:
    """One unit on one date: its due and overdue years and what they were computed from."""

    fonds: Fonds
    level: str
    age: int
    first_year: int | None
    first_year_source: str  # profile | catalogue | "" (unknown)
    last_year: int | None
    due: tuple[int, ...] = ()
    overdue: tuple[int, ...] = ()
    exempt: tuple[int, ...] = ()
    open_transfers: int = 0
    last_reminder: TransferReminder | None = None
    users: list[str] = field(default_factory=list)

    @property
    def status(self) -> str:
        if self.first_year is None:
            return "unknown"
        return "overdue" if self.overdue else "due" if self.due else "clear"

    @property
    def unit(self) -> str:
        return unit_name(self.fonds)

    @property
    def due_text(self) -> str:
        return rule.year_ranges(self.due)

    @property
    def overdue_text(self) -> str:
        return rule.year_ranges(self.overdue)

    def as_dict(self) -> dict[str, Any]:
        r = self.last_reminder
        return {
            "fonds": self.fonds.code,
            "fonds_id": self.fonds.pk,
            "repository": self.fonds.repository.code,
            "level": self.level,
            "unit": self.unit,
            "transfer_age": self.age,
            "status": self.status,
            "first_year": self.first_year,
            "first_year_source": self.first_year_source or None,
            "last_year": self.last_year,
            "due_years": list(self.due),
            "overdue_years": list(self.overdue),
            "exempt_years": list(self.exempt),
            "open_transfers": self.open_transfers,
            "users": self.users,
            "last_reminder": r.created_at.isoformat() if r else None,
        }


def _sort_key(u: UnitDue) -> tuple[Any, ...]:
    order = {"overdue": 0, "due": 1, "unknown": 2, "clear": 3}[u.status]
    oldest = u.due[0] if u.due else 9999
    return (order, -len(u.overdue), oldest, u.fonds.repository.code, u.fonds.code)


def units_for(user: User | None) -> QuerySet[Fonds]:
    """The units whose due years `user` sees: for receiving staff the units of their archives
    (the catalogue's scope: their repositories and fonds; scope_all and the console see every
    unit), the units in scope for a filing unit, none for others."""
    if user is None or user.has_perm_code(RECEIVE):
        return catalog.visible_fonds(user).order_by("repository__code", "code")
    if user.has_perm_code(SUBMIT):
        return submitting_units(user)
    return Fonds.objects.none()


def compute(
    fonds: QuerySet[Fonds] | list[Fonds], today: date | None = None, *, with_users: bool = True
) -> list[UnitDue]:
    """The due years of each unit in `fonds` on `today`, overdue units first (a few queries in
    all, whatever the number of units)."""
    today = today or timezone.localdate()
    units = list(fonds)
    ids = [f.pk for f in units]
    profiles = {p.fonds_id: p for p in UnitTransferProfile.objects.filter(fonds_id__in=ids)}
    held: dict[int, set[int]] = defaultdict(set)
    for fid, year in (
        YearCount.objects.filter(category__fonds_id__in=ids, count__gt=0, year__isnull=False)
        .values_list("category__fonds_id", "year")
        .distinct()
    ):
        if year is not None:
            held[fid].add(year)
    earliest = dict(
        YearCount.objects.filter(category__fonds_id__in=ids, count__gt=0, year__gt=0)
        .values("category__fonds_id")
        .annotate(first=Min("year"))
        .values_list("category__fonds_id", "first")
    )
    open_transfers = dict(
        Transfer.objects.filter(fonds_id__in=ids, status__in=OPEN_STATUSES)
        .values("fonds_id")
        .annotate(n=Count("pk"))
        .values_list("fonds_id", "n")
    )
    reminders = _last_reminders(ids)
    users = unit_users(ids) if with_users else {}
    out = []
    for f in units:
        p = profiles.get(f.pk)
        level = f.repository.level
        first = p.first_year if p and p.first_year else earliest.get(f.pk)
        source = "profile" if p and p.first_year else "catalogue" if first else ""
        last = p.last_year if p else None
        exempt = tuple(sorted(int(y) for y in (p.exempt_years if p else [])))
        u = UnitDue(
            fonds=f, level=level, age=rule.transfer_age(level), first_year=first,
            first_year_source=source, last_year=last, exempt=exempt,
            open_transfers=open_transfers.get(f.pk, 0), last_reminder=reminders.get(f.pk),
            users=users.get(f.pk, []),
        )  # fmt: skip
        if first is not None:
            years = rule.due_years(
                level, today, first_year=first, last_year=last, transferred=held[f.pk],
                exempt=exempt,
            )  # fmt: skip
            u.due, u.overdue = years.due, years.overdue
        out.append(u)
    return sorted(out, key=_sort_key)


def due_list(
    user: User | None = None, today: date | None = None, *, include_clear: bool = False
) -> list[UnitDue]:
    """The units `user` may see with years due (and those whose first year is unknown), overdue
    first; `include_clear` adds the units with nothing due."""
    units = compute(units_for(user), today)
    return units if include_clear else [u for u in units if u.status != "clear"]


def unit_due(fonds: Fonds, today: date | None = None) -> UnitDue:
    return compute([fonds], today)[0]


def _last_reminders(ids: list[int]) -> dict[int, TransferReminder]:
    """The latest reminder of each unit (two queries)."""
    latest = (
        TransferReminder.objects.filter(fonds_id__in=ids)
        .values("fonds_id")
        .annotate(last=Max("pk"))
        .values_list("last", flat=True)
    )
    return {r.fonds_id: r for r in TransferReminder.objects.filter(pk__in=list(latest))}


def unit_users(fonds_ids: list[int]) -> dict[int, list[str]]:
    """Usernames of the active users with SUBMIT whose scope covers each fonds (the people a
    reminder goes to); users with every archives in scope count for every unit."""
    codes = [code for code, role in ROLES.items() if SUBMIT in role.permissions]
    repo_of = dict(Fonds.objects.filter(pk__in=fonds_ids).values_list("pk", "repository_id"))
    out: dict[int, list[str]] = defaultdict(list)
    people = (
        User.objects.filter(is_active=True, role__in=codes)
        .prefetch_related("fonds", "repositories")
        .order_by("username")
    )
    for user in people:
        fonds = {f.pk for f in user.fonds.all()}
        repos = {r.pk for r in user.repositories.all()}
        for fid, repo in repo_of.items():
            if user.scope_all or fid in fonds or repo in repos:
                out[fid].append(user.username)
    return dict(out)


# --- profiles ------------------------------------------------------------------------------------
def set_profile(
    fonds: Fonds,
    *,
    first_year: int | None,
    last_year: int | None = None,
    exempt_years: list[int] | None = None,
    note: str = "",
    user: User | None = None,
    today: date | None = None,
) -> UnitTransferProfile:
    """Set the years a unit formed records and the years not to remind of (RECEIVE)."""
    catalog.require(user, RECEIVE)
    this_year = (today or timezone.localdate()).year
    for label, value in (("形成档案起始年度", first_year), ("形成档案终止年度", last_year)):
        if value is not None and not 1900 <= value <= this_year:
            raise IngestError(f"{label}“{value}”不合规则：应为 1900 至 {this_year} 之间的年度")
    if first_year is not None and last_year is not None and last_year < first_year:
        raise IngestError(f"形成档案终止年度 {last_year} 早于起始年度 {first_year}")
    exempt = sorted({int(y) for y in exempt_years or []})
    if any(not 1900 <= y <= this_year for y in exempt):
        raise IngestError(f"不予提醒的年度须为 1900 至 {this_year} 之间的年度")
    with transaction.atomic():
        profile, _ = UnitTransferProfile.objects.update_or_create(
            fonds=fonds,
            defaults={
                "first_year": first_year, "last_year": last_year, "exempt_years": exempt,
                "note": note.strip(), "updated_by": user,
            },
        )  # fmt: skip
        audit.record(
            "transfer_profile_set", "fonds", fonds.pk,
            {"first_year": first_year, "last_year": last_year, "exempt_years": exempt},
        )  # fmt: skip
    return profile


def parse_years(text: str) -> list[int]:
    """ "2001-2003, 2005" (also 、，and –) → [2001, 2002, 2003, 2005]; IngestError naming the part
    that is not a year or a range of years."""
    out: list[int] = []
    for part in text.replace("，", ",").replace("、", ",").replace(" ", ",").split(","):
        part = part.strip()
        if not part:
            continue
        bounds = part.replace("–", "-").replace("—", "-").replace("~", "-").split("-")
        if not all(b.strip().isdigit() and len(b.strip()) == 4 for b in bounds) or len(bounds) > 2:
            raise IngestError(f"年度“{part}”不合规则：应为四位年度或年度范围（如 2001-2003）")
        a, b = int(bounds[0]), int(bounds[-1])
        if b < a or b - a > 200:
            raise IngestError(f"年度范围“{part}”不合规则：终止年度须不早于起始年度")
        out.extend(range(a, b + 1))
    return sorted(set(out))


# --- reminders -----------------------------------------------------------------------------------
def remind(unit: UnitDue, *, user: User | None = None, kind: str = "manual") -> TransferReminder:
    """Record a reminder to `unit` (its SUBMIT users) of its due years; refused when nothing is
    due. Manual reminders (sent again by the receiving archivist) need RECEIVE."""
    catalog.require(user, RECEIVE)
    if not unit.due:
        raise IngestError(f"立档单位“{unit.unit}”（全宗 {unit.fonds.code}）没有到期未移交的档案")
    with transaction.atomic():
        r = TransferReminder.objects.create(
            fonds=unit.fonds, due_years=list(unit.due), overdue_years=list(unit.overdue),
            recipients=list(unit.users), sent_by=user, kind=kind,
        )  # fmt: skip
        audit.record(
            "transfer_reminder", "fonds", unit.fonds.pk,
            {"kind": kind, "due_years": rule.year_ranges(unit.due),
             "overdue_years": rule.year_ranges(unit.overdue), "recipients": unit.users},
        )  # fmt: skip
    unit.last_reminder = r
    return r


def refresh_reminders(today: date | None = None) -> dict[str, int]:
    """The nightly job: remind every due unit whose last reminder is older than
    remind_every_days, or that has a year due its last reminder did not name."""
    today = today or timezone.localdate()
    cutoff = timezone.now() - timedelta(days=rule.remind_every_days())
    sent = skipped = 0
    for unit in compute(catalog.visible_fonds(None), today):
        if not unit.due:
            continue
        last = unit.last_reminder
        if last is not None and last.created_at > cutoff and set(unit.due) <= set(last.due_years):
            skipped += 1
            continue
        remind(unit, kind="nightly")
        sent += 1
    return {"sent": sent, "skipped": skipped}


def reminders_for(user: User, limit: int = 20) -> list[TransferReminder]:
    """The latest reminders to the units in a filing unit's scope."""
    return list(
        TransferReminder.objects.filter(fonds__in=units_for(user))
        .select_related("fonds")
        .order_by("-created_at", "-pk")[:limit]
    )


def reminder_history(fonds: Fonds, limit: int = 50) -> list[TransferReminder]:
    return list(
        TransferReminder.objects.filter(fonds=fonds)
        .select_related("sent_by")
        .order_by("-created_at", "-pk")[:limit]
    )


def counts(units: list[UnitDue]) -> dict[str, int]:
    out = {"overdue": 0, "due": 0, "unknown": 0, "clear": 0}
    for u in units:
        out[u.status] += 1
    return out


__all__ = [
    "UnitDue",
    "banner_units",
    "compute",
    "counts",
    "due_list",
    "parse_years",
    "refresh_reminders",
    "remind",
    "reminder_history",
    "reminders_for",
    "set_profile",
    "unit_due",
    "unit_users",
    "units_for",
]


def banner_units(user: User | None) -> list[UnitDue]:
    """The due units a filing unit's pages remind it of (``ingest/_due_banner.html``); none for
    receiving staff, who have the due list."""
    if user is None or not user.has_perm_code(SUBMIT) or user.has_perm_code(RECEIVE):
        return []
    return [u for u in compute(submitting_units(user), with_users=False) if u.due]
