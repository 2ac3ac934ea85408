"""The counters the triggers keep (stats/counters.py) stay equal to the plain aggregate over the
catalogue whatever writes it: the services, bulk_create, QuerySet.update, raw SQL, deletes. Run on
SQLite and on PostgreSQL (the triggers differ: row triggers there, statement triggers with
transition tables here); a tampered counter is found by verify and put right by --repair."""

from __future__ import annotations

import json

from click.testing import CliRunner
from django.db import connection
from django.db.models import F

from lantai.catalog.models import Category, Component, Record
from lantai.core.models import AuditEntry
from lantai.stats import counters
from lantai.stats import services as stats
from lantai.stats.models import ComponentCount, RecordCount
from tests.stats.conftest import _at
from tests.stats.test_report import _lantai


def _bulk(category: Category, count: int, start: int, **values: object) -> list[Record]:
    base = {"level": "item", "retention": "Y", "open_status": "closed", "title": "批量"}
    return Record.objects.bulk_create(
        Record(
            repository_id=category.fonds.repository_id,
            fonds=category.fonds,
            category=category,
            reference_code=f"BULK-{start + i}",
            sequence_prefix="BULK-",
            **{**base, **values},
        )  # fmt: skip
        for i in range(count)
    )


def _honest_and_same() -> None:
    assert counters.compare() == []
    for year in (2024, 2025):
        assert stats.report(year).as_json() == stats.report(year, scan=True).as_json()


def test_counters_follow_the_services_and_created_at_updates(catalogue: dict[str, Record]) -> None:
    # the fixture saved through the services, then moved created_at with QuerySet.update
    _honest_and_same()
    assert RecordCount.objects.filter(created_year=2024).exclude(n=0).count() == 3
    assert sum(RecordCount.objects.values_list("n", flat=True)) == 5


def test_bulk_create_is_counted(catalogue: dict[str, Record]) -> None:
    ws = catalogue["a"].category
    _bulk(ws, 40, 0)
    _bulk(ws, 10, 100, level="volume", open_status="open", retention="D30")
    _honest_and_same()
    items = stats.report(timezone_year()).as_json()["figures"]
    holdings = {r["code"]: r["value"] for r in items}
    assert holdings["holdings_items"] == 45 and holdings["holdings_volumes"] == 10


def timezone_year() -> int:
    from django.utils import timezone

    return timezone.localdate().year


def test_updates_of_open_status_and_category_move_the_counts(
    catalogue: dict[str, Record],
) -> None:
    ws = catalogue["a"].category
    kj = Category.objects.create(fonds=ws.fonds, code="KJ")
    _bulk(ws, 20, 0)
    Record.objects.filter(reference_code__startswith="BULK-").update(open_status="open")
    Record.objects.filter(reference_code__in=["BULK-1", "BULK-2", "BULK-3"]).update(category=kj)
    _honest_and_same()
    now: dict[tuple[int, str], int] = {}
    for row in RecordCount.objects.filter(created_year=timezone_year()).values(
        "category_id", "open_status", "n"
    ):  # the fixture's records left rows at 0 here when their created_at was moved back
        key = (row["category_id"], row["open_status"])
        now[key] = now.get(key, 0) + row["n"]
    assert now[(kj.pk, "open")] == 3 and now[(ws.pk, "open")] == 17
    assert now.get((ws.pk, "closed"), 0) == 0
    # a change of nothing counted (the title) leaves the counters alone
    before = list(RecordCount.objects.order_by("pk").values_list("n", flat=True))
    Record.objects.update(title="改题名")
    assert list(RecordCount.objects.order_by("pk").values_list("n", flat=True)) == before


def test_raw_sql_and_deletes_are_counted(catalogue: dict[str, Record]) -> None:
    ws = catalogue["a"].category
    _bulk(ws, 30, 0)
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE catalog_record SET retention = 'D10', level = 'volume' "
            "WHERE reference_code LIKE 'BULK-1%%'" if connection.vendor == "postgresql"
            else "UPDATE catalog_record SET retention = 'D10', level = 'volume' "
            "WHERE reference_code LIKE 'BULK-1%'"
        )  # fmt: skip
        cursor.execute("DELETE FROM catalog_record WHERE reference_code LIKE 'BULK-2_'")
    Record.objects.filter(pk=catalogue["e"].pk).delete()
    _honest_and_same()
    figures = {r["code"]: r["value"] for r in stats.report(2025).as_json()["figures"]}
    assert figures["holdings_items"] == 4  # one of the fixture's five deleted


def test_components_bytes_and_terabytes(catalogue: dict[str, Record]) -> None:
    big = Component.objects.create(
        record=catalogue["b"], name="big.tif", size=2 * 10**12, sm3="0" * 64, sha256="0" * 64,
        path="big.tif",
    )  # fmt: skip
    Component.objects.filter(pk=big.pk).update(created_at=_at(2025))
    Component.objects.filter(name="a.pdf").update(size=F("size") + 24)
    _honest_and_same()
    rows = {r["code"]: r for r in stats.report(2025).as_json()["figures"]}
    assert (rows["electronic_bytes"]["value"], rows["electronic_bytes"]["previous"]) == (
        2 * 10**12 + 1524, 1024,
    )  # fmt: skip
    assert rows["electronic_tb"]["value"] == 2.0 and rows["electronic_tb"]["unit"] == "TB"
    Component.objects.filter(pk=big.pk).delete()
    _honest_and_same()
    assert ComponentCount.objects.get(created_year=2025).size == 500


