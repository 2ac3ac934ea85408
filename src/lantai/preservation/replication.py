"""Writing packages: a new OCFL version on the primary location, then a verified copy on every
other location. A package is 已保存 only when every required replica holds its head version and
has been read back and verified. An unreachable location leaves the package 待保存; the periodic
job finishes it when the location returns. A killed writer leaves nothing that looks complete:
OCFL's root inventory is written last, and leftovers are cleaned up before the next attempt."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from lantai.catalog.models import Component
from lantai.core.audit import current_actor
from lantai.preservation import events, leases, locations, ocfl, ocfl_check, packaging
from lantai.preservation.models import Package, Replica, StorageLocation
from lantai.preservation.storage import LocalLocation, Location, LocationUnavailable, ObjectMissing


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
        for replica in replicas:  # a location marked offline may be back (decision 0020)
            if not replica.location.online:
                locations.recheck_offline(replica.location)
        _restore_lost_primary(package, primary, replicas)  # decision 0021 (after a rebuild)
        try:
            if package.written_changes < package.changes:
                _write_version(package, primary)
        except LocationUnavailable as e:  # unreachable, or offline (identity marker)
            locations.report_offline(primary, e)
            _set_status(package)
            return package.status
        except ocfl.OCFLError as e:  # the stored object is damaged: the audit repairs it first
            locations.open_alert(
                "fixity",
                f"信息包 {package.object_id} 在主存储位置“{primary.name}”无法写入新版本：{e}",
                package=package,
                location=primary,
            )
            _set_status(package)
            return package.status
        for replica in replicas:
            if replica.location_id != primary.pk and replica.version < package.version:
                _replicate(package, primary, replica)
        return _set_status(package)
    finally:
        leases.release(Package, package_id, owner)


def _restore_lost_primary(
    package: Package, primary: StorageLocation, replicas: list[Replica]
) -> None:
    """The primary lost its copy (a rebuilt system, a replaced disk): copy the head version back
    from a replica that holds it, before anything new is written (decision 0021)."""
    mine = next((r for r in replicas if r.location_id == primary.pk), None)
    if mine is None or mine.version >= package.version:
        return
    for other in replicas:
        if other.pk != mine.pk and other.version >= package.version and not other.damaged:
            _replicate(package, other.location, mine)
            mine.refresh_from_db()
            if mine.version >= package.version:
                return


def _set_status(package: Package) -> str:
    if package.status == "deleted":
        return "deleted"
    required = Replica.objects.filter(package=package, location__required=True)
    behind = Q(version__lt=package.version) | Q(damaged=True) | Q(location__online=False)
    copies = required.exclude(behind).count()
    done = (
        not required.filter(behind).exists()
        and copies >= settings.PRESERVATION_MIN_COPIES
        and package.written_changes >= package.changes  # e.g. a write refused (working copy)
    )
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
    try:
        inventory = ocfl.write_version(
            backend,
            package.object_id,
            state,
            message=message,
            user_name=actor,
            user_address=f"urn:lantai:user:{actor}",
            created=timezone.now(),
            expected_sm3=_catalogue_sm3(package, state),
        )
    except ocfl.ContentMismatch as e:
        _refuse_working_copies(package, state, e)
        return
    head = ocfl.head_number(inventory)
    problems = ocfl_check.verify_object(backend, package.object_id)
    with transaction.atomic():
        package.events.filter(pk__in=included).update(in_object=True)
        Package.objects.filter(pk=package.pk).update(
            version=head,
            written_changes=changes,
            files=len(state),
            bytes=sum(s.stat().st_size if isinstance(s, Path) else len(s) for s in state.values()),
        )
        now = timezone.now()
        Replica.objects.filter(package=package, location=primary).update(
            version=head if not problems else F("version"),
            damaged=bool(problems),
            damaged_at=now if problems else F("damaged_at"),
            error="; ".join(p.message for p in problems),
            verified_at=now,
        )
        events.record(
            package,
            "message digest calculation",
            "success",
            f"写入 OCFL 版本 v{head}（SHA-512 清单摘要，SHA-256 固定性值，SM3 摘要列表）",
            {"version": head, "file_count": len(state)},
            location=primary.name,
        )
    package.version, package.written_changes = head, changes


# --- working copies (decision 0020) ----------------------------------------------------------------


def _catalogue_sm3(package: Package, state: dict[str, ocfl.Source]) -> dict[str, str]:
    """Logical path -> the catalogue's SM3 for every working-copy file of the new state."""
    rows = Component.objects.filter(record__package_link__package=package).values_list(
        "path", "sm3"
    )
    by_file = {str(Path(settings.MEDIA_ROOT, path)): sm3 for path, sm3 in rows if sm3}
    return {
        logical: by_file[str(source)]
        for logical, source in state.items()
        if isinstance(source, Path) and str(source) in by_file
    }


