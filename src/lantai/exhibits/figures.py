"""The exhibits room's figures of the annual statistics report (registered in apps.py) and the
visit counter of the public exhibition pages.

exhibitions_published: exhibitions whose first version was approved within the year.
exhibition_visits: views of the exhibitions' public cover pages within the year (人次), from
ExhibitionVisit, one row per exhibition per day: a visit costs one UPDATE (an INSERT on the
day's first visit); HEAD requests and obvious robots are not counted (standards.statistics)."""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.db.models import F, Min, Sum
from django.http import HttpRequest
from django.utils import timezone

from lantai.standards import statistics as std

from .models import Exhibition, ExhibitionVersion, ExhibitionVisit


def exhibitions_published(year: int, repository_id: int) -> int:
    """Exhibitions of the archives `repository_id` first published (version 1 approved) within
    `year`."""
    firsts = (
        ExhibitionVersion.objects.filter(exhibition__repository_id=repository_id)
        .values("exhibition")
        .annotate(first=Min("created_at"))
        .filter(first__year=year)
    )
    return firsts.count()


def exhibition_visits(year: int, repository_id: int) -> int:
    """Visits to the public pages of the exhibitions of the archives `repository_id` within
    `year`."""
    rows = ExhibitionVisit.objects.filter(day__year=year, exhibition__repository_id=repository_id)
    total = rows.aggregate(n=Sum("count"))["n"]
    return int(total or 0)


def count_visit(request: HttpRequest, exhibition: Exhibition) -> bool:
    """Count one visit of `exhibition` today, unless it is a HEAD or a robot. True if counted."""
    if not std.is_visit(request.method or "", request.headers.get("User-Agent", "")):
        return False
    today = timezone.localdate()
    rows = ExhibitionVisit.objects.filter(exhibition_id=exhibition.pk, day=today)
    if rows.update(count=F("count") + 1):
        return True
    try:  # the day's first visit; a concurrent first visit makes the INSERT fail: update then
        with transaction.atomic():
            ExhibitionVisit.objects.create(exhibition_id=exhibition.pk, day=today, count=1)
    except IntegrityError:
        rows.update(count=F("count") + 1)
    return True
