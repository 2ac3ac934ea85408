"""Bookkeeping of the derived search index (the index itself lives in the backend)."""

from __future__ import annotations

from django.db import models


class IndexState(models.Model):
    """Per index (backend and location): the catch-up watermark, i.e. the newest `updated_at`
    of the records the catch-up job has indexed, and how the last runs went."""

    key = models.CharField(max_length=300, unique=True)
    watermark = models.DateTimeField(null=True, blank=True)
    last_run_at = models.DateTimeField(null=True, blank=True)
    last_rebuild_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)


class PendingChange(models.Model):
    """A record whose index update failed (or could not be queued): the catch-up job retries it
    (indexes it if the record exists, removes it from the index if not)."""

    record_id = models.BigIntegerField(unique=True)
    attempts = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
