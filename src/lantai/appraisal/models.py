"""鉴定与销毁: retention-expiry, classification and value appraisal, the appraisal group's proposals
and decisions, and disposal with its destruction list.

Records leave the catalogue when they are destroyed, so every row here that names a record keeps
a copy of what the lists and reports show (档号, 题名, 年度, 保管期限, 页数 …): the foreign key to
the record becomes NULL, the destruction list (销毁清册) and the reports stay whole for ever."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from lantai.standards import appraisal as std
from lantai.standards import vocabularies as vocab

KINDS = [
    ("expiry", _("到期鉴定")),
    ("classification", _("密级鉴定")),
    ("value", _("价值鉴定")),
]
OUTCOMES = [
    ("keep", _("继续保存")),
    ("destroy", _("销毁")),
    ("declassify", _("解密")),
    ("reclassify", _("变更密级")),
    ("keep_classification", _("维持密级")),
    ("raise_retention", _("提高保管期限")),
    ("lower_retention", _("降低保管期限")),
    ("unchanged", _("维持原保管期限")),
]


class RecordCopy(models.Model):
    """The fields of a record as the lists show them (kept when the record is gone)."""

    reference_code = models.CharField(_("档号"), max_length=100)
    title = models.CharField(_("题名"), max_length=1000)
    year = models.IntegerField(_("年度"), null=True, blank=True)
    retention = models.CharField(_("保管期限"), max_length=8, blank=True)
    classification = models.CharField(_("密级"), max_length=16, blank=True)
    secrecy_period = models.CharField(_("保密期限"), max_length=50, blank=True)
    pages = models.IntegerField(_("页数"), null=True, blank=True)
    level = models.CharField(_("聚合层次"), max_length=16, blank=True)
    # the record's 全宗 id (kept after it is gone): who may see the row (the user's scope)
    fonds_key = models.IntegerField(null=True, blank=True, db_index=True)

    class Meta:
        abstract = True

    @property
    def retention_label(self) -> str:
        """定期10年, not D10."""
        return _period_label(self.retention)

    @property
    def classification_label(self) -> str:
        return classification_label(self.classification)


def english() -> bool:
    """Whether the page is in English: the labels from the data files then use their English."""
    return (get_language() or "").startswith("en")


def _period_label(code: str) -> str:
    """A 保管期限 as the page shows it (the frozen lists and reports keep the Chinese)."""
    try:
        p = std.period(code)
    except std.AppraisalRuleError:
        return code
    return p.label_en if english() else p.label_zh


def classification_label(code: str) -> str:
    for term in vocab.get_vocabulary("classification").terms:
        if term.code == code:
            return term.label_en if english() else term.label_zh
    return code


class AppraisalTask(models.Model):
    """鉴定任务: one appraisal of a selection of records by the appraisal group."""

    STATUSES = [("open", _("进行中")), ("closed", _("已完成"))]
    kind = models.CharField(_("鉴定类型"), max_length=16, choices=KINDS)
    name = models.CharField(_("任务名称"), max_length=200)
    basis = models.TextField(_("鉴定依据"), blank=True)
    status = models.CharField(max_length=16, choices=STATUSES, default="open")
    selection = models.JSONField(default=dict)  # how the candidates were chosen
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    closed_at = models.DateTimeField(null=True, blank=True)
    conclusion = models.TextField(_("鉴定结论"), blank=True)
    # 鉴定工作报告 (实施条例 art 24), frozen when the task closes, and the SM3 of its content
    report = models.JSONField(default=dict, blank=True)
    report_sm3 = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return self.name


class TaskItem(RecordCopy):
    """A candidate record of a task, with why it was selected."""

    task = models.ForeignKey(AppraisalTask, on_delete=models.CASCADE, related_name="items")
    record = models.ForeignKey(
        "catalog.Record", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    record_key = models.IntegerField()  # the record's id, kept after it is gone
    why = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["task", "reference_code", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["task", "record_key"], name="appraisal_item_unique")
        ]


class Proposal(models.Model):
    """意见: what one member of the appraisal group proposes for one candidate, with the reason."""

    STATUSES = [("open", _("待决定")), ("adopted", _("已采纳")), ("rejected", _("未采纳"))]
    item = models.ForeignKey(TaskItem, on_delete=models.CASCADE, related_name="proposals")
    proposer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    outcome = models.CharField(_("鉴定意见"), max_length=24, choices=OUTCOMES)
    new_retention = models.CharField(_("新保管期限"), max_length=8, blank=True)
    new_classification = models.CharField(_("新密级"), max_length=16, blank=True)
    new_secrecy_period = models.CharField(_("新保密期限"), max_length=50, blank=True)
    reason = models.TextField(_("理由"))
    status = models.CharField(max_length=16, choices=STATUSES, default="open")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["item", "created_at", "pk"]

    @property
    def new_label(self) -> str:
        """The new 保管期限 or 密级 proposed, for people."""
        if self.new_retention:
            return _period_label(self.new_retention)
        if self.new_classification:
            return classification_label(self.new_classification)
        return ""


class Decision(models.Model):
    """决定: the appraisal group's decision on one candidate, taken on a member's proposal by a
    different member, with the reason; `applied` holds what changed in the catalogue."""

    item = models.OneToOneField(TaskItem, on_delete=models.CASCADE, related_name="decision")
    proposal = models.ForeignKey(Proposal, on_delete=models.PROTECT, related_name="+")
    outcome = models.CharField(_("鉴定决定"), max_length=24, choices=OUTCOMES)
    new_retention = models.CharField(max_length=8, blank=True)
    new_classification = models.CharField(max_length=16, blank=True)
    new_secrecy_period = models.CharField(max_length=50, blank=True)
    reason = models.TextField(_("决定理由"))
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(auto_now_add=True)
    applied = models.JSONField(default=dict, blank=True)  # field -> [old, new]

    class Meta:
        ordering = ["pk"]


class RetentionMark(models.Model):
    """重新划定的保管期限 (实施条例 art 24): a record kept on after 到期鉴定 counts its new period from
    the year of the decision; its due date is this row's, not 年度 + period."""

    record = models.OneToOneField(
        "catalog.Record", on_delete=models.CASCADE, related_name="appraisal_mark"
    )
    retention = models.CharField(max_length=8)
    counted_from_year = models.IntegerField()
    expires_on = models.DateField(null=True, blank=True)  # None: permanent
    decision = models.ForeignKey(Decision, on_delete=models.PROTECT, related_name="+")


