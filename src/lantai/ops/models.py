"""Models of the operations room: delivered alerts (lantai.ops.alerts)."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class Condition(models.Model):
    """A problem that no other room keeps as a row (no job worker running, a failed readiness
    check): opened when first seen by the delivery run, resolved when it is gone. Alerts of
    preservation and the stacks are their own rows and are not copied here."""

    key = models.CharField(max_length=64)  # worker_down, readyz:storage, …
    message = models.TextField()
    opened_at = models.DateTimeField(auto_now_add=True)
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-opened_at"]
        indexes = [models.Index(fields=["key", "resolved_at"], name="ops_condition_open")]


class AlertDelivery(models.Model):
    """One alert event (opened or resolved) sent on one channel: exactly one row each, so an
    alert goes out once per channel; a failure stays visible and is tried again later."""

    EVENTS = [("open", _("告警发出")), ("resolved", _("告警解除"))]
    CHANNELS = [("mail", _("邮件")), ("webhook", _("网关推送"))]
    STATUSES = [("pending", _("待投递")), ("sent", _("已投递")), ("failed", _("投递失败"))]
    alert_key = models.CharField(max_length=64)  # preservation:12, climate:3, ops:7
    event = models.CharField(max_length=8, choices=EVENTS)
    channel = models.CharField(max_length=8, choices=CHANNELS)
    status = models.CharField(max_length=8, choices=STATUSES, default="pending")
    payload = models.JSONField()  # what is sent, fixed when the event is first seen
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["alert_key", "event", "channel"], name="ops_delivery_once"
            )
        ]
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="ops_delivery_due")]
