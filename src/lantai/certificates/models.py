"""出证: certificates the archives issues (婚姻登记记录证明 / 档案查询证明), the SM2 issuer keys that
sign their QR payloads, and the published trust and status lists.

A certificate is never changed after issue except by revocation (two people: one asks with a
reason, another confirms); its status-list bit then flips and the next status list says so."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class IssuerKey(models.Model):
    """An archives' SM2 key for certificate payloads; the private key is a file under
    ``DATA_DIR/keys/issuers/`` (core/key_files.py). Keys rotate yearly: a key signs from
    ``not_before`` to ``not_after``, and what it signed verifies until ``valid_until``."""

    repository = models.ForeignKey(
        "catalog.Repository", on_delete=models.PROTECT, related_name="issuer_keys"
    )
    key_id = models.CharField(max_length=16, unique=True)  # first 8 bytes of the SM3 fingerprint
    public_key = models.CharField(max_length=130)
    not_before = models.DateTimeField()
    not_after = models.DateTimeField()
    valid_until = models.DateTimeField()
    withdrawn_at = models.DateTimeField(null=True, blank=True)
    compromised_since = models.DateTimeField(null=True, blank=True)
    withdrawal_reason = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)  # a trust list older than this is stale

    class Meta:
        ordering = ["repository", "-not_before"]


class Certificate(models.Model):
    KINDS = [("record", _("婚姻登记记录证明")), ("none_found", _("无婚姻登记记录证明"))]
    number = models.CharField(_("证明编号"), max_length=32, unique=True)
    repository = models.ForeignKey(
        "catalog.Repository", on_delete=models.PROTECT, related_name="certificates"
    )
    issuer_key = models.ForeignKey(IssuerKey, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=16, choices=KINDS)
    status_index = models.PositiveIntegerField()
    records = models.ManyToManyField("catalog.Record", blank=True, related_name="certificates")
    query_id = models.PositiveIntegerField(null=True, blank=True)  # marriage.Query (the find)
    # access.AccessRequest (an online 查档申请 it answers): the citizen's status page offers it
    access_request_id = models.PositiveIntegerField(null=True, blank=True, db_index=True)
    content = models.JSONField()  # what the PDF shows; its canonical bytes are embedded there
    content_digest = models.CharField(max_length=64)  # SM3 of the canonical content
    payload = models.TextField()  # the QR text
    qr_version = models.PositiveSmallIntegerField()
    pdf_path = models.CharField(max_length=500)  # relative to MEDIA_ROOT
    pdf_sm3 = models.CharField(max_length=64)
    requester_type = models.CharField(max_length=24)
    requester_name = models.CharField(max_length=60)
    purpose = models.CharField(max_length=500)
    issued_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    issued_by = models.CharField(max_length=150)
    revoke_reason = models.CharField(_("撤销原因"), max_length=500, blank=True)
    revoke_requested_by = models.CharField(max_length=150, blank=True)
    revoke_requested_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.CharField(max_length=150, blank=True)  # the second person, who confirmed
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-issued_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["repository", "status_index"], name="certificate_status_index"
            )
        ]


class PublishedList(models.Model):
    """A signed trust list (province) or status list (one archives) as published: the newest of
    each is served to verifiers; older ones stay as the record of what was published when."""

    KINDS = [("trust", "trust list"), ("status", "status list")]
    kind = models.CharField(max_length=8, choices=KINDS)
    repository = models.ForeignKey(
        "catalog.Repository", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    sequence = models.PositiveIntegerField()
    envelope = models.JSONField()
    issued_at = models.DateTimeField()

    class Meta:
        ordering = ["-issued_at", "-id"]
        indexes = [
            models.Index(fields=["kind", "repository", "issued_at"], name="cert_list_latest")
        ]


class AdoptedLists(models.Model):
    """The region's lists as the platform hub last handed them to this node (platform/trust.py):
    the provincial trust list (every member's issuer keys, signed by the provincial root) and the
    other members' status lists, so that this node verifies any member's certificate offline."""

    root_key = models.CharField(max_length=130)  # the provincial root the hub named (pinned)
    trust_list = models.JSONField()
    status_lists = models.JSONField(default=list)
    adopted_at = models.DateTimeField()
