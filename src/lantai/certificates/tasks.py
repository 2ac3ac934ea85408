"""Jobs of 出证: the status lists are republished at least twice a day, so that a verifier's copy
is never more than a day old (pages and the CLI also republish a list past its update time on
demand, so nothing depends on the worker running)."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone
from huey import crontab

from lantai.core.audit import acting_as
from lantai.jobs import huey

REFRESH_AFTER = timedelta(hours=12)


@huey.periodic_task(crontab(minute="41"))
def refresh_status_lists() -> int:
    from lantai.catalog.models import Repository
    from lantai.certificates import lists
    from lantai.certificates.models import IssuerKey, PublishedList

    now = timezone.now()
    done = 0
    with acting_as("system"):
        for repository in Repository.objects.filter(pk__in=IssuerKey.objects.values("repository")):
            latest = (
                PublishedList.objects.filter(kind="status", repository=repository)
                .order_by("-issued_at")
                .values_list("issued_at", flat=True)
                .first()
            )
            if latest is None or now - latest >= REFRESH_AFTER:
                lists.publish_status_list(repository, now)
                done += 1
        lists.trust_list(now)  # republished when a day old, as the status lists
    return done
