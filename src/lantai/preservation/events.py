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


def repeats_last(package: Package, location: str, path: str, found: dict[str, Any]) -> bool:
    """The same unrepaired damage of `path` at `location` is already the last event about it: a
    damage that stays is recorded (and republished into the object) once, not at every pass."""
    last = (
        package.events.filter(location=location, outcome_detail__path=path)
        .order_by("-at", "-pk")
        .first()
    )
    return (
        last is not None
        and last.event_type == "fixity check"
        and last.outcome == "failure"
        and last.outcome_detail.get("found") == found
    )
