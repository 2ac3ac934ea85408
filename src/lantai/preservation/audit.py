"""Continuous fixity audit: every file of every replica is re-verified (SM3 and SHA-256 against
the OCFL inventory's fixity block) in bounded, resumable batches. A missing or altered file is
repaired from another replica after that replica's copy has itself been verified; both the
damage and the repair become PREMIS events and an alert. Workers claim a replica before auditing
it, so two auditors never audit or repair the same replica at once."""

from __future__ import annotations

import hashlib
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from typing import Any

from django.conf import settings
from django.db.models import F
from django.utils import timezone

from lantai.ingest import fixity
from lantai.preservation import events, leases, locations, ocfl
from lantai.preservation.models import AuditRun, Replica
from lantai.preservation.replication import copy_key
from lantai.preservation.storage import LocalLocation, Location, LocationUnavailable

ALGORITHMS = ("sm3", "sha256")
_SLICE = (
    1024  # files hashed per call (spread over the worker processes); the I/O cap is applied between
)


@dataclass
class Problem:
    object_id: str
    location: str
    path: str
    kind: str  # missing | fixity | inventory | unreachable
    expected: dict[str, str]
    found: dict[str, str]
    repaired_from: str = ""  # the location the good copy came from, "" when not repaired


def hash_keys(backend: Location, keys: list[str]) -> dict[str, dict[str, Any]]:
    """key -> {"sm3", "sha256", "size"} or {"error": reason}. Local files are hashed by worker
    processes straight from disk; other locations are streamed."""
    if isinstance(backend, LocalLocation):
        out: dict[str, dict[str, Any]] = {}
        for key, digests in fixity.hash_files(backend.root, keys, algorithms=ALGORITHMS).items():
            out[key] = dict(digests)
            if fixity.ERROR not in digests:
                out[key]["size"] = (backend.root / key).stat().st_size
        return out

    def one(key: str) -> tuple[str, dict[str, Any]]:
        hashers = [hashlib.new(a) for a in ALGORITHMS]
        size = 0
        try:
            with backend.open(key) as fh:
                while chunk := fh.read(1 << 20):
                    size += len(chunk)
                    for h in hashers:
                        h.update(chunk)
        except FileNotFoundError:
            return key, {fixity.ERROR: "文件不存在"}
        return key, {
            **{a: h.hexdigest() for a, h in zip(ALGORITHMS, hashers, strict=True)},
            "size": size,
        }

    with ThreadPoolExecutor(max_workers=4) as pool:
        return dict(pool.map(one, keys))


def _matches(found: dict[str, Any], expected: dict[str, str]) -> bool:
    return fixity.ERROR not in found and all(found.get(a) == v for a, v in expected.items())


def run_audit(limit_files: int | None = None, *, location: str | None = None) -> AuditRun:
    """Audit up to `limit_files` files, oldest-audited replicas first, continuing where the
    previous pass of each replica stopped."""
    budget = limit_files or settings.AUDIT_BATCH_FILES
    owner = leases.worker_name()
    run = AuditRun.objects.create(worker=owner)
    problems: list[Problem] = []
    due = Replica.objects.filter(version__gt=0).select_related("package", "location")
    if location:
        due = due.filter(location__name=location)
    due = due.order_by(F("audited_at").asc(nulls_first=True), "pk")
    for replica in due.iterator(chunk_size=100):
        if budget <= 0:
            break
        if not leases.claim(Replica, replica.pk, owner, seconds=1800):
            continue  # another auditor has it
        try:
            replica.refresh_from_db()
            checked, nbytes = _audit_replica(replica, budget, problems)
        finally:
            leases.release(Replica, replica.pk, owner)
        budget -= max(checked, 1)
        run.files += checked
        run.bytes += nbytes
        run.replicas += 1
    run.problems = len(problems)
    run.repaired = sum(1 for p in problems if p.repaired_from)
    run.details = [asdict(p) for p in problems[:1000]]
    run.finished_at = timezone.now()
    run.save()
    return run


