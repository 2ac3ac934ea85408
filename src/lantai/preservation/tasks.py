"""Queued and periodic jobs of 存."""

from __future__ import annotations

import math

from django.conf import settings
from django.db.models import Sum
from huey import crontab

from lantai.core.audit import acting_as
from lantai.jobs import huey
from lantai.preservation import audit, locations, packaging, replication
from lantai.preservation.models import Package, Replica, StorageLocation

TICK_MINUTES = 10


@huey.task()
def preserve_package(package_id: int) -> str:
    with acting_as("system:preservation"):
        return replication.preserve(package_id)


@huey.periodic_task(crontab(minute="*/5"))
def preservation_tick() -> None:
    """Probe the locations, package loose records, and finish every package left 待保存 (a
    location that was unreachable, a worker that was killed)."""
    with acting_as("system:preservation"):
        locations.sync_from_settings()
        locations.check_policy()
        for loc in StorageLocation.objects.all():
            locations.check_health(loc)
        packaging.package_loose_records()
        for package_id in replication.pending_packages():
            replication.preserve(package_id)


def files_per_tick() -> int:
    """Audit batch size that covers every file of every replica once per AUDIT_CYCLE_DAYS with a
    2x margin (ticks lost to restarts or busy hours), never below AUDIT_BATCH_FILES."""
    ticks = settings.AUDIT_CYCLE_DAYS * 24 * 60 / TICK_MINUTES
    files = Replica.objects.filter(version__gt=0).aggregate(n=Sum("package__files"))["n"] or 0
    return max(settings.AUDIT_BATCH_FILES, math.ceil(2 * files / ticks))


@huey.periodic_task(crontab(minute=f"*/{TICK_MINUTES}"))
def audit_tick() -> None:
    with acting_as("system:audit"):
        audit.run_audit(files_per_tick())


@huey.periodic_task(crontab(hour="2", minute="30"))
def longterm_check_tick() -> None:
    """Every night: the 长期保存 checks on the packages checked longest ago."""
    from lantai.preservation import longterm

    with acting_as("system:longterm-check"):
        longterm.run()


@huey.task()
def longterm_check(
    package_ids: list[int] | None = None,
    sample: int | None = None,
    actor: str = "system:longterm-check",
) -> None:
    """The 长期保存 checks now, on the given packages or the `sample` checked longest ago (the
    staff UI's 立即检测). Returns nothing (a result would sit unread in huey's store): the run is
    the newest LongTermCheck."""
    from lantai.preservation import longterm

    packages = None
    if package_ids is not None:
        packages = list(
            Package.objects.filter(pk__in=package_ids, version__gt=0)
            .exclude(status="deleted")
            .order_by("pk")
        )
    with acting_as(actor):
        longterm.run(packages, sample=sample)
