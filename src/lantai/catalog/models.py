"""管: the archival structure — repository → fonds → category → archival units → components."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Repository(models.Model):
    """An archives institution (档案馆) with its archives code (档案馆代码)."""

    LEVELS = [("provincial", _("省级")), ("city", _("市级")), ("county", _("县级"))]
    code = models.CharField(_("档案馆代码"), max_length=32, unique=True)
    name = models.CharField(_("档案馆名称"), max_length=200)
    level = models.CharField(_("级别"), max_length=16, choices=LEVELS, default="provincial")
    region = models.CharField(_("行政区划"), max_length=100, blank=True)
    is_default = models.BooleanField(default=False)

    class Meta:
        ordering = ["code"]
        verbose_name = _("档案馆")

    def __str__(self) -> str:
        return self.name


class Fonds(models.Model):
    """全宗: all records of one creating body (立档单位) held by a repository."""

    repository = models.ForeignKey(Repository, on_delete=models.PROTECT, related_name="fonds")
    code = models.CharField(_("全宗号"), max_length=16)
    name = models.CharField(_("全宗名称"), max_length=200)
    creator = models.CharField(_("立档单位"), max_length=200)
    description = models.TextField(_("全宗介绍"), blank=True)

    class Meta:
        ordering = ["repository", "code"]
        constraints = [
            models.UniqueConstraint(fields=["repository", "code"], name="fonds_code_unique")
        ]
        verbose_name = _("全宗")

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class CodeRuleDefinition(models.Model):
    """A user-defined 档号 rule (the built-in ones live in standards/data/code_rules.yaml)."""

    name = models.CharField(_("规则名称"), max_length=64, unique=True)
    label = models.CharField(_("说明"), max_length=200, blank=True)
    template = models.CharField(_("模板"), max_length=200)
    arrangement = models.CharField(_("整理方式"), max_length=16, default="item")


class Category(models.Model):
    """门类 within a fonds, with its arrangement (按件/按卷) and archival-code rule."""

    ARRANGEMENTS = [("item", _("按件")), ("volume", _("按卷"))]
    fonds = models.ForeignKey(Fonds, on_delete=models.PROTECT, related_name="categories")
    code = models.CharField(_("门类代码"), max_length=8)
    arrangement = models.CharField(
        _("整理方式"), max_length=16, choices=ARRANGEMENTS, default="item"
    )
    code_rule = models.CharField(_("档号规则"), max_length=64, default="dat22")
    volume_item_rule = models.CharField(_("卷内文件档号规则"), max_length=64, blank=True)

    class Meta:
        ordering = ["fonds", "code"]
        constraints = [
            models.UniqueConstraint(fields=["fonds", "code"], name="category_code_unique")
        ]
        verbose_name = _("门类")

    def __str__(self) -> str:
        return f"{self.fonds.code}-{self.code}"


class YearCount(models.Model):
    """How many units a category holds per year; keeps the browse tree free of COUNT(*) scans."""

    category = models.ForeignKey(Category, on_delete=models.CASCADE, related_name="year_counts")
    year = models.IntegerField(null=True)
    count = models.IntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["category", "year"], name="year_count_unique")
        ]


class Record(models.Model):
    """An archival unit: an item (件), a volume (案卷) or a document inside a volume (卷内文件).

    The common DA/T 46 elements are columns; the rest of the profile lives in `metadata`."""

    LEVELS = [("item", _("件")), ("volume", _("案卷")), ("volume_item", _("卷内文件"))]
    OPEN_STATUSES = [
        ("closed", _("未开放")),
        ("open", _("开放")),
        ("restricted_use", _("控制使用")),
    ]
    AUDITED_FIELDS = (
        "reference_code", "title", "author", "document_number", "date", "year", "retention",
        "classification", "open_status", "pages", "remarks", "org_code", "metadata",
    )  # fmt: skip

    # The composite indexes in Meta lead with these columns, so the single-column FK indexes
    # Django would add are left out: every index costs on each of a million imported rows.
    # Denormalised from fonds for the per-repository uniqueness of 档号; the fonds and category
    # foreign keys carry the integrity, so no database constraint is checked for it per row.
    repository = models.ForeignKey(
        Repository, on_delete=models.PROTECT, related_name="+", db_index=False, db_constraint=False
    )
    fonds = models.ForeignKey(
        Fonds, on_delete=models.PROTECT, related_name="records", db_index=False
    )
    category = models.ForeignKey(
        Category, on_delete=models.PROTECT, related_name="records", db_index=False
    )
    parent = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
        db_index=False,
    )
    level = models.CharField(_("聚合层次"), max_length=16, choices=LEVELS, default="item")
    reference_code = models.CharField(_("档号"), max_length=100)
    sequence_prefix = models.CharField(
        max_length=100
    )  # the code up to its last number (漏号 checks)
    sequence_number = models.IntegerField(null=True)
    year = models.IntegerField(_("年度"), null=True, blank=True)
    retention = models.CharField(_("保管期限"), max_length=8)
    retention_legacy = models.CharField(_("原保管期限"), max_length=8, blank=True)
    org_code = models.CharField(_("机构（问题）"), max_length=50, blank=True)
    title = models.CharField(_("题名"), max_length=1000)
    author = models.CharField(_("责任者"), max_length=500, blank=True)
    document_number = models.CharField(_("文号"), max_length=200, blank=True)
    date = models.DateField(_("日期"), null=True, blank=True)
    pages = models.IntegerField(_("页数"), null=True, blank=True)
    classification = models.CharField(_("密级"), max_length=16, default="public")
    classification_level = models.PositiveSmallIntegerField(default=0)
    secrecy_period = models.CharField(_("保密期限"), max_length=50, blank=True)
    open_status = models.CharField(
        _("开放状态"), max_length=16, choices=OPEN_STATUSES, default="closed"
    )
    open_due_date = models.DateField(_("到期开放日期"), null=True, blank=True)
    remarks = models.TextField(_("备注"), blank=True)
    metadata = models.JSONField(_("其他元数据"), default=dict, blank=True)
    row_hash = models.CharField(
        max_length=64, blank=True
    )  # SM3 of the imported row (idempotent re-import)
    # Provenance only (batches are never deleted): not checked by the database per row.
    import_batch = models.ForeignKey(
        "ImportBatch",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,
        db_constraint=False,
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["repository", "reference_code"], name="record_code_unique"
            )
        ]
        indexes = [
            models.Index(fields=["category", "year", "reference_code"], name="record_browse_year"),
            models.Index(fields=["category", "reference_code"], name="record_browse_cat"),
            models.Index(fields=["fonds", "reference_code"], name="record_browse_fonds"),
            models.Index(
                fields=["parent"], name="record_parent", condition=models.Q(parent__isnull=False)
            ),
            models.Index(fields=["updated_at", "id"], name="record_updated"),  # OAI-PMH sync
        ]
        verbose_name = _("档案")

    def __str__(self) -> str:
        return f"{self.reference_code} {self.title}"


class Component(models.Model):
    """A digital file (电子文件) attached to a record, stored under the data directory."""

    record = models.ForeignKey(Record, on_delete=models.CASCADE, related_name="components")
    name = models.CharField(_("计算机文件名"), max_length=255)
    size = models.BigIntegerField(_("计算机文件大小"))
    mime_type = models.CharField(_("格式信息"), max_length=100, blank=True)
    sm3 = models.CharField(max_length=64)
    sha256 = models.CharField(max_length=64)
    path = models.CharField(max_length=500)  # relative to MEDIA_ROOT
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["record", "id"]


class ComponentText(models.Model):
    """Text of a component made by another room (OCR of a page image, the described segments of
    a recording). The search index reads it instead of extracting text from the file."""

    component = models.OneToOneField(Component, on_delete=models.CASCADE, related_name="text")
    text = models.TextField()
    source = models.CharField(max_length=16)  # ocr | corrected | segments
    updated_at = models.DateTimeField(auto_now=True)


class ColumnMapping(models.Model):
    """A saved mapping from a spreadsheet's headers to record fields, keyed by the header row."""

    signature = models.CharField(max_length=64, unique=True)
    headers = models.JSONField()
    mapping = models.JSONField()  # header text -> field name (or "" to ignore)
    updated_at = models.DateTimeField(auto_now=True)


