"""What goes into an archival package (one OCFL object) and back out of it.

Logical layout of every version (docs/decisions/0011-ocfl-package-layout.md):
  lantai/package.json                 what the package is: kind, source, repository, fonds, categories
  records/<档号>/metadata.xml          DA/T 46 metadata of one record (record_xml)
  records/<档号>/<file name>           the record's electronic files, as received
  reports/detection-report.json       the 四性检测 results of the accepted transfer version
  premis/premis.xml                   PREMIS 3 events of the package up to this version
A deleted package's last version holds only lantai/tombstone.json and premis/premis.xml.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable
from datetime import date, datetime
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction

from lantai.catalog.models import Category, Component, Fonds, ImportBatch, Record, Repository
from lantai.preservation import premis, record_xml
from lantai.preservation.models import Event, Package, PackageRecord

Source = Path | bytes

# Record columns carried by the metadata XML (relations travel as codes and ids, see record_dict).
RECORD_FIELDS = tuple(
    f.name for f in Record._meta.concrete_fields if not f.is_relation and f.name != "id"
)
STRUCTURE_FIELDS = {
    "repository": ("id", "code", "name", "level", "region", "is_default"),
    "fonds": ("id", "repository_id", "code", "name", "creator", "description"),
    "category": ("id", "fonds_id", "code", "arrangement", "code_rule", "volume_item_rule"),
}


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def record_dict(record: Record, components: Iterable[Component]) -> dict[str, Any]:
    d: dict[str, Any] = {f: _plain(getattr(record, f)) for f in RECORD_FIELDS}
    d.update(
        id=record.pk,
        repository_id=record.repository_id,
        fonds_id=record.fonds_id,
        category_id=record.category_id,
        parent_id=record.parent_id,
        import_batch_id=record.import_batch_id,
        components=[
            {
                "name": c.name,
                "size": c.size,
                "mime_type": c.mime_type,
                "sm3": c.sm3,
                "sha256": c.sha256,
                "path": c.path,
                "created_at": _plain(c.created_at),
            }
            for c in components
        ],
    )
    return d


def _structure(records: list[Record]) -> dict[str, list[dict[str, Any]]]:
    def rows(model: Any, ids: set[int], fields: tuple[str, ...]) -> list[dict[str, Any]]:
        return [
            {f: _plain(getattr(o, f)) for f in fields}
            for o in model.objects.filter(pk__in=ids).order_by("pk")
        ]

    return {
        "repositories": rows(
            Repository, {r.repository_id for r in records}, STRUCTURE_FIELDS["repository"]
        ),
        "fonds": rows(Fonds, {r.fonds_id for r in records}, STRUCTURE_FIELDS["fonds"]),
        "categories": rows(
            Category, {r.category_id for r in records}, STRUCTURE_FIELDS["category"]
        ),
    }


def record_dirs(records: list[Record]) -> dict[int, str]:
    """records/<档号>/ for each record (unsafe characters percent-encoded, reversibly); the same
    档号 twice in one package (two repositories) gets ~id on the second."""
    used: set[str] = set()
    out = {}
    for r in records:
        name = record_xml.metadata_file_name(r.reference_code).removesuffix(".xml")
        if name in used:
            name = f"{name}~{r.pk}"
        used.add(name)
        out[r.pk] = f"records/{name}"
    return out


def build_state(package: Package) -> dict[str, Source]:
    """The complete logical state of the package's next version, from the catalogue."""
    if package.status == "deleted":
        tombstone = {"object_id": package.object_id, "deleted": True, "label": package.label}
        return {"lantai/tombstone.json": _json(tombstone), "premis/premis.xml": premis_xml(package)}
    records = list(Record.objects.filter(package_link__package=package).order_by("pk"))
    comps: dict[int, list[Component]] = {}
    for c in Component.objects.filter(record__in=records).order_by("pk"):
        comps.setdefault(c.record_id, []).append(c)
    state: dict[str, Source] = {}
    dirs = record_dirs(records)
    for r in records:
        files = comps.get(r.pk, [])
        state[f"{dirs[r.pk]}/metadata.xml"] = record_xml.to_xml(record_dict(r, files))
        names: set[str] = set()
        for c in files:  # names were checked on upload: no separators or control characters
            name = c.name
            if name == "metadata.xml" or name in names:
                name = f"{c.pk}-{name}"
            names.add(name)
            state[f"{dirs[r.pk]}/{name}"] = Path(settings.MEDIA_ROOT, c.path)
    manifest = {
        "lantai_package": 1,
        "object_id": package.object_id,
        "kind": package.kind,
        "label": package.label,
        "source_id": package.source_id,
        "created_at": _plain(package.created_at),
        "records": len(records),
        **_structure(records),
    }
    state["lantai/package.json"] = _json(manifest)
    report = detection_report(package)
    if report is not None:
        state["reports/detection-report.json"] = _json(report)
    state["premis/premis.xml"] = premis_xml(package)
    return state


