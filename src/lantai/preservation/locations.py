"""Storage locations as configured in the database: adding them, opening them as `storage.Location`
backends, and watching their health (reachable, identity, capacity) with alerts.

Identity (decision 0020): every location holds `lantai-location.json` at its storage root:

    {"lantai_location": 1, "location_id": "<StorageLocation.identity, a UUID>", "name": "...",
     "storage_root": "ocfl_1.1", "layout": "<storage layout extension>", "created_at": "<ISO>"}

written once when the location is added (`write_marker`). `open_location` refuses (raises
`LocationOffline`) a location whose marker is missing or names another identity: an unmounted disk
(an empty mount point) or a wrong bucket is offline, never written to, and never turned into a fresh
storage root. Stable API: `write_marker`, `read_marker`, `check_identity`, `is_online`."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext, gettext_noop

from lantai.catalog.services import CatalogError, require
from lantai.core import audit
from lantai.core.models import User
from lantai.core.roles import PRESERVE
from lantai.preservation import ocfl
from lantai.preservation.models import Alert, Package, Replica, StorageLocation
from lantai.preservation.storage import (
    LocalLocation,
    Location,
    LocationOffline,
    LocationUnavailable,
    ObjectMissing,
)

PRIMARY_NAME = "local"
MARKER = "lantai-location.json"
MARKER_FORMAT = 1


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


def _backend(loc: StorageLocation) -> Location:
    if loc.kind == "local":
        return LocalLocation(loc.name, Path(loc.path))
    from lantai.preservation.s3 import S3Location

    return S3Location(
        loc.name, loc.s3_url, loc.bucket, loc.access_key, secret_key(loc), prefix=loc.prefix
    )


def open_location(loc: StorageLocation, *, check: bool = True) -> Location:
    """The location's backend, after checking its identity marker (`check_identity`): an offline
    location raises LocationOffline (a LocationUnavailable) here, before anything is read or
    written. `check=False` only for adding a location and for probing it."""
    backend = _backend(loc)
    if check:
        check_identity(loc, backend)
    return backend


# --- identity marker -----------------------------------------------------------------------------


def marker_bytes(loc: StorageLocation, layout: str = ocfl.LAYOUT_EXTENSION) -> bytes:
    marker = {
        "lantai_location": MARKER_FORMAT,
        "location_id": str(loc.identity),
        "name": loc.name,
        "storage_root": ocfl.ROOT_DECLARATION.removeprefix("0="),
        "layout": layout,
        "created_at": timezone.now().isoformat(timespec="seconds"),
    }
    return (json.dumps(marker, ensure_ascii=False, indent=2) + "\n").encode("utf-8")


def write_marker(loc: StorageLocation, backend: Location | None = None) -> None:
    """Write the location's identity marker and remember when (only for a location being added,
    or adopted: see `check_identity`)."""
    backend = backend or _backend(loc)
    backend.put_bytes(MARKER, marker_bytes(loc, ocfl.root_layout(backend)))
    loc.marker_at = timezone.now()
    if loc.pk:
        StorageLocation.objects.filter(pk=loc.pk).update(marker_at=loc.marker_at)


def read_marker(backend: Location) -> dict[str, Any] | None:
    """The marker at the location's root; None when there is none, {} when it is unreadable.
    LocationUnavailable when the location cannot be reached at all."""
    try:
        data = backend.read_bytes(MARKER)
    except ObjectMissing:
        return None
    try:
        marker = json.loads(data.decode("utf-8"))
    except ValueError:
        return {}
    return marker if isinstance(marker, dict) else {}


def identity_problem(loc: StorageLocation, backend: Location) -> str | None:
    """Why the location is not the one configured, or None when its marker matches."""
    marker = read_marker(backend)
    if marker is None:
        if loc.marker_at is None and backend.size(ocfl.ROOT_DECLARATION) is not None:
            # A storage root created before identity markers existed: adopt it once.
            write_marker(loc, backend)
            audit.record(
                "storage_location_marker", "storage_location", loc.pk,
                {"name": loc.name, "identity": str(loc.identity), "adopted": True},
            )  # fmt: skip
            return None
        what = "没有 OCFL 存储根声明" if backend.size(ocfl.ROOT_DECLARATION) is None else "有存储根"
        return (
            f"缺少标识文件 {MARKER}（{what}）：磁盘未挂载、挂载了空目录或存储桶配置错误，"
            "不会向其写入任何内容"
        )
    if marker.get("location_id") != str(loc.identity):
        found = marker.get("location_id") or "无法读取"
        return (
            f"标识文件 {MARKER} 属于另一个存储位置（{marker.get('name', '?')}，标识 {found}；"
            f"应为 {loc.identity}）：挂载了其他磁盘或配置了错误的存储桶"
        )
    if marker.get("storage_root") != ocfl.ROOT_DECLARATION.removeprefix("0="):
        return f"标识文件 {MARKER} 声明的存储根 {marker.get('storage_root')!r} 不是 OCFL 1.1"
    return None


def check_identity(loc: StorageLocation, backend: Location | None = None) -> None:
    """LocationOffline when the location's marker is missing or names another location (and
    LocationUnavailable when it cannot be reached)."""
    backend = backend or _backend(loc)
    problem = identity_problem(loc, backend)
    if problem is not None:
        raise LocationOffline(f"存储位置“{loc.name}”离线：{problem}")


def is_online(loc: StorageLocation) -> bool:
    """Reachable and carrying its own marker (a probe: no alerts, no state changes)."""
    try:
        check_identity(loc)
    except LocationUnavailable:
        return False
    return True


def report_offline(loc: StorageLocation, error: LocationUnavailable) -> None:
    """Mark the location offline and open the matching alert (offline vs unreachable)."""
    kind = "offline" if isinstance(error, LocationOffline) else "unreachable"
    StorageLocation.objects.filter(pk=loc.pk).update(
        online=False, last_error=str(error), checked_at=timezone.now()
    )
    loc.online, loc.last_error = False, str(error)
    text = str(error) if kind == "offline" else f"存储位置“{loc.name}”不可达：{error}"
    open_alert(kind, text, location=loc)
    if loc.required:  # their copies there cannot be vouched for now: the packages wait for it
        Package.objects.filter(replicas__location=loc, status="preserved").update(status="pending")


RECHECK_SECONDS = 60.0
_rechecked: dict[str, float] = {}  # identity -> when it was last probed and found offline


def recheck_offline(loc: StorageLocation) -> bool:
    """For a location marked offline: is it back (reachable, its own marker)? Then mark it online
    and close its offline/unreachable alerts. True when it is online now."""
    if loc.online:
        return True
    last = _rechecked.get(str(loc.identity))
    if last is not None and time.monotonic() - last < RECHECK_SECONDS:
        return False  # probed a moment ago (a run over many packages probes once)
    _rechecked[str(loc.identity)] = time.monotonic()
    try:
        check_identity(loc)
    except LocationUnavailable:
        return False
    _rechecked.pop(str(loc.identity), None)
    StorageLocation.objects.filter(pk=loc.pk).update(online=True, last_error="")
    loc.online, loc.last_error = True, ""
    resolve_alerts("unreachable", "已恢复访问", location=loc)
    resolve_alerts("offline", "标识文件已核对，存储位置恢复在线", location=loc)
    return True


def ensure_primary() -> StorageLocation:
    """The data directory's own storage root: the primary location, required by default."""
    loc = StorageLocation.objects.filter(is_primary=True).first()
    if loc is None:
        root = Path(settings.PRESERVATION_ROOT)
        root.mkdir(parents=True, exist_ok=True)
        loc, created = StorageLocation.objects.get_or_create(
            name=PRIMARY_NAME,
            defaults={"kind": "local", "path": str(root), "required": True, "is_primary": True},
        )
        if created:
            backend = _backend(loc)
            if read_marker(backend) is None:
                ocfl.init_root(backend)
                write_marker(loc, backend)
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
        try:
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
                    reattach=True,  # the same place, declared again after a rebuild
                )
            )
        except LocationError as e:  # reported, and the rest of the tick goes on
            text = f"LANTAI_STORAGE_LOCATIONS 中的存储位置“{name}”：{e.message_zh}"
            open_alert("offline", text, location=None)
    return made


