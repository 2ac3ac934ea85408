"""Accessions (征集/接收登记): donors, campaigns, accessions and the donors' restrictions.

A donor's restriction reaches the records it covers: an accession is linked to the catalogue
records described from it (AccessionRecord, and the records of its items), and the services place
each restriction in force as a hold on those records (`lantai.catalog.holds`), which search, the
public portal, OAI-PMH, IIIF and open review honour."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class Donor(models.Model):
    """A person or an organisation that donates, sells, deposits or transfers records."""

    KINDS = [("person", _("个人")), ("organisation", pgettext_lazy("donor kind", "单位"))]
    kind = models.CharField(_("类型"), max_length=16, choices=KINDS)
    name = models.CharField(_("名称"), max_length=200)
    contact = models.CharField(_("联系方式"), max_length=200, blank=True)
    address = models.CharField(_("地址"), max_length=300, blank=True)
    # only the masked number is kept (standards.accessions.mask_id_number)
    id_document_masked = models.CharField(_("证件号码（已遮盖）"), max_length=64, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name", "pk"]
        verbose_name = _("捐赠者")

    def __str__(self) -> str:
        return self.name


class Campaign(models.Model):
    """An accession campaign (征集活动) with its target."""

    repository = models.ForeignKey(
        "catalog.Repository", on_delete=models.PROTECT, related_name="+", verbose_name=_("档案馆")
    )
    name = models.CharField(_("活动名称"), max_length=200)
    theme = models.CharField(_("征集主题"), max_length=300, blank=True)
    starts_on = models.DateField(_("开始日期"), null=True, blank=True)
    ends_on = models.DateField(_("结束日期"), null=True, blank=True)
    target_items = models.PositiveIntegerField(_("目标件数"), default=0)

    class Meta:
        ordering = ["-starts_on", "name"]
        verbose_name = _("征集活动")

    def __str__(self) -> str:
        return self.name


class Accession(models.Model):
    """One accession: what came in, when and how."""

    STATUSES = [
        ("registered", _("已登记")),
        ("appraised", _("已鉴定")),
        ("accepted", _("已入藏")),
        ("returned", _("已退还")),
    ]
    repository = models.ForeignKey(
        "catalog.Repository", on_delete=models.PROTECT, related_name="+", verbose_name=_("档案馆")
    )
    number = models.CharField(_("登记号"), max_length=32)
    kind = models.CharField(_("征集方式"), max_length=16)  # standards/data/accession-kinds.yaml
    donor = models.ForeignKey(
        Donor, on_delete=models.PROTECT, related_name="accessions", verbose_name=_("捐赠者")
    )
    campaign = models.ForeignKey(
        Campaign,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="accessions",
        verbose_name=_("征集活动"),
    )
    received_on = models.DateField(_("接收日期"))
    description = models.TextField(_("内容描述"), blank=True)
    item_count = models.PositiveIntegerField(_("件数"))
    appraised_value = models.DecimalField(
        _("估值（元）"), max_digits=14, decimal_places=2, null=True, blank=True
    )
    condition = models.CharField(_("保存状况"), max_length=200, blank=True)
    deed_terms = models.TextField(_("捐赠协议条款"), blank=True)
    status = models.CharField(_("状态"), max_length=16, choices=STATUSES, default="registered")
    # 重大活动档案 (kind 移交) come in as one collection of the event, with its dates and the
    # bodies that formed the records (task forces, departments)
    event_name = models.CharField(_("重大活动名称"), max_length=200, blank=True)
    event_starts_on = models.DateField(_("活动开始日期"), null=True, blank=True)
    event_ends_on = models.DateField(_("活动结束日期"), null=True, blank=True)
    forming_bodies = models.TextField(_("形成单位"), blank=True)  # one a line
    created_by = models.CharField(max_length=150, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    # appraisal (鉴定) and the decision to accept (入藏) or return (退还)
    appraised_on = models.DateField(_("鉴定日期"), null=True, blank=True)
    appraised_by = models.CharField(max_length=150, blank=True)
    decided_on = models.DateField(_("处理日期"), null=True, blank=True)
    decided_by = models.CharField(max_length=150, blank=True)
    return_reason = models.TextField(_("退还理由"), blank=True)

    class Meta:
        ordering = ["-received_on", "-number"]
        verbose_name = _("征集登记")
        constraints = [
            models.UniqueConstraint(
                fields=["repository", "number"], name="holdings_accession_number_unique"
            )
        ]

    def __str__(self) -> str:
        return self.number

    @property
    def kind_label(self) -> str:
        """The kind as the active language names it."""
        from lantai.holdings.services import kind_label

        return kind_label(self.kind)


class DonorRestriction(models.Model):
    """A donor's condition on access, publication or reproduction (档案法 art 31)."""

    accession = models.ForeignKey(
        Accession, on_delete=models.CASCADE, related_name="restrictions", verbose_name=_("征集登记")
    )
    scope = models.CharField(_("限制范围"), max_length=16)  # accession-kinds.yaml scopes
    until = models.DateField(_("限制截止日期"), null=True, blank=True)
    donor_lifetime = models.BooleanField(_("捐赠者生前"), default=False)
    text = models.TextField(_("限制条件"))
    starts_on = models.DateField(_("限制起始日期"), null=True, blank=True)  # None: at once
    # the restriction was lifted (the donor's death for a lifetime one, or the donor waived it):
    # the last day it applied
    ended_on = models.DateField(_("解除日期"), null=True, blank=True)
    end_reason = models.CharField(_("解除原因"), max_length=300, blank=True)

    class Meta:
        ordering = ["accession", "scope", "pk"]
        verbose_name = _("捐赠者限制")

    def __str__(self) -> str:
        return f"{self.accession.number} {self.scope}"


