"""Leases in the database: one worker at a time writes a package or audits a replica, on any
number of machines (a conditional UPDATE is atomic on SQLite and PostgreSQL alike). A lease
that is not renewed runs out, so a killed worker blocks nothing for long."""

from __future__ import annotations

import os
import socket
import uuid
from datetime import timedelta

from django.db.models import Model, Q
from django.utils import timezone


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


def claim(model: type[Model], pk: int, owner: str, seconds: int = 900) -> bool:
    now = timezone.now()
    free = Q(claimed_until__isnull=True) | Q(claimed_until__lt=now) | Q(claimed_by=owner)
    return bool(
        model._default_manager.filter(free, pk=pk).update(
            claimed_by=owner, claimed_until=now + timedelta(seconds=seconds)
        )
    )


def release(model: type[Model], pk: int, owner: str) -> None:
    model._default_manager.filter(pk=pk, claimed_by=owner).update(claimed_by="", claimed_until=None)


def release_all(model: type[Model], owner: str) -> None:
    """Give back every lease `owner` still holds (a run that stopped on an error)."""
    model._default_manager.filter(claimed_by=owner).update(claimed_by="", claimed_until=None)
