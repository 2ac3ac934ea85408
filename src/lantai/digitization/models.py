"""数字化: scanning batches and their pages, DA/T 31 findings, 抽检, OCR and its corrections,
audio/video recordings with their access copies and time-coded description segments.

A page's file is stored content-addressed under MEDIA_ROOT when its batch is imported; it becomes
a component (电子文件) of its record only when the batch is accepted, all pages of the batch in one
transaction. Per-page measurements are columns of `Page`; only problems become `Finding` rows (the
counts of what each check examined are in `Batch.summary`)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from lantai.catalog.components import StoredFile


class Batch(models.Model):
    """One scanning run (数字化批次) brought in by an archivist or a scanning vendor."""

    STATUSES = [
        ("checking", _("检测中")),
        ("checked", _("待验收")),
        ("accepted", _("已验收")),
        ("returned", _("已退回")),
        ("failed", _("检测出错")),
    ]
    repository = models.ForeignKey("catalog.Repository", on_delete=models.PROTECT, related_name="+")
    name = models.CharField(_("批次名称"), max_length=200)
    source = models.CharField(_("来源"), max_length=500, blank=True)  # folder or uploaded file name
    purpose = models.CharField(_("扫描用途"), max_length=16, default="ocr")
    status = models.CharField(_("状态"), max_length=16, choices=STATUSES, default="checking")
    result = models.CharField(max_length=8, blank=True)  # pass | warn | fail once checked
    # counts: files, pages, items, unmatched, items_without_pages, and per check code what it
    # examined and how many passed, failed, warned
    summary = models.JSONField(default=dict)
    catalogue_version = models.CharField(max_length=40, blank=True)
    sample_ratio = models.FloatField(_("抽检比例"), default=0.05)
    return_reason = models.TextField(_("退回理由"), blank=True)
    accept_reason = models.TextField(_("验收说明"), blank=True)
    error = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    checked_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("数字化批次")


class Item(models.Model):
    """A catalogue record (案卷 or 件) the batch brings pages for."""

    batch = models.ForeignKey(Batch, on_delete=models.CASCADE, related_name="items")
    record = models.ForeignKey("catalog.Record", on_delete=models.PROTECT, related_name="+")
    reference_code = models.CharField(_("档号"), max_length=100)
    declared_pages = models.IntegerField(null=True)  # 页数 in the catalogue when imported
    page_count = models.IntegerField(default=0)
    sampled = models.BooleanField(default=False)  # chosen for 抽检

    class Meta:
        ordering = ["batch", "reference_code"]
        constraints = [
            models.UniqueConstraint(fields=["batch", "record"], name="digitization_item_unique")
        ]


class StoredFileFields(models.Model):
    """A file stored content-addressed under MEDIA_ROOT (catalog.components.store_chunks)."""

    path = models.CharField(max_length=500)  # relative to MEDIA_ROOT
    sm3 = models.CharField(max_length=64)
    sha256 = models.CharField(max_length=64)
    size = models.BigIntegerField(default=0)

    class Meta:
        abstract = True

    def stored(self) -> StoredFile:
        return StoredFile(self.path, self.sm3, self.sha256, self.size)

    @staticmethod
    def fields_of(stored: StoredFile) -> dict[str, Any]:
        """These fields' values for a file `store_chunks` stored."""
        return {
            "path": stored.relative,
            "sm3": stored.sm3,
            "sha256": stored.sha256,
            "size": stored.size,
        }