def _audit_replica(replica: Replica, budget: int, problems: list[Problem]) -> tuple[int, int]:
    package, loc = replica.package, replica.location
    backend = locations.open_location(loc)
    oid = package.object_id
    try:
        inventory = _inventory(replica, backend, problems)
        if inventory is None:
            return 0, 0
        root = ocfl.object_root(oid)
        files = ocfl.content_files(inventory)  # sorted by content path
        todo = files[replica.audit_cursor : replica.audit_cursor + budget]
        nbytes, started = 0, time.monotonic()
        for i in range(0, len(todo), _SLICE):
            part = {f"{root}/{f.content_path}": f for f in todo[i : i + _SLICE]}
            found = hash_keys(backend, list(part))
            for key, f in part.items():
                got = found[key]
                nbytes += int(got.get("size", 0))
                expected = {a: v for a, v in f.digests().items() if a in ALGORITHMS}
                if not _matches(got, expected):
                    kind = "missing" if fixity.ERROR in got else "fixity"
                    problems.append(_damaged(replica, backend, key, kind, expected, got))
            _throttle(nbytes, started)
    except LocationUnavailable as e:
        locations.open_alert(
            "unreachable", f"存储位置“{loc.name}”不可达，审计跳过：{e}", location=loc
        )
        problems.append(Problem(oid, loc.name, "", "unreachable", {}, {"error": str(e)}))
        return 0, 0
    cursor = replica.audit_cursor + len(todo)
    finished = cursor >= len(files)
    unrepaired = any(
        not p.repaired_from and p.object_id == oid and p.location == loc.name for p in problems
    )
    Replica.objects.filter(pk=replica.pk).update(
        audit_cursor=0 if finished else cursor,
        audited_at=timezone.now() if finished else replica.audited_at,
        damaged=unrepaired or (replica.damaged and not finished),
    )
    return len(todo), nbytes


def _throttle(nbytes: int, started: float) -> None:
    cap = settings.AUDIT_MAX_MB_PER_S
    if cap > 0:
        ahead = nbytes / (cap * 1e6) - (time.monotonic() - started)
        if ahead > 0:
            time.sleep(ahead)


def _inventory(
    replica: Replica, backend: Location, problems: list[Problem]
) -> dict[str, Any] | None:
    """The replica's root inventory, repaired from another replica when it is missing or does
    not match its sidecar digest."""
    oid = replica.package.object_id
    try:
        return ocfl.read_inventory(backend, oid)
    except ocfl.InventoryError as e:
        found = {"error": str(e)}
    source = None
    for key in ocfl.root_inventory_keys(oid):
        source = _repair(replica, backend, key, None)
        if source is None:
            break
    problems.append(
        _record(
            replica,
            "/".join([ocfl.object_root(oid), "inventory.json"]),
            "inventory",
            {},
            found,
            source or "",
        )
    )
    if source is None:
        return None
    return ocfl.read_inventory(backend, oid)


def _damaged(
    replica: Replica,
    backend: Location,
    path: str,
    kind: str,
    expected: dict[str, str],
    found: dict[str, Any],
) -> Problem:
    source = _repair(replica, backend, path, expected)
    return _record(
        replica, path, kind, expected, {k: str(v) for k, v in found.items()}, source or ""
    )


def _repair(
    replica: Replica, backend: Location, key: str, expected: dict[str, str] | None
) -> str | None:
    """Copy `key` from another replica whose copy verifies (against `expected`, or, for inventory
    files, by reading that replica's inventory successfully). Returns its location's name."""
    others = Replica.objects.filter(package=replica.package, version__gte=replica.version)
    for other in others.exclude(pk=replica.pk).select_related("location"):
        good = locations.open_location(other.location)
        try:
            if expected is None:
                ocfl.read_inventory(good, replica.package.object_id)  # raises when not intact
            elif not _matches(hash_keys(good, [key])[key], expected):
                continue
            copy_key(good, backend, key)
            if expected is not None and not _matches(hash_keys(backend, [key])[key], expected):
                continue
        except (LocationUnavailable, ocfl.InventoryError, FileNotFoundError):
            continue
        return other.location.name
    return None


def _record(
    replica: Replica,
    path: str,
    kind: str,
    expected: dict[str, str],
    found: dict[str, str],
    source: str,
) -> Problem:
    package, loc = replica.package, replica.location
    what = {"missing": "文件缺失", "fixity": "固定性值不符", "inventory": "清单损坏或缺失"}[kind]
    events.record(
        package, "fixity check", "failure", f"{what}：{path}",
        {"path": path, "expected": expected, "found": found}, location=loc.name,
    )  # fmt: skip
    alert = locations.open_alert(
        "missing" if kind == "missing" else "fixity",
        f"信息包 {package.object_id} 在存储位置“{loc.name}”{what}：{path}",
        package=package,
        location=loc,
    )
    if source:
        events.record(
            package, "recovery", "success", f"从存储位置“{source}”的已校验副本修复：{path}",
            {"path": path, "from": source}, location=loc.name,
        )  # fmt: skip
        alert.resolved_at, alert.resolution = timezone.now(), f"已从存储位置“{source}”修复"
        alert.save(update_fields=["resolved_at", "resolution"])
    else:
        locations.open_alert(
            "repair_failed",
            f"信息包 {package.object_id} 在存储位置“{loc.name}”的 {path} 无法修复：没有可用的完好副本",
            package=package,
            location=loc,
        )
    return Problem(package.object_id, loc.name, path, kind, expected, found, source)
