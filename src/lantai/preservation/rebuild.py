"""Disaster recovery: rebuild the catalogue database from the OCFL objects alone.

Reads every object of a storage root (no database needed to find them), and writes into an
empty database: repositories, fonds and categories (lantai/package.json), records and their
file descriptions (records/*/metadata.xml), the package and its PREMIS events
(premis/premis.xml). Ids are kept, so links between records (案卷 → 卷内文件) survive.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import dj_database_url
from django.core.management import call_command
from django.core.management.color import no_style
from django.db import connections, transaction
from django.db.models import Count
from django.db.utils import load_backend

from lantai.catalog.models import Category, Component, Fonds, Record, Repository, YearCount
from lantai.preservation import ocfl, packaging, premis, record_xml
from lantai.preservation.models import Event, Package, PackageRecord
from lantai.preservation.storage import Location

ALIAS = "rebuild"


class RebuildError(Exception):
    pass


def _connect(url: str) -> None:
    """Open the target database as the connection alias "rebuild" (not added to settings: the
    running configuration stays as it is)."""
    db = dj_database_url.parse(url)
    if db["ENGINE"] == "django.db.backends.sqlite3":
        db["OPTIONS"] = {"timeout": 30}
    db = connections.configure_settings({"default": {}, ALIAS: db})[ALIAS]
    previous = getattr(connections._connections, ALIAS, None)  # type: ignore[attr-defined]
    if previous is not None:  # a previous run in this process
        previous.close()
    connections[ALIAS] = load_backend(db["ENGINE"]).DatabaseWrapper(db, ALIAS)


def rebuild_catalog(
    source: Location, into_url: str, *, progress: Callable[[str], None] | None = None
) -> dict[str, int]:
    _connect(into_url)
    call_command("migrate", database=ALIAS, verbosity=0, interactive=False)
    if Record.objects.using(ALIAS).exists() or Package.objects.using(ALIAS).exists():
        raise RebuildError("目标数据库已有档案数据：重建只写入空数据库")
    counts = {"packages": 0, "records": 0, "components": 0, "events": 0, "deleted_packages": 0}
    with transaction.atomic(using=ALIAS):
        for object_id in ocfl.object_ids(source):
            if progress:
                progress(object_id)
            _rebuild_object(source, object_id, counts)
        _recount_years()
    _reset_sequences()
    return counts


def _rebuild_object(source: Location, object_id: str, counts: dict[str, int]) -> None:
    inventory = ocfl.read_inventory(source, object_id)
    state = ocfl.logical_state(inventory)
    head = ocfl.head_number(inventory)

    def read(path: str, version: int | None = None) -> bytes:
        return ocfl.read_logical(source, object_id, path, version)

    deleted = "lantai/tombstone.json" in state
    if deleted:
        info = json.loads(read("lantai/tombstone.json"))
        manifest: dict[str, Any] = {
            "kind": "transfer",
            "label": info.get("label", ""),
            "source_id": None,
        }
        # what it was: the last version before the tombstone
        before = ocfl.logical_state(inventory, head - 1) if head > 1 else {}
        if "lantai/package.json" in before:
            manifest = json.loads(read("lantai/package.json", head - 1))
    else:
        manifest = json.loads(read("lantai/package.json"))
    package = Package.objects.using(ALIAS).create(
        object_id=object_id,
        kind=manifest.get("kind", "record"),
        label=manifest.get("label", ""),
        source_id=manifest.get("source_id"),
        status="deleted" if deleted else "preserved",
        version=head,
        files=len(state),
        changes=1,
        written_changes=1,
    )
    counts["packages"] += 1
    counts["deleted_packages"] += deleted
    if not deleted:
        _structure(manifest)
        for path in sorted(
            p for p in state if p.startswith("records/") and p.endswith("/metadata.xml")
        ):
            _record(record_xml.parse(read(path)), package, counts)
    events, _agents, _objects = premis.parse(read("premis/premis.xml"))
    for e in events:
        where = [o.value for o in e.objects if o.type == packaging.LOCATION_ID]
        Event.objects.using(ALIAS).create(
            uuid=e.identifier,
            package=package,
            event_type=e.event_type,
            outcome=e.outcome,
            detail=e.detail,
            outcome_detail=json.loads(e.outcome_detail) if e.outcome_detail else {},
            location=where[0] if where else "",
            agent=e.agents[0].identifier.value if e.agents else "",
            at=e.date_time,
            in_object=True,
        )
        counts["events"] += 1


def _structure(manifest: dict[str, Any]) -> None:
    for model, key in ((Repository, "repositories"), (Fonds, "fonds"), (Category, "categories")):
        for row in manifest.get(key, []):
            fields = dict(row)
            pk = fields.pop("id")
            model.objects.using(ALIAS).get_or_create(pk=pk, defaults=fields)


def _record(d: dict[str, Any], package: Package, counts: dict[str, int]) -> None:
    d = dict(d)
    components = d.pop("components", [])
    d["import_batch_id"] = None  # import batches (provenance of a spreadsheet) are not preserved
    record = Record(**{k: v for k, v in d.items() if k in _RECORD_KEYS})
    record.save(using=ALIAS, force_insert=True)
    Record.objects.using(ALIAS).filter(pk=record.pk).update(
        created_at=d["created_at"], updated_at=d["updated_at"]
    )  # auto_now fields keep their preserved values
    PackageRecord.objects.using(ALIAS).create(package=package, record_id=record.pk)
    for c in components:
        comp = Component.objects.using(ALIAS).create(
            record_id=record.pk,
            **{k: c[k] for k in ("name", "size", "mime_type", "sm3", "sha256", "path")},
        )
        Component.objects.using(ALIAS).filter(pk=comp.pk).update(created_at=c["created_at"])
        counts["components"] += 1
    counts["records"] += 1


_RECORD_KEYS = set(packaging.RECORD_FIELDS) | {
    "id", "repository_id", "fonds_id", "category_id", "parent_id", "import_batch_id",
}  # fmt: skip


def _recount_years() -> None:
    rows = Record.objects.using(ALIAS).values("category_id", "year").annotate(n=Count("pk"))
    YearCount.objects.using(ALIAS).bulk_create(
        [YearCount(category_id=r["category_id"], year=r["year"], count=r["n"]) for r in rows]
    )


def _reset_sequences() -> None:
    conn = connections[ALIAS]
    sql = conn.ops.sequence_reset_sql(
        no_style(), [Repository, Fonds, Category, Record, Component, Package, PackageRecord, Event]
    )
    if sql:
        with conn.cursor() as cur:
            for statement in sql:
                cur.execute(statement)
