"""The statistics room's counters: kept by database triggers on the catalogue's tables (migration
0001 / counters.py), so a bulk_create, a raw UPDATE or a DELETE in SQL moves them as well; read
by the annual report instead of scanning millions of records, checked by `lantai stats verify`."""

from __future__ import annotations

from django.db import models


class RecordCount(models.Model):
    """How many catalog records have one (category, level, retention, open status, year of
    creation in the archives' time zone). A few hundred rows for millions of records."""

    category_id = models.IntegerField()  # catalog.Category (no constraint: a counter, not a link)
    level = models.CharField(max_length=16)
    retention = models.CharField(max_length=8)
    open_status = models.CharField(max_length=16)
    created_year = models.IntegerField()
    n = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["category_id", "level", "retention", "open_status", "created_year"],
                name="stats_record_count_key",
            )
        ]


class ComponentCount(models.Model):
    """How many catalog components (electronic files) and bytes were created in one year."""

    created_year = models.IntegerField(unique=True)
    n = models.BigIntegerField(default=0)
    size = models.BigIntegerField(default=0)
