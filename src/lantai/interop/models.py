"""What the OAI-PMH provider publishes: one row per identifier it ever issued (a tombstone when
the record is no longer public), synchronised from the catalogue (`publishing.sync`)."""

from __future__ import annotations

from django.db import models


class Published(models.Model):
    """An oai-identifier (archives code + 档号) with its datestamp and sets. `deleted` rows are
    the tombstones of records closed, classified, renumbered or deleted (deletedRecord =
    persistent); a list request reads this table and, for live rows, the record by a join."""

    # no database constraint: a tombstone outlives its record; nullable so that the list
    # queries join the record with a LEFT JOIN (a deleted record's row stays in the page)
    record = models.ForeignKey(
        "catalog.Record",
        null=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
    )
    repository_code = models.CharField(max_length=32)
    reference_code = models.CharField(max_length=100)
    fonds_set = models.CharField(max_length=200)
    category_set = models.CharField(max_length=64)
    datestamp = models.DateTimeField()
    deleted = models.BooleanField(default=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["repository_code", "reference_code"], name="interop_published_identifier"
            )
        ]
        # the list requests: keyset pages over (datestamp, id), all records or one set
        indexes = [
            models.Index(fields=["datestamp", "id"], name="interop_pub_datestamp"),
            models.Index(fields=["fonds_set", "datestamp", "id"], name="interop_pub_fonds"),
            models.Index(fields=["category_set", "datestamp", "id"], name="interop_pub_category"),
        ]


class SyncState(models.Model):
    """How far `publishing.sync` has read the catalogue: the keyset (updated_at, id) of the last
    record read. `rewind_to` is set when a bulk write (a catalogue import) commits rows stamped
    before the watermark: the next sync reads from there again."""

    key = models.CharField(max_length=32, unique=True)
    watermark = models.DateTimeField(null=True, blank=True)
    watermark_id = models.BigIntegerField(default=0)
    rewind_to = models.DateTimeField(null=True, blank=True)
    synced_at = models.DateTimeField(null=True, blank=True)


class Dirty(models.Model):
    """A record saved or deleted through the ORM since the last sync, written in the same
    transaction: a change whose transaction commits after a sync has moved the watermark past
    its updated_at is still seen."""

    record_id = models.BigIntegerField(unique=True)
