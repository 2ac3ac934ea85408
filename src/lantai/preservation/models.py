"""存: storage locations, archival packages (one OCFL object each), their replicas, PREMIS events,
fixity audit runs, alerts and two-person deletion requests."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class StorageLocation(models.Model):
    """A place holding a full OCFL storage root: a local directory or an S3 bucket (+ prefix)."""

    KINDS = [("local", _("本地目录")), ("s3", _("S3 对象存储"))]
    name = models.CharField(_("名称"), max_length=64, unique=True)
    # Written into the location's marker (lantai-location.json, decision 0020): the location is
    # online only while the marker there names this identity.
    identity = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    marker_at = models.DateTimeField(null=True, blank=True)  # when the marker was written
    kind = models.CharField(_("类型"), max_length=8, choices=KINDS)
    path = models.CharField(_("目录"), max_length=500, blank=True)
    s3_url = models.CharField(_("S3 地址"), max_length=300, blank=True)
    bucket = models.CharField(_("存储桶"), max_length=100, blank=True)
    prefix = models.CharField(_("前缀"), max_length=200, blank=True)
    access_key = models.CharField(max_length=200, blank=True)
    secret_key_encrypted = models.TextField(blank=True)  # Fernet, key derived from SECRET_KEY
    required = models.BooleanField(_("必需副本"), default=True)
    is_primary = models.BooleanField(default=False)  # new versions are written here first
    online = models.BooleanField(default=True)
    last_error = models.TextField(blank=True)
    checked_at = models.DateTimeField(null=True, blank=True)
    used_bytes = models.BigIntegerField(null=True, blank=True)
    free_bytes = models.BigIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-is_primary", "name"]
        verbose_name = _("存储位置")


class Package(models.Model):
    """An archival package (AIP): one OCFL object holding records, their files and events."""

    KINDS = [("transfer", _("移交接收")), ("import", _("目录导入")), ("record", _("单件著录"))]
    STATUSES = [
        ("pending", _("待保存")),  # a required replica is not yet written and verified
        ("preserved", _("已保存")),
        ("deleted", _("已删除")),
    ]
    object_id = models.CharField(max_length=200, unique=True)
    kind = models.CharField(max_length=16, choices=KINDS)
    label = models.CharField(_("名称"), max_length=300)
    source_id = models.BigIntegerField(null=True)  # the transfer or import batch it came from
    status = models.CharField(max_length=16, choices=STATUSES, default="pending")
    version = models.PositiveIntegerField(default=0)  # OCFL head version on the primary, 0 = none
    files = models.PositiveIntegerField(default=0)  # content files of the head version
    bytes = models.BigIntegerField(default=0)
    changes = models.PositiveIntegerField(default=1)  # catalogue changes counted so far
    written_changes = models.PositiveIntegerField(default=0)  # ... of which `version` holds
    claimed_by = models.CharField(max_length=64, blank=True)  # the worker writing it now
    claimed_until = models.DateTimeField(null=True, blank=True)
    checked_at = models.DateTimeField(null=True, blank=True)  # last 长期保存 check
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["status"])]


class PackageRecord(models.Model):
    """Which package preserves a record (a record belongs to exactly one package)."""

    package = models.ForeignKey(Package, on_delete=models.CASCADE, related_name="members")
    record = models.OneToOneField(
        "catalog.Record", on_delete=models.CASCADE, related_name="package_link"
    )


class Replica(models.Model):
    """One package on one location: written and verified up to `version`, audited in turns."""

    package = models.ForeignKey(Package, on_delete=models.CASCADE, related_name="replicas")
    location = models.ForeignKey(StorageLocation, on_delete=models.PROTECT, related_name="+")
    version = models.PositiveIntegerField(default=0)  # highest version verified complete here
    damaged = models.BooleanField(default=False)  # a problem was found that could not be repaired
    damaged_at = models.DateTimeField(null=True, blank=True)  # when `damaged` was last set
    error = models.TextField(blank=True)
    verified_at = models.DateTimeField(null=True, blank=True)
    audited_at = models.DateTimeField(null=True, blank=True)  # last finished audit pass
    audit_cursor = models.PositiveIntegerField(default=0)  # files done in the unfinished pass
    pass_started_at = models.DateTimeField(null=True, blank=True)  # start of the current pass
    claimed_by = models.CharField(max_length=64, blank=True)  # the auditor holding it now
    claimed_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["package", "location"], name="replica_unique")
        ]
        indexes = [models.Index(fields=["audited_at"])]


class Event(models.Model):
    """A PREMIS event about a package (or one of its files on one location)."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True)
    package = models.ForeignKey(Package, on_delete=models.CASCADE, related_name="events")
    event_type = models.CharField(max_length=64)  # LoC PREMIS event type
    outcome = models.CharField(max_length=16)  # success | failure | warning
    detail = models.TextField(blank=True)
    outcome_detail = models.JSONField(default=dict)
    location = models.CharField(max_length=64, blank=True)
    agent = models.CharField(max_length=200, blank=True)  # software name/version or user
    at = models.DateTimeField()
    in_object = models.BooleanField(default=False)  # written into the OCFL object's PREMIS file

    class Meta:
        ordering = ["at", "id"]


