from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_migrate


class StatsConfig(AppConfig):
    name = "lantai.stats"
    label = "stats"
    verbose_name = "统计"

    def ready(self) -> None:
        post_migrate.connect(_ensure_counters, sender=self)


def _ensure_counters(sender: Any, using: str = "default", **kwargs: Any) -> None:
    """After every migrate (and flush): put back the counters' triggers if a migration dropped
    them (on SQLite, Django rebuilds a table by copying it, and the triggers go with the old
    one), and recount counters a flush left below zero."""
    from django.db import connections

    from . import counters

    counters.ensure_installed(connections[using])