def _refuse_working_copies(
    package: Package, state: dict[str, ocfl.Source], error: ocfl.ContentMismatch
) -> None:
    """A working copy differs from the catalogue: nothing was written. Alert, record, and put the
    verified stored copy back in place of each differing working file."""
    for logical, expected, found in error.mismatches:
        target = Path(state[logical])  # type: ignore[arg-type]
        if not events.repeats_last(package, "", logical, {"sm3": found}):
            events.record(
                package, "fixity check", "failure",
                f"工作副本与目录中的 SM3 不符，拒绝写入新版本：{logical}",
                {"path": logical, "expected": {"sm3": expected}, "found": {"sm3": found}},
            )  # fmt: skip
        alert = locations.open_alert(
            "working_copy",
            f"信息包 {package.object_id} 的工作副本 {logical}（{target}）与目录中的 SM3 不符："
            "已拒绝写入新版本",
            package=package,
        )
        source = restore_working_copy(package, target, expected)
        if source:
            events.record(
                package, "recovery", "success",
                f"从存储位置“{source}”的已校验副本恢复工作副本：{logical}",
                {"path": logical, "from": source, "sm3": expected},
            )  # fmt: skip
            alert.resolved_at = timezone.now()
            alert.resolution = f"已从存储位置“{source}”的已校验副本恢复工作副本"
            alert.save(update_fields=["resolved_at", "resolution"])
        else:
            locations.open_alert(
                "repair_failed",
                f"信息包 {package.object_id} 的工作副本 {logical} 无法恢复：没有副本保存着"
                f"目录中 SM3 为 {expected} 的文件",
                package=package,
            )


def restore_working_copy(package: Package, target: Path, sm3: str) -> str | None:
    """Replace `target` with a stored file whose SM3 is `sm3`, from the first replica that holds
    one that verifies after download; returns that location's name, None when none does."""
    replicas = (
        Replica.objects.filter(package=package, version__gt=0)
        .select_related("location")
        .order_by("-location__is_primary", "pk")
    )
    for replica in replicas:
        try:
            backend = locations.open_location(replica.location)
            inventory = ocfl.read_inventory(backend, package.object_id)
            listed = ocfl.sm3_map(backend, package.object_id, inventory)
            root = ocfl.object_path(backend, package.object_id)
            for content_path in sorted(cp for cp, d in listed.items() if d == sm3):
                if _download_verified(backend, f"{root}/{content_path}", target, sm3):
                    return replica.location.name
        except (LocationUnavailable, ocfl.OCFLError, ObjectMissing):
            continue
    return None


def _download_verified(backend: Location, key: str, target: Path, sm3: str) -> bool:
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".lantai-restore-", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as out, backend.open(key) as src:
            shutil.copyfileobj(src, out, 1 << 20)
        if ocfl.hash_file(Path(tmp)).sm3 != sm3:
            return False
        os.replace(tmp, target)
        return True
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def copy_key(src: Location, dst: Location, key: str) -> None:
    if isinstance(src, LocalLocation):
        dst.put_file(key, src.root / key)
        return
    with tempfile.NamedTemporaryFile(prefix="lantai-copy-") as tmp:
        with src.open(key) as fh:
            shutil.copyfileobj(fh, tmp, 1 << 20)
        tmp.flush()
        dst.put_file(key, Path(tmp.name))


def listed_keys(src: Location, object_id: str) -> list[str]:
    """The keys of the object that its verified root inventory lists (declaration, every
    inventory and sidecar, every content file), sorted; never a file no inventory lists (a stray
    file stays where it is, reported by the audit: decision 0020)."""
    inventory = ocfl.read_inventory(src, object_id)  # checked against its sidecar
    root = ocfl.object_path(src, object_id)
    expected = ocfl_check.expected_keys(inventory, ocfl.head_number(inventory))
    return sorted(f"{root}/{rel}" for rel in expected)


def _replicate(package: Package, primary: StorageLocation, replica: Replica) -> None:
    """Copy the object's missing files, the root inventory last (the commit point), then read
    the copy back and verify it."""
    oid = package.object_id
    try:
        src = locations.open_location(primary)
    except LocationUnavailable as e:
        locations.report_offline(primary, e)
        return
    try:
        dst = locations.open_location(replica.location)  # never onto an offline location
        ocfl.cleanup_incomplete(dst, oid)
        if ocfl.root_layout(dst) != ocfl.root_layout(src):
            raise ocfl.OCFLError(
                f"存储位置“{replica.location.name}”的存储布局与主存储位置不同，请先迁移布局"
            )
        root_inventory = ocfl.root_inventory_keys(oid, src)
        for key in listed_keys(src, oid):
            size = src.size(key)  # None: missing at the source too (the verification says so)
            if key not in root_inventory and size is not None and dst.size(key) != size:
                copy_key(src, dst, key)
        for key in root_inventory:
            copy_key(src, dst, key)
        problems = ocfl_check.verify_object(dst, oid)
    except LocationUnavailable as e:
        Replica.objects.filter(pk=replica.pk).update(error=str(e))
        locations.report_offline(replica.location, e)
        return
    except ocfl.OCFLError as e:
        Replica.objects.filter(pk=replica.pk).update(error=str(e))
        events.record(package, "replication", "failure", str(e), location=replica.location.name)
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
    # a primary without the head version another replica holds (after a rebuild, decision 0021)
    whole = Replica.objects.filter(location__is_primary=True, version__gte=F("package__version"))
    ids |= set(
        Package.objects.filter(version__gt=0)
        .exclude(pk__in=whole.values("package_id"))
        .values_list("pk", flat=True)
    )
    return sorted(ids)
