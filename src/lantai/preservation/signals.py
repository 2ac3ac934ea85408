"""A change to a preserved record's metadata or files makes its package due for a new version;
an accepted transfer (ingest's `transfer_accepted` signal) becomes a package."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models.signals import post_delete, post_save, pre_delete

from lantai.catalog.models import Component, Record
from lantai.ingest.signals import transfer_accepted
from lantai.preservation.models import PackageRecord


def _changed(package_id: int) -> None:
    from lantai.preservation import replication, tasks

    replication.mark_changed(package_id)
    transaction.on_commit(lambda: tasks.preserve_package(package_id))


def _record_saved(sender: Any, instance: Record, created: bool, **kw: Any) -> None:
    if created or kw.get("using", "default") != "default":
        return  # a new record joins a package when it is packaged; a rebuild writes elsewhere
    link = PackageRecord.objects.filter(record_id=instance.pk).values_list("package_id", flat=True)
    for package_id in link:
        _changed(package_id)


def _record_deleting(sender: Any, instance: Record, **kw: Any) -> None:
    if kw.get("using", "default") != "default":
        return
    for package_id in PackageRecord.objects.filter(record_id=instance.pk).values_list(
        "package_id", flat=True
    ):
        _changed(package_id)


def _component_changed(sender: Any, instance: Component, **kw: Any) -> None:
    _record_saved(sender, instance.record, created=False, using=kw.get("using", "default"))


post_save.connect(_record_saved, sender=Record, dispatch_uid="preservation-record-saved")
pre_delete.connect(_record_deleting, sender=Record, dispatch_uid="preservation-record-deleting")
post_save.connect(_component_changed, sender=Component, dispatch_uid="preservation-component")
post_delete.connect(_component_changed, sender=Component, dispatch_uid="preservation-component-del")


def _transfer_accepted(
    sender: Any, transfer: Any, records: list[int], label: str, **kw: Any
) -> None:
    """An accepted transfer becomes a package (in the accepting transaction), written after it."""
    from lantai.preservation import packaging, tasks

    package = packaging.new_package("transfer", label, transfer.pk, records)
    transaction.on_commit(lambda: tasks.preserve_package(package.pk))


transfer_accepted.connect(_transfer_accepted, dispatch_uid="preservation-transfer-accepted")
