"""Checking one package on every replica, on demand (`lantai storage verify-object`)."""

from __future__ import annotations

from typing import Any

from django.utils import timezone

from lantai.core import audit
from lantai.preservation import events, locations, ocfl_check
from lantai.preservation.models import Package, Replica
from lantai.preservation.storage import LocationUnavailable


class NotFound(LookupError):
    pass


def find_package(ident: str) -> Package:
    package = Package.objects.filter(object_id=ident).first()
    if package is None and ident.isdigit():
        package = Package.objects.filter(pk=int(ident)).first()
    if package is None:
        raise NotFound(f"没有信息包“{ident}”")
    return package


def verify_package(ident: str) -> dict[str, Any]:
    """Full OCFL validation (every digest of every version) of the package on each replica."""
    package = find_package(ident)
    out: dict[str, list[str]] = {}
    for replica in Replica.objects.filter(package=package).select_related("location"):
        name = replica.location.name
        read = True
        try:
            problems = [p.message for p in ocfl_check.verify_object(
                locations.open_location(replica.location), package.object_id
            )]  # fmt: skip
        except LocationUnavailable as e:  # offline is not damage: `damaged` stays as it was
            problems, read = [f"存储位置不可达或离线：{e}"], False
        if replica.version == 0:
            problems.append("尚未写入此存储位置")
        out[name] = problems
        now = timezone.now()
        if read:
            damaged = bool(problems) and replica.version > 0
            Replica.objects.filter(pk=replica.pk).update(
                damaged=damaged,
                damaged_at=now if damaged else replica.damaged_at,
                error="; ".join(problems[:20]) if damaged else "",
                verified_at=now,
            )
        else:  # the attempt is recorded; the replica's state is unknown, not damaged
            Replica.objects.filter(pk=replica.pk).update(verified_at=now)
        events.record(
            package, "fixity check", "failure" if problems else "success",
            "逐一校验信息包全部版本的全部文件", {"problems": problems[:50]}, location=name,
        )  # fmt: skip
    intact = bool(out) and not any(out.values())
    if not audit.is_system_actor(audit.current_actor()):  # a keeper asked for it (UI or CLI)
        audit.record(
            "package_verify", "package", package.pk,
            {"object_id": package.object_id, "intact": intact, "replicas": len(out)},
        )  # fmt: skip
    return {"object_id": package.object_id, "intact": intact, "replicas": out}