def _reattachable(marker: dict[str, Any], name: str) -> bool:
    try:
        identity = uuid.UUID(str(marker.get("location_id")))
    except ValueError:
        return False
    return (
        marker.get("name") == name
        and not StorageLocation.objects.filter(identity=identity).exists()
    )


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
    reattach: bool = False,
) -> StorageLocation:
    """Add a location after checking it can be reached and written; with `required`, every
    package (existing ones too) gets a replica there. A place that already carries a marker is
    refused, unless `reattach` and the marker names a location of this name that the database
    does not know (a catalogue rebuilt after the database was lost): then it keeps its identity."""
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
        backend = _backend(loc)
        marker = read_marker(backend)
        if marker is not None and not (reattach and _reattachable(marker, name)):
            raise LocationError(
                f"存储位置“{name}”无法使用：该处已是存储位置“{marker.get('name', '?')}”"
                f"（标识 {marker.get('location_id', '?')}）的存储根，不能再次添加为新位置",
                "path",
            )
        if marker is not None:  # reattached: the same place under its old identity
            loc.identity = uuid.UUID(str(marker["location_id"]))
            loc.marker_at = timezone.now()
        else:
            # Replicas are copied key by key: a new root takes the primary's layout (0004 on
            # sites set up before decision 0020, 0003 otherwise).
            ocfl.init_root(backend, ocfl.root_layout(open_location(ensure_primary())))
            write_marker(loc, backend)
    except LocationError:
        raise
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


