"""Writing packages: a new OCFL version on the primary location, then a verified copy on every
other location. A package is 已保存 only when every required replica holds its head version and
has been read back and verified. An unreachable location leaves the package 待保存; the periodic
job finishes it when the location returns. A killed writer leaves nothing that looks complete:
OCFL's root inventory is written last, and leftovers are cleaned up before the next attempt."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from lantai.core.audit import current_actor
from lantai.preservation import events, leases, locations, ocfl, packaging
from lantai.preservation.models import Package, Replica, StorageLocation
from lantai.preservation.storage import LocalLocation, Location, LocationUnavailable


def _ensure_replicas(package: Package) -> list[Replica]:
    wanted = locations.required_locations()
    have = {r.location_id for r in package.replicas.all()}
    Replica.objects.bulk_create(
        [Replica(package=package, location=loc) for loc in wanted if loc.pk not in have]
    )
    return list(package.replicas.select_related("location"))


def preserve(package_id: int) -> str:
    """Write what is missing of one package; returns its status (or "busy" when another worker
    holds it)."""
    owner = leases.worker_name()
    if not leases.claim(Package, package_id, owner, seconds=3600):
        return "busy"
    try:
        package = Package.objects.get(pk=package_id)
        primary = locations.ensure_primary()
        replicas = _ensure_replicas(package)
        try:
            if package.written_changes < package.changes:
                _write_version(package, primary)
        except LocationUnavailable as e:
            locations.open_alert(
                "unreachable", f"主存储位置“{primary.name}”不可达：{e}", location=primary
            )
            _set_status(package)
            return package.status
        for replica in replicas:
            if replica.location_id != primary.pk and replica.version < package.version:
                _replicate(package, primary, replica)
        return _set_status(package)
    finally:
        leases.release(Package, package_id, owner)


def _set_status(package: Package) -> str:
    if package.status == "deleted":
        return "deleted"
    required = Replica.objects.filter(package=package, location__required=True)
    behind = Q(version__lt=package.version) | Q(damaged=True)
    copies = required.exclude(behind).count()
    done = not required.filter(behind).exists() and copies >= settings.PRESERVATION_MIN_COPIES
    status = "preserved" if done and package.version > 0 else "pending"
    Package.objects.filter(pk=package.pk).update(status=status)
    package.status = status
    return status


def _write_version(package: Package, primary: StorageLocation) -> None:
    backend = locations.open_location(primary)
    ocfl.cleanup_incomplete(backend, package.object_id)
    try:  # a run killed after the commit point: adopt what it wrote
        head = ocfl.head_number(ocfl.read_inventory(backend, package.object_id))
        package.version = max(package.version, head)
    except ocfl.ObjectNotFound:
        pass
    changes = package.changes
    included = list(package.events.filter(in_object=False).values_list("pk", flat=True))
    state = packaging.build_state(package)
    message = "建立档案信息包" if package.version == 0 else "著录信息变更"
    if package.status == "deleted":
        message = "删除（墓碑版本）"
    actor = current_actor() or "system"
    inventory = ocfl.write_version(
        backend,
        package.object_id,
        state,
        message=message,
        user_name=actor,
        user_address=f"urn:lantai:user:{actor}",
        created=timezone.now(),
    )
    head = ocfl.head_number(inventory)
    problems = ocfl.verify_object(backend, package.object_id)
    with transaction.atomic():
        package.events.filter(pk__in=included).update(in_object=True)
        Package.objects.filter(pk=package.pk).update(
            version=head,
            written_changes=changes,
            files=len(state),
            bytes=sum(s.stat().st_size if isinstance(s, Path) else len(s) for s in state.values()),
        )
        Replica.objects.filter(package=package, location=primary).update(
            version=head if not problems else F("version"),
            damaged=bool(problems),
            error="; ".join(p.message for p in problems),
            verified_at=timezone.now(),
        )
        events.record(
            package,
            "message digest calculation",
            "success",
            f"写入 OCFL 版本 v{head}（SHA-512 清单摘要，SM3 与 SHA-256 固定性值）",
            {"version": head, "files": len(state)},
            location=primary.name,
        )
    package.version, package.written_changes = head, changes


def copy_key(src: Location, dst: Location, key: str) -> None:
    if isinstance(src, LocalLocation):
        dst.put_file(key, src.root / key)
        return
    with tempfile.NamedTemporaryFile(prefix="lantai-copy-") as tmp:
        with src.open(key) as fh:
            shutil.copyfileobj(fh, tmp, 1 << 20)
        tmp.flush()
        dst.put_file(key, Path(tmp.name))


def _replicate(package: Package, primary: StorageLocation, replica: Replica) -> None:
    """Copy the object's missing files, the root inventory last (the commit point), then read
    the copy back and verify it."""
    src = locations.open_location(primary)
    dst = locations.open_location(replica.location)
    oid = package.object_id
    try:
        ocfl.cleanup_incomplete(dst, oid)
        root_inventory = ocfl.root_inventory_keys(oid)
        for key in src.list(ocfl.object_root(oid)):
            if key not in root_inventory and dst.size(key) != src.size(key):
                copy_key(src, dst, key)
        for key in root_inventory:
            copy_key(src, dst, key)
        problems = ocfl.verify_object(dst, oid)
    except LocationUnavailable as e:
        Replica.objects.filter(pk=replica.pk).update(error=str(e))
        locations.open_alert(
            "unreachable",
            f"存储位置“{replica.location.name}”不可达，信息包等待写入：{e}",
            location=replica.location,
        )
        return
    now = timezone.now()
    if problems:
        text = "; ".join(p.message for p in problems)
        Replica.objects.filter(pk=replica.pk).update(error=text, verified_at=now)
        events.record(package, "replication", "failure", text, location=replica.location.name)
        return
    Replica.objects.filter(pk=replica.pk).update(
        version=package.version, damaged=False, error="", verified_at=now
    )
    replica.version, replica.damaged = package.version, False
    events.record(
        package,
        "replication",
        "success",
        f"复制 v{package.version} 到存储位置“{replica.location.name}”并校验",
        location=replica.location.name,
    )


def mark_changed(package_id: int) -> None:
    Package.objects.filter(pk=package_id).update(changes=F("changes") + 1)


def pending_packages() -> list[int]:
    """Packages with something left to write: new changes, or a required replica behind."""
    ids = set(Package.objects.filter(written_changes__lt=F("changes")).values_list("pk", flat=True))
    ids |= set(Package.objects.filter(status="pending").values_list("pk", flat=True))
    return sorted(ids)