class Disposal(models.Model):
    """销毁: a destruction of records decided "destroy", prepared by one person and approved by a
    second one (监销人). The list is frozen at approval (its SM3 in `list_sm3` and the audit log);
    the destruction report (date, method, place, people) is written at execution."""

    STATUSES = [
        ("draft", _("待监销人审批")),
        ("approved", _("已批准，待执行")),
        ("executing", _("待长期保存注销审批")),
        ("completed", _("已完成")),
        ("cancelled", _("已撤销")),
    ]
    number = models.CharField(_("销毁清册编号"), max_length=32, unique=True)
    reason = models.TextField(_("销毁原因"))
    status = models.CharField(max_length=16, choices=STATUSES, default="draft")
    prepared_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    prepared_at = models.DateTimeField(auto_now_add=True)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    approved_at = models.DateTimeField(null=True, blank=True)
    approval_note = models.TextField(blank=True)
    list_sm3 = models.CharField(max_length=64, blank=True)
    # destruction report (销毁报告)
    executed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    executed_on = models.DateField(_("销毁日期"), null=True, blank=True)
    method = models.CharField(_("销毁方式"), max_length=200, blank=True)
    place = models.CharField(_("销毁地点"), max_length=200, blank=True)
    executors = models.CharField(_("销毁人"), max_length=500, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-prepared_at", "-pk"]

    def __str__(self) -> str:
        return self.number


class DisposalItem(RecordCopy):
    """One row of the destruction list (销毁清册), kept after its record is gone."""

    STATES = [
        ("listed", _("待销毁")),
        ("removed", _("已销毁")),
        ("deaccession_requested", _("已申请注销，待另一保管员审批")),
        ("deaccessioned", _("已注销")),
        ("deaccession_rejected", _("注销申请被驳回")),
    ]
    disposal = models.ForeignKey(Disposal, on_delete=models.PROTECT, related_name="items")
    number = models.PositiveIntegerField(_("序号"))
    record = models.ForeignKey(
        "catalog.Record", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    record_key = models.IntegerField()
    items_count = models.IntegerField(_("件数"), default=1)
    disposal_reason = models.TextField(_("销毁原因"))
    decision = models.ForeignKey(Decision, on_delete=models.PROTECT, related_name="+")
    decision_ref = models.CharField(_("鉴定决定"), max_length=300)
    package_object_id = models.CharField(max_length=200, blank=True)  # preserved: its package
    deletion_request = models.ForeignKey(
        "preservation.DeletionRequest",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    state = models.CharField(max_length=32, choices=STATES, default="listed")

    class Meta:
        ordering = ["disposal", "number"]
        constraints = [
            models.UniqueConstraint(fields=["disposal", "number"], name="disposal_item_number"),
        ]