def test_verify_finds_a_tampered_counter_and_repair_puts_it_right(
    catalogue: dict[str, Record],
) -> None:
    runner = CliRunner()
    honest = runner.invoke(_lantai(), ["stats", "verify", "--json"])
    assert honest.exit_code == 0, honest.output
    assert json.loads(honest.output) == {
        "ok": True,
        "honest": True,
        "drifts": [],
        "missing_triggers": [],
    }

    row = RecordCount.objects.filter(created_year=2024, n__gt=0).order_by("pk").first()
    assert row is not None
    RecordCount.objects.filter(pk=row.pk).update(n=F("n") + 7)
    ComponentCount.objects.filter(created_year=2025).update(size=1)
    found = runner.invoke(_lantai(), ["stats", "verify", "--json"])
    assert found.exit_code == 1
    data = json.loads(found.output)
    assert data["honest"] is False and len(data["drifts"]) == 2
    drift = next(d for d in data["drifts"] if d["table"] == "records")
    assert drift["counted"]["n"] == drift["actual"]["n"] + 7
    assert drift["key"]["category_id"] == row.category_id
    assert stats.report(2025).as_json() != stats.report(2025, scan=True).as_json()

    text = runner.invoke(_lantai(), ["stats", "verify"])
    assert text.exit_code == 1 and "--repair" in text.output

    fixed = runner.invoke(_lantai(), ["stats", "verify", "--repair", "--json"])
    assert fixed.exit_code == 0, fixed.output
    assert json.loads(fixed.output) == {
        "ok": True,
        "honest": True,
        "drifts": [],
        "missing_triggers": [],
        "repaired": 2,
    }
    entry = AuditEntry.objects.filter(action="stats_counters_repair").get()
    assert entry.detail["drifts"] == 2
    _honest_and_same()
    # the reinstalled triggers still count
    _bulk(catalogue["a"].category, 3, 0)
    assert counters.compare() == []


def test_rows_of_a_deleted_key_stay_at_zero_and_are_not_drift(
    catalogue: dict[str, Record],
) -> None:
    gone = catalogue["c"]  # the only 30-year record
    key = {"category_id": gone.category_id, "level": gone.level, "retention": gone.retention,
           "open_status": gone.open_status, "created_year": 2024}  # fmt: skip
    Record.objects.filter(pk=gone.pk).delete()
    assert RecordCount.objects.get(**key).n == 0
    assert counters.compare() == []
    retention = {
        e["retention"] for e in stats.report(2025).as_json()["breakdowns"]["holdings_by_retention"]
    }
    assert gone.retention not in retention


def test_dropped_triggers_are_found_and_put_back_by_migrate(catalogue: dict[str, Record]) -> None:
    """As when a catalog migration rebuilds catalog_record on SQLite: the triggers go with the
    old table. verify says so; the next migrate puts them back and recounts."""
    from django.core.management import call_command

    with connection.cursor() as cursor:
        for sql in counters.uninstall_statements(connection.vendor):
            cursor.execute(sql)
    _bulk(catalogue["a"].category, 5, 0)  # not counted now
    data = stats.verify()
    assert data["honest"] is False and len(data["missing_triggers"]) == 6
    assert data["drifts"]  # the five records
    call_command("migrate", verbosity=0, interactive=False)
    assert counters.missing_triggers() == []
    assert counters.compare() == []
    _bulk(catalogue["a"].category, 2, 50)  # counted again
    _honest_and_same()


def test_negative_counters_left_by_a_flush_are_recounted(catalogue: dict[str, Record]) -> None:
    """On SQLite `flush` deletes table by table: records deleted after the counters leave them
    below zero. post_migrate (sent after flush too) recounts then; nothing when all is well."""
    assert counters.ensure_installed() is False
    RecordCount.objects.create(
        category_id=catalogue["a"].category_id, level="item", retention="Y",
        open_status="closed", created_year=2030, n=-4,
    )  # fmt: skip
    assert counters.compare() != []
    assert counters.ensure_installed() is True
    assert counters.compare() == [] and not RecordCount.objects.filter(n__lt=0).exists()


def test_counters_are_right_after_a_flush(transactional_db: None) -> None:
    from django.core.management import call_command

    from lantai.catalog import services

    fonds = services.create_fonds("Z110", "岭南省档案局")
    _bulk(services.create_category(fonds, "WS"), 12, 0)
    assert counters.compare() == [] and RecordCount.objects.exists()
    call_command("flush", interactive=False, verbosity=0)
    assert not Record.objects.exists()
    assert counters.compare() == []
    assert not RecordCount.objects.filter(n__lt=0).exists()
