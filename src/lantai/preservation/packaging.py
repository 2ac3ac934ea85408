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

import dataclasses
import hashlib
import json
import re
import uuid
from collections.abc import Collection, Iterable
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
                "id": c.pk,  # kept by a rebuild: links and file paths survive (decision 0021)
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


def members(package: Package) -> tuple[list[Record], dict[int, list[Component]]]:
    records = list(Record.objects.filter(package_link__package=package).order_by("pk"))
    comps: dict[int, list[Component]] = {}
    for c in Component.objects.filter(record__in=records).order_by("pk"):
        comps.setdefault(c.record_id, []).append(c)
    return records, comps


def component_paths(records: list[Record], comps: dict[int, list[Component]]) -> dict[int, str]:
    """Component id -> its logical path in the package (records/<档号>/<file name>)."""
    dirs = record_dirs(records)
    out: dict[int, str] = {}
    for r in records:
        names: set[str] = set()
        for c in comps.get(r.pk, []):  # names were checked on upload: no separators or controls
            name = c.name
            if name == "metadata.xml" or name in names:
                name = f"{c.pk}-{name}"
            names.add(name)
            out[c.pk] = f"{dirs[r.pk]}/{name}"
    return out


def build_state(package: Package) -> dict[str, Source]:
    """The complete logical state of the package's next version, from the catalogue."""
    gone = deaccessions(package)
    if package.status == "deleted":
        tombstone = {
            "object_id": package.object_id, "deleted": True, "label": package.label,
            "deaccessions": gone,
        }  # fmt: skip
        return {"lantai/tombstone.json": _json(tombstone), "premis/premis.xml": premis_xml(package)}
    records, comps = members(package)
    state: dict[str, Source] = {}
    dirs = record_dirs(records)
    paths = component_paths(records, comps)
    for r in records:
        files = comps.get(r.pk, [])
        state[f"{dirs[r.pk]}/metadata.xml"] = record_xml.to_xml(record_dict(r, files))
        for c in files:
            state[paths[c.pk]] = Path(settings.MEDIA_ROOT, c.path)
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
    if gone:  # parts removed by disposal: what, why, who (decision 0021)
        state["lantai/deaccessions.json"] = _json(gone)
    report = detection_report(package)
    if report is not None:
        state[REPORT] = _json(report)
    state["premis/premis.xml"] = premis_xml(package)
    return state


REPORT = "reports/detection-report.json"


def _json(data: Any) -> bytes:
    return json.dumps(data, ensure_ascii=False, indent=1, sort_keys=True).encode("utf-8")


def detection_report(package: Package) -> dict[str, Any] | None:
    """The 四性检测 report of the package's transfer: from the catalogue while it holds the
    transfer, else the report the package's head version already carries (a rebuilt system does
    not rebuild transfers: the stored report is carried forward unchanged, decision 0021)."""
    if package.kind != "transfer":
        return None
    from lantai.ingest.models import TransferVersion

    version = None
    if package.source_id is not None:
        version = (
            TransferVersion.objects.filter(transfer_id=package.source_id)
            .order_by("-number")
            .first()
        )
    if version is None:
        return stored_report(package)
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


def stored_report(package: Package) -> dict[str, Any] | None:
    """The detection report in the package's head version, read from the first replica that
    holds the head and whose copy matches the inventory's SHA-512; None when there is none."""
    cached = package.__dict__.get("_stored_report", False)
    if cached is not False:
        return cached  # type: ignore[no-any-return]
    from lantai.preservation import locations, ocfl
    from lantai.preservation.storage import LocationUnavailable, ObjectMissing

    found: dict[str, Any] | None = None
    replicas = package.replicas.filter(version__gte=max(package.version, 1), damaged=False)
    for replica in replicas.select_related("location").order_by("-location__is_primary", "pk"):
        try:
            backend = locations.open_location(replica.location)
            inventory = ocfl.read_inventory(backend, package.object_id)
            stored = ocfl.logical_state(inventory).get(REPORT)
            if stored is None:
                break  # the head carries no report: nothing to carry forward
            data = ocfl.read_logical(backend, package.object_id, REPORT)
            if hashlib.sha512(data).hexdigest() != stored.sha512:
                continue
            found = json.loads(data)
            break
        except (LocationUnavailable, ObjectMissing, ocfl.OCFLError, ValueError):
            continue
    package.__dict__["_stored_report"] = found
    return found