class Page(StoredFileFields):
    """One page image: a single-page file or one frame of a multipage TIFF/PDF."""

    OCR_STATUSES = [
        ("", _("未识别")),
        ("pending", _("排队中")),
        ("done", _("已识别")),
        ("failed", _("识别失败")),
    ]
    batch = models.ForeignKey(Batch, on_delete=models.CASCADE, related_name="pages")
    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="pages")
    number = models.PositiveIntegerField(_("页号"))
    source_name = models.CharField(max_length=500)  # path inside the batch as delivered
    frame = models.PositiveIntegerField(default=0)  # 1-based frame of a multipage file; 0 single
    file_format = models.CharField(max_length=16, blank=True)
    compression = models.CharField(max_length=32, blank=True)
    width = models.PositiveIntegerField(default=0)
    height = models.PositiveIntegerField(default=0)
    dpi = models.FloatField(null=True)  # the lower of the two axes; None: the file does not say
    mode = models.CharField(max_length=16, blank=True)  # bitonal | grey | colour
    skew = models.FloatField(null=True)  # degrees
    blank = models.BooleanField(default=False)
    phash = models.CharField(max_length=16, blank=True)
    inspection = models.CharField(max_length=8, blank=True)  # 抽检: pass | fail
    inspection_note = models.TextField(blank=True)
    inspected_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    inspected_at = models.DateTimeField(null=True)
    component = models.ForeignKey(
        "catalog.Component", null=True, on_delete=models.SET_NULL, related_name="+"
    )  # set when the batch is accepted
    ocr_status = models.CharField(max_length=8, choices=OCR_STATUSES, blank=True)
    ocr_key = models.CharField(max_length=80, blank=True)  # sm3#frame the OCR was made from
    ocr_engine = models.CharField(max_length=100, blank=True)
    ocr_confidence = models.FloatField(null=True)
    ocr_seconds = models.FloatField(null=True)
    ocr_lines = models.JSONField(default=list)  # [[text, [x0, y0, x1, y1], confidence], ...]
    ocr_error = models.TextField(blank=True)
    needs_correction = models.BooleanField(default=False)  # low confidence, not yet corrected

    class Meta:
        ordering = ["item", "number"]
        indexes = [
            models.Index(fields=["batch", "ocr_status"]),
            models.Index(fields=["component"]),
            models.Index(fields=["sm3"]),
        ]

    @property
    def key(self) -> str:
        return f"{self.sm3}#{self.frame}"


class Finding(models.Model):
    """A DA/T 31 check result other than a pass, or a file that could not be placed."""

    batch = models.ForeignKey(Batch, on_delete=models.CASCADE, related_name="findings")
    code = models.CharField(max_length=32)
    result = models.CharField(max_length=8)  # fail | warn | na
    subject = models.CharField(max_length=500)  # the file, page or 档号 it is about
    page = models.ForeignKey(Page, null=True, on_delete=models.CASCADE, related_name="findings")
    item = models.ForeignKey(Item, null=True, on_delete=models.CASCADE, related_name="findings")
    evidence = models.JSONField(default=dict)
    message_zh = models.TextField()
    message_en = models.TextField(blank=True)

    class Meta:
        ordering = ["batch", "id"]


class Correction(models.Model):
    """A person's correction of one OCR line; the original OCR stays in `Page.ocr_lines`."""

    page = models.ForeignKey(Page, on_delete=models.CASCADE, related_name="corrections")
    line = models.PositiveIntegerField()
    original = models.TextField()
    text = models.TextField()
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["page", "line", "id"]


class Recording(StoredFileFields):
    """A digitized audio or video recording (音像档案) of a record."""

    STATUSES = [
        ("staged", _("待验收")),
        ("pending", _("待处理")),
        ("done", _("已生成利用版本")),
        ("failed", _("处理失败")),
    ]
    record = models.ForeignKey("catalog.Record", on_delete=models.CASCADE, related_name="+")
    # brought in with a scanning batch: staged until the batch is accepted
    batch = models.ForeignKey(Batch, null=True, on_delete=models.CASCADE, related_name="recordings")
    item = models.ForeignKey(Item, null=True, on_delete=models.CASCADE, related_name="recordings")
    source_name = models.CharField(max_length=500)
    component = models.ForeignKey(
        "catalog.Component", null=True, on_delete=models.CASCADE, related_name="+"
    )  # set when attached to the record (at once, or when its batch is accepted)
    kind = models.CharField(max_length=8)  # audio | video
    info = models.JSONField(default=dict)  # ffprobe's technical metadata (av.MediaInfo)
    status = models.CharField(max_length=8, choices=STATUSES, default="pending")
    access_path = models.CharField(max_length=500, blank=True)  # relative to DERIVATIVES_DIR
    access_mime = models.CharField(max_length=40, blank=True)
    poster_path = models.CharField(max_length=500, blank=True)
    waveform_path = models.CharField(max_length=500, blank=True)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["record", "id"]


class Segment(models.Model):
    """A time-coded description (著录片段) of part of a recording."""

    recording = models.ForeignKey(Recording, on_delete=models.CASCADE, related_name="segments")
    start = models.FloatField()
    end = models.FloatField()
    description = models.TextField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["recording", "start"]
