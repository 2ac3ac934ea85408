"""Storage locations as configured in the database: adding them, opening them as `storage.Location`
backends, and watching their health (reachable, capacity) with alerts."""

from __future__ import annotations

import base64
import hashlib
import os
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from lantai.catalog.services import CatalogError, require
from lantai.core import audit
from lantai.core.models import User
from lantai.core.roles import PRESERVE
from lantai.preservation import ocfl
from lantai.preservation.models import Alert, Package, Replica, StorageLocation
from lantai.preservation.storage import LocalLocation, Location, LocationUnavailable

PRIMARY_NAME = "local"


class LocationError(CatalogError):
    pass


def _fernet() -> Fernet:
    # Secrets at rest are encrypted with a key derived from LANTAI_SECRET_KEY (from the environment).
    key = hashlib.sha256(("lantai-storage:" + settings.SECRET_KEY).encode()).digest()
    return Fernet(base64.urlsafe_b64encode(key))


def secret_key(loc: StorageLocation) -> str:
    if not loc.secret_key_encrypted:
        return ""
    try:
        return _fernet().decrypt(loc.secret_key_encrypted.encode()).decode()
    except InvalidToken as e:
        raise LocationError(
            f"存储位置“{loc.name}”的密钥无法解密：LANTAI_SECRET_KEY 已更换？"
        ) from e


def open_location(loc: StorageLocation) -> Location:
    if loc.kind == "local":
        return LocalLocation(loc.name, Path(loc.path))
    from lantai.preservation.s3 import S3Location

    return S3Location(
        loc.name, loc.s3_url, loc.bucket, loc.access_key, secret_key(loc), prefix=loc.prefix
    )


def ensure_primary() -> StorageLocation:
    """The data directory's own storage root: the primary location, required by default."""
    loc = StorageLocation.objects.filter(is_primary=True).first()
    if loc is None:
        root = Path(settings.PRESERVATION_ROOT)
        root.mkdir(parents=True, exist_ok=True)
        loc, _ = StorageLocation.objects.get_or_create(
            name=PRIMARY_NAME,
            defaults={"kind": "local", "path": str(root), "required": True, "is_primary": True},
        )
        ocfl.init_root(open_location(loc))
    return loc


def required_locations() -> list[StorageLocation]:
    ensure_primary()
    return list(StorageLocation.objects.filter(required=True))


def sync_from_settings() -> list[StorageLocation]:
    """Create the locations LANTAI_STORAGE_LOCATIONS declares and the database lacks (an existing
    name is left as it is: the UI may have changed it since)."""
    made = []
    for spec in settings.STORAGE_LOCATIONS:
        name = str(spec.get("name", ""))
        if not name or StorageLocation.objects.filter(name=name).exists():
            continue
        made.append(
            add_location(
                name,
                path=str(spec.get("path", "")),
                s3_url=str(spec.get("s3_url", "")),
                bucket=str(spec.get("bucket", "")),
                prefix=str(spec.get("prefix", "")),
                access_key=os.environ.get("LANTAI_S3_ACCESS_KEY", ""),
                secret=os.environ.get("LANTAI_S3_SECRET_KEY", ""),
                required=bool(spec.get("required", False)),
            )
        )
    return made