AGENT_ID = "local"  # PREMIS identifier type of agents: their name and version as Lantai saw it
LOCATION_ID = "lantai storage location"  # the storage location an event happened on
PACKAGE_ID = "OCFL object id"  # the package as a PREMIS intellectual entity
FILE_ID = "OCFL logical path"  # a file of the package, by its logical path in the head version
SOFTWARE_PREFIX = "Lantai "  # events.SOFTWARE is "Lantai <version>"
_CONTENT_PATH = re.compile(r"(?:^|/)v[1-9][0-9]*/content/(.+)$")


def premis_xml(package: Package) -> bytes:
    """The package's PREMIS 3.0 document (validates against premis.xsd): the package as an
    intellectual entity, one file object per electronic file (SHA-256 and SM3, format and PRONOM id
    where the transfer check identified it), every event linked to the package and to the files
    it concerns, and the agents: Lantai with its version, the people, the check tools."""
    entity = premis.IntellectualEntity(
        premis.Identifier(PACKAGE_ID, package.object_id), package.label
    )
    checks = _detection_checks(package)
    files = _file_objects(package, entity.identifier, checks)
    known = {f.identifier.value for f in files}
    events = list(package.events.order_by("at", "pk"))
    agents: dict[str, premis.Agent] = {}
    for e in events:
        for agent, _role in _agents_of(e.agent):
            agents.setdefault(agent.identifier.value, agent)
    tools = _tool_agents(checks)
    for tool in tools:
        agents.setdefault(tool.identifier.value, tool)
    out = []
    for e in events:
        base = premis_event(e)
        links: list[premis.Identifier] = [entity.identifier]
        if e.event_type == "ingestion":
            links += [f.identifier for f in files]
        else:
            links += [premis.Identifier(FILE_ID, p) for p in _paths_of(e) if p in known]
        extra = tuple(
            premis.LinkingAgent(t.identifier, ("validator",))
            for t in (tools if e.event_type == "ingestion" else [])
        )
        out.append(
            dataclasses.replace(
                base, agents=base.agents + extra, objects=tuple(links) + base.objects
            )
        )
    return premis.to_xml(out, list(agents.values()), [entity, *files])


def premis_event(e: Event) -> premis.Event:
    detail = json.dumps(e.outcome_detail, ensure_ascii=False, sort_keys=True)
    return premis.Event(
        identifier=str(e.uuid),
        event_type=e.event_type,
        date_time=e.at,
        detail=e.detail,
        outcome=e.outcome,
        outcome_detail=detail if e.outcome_detail else "",
        agents=tuple(
            premis.LinkingAgent(agent.identifier, (role,)) for agent, role in _agents_of(e.agent)
        ),
        objects=(premis.Identifier(LOCATION_ID, e.location),) if e.location else (),
    )


def event_agent(e: premis.Event) -> str:
    """The database's Event.agent text back from a PREMIS event (inverse of `_agents_of`)."""
    return "; ".join(a.identifier.value for a in e.agents if "validator" not in a.roles)


def _agents_of(agent: str) -> list[tuple[premis.Agent, str]]:
    """Event.agent ("Lantai 0.1.0; cli:alice") as PREMIS agents with their roles: the software
    that executed, the person who acted."""
    out = []
    for part in (p for p in agent.split("; ") if p):
        ident = premis.Identifier(AGENT_ID, part)
        if part.startswith(SOFTWARE_PREFIX):
            version = part.removeprefix(SOFTWARE_PREFIX)
            out.append(
                (premis.Agent(ident, "兰台 Lantai", "software", version), "executing program")
            )
        else:
            out.append((premis.Agent(ident, part, "person"), "implementer"))
    return out


def _paths_of(e: Event) -> list[str]:
    """The logical paths an event concerns (audit paths are storage keys of content files)."""
    d = e.outcome_detail if isinstance(e.outcome_detail, dict) else {}
    raw = [d["path"]] if isinstance(d.get("path"), str) else []
    listed = d.get("files")
    if isinstance(listed, list):
        raw += [f.get("path") if isinstance(f, dict) else f for f in listed]
    out = []
    for p in raw:
        if not isinstance(p, str):
            continue
        m = _CONTENT_PATH.search(p)
        out.append(m.group(1) if m else p)
    return out


