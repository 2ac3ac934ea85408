"""The publication table follows the catalogue: saves, deletes, bulk updates, imports; the sync of
an unchanged catalogue writes nothing."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from django.db import transaction
from django.utils import timezone

from lantai.catalog.models import ImportBatch, Record
from lantai.core import audit
from lantai.interop import publishing
from lantai.interop.models import Published
from tests.interop.conftest import Catalogue


def live_ids() -> set[int]:
    return set(Published.objects.filter(deleted=False).values_list("record_id", flat=True))


def test_first_sync_publishes_the_open_catalogue_only(catalogue: Catalogue) -> None:
    publishing.sync()
    assert live_ids() == {r.pk for r in catalogue.open_records}
    assert not Published.objects.filter(deleted=True).exists()


def test_unchanged_catalogue_writes_nothing(catalogue: Catalogue) -> None:
    publishing.sync()
    stamps = dict(Published.objects.values_list("pk", "datestamp"))
    result = publishing.sync()
    assert (result.read, result.published, result.tombstoned) == (0, 0, 0)
    assert dict(Published.objects.values_list("pk", "datestamp")) == stamps


def test_a_late_commit_with_an_early_stamp_is_seen(catalogue: Catalogue) -> None:
    """A save stamped before the watermark (its transaction committed after a sync moved on) is
    still seen, through the Dirty rows its save wrote."""
    publishing.sync()
    record = catalogue.open_records[0]
    with transaction.atomic():
        record.open_status = "closed"
        record.save()
        Record.objects.filter(pk=record.pk).update(updated_at=timezone.now() - timedelta(hours=1))
    publishing.sync()
    assert record.pk not in live_ids()
    assert Published.objects.get(record_id=record.pk).deleted


def test_an_import_rewinds_the_watermark(catalogue: Catalogue) -> None:
    """Bulk-written rows stamped when their import began are read again once it commits."""
    publishing.sync()
    old = timezone.now() - timedelta(hours=1)
    record = catalogue.open_records[0]
    Record.objects.filter(pk=record.pk).update(open_status="closed", updated_at=old)
    publishing.sync()
    assert record.pk in live_ids()  # stamped before the watermark: not seen yet
    batch = ImportBatch.objects.create(category=record.category, file_name="x.csv", file_sm3="0")
    ImportBatch.objects.filter(pk=batch.pk).update(created_at=old - timedelta(minutes=1))
    audit.record("import", "import_batch", batch.pk, {"imported": 1})
    publishing.sync()
    assert record.pk not in live_ids()


def test_imported_open_records_are_published(catalogue: Catalogue, tmp_path: Path) -> None:
    from lantai.catalog import importing

    publishing.sync()
    path = tmp_path / "目录.csv"
    path.write_text(
        "序号,档号,责任者,题名,日期,密级,保管期限,年度,开放状态\n"
        "1,Z109-WS·2011-Y-BGS-0001,岭南省人民政府办公厅,关于政务公开的通知,20110315,公开,永久,2011,开放\n"
        "2,Z109-WS·2011-Y-BGS-0002,岭南省人民政府办公厅,关于防火的通知,20110320,公开,永久,2011,未开放\n",
        encoding="utf-8",
    )
    result = importing.import_file(path, catalogue.categories["WS"])
    assert result.rows_imported == 2, result
    publishing.sync()
    codes = set(Published.objects.filter(deleted=False).values_list("reference_code", flat=True))
    assert "Z109-WS·2011-Y-BGS-0001" in codes
    assert "Z109-WS·2011-Y-BGS-0002" not in codes


def test_full_sync_tombstones_what_no_signal_saw(catalogue: Catalogue) -> None:
    publishing.sync()
    record = catalogue.open_records[0]
    row = Published.objects.get(record_id=record.pk)  # made the row of a vanished record:
    Published.objects.filter(pk=row.pk).update(record_id=10**9, reference_code="GONE-1")
    publishing.sync(full=True)
    assert Published.objects.get(reference_code="GONE-1").deleted
    assert record.pk in live_ids()


def test_marriage_record_is_never_published(catalogue: Catalogue) -> None:
    publishing.sync()
    for record in catalogue.hidden.values():
        assert not Published.objects.filter(record_id=record.pk).exists()
    assert not Published.objects.filter(category_set="category:HY").exists()


def test_a_sync_with_a_budget_goes_on_where_it_stopped(
    catalogue: Catalogue, monkeypatch: Any
) -> None:
    from lantai.interop.models import Dirty

    Dirty.objects.all().delete()  # only the watermark's reading publishes
    monkeypatch.setattr(publishing, "CHUNK", 2)
    first = publishing.sync(budget_s=0)  # one chunk of two records, then out of time
    assert not first.complete and first.read == 2
    assert len(live_ids()) <= 2
    while not publishing.sync(budget_s=0).complete:
        pass
    assert live_ids() == {r.pk for r in catalogue.open_records}