# --- why packages wait (issue 13) --------------------------------------------------------------
COPIES_REASON = gettext_noop(
    "等待第 %(next)s 份副本：存储策略要求每个信息包至少 %(need)s 个已校验副本（异地备份），"
    "但只配置了 %(have)s 个必需存储位置"
)
COPIES_HOW = gettext_noop(
    "添加存储位置：运行 `lantai storage location add 名称 --path 另一块磁盘上的目录 --required`"
    "（对象存储用 --s3-url 地址 --bucket 存储桶 --required），或在“存储位置”页面添加必需存储位置；"
    "第二份副本应在另一块磁盘、另一建筑或 S3 对象存储上，而不是同一块磁盘的另一个目录"
)
OFFLINE_REASON = gettext_noop(
    "必需存储位置“%(location)s”离线（%(error)s）：其上的副本无法确认，信息包等它恢复在线"
)
OFFLINE_HOW = gettext_noop(
    "检查磁盘挂载或网络后，在存储概览页面点“检查存储位置”，或运行 `lantai storage location list`"
)


@dataclass(frozen=True)
class Wait:
    """A reason every package stays 待保存 whatever is copied, and how to end it."""

    code: str  # "copies": too few required locations; "offline": a required location is offline
    reason: str  # Chinese source strings with %(…)s parameters (translated where shown)
    how: str
    params: dict[str, Any] = field(default_factory=dict)

    def reason_text(self) -> str:
        return gettext(self.reason) % self.params

    def how_text(self) -> str:
        return gettext(self.how) % self.params

    def message_zh(self) -> str:
        """Untranslated, for stored alerts."""
        return f"{self.reason % self.params}；{self.how % self.params}"

    def as_json(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "reason": self.reason_text(),
            "how": self.how_text(),
            **self.params,
        }


def preservation_waits() -> list[Wait]:
    """What keeps packages from 已保存 now: fewer required locations than the copies the policy
    asks for (a fresh install has the data directory's own location only), and required
    locations that are offline."""
    ensure_primary()
    need = settings.PRESERVATION_MIN_COPIES
    required = list(StorageLocation.objects.filter(required=True).order_by("pk"))
    waits = []
    if len(required) < need:
        counts = {"need": need, "have": len(required), "next": len(required) + 1}
        waits.append(Wait("copies", COPIES_REASON, COPIES_HOW, counts))
    for loc in required:
        if not loc.online:
            where = {"location": loc.name, "error": loc.last_error or gettext("无法访问")}
            waits.append(Wait("offline", OFFLINE_REASON, OFFLINE_HOW, where))
    return waits


def check_policy() -> bool:
    """Are there enough required locations for the copies the policy asks for (异地备份)?"""
    short = next((w for w in preservation_waits() if w.code == "copies"), None)
    if short is not None:
        open_alert("policy", short.message_zh())
        return False
    have = StorageLocation.objects.filter(required=True).count()
    resolve_alerts("policy", f"已有 {have} 个必需存储位置")
    return True


def stored_bytes(loc: StorageLocation) -> int:
    """Bytes of the package versions written and verified on the location (from the database:
    walking or listing millions of files on every health check would cost too much)."""
    total = Package.objects.filter(replicas__location=loc, replicas__version__gt=0).aggregate(
        n=Sum("bytes")
    )["n"]
    return int(total or 0)


def _note_manual_check(loc: StorageLocation, online: bool, error: str = "") -> None:
    """A storage check a keeper started by hand goes to the audit log (periodic ones do not)."""
    if not audit.is_system_actor(audit.current_actor()):
        detail = {"name": loc.name, "online": online, "error": error}
        audit.record("storage_location_check", "storage_location", loc.pk, detail)


def check_health(loc: StorageLocation) -> bool:
    """Probe a location: reachable? how full? Opens or resolves the matching alerts."""
    loc.checked_at = timezone.now()
    try:
        backend = open_location(loc)  # the identity marker (decision 0020)
        if backend.size(ocfl.ROOT_DECLARATION) is None:
            raise LocationOffline(
                f"存储位置“{loc.name}”离线：{ocfl.ROOT_DECLARATION} 不存在，不是完整的存储根"
            )
        free = backend.capacity().free_bytes if loc.kind == "local" else None
    except LocationUnavailable as e:
        report_offline(loc, e)
        _note_manual_check(loc, False, str(e))
        return False
    _note_manual_check(loc, True)
    loc.online, loc.last_error = True, ""
    loc.used_bytes, loc.free_bytes = stored_bytes(loc), free
    loc.save(update_fields=["online", "last_error", "checked_at", "used_bytes", "free_bytes"])
    resolve_alerts("unreachable", "已恢复访问", location=loc)
    resolve_alerts("offline", "标识文件已核对，存储位置恢复在线", location=loc)
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
