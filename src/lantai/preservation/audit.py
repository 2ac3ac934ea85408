"""Continuous fixity audit: every file of every replica is re-verified in bounded, resumable
batches (decision 0020). Per location, once a run: its identity marker (an offline location is
reported and skipped, never written to) and the storage root's own files. Per replica, when a pass
starts: the object declaration, every inventory and sidecar (and each version inventory against the
root one), the SM3 list and files no inventory lists; then the content files, SM3 and SHA-256
against the SM3 list and the inventory's fixity block. A missing or altered file is repaired from
another replica after that replica's copy has itself been verified; both the damage and the repair
become PREMIS events and an alert, and reach the object at the end of the run (a new version).
Workers claim a replica before auditing it, so two auditors never audit or repair the same replica
at once."""

from __future__ import annotations

import contextlib
import hashlib
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import DatabaseError
from django.db.models import F
from django.utils import timezone

from lantai.catalog.models import Component
from lantai.core import audit as audit_log
from lantai.ingest import fixity
from lantai.preservation import events, leases, locations, ocfl, ocfl_check, replication
from lantai.preservation.models import AuditRun, Package, Replica, StorageLocation
from lantai.preservation.replication import copy_key
from lantai.preservation.storage import (
    LocalLocation,
    Location,
    LocationOffline,
    LocationUnavailable,
)

ALGORITHMS = ("sm3", "sha256")
_SLICE = (
    1024  # files hashed per call (spread over the worker processes); the I/O cap is applied between
)


@dataclass
class Problem:
    object_id: str
    location: str
    path: str
    kind: str  # missing | fixity | inventory | declaration | sm3_list | extra_file | root_file
    #            | unreachable | offline
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
        except FileNotFoundError:  # ObjectMissing too
            return key, {fixity.ERROR: "文件不存在"}
        return key, {
            **{a: h.hexdigest() for a, h in zip(ALGORITHMS, hashers, strict=True)},
            "size": size,
        }

    with ThreadPoolExecutor(max_workers=4) as pool:
        return dict(pool.map(one, keys))


def _matches(found: dict[str, Any], expected: dict[str, str]) -> bool:
    return fixity.ERROR not in found and all(found.get(a) == v for a, v in expected.items())


@dataclass
class Outcome:
    """What one audit run leaves for its caller: everything still wrong, in full."""

    problems: list[Problem] = field(default_factory=list)
    offline: list[dict[str, Any]] = field(default_factory=list)  # locations, with the reason
    republished: list[str] = field(default_factory=list)  # packages given a new version

    @property
    def unrepaired(self) -> list[Problem]:
        # Locations that cannot be read are listed in `offline` (with `required`), not here.
        return [
            p
            for p in self.problems
            if not p.repaired_from and p.kind not in ("offline", "unreachable")
        ]


def run_audit(limit_files: int | None = None, *, location: str | None = None) -> AuditRun:
    """Audit up to `limit_files` files, oldest-audited replicas first, continuing where the
    previous pass of each replica stopped. The returned run carries `outcome` (an Outcome).
    A run that fails part-way is still finished (its error recorded as a `run_failed` problem)
    and gives back every replica it claimed before the error propagates."""
    budget = limit_files or settings.AUDIT_BATCH_FILES
    owner = leases.worker_name()
    run = AuditRun.objects.create(worker=owner)
    outcome = Outcome()
    try:
        _audit_due(run, owner, budget, location, outcome)
    except BaseException as e:
        _finish_failed(run, location, outcome.problems, e)
        raise
    finally:
        leases.release_all(Replica, owner)
    listed = {o["location"] for o in outcome.offline}
    problems = outcome.problems
    for p in problems:  # a location lost in the middle of the run
        if p.kind == "unreachable" and p.location not in listed:
            loc = StorageLocation.objects.get(name=p.location)
            outcome.offline.append({"location": loc.name, "required": loc.required,
                                    "kind": "unreachable", "error": p.found.get("error", "")})  # fmt: skip
            listed.add(loc.name)
    outcome.republished = _republish(problems, run.started_at)
    run.problems = len(problems)
    run.repaired = sum(1 for p in problems if p.repaired_from)
    run.details = [asdict(p) for p in problems[:1000]]
    run.finished_at = timezone.now()
    run.save()
    run.outcome = outcome  # type: ignore[attr-defined]
    if not audit_log.is_system_actor(audit_log.current_actor()):  # a keeper started it by hand
        audit_log.record(
            "fixity_audit_run", "storage", location or "",
            {"limit": limit_files, "replicas": run.replicas, "files": run.files,
             "problems": run.problems, "repaired": run.repaired},
        )  # fmt: skip
    return run


