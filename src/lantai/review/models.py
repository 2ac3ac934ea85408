"""开放审核: review tasks, the items under review, every decision taken on them, the forming unit's
opinions, the archives' term lists and classifier versions, and imported appraisal results."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class ReviewTask(models.Model):
    """One review plan (计划): the records it selected, the stages they pass and who reviews them."""

    KINDS = [
        ("due", _("到期审核")),
        ("early", _("提前开放审核")),
        ("request", _("利用即时审")),
        ("rereview", _("延期开放复审")),
    ]
    STATUSES = [("active", _("进行中")), ("done", _("已完成"))]
    repository = models.ForeignKey("catalog.Repository", on_delete=models.PROTECT, related_name="+")
    name = models.CharField(_("任务名称"), max_length=200)
    kind = models.CharField(_("类型"), max_length=16, choices=KINDS, default="due")
    criteria = models.JSONField(default=dict)  # what selected the records (shown on the task page)
    stages = models.JSONField(default=list)  # stage codes of data/open-review.yaml, in order
    sample_rate = models.FloatField(default=0.05)
    unit_deadline = models.DateField(_("形成单位反馈期限"), null=True, blank=True)
    reviewers = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="+")
    status = models.CharField(max_length=16, choices=STATUSES, default="active")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("开放审核任务")


class ReviewItem(models.Model):
    """One record in a task: where it stands, what the machine found and the decision so far."""

    task = models.ForeignKey(ReviewTask, on_delete=models.CASCADE, related_name="items")
    record = models.ForeignKey("catalog.Record", on_delete=models.PROTECT, related_name="+")
    stage = models.CharField(_("环节"), max_length=16, default="machine")
    # unit stage: pending (waiting for the unit), disputed (the unit disagreed: back to the archives)
    unit_state = models.CharField(max_length=16, blank=True)
    first_reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # the machine pre-screen: sections screened, spans with their section, detector versions
    screening = models.JSONField(default=dict)
    screened_at = models.DateTimeField(null=True, blank=True)
    screen_error = models.TextField(blank=True)
    risk = models.FloatField(default=0.0)  # orders the queue; shown with its reasons
    sampled = models.BooleanField(default=False)  # drawn for the senior's sample check (抽查)
    assisted = models.BooleanField(default=True)  # False: shown without the machine's findings
    # the current proposal (the latest decision): 开放 / 延期开放 / 控制使用
    decision = models.CharField(max_length=16, blank=True)
    ground = models.CharField(max_length=16, blank=True)
    rule = models.CharField(max_length=200, blank=True)
    rereview_year = models.IntegerField(null=True, blank=True)
    passages = models.JSONField(default=list)  # [{section, start, end, text, category}]
    doubt = models.BooleanField(default=False)  # on the doubt list (存疑清单)
    doubt_note = models.TextField(blank=True)
    published_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["task", "record"], name="review_item_unique")
        ]
        indexes = [models.Index(fields=["task", "stage", "risk"], name="review_queue")]


class ReviewDecision(models.Model):
    """One decision taken on an item at one stage: the trail of who decided what, on what
    ground, how long it took and what the machine had shown."""

    item = models.ForeignKey(ReviewItem, on_delete=models.CASCADE, related_name="decisions")
    stage = models.CharField(max_length=16)
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    decision = models.CharField(max_length=16)
    ground = models.CharField(max_length=16, blank=True)
    rule = models.CharField(max_length=200, blank=True)
    rereview_year = models.IntegerField(null=True, blank=True)
    passages = models.JSONField(default=list)
    note = models.TextField(blank=True)
    seconds = models.FloatField(null=True, blank=True)  # time on the item, as the page measured it
    assisted = models.BooleanField(default=True)
    shown = models.JSONField(default=dict)  # detector versions and risk shown to the reviewer
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["item", "id"]


class UnitOpinion(models.Model):
    """The forming (or transferring) unit's opinion on an item (会同审核), or the archives'
    answer to a disagreement; `agreed` marks the result both sides agreed (协商一致)."""

    item = models.ForeignKey(ReviewItem, on_delete=models.CASCADE, related_name="opinions")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    side = models.CharField(max_length=8)  # unit | archives
    agrees = models.BooleanField()
    decision = models.CharField(max_length=16, blank=True)  # what the unit proposes instead
    ground = models.CharField(max_length=16, blank=True)
    note = models.TextField(blank=True)
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["item", "id"]


class Lexicon(models.Model):
    """A sensitive-term list of the archives for one category (editable; every change a version)."""

    code = models.CharField(max_length=32, unique=True)
    category = models.CharField(max_length=32)
    label = models.CharField(max_length=100)

    class Meta:
        ordering = ["code"]


class LexiconVersion(models.Model):
    lexicon = models.ForeignKey(Lexicon, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    terms = models.JSONField(default=list)
    note = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["lexicon", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["lexicon", "number"], name="lexicon_version_unique")
        ]


class ClassifierVersion(models.Model):
    """A trained classifier of the archives: the file under the data directory, its SM3 (checked
    before it is loaded) and the honest evaluation made when it was trained."""

    version = models.CharField(max_length=100, unique=True)
    path = models.CharField(max_length=500)  # relative to DATA_DIR
    sm3 = models.CharField(max_length=64)
    labels = models.PositiveIntegerField()
    positives = models.PositiveIntegerField()
    evaluation = models.JSONField(default=dict)
    active = models.BooleanField(default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]


class ExchangeImport(models.Model):
    """An appraisal-results file (鉴定成果数据对接) read, previewed and perhaps applied."""

    STATUSES = [("previewed", _("待确认")), ("applied", _("已导入")), ("discarded", _("已放弃"))]
    file_name = models.CharField(max_length=255)
    file_sm3 = models.CharField(max_length=64)
    exporter = models.JSONField(default=dict)
    signature_ok = models.BooleanField(default=False)
    # the signing key is ours or one of settings.REVIEW_EXCHANGE_TRUSTED_KEYS: the sender is who
    # the file says (a valid signature alone proves only that the key inside it signed it)
    key_trusted = models.BooleanField(default=False)
    changes = models.JSONField(default=list)  # what applying would change, record by record
    status = models.CharField(max_length=16, choices=STATUSES, default="previewed")
    task = models.ForeignKey(
        ReviewTask, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