class ImportBatch(models.Model):
    """One catalogue import: its file, its outcome and its row-by-row report."""

    STATUSES = [
        ("pending", _("等待中")),
        ("running", _("导入中")),
        ("imported", _("已导入")),
        ("rejected", _("已拒绝")),
        ("failed", _("失败")),
    ]
    category = models.ForeignKey(Category, on_delete=models.PROTECT, related_name="imports")
    file_name = models.CharField(max_length=255)
    file_path = models.CharField(max_length=500, blank=True)
    file_sm3 = models.CharField(max_length=64)
    valid_rows_only = models.BooleanField(default=False)
    # the 密级 the archivist chose for this file's rows with a blank 密级 (empty: such rows fail)
    default_classification = models.CharField(max_length=16, blank=True)
    status = models.CharField(max_length=16, choices=STATUSES, default="pending")
    rows_total = models.IntegerField(default=0)
    rows_imported = models.IntegerField(default=0)
    rows_unchanged = models.IntegerField(default=0)
    rows_rejected = models.IntegerField(default=0)
    progress = models.FloatField(default=0.0)
    errors = models.JSONField(default=list)  # first N errors: row, column, rule, value, message
    # the 档号 the import created, as runs [first, last, count] (importing.CodeRuns); the audit
    # entry of the import carries their SM3 (created_sm3), so the chain covers the list
    created_codes = models.JSONField(default=list)
    created_sm3 = models.CharField(max_length=64, blank=True)
    message = models.TextField(blank=True)  # why a failed import failed, in Chinese
    message_en = models.TextField(blank=True)  # … in English (empty: made before it was kept)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]


