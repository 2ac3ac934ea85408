"""Jobs of the platform: the outbox every minute, the member list and the log anchor hourly on
every node, and on the hub each member's harvest when it is due (LANTAI_PLATFORM_HARVEST_HOURS)."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.utils import timezone
from huey import crontab

from lantai.core.audit import acting_as
from lantai.jobs import huey


@huey.periodic_task(crontab(minute="*"))
def deliver_outbox() -> dict[str, int]:
    from . import transport
    from .models import Outbox

    if not Outbox.objects.filter(status="queued").exists():
        return {"delivered": 0, "waiting": 0, "refused": 0}
    with acting_as("system"):
        return transport.deliver_due()


@huey.periodic_task(crontab(minute="17"))
def refresh_membership() -> None:
    from . import members, peers

    if peers.membership() is not None:
        with acting_as("system"):
            members.refresh()


@huey.task()
def refresh_now() -> dict[str, object]:
    """The same as the hourly refresh, at once (an issuer key changed)."""
    from . import members, peers

    if peers.membership() is None:
        return {}
    with acting_as("system"):
        return members.refresh()


@huey.periodic_task(crontab(minute="*/10"))
def harvest_due() -> int:
    from . import harvest_catalogue, harvest_marriage, peers
    from .models import HarvestState, Member

    if not peers.is_hub():
        return 0
    due = timezone.now() - timedelta(hours=settings.PLATFORM_HARVEST_HOURS)
    done = 0
    with acting_as("system"):
        for member in Member.objects.filter(left_at__isnull=True):
            last = {h.feed: h.started_at for h in HarvestState.objects.filter(member=member)}
            if last.get("catalogue") is None or last["catalogue"] < due:
                harvest_catalogue.harvest(member)
                done += 1
            if last.get("marriage") is None or last["marriage"] < due:
                harvest_marriage.harvest(member)
                done += 1
    return done


@huey.task()
def demo_region(url: str) -> dict[str, object]:
    """`lantai demo`: once its server answers, the demo installation becomes the hub and joins
    itself as node ``demo`` (over HTTP, as any node joins), holds a regional key, harvests itself
    and sends two requests across archives to itself — one answered, one paper-only and queued —
    so every platform page has something true to show."""
    from . import demo

    with acting_as("system"):
        return demo.make_region(url)
