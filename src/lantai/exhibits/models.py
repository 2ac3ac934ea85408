"""专题数据库 (thematic databases) and 网上展厅 (online exhibitions).

A thematic database is a `catalog.ThematicCollection` (its set of records, kept by
`catalog.thematic`) described in fields of its own and published; an exhibition is a draft of
sections, pages and blocks kept as JSON, published as numbered versions. Nothing here stores
whether a record is public: every public page asks `catalog.public` when it is drawn, so a record
closed a minute ago is gone from every database and exhibition at once.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Database(models.Model):
    STATUSES = [("draft", _("草稿")), ("published", _("已发布"))]

    collection = models.OneToOneField(
        "catalog.ThematicCollection", on_delete=models.CASCADE, related_name="database"
    )
    repository = models.ForeignKey("catalog.Repository", on_delete=models.PROTECT, related_name="+")
    slug = models.SlugField(_("网址名"), max_length=64)  # /public/databases/<archives>/<slug>/
    kind = models.CharField(_("类型"), max_length=32, default="other")  # exhibit-databases.yaml
    name_en = models.CharField(_("英文名称"), max_length=200, blank=True)
    description_en = models.TextField(_("英文介绍"), blank=True)
    # [{"key", "label", "label_en", "type": text|date|place|person|choice, "facet": bool,
    #   "choices": [...]}]: the database's own description fields (standards/exhibit_fields.py)
    fields = models.JSONField(default=list)
    rule = models.CharField(_("收录规则（检索式）"), max_length=1000, blank=True)
    status = models.CharField(_("状态"), max_length=16, choices=STATUSES, default="draft")
    published_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["repository", "slug"], name="exhibits_database_slug")
        ]


class Entry(models.Model):
    """A record as described in one database (its values in the database's fields)."""

    HOW = [("search", _("检索加入")), ("selection", _("选择加入")), ("rule", _("规则加入"))]

    database = models.ForeignKey(Database, on_delete=models.CASCADE, related_name="entries")
    record = models.ForeignKey("catalog.Record", on_delete=models.CASCADE, related_name="+")
    values = models.JSONField(default=dict)  # field key -> value (a list for person/place)
    how = models.CharField(max_length=16, choices=HOW, default="selection")
    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["database", "record"], name="exhibits_entry_unique")
        ]


class CarrierCondition(models.Model):
    """载体与保护状况: the state of a record's original carrier as assessed on a day."""

    record = models.ForeignKey("catalog.Record", on_delete=models.CASCADE, related_name="+")
    carrier = models.CharField(_("载体"), max_length=32)  # standards/data/conservation.yaml
    grade = models.CharField(_("破损等级"), max_length=16)
    damage = models.JSONField(default=list)  # kinds of damage seen (conservation.yaml)
    note = models.TextField(_("说明"), blank=True)
    assessed_on = models.DateField(_("评估日期"))
    assessed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)


class ConservationAction(models.Model):
    """A conservation action on a record's original (修裱, 去酸, 仿真复制 …)."""

    record = models.ForeignKey("catalog.Record", on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(_("保护措施"), max_length=32)  # standards/data/conservation.yaml
    done_on = models.DateField(_("实施日期"))
    done_by = models.CharField(_("实施单位或人员"), max_length=200)
    note = models.TextField(_("说明"), blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)


class Exhibition(models.Model):
    """An online exhibition. `content` is the working draft:
    {"sections": [{"title", "title_en", "pages": [{"slug", "title", "title_en", "blocks": [...]}]}]}
    with blocks as `standards/exhibit_blocks.py` defines them. The public sees `published`, a
    frozen ExhibitionVersion, between `publish_at` and `withdraw_at`."""

    STATUSES = [
        ("draft", _("草稿")),
        ("review", _("待审核")),
        ("published", _("已发布")),
        ("withdrawn", _("已撤展")),
    ]

    repository = models.ForeignKey("catalog.Repository", on_delete=models.PROTECT, related_name="+")
    slug = models.SlugField(_("网址名"), max_length=64, unique=True)  # /public/exhibitions/<slug>/
    title = models.CharField(_("展览名称"), max_length=200)
    title_en = models.CharField(_("英文名称"), max_length=200, blank=True)
    summary = models.TextField(_("展览简介"), blank=True)
    summary_en = models.TextField(_("英文简介"), blank=True)
    cover = models.JSONField(default=dict, blank=True)  # an image item, as in an image block
    content = models.JSONField(default=dict)
    status = models.CharField(_("状态"), max_length=16, choices=STATUSES, default="draft")
    publish_at = models.DateTimeField(_("定时发布"), null=True, blank=True)
    withdraw_at = models.DateTimeField(_("定时撤展"), null=True, blank=True)
    published = models.ForeignKey(
        "ExhibitionVersion", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)


class ExhibitionVersion(models.Model):
    """A published state of an exhibition, never changed: title, summary, cover and content."""

    exhibition = models.ForeignKey(Exhibition, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    snapshot = (
        models.JSONField()
    )  # {"title", "title_en", "summary", "summary_en", "cover", "content"}
    note = models.CharField(_("版本说明"), max_length=500, blank=True)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["exhibition", "number"], name="exhibits_version_unique")
        ]


class ExhibitionVisit(models.Model):
    """Visits (人次) to one exhibition's public cover page on one day in the archives' time zone:
    one counter row per exhibition per day, raised by one UPDATE per visit (figures.count_visit),
    read by the annual statistics (exhibition_visits)."""

    exhibition = models.ForeignKey(Exhibition, on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    count = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["exhibition", "day"], name="exhibits_visit_day_unique")
        ]
        indexes = [models.Index(fields=["day"], name="exhibits_visit_day")]
