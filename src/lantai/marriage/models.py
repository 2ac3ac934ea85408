"""婚姻登记档案: the registration of each marriage file, its two parties, the rights rules by
requester and the log of every query (PIPL).

A marriage file is a catalogue ``Record`` (档号, 保管期限, components = its scanned documents); the
registration and its parties are its sidecar rows here. Identity numbers are never stored in clear:
``id_hash`` (keyed HMAC-SM3, for exact lookup), ``id_masked`` (what screens show) and ``id_sealed``
(SM4-GCM, opened only for roles that need the full number): marriage/identity.py."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Registration(models.Model):
    """One registration (结婚, 离婚, 撤销婚姻, 补发) as kept in its marriage file."""

    record = models.OneToOneField(
        "catalog.Record", primary_key=True, on_delete=models.CASCADE, related_name="marriage"
    )
    kind = models.CharField(_("登记类别"), max_length=24)  # standards/data/marriage-profile.yaml
    date = models.DateField(_("登记日期"))
    office = models.CharField(_("登记机关"), max_length=200)
    region_code = models.CharField(_("行政区划代码"), max_length=6)
    certificate_number = models.CharField(_("结婚证/离婚证字号"), max_length=64, blank=True)
    import_run = models.ForeignKey(
        "ImportRun", null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        db_index=False, db_constraint=False,
    )  # fmt: skip

    class Meta:
        indexes = [models.Index(fields=["certificate_number"], name="marriage_cert_number")]
        verbose_name = _("婚姻登记")


class Party(models.Model):
    """One party (当事人) of a registration. The name keys serve the fuzzy search: tone-less pinyin
    (同音), the name with 形近 characters folded, and first + last character (a missing middle
    character); each indexed with the registration year for "name ± years"."""

    registration = models.ForeignKey(
        Registration, on_delete=models.CASCADE, related_name="parties", db_index=False
    )
    position = models.PositiveSmallIntegerField()  # 1 or 2, as in the file
    name = models.CharField(_("姓名"), max_length=60)
    sex = models.CharField(_("性别"), max_length=2, blank=True)
    id_type = models.CharField(_("证件类型"), max_length=24)
    id_hash = models.CharField(max_length=32)  # HMAC-SM3 of the normalised number, 128 bits
    id_masked = models.CharField(_("证件号码"), max_length=40)
    id_sealed = models.CharField(max_length=160)  # SM4-GCM
    nationality = models.CharField(_("国籍"), max_length=40, blank=True)
    birth_date = models.DateField(_("出生日期"), null=True, blank=True)
    year = models.SmallIntegerField()  # of the registration, denormalised for the name indexes
    name_pinyin = models.CharField(max_length=120)
    name_shape = models.CharField(max_length=60)
    name_skeleton = models.CharField(max_length=40, blank=True)

    class Meta:
        ordering = ["registration", "position"]
        indexes = [
            models.Index(fields=["registration", "position"], name="marriage_party_reg"),
            models.Index(fields=["id_hash"], name="marriage_party_id"),
            models.Index(fields=["name_pinyin", "year"], name="marriage_party_pinyin"),
            models.Index(fields=["name_shape", "year"], name="marriage_party_shape"),
            models.Index(
                fields=["name_skeleton", "year"],
                name="marriage_party_skeleton",
                condition=~models.Q(name_skeleton=""),
            ),
        ]


class RulesVersion(models.Model):
    """An edited version of the rights rules (standards/data/marriage-rights.yaml is version 0).
    Versions are only added, never changed: each query names the version it was checked under."""

    number = models.PositiveIntegerField(unique=True)
    text = models.TextField()
    note = models.CharField(max_length=500, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-number"]


class Query(models.Model):
    """One marriage-records query: who asked, as whom, with which proof, and what was shown."""

    CHANNELS = [
        ("counter", _("窗口")),
        ("online", _("网上")),
        ("cli", _("命令行")),
        ("platform", _("全区平台")),  # asked at another archives' window (platform/remote.py)
    ]
    channel = models.CharField(max_length=16, choices=CHANNELS)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    actor = models.CharField(max_length=150)  # the user name or the CLI operator
    requester_type = models.CharField(_("查询人类别"), max_length=24)
    requester_name = models.CharField(_("查询人姓名"), max_length=60)
    requester_id_masked = models.CharField(_("查询人证件号码"), max_length=40)
    requester_id_hash = models.CharField(max_length=32)
    proofs = models.JSONField(default=dict)  # proof kind -> reference (letter number, …)
    purpose = models.CharField(_("查询目的"), max_length=500, blank=True)
    approved_by = models.CharField(max_length=150, blank=True)
    rules_version = models.PositiveIntegerField()
    criteria = models.JSONField(default=dict)  # what was searched for, ID numbers masked
    refused = models.CharField(max_length=500, blank=True)  # why nothing was searched
    matched = models.PositiveIntegerField(default=0)
    shown = models.JSONField(default=list)  # record ids shown to the requester
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]


class ImportRun(models.Model):
    """One import of a civil-affairs export, with its row-by-row report."""

    STATUSES = [
        ("running", _("导入中")),
        ("imported", _("已导入")),
        ("rejected", _("已拒绝")),
        ("failed", _("失败")),
    ]
    fonds = models.ForeignKey("catalog.Fonds", on_delete=models.PROTECT, related_name="+")
    file_name = models.CharField(max_length=255)
    file_sm3 = models.CharField(max_length=64)
    status = models.CharField(max_length=16, choices=STATUSES, default="running")
    rows_total = models.IntegerField(default=0)
    rows_imported = models.IntegerField(default=0)
    rows_unchanged = models.IntegerField(default=0)
    rows_rejected = models.IntegerField(default=0)
    errors = models.JSONField(default=list)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor = models.CharField(max_length=150)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
