"""Read-only queries the pages need that no service offers yet.

Each is a candidate for a function in the owning app's services (reported to the lead); the web
layer never writes through these.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db.models import Q, QuerySet, Sum

from lantai.catalog import services
from lantai.catalog.models import Category, ImportBatch, Record, Repository, YearCount
from lantai.core.models import AuditEntry, User

AUDIT_PAGE = 50


def fonds_totals(fonds_ids: list[int]) -> dict[int, int]:
    """Number of units per fonds, from the per-year counters (no COUNT(*) over records)."""
    rows = (
        YearCount.objects.filter(category__fonds_id__in=fonds_ids)
        .values("category__fonds_id")
        .annotate(total=Sum("count"))
    )
    return {r["category__fonds_id"]: r["total"] or 0 for r in rows}


def category_totals(categories: list[Category]) -> dict[int, int]:
    rows = (
        YearCount.objects.filter(category__in=categories)
        .values("category_id")
        .annotate(total=Sum("count"))
    )
    return {r["category_id"]: r["total"] or 0 for r in rows}


def visible_categories(user: Any) -> QuerySet[Category]:
    return Category.objects.select_related("fonds", "fonds__repository").filter(
        fonds__in=services.visible_fonds(user)
    )


def visible_category(user: Any, pk: int) -> Category | None:
    return visible_categories(user).filter(pk=pk).first()


def visible_record(user: Any, pk: int) -> Record | None:
    return (
        services.visible_records(user)
        .select_related("category", "fonds", "fonds__repository", "repository")
        .filter(pk=pk)
        .first()
    )


def filtered_records(
    user: Any, category: Category, year: int | None, filters: Mapping[str, str]
) -> QuerySet[Record]:
    """The records of a list page (same filters as services.browse), for export."""
    qs = services.visible_records(user).filter(category=category)
    if year is not None:
        qs = qs.filter(year=year)
    for field, value in filters.items():
        value = value.strip()
        if not value:
            continue
        if field in ("title", "author", "document_number"):
            qs = qs.filter(**{f"{field}__contains": value})
        elif field in ("classification", "retention", "open_status"):
            qs = qs.filter(**{field: value})
        elif field == "code_prefix":
            qs = qs.filter(reference_code__startswith=value)
    return qs


def import_batches(user: Any, limit: int = 100) -> list[ImportBatch]:
    return list(
        ImportBatch.objects.select_related("category", "category__fonds", "created_by")
        .filter(category__fonds__in=services.visible_fonds(user))
        .order_by("-created_at", "-pk")[:limit]
    )


def visible_batch(user: Any, pk: int) -> ImportBatch | None:
    return (
        ImportBatch.objects.select_related("category", "category__fonds", "created_by")
        .filter(pk=pk, category__fonds__in=services.visible_fonds(user))
        .first()
    )


def audit_page(
    *, before: int | None = None, action: str = "", actor: str = "", size: int = AUDIT_PAGE
) -> tuple[list[AuditEntry], int | None]:
    """Newest first, keyset on seq: `before` is the seq of the last row of the previous page."""
    qs = AuditEntry.objects.all()
    if action:
        qs = qs.filter(action=action)
    if actor:
        qs = qs.filter(actor=actor)
    if before is not None:
        qs = qs.filter(seq__lt=before)
    rows = list(qs.order_by("-seq")[: size + 1])
    more = len(rows) > size
    rows = rows[:size]
    return rows, (rows[-1].seq if more else None)


def audit_actions() -> list[str]:
    return list(AuditEntry.objects.order_by("action").values_list("action", flat=True).distinct())


def users() -> QuerySet[User]:
    return User.objects.order_by("username").prefetch_related("repositories", "fonds")


def user(pk: int) -> User | None:
    return User.objects.filter(pk=pk).first()


def user_by_name(username: str) -> User | None:
    return User.objects.filter(username=username).first()


def repositories() -> QuerySet[Repository]:
    return Repository.objects.order_by("code")


def search_users(text: str) -> QuerySet[User]:
    qs = users()
    if text:
        qs = qs.filter(Q(username__icontains=text) | Q(first_name__icontains=text))
    return qs
