"""The platform's tables. On every node: its membership, the message log and the outbox, the
requests it sent or received. On the hub also: members, join tokens, harvest state and the thin
index (open catalogue entries and marriage entries with keyed ID hashes, never numbers)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Membership(models.Model):
    """This installation as a node (one row once it has joined a hub)."""

    code = models.CharField(_("节点代码"), max_length=32, unique=True)
    name = models.CharField(_("档案馆"), max_length=200)
    url = models.CharField(_("本节点地址"), max_length=300)
    hub_url = models.CharField(_("平台中心地址"), max_length=300)
    hub_public_key = models.CharField(max_length=130)
    joined_at = models.DateTimeField(auto_now_add=True)
    member_list = models.JSONField(default=dict)  # the hub's newest signed member list
    member_list_at = models.DateTimeField(null=True, blank=True)


class Member(models.Model):
    """A node as the hub knows it."""

    code = models.CharField(_("节点代码"), max_length=32, unique=True)
    name = models.CharField(_("档案馆"), max_length=200)
    url = models.CharField(_("节点地址"), max_length=300)
    public_key = models.CharField(max_length=130)
    region = models.CharField(max_length=100, blank=True)
    issuer_keys = models.JSONField(default=list)  # its certificate issuer keys (trust list rows)
    pades_root = models.TextField(blank=True)  # the root of its PDF signatures
    status_lists = models.JSONField(default=list)  # its newest signed status lists
    joined_at = models.DateTimeField(auto_now_add=True)
    left_at = models.DateTimeField(null=True, blank=True)  # off the member list: keys refused
    last_contact_at = models.DateTimeField(null=True, blank=True)
    chain_head = models.JSONField(default=dict)  # its newest anchored log head

    class Meta:
        ordering = ["code"]


class JoinToken(models.Model):
    """A one-time token for a node to join (only its SM3 digest is kept)."""

    node_code = models.CharField(max_length=32)
    digest = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    created_by = models.CharField(max_length=150)


class LogEntry(models.Model):
    """One message sent or received, in an append-only hash chain: ``entry_hash`` = SM3 over the
    previous entry's hash and this entry's fields (log.py). Never updated or deleted."""

    DIRECTIONS = [("out", _("发出")), ("in", _("收到"))]
    seq = models.BigIntegerField(unique=True)
    direction = models.CharField(max_length=3, choices=DIRECTIONS)
    peer = models.CharField(max_length=32)  # the other side's node code
    kind = models.CharField(max_length=40)
    message_id = models.CharField(max_length=64)
    envelope = models.TextField()  # the signed message exactly as sent / received
    receipt = models.TextField(blank=True)  # for an "in" entry: the countersignature we gave
    digest = models.CharField(max_length=64)  # SM3 of envelope + receipt
    prev_hash = models.CharField(max_length=64)
    entry_hash = models.CharField(max_length=64)
    logged_at = models.DateTimeField()

    class Meta:
        ordering = ["seq"]
        constraints = [
            models.UniqueConstraint(
                fields=["direction", "peer", "message_id"], name="platform_log_once"
            )
        ]


class Receipt(models.Model):
    """The countersignature a peer returned for a message we sent (kept beside the chain: it
    arrives after the message was logged; it is itself chained as an entry of kind 'receipt')."""

    message_id = models.CharField(max_length=64, unique=True)
    peer = models.CharField(max_length=32)
    receipt = models.TextField()
    received_at = models.DateTimeField()


class Outbox(models.Model):
    """A message waiting to be delivered: retried until the peer answers (message ids make a
    repeated delivery harmless)."""

    STATUSES = [("queued", _("待发送")), ("delivered", _("已送达")), ("failed", _("无法送达"))]
    message_id = models.CharField(max_length=64, unique=True)
    peer = models.CharField(max_length=32)
    url = models.CharField(max_length=300)
    kind = models.CharField(max_length=40)
    envelope = models.TextField()
    status = models.CharField(max_length=12, choices=STATUSES, default="queued")
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.CharField(max_length=500, blank=True)
    next_attempt_at = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    latency_ms = models.FloatField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="platform_outbox_due")]


class Anchor(models.Model):
    """A log head exchanged with the hub and time-stamped by it: the entries up to ``seq`` can no
    longer change unnoticed on either side."""

    node = models.CharField(max_length=32)  # whose log
    seq = models.BigIntegerField()
    entry_hash = models.CharField(max_length=64)
    stamped_at = models.DateTimeField()
    stamp = models.TextField()  # the hub's signed statement {node, seq, hash, time}

    class Meta:
        ordering = ["node", "seq"]
        constraints = [models.UniqueConstraint(fields=["node", "seq"], name="platform_anchor_once")]


class HarvestState(models.Model):
    """Where the hub's harvest of one feed of one member stands."""

    FEEDS = [("catalogue", _("开放目录")), ("marriage", _("婚姻档案索引"))]
    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="harvests")
    feed = models.CharField(max_length=16, choices=FEEDS)
    cursor = models.CharField(max_length=64, blank=True)  # the datestamp harvested up to
    resumption = models.TextField(blank=True)  # the token to go on with after an interruption
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    last_success_at = models.DateTimeField(null=True, blank=True)
    records = models.BigIntegerField(default=0)  # entries taken in the last run
    error = models.CharField(max_length=500, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["member", "feed"], name="platform_harvest_feed")
        ]


