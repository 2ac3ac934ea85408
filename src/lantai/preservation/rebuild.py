"""Disaster recovery: rebuild the catalogue database from the OCFL objects of one surviving
location alone (a local storage root or an S3 bucket; decision 0021).

Reads every object of that storage root (no database needed to find them), and writes into an
empty database: repositories, fonds and categories (lantai/package.json), records and their
file descriptions (records/*/metadata.xml), the package and its PREMIS events
(premis/premis.xml). Ids are kept, so links between records (案卷 → 卷内文件) survive. The working
files are restored into the data directory of the running configuration (each one checked against
the catalogue's SM3 and SHA-256), and the surviving location becomes a required location of the
rebuilt system, recognised by its identity marker, with a replica row per package at the head
version it holds. Every package that lacks a copy on another required location is left 待保存:
`lantai storage preserve` on the rebuilt system writes the lost copies again from the survivor.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import dj_database_url
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.core.management.color import no_style
from django.db import DatabaseError, connections, transaction
from django.db.models import Count
from django.db.utils import load_backend
from django.utils import timezone

from lantai.catalog.models import Category, Component, Fonds, Record, Repository, YearCount
from lantai.preservation import locations, ocfl, packaging, premis, record_xml
from lantai.preservation.models import Event, Package, PackageRecord, Replica, StorageLocation
from lantai.preservation.storage import LocalLocation, Location, LocationUnavailable

ALIAS = "rebuild"


class RebuildError(Exception):
    pass


@dataclass
class SourceLocation:
    """The surviving location: its backend, and how the rebuilt system will know it."""

    backend: Location
    kind: str  # local | s3
    name: str = ""  # "" = from its marker
    path: str = ""
    s3_url: str = ""
    bucket: str = ""
    prefix: str = ""
    access_key: str = ""
    secret: str = ""
    row: int | None = None  # an existing StorageLocation row of the target database
    marker: dict[str, Any] | None = field(default=None)


def source_from_path(path: Path) -> SourceLocation:
    root = Path(path).resolve()
    if not (root / ocfl.ROOT_DECLARATION).is_file():
        raise RebuildError(f"“{root}”不是 OCFL 存储根目录（缺少 {ocfl.ROOT_DECLARATION}）")
    return SourceLocation(LocalLocation("source", root), "local", path=str(root))


def source_from_location(name: str) -> SourceLocation:
    """A location of the new system, by name: a row already in the target database (added there
    before the rebuild), else an entry of LANTAI_STORAGE_LOCATIONS (S3 keys from
    LANTAI_S3_ACCESS_KEY / LANTAI_S3_SECRET_KEY, as for every declared location)."""
    row = StorageLocation.objects.using(ALIAS).filter(name=name).first()
    if row is not None:
        spec: dict[str, Any] = {
            "path": row.path, "s3_url": row.s3_url, "bucket": row.bucket, "prefix": row.prefix,
            "access_key": row.access_key, "secret": locations.secret_key(row),
        }  # fmt: skip
    else:
        found = [s for s in settings.STORAGE_LOCATIONS if str(s.get("name", "")) == name]
        if not found:
            raise RebuildError(
                f"找不到存储位置“{name}”：须在 LANTAI_STORAGE_LOCATIONS 中声明，或先在目标数据库中添加"
            )
        spec = {k: str(found[0].get(k, "")) for k in ("path", "s3_url", "bucket", "prefix")}
        spec["access_key"] = os.environ.get("LANTAI_S3_ACCESS_KEY", "")
        spec["secret"] = os.environ.get("LANTAI_S3_SECRET_KEY", "")
    if spec["path"]:
        source = source_from_path(Path(spec["path"]))
        source.name, source.row = name, row.pk if row else None
        return source
    if not (spec["s3_url"] and spec["bucket"]):
        raise RebuildError(
            f"存储位置“{name}”须有本地目录（path）或 S3 地址与存储桶（s3_url、bucket）"
        )
    from lantai.preservation.s3 import S3Location

    backend = S3Location(
        name, spec["s3_url"], spec["bucket"], spec["access_key"], spec["secret"],
        prefix=spec["prefix"].strip("/"),
    )  # fmt: skip
    try:
        declared = backend.size(ocfl.ROOT_DECLARATION) is not None
    except LocationUnavailable as e:
        raise RebuildError(f"存储位置“{name}”不可达：{e}") from e
    if not declared:
        raise RebuildError(
            f"存储位置“{name}”（{spec['s3_url']}/{spec['bucket']}）不是 OCFL 存储根（缺少 {ocfl.ROOT_DECLARATION}）"
        )
    return SourceLocation(
        backend, "s3", name=name, s3_url=spec["s3_url"], bucket=spec["bucket"],
        prefix=spec["prefix"].strip("/"), access_key=spec["access_key"], secret=spec["secret"],
        row=row.pk if row else None,
    )  # fmt: skip


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


def _shown(url: str) -> str:
    """The database address as it may be printed: without its password."""
    return re.sub(r"(://[^:/@]*):[^@/]*@", r"\1:***@", url)


def _open_target(url: str) -> None:
    """Connect to the target database and create Lantai's tables in it; an address that cannot
    be used is a RebuildError (exit 2), never a traceback."""
    where = _shown(url)
    try:
        db = dj_database_url.parse(url)
    except (ValueError, KeyError) as e:
        raise RebuildError(
            f"目标数据库地址“{where}”无法识别：须为 sqlite:///绝对路径 或 "
            "postgresql://用户@主机:端口/库名"
        ) from e
    name = str(db.get("NAME") or "")
    sqlite_file = db["ENGINE"] == "django.db.backends.sqlite3" and name not in ("", ":memory:")
    if sqlite_file and not Path(name).parent.is_dir():
        raise RebuildError(f"目标数据库“{where}”所在的目录“{Path(name).parent}”不存在：请先建立")
    try:
        _connect(url)
        call_command("migrate", database=ALIAS, verbosity=0, interactive=False)
    except (DatabaseError, ImproperlyConfigured, ImportError) as e:
        raise RebuildError(f"无法打开目标数据库“{where}”：{e}") from e


def rebuild_catalog(
    into_url: str,
    *,
    from_path: Path | None = None,
    from_location: str | None = None,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Rebuild into the empty database at `into_url` from one surviving location (`from_path`, a
    local storage root; `from_location`, a location of the new system by name; default: the data
    directory's own storage root)."""
    _open_target(into_url)
    if Record.objects.using(ALIAS).exists() or Package.objects.using(ALIAS).exists():
        raise RebuildError("目标数据库已有档案数据：重建只写入空数据库")
    if from_path is not None and from_location:
        raise RebuildError("--from-path 与 --from-location 只能给出其一")
    if from_location:
        source = source_from_location(from_location)
    else:
        source = source_from_path(from_path or Path(settings.PRESERVATION_ROOT))
    source.marker = locations.read_marker(source.backend)
    counts: dict[str, Any] = {
        "packages": 0, "records": 0, "components": 0, "events": 0, "deleted_packages": 0,
        "files_restored": 0, "files_present": 0,
    }  # fmt: skip
    heads: dict[int, int] = {}
    restore: list[tuple[int, str, str, str, str]] = []  # component, path, sm3, sha256, logical
    try:
        with transaction.atomic(using=ALIAS):
            for object_id in ocfl.object_ids(source.backend):
                if progress:
                    progress(object_id)
                package = _rebuild_object(source.backend, object_id, counts, restore)
                heads[package.pk] = package.version
                _restore_working_files(source.backend, object_id, restore, counts)
                restore.clear()
            _recount_years()
            loc = _surviving_location(source)
            Replica.objects.using(ALIAS).bulk_create(
                [Replica(package_id=pk, location=loc, version=v) for pk, v in heads.items()],
                batch_size=2000,
            )
            counts["location"] = loc.name
    except (LocationUnavailable, ocfl.OCFLError, FileNotFoundError) as e:
        raise RebuildError(f"读取存储位置失败（换一个存储位置重建）：{e}") from e
    _reset_sequences()
    return counts


