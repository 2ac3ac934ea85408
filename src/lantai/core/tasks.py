"""Queued jobs of the core: housekeeping of the stores that sessions live in."""

from __future__ import annotations

from importlib import import_module

from django.conf import settings
from huey import crontab

from lantai.jobs import huey


@huey.periodic_task(crontab(hour="4", minute="10"))
def clear_expired_sessions() -> None:
    """Sessions kept in the database (PostgreSQL without Redis) are not removed when they expire;
    Redis and the SQLite state store remove their own."""
    import_module(settings.SESSION_ENGINE).SessionStore.clear_expired()
