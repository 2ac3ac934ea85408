"""收: transfers from filing units, their package versions and the check results of each version."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Transfer(models.Model):
    """One transfer (移交) from a filing unit; a returned transfer can be resubmitted as a new
    version of its package."""

    STATUSES = [
        ("pending", _("待检测")),
        ("checking", _("检测中")),
        ("passed", _("通过")),
        ("failed", _("不通过")),
        ("accepted", _("已接收")),
        ("returned", _("已退回")),
    ]
    unit = models.CharField(_("移交单位"), max_length=200)
    # the submitting unit's own fonds, chosen from the submitter's scope (its 立档单位 is `unit`);
    # empty for transfers registered before units were chosen
    fonds = models.ForeignKey(
        "catalog.Fonds", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    title = models.CharField(_("交接工作名称"), max_length=300, blank=True)
    status = models.CharField(_("状态"), max_length=16, choices=STATUSES, default="pending")
    # 实施条例 art 30: what the unit says about opening, disclosure and classification changes
    opening_opinion = models.TextField(_("到期开放意见"), blank=True)
    disclosure_status = models.TextField(_("政府信息公开情况"), blank=True)
    classification_changes = models.TextField(_("密级变更情况"), blank=True)
    return_reason = models.TextField(_("退回理由"), blank=True)
    accept_reason = models.TextField(
        _("接收说明"), blank=True
    )  # required to accept despite warnings
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("移交")


class TransferVersion(models.Model):
    """One submitted package of a transfer, kept untouched in quarantine until decided."""

    transfer = models.ForeignKey(Transfer, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    original = models.CharField(max_length=500)  # quarantined original, relative to DATA_DIR
    original_sm3 = models.CharField(max_length=64)
    # SM3 of the manifest (work/working-sm3.json) of the working files' SM3 the check computed;
    # accepting re-verifies the files against it (receipt.verify_working)
    working_sm3 = models.CharField(max_length=64, blank=True)
    package_kind = models.CharField(max_length=16, blank=True)
    result = models.CharField(max_length=8, blank=True)  # pass | fail, empty until checked
    summary = models.JSONField(default=dict)
    received_at = models.DateTimeField(auto_now_add=True)
    checked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["transfer", "number"]
        constraints = [
            models.UniqueConstraint(fields=["transfer", "number"], name="transfer_version_unique")
        ]


class CheckRecord(models.Model):
    """One DA/T 70 check on one object of a package version."""

    version = models.ForeignKey(TransferVersion, on_delete=models.CASCADE, related_name="checks")
    property = models.CharField(max_length=16)
    content_code = models.CharField(max_length=8)
    item_code = models.CharField(max_length=16, blank=True)
    title = models.CharField(max_length=200)
    status = models.CharField(max_length=4)
    object = models.CharField(max_length=1000)
    evidence = models.JSONField(default=dict)
    tool = models.CharField(max_length=100, blank=True)
    tool_version = models.CharField(max_length=100, blank=True)
    # the DA/T 70 catalogue check (standards/data/dat70-2018.yaml) and the catalogue's revision
    check_key = models.CharField(max_length=40, blank=True)
    catalogue_revision = models.PositiveIntegerField(default=0)

    class Meta:
        indexes = [models.Index(fields=["version", "status", "property"])]


# the quality and early-warning models (进馆质量, 移交预警) live in their own module; imported here so
# that Django registers them with this app
from lantai.ingest.quality_models import (  # noqa: E402, F401
    QualityVisit,
    SelfCheck,
    SelfCheckItem,
    TransferReminder,
    UnitTransferProfile,
)