def _file_objects(
    package: Package, entity: premis.Identifier, checks: list[dict[str, Any]]
) -> list[premis.FileObject]:
    """The package's electronic files, and those removed by disposal as the deaccession events
    recorded them (their identifiers and digests outlive the content in the head version)."""
    records, comps = ([], {}) if package.status == "deleted" else members(package)
    paths = component_paths(records, comps)
    puids = _puids(checks)
    out = []
    for r in records:
        for c in comps.get(r.pk, []):
            puid = puids.get(c.name, ("", ""))
            out.append(
                premis.FileObject(
                    premis.Identifier(FILE_ID, paths[c.pk]),
                    fixity=(("SHA-256", c.sha256), ("SM3", c.sm3)),
                    size=c.size,
                    format_name=puid[1] or c.mime_type,
                    format_registry_key=puid[0],
                    original_name=c.name,
                    included_in=entity,
                )
            )
    current = set(paths.values())
    for gone in deaccessions(package):
        for f in gone["files"]:
            if f["path"] in current:
                continue
            current.add(f["path"])
            out.append(
                premis.FileObject(
                    premis.Identifier(FILE_ID, f["path"]),
                    fixity=(("SHA-256", f["sha256"]), ("SM3", f["sm3"])),
                    size=f.get("size"),
                    format_name=f.get("mime_type", ""),
                    original_name=f.get("name", ""),
                    included_in=entity,
                )
            )
    return out


def deaccessions(package: Package) -> list[dict[str, Any]]:
    """Every approved disposal of the package, from its deaccession events."""
    out = []
    for e in package.events.filter(event_type="deaccession").order_by("at", "pk"):
        d = e.outcome_detail if isinstance(e.outcome_detail, dict) else {}
        files = [
            f for f in d.get("files", []) or []
            if isinstance(f, dict) and {"path", "sha256", "sm3"} <= set(f)
        ]  # fmt: skip
        out.append({
            "event": str(e.uuid), "at": _plain(e.at), "reason": d.get("reason", e.detail),
            "requested_by": d.get("requested_by", ""), "approved_by": d.get("approved_by", ""),
            "records": d.get("record_codes", []), "files": files,
        })  # fmt: skip
    return out


def deaccessioned_files(
    package: Package, *, records: Collection[int] | None = None, components: Collection[int] = ()
) -> list[dict[str, Any]]:
    """The electronic files a disposal removes, as its deaccession event records them: those of
    `records` (None: every record of the package) and the single `components`."""
    members_, comps = members(package)
    paths = component_paths(members_, comps)
    return [
        {"path": paths[c.pk], "name": c.name, "size": c.size, "mime_type": c.mime_type,
         "sha256": c.sha256, "sm3": c.sm3}
        for r in members_
        for c in comps.get(r.pk, [])
        if records is None or r.pk in records or c.pk in components
    ]  # fmt: skip


def _detection_checks(package: Package) -> list[dict[str, Any]]:
    report = detection_report(package)
    return list(report["checks"]) if report else []


def _puids(checks: list[dict[str, Any]]) -> dict[str, tuple[str, str]]:
    """File name -> (PRONOM id, format name) from the transfer check's format identification;
    a name identified differently in two places is left out (no guessing)."""
    found: dict[str, set[tuple[str, str]]] = {}
    for check in checks:
        ev = check.get("evidence") or {}
        if isinstance(ev, dict) and ev.get("puid"):
            name = str(check.get("object", "")).rsplit("/", 1)[-1]
            found.setdefault(name, set()).add((str(ev["puid"]), str(ev.get("format") or "")))
    return {name: next(iter(v)) for name, v in found.items() if len(v) == 1}


def _tool_agents(checks: list[dict[str, Any]]) -> list[premis.Agent]:
    """The tools the transfer check ran (format identification, validation, virus scanning)."""
    tools = {(str(c.get("tool") or ""), str(c.get("tool_version") or "")) for c in checks}
    return [
        premis.Agent(
            premis.Identifier(AGENT_ID, f"{name} {version}".strip()), name, "software", version
        )
        for name, version in sorted(tools)
        if name and not name.lower().startswith("lantai")  # Lantai's own stages: Lantai
    ]


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
