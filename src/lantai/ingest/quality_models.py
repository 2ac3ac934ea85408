"""移交预警 and 进馆档案质量: per filing unit (its fonds) the years it forms records, the reminders
it was sent, its self-checks with their result per DA/T 70 check, and the receiving team's visits.

Kept beside ``models.py`` (imported there) so that the room's models stay one import away."""

from __future__ import annotations

from typing import ClassVar

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class UnitTransferProfile(models.Model):
    """What the due list needs to know about a unit beyond the catalogue: the first (and, for a
    unit that closed, the last) year it formed records, and the years not to remind of
    (延期移交 approved under art 20, or no records formed that year)."""

    objects: ClassVar[models.Manager[UnitTransferProfile]] = models.Manager()
    fonds_id: int

    fonds = models.OneToOneField(
        "catalog.Fonds", on_delete=models.CASCADE, related_name="+", verbose_name=_("立档单位")
    )
    first_year = models.PositiveIntegerField(_("形成档案起始年度"), null=True, blank=True)
    last_year = models.PositiveIntegerField(_("形成档案终止年度"), null=True, blank=True)
    exempt_years = models.JSONField(_("不予提醒的年度"), default=list, blank=True)
    note = models.TextField(_("说明"), blank=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)


class TransferReminder(models.Model):
    """One reminder to a unit that years of its records are due (移交预警): who was reminded,
    when, of which years, by whom (None: the nightly job)."""

    objects: ClassVar[models.Manager[TransferReminder]] = models.Manager()
    fonds_id: int

    fonds = models.ForeignKey("catalog.Fonds", on_delete=models.CASCADE, related_name="+")
    due_years = models.JSONField(default=list)
    overdue_years = models.JSONField(default=list)
    recipients = models.JSONField(default=list)  # usernames of the unit's SUBMIT users
    sent_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    kind = models.CharField(max_length=16, default="nightly")  # nightly | manual
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["fonds", "created_at"])]


class SelfCheck(models.Model):
    """A filing unit's self-check (自检) of a package with the 移交与接收 checks: nothing is
    registered or accepted; the package is not kept, only its SM3 and the results."""

    objects: ClassVar[models.Manager[SelfCheck]] = models.Manager()
    fonds_id: int

    fonds = models.ForeignKey("catalog.Fonds", on_delete=models.CASCADE, related_name="+")
    package_name = models.CharField(max_length=255)
    package_sm3 = models.CharField(max_length=64, blank=True)
    package_kind = models.CharField(max_length=16, blank=True)
    result = models.CharField(max_length=8, blank=True)  # pass | fail; empty while checking
    summary = models.JSONField(default=dict)
    findings = models.JSONField(default=list)  # the failed and warned results (capped)
    error = models.TextField(blank=True)  # why the package could not be checked at all
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    checked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["fonds", "created_at"])]


class SelfCheckItem(models.Model):
    """The outcome of one DA/T 70 check (by catalogue key) in one self-check: its worst status
    over the objects checked, and how many failed or warned."""

    objects: ClassVar[models.Manager[SelfCheckItem]] = models.Manager()
    self_check_id: int

    self_check = models.ForeignKey(SelfCheck, on_delete=models.CASCADE, related_name="items")
    check_key = models.CharField(max_length=40)
    status = models.CharField(max_length=4)  # fail > warn > pass > na
    failed = models.PositiveIntegerField(default=0)
    warned = models.PositiveIntegerField(default=0)
    checked = models.PositiveIntegerField(default=0)  # objects examined

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["self_check", "check_key"], name="self_check_item")
        ]


class QualityVisit(models.Model):
    """A visit of the receiving team to a unit (业务指导) and the advice given, with its follow-up."""

    objects: ClassVar[models.Manager[QualityVisit]] = models.Manager()
    fonds_id: int

    fonds = models.ForeignKey("catalog.Fonds", on_delete=models.CASCADE, related_name="+")
    visited_on = models.DateField(_("日期"))
    visitors = models.CharField(_("指导人员"), max_length=200)
    advice = models.TextField(_("指导意见"))
    follow_up = models.TextField(_("整改跟进"), blank=True)
    follow_up_done = models.BooleanField(_("已整改"), default=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-visited_on", "-pk"]