def _surviving_location(source: SourceLocation) -> StorageLocation:
    """The surviving location as a required location of the rebuilt system. Its identity comes
    from its marker, so the new system recognises it (decision 0020). Its name: the one given
    (--from-location), else the marker's; the old primary's name is taken by the new data
    directory's own storage root, unless the survivor *is* that root."""
    db = StorageLocation.objects.using(ALIAS)
    marker = source.marker or {}
    local_root = Path(settings.PRESERVATION_ROOT).resolve()
    is_primary = source.kind == "local" and Path(source.path) == local_root
    if source.row is not None:
        loc = db.get(pk=source.row)
    else:
        name = source.name or str(marker.get("name") or "") or "recovered"
        if is_primary:
            name = locations.PRIMARY_NAME
        elif name == locations.PRIMARY_NAME:
            name = f"{name}-recovered"
        while db.filter(name=name).exists():
            name = f"{name}-2"
        loc = StorageLocation(
            name=name, kind=source.kind, path=source.path, s3_url=source.s3_url,
            bucket=source.bucket, prefix=source.prefix, access_key=source.access_key,
            secret_key_encrypted=(
                locations._fernet().encrypt(source.secret.encode()).decode() if source.secret else ""
            ),
        )  # fmt: skip
    loc.required = True
    loc.is_primary = is_primary or loc.is_primary
    ident = marker.get("location_id")
    if ident:  # recognised by its identity marker (decision 0020)
        loc.identity = ident
        loc.marker_at = timezone.now()
    loc.save(using=ALIAS)
    return loc