def _audit_due(
    run: AuditRun, owner: str, budget: int, location: str | None, outcome: Outcome
) -> None:
    backends = _check_locations(location, outcome)
    due = Replica.objects.filter(version__gt=0, location_id__in=list(backends))
    due = due.order_by(F("audited_at").asc(nulls_first=True), "pk")
    # The ids are read in full before anything is written: a SELECT left open while this
    # connection writes keeps SQLite's write transaction open until the SELECT ends (other
    # processes wait) or fails at once with "database is locked" when another process wrote
    # since the SELECT began (a read snapshot cannot be upgraded; the busy timeout cannot help).
    for replica_id in list(due.values_list("pk", flat=True)):
        if budget <= 0:
            break
        if not leases.claim(Replica, replica_id, owner, seconds=1800):
            continue  # another auditor has it
        try:
            replica = Replica.objects.select_related("package", "location").get(pk=replica_id)
            checked, nbytes = _audit_replica(
                replica, backends[replica.location_id], budget, outcome.problems
            )
        finally:
            leases.release(Replica, replica_id, owner)
        budget -= max(checked, 1)
        run.files += checked
        run.bytes += nbytes
        run.replicas += 1


def _finish_failed(
    run: AuditRun, location: str | None, problems: list[Problem], error: BaseException
) -> None:
    """Close a run that stopped on an error: finished, with what it found so far and the error
    as a `run_failed` problem, so no run is left 进行中 for ever."""
    failed = Problem("", location or "", "", "run_failed", {},
                     {"error": f"{type(error).__name__}: {error}"[:2000]})  # fmt: skip
    found = [*problems, failed]
    # the database itself failing: the original error is the one to report
    with contextlib.suppress(DatabaseError):
        AuditRun.objects.filter(pk=run.pk).update(
            finished_at=timezone.now(),
            files=run.files,
            bytes=run.bytes,
            replicas=run.replicas,
            problems=len(found),
            repaired=sum(1 for p in found if p.repaired_from),
            details=[asdict(p) for p in found[-1000:]],
        )


def nothing_examined(run: AuditRun, location: str | None = None) -> str | None:
    """Why the run examined no stored replica (an audit of nothing is not a pass: decision 0020),
    None when it examined at least one."""
    if run.replicas:
        return None
    where = f"存储位置“{location}”上" if location else ""
    outcome: Outcome | None = getattr(run, "outcome", None)
    stored = Replica.objects.filter(version__gt=0)
    if location:
        stored = stored.filter(location__name=location)
    if not stored.exists():
        return f"{where}尚无已写入的副本，没有可审计的文件"
    if outcome is not None and outcome.offline:
        names = "、".join(f"“{o['location']}”" for o in outcome.offline)
        return f"{where}没有审计任何副本：存储位置 {names} 离线或不可达"
    return f"{where}没有审计任何副本：副本均正由其他审计进程审计，或本批次的文件上限不足"


def _check_locations(name: str | None, outcome: Outcome) -> dict[int, Location]:
    """Open every location (identity marker checked) and audit its storage root's own files.
    Returns the online ones; offline ones are reported, alerted and skipped."""
    out: dict[int, Location] = {}
    locs = StorageLocation.objects.all()
    if name:
        locs = locs.filter(name=name)
    for loc in locs:
        try:
            backend = locations.open_location(loc)
            damaged = ocfl_check.check_root(backend)
            if damaged:
                ocfl_check.repair_root(backend, [p.path for p in damaged])
            still = {p.path for p in ocfl_check.check_root(backend)}
        except LocationUnavailable as e:
            locations.report_offline(loc, e)
            kind = "offline" if isinstance(e, LocationOffline) else "unreachable"
            outcome.offline.append({"location": loc.name, "required": loc.required, "kind": kind,
                                    "error": str(e)})  # fmt: skip
            outcome.problems.append(Problem("", loc.name, "", kind, {}, {"error": str(e)}))
            continue
        for p in damaged:
            outcome.problems.append(_root_file(loc, p, repaired=p.path not in still))
        out[loc.pk] = backend
    return out


def _root_file(loc: StorageLocation, p: ocfl_check.Problem, *, repaired: bool) -> Problem:
    what = "缺失" if p.kind == "missing" else "内容不符"
    alert = locations.open_alert(
        "missing" if p.kind == "missing" else "fixity",
        f"存储位置“{loc.name}”的存储根文件 {p.path} {what}",
        location=loc,
    )
    source = "存储根定义（OCFL 1.1 与兰台）" if repaired else ""
    if repaired:
        alert.resolved_at, alert.resolution = timezone.now(), "已按存储根定义重写"
        alert.save(update_fields=["resolved_at", "resolution"])
    return Problem("", loc.name, p.path, "root_file", {"sha512": p.expected},
                   {"sha512": p.found} if p.found else {"error": what}, source)  # fmt: skip


_AUDIT_EVENTS = ("fixity check", "recovery")