class AccessionRecord(models.Model):
    """A catalogue record described from an accession: the donor's restrictions reach it."""

    accession = models.ForeignKey(Accession, on_delete=models.CASCADE, related_name="record_links")
    record = models.ForeignKey("catalog.Record", on_delete=models.CASCADE, related_name="+")
    linked_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["accession", "record"]
        constraints = [
            models.UniqueConstraint(
                fields=["accession", "record"], name="holdings_accession_record_unique"
            )
        ]


class AccessionItem(models.Model):
    """A physical item (or a lot of like items) received with an accession."""

    DIGITIZATION = [
        ("none", _("未数字化")),
        ("scheduled", _("已安排数字化")),
        ("digitized", _("已数字化")),
    ]
    accession = models.ForeignKey(
        Accession, on_delete=models.CASCADE, related_name="received_items"
    )
    description = models.CharField(_("实物描述"), max_length=500)
    count = models.PositiveIntegerField(_("数量"), default=1)
    record = models.ForeignKey(
        "catalog.Record", on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
        verbose_name=_("著录档案"),
    )  # fmt: skip
    digitization = models.CharField(
        _("数字化状态"), max_length=16, choices=DIGITIZATION, default="none"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["accession", "pk"]
        verbose_name = _("接收实物")


class IssuedDocument(models.Model):
    """A numbered donation certificate (捐赠证书) or thanks letter (感谢信). `content` keeps what
    was printed, so the PDF is made again byte for byte from it (its SM3 is kept to show it)."""

    KINDS = [("certificate", _("捐赠证书")), ("thanks", _("感谢信"))]
    accession = models.ForeignKey(Accession, on_delete=models.PROTECT, related_name="documents")
    kind = models.CharField(max_length=16, choices=KINDS)
    number = models.CharField(_("编号"), max_length=32)
    issued_on = models.DateField(_("颁发日期"))
    issued_by = models.CharField(max_length=150, blank=True)
    content = models.JSONField(default=dict)
    sm3 = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["accession", "kind", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["accession", "kind"], name="holdings_document_one_per_kind"
            ),
            models.UniqueConstraint(fields=["number"], name="holdings_document_number_unique"),
        ]
