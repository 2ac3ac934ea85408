"""Digitized pages, units, the digitization rate and recording hours. The batches are written
as rows (the scanning checks that make them need real image files, tested in tests/digitization):
what counts is that only accepted batches count, by the year they were accepted."""

from __future__ import annotations

from lantai.catalog.models import Component, Record
from lantai.digitization.models import Batch, Item, Page, Recording
from lantai.stats import services as stats
from tests.stats.conftest import _at, _figures


def _batch(status: str, decided: int | None, records: list[Record], pages: int) -> None:
    batch = Batch.objects.create(
        repository=records[0].repository, name=f"{status}-{decided}", status=status,
        decided_at=_at(decided) if decided else None,
    )  # fmt: skip
    for record in records:
        item = Item.objects.create(batch=batch, record=record, reference_code=record.reference_code)
        for number in range(1, pages + 1):
            Page.objects.create(
                batch=batch, item=item, number=number, source_name=f"{number}.tif",
                path=f"{batch.pk}/{record.pk}/{number}.tif", sm3="0" * 64, sha256="0" * 64,
            )  # fmt: skip


def test_accepted_batches_count_by_the_year_of_acceptance(catalogue: dict[str, Record]) -> None:
    _batch("accepted", 2024, [catalogue["a"], catalogue["b"]], pages=3)  # 6 pages, 2 units
    _batch("accepted", 2025, [catalogue["a"], catalogue["d"]], pages=2)  # a again: still 1 unit
    _batch("returned", 2025, [catalogue["e"]], pages=5)  # returned to the vendor: not counted
    rows = _figures(2025)
    pairs = {code: (row["value"], row["previous"]) for code, row in rows.items()}
    assert pairs["digitized_pages"] == (10, 6)
    assert pairs["digitized_units"] == (3, 2)
    assert pairs["digitization_rate"] == (60.0, 66.67)  # 3 of 5 holdings; 2 of 3 in 2024


def test_recording_hours_of_attached_recordings(catalogue: dict[str, Record]) -> None:
    component = Component.objects.get(name="a.pdf")  # attached in 2024
    for seconds, attached in ((5400.0, component), (1800.0, None)):
        Recording.objects.create(
            record=catalogue["a"], source_name="r.mp4", path="r.mp4", sm3="1" * 64,
            sha256="1" * 64, component=attached, kind="video",
            info={"duration_seconds": seconds},
        )  # fmt: skip
    hours = stats.report(2025).as_json()["figures"]
    recording = next(r for r in hours if r["code"] == "recording_hours")
    assert (recording["value"], recording["previous"]) == (1.5, 1.5)  # the staged one not yet
