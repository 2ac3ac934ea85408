"""Log heads exchanged with the hub and time-stamped by it (X-Road's batch time-stamping): a
node sends its head; the hub keeps it, stamps it with its own time and key, and returns the stamp
with its own stamped head. Both sides keep both, so neither can rewrite its log unnoticed."""

from __future__ import annotations

import json
from typing import Any

from django.db import transaction
from django.utils import timezone

from lantai.core import audit, signing
from lantai.standards import platform_messages as pm

from . import log, peers
from .models import Anchor, Member


def _stamp(node: str, head: dict[str, Any]) -> dict[str, Any]:
    key = peers.own_key()
    statement = {"format": "lantai-log-anchor/1", "node": node, "seq": head["seq"],
                 "hash": head["hash"], "time": log.now_iso()}  # fmt: skip
    return pm.sign_statement(statement, key.public_key_hex, key.sign)


def _keep(stamp: dict[str, Any]) -> None:
    if stamp["seq"] <= 0:
        return
    Anchor.objects.get_or_create(
        node=stamp["node"], seq=stamp["seq"],
        defaults={"entry_hash": stamp["hash"], "stamped_at": timezone.now(),
                  "stamp": json.dumps(stamp, ensure_ascii=False)},
    )  # fmt: skip


def hub_anchor(message: dict[str, Any]) -> dict[str, Any]:
    """The hub's handler: stamp the node's head and its own."""
    from . import transport

    body = message["body"]
    try:
        seq, entry_hash = int(body.get("seq", 0)), str(body.get("hash", ""))
    except (TypeError, ValueError) as exc:
        raise transport.Refused(
            "malformed", "链头格式不对", "the log head is malformed", 400
        ) from exc
    head: dict[str, Any] = {"seq": seq, "hash": entry_hash}
    earlier = Anchor.objects.filter(node=message["from"])
    latest = earlier.order_by("-seq").first()
    same = earlier.filter(seq=seq).first()
    if (same is not None and same.entry_hash != entry_hash) or (latest is not None and seq < latest.seq):  # fmt: skip
        audit.record("platform_anchor_conflict", "platform_member", message["from"],
                     {"seq": seq, "stamped_up_to": latest.seq if latest else 0}, actor="platform")  # fmt: skip
        raise transport.Refused("anchor_conflict", "该节点的消息日志与平台中心已盖戳的链头不一致：日志可能被改写", "the node's log contradicts the heads the hub stamped: it may have been rewritten", 409)  # fmt: skip
    node_stamp = _stamp(message["from"], head)
    with transaction.atomic():
        _keep(node_stamp)
        Member.objects.filter(code=message["from"]).update(chain_head=node_stamp, last_contact_at=timezone.now())  # fmt: skip
        own = _stamp(peers.HUB, log.head())
        _keep(own)
    return {"stamp": node_stamp, "hub_stamp": own}


def hub_list_stamps(message: dict[str, Any]) -> dict[str, Any]:
    """The hub's handler of ``anchor_stamps``: every head it stamped for the asking node."""
    return {"stamps": [json.loads(a.stamp) for a in Anchor.objects.filter(node=message["from"]).order_by("seq")]}  # fmt: skip


def hub_stamps() -> dict[int, str]:
    """The heads the hub stamped for this node, each stamp's signature checked against the hub's
    key (transport.Unreachable when the hub cannot be asked)."""
    from . import transport

    m = peers.membership()
    if m is None:
        return {}
    sent = transport.send(peers.HUB, "anchor_stamps", {}, queue=False)
    out: dict[int, str] = {}
    for stamp in (sent.reply or {}).get("stamps") or []:
        body = pm.check_statement(stamp, {m.hub_public_key}, signing.verify)
        if body.get("node") == m.code:
            out[int(body["seq"])] = str(body["hash"])
    return out


def anchor() -> dict[str, Any] | None:
    """Send this node's head to the hub and keep the stamps it returns."""
    from . import transport

    m = peers.membership()
    if m is None:
        raise peers.NotJoined()
    head = log.head()
    sent = transport.send(peers.HUB, "anchor", head, queue=False)
    if sent.reply is None:
        return None
    stamps = [sent.reply.get("stamp"), sent.reply.get("hub_stamp")]
    with transaction.atomic():
        for stamp in stamps:
            body = pm.check_statement(stamp, {m.hub_public_key}, signing.verify)
            if body["node"] == m.code and (body["seq"], body["hash"]) != (
                head["seq"],
                head["hash"],
            ):
                raise pm.MessageError("anchor", "平台中心盖戳的链头与本馆所发不符", "the hub stamped another head than ours")  # fmt: skip
            _keep(body)
    return sent.reply
