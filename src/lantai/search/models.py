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
    (indexes it if the record exists, removes it from the index if not). `lantai search status`
    lists them: the last error, when it first and last failed, how many attempts failed."""

    record_id = models.BigIntegerField(unique=True)
    attempts = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    failed_at = models.DateTimeField(null=True, blank=True)  # the last failed attempt


class Withheld(models.Model):
    """A record whose visibility the catalogue narrowed (closed, 密级 raised, moved to another
    fonds or archives, deleted) while the index may still show it as it was: searches leave it
    out (totals, facets, hits, snippets, suggestions) until the index update for that change has
    been applied, and a short while after (other processes' readers reload). Written in the
    transaction that narrows the record. The newest row is kept after it expires: its id stamps
    the portal's cached counts."""

    record_id = models.BigIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)
    applied_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["record_id"], name="search_withheld_record")]
