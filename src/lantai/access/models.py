"""用: access requests (查档申请) from the public and the use register (利用登记)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

ID_TYPES = [
    ("resident_id", _("居民身份证")),
    ("passport", _("护照")),
    ("hk_macao", _("港澳居民来往内地通行证")),
    ("taiwan", _("台湾居民来往大陆通行证")),
    ("other", _("其他证件")),
]
PURPOSES = [
    ("proof", _("查证（出具证明）")),
    ("research", _("学术研究")),
    ("work", _("工作查考")),
    ("family", _("家庭、个人事务（如婚姻、房产、工龄）")),
    ("editing", _("编史修志")),
    ("other", _("其他")),
]
METHODS = [
    ("reading", _("阅览")),
    ("copy", _("复制（纸质）")),
    ("electronic", _("电子文件")),
    ("certificate", _("出具档案证明")),
    ("excerpt", _("摘录")),
]


def mask_id(number: str) -> str:
    """An identity number with all but its first 4 and last 4 characters hidden."""
    if len(number) <= 8:
        return number[:1] + "*" * (len(number) - 1)
    return number[:4] + "*" * (len(number) - 8) + number[-4:]


class AccessRequest(models.Model):
    """One 查档申请: who asks, why, for which records; then 受理 → 审批 → 提供 / 拒绝."""

    STATUSES = [
        ("submitted", _("已提交")),
        ("accepted", _("已受理")),
        ("approved", _("已审批")),
        ("provided", _("已提供")),
        ("refused", _("已拒绝")),
    ]
    reference = models.CharField(_("申请编号"), max_length=32, unique=True)
    applicant_name = models.CharField(_("申请人姓名"), max_length=100)
    id_type = models.CharField(_("证件类型"), max_length=16, choices=ID_TYPES)
    id_number = models.CharField(_("证件号码"), max_length=32)
    phone = models.CharField(_("联系电话"), max_length=32)
    purpose = models.CharField(_("利用目的"), max_length=16, choices=PURPOSES)
    purpose_detail = models.CharField(_("利用目的说明"), max_length=500, blank=True)
    records = models.ManyToManyField("catalog.Record", blank=True, related_name="+")
    records_text = models.TextField(_("其他所需档案"), blank=True)
    certified_copy = models.BooleanField(_("需要出具证明（加盖印章的复制件）"), default=False)
    status = models.CharField(_("状态"), max_length=16, choices=STATUSES, default="submitted")
    submitted_at = models.DateTimeField(_("提交时间"), auto_now_add=True)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    accepted_at = models.DateTimeField(_("受理时间"), null=True, blank=True)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    approved_at = models.DateTimeField(_("审批时间"), null=True, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    closed_at = models.DateTimeField(_("办结时间"), null=True, blank=True)
    refusal_reason = models.TextField(_("拒绝理由"), blank=True)

    class Meta:
        ordering = ["-submitted_at", "-id"]
        indexes = [models.Index(fields=["status", "submitted_at"], name="access_req_status")]

    def __str__(self) -> str:
        return self.reference

    @property
    def masked_id_number(self) -> str:
        return mask_id(self.id_number)


class RequestNote(models.Model):
    """One 办理意见 on a 查档申请, written at one step by one member of staff; never edited."""

    STEPS = [
        ("accept", _("受理")),
        ("approve", _("审批")),
        ("provide", _("提供")),
        ("refuse", _("拒绝")),
    ]
    request = models.ForeignKey(AccessRequest, on_delete=models.PROTECT, related_name="notes")
    step = models.CharField(_("办理环节"), max_length=16, choices=STEPS, blank=True)
    text = models.TextField(_("办理意见"))
    author = models.ForeignKey(  # null only for notes kept from before authors were recorded
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    written_at = models.DateTimeField(_("时间"))

    class Meta:
        ordering = ["written_at", "id"]

    def __str__(self) -> str:
        return f"{self.request_id}:{self.step}"


class Provision(models.Model):
    """利用登记: one provision of records to a user (who, which records, purpose, how)."""

    number = models.CharField(_("登记号"), max_length=32, unique=True)
    request = models.ForeignKey(
        AccessRequest, null=True, blank=True, on_delete=models.PROTECT, related_name="provisions"
    )
    user_name = models.CharField(_("利用者"), max_length=100)
    id_type = models.CharField(_("证件类型"), max_length=16, choices=ID_TYPES)
    id_number = models.CharField(_("证件号码"), max_length=32)
    purpose = models.CharField(_("利用目的"), max_length=16, choices=PURPOSES)
    purpose_detail = models.CharField(_("利用目的说明"), max_length=500, blank=True)
    records = models.ManyToManyField("catalog.Record", blank=True, related_name="+")
    records_text = models.TextField(_("其他档案"), blank=True)
    method = models.CharField(_("提供方式"), max_length=16, choices=METHODS)
    certified_copy = models.BooleanField(_("出具证明"), default=False)
    note = models.TextField(_("备注"), blank=True)
    provided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    provided_at = models.DateTimeField(_("利用时间"), auto_now_add=True)

    class Meta:
        ordering = ["-provided_at", "-id"]

    def __str__(self) -> str:
        return self.number

    @property
    def masked_id_number(self) -> str:
        return mask_id(self.id_number)