def _restore_working_files(
    backend: Location,
    object_id: str,
    restore: list[tuple[int, str, str, str, str]],
    counts: dict[str, Any],
) -> None:
    """Each component's working file (MEDIA_ROOT/<path>) from the survivor's head version, checked
    against the catalogue's SM3 and SHA-256 before it is put in place."""
    media = Path(settings.MEDIA_ROOT)
    for _comp_id, rel, sm3, sha256, logical in restore:
        target = media / rel
        if target.is_file() and _digests_match(ocfl.hash_file(target), sm3, sha256):
            counts["files_present"] += 1
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".restore-", dir=target.parent)
        try:
            with os.fdopen(fd, "wb") as out, ocfl.open_file(backend, object_id, logical) as src:
                while chunk := src.read(1 << 20):
                    out.write(chunk)
            if not _digests_match(ocfl.hash_file(Path(tmp)), sm3, sha256):
                raise RebuildError(
                    f"信息包 {object_id} 的文件 {logical} 与其著录的 SM3/SHA-256 不符：换一个存储位置重建"
                )
            os.replace(tmp, target)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
        counts["files_restored"] += 1


def _digests_match(found: ocfl.Digests, sm3: str, sha256: str) -> bool:
    return found.sm3 == sm3 and found.sha256 == sha256


def _rebuild_object(
    source: Location,
    object_id: str,
    counts: dict[str, Any],
    restore: list[tuple[int, str, str, str, str]],
) -> Package:
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
        source_id=_source_id(manifest),
        # 待保存 until `storage preserve` has written the copies the disaster took
        status="deleted" if deleted else "pending",
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
            files = {p for p in state if p.startswith(path.removesuffix("metadata.xml"))}
            _record(record_xml.parse(read(path)), package, counts, files, restore)
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
            agent=packaging.event_agent(e),
            at=e.date_time,
            in_object=True,
        )
        counts["events"] += 1
    return package


def _source_id(manifest: dict[str, Any]) -> int | None:
    """Only a record package keeps its source (records keep their ids). Transfers and import
    batches are not rebuilt: a rebuilt package must never point at a transfer of the new system
    that happens to get the old id; its detection report (which names the old transfer) is
    carried forward from the stored head version (packaging.detection_report, decision 0021)."""
    source = manifest.get("source_id")
    return source if manifest.get("kind") == "record" and isinstance(source, int) else None


def _insert(obj: Any) -> None:
    """Insert into the target database as a raw save (as loaddata does): the running system's
    receivers (its audit log, search index, preservation queue) ignore it."""
    obj.save_base(using=ALIAS, raw=True, force_insert=True)


def _structure(manifest: dict[str, Any]) -> None:
    for model, key in ((Repository, "repositories"), (Fonds, "fonds"), (Category, "categories")):
        for row in manifest.get(key, []):
            fields = dict(row)
            pk = fields.pop("id")
            if not model.objects.using(ALIAS).filter(pk=pk).exists():
                _insert(model(pk=pk, **fields))


def _record(
    d: dict[str, Any],
    package: Package,
    counts: dict[str, Any],
    files: set[str],
    restore: list[tuple[int, str, str, str, str]],
) -> None:
    d = dict(d)
    components = d.pop("components", [])
    d["import_batch_id"] = None  # import batches (provenance of a spreadsheet) are not preserved
    record = Record(**{k: v for k, v in d.items() if k in _RECORD_KEYS})
    _insert(record)
    Record.objects.using(ALIAS).filter(pk=record.pk).update(
        created_at=d["created_at"], updated_at=d["updated_at"]
    )  # auto_now fields keep their preserved values
    PackageRecord.objects.using(ALIAS).create(package=package, record_id=record.pk)
    for c in components:
        comp = Component(
            pk=c.get("id"),  # packages written before decision 0021 do not carry it
            record_id=record.pk,
            **{k: c[k] for k in ("name", "size", "mime_type", "sm3", "sha256", "path")},
            created_at=c["created_at"],  # a raw save keeps the preserved value
        )
        _insert(comp)
        logical = _logical_path(c, files, restore)
        restore.append((comp.pk, c["path"], c["sm3"], c["sha256"], logical))
        counts["components"] += 1
    counts["records"] += 1


def _logical_path(
    c: dict[str, Any], files: set[str], restore: list[tuple[int, str, str, str, str]]
) -> str:
    """Where a component's file is in the record's directory: under its own name, or as
    "<id>-<name>" when the name was taken (packaging.component_paths)."""
    name = c["name"]
    taken = {r[4] for r in restore[-len(files) :]}  # this record's files come last
    exact = [p for p in files if p.rsplit("/", 1)[-1] == name and p not in taken]
    renamed = sorted(p for p in files if p.endswith(f"-{name}") and p not in taken)
    if c.get("id") is not None:
        own = [p for p in renamed if p.rsplit("/", 1)[-1] == f"{c['id']}-{name}"]
        found = own or exact
    else:
        found = exact or renamed
    if not found:
        raise RebuildError(f"元数据登记的文件“{name}”不在信息包中")
    return found[0]


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
        no_style(),
        [Repository, Fonds, Category, Record, Component, Package, PackageRecord, Event, Replica,
         StorageLocation],
    )  # fmt: skip
    if sql:
        with conn.cursor() as cur:
            for statement in sql:
                cur.execute(statement)
