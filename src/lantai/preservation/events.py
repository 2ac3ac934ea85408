"""PREMIS events of packages, recorded in the database and written into the package's next
OCFL version (premis/premis.xml)."""

from __future__ import annotations

from typing import Any

from django.utils import timezone

from lantai import __version__
from lantai.core.audit import current_actor
from lantai.preservation.models import Event, Package

SOFTWARE = f"Lantai {__version__}"


def record(
    package: Package,
    event_type: str,
    outcome: str,
    detail: str,
    outcome_detail: dict[str, Any] | None = None,
    *,
    location: str = "",
    agent: str | None = None,
) -> Event:
    actor = current_actor()
    who = agent or (SOFTWARE if actor in ("", "system") else f"{SOFTWARE}; {actor}")
    return Event.objects.create(
        package=package,
        event_type=event_type,
        outcome=outcome,
        detail=detail,
        outcome_detail=outcome_detail or {},
        location=location,
        agent=who,
        at=timezone.now(),
    )