class AuditRun(models.Model):
    """One bounded fixity-audit pass: what it checked, found and repaired."""

    worker = models.CharField(max_length=64)
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    files = models.PositiveIntegerField(default=0)
    bytes = models.BigIntegerField(default=0)
    replicas = models.PositiveIntegerField(default=0)
    problems = models.PositiveIntegerField(default=0)
    repaired = models.PositiveIntegerField(default=0)
    details = models.JSONField(default=list)  # each problem: package, location, path, found, action

    class Meta:
        ordering = ["-started_at"]

    @property
    def failed(self) -> str:
        """The error that stopped this run part-way ("" when it ran to its end): the last
        problem of kind ``run_failed`` (preservation/audit.py)."""
        last = self.details[-1] if self.details else None
        if isinstance(last, dict) and last.get("kind") == "run_failed":
            return str((last.get("found") or {}).get("error") or "?")
        return ""


class Alert(models.Model):
    KINDS = [
        ("fixity", _("固定性校验不符")),
        ("missing", _("文件缺失")),
        ("unreachable", _("存储位置不可达")),
        ("low_space", _("存储空间不足")),
        ("repair_failed", _("无法修复")),
        ("policy", _("存储策略未满足")),
        ("offline", _("存储位置离线或标识不符")),
        ("working_copy", _("工作副本与目录摘要不符")),
    ]
    kind = models.CharField(max_length=16, choices=KINDS)
    message = models.TextField()
    package = models.ForeignKey(Package, null=True, on_delete=models.CASCADE, related_name="+")
    location = models.ForeignKey(
        StorageLocation, null=True, on_delete=models.CASCADE, related_name="+"
    )
    opened_at = models.DateTimeField(auto_now_add=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolution = models.TextField(blank=True)

    class Meta:
        ordering = ["-opened_at"]


class DeletionRequest(models.Model):
    """Removing a package needs two people: one requests, a different one approves."""

    STATUSES = [("requested", _("待审批")), ("approved", _("已批准")), ("rejected", _("已驳回"))]
    package = models.ForeignKey(Package, on_delete=models.CASCADE, related_name="deletions")
    # What goes (decision 0021): record ids (a 案卷 with its 卷内文件) and component ids; both
    # empty = the whole package. Ids, not foreign keys: the rows are gone after approval.
    records = models.JSONField(default=list, blank=True)
    components = models.JSONField(default=list, blank=True)
    reason = models.TextField(_("理由"))
    status = models.CharField(max_length=16, choices=STATUSES, default="requested")
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )
    decision_note = models.TextField(blank=True)
    requested_at = models.DateTimeField(auto_now_add=True)
    decided_at = models.DateTimeField(null=True, blank=True)


class LongTermCheck(models.Model):
    """One run of the DA/T 70 长期保存 checks over some packages; results in the ingest form."""

    started_at = models.DateTimeField()
    finished_at = models.DateTimeField()
    result = models.CharField(max_length=8)  # pass | fail
    summary = models.JSONField(default=dict)
    checks = models.JSONField(default=list)  # CheckResult.as_dict() of every result

    class Meta:
        ordering = ["-started_at"]