def _republish(problems: list[Problem], since: datetime) -> list[str]:
    """Failures and repairs reach the object now: a new version carries them in its PREMIS.
    Only this run's findings start a version (a damage already recorded, or a version refused
    for a damaged working copy, is not retried at every pass); the object ids actually written."""
    object_ids = sorted({p.object_id for p in problems if p.object_id})
    done = []
    for package in Package.objects.filter(object_id__in=object_ids).exclude(status="deleted"):
        # only the audit's own findings; a failed replication of the republished version
        # must not make every later audit write yet another version
        fresh = package.events.filter(in_object=False, event_type__in=_AUDIT_EVENTS, at__gte=since)
        if not fresh.exists():
            continue
        replication.mark_changed(package.pk)
        try:
            replication.preserve(package.pk)
        except (ocfl.OCFLError, LocationUnavailable):
            continue  # the primary copy itself is unusable: the package stays 待保存
        if Package.objects.filter(pk=package.pk, version__gt=package.version).exists():
            done.append(package.object_id)
    return done


def _audit_replica(
    replica: Replica, backend: Location, budget: int, problems: list[Problem]
) -> tuple[int, int]:
    package, loc = replica.package, replica.location
    oid = package.object_id
    before = len(problems)
    now = timezone.now()
    try:
        inventory = _inventory(replica, backend, problems)
        if inventory is None:
            _mark(replica, problems[before:], finished=False, now=now)
            return 0, 0
        if replica.audit_cursor == 0 or replica.pass_started_at is None:
            replica.audit_cursor = 0
            replica.pass_started_at = now
            Replica.objects.filter(pk=replica.pk).update(pass_started_at=now)
            _object_files(replica, backend, inventory, problems)
        try:
            sm3 = ocfl.sm3_map(backend, oid, inventory)
        except ocfl.InventoryError:
            sm3 = {}  # reported by _object_files; SHA-256 is still checked
        root = ocfl.object_path(backend, oid)
        files = ocfl.content_files(inventory, sm3)  # sorted by content path
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
        locations.report_offline(loc, e)
        problems.append(Problem(oid, loc.name, "", "unreachable", {}, {"error": str(e)}))
        return 0, 0
    cursor = replica.audit_cursor + len(todo)
    finished = cursor >= len(files)
    Replica.objects.filter(pk=replica.pk).update(
        audit_cursor=0 if finished else cursor,
        audited_at=timezone.now() if finished else replica.audited_at,
    )
    _mark(replica, problems[before:], finished=finished, now=now)
    return len(todo), nbytes


def _mark(replica: Replica, found: list[Problem], *, finished: bool, now: Any) -> None:
    """`damaged` is set by anything left unrepaired, and cleared only by a finished pass that
    started after the damage was recorded (by this audit or by verify-object) and found none."""
    left = [p for p in found if not p.repaired_from]
    if left:
        text = "; ".join(f"{_WHAT.get(p.kind, p.kind)}：{p.path}" for p in left[:20])
        Replica.objects.filter(pk=replica.pk).update(damaged=True, damaged_at=now, error=text)
        return
    if not finished or not replica.damaged:
        return
    started, damaged_at = replica.pass_started_at, replica.damaged_at
    if started is not None and (damaged_at is None or damaged_at < started):
        Replica.objects.filter(pk=replica.pk).update(damaged=False, error="")


def _object_files(
    replica: Replica, backend: Location, inventory: dict[str, Any], problems: list[Problem]
) -> None:
    """Everything of the object that is not content: declaration, version inventories and their
    sidecars, the SM3 list, files no inventory lists. Repaired where a good copy exists."""
    oid = replica.package.object_id
    root = ocfl.object_path(backend, oid)
    for p in ocfl_check.verify_metadata(backend, oid, inventory):
        key = f"{root}/{p.path}"
        found = {"error": p.message}
        if p.kind == "declaration":
            backend.put_bytes(key, f"ocfl_object_{ocfl.SPEC_VERSION}\n".encode())
            problems.append(_record(replica, key, "declaration", {}, found, "OCFL 1.1 规范"))
        elif p.kind in ("sidecar_mismatch", "missing", "inventory_invalid"):
            version = p.path.split("/", 1)[0] if "/" in p.path else ""
            source = _repair_version_inventory(replica, backend, inventory, version)
            problems.append(_record(replica, key, "inventory", {}, found, source or ""))
        elif p.kind == "sm3_list":
            source = _repair_sm3_list(replica, backend, inventory, key)
            problems.append(_record(replica, key, "sm3_list", {}, found, source or ""))
        else:  # extra_file: never deleted by the audit, a person decides
            problems.append(_record(replica, key, "extra_file", {}, found, ""))