class ThematicCollection(models.Model):
    """专题数据库: a curated selection of records across fonds, e.g. 红色档案."""

    repository = models.ForeignKey(Repository, on_delete=models.PROTECT, related_name="collections")
    code = models.CharField(_("专题代码"), max_length=32)
    name = models.CharField(_("专题名称"), max_length=200)
    description = models.TextField(_("专题介绍"), blank=True)
    records = models.ManyToManyField(Record, blank=True, related_name="collections")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["repository", "code"], name="collection_code_unique")
        ]
        verbose_name = _("专题数据库")

    def __str__(self) -> str:
        return self.name


class OpenCopy(models.Model):
    """The redacted copy of a partly opened record (信息级开放, made by 开放审核): the public reads
    this PDF, this text and these field values, never the closed master's components."""

    record = models.OneToOneField(Record, on_delete=models.CASCADE, related_name="open_copy")
    path = models.CharField(max_length=500)  # the PDF, relative to MEDIA_ROOT
    sm3 = models.CharField(max_length=64)
    size = models.BigIntegerField()
    text = models.TextField(blank=True)  # the open text (the removed passages are not in it)
    fields = models.JSONField(default=dict)  # catalogue fields as the public sees them
    evidence = models.JSONField(default=dict)  # the verification that nothing removed survives
    created_at = models.DateTimeField(auto_now=True)


class ImageSize(models.Model):
    """The pixel size of a page image component as shown (EXIF orientation applied), read once
    from its header: IIIF manifests of thousand-page records need it for every page."""

    component = models.OneToOneField(Component, on_delete=models.CASCADE, related_name="+")
    sm3 = models.CharField(max_length=64)  # of the file measured: a new file is measured again
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()


class RecordHold(models.Model):
    """A hold on a record that its open status alone does not tell: a donor's condition on
    access, publication or reproduction (档案法 art 31), placed by the room that knows the reason
    (holdings, for the accession the record was described from). `catalog.holds` says which
    holds are in force on a day; `catalog.public` and the search leave records under an access
    hold out of everything the public sees."""

    SCOPES = [
        ("access", _("利用")),
        ("publication", _("公布")),
        ("reproduction", _("复制")),
    ]
    record = models.ForeignKey(Record, on_delete=models.CASCADE, related_name="holds")
    source = models.CharField(max_length=32)  # who placed it: "donor"
    source_key = models.CharField(max_length=64)  # the placing room's key: "restriction:12"
    scope = models.CharField(max_length=16, choices=SCOPES)
    starts_on = models.DateField()
    until = models.DateField(null=True, blank=True)  # the last day it applies; None: open-ended
    reason = models.TextField()
    reference = models.CharField(max_length=64, blank=True)  # e.g. the accession number
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["record", "scope", "pk"]
        verbose_name = _("档案限制")
        constraints = [
            models.UniqueConstraint(
                fields=["source_key", "record"], name="catalog_recordhold_unique"
            )
        ]
        indexes = [
            models.Index(fields=["scope", "until", "record"], name="catalog_hold_scope"),
            models.Index(fields=["source_key"], name="catalog_hold_source"),
        ]