def _json(data: Any) -> bytes:
    return json.dumps(data, ensure_ascii=False, indent=1, sort_keys=True).encode("utf-8")


def detection_report(package: Package) -> dict[str, Any] | None:
    if package.kind != "transfer" or package.source_id is None:
        return None
    from lantai.ingest.models import TransferVersion

    version = (
        TransferVersion.objects.filter(transfer_id=package.source_id).order_by("-number").first()
    )
    if version is None:
        return None
    checks = version.checks.order_by("pk").values(
        "property", "content_code", "item_code", "title", "status", "object", "evidence",
        "tool", "tool_version",
    )  # fmt: skip
    return {
        "stage": "移交与接收",
        "transfer": package.source_id,
        "version": version.number,
        "result": version.result,
        "checked_at": _plain(version.checked_at),
        "summary": version.summary,
        "checks": list(checks),
    }


AGENT_ID = "local"  # PREMIS identifier type of agents: their name and version as Lantai saw it
LOCATION_ID = "lantai storage location"  # the storage location an event happened on


def premis_xml(package: Package) -> bytes:
    events = list(package.events.order_by("at", "pk"))
    agents = {
        e.agent: premis.Agent(premis.Identifier(AGENT_ID, e.agent), e.agent, "software")
        for e in events
        if e.agent
    }
    return premis.to_xml([premis_event(e) for e in events], list(agents.values()), [])


def premis_event(e: Event) -> premis.Event:
    detail = json.dumps(e.outcome_detail, ensure_ascii=False, sort_keys=True)
    return premis.Event(
        identifier=str(e.uuid),
        event_type=e.event_type,
        date_time=e.at,
        detail=e.detail,
        outcome=e.outcome,
        outcome_detail=detail if e.outcome_detail else "",
        agents=(
            (premis.LinkingAgent(premis.Identifier(AGENT_ID, e.agent), ("executing program",)),)
            if e.agent
            else ()
        ),
        objects=(premis.Identifier(LOCATION_ID, e.location),) if e.location else (),
    )


# --- creating packages ---------------------------------------------------------------------------
def new_package(kind: str, label: str, source_id: int | None, records: Iterable[int]) -> Package:
    """A package for `records` (ids), to be written by the preservation job."""
    from lantai.preservation import events

    with transaction.atomic():
        package = Package.objects.create(
            object_id=f"urn:lantai:package:{uuid.uuid4()}",
            kind=kind,
            label=label[:300],
            source_id=source_id,
        )
        PackageRecord.objects.bulk_create(
            [PackageRecord(package=package, record_id=r) for r in records], batch_size=2000
        )
        events.record(package, "ingestion", "success", f"建立档案信息包：{label}")
    return package


def package_loose_records() -> list[Package]:
    """Put every record that belongs to no package into one: records of one import batch go
    together (PACKAGE_MAX_RECORDS at most per package), single records each into their own."""
    made = []
    loose = Record.objects.filter(package_link__isnull=True).order_by("import_batch_id", "pk")
    batch_of: dict[int | None, list[tuple[int, str]]] = {}
    rows = loose.values_list("pk", "import_batch_id", "reference_code").iterator(chunk_size=5000)
    for rid, batch_id, code in rows:
        batch_of.setdefault(batch_id, []).append((rid, code))
    limit = settings.PACKAGE_MAX_RECORDS
    for batch, members in batch_of.items():
        if batch is None:
            for rid, code in members:
                made.append(new_package("record", f"单件著录 {code}", rid, [rid]))
            continue
        ids = [rid for rid, _code in members]
        name = ImportBatch.objects.filter(pk=batch).values_list("file_name", flat=True).first()
        for start in range(0, len(ids), limit):
            part = f"（第 {start // limit + 1} 部分）" if len(ids) > limit else ""
            made.append(
                new_package(
                    "import", f"目录导入 {name or batch}{part}", batch, ids[start : start + limit]
                )
            )
    return made