def add_location(
    name: str,
    *,
    path: str = "",
    s3_url: str = "",
    bucket: str = "",
    access_key: str = "",
    secret: str = "",
    prefix: str = "",
    required: bool = False,
    user: User | None = None,
) -> StorageLocation:
    """Add a location after checking it can be reached and written; with `required`, every
    package (existing ones too) gets a replica there."""
    require(user, PRESERVE)
    name = name.strip()
    if not name or StorageLocation.objects.filter(name=name).exists():
        raise LocationError(f"存储位置名称“{name}”为空或已存在", "name")
    if bool(path) == bool(s3_url):
        raise LocationError("须给出本地目录（--path）或 S3 地址（--s3-url）二者之一", "path")
    if s3_url and not bucket:
        raise LocationError("S3 存储位置须给出存储桶（--bucket）", "bucket")
    ensure_primary()
    loc = StorageLocation(
        name=name,
        kind="local" if path else "s3",
        path=str(Path(path).resolve()) if path else "",
        s3_url=s3_url,
        bucket=bucket,
        prefix=prefix.strip("/"),
        access_key=access_key,
        secret_key_encrypted=_fernet().encrypt(secret.encode()).decode() if secret else "",
        required=required,
    )
    try:
        if path:
            Path(loc.path).mkdir(parents=True, exist_ok=True)
        ocfl.init_root(open_location(loc))
    except (OSError, ValueError, ocfl.OCFLError) as e:  # LocationUnavailable is an OSError
        raise LocationError(f"存储位置“{name}”无法使用：{e}", "path") from e
    with transaction.atomic():
        loc.save()
        if required:
            Replica.objects.bulk_create(
                [
                    Replica(package=p, location=loc)
                    for p in Package.objects.exclude(status="deleted")
                ]
            )
            Package.objects.exclude(status="deleted").update(status="pending")
        check_policy()
        audit.record(
            "storage_location_add",
            "storage_location",
            loc.pk,
            {"name": name, "kind": loc.kind, "required": required, "where": loc.path or s3_url},
        )
    return loc


def open_alert(kind: str, message: str, **where: object) -> Alert:
    """One open alert per kind and place: a repeated problem does not pile up alerts."""
    alert = Alert.objects.filter(kind=kind, resolved_at=None, **where).first()
    if alert is None:
        alert = Alert.objects.create(kind=kind, message=message, **where)
    return alert


def resolve_alerts(kind: str, resolution: str, **where: object) -> None:
    Alert.objects.filter(kind=kind, resolved_at=None, **where).update(
        resolved_at=timezone.now(), resolution=resolution
    )


def check_policy() -> bool:
    """Are there enough required locations for the copies the policy asks for (异地备份)?"""
    need = settings.PRESERVATION_MIN_COPIES
    have = StorageLocation.objects.filter(required=True).count()
    if have < need:
        open_alert(
            "policy",
            f"存储策略要求每个信息包至少 {need} 个已校验副本（异地备份），但只有 {have} 个必需存储位置："
            "请添加另一处（另一建筑或异地）的必需存储位置",
        )
        return False
    resolve_alerts("policy", f"已有 {have} 个必需存储位置")
    return True


def stored_bytes(loc: StorageLocation) -> int:
    """Bytes of the package versions written and verified on the location (from the database:
    walking or listing millions of files on every health check would cost too much)."""
    total = Package.objects.filter(replicas__location=loc, replicas__version__gt=0).aggregate(
        n=Sum("bytes")
    )["n"]
    return int(total or 0)


def check_health(loc: StorageLocation) -> bool:
    """Probe a location: reachable? how full? Opens or resolves the matching alerts."""
    backend = open_location(loc)
    loc.checked_at = timezone.now()
    try:
        if backend.size(ocfl.ROOT_DECLARATION) is None:
            raise LocationUnavailable(
                f"{ocfl.ROOT_DECLARATION} 不存在：未挂载或不是 Lantai 的存储根目录"
            )
        free = backend.capacity().free_bytes if loc.kind == "local" else None
    except LocationUnavailable as e:
        loc.online, loc.last_error = False, str(e)
        loc.save(update_fields=["online", "last_error", "checked_at"])
        open_alert("unreachable", f"存储位置“{loc.name}”不可达：{e}", location=loc)
        return False
    loc.online, loc.last_error = True, ""
    loc.used_bytes, loc.free_bytes = stored_bytes(loc), free
    loc.save(update_fields=["online", "last_error", "checked_at", "used_bytes", "free_bytes"])
    resolve_alerts("unreachable", "已恢复访问", location=loc)
    if free is not None and free < settings.STORAGE_LOW_SPACE_BYTES:
        open_alert(
            "low_space",
            f"存储位置“{loc.name}”剩余空间 {free / 1024**3:.1f} GiB，"
            f"低于告警阈值 {settings.STORAGE_LOW_SPACE_BYTES / 1024**3:.1f} GiB",
            location=loc,
        )
    else:
        resolve_alerts("low_space", "空间已充足", location=loc)
    return True