def _repair_version_inventory(
    replica: Replica, backend: Location, inventory: dict[str, Any], version: str
) -> str | None:
    """Copy vN/inventory.json and its sidecar from a replica where they verify."""
    oid = replica.package.object_id
    n = int(version[1:]) if version.startswith("v") else ocfl.head_number(inventory)
    for other, good in _others(replica):
        try:
            good_root = ocfl.object_path(good, oid)
            if ocfl.read_inventory(good, oid) != inventory:
                continue
            if ocfl_check.check_version_inventory(good, good_root, inventory, n):
                continue
            root = ocfl.object_path(backend, oid)
            for name in (ocfl.INVENTORY, ocfl.SIDECAR):
                data = good.read_bytes(f"{good_root}/v{n}/{name}")
                backend.put_bytes(f"{root}/v{n}/{name}", data)
            if ocfl_check.check_version_inventory(backend, root, inventory, n):
                continue
        except (LocationUnavailable, ocfl.OCFLError, FileNotFoundError):
            continue
        return other
    return None


def _repair_sm3_list(
    replica: Replica, backend: Location, inventory: dict[str, Any], key: str
) -> str | None:
    oid = replica.package.object_id
    content_path = ocfl.sm3_content_path(inventory)
    sha256 = next(
        (c.sha256 for c in ocfl.content_files(inventory) if c.content_path == content_path), None
    )
    source = _repair(replica, backend, key, {"sha256": sha256} if sha256 else None)
    if source is None:
        return None
    try:
        ocfl.sm3_map(backend, oid, inventory)
    except ocfl.InventoryError:
        return None
    return source


def _others(replica: Replica) -> list[tuple[str, Location]]:
    """The other replicas of the package at the same version or later, on online locations."""
    out = []
    others = Replica.objects.filter(package=replica.package, version__gte=replica.version)
    for other in others.exclude(pk=replica.pk).select_related("location"):
        try:
            out.append((other.location.name, locations.open_location(other.location)))
        except LocationUnavailable:
            continue
    return out


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
    for key in ocfl.root_inventory_keys(oid, backend):
        source = _repair(replica, backend, key, None)
        if source is None:
            break
    problems.append(
        _record(
            replica,
            ocfl.root_inventory_keys(oid, backend)[0],
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
    for name, good in _others(replica):
        try:
            if expected is None:
                ocfl.read_inventory(good, replica.package.object_id)  # raises when not intact
            elif not _matches(hash_keys(good, [key])[key], expected):
                continue
            copy_key(good, backend, key)
            if expected is not None and not _matches(hash_keys(backend, [key])[key], expected):
                continue
        except (LocationUnavailable, ocfl.OCFLError, FileNotFoundError):
            continue
        return name
    return _repair_from_working_copy(replica, backend, key, expected)


WORKING_COPY = "工作副本"


def _repair_from_working_copy(
    replica: Replica, backend: Location, key: str, expected: dict[str, str] | None
) -> str | None:
    """No replica holds a good copy: the catalogue's working copy of the same file is a third
    copy, used when every digest the inventory expects matches it (decision 0020)."""
    sha256 = (expected or {}).get("sha256")
    if not sha256:
        return None
    paths = Component.objects.filter(
        record__package_link__package=replica.package, sha256=sha256
    ).values_list("path", flat=True)
    for rel in paths:
        working = Path(settings.MEDIA_ROOT, rel)
        try:
            found = ocfl.hash_file(working)
            if not all(found.get(a) == v for a, v in (expected or {}).items()):
                continue
            backend.put_file(key, working)
            if _matches(hash_keys(backend, [key])[key], expected or {}):
                return WORKING_COPY
        except (OSError, LocationUnavailable, AttributeError):
            continue
    return None


_WHAT = {
    "missing": "文件缺失",
    "fixity": "固定性值不符",
    "inventory": "清单损坏或缺失",
    "declaration": "对象声明文件缺失或内容不符",
    "sm3_list": "SM3 摘要列表损坏或缺失",
    "extra_file": "清单中没有的文件",
}


def _record(
    replica: Replica,
    path: str,
    kind: str,
    expected: dict[str, str],
    found: dict[str, str],
    source: str,
) -> Problem:
    package, loc = replica.package, replica.location
    what = _WHAT[kind]
    if source or not events.repeats_last(package, loc.name, path, found):
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
            package, "recovery", "success", f"从“{source}”修复：{path}",
            {"path": path, "from": source}, location=loc.name,
        )  # fmt: skip
        alert.resolved_at, alert.resolution = timezone.now(), f"已从“{source}”修复"
        alert.save(update_fields=["resolved_at", "resolution"])
    else:
        locations.open_alert(
            "repair_failed",
            f"信息包 {package.object_id} 在存储位置“{loc.name}”的 {path} 无法修复：没有可用的完好副本",
            package=package,
            location=loc,
        )
    return Problem(package.object_id, loc.name, path, kind, expected, found, source)