class HubRecord(models.Model):
    """One open catalogue entry of a member, as harvested (OAI-PMH oai_dc)."""

    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="+", db_index=False)
    identifier = models.CharField(max_length=300, unique=True)  # the OAI identifier
    datestamp = models.CharField(max_length=20)
    reference_code = models.CharField(max_length=100)
    title = models.CharField(max_length=1000)
    fonds = models.CharField(max_length=300, blank=True)
    category = models.CharField(max_length=100, blank=True)
    date = models.CharField(max_length=10, blank=True)
    year = models.SmallIntegerField(null=True)
    creator = models.CharField(max_length=500, blank=True)
    url = models.CharField(max_length=500, blank=True)
    grams = models.TextField()  # the searchable text as bigram tokens (hub_index.py)

    class Meta:
        indexes = [models.Index(fields=["member", "year"], name="platform_hubrec_member")]


class HubMarriage(models.Model):
    """One marriage registration of a member: what a window needs to find it and ask for it."""

    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="+", db_index=False)
    locator = models.CharField(max_length=140, unique=True)  # NODE:档号
    kind = models.CharField(max_length=24)
    date = models.DateField()
    office = models.CharField(max_length=200)
    region_code = models.CharField(max_length=6)
    digitized = models.BooleanField(default=False)  # scans exist: the holder can answer at once
    stamp = models.CharField(max_length=32)  # the holder's change mark, for the incremental feed

    class Meta:
        indexes = [models.Index(fields=["member", "stamp"], name="platform_hubmar_stamp")]


class HubParty(models.Model):
    """A party of a harvested registration: the name (with the keys of the fuzzy search, as
    marriage.Party) and the HMAC-SM3 of the ID number under the regional key the hub never has."""

    entry = models.ForeignKey(HubMarriage, on_delete=models.CASCADE, related_name="parties")
    position = models.PositiveSmallIntegerField()
    name = models.CharField(max_length=60)
    id_hash = models.CharField(max_length=32, blank=True)
    year = models.SmallIntegerField()
    name_pinyin = models.CharField(max_length=120)
    name_shape = models.CharField(max_length=60)
    name_skeleton = models.CharField(max_length=40, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["id_hash"], name="platform_party_id"),
            models.Index(fields=["name_pinyin", "year"], name="platform_party_pinyin"),
            models.Index(fields=["name_shape", "year"], name="platform_party_shape"),
            models.Index(
                fields=["name_skeleton", "year"],
                name="platform_party_skeleton",
                condition=~models.Q(name_skeleton=""),
            ),
        ]


class RemoteRequest(models.Model):
    """异地查档/出证: a request across archives, kept by both sides (``role``): the receiving
    archives (window) that sent it and the holding archives that decides."""

    ROLES = [("sent", _("受理")), ("received", _("协办"))]
    STATUSES = [
        ("sent", _("已发送")),
        ("queued", _("待协办馆办理")),
        ("answered", _("已出证")),
        ("refused", _("不予出证")),
        ("informed", _("已告知查档人")),
    ]
    role = models.CharField(max_length=8, choices=ROLES)
    message_id = models.CharField(max_length=64)
    receiving_node = models.CharField(max_length=32)
    holding_node = models.CharField(max_length=32)
    locator = models.CharField(max_length=140)
    record = models.ForeignKey(
        "catalog.Record", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )  # on the holding side
    channel = models.CharField(max_length=16, default="counter")  # counter | online | cli
    requester_type = models.CharField(max_length=24)
    requester_name = models.CharField(max_length=60)
    requester_id_masked = models.CharField(max_length=40)
    purpose = models.CharField(max_length=500, blank=True)
    sealed = models.TextField(blank=True)  # the request's ID numbers, sealed to the holder
    status = models.CharField(max_length=12, choices=STATUSES, default="sent")
    reason = models.CharField(max_length=500, blank=True)  # why refused / what staff must do
    certificate_number = models.CharField(max_length=32, blank=True)
    certificate_pdf = models.BinaryField(null=True, blank=True)
    extract = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField()
    answer_due = models.DateField()  # 协办馆 4 working days
    answered_at = models.DateTimeField(null=True, blank=True)
    inform_due = models.DateField(null=True, blank=True)  # 受理馆 2 working days after the answer
    informed_at = models.DateTimeField(null=True, blank=True)
    handled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["role", "message_id"], name="platform_request_once")
        ]
